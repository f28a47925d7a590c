"""Benchmark of rampart.firewall.iptables_rule with a list of rules (a benchmark, not a test).

    .venv/bin/python benchmarks/rule_bench.py [--rules N] [--family ipv4|both] [--builtin]

Starts one Debian 12 test container (scripts/fleet.py, --internal network), creates the
chain the rules go to, then runs ONE iptables_rule task with `rules:` of N rules (default
200) through ansible-playbook twice, and prints the wall time of both runs (whole playbook
and the task alone, from the json callback) and whether the re-run reported no change.
--builtin also times ansible.builtin.iptables looping over the same rules (slow: minutes).
Numbers are from one noisy shared machine: compare the ratios, not the absolutes.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NAME = 'bench-rule'
SPEC = [{'name': NAME, 'image': 'localhost/rampart-test:bookworm',
         'networks': [{'name': 'rampart-bench-rule', 'ipv4_address': '10.89.58.11', 'ipv6_address': 'fd89:58::11'}]}]
os.environ.setdefault('CONTAINERS_CONF', os.path.join(ROOT, 'tests', 'containers.conf'))


def rules(n, family):
    """N structured rules of the kinds people write (user spelling: names, ranges, lists)."""
    out = []
    for i in range(n):
        kind = i % 5
        a, b = divmod(i, 250)
        if kind == 0:
            rule = {'protocol': 'tcp', 'destination_port': 1024 + i, 'source': ['10.%d.%d.0/24' % (a, b)],
                    'family': 'ipv4', 'jump': 'ACCEPT'}
        elif kind == 1:
            rule = {'protocol': 'udp', 'destination_port': 1024 + i, 'comment': 'client %d' % i, 'jump': 'ACCEPT'}
        elif kind == 2:
            rule = {'in_interface': 'eth0', 'protocol': 'tcp', 'syn': 'match', 'destination_ports': [1024 + i, 'https'],
                    'ctstate': ['NEW'], 'jump': 'ACCEPT'}
        elif kind == 3:
            rule = {'protocol': 'icmp', 'icmp_type': 'echo-request', 'limit': '%d/second' % (1 + i % 50),
                    'comment': 'ping %d' % i, 'jump': 'ACCEPT'}
        else:
            rule = {'protocol': 'tcp', 'destination_port': '%d-%d' % (2000 + i, 2010 + i), 'jump': 'REJECT',
                    'reject_with': 'tcp-reset'}
        if family == 'ipv4':
            rule.pop('family', None)
        out.append(rule)
    return out


def builtin_rules(n):
    """The same rules for ansible.builtin.iptables (IPv4)."""
    out = []
    for rule in rules(n, 'ipv4'):
        item = {'chain': 'bench', 'protocol': rule['protocol'] if 'protocol' in rule else None, 'jump': rule['jump']}
        if 'destination_port' in rule:
            item['destination_port'] = str(rule['destination_port']).replace('-', ':')
        if 'source' in rule:
            item['source'] = rule['source'][0]
        if 'comment' in rule:
            item['comment'] = rule['comment']
        if 'destination_ports' in rule:
            item['destination_ports'] = [str(p) for p in rule['destination_ports']]
            item['syn'] = 'match'
            item['ctstate'] = ['NEW']
            item['in_interface'] = 'eth0'
        if 'icmp_type' in rule:
            item['icmp_type'] = rule['icmp_type']
            item['limit'] = rule['limit']
            item['comment'] = rule['comment']
        if 'reject_with' in rule:
            item['reject_with'] = rule['reject_with']
        out.append(item)
    return out


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def _seconds(stamp):
    return datetime.strptime(stamp.replace('Z', ''), '%Y-%m-%dT%H:%M:%S.%f').timestamp()


def playbook(inventory, path, env):
    """(wall seconds, {task name: (seconds, changed)}) of one ansible-playbook run."""
    start = time.perf_counter()
    proc = subprocess.run(['ansible-playbook', '-i', inventory, path], capture_output=True, text=True, env=env,
                          check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit('playbook failed:\n' + proc.stdout[-4000:] + proc.stderr[-2000:])
    result = json.loads(proc.stdout)
    tasks = {}
    for play in result['plays']:
        for task in play['tasks']:
            duration = task['task']['duration']
            host = task['hosts'][NAME]
            tasks[task['task']['name']] = (_seconds(duration['end']) - _seconds(duration['start']),
                                           bool(host.get('changed')))
    return took, tasks


def write_play(path, tasks):
    with open(path, 'w') as handle:
        json.dump([{'name': 'Benchmark', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}], handle, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rules', type=int, default=200)
    ap.add_argument('--family', choices=['ipv4', 'both'], default='ipv4')
    ap.add_argument('--builtin', action='store_true', help='also time ansible.builtin.iptables (slow)')
    ap.add_argument('--keep', action='store_true', help='leave the container running')
    args = ap.parse_args()

    subprocess.run([os.path.join(ROOT, 'images', 'build.sh'), 'bookworm'], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix='rampart-rule-bench-')
    spec = os.path.join(work, 'spec.json')
    with open(spec, 'w') as f:
        json.dump(SPEC, f)
    sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'up', spec)
    try:
        inventory = os.path.join(work, 'inventory.yml')
        with open(inventory, 'w') as f:
            f.write('all:\n  hosts:\n    %s:\n      ansible_connection: containers.podman.podman\n'
                    '      ansible_python_interpreter: /usr/bin/python3\n' % NAME)
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'))
        setup = os.path.join(work, 'setup.yml')
        write_play(setup, [{'name': 'Create the chain', 'rampart.firewall.iptables_chain': {
            'chain': 'bench', 'family': args.family}}, {'name': 'ping', 'ansible.builtin.ping': {}}])
        dummy, setup_tasks = playbook(inventory, setup, env)
        play = os.path.join(work, 'rules.yml')
        task = 'iptables_rule with %d rules' % args.rules
        write_play(play, [{'name': task, 'rampart.firewall.iptables_rule': {
            'family': args.family, 'chain': 'bench', 'rules': rules(args.rules, args.family)}}])
        first, first_tasks = playbook(inventory, play, env)
        second, second_tasks = playbook(inventory, play, env)
        count = len(sh('podman', 'exec', NAME, 'iptables', '-S', 'bench').stdout.splitlines()) - 1

        rows = [
            ('ansible-playbook, first run', first, 'changed' if first_tasks[task][1] else 'NOT CHANGED (wrong)'),
            ('  the iptables_rule task', first_tasks[task][0], '%d rules live in IPv4' % count),
            ('ansible-playbook, re-run', second, 'no change' if not second_tasks[task][1] else 'CHANGED (wrong)'),
            ('  the iptables_rule task', second_tasks[task][0], 'target < 2 s'),
            ('baseline: an ansible.builtin.ping task', setup_tasks['ping'][0], 'connection + module start'),
        ]
        if args.builtin:
            sh('podman', 'exec', NAME, 'iptables', '-F', 'bench')
            loop = os.path.join(work, 'builtin.yml')
            write_play(loop, [{'name': 'builtin', 'ansible.builtin.iptables': '{{ item }}',
                               'loop': builtin_rules(args.rules)}])
            took, tasks = playbook(inventory, loop, env)
            rows.append(('ansible.builtin.iptables loop, first run', took, 'for comparison'))
        print('\n%d rules (family %s) in one iptables_rule task, Debian 12 container (nft backend)\n'
              % (args.rules, args.family))
        print('| %-40s | %9s | %s' % ('step', 'seconds', 'note'))
        print('|%s|%s|%s' % ('-' * 42, '-' * 11, '-' * 24))
        for step, secs, note in rows:
            print('| %-40s | %9.3f | %s' % (step, secs, note))
    finally:
        if not args.keep:
            sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'down', spec)


if __name__ == '__main__':
    main()
