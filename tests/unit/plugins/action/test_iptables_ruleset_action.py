# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the action plugin of iptables_ruleset (confirm-or-revert on the controller).
The connection and _execute_module are mocks: each test scripts the answers of the module and
of iptables_confirm and checks the calls made, their order, the resets of the connection (a new
connection before the confirmation) and the final result."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.rampart.firewall.plugins.action import iptables_ruleset as action

MODULE = 'rampart.firewall.iptables_ruleset'
CONFIRM = 'rampart.firewall.iptables_confirm'


class Clock:
    """time.time and time.sleep for the plugin: sleeping advances the clock."""

    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(action.time, 'time', fake.time)
    monkeypatch.setattr(action.time, 'sleep', fake.sleep)
    return fake


def make(args, answers, transport='ssh', plugin_class=action.ActionModule):
    """The plugin (PLUGIN_CLASS: this one, or sysctl_hardening's subclass) with a task of ARGS; ANSWERS: list of
    (module_name, answer or exception), in order."""
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = False
    connection = mock.MagicMock()
    connection.transport = transport
    connection._load_name = transport
    connection._shell.tmpdir = '/tmp/x'
    plugin = plugin_class(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)
    calls = []
    script = list(answers)

    def execute(module_name=None, module_args=None, task_vars=None, **kwargs):
        calls.append((module_name, dict(module_args), connection.reset.call_count))
        expected, answer = script.pop(0)
        assert module_name == expected, (module_name, expected)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    plugin._execute_module = execute
    plugin._low_level_execute_command = mock.MagicMock(return_value={'rc': 0, 'stdout': '198.51.100.7 50000 203.0.113.10 22'})
    return plugin, calls, connection, script


WINDOW = {'token': 'ipv4-1000-1a2b3c4d', 'timeout': 30, 'deadline': 1030.0, 'state_dir': '/run/rampart-firewall',
          'timer_pid': 42, 'apply_delay': 1.0}


def applied(**extra):
    answer = {'changed': False, 'confirmed': 'not yet', 'outcome': 'applied'}
    answer.update(extra)
    return answer


def test_no_window_is_one_module_call(clock):
    plugin, calls, connection, script = make({'content': 'X'}, [(MODULE, {'changed': False, 'tables': ['filter']})])
    result = plugin.run(task_vars={})
    assert result['changed'] is False
    assert [call[0] for call in calls] == [MODULE]
    assert 'ssh_connection' not in calls[0][1], 'the module finds the session itself'
    plugin._low_level_execute_command.assert_not_called()


@pytest.mark.parametrize('args', [{'content': 'X'}, {'content': 'X', 'ssh_connection': 'given'}])
def test_over_ssh_too_the_module_call_is_the_only_round_trip(clock, args):
    """The module finds SSH_CONNECTION itself (iptables_host.session_ssh_connection): no extra command
    runs on the target before it, and a given ssh_connection is passed through as it is."""
    plugin, calls, connection, script = make(dict(args), [(MODULE, {'changed': False})], transport='ssh')
    plugin.run(task_vars={})
    assert calls[0][1].get('ssh_connection') == args.get('ssh_connection')
    plugin._low_level_execute_command.assert_not_called()


def test_failed_module_is_returned_without_confirming(clock):
    plugin, calls, connection, script = make({'content': 'X'}, [(MODULE, {'failed': True, 'msg': 'bad', 'rollback': WINDOW})])
    result = plugin.run(task_vars={})
    assert result['failed'] is True and [call[0] for call in calls] == [MODULE]


def test_window_confirmed_over_a_new_connection_then_persisted(clock):
    answers = [
        (MODULE, {'changed': True, 'rollback': WINDOW, 'persisted': '/etc/iptables/rules.v4', 'persist_changed': True,
                  'persist_pending': True}),
        (CONFIRM, applied()),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed', 'persisted': '/etc/iptables/rules.v4', 'persist_changed': True,
                   'services_enabled': ['netfilter-persistent']}),
    ]
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert script == []
    assert [call[0] for call in calls] == [MODULE, CONFIRM, CONFIRM]
    assert calls[1][1] == {'token': WINDOW['token'], 'confirm': False}
    assert calls[2][1] == {'token': WINDOW['token'], 'confirm': True}
    # apply after answering: the confirmation goes over a connection reset after the apply was seen live
    assert calls[2][2] > calls[1][2] > calls[0][2]
    assert result['confirmed'] == 'confirmed' and result['changed'] is True
    assert result['services_enabled'] == ['netfilter-persistent']
    assert 'persist_pending' not in result and result['confirm_attempts'] == 2


