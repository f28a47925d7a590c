# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin's probe step (confirm_probes, hold_window; its docstring, step 5). The module and
iptables_confirm are scripted fakes (test_iptables_ruleset_action.make); the probes are real TCP
connects to a listener on 127.0.0.2 (open) and to a closed port of 127.0.0.3 (refused)."""

from __future__ import annotations

import socket

import pytest

from test_iptables_ruleset_action import CONFIRM, MODULE, MULTI, WINDOW, applied, clock, family, make  # noqa: F401 pylint: disable=unused-import


@pytest.fixture
def ports():
    """(open port on 127.0.0.2, closed port on 127.0.0.3)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.2', 0))
    listener.listen(8)
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(('127.0.0.3', 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    yield listener.getsockname()[1], closed_port
    listener.close()


TASK_VARS = {'inventory_hostname': 'db', 'ansible_host': '127.0.0.2'}


def test_probes_hold_then_the_window_is_confirmed(clock, ports):
    open_port, closed_port = ports
    probes = [{'port': open_port}, {'port': closed_port, 'host': '127.0.0.3', 'expect': 'closed'}]
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW, 'persisted': '/etc/iptables/rules.v4', 'persist_pending': True}),
               (CONFIRM, applied()),
               (CONFIRM, {'changed': True, 'confirmed': 'confirmed', 'persisted': '/etc/iptables/rules.v4',
                          'persist_changed': True})]
    plugin, calls, connection, script = make({'content': 'X', 'confirm_probes': probes}, answers, transport='ssh')
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert script == [] and [call[0] for call in calls] == [MODULE, CONFIRM, CONFIRM]
    assert calls[0][1]['confirm_probes'] == probes, 'the module gets the option as given (it checks it)'
    assert calls[2][1] == {'token': WINDOW['token'], 'confirm': True}
    seen = [(p['host'], p['observed'], p['ok']) for p in result['probes']]
    assert seen == [('127.0.0.2', 'open', True), ('127.0.0.3', 'refused', True)]
    assert result['probes_failing'] == [] and result['confirmed'] == 'confirmed' and not result.get('failed')
    assert result['persist_changed'] is True


def test_a_failing_probe_is_not_confirmed_the_timer_reverts_and_the_task_names_it(clock, ports):
    open_port, closed_port = ports
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW, 'tables': ['filter'], 'persisted': '/etc/iptables/rules.v4',
                         'persist_changed': True, 'copy_changed': True}),
               (CONFIRM, applied()),
               # after the deadline: only looked at (confirm=false), never confirmed
               (CONFIRM, {'failed': True, 'changed': True, 'outcome': 'reverted', 'msg': 'not confirmed',
                          'revert': {'rc': 0, 'tables': ['filter']}})]
    plugin, calls, connection, script = make({'content': 'X', 'confirm_probes': [{'port': open_port},
                                                                                 {'port': closed_port}]}, answers)
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert script == []
    assert [call[1]['confirm'] for call in calls[1:]] == [False, False], 'never confirm=true'
    assert clock.now >= 1000 + WINDOW['timeout'], 'waited for the timer'
    assert result['failed'] is True and result['confirmed'] == 'reverted'
    expected = '127.0.0.2:%d/tcp from controller: expected open, observed refused' % closed_port
    assert result['probes_failing'] == [expected + ' (connection refused (reset))']
    assert '1 probe(s) did not hold' in result['msg'] and expected in result['msg']
    assert 'cut the controller off' not in result['msg']
    assert result['persisted'] is None and result['persist_changed'] is False and result['copy_changed'] is False
    assert result['revert'] == {'rc': 0, 'tables': ['filter']}


