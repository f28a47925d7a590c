# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filter role_ipsets: declared sets -> one set per family, inventory groups expanded."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.filter import role_ipsets as mod
from ansible_collections.rampart.firewall.plugins.filter.role_ipsets import FilterModule, role_ipsets

GROUPS = {'web': ['web1', 'web2', 'web3'], 'empty': [], 'named': ['db1']}
HOSTVARS = {
    # facts gathered: global addresses of every interface, loopback and link-local left out
    'web1': {'ansible_host': '10.89.57.31',
             'ansible_facts': {'all_ipv4_addresses': ['10.89.57.31', '127.0.0.1', '169.254.0.9'],
                               'all_ipv6_addresses': ['fd89:57::31', 'fe80::1', '::1']}},
    # no facts: ansible_host
    'web2': {'ansible_host': 'fd89:57::32', 'ansible_facts': {}},
    # facts injected as top-level variables (inject_facts_as_vars)
    'web3': {'ansible_all_ipv4_addresses': ['10.89.57.33']},
    'db1': {'ansible_host': 'db1.example.invalid'},
}


def test_group_expanded_per_family():
    out = role_ipsets([{'name': 'web', 'members': [{'group': 'web'}, '192.0.2.0/24', '10.89.57.31/32']}],
                      GROUPS, HOSTVARS)
    assert out == [
        {'name': 'web', 'family': 'inet', 'type': 'hash:net', 'maxelem': 65536,
         'members': ['10.89.57.31', '10.89.57.33', '192.0.2.0/24']},
        {'name': 'web6', 'family': 'inet6', 'type': 'hash:net', 'maxelem': 65536,
         'members': ['fd89:57::31', 'fd89:57::32']},
    ]


def test_without_ipv6_and_options():
    out = role_ipsets([{'name': 'admins', 'type': 'hash:ip', 'maxelem': 16, 'members': ['192.0.2.7', '2001:db8::7']},
                       {'name': 'none'}], GROUPS, HOSTVARS, False)
    assert out == [{'name': 'admins', 'family': 'inet', 'type': 'hash:ip', 'maxelem': 16, 'members': ['192.0.2.7']},
                   {'name': 'none', 'family': 'inet', 'type': 'hash:net', 'maxelem': 65536, 'members': []}]


def test_empty_group_gives_empty_sets():
    out = role_ipsets([{'name': 'e', 'members': [{'group': 'empty'}]}], GROUPS, HOSTVARS)
    assert [s['members'] for s in out] == [[], []]


def test_name_resolved_on_the_controller(monkeypatch):
    monkeypatch.setattr(mod.socket, 'getaddrinfo', lambda name, *a: [
        (2, 1, 6, '', ('192.0.2.44', 0)), (10, 1, 6, '', ('2001:db8::44', 0, 0, 0))] if name == 'db1.example.invalid' else [])
    out = role_ipsets([{'name': 'db', 'members': [{'group': 'named'}]}], GROUPS, HOSTVARS)
    assert [s['members'] for s in out] == [['192.0.2.44'], ['2001:db8::44']]


