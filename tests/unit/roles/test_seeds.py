# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/seeds.md: each seed firewall written with the role variables (issues 11, 25).

Each example is rendered through its role, parsed with the model, and the same packets are run
through the lockout evaluator on the seed's own ruleset (tests/unit/fixtures/corpus) and on the
rendering: accepted, dropped or rejected with the same answer (REJECT type) must agree (where
runtime state decides - recent, hashlimit - both must be able to accept), except the packets
docs/seeds.md lists as differing on purpose (DIFFERS).
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

import rolerender as rr
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import Packet, evaluate
from ansible_collections.rampart.firewall.plugins.module_utils.role_vars import problems

CORPUS = os.path.join(rr.ROOT, 'tests', 'unit', 'fixtures', 'corpus')
DOC = os.path.join(rr.ROOT, 'docs', 'seeds.md')
HOST = {'ipv4': '203.0.113.1', 'ipv6': '2001:db8::1'}
CLIENT = {'ipv4': '198.51.100.7', 'ipv6': '2001:db8:1::7'}
LAN_HOST = {'ipv4': '192.168.1.20', 'ipv6': 'fd00:1::20'}
# sources the seeds treat specially, per seed
SOURCES = {'002-vpc-log-drop-reject': ['10.1.77.146']}
# interfaces of single hosts that the seed names (the WAN first)
IFACES = {}
# seeds built on another seed's forwarding: their FORWARD packets are compared with that seed's file
# (BLFS builds the BusyBox router on its masquerading router; the corpus file holds what it adds)
FORWARD_FROM = {'003-blfs-busybox': '003-blfs-masquerading-router'}
# packets that differ on purpose, as docs/seeds.md says under "Differs": (seed, family) -> label pattern
DIFFERS = {
    # the role answers closed UDP ports over IPv6 with icmp6-port-unreachable, the seed with icmp6-adm-prohibited
    ('000-arch-single-host', 'ipv6'): r'^in udp \d+ from ',
}
TCP = (22, 23, 25, 53, 80, 113, 443, 4949, 8000, 9999)
UDP = (53, 67, 123, 9999)


def examples():
    with open(DOC) as f:
        text = f.read()
    found = re.findall(r'<!-- seed: (\S+) -->\n```yaml\n(.*?)```', text, re.S)
    out = []
    for name, block in found:
        role = re.search(r'^# role: rampart\.firewall\.(\w+)', block, re.M).group(1)
        out.append((name, role, yaml.safe_load(block)))
    return out


EXAMPLES = examples()


def test_every_seed_has_an_example():
    seeds = sorted(set(f.rsplit('.', 1)[0] for f in os.listdir(CORPUS) if re.match(r'\d{3}-.*\.v[46]$', f)))
    assert sorted(name for name, _r, _v in EXAMPLES) == seeds


_DEFAULT_REJECT = {'ipv4': 'icmp-port-unreachable', 'ipv6': 'icmp6-port-unreachable'}


def _cls(verdict, family='ipv4'):
    """ACCEPT, DROP, REJECT:TYPE (the type the answer carries), or MAYBE:... when runtime state decides."""
    if verdict.verdict == 'ACCEPT':
        return 'ACCEPT'
    if verdict.verdict == 'REJECT':
        m = re.search(r'--reject-with (\S+)', verdict.rule_text or '')
        return 'REJECT:' + (m.group(1) if m else _DEFAULT_REJECT[family])
    if verdict.blocked:
        return 'DROP'
    return 'MAYBE:' + ','.join(sorted(verdict.possible))


def _agree(seed, ours, family='ipv4'):
    a, b = _cls(seed, family), _cls(ours, family)
    if a.startswith('MAYBE') or b.startswith('MAYBE'):
        return 'ACCEPT' in seed.possible and 'ACCEPT' in ours.possible
    return a == b


