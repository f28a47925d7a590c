# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the granular layers (iptables_options, iptables_planner, iptables_apply): structured options, family translation, the partial-table
planner and the apply/verify driver."""

from __future__ import annotations

import random

import pytest
import yaml

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_apply as app
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_options as options_mod
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_planner as planner_mod
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_tables as tables_mod
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_matches import (
    ICMP6_TYPES,
    ICMP_TYPES,
    REJECT4,
    REJECT6,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    Chain,
    Table,
    new_table,
    parse,
    parse_rule,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import IptablesCommandError
from ansible_collections.rampart.firewall.plugins.modules import iptables_rule


def rule(text, chain='INPUT', chains=()):
    return parse_rule(text, chain, 'filter', 'ipv4', chains)


def specs(family='ipv4', **opts):
    return options_mod.build_specs(options_mod.translate(opts, family), family)[0]


def lines(opts, family='ipv4', table='filter', chain='INPUT', chains=()):
    return [r.line() for r in options_mod.build_rules(opts, family, table, chain, list(chains))]


# ---- options -------------------------------------------------------------------------------------

def test_option_table_is_the_documented_one():
    doc = yaml.safe_load(iptables_rule.DOCUMENTATION)
    documented = set(doc['options']) - {'rules', 'chain', 'table', 'family', 'state', 'position', 'wait'}
    assert documented == set(options_mod.RULE_OPTION_NAMES)
    item = doc['options']['rules']['suboptions']
    assert set(item) == set(options_mod.RULE_OPTION_NAMES) | {'chain', 'table', 'family', 'state'}
    for name, spec in options_mod.rule_argument_spec().items():
        assert doc['options'][name]['type'] == spec['type'], name
        assert doc['options'][name].get('choices') == spec.get('choices'), name


def test_emission_order_and_spelling():
    assert specs(protocol='tcp', destination_port=22, ctstate=['NEW'], comment='ssh', jump='ACCEPT') == [
        '-p tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment ssh -j ACCEPT']
    assert specs(in_interface='! WAN1', out_interface='eth0', jump='ACCEPT') == ['! -i WAN1 -o eth0 -j ACCEPT']
    assert specs(protocol='tcp', source_port='1024-65535', destination_ports=[80, 'https', '8000-8010'],
                 syn='negate') == ['-p tcp --sport 1024:65535 ! --syn -m multiport --dports 80,https,8000:8010']
    assert specs(protocol='tcp', destination_port='! 1024-2000') == ['-p tcp ! --dport 1024:2000']
    assert specs(protocol='udp', source_ports=['53'], destination_ports=['53']) == [
        '-p udp -m multiport --sports 53 -m multiport --dports 53']
    assert specs(ctstate=['NEW'], ctstate_match='state', src_type=['LOCAL'], dst_type=['BROADCAST', 'MULTICAST'],
                 limit='5/s', limit_burst=10, match_args='-m pkttype --pkt-type host', jump='LOG',
                 log_prefix='x "y" ', log_level='info') == [
        '-m state --state NEW -m addrtype --src-type LOCAL --dst-type BROADCAST,MULTICAST -m limit --limit 5/s '
        '--limit-burst 10 -m pkttype --pkt-type host -j LOG --log-prefix "x \\"y\\" " --log-level info']
    assert specs(source=['10.0.0.0/8', '! 10.1.0.0/16'][:1], destination=['10.2.0.1', '10.3.0.1'], jump='DROP') == [
        '-s 10.0.0.0/8 -d 10.2.0.1 -j DROP', '-s 10.0.0.0/8 -d 10.3.0.1 -j DROP']
    assert specs(source=['! 10.0.0.0/8'], jump='DROP') == ['! -s 10.0.0.0/8 -j DROP']
    assert specs() == ['']
    assert specs(goto='web') == ['-g web']


def test_recent_and_hashlimit():
    recent = dict(command='rcheck', name='sshbf', seconds=10, hitcount=3, rttl=True, reap=True, side='destination')
    assert specs(recent=recent, jump='DROP') == [
        '-m recent --rcheck --seconds 10 --reap --hitcount 3 --rttl --name sshbf --rdest -j DROP']
    assert lines({'recent': recent, 'jump': 'DROP'}) == [
        '-A INPUT -m recent --rcheck --seconds 10 --reap --hitcount 3 --rttl --name sshbf '
        '--mask 255.255.255.255 --rdest -j DROP']
    hashlimit = dict(name='t_icmp', upto='1/m', burst=10, mode=['srcip'], htable_expire=120000)
    assert lines({'protocol': 'icmp', 'icmp_type': 'echo-request', 'hashlimit': hashlimit, 'jump': 'ACCEPT'}) == [
        '-A INPUT -p icmp -m icmp --icmp-type 8 -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 10 '
        '--hashlimit-mode srcip --hashlimit-name t_icmp --hashlimit-htable-expire 120000 -j ACCEPT']


def test_targets():
    assert lines({'protocol': 'tcp', 'destination_port': 80, 'jump': 'DNAT', 'to_destination': '10.0.0.2:8080'},
                 table='nat', chain='PREROUTING') == [
        '-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080']
    assert lines({'out_interface': 'eth0', 'jump': 'SNAT', 'to_source': '192.0.2.1'}, table='nat',
                 chain='POSTROUTING') == ['-A POSTROUTING -o eth0 -j SNAT --to-source 192.0.2.1']
    assert lines({'protocol': 'tcp', 'jump': 'REDIRECT', 'to_ports': '8000:8010'}, table='nat', chain='OUTPUT') == [
        '-A OUTPUT -p tcp -j REDIRECT --to-ports 8000-8010']
    assert lines({'jump': 'REJECT', 'reject_with': 'host-prohib'}) == [
        '-A INPUT -j REJECT --reject-with icmp-host-prohibited']
    assert lines({'jump': 'web'}, chains=['web']) == ['-A INPUT -j web']


@pytest.mark.parametrize('opts,field', [
    ({'protocol': 'tcp', 'destination_port': True}, 'destination_port'),
    ({'protocol': 'tcp', 'destination_port': ' '}, 'destination_port'),
    ({'protocol': 'tcp', 'destination_port': 22.5}, 'destination_port'),
    ({'comment': 'a\x00b'}, 'comment'),
    ({'match_args': '-m comment\n--comment x'}, 'match_args'),
    ({'source': ['10.0.0.1,'], 'jump': 'ACCEPT'}, 'source'),
    ({'protocol': 'tcp', 'syn': 'match', 'tcp_flags': {'flags': ['ALL'], 'flags_set': []}}, 'tcp_flags'),
    ({'jump': 'ACCEPT', 'goto': 'x'}, 'goto'),
    ({'in_interface': '!', 'jump': 'ACCEPT'}, 'in_interface'),
    ({'protocol': 'tcp', 'tcp_flags': {'flags': ['BOGUS'], 'flags_set': []}}, 'tcp_flags'),
    ({'recent': {'command': 'update', 'seconds': 0}}, 'recent'),
    ({'hashlimit': {'name': 'x', 'upto': '1/s', 'mode': ['srcip'], 'srcmask': 33}}, 'hashlimit'),
    ({'log_level': 'info'}, 'log_level'),
])
def test_errors_name_the_option(opts, field):
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.build_rules(opts, 'ipv4', 'filter', 'INPUT', [])
    assert info.value.field == field, info.value.msg
    assert info.value.msg.startswith('rule (ipv4 filter INPUT): ')


def test_error_label_names_the_list_item():
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.build_rules({'protocol': 'tcp', 'destination_port': 70000}, 'ipv4', 'filter', 'INPUT', [], 'rules[4]')
    assert info.value.msg == "rules[4] (ipv4 filter INPUT): destination_port: invalid port '70000' (-p tcp --dport 70000)"
    assert (info.value.field, info.value.value, info.value.rule) == ('destination_port', '70000', '-p tcp --dport 70000')


# ---- family translation ------------------------------------------------------------------------------

def names(table):
    return set(n for n, _t, _a, _b in table)


def test_translation_tables_use_known_names():
    assert set(options_mod.ICMP_4TO6) <= names(ICMP_TYPES)
    assert set(v for v in options_mod.ICMP_4TO6.values() if v) <= names(ICMP6_TYPES)
    assert set(options_mod.ICMP_6TO4) <= names(ICMP6_TYPES)
    assert set(options_mod.ICMP_6TO4.values()) <= names(ICMP_TYPES)
    assert set(options_mod.REJECT_4TO6) <= set(n for n, _a in REJECT4)
    assert set(options_mod.REJECT_4TO6.values()) <= set(n for n, _a in REJECT6)
    assert set(options_mod.REJECT_6TO4) <= set(n for n, _a in REJECT6)
    assert set(options_mod.REJECT_6TO4.values()) <= set(n for n, _a in REJECT4)


@pytest.mark.parametrize('v4,v6', [
    ('echo-request', '-p ipv6-icmp -m icmp6 --icmpv6-type 128'),
    ('8', '-p ipv6-icmp -m icmp6 --icmpv6-type 128'),
    ('ping', '-p ipv6-icmp -m icmp6 --icmpv6-type 128'),
    ('0', '-p ipv6-icmp -m icmp6 --icmpv6-type 129'),
    ('destination-unreachable', '-p ipv6-icmp -m icmp6 --icmpv6-type 1'),
    ('3/3', '-p ipv6-icmp -m icmp6 --icmpv6-type 1/4'),
    ('host-unreachable', '-p ipv6-icmp -m icmp6 --icmpv6-type 1/3'),
    ('network-unreachable', '-p ipv6-icmp -m icmp6 --icmpv6-type 1/0'),
    ('fragmentation-needed', '-p ipv6-icmp -m icmp6 --icmpv6-type 2'),
    ('time-exceeded', '-p ipv6-icmp -m icmp6 --icmpv6-type 3'),
    ('11', '-p ipv6-icmp -m icmp6 --icmpv6-type 3'),
    ('parameter-problem', '-p ipv6-icmp -m icmp6 --icmpv6-type 4'),
    ('redirect', '-p ipv6-icmp -m icmp6 --icmpv6-type 137'),
    ('router-advertisement', '-p ipv6-icmp -m icmp6 --icmpv6-type 134'),
    ('! echo-request', '-p ipv6-icmp -m icmp6 ! --icmpv6-type 128'),
    ('any', '-p ipv6-icmp'),
])
def test_icmp_types_for_ipv6(v4, v6):
    assert lines({'protocol': 'icmp', 'icmp_type': v4}, 'ipv6') == ['-A INPUT ' + v6]


@pytest.mark.parametrize('v6,v4', [
    ('echo-request', '-p icmp -m icmp --icmp-type 8'),
    ('128', '-p icmp -m icmp --icmp-type 8'),
    ('packet-too-big', '-p icmp -m icmp --icmp-type 3/4'),
    ('1/4', '-p icmp -m icmp --icmp-type 3/3'),
    ('neighbour-solicitation', None),
    ('mld-listener-query', None),
])
def test_icmpv6_types_for_ipv4(v6, v4):
    opts = {'protocol': 'ipv6-icmp', 'icmp_type': v6}
    if v4 is None:
        with pytest.raises(options_mod.SpecError) as info:
            lines(opts, 'ipv4')
        assert info.value.field == 'icmp_type'
        assert 'no ICMP equivalent' in info.value.msg and 'family: ipv6' in info.value.msg
    else:
        assert lines(opts, 'ipv4') == ['-A INPUT ' + v4]


def test_icmp_protocol_spellings():
    for proto in ('icmp', '1', 'ICMP'):
        assert lines({'protocol': proto}, 'ipv6') == ['-A INPUT -p ipv6-icmp'], proto
    for proto in ('ipv6-icmp', 'icmpv6', '58'):
        assert lines({'protocol': proto}, 'ipv4') == ['-A INPUT -p icmp'], proto
    assert lines({'protocol': '! icmp'}, 'ipv6') == ['-A INPUT ! -p ipv6-icmp']
    assert options_mod.protocol_family('tcp') is None and options_mod.protocol_family(None) is None


@pytest.mark.parametrize('v4,v6', [
    ('icmp-port-unreachable', 'icmp6-port-unreachable'),
    ('port-unreach', 'icmp6-port-unreachable'),
    ('icmp-host-unreachable', 'icmp6-addr-unreachable'),
    ('icmp-net-unreachable', 'icmp6-no-route'),
    ('icmp-proto-unreachable', 'icmp6-adm-prohibited'),
    ('icmp-host-prohibited', 'icmp6-adm-prohibited'),
    ('icmp-net-prohibited', 'icmp6-adm-prohibited'),
    ('icmp-admin-prohibited', 'icmp6-adm-prohibited'),
])
def test_reject_types_for_ipv6(v4, v6):
    assert lines({'jump': 'REJECT', 'reject_with': v4}, 'ipv6') == ['-A INPUT -j REJECT --reject-with ' + v6]


def test_reject_types_for_ipv4():
    assert lines({'jump': 'REJECT', 'reject_with': 'icmp6-adm-prohibited'}, 'ipv4') == [
        '-A INPUT -j REJECT --reject-with icmp-admin-prohibited']
    assert lines({'protocol': 'tcp', 'jump': 'REJECT', 'reject_with': 'tcp-reset'}, 'ipv6') == [
        '-A INPUT -p tcp -j REJECT --reject-with tcp-reset']
    with pytest.raises(options_mod.SpecError) as info:
        lines({'jump': 'REJECT', 'reject_with': 'icmp6-policy-fail'}, 'ipv4')
    assert info.value.field == 'reject_with'


def test_addresses_of_the_other_family():
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.build_rules({'destination': ['2001:db8::1']}, 'ipv4', 'filter', 'INPUT', [], both=True)
    assert info.value.field == 'destination'
    assert 'give this rule family: ipv6' in info.value.msg
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.build_rules({'jump': 'DNAT', 'to_destination': '10.0.0.1'}, 'ipv6', 'nat', 'PREROUTING', [], both=True)
    assert info.value.field == 'to_destination'
    assert 'give this rule family: ipv4' in info.value.msg


# ---- positions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('value,expect', [(None, 'append'), ('append', 'append'), ('prepend', 1), ('Prepend', 1),
                                          (1, 1), ('7', 7), (' 3 ', 3)])
def test_parse_position(value, expect):
    assert options_mod.parse_position(value) == expect


@pytest.mark.parametrize('value', [0, -1, '0', 'top', True, 1.5, ''])
def test_parse_position_errors(value):
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.parse_position(value)
    assert info.value.field == 'position'


A = rule('-p tcp -m tcp --dport 1 -j ACCEPT')
B = rule('-p tcp -m tcp --dport 2 -j ACCEPT')
C = rule('-p tcp -m tcp --dport 3 -j ACCEPT')
X = rule('-p tcp -m tcp --dport 100 -j ACCEPT')
Y = rule('-p tcp -m tcp --dport 101 -j ACCEPT')


def keys(rules):
    return [r.key for r in rules]


@pytest.mark.parametrize('live,want,position,expect', [
    ([], [A], 'append', [A]),
    ([X, A, Y], [A], 'append', [X, A, Y]),                  # present anywhere: stays
    ([X, A, Y, A], [A], 'append', [X, A, Y]),               # extra copies go
    ([X, Y], [A, B], 'append', [X, Y, A, B]),
    ([B, X], [A, B], 'append', [A, B, X]),                  # the first one goes before the next one that stays
    ([X, A, Y, C], [A, B, C], 'append', [X, A, B, Y, C]),   # a missing one goes after its predecessor
    ([C, X, A, B], [A, B, C], 'append', [X, A, B, C]),      # out of order: the longest ordered run stays
    ([B, A, X], [A, B], 'append', [A, B, X]),               # tie: the earliest list rule stays
    ([X, A], [A], 1, [A, X]),
    ([A, X], [A], 1, [A, X]),
    ([X, Y], [A, B], 2, [X, A, B, Y]),
    ([X, B, A, Y], [A, B], 2, [X, A, B, Y]),
    ([X, Y], [A], 3, [X, Y, A]),
])
def test_wanted_chain(live, want, position, expect):
    assert keys(planner_mod.wanted_chain(live, want, [], position)) == keys(expect)


def test_wanted_chain_absent_and_beyond_the_end():
    assert keys(planner_mod.wanted_chain([A, X, A, B], [], [A], 'append')) == keys([X, B])
    with pytest.raises(planner_mod.PlanError) as info:
        planner_mod.wanted_chain([X, A], [A], [], 3)
    assert info.value.field == 'position'
    assert 'highest possible position is 2' in info.value.msg


def test_chain_ops_never_move_rules_of_others():
    # X and Y are not the task's: the task's rule A moves around them
    ops = planner_mod.chain_ops('INPUT', [A, X, Y], [X, Y, A], {A.key})
    assert ops == [('D', 'INPUT', A), ('A', 'INPUT', A)]
    ops = planner_mod.chain_ops('INPUT', [X, Y, A], [A, X, Y], {A.key})
    assert ops == [('D', 'INPUT', A), ('I', 'INPUT', 1, A)]
    # deletes are by specification: never a rule number
    assert [planner_mod._op_line(op) for op in ops] == ['-D INPUT -p tcp -m tcp --dport 1 -j ACCEPT',
                                                        '-I INPUT 1 -p tcp -m tcp --dport 1 -j ACCEPT']


def test_chain_ops_duplicates_keep_the_last_copy():
    # -D CHAIN RULE removes the first match: the copy that stays is the last one, or every copy goes
    ops = planner_mod.chain_ops('INPUT', [X, A, Y, A], [X, A, Y], {A.key})
    table = Table('filter', {'INPUT': Chain('INPUT', 'ACCEPT', [X, A, Y, A])})
    assert planner_mod.simulate(table, ops).chains['INPUT'].keys() == keys([X, A, Y])
    assert ops == [('D', 'INPUT', A), ('D', 'INPUT', A), ('I', 'INPUT', 2, A)]
    ops = planner_mod.chain_ops('INPUT', [A, X, A], [X, A], {A.key})
    assert ops == [('D', 'INPUT', A)]


def test_chain_ops_random():
    rng = random.Random(1)
    pool = [rule('-p udp -m udp --dport %d -j ACCEPT' % p) for p in range(12)]
    for dummy in range(400):
        live = [rng.choice(pool) for dummy in range(rng.randint(0, 10))]
        want = rng.sample(pool[:6], rng.randint(0, 4))
        gone = [r for r in pool[6:9] if rng.random() < 0.5]
        position = rng.choice(['append', 1, 2])
        try:
            final = planner_mod.wanted_chain(live, want, gone, position)
        except planner_mod.PlanError:
            continue
        ops = planner_mod.chain_ops('INPUT', live, final, set(keys(want)))
        table = Table('filter', {'INPUT': Chain('INPUT', 'ACCEPT', list(live))})
        after = planner_mod.simulate(table, ops)
        assert after.chains['INPUT'].keys() == keys(final)
        # only the task's rules and removed rules are deleted, only the task's rules are inserted
        assert all(op[3].key in keys(want) for op in ops if op[0] == 'I')
        assert all(op[2].key in keys(want) for op in ops if op[0] == 'A')
        deleted = [op[2] for op in ops if op[0] == 'D']
        assert all(r.key in keys(want) or r.key in keys(gone) for r in deleted)
        others = [r.key for r in live if r.key not in keys(want) and r.key not in keys(gone)]
        assert [k for k in keys(final) if k not in keys(want)] == others
        # a second plan against the result has nothing to do
        again = planner_mod.wanted_chain(after.chains['INPUT'].rules, want, gone, position)
        assert planner_mod.chain_ops('INPUT', after.chains['INPUT'].rules, again, set(keys(want))) == []


def test_simulate_refuses_what_iptables_refuses():
    table = parse('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n'
                  '-A INPUT -j web\nCOMMIT\n').tables['filter']
    for ops in ([('X', 'web')], [('D', 'INPUT', A)], [('I', 'INPUT', 3, A)], [('F', 'nope')], [('X', 'INPUT')]):
        with pytest.raises(planner_mod.PlanError):
            planner_mod.simulate(table, ops)
    assert list(planner_mod.simulate(table, [('N', 'new')]).chains)[-1] == 'new'
    assert 'new' not in table.chains          # the live table is not changed


# ---- plans -----------------------------------------------------------------------------------------------

def filter_table(text=''):
    return parse('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n%sCOMMIT\n'
                 % text).tables['filter']


def test_plan_rules_payload_lines_and_texts():
    table = filter_table(':web - [0:0]\n-A INPUT -p tcp -m tcp --dport 100 -j ACCEPT\n')
    want = planner_mod.ChainWant('INPUT', 'ipv4', 1)
    want.add(A, 'present')
    web = planner_mod.ChainWant('web', 'ipv4', 'append')
    web.add(B, 'present')
    plan = planner_mod.plan_rules('ipv4', table, [want, web])
    assert plan.changed
    assert plan.lines() == ['-I INPUT 1 -p tcp -m tcp --dport 1 -j ACCEPT', '-A web -p tcp -m tcp --dport 2 -j ACCEPT']
    assert planner_mod.payload([plan]) == '*filter\n%s\nCOMMIT\n' % '\n'.join(plan.lines())
    assert planner_mod.plans_text([plan], 'before') == ('*filter\n:INPUT ACCEPT [0:0]\n:web - [0:0]\n'
                                                        '-A INPUT -p tcp -m tcp --dport 100 -j ACCEPT\nCOMMIT\n')
    assert table.chains['INPUT'].keys() == [X.key]          # the live table is untouched
    assert plan.after.chains['INPUT'].keys() == [A.key, X.key]


def test_plan_rules_duplicates_in_one_task():
    want = planner_mod.ChainWant('INPUT', 'ipv6')
    want.add(A, 'present', 'rules[0]')
    with pytest.raises(options_mod.SpecError) as info:
        want.add(A, 'absent', 'rules[3]')
    assert info.value.msg.startswith('rules[0] and rules[3] give the same ipv6 rule twice')


def test_plan_chain():
    table = filter_table(':web - [0:0]\n:other - [0:0]\n-A INPUT -j web\n-A other -p tcp -g web\n-A web -j RETURN\n')
    plan, refs = planner_mod.plan_chain('ipv4', table, 'web', 'absent', force=True)
    assert plan.lines() == ['-D INPUT -j web', '-D other -p tcp -g web', '-F web', '-X web']
    assert refs == ['-A INPUT -j web', '-A other -p tcp -g web']
    assert plan.touched == ['INPUT', 'web', 'other']
    assert 'web' not in plan.after.chains
    with pytest.raises(planner_mod.PlanError) as info:
        planner_mod.plan_chain('ipv4', table, 'web', 'absent')
    assert '2 rule(s)' in info.value.msg
    plan, refs = planner_mod.plan_chain('ipv4', table, 'other', 'flushed')
    assert plan.lines() == ['-F other']
    plan, refs = planner_mod.plan_chain('ipv4', table, 'new', 'present')
    assert plan.lines() == [':new - [0:0]']
    assert not planner_mod.plan_chain('ipv4', table, 'web', 'present')[0].changed
    assert not planner_mod.plan_chain('ipv4', table, 'gone', 'absent')[0].changed


def test_check_chain_names():
    planner_mod.check_user_chain_name('fw-open', 'filter')
    for name in ('INPUT', 'x' * 29, 'a b', '-a', '!a', 'DROP', 'a"b'):
        with pytest.raises(options_mod.SpecError) as info:
            planner_mod.check_user_chain_name(name, 'filter')
        assert info.value.field == 'chain'
    planner_mod.check_user_chain_name('FORWARD', 'nat')           # only a built-in chain in filter
    with pytest.raises(options_mod.SpecError):
        planner_mod.check_builtin_chain('FORWARD', 'nat')


def test_plan_policy():
    table = filter_table()
    plan = planner_mod.plan_policy('ipv4', table, 'INPUT', 'DROP')
    assert plan.lines() == [':INPUT DROP [0:0]']
    assert not planner_mod.plan_policy('ipv4', table, 'INPUT', 'ACCEPT').changed
    with pytest.raises(options_mod.SpecError):
        planner_mod.plan_policy('ipv4', table, 'INPUT', 'REJECT')


# ---- live tables ------------------------------------------------------------------------------------------

SAVED = '''# Generated by iptables-nft-save v1.8.9 (nf_tables) on Sat Nov 21 14:08:43 2026
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m nosuch --this-is-not-understood -j WHATEVER
COMMIT
# Completed on Sat Nov 21 14:08:43 2026
# Generated by iptables-nft-save v1.8.9 (nf_tables) on Sat Nov 21 14:08:43 2026
*filter
:INPUT DROP [12:345]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
# Completed on Sat Nov 21 14:08:43 2026
'''


def test_parse_tables_reads_only_the_named_tables():
    live = tables_mod.parse_tables(SAVED, 'ipv4', ['filter', 'nat'])
    assert live['filter'].chains['INPUT'].policy == 'DROP'
    assert [r.text for r in live['filter'].chains['INPUT'].rules] == ['-i lo -j ACCEPT']
    assert live['nat'] == new_table('nat')
    with pytest.raises(options_mod.SpecError) as info:
        tables_mod.parse_tables(SAVED, 'ipv4', ['mangle'])
    assert 'cannot understand the live mangle table' in info.value.msg
    assert tables_mod.parse_tables('', 'ipv6', ['raw'])['raw'] == new_table('raw')


@pytest.mark.parametrize('value,expect', [
    ('192.168.0.5', ('192.168.0.5', None)),
    ('192.168.0.6:80', ('192.168.0.6', '80')),
    ('192.168.0.6:80-90', ('192.168.0.6', '80:90')),
    ('fd00::53', ('fd00::53', None)),
    ('[fd00::53]:5353', ('fd00::53', '5353')),
    ('[fd00::53]', ('fd00::53', None)),
])
def test_split_nat_destination(value, expect):
    assert options_mod.split_nat_destination(value) == expect


@pytest.mark.parametrize('value', [':80', '10.0.0.1-10.0.0.2:80', '[fd00::1', '[fd00::1]80', ''])
def test_split_nat_destination_errors(value):
    with pytest.raises(options_mod.SpecError):
        options_mod.split_nat_destination(value)


# ---- Apply ---------------------------------------------------------------------------------------------------

class FakeModule:
    def __init__(self):
        self.calls = []

    def get_bin_path(self, name, required=False):
        return '/sbin/' + name

    def run_command(self, cmd, **kwargs):
        self.calls.append(cmd)
        return 0, '', ''


def test_noflush_runner_adds_noflush():
    module = FakeModule()
    runner = app.NoflushRunner(module, 'ipv6', 5)
    runner.test('*filter\nCOMMIT\n')
    runner.restore('*filter\nCOMMIT\n')
    assert module.calls == [['/sbin/ip6tables-restore', '-w', '5', '--test', '--noflush'],
                            ['/sbin/ip6tables-restore', '-w', '5', '--noflush']]


class FakeRunner:
    def __init__(self, live, after=None, fail=None):
        self.live = live
        self.after = after
        self.fail = fail
        self.tested = []
        self.restored = []

    def save(self):
        return self.live

    def test(self, payload):
        self.tested.append(payload)

    def restore(self, payload):
        if self.fail:
            raise IptablesCommandError('boom', ['iptables-restore'], 4, '', 'boom')
        self.restored.append(payload)
        self.live = self.after


def policy_planner(family, live):
    return [planner_mod.plan_policy(family, live['filter'], 'INPUT', 'DROP')]


DROPPED = SAVED.replace(':INPUT DROP', ':INPUT XX').replace(':INPUT XX', ':INPUT DROP')
ACCEPTING = SAVED.replace(':INPUT DROP [12:345]', ':INPUT ACCEPT [0:0]')


def test_apply_check_mode_and_run():
    runners = {'ipv4': FakeRunner(ACCEPTING, after=DROPPED), 'ipv6': FakeRunner(SAVED)}
    apply = app.Apply(runners, ['filter'], policy_planner)
    result = apply.plan()
    assert result['changed'] is True
    assert result['payload'] == {'ipv4': '*filter\n:INPUT DROP [0:0]\nCOMMIT\n', 'ipv6': ''}
    apply.run(check_mode=True)
    assert runners['ipv4'].tested == [result['payload']['ipv4']]
    assert runners['ipv4'].restored == [] and runners['ipv6'].tested == []
    assert not apply.applied
    apply.run()
    assert runners['ipv4'].restored == [result['payload']['ipv4']]
    assert apply.applied
    assert [d['before_header'] for d in apply.diffs()] == ['ipv4 table filter (live)']


def test_apply_verification_and_failures():
    apply = app.Apply({'ipv4': FakeRunner(ACCEPTING, after=ACCEPTING)}, ['filter'], policy_planner)
    apply.plan()
    with pytest.raises(FirewallError) as info:
        apply.run()
    assert 'differ from the prediction in ipv4 filter INPUT' in info.value.msg
    assert '-:INPUT DROP [0:0]' in info.value.msg and '+:INPUT ACCEPT [0:0]' in info.value.msg
    msg, extra = app.failure(info.value, apply)
    assert extra['changed'] is True and extra['payload'] == apply.result['payload']
    apply = app.Apply({'ipv4': FakeRunner(ACCEPTING, fail=True)}, ['filter'], policy_planner)
    apply.plan()
    with pytest.raises(IptablesCommandError) as info:
        apply.run()
    msg, extra = app.failure(info.value, apply)
    assert msg == 'boom'
    assert extra['changed'] is False and extra['rc'] == 4 and extra['cmd'] == 'iptables-restore'


# ---- hostile input (issue 10) ----------------------------------------------------------------------

def _no_raw_controls(text):
    return not any(ord(c) < 32 and c != '\t' or 127 <= ord(c) < 160 for c in text)


@pytest.mark.parametrize('opts,field,shown', [
    ({'comment': 'ssh\x00', 'jump': 'ACCEPT'}, 'comment', r"'ssh\x00'"),
    ({'comment': 'a\x85b', 'jump': 'ACCEPT'}, 'comment', r"'a\x85b'"),
    ({'comment': 'a\x7fb', 'jump': 'ACCEPT'}, 'comment', r"'a\x7fb'"),
    ({'jump': 'LOG', 'log_prefix': 'x\x9b2J'}, 'log_prefix', r"'x\x9b2J'"),
    ({'jump': 'LOG', 'log_prefix': 'x\x00'}, 'log_prefix', r"'x\x00'"),
    ({'match_args': '-m pkttype --pkt-type\x00 broadcast', 'jump': 'ACCEPT'}, 'match_args', r"'\x00'"),
    ({'match_args': '-m comment --comment "a\x85"', 'jump': 'ACCEPT'}, 'match_args', r"'\x85'"),
    ({'in_interface': 'eth0\x00', 'jump': 'ACCEPT'}, 'in_interface', r"'eth0\x00'"),
    ({'source': ['10.0.0.1\x00'], 'jump': 'ACCEPT'}, 'source', r"'10.0.0.1\x00'"),
    ({'jump': 'ACC\x00EPT'}, 'jump', r"'ACC\x00EPT'"),
    ({'protocol': 'tcp', 'destination_ports': ['22\x00'], 'jump': 'ACCEPT'}, 'destination_ports', r"'22\x00'"),
])
def test_control_characters_in_options_are_errors_naming_the_option(opts, field, shown):
    with pytest.raises(options_mod.SpecError) as info:
        lines(opts)
    assert info.value.field == field, info.value.msg
    assert shown in info.value.msg
    assert field in info.value.msg
    assert _no_raw_controls(info.value.msg), repr(info.value.msg)


# every list option of a rule, and the empty list that would have widened it
EMPTY_LISTS = [
    ({'protocol': 'tcp', 'destination_ports': [], 'jump': 'ACCEPT'}, 'destination_ports', 'any destination port'),
    ({'protocol': 'tcp', 'source_ports': [], 'jump': 'ACCEPT'}, 'source_ports', 'any source port'),
    ({'source': [], 'jump': 'DROP'}, 'source', 'any source address'),
    ({'destination': [], 'jump': 'DROP'}, 'destination', 'any destination address'),
    ({'ctstate': [], 'jump': 'ACCEPT'}, 'ctstate', 'any connection state'),
    ({'src_type': [], 'jump': 'ACCEPT'}, 'src_type', 'any source address type'),
    ({'dst_type': [], 'jump': 'ACCEPT'}, 'dst_type', 'any destination address type'),
    ({'protocol': 'tcp', 'tcp_flags': {'flags': [], 'flags_set': []}, 'jump': 'ACCEPT'}, 'tcp_flags.flags',
     'omit tcp_flags'),
    ({'hashlimit': {'name': 'x', 'upto': '5/s', 'mode': []}, 'jump': 'ACCEPT'}, 'hashlimit.mode', 'omit it'),
]


@pytest.mark.parametrize('opts,field,hint', EMPTY_LISTS, ids=[c[1] for c in EMPTY_LISTS])
def test_an_empty_list_is_an_error_not_a_wider_rule(opts, field, hint):
    with pytest.raises(options_mod.SpecError) as info:
        lines(opts)
    assert info.value.field == field
    assert '%s must not be an empty list' % field in info.value.msg
    assert hint in info.value.msg


def test_every_list_option_of_a_rule_is_covered_by_the_empty_list_tests():
    listed = set()

    def walk(spec, prefix=''):
        for name, entry in spec.items():
            if entry.get('type') == 'list' and entry.get('default') != []:
                listed.add(prefix + name)
            if entry.get('type') == 'dict' and entry.get('options'):
                walk(entry['options'], prefix + name + '.')
    walk(options_mod.rule_argument_spec())
    assert listed == set(c[1] for c in EMPTY_LISTS)


def test_check_empty_lists_allows_the_documented_empty_lists():
    spec = iptables_rule.argument_spec()
    options_mod.check_empty_lists({'rules': []}, spec, allow=('rules',))
    options_mod.check_empty_lists({'tcp_flags': {'flags': ['SYN'], 'flags_set': []}}, spec)
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.check_empty_lists({'rules': []}, spec)
    assert info.value.field == 'rules'
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.check_empty_lists({'rules': [{'jump': 'ACCEPT'}, {'protocol': 'tcp', 'destination_ports': []}]}, spec,
                                      allow=('rules',))
    assert info.value.field == 'destination_ports'
    assert info.value.msg.startswith('rules[1].destination_ports must not be an empty list')
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.check_empty_lists({'rules': [{'tcp_flags': {'flags': [], 'flags_set': []}}]}, spec, allow=('rules',))
    assert info.value.field == 'tcp_flags.flags'
    assert info.value.msg.startswith('rules[0].tcp_flags.flags must not be an empty list')


@pytest.mark.parametrize('opts,field,value', [
    ({'protocol': 'tcp', 'destination_port': '２２', 'jump': 'ACCEPT'}, 'destination_port', '２２'),
    ({'protocol': 'tcp', 'destination_port': '２２-２３', 'jump': 'ACCEPT'}, 'destination_port', '２２-２３'),
    ({'protocol': 'udp', 'source_port': '٥٣', 'jump': 'ACCEPT'}, 'source_port', '٥٣'),
    ({'protocol': 'tcp', 'destination_ports': ['80', '４４３'], 'jump': 'ACCEPT'}, 'destination_ports', '４４３'),
    ({'source': ['１０.0.0.1'], 'jump': 'ACCEPT'}, 'source', '１０.0.0.1'),
    ({'destination': ['10.0.0.0/２４'], 'jump': 'ACCEPT'}, 'destination', '10.0.0.0/２４'),
    ({'protocol': '６', 'jump': 'ACCEPT'}, 'protocol', '６'),
    ({'protocol': 'icmp', 'icmp_type': '８', 'jump': 'ACCEPT'}, 'icmp_type', '８'),
    ({'limit': '５/second', 'jump': 'ACCEPT'}, 'limit', '５/second'),
    ({'protocol': 'tcp', 'jump': 'REDIRECT', 'to_ports': '８０８０'}, 'to_ports', '８０８０'),
])
def test_non_ascii_digits_are_errors(opts, field, value):
    table, chain = ('nat', 'PREROUTING') if opts.get('jump') == 'REDIRECT' else ('filter', 'INPUT')
    with pytest.raises(options_mod.SpecError) as info:
        lines(opts, table=table, chain=chain)
    assert info.value.field == field, info.value.msg
    assert value in info.value.msg


def test_non_ascii_icmp_type_is_not_translated():
    # str.lower() turns the Kelvin sign into 'k': 'pac\u212aet-too-big' must not become fragmentation-needed
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.translate({'protocol': 'ipv6-icmp', 'icmp_type': 'pac\u212aet-too-big'}, 'ipv4')
    assert info.value.field == 'icmp_type'
    with pytest.raises(options_mod.SpecError):
        options_mod.translate({'protocol': 'icmp', 'icmp_type': '３/4'}, 'ipv6')


@pytest.mark.parametrize('value', ['２', '٣', '1\u0660'])
def test_non_ascii_position_is_an_error(value):
    with pytest.raises(options_mod.SpecError) as info:
        options_mod.parse_position(value)
    assert info.value.field == 'position' and repr(value) in info.value.msg


def test_non_ascii_blanks_are_not_trimmed_as_ascii_ones():
    assert options_mod._text(' 22\n', 'destination_port') == '22'
    with pytest.raises(options_mod.SpecError):
        lines({'protocol': 'tcp', 'destination_port': '\u200322', 'jump': 'ACCEPT'})


@pytest.mark.parametrize('protocol', ['tcp; id', 'tcp -j DROP', '"tcp"', '! ', 'tcp\x00', 'ｔｃｐ'])
def test_an_invalid_protocol_is_named_before_options_that_need_one(protocol):
    with pytest.raises(options_mod.SpecError) as info:
        lines({'protocol': protocol, 'destination_port': 22, 'destination_ports': [80], 'jump': 'ACCEPT'})
    assert info.value.field == 'protocol', info.value.msg
    assert info.value.value == protocol
    assert 'protocol' in info.value.msg
    assert 'needs protocol' not in info.value.msg
    assert _no_raw_controls(info.value.msg)


def test_protocol_error_names_the_value():
    with pytest.raises(options_mod.SpecError) as info:
        lines({'protocol': 'tcp; id', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert info.value.msg.endswith("protocol: unknown protocol 'tcp; id'")


@pytest.mark.parametrize('check,name', [
    (lambda n: planner_mod.check_user_chain_name(n, 'filter'), 'web\x00'),
    (lambda n: planner_mod.check_user_chain_name(n, 'filter'), 'w\x1beb'),
    (lambda n: planner_mod.check_builtin_chain(n, 'filter'), 'INPUT\x00'),
    (lambda n: planner_mod.check_chain_name(n, 'filter'), 'INPUT\x00'),
    (lambda n: planner_mod.check_chain_name(n, 'filter'), 'web\x85'),
])
def test_chain_names_with_control_characters(check, name):
    with pytest.raises(options_mod.SpecError) as info:
        check(name)
    assert info.value.field == 'chain' and info.value.value == name
    assert repr(name) in info.value.msg
    assert 'control character' in info.value.msg
    assert _no_raw_controls(info.value.msg)


def test_chain_name_length_counts_bytes():
    planner_mod.check_user_chain_name('é' * 14, 'filter')
    with pytest.raises(options_mod.SpecError) as info:
        planner_mod.check_user_chain_name('é' * 15, 'filter')
    assert 'bytes' in info.value.msg
    planner_mod.check_chain_name('INPUT', 'filter')
    planner_mod.check_chain_name('my-chain', 'filter')
    with pytest.raises(options_mod.SpecError):
        planner_mod.check_chain_name('é' * 15, 'filter')


def test_rule_planner_checks_the_chain_names_first():
    with pytest.raises(options_mod.SpecError) as info:
        planner_mod.RulePlanner([planner_mod.RuleRequest('rules[1]', 'fw\x00', 'filter', ('ipv4',), 'absent', {'jump': 'ACCEPT'})])
    assert info.value.field == 'chain'
    assert info.value.msg.startswith("rules[1]: chain: invalid chain name: 'fw\\x00'")
    with pytest.raises(options_mod.SpecError) as info:
        planner_mod.RulePlanner([planner_mod.RuleRequest('', 'fw\x00', 'filter', ('ipv4',), 'present', {}, chain_field='filter_chain')])
    assert info.value.field == 'filter_chain'


def test_match_args_with_non_ascii_digits_names_match_args():
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import SpecError, _emit_match_args
    with pytest.raises(SpecError) as err:
        _emit_match_args({'match_args': '-m ttl --ttl-eq \uff16\uff14'}, None)
    assert err.value.field == 'match_args' and '\\uff16' in str(err.value)


# ---- issue 22: the tables read again under the lock right before the write ---------------------------------

WEB_CHAIN = ('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n'
             '-A INPUT -p tcp -j web\n-A web -j RETURN\nCOMMIT\n')


class NeighbourRunner(FakeRunner):
    """A FakeRunner whose live text changes right after the first read (another program's edit)."""

    def __init__(self, live, changed):
        FakeRunner.__init__(self, live)
        self.changed = changed
        self.saves = 0

    def save(self):
        self.saves += 1
        text = self.live
        if self.saves == 1:
            self.live = self.changed
        return text

    def restore(self, payload):
        self.restored.append(payload)


def chain_absent_planner(family, live):
    return [planner_mod.plan_chain(family, live['filter'], 'web', 'absent', force=True)[0]]


def test_a_reference_added_between_the_plan_and_the_write_is_deleted_too():
    changed = WEB_CHAIN.replace('-A web -j RETURN', '-A FORWARD -j web\n-A web -j RETURN')
    runner = NeighbourRunner(WEB_CHAIN, changed)
    apply = app.Apply({'ipv4': runner}, ['filter'], chain_absent_planner)
    assert apply.plan()['payload']['ipv4'] == '*filter\n-D INPUT -p tcp -j web\n-F web\n-X web\nCOMMIT\n'
    with pytest.raises(FirewallError):
        apply.run()     # the fake restore changes nothing: the verification fails, after the write
    # planned again against the re-read: the new reference goes too, by specification; tested before the write
    assert runner.restored == ['*filter\n-D INPUT -p tcp -j web\n-D FORWARD -j web\n-F web\n-X web\nCOMMIT\n']
    assert runner.tested[-1] == runner.restored[-1]
    assert apply.replanned == ['ipv4'] and 'filter FORWARD' in apply.warnings[0]


def test_an_unchanged_re_read_keeps_the_plan_and_a_changed_one_that_cannot_be_planned_fails():
    runner = NeighbourRunner(WEB_CHAIN, WEB_CHAIN)
    apply = app.Apply({'ipv4': runner}, ['filter'], chain_absent_planner)
    apply.plan()
    with pytest.raises(FirewallError):
        apply.run()
    assert apply.replanned == [] and runner.saves == 3      # plan, re-read, verification

    def rules_planner(family, live):
        want = planner_mod.ChainWant('web', family, 1)
        want.add(A, 'present')
        return [planner_mod.plan_rules(family, live['filter'], [want])]
    gone = WEB_CHAIN.replace(':web - [0:0]\n', '').replace('-A INPUT -p tcp -j web\n-A web -j RETURN\n', '')
    runner = NeighbourRunner(WEB_CHAIN, gone)
    apply = app.Apply({'ipv4': runner}, ['filter'], rules_planner)
    apply.plan()
    with pytest.raises(FirewallError) as info:
        apply.run()
    assert 'ipv4 filter web changed between the plan and the write' in info.value.msg
    assert info.value.extra['changed_chains'] == ['ipv4 filter INPUT', 'ipv4 filter web'] and runner.restored == []
    assert not apply.applied