@pytest.mark.parametrize('declared, message', [
    ('web', 'x_ipsets must be a list of sets'),
    ([['a']], "x_ipsets[0] must be a mapping"),
    ([{'name': 'a', 'member': []}], 'x_ipsets[0]: unknown key(s) member'),
    ([{'members': []}], 'x_ipsets[0].name must be 1 to 30 characters'),
    ([{'name': 'a' * 31}], 'x_ipsets[0].name must be 1 to 30 characters'),
    ([{'name': '-exist'}], 'x_ipsets[0].name must be'),
    ([{'name': 'a'}, {'name': 'a6'}], 'x_ipsets[1] (a6): the set name a6 is already taken by x_ipsets[0] (a)'),
    ([{'name': 'a', 'type': 'hash:ip,port'}], 'x_ipsets[0] (a).type must be one of hash:net, hash:ip'),
    ([{'name': 'a', 'maxelem': 0}], 'x_ipsets[0] (a).maxelem must be an integer'),
    ([{'name': 'a', 'members': '10.0.0.0/8'}], 'x_ipsets[0] (a).members must be a list'),
    ([{'name': 'a', 'members': ['10.0.0.5/8']}], "x_ipsets[0] (a).members[0]: '10.0.0.5/8' is not an IPv4 or IPv6"),
    ([{'name': 'a', 'members': ['0.0.0.0/0']}], 'a set cannot hold a /0 network'),
    ([{'name': 'a', 'members': ['evil\x1b[0m']}], "members[0]: 'evil\\x1b[0m' is not"),
    ([{'name': 'a', 'type': 'hash:ip', 'members': ['10.0.0.0/8']}], 'a hash:ip set holds addresses'),
    ([{'name': 'a', 'members': [{'group': 'nope'}]}], 'x_ipsets[0] (a).members[0]: there is no inventory group nope'),
    ([{'name': 'a', 'members': [{'grp': 'web'}]}], 'must be an address, a network or {group: NAME, address_from: FROM}'),
    ([{'name': 'a', 'members': [{'group': 'web', 'address_from': 'dns'}]}],
     'x_ipsets[0] (a).members[0].address_from must be one of auto, ansible_host, facts, {fact: NAME} or {var: NAME}, not dns'),
    ([{'name': 'a', 'members': [{'group': 'web', 'address_from': {'fact': 'a.b'}}]}], '.address_from must be one of'),
    ([{'name': 'a', 'members': [{'group': 'web', 'address_from': {'var': 'x', 'fact': 'y'}}]}], '.address_from must be'),
    ([{'name': 'a', 'members': [7]}], 'must be an address, a network or {group: NAME}'),
    ([{'name': 'a', 'maxelem': 1, 'members': [{'group': 'web'}]}], '2 IPv4 members, more than maxelem 1'),
])
def test_bad_declarations_name_the_variable_and_value(declared, message):
    with pytest.raises(AnsibleFilterError) as info:
        role_ipsets(declared, GROUPS, HOSTVARS, True, 'x_ipsets')
    assert message in str(info.value)


def test_host_without_address(monkeypatch):
    def no_answer(*args):
        raise mod.socket.gaierror('no')
    monkeypatch.setattr(mod.socket, 'getaddrinfo', no_answer)
    with pytest.raises(AnsibleFilterError) as info:
        role_ipsets([{'name': 'db', 'members': [{'group': 'named'}]}], GROUPS, HOSTVARS, True, 'bastion_ipsets')
    assert ('bastion_ipsets[0] (db).members[0]: the host db1 of the group named has no address (address_from: auto): '
            'no facts were gathered for it and its ansible_host (db1.example.invalid)') in str(info.value)


def test_registered():
    assert FilterModule().filters() == {'role_ipsets': role_ipsets}


# ---- address_from (issue 23): which address represents a member host -----------------------------------

# a cloud host behind 1:1 NAT: reached at its public address, its facts show the private one and Docker's bridge
# (documentation prefixes count as private: the public addresses here are outside them)
CLOUD = {
    'vm1': {'ansible_host': '185.199.108.10',
            'ansible_facts': {'default_ipv4': {'address': '10.0.0.5', 'interface': 'ens3'},
                              'all_ipv4_addresses': ['10.0.0.5', '172.17.0.1'],
                              'all_ipv6_addresses': ['2001:db8:1::5', 'fe80::5'],
                              'default_ipv6': {'address': '2001:db8:1::5'}}},
    'vm2': {'ansible_host': 'vm2.example.invalid',
            'ansible_facts': {'default_ipv4': {'address': '10.0.0.6'}, 'all_ipv4_addresses': ['10.0.0.6', '172.17.0.1']}},
    'vm3': {'ansible_host': '10.0.0.7', 'rampart_firewall_address': ['198.51.100.7', '2001:db8:7::7'],
            'ansible_facts': {'all_ipv4_addresses': ['10.0.0.7']}, 'public_ip': '198.51.100.77',
            'ec2_public': {'address': '198.51.100.70'}},
    'lan1': {'ansible_facts': {'default_ipv4': {'address': '192.168.1.20'}, 'all_ipv4_addresses': ['192.168.1.20', '172.17.0.1']}},
    'target': {'ansible_host': '185.199.109.1'},
    'lantarget': {'ansible_host': '192.168.1.1'},
}
CLOUD_GROUPS = {'cloud': ['vm1', 'vm2', 'vm3'], 'lan': ['lan1'], 'vm1': ['vm1'], 'vm3': ['vm3']}


