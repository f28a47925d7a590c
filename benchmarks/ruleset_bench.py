"""Benchmark of the ruleset engine against a real container (a benchmark, not a test).

    make bench            (or: .venv/bin/python benchmarks/ruleset_bench.py [--rules N] [--repeat R]
                           [--compare DIR] [--keep])

Starts one Debian 12 test container (scripts/fleet.py, --internal network), writes an N-rule
IPv4 ruleset (default 10,000), then, R times (default 5), through the same podman connection:
  - a one-ping playbook (the floor: ansible-playbook start-up, one module round trip),
  - the first apply of the ruleset (the container reset to its fresh state before it: an empty
    ruleset, the distribution's rules files as the image had them, no record; it must report a
    change; it includes the confirm-or-revert round trips),
  - the re-apply of the same ruleset (it must report no change).
It prints the two comparisons of issue 22, each the median of the R paired differences
(same repetition) with their spread, against its bar:
  re-apply minus ping   at most +0.5 s
  first apply minus ping at most +1.5 s
With --compare DIR (a directory holding ansible_collections/rampart/firewall, for example
`git archive HEAD | tar -x -C DIR/ansible_collections/rampart/firewall`; may be repeated), every
repetition runs the two applies of that collection as well, interleaved, labelled with the
directory's name.
The same runs' CPU seconds (the controller's processes and the container's cgroup) follow: on a
shared, loaded machine they move much less than wall time, but they do not see waiting.
Then where the time goes, measured on the target's python3 with the collection's module_utils:
the module's imports (compiled from source, as AnsiballZ runs them), parsing the file and the
live iptables-save text (plain and with the desired ruleset known), the plan, iptables-restore
--test, iptables-restore and iptables-save; and on the controller, the AnsiballZ build of the
module and of iptables_confirm (every module_utils file it ships is parsed there), with Python's
collector on and paused, and which module_utils files each ships.
Numbers are from one noisy shared machine: compare within one run, not across runs.
"""
import argparse
import json
import os
import resource
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


# Issue 22's bars: seconds more than the one-ping playbook of the same repetition.
BARS = (('re-apply', 0.5), ('first apply', 1.5))

# Back to the container's fresh state before a first apply: an empty ruleset, the distribution's
# rules files as the image had them (saved by SAVE_FRESH), no record of earlier applies.
SAVE_FRESH = 'rm -rf /root/bench-fresh && mkdir -p /root/bench-fresh && cp -a /etc/iptables /root/bench-fresh/iptables'
RESET = r'''set -e
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' | iptables-restore
rm -rf /etc/iptables && cp -a /root/bench-fresh/iptables /etc/iptables
rm -rf /var/lib/rampart-firewall
'''

# What AnsiballZ ships as ansible/__init__.py (a stub, not the controller's package).
ANSIBLE_STUB = 'from pkgutil import extend_path\n__path__ = extend_path(__path__, __name__)\n'

TARGET_TIMER = r'''
import os, sys, time, subprocess
BENCH = '/root/bench'
def imports(what):
    """Best of 3: a fresh python3 importing WHAT with no .pyc (AnsiballZ compiles from source)."""
    code = 'import sys; sys.path.insert(0, %r); import %s' % (BENCH, what)
    best = None
    for dummy in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, '-B', '-c', code], check=True)
        took = time.perf_counter() - t
        best = took if best is None else min(best, took)
    return best
t_basic = imports('ansible.module_utils.basic')
t_module = imports('ansible_collections.rampart.firewall.plugins.modules.iptables_ruleset')
sys.path.insert(0, BENCH)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model as m, iptables_engine as e
text = open('/root/bench.v4').read()
live = subprocess.run(['iptables-save'], capture_output=True, text=True, check=True).stdout
t0 = time.perf_counter(); desired = m.parse(text, 'ipv4'); t1 = time.perf_counter()
current = m.parse(live, 'ipv4'); t2 = time.perf_counter()
try:
    t_known = time.perf_counter(); known = m.parse(live, 'ipv4', known=desired); t_known = time.perf_counter() - t_known
    assert known == current
except TypeError:
    t_known = -1.0
t3 = time.perf_counter(); plan = e.plan(desired, current, e.DEFAULT_PRESERVE); t4 = time.perf_counter()
subprocess.run(['iptables-restore', '--test'], stdin=open('/root/bench.v4'), check=True); t5 = time.perf_counter()
subprocess.run(['iptables-restore'], stdin=open('/root/bench.v4'), check=True); t6 = time.perf_counter()
subprocess.run(['iptables-save'], capture_output=True, check=True); t7 = time.perf_counter()
print('%f %f %f %f %f %f %f %f %f %f %d' % (t_basic, t_module, t1 - t0, t2 - t1, t_known, t4 - t3, t5 - t4, t6 - t5,
                                           t7 - t6, time.perf_counter() - t7, plan.changed))
'''


