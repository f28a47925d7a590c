# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
from fnmatch import fnmatchcase

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
    DEFAULT_PRESERVE,
    DEFAULT_PRESERVE_INTERFACES,
    DEFAULT_PRESERVE_SETS,
    PlanError,
    apply_result,
    describe,
    empty_table,
    is_neighbour_chain,
    is_trivial,
    managed_only,
    matched_sets,
    neighbour_sets,
    persistable,
    plan,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import preflight
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import ParseError, parse, render
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import persisted_form

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')

NETAVARK = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-MASQ - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ
-A NETAVARK-HOSTPORT-MASQ -m comment --comment "netavark portfw masq mark" -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NETAVARK_FORWARD - [0:0]
-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
COMMIT
'''

DESIRED = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
'''

# What iptables-restore must get: the desired tables, the netavark chains with their
# rules, and netavark's jumps at the top of the built-in chains they were in.
EXPECTED_PAYLOAD = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-MASQ - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ
-A POSTROUTING -o eth0 -j MASQUERADE
-A NETAVARK-HOSTPORT-MASQ -m comment --comment "netavark portfw masq mark" -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:NETAVARK_FORWARD - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
'''


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def p4(text):
    return parse(text, family='ipv4')


# ---- preserve patterns ---------------------------------------------------------------------

@pytest.mark.parametrize('name', [
    'DOCKER', 'DOCKER-USER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-FORWARD', 'f2b-sshd', 'NETAVARK_FORWARD',
    'NETAVARK-HOSTPORT-DNAT', 'NETAVARK_INPUT', 'CNI-HOSTPORT-DNAT', 'KUBE-SERVICES', 'LIBVIRT_INP',
    'cali-INPUT', 'FLANNEL-FWD', 'ts-input',
])
def test_default_preserve_matches(name):
    assert is_neighbour_chain(name, DEFAULT_PRESERVE, 'filter')


@pytest.mark.parametrize('name', ['INPUT', 'FORWARD', 'docker', 'DOCKERX', 'F2B-sshd', 'SSH', 'kube-services', 'LIBVIRT', 'TS-INPUT'])
def test_default_preserve_does_not_match(name):
    assert not is_neighbour_chain(name, DEFAULT_PRESERVE, 'filter')


def test_builtin_chains_are_never_foreign():
    assert not is_neighbour_chain('INPUT', ['*'], 'filter')
    assert not is_neighbour_chain('POSTROUTING', ['POST*'], 'nat')
    assert is_neighbour_chain('POSTROUTING', ['POST*'], 'filter')


# ---- plan ----------------------------------------------------------------------------------

def test_netavark_chains_kept_with_jumps_at_the_top():
    result = plan(p4(DESIRED), p4(NETAVARK), DEFAULT_PRESERVE)
    assert result.tables == ['nat', 'filter']
    assert result.payload == EXPECTED_PAYLOAD
    assert result.changed is True
    assert result.after == EXPECTED_PAYLOAD
    assert result.before == render(p4(NETAVARK), tables=['nat', 'filter'])
    assert result.diff
    assert result.neighbour_chains == [
        {'table': 'nat', 'chain': 'NETAVARK-HOSTPORT-DNAT', 'rules': 0, 'jumps': [
            '-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT',
            '-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT',
        ]},
        {'table': 'nat', 'chain': 'NETAVARK-HOSTPORT-MASQ', 'rules': 1, 'jumps': ['-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ']},
        {'table': 'nat', 'chain': 'NETAVARK-HOSTPORT-SETMARK', 'rules': 1, 'jumps': []},
        {'table': 'filter', 'chain': 'NETAVARK_FORWARD', 'rules': 0, 'jumps': [
            '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
        ]},
    ]
    assert result.ours_chains == {}
    assert result.dropped == []


def test_reapply_on_the_result_is_unchanged():
    first = plan(p4(DESIRED), p4(NETAVARK), DEFAULT_PRESERVE)
    live = p4(first.payload)
    second = plan(p4(DESIRED), live, DEFAULT_PRESERVE)
    assert second.changed is False
    assert second.payload == first.payload
    assert second.diff == ''


def test_without_preserve_the_foreign_chains_go():
    result = plan(p4(DESIRED), p4(NETAVARK), [])
    assert result.neighbour_chains == []
    assert result.payload == render(p4(DESIRED))
    assert 'NETAVARK' not in result.payload


def test_only_desired_tables_are_touched():
    desired = p4('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n')
    result = plan(desired, p4(NETAVARK), DEFAULT_PRESERVE)
    assert result.tables == ['filter']
    assert result.payload.startswith('*filter\n')
    assert '*nat' not in result.payload
    assert '*nat' not in result.before
    assert [k['table'] for k in result.neighbour_chains] == ['filter']


def test_desired_declaring_a_preserved_chain_wins():
    live = p4(
        '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n:DOCKER - [0:0]\n'
        '-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n-A DOCKER-USER -j RETURN\nCOMMIT\n')
    desired = p4(
        '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n'
        '-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -s 10.0.0.0/8 -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    assert result.ours_chains == {'filter': ['DOCKER-USER']}
    assert [k['chain'] for k in result.neighbour_chains] == ['DOCKER']
    # The desired jump into DOCKER-USER (a chain the ruleset took over) stays first, where Docker
    # puts it; DOCKER's jump goes below it.
    forward = [r.text for r in result.result.tables['filter'].chains['FORWARD'].rules]
    assert forward == ['-j DOCKER-USER', '-o docker0 -j DOCKER']
    user = [r.text for r in result.result.tables['filter'].chains['DOCKER-USER'].rules]
    assert user == ['-s 10.0.0.0/8 -j DROP', '-j RETURN']


def test_a_ruleset_cannot_jump_into_an_undeclared_foreign_chain():
    # As for iptables-restore, a jump needs its chain declared; declaring it makes the chain the ruleset's own.
    with pytest.raises(ParseError) as info:
        p4('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n'
           '-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\nCOMMIT\n')
    assert info.value.field == '-j'
    assert info.value.value == 'f2b-sshd'


def test_fail2ban_jumps_keep_their_live_order_on_top():
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:f2b-sshd - [0:0]\n:f2b-web - [0:0]\n'
              '-A INPUT -p tcp -m tcp --dport 80 -j f2b-web\n-A INPUT -i lo -j ACCEPT\n'
              '-A INPUT -p tcp -m tcp --dport 22 -j f2b-sshd\n'
              '-A f2b-sshd -s 192.0.2.1/32 -j REJECT --reject-with icmp-port-unreachable\n-A f2b-sshd -j RETURN\n'
              '-A f2b-web -j RETURN\nCOMMIT\n')
    desired = p4('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    rules = [r.text for r in result.result.tables['filter'].chains['INPUT'].rules]
    assert rules == ['-p tcp -m tcp --dport 80 -j f2b-web', '-p tcp -m tcp --dport 22 -j f2b-sshd', '-i lo -j ACCEPT']
    assert [(k['chain'], k['rules']) for k in result.neighbour_chains] == [('f2b-sshd', 2), ('f2b-web', 1)]


def test_jump_from_a_removed_user_chain_is_dropped():
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n:f2b-sshd - [0:0]\n'
              '-A INPUT -j MINE\n-A MINE -j f2b-sshd\n-A f2b-sshd -j RETURN\nCOMMIT\n')
    desired = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    assert result.dropped == ['-A MINE -j f2b-sshd']
    assert [k['chain'] for k in result.neighbour_chains] == ['f2b-sshd']
    assert 'MINE' not in result.payload


def test_jump_from_a_kept_user_chain_goes_on_its_top():
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n:f2b-sshd - [0:0]\n'
              '-A INPUT -j MINE\n-A MINE -j f2b-sshd\n-A f2b-sshd -j RETURN\nCOMMIT\n')
    desired = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n'
                 '-A INPUT -j MINE\n-A MINE -j ACCEPT\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    assert [r.text for r in result.result.tables['filter'].chains['MINE'].rules] == ['-j f2b-sshd', '-j ACCEPT']


def test_goto_into_a_foreign_chain_is_kept():
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:ts-input - [0:0]\n'
              '-A INPUT -g ts-input\n-A ts-input -i tailscale0 -j ACCEPT\nCOMMIT\n')
    desired = p4('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    assert [r.text for r in result.result.tables['filter'].chains['INPUT'].rules] == ['-g ts-input']


def test_kept_chain_jumping_to_a_dropped_chain_is_an_error():
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n:f2b-sshd - [0:0]\n'
              '-A INPUT -j f2b-sshd\n-A f2b-sshd -j MINE\nCOMMIT\n')
    desired = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    with pytest.raises(PlanError, match='f2b-sshd jumps to chain MINE'):
        plan(desired, live, DEFAULT_PRESERVE)


def test_table_missing_live_is_compared_with_an_empty_table():
    desired = p4('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    assert result.changed is False
    assert result.tables == ['raw']
    changed = plan(p4('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -j NOTRACK\nCOMMIT\n'),
                   live, DEFAULT_PRESERVE)
    assert changed.changed is True
    assert changed.before == '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'


def test_family_mismatch():
    with pytest.raises(PlanError):
        plan(parse('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', family='ipv6'), p4(NETAVARK))


CORPUS = sorted(name for name in os.listdir(os.path.join(FIXTURES, 'corpus')) if name[:3].isdigit())


@pytest.mark.parametrize('backend', ['nft', 'legacy'])
@pytest.mark.parametrize('name', CORPUS)
def test_user_spelling_equals_save_spelling(name, backend):
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    desired = parse(fixture('corpus', name), family=family)
    live = parse(fixture('saved', backend, name), family=family)
    result = plan(desired, live, DEFAULT_PRESERVE)
    assert result.changed is False, result.diff
    assert result.diff == ''


# ---- managed_only / persistence helpers ----------------------------------------------------

def test_managed_only_strips_foreign_chains_and_jumps():
    live = p4(EXPECTED_PAYLOAD)
    managed = managed_only(live, DEFAULT_PRESERVE)
    assert render(managed) == render(p4(DESIRED))


def test_managed_only_keeps_owned_chains():
    live = p4('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n:DOCKER - [0:0]\n'
              '-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n-A DOCKER-USER -j RETURN\nCOMMIT\n')
    managed = managed_only(live, DEFAULT_PRESERVE, ours_chains={'filter': ['DOCKER-USER']})
    assert render(managed) == ('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n'
                               '-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n')


def test_managed_only_does_not_change_its_input():
    live = p4(NETAVARK)
    managed_only(live, DEFAULT_PRESERVE)
    assert render(live) == render(p4(NETAVARK))


def test_persistable_leaves_out_tables_with_only_defaults_and_foreign_chains():
    live = p4(NETAVARK + '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    wanted, names = persistable(live, DEFAULT_PRESERVE)
    assert names == []
    assert wanted.tables == {}
    live = p4(EXPECTED_PAYLOAD)
    wanted, names = persistable(live, DEFAULT_PRESERVE)
    assert names == ['nat', 'filter']
    assert render(wanted, tables=names) == render(p4(DESIRED))


def test_is_trivial():
    assert is_trivial(empty_table('filter'))
    assert not is_trivial(p4('*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n').tables['filter'])


def test_apply_result_replaces_only_the_planned_tables():
    live = p4(NETAVARK)
    desired = p4('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n')
    result = plan(desired, live, DEFAULT_PRESERVE)
    predicted = apply_result(live, result.result)
    assert predicted.tables['nat'] == live.tables['nat']
    assert predicted.tables['filter'] == result.result.tables['filter']
    assert list(predicted.tables) == ['nat', 'filter']


def test_describe():
    data = describe(p4(NETAVARK), DEFAULT_PRESERVE)
    assert list(data) == ['nat', 'filter']
    assert data['filter']['INPUT'] == {'policy': 'ACCEPT', 'rules': [], 'neighbour': False, 'foreign': False}
    assert data['filter']['FORWARD']['rules'] == ['-m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD']
    assert data['filter']['NETAVARK_FORWARD'] == {'policy': None, 'rules': [], 'neighbour': True, 'foreign': True}


# ---- foreign rules of built-in chains (container engines' interfaces, issue 9) -------------

DOCKER_LIVE = '''*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A POSTROUTING -s 192.168.1.0/24 -o eth0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A FORWARD -i eth1 -o eth0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
'''

HOST_FILTER = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
'''

