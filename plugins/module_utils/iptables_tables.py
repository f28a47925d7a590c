# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Some tables or chains of a ruleset, as text and back: the little the applier (iptables_applier)
and the granular planner (iptables_planner) share, kept apart from both so that a module applying
whole rulesets (iptables_ruleset) does not ship the planner and the option layer with it
(AnsiballZ ships every module_utils a module_utils imports, and the target compiles it from source).
Pure: no host access.
"""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.module_utils.errors import SpecError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    new_table,
    parse,
)

__metaclass__ = type


def chains_text(table, names):
    """Restore text of the named chains of table (those that exist)."""
    chains = [table.chains[n] for n in names if n in table.chains]
    out = ['*' + table.name]
    out += [':%s %s [0:0]' % (c.name, c.policy or '-') for c in chains]
    for c in chains:
        out += [r.line() for r in c.rules]
    out.append('COMMIT')
    return '\n'.join(out) + '\n'


def split_tables(text):
    """{table: its block of iptables-save text (from *table to COMMIT)}."""
    blocks = {}
    name = None
    lines = []
    for line in (text or '').splitlines():
        stripped = line.strip()
        if name is None:
            if stripped.startswith('*'):
                name = stripped[1:].strip()
                lines = [stripped]
            continue
        lines.append(line)
        if stripped == 'COMMIT':
            blocks[name] = '\n'.join(lines) + '\n'
            name = None
    return blocks


def parse_tables(text, family, names):
    """{name: live Table} of the named tables of iptables-save text (pristine when not printed).

    Only the named tables are parsed, so a rule this model does not understand in another
    table does not stop a granular change. Raises SpecError when a named table does not parse.
    """
    blocks = split_tables(text)
    out = {}
    for name in names:
        block = blocks.get(name)
        if block is None:
            out[name] = new_table(name)
            continue
        try:
            out[name] = parse(block, family).tables[name]
        except ParseError as exc:
            raise SpecError('cannot understand the live %s table printed by %s-save (please report this): %s'
                            % (name, 'iptables' if family == 'ipv4' else 'ip6tables', exc))
    return out
