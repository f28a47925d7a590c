# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the iptables_chain module (fake kernel from test_iptables_rule)."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
from ansible_collections.rampart.firewall.plugins.modules import iptables_chain

from test_iptables_rule import EMPTY, FOREIGN, SSH, kernel, run_module, table_text  # noqa: F401 pylint: disable=unused-import


def run(args, check_mode=False, diff=False):
    return run_module(iptables_chain, args, check_mode, diff)


def chains(kernel, family='ipv4', table='filter'):
    return list(parse(kernel.live[family], family).table(table).chains)


def test_create_then_nothing_to_do(kernel):
    result = run({'chain': 'fw-open'})
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n:fw-open - [0:0]\nCOMMIT\n']
    assert kernel.tested == kernel.restored
    assert kernel.restore_calls == [['/usr/sbin/iptables-restore', '-w', '10', '--test', '--noflush'],
                                    ['/usr/sbin/iptables-restore', '-w', '10', '--noflush']]
    assert result['before'] == {'ipv4': '*filter\nCOMMIT\n'}
    assert result['after'] == {'ipv4': '*filter\n:fw-open - [0:0]\nCOMMIT\n'}
    assert 'fw-open' in chains(kernel)
    kernel.calls[:] = []
    assert run({'chain': 'fw-open'})['changed'] is False
    assert kernel.restore_calls == []


def test_present_leaves_the_rules_of_an_existing_chain_alone(kernel):
    kernel.live['ipv4'] = table_text([('fw-open', SSH)], chains=['fw-open'])
    result = run({'chain': 'fw-open', 'state': 'present'})
    assert result['changed'] is False
    assert kernel.restore_calls == []          # declaring it would flush it: nothing is loaded


def test_both_families_and_other_tables(kernel):
    result = run({'name': 'port-forwards', 'table': 'nat', 'family': 'both'})
    assert result['changed'] is True
    assert kernel.restored == ['*nat\n:port-forwards - [0:0]\nCOMMIT\n'] * 2
    assert 'port-forwards' in chains(kernel, 'ipv6', 'nat')
    assert run({'name': 'port-forwards', 'table': 'nat', 'family': 'both'})['changed'] is False


def test_flushed(kernel):
    kernel.live['ipv4'] = table_text([('web', SSH), ('INPUT', '-j web')], chains=['web'])
    result = run({'chain': 'web', 'state': 'flushed'}, diff=True)
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-F web\nCOMMIT\n']
    assert kernel.rules(chain='web') == []
    assert kernel.rules(chain='INPUT') == ['-j web']
    assert result['diff'][0]['before'] == '*filter\n:web - [0:0]\n-A web %s\nCOMMIT\n' % SSH
    assert result['diff'][0]['after'] == '*filter\n:web - [0:0]\nCOMMIT\n'
    assert run({'chain': 'web', 'state': 'flushed'})['changed'] is False
    # flushed also creates
    assert run({'chain': 'new', 'state': 'flushed'})['changed'] is True
    assert kernel.restored[-1] == '*filter\n:new - [0:0]\nCOMMIT\n'


def test_absent(kernel):
    kernel.live['ipv4'] = table_text([('web', SSH)], chains=['web'])
    result = run({'chain': 'web', 'state': 'absent'})
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-F web\n-X web\nCOMMIT\n']
    assert result['references'] == {'ipv4': []}
    assert 'web' not in chains(kernel)
    assert result['after'] == {'ipv4': '*filter\nCOMMIT\n'}
    assert run({'chain': 'web', 'state': 'absent'})['changed'] is False


def test_absent_with_references_is_an_error_listing_them(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', '-p tcp -j web'), ('FORWARD', '-g web'), ('INPUT', SSH)],
                                     chains=['web'])
    result = run({'chain': 'web', 'state': 'absent'})
    assert result['failed'] is True
    assert result['changed'] is False
    assert result['field'] == 'chain'
    assert '-A INPUT -p tcp -j web' in result['msg'] and '-A FORWARD -g web' in result['msg']
    assert 'force' in result['msg']
    assert kernel.restore_calls == []


