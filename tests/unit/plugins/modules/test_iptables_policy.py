# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the iptables_policy module (fake kernel from test_iptables_rule)."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
from ansible_collections.rampart.firewall.plugins.modules import iptables_policy

from test_iptables_rule import EMPTY, FOREIGN, SSH, kernel, run_module, table_text  # noqa: F401 pylint: disable=unused-import


def run(args, check_mode=False, diff=False):
    return run_module(iptables_policy, args, check_mode, diff)


def policy(kernel, chain='INPUT', family='ipv4', table='filter'):
    return parse(kernel.live[family], family).table(table).chains[chain].policy


def test_set_then_nothing_to_do(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH)])
    result = run({'chain': 'INPUT', 'policy': 'DROP'}, diff=True)
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n:INPUT DROP [0:0]\nCOMMIT\n']
    assert kernel.restore_calls == [['/usr/sbin/iptables-restore', '-w', '10', '--test', '--noflush'],
                                    ['/usr/sbin/iptables-restore', '-w', '10', '--noflush']]
    assert policy(kernel) == 'DROP'
    assert kernel.rules() == [SSH]               # the rules stay
    assert result['before'] == {'ipv4': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT %s\nCOMMIT\n' % SSH}
    assert result['after'] == {'ipv4': '*filter\n:INPUT DROP [0:0]\n-A INPUT %s\nCOMMIT\n' % SSH}
    assert result['diff'][0]['before_header'] == 'ipv4 table filter (live)'
    kernel.calls[:] = []
    # idempotent: no restore and no change the second time (ansible.builtin.iptables reports one every time)
    again = run({'chain': 'INPUT', 'policy': 'DROP'})
    assert again['changed'] is False
    assert again['payload'] == {'ipv4': ''}
    assert kernel.restore_calls == []


def test_accept_on_a_table_iptables_save_does_not_print_is_nothing_to_do(kernel):
    result = run({'chain': 'POSTROUTING', 'table': 'nat', 'policy': 'ACCEPT'})
    assert result['changed'] is False
    assert kernel.restore_calls == []
    result = run({'chain': 'POSTROUTING', 'table': 'nat', 'policy': 'DROP'})
    assert kernel.restored == ['*nat\n:POSTROUTING DROP [0:0]\nCOMMIT\n']


def test_both_families(kernel):
    kernel.live['ipv6'] = table_text([], policies={'FORWARD': 'DROP'})
    result = run({'chain': 'FORWARD', 'policy': 'DROP', 'family': 'both'})
    assert result['changed'] is True
    assert result['payload'] == {'ipv4': '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n', 'ipv6': ''}
    assert [c[0] for c in kernel.restore_calls] == ['/usr/sbin/iptables-restore'] * 2
    assert policy(kernel, 'FORWARD', 'ipv4') == policy(kernel, 'FORWARD', 'ipv6') == 'DROP'


def test_check_mode(kernel):
    result = run({'chain': 'OUTPUT', 'policy': 'DROP'}, check_mode=True)
    assert result['changed'] is True
    assert kernel.tested == ['*filter\n:OUTPUT DROP [0:0]\nCOMMIT\n']
    assert kernel.restored == []
    assert policy(kernel, 'OUTPUT') == 'ACCEPT'


def test_foreign_chains_untouched(kernel):
    kernel.live['ipv4'] = FOREIGN
    run({'chain': 'FORWARD', 'policy': 'DROP'})
    live, foreign = parse(kernel.live['ipv4']), parse(FOREIGN)
    assert live.tables['nat'] == foreign.tables['nat']
    for name, chain in foreign.tables['filter'].chains.items():
        assert live.tables['filter'].chains[name].keys() == chain.keys()


BAD = [
    ('user-chain', {'chain': 'fw-open', 'policy': 'DROP'}, 'fw-open'),
    ('chain-of-other-table', {'chain': 'PREROUTING', 'policy': 'DROP'}, 'PREROUTING'),
    ('lower-case', {'chain': 'input', 'policy': 'DROP'}, 'input'),
    # issue 10: control characters are named, escaped, before anything runs
    ('nul', {'chain': 'INPUT\x00', 'policy': 'DROP'}, 'INPUT\x00'),
    ('escape', {'chain': '\x1b[2JINPUT', 'policy': 'DROP'}, '\x1b[2JINPUT'),
]


@pytest.mark.parametrize('case', BAD, ids=[c[0] for c in BAD])
def test_bad_chain(kernel, case):
    name, args, value = case
    result = run(args)
    assert result['failed'] is True
    assert result['changed'] is False
    assert result['field'] == 'chain'
    assert result['value'] == value
    assert repr(value) in result['msg']
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in result['msg']), repr(result['msg'])
    assert kernel.calls == []


@pytest.mark.parametrize('args,text', [
    ({'chain': 'INPUT', 'policy': 'REJECT'}, 'REJECT'),
    ({'chain': 'INPUT', 'policy': 'drop'}, 'drop'),
    ({'chain': 'INPUT'}, 'policy'),
    ({'chain': 'INPUT', 'policy': 'DROP', 'family': 'inet'}, 'inet'),
])
def test_argument_spec(kernel, args, text):
    result = run(args)
    assert result['failed'] is True
    assert text in result['msg']
    assert kernel.calls == []


def test_verification_failure(kernel):
    kernel.after_restore = EMPTY
    result = run({'chain': 'INPUT', 'policy': 'DROP'})
    assert result['failed'] is True
    assert result['changed'] is True
    assert 'differ from the prediction' in result['msg']


# ---- the lockout check (the applier's, the same as iptables_ruleset's) ---------------------------

SESSION = '198.51.100.7 50000 203.0.113.10 22'


@pytest.mark.parametrize('check_mode', [False, True])
def test_drop_policy_that_cuts_the_session_is_refused(kernel, check_mode):
    kernel.live['ipv4'] = table_text([('INPUT', '-p tcp -m tcp --dport 80 -j ACCEPT')])
    before = kernel.live['ipv4']
    result = run({'chain': 'INPUT', 'policy': 'DROP', 'ssh_connection': SESSION}, check_mode=check_mode)
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'].startswith('refusing to apply: ') and 'Nothing was changed' in result['msg']
    assert result['lockout']['status'] == 'unsafe'
    assert kernel.restored == [] and kernel.live['ipv4'] == before


def test_drop_policy_behind_an_ssh_accept_passes_the_check(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH)])
    result = run({'chain': 'INPUT', 'policy': 'DROP', 'ssh_connection': SESSION})
    assert result['changed'] is True
    assert result['lockout'] == {'ipv4': dict(result['lockout']['ipv4'], status='safe', safe=True)}
    assert policy(kernel) == 'DROP'


def test_lockout_check_off_or_no_session(kernel):
    kernel.live['ipv4'] = table_text([])
    result = run({'chain': 'INPUT', 'policy': 'DROP', 'ssh_connection': ''}, check_mode=True)
    assert result['lockout'] == {'ipv4': {'status': 'skipped', 'reason': result['lockout']['ipv4']['reason']}}
    result = run({'chain': 'INPUT', 'policy': 'DROP', 'ssh_connection': SESSION, 'lockout_check': False}, check_mode=True)
    assert result['lockout'] == {'ipv4': {'status': 'disabled'}}
    result = run({'chain': 'INPUT', 'policy': 'DROP', 'ssh_connection': 'nonsense'}, check_mode=True)
    assert result['failed'] is True and result['field'] == 'ssh_connection'
