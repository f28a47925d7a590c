# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The transaction of one iptables_ruleset call (iptables_transaction.Transaction): its steps run in
the documented order, each family's state is a FamilyState with named attributes, a window is a
Window object (token, start, withdraw), nothing is applied before apply and nothing written before
write, and a participant plugged into Transaction.participants is called at every step (and
withdrawn on a failure from apply on). Same fake kernel as test_iptables_ruleset."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_transaction as transaction
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_ruleset_apply import FamilyState, Window

from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base
from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset_families as families

WEB = base.WEB
WEB6 = families.WEB6
run = base.run
kernel = base.kernel
window = base.window
targets = families.targets


class Recorder:
    """A participant: records, at each step, what the families' states and the host look like."""

    def __init__(self, kernel, paths, fail_at=None):
        self.kernel = kernel
        self.paths = paths
        self.fail_at = fail_at
        self.seen = []

    def snapshot(self, step, tx):
        states = dict((worker.family, worker.state) for worker in tx.workers)
        self.seen.append({
            'step': step,
            'planned': all(state.plan is not None for state in states.values()),
            'windows': dict((family, state.window) for family, state in states.items()),
            'started': dict((family, state.window.started) for family, state in states.items() if state.window is not None),
            'restored': len(self.kernel.restored),
            'written': [path for path in self.paths if os.path.exists(path)],
        })
        if step == self.fail_at:
            raise FirewallError('the participant refuses at %s' % step)

    def __getattr__(self, step):
        if step not in transaction.STEPS + ('withdraw',):
            raise AttributeError(step)
        return lambda tx: self.snapshot(step, tx)


class Recorders(list):
    fail_at = None      # the step at which the next transaction's recorder refuses


@pytest.fixture
def recorder(monkeypatch, kernel, targets):
    made = Recorders()
    real = transaction.Transaction.__init__

    def init(self, module, runners=None):
        real(self, module, runners)
        made.append(Recorder(kernel, sorted(targets.values()), fail_at=made.fail_at))
        self.participants.append(made[-1])
    monkeypatch.setattr(transaction.Transaction, '__init__', init)
    return made


def test_the_steps_run_in_order_nothing_applied_before_apply_nothing_written_before_write(kernel, targets, recorder):
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}})
    assert result['changed'] is True
    seen = recorder[0].seen
    assert [entry['step'] for entry in seen] == list(transaction.STEPS)
    by_step = dict((entry['step'], entry) for entry in seen)
    assert not by_step['read']['planned'] and by_step['plan']['planned']
    # --test ran in check, the restore only in apply
    assert by_step['arm']['restored'] == 0 and by_step['apply']['restored'] == 2
    assert by_step['confirm']['written'] == [], 'the persisted files are written in write, not before'
    assert by_step['write']['written'] == sorted(targets.values())
    assert by_step['arm']['windows'] == {'ipv4': None, 'ipv6': None}, 'rollback_timeout=0: no window'


def test_the_state_of_a_family_is_an_object_with_named_attributes():
    state = FamilyState()
    assert [getattr(state, name) for name in ('desired', 'target', 'live_text', 'live', 'plan', 'window')] == [None] * 6
    with pytest.raises(AttributeError):
        state.extra = 1         # pylint: disable=assigning-non-slot
    with pytest.raises(TypeError):
        state[4]                # pylint: disable=pointless-statement


def test_a_window_is_armed_in_arm_and_started_in_apply(kernel, targets, window, recorder):
    state_dir, bodies = window
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}, 'rollback_timeout': 30})
    assert result['changed'] is True
    by_step = dict((entry['step'], entry) for entry in recorder[0].seen)
    armed = by_step['arm']['windows']
    assert all(isinstance(armed[family], Window) for family in ('ipv4', 'ipv6'))
    assert by_step['arm']['started'] == {'ipv4': False, 'ipv6': False}
    assert by_step['apply']['started'] == {'ipv4': True, 'ipv6': True}
    assert result['rollback']['tokens'] == [armed['ipv4'].token, armed['ipv6'].token]
    assert kernel.restored == [], 'the timers apply after the answer'
    assert len(bodies) == 2
    assert by_step['write']['written'] == [], 'with a window iptables_confirm writes after the confirmation'
    for token in result['rollback']['tokens']:
        assert os.path.exists(os.path.join(state_dir, '%s.pending' % token))


def test_a_participant_refusing_in_check_leaves_nothing_armed_or_applied(kernel, targets, window, recorder):
    state_dir, bodies = window
    recorder.fail_at = 'check'
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}, 'rollback_timeout': 30})
    assert result['failed'] is True and result['msg'] == 'the participant refuses at check'
    assert result['changed'] is False and 'live_state' not in result
    assert [entry['step'] for entry in recorder[0].seen] == ['read', 'plan', 'check']
    assert bodies == [] and kernel.restored == []
    assert not os.path.isdir(state_dir) or not [name for name in os.listdir(state_dir) if name.endswith('.pending')]
    assert not any(os.path.exists(path) for path in targets.values())


def test_a_participant_refusing_after_the_timers_started_withdraws_every_window(kernel, targets, window, recorder, monkeypatch):
    state_dir, bodies = window
    recorder.fail_at = 'apply'
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}, 'rollback_timeout': 30})
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'] == 'the participant refuses at apply', 'nothing applied, nothing written: a plain refusal'
    assert [entry['step'] for entry in recorder[0].seen] == ['read', 'plan', 'check', 'arm', 'apply', 'withdraw']
    assert len(bodies) == 2, 'both timers were started'
    assert 'rollback' not in result['families']['ipv4'] and 'rollback' not in result['families']['ipv6']
    assert not [name for name in os.listdir(state_dir) if name.endswith('.pending')], 'both windows withdrawn'
    # a started timer finds its window gone and applies nothing
    monkeypatch.setattr(rollback, 'watch', lambda *args, **kwargs: 'pending')
    for body in bodies:
        with pytest.raises(SystemExit):
            body()
    assert kernel.restored == []


def test_a_failure_after_a_synchronous_apply_names_what_is_live_and_written(kernel, targets, recorder):
    recorder.fail_at = 'write'
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}})
    assert result['failed'] is True and result['changed'] is True
    assert result['live_state'] == {'ipv4': 'changed', 'ipv6': 'changed'}
    assert result['written'] == [targets['ipv4'], targets['ipv6']]
    assert result['msg'].startswith('the participant refuses at write. The new ipv4 ruleset is live')
