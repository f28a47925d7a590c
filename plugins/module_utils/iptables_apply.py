# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Applying a granular change: the pipeline the granular modules (iptables_rule, iptables_nat,
iptables_chain, iptables_policy) share.

Apply, under the apply lock that iptables_ruleset takes too, reads the live tables of each
family, plans every family before anything changes, runs iptables-restore --test --noflush,
refuses a family with an open confirm-or-revert window, then the real restore (one per family),
reads the tables back and fails loudly when a touched chain differs from the prediction.
run_change() is the whole pipeline of one task: a module builds a Change from its parameters
and returns what run_change() returns. Commands run through iptables_runner.IptablesRunner.
"""

from __future__ import annotations

import difflib

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    TABLES,
)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import ApplyLock, HostError
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


class Apply:
    """Plan, check, apply and verify a granular change in one or two families.

    runners: {family: runner with save(), test(payload), restore(payload)}.
    planner: function(family, live) -> list of TablePlans, where live is {table: Table} of the
    tables named in tables.
    lock: a context manager (iptables_host.ApplyLock) held from plan() to the end of run(), the
    same lock iptables_ruleset takes, so that a granular change and a ruleset apply on one host
    run one after the other. Before restoring, a family with an open confirm-or-revert window is
    refused (its timer would later restore the ruleset from before the window, undoing this change).
    """

    def __init__(self, runners, tables, planner, lock=None):
        self.runners = runners
        self.tables = [t for t in TABLES if t in tables]
        self.planner = planner
        self.plans = {}
        self.applied = False
        self.result = {'changed': False}
        self.lock = lock
        self._locked = False

    def _take_lock(self):
        if self.lock is None or self._locked:
            return
        try:
            self.lock.__enter__()
        except HostError as exc:
            raise SpecError(exc.msg)
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
                if family not in self.runners:
                    continue
                live = parse_tables(self.runners[family].save(), family, self.tables)
                self.plans[family] = self.planner(family, live)
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
                self.runners[family].test(text)
            if check_mode:
                return self.result
            if self.lock is not None:
                for family, dummy in todo:
                    try:
                        rollback.settle(rollback.STATE_DIR, family, self.runners[family].restore_argv())
                    except (rollback.RollbackBusy, rollback.StateDirError) as exc:
                        raise SpecError(str(exc))
            for family, text in todo:
                self.runners[family].restore(text)
                self.applied = True
                self.verify(family)
            return self.result
        finally:
            self.release()

    def verify(self, family):
        live = parse_tables(self.runners[family].save(), family, [p.name for p in self.plans[family]])
        wrong = []
        for plan in self.plans[family]:
            got = live[plan.name]
            for name in plan.touched:
                a, b = plan.after.chains.get(name), got.chains.get(name)
                if (a is None) != (b is None) or (a is not None and (a.policy != b.policy or a.keys() != b.keys())):
                    wrong.append((plan, name))
        if wrong:
            lines = []
            for plan, name in wrong:
                expect = _chains_text(plan.after, [name]).splitlines()
                actual = _chains_text(live[plan.name], [name]).splitlines()
                lines.extend(difflib.unified_diff(expect, actual, 'predicted %s %s %s' % (family, plan.name, name),
                                                  'live %s %s %s' % (family, plan.name, name), lineterm=''))
            raise SpecError('iptables-restore succeeded but the live rules differ from the prediction in %s; another '
                            'program may have changed them meanwhile:\n%s'
                            % (', '.join('%s %s %s' % (family, p.name, n) for p, n in wrong), '\n'.join(lines)))


def failure(exc, apply=None):
    """The keys of a failure result for a SpecError or an IptablesCommandError."""
    out = {}
    if apply is not None:
        for key in ('before', 'after', 'payload'):
            if key in apply.result:
                out[key] = apply.result[key]
    if isinstance(exc, SpecError):
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
    except (SpecError, IptablesCommandError) as exc:
        msg, extra = failure(exc, apply)
        extra['msg'] = msg
        return False, extra
