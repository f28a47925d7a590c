# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module reachability_probe (real TCP connects on 127.0.0.x) and the checks of the options
confirm_probes / hold_window of iptables_ruleset (refused by name before anything is read or changed)."""

from __future__ import annotations

import socket

import pytest

from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.modules import iptables_ruleset, reachability_probe

from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json, patch_module_args


@pytest.fixture(autouse=True)
def harness(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)


def run(module, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            module.main()
    return info.value.args[0]


@pytest.fixture
def ports():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.2', 0))
    listener.listen(8)
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(('127.0.0.2', 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    yield listener.getsockname()[1], closed_port
    listener.close()


@pytest.mark.parametrize('check_mode', [False, True])
def test_results_in_order_changed_never(ports, check_mode):
    open_port, closed_port = ports
    result = run(reachability_probe, {'probes': [
        {'host': '127.0.0.2', 'port': open_port, 'from': 'web'},
        {'host': '127.0.0.2', 'port': closed_port, 'expect': 'closed', 'timeout': 1},
        {'host': '127.0.0.2', 'port': closed_port}]}, check_mode)
    assert result['changed'] is False and 'failed' not in result
    assert [(x['port'], x['from'], x['observed'], x['ok']) for x in result['results']] == [
        (open_port, 'web', 'open', True), (closed_port, 'controller', 'refused', True), (closed_port, 'controller', 'refused', False)]
    assert result['failed_probes'] == 1
    assert result['mismatches'] == ['127.0.0.2:%d/tcp from controller: expected open, observed refused '
                                    '(connection refused (reset))' % closed_port]
    assert set(result['results'][0]) == {'host', 'port', 'proto', 'expect', 'from', 'observed', 'ok', 'detail', 'elapsed'}


def test_fail_on_mismatch(ports):
    result = run(reachability_probe, {'probes': [{'host': '127.0.0.2', 'port': ports[1]}], 'fail_on_mismatch': True})
    assert result['failed'] is True and result['failed_probes'] == 1
    assert result['msg'].startswith('1 probe(s) did not meet their expectation: 127.0.0.2:%d/tcp' % ports[1])


@pytest.mark.parametrize('args, message', [
    ({'probes': [{'host': '127.0.0.2', 'port': 70000}]}, 'probes[0].port must be a port number 1-65535 for tcp, not 70000'),
    ({'probes': [{'host': '127.0.0.2'}]}, 'probes[0].port must be a port number 1-65535 for tcp, not None'),
    ({'probes': [{'host': '-c9', 'proto': 'icmp'}]}, 'probes[0].host must be an address or a host name, not -c9'),
    ({'probes': [{'host': 'h', 'port': 1, 'timeout': 0}]}, 'probes[0].timeout must be more than 0 and at most 60 seconds'),
    ({'probes': [{'host': 'h', 'port': 1}], 'budget': 0}, 'budget must be more than 0 and at most 3600 seconds, not 0'),
    ({'probes': [{'host': 'h', 'port': 1}], 'workers': 0}, 'workers must be between 1 and 64, not 0'),
])
def test_bad_input_names_field_and_value(args, message):
    result = run(reachability_probe, args)
    assert result['failed'] is True and message in result['msg']
    assert 'results' not in result, 'nothing was probed'


# ---- the options of iptables_ruleset, checked before anything is read ------------------------

class _NoTouch:
    def __init__(self, *args, **kwargs):
        raise AssertionError('the module read or changed something before refusing')


@pytest.mark.parametrize('args, message', [
    ({'confirm_probes': [{'port': 0}]}, 'confirm_probes[0].port must be a port number 1-65535 for tcp, not 0'),
    ({'confirm_probes': [{'port': 5432, 'from': 'web'}]}, 'confirm_probes[0].from must be controller, not web'),
    ({'confirm_probes': [{'port': 443}], 'rollback_timeout': 0},
     'confirm_probes needs a revert window: rollback_timeout must be more than 0, not 0'),
    ({'hold_window': True, 'rollback_timeout': 0}, 'hold_window needs a revert window: rollback_timeout must be more than 0'),
])
def test_ruleset_refuses_bad_probe_options_before_anything(monkeypatch, args, message):
    monkeypatch.setattr(iptables_ruleset, 'run_ruleset', _NoTouch)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', _NoTouch)
    args = dict(args, content='*filter\nCOMMIT\n')
    result = run(iptables_ruleset, args)
    assert result['failed'] is True and message in result['msg']


def test_ruleset_accepts_good_probe_options(monkeypatch):
    seen = []
    monkeypatch.setattr(iptables_ruleset, 'run_ruleset', lambda module: seen.append(module.params) or module.exit_json())
    run(iptables_ruleset, {'content': '*filter\nCOMMIT\n', 'hold_window': True,
                           'confirm_probes': [{'port': 443}, {'proto': 'icmp', 'host': '192.0.2.1'}]})
    assert seen and seen[0]['confirm_probes'][1] == {'proto': 'icmp', 'host': '192.0.2.1'}
