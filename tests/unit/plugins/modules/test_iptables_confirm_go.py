# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The first confirmation call of a window gives the timer its go (T.go): the controller has the
module's answer, so the apply need not wait the rest of its delay. Same fake kernel as
test_iptables_ruleset."""

from __future__ import annotations

import os

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback

from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base

WEB = base.WEB
confirm = base.confirm
run = base.run
timer_applies = base.timer_applies
kernel = base.kernel
window = base.window
persisted = base.persisted


def test_confirmation_gives_the_go_before_the_apply(kernel, persisted, window, monkeypatch):
    state, bodies = window
    result = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30})
    token = result['rollback']['token']
    go = os.path.join(state, token + '.go')
    assert not os.path.exists(go), 'the module itself never gives the go'
    looked = confirm({'token': token, 'confirm': False, 'wait_apply': 0})
    assert looked['failed'] is True and looked['outcome'] == 'waiting'
    assert os.path.isfile(go)
    assert kernel.restored == [], 'the go only lets the timer apply; the confirmation never applies'
    timer_applies(bodies, monkeypatch)
    assert confirm({'token': token, 'confirm': False})['outcome'] == 'applied'
    assert confirm({'token': token})['confirmed'] == 'confirmed'
    assert not os.path.exists(go)


def test_no_go_for_a_decided_window(kernel, persisted, window, monkeypatch):
    state, bodies = window
    token = run({'content': WEB, 'persist_path': persisted, 'rollback_timeout': 30})['rollback']['token']
    timer_applies(bodies, monkeypatch)
    assert confirm({'token': token})['confirmed'] == 'confirmed'
    assert confirm({'token': token})['confirmed'] == 'already'
    assert not os.path.exists(os.path.join(state, token + '.go'))
    assert rollback.outcome(state, token) == 'confirmed'
