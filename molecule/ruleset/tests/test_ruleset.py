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


# ---- exact ownership (issue 23): the record of what we applied ----------------------------------
DOCKER0_RULE = '-A INPUT -i docker0 -p tcp -m tcp --dport 5432 -j ACCEPT'
BR_LAN_RULE = '-A INPUT -i br-lan -p udp -m udp --dport 67 -j ACCEPT'
RECORD = '/var/lib/rampart-firewall/record.v4'
# one host per backend (nft, legacy): the ownership is the module's, the backend only prints it
BACKEND_HOSTS = ['ruleset-bookworm', 'ruleset-legacy']


@pytest.mark.parametrize('host_name', BACKEND_HOSTS)
def test_a_rule_of_ours_on_docker0_is_gone_live_and_persisted_on_the_next_run(host_name):
    """A user rule on docker0 (a bridge of that name plays Docker's; the rule does not need it) and one
    on a br-* bridge: ours while declared, and when the ruleset drops them the record says they were
    ours, so the next run removes them live and from the persisted file (they used to stay live
    forever as "Docker's")."""
    host = fleet.host(host_name)
    host.run('ip link show docker0 >/dev/null 2>&1 || ip link add docker0 type bridge || ip link add docker0 type dummy')
    try:
        fleet.playbook('ownership.yml', limit=host_name, extra_vars={'ownership_extra': [DOCKER0_RULE, BR_LAN_RULE]})
        for text in (live(host_name), host.file('/etc/iptables/rules.v4').content_string):
            assert DOCKER0_RULE in text and BR_LAN_RULE in text
        record = host.file(RECORD)
        assert record.user == 'root' and record.mode == 0o600 and DOCKER0_RULE in record.content_string
        fleet.playbook('converge.yml', limit=host_name)
        for text in (live(host_name), host.file('/etc/iptables/rules.v4').content_string, host.file(RECORD).content_string):
            assert 'docker0' not in text and 'br-lan' not in text
        assert_foreign_chains_kept(live(host_name))
    finally:
        host.run('ip link del docker0')
        fleet.playbook('converge.yml', limit=host_name)


STALE_NAT = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
             ':DOCKER - [0:0]', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
             '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
             '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80', 'COMMIT']


@pytest.mark.parametrize('host_name', BACKEND_HOSTS)
def test_a_stale_persisted_docker_file_is_clean_after_one_run(host_name):
    """An existing host without a record where `netfilter-persistent save` once ran while Docker was
    up: the file holds Docker's DOCKER nat chain, its DNAT to a container and its MASQUERADE, and the
    boot loaded them. After one run nothing of Docker's is in our persisted file; live, they stay
    (a neighbour's, kept)."""
    host = fleet.host(host_name)
    quoted = ' '.join("'%s'" % line.replace("'", "'\\''") for line in STALE_NAT)
    host.check_output("printf '%%s\\n' %s > /tmp/stale-nat && iptables-restore --noflush < /tmp/stale-nat" % quoted)
    host.check_output('iptables-save > /etc/iptables/rules.v4 && rm -f %s' % RECORD)
    assert 'DNAT --to-destination 172.17.0.2:80' in host.file('/etc/iptables/rules.v4').content_string
    try:
        fleet.playbook('converge.yml', limit=host_name)
        persisted = host.file('/etc/iptables/rules.v4').content_string
        for word in ('DOCKER', 'docker0', '172.17.', 'DNAT'):
            assert word not in persisted, word
        assert '-A TCP' in persisted and 'REDIRECT --to-ports 8080' in persisted
        assert '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80' in live(host_name)
        assert host.file(RECORD).exists
    finally:
        host.run('iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER; '
                 'iptables -t nat -D POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE; '
                 'iptables -t nat -F DOCKER; iptables -t nat -X DOCKER')
        fleet.playbook('converge.yml', limit=host_name)


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
