# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What each module ships and compiles (issue 22, "the engine is not slower for it").

AnsiballZ ships every module_utils file an import reaches, function-level imports included (ansible-core
follows every import statement of a file): the controller parses each one for every play, the target
unpacks it. The target compiles, from source, each one a module run imports. These tests follow the
import statements the way ansible-core's finder does (payload()) and run the imports in a fresh
interpreter (imported()), so that a new import edge pulling the planner into iptables_ruleset, or the
model into iptables_host, fails here instead of showing up as seconds in benchmarks/ruleset_bench.py."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

PLUGINS = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins'))
PREFIX = 'ansible_collections.rampart.firewall.plugins.module_utils'


def _imports(path):
    """The collection's module_utils named by the import statements of PATH, wherever they are."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            rest = node.module[len(PREFIX):].lstrip('.')
            found.update([rest.split('.')[0]] if rest else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            found.update(alias.name[len(PREFIX) + 1:].split('.')[0] for alias in node.names if alias.name.startswith(PREFIX + '.'))
    return set(name for name in found if os.path.exists(os.path.join(PLUGINS, 'module_utils', name + '.py')))


def payload(path):
    """The module_utils AnsiballZ ships with the plugin at PATH (module or module_utils file)."""
    seen = set()
    todo = [path]
    while todo:
        for name in _imports(todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(os.path.join(PLUGINS, 'module_utils', name + '.py'))
    return seen


def imported(module):
    """The collection's module_utils a fresh interpreter has imported once MODULE is."""
    import ansible_collections.rampart.firewall as collection   # importable as conftest.py made it
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(collection.__path__[0]))))
    code = ('import json, sys; sys.path.insert(0, %r); import %s; '
            'print(json.dumps(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith(%r + "."))))'
            % (root, module, PREFIX))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def module(name):
    return os.path.join(PLUGINS, 'modules', name + '.py')


def test_the_follower_sees_function_level_imports():
    # iptables_applier imports the lockout evaluator inside a function: it is shipped all the same
    assert 'iptables_lockout' in payload(os.path.join(PLUGINS, 'module_utils', 'iptables_applier.py'))


def test_iptables_ruleset_does_not_ship_the_granular_layers():
    shipped = payload(module('iptables_ruleset'))
    assert {'iptables_applier', 'iptables_model', 'iptables_lockout'} <= shipped
    assert not shipped & {'iptables_apply', 'iptables_options', 'iptables_planner'}


def test_the_granular_modules_still_ship_their_layers():
    assert {'iptables_apply', 'iptables_options', 'iptables_planner', 'iptables_applier', 'iptables_tables'} <= \
        payload(module('iptables_rule'))


def test_iptables_host_does_not_reach_the_model():
    # every module imports iptables_host: the model must come from what a module needs, not from it
    assert not payload(os.path.join(PLUGINS, 'module_utils', 'iptables_host.py')) & \
        {'iptables_model', 'iptables_matches', 'iptables_engine', 'iptables_persist', 'ownership'}


@pytest.mark.parametrize('name', ['iptables_persist', 'iptables_host'])
def test_read_os_release_is_one_function(name):
    from ansible_collections.rampart.firewall.plugins.module_utils import os_release
    mod = __import__('%s.%s' % (PREFIX, name), fromlist=['read_os_release'])
    assert mod.read_os_release is os_release.read_os_release


def test_a_confirm_false_call_does_not_compile_the_model():
    # the writes after a confirmation (record, persisted file, sets, copy) are imported by _finish only
    loaded = imported('ansible_collections.rampart.firewall.plugins.modules.iptables_confirm')
    assert {'iptables_rollback', 'iptables_host'} <= loaded
    assert not loaded & {'iptables_model', 'iptables_matches', 'iptables_engine', 'ownership', 'iptables_outputs',
                         'ipset_host', 'iptables_persist'}


def test_the_confirmation_writes_are_still_shipped():
    assert {'iptables_outputs', 'ipset_host', 'ownership'} <= payload(module('iptables_confirm'))
