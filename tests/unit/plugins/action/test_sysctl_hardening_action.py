# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of sysctl_hardening: iptables_ruleset's confirm loop run for this module (its name, the
confirmation's answer in this module's terms). Same mocks as test_iptables_ruleset_action."""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.action import sysctl_hardening as action

# the clock fixture (time and sleep of the shared confirm loop) and the mocks of the ruleset plugin's tests
from test_iptables_ruleset_action import clock, make as make_plugin  # noqa: F401 pylint: disable=unused-import

MODULE = 'rampart.firewall.sysctl_hardening'
CONFIRM = 'rampart.firewall.iptables_confirm'
WINDOW = {'token': 'ipv4-1000-1a2b3c4d', 'timeout': 30, 'deadline': 1030.0, 'state_dir': '/run/rampart-firewall',
          'timer_pid': 42, 'apply_delay': 1.0, 'families': ['ipv4']}
BOTH = dict(WINDOW, tokens=['ipv4-1000-1a2b3c4d', 'ipv6-1000-5e6f7a8b'], families=['ipv4', 'ipv6'])
CHANGES = [{'key': 'net.ipv4.conf.all.rp_filter', 'before': '0', 'after': '1'}]


def make(args, answers, transport='ssh'):
    """The plugin of this module with the mocks of test_iptables_ruleset_action; returns (plugin, calls)."""
    plugin, calls, dummy, dummy_script = make_plugin(args, answers, transport=transport, plugin_class=action.ActionModule)
    return plugin, calls


def module_answer(window=None):
    window = window or WINDOW
    return {'changed': True, 'file_changed': True, 'file_pending': True, 'live_changed': CHANGES, 'rollback': window,
            'path': '/etc/sysctl.d/90-rampart-firewall.conf'}


def test_no_window_is_one_call_of_this_module(clock):
    plugin, calls = make({'profile': 'host', 'rollback_timeout': 0},
                         [(MODULE, {'changed': True, 'file_changed': True, 'live_changed': CHANGES})])
    result = plugin.run(task_vars={})
    assert [c[0] for c in calls] == [MODULE] and result['changed'] is True and 'confirmed' not in result


def test_confirmed_window_reports_the_file_written(clock):
    plugin, calls = make({'profile': 'host'}, [
        (MODULE, module_answer()),
        (CONFIRM, {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed', 'sysctl_file_changed': True, 'persisted': None}),
    ])
    result = plugin.run(task_vars={})
    assert [c[0] for c in calls] == [MODULE, CONFIRM, CONFIRM]
    assert calls[2][1] == {'token': WINDOW['token'], 'confirm': True}
    assert result['confirmed'] == 'confirmed' and not result.get('failed')
    assert result['file_changed'] is True and result['file_pending'] is False and result['live_changed'] == CHANGES
    assert not any(key in result for key in ('persisted', 'persist_changed', 'services_enabled'))


def test_reverted_window_fails_saying_the_values_and_file_are_as_they_were(clock):
    plugin, calls = make({'profile': 'router'}, [
        (MODULE, module_answer()),
        (CONFIRM, {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}),
        (CONFIRM, {'failed': True, 'outcome': 'reverted', 'changed': True, 'msg': 'not confirmed: reverted',
                   'revert': {'sysctl': {'restored': ['net.ipv4.conf.all.rp_filter'], 'problems': []}}}),
    ])
    result = plugin.run(task_vars={})
    assert result['failed'] is True and result['confirmed'] == 'reverted'
    assert 'previous live values' in result['msg'] and 'ruleset' not in result['msg']
    assert result['file_changed'] is False and result['live_changed'] == [] and result['file_pending'] is False
    assert result['revert']['sysctl']['restored'] == ['net.ipv4.conf.all.rp_filter']


def test_both_families_are_confirmed_at_once(clock):
    plugin, calls = make({'profile': 'router'}, [
        (MODULE, module_answer(BOTH)),
        (CONFIRM, {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed', 'windows': [
            {'family': 'ipv4', 'confirmed': 'confirmed', 'sysctl_file_changed': True},
            {'family': 'ipv6', 'confirmed': 'confirmed'}]}),
    ])
    result = plugin.run(task_vars={})
    assert calls[1][1] == {'tokens': BOTH['tokens'], 'confirm': False}
    assert result['confirmed'] == 'confirmed' and result['file_changed'] is True and not result.get('failed')


def test_hold_window_stops_unconfirmed(clock):
    plugin, calls = make({'profile': 'host', 'hold_window': True}, [
        (MODULE, module_answer()),
        (CONFIRM, {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}),
    ])
    result = plugin.run(task_vars={})
    assert [c[0] for c in calls] == [MODULE, CONFIRM]
    assert result['confirmed'] == 'held' and result['file_pending'] is True and result['rollback'] == WINDOW


def test_an_open_window_is_confirmed_then_this_module_runs_again(clock):
    open_window = {'tokens': ['ipv4-990-00aa11bb'], 'families': ['ipv4'], 'remaining': 12.0}
    plugin, calls = make({'profile': 'host'}, [
        (MODULE, {'failed': True, 'msg': 'an earlier apply ...', 'open_window': open_window}),
        (CONFIRM, {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed'}),
        (MODULE, {'changed': False, 'file_changed': False, 'live_changed': []}),
    ])
    result = plugin.run(task_vars={})
    assert [c[0] for c in calls] == [MODULE, CONFIRM, CONFIRM, MODULE]
    assert result['earlier_window']['confirmed'] == 'confirmed' and not result.get('failed')


def test_a_value_the_kernel_refused_in_the_window_is_named_and_nothing_changed(clock):
    plugin, calls = make({'profile': 'router'}, [
        (MODULE, module_answer()),
        (CONFIRM, {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}),
        (CONFIRM, {'failed': True, 'outcome': 'reverted', 'changed': True, 'msg': 'not confirmed: reverted',
                   'revert': {'apply_error': 'sysctl: the kernel refused: net.ipv4.tcp_rmem: Invalid argument'}}),
    ])
    result = plugin.run(task_vars={})
    assert result['failed'] is True and result['changed'] is False
    assert 'net.ipv4.tcp_rmem: Invalid argument' in result['msg'] and 'put back at once' in result['msg']
    assert 'was not written' in result['msg'] and result['file_changed'] is False
