# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The table of ownership (ownership.py), row by row, on iptables-save text captured from real hosts
(tests/unit/fixtures/live: Docker + fail2ban, CrowdSec + fail2ban ipset bans, iptables-nft and
iptables-legacy), and what the plan and the persisted form make of it: the record, the first run
without one, a stale persisted file holding Docker's rules."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
    DEFAULT_PRESERVE,
    DEFAULT_PRESERVE_INTERFACES,
    DEFAULT_PRESERVE_SETS,
    apply_result,
    plan,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse, render
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import persisted_form
from ansible_collections.rampart.firewall.plugins.module_utils.ownership import (
    NEIGHBOUR,
    OURS,
    RECORD_HEADER,
    UNKNOWN,
    OwnershipTable,
    RecordError,
    parse_record,
    record_text,
)

LIVE = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'live')


def live_fixture(name):
    with open(os.path.join(LIVE, name)) as handle:
        return handle.read()


def family_of(name):
    return 'ipv6' if name.endswith('.v6') else 'ipv4'


FILTER_HEAD = '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n'
# What an earlier apply declared on the Docker host of docker-fail2ban-bookworm.v4 (its INPUT rules),
# plus a user rule on docker0 and one on a LAN bridge br-lan.
OURS_BEFORE = FILTER_HEAD + (
    '-A INPUT -i lo -j ACCEPT\n'
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n'
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n'
    '-A INPUT -i docker0 -p tcp -m tcp --dport 5432 -j ACCEPT\n'
    '-A INPUT -i br-lan -p udp -m udp --dport 67 -j ACCEPT\n'
    'COMMIT\n')
OURS_NOW = FILTER_HEAD + (
    '-A INPUT -i lo -j ACCEPT\n'
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n'
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n'
    'COMMIT\n')
DOCKER0_RULE = '-A INPUT -i docker0 -p tcp -m tcp --dport 5432 -j ACCEPT'
BR_LAN_RULE = '-A INPUT -i br-lan -p udp -m udp --dport 67 -j ACCEPT'
STRAY = '-A INPUT -s 198.51.100.0/24 -j ACCEPT'


def docker_host_with(*extra_input_lines):
    """The captured Docker + fail2ban host, with lines added at the end of INPUT."""
    text = live_fixture('docker-fail2ban-bookworm.v4')
    anchor = '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n'
    return text.replace(anchor, anchor + ''.join(line + '\n' for line in extra_input_lines), 1)


def p4(text):
    return parse(text, family='ipv4')


def record_of(text, family='ipv4'):
    desired = parse(text, family=family)
    return parse_record(record_text(family, None, desired, list(desired.tables)), family)


def owner(live, table='filter', declared=None, recorded=None):
    return OwnershipTable(table, live.tables[table], declared.tables.get(table) if declared is not None else None,
                          recorded.tables.get(table) if recorded is not None else None)


def rule(ruleset, line, table='filter'):
    for chain in ruleset.tables[table].chains.values():
        for found in chain.rules:
            if found.line() == line:
                return found
    raise AssertionError('no rule %s' % line)


# ---- the table of ownership, row by row -------------------------------------------------------

def test_declared_rule_is_ours_even_on_a_neighbours_interface():
    live = p4(docker_host_with(DOCKER0_RULE))
    own = owner(live, declared=p4(OURS_BEFORE))
    assert own.whose(rule(live, DOCKER0_RULE)) == OURS
    assert own.whose(rule(live, '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT')) == OURS


def test_recorded_rule_no_longer_declared_is_ours_and_reported_removed():
    live = p4(docker_host_with(DOCKER0_RULE, BR_LAN_RULE))
    own = owner(live, declared=p4(OURS_NOW), recorded=record_of(OURS_BEFORE))
    assert own.whose(rule(live, DOCKER0_RULE)) == OURS
    assert own.whose(rule(live, BR_LAN_RULE)) == OURS
    assert own.report()['ours_removed'] == [DOCKER0_RULE, BR_LAN_RULE]
    assert own.report()['unknown_rules'] == []


def test_without_record_a_rule_on_docker0_is_the_neighbours():
    live = p4(docker_host_with(DOCKER0_RULE))
    own = owner(live, declared=p4(OURS_NOW))
    assert own.whose(rule(live, DOCKER0_RULE)) == NEIGHBOUR


