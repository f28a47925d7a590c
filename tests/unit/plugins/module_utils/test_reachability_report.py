# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of plugins/module_utils/reachability_report.py: plan, rows, table, JSON, HTML."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import reachability_report as m

GROUPS = {'all': ['db1', 'web1', 'web2', 'edge'], 'single_hosts': ['db1', 'web1', 'web2'],
          'web': ['web1', 'web2'], 'empty': [], 'ungrouped': ['edge']}
VAR = 'single_host_confirm_probes'


def planned(specs, target='db1', address='10.0.0.5', groups=None):
    return m.plan([(target, VAR, specs, address)], groups or GROUPS)


def ok_result(probe, observed=None):
    observed = observed or ('refused' if probe['expect'] == 'closed' else probe['expect'])
    holds = observed in ('refused', 'timeout') if probe['expect'] == 'closed' else observed == probe['expect']
    return dict(probe, observed=observed, ok=holds, detail='seen %s' % observed, elapsed=0.01)


def outcomes_all_hold(batches, override=None):
    override = override or {}
    out = {}
    for source, entries in batches.items():
        out[source] = {'changed': False, 'results': [ok_result(e['probe'], override.get((source, e['index'])))
                                                     for e in entries]}
    return out


# ---- where a host's probes are declared ---------------------------------------------------------

def test_probe_var_by_group_then_defined():
    assert m.probe_var(['routers', 'web'], []) == 'masquerading_router_confirm_probes'
    assert m.probe_var(['bastions'], ['single_host_confirm_probes']) == 'bastion_confirm_probes'
    assert m.probe_var(['web'], ['bastion_confirm_probes', 'single_host_confirm_probes']) == 'single_host_confirm_probes'
    assert m.probe_var(['web'], []) is None


# ---- plan ------------------------------------------------------------------------------------------

def test_plan_groups_by_source_and_fills_defaults():
    batches, problems = planned([{'port': 443}, {'port': 5432, 'from': 'web'}, {'port': 5432, 'expect': 'closed'},
                                 {'proto': 'icmp', 'from': 'edge', 'host': 'fd00::5', 'timeout': 1}])
    assert problems == []
    assert sorted(batches) == ['controller', 'edge', 'web1', 'web2']
    assert [e['probe']['port'] for e in batches['controller']] == [443, 5432]
    first = batches['controller'][0]
    assert first['probe'] == {'port': 443, 'proto': 'tcp', 'expect': 'open', 'from': 'controller',
                              'host': '10.0.0.5', 'timeout': 3}
    assert (first['target'], first['var'], first['index'], first['source']) == ('db1', VAR, 0, 'controller')
    # a group: every host of it, one entry each
    assert [(e['source'], e['from'], e['index']) for e in batches['web1'] + batches['web2']] == [
        ('web1', 'web', 1), ('web2', 'web', 1)]
    assert batches['edge'][0]['probe']['host'] == 'fd00::5'
    assert batches['edge'][0]['probe']['port'] is None


def test_plan_address_defaults_to_the_inventory_name():
    batches, problems = m.plan([('db1', VAR, [{'port': 22}], None)], GROUPS)
    assert problems == [] and batches['controller'][0]['probe']['host'] == 'db1'


@pytest.mark.parametrize('spec, message', [
    ({'port': 5432, 'from': 'nosuch'}, 'db1: single_host_confirm_probes[0].from: nosuch is neither controller nor an '
                                       'inventory group or host'),
    ({'port': 5432, 'from': 'empty'}, 'db1: single_host_confirm_probes[0].from: the inventory group empty has no hosts'),
    ({'port': 5432, 'from': 'all'}, 'all is neither controller nor an inventory group or host'),
    ({'port': 70000}, 'db1: single_host_confirm_probes[0].port must be a port number 1-65535 for tcp, not 70000'),
    ({'port': 22, 'expect': 'shut'}, "single_host_confirm_probes[0].expect must be one of open, closed, refused, "
                                     "timeout, not shut"),
    ({'prot': 'udp', 'port': 53}, 'single_host_confirm_probes[0]: unknown key(s) prot'),
])
def test_plan_names_the_host_variable_item_and_value(spec, message):
    batches, problems = planned([{'port': 22}, spec] if 'from' not in spec else [spec])
    assert len(problems) == 1
    assert message.replace('[0]', '[1]') in problems[0] or message in problems[0]
    if 'from' in spec:
        assert batches == {}