ROUTER_NAT = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 192.168.1.0/24 -o eth0 -j MASQUERADE
COMMIT
'''


def test_docker_rules_in_builtin_chains_are_kept_on_top_in_live_order():
    result = plan(p4(HOST_FILTER), p4(DOCKER_LIVE))
    forward = [rule.line() for rule in result.result.tables['filter'].chains['FORWARD'].rules]
    assert forward == [
        '-A FORWARD -j DOCKER-USER',
        '-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
        '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -o docker0 -j DOCKER',
        '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
        '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
    ], 'the non-docker live rule (-i eth1 -o eth0) is not the ruleset\'s and goes'
    assert '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT' in result.neighbour_rules
    assert '-A FORWARD -o docker0 -j DOCKER' not in result.neighbour_rules, 'jumps are reported with their chain'


def test_docker_rules_make_no_change_and_are_not_persisted():
    first = plan(p4(HOST_FILTER), p4(DOCKER_LIVE))
    live = apply_result(p4(DOCKER_LIVE), first.result)
    again = plan(p4(HOST_FILTER), live)
    assert again.changed is False
    wanted, names = persistable(live, ours=again.ours)
    text = render(wanted, tables=names)
    assert 'docker0' not in text and 'DOCKER' not in text and '172.17' not in text
    assert '--dport 22' in text


def test_docker_nat_is_kept_in_a_router_ruleset_per_port_masquerade_included():
    result = plan(p4(ROUTER_NAT), p4(DOCKER_LIVE))
    post = [rule.line() for rule in result.result.tables['nat'].chains['POSTROUTING'].rules]
    assert post == [
        '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
        '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
        '-A POSTROUTING -s 192.168.1.0/24 -o eth0 -j MASQUERADE',
    ]
    assert result.changed is False
    wanted, names = persistable(apply_result(p4(DOCKER_LIVE), result.result), ours=result.ours)
    nat = render(wanted, tables=['nat'])
    assert '172.17' not in nat and '192.168.1.0/24' in nat


def test_raw_prerouting_rule_of_docker_is_kept():
    desired = p4('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 23 -j DROP\nCOMMIT\n')
    result = plan(desired, p4(DOCKER_LIVE))
    lines = [rule.line() for rule in result.result.tables['raw'].chains['PREROUTING'].rules]
    assert lines[0] == '-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP'
    assert len(lines) == 2


def test_a_users_rule_on_a_docker_interface_is_the_users():
    mine = HOST_FILTER.replace('COMMIT', '-A INPUT -i docker0 -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT')
    result = plan(p4(mine), p4(DOCKER_LIVE))
    wanted, names = persistable(apply_result(p4(DOCKER_LIVE), result.result), ours=result.ours)
    assert '-A INPUT -i docker0 -p udp -m udp --dport 53 -j ACCEPT' in render(wanted, tables=names)
    again = plan(p4(mine), apply_result(p4(DOCKER_LIVE), result.result))
    assert again.changed is False


def test_empty_interface_list_owns_the_builtin_chains():
    result = plan(p4(HOST_FILTER), p4(DOCKER_LIVE), interfaces=())
    forward = [rule.line() for rule in result.result.tables['filter'].chains['FORWARD'].rules]
    assert forward == ['-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-ISOLATION-STAGE-1', '-A FORWARD -o docker0 -j DOCKER']


def test_a_new_container_adds_rules_that_change_nothing():
    first = plan(p4(HOST_FILTER), p4(DOCKER_LIVE))
    live_text = render(apply_result(p4(DOCKER_LIVE), first.result))
    live_text = live_text.replace(
        '-A POSTROUTING -s 172.17.0.2/32',
        '-A POSTROUTING -s 172.17.0.3/32 -d 172.17.0.3/32 -p tcp -m tcp --dport 443 -j MASQUERADE\n-A POSTROUTING -s 172.17.0.2/32')
    again = plan(p4(HOST_FILTER + ROUTER_NAT), p4(live_text))
    assert again.changed is False


def test_captured_docker_and_fail2ban_host_keeps_everything_of_theirs():
    """iptables-save of a Debian 12 container running dockerd 20.10 (a busybox httpd published
    with -p 8080:80) and fail2ban (one ban), after an apply of HOST_FILTER."""
    live = p4(fixture('live', 'docker-fail2ban-bookworm.v4'))
    result = plan(p4(HOST_FILTER), live)
    assert result.changed is False
    wanted, names = persistable(live, ours=result.ours)
    text = render(wanted, tables=names)
    assert names == ['filter']
    assert 'docker' not in text.lower() and 'f2b' not in text
    without_docker = p4(render(live).replace('-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n', ''))
    assert plan(p4(HOST_FILTER), without_docker).changed is False, 'Docker removing a rule of its own is no change either'


def test_captured_docker_ipv6_rules_are_kept_and_not_persisted():
    """ip6tables-save of the same host with Docker's ip6tables support (fixed-cidr-v6)."""
    live = parse(fixture('live', 'docker-bookworm.v6'), family='ipv6')
    desired = parse(HOST_FILTER.replace('-A INPUT -i lo', '-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -i lo')
                    + ROUTER_NAT.replace('192.168.1.0/24', 'fd00:1::/64'), family='ipv6')
    first = plan(desired, live)
    post = [rule.line() for rule in first.result.tables['nat'].chains['POSTROUTING'].rules]
    assert post[:2] == ['-A POSTROUTING -s fd00:d0c::/64 ! -o docker0 -j MASQUERADE',
                        '-A POSTROUTING -s fd00:d0c::242:ac11:2/128 -d fd00:d0c::242:ac11:2/128 -p tcp -m tcp --dport 80 -j MASQUERADE']
    after = apply_result(live, first.result)
    assert plan(desired, after).changed is False
    wanted, names = persistable(after, ours=first.ours)
    text = render(wanted, tables=names)
    assert 'docker0' not in text and 'fd00:d0c' not in text and 'fd00:1::/64' in text


def test_without_preserve_chains_a_docker_jump_goes_with_its_chain():
    """preserve_chains: [] (the ruleset owns every chain): -o docker0 -j DOCKER matches a foreign
    interface, but its chain is gone, so the rule must go too (iptables-restore would refuse it)."""
    result = plan(p4(HOST_FILTER), p4(DOCKER_LIVE), preserve=())
    forward = [rule.line() for rule in result.result.tables['filter'].chains['FORWARD'].rules]
    assert forward == ['-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
                       '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT', '-A FORWARD -i docker0 -o docker0 -j ACCEPT']
    assert all(rule.jumps is None for rule in result.result.tables['filter'].chains['FORWARD'].rules)


def test_an_owned_docker_user_jump_stays_above_dockers_rules():
    """The ruleset takes DOCKER-USER over (to restrict published ports): its jump must stay first in
    FORWARD, before Docker's kept accepts, or the restriction would be bypassed."""
    desired = p4(HOST_FILTER.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n').replace(
        'COMMIT', '-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -s 10.0.0.0/8 -m conntrack --ctstate DNAT -j RETURN\n'
                  '-A DOCKER-USER -m conntrack --ctstate DNAT -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT'))
    result = plan(desired, p4(DOCKER_LIVE))
    forward = [rule.line() for rule in result.result.tables['filter'].chains['FORWARD'].rules]
    assert forward[0] == '-A FORWARD -j DOCKER-USER'
    assert forward[1:] == ['-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
                           '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
                           '-A FORWARD -o docker0 -j DOCKER', '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
                           '-A FORWARD -i docker0 -o docker0 -j ACCEPT']
    after = apply_result(p4(DOCKER_LIVE), result.result)
    assert plan(desired, after).changed is False
    wanted, names = persistable(after, ours_chains=result.ours_chains, ours=result.ours)
    text = render(wanted, tables=names)
    assert '-A FORWARD -j DOCKER-USER' in text and 'DOCKER-ISOLATION' not in text and '-A DOCKER-USER -j RETURN' in text


# ---- ban tools' rules in built-in chains (preserve_sets) -----------------------------------
# tests/unit/fixtures/live/neighbour-sets-{legacy,nft}.v4|v6: iptables-save of both backends (Debian 12,
# iptables 1.8.9) after the rules of fail2ban's iptables-ipset-proto6-allports action (f2b-sshd, f2b-sshd6),
# of its iptables-ipset-proto6 action with two ports (f2b-ssh-alt) and of CrowdSec's firewall bouncer in
# iptables mode (crowdsec-blacklists, crowdsec6-blacklists) were inserted above a host ruleset that also
# holds a rule of its own matching a set (web, web6).

BANS = {
    'ipv4': [
        '-A INPUT -m set --match-set crowdsec-blacklists src -j DROP',
        '-A INPUT -p tcp -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable',
        '-A INPUT -p tcp -m multiport --dports 22,2222 -m set --match-set f2b-ssh-alt src -j REJECT --reject-with icmp-port-unreachable',
    ],
    'ipv6': [
        '-A INPUT -m set --match-set crowdsec6-blacklists src -j DROP',
        '-A INPUT -p tcp -m set --match-set f2b-sshd6 src -j REJECT --reject-with icmp6-port-unreachable',
    ],
}
HOST_V6 = HOST_FILTER.replace('-A INPUT -p tcp', '-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -p tcp')
SESSION = {'ipv4': '198.51.100.7 50000 192.0.2.10 22', 'ipv6': '2001:db8::7 50000 2001:db8::10 22'}


def neighbour_live(backend, family):
    return parse(fixture('live', 'neighbour-sets-%s.%s' % (backend, 'v4' if family == 'ipv4' else 'v6')), family=family)


def host_desired(family):
    return parse(HOST_FILTER if family == 'ipv4' else HOST_V6, family=family)


@pytest.mark.parametrize('name', ['f2b-sshd', 'f2b-sshd6', 'f2b-recidive', 'crowdsec-blacklists', 'crowdsec-blacklists-0',
                                  'crowdsec6-blacklists', 'sshguard4', 'sshguard6'])
def test_default_preserve_sets_match(name):
    assert any(fnmatchcase(name, pattern) for pattern in DEFAULT_PRESERVE_SETS)


@pytest.mark.parametrize('name', ['web', 'web6', 'F2B-sshd', 'crowdsec', 'blacklist', 'sshguard'])
def test_default_preserve_sets_do_not_match(name):
    assert not any(fnmatchcase(name, pattern) for pattern in DEFAULT_PRESERVE_SETS)


def test_matched_sets_reads_set_matches_not_negated_ones():
    rules = p4('*filter\n:INPUT ACCEPT [0:0]\n'
               '-A INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-a src -m set --match-set f2b-b src,dst -j DROP\n'
               '-A INPUT -m set ! --match-set f2b-c src -j DROP\n'
               '-A INPUT -s 10.0.0.1/32 -j DROP\nCOMMIT\n').tables['filter'].chains['INPUT'].rules
    assert [matched_sets(rule) for rule in rules] == [('f2b-a', 'f2b-b'), (), ()]


@pytest.mark.parametrize('backend', ['legacy', 'nft'])
@pytest.mark.parametrize('family', ['ipv4', 'ipv6'])
def test_ban_rules_are_kept_on_top_never_a_change_never_persisted(backend, family):
    live = neighbour_live(backend, family)
    first = plan(host_desired(family), live)
    lines = [rule.line() for rule in first.result.tables['filter'].chains['INPUT'].rules]
    assert lines[:len(BANS[family])] == BANS[family], 'the bans stay first, in live order'
    assert not any('--match-set web' in line for line in lines), 'a set rule of an earlier ruleset of ours goes'
    assert first.neighbour_rules == BANS[family]
    assert first.changed is True  # only because of the web rule
    after = apply_result(live, first.result)
    again = plan(host_desired(family), after)
    assert again.changed is False and again.payload == first.payload
    assert again.neighbour_set_names == sorted(set(name for line in BANS[family] for name in
                                                   [line.split('--match-set ')[1].split()[0]]))
    wanted, names = persistable(after, ours=again.ours)
    text = render(wanted, tables=names)
    assert 'f2b' not in text and 'crowdsec' not in text and '--dport 22 -j ACCEPT' in text
    # a ban tool restarting (rules gone) or a new jail inserting its rule: no change either
    without = parse(render(after).replace(BANS[family][0] + '\n', ''), family=family)
    assert plan(host_desired(family), without).changed is False
    extra = BANS[family][0].replace('crowdsec', 'f2b-recidive-crowdsec')
    more = parse(render(after).replace(BANS[family][0], extra + '\n' + BANS[family][0]), family=family)
    assert plan(host_desired(family), more).changed is False


def test_a_rule_of_the_ruleset_matching_a_ban_set_is_the_users():
    mine = HOST_FILTER.replace('COMMIT', BANS['ipv4'][1] + '\nCOMMIT')
    live = neighbour_live('nft', 'ipv4')
    result = plan(p4(mine), live)
    lines = [rule.line() for rule in result.result.tables['filter'].chains['INPUT'].rules]
    assert lines.count(BANS['ipv4'][1]) == 1 and lines[-1] == BANS['ipv4'][1], 'the desired position wins'
    assert BANS['ipv4'][1] not in result.neighbour_rules and 'f2b-sshd' not in result.neighbour_set_names
    after = apply_result(live, result.result)
    wanted, names = persistable(after, ours=result.ours)
    text = render(wanted, tables=names)
    assert BANS['ipv4'][1] in text and 'crowdsec' not in text
    assert plan(p4(mine), after).changed is False


def test_empty_preserve_sets_owns_the_ban_rules():
    result = plan(p4(HOST_FILTER), neighbour_live('legacy', 'ipv4'), sets=())
    assert not any('--match-set' in rule.text for rule in result.result.tables['filter'].chains['INPUT'].rules)
    assert result.neighbour_rules == [] and result.neighbour_set_names == []


def test_persisted_file_with_bans_from_a_save_is_cleaned():
    """netfilter-persistent save once ran while fail2ban and CrowdSec were up: their rules are in rules.v4."""
    live = neighbour_live('legacy', 'ipv4')
    result = plan(p4(HOST_FILTER), live)
    after = apply_result(live, result.result)
    old_text = render(live)
    content, same = persisted_form(old_text, after, result, DEFAULT_PRESERVE, DEFAULT_PRESERVE_INTERFACES)
    assert same is False
    assert 'crowdsec' not in content and 'f2b' not in content and '--dport 22 -j ACCEPT' in content
    content2, same2 = persisted_form(content, after, plan(p4(HOST_FILTER), after), DEFAULT_PRESERVE,
                                     DEFAULT_PRESERVE_INTERFACES)
    assert same2 is True and content2 == content


@pytest.mark.parametrize('family', ['ipv4', 'ipv6'])
def test_kept_bans_do_not_make_the_lockout_preflight_undecided(family):
    live = neighbour_live('nft', family)
    result = plan(host_desired(family), live)
    assert preflight(result.result, SESSION[family])['safe'] is None, 'unknown sets: undecided without help'
    report = preflight(result.result, SESSION[family], sets=neighbour_sets(None, result.neighbour_set_names)())
    assert report['safe'] is True


def test_neighbour_sets_keeps_the_rulesets_own_sets():
    assert neighbour_sets(None, []) is None
    contents = neighbour_sets(lambda: {'f2b-sshd': ['198.51.100.7']}, ['f2b-sshd', 'crowdsec-blacklists'], used=['f2b-sshd'])
    assert contents() == {'f2b-sshd': ['198.51.100.7'], 'crowdsec-blacklists': []}
    # a set the ruleset uses, whose members could not be read, stays unknown (undecided), not empty
    assert neighbour_sets(lambda: {}, ['f2b-sshd'], used=['f2b-sshd']) is not None
    assert neighbour_sets(lambda: {}, ['f2b-sshd'], used=['f2b-sshd'])() == {}


def test_a_ruleset_that_bans_the_session_itself_is_still_refused():
    """A rule of the ruleset that rejects the session is decided as before: the bans it keeps do not hide it."""
    mine = p4(HOST_FILTER.replace('-A INPUT -i lo', '-A INPUT -s 198.51.100.7/32 -j DROP\n-A INPUT -i lo'))
    result = plan(mine, neighbour_live('nft', 'ipv4'))
    report = preflight(result.result, SESSION['ipv4'], sets=neighbour_sets(None, result.neighbour_set_names)())
    assert report['safe'] is False