@pytest.fixture
def resolver(monkeypatch):
    answers = {'vm2.example.invalid': [(2, 1, 6, '', ('203.0.113.20', 0))]}
    seen = []

    def getaddrinfo(name, *args):
        seen.append(name)
        return answers.get(name, [])
    monkeypatch.setattr(mod.socket, 'getaddrinfo', getaddrinfo)
    return seen


def members(group, address_from=None, hosts=None, target=None):
    hosts = CLOUD if hosts is None else hosts
    member = {'group': group}
    if address_from is not None:
        member['address_from'] = address_from
    out = role_ipsets([{'name': 's', 'members': [member]}], CLOUD_GROUPS, hosts, True, 'x_ipsets', target)
    return [s['members'] for s in out]


def test_auto_takes_what_a_peer_sees(resolver):
    """ansible_host (the public address of 1:1 NAT; a name resolved even with facts), per family; the
    default route's address of the facts where ansible_host says nothing of the family; the explicit variable
    over everything; never Docker's bridge."""
    assert members('vm1') == [['185.199.108.10'], ['2001:db8:1::5']]
    assert members('vm3') == [['198.51.100.7'], ['2001:db8:7::7']]
    assert members('cloud') == [['185.199.108.10', '198.51.100.7', '203.0.113.20'], ['2001:db8:1::5', '2001:db8:7::7']]
    assert 'vm2.example.invalid' in resolver
    assert members('lan') == [['192.168.1.20'], []]


def test_address_from_choices(resolver):
    assert members('vm1', 'ansible_host') == [['185.199.108.10'], []]
    assert members('vm1', 'facts') == [['10.0.0.5', '172.17.0.1'], ['2001:db8:1::5']]
    assert members('vm1', {'fact': 'default_ipv4'}) == [['10.0.0.5'], []]
    assert members('vm3', {'var': 'public_ip'}) == [['198.51.100.77'], []]
    assert members('vm3', {'var': 'ec2_public'}) == [['198.51.100.70'], []]
    assert members('cloud', 'ansible_host') == [['10.0.0.7', '185.199.108.10', '203.0.113.20'], []]


def test_a_chosen_source_without_address_fails_naming_it(resolver):
    with pytest.raises(AnsibleFilterError) as info:
        members('lan', 'ansible_host')
    assert 'x_ipsets[0] (s).members[0]: the host lan1 of the group lan has no address (address_from: ansible_host)' in str(info.value)
    with pytest.raises(AnsibleFilterError) as info:
        members('vm1', {'var': 'nope'})
    assert "has no address (address_from: {'var': 'nope'})" in str(info.value)


def test_warning_when_a_member_is_only_private_and_the_target_public(resolver, monkeypatch):
    warned = []
    monkeypatch.setattr(mod.display, 'warning', warned.append)
    members('lan', target='target')
    assert len(warned) == 1
    assert warned[0].startswith('x_ipsets[0] (s).members[0]: the host lan1 of the group lan has only private addresses '
                                '(192.168.1.20) while target is reached at the public address 185.199.109.1')
    # no warning: a LAN target, a public member, no target given
    del warned[:]
    members('lan', target='lantarget')
    members('vm1', target='target')
    members('lan')
    assert warned == []
    members('vm1', {'fact': 'default_ipv4'}, target='target')
    assert len(warned) == 1 and 'host vm1' in warned[0] and '(10.0.0.5)' in warned[0]
