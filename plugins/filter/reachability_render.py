# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""reachability_render: the fleet reachability report as a terminal table, JSON or an HTML page."""

from __future__ import annotations

DOCUMENTATION = r"""
name: reachability_render
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
short_description: The fleet reachability report as a terminal table, JSON or a self-contained HTML page
description:
  - Renders what P(rampart.firewall.reachability_report#filter) returned. Drift first - the rows whose expectation
    does not hold come first and are marked V(DRIFT) (with the detail of what was seen), then a summary line.
  - V(table) - the terminal table (host, address, port, proto, from, expected, observed, ok) as a list of lines, control
    characters replaced by C(?); V(text) - the same as one string; V(json) - the report as JSON; V(html) - a
    self-contained page (inline style, no script, nothing fetched) with every value HTML-escaped.
positional: format
options:
  _input:
    description: What P(rampart.firewall.reachability_report#filter) returned.
    type: dict
    required: true
  format:
    description: What to return.
    type: str
    choices: [table, text, json, html]
    default: table
"""

EXAMPLES = r"""
- name: Print the table
  ansible.builtin.debug:
    msg: "{{ reachability_report | rampart.firewall.reachability_render('table') }}"

- name: Write the HTML page
  ansible.builtin.copy:
    content: "{{ reachability_report | rampart.firewall.reachability_render('html') }}"
    dest: /tmp/reachability.html
    mode: "0644"
"""

RETURN = r"""
_value:
  description: With V(table) a list of lines; otherwise a string.
  type: raw
  sample:
    - "host  address   port  proto  from        expected  observed  ok"
    - "----  --------  ----  -----  ----------  --------  --------  -----"
    - "db1   10.0.0.5  5432  tcp    web (web2)  open      refused   DRIFT   connection refused (reset)"
    - "db1   10.0.0.5  5432  tcp    web (web1)  open      open      ok"
    - "2 probes on 1 hosts from 2 sources: 1 as declared, 1 drift (db1)"
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.module_utils.reachability_report import (
    render_html, render_json, render_table)

FORMATS = ('table', 'text', 'json', 'html')


def reachability_render(doc, format='table'):  # pylint: disable=redefined-builtin
    """The report DOC rendered (see DOCUMENTATION)."""
    if format not in FORMATS:
        raise AnsibleFilterError('reachability_render: format must be one of %s, not %r' % (', '.join(FORMATS), format))
    if not hasattr(doc, 'get') or not isinstance(doc.get('rows'), list) or not hasattr(doc.get('summary'), 'get'):
        raise AnsibleFilterError('reachability_render: the input must be what reachability_report returned')
    doc = dict(doc)
    if format == 'table':
        return render_table(doc)
    if format == 'text':
        return '\n'.join(render_table(doc)) + '\n'
    if format == 'json':
        return render_json(doc)
    return render_html(doc)


class FilterModule(object):
    """rampart.firewall filters."""

    def filters(self):
        return {'reachability_render': reachability_render}
