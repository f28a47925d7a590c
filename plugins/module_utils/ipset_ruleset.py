# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ipset sets an iptables ruleset uses, as iptables_ruleset sees them on the target.

RulesetSets(module, ruleset, declared) finds the sets the desired ruleset references
(``-m set --match-set NAME``, the SET target), and, only when there are some, lists the live
sets with one ``ipset list -t``. It refuses (IpsetError, a ValueError) a set that neither exists
nor is declared, or that has the other family; in check mode a declared set that does not exist
yet is *pending*: ``iptables-restore --test`` cannot run then (iptables refuses a rule naming a
missing set), and the module says so instead. ``contents()`` gives the lockout preflight the
members of those sets (declared ones as declared, live ones read with ``ipset save NAME``).
A managed set (a dictionary value, ipset_transaction) is given here as its member list
(ipset_transaction.lists_of); it exists by then (created before --test), except in check mode.
"""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as model
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import render

__metaclass__ = type

_C = {'LANG': 'C', 'LC_ALL': 'C'}


class RulesetSets:
    """The sets a ruleset uses. refs: {name: rule}; pending: declared names not live (check mode)."""

    def __init__(self, module, ruleset, declared=None):
        self.module = module
        self.family = ruleset.family
        self.declared = dict(declared or {})
        for name in self.declared:
            model.check_name(name, 'ipsets key')
        self.refs = model.referenced_sets(render(ruleset)) if ruleset.tables else {}
        self.ipset = None
        self.live = {}
        self.pending = []
        if self.refs:
            self.ipset = module.get_bin_path('ipset')
            if self.ipset:
                rc, out, err = module.run_command([self.ipset, 'list', '-t'], environ_update=dict(_C))
                if rc != 0:
                    raise model.IpsetError('the ruleset uses ipset sets (%s), but ipset list -t failed (rc=%d): %s'
                                           % (', '.join(sorted(self.refs)), rc, model.excerpt((err or out).strip(), 200)))
                self.live = model.parse_headers(out)
            self.pending = model.check_ruleset_sets(self.refs, self.family, self.live, self.declared,
                                                    module.check_mode)

    def warn_untested(self):
        """The warning for a check-mode run that cannot use iptables-restore --test."""
        return ('check mode: iptables-restore --test was not run, the sets %s are declared but not created yet '
                '(iptables refuses a rule naming a missing set)' % ', '.join(self.pending))

    def contents(self):
        """{name: [networks]} for iptables_lockout.preflight(sets=...): declared members first (what
        the set holds once the play's ipset task has run), else the live members; a set that cannot be
        given as networks (hash:ip,port, nomatch entries) is left out, so its matches stay undecided."""
        out = {}
        for name in self.refs:
            if name in self.declared:
                nets = model.declared_networks(name, self.declared[name], self.family)
            elif name in self.live and self.ipset:
                nets = self.live_networks(name)
            else:
                nets = None
            if nets is not None:
                out[name] = nets
        return out

    def live_networks(self, name):
        rc, out, _err = self.module.run_command([self.ipset, 'save', name], environ_update=dict(_C))
        if rc != 0:
            return None
        try:
            live = model.parse_save(out, only=name).get(name)
        except model.IpsetError:
            return None
        return model.lockout_networks(live) if live is not None else None