@pytest.mark.parametrize('transport', ['containers.podman.podman', 'podman', 'community.docker.docker', 'local'])
def test_local_transport_confirms_with_one_call(clock, transport):
    """A transport that never crosses the target's network: no reset, and one confirm=true call (it gives the
    go, waits for the apply and confirms) instead of confirm=false then confirm=true."""
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW}), (CONFIRM, {'changed': True, 'confirmed': 'confirmed'})]
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport=transport)
    result = plugin.run(task_vars={})
    connection.reset.assert_not_called()
    assert script == [] and [call[0] for call in calls] == [MODULE, CONFIRM]
    assert calls[1][1] == {'token': WINDOW['token'], 'confirm': True}
    assert result['confirmed'] == 'confirmed' and result['confirm_attempts'] == 1
    # the answer cannot be cut by the firewall: the timer need not wait for the go
    assert calls[0][1] == {'content': 'X', 'apply_delay': 0}


def test_apply_delay_set_by_the_task_is_kept(clock):
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW}), (CONFIRM, {'changed': True, 'confirmed': 'confirmed'})]
    plugin, calls, connection, script = make({'content': 'X', 'apply_delay': 2.5}, answers, transport='containers.podman.podman')
    plugin.run(task_vars={})
    assert calls[0][1]['apply_delay'] == 2.5


@pytest.mark.parametrize('transport', ['ssh', 'ansible.builtin.paramiko_ssh', 'ansible.windows.winrm', 'community.aws.aws_ssm'])
def test_network_and_unknown_transports_confirm_over_a_second_call(clock, transport):
    """Any transport not known to stay off the network (ssh, paramiko, anything else) waits for the apply first
    (confirm=false), then confirms with a second call."""
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW}), (CONFIRM, applied()),
               (CONFIRM, {'changed': True, 'confirmed': 'confirmed'})]
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport=transport)
    result = plugin.run(task_vars={})
    assert script == [] and [call[1]['confirm'] for call in calls[1:]] == [False, True]
    assert result['confirmed'] == 'confirmed'
    assert 'apply_delay' not in calls[0][1], 'over the network the timer waits for the go (the default apply_delay)'


def test_local_transport_with_probes_waits_for_the_apply_first(clock, monkeypatch):
    """With confirm_probes (a step between the apply and the confirmation) a local transport makes both calls too:
    the probes run once the new ruleset is live, before anything is confirmed."""
    seen = []
    monkeypatch.setattr(action.reachability, 'run', lambda probes, budget=None: seen.append(len(calls)) or [])
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW}), (CONFIRM, applied()),
               (CONFIRM, {'changed': True, 'confirmed': 'confirmed'})]
    plugin, calls, connection, script = make({'content': 'X', 'confirm_probes': [{'port': 22, 'host': '192.0.2.1'}]},
                                             answers, transport='containers.podman.podman')
    result = plugin.run(task_vars={})
    assert [call[1]['confirm'] for call in calls[1:]] == [False, True]
    assert seen == [2], 'the probes ran after confirm=false and before confirm=true'
    assert result['confirmed'] == 'confirmed'


def test_unreachable_is_retried_within_the_window(clock):
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW}),
               (CONFIRM, applied()),
               (CONFIRM, AnsibleConnectionFailure('timed out')),
               (CONFIRM, AnsibleConnectionFailure('timed out')),
               (CONFIRM, {'changed': True, 'confirmed': 'confirmed'})]
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert result['confirmed'] == 'confirmed' and result['confirm_attempts'] == 4
    assert all(call[1]['confirm'] for call in calls[2:])


def test_reverted_window_fails_and_reports_nothing_persisted(clock):
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW, 'family': 'ipv4', 'tables': ['filter'],
                         'persisted': '/etc/iptables/rules.v4', 'persist_changed': True, 'copy_changed': True}),
               (CONFIRM, {'failed': True, 'changed': True, 'outcome': 'reverted', 'msg': 'not confirmed',
                          'revert': {'rc': 0, 'tables': ['filter']}})]
    plugin, calls, connection, script = make({'content': 'X'}, answers)
    result = plugin.run(task_vars={})
    assert result['failed'] is True
    assert 'cut the controller off' in result['msg'] and 'filter' in result['msg']
    assert result['persisted'] is None and result['persist_changed'] is False and result['copy_changed'] is False
    assert result['revert'] == {'rc': 0, 'tables': ['filter']}


