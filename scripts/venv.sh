#!/usr/bin/env bash
# Create (or refresh) .cache/venv-NAME from tooling/requirements-NAME.txt, pinned by
# tooling/constraints-NAME.txt; recreated when either file changes (stamp in the venv).
# Prints the venv's path on its last line.
#   scripts/venv.sh ecosystem | core2.17 | core2.18
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: scripts/venv.sh NAME}
req="$root/tooling/requirements-$name.txt"
con="$root/tooling/constraints-$name.txt"
venv="$root/.cache/venv-$name"
if [ ! -f "$req" ] || [ ! -f "$con" ]; then echo "venv: no $req / $con" >&2; exit 2; fi
stamp=$(cat "$req" "$con" | sha256sum | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.rampart-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "venv: creating $venv (requirements $stamp)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" -c "$con" 2>&1 \
    | grep -v "is neither a file nor a directory" >&2 || true
  "$venv/bin/pip" check --disable-pip-version-check >&2
  echo "$stamp" > "$venv/.rampart-stamp"
fi
echo "$venv"