def packets(name, role, variables, family):
    """(label, Packet) to compare."""
    host, client = HOST[family], CLIENT[family]
    if role == 'masquerading_router':
        wan = variables['masquerading_router_wan_interface']
        lan = variables['masquerading_router_lan_interfaces'][0]
        ins = [wan, lan]
    else:
        ins = IFACES.get(name, ['eth0'])
        wan, lan = ins[0], None
    sources = [client] + (SOURCES.get(name, []) if family == 'ipv4' else [])
    for iface in ins:
        for src in sources:
            for port in TCP:
                yield ('in tcp %s from %s on %s' % (port, src, iface),
                       Packet('INPUT', src, host, 'tcp', 40000, port, in_iface=iface))
            for port in UDP:
                yield ('in udp %s from %s on %s' % (port, src, iface),
                       Packet('INPUT', src, host, 'udp', 40000, port, in_iface=iface))
    for out in ins:
        for port in (22, 25, 80, 443):
            yield 'out tcp %s on %s' % (port, out), Packet('OUTPUT', host, client, 'tcp', 40000, port, out_iface=out)
        for port in (53, 123):
            yield 'out udp %s on %s' % (port, out), Packet('OUTPUT', host, client, 'udp', 40000, port, out_iface=out)
    if lan:
        lan_host = LAN_HOST[family]
        yield 'forward lan to wan', Packet('FORWARD', lan_host, client, 'tcp', 40000, 443, in_iface=lan, out_iface=wan)
        yield 'forward wan to lan', Packet('FORWARD', client, lan_host, 'tcp', 40000, 80, in_iface=wan, out_iface=lan)
        # an interface that is neither the WAN nor a listed LAN ("every interface but the WAN", seed 003)
        yield 'forward other to wan', Packet('FORWARD', lan_host, client, 'tcp', 40000, 443, in_iface='OTHER9', out_iface=wan)
    if role == 'single_host' and name in IFACES:
        for port in (25, 9999):
            yield ('in tcp %s on another interface' % port,
                   Packet('INPUT', client, host, 'tcp', 40000, port, in_iface='OTHER9'))
            yield 'out tcp %s on another interface' % port, Packet('OUTPUT', host, client, 'tcp', 40000, port, out_iface='OTHER9')


def _families(name, role, variables):
    fams = ['ipv4']
    if os.path.exists(os.path.join(CORPUS, name + '.v6')) and variables.get(role + '_ipv6', True):
        fams.append('ipv6')
    return fams


CASES = [(name, role, variables, fam) for name, role, variables in EXAMPLES for fam in _families(name, role, variables)]


@pytest.mark.parametrize('name,role,variables,family', CASES, ids=['%s-%s' % (c[0], c[3]) for c in CASES])
def test_seed_example_behaves_like_the_seed(name, role, variables, family):
    assert problems(role, variables, []) == []
    with open(os.path.join(CORPUS, name + ('.v6' if family == 'ipv6' else '.v4'))) as f:
        seed = iptables_model.parse(f.read(), family)
    ours = rr.role_ruleset(role, variables, family)
    forward_seed = seed
    if name in FORWARD_FROM:
        with open(os.path.join(CORPUS, FORWARD_FROM[name] + ('.v6' if family == 'ipv6' else '.v4'))) as f:
            forward_seed = iptables_model.parse(f.read(), family)
    allowed = DIFFERS.get((name, family))
    differ = []
    for label, packet in packets(name, role, variables, family):
        if allowed and re.search(allowed, label):
            continue
        a, b = evaluate(forward_seed if packet.chain == 'FORWARD' else seed, packet), evaluate(ours, packet)
        if not _agree(a, b, family):
            differ.append('%s: seed %s (%s), role %s (%s)' % (label, _cls(a, family), a.rule_text, _cls(b, family), b.rule_text))
    assert not differ, '\n'.join(differ)


def test_seed_004_logs_like_the_seed():
    variables = [v for n, _r, v in EXAMPLES if n.startswith('004')][0]
    text = rr.render(rr.firewall_base_vars('single_host', variables), 'ipv4')
    for prefix in ('fw input accept ', 'fw input drop ', 'fw output accept ', 'fw forward drop '):
        assert '--log-prefix "%s"' % prefix in text
    assert '-m limit --limit 30/minute' in text


def test_the_examples_use_hooks_only_for_one_off_log_rules():
    """Issue 25: what the seeds needed hooks for is a role variable now; a hook is left only for a
    single one-off log rule of a seed."""
    for name, role, variables in EXAMPLES:
        for rule in variables.get(role + '_extra_rules', []):
            assert '-j LOG' in rule['rule'], (name, rule)
