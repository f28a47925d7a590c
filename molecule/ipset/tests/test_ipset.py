"""rampart.firewall.ipset on a live host: members, packets, atomic swap under load, refusals, reboot.

The tests run in this order and build on each other (the swap changes the block list that the
reboot test then expects back).
"""
import hashlib
import json
import re
import subprocess
import time

import probe
import rampart_fleet as fleet

HOST, CLIENT = 'ipset-host', 'ipset-client'
ALLOWED = {4: '10.89.92.21', 6: 'fd89:92::21'}
BLOCKED = {4: '10.89.92.22', 6: 'fd89:92::22'}
OTHER = {4: '10.89.92.23', 6: 'fd89:92::23'}
TARGET = {4: '10.89.92.11', 6: 'fd89:92::11'}

LOOP_CODE = r'''
import json, os, socket, sys, time
target, port, src, stop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ok, fails, start = 0, [], time.time()
while not os.path.exists(stop):
    s = socket.socket(socket.AF_INET6 if ':' in target else socket.AF_INET)
    s.settimeout(1.0)
    t = time.time()
    try:
        s.bind((src, 0))
        s.connect((target, port))
        ok += 1
    except OSError as exc:
        fails.append('%.3f %s' % (t - start, exc))
    finally:
        s.close()
    time.sleep(0.01)
with open(out + '.tmp', 'w') as f:
    json.dump({'ok': ok, 'fails': fails, 'seconds': time.time() - start}, f)
os.rename(out + '.tmp', out)
'''


def on(name, *argv, check=True):
    return subprocess.run(['podman', 'exec', name] + list(argv), capture_output=True, text=True, check=check).stdout


def outcome(family, source, port=9000):
    return probe.probe(CLIENT, TARGET[family], port, 'tcp', source=source, timeout=2).outcome


def count(name):
    return int(re.search(r'Number of entries: (\d+)', on(HOST, 'ipset', 'list', '-t', name)).group(1))


