# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The timer's wait before its apply (run_window): never before the controller has the module's
answer (its go, written by the first confirmation call, or the delay), never later than the delay."""
from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rb

PREVIOUS = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
RESTORE = ['iptables-restore', '-w', '10']


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / 'state')


class Clock:
    """A fake clock whose sleep() advances it, and runs AT(time) once the clock reaches it."""

    def __init__(self, start=1000.0, at=None, action=None):
        self.t = start
        self.slept = []
        self.at = at
        self.action = action

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.t += seconds
        if self.at is not None and self.t >= self.at:
            self.at = None
            self.action()


def applied_at(state, token, clock, delay=1.0):
    """Run the window's body up to its apply; returns the clock when apply() ran."""
    seen = []
    original = rb.watch
    try:
        rb.watch = lambda *args, **kwargs: 'pending'
        rb.run_window(state, token, lambda: seen.append(clock.t) or {}, RESTORE, delay=delay, sleep=clock.sleep,
                      now=clock.now)
    finally:
        rb.watch = original
    assert len(seen) == 1
    return seen[0]


def test_without_go_the_apply_waits_the_whole_delay(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    clock = Clock()
    assert applied_at(state, token, clock) == pytest.approx(1001.0)
    assert max(clock.slept) <= rb.GO_POLL + 1e-9


def test_go_cuts_the_delay_short(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    clock = Clock(at=1000.3, action=lambda: rb.go(state, token))
    when = applied_at(state, token, clock)
    assert 1000.3 <= when <= 1000.3 + rb.GO_POLL + 1e-9


def test_go_before_the_timer_starts_applies_at_once(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    rb.go(state, token)
    clock = Clock()
    assert applied_at(state, token, clock) == 1000.0
    assert clock.slept == []


def test_another_windows_go_does_not_count(state):
    first = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    other = rb.arm(state, 'ipv6', PREVIOUS, RESTORE, 30, now=1000)
    rb.go(state, other)
    assert applied_at(state, first, Clock()) == pytest.approx(1001.0)


def test_go_twice_is_harmless_and_refuses_a_symlink(state, tmp_path):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    rb.go(state, token)
    rb.go(state, token)
    assert os.path.isfile(os.path.join(state, token + '.go'))
    other = rb.arm(state, 'ipv6', PREVIOUS, RESTORE, 30, now=1000)
    target = tmp_path / 'elsewhere'
    os.symlink(str(target), os.path.join(state, other + '.go'))
    rb.go(state, other)     # exists already (a symlink): left alone, never followed
    assert not target.exists()


def test_go_needs_a_valid_token(state):
    rb.secure_dir(state)
    with pytest.raises(ValueError):
        rb.go(state, '../../etc/passwd')


def test_go_is_removed_with_the_confirmation(state):
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000)
    rb.go(state, token)
    assert rb.confirm(state, token)[0] == 'confirmed'
    assert not os.path.exists(os.path.join(state, token + '.go'))


def test_go_of_an_old_window_is_pruned(state):
    import time as _time
    old = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30)
    rb.go(state, old)
    with open(os.path.join(state, old + '.pending')) as handle:
        assert handle.read() == ''
    os.rename(os.path.join(state, old + '.pending'), os.path.join(state, old + '.reverted'))
    stamp = _time.time() - 7200
    for name in os.listdir(state):
        os.utime(os.path.join(state, name), (stamp, stamp), follow_symlinks=False)
    rb.arm(state, 'ipv6', PREVIOUS, RESTORE, 30)
    assert not [name for name in os.listdir(state) if name.startswith(old)]
