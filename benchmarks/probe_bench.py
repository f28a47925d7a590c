"""Benchmark: reachability probes over a fleet of 10 boxes, 5 probes each, serial vs concurrent (a benchmark, not a test).

    .venv/bin/python benchmarks/probe_bench.py [--timeout 2] [--keep]      (root, podman)

Starts 10 Debian 12 test containers (scripts/fleet.py, one --internal network 10.89.123.0/24,
fd89:123::/64). Each box gets echo servers on 80 and 443 (demo/probe.py serve), nothing on 81
and 82 (refused: the kernel's reset) and a DROP of TCP 9 (timeout), and 5 probes: 80 open,
443 open, 81 refused, 82 refused, 9 timeout; 50 probes in all, 10 of which wait for their
whole timeout. Measured in one run:
  - the probe engine (plugins/module_utils/reachability.py run()) on the controller, the 50
    probes with 1 worker (serial), 16 (the module's default) and 50 workers, and serial under a
    total budget that cuts it short;
  - playbooks/reachability.yml with the 50 probes declared from the controller (one module
    call), and declared from the boxes (each box probes its neighbour: 10 module calls in the
    containers through the podman connection) with --forks 1 (one source after the other) and
    --forks 10 (all at once).
Every run checks that every probe observed what it declared (drift 0). Prints one table; the
ratios come from this one run on a noisy shared 2-core machine: compare them, not the absolutes.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'demo'))
sys.path.insert(0, os.path.join(ROOT, '.cache', 'collections'))
os.environ.setdefault('CONTAINERS_CONF', os.path.join(ROOT, 'tests', 'containers.conf'))

import probe as demo_probe  # noqa: E402  (demo/probe.py: the echo server)
from ansible_collections.rampart.firewall.plugins.module_utils import reachability  # noqa: E402

BOXES = 10
NETWORK = 'rampart-probe-bench'
SPEC = [{'name': 'bench-probe-%02d' % i, 'image': 'localhost/rampart-test:bookworm',
         'networks': [{'name': NETWORK, 'ipv4_address': '10.89.123.%d' % (10 + i), 'ipv6_address': 'fd89:123::%d' % (10 + i)}]}
        for i in range(1, BOXES + 1)]
_NEXT = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
ANSIBLE_PLAYBOOK = _NEXT if os.path.exists(_NEXT) else 'ansible-playbook'
PORTS = ((80, 'open'), (443, 'open'), (81, 'refused'), (82, 'refused'), (9, 'timeout'))


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def declared(timeout, source=None):
    """box -> its 5 probes (from SOURCE(box) when given, else from the controller)."""
    out = {}
    for index, plat in enumerate(SPEC):
        address = plat['networks'][0]['ipv4_address']
        items = []
        for port, expect in PORTS:
            item = {'port': port, 'expect': expect, 'host': address, 'timeout': timeout}
            if source:
                item['from'] = source(index)
            items.append(item)
        out[plat['name']] = items
    return out


def engine(timeout, workers, budget=600):
    probes = [reachability.normalise(p, 'probe') for items in declared(timeout).values() for p in items]
    start = time.perf_counter()
    results = reachability.run(probes, budget=budget, workers=workers)
    took = time.perf_counter() - start
    held = sum(1 for r in results if r['ok'])
    cut = sum(1 for r in results if r['observed'] == 'budget')
    return took, len(results), held, cut


def playbook_run(work, env, probes, forks):
    inventory = {'all': {
        'vars': {'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'},
        'children': {'single_hosts': {'hosts': dict((name, {'single_host_confirm_probes': items})
                                                    for name, items in probes.items())}}}}
    path = os.path.join(work, 'inventory-%d.json' % forks)
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    report = os.path.join(work, 'report')
    cmd = [ANSIBLE_PLAYBOOK, '-i', path, '-f', str(forks), os.path.join(ROOT, 'playbooks', 'reachability.yml'),
           '-e', 'reachability_report_dir=%s' % report]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit('reachability.yml failed:\n' + proc.stdout[-4000:] + proc.stderr[-2000:])
    with open(os.path.join(report, 'reachability.json')) as handle:
        summary = json.load(handle)['summary']
    return took, summary['probes'], summary['as_declared'], summary['sources']


def floor_run(work, env, forks):
    """Seconds of a ping-only play on the 10 boxes: ansible-playbook start-up and one podman exec per box."""
    inventory = os.path.join(work, 'inventory-floor.json')
    with open(inventory, 'w') as handle:
        json.dump({'all': {'vars': {'ansible_connection': 'containers.podman.podman',
                                    'ansible_python_interpreter': '/usr/bin/python3'},
                           'hosts': dict((plat['name'], {}) for plat in SPEC)}}, handle)
    play = os.path.join(work, 'ping.yml')
    with open(play, 'w') as handle:
        handle.write('- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n')
    start = time.perf_counter()
    subprocess.run([ANSIBLE_PLAYBOOK, '-i', inventory, '-f', str(forks), play], capture_output=True, env=env, check=True)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--timeout', type=float, default=2.0, help='per-probe timeout, seconds (default 2)')
    ap.add_argument('--keep', action='store_true', help='leave the containers running')
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='rampart-probe-bench-')
    spec = os.path.join(work, 'spec.json')
    with open(spec, 'w') as handle:
        json.dump(SPEC, handle)
    started = time.perf_counter()
    sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'up', spec)
    try:
        for plat in SPEC:
            for port in (80, 443):
                demo_probe.serve(plat['name'], port)
            sh('podman', 'exec', plat['name'], 'iptables', '-w', '5', '-I', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP')
        setup = time.perf_counter() - started
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
        t = args.timeout
        rows = []
        serial = engine(t, 1)
        rows.append(('engine, controller, 1 worker (serial)', serial, None))
        for workers in (16, 50):
            rows.append(('engine, controller, %d workers' % workers, engine(t, workers), None))
        rows.append(('engine, serial, total budget %.0f s' % (2.5 * t), engine(t, 1, budget=2.5 * t), None))
        from_controller = playbook_run(work, env, declared(t), 10)
        rows.append(('reachability.yml, from the controller, -f 10', from_controller[0:1] + from_controller[1:3] + (0,),
                     from_controller[3]))
        neighbour = declared(t, lambda i: SPEC[(i + 1) % BOXES]['name'])
        for forks in (1, 10):
            got = playbook_run(work, env, neighbour, forks)
            rows.append(('reachability.yml, from the boxes, -f %d' % forks, got[0:1] + got[1:3] + (0,), got[3]))

        floors = dict((forks, floor_run(work, env, forks)) for forks in (1, 10))
        print('\n%d boxes x %d probes (80, 443 open; 81, 82 refused; 9 dropped: timeout), per-probe timeout %.1f s, '
              'one run (fleet up in %.0f s; load average %.1f, %d CPUs)\n'
              % (BOXES, len(PORTS), t, setup, os.getloadavg()[0], os.cpu_count()))
        print('| %-46s | %6s | %8s | %9s | %7s | %s' % ('case', 'probes', 'as decl.', 'seconds', 'sources', 'vs serial'))
        print('|%s|%s|%s|%s|%s|%s' % ('-' * 48, '-' * 8, '-' * 10, '-' * 11, '-' * 9, '-' * 12))
        base = serial[0]
        for name, (secs, count, held, cut), sources in rows:
            note = ' (%d cut by the budget)' % cut if cut else ''
            print('| %-46s | %6d | %8d | %9.2f | %7s | %5.1fx%s' % (name, count, held, secs,
                                                                    '-' if sources is None else sources, base / secs, note))
        floor = BOXES * 1 * t
        print('\nserial engine floor: %d timeouts x %.1f s = %.1f s; a concurrent run waits about one timeout (%.1f s)'
              % (BOXES, t, floor, t))
        f1, f10 = rows[-2][1][0], rows[-1][1][0]
        print('playbook from the boxes: -f 1 / -f 10 = %.1fx; the floor (a ping-only play on the 10 boxes): '
              '-f 1 %.2f s, -f 10 %.2f s; above the floor: -f 1 %.2f s, -f 10 %.2f s'
              % (f1 / f10, floors[1], floors[10], f1 - floors[1], f10 - floors[10]))
    finally:
        if not args.keep:
            sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'down', spec)


if __name__ == '__main__':
    main()