def test_a_failing_probe_with_both_families(clock, ports):
    answers = [(MODULE, {'changed': True, 'rollback': MULTI, 'families': {'ipv4': family('v4'), 'ipv6': family('v6')}}),
               (CONFIRM, applied()),
               (CONFIRM, {'failed': True, 'changed': True, 'outcome': 'reverted', 'msg': 'ipv4: not confirmed',
                          'windows': [{'family': 'ipv4', 'outcome': 'reverted'}, {'family': 'ipv6', 'outcome': 'reverted'}]})]
    plugin, calls, connection, script = make({'rulesets': {'ipv4': 'A', 'ipv6': 'B'},
                                              'confirm_probes': [{'port': ports[1]}]}, answers)
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert [call[1]['confirm'] for call in calls[1:]] == [False, False]
    assert result['failed'] is True and 'did not hold' in result['msg']
    for name in ('ipv4', 'ipv6'):
        entry = result['families'][name]
        assert entry['confirmed'] == 'reverted' and entry['persisted'] is None and entry['persist_changed'] is False


def test_hold_window_returns_live_and_unconfirmed(clock, ports):
    answers = [(MODULE, {'changed': True, 'rollback': MULTI, 'families': {'ipv4': family('v4'), 'ipv6': family('v6')}}),
               (CONFIRM, applied())]
    plugin, calls, connection, script = make({'rulesets': {'ipv4': 'A', 'ipv6': 'B'}, 'hold_window': True,
                                              'confirm_probes': [{'port': ports[0]}]}, answers, transport='ssh')
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert script == [] and [call[0] for call in calls] == [MODULE, CONFIRM]
    assert result['confirmed'] == 'held' and result['changed'] is True and not result.get('failed')
    assert result['rollback']['tokens'] == MULTI['tokens'], 'the play confirms with these'
    assert result['families']['ipv4']['confirmed'] == 'held' and result['families']['ipv4']['persisted'] is None
    assert result['probes'][0]['ok'] is True


def test_hold_window_single_family_reports_nothing_persisted(clock):
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW, 'persisted': '/etc/iptables/rules.v4', 'persist_changed': True}),
               (CONFIRM, applied())]
    plugin, calls, connection, script = make({'content': 'X', 'hold_window': True}, answers)
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert result['confirmed'] == 'held' and result['persisted'] is None and result['persist_changed'] is False
    assert 'probes' not in result


def test_hold_window_with_a_failing_probe_is_reverted_not_held(clock, ports):
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW}), (CONFIRM, applied()),
               (CONFIRM, {'failed': True, 'changed': True, 'outcome': 'reverted', 'msg': 'not confirmed', 'revert': {}})]
    plugin, calls, connection, script = make({'content': 'X', 'hold_window': True, 'confirm_probes': [{'port': ports[1]}]},
                                             answers)
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert result['failed'] is True and result['confirmed'] == 'reverted'


def test_no_change_runs_no_probe(clock, ports):
    plugin, calls, connection, script = make({'content': 'X', 'confirm_probes': [{'port': ports[1]}]},
                                             [(MODULE, {'changed': False})])
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert [call[0] for call in calls] == [MODULE] and 'probes' not in result and not result.get('warnings')


def test_check_mode_reports_the_current_state_with_a_warning(clock, ports):
    plugin, calls, connection, script = make({'content': 'X', 'confirm_probes': [{'port': ports[0]}, {'port': ports[1]}]},
                                             [(MODULE, {'changed': True})])
    plugin._task.check_mode = True
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert [call[0] for call in calls] == [MODULE] and not result.get('failed')
    assert [p['ok'] for p in result['probes']] == [True, False]
    assert len(result['probes_failing']) == 1 and 'do not hold now' in result['warnings'][0]


def test_a_failed_module_runs_no_probe(clock, ports):
    plugin, calls, connection, script = make({'content': 'X', 'confirm_probes': [{'port': ports[1]}]},
                                             [(MODULE, {'failed': True, 'msg': 'confirm_probes[0].port ...'})])
    result = plugin.run(task_vars=dict(TASK_VARS))
    assert result['failed'] is True and 'probes' not in result
