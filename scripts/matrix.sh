#!/usr/bin/env bash
# Gate `matrix`: the supported range, proven.
#  1. The declared range agrees with itself: meta/runtime.yml requires_ansible, every role's
#     min_ansible_version and the oldest version tested here.
#  2. For each ansible-core of MATRIX_VERSIONS (default "2.17 2.18"; 2.19 is the development
#     .venv, tested by the `unit` and `sanity` gates): the unit tests and `ansible-test sanity`
#     (scripts/sanity.sh with SANITY_VENV) in .cache/venv-core<version>
#     (tooling/requirements-core<version>.txt, pinned). MATRIX_SANITY_ARGS: the ansible-test
#     arguments (default: validate-modules, ansible-doc, compile; "" for every test).
#  3. Target-side code (plugins/modules, plugins/module_utils) for the oldest target Python
#     claimed, 3.7 (ansible-core 2.17's minimum): no interpreter that old is installable here
#     (Debian 12 has 3.11 only), so the code is checked with vermin (minimum version from
#     syntax and standard-library use) and parsed with Python's own grammar for 3.7
#     (ast.parse feature_version), then compiled with this Python.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
versions=${MATRIX_VERSIONS:-2.17 2.18}
# The whole sanity suite runs on 2.19 (gate `sanity`); on the older cores, by default, the tests
# whose answer depends on the core's version (documentation schema, ansible-doc, compile), to keep
# `make test` within its hour. MATRIX_SANITY_ARGS="" runs every test there too.
sanity_args=${MATRIX_SANITY_ARGS---test validate-modules --test ansible-doc --test compile}
oldest_target_python=3.7
failed=()

echo "== declared range"
if oldest=$(python3 - <<'PY'
import glob, re, sys, yaml
req = yaml.safe_load(open('meta/runtime.yml'))['requires_ansible']
m = re.fullmatch(r'>=\s*(\d+\.\d+)(\.0)?', req.strip())
if not m:
    sys.exit('requires_ansible %r is not of the form ">=X.Y.0"' % req)
low = m.group(1)
bad = ['%s: min_ansible_version %s' % (f, yaml.safe_load(open(f))['galaxy_info'].get('min_ansible_version'))
       for f in sorted(glob.glob('roles/*/meta/main.yml'))
       if str(yaml.safe_load(open(f))['galaxy_info'].get('min_ansible_version')) != low]
if bad:
    sys.exit('requires_ansible %s but %s' % (req, '; '.join(bad)))
sys.stderr.write('requires_ansible %s, every role min_ansible_version %s\n' % (req, low))
print(low)
PY
); then
  case " $versions 2.19 " in
    *" $oldest "*) echo "oldest supported ansible-core $oldest is tested";;
    *) echo "matrix: the oldest supported ansible-core ($oldest) is not tested (MATRIX_VERSIONS=$versions)"
       failed+=("range");;
  esac
else
  failed+=("range")
fi

for v in $versions; do
  echo "== ansible-core $v"
  venv=$(scripts/venv.sh "core$v" | tail -n 1) || { failed+=("venv-$v"); continue; }
  "$venv/bin/ansible" --version | sed -n 1p
  start=$SECONDS
  if "$venv/bin/python" -m pytest tests/unit -q -p no:cacheprovider -n 2; then
    echo "matrix: unit on ansible-core $v passed ($((SECONDS - start)) s)"
  else
    failed+=("unit-$v")
  fi
  start=$SECONDS
  # shellcheck disable=SC2086  # sanity_args is a list of arguments
  if SANITY_VENV="$venv" scripts/sanity.sh $sanity_args; then
    echo "matrix: sanity on ansible-core $v passed ($((SECONDS - start)) s)"
  else
    failed+=("sanity-$v")
  fi
done

echo "== target Python $oldest_target_python"
eco=$(scripts/venv.sh ecosystem | tail -n 1)
if "$eco/bin/vermin" --target="$oldest_target_python-" --violations --no-tips --eval-annotations \
     plugins/modules plugins/module_utils \
   && python3 - "$oldest_target_python" <<'PY'
import ast, glob, sys
major, minor = (int(x) for x in sys.argv[1].split('.'))
files = sorted(glob.glob('plugins/modules/*.py') + glob.glob('plugins/module_utils/*.py'))
for f in files:
    src = open(f, encoding='utf-8').read()
    ast.parse(src, f, feature_version=(major, minor))   # the 3.7 grammar
    compile(src, f, 'exec')
print('%d target files parse with the Python %s grammar and compile' % (len(files), sys.argv[1]))
PY
then
  echo "matrix: target code is Python $oldest_target_python compatible"
else
  failed+=("target-python-$oldest_target_python")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "matrix: failed: ${failed[*]}"
  exit 1
fi
echo "matrix: ansible-core $versions (and 2.19 in the unit/sanity gates) and target Python $oldest_target_python passed"
