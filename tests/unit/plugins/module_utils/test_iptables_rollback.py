# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The confirm-or-revert protocol's edge cases, on a temporary state directory."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rb

PREVIOUS = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
RESTORE = ['iptables-restore', '-w', '10']


class Recorder:
    def __init__(self, rc=0):
        self.calls = []
        self.rc = rc

    def __call__(self, argv, data):
        self.calls.append((argv, data))
        return self.rc, '', 'boom' if self.rc else ''


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / 'state')


def test_confirm_in_time_wins_and_timer_does_nothing(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, tables=['filter'], now=1000)
    assert rb.outcome(state, token) == 'pending'
    assert rb.confirm(state, token) == ('confirmed', '')
    run = Recorder()
    assert rb.expire(state, token, RESTORE, run=run) == 'confirmed'
    assert run.calls == []


def test_timer_reverts_when_nobody_confirms(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, tables=['filter'], now=1000)
    run = Recorder()
    assert rb.expire(state, token, RESTORE, run=run) == 'reverted'
    assert run.calls == [(RESTORE, PREVIOUS)]


def test_confirmation_arriving_late_reports_the_revert(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, tables=['filter'], now=1000)
    rb.expire(state, token, RESTORE, run=Recorder())
    result, detail = rb.confirm(state, token)
    assert result == 'reverted'
    report = json.loads(detail)
    assert report['restored'] == PREVIOUS
    assert report['tables'] == ['filter']


def test_failed_revert_is_reported_as_failed(state):
    token = rb.arm(state, 'ipv6', PREVIOUS, RESTORE, 30, now=1000)
    assert rb.expire(state, token, RESTORE, run=Recorder(rc=1)) == 'failed'
    result, detail = rb.confirm(state, token)
    assert result == 'failed'
    assert json.loads(detail)['stderr'] == 'boom'


def test_reboot_during_window_leaves_no_trace(state, tmp_path):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    # /run is a tmpfs: a reboot empties the state directory
    for name in os.listdir(state):
        os.unlink(os.path.join(state, name))
    assert rb.confirm(state, token) == ('unknown', '')


def test_second_apply_during_window_is_refused(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    with pytest.raises(rb.RollbackBusy) as err:
        rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1010)
    assert token in str(err.value)
    assert err.value.remaining == pytest.approx(20)
    # the other family has its own window
    rb.arm(state, 'ipv6', PREVIOUS, RESTORE, 30, now=1010)


def test_stale_pending_whose_timer_died_is_reverted_by_the_next_arm(state, monkeypatch):
    runs = Recorder()
    monkeypatch.setattr(rb, '_run', runs)
    old = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    new = rb.arm(state, 'ipv4', 'NEW', RESTORE, 30, now=1100)
    assert rb.outcome(state, old) == 'reverted'
    assert runs.calls == [(RESTORE, PREVIOUS)]
    assert rb.outcome(state, new) == 'pending'


def test_confirm_twice_is_harmless(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    assert rb.confirm(state, token)[0] == 'confirmed'
    assert rb.confirm(state, token)[0] == 'confirmed'


def test_watch_sleeps_until_deadline_then_reverts(state):
    clock = {'t': 1000.0}
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 3, now=clock['t'])

    def sleep(seconds):
        clock['t'] += seconds

    run = Recorder()
    assert rb.watch(state, token, RESTORE, sleep=sleep, now=lambda: clock['t'], run=run) == 'reverted'
    assert clock['t'] >= 1003
    assert len(run.calls) == 1


def test_watch_stops_early_once_confirmed(state):
    clock = {'t': 1000.0}
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=clock['t'])

    def sleep(seconds):
        clock['t'] += seconds
        if clock['t'] >= 1002:
            rb.confirm(state, token)

    run = Recorder()
    assert rb.watch(state, token, RESTORE, sleep=sleep, now=lambda: clock['t'], run=run) == 'confirmed'
    assert clock['t'] < 1030
    assert run.calls == []


def test_old_decided_windows_are_pruned_at_the_next_arm(state):
    import time as _time
    old = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30)
    rb.confirm(state, old)
    stamp = _time.time() - 7200
    for name in os.listdir(state):
        os.utime(os.path.join(state, name), (stamp, stamp))
    rb.arm(state, 'ipv6', PREVIOUS, RESTORE, 30)
    assert not [name for name in os.listdir(state) if name.startswith(old)]


def test_prune_removes_old_temporary_files_only(state):
    import time as _time
    os.makedirs(state, exist_ok=True)
    old = os.path.join(state, '.x.json.abc123.tmp')
    new = os.path.join(state, '.y.json.def456.tmp')
    for path in (old, new):
        with open(path, 'w') as handle:
            handle.write('partial')
    stamp = _time.time() - 7200
    os.utime(old, (stamp, stamp))
    rb.prune(state, _time.time())
    assert not os.path.exists(old)
    assert os.path.exists(new)
