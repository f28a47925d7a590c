# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FamilyApplier.saving(): iptables-save runs in a thread while the caller parses the desired text."""

from __future__ import annotations

import sys
import threading

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_applier import SAVE_SWITCH_INTERVAL, FamilyApplier
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import IptablesCommandError

LIVE = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n'


class Runner:
    def __init__(self, delay=0.0, error=None):
        self.delay = delay
        self.error = error
        self.threads = []
        self.done = False
        # set by the caller's block: a save that waits for it and sees it set ran beside the block
        self.go = threading.Event()
        self.overlapped = None

    def save(self):
        self.threads.append(threading.current_thread())
        self.overlapped = self.go.wait(self.delay)
        self.done = True
        if self.error is not None:
            raise self.error
        return LIVE


def test_saving_runs_iptables_save_beside_the_block_and_read_takes_its_text():
    runner = Runner(delay=5)
    applier = FamilyApplier(runner, 'ipv4')
    with applier.saving() as saved:
        runner.go.set()   # a save that ran before (or after) the block would wait 5 s and see it unset
    text, live = applier.read(text=saved())
    assert runner.overlapped is True
    assert text == LIVE and runner.threads[0] is not threading.current_thread()
    assert [r.text for r in live.tables['filter'].chains['INPUT'].rules] == ['-i lo -j ACCEPT']


def test_a_failing_save_is_raised_in_the_callers_thread():
    error = IptablesCommandError('iptables-save failed (rc=1): boom', ['iptables-save'], 1, '', 'boom')
    applier = FamilyApplier(Runner(error=error), 'ipv4')
    with applier.saving() as saved:
        pass
    with pytest.raises(IptablesCommandError) as info:
        saved()
    assert info.value is error


def test_an_error_in_the_block_waits_for_the_save_to_end():
    """A desired text that does not parse fails after the read-only save has ended: no thread is left running."""
    runner = Runner(delay=0.1)
    applier = FamilyApplier(runner, 'ipv4')
    with pytest.raises(ValueError):
        with applier.saving():
            raise ValueError('the desired text does not parse')
    assert runner.done


def test_the_switch_interval_is_short_while_saving_and_restored_after():
    """The save thread gets the interpreter lock within SAVE_SWITCH_INTERVAL while the block parses; the
    process's interval is back afterwards, also when the block fails."""
    before = sys.getswitchinterval()
    applier = FamilyApplier(Runner(), 'ipv4')
    with applier.saving():
        inside = sys.getswitchinterval()
    assert inside <= SAVE_SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before
    with pytest.raises(ValueError):
        with applier.saving():
            raise ValueError('the block failed')
    assert sys.getswitchinterval() == before