@pytest.mark.parametrize('chain', ['DOCKER', 'DOCKER-USER', 'DOCKER-ISOLATION-STAGE-1', 'f2b-sshd'])
def test_pattern_chains_and_their_jumps_are_the_neighbours(chain):
    live = p4(docker_host_with())
    own = owner(live, declared=p4(OURS_NOW))
    assert own.whose_chain(chain) == NEIGHBOUR
    assert chain in own.neighbour_chains
    jumps = [found for found in live.tables['filter'].rules() if found.jumps == chain and found.chain in ('INPUT', 'FORWARD')]
    assert jumps
    assert all(own.whose(found) == NEIGHBOUR for found in jumps)


def test_docker_rules_of_built_in_chains_are_the_neighbours_masquerade_subnets_too():
    live = p4(docker_host_with())
    own = owner(live, table='nat')
    for line in ('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
                 '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
                 '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'):
        assert own.whose(rule(live, line, 'nat')) == NEIGHBOUR, line
    filter_own = owner(live)
    assert filter_own.whose(rule(live, '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT')) == NEIGHBOUR


@pytest.mark.parametrize('name', ['neighbour-sets-nft.v4', 'neighbour-sets-nft.v6',
                                  'neighbour-sets-legacy.v4', 'neighbour-sets-legacy.v6'])
def test_ban_rules_of_both_backends_are_the_neighbours_and_the_rest_is_unknown(name):
    family = family_of(name)
    live = parse(live_fixture(name), family=family)
    own = OwnershipTable('filter', live.tables['filter'])
    whose = dict((found.line(), own.whose(found)) for found in live.tables['filter'].chains['INPUT'].rules)
    bans = [line for line in whose if 'crowdsec' in line or 'f2b-' in line]
    assert len(bans) == (3 if family == 'ipv4' else 2)
    assert all(whose[line] == NEIGHBOUR for line in bans)
    # nothing declared, nothing recorded: the host's own rules are nobody's we know
    others = [line for line in whose if line not in bans]
    assert others and all(whose[line] == UNKNOWN for line in others)


def test_a_set_rule_of_ours_is_ours():
    live = parse(live_fixture('neighbour-sets-nft.v4'), family='ipv4')
    own = OwnershipTable('filter', live.tables['filter'], declared=live.tables['filter'])
    assert all(own.whose(found) == OURS for found in live.tables['filter'].rules())


def test_unknown_inserted_rule_and_chain_are_unknown():
    text = docker_host_with(STRAY).replace(':f2b-sshd - [0:0]\n', ':f2b-sshd - [0:0]\n:HANDMADE - [0:0]\n')
    live = p4(text)
    own = owner(live, declared=p4(OURS_NOW), recorded=record_of(OURS_NOW))
    assert own.whose(rule(live, STRAY)) == UNKNOWN
    assert own.whose_chain('HANDMADE') == UNKNOWN
    report = own.report()
    assert report['unknown_rules'] == [STRAY]
    assert report['unknown_chains'] == ['HANDMADE']


def test_recorded_pattern_chain_no_longer_declared_is_ours():
    """DOCKER-USER taken over once (declared, so recorded), then dropped from the ruleset: ours, removed."""
    declared_before = OURS_NOW.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n').replace(
        'COMMIT\n', '-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n')
    live = p4(docker_host_with())
    own = owner(live, declared=p4(OURS_NOW), recorded=record_of(declared_before))
    assert own.whose_chain('DOCKER-USER') == OURS
    assert 'DOCKER-USER' not in own.neighbour_chains
    assert own.report()['ours_removed_chains'] == ['DOCKER-USER']
    result = plan(p4(OURS_NOW), live, recorded=record_of(declared_before))
    assert 'DOCKER-USER' not in result.result.tables['filter'].chains
    assert '-A FORWARD -j DOCKER-USER' in result.removed['ours_removed']


# ---- the plan: removed wherever it points, kept when it is the neighbours' -------------------

def test_docker0_and_br_lan_rules_of_ours_are_removed_on_the_next_run():
    live = p4(docker_host_with(DOCKER0_RULE, BR_LAN_RULE))
    result = plan(p4(OURS_NOW), live, recorded=record_of(OURS_BEFORE))
    after = render(result.result)
    assert DOCKER0_RULE not in after and BR_LAN_RULE not in after
    assert result.changed
    assert result.removed['ours_removed'] == [DOCKER0_RULE, BR_LAN_RULE]
    # Docker's own rules stay, and the next run (record now OURS_NOW) changes nothing
    assert '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT' in after
    again = plan(p4(OURS_NOW), apply_result(live, result.result), recorded=record_of(OURS_NOW))
    assert again.changed is False
    content, dummy = persisted_form(None, apply_result(live, result.result), result, DEFAULT_PRESERVE,
                                    DEFAULT_PRESERVE_INTERFACES, DEFAULT_PRESERVE_SETS, recorded=record_of(OURS_NOW))
    assert DOCKER0_RULE not in content and 'docker0' not in content


