# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters reachability_plan, reachability_report and reachability_render (inventory in, report out)."""

from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.filter.reachability_plan import FilterModule as PlanFilters
from ansible_collections.rampart.firewall.plugins.filter.reachability_plan import reachability_plan
from ansible_collections.rampart.firewall.plugins.filter.reachability_render import reachability_render
from ansible_collections.rampart.firewall.plugins.filter.reachability_report import reachability_report

GROUPS = {'all': ['db1', 'gw', 'bast', 'web1', 'app'], 'single_hosts': ['db1', 'web1'], 'routers': ['gw'],
          'bastions': ['bast'], 'web': ['web1'], 'ungrouped': ['app']}


def hostvars():
    return {
        'db1': {'ansible_host': '10.0.0.5', 'single_host_confirm_probes': [{'port': 5432, 'from': 'web'}],
                # another role's variable on the host: the group decides (single_hosts)
                'bastion_confirm_probes': [{'port': 1}]},
        'gw': {'masquerading_router_confirm_probes': [{'port': 8080, 'host': '192.0.2.1'}]},
        'bast': {'ansible_host': 'bast.example.org', 'bastion_confirm_probes': [{'port': 22, 'expect': 'closed'}]},
        'web1': {'ansible_host': '10.0.0.10'},
        # in no role group: the first role variable defined for it
        'app': {'ansible_host': '10.0.0.20', 'single_host_confirm_probes': [{'proto': 'icmp'}]},
    }


def test_plan_reads_the_variable_of_each_host_role():
    batches = reachability_plan(GROUPS, hostvars())
    assert PlanFilters().filters()['reachability_plan'] is reachability_plan
    assert sorted(batches) == ['controller', 'web1']
    assert [(e['target'], e['var'], e['probe']['host']) for e in batches['controller']] == [
        ('gw', 'masquerading_router_confirm_probes', '192.0.2.1'),
        ('bast', 'bastion_confirm_probes', 'bast.example.org'),
        ('app', 'single_host_confirm_probes', '10.0.0.20')]
    assert [(e['target'], e['probe']['port'], e['probe']['host']) for e in batches['web1']] == [('db1', 5432, '10.0.0.5')]


def test_plan_fails_naming_every_problem():
    hv = hostvars()
    hv['db1']['single_host_confirm_probes'] = [{'port': 5432, 'from': 'wbe'}]
    hv['gw']['masquerading_router_confirm_probes'] = [{'port': '8080x'}]
    with pytest.raises(AnsibleFilterError) as err:
        reachability_plan(GROUPS, hv)
    assert ('db1: single_host_confirm_probes[0].from: wbe is neither controller nor an inventory group or host'
            in str(err.value))
    assert 'gw: masquerading_router_confirm_probes[0].port must be a port number 1-65535 for tcp, not 8080x' in str(err.value)


def test_report_and_render_from_registered_results():
    batches = reachability_plan(GROUPS, hostvars())
    hv = hostvars()
    hv['localhost'] = {'reachability_probe_run': {'changed': False, 'results': [
        dict(e['probe'], observed=obs, ok=ok, detail='', elapsed=0.1)
        for e, (obs, ok) in zip(batches['controller'], [('open', True), ('timeout', True), ('timeout', False)])]}}
    hv['web1']['reachability_probe_run'] = {'unreachable': True, 'msg': 'ssh: connect timed out'}
    doc = reachability_report(batches, hv, generated='now')
    assert doc['summary']['drift'] == 2 and doc['summary']['drift_hosts'] == ['app', 'db1']
    assert [(r['host'], r['observed']) for r in doc['rows'][:2]] == [('app', 'timeout'), ('db1', 'not run')]
    lines = reachability_render(doc, 'table')
    assert lines[2].split()[:8] == ['app', '10.0.0.20', '-', 'icmp', 'controller', 'open', 'timeout', 'DRIFT']
    assert reachability_render(doc, 'text') == '\n'.join(lines) + '\n'
    assert json.loads(reachability_render(doc, 'json'))['summary']['probes'] == 4
    assert '<tr class="drift"><td>db1</td>' in reachability_render(doc, 'html')


def test_render_refuses_a_bad_format_or_input():
    with pytest.raises(AnsibleFilterError, match='format must be one of table, text, json, html'):
        reachability_render({'rows': [], 'summary': {}}, 'yaml')
    with pytest.raises(AnsibleFilterError, match='what reachability_report returned'):
        reachability_render(['not', 'a', 'report'])
