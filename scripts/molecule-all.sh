#!/usr/bin/env bash
# Gate `molecule`: every scenario, MOLECULE_JOBS (default 2) at a time, each with its own log in
# tests/output/molecule/SCENARIO.log. Prints, per scenario when it ends: PASS/FAIL, seconds and
# its pytest summary line; at the end the tail of each failing log and the list of failures.
#   scripts/molecule-all.sh SCENARIO...
# The scenarios use separate containers, networks and subnets, so they can run side by side; the
# longest are started first. Exit status: 0 only when every scenario passed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
jobs=${MOLECULE_JOBS:-2}
logs=tests/output/molecule
rm -rf "$logs" && mkdir -p "$logs"
[ $# -gt 0 ] || { echo "usage: $0 SCENARIO..." >&2; exit 2; }

# Longest first (measured), then the rest in the given order.
longest=(granular unprivileged single_host ruleset sysctl docker masquerading_router bastion ipset safety harness)
order=()
for s in "${longest[@]}"; do
  for want in "$@"; do [ "$want" = "$s" ] && order+=("$s"); done
done
for want in "$@"; do
  case " ${order[*]} " in *" $want "*) ;; *) order+=("$want");; esac
done

run_one() {
  local s=$1 start=$SECONDS rc
  molecule test -s "$s" >"$logs/$s.log" 2>&1
  rc=$?
  local summary
  summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error).* in [0-9.]+s' "$logs/$s.log" | tail -1)
  if [ $rc -eq 0 ]; then
    printf 'molecule %-20s PASS %5ss  %s\n' "$s" "$((SECONDS - start))" "$summary"
  else
    printf 'molecule %-20s FAIL %5ss  %s (log: %s)\n' "$s" "$((SECONDS - start))" "$summary" "$logs/$s.log"
    : >"$logs/$s.failed"
  fi
}

running=0
for s in "${order[@]}"; do
  run_one "$s" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  sleep 2   # stagger the starts (image checks, network creation)
done
wait

failed=()
for s in "${order[@]}"; do
  [ -e "$logs/$s.failed" ] && failed+=("$s")
done
for s in "${failed[@]}"; do
  echo "---- last 80 lines of $logs/$s.log"
  tail -n 80 "$logs/$s.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule scenarios that failed: ${failed[*]}"
  exit 1
fi
echo "molecule: all ${#order[@]} scenarios passed (${order[*]})"
