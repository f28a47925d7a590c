# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The address sets one iptables_ruleset call manages, inside the transaction of its rules.

A value of the ruleset's O(ipsets) option that is a dictionary ({members, type, family, maxelem,
hashsize}) is MANAGED by the call: the ruleset of family ipv4 owns the managed sets of family
inet, the ruleset of ipv6 those of family inet6 (the roles name them NAME and NAME6). A bare
member list keeps its old meaning (a set made by an earlier task, read for the check and the
lockout preflight only).

SetTransaction holds the steps for one family, called by iptables_ruleset_apply.RulesetApply in
this order (the steps of the whole transaction are in iptables_transaction):

  read()            ipset list -n, ipset save NAME of every managed set (kept byte for byte), and
                    for a type change the kernel's reference count
  plan()            one ipset_host.SetChange per set (refuses a type change of a set in use, naming
                    it, before anything changes); the persisted sets file's new text
  create_missing()  the sets that do not exist, created with their members (temporary set + rename)
                    BEFORE iptables-restore --test (iptables refuses a rule naming a missing set);
                    undo_created() destroys them again if anything fails before the point of no return
  contents()        the NEW members, for the lockout preflight
  revert_record()   what the window's revert runs after restoring the rules: the previous content of
                    every changed set (its ipset save, rebuilt in a temporary set and swapped back)
                    and the destroy of the sets this call created; data only, stored in T.json
  apply()           the changed sets, each through a temporary set + swap (or rebuild when nothing
                    references it), before the rules, in the same window
  revert()          the same revert synchronously (a failure without a window)