# The controller's part of every module call: the AnsiballZ build (ansible-core parses every module_utils
# file the module reaches into a syntax tree, then zips them), in a fresh process, best of 3, with
# Python's cyclic collector on (as ansible-core runs it) and paused (as the action plugin of
# iptables_ruleset runs it, plugins/action/iptables_ruleset.py gc_paused). Also the collection's files
# the payload holds (each parsed once per build). Prints one JSON line.
BUILD_TIMER = r'''
import builtins, gc, json, os, shutil, sys, time
from ansible import constants as C
from ansible.plugins.loader import init_plugin_loader, module_loader
init_plugin_loader()
from ansible.executor import module_common
from ansible.template import Templar
parsed = []
real = builtins.compile
def compile_and_note(source, filename, *args, **kwargs):
    parsed.append((str(filename), len(source)))
    return real(source, filename, *args, **kwargs)
module_common.compile = compile_and_note   # the module_utils finder's parse (ansible-core 2.19: compile(..., PyCF_ONLY_AST))
out = {}
for name in sys.argv[1:]:
    path = module_loader.find_plugin_with_context(name).plugin_resolved_path
    for paused in (False, True):
        best = None
        for dummy in range(3):
            del parsed[:]
            shutil.rmtree(os.path.join(C.DEFAULT_LOCAL_TMP, 'ansiballz_cache'), ignore_errors=True)  # built once per play
            if paused:
                gc.disable()
            start = time.process_time()
            module_common.modify_module(module_name=name, module_path=path, module_args={}, templar=Templar(loader=None),
                                        task_vars={'ansible_python_interpreter': '/usr/bin/python3'})
            took = time.process_time() - start
            gc.enable()
            best = took if best is None else min(best, took)
        out.setdefault(name, {})['paused' if paused else 'collector'] = best
    ours = [(f, n) for f, n in parsed if '/ansible_collections/rampart/firewall/plugins/module_utils/' in f]
    out[name]['files'] = sorted(os.path.basename(f)[:-3] for f, n in ours)
    out[name]['kb'] = sum(n for f, n in ours) / 1024.0
print(json.dumps(out))
'''
BUILT = ('ansible.builtin.ping', 'rampart.firewall.iptables_ruleset', 'rampart.firewall.iptables_confirm')


def controller_builds(env):
    """BUILD_TIMER's answer for the collection ENV's ANSIBLE_COLLECTIONS_PATH names, or None when it fails
    (another ansible-core: the rows are left out)."""
    proc = subprocess.run([sys.executable, '-c', BUILD_TIMER] + list(BUILT), capture_output=True, text=True, env=env, check=False)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def container_cpu(name):
    """A function returning the CPU seconds the container NAME has used so far (its cgroup's cpuacct),
    or None when that cannot be read."""
    path = sh('podman', 'inspect', name, '--format', '{{.State.CgroupPath}}').stdout.strip()
    for root in ('/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct'):
        usage = root + path + '/cpuacct.usage'
        if path and os.path.exists(usage):
            def read(usage=usage):
                with open(usage) as handle:
                    return int(handle.read()) / 1e9
            return read
    stat = '/sys/fs/cgroup' + path + '/cpu.stat'
    if path and os.path.exists(stat):
        def read_v2():
            with open(stat) as handle:
                return int(dict(line.split() for line in handle)['usage_usec']) / 1e6
        return read_v2
    return None


