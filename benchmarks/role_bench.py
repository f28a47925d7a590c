"""Benchmark of the roles end to end: round trips per host (a benchmark, not a test).

    python benchmarks/role_bench.py [--roles single_host,masquerading_router,bastion] [--fleet 10] [--rounds 1]
    python benchmarks/role_bench.py --roles single_host,single_host_sets --fleet 0    # with address sets (issue 22)

For each role, on fresh Debian 12 boxes started with scripts/fleet.py (two --internal networks,
10.89.94.0/24 and 10.89.95.0/24, so that masquerading_router has a WAN and a LAN interface),
through the podman connection, facts on, the role's defaults plus tcp 22/80/443 and udp 53
(issue 13):
  - the floor: a playbook that only gathers facts,
  - the role's first run (packages present in the image, so no install), and its re-run,
  - the same three on FLEET boxes at once with forks FLEET.
It prints, per row, the wall time, the time above the floor, the remote module calls per host
counted by a callback (gathering facts excluded; one per task that runs on the target, per
loop item, plus the confirmations of iptables_ruleset's revert window, confirm_attempts) and the
controller's CPU seconds per host (ansible-playbook and its children, getrusage); then, per role
measured on both, the ratios of the fleet's wall times to the one box's.
The variant single_host_sets is single_host with one declared address set (IPv4 admins and IPv6
admins6, port 22 open only to {set: admins}): the sets go into the role's one iptables_ruleset call
(managed sets, issue 22), so its re-run is ONE remote module call, like the role without sets (before,
every declared set added an ipset call per family on every run).
Numbers are from one noisy shared machine: read them with the load printed at the end.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruleset_bench import ROOT, sh  # noqa: E402  (the same start-up as the engine benchmark)

ROLES = ('single_host', 'masquerading_router', 'bastion')
# variants measured under their own name: (role, variables)
VARIANT_ROLE = {'single_host_sets': 'single_host'}
NETS = (('rampart-bench-role-a', '10.89.94', 'fd89:94'), ('rampart-bench-role-b', '10.89.95', 'fd89:95'))
IMAGE = 'localhost/rampart-test:bookworm'

# Counts module calls per host; controller-only actions (debug, assert, include_role...) are no round trip.
CALLBACK = r'''
import json, os
from collections import defaultdict
from ansible.plugins.callback import CallbackBase

LOCAL = {'debug', 'assert', 'set_fact', 'include_role', 'import_role', 'include_tasks', 'import_tasks', 'meta',
         'fail', 'pause', 'add_host', 'group_by', 'include_vars', 'validate_argument_spec'}
FACTS = {'gather_facts', 'setup'}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'rampart_calls'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = defaultdict(int)
        self.tasks = defaultdict(list)
        self.facts = defaultdict(int)

    def _count(self, result, item=False):
        action = result._task.action.split('.')[-1]
        res = result._result
        if action in LOCAL or res.get('skipped') or ('results' in res and not item):
            return
        host = result._host.get_name()
        if action in FACTS and result._task.get_name() in ('Gathering Facts', 'gather_facts'):
            self.facts[host] += 1
            return
        calls = 1 + int(res.get('confirm_attempts') or 0)
        self.calls[host] += calls
        self.tasks[host].append('%s x%d' % (action, calls))

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_runner_item_on_ok(self, result):
        self._count(result, item=True)

    def v2_runner_item_on_failed(self, result):
        self._count(result, item=True)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['RAMPART_CALLS_OUT'], 'w') as handle:
            json.dump({'calls': self.calls, 'tasks': self.tasks, 'facts': self.facts,
                       'changed': dict((h, stats.summarize(h)['changed']) for h in stats.processed),
                       'failures': dict((h, stats.summarize(h)['failures'] + stats.summarize(h)['unreachable'])
                                        for h in stats.processed)}, handle)
'''

ROLE_VARS = {
    'single_host': {'single_host_tcp_ports': [22, 80, 443], 'single_host_udp_ports': [53]},
    'single_host_sets': {'single_host_tcp_ports': [{'port': 22, 'sources': [{'set': 'admins'}]}, 80, 443], 'single_host_udp_ports': [53],
                         'single_host_ipsets': [{'name': 'admins', 'members': ['10.89.94.0/24', '192.0.2.7', 'fd89:94::/64']}]},
    'masquerading_router': {'masquerading_router_wan_interface': 'eth0', 'masquerading_router_lan_interfaces': ['eth1'],
                            'masquerading_router_lan_networks': ['10.89.95.0/24'],
                            'masquerading_router_tcp_ports': [22, 80, 443], 'masquerading_router_udp_ports': [53]},
    'bastion': {'bastion_dns_servers': ['10.89.94.53']},
}


def boxes(role, count):
    start = 11 if count == 1 else 31
    return [{'name': 'bench-%s-%d' % (role.replace('_', '-'), i), 'image': IMAGE,
             'networks': [{'name': net, 'ipv4_address': '%s.%d' % (v4, start + i), 'ipv6_address': '%s::%d' % (v6, start + i)}
                          for net, v4, v6 in NETS]}
            for i in range(count)]


def fleet(action, spec, tries=2):
    """scripts/fleet.py up/down SPEC; an 'up' that fails (systemd slow to boot on a loaded machine) is
    retried once (fleet.py replaces the containers and keeps the networks)."""
    for attempt in range(tries):
        try:
            sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), action, spec)
            return
        except subprocess.CalledProcessError as exc:
            print('fleet.py %s failed (attempt %d): %s' % (action, attempt + 1, (exc.stderr or '').strip()[-500:]),
                  file=sys.stderr)
            if action != 'up' or attempt + 1 == tries:
                raise


def play(work, name, text):
    path = os.path.join(work, name)
    with open(path, 'w') as handle:
        handle.write(text)
    return path


def run(inventory, path, env, forks, hosts):
    """ansible-playbook: (wall s, controller CPU s per host, calls per host (max), changed hosts, tasks)."""
    out = os.path.join(os.path.dirname(path), 'calls.json')
    env = dict(env, RAMPART_CALLS_OUT=out)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(['ansible-playbook', '-i', inventory, '-f', str(forks), path],
                          capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit('playbook %s failed:\n%s%s' % (path, proc.stdout[-6000:], proc.stderr[-2000:]))
    with open(out) as handle:
        counted = json.load(handle)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / hosts
    calls = [counted['calls'].get(h, 0) for h in counted['changed']]
    changed = sum(1 for value in counted['changed'].values() if value)
    sample = next(iter(counted['tasks'].values()), [])
    return took, cpu, (min(calls) if calls else 0, max(calls) if calls else 0), changed, sample


def measure(role, count, work, env, batch=5):
    spec_boxes = boxes(role, count)
    spec = play(work, 'spec-%s-%d.json' % (role, count), json.dumps(spec_boxes))
    lines = ['all:', '  vars:', '    ansible_connection: containers.podman.podman',
             '    ansible_python_interpreter: /usr/bin/python3', '  hosts:']
    lines += ['    %s:' % box['name'] for box in spec_boxes]
    inventory = play(work, 'inventory-%s-%d.yml' % (role, count), '\n'.join(lines) + '\n')
    floor = play(work, 'floor.yml', '- hosts: all\n  gather_facts: true\n  tasks: []\n')
    apply = play(work, 'apply-%s.yml' % role, '- hosts: all\n  gather_facts: true\n  roles:\n    - role: rampart.firewall.%s\n'
                 '      vars: %s\n' % (VARIANT_ROLE.get(role, role), json.dumps(ROLE_VARS[role])))
    try:
        # in batches: fleet.py gives systemd 90 s to boot, which 10 boxes at once may not get on a loaded machine
        for start in range(0, count, batch):
            fleet('up', play(work, 'spec-%s-%d-%d.json' % (role, count, start), json.dumps(spec_boxes[start:start + batch])))
        rows = []
        for label, path in (('floor (facts only)', floor), ('first run', apply), ('re-run', apply)):
            took, cpu, calls, changed, tasks = run(inventory, path, env, count, count)
            rows.append((label, took, cpu, calls, changed, tasks))
        return rows
    finally:
        fleet('down', spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--roles', default=','.join(ROLES))
    ap.add_argument('--fleet', type=int, default=10, help='boxes of the fleet rows (0: none)')
    ap.add_argument('--fleet-roles', default=None, help='roles measured on the fleet too (default: all of --roles)')
    ap.add_argument('--batch', type=int, default=5, help='boxes started at once')
    args = ap.parse_args()
    subprocess.run([os.path.join(ROOT, 'images', 'build.sh'), 'bookworm'], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix='rampart-role-bench-')
    plugins = os.path.join(work, 'callback_plugins')
    os.mkdir(plugins)
    play(plugins, 'rampart_calls.py', CALLBACK)
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=plugins, ANSIBLE_CALLBACKS_ENABLED='rampart_calls',
               ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_HOST_KEY_CHECKING='False')
    results = []
    for role in [r for r in args.roles.split(',') if r]:
        fleet_roles = args.roles if args.fleet_roles is None else args.fleet_roles
        for count in [1] + ([args.fleet] if args.fleet > 1 and role in fleet_roles.split(',') else []):
            rows = measure(role, count, work, env, max(args.batch, 1))
            results.append((role, count, rows))
            print('measured %s on %d box(es): %s' % (role, count, [(r[0], round(r[1], 1), r[3]) for r in rows]),
                  file=sys.stderr, flush=True)
    print('\nRoles end to end, Debian 12 containers, podman connection, facts on, rollback_timeout 30 (default)\n')
    print('| role | boxes (forks) | run | wall s | above floor s | module calls / host | controller CPU s / host | changed hosts |')
    print('|---|---|---|---|---|---|---|---|')
    for role, count, rows in results:
        floor = rows[0][1]
        for label, took, cpu, calls, changed, tasks in rows:
            shown = str(calls[1]) if calls[0] == calls[1] else '%d-%d' % calls
            print('| %s | %d (%d) | %s | %.1f | %s | %s | %.2f | %d |'
                  % (role, count, count, label, took, '-' if label.startswith('floor') else '%.1f' % (took - floor),
                     shown, cpu, changed))
    ratios = [(role, count, rows, next((r for ro, c, r in results if ro == role and c == 1), None))
              for role, count, rows in results if count > 1]
    if any(single for dummy, dummy2, dummy3, single in ratios):
        print('\nFleet against one box (wall time of the N-box run / wall time of the 1-box run; 1.0: the fleet costs no more)\n')
        print('| role | boxes | floor | first run | re-run | first run above floor | re-run above floor |')
        print('|---|---|---|---|---|---|---|')
        for role, count, rows, single in ratios:
            if single is None:
                continue
            walls = [rows[i][1] / single[i][1] for i in range(3)]
            above = [(rows[i][1] - rows[0][1]) / max(single[i][1] - single[0][1], 0.01) for i in (1, 2)]
            print('| %s | %d | %.1fx | %.1fx | %.1fx | %.1fx | %.1fx |' % ((role, count) + tuple(walls) + tuple(above)))
    print('\nmodule calls of one host (last role, last run): %s' % ', '.join(results[-1][2][-1][5]) if results else '')
    for role, count, rows in results:
        if count == 1:
            print('%s first run: %s' % (role, ', '.join(rows[1][5])))
    print('load: %s' % subprocess.run(['uptime'], capture_output=True, text=True, check=False).stdout.strip())


if __name__ == '__main__':
    main()
