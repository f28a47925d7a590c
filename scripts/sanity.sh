#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection from a temporary tree.
# ansible-test needs the collection under a path ending in ansible_collections/rampart/firewall
# and inside a git work tree (it lists files through git), so we copy the tracked and
# untracked-but-not-ignored files there and commit them in a throwaway repository.
#   scripts/sanity.sh [extra ansible-test args, e.g. --test pylint]
#   SANITY_VENV=.cache/venv-core2.17 scripts/sanity.sh    # another ansible-core (scripts/matrix.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$(cd "${SANITY_VENV:-$root/.venv}" && pwd)
export PATH="$venv/bin:$PATH"

# Offline pip bootstrap: write the stand-in only when the real script is not cached.
pip_version=$(python - <<'PY'
import re, pathlib, ansible_test
p = pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
m = re.search(r"pip='([0-9.]+)'", p.read_text())
print(m.group(1) if m else '')
PY
)
[ -n "$pip_version" ] || pip_version=$(python -c "import pip;print(pip.__version__)")
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp "$root/scripts/get_pip_standin.py" "$cache"
  echo "sanity: wrote offline pip bootstrap stand-in to $cache"
fi

work=$(mktemp -d /tmp/rampart-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/rampart/firewall"
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard -z) | (cd "$root" && xargs -0 cp --parents -t "$dest")
cd "$dest"
git init -q . && git add -A && git -c user.email=ci@invalid -c user.name=ci commit -qm sanity
ansible-test sanity --venv --python 3.11 --color no "$@"
