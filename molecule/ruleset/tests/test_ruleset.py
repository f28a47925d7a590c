"""The ruleset engine against real kernels (nft on Debian 12 and 13, legacy on Debian 12)."""
import concurrent.futures
import difflib
import os
import re

import pytest

import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
NAMES = sorted(PLATFORMS)
CORPUS = sorted(f for f in os.listdir(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tests', 'unit', 'fixtures', 'corpus'))
                if f.endswith(('.v4', '.v6')))
COUNTERS = re.compile(r'\[\d+:\d+\]')
FOREIGN = re.compile(r'NETAVARK|DOCKER|f2b-')
# made by molecule/shared/foreign_chains.sh in prepare: chains and the jumps into them
FOREIGN_LINES = [':NETAVARK_FORWARD', '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
                 ':DOCKER-USER', '-A FORWARD -j DOCKER-USER', '-A DOCKER-USER -j RETURN',
                 ':f2b-sshd', '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A f2b-sshd -j RETURN',
                 '-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT']


def assert_foreign_chains_kept(text):
    missing = [line for line in FOREIGN_LINES if line not in text]
    assert not missing, 'foreign chains or jumps lost: %s' % missing


def live(name, save='iptables-save'):
    """iptables-save without comments and counters."""
    out = fleet.host(name).check_output(save)
    return '\n'.join(COUNTERS.sub('', line) for line in out.splitlines() if not line.startswith('#'))


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def test_backend(name):
    version = fleet.host(name).check_output('iptables --version')
    assert ('legacy' if 'legacy' in name else 'nf_tables') in version


@pytest.mark.parametrize('save,path', [('iptables-save', '/etc/iptables/rules.v4'), ('ip6tables-save', '/etc/iptables/rules.v6')])
def test_converged_rules_are_persisted_and_foreign_chains_are_not(name, save, path):
    host = fleet.host(name)
    persisted = host.file(path).content_string
    assert '-A TCP' in persisted
    assert not FOREIGN.search(persisted), 'foreign chains must not be persisted'
    assert_foreign_chains_kept(live(name, save))


@pytest.mark.parametrize('family', [4, 6])
def test_packets_follow_the_converged_rules(family):
    server, client = 'ruleset-bookworm', 'ruleset-trixie'
    target = fleet.address(PLATFORMS[server], family=family)
    fleet.listen(server, 8080, family)
    assert fleet.connect(client, target, 8080, family) == 'open'
    assert fleet.connect(client, target, 22, family) == 'open'          # sshd
    assert fleet.connect(client, target, 2222, family) == 'refused'     # REJECT --reject-with tcp-reset
    # the v4 ruleset opens 9090 only to ruleset-trixie; from ruleset-legacy it is rejected
    if family == 4:
        fleet.listen(server, 9090, family)
        assert fleet.connect(client, target, 9090, family) == 'open'
        assert fleet.connect('ruleset-legacy', target, 9090, family) == 'refused'


def test_corpus_round_trip():
    # one playbook for the whole corpus (a run per file costs ansible-playbook's start-up each time)
    assert len(CORPUS) >= 9
    fleet.playbook('roundtrip.yml', extra_vars={'corpus_files': CORPUS})


def test_bad_input_changes_nothing():
    fleet.playbook('converge.yml')          # the persisted files to protect
    fleet.playbook('bad_inputs.yml')


def test_two_applies_at_once_end_in_one_of_them():
    name = 'ruleset-bookworm'
    rulesets = {k: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
                   + ''.join('-A INPUT -p tcp --dport %d -m comment --comment "%s" -j ACCEPT\n' % (1000 + i, k) for i in range(300))
                   + 'COMMIT\n' for k in ('run-a', 'run-b')}
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            procs = list(pool.map(lambda content: fleet.playbook('apply_content.yml', limit=name, extra_vars={'content': content}),
                                  rulesets.values()))
        assert all(p.returncode == 0 for p in procs), 'both applies finish (one waits for the other)'
        state = live(name)
        assert ('run-a' in state) != ('run-b' in state), 'the final state must be exactly one of the two rulesets'
        winner = 'run-a' if 'run-a' in state else 'run-b'
        assert state.count('"%s"' % winner) == 300 or state.count(winner) == 300
        assert_foreign_chains_kept(state)
    finally:
        fleet.playbook('converge.yml')   # back to the converged (and persisted) state for the restart test


def test_a_ruleset_and_a_granular_change_at_once_run_one_after_the_other():
    """iptables_ruleset and iptables_rule take the same apply lock: started together, both
    succeed and the result is one of the two serial orders (the granular rules after the
    ruleset's, or gone because the ruleset replaced INPUT after them). Without the shared lock
    the granular change plans on the old table and its read-back check fails."""
    name = 'ruleset-bookworm'
    content = ('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
               + ''.join('-A INPUT -p tcp --dport %d -m comment --comment "run-a" -j ACCEPT\n' % (1000 + i) for i in range(300))
               + 'COMMIT\n')
    extra = [{'protocol': 'udp', 'destination_port': str(5000 + i), 'comment': 'granular', 'jump': 'ACCEPT'} for i in range(20)]
    try:
        for _round in range(3):
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                ruleset = pool.submit(fleet.playbook, 'apply_content.yml', limit=name, extra_vars={'content': content}, check=False)
                granular = pool.submit(fleet.playbook, 'granular_rules.yml', limit=name, check=False,
                                       extra_vars={'granular_rules': extra})
                procs = [ruleset.result(), granular.result()]
            for proc in procs:
                assert proc.returncode == 0, proc.stdout[-4000:]
            rules = [line for line in live(name).splitlines() if line.startswith('-A INPUT ')]
            tags = ['granular' if '--comment granular' in line else 'run-a' if 'run-a' in line else 'other' for line in rules]
            assert tags.count('run-a') == 300
            mine = [t for t in tags if t != 'other']
            assert mine in (['run-a'] * 300 + ['granular'] * 20, ['run-a'] * 300), 'not a serial order: %s' % mine
    finally:
        fleet.playbook('converge.yml')


# Last: after a restart the foreign chains are gone from the containers (see managed()).
def managed(text):
    """The live ruleset without the foreign lines: they are not persisted (on purpose), and
    nothing re-creates them in the container after a restart (on a real host, Docker and
    fail2ban start after netfilter-persistent and re-create theirs)."""
    lines = [line for line in text.splitlines() if not FOREIGN.search(line)]
    # by table (the legacy backend prints tables in its own order); a table left with nothing
    # but ACCEPT policies is the same as no table (it is not persisted)
    tables, block = {}, []
    for line in lines:
        block.append(line)
        if line == 'COMMIT':
            if any(not (entry.startswith(('*', ':')) and entry.endswith('ACCEPT ')) for entry in block[1:-1]):
                tables[block[0]] = '\n'.join(block)
            block = []
    return '\n'.join(tables[name] for name in sorted(tables))


def test_rules_are_back_after_restart(name):
    before = managed(live(name)), managed(live(name, 'ip6tables-save'))
    fleet.host(name).check_output('iptables -F TCP && ip6tables -F TCP')
    assert '-A TCP' not in live(name)
    fleet.restart(name)
    after = managed(live(name)), managed(live(name, 'ip6tables-save'))
    for family, (old, new) in enumerate(zip(before, after)):
        assert new == old, 'IPv%d after the restart differs:\n%s' % (
            4 if family == 0 else 6, '\n'.join(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm='')))
