#!/usr/bin/env bash
# `make demo`: a small local fleet of containers, firewalled by playbooks/site.yml.
#   demo-web        a web VPS                         (rampart.firewall.single_host)
#   demo-router     a NAT router between the "internet" network and a LAN
#                   (rampart.firewall.masquerading_router), with demo-lanclient behind it
#   demo-wanhost    a host on the "internet" network (also the bastion's admin)
#   demo-bastion    an SSH bastion (rampart.firewall.bastion) in front of demo-internal
# Networks (podman, --internal): rampart-demo-net 10.89.70.0/24 fd89:70::/64 (the "internet"),
# rampart-demo-lan 10.89.71.0/24 fd89:71::/64, rampart-demo-internal 10.89.72.0/24 fd89:72::/64.
# Steps: start the fleet (scripts/fleet.py), write the inventory (demo/inventory.py, with the
# probes every firewalled host declares: <role>_confirm_probes), start the echo servers the probes
# talk to (demo/probe.py servers), run playbooks/site.yml twice (the second run must change
# nothing; the declared probes decide inside each confirm-or-revert window), then print the fleet
# reachability report (playbooks/reachability.yml: table, JSON and HTML) and the checks a declared
# probe cannot express (demo/probes.json: the source address seen through NAT, protocol 253).
# The Makefile provides PATH (.venv), CONTAINERS_CONF and ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=.cache/demo
mkdir -p "$state"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=False

step() { printf '\n== %s\n' "$*"; }

step "1/6 Starting the fleet (7 containers, 3 --internal networks)"
python3 scripts/fleet.py up demo/fleet.json
# The LAN client reaches the internet through the router; the internet host knows the route to
# the LAN (to show that the router refuses new connections from outside).
podman exec demo-lanclient ip -4 route replace default via 10.89.71.20
podman exec demo-lanclient ip -6 route replace default via fd89:71::20
podman exec demo-wanhost ip -4 route replace 10.89.71.0/24 via 10.89.70.20
podman exec demo-wanhost ip -6 route replace fd89:71::/64 via fd89:70::20

step "2/6 Writing the inventory ($state/inventory.yml)"
python3 demo/inventory.py demo/fleet.json "$state/inventory.yml"
python3 -c 'import json, sys
for group, data in json.load(open(sys.argv[1]))["all"]["children"].items():
    print("  %-13s %s" % (group, " ".join(data["hosts"])))' "$state/inventory.yml"

run_site() {
  local log=$1 start ms
  start=$(date +%s%N)
  ansible-playbook -i "$state/inventory.yml" demo/site.yml >"$log" 2>&1 || { tail -40 "$log"; echo "site.yml failed (log: $log)"; exit 1; }
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  sed -n '/PLAY RECAP/,$p' "$log" | grep -E '^demo-' | sed 's/ *unreachable.*//'
  printf 'took %d.%d s (log: %s)\n' $((ms / 1000)) $(((ms % 1000) / 100)) "$log"
}

step "3/6 Echo servers for the probes (web :80 :8080, wanhost :8080, lanclient :80, internal :80, db :5432)"
python3 demo/probe.py servers demo/probes.json
echo "started"

step "4/6 demo/site.yml (the facts of the groups admins and web, then playbooks/site.yml), first run"
run_site "$state/site-1.log"

step "5/6 demo/site.yml, second run (must change nothing)"
run_site "$state/site-2.log"
if grep -E '^demo-.*changed=[1-9]' "$state/site-2.log" >/dev/null; then
  echo "the second run changed something: see $state/site-2.log"
  exit 1
fi
echo "no change on the second run"

step "6/6 Reachability report: the declared probes of every host, from where they are declared"
rc=0
report=$root/$state/report
ansible-playbook -i "$state/inventory.yml" -f 10 playbooks/reachability.yml -e "reachability_report_dir=$report" \
  -e reachability_fail_on_drift=true >"$state/reachability.log" 2>&1 || rc=$?
if [ -f "$report/reachability.txt" ] && [ "$report/reachability.txt" -nt "$state/site-2.log" ]; then
  cat "$report/reachability.txt"
  echo "HTML: $report/reachability.html   JSON: $report/reachability.json   (log: $state/reachability.log)"
else
  tail -40 "$state/reachability.log"; echo "playbooks/reachability.yml failed (log: $state/reachability.log)"; rc=1
fi
printf '\nWhat a declared probe cannot express: the source address the server saw (NAT), protocol 253\n'
python3 demo/probe.py table demo/probes.json || rc=$?

cat <<MSG

The fleet is still running. Look around:
  podman exec -it demo-router iptables-save
  ansible-playbook -i $state/inventory.yml playbooks/audit.yml         (rules drift, changes nothing)
  ansible-playbook -i $state/inventory.yml playbooks/reachability.yml  (reachability report again)
Tear it down with:  make demo-clean
MSG
exit $rc
