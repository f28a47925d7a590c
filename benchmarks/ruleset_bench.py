"""Benchmark of the ruleset engine against a real container (a benchmark, not a test).

    make bench            (or: .venv/bin/python benchmarks/ruleset_bench.py [--rules N])

Starts one Debian 12 test container (scripts/fleet.py, --internal network), writes an
N-rule IPv4 ruleset (default 10,000), then in one run measures and prints:
  - ansible-playbook wall time of the first apply and of the re-apply (which must report
    no change), through the podman connection,
  - the module's own parse + plan (canonical diff) time, on the target's python3, with the
    collection's module_utils, on the same file and the live iptables-save text,
  - iptables-restore of the same file, and iptables-save, on the target.
Numbers are from one noisy shared machine: compare the ratios, not the absolutes.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NAME = 'bench-bookworm'
SPEC = [{'name': NAME, 'image': 'localhost/rampart-test:bookworm',
         'networks': [{'name': 'rampart-bench', 'ipv4_address': '10.89.59.11', 'ipv6_address': 'fd89:59::11'}]}]
os.environ.setdefault('CONTAINERS_CONF', os.path.join(ROOT, 'tests', 'containers.conf'))


def ruleset(n):
    """An N-rule ruleset written the way people write rules (user spelling)."""
    lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]']
    chains = ['SVC%02d' % i for i in range(20)]
    lines += [':%s - [0:0]' % c for c in chains]
    lines += ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -i lo -j ACCEPT',
              '-A INPUT -p tcp --dport 22 -j ACCEPT']
    lines += ['-A INPUT -p tcp -m multiport --dports %d,%d -j %s' % (1000 + i, 2000 + i, c) for i, c in enumerate(chains)]
    body = n - len([x for x in lines if x.startswith('-A')])
    for i in range(body):
        c = chains[i % len(chains)]
        a, b = divmod(i, 250)
        kind = i % 5
        if kind == 0:
            lines.append('-A %s -s 10.%d.%d.0/24 -p tcp --dport %d -j ACCEPT' % (c, a % 250, b, 1024 + i % 60000))
        elif kind == 1:
            lines.append('-A %s -s 172.16.%d.%d -p udp --dport %d -m comment --comment "client %d" -j ACCEPT' % (c, a % 250, b, 1024 + i % 60000, i))
        elif kind == 2:
            lines.append('-A %s -i eth0 -p tcp --syn --dport %d -m conntrack --ctstate NEW -j ACCEPT' % (c, 1024 + i % 60000))
        elif kind == 3:
            lines.append('-A %s -p icmp --icmp-type echo-request -s 192.168.%d.%d -m limit --limit 5/s -j ACCEPT' % (c, a % 250, b))
        else:
            lines.append('-A %s -d 10.%d.%d.1 -p tcp --dport %d -j REJECT --reject-with tcp-reset' % (c, a % 250, b, 1024 + i % 60000))
    lines += ['-A INPUT -j REJECT --reject-with icmp-proto-unreachable', 'COMMIT', '']
    return '\n'.join(lines)


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def playbook(inventory, path, env, extra=None, host=NAME):
    """(wall seconds, whether HOST reported a change) of one ansible-playbook run with the json
    callback (ANSIBLE_STDOUT_CALLBACK in ENV); EXTRA: extra variables. Exits on a failure."""
    cmd = ['ansible-playbook', '-i', inventory, path]
    if extra:
        cmd += ['-e', json.dumps(extra)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit('playbook failed:\n' + proc.stdout[-4000:] + proc.stderr[-2000:])
    result = json.loads(proc.stdout)
    stats = result['stats'][host]
    return took, stats['changed'] > 0


TARGET_TIMER = r'''
import sys, time, subprocess
sys.path.insert(0, '/root/bench')
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model as m, iptables_engine as e
text = open('/root/bench.v4').read()
live = subprocess.run(['iptables-save'], capture_output=True, text=True, check=True).stdout
t0 = time.perf_counter(); desired = m.parse(text, 'ipv4'); t1 = time.perf_counter()
current = m.parse(live, 'ipv4'); t2 = time.perf_counter()
plan = e.plan(desired, current, e.DEFAULT_PRESERVE); t3 = time.perf_counter()
t4 = time.perf_counter(); subprocess.run(['iptables-restore', '--test'], stdin=open('/root/bench.v4'), check=True); t5 = time.perf_counter()
subprocess.run(['iptables-restore'], stdin=open('/root/bench.v4'), check=True); t6 = time.perf_counter()
subprocess.run(['iptables-save'], capture_output=True, check=True); t7 = time.perf_counter()
print('%f %f %f %f %f %f %d' % (t1 - t0, t2 - t1, t3 - t2, t5 - t4, t6 - t5, t7 - t6, plan.changed))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rules', type=int, default=10000)
    ap.add_argument('--keep', action='store_true', help='leave the container running')
    args = ap.parse_args()

    subprocess.run([os.path.join(ROOT, 'images', 'build.sh'), 'bookworm'], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix='rampart-bench-')
    spec = os.path.join(work, 'spec.json')
    with open(spec, 'w') as f:
        json.dump(SPEC, f)
    sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'up', spec)
    try:
        rules = os.path.join(work, 'bench.v4')
        with open(rules, 'w') as f:
            f.write(ruleset(args.rules))
        sh('podman', 'cp', rules, NAME + ':/root/bench.v4')
        sh('podman', 'exec', NAME, 'mkdir', '-p', '/root/bench/ansible_collections/rampart/firewall')
        sh('podman', 'cp', os.path.join(ROOT, 'plugins'), NAME + ':/root/bench/ansible_collections/rampart/firewall/plugins')
        inventory = os.path.join(work, 'inventory.yml')
        with open(inventory, 'w') as f:
            f.write('all:\n  hosts:\n    %s:\n      ansible_connection: containers.podman.podman\n'
                    '      ansible_python_interpreter: /usr/bin/python3\n' % NAME)
        play = os.path.join(work, 'apply.yml')
        with open(play, 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks:\n'
                    '    - rampart.firewall.iptables_ruleset:\n        family: ipv4\n        src: /root/bench.v4\n')
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'))
        ping = os.path.join(work, 'ping.yml')
        with open(ping, 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n')
        floor, dummy = playbook(inventory, ping, env)
        first, first_changed = playbook(inventory, play, env)
        second, second_changed = playbook(inventory, play, env)
        # the module's own work, on the target, with the live ruleset now equal to the file
        out = sh('podman', 'exec', '-i', NAME, 'python3', '-', input=TARGET_TIMER).stdout.split()
        p_desired, p_live, t_plan, t_test, t_restore, t_save, changed = [float(x) for x in out]

        rows = [
            ('ansible-playbook, ping only (the floor)', floor, 'start-up + one podman exec'),
            ('ansible-playbook, first apply', first, ('changed' if first_changed else 'NOT CHANGED (wrong)')
             + ', incl. confirm-or-revert round trip'),
            ('ansible-playbook, re-apply', second, 'no change' if not second_changed else 'CHANGED (wrong)'),
            ('module: parse file', p_desired, ''),
            ('module: parse live iptables-save', p_live, ''),
            ('module: plan (canonical diff)', t_plan, 'changed=%s' % bool(changed)),
            ('module: parse + diff total', p_desired + p_live + t_plan, 'target < 0.3 s'),
            ('iptables-restore --test of the file', t_test, ''),
            ('iptables-restore of the file', t_restore, ''),
            ('iptables-save', t_save, ''),
        ]
        print('\n%d rules, Debian 12 container (nft backend), one run\n' % args.rules)
        print('| %-40s | %9s | %s' % ('step', 'seconds', 'note'))
        print('|%s|%s|%s' % ('-' * 42, '-' * 11, '-' * 20))
        for step, secs, note in rows:
            print('| %-40s | %9.3f | %s' % (step, secs, note))
        print('\nratio re-apply playbook / iptables-restore: %.1f; re-apply minus the ping floor: %.2f s'
              % (second / t_restore, second - floor))
    finally:
        if not args.keep:
            sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'down', spec)


if __name__ == '__main__':
    main()
