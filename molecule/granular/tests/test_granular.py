"""The granular modules (iptables_chain, iptables_policy, iptables_rule, iptables_nat) against
real kernels (nft on Debian 12 and 13), both families."""
import ast
import importlib.util
import os
import re
import sys
import types

import pytest
import yaml

import rampart_fleet as fleet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..', '..')
PLATFORMS = {p['name']: p for p in fleet.platforms()}
NAMES = sorted(PLATFORMS)
COUNTERS = re.compile(r'\[\d+:\d+\]')
FOREIGN = re.compile(r'NETAVARK|DOCKER|f2b-')
# made by molecule/shared/foreign_chains.sh in prepare: chains and the jumps into them
FOREIGN_LINES = [':NETAVARK_FORWARD', '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
                 ':DOCKER-USER', '-A FORWARD -j DOCKER-USER', '-A DOCKER-USER -j RETURN',
                 ':f2b-sshd', '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A f2b-sshd -j RETURN',
                 '-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT']
MODULES = ['iptables_chain', 'iptables_policy', 'iptables_rule', 'iptables_nat']
with open(os.path.join(HERE, '..', 'vars', 'corpus.yml')) as _handle:
    CORPUS = yaml.safe_load(_handle)['corpus']


def _model():
    """The collection's iptables model, loaded from the checkout (for the corpus comparison)."""
    for pkg in ('ansible_collections', 'ansible_collections.rampart', 'ansible_collections.rampart.firewall',
                'ansible_collections.rampart.firewall.plugins',
                'ansible_collections.rampart.firewall.plugins.module_utils'):
        if pkg not in sys.modules:
            sys.modules[pkg] = types.ModuleType(pkg)
            sys.modules[pkg].__path__ = []
    loaded = None
    for name in ('iptables_matches', 'iptables_model'):
        full = 'ansible_collections.rampart.firewall.plugins.module_utils.' + name
        spec = importlib.util.spec_from_file_location(full, os.path.join(ROOT, 'plugins', 'module_utils', name + '.py'))
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[full] = loaded
        spec.loader.exec_module(loaded)
    return loaded


MODEL = _model()


def live(name, save='iptables-save'):
    """iptables-save without comments and counters."""
    out = fleet.host(name).check_output(save)
    return '\n'.join(COUNTERS.sub('', line) for line in out.splitlines() if not line.startswith('#'))


def assert_foreign_chains_kept(text):
    missing = [line for line in FOREIGN_LINES if line not in text]
    assert not missing, 'foreign chains or jumps lost: %s' % missing


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def test_backend(name):
    assert 'nf_tables' in fleet.host(name).check_output('iptables --version')


@pytest.mark.parametrize('save,icmp,reject', [
    ('iptables-save', '-A INPUT -p icmp -j ACCEPT', '--reject-with icmp-port-unreachable'),
    ('ip6tables-save', '-A INPUT -p ipv6-icmp -j ACCEPT', '--reject-with icmp6-port-unreachable'),
])
def test_converged_rules_in_both_families(name, save, icmp, reject):
    text = live(name, save)
    lines = text.splitlines()
    family = 'ipv6' if save.startswith('ip6') else 'ipv4'
    peer = 'fd89:53::12/128' if family == 'ipv6' else '10.89.53.12/32'
    target = '[fd89:53::99]:80' if family == 'ipv6' else '10.89.53.99:80'
    inside = 'fd89:53::99/128' if family == 'ipv6' else '10.89.53.99/32'
    for line in [':INPUT DROP', ':FORWARD DROP', ':rampart-in - ', ':fw-open - ', ':scratch - ', icmp,
                 '-A rampart-in -p tcp -m tcp --dport 8080 -m comment --comment "granular web" -j ACCEPT',
                 '-A rampart-in -s %s -p tcp -m multiport --dports 9000,9001:9002 -j ACCEPT' % peer,
                 '-A rampart-in -p tcp -j REJECT --reject-with tcp-reset',
                 '-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j rampart-in',
                 '-A INPUT -m limit --limit 30/min -j REJECT ' + reject,
                 '-A FORWARD -j fw-open',
                 '-A POSTROUTING -o eth0 -j MASQUERADE',
                 '-A PREROUTING -i eth0 -p tcp -m tcp --dport 8081 -m comment --comment "inside web" -j DNAT '
                 '--to-destination ' + target,
                 '-A fw-open -d %s -p tcp -m tcp --dport 80 -m comment --comment "inside web" -j ACCEPT' % inside]:
        assert any(l.startswith(line) for l in lines), '%s missing from %s:\n%s' % (line, save, text)
    # prepend: the essentials are rules 1-4 of INPUT, before fail2ban's jump (which prepare inserted first)
    rules = [l for l in lines if l.startswith('-A INPUT ')]
    assert rules[:5] == ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -i lo -j ACCEPT',
                         '-A INPUT -m conntrack --ctstate INVALID -j DROP', icmp,
                         '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd']
    assert not any(':old-rules' in l for l in lines)
    assert not any('--dport 23 ' in l for l in lines)
    assert_foreign_chains_kept(text)


