# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The applier: the one way every module of the collection changes the live ruleset.

FamilyApplier holds the steps of one family, in the order an apply takes them: read the live
tables (iptables-save, parsed by the model), iptables-restore --test, settle (refuse while a
confirm-or-revert window of the family is open, revert a stale one), iptables-restore (with
--noflush when the runner was made so), read back and verify against the prediction. Every
apply holds ApplyLock (iptables_host) from its first read to its last check, so that two
applies on one host, whatever modules run them, take turns.

Two pipelines are built on it:
- run_change() here: a granular change (iptables_rule, iptables_nat, iptables_chain,
  iptables_policy). A module builds a Change from its parameters; Apply plans every family
  before anything changes, tests, restores with --noflush (only the touched chains) and
  verifies the touched chains.
- iptables_ruleset_apply.run_ruleset(): whole rulesets (iptables_ruleset), which add the lockout
  preflight, the confirm-or-revert window and persisting on top of the same steps.
Errors are FirewallError (errors.py) or IptablesCommandError (iptables_runner), converted to a
failure result by failure() or by the ruleset pipeline. Commands run through IptablesRunner.
"""

from __future__ import annotations

import difflib

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import empty_table, parse_or_empty
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    Ruleset,
    TABLES,
    render_table,
)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import ApplyLock
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import (
    FAMILIES,
    SpecError,
    check_empty_lists,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_planner import (
    _chains_text,
    parse_tables,
    payload,
    plans_text,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import IptablesCommandError, IptablesRunner

__metaclass__ = type


def NoflushRunner(module, family, wait):  # pylint: disable=invalid-name
    """An IptablesRunner whose restores (and --test runs) edit tables with --noflush."""
    return IptablesRunner(module, family, wait, noflush=True)


def _tool(family):
    return 'iptables-save' if family == 'ipv4' else 'ip6tables-save'


class FamilyApplier:
    """The steps of an apply in one family (see the module docstring). runner: an IptablesRunner
    (or anything with save(), test(payload), restore(payload) and restore_argv())."""

    def __init__(self, runner, family):
        self.runner = runner
        self.family = family
        # True once iptables-restore has changed the live ruleset (a later failure still changed it)
        self.applied = False

    def read(self, tables=None):
        """(iptables-save text, Ruleset). tables: parse only these tables (a table the kernel does not
        print is pristine), so that a rule the model does not understand elsewhere does not stop a
        change; None: every printed table."""
        text = self.runner.save()
        if tables is not None:
            return text, Ruleset(self.family, parse_tables(text, self.family, tables))
        try:
            return text, parse_or_empty(text, family=self.family)
        except ParseError as exc:
            raise FirewallError('cannot understand the live ruleset printed by %s (please report this): %s'
                                % (_tool(self.family), exc), before=text)

    def test(self, text):
        """iptables-restore --test: changes nothing; raises IptablesCommandError."""
        self.runner.test(text)

    def settle(self):
        """Refuse while a confirm-or-revert window of this family is open (its timer would later
        restore the ruleset from before the window, undoing this change); revert a stale one."""
        try:
            rollback.settle(rollback.STATE_DIR, self.family, self.runner.restore_argv())
        except (rollback.RollbackBusy, rollback.StateDirError) as exc:
            raise FirewallError(str(exc))

    def restore(self, text):
        self.runner.restore(text)
        self.applied = True

    def verify(self, predicted, scope, every_table=False):
        """Read the live ruleset back and compare it with predicted ({table: Table}). scope:
        {table: None (the whole table) or [chain names]}. Returns the live Ruleset of the tables in
        scope (of every table with every_table); raises FirewallError (with the diff; its attribute
        live holds the live text of the tables in scope) when they differ."""
        dummy, live = self.read(None if every_table else list(scope))
        wrong = []
        for name, chains in scope.items():
            want, got = predicted.get(name) or empty_table(name), live.tables.get(name) or empty_table(name)
            if chains is None:
                if want != got:
                    wrong.append((name, None))
                continue
            for chain in chains:
                a, b = want.chains.get(chain), got.chains.get(chain)
                if (a is None) != (b is None) or (a is not None and (a.policy != b.policy or a.keys() != b.keys())):
                    wrong.append((name, chain))
        if not wrong:
            return live
        lines = []
        for name, chain in wrong:
            want, got = predicted.get(name) or empty_table(name), live.tables.get(name) or empty_table(name)
            if chain is None:
                expect, actual, where = render_table(want), render_table(got), '%s %s' % (self.family, name)
            else:
                expect, actual = _chains_text(want, [chain]), _chains_text(got, [chain])
                where = '%s %s %s' % (self.family, name, chain)
            lines.extend(difflib.unified_diff(expect.splitlines(), actual.splitlines(), 'predicted ' + where,
                                              'live ' + where, lineterm=''))
        shown = ', '.join(' '.join([self.family, name] + ([chain] if chain else [])) for name, chain in wrong)
        error = FirewallError('iptables-restore succeeded but the live rules differ from the prediction in %s; '
                              'another program may have changed them meanwhile:\n%s' % (shown, '\n'.join(lines)))
        error.live = ''.join(render_table(live.tables[n]) for n in scope if n in live.tables)
        raise error


class Apply:
    """Plan, check, apply and verify a granular change in one or two families.

    runners: {family: runner with save(), test(payload), restore(payload)}.
    planner: function(family, live) -> list of TablePlans, where live is {table: Table} of the
    tables named in tables.
    lock: a context manager (iptables_host.ApplyLock) held from plan() to the end of run().
    Before restoring, a family with an open confirm-or-revert window is refused.
    """

    def __init__(self, runners, tables, planner, lock=None):
        self.appliers = dict((family, FamilyApplier(runner, family)) for family, runner in runners.items())
        self.tables = [t for t in TABLES if t in tables]
        self.planner = planner
        self.plans = {}
        self.result = {'changed': False}
        self.lock = lock
        self._locked = False

    @property
    def applied(self):
        return any(applier.applied for applier in self.appliers.values())

    def _take_lock(self):
        if self.lock is None or self._locked:
            return
        self.lock.__enter__()
        self._locked = True

    def release(self):
        """Release the lock (also released by the kernel when the module's process ends)."""
        if self._locked:
            self._locked = False
            self.lock.__exit__(None, None, None)

    def plan(self):
        self._take_lock()
        try:
            for family in FAMILIES:
                if family in self.appliers:
                    dummy, live = self.appliers[family].read(self.tables)
                    self.plans[family] = self.planner(family, live.tables)
        except Exception:
            self.release()
            raise
        self.result.update({
            'changed': any(p.changed for plans in self.plans.values() for p in plans),
            'before': dict((f, plans_text(p, 'before')) for f, p in self.plans.items()),
            'after': dict((f, plans_text(p, 'after')) for f, p in self.plans.items()),
            'payload': dict((f, payload(p)) for f, p in self.plans.items()),
        })
        return self.result

    def diffs(self):
        out = []
        for family, plans in self.plans.items():
            for plan in plans:
                if plan.changed:
                    out.append({
                        'before_header': '%s table %s (live)' % (family, plan.name),
                        'after_header': '%s table %s (after)' % (family, plan.name),
                        'before': _chains_text(plan.before, plan.touched),
                        'after': _chains_text(plan.after, plan.touched),
                    })
        return out

    def run(self, check_mode=False):
        """Test every payload, then (unless check_mode) restore and verify. Returns the result."""
        try:
            todo = [(f, self.result['payload'][f]) for f in self.plans if self.result['payload'][f]]
            for family, text in todo:
                self.appliers[family].test(text)
            if check_mode:
                return self.result
            if self.lock is not None:
                for family, dummy in todo:
                    self.appliers[family].settle()
            for family, text in todo:
                self.appliers[family].restore(text)
                self.verify(family)
            return self.result
        finally:
            self.release()

    def verify(self, family):
        plans = self.plans[family]
        self.appliers[family].verify(dict((p.name, p.after) for p in plans), dict((p.name, list(p.touched)) for p in plans))


def failure(exc, apply=None):
    """The keys of a failure result for a FirewallError or an IptablesCommandError."""
    out = {}
    if apply is not None:
        for key in ('before', 'after', 'payload'):
            if key in apply.result:
                out[key] = apply.result[key]
    if isinstance(exc, FirewallError):
        out.update(exc.extra)
        msg = exc.msg
    else:
        out.update(exc.to_result())
        msg = out.pop('msg')
        if getattr(exc, 'line', None) is not None:
            out['line'] = exc.line
            out['lineno'] = exc.lineno
    out['changed'] = bool(apply is not None and apply.applied)
    return msg, out


class Change:
    """What one granular task asks for: the families and tables it touches, a planner
    function(family, live) -> [TablePlan], and a function returning the result keys the module
    adds once every family is planned (rules, references)."""

    def __init__(self, families, tables, planner, result=None):
        self.families = families
        self.tables = tables
        self.planner = planner
        self.extra = result or dict


def run_change(params, spec, describe, runner, check_mode=False, diff=False, allow=()):
    """The whole pipeline of a granular task. Returns (ok, result); when ok is False the result
    holds msg and the failure keys, and the live tables are as they were unless result['changed'].

    params/spec: the module's parameters and argument spec (empty lists are refused, naming the
    option, except for the options in allow). describe(params) -> Change, raising SpecError on
    bad input. runner(family, wait) -> an IptablesRunner (with noflush=True).
    """
    apply = None
    try:
        check_empty_lists(params, spec, allow=allow)
        if not 0 <= params['wait'] <= 300:
            raise SpecError('wait must be between 0 and 300 seconds, not %d' % params['wait'], 'wait', params['wait'])
        change = describe(params)
        runners = dict((f, runner(f, params['wait'])) for f in change.families)
        apply = Apply(runners, change.tables, change.planner, lock=ApplyLock(params['wait']))
        apply.plan()
        apply.result.update(change.extra())
        if diff:
            apply.result['diff'] = apply.diffs()
        return True, apply.run(check_mode)
    except (FirewallError, IptablesCommandError) as exc:
        msg, extra = failure(exc, apply)
        extra['msg'] = msg
        return False, extra