def measured(inventory, path, env, target_cpu):
    """playbook() plus the CPU seconds it cost: the controller's (ansible-playbook and every process
    it waited for) and the container's (None when the cgroup cannot be read)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    inside = target_cpu() if target_cpu else None
    took, changed = playbook(inventory, path, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if target_cpu:
        cpu += target_cpu() - inside
    return took, changed, cpu


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def install_collection(name):
    """The collection's plugins and ansible's module_utils (what AnsiballZ ships) in /root/bench,
    without any .pyc: imports compile from source, as in a module run."""
    import ansible.module_utils
    sh('podman', 'exec', name, 'sh', '-c', 'rm -rf /root/bench && mkdir -p /root/bench/ansible_collections/rampart/firewall '
       '/root/bench/ansible')
    sh('podman', 'cp', os.path.join(ROOT, 'plugins'), name + ':/root/bench/ansible_collections/rampart/firewall/plugins')
    sh('podman', 'cp', os.path.dirname(ansible.module_utils.__file__), name + ':/root/bench/ansible/module_utils')
    sh('podman', 'exec', '-i', name, 'sh', '-c', 'cat > /root/bench/ansible/__init__.py', input=ANSIBLE_STUB)
    sh('podman', 'exec', name, 'sh', '-c', 'find /root/bench -name __pycache__ -prune -exec rm -rf {} +')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rules', type=int, default=10000)
    ap.add_argument('--repeat', type=int, default=5, help='repetitions of ping, first apply, re-apply (default 5)')
    ap.add_argument('--compare', metavar='DIR', action='append', default=[],
                    help='also time the collection under DIR/ansible_collections (a baseline); may be repeated')
    ap.add_argument('--keep', action='store_true', help='leave the container running')
    args = ap.parse_args()
    for other in args.compare:
        if not os.path.isdir(os.path.join(other, 'ansible_collections', 'rampart', 'firewall')):
            sys.exit('--compare %s: no ansible_collections/rampart/firewall in it' % other)

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
        sh('podman', 'exec', NAME, 'sh', '-c', SAVE_FRESH)
        inventory = os.path.join(work, 'inventory.yml')
        with open(inventory, 'w') as f:
            f.write('all:\n  hosts:\n    %s:\n      ansible_connection: containers.podman.podman\n'
                    '      ansible_python_interpreter: /usr/bin/python3\n' % NAME)
        play = os.path.join(work, 'apply.yml')
        with open(play, 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks:\n'
                    '    - rampart.firewall.iptables_ruleset:\n        family: ipv4\n        src: /root/bench.v4\n')
        ping = os.path.join(work, 'ping.yml')
        with open(ping, 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n')
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'))
        variants = [('', env)]
        for other in args.compare:
            variants.append((' (%s)' % os.path.basename(os.path.abspath(other)),
                             dict(env, ANSIBLE_COLLECTIONS_PATH=os.path.abspath(other))))
        times = {}
        cpus = {}
        wrong = []
        target_cpu = container_cpu(NAME)
        for rep in range(args.repeat):
            took, dummy, cpu = measured(inventory, ping, env, target_cpu)
            times.setdefault('ping', []).append(took)
            cpus.setdefault('ping', []).append(cpu)
            for label, variant_env in variants:
                sh('podman', 'exec', '-i', NAME, 'sh', '-c', RESET)
                took, changed, cpu = measured(inventory, play, variant_env, target_cpu)
                times.setdefault('first apply' + label, []).append(took)
                cpus.setdefault('first apply' + label, []).append(cpu)
                if not changed:
                    wrong.append('repetition %d: the first apply%s reported no change' % (rep + 1, label))
                took, changed, cpu = measured(inventory, play, variant_env, target_cpu)
                times.setdefault('re-apply' + label, []).append(took)
                cpus.setdefault('re-apply' + label, []).append(cpu)
                if changed:
                    wrong.append('repetition %d: the re-apply%s reported a change' % (rep + 1, label))
        # the module's own work, on the target, with the live ruleset now equal to the file
        install_collection(NAME)
        out = sh('podman', 'exec', '-i', NAME, 'python3', '-', input=TARGET_TIMER).stdout.split()
        builds = [(label, controller_builds(variant_env)) for label, variant_env in variants]
        (t_basic, t_module, p_desired, p_live, p_known, t_plan, t_test, t_restore, t_save,
         dummy, changed) = [float(x) for x in out]

        print('\n%d rules, Debian 12 container (nft backend), podman connection, %d repetitions\n'
              % (args.rules, args.repeat))
        print('| %-36s | %7s | %7s | %7s |' % ('playbook, wall seconds', 'median', 'min', 'max'))
        print('|%s|%s|%s|%s|' % ('-' * 38, '-' * 9, '-' * 9, '-' * 9))
        for name, values in times.items():
            shown = 'ping only (the floor)' if name == 'ping' else name
            print('| %-36s | %7.2f | %7.2f | %7.2f |' % (shown, median(values), min(values), max(values)))
        print('\n| %-36s | %8s | %-17s | %-9s | %s' % ('comparison (paired, same repetition)', 'median', 'spread', 'bar', ''))
        print('|%s|%s|%s|%s|%s' % ('-' * 38, '-' * 10, '-' * 19, '-' * 11, '-' * 8))
        for label, dummy_env in variants:
            for what, limit in BARS:
                deltas = [run - floor for run, floor in zip(times[what + label], times['ping'])]
                mid = median(deltas)
                print('| %-36s | %+7.2f s | %+6.2f .. %+6.2f s | <= +%.1f s | %s'
                      % (what + label + ' - ping', mid, min(deltas), max(deltas), limit, 'within' if mid <= limit else 'OVER'))
        for line in wrong:
            print('WRONG: ' + line)
        print('\nCPU seconds of the same runs, controller%s (less sensitive to a loaded machine than wall\n'
              'time, blind to waiting: the confirm round trips, the timer\'s wait before its apply)\n'
              % (' + container' if target_cpu else ' only (the container\'s cgroup cannot be read)'))
        print('| %-36s | %7s | %-17s |' % ('playbook', 'median', 'minus ping, paired'))
        print('|%s|%s|%s|' % ('-' * 38, '-' * 9, '-' * 19))
        for name, values in cpus.items():
            deltas = [run - floor for run, floor in zip(values, cpus['ping'])]
            paired = '' if name == 'ping' else '%+.2f (%+.2f .. %+.2f)' % (median(deltas), min(deltas), max(deltas))
            print('| %-36s | %7.2f | %-17s |' % ('ping only' if name == 'ping' else name, median(values), paired))

        rows = [
            ('python3 + ansible.module_utils.basic', t_basic, 'what the ping module imports'),
            ('python3 + the iptables_ruleset module', t_module, 'no .pyc, as under AnsiballZ: +%.3f s over basic'
             % (t_module - t_basic)),
            ('parse the file', p_desired, 'user spelling'),
            ('parse the live iptables-save', p_live, 'without known'),
            ('parse the live, desired known', p_known, 'what the module does' if p_known >= 0 else 'not supported'),
            ('plan (canonical diff)', t_plan, 'changed=%s' % bool(changed)),
            ('iptables-restore --test of the file', t_test, ''),
            ('iptables-restore of the file', t_restore, ''),
            ('iptables-save', t_save, ''),
        ]
        print('\nWhere the time goes, on the target (one run)\n')
        print('| %-40s | %9s | %s' % ('step', 'seconds', 'note'))
        print('|%s|%s|%s' % ('-' * 42, '-' * 11, '-' * 20))
        for step, secs, note in rows:
            print('| %-40s | %9.3f | %s' % (step, secs, note))
        print('\nWhere the time goes, on the controller: the AnsiballZ build of each module call (CPU seconds, best\n'
              'of 3, a fresh process: a play\'s worker holds more objects, so the collector costs it more)\n')
        print('| %-46s | %9s | %9s | %s' % ('module', 'collector', 'paused', "the collection's module_utils it ships"))
        print('|%s|%s|%s|%s' % ('-' * 48, '-' * 11, '-' * 11, '-' * 40))
        for label, found in builds:
            for module in BUILT:
                if not found or module not in found:
                    continue
                item = found[module]
                shipped = '%d files, %.0f KB' % (len(item['files']), item['kb']) if item['files'] else ''
                print('| %-46s | %9.3f | %9.3f | %s' % (module + label, item['collector'], item['paused'], shipped))
        for label, found in builds:
            for module in BUILT[1:]:
                if found and module in found:
                    print('%s%s ships: %s' % (module, label, ', '.join(found[module]['files'])))
    finally:
        if not args.keep:
            sh(sys.executable, os.path.join(ROOT, 'scripts', 'fleet.py'), 'down', spec)


if __name__ == '__main__':
    main()
