# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""<role>_confirm_probes (issue 26): checked with the role variables before anything changes, and
split by the filter confirm_probe_plan into the controller's probes and those of other hosts."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.filter.confirm_probe_plan import confirm_probe_plan
from ansible_collections.rampart.firewall.plugins.module_utils.role_vars import problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROUTER = {'masquerading_router_wan_interface': 'eth0', 'masquerading_router_lan_interfaces': ['eth1'],
          'masquerading_router_lan_networks': ['192.168.1.0/24']}


def check(role, **variables):
    with open(os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml')) as handle:
        values = yaml.safe_load(handle)
    if role == 'masquerading_router':
        values.update(ROUTER)
    values.update(variables)
    return problems(role, values, [])


@pytest.mark.parametrize('role', ['single_host', 'masquerading_router', 'bastion'])
def test_default_is_empty_and_good_probes_pass(role):
    assert check(role) == []
    assert check(role, **{role + '_confirm_probes': [{'port': 443}, {'port': 5432, 'from': 'web'},
                                                     {'proto': 'icmp', 'expect': 'closed', 'timeout': 1}]}) == []


@pytest.mark.parametrize('value, message', [
    ('443', 'single_host_confirm_probes: must be a list of probes like [{port: 443}, {port: 5432, from: web}], '
            'not the string "443"'),
    ([{'port': 443}, {'port': 0}], 'single_host_confirm_probes[1]: port must be a port number 1-65535 for tcp, not 0'),
    ([{'port': 443, 'expect': 'up'}], 'single_host_confirm_probes[0]: expect must be one of open, closed, refused, timeout, '
                                      'not up'),
    ([{'port': 443, 'form': 'web'}], 'single_host_confirm_probes[0]: unknown key(s) form (known: port, proto, expect, from, '
                                     'host, timeout)'),
    ([{'port': 443, 'host': '-x'}], 'single_host_confirm_probes[0]: host must be an address or a host name, not -x'),
])
def test_bad_probes_are_named(value, message):
    assert check('single_host', single_host_confirm_probes=value) == [message]


def test_probes_need_a_window():
    assert check('bastion', bastion_confirm_probes=[{'port': 22}], bastion_rollback_timeout=0) == [
        'bastion_confirm_probes: needs a revert window: the probes decide whether the new rules are confirmed, '
        'and bastion_rollback_timeout is 0']


GROUPS = {'all': ['db', 'web1', 'web2'], 'web': ['web1', 'web2'], 'empty': [], 'ungrouped': []}


def test_plan_splits_controller_and_remote():
    found = confirm_probe_plan([{'port': 443}, {'port': 5432, 'from': 'web'}, {'port': 5432, 'expect': 'closed'},
                                {'port': 22, 'from': 'web2', 'host': '10.0.0.9'}], 'db', '10.0.0.5', GROUPS,
                               'single_host_confirm_probes')
    probe = {'port': 5432, 'proto': 'tcp', 'expect': 'open', 'from': 'web', 'host': '10.0.0.5', 'timeout': 3}
    assert [p['port'] for p in found['controller']] == [443, 5432]
    assert found['controller'][0]['host'] == '10.0.0.5' and found['controller'][1]['expect'] == 'closed'
    assert found['remote'] == [
        {'source': 'web1', 'probes': [probe]},
        {'source': 'web2', 'probes': [probe, dict(probe, port=22, host='10.0.0.9', **{'from': 'web2'})]}]


@pytest.mark.parametrize('probes, message', [
    ([{'port': 1, 'from': 'nowhere'}], 'db: single_host_confirm_probes[0].from: nowhere is neither controller nor an '
                                       'inventory group or host'),
    ([{'port': 1, 'from': 'empty'}], 'the inventory group empty has no hosts'),
    ([{'port': 0}], 'single_host_confirm_probes[0].port must be a port number'),
])
def test_plan_refuses_by_name(probes, message):
    with pytest.raises(AnsibleFilterError, match='confirm_probe_plan: .*' + message.replace('[', r'\[').replace(']', r'\]')
                       .replace('.', r'\.')):
        confirm_probe_plan(probes, 'db', '10.0.0.5', GROUPS, 'single_host_confirm_probes')
