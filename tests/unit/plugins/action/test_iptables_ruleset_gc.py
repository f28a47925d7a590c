# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of iptables_ruleset runs every module call (the module, iptables_confirm) with
Python's cyclic garbage collector off (gc_paused: the AnsiballZ build parses every shipped
module_utils file), freezes what the call left (the build's syntax trees are cyclic garbage) and gives
the collector back as it found it, also when the call raises."""

from __future__ import annotations

import gc
from unittest import mock

import pytest

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.rampart.firewall.plugins.action import iptables_ruleset as action


@pytest.fixture
def collector():
    """The collector's state before the test, restored after it."""
    was = gc.isenabled()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


def plugin():
    task = mock.MagicMock()
    task.args = {}
    connection = mock.MagicMock()
    return action.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)


@pytest.mark.parametrize('enabled', [True, False])
def test_module_calls_run_with_the_collector_off_and_give_it_back(monkeypatch, collector, enabled):
    seen = []

    def execute(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        seen.append((module_name, gc.isenabled()))
        return {'changed': False}

    monkeypatch.setattr(ActionBase, '_execute_module', execute)
    (gc.enable if enabled else gc.disable)()
    one = plugin()
    assert one._execute_module(module_name=action.MODULE, module_args={}, task_vars={}) == {'changed': False}
    assert one._try_confirm('ipv4-1000-1a2b3c4d', {}, False) == {'changed': False}
    assert seen == [(action.MODULE, False), (action.CONFIRM, False)]
    assert gc.isenabled() is enabled


def test_the_collector_comes_back_when_the_call_raises(monkeypatch, collector):
    def execute(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        assert not gc.isenabled()
        raise AnsibleConnectionFailure('gone')

    monkeypatch.setattr(ActionBase, '_execute_module', execute)
    gc.enable()
    # _try_confirm turns a lost connection into an answer: the collector must be on again afterwards
    assert plugin()._try_confirm('ipv4-1000-1a2b3c4d', {}, True)['unreachable'] is True
    assert gc.isenabled()
    with pytest.raises(AnsibleConnectionFailure):
        plugin()._execute_module(module_name=action.MODULE, module_args={}, task_vars={})
    assert gc.isenabled()


def test_the_cyclic_garbage_of_a_call_is_frozen_not_collected(monkeypatch, collector):
    """What a call leaves in cycles (ansible-core's syntax trees: import nodes point to their parent) is moved
    to the permanent generation: no collection after the call walks it."""
    class Node:
        def __init__(self, parent=None):
            self.parent = parent
            self.body = []

    def execute(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        for dummy in range(1000):
            root = Node()
            root.body.append(Node(root))   # a cycle, as ModuleDepFinder makes
        return {'changed': False}

    monkeypatch.setattr(ActionBase, '_execute_module', execute)
    gc.enable()
    gc.collect()
    frozen = gc.get_freeze_count()
    plugin()._execute_module(module_name=action.MODULE, module_args={}, task_vars={})
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + 2000
    assert gc.collect() < 2000   # the 2,000 garbage nodes are not collected