@pytest.mark.parametrize('family', [4, 6])
def test_packets_follow_the_converged_rules(family):
    server, client = 'granular-bookworm', 'granular-trixie'
    target = fleet.address(PLATFORMS[server], family=family)
    for port in (8080, 8090, 9001):
        fleet.listen(server, port, family)
    assert fleet.connect(client, target, 8080, family) == 'open'       # opened by iptables_rule
    assert fleet.connect(client, target, 9001, family) == 'open'       # opened to the client's address only
    assert fleet.connect(client, target, 8090, family) == 'refused'    # REJECT --reject-with tcp-reset
    # and the other way round: the client's own firewall opens nothing on 9001 to the server
    fleet.listen(client, 9001, family)
    assert fleet.connect(server, fleet.address(PLATFORMS[client], family=family), 9001, family) == 'refused'


def test_converge_is_idempotent_and_check_mode_agrees():
    proc = fleet.playbook('converge.yml')
    assert 'changed=0' in proc.stdout and 'changed=1' not in proc.stdout, proc.stdout[-3000:]
    proc = fleet.playbook('converge.yml', '--check')
    assert 'changed=0' in proc.stdout and 'changed=1' not in proc.stdout, proc.stdout[-3000:]


def test_check_mode_predicts_the_change():
    try:
        fleet.playbook('predict.yml')
    finally:
        fleet.playbook('converge.yml')
    proc = fleet.playbook('converge.yml')
    assert 'changed=0' in proc.stdout and 'changed=1' not in proc.stdout


def test_diff_is_shown():
    proc = fleet.playbook('diff.yml', '--check', '--diff', limit='granular-trixie')
    assert '+-A rampart-in -p tcp -m tcp --dport 7171 -j ACCEPT' in proc.stdout, proc.stdout[-3000:]
    assert 'ipv4 table filter (live)' in proc.stdout and 'ipv6 table filter (after)' in proc.stdout
    assert '7171' not in live('granular-trixie')


def test_bad_inputs_change_nothing():
    fleet.playbook('bad_inputs.yml')


@pytest.mark.parametrize('module', MODULES)
def test_module_examples_work(module, tmp_path):
    source = open(os.path.join(ROOT, 'plugins', 'modules', module + '.py')).read()
    tree = ast.parse(source)
    examples = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'EXAMPLES'][0]
    tasks = tmp_path / 'examples.yml'
    tasks.write_text(examples)
    try:
        proc = fleet.playbook('examples.yml', extra_vars={'examples_file': str(tasks)})
        assert 'failed=0' in proc.stdout
        # every example ran, on both hosts (+ the include_tasks)
        assert proc.stdout.count('TASK [') == len(yaml.safe_load(examples)) + 1
    finally:
        fleet.playbook('converge.yml')
    for name in NAMES:
        assert_foreign_chains_kept(live(name))


# Last: the corpus round trips reset the filter, nat and raw tables.
def loose(text):
    """A rule's text with its -m blocks sorted: equal for the same matches in another order."""
    toks = text.split(' ')
    head, blocks, target = [], [], []
    current = head
    for i, tok in enumerate(toks):
        if tok in ('-j', '-g') and (i == 0 or toks[i - 1] != '!'):
            current = target
        elif tok == '-m' and current is not target:
            blocks.append([])
            current = blocks[-1]
        current.append(tok)
    return (' '.join(head), sorted(' '.join(b) for b in blocks), ' '.join(target))


@pytest.mark.parametrize('corpus_file', sorted(CORPUS))
def test_corpus_round_trip(corpus_file):
    fleet.playbook('roundtrip.yml', extra_vars={'corpus_file': corpus_file})
    family = CORPUS[corpus_file]['family']
    with open(os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'corpus', corpus_file)) as handle:
        want = MODEL.parse(handle.read(), family)
    for name in NAMES:
        text = live(name, 'ip6tables-save' if family == 'ipv6' else 'iptables-save')
        got = MODEL.parse(text, family)
        for tname, table in want.tables.items():
            for cname, chain in table.chains.items():
                have = got.tables[tname].chains[cname]
                assert have.policy == chain.policy, (name, tname, cname)
                mine = [loose(r.text) for r in have.rules if not FOREIGN.search(r.text)]
                assert mine == [loose(r.text) for r in chain.rules], (name, tname, cname)
        if family == 'ipv4':
            assert_foreign_chains_kept(text)
