#!/usr/bin/env bash
# capture-fixtures.sh - regenerate the iptables-save fixtures used by the unit tests of
# plugins/module_utils/iptables_model.py, and check the model's renders live.
#
# Inputs (hand-written iptables-restore files, never modified by this script):
#   tests/unit/fixtures/corpus/*.v4 *.v6   copy of the project's seed corpus
#   tests/unit/fixtures/extra/*.v4 *.v6    extra files exercising canonicalisation cases
#
# Outputs:
#   tests/unit/fixtures/saved/nft/<name>      iptables-nft-save / ip6tables-nft-save output
#   tests/unit/fixtures/saved/legacy/<name>   iptables-legacy-save / ip6tables-legacy-save output
#   (.v4 files go through iptables-*, .v6 files through ip6tables-*)
#
# Every load happens in a fresh, private network namespace (ip netns add), one per file and
# backend, which is deleted afterwards: the host's own firewall is never touched.
#
# Steps (all by default):
#   capture  restore each input in a fresh netns with each backend and save the result
#   verify   for each input and each saved capture, render(parse(file)) with the model and
#            (a) check that `<backend>-restore --test` accepts the render and (b) restore the
#            render in a fresh netns and check that its save equals the fixture's capture
#            (rule, chain and table lines; counters and '#' lines ignored)
#   bad      check that each command of corpus/bad-inputs-from-the-seeds.txt, written as a
#            restore file, is rejected by iptables-restore on both backends
#
# Usage: scripts/capture-fixtures.sh [capture] [verify] [bad]     (run as root)
# Environment: PYTHON (default: <repo>/.venv/bin/python, else python3)
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIX="$ROOT/tests/unit/fixtures"
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
BACKENDS="nft legacy"
NS="rampart-fx-$$"
STEPS="$*"
[ -z "$STEPS" ] && STEPS="capture verify bad"
FAILED=0
TMP=$(mktemp -d)

trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT

if [ "$(id -u)" != 0 ]; then
    echo "capture-fixtures.sh: must run as root (it creates network namespaces)" >&2
    exit 2
fi

