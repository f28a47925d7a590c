#!/usr/bin/env bash
# Gate `galaxy`: what Galaxy / Automation Hub and ansible-builder do with the built tarball.
#  1. build the tarball from the tracked and untracked-but-not-ignored files (like sanity.sh);
#  2. ansible-builder: `introspect` on the installed collection (the step an EE build runs,
#     which reads meta/execution-environment.yml and bindep.txt) and `create` for an EE
#     definition that installs the tarball;
#  3. galaxy-importer, offline (no Galaxy server, ansible-lint offline, no ansible-test
#     container), with flake8 on; any WARNING or ERROR line fails the gate.
# Tools: .cache/venv-ecosystem (tooling/requirements-ecosystem.txt, pinned).
# galaxy.yml's `repository` is empty until the collection has a public address (README.md,
# "Publishing"), and galaxy-importer requires it. The gate then imports the tarball as built and
# requires the refusal to be that one ("'repository' is required", at the metadata check, where
# the importer stops), then runs the full import (the checks above) on a tarball of the same
# files with only `repository` set to a stand-in URL under .invalid (RAMPART_REPOSITORY
# overrides it), saying so. Once `repository` is filled, the full import runs on the tarball
# as built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" ecosystem | tail -n 1)
export PATH="$venv/bin:$PATH"
work=$(mktemp -d /tmp/rampart-galaxy.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== build"
mkdir -p "$work/src"
(cd "$root" && git ls-files -co --exclude-standard -z) | (cd "$root" && xargs -0 cp --parents -t "$work/src")
cat > "$work/galaxy-importer.cfg" <<'CFG'
[galaxy-importer]
log_level_main = INFO
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_test = False
run_flake8 = True
check_required_tags = True
check_changelog = True
CFG
if ! python -c 'import sys, yaml; sys.exit(0 if yaml.safe_load(open(sys.argv[1])).get("repository") else 1)' \
     "$work/src/galaxy.yml"; then
  mkdir -p "$work/as-built"
  ansible-galaxy collection build --force --output-path "$work/as-built" "$work/src" >/dev/null
  (cd "$work" && GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" python -m galaxy_importer.main \
     "$work"/as-built/rampart-firewall-*.tar.gz) >"$work/as-built.txt" 2>&1 || true
  if ! grep -q "^ERROR: The import failed for the following reason: Invalid collection metadata. 'repository' is required$" \
       "$work/as-built.txt" || [ "$(grep -cE '^(WARNING|ERROR)' "$work/as-built.txt")" -ne 1 ]; then
    echo "galaxy: the tarball as built is refused for something other than its empty 'repository':"
    cat "$work/as-built.txt"; exit 1
  fi
  echo "galaxy: the tarball as built (galaxy.yml repository empty: not published) stops at galaxy-importer's" \
       "metadata check with \"'repository' is required\", as expected"
  repo=${RAMPART_REPOSITORY:-https://repository-not-published.invalid/rampart/firewall}
  echo "NOTE: galaxy.yml's 'repository' is empty (Galaxy requires it); the full import below builds with $repo"
  sed -i '/^repository:/d' "$work/src/galaxy.yml"
  printf 'repository: %s\n' "$repo" >> "$work/src/galaxy.yml"
fi
ansible-galaxy collection build --force --output-path "$work" "$work/src"
tarball=$(ls "$work"/rampart-firewall-*.tar.gz)

echo "== ansible-builder introspect (the EE build's dependency step)"
ansible-galaxy collection install --offline --force -p "$work/collections" "$tarball" >/dev/null
ansible-builder introspect --sanitize --write-pip "$work/pip.txt" --write-bindep "$work/bindep.txt" \
  "$work/collections" | tee "$work/introspect.txt"
# The same code, on our collection alone: the file must be the collection format (version 1,
# relative paths), not an EE definition.
python - "$work/collections/ansible_collections/rampart/firewall" <<'PY'
import os, sys
from ansible_builder._target_scripts.introspect import CollectionDefinition, process_collection
path = sys.argv[1]
col = CollectionDefinition(path)
assert os.path.exists(os.path.join(path, 'meta', 'execution-environment.yml')), 'no meta/execution-environment.yml'
assert col.raw.get('version') == 1, 'meta/execution-environment.yml: version must be 1, not %r' % col.raw.get('version')
for entry in ('python', 'system'):
    dep = col.get_dependency(entry)
    assert dep is None or os.path.isfile(os.path.join(path, dep)), '%s file %s is not in the tarball' % (entry, dep)
pip_lines, bindep_lines = process_collection(path)
print('introspect rampart.firewall: python %s, system %s' % (pip_lines, bindep_lines))
PY

echo "== ansible-builder create"
mkdir -p "$work/ee/files"
cp "$tarball" "$work/ee/files/"
cat > "$work/ee/execution-environment.yml" <<YAML
---
version: 3
dependencies:
  ansible_core:
    package_pip: ansible-core>=2.17.0
  ansible_runner:
    package_pip: ansible-runner
  galaxy:
    collections:
      - name: /build/files/$(basename "$tarball")
        type: file
additional_build_files:
  - src: files
    dest: files
additional_build_steps:
  prepend_galaxy:
    - COPY _build/files /build/files
YAML
ansible-builder create --file "$work/ee/execution-environment.yml" --context "$work/ee/context" -v 2
grep -q 'introspect' "$work/ee/context/Containerfile"
test -f "$work/ee/context/_build/files/$(basename "$tarball")"

echo "== galaxy-importer"
(cd "$work" && GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" python -m galaxy_importer.main "$tarball") \
  2>&1 | tee "$work/importer.txt"
problems=$(grep -cE '^(WARNING|ERROR)' "$work/importer.txt" || true)
grep -q 'Importer processing completed successfully' "$work/importer.txt" || { echo "galaxy: import failed"; exit 1; }
if [ "$problems" -ne 0 ]; then
  echo "galaxy: $problems warning/error line(s) from galaxy-importer:"; grep -E '^(WARNING|ERROR)' "$work/importer.txt"
  exit 1
fi
echo "galaxy: import clean (0 errors, 0 warnings; flake8, ansible-doc, ansible-lint included)"
