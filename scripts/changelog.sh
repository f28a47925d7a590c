#!/usr/bin/env bash
# CHANGELOG.rst and changelogs/changelog.yaml from changelogs/fragments, with antsibull-changelog
# (.venv, requirements-dev.txt). The version is galaxy.yml's; a version already in
# changelog.yaml is updated in place (new and edited fragments folded in, its date kept).
# Fragments are kept (keep_fragments: true in changelogs/config.yaml).
#   scripts/changelog.sh           write CHANGELOG.rst and changelogs/changelog.yaml
#   scripts/changelog.sh --check   lint the fragments; fail if the two files are not current
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.venv/bin:$PATH"   # antsibull-changelog runs ansible-doc for the plugin list
check=0
[ "${1:-}" = --check ] && check=1

release() {   # in the collection tree $1
  local dir=$1 version date
  version=$(python -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$dir/galaxy.yml")
  date=$(python - "$dir/changelogs/changelog.yaml" "$version" <<'PY'
import datetime, sys, yaml
rel = (yaml.safe_load(open(sys.argv[1])) or {}).get('releases') or {}
print((rel.get(sys.argv[2]) or {}).get('release_date') or datetime.date.today().isoformat())
PY
)
  (cd "$dir" && antsibull-changelog lint && \
   antsibull-changelog release --version "$version" --date "$date" --update-existing \
     --refresh-fragments without-archives --reload-plugins)
}

if [ $check = 0 ]; then
  release "$root"
  echo "changelog: CHANGELOG.rst and changelogs/changelog.yaml written"
  exit 0
fi
# --check: regenerate in a copy and compare
work=$(mktemp -d /tmp/rampart-changelog.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/rampart/firewall"
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard -z) | (cd "$root" && xargs -0 cp --parents -t "$dest")
release "$dest"
stale=0
for f in CHANGELOG.rst changelogs/changelog.yaml; do
  if ! diff -u "$root/$f" "$dest/$f"; then stale=1; fi
done
if [ $stale = 1 ]; then
  echo "changelog: CHANGELOG.rst / changelogs/changelog.yaml are behind changelogs/fragments: run 'make changelog'"
  exit 1
fi
echo "changelog: fragments lint clean, CHANGELOG.rst current"