def test_plan_refuses_a_string_where_the_list_belongs():
    _batches, problems = planned('443')
    assert problems == ["db1: single_host_confirm_probes must be a list of probes like [{port: 443}], not 443"]


# ---- rows ----------------------------------------------------------------------------------------

def test_rows_join_results_and_mark_what_does_not_hold():
    batches, _p = planned([{'port': 443}, {'port': 5432, 'from': 'web'}])
    outcomes = outcomes_all_hold(batches, {('web2', 1): 'refused'})
    found = m.rows(batches, outcomes)
    assert len(found) == 3
    by_via = dict((r['via'], r) for r in found)
    assert by_via['web2']['ok'] is False and by_via['web2']['observed'] == 'refused'
    assert by_via['web1']['ok'] is True and by_via['controller']['ok'] is True
    assert by_via['web1']['from'] == 'web' and by_via['web1']['address'] == '10.0.0.5'


def test_rows_of_an_unreachable_or_failed_source_never_hold():
    batches, _p = planned([{'port': 443, 'expect': 'closed'}, {'port': 5432, 'from': 'web'}])
    outcomes = {
        'controller': {'failed': True, 'msg': 'probes[0].host must be an address\nsecond line'},
        'web1': {'unreachable': True, 'msg': 'Failed to connect to the host via ssh'},
        # web2: no outcome at all (the play never reached it)
    }
    found = dict((r['via'], r) for r in m.rows(batches, outcomes))
    assert found['controller']['observed'] == 'error' and not found['controller']['ok']
    assert found['controller']['detail'] == 'the probes from the controller failed: probes[0].host must be an address'
    assert found['web1']['observed'] == 'not run'
    assert found['web1']['detail'] == 'web1 unreachable: Failed to connect to the host via ssh'
    assert found['web2']['observed'] == 'not run' and not found['web2']['ok']


def test_rows_budget_and_error_observations_never_hold():
    batches, _p = planned([{'port': 443}])
    outcome = {'results': [dict(batches['controller'][0]['probe'], observed='budget', ok=True, detail='', elapsed=0)]}
    assert m.rows(batches, {'controller': outcome})[0]['ok'] is False


# ---- document, table -----------------------------------------------------------------------------

def report(override=None, specs=None):
    batches, _p = planned(specs or [{'port': 443}, {'port': 5432, 'from': 'web'}, {'port': 5432, 'expect': 'closed'}])
    return m.document(m.rows(batches, outcomes_all_hold(batches, override)), generated='2026-12-06 08:00:00 UTC')


def test_document_puts_drift_first_and_counts_it():
    doc = report({('web2', 1): 'refused'})
    assert [(r['via'], r['ok']) for r in doc['rows']][0] == ('web2', False)
    assert all(r['ok'] for r in doc['rows'][1:])
    assert doc['summary'] == {'probes': 4, 'as_declared': 3, 'drift': 1, 'hosts': 1, 'sources': 3,
                              'drift_hosts': ['db1']}


def test_table_columns_drift_marked_and_summary():
    lines = m.render_table(report({('web2', 1): 'refused'}))
    assert lines[0].split() == ['host', 'address', 'port', 'proto', 'from', 'expected', 'observed', 'ok']
    assert re.match(r'^-+( +-+){7}$', lines[1])
    assert lines[2].split()[:9] == ['db1', '10.0.0.5', '5432', 'tcp', 'web', '(web2)', 'open', 'refused', 'DRIFT']
    assert lines[2].endswith('seen refused')
    assert [line.split()[-1] for line in lines[3:6]] == ['ok', 'ok', 'ok']
    assert lines[-1] == '4 probes on 1 hosts from 3 sources: 3 as declared, 1 drift (db1)'
    # the columns line up: every row's "ok" column starts where the header's does
    col = lines[0].index(' ok') + 1
    assert all(line[col:col + 2] in ('ok', 'DR') for line in lines[2:6])


def test_table_without_drift_and_without_probes():
    lines = m.render_table(report())
    assert 'DRIFT' not in '\n'.join(lines) and lines[-1].endswith('4 as declared, 0 drift')
    empty = m.render_table(m.document([]))
    assert empty[-2:] == ['(no host declares probes)', '0 probes on 0 hosts from 0 sources: 0 as declared, 0 drift']