def test_absent_with_force_removes_the_references(kernel):
    before = table_text([('INPUT', '-p tcp -j web'), ('INPUT', SSH), ('INPUT', '-p udp -j web'), ('FORWARD', '-g web'),
                         ('web', '-j RETURN')], chains=['web'])
    kernel.live['ipv4'] = before
    result = run({'chain': 'web', 'state': 'absent', 'force': True}, check_mode=True)
    assert result['changed'] is True
    assert kernel.restored == []
    payload = '*filter\n-D INPUT -p udp -j web\n-D INPUT -p tcp -j web\n-D FORWARD -g web\n-F web\n-X web\nCOMMIT\n'
    assert kernel.tested == [payload]
    assert result['references'] == {'ipv4': ['-A INPUT -p tcp -j web', '-A INPUT -p udp -j web', '-A FORWARD -g web']}
    result = run({'chain': 'web', 'state': 'absent', 'force': True})
    assert kernel.restored == [payload]
    assert kernel.rules() == [SSH]
    assert kernel.rules(chain='FORWARD') == []
    assert result['before']['ipv4'].startswith('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:web - [0:0]\n')
    assert result['after'] == {'ipv4': '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT %s\nCOMMIT\n' % SSH}


def test_force_removes_references_from_foreign_chains_too(kernel):
    kernel.live['ipv4'] = FOREIGN
    result = run({'chain': 'f2b-sshd', 'state': 'absent', 'force': True})
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-D INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n-F f2b-sshd\n-X f2b-sshd\nCOMMIT\n']
    live = parse(kernel.live['ipv4'])
    foreign = parse(FOREIGN)
    assert live.tables['nat'] == foreign.tables['nat']
    assert live.tables['filter'].chains['DOCKER-USER'] == foreign.tables['filter'].chains['DOCKER-USER']


def test_foreign_chains_untouched_by_create(kernel):
    kernel.live['ipv4'] = FOREIGN
    assert run({'chain': 'mine'})['changed'] is True
    live = parse(kernel.live['ipv4'])
    foreign = parse(FOREIGN)
    for name, chain in foreign.tables['filter'].chains.items():
        assert live.tables['filter'].chains[name] == chain


BAD = [
    ('builtin', {'chain': 'INPUT'}, 'chain', 'INPUT'),
    ('builtin-of-table', {'chain': 'PREROUTING', 'table': 'nat'}, 'chain', 'PREROUTING'),
    ('too-long', {'chain': 'x' * 29}, 'chain', 'x' * 29),
    ('blank', {'chain': 'my chain'}, 'chain', 'my chain'),
    ('dash', {'chain': '-x'}, 'chain', '-x'),
    ('verdict', {'chain': 'ACCEPT'}, 'chain', 'ACCEPT'),
    ('wait', {'chain': 'x', 'wait': -2}, 'wait', -2),
    # issue 10: iptables-restore cut ':web\x00x - [0:0]' at the NUL and failed with 'line 2 policy invalid'
    ('nul', {'chain': 'web\x00x'}, 'chain', 'web\x00x'),
    ('nul-absent', {'chain': 'web\x00x', 'state': 'absent'}, 'chain', 'web\x00x'),
    ('nul-by-alias', {'name': 'web\x00'}, 'chain', 'web\x00'),
    ('escape', {'chain': 'w\x1b[31m'}, 'chain', 'w\x1b[31m'),
    ('c1', {'chain': 'web\x9b'}, 'chain', 'web\x9b'),
    ('too-long-in-bytes', {'chain': 'é' * 15}, 'chain', 'é' * 15),
]


@pytest.mark.parametrize('case', BAD, ids=[c[0] for c in BAD])
def test_bad_input_changes_nothing(kernel, case):
    name, args, field, value = case
    kernel.live['ipv4'] = FOREIGN
    result = run(args)
    assert result['failed'] is True
    assert result['changed'] is False
    assert result['field'] == field
    assert result['value'] == value
    if isinstance(value, str):
        assert repr(value) in result['msg'], result['msg']
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in result['msg']), repr(result['msg'])
    assert kernel.calls == []
    assert kernel.live['ipv4'] == FOREIGN


@pytest.mark.parametrize('args,text', [
    ({'chain': 'x', 'state': 'gone'}, 'gone'),
    ({'chain': 'x', 'table': 'filterx'}, 'filterx'),
    ({}, 'chain'),
])
def test_argument_spec(kernel, args, text):
    result = run(args)
    assert result['failed'] is True
    assert text in result['msg']
    assert kernel.calls == []


def test_restore_failure(kernel):
    kernel.live['ipv4'] = table_text([], chains=['web'])
    kernel.restore_result = (4, '', 'iptables-restore v1.8.9 (nf_tables): \nline 2: CHAIN_DEL failed (Device or resource '
                                    'busy): chain web\n')
    result = run({'chain': 'web', 'state': 'absent'})
    assert result['failed'] is True
    assert result['line'] == '-X web'
    assert result['lineno'] == 2
    assert result['changed'] is False
