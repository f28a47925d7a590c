#!/usr/bin/env bash
# `make test`: install everything, then run every gate. Each gate's full output goes to
# tests/output/gates/GATE.log; the console gets one status line per gate, the pytest
# summary lines, the tail of any failing log, and a closing "N passed, N failed" line.
# Exit status: 0 only when every gate passed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
logs=tests/output/gates
rm -rf "$logs" && mkdir -p "$logs"

gates=(setup images unit sanity lint build galaxy docs matrix fuzz molecule)
[ -n "${GATES:-}" ] && read -r -a gates <<<"$GATES"
passed=0 failed=0
summary=()
start_all=$SECONDS
for gate in "${gates[@]}"; do
  start=$SECONDS
  echo "== $gate ..."
  make --no-print-directory "$gate" >"$logs/$gate.log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  # pytest (unit tests, testinfra in molecule's verify) closing lines, and the fuzz suite's count
  grep -E '^((=+ )?[0-9]+ (passed|failed|error).* in [0-9.]+s|fuzz: [0-9]+ cases: |molecule [a-z_]+ +(PASS|FAIL) )' "$logs/$gate.log" | sed "s/^/   [$gate] /" || true
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1)); line=$(printf '%-10s PASS %5ss' "$gate" "$took")
  else
    failed=$((failed + 1)); line=$(printf '%-10s FAIL %5ss  (rc=%s, log: %s)' "$gate" "$took" "$rc" "$logs/$gate.log")
    echo "---- last 60 lines of $logs/$gate.log"
    tail -n 60 "$logs/$gate.log"
    echo "----"
    # setup is a prerequisite of everything else
    if [ "$gate" = setup ]; then summary+=("$line"); break; fi
  fi
  echo "   $line"
  summary+=("$line")
done
echo
echo "Gates (total $((SECONDS - start_all)) s):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
