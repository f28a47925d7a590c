# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lockout preflight with ipset contents given by the caller (the optional ``sets`` parameter)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import (
    Packet,
    compile_sets,
    evaluate,
    preflight,
)

from test_iptables_lockout import CLIENT, CLIENT6, SERVER, SERVER6, conn, filt


def new_in(rs, sets=None, src=CLIENT, dst=SERVER):
    return evaluate(rs, Packet('INPUT', src, dst, 'tcp', 50000, 22, 'NEW', {'SYN'}), sets=sets)


ALLOW = ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
         '-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT']
BLOCK = ['-A INPUT -m set --match-set abuse src -j DROP', '-A INPUT -j ACCEPT']


def test_default_is_unchanged_undecided():
    v = new_in(filt(ALLOW))
    assert v.verdict == 'UNDECIDED'
    assert v.undecidable[0]['reason'] == '-m set depends on the contents of an ipset'
    res = preflight(filt(ALLOW), conn())
    assert res['safe'] is None and 'admins' in res['message']
    # a set that is not given stays undecidable
    assert new_in(filt(ALLOW), sets={'other': ['10.0.0.0/8']}).verdict == 'UNDECIDED'


def test_allow_list_decided():
    assert new_in(filt(ALLOW), sets={'admins': [CLIENT]}).verdict == 'ACCEPT'
    assert new_in(filt(ALLOW), sets={'admins': ['198.51.100.0/24']}).verdict == 'ACCEPT'
    v = new_in(filt(ALLOW), sets={'admins': ['192.0.2.0/24', '2001:db8:100::/48']})
    assert v.verdict == 'DROP' and v.rule_text == ':INPUT DROP (policy)'
    assert preflight(filt(ALLOW), conn(), sets={'admins': ['198.51.100.7/32']})['safe'] is True
    res = preflight(filt(ALLOW), conn(), sets={'admins': ['192.0.2.1']})
    assert res['safe'] is False and "policy ':INPUT DROP (policy)'" in res['message']
    # an empty set matches nothing
    assert new_in(filt(ALLOW), sets={'admins': []}).verdict == 'DROP'


def test_block_list_decided_and_named():
    res = preflight(filt(BLOCK, inp='ACCEPT'), conn(), sets={'abuse': ['198.51.100.0/25']})
    assert res['safe'] is False
    assert "'-A INPUT -m set --match-set abuse src -j DROP' (line 5)" in res['message']
    assert preflight(filt(BLOCK, inp='ACCEPT'), conn(), sets={'abuse': ['198.51.100.128/25']})['safe'] is True


def test_negation_dst_and_ipv6():
    rules = ['-A INPUT -m set ! --match-set here dst -j DROP', '-A INPUT -j ACCEPT']
    assert new_in(filt(rules), sets={'here': [SERVER]}).verdict == 'ACCEPT'
    assert new_in(filt(rules), sets={'here': ['10.0.0.0/8']}).verdict == 'DROP'
    rs6 = filt(ALLOW, family='ipv6')
    assert preflight(rs6, conn(family='ipv6'), sets={'admins': ['2001:db8:100::/48']})['safe'] is True
    assert preflight(rs6, conn(family='ipv6'), sets={'admins': [CLIENT]})['safe'] is False
    v = evaluate(rs6, Packet('INPUT', CLIENT6, SERVER6, 'tcp', 50000, 22, 'NEW'),
                 sets={'admins': [ipaddress.ip_network('2001:db8:100::7/128')]})
    assert v.verdict == 'ACCEPT'


@pytest.mark.parametrize('rule', [
    '-A INPUT -m set --match-set admins src,dst -j ACCEPT',               # two dimensions (hash:ip,port)
    '-A INPUT -m set --match-set admins src --return-nomatch -j ACCEPT',  # other options
    '-A INPUT -m set --match-set admins src ! --update-counters -j ACCEPT',
])
def test_other_set_matches_stay_undecided(rule):
    assert new_in(filt([rule]), sets={'admins': [CLIENT]}).verdict == 'UNDECIDED'


def test_bad_contents_raise():
    with pytest.raises(ValueError, match="the set 'admins' holds 'nope'"):
        preflight(filt(ALLOW), conn(), sets={'admins': ['nope']})
    with pytest.raises(ValueError):
        compile_sets({'admins': '10.0.0.0/8'})
    assert compile_sets(None) is None
    assert compile_sets({'a': ['10.0.0.5/8']}) == {'a': {'ipv4': {8: {int(ipaddress.ip_address('10.0.0.0'))}}}}


# issue 22: a rule with a side effect on a set (or on rate state) keeps the check undecided
SIDE_EFFECT_DEL = ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
                   '-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j SET --del-set admins src',
                   '-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT']


def test_set_changed_by_del_set_is_not_decided_on_known_contents():
    v = new_in(filt(SIDE_EFFECT_DEL), sets={'admins': [CLIENT]})
    assert v.verdict == 'UNDECIDED'
    assert any("the set 'admins' is changed by" in u['reason'] and '--del-set admins src' in u['reason']
               for u in v.undecidable)
    res = preflight(filt(SIDE_EFFECT_DEL), conn(), sets={'admins': [CLIENT]})
    assert res['safe'] is None and 'admins' in res['message']


@pytest.mark.parametrize('target', ['-j SET --add-set admins src', '-j SET --add-set admins src --exist --timeout 60',
                                    '-j SET --del-set admins src,dst', '-j SET --map-set admins src --map-mark'])
def test_set_changed_anywhere_in_the_table_stays_undecided(target):
    # the changing rule sits in a chain the session's packets never reach: an earlier packet of another
    # connection may still have changed the set
    rules = ['-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT',
             '-A FORWARD -s 10.9.0.0/16 %s' % target]
    assert new_in(filt(rules), sets={'admins': ['192.0.2.0/24']}).verdict == 'UNDECIDED'
    assert new_in(filt(rules), sets={'admins': [CLIENT]}).verdict == 'UNDECIDED'
    # a set the table does not change is still decided
    other = ['-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT',
             '-A FORWARD -s 10.9.0.0/16 -j SET --add-set other src']
    assert new_in(filt(other), sets={'admins': [CLIENT], 'other': []}).verdict == 'ACCEPT'


def test_unreadable_set_target_makes_every_set_undecided():
    rules = ['-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT', '-A FORWARD -j SET']
    assert new_in(filt(rules), sets={'admins': [CLIENT]}).verdict == 'UNDECIDED'


@pytest.mark.parametrize('rules', [
    ['-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name ssh --rsource',
     '-A INPUT -p tcp -m tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name ssh --rsource -j DROP',
     '-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT'],
    ['-A INPUT -p tcp -m tcp --dport 22 -m recent --remove --name ssh --rsource -j DROP',
     '-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT'],
    ['-A INPUT -p tcp -m tcp --dport 22 -m hashlimit --hashlimit-above 1/min --hashlimit-mode srcip '
     '--hashlimit-name ssh -j DROP',
     '-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT'],
])
def test_recent_and_hashlimit_on_the_path_stay_undecided_with_known_sets(rules):
    v = new_in(filt(rules), sets={'admins': [CLIENT]})
    assert v.verdict == 'UNDECIDED'
    assert preflight(filt(rules), conn(), sets={'admins': [CLIENT]})['safe'] is None
