# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 22: an open revert window is always visible. A run interrupted while it waited for its
confirmation (Ctrl-C) leaves its window open; a second run of the same family, even one whose
ruleset is already live, must not report ok and persist while the first timer is still armed to
restore the ruleset from before it. Same fake kernel as test_iptables_ruleset; the confirmation
wait follows the apply's wait (item 3)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.modules import iptables_confirm, iptables_rule

from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base

WEB = base.WEB
confirm = base.confirm
run = base.run
timer_applies = base.timer_applies
kernel = base.kernel
window = base.window
persisted = base.persisted

WEB6 = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
'''


def interrupted_run(kernel, persisted, bodies, monkeypatch, content=WEB, **extra):
    """The first run: its timer applied the ruleset, then the controller was interrupted (no confirmation)."""
    args = {'content': content, 'persist_path': persisted, 'rollback_timeout': 30}
    args.update(extra)
    first = run(args)
    timer_applies(bodies, monkeypatch)
    assert parse(kernel.live['ipv4']) == parse(WEB)
    return first['rollback']['token']


def test_unchanged_rerun_during_an_open_window_does_not_report_ok(kernel, persisted, window, monkeypatch):
    state, bodies = window
    token = interrupted_run(kernel, persisted, bodies, monkeypatch)
    restored = list(kernel.restored)
    again = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30})
    assert again['failed'] is True, 'the ruleset is live, but the earlier timer would still restore the old one'
    assert again['open_window'] == {'tokens': [token], 'families': ['ipv4'], 'remaining': again['open_window']['remaining']}
    assert 0 < again['open_window']['remaining'] <= 30
    assert token in again['msg'] and 'still waiting for its confirmation' in again['msg']
    assert not os.path.exists(persisted), 'nothing is persisted while the window is open'
    assert kernel.restored == restored and bodies == []
    assert rollback.outcome(state, token) == 'pending'


def test_rerun_after_confirming_the_open_window_persists_and_nothing_reverts(kernel, persisted, window, monkeypatch):
    """The Ctrl-C case end to end at unit level: what the action plugin does with open_window."""
    state, bodies = window
    token = interrupted_run(kernel, persisted, bodies, monkeypatch)
    refused = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30})
    assert refused['open_window']['tokens'] == [token]
    # the action plugin: confirm=false, new connection, confirm=true
    assert confirm({'token': token, 'confirm': False})['outcome'] == 'applied'
    assert confirm({'token': token})['confirmed'] == 'confirmed'
    again = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30})
    assert again.get('failed') is not True, again.get('msg')
    assert again['live_changed'] is False and 'rollback' not in again
    assert parse(open(persisted).read()) == parse(WEB)
    # after the deadline: the first timer has nothing left to revert
    assert rollback.expire(state, token, ['/usr/sbin/iptables-restore']) == 'confirmed'
    assert parse(kernel.live['ipv4']) == parse(WEB)
    assert rollback.pending(state) == []


def test_changed_rerun_during_an_open_window_names_it_too(kernel, persisted, window, monkeypatch):
    state, bodies = window
    token = interrupted_run(kernel, persisted, bodies, monkeypatch)
    other = run({'content': WEB.replace('--dport 80', '--dport 81'), 'persist_path': persisted, 'rollback_timeout': 0})
    assert other['failed'] is True and other['open_window']['tokens'] == [token]


def test_check_mode_warns_about_an_open_window(kernel, persisted, window, monkeypatch):
    state, bodies = window
    token = interrupted_run(kernel, persisted, bodies, monkeypatch)
    result = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30}, check_mode=True)
    assert result.get('failed') is not True
    assert any(token in warning and 'window is open' in warning for warning in kernel.warnings)
    assert rollback.outcome(state, token) == 'pending', 'check mode decides nothing'


def test_stale_window_is_reverted_before_the_read(kernel, persisted, window, monkeypatch):
    """A window whose deadline passed and whose timer died: reverted before this run reads the live
    ruleset, so that the run plans against what is live afterwards (and applies its ruleset again)."""
    state, bodies = window
    before = kernel.live['ipv4']
    token = interrupted_run(kernel, persisted, bodies, monkeypatch)
    real_time = rollback.time.time
    monkeypatch.setattr(rollback.time, 'time', lambda: real_time() + 3600)
    again = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 0})
    assert rollback.outcome(state, token) == 'reverted'
    assert again.get('failed') is not True, again.get('msg')
    assert again['live_changed'] is True, 'the revert happened before the read: the ruleset is applied again'
    assert parse(kernel.live['ipv4']) == parse(WEB) != parse(before)


def test_both_families_name_every_open_window(kernel, window, monkeypatch, tmp_path):
    state, bodies = window
    monkeypatch.setattr(base.ruleset_apply, 'persist_target', lambda os_release, family: base.PersistTarget(
        str(tmp_path / ('rules.' + family)), (), 'iptables-persistent', 0o640))
    first = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}, 'rollback_timeout': 30})
    timer_applies(bodies, monkeypatch)
    timer_applies(bodies, monkeypatch)
    again = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6}, 'rollback_timeout': 30})
    assert again['failed'] is True
    assert again['open_window']['tokens'] == first['rollback']['tokens']
    assert again['open_window']['families'] == ['ipv4', 'ipv6']
    assert not os.path.exists(str(tmp_path / 'rules.ipv4'))


def test_unchanged_granular_rule_during_an_open_window_is_refused(kernel, persisted, window, monkeypatch):
    state, bodies = window
    token = interrupted_run(kernel, persisted, bodies, monkeypatch)
    with base.patch_module_args({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': '80', 'jump': 'ACCEPT',
                                 'lockout_check': False}):
        with pytest.raises((base.AnsibleExitJson, base.AnsibleFailJson)) as info:
            iptables_rule.main()
    result = info.value.args[0]
    assert result['failed'] is True, 'the rule is live now, but the earlier timer would remove it'
    assert result['open_window']['tokens'] == [token]


# ---- item 3: the confirmation waits as long as the timer may wait for the apply lock ------

def test_apply_wait_follows_the_recorded_wait():
    assert rollback.apply_wait({'wait': 300}) == 300 + rollback.APPLY_MARGIN
    assert rollback.apply_wait({'wait': 0}) == rollback.APPLY_MARGIN
    assert rollback.apply_wait({}) == rollback.LEGACY_WAIT + rollback.APPLY_MARGIN
    assert rollback.apply_wait(None) == rollback.LEGACY_WAIT + rollback.APPLY_MARGIN
    for bad in (True, -1, 10 ** 9, '30', 2.5):
        assert rollback.apply_wait({'wait': bad}) == rollback.LEGACY_WAIT + rollback.APPLY_MARGIN


@pytest.mark.parametrize('wait', [0, 10, 300])
def test_confirm_waits_for_the_apply_as_long_as_its_lock_wait(kernel, persisted, window, monkeypatch, wait):
    state, bodies = window
    result = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30, 'wait': wait})
    token = result['rollback']['token']
    assert rollback.meta(state, token)['wait'] == wait
    waited = []
    real = rollback.wait_applied
    monkeypatch.setattr(rollback, 'wait_applied', lambda d, t, timeout, **kw: waited.append(timeout) or real(d, t, 0))
    timer_applies(bodies, monkeypatch)
    assert confirm({'token': token, 'confirm': False})['outcome'] == 'applied'
    assert waited == [wait + rollback.APPLY_MARGIN]
    # an explicit wait_apply still wins
    confirm({'token': token, 'confirm': False, 'wait_apply': 5})
    assert waited[-1] == 5


def test_confirm_default_wait_is_not_a_fixed_20_seconds():
    spec = iptables_confirm.DOCUMENTATION
    assert 'default: 20' not in spec.split('wait_apply:')[1].split('confirm:')[0]