def state_digest():
    """What a refusal must leave alone: live sets, live rules (both families), persisted files."""
    parts = [on(HOST, 'ipset', 'save')]
    for cmd in ('iptables-save', 'ip6tables-save'):
        text = on(HOST, cmd)
        parts.append(re.sub(r'\[\d+:\d+\]', '', '\n'.join(l for l in text.splitlines() if not l.startswith('#'))))
    for path in ('/etc/iptables/ipsets', '/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        parts.append(on(HOST, 'cat', path))
    return [hashlib.sha256(p.encode()).hexdigest()[:16] for p in parts]


def setup_module():
    probe.serve(HOST, 9000)
    probe.serve(HOST, 9100)


def test_members_are_live_and_canonical():
    assert count('blocklist') == 50001
    assert subprocess.run(['podman', 'exec', HOST, 'ipset', 'test', 'blocklist', BLOCKED[4]],
                          capture_output=True, check=False).returncode == 0
    assert subprocess.run(['podman', 'exec', HOST, 'ipset', 'test', 'blocklist', '11.0.0.77'],
                          capture_output=True, check=False).returncode == 0
    assert subprocess.run(['podman', 'exec', HOST, 'ipset', 'test', 'blocklist', ALLOWED[4]],
                          capture_output=True, check=False).returncode != 0
    six = sorted(l.split(' ', 2)[2] for l in on(HOST, 'ipset', 'save', 'blocklist6').splitlines() if l.startswith('add '))
    assert six == ['2001:db8:1::1', '2001:db8::/32', 'fd89:92::22']
    assert on(HOST, 'ipset', 'list', '-n').split() == ['blocklist', 'blocklist6', 'allow_svc', 'allow_svc6']


def test_packets_in_both_families():
    for family in (4, 6):
        assert outcome(family, ALLOWED[family]) == 'open', family
        assert outcome(family, BLOCKED[family]) == 'timeout', family       # dropped: in the block list
        assert outcome(family, OTHER[family]) == 'open', family
        assert outcome(family, ALLOWED[family], 9100) == 'open', family    # in the allow list
        assert outcome(family, OTHER[family], 9100) == 'refused', family   # not in it


def test_sets_and_rules_are_persisted():
    saved = on(HOST, 'cat', '/etc/iptables/ipsets')
    assert saved.count('\nadd blocklist ') == 50001
    assert 'create allow_svc6 hash:ip family inet6 ' in saved
    assert '--match-set blocklist src -j DROP' in on(HOST, 'cat', '/etc/iptables/rules.v4')


def test_refusals_change_nothing():
    before = state_digest()
    proc = fleet.playbook('refused.yml', limit=HOST)
    after = state_digest()
    assert after == before
    lines = [l for l in proc.stdout.splitlines() if '"msg": "REFUSED' in l or 'REFUSED failed=' in l]
    text = '\n'.join(lines)
    print(text)
    assert len(lines) == 5, proc.stdout[-4000:]
    assert all('failed=True changed=False' in l for l in lines)
    assert 'refusing to destroy the set blocklist' in text
    assert '-A INPUT -m set --match-set blocklist src -j DROP' in text
    assert "members[1]: '10.89.92.300' is not an IPv4 address" in text
    assert 'name must be 1 to 31 characters' in text
    # a type change of a set that a rule uses: refused before anything changes (no destroy, no swap)
    assert 'refusing to change the set allow_svc from hash:ip/inet to hash:net/inet, nothing was changed: it is in use by' in text
    # iptables_ruleset: a set that neither exists nor is declared, named with its rule
    assert ('the set nosuchset does not exist and is not declared (ipsets): create it with rampart.firewall.ipset '
            'before this task, or fix the name (rule table filter: -A INPUT -m set --match-set nosuchset src -j DROP)'
            in text)


def test_swap_under_continuous_probes_never_drops_an_allowed_packet():
    stop, out = '/tmp/probe.stop', '/tmp/probe.json'
    on(CLIENT, 'rm', '-f', stop, out)
    subprocess.run(['podman', 'exec', '-d', CLIENT, 'python3', '-c', LOOP_CODE, TARGET[4], '9000', ALLOWED[4], stop, out],
                   check=True)
    time.sleep(1)
    start = time.time()
    proc = fleet.playbook('swap.yml', limit=HOST)
    took = time.time() - start
    time.sleep(1)
    on(CLIENT, 'touch', stop)
    result = None
    for _attempt in range(50):
        text = on(CLIENT, 'cat', out, check=False)
        if text:
            result = json.loads(text)
            break
        time.sleep(0.2)
    summary = [l for l in proc.stdout.splitlines() if 'SWAP method=' in l]
    print('\nswap playbook (1%% of 50,001 changed): %.1f s; probes during it: %d ok, %d failed; %s'
          % (took, result['ok'], len(result['fails']), summary))
    assert result['fails'] == []
    assert result['ok'] > 20
    assert 'SWAP method=swap added=500 removed=500 changed=True' in ' '.join(summary[0].split())
    assert count('blocklist') == 50001
    assert outcome(4, BLOCKED[4]) == 'timeout'
    assert on(HOST, 'ipset', 'list', '-n').split() == ['blocklist', 'blocklist6', 'allow_svc', 'allow_svc6']


def test_reboot_brings_sets_before_rules():
    fleet.restart(HOST)
    # the rules reference the sets: iptables-restore at boot fails unless the sets came first
    assert '-A INPUT -m set --match-set blocklist src -j DROP' in on(HOST, 'iptables', '-S', 'INPUT')
    assert '-A INPUT -m set --match-set blocklist6 src -j DROP' in on(HOST, 'ip6tables', '-S', 'INPUT')
    assert on(HOST, 'systemctl', 'is-active', 'netfilter-persistent').strip() == 'active'
    assert count('blocklist') == 50001
    assert subprocess.run(['podman', 'exec', HOST, 'ipset', 'test', 'blocklist', '12.0.1.9'],
                          capture_output=True, check=False).returncode == 0   # the swapped-in list
    probe.serve(HOST, 9000)
    probe.serve(HOST, 9100)
    # the restarted container has a new MAC address: forget the old one on the client
    on(CLIENT, 'ip', 'neigh', 'flush', 'all')
    on(CLIENT, 'ip', '-6', 'neigh', 'flush', 'all')
    for family in (4, 6):
        assert outcome(family, ALLOWED[family]) == 'open', family
        assert outcome(family, BLOCKED[family]) == 'timeout', family
        assert outcome(family, OTHER[family], 9100) == 'refused', family
    # and the module agrees nothing needs doing after the reboot
    proc = fleet.playbook('swap.yml', limit=HOST)
    assert 'added=0 removed=0 changed=False' in ' '.join(proc.stdout.split())