def test_first_run_without_record_keeps_a_docker0_rule_it_cannot_tell_from_dockers():
    live = p4(docker_host_with(DOCKER0_RULE))
    result = plan(p4(OURS_NOW), live)
    assert DOCKER0_RULE in result.neighbour_rules
    assert DOCKER0_RULE in render(result.result)
    content, dummy = persisted_form(None, apply_result(live, result.result), result, DEFAULT_PRESERVE,
                                    DEFAULT_PRESERVE_INTERFACES, DEFAULT_PRESERVE_SETS)
    assert DOCKER0_RULE not in content, 'a neighbour rule is never persisted'


def test_unknown_rule_is_removed_and_reported():
    live = p4(docker_host_with(STRAY))
    result = plan(p4(OURS_NOW), live, recorded=record_of(OURS_NOW))
    assert STRAY not in render(result.result)
    assert result.removed['unknown_rules'] == [STRAY]
    assert result.changed


def test_neighbours_bans_are_kept_never_a_change_never_persisted():
    for name in ('neighbour-sets-nft.v4', 'neighbour-sets-legacy.v6'):
        family = family_of(name)
        live = parse(live_fixture(name), family=family)
        bans = [found.line() for found in live.tables['filter'].rules() if 'crowdsec' in found.text or 'f2b-' in found.text]
        desired = parse(''.join(line + '\n' for line in live_fixture(name).splitlines() if line not in bans), family=family)
        result = plan(desired, live, recorded=record_of(render(desired), family))
        assert result.changed is False
        assert result.neighbour_rules == bans
        content, same = persisted_form(None, live, result, DEFAULT_PRESERVE, DEFAULT_PRESERVE_INTERFACES,
                                       DEFAULT_PRESERVE_SETS)
        assert 'match-set crowdsec' not in content and 'match-set f2b' not in content


# ---- a stale persisted file holding Docker's rules --------------------------------------------

STALE_PERSISTED = FILTER_HEAD.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n') + (
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n'
    '-A FORWARD -o docker0 -j DOCKER\n'
    '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n'
    'COMMIT\n'
    '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n'
    ':DOCKER - [0:0]\n'
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n'
    '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n'
    '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n'
    'COMMIT\n')


@pytest.mark.parametrize('with_nat', [False, True], ids=['nat-untouched', 'nat-declared'])
def test_stale_persisted_docker_file_does_not_make_dockers_rules_ours(with_nat):
    """netfilter-persistent save ran once while Docker was up; Docker is gone, the boot loaded the file
    (so Docker's chains are live); one run later nothing of Docker's is in our persisted file."""
    desired_text = OURS_NOW
    if with_nat:
        desired_text += ('*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n'
                         '-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n')
    live = p4(STALE_PERSISTED)     # what the boot loaded
    desired = p4(desired_text)
    result = plan(desired, live)   # first run: no record
    after = apply_result(live, result.result)
    content, same = persisted_form(STALE_PERSISTED, after, result, DEFAULT_PRESERVE, DEFAULT_PRESERVE_INTERFACES,
                                   DEFAULT_PRESERVE_SETS)
    assert same is False
    for word in ('DOCKER', 'docker0', '172.17.', 'DNAT'):
        assert word not in content, word
    assert '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT' in content


# ---- the record ---------------------------------------------------------------------------------

def test_record_text_round_trips_and_keeps_untouched_tables():
    first = record_text('ipv4', None, p4(STALE_PERSISTED), ['filter', 'nat'])
    assert first.startswith(RECORD_HEADER % 'ipv4')
    recorded = parse_record(first, 'ipv4')
    assert recorded == p4(STALE_PERSISTED)
    second = parse_record(record_text('ipv4', recorded, p4(OURS_NOW), ['filter']), 'ipv4')
    assert second.tables['filter'] == p4(OURS_NOW).tables['filter']
    assert second.tables['nat'] == p4(STALE_PERSISTED).tables['nat']


@pytest.mark.parametrize('text', [
    '',
    OURS_NOW,                                               # no header: a rules file, not a record
    (RECORD_HEADER % 'ipv6') + OURS_NOW,                    # the other family's
    (RECORD_HEADER % 'ipv4') + '*filter\n-A INPUT -j\nCOMMIT\n',
    (RECORD_HEADER % 'ipv4').replace('v1', 'v2') + OURS_NOW,
])
def test_parse_record_refuses_what_is_not_a_record(text):
    with pytest.raises(RecordError):
        parse_record(text, 'ipv4')
