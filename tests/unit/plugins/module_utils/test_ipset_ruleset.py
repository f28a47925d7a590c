# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sets a ruleset uses (ipset_model.referenced_sets, parse_headers, check_ruleset_sets,
declared_networks)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as model

SAVE = '''*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m set --match-set partners src -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -m set ! --match-set allow src -j DROP
-A INPUT -p tcp -m recent --set --name sshbf -j ACCEPT
-A INPUT -j SET --add-set seen src
-A INPUT -m set --match-set allow src -m comment --comment "the set allow again" -j ACCEPT
COMMIT
'''


def test_referenced_sets_names_the_first_rule():
    refs = model.referenced_sets(SAVE)
    assert sorted(refs) == ['allow', 'partners', 'seen']
    assert refs['allow'] == 'table filter: -A INPUT -m set ! --match-set allow src -j DROP'
    assert refs['partners'].startswith('table nat: -A PREROUTING')
    assert model.referenced_sets('*filter\n-A INPUT -m recent --set --name x\nCOMMIT\n') == {}


def test_parse_headers():
    text = ('Name: a\nType: hash:net\nRevision: 7\nHeader: family inet hashsize 1024 maxelem 65536\n\n'
            'Name: b6\nType: hash:ip\nHeader: family inet6 hashsize 1024 maxelem 10\n\n'
            'Name: l\nType: list:set\nHeader: size 8\n')
    assert model.parse_headers(text) == {'a': 'inet', 'b6': 'inet6', 'l': None}
    assert model.parse_headers('') == {}


def test_check_ruleset_sets():
    refs = {'a': 'r1', 'b': 'r2'}
    assert model.check_ruleset_sets(refs, 'ipv4', {'a': 'inet', 'b': None}, {}, False) == []
    assert model.check_ruleset_sets(refs, 'ipv4', {'a': 'inet'}, {'b': []}, True) == ['b']
    with pytest.raises(model.IpsetError) as info:
        model.check_ruleset_sets(refs, 'ipv4', {'a': 'inet'}, {'b': []}, False)
    assert 'the set b is declared (ipsets) but does not exist' in str(info.value)
    with pytest.raises(model.IpsetError) as info:
        model.check_ruleset_sets(refs, 'ipv6', {'a': 'inet'}, {}, True)
    msg = str(info.value)
    assert msg.startswith('refusing the ruleset, nothing was changed: ')
    assert 'the set a is of family inet, but this ipv6 ruleset uses it (r1)' in msg
    assert 'the set b does not exist and is not declared (ipsets)' in msg and '(rule r2)' in msg


def test_declared_networks():
    nets = model.declared_networks('a', ['10.0.0.0/8', '192.0.2.7', ' # comment', '', '198.51.100.1-198.51.100.2'], 'ipv4')
    assert nets == [ipaddress.ip_network(n) for n in ('10.0.0.0/8', '192.0.2.7/32', '198.51.100.1/32', '198.51.100.2/32')]
    assert model.declared_networks('a', ['2001:db8::/32'], 'ipv6') == [ipaddress.ip_network('2001:db8::/32')]
    # what the evaluator cannot model: the set's matches stay undecided
    assert model.declared_networks('a', ['2001:db8::/32'], 'ipv4') is None
    assert model.declared_networks('a', ['10.0.0.0/8 nomatch'], 'ipv4') is None
    assert model.declared_networks('a', ['10.0.0.1,tcp:22'], 'ipv4') is None
    assert model.declared_networks('a', [7], 'ipv4') is None
    assert model.declared_networks('a', [], 'ipv4') == []
