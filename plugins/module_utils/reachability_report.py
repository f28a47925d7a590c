# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet reachability report (playbooks/reachability.yml): pure functions, no AnsibleModule.

plan(declared, groups)
    The declared probes of every host (``<role>_confirm_probes``, checked with
    reachability.normalise) grouped by the place they run from: ``controller`` or an inventory
    host. A probe ``from`` a group runs from EACH host of the group (one row per host): a firewall
    lets a group in through a set of addresses, and one host missing from that set is exactly the
    drift the report must show.
rows(batches, outcomes)
    One row per probe and source, from what each source's reachability_probe call returned
    (or why it did not run: source unreachable, module error).
document(rows, generated) / render_table(doc) / render_json(doc) / render_html(doc)
    The report as data, as a terminal table, as JSON and as a self-contained HTML page (every
    value from the inventory escaped). Drift first: the rows whose expectation does not hold
    come before the others, marked DRIFT.
"""

from __future__ import annotations

import html
import json
import re

from ansible_collections.rampart.firewall.plugins.module_utils.reachability import (
    CONTROLLER, ProbeError, normalise, normalise_all)

# The role of a host by inventory group, as playbooks/site.yml and audit.yml apply them.
ROLE_GROUPS = (('single_hosts', 'single_host'), ('routers', 'masquerading_router'), ('bastions', 'bastion'))
ROLES = tuple(role for _group, role in ROLE_GROUPS)
SUFFIX = '_confirm_probes'
TABLE_COLUMNS = ('host', 'address', 'port', 'proto', 'from', 'expected', 'observed', 'ok')
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f]')


def probe_var(host_groups, defined):
    """The variable holding a host's declared probes: ``<role>_confirm_probes`` of the role its
    group gives it (single_hosts, routers, bastions; first match), else the first of the three
    that is DEFINED for the host (a role applied by a play of the user's own); None without any."""
    for group, role in ROLE_GROUPS:
        if group in host_groups:
            return role + SUFFIX
    for role in ROLES:
        if role + SUFFIX in defined:
            return role + SUFFIX
    return None


def plan(declared, groups):
    """Group the declared probes by where they run.

    DECLARED: [(inventory host, variable name, probes as declared, default address)], in
    inventory order. GROUPS: the inventory's groups (name -> [hosts]); ``all`` lists every host.
    Returns (batches, problems): batches maps a source (``controller`` or an inventory host) to
    [{target, var, index, from, source, probe}] (probe: normalised, with its host); problems is
    one message per bad item, naming the host, the variable, the item and the value."""
    hosts = list(groups.get('all') or ())
    known_hosts = set(hosts)
    batches = {}
    problems = []
    for target, var, specs, default_host in declared:
        where = '%s: %s' % (target, var)
        try:
            probes = normalise_all(specs, where, default_host=default_host or target)
            # the default address (ansible_host, else the inventory name) checked as a given one is
            probes = [normalise(p, '%s[%d]' % (where, i), need_host=True) for i, p in enumerate(probes)]
        except ProbeError as exc:
            problems.append(exc.msg)
            continue
        for index, probe in enumerate(probes):
            source = probe['from']
            if source == CONTROLLER:
                sources = [CONTROLLER]
            elif source in known_hosts:
                sources = [source]
            elif source in groups and source != 'all':
                sources = list(groups[source])
                if not sources:
                    problems.append('%s[%d].from: the inventory group %s has no hosts' % (where, index, source))
                    continue
            else:
                problems.append('%s[%d].from: %s is neither controller nor an inventory group or host'
                                % (where, index, source))
                continue
            for each in sources:
                batches.setdefault(each, []).append({
                    'target': target, 'var': var, 'index': index, 'from': source, 'source': each,
                    'probe': dict(probe)})
    return batches, problems


def _not_run(entry, observed, detail):
    probe = entry['probe']
    return dict(probe, observed=observed, ok=False, detail=detail, elapsed=0.0)


def _outcome_results(entries, outcome):
    """The results of one source's call, one per entry, or the reason why there are none."""
    source = entries[0]['source'] if entries else CONTROLLER
    where = 'the controller' if source == CONTROLLER else source
    if not isinstance(outcome, dict) or outcome.get('skipped') and not outcome.get('results'):
        return [_not_run(e, 'not run', 'no probe ran from %s' % where) for e in entries]
    if outcome.get('unreachable'):
        msg = str(outcome.get('msg') or '').strip().splitlines()
        return [_not_run(e, 'not run', '%s unreachable%s' % (where, ': ' + msg[0][:200] if msg else ''))
                for e in entries]
    results = outcome.get('results')
    if not isinstance(results, list) or len(results) != len(entries):
        msg = str(outcome.get('msg') or 'no results').strip().splitlines()
        return [_not_run(e, 'error', 'the probes from %s failed: %s' % (where, msg[0][:200] if msg else ''))
                for e in entries]
    return results


def rows(batches, outcomes):
    """One row per planned probe: BATCHES from plan(), OUTCOMES maps a source to what its
    reachability_probe task returned (missing: it did not run). Rows in plan order."""
    found = []
    for source in batches:
        entries = batches[source]
        results = _outcome_results(entries, outcomes.get(source))
        for entry, result in zip(entries, results):
            probe = entry['probe']
            observed = str(result.get('observed', 'error'))
            found.append({
                'host': entry['target'], 'address': probe['host'], 'port': probe['port'], 'proto': probe['proto'],
                'from': entry['from'], 'via': entry['source'], 'expect': probe['expect'], 'observed': observed,
                'ok': bool(result.get('ok')) and observed not in ('error', 'budget', 'not run'),
                'detail': str(result.get('detail') or ''), 'elapsed': result.get('elapsed', 0.0),
                'timeout': probe['timeout'], 'var': entry['var'], 'index': entry['index'],
            })
    return found


def document(found, generated=None, title='Reachability report'):
    """The report as data (what the JSON file holds): drift first, then by host and declaration."""
    ordered = sorted(found, key=lambda r: (bool(r['ok']), r['host'], r['var'], r['index'], r['via']))
    drift = [r for r in ordered if not r['ok']]
    return {
        'title': title,
        'generated': generated,
        'summary': {
            'probes': len(ordered), 'as_declared': len(ordered) - len(drift), 'drift': len(drift),
            'hosts': len(set(r['host'] for r in ordered)), 'sources': len(set(r['via'] for r in ordered)),
            'drift_hosts': sorted(set(r['host'] for r in drift)),
        },
        'rows': ordered,
    }


def _from_text(row):
    if row['from'] == row['via']:
        return row['from']
    return '%s (%s)' % (row['from'], row['via'])


def _cells(row):
    return {
        'host': row['host'], 'address': row['address'], 'port': '-' if row['port'] is None else str(row['port']),
        'proto': row['proto'], 'from': _from_text(row), 'expected': row['expect'], 'observed': row['observed'],
        'ok': 'ok' if row['ok'] else 'DRIFT',
    }


def _plain(value):
    """VALUE for a terminal: no control characters (an inventory name cannot move the cursor)."""
    return _CONTROL.sub('?', str(value))


def summary_line(doc):
    s = doc['summary']
    line = '%d probes on %d hosts from %d sources: %d as declared, %d drift' % (
        s['probes'], s['hosts'], s['sources'], s['as_declared'], s['drift'])
    if s['drift_hosts']:
        line += ' (%s)' % ', '.join(_plain(h) for h in s['drift_hosts'])
    return line


def render_table(doc):
    """The terminal table: host, address, port, proto, from, expected, observed, ok; drift rows first and
    marked DRIFT, then a summary line. Returns a list of lines."""
    head = dict((c, c) for c in TABLE_COLUMNS)
    cells = [dict((k, _plain(v)) for k, v in _cells(r).items()) for r in doc['rows']]
    widths = dict((c, max(len(x[c]) for x in cells + [head])) for c in TABLE_COLUMNS)
    lines = ['  '.join('%-*s' % (widths[c], head[c]) for c in TABLE_COLUMNS).rstrip(),
             '  '.join('-' * widths[c] for c in TABLE_COLUMNS)]
    for row, cell in zip(doc['rows'], cells):
        line = '  '.join('%-*s' % (widths[c], cell[c]) for c in TABLE_COLUMNS).rstrip()
        if not row['ok'] and row['detail']:
            line += '   ' + _plain(row['detail'])
        lines.append(line)
    if not doc['rows']:
        lines.append('(no host declares probes)')
    lines.append(summary_line(doc))
    return lines


def render_json(doc):
    return json.dumps(doc, indent=2, sort_keys=True) + '\n'


_STYLE = '''body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}p.summary{font-size:1.1em}p.summary.drift{color:#a00;font-weight:bold}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eee}tr.drift td{background:#fde2e2}tr.drift td.ok{color:#a00;font-weight:bold}
tr.ok td.ok{color:#070}td.detail{color:#555;font-size:.9em}td.num{text-align:right}'''


def _esc(value):
    return html.escape(str(value), quote=True)


def render_html(doc):
    """A self-contained HTML page (inline style, no script, nothing fetched): the summary, then
    one table with drift rows first (class drift, marked DRIFT). Every value is escaped."""
    s = doc['summary']
    heads = ('host', 'address', 'port', 'proto', 'from', 'expected', 'observed', 'ok', 'detail', 'elapsed (s)')
    out = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
           '<title>%s</title>' % _esc(doc['title']), '<style>%s</style>' % _STYLE, '</head>', '<body>',
           '<h1>%s</h1>' % _esc(doc['title'])]
    if doc.get('generated'):
        out.append('<p>Generated %s.</p>' % _esc(doc['generated']))
    out.append('<p class="summary%s">%s</p>' % (' drift' if s['drift'] else '', _esc(summary_line(doc))))
    out.append('<table>')
    out.append('<thead><tr>%s</tr></thead>' % ''.join('<th>%s</th>' % _esc(h) for h in heads))
    out.append('<tbody>')
    for row in doc['rows']:
        cell = _cells(row)
        tds = ['<td>%s</td>' % _esc(cell[c]) for c in ('host', 'address')]
        tds.append('<td class="num">%s</td>' % _esc(cell['port']))
        tds += ['<td>%s</td>' % _esc(cell[c]) for c in ('proto', 'from', 'expected', 'observed')]
        tds.append('<td class="ok">%s</td>' % _esc(cell['ok']))
        tds.append('<td class="detail">%s</td>' % _esc(row['detail']))
        tds.append('<td class="num">%s</td>' % _esc(row['elapsed']))
        out.append('<tr class="%s">%s</tr>' % ('ok' if row['ok'] else 'drift', ''.join(tds)))
    out.append('</tbody>')
    out.append('</table>')
    if not doc['rows']:
        out.append('<p>No host declares probes.</p>')
    out += ['</body>', '</html>', '']
    return '\n'.join(out)