def test_table_replaces_control_characters_from_the_inventory():
    batches, _p = m.plan([('evil\x1b[2Jhost', VAR, [{'port': 1}], '10.0.0.9')], {'all': ['evil\x1b[2Jhost']})
    outcome = {'results': [dict(batches['controller'][0]['probe'], observed='refused', ok=False,
                                detail='bad\r\nline', elapsed=0)]}
    text = '\n'.join(m.render_table(m.document(m.rows(batches, {'controller': outcome}))))
    assert '\x1b' not in text and '\r' not in text
    assert 'evil?[2Jhost' in text and 'bad??line' in text


# ---- JSON ----------------------------------------------------------------------------------------

def test_json_round_trips_the_document():
    doc = report({('controller', 0): 'timeout'})
    loaded = json.loads(m.render_json(doc))
    assert loaded == json.loads(json.dumps(doc))
    assert loaded['summary']['drift'] == 1
    assert loaded['rows'][0]['observed'] == 'timeout' and loaded['rows'][0]['ok'] is False
    assert set(loaded['rows'][0]) == {'host', 'address', 'port', 'proto', 'from', 'via', 'expect', 'observed', 'ok',
                                      'detail', 'elapsed', 'timeout', 'var', 'index'}


# ---- HTML ----------------------------------------------------------------------------------------

class Page(HTMLParser):
    """Collects the tags, the rows (class and cell texts) and every attribute."""

    def __init__(self):
        super().__init__()
        self.tags, self.rows, self.attrs, self._row, self._cell = [], [], [], None, None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag == 'tr':
            self._row = (dict(attrs).get('class'), [])
        elif tag == 'td' and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == 'td' and self._cell is not None:
            self._row[1].append(''.join(self._cell))
            self._cell = None
        elif tag == 'tr' and self._row is not None:
            if self._row[1]:
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_html_is_self_contained_and_marks_drift_first():
    page = m.render_html(report({('web1', 1): 'timeout'}))
    assert page.startswith('<!DOCTYPE html>')
    parsed = Page()
    parsed.feed(page)
    assert not set(parsed.tags) & {'script', 'link', 'img', 'iframe', 'object'}
    assert not [a for a in parsed.attrs if a[0] in ('src', 'href')]
    assert [cls for cls, _cells in parsed.rows] == ['drift', 'ok', 'ok', 'ok']
    cls, cells = parsed.rows[0]
    assert cells[:8] == ['db1', '10.0.0.5', '5432', 'tcp', 'web (web1)', 'open', 'timeout', 'DRIFT']
    assert 'class="summary drift"' in page and '1 drift (db1)' in page


def test_html_escapes_everything_from_the_inventory():
    name, source = '<script>alert("x")</script>&', 'w"1<i>'
    groups = {'all': [name, source], 'web': [source]}
    batches, problems = m.plan([(name, VAR, [{'port': 80, 'from': 'web', 'host': '10.0.0.1'}], None)], groups)
    assert problems == []
    outcome = {'results': [dict(batches[source][0]['probe'], observed='refused', ok=False,
                                detail='<img src=x onerror=alert(1)>', elapsed=0)]}
    doc = m.document(m.rows(batches, {source: outcome}), generated='<now>', title='Fleet <b>"A"</b>')
    page = m.render_html(doc)
    parsed = Page()
    parsed.feed(page)
    assert not set(parsed.tags) & {'script', 'img', 'b', 'i'}
    assert '<script>' not in page and '<img' not in page and '<now>' not in page and '<i>' not in page
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;' in page
    assert '&lt;img src=x onerror=alert(1)&gt;' in page
    assert 'web (w&quot;1&lt;i&gt;)' in page
    assert '<title>Fleet &lt;b&gt;&quot;A&quot;&lt;/b&gt;</title>' in page
    cls, cells = parsed.rows[0]
    assert cls == 'drift' and cells[0] == name and cells[4] == 'web (w"1<i>)'
    assert cells[8] == '<img src=x onerror=alert(1)>'


def test_a_host_name_that_is_not_an_address_needs_ansible_host():
    _batches, problems = m.plan([('<b>', VAR, [{'port': 80}], None)], {'all': ['<b>']})
    assert problems == ['<b>: single_host_confirm_probes[0].host must be an address or a host name, not <b>']