Nothing here writes a file: the persisted sets file is written after the confirmation
(iptables_confirm, from the record) or, without a window, after the rules are applied.
"""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as model
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_host import IpsetCommands, persist_plan, plan_change

__metaclass__ = type

SET_FAMILY = {'ipv4': 'inet', 'ipv6': 'inet6'}


def managed_specs(declared, family):
    """{name: (SetSpec, keys)} of the managed sets (dict values) of O(ipsets) whose family is that of
    the ruleset FAMILY ('ipv4' or 'ipv6'). Values are checked by ipset_model.check_declared first;
    raises FirewallError naming ipsets[NAME] and the member."""
    out = {}
    for name in sorted(declared or {}):
        value = declared[name]
        if not isinstance(value, dict) or value.get('family', 'inet') != SET_FAMILY[family]:
            continue
        try:
            spec = model.SetSpec(value.get('type', 'hash:net'), value.get('family', 'inet'), value.get('hashsize'),
                                 value.get('maxelem'))
            keys = model.parse_members(value.get('members') or [], spec, origin='ipsets[%s].members' % name)
        except model.IpsetError as exc:
            raise FirewallError('ipsets[%s]: %s' % (name, exc), field='ipsets')
        out[name] = (spec, keys)
    return out


def lists_of(declared):
    """O(ipsets) as {name: member list} (a managed set's members), for RulesetSets."""
    return dict((name, value.get('members') or [] if isinstance(value, dict) else value)
                for name, value in (declared or {}).items())


class SetTransaction:
    """The managed sets of one family's ruleset (see the module docstring)."""

    def __init__(self, module, family, declared, commands=None):
        self.module = module
        self.family = family
        self.wanted = managed_specs(declared, family)
        self.cmds = commands
        if self.wanted and self.cmds is None:
            self.cmds = IpsetCommands(module)
        self.names = []
        self.live = {}           # name -> LiveSet or None
        self.saved = {}          # name -> ipset save NAME text (the revert gives it back byte for byte)
        self.changes = {}        # name -> SetChange
        self.created = []        # sets this call created (destroyed by undo_created / the revert)
        self.applied = False     # a live set was changed by apply() (a revert is owed)
        self.reverts = {}        # name -> the temporary name of its revert
        self.persist = None      # ipset_host.persist_plan of the managed sets (None: not persisted)

    def __bool__(self):
        return bool(self.wanted)

    @property
    def changed(self):
        return any(change.method != 'none' for change in self.changes.values())

    # ---- read and plan (change nothing) ---------------------------------------------------
    def read(self):
        if not self.wanted:
            return self
        self.names = self.cmds.names()
        for name in self.wanted:
            self.live[name], self.saved[name] = self.cmds.live(name, self.names)
        return self

    def plan(self):
        taken = set(self.names)
        for name, (spec, keys) in self.wanted.items():
            live = self.live.get(name)
            in_use = False
            if live is not None and not live.spec.swappable(spec):
                refs = self.cmds.kernel_references(name)
                in_use = refs and '%d kernel reference(s) (iptables rules)' % refs
            change = plan_change(name, spec, keys, live, sorted(taken), in_use)
            if change.tmp:
                taken.add(change.tmp)
            self.changes[name] = change
        for name, change in self.changes.items():
            if change.method in ('swap', 'rebuild'):
                self.reverts[name] = model.temp_name(name, sorted(taken))
                taken.add(self.reverts[name])
        return self

    def plan_persist(self, os_release, path):
        """The persisted sets file with the managed sets' blocks (ipset_host.persist_plan)."""
        if self.wanted:
            self.persist = persist_plan(os_release, path, dict(self.wanted), option='ipsets_persist_path')
        return self.persist

    def report(self):
        """The result key ipsets of this family: per set the method, counts and samples."""
        out = {}
        for name, (spec, keys) in self.wanted.items():
            live = self.live.get(name)
            added, removed = model.diff(live.keys if live is not None else set(), keys)
            out[name] = {'method': self.changes[name].method if name in self.changes else 'none',
                         'family': spec.family, 'type': spec.set_type, 'count': len(keys),
                         'added': len(added), 'removed': len(removed),
                         'added_sample': model.sample(added, spec.set_type),
                         'removed_sample': model.sample(removed, live.spec.set_type if live is not None else spec.set_type)}
        return out

    def diffs(self):
        """Diff entries of the changed sets (samples, like the ipset module's)."""
        out = []
        for name, info in sorted(self.report().items()):
            if info['method'] == 'none':
                continue
            spec = self.wanted[name][0]
            live = self.live.get(name)
            before = (live.spec.create_line(name) + '\n') if live is not None else ''
            before += ''.join('add %s %s\n' % (name, m) for m in info['removed_sample'])
            after = spec.create_line(name) + '\n' + ''.join('add %s %s\n' % (name, m) for m in info['added_sample'])
            out.append({'before_header': 'ipset %s (live)' % name, 'after_header': 'ipset %s (desired)' % name,
                        'before': before, 'after': after})
        return out

    def contents(self):
        """{name: networks} of the NEW members (the lockout preflight reads what will be live)."""
        out = {}
        for name, (spec, keys) in self.wanted.items():
            nets = model.lockout_networks(model.LiveSet(name, spec, keys, 0))
            if nets is not None:
                out[name] = nets
        return out

    # ---- before the point of no return --------------------------------------------------
    def create_missing(self):
        """Create the managed sets that do not exist, with their members (nothing references them
        yet), so that iptables-restore --test can run. Raises FirewallError (the half-made
        temporary set destroyed; the sets created before it are destroyed by undo_created)."""
        for name, change in self.changes.items():
            if change.method == 'create':
                self.cmds.apply(change)
                self.created.append(name)

    def undo_created(self):
        """Destroy the sets create_missing() made (before the point of no return: no rule uses them)."""
        problems = []
        while self.created:
            name = self.created.pop()
            rc, out, err = self.cmds.run(['destroy', name])
            if rc != 0:
                problems.append('%s (%s)' % (name, ' '.join((err or out).split())))
        return problems

    # ---- the apply and its revert -----------------------------------------------------------
    def revert_record(self):
        """What the revert runs after the rules are restored, in order: {'restore': [ipset restore
        payloads giving each changed set its previous content], 'destroy': [sets this call created]}."""
        restore = []
        for name, change in self.changes.items():
            if change.method in ('swap', 'rebuild'):
                restore.append({'name': name, 'payload': model.render_restore_previous(
                    name, self.saved[name], self.reverts[name], swap=change.method == 'swap')})
        return {'restore': restore, 'destroy': list(self.created)}

    def apply(self):
        """The changed sets, each built in a temporary set and swapped in (rebuilt when nothing
        references it). Raises FirewallError; applied says whether a live set changed already."""
        for change in self.changes.values():
            if change.method in ('swap', 'rebuild'):
                self.cmds.apply(change)
                self.applied = True

    def revert(self, rules_restored=True):
        """Give every changed set its previous content and destroy the created sets (once the rules
        that use them are gone: RULES_RESTORED). Returns the problems (empty: all back)."""
        return model.revert_sets(self.cmds.run, self.revert_record() if rules_restored else dict(self.revert_record(), destroy=[]))