def test_still_unreachable_after_the_deadline_fails(clock):
    answers = [(MODULE, {'changed': True, 'rollback': WINDOW})]
    answers += [(CONFIRM, AnsibleConnectionFailure('no route'))] * 200
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert result['failed'] is True
    assert result['confirmed'] == 'unreachable'
    assert 'still unreachable' in result['msg']
    assert clock.now >= 1000 + 30 + action.GRACE


MULTI = {'token': 'ipv4-1000-1a2b3c4d', 'tokens': ['ipv4-1000-1a2b3c4d', 'ipv6-1000-5e6f7a8b'], 'families': ['ipv4', 'ipv6'],
         'timeout': 30, 'deadline': 1030.0, 'state_dir': '/run/rampart-firewall', 'timer_pid': 42, 'apply_delay': 1.0}


def family(name):
    return {'changed': True, 'persisted': '/etc/iptables/rules.%s' % name, 'persist_changed': True, 'persist_pending': True,
            'copy': '/etc/rampart-firewall/rules.%s' % name, 'copy_changed': True}


def test_both_families_one_window_one_confirmation(clock):
    answers = [
        (MODULE, {'changed': True, 'rollback': MULTI, 'families': {'ipv4': family('v4'), 'ipv6': family('v6')}}),
        (CONFIRM, applied(windows=[])),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed', 'windows': [
            {'family': 'ipv4', 'confirmed': 'confirmed', 'persisted': '/etc/iptables/rules.v4', 'persist_changed': True,
             'services_enabled': ['netfilter-persistent'], 'copy_changed': True},
            {'family': 'ipv6', 'confirmed': 'confirmed', 'persisted': '/etc/iptables/rules.v6', 'persist_changed': False,
             'services_enabled': [], 'copy_changed': False}]}),
    ]
    plugin, calls, connection, script = make({'rulesets': {'ipv4': 'A', 'ipv6': 'B'}}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert [call[0] for call in calls] == [MODULE, CONFIRM, CONFIRM], 'three calls for both families'
    assert calls[1][1] == {'tokens': MULTI['tokens'], 'confirm': False}
    assert calls[2][1] == {'tokens': MULTI['tokens'], 'confirm': True}
    assert calls[2][2] > calls[1][2]
    assert result['changed'] is True and not result.get('failed')
    v4, v6 = result['families']['ipv4'], result['families']['ipv6']
    assert v4['confirmed'] == v6['confirmed'] == 'confirmed'
    assert v4['services_enabled'] == ['netfilter-persistent'] and v6['persist_changed'] is False
    assert 'persist_pending' not in v4 and v6['copy_changed'] is False


def test_both_families_one_not_applied_fails_and_nothing_is_persisted(clock):
    answers = [
        (MODULE, {'changed': True, 'rollback': MULTI, 'families': {'ipv4': family('v4'), 'ipv6': family('v6')}}),
        (CONFIRM, {'failed': True, 'changed': False, 'outcome': 'apply-failed', 'msg': 'ipv6: not confirmed: ...',
                   'revert': {'msg': 'line 3'}, 'windows': [
                       {'family': 'ipv4', 'outcome': 'applied', 'revert': {}},
                       {'family': 'ipv6', 'outcome': 'apply-failed', 'revert': {'msg': 'line 3'}}]}),
    ]
    plugin, calls, connection, script = make({'rulesets': {'ipv4': 'A', 'ipv6': 'B'}}, answers)
    result = plugin.run(task_vars={})
    assert [call[0] for call in calls] == [MODULE, CONFIRM], 'no confirmation when one family failed'
    assert result['failed'] is True and result['msg'].startswith('ipv6')
    for name in ('ipv4', 'ipv6'):
        entry = result['families'][name]
        assert entry['persisted'] is None and entry['persist_changed'] is False and entry['copy_changed'] is False
    assert result['families']['ipv6']['revert'] == {'msg': 'line 3'}


def test_both_families_reverted_message(clock):
    answers = [
        (MODULE, {'changed': True, 'rollback': MULTI, 'families': {'ipv4': family('v4'), 'ipv6': family('v6')}}),
        (CONFIRM, applied()),
        (CONFIRM, {'failed': True, 'changed': True, 'outcome': 'reverted', 'msg': 'ipv4: not confirmed',
                   'windows': [{'family': 'ipv4', 'outcome': 'reverted'}, {'family': 'ipv6', 'outcome': 'reverted'}]}),
    ]
    plugin, calls, connection, script = make({'rulesets': {'ipv4': 'A', 'ipv6': 'B'}}, answers)
    result = plugin.run(task_vars={})
    assert result['failed'] is True and 'ipv4, ipv6' in result['msg'] and 'cut the controller off' in result['msg']


# ---- issue 22: a window left open by an interrupted run --------------------------------------

EARLIER = {'tokens': ['ipv4-990-0a0b0c0d'], 'families': ['ipv4'], 'remaining': 21.0}


def refused_open(**extra):
    answer = {'failed': True, 'changed': False, 'open_window': dict(EARLIER),
              'msg': 'an earlier apply (ipv4, token ipv4-990-0a0b0c0d) is still waiting for its confirmation'}
    answer.update(extra)
    return answer


def test_open_window_is_confirmed_over_a_new_connection_then_the_task_runs(clock):
    answers = [
        (MODULE, refused_open()),
        (CONFIRM, applied()),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed', 'persisted': '/etc/iptables/rules.v4', 'persist_changed': True}),
        (MODULE, {'changed': False, 'live_changed': False, 'persisted': '/etc/iptables/rules.v4', 'persist_changed': False}),
    ]
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert script == []
    assert [call[0] for call in calls] == [MODULE, CONFIRM, CONFIRM, MODULE]
    assert calls[1][1] == {'token': 'ipv4-990-0a0b0c0d', 'confirm': False}
    assert calls[2][1] == {'token': 'ipv4-990-0a0b0c0d', 'confirm': True}
    assert calls[2][2] > calls[1][2] > calls[0][2], 'the confirmation crosses the live ruleset over a new connection'
    assert calls[3][1] == {'content': 'X'}, 'the task runs again with its own arguments'
    assert result.get('failed') is not True
    assert result['changed'] is True, 'the earlier window was confirmed: its timer stopped, its files written'
    assert result['earlier_window'] == {'tokens': ['ipv4-990-0a0b0c0d'], 'families': ['ipv4'], 'confirmed': 'confirmed'}
    assert 'open_window' not in result


def test_open_window_then_own_window_both_confirmed(clock):
    answers = [
        (MODULE, refused_open()),
        (CONFIRM, applied()),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed'}),
        (MODULE, {'changed': True, 'rollback': WINDOW}),
        (CONFIRM, applied()),
        (CONFIRM, {'changed': True, 'confirmed': 'confirmed'}),
    ]
    plugin, calls, connection, script = make({'content': 'Y'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert script == [] and result['confirmed'] == 'confirmed' and result['changed'] is True
    assert calls[4][1] == {'token': WINDOW['token'], 'confirm': False}


def test_open_window_of_both_families_is_confirmed_at_once(clock):
    earlier = {'tokens': ['ipv4-990-0a0b0c0d', 'ipv6-990-0e0f0a0b'], 'families': ['ipv4', 'ipv6'], 'remaining': 5}
    answers = [(MODULE, refused_open(open_window=earlier)), (CONFIRM, applied()),
               (CONFIRM, {'changed': True, 'confirmed': 'confirmed'}), (MODULE, {'changed': False})]
    plugin, calls, connection, script = make({'rulesets': {'ipv4': 'X', 'ipv6': 'Y'}}, answers)
    result = plugin.run(task_vars={})
    assert calls[1][1] == {'tokens': earlier['tokens'], 'confirm': False}
    assert result['earlier_window']['confirmed'] == 'confirmed'


def test_open_window_that_cannot_be_confirmed_fails_and_runs_nothing(clock):
    answers = [(MODULE, refused_open()),
               (CONFIRM, {'failed': True, 'changed': True, 'outcome': 'reverted',
                          'msg': 'not confirmed: the revert timer restored the previous ruleset'})]
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert [call[0] for call in calls] == [MODULE, CONFIRM]
    assert result['failed'] is True
    assert 'ipv4-990-0a0b0c0d' in result['msg'] and 'Nothing of this task was applied' in result['msg']
    assert 'restored the previous ruleset' in result['msg']
    assert result['earlier_window']['confirmed'] == 'reverted'


def test_open_window_unreachable_until_after_its_deadline_fails(clock):
    answers = [(MODULE, refused_open())] + [(CONFIRM, AnsibleConnectionFailure('no route'))] * 200
    plugin, calls, connection, script = make({'content': 'X'}, answers, transport='ssh')
    result = plugin.run(task_vars={})
    assert result['failed'] is True and result['earlier_window']['confirmed'] == 'unreachable'
    assert clock.now >= 1000 + 21 + action.GRACE
    assert [call[0] for call in calls].count(MODULE) == 1
