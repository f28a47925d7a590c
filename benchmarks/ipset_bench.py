"""Benchmark: a 50,000-network block list as an ipset vs as 50,000 iptables rules (a benchmark, not a test).

    .venv/bin/python benchmarks/ipset_bench.py [--entries N] [--keep]     (root, podman)

Starts one Debian 12 test container (scripts/fleet.py, --internal network) and, in one run,
measures with ansible-playbook through the podman connection:
  - rampart.firewall.ipset: create the set from a file on the target, swap in the list with 10%
    of its networks changed, re-apply it unchanged;
  - rampart.firewall.iptables_ruleset: the same lists as one DROP rule per network (first apply,
    10% changed, unchanged);
  - the bare commands on the target: `ipset restore` of the module's temporary-set-and-swap
    payload, and `iptables-restore` of the 50,000-rule file;
and prints one table with the time and whether the task reported a change. A ping-only
playbook gives the floor (ansible start-up and one podman exec). Numbers come from one noisy
shared machine: compare the ratios, not the absolutes.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ruleset_bench  # noqa: E402  (the playbook timing helper of the engine benchmark)
from ruleset_bench import ROOT, sh  # noqa: E402

NAME = 'bench-ipset'
SPEC = [{'name': NAME, 'image': 'localhost/rampart-test:bookworm',
         'networks': [{'name': 'rampart-ipset-bench', 'ipv4_address': '10.89.93.11', 'ipv6_address': 'fd89:93::11'}]}]
os.environ.setdefault('CONTAINERS_CONF', os.path.join(ROOT, 'tests', 'containers.conf'))


def networks(n, shift):
    """N distinct /24s from 11.0.0.0 on; shift=1 replaces every 10th by one from 12.0.0.0 on (10%)."""
    out = []
    for i in range(n):
        v = (12 << 24) + ((i // 10) << 8) if shift and i % 10 == 0 else (11 << 24) + (i << 8)
        out.append('%d.%d.%d.0/24' % (v >> 24, v >> 16 & 255, v >> 8 & 255))
    return out


def rules(nets):
    lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]']
    lines += ['-A INPUT -s %s -j DROP' % net for net in nets]
    return '\n'.join(lines + ['COMMIT', ''])


def playbook(inventory, path, env, extra=None):
    return ruleset_bench.playbook(inventory, path, env, extra, host=NAME)


TARGET_TIMER = r'''
import subprocess, sys, time
sys.path.insert(0, '/root/bench')
from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as m
spec = m.SetSpec('hash:net', 'inet', maxelem=131072)
keys = m.parse_members(open('/root/list0.txt').read().splitlines(), spec)
payload = m.render_swap('bench', spec, keys, tmp='bench_tmp')
t0 = time.perf_counter()
subprocess.run(['ipset', 'restore'], input=payload, text=True, check=True)
t1 = time.perf_counter()
subprocess.run(['iptables-restore'], stdin=open('/root/rules0.v4'), check=True)
t2 = time.perf_counter()
print('%f %f' % (t1 - t0, t2 - t1))
'''

IPSET_PLAY = '''- hosts: all
  gather_facts: false
  tasks:
    - rampart.firewall.ipset:
        name: bench
        src: /root/{{ list }}
        maxelem: 131072
        persist: false
'''

RULES_PLAY = '''- hosts: all
  gather_facts: false
  tasks:
    - rampart.firewall.iptables_ruleset:
        family: ipv4
        src: /root/{{ list }}
        persist: false
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--entries', type=int, default=50000)
    ap.add_argument('--keep', action='store_true', help='leave the container running')
    args = ap.parse_args()

    subprocess.run([os.path.join(ROOT, 'images', 'build.sh'), 'bookworm'], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix='rampart-ipset-bench-')
    spec = os.path.join(work, 'spec.json')
    with open(spec, 'w') as f:
        json.dump(SPEC, f)
    sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'up', spec)
    try:
        for shift in (0, 1):
            nets = networks(args.entries, shift)
            for name, text in (('list%d.txt' % shift, '\n'.join(nets) + '\n'), ('rules%d.v4' % shift, rules(nets))):
                path = os.path.join(work, name)
                with open(path, 'w') as f:
                    f.write(text)
                sh('podman', 'cp', path, NAME + ':/root/' + name)
        sh('podman', 'exec', NAME, 'mkdir', '-p', '/root/bench/ansible_collections/rampart/firewall')
        sh('podman', 'cp', os.path.join(ROOT, 'plugins'), NAME + ':/root/bench/ansible_collections/rampart/firewall/plugins')
        inventory = os.path.join(work, 'inventory.yml')
        with open(inventory, 'w') as f:
            f.write('all:\n  hosts:\n    %s:\n      ansible_connection: containers.podman.podman\n'
                    '      ansible_python_interpreter: /usr/bin/python3\n' % NAME)
        plays = {}
        for key, text in (('ping', '- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n'),
                          ('ipset', IPSET_PLAY), ('rules', RULES_PLAY)):
            plays[key] = os.path.join(work, key + '.yml')
            with open(plays[key], 'w') as f:
                f.write(text)
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'))
        floor = playbook(inventory, plays['ping'], env)
        rows = [('ansible-playbook, ping only (the floor)', floor, '')]
        for label, key, files in (('ipset', 'ipset', ('list0.txt', 'list1.txt', 'list1.txt')),
                                  ('iptables_ruleset', 'rules', ('rules0.v4', 'rules1.v4', 'rules1.v4'))):
            for what, name in zip(('first apply', '10% changed', 'unchanged'), files):
                rows.append(('%s: %s' % (label, what), playbook(inventory, plays[key], env, {'list': name}),
                             'set hash:net, %d entries' % args.entries if key == 'ipset' else '%d rules' % args.entries))
        out = sh('podman', 'exec', '-i', NAME, 'python3', '-', input=TARGET_TIMER).stdout.split()
        t_ipset, t_iptables = float(out[0]), float(out[1])
        rows.append(('bare ipset restore (temp set + swap)', (t_ipset, None), 'on the target'))
        rows.append(('bare iptables-restore of the rules', (t_iptables, None), 'on the target'))
        print('\n%d networks, Debian 12 container (iptables nft backend), one run\n' % args.entries)
        print('| %-42s | %9s | %-8s | %s' % ('step', 'seconds', 'changed', 'note'))
        print('|%s|%s|%s|%s' % ('-' * 44, '-' * 11, '-' * 10, '-' * 20))
        for step, (secs, changed), note in rows:
            print('| %-42s | %9.2f | %-8s | %s' % (step, secs, '-' if changed is None else str(changed).lower(), note))
    finally:
        if not args.keep:
            sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'down', spec)


if __name__ == '__main__':
    main()