inputs() {
    ls "$FIX"/corpus/*.v4 "$FIX"/corpus/*.v6 "$FIX"/extra/*.v4 "$FIX"/extra/*.v6 2>/dev/null
}

# cmd FAMILYFILE BACKEND VERB -> e.g. ip6tables-nft-restore
cmd() {
    case "$1" in
        *.v6) echo "ip6tables-$2-$3" ;;
        *) echo "iptables-$2-$3" ;;
    esac
}

fresh_ns() {
    ip netns del "$NS" 2>/dev/null
    ip netns add "$NS"
}

# keep table/chain/rule lines, drop counters and '#' lines
strip_save() {
    grep -v '^#' | sed -e 's/^\[[0-9]*:[0-9]*\] //' -e 's/^\(:[^ ]* [^ ]*\) \[[0-9]*:[0-9]*\]$/\1/'
}

do_capture() {
    local f name b out
    mkdir -p "$FIX/saved/nft" "$FIX/saved/legacy"
    for f in $(inputs); do
        name=$(basename "$f")
        for b in $BACKENDS; do
            out="$FIX/saved/$b/$name"
            fresh_ns
            restore_bin=$(cmd "$f" "$b" restore)
            if ! ip netns exec "$NS" "$restore_bin" < "$f"; then
                echo "FAIL capture $b $name: restore rejected the input" >&2
                FAILED=1
                continue
            fi
            ip netns exec "$NS" "$(cmd "$f" "$b" save)" > "$out"
            echo "captured $b/$name"
        done
    done
    ip netns del "$NS" 2>/dev/null
}

# render FILE FAMILY > render
render() {
    "$PYTHON" - "$ROOT" "$1" "$2" <<'PYEOF'
import os
import sys
import tempfile

root, path, family = sys.argv[1:4]
tmp = tempfile.mkdtemp()
os.makedirs(os.path.join(tmp, 'ansible_collections', 'rampart'))
os.symlink(root, os.path.join(tmp, 'ansible_collections', 'rampart', 'firewall'))
sys.path.insert(0, tmp)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse, render  # noqa: E402
with open(path) as fh:
    text = fh.read()
rs = parse(text, family)
# only the tables named in the input file
names = [line[1:].strip() for line in text.splitlines() if line.startswith('*')]
sys.stdout.write(render(rs, tables=names or None))
PYEOF
}

do_verify() {
    local f name b src fam saved rendered live kind
    for f in $(inputs); do
        name=$(basename "$f")
        case "$name" in *.v6) fam=ipv6 ;; *) fam=ipv4 ;; esac
        for b in $BACKENDS; do
            saved="$FIX/saved/$b/$name"
            [ -f "$saved" ] || { echo "FAIL verify $b $name: no capture" >&2; FAILED=1; continue; }
            for kind in input capture; do
                if [ $kind = input ]; then src=$f; else src=$saved; fi
                rendered="$TMP/render"
                if ! render "$src" $fam > "$rendered"; then
                    echo "FAIL verify $b $name: model could not render the $kind" >&2
                    FAILED=1
                    continue
                fi
                fresh_ns
                if ! ip netns exec "$NS" "$(cmd "$f" "$b" restore)" --test < "$rendered"; then
                    echo "FAIL verify $b $name: restore --test rejected the render of the $kind" >&2
                    FAILED=1
                    continue
                fi
                ip netns exec "$NS" "$(cmd "$f" "$b" restore)" < "$rendered"
                live="$TMP/live"
                # compare only the tables the render contains
                : > "$live"
                while read -r t; do
                    ip netns exec "$NS" "$(cmd "$f" "$b" save)" -t "$t" | strip_save >> "$live"
                done < <(sed -n 's/^\*//p' "$rendered")
                : > "$TMP/want"
                while read -r t; do
                    strip_save < "$saved" | awk -v t="*$t" '$0 == t {on=1} on {print} on && $0 == "COMMIT" {on=0}' >> "$TMP/want"
                done < <(sed -n 's/^\*//p' "$rendered")
                if ! diff -u "$TMP/want" "$live" > "$TMP/d"; then
                    echo "FAIL verify $b $name: applying the render of the $kind does not give the capture:" >&2
                    cat "$TMP/d" >&2
                    FAILED=1
                    continue
                fi
                echo "ok   verify $b $name ($kind): render accepted by --test, live save equals capture"
            done
        done
    done
    ip netns del "$NS" 2>/dev/null
}

do_bad() {
    local line cmdname rest b bin file n=0
    while IFS= read -r line; do
        case "$line" in ''|'#'*) continue ;; esac
        cmdname=${line%% *}
        rest=${line#* }
        n=$((n + 1))
        file="$TMP/bad$n"
        { echo '*filter'; echo ':INPUT ACCEPT [0:0]'; echo ':FORWARD ACCEPT [0:0]'; echo ':OUTPUT ACCEPT [0:0]'
          echo "$rest"; echo COMMIT; } > "$file"
        for b in $BACKENDS; do
            bin="${cmdname}-$b-restore"
            fresh_ns
            if ip netns exec "$NS" "$bin" --test < "$file" 2> "$TMP/err"; then
                echo "FAIL bad $b: accepted by $bin: $rest" >&2
                FAILED=1
            else
                echo "ok   bad $b: rejected by $bin ($(head -1 "$TMP/err")): $rest"
            fi
        done
    done < "$FIX/corpus/bad-inputs-from-the-seeds.txt"
    ip netns del "$NS" 2>/dev/null
}

for step in $STEPS; do
    case "$step" in
        capture) do_capture ;;
        verify) do_verify ;;
        bad) do_bad ;;
        *) echo "unknown step: $step" >&2; exit 2 ;;
    esac
done
[ $FAILED = 0 ] && echo "all ok"
exit $FAILED
