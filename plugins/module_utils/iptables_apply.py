# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The granular pipeline: how iptables_rule, iptables_nat, iptables_chain and iptables_policy change the
live ruleset, on the applier (iptables_applier.FamilyApplier: read, --test, settle, restore, verify,
under ApplyLock; with lockout_check(), settle_all() and ssh_session(), which the whole-ruleset
pipeline of iptables_ruleset uses as well).

run_change() is a granular task: a module builds a Change from its parameters; Apply plans every
family before anything changes (iptables_planner), tests, runs the lockout check on a changed
filter table, reads the changed families again right before the write (still under the lock: a
program that does not take it, Docker, fail2ban, kube-proxy, may have edited a chain since the
plan; then it plans, tests and checks again against the re-read), restores with --noflush (only
the touched chains; deletes by rule specification, never by number) and verifies the touched
chains. Errors are FirewallError (errors.py) or IptablesCommandError (iptables_runner), converted to
a failure result by failure(). Commands run through IptablesRunner.
"""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    Ruleset,
    TABLES,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import ApplyLock
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_applier import (
    FamilyApplier,
    lockout_check,
    open_windows_warning,
    settle_all,
    ssh_session,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import (
    FAMILIES,
    SpecError,
    check_empty_lists,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_planner import (
    payload,
    plans_text,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_tables import chains_text
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
    lock: a context manager (iptables_host.ApplyLock) held from plan() to the end of run().
    lockout: the module's parameters lockout_check and ssh_connection, or None for no lockout check.
    After --test, a change of a filter table goes through the lockout preflight (lockout_check);
    before restoring, a family with an open confirm-or-revert window is refused.
    """

    def __init__(self, runners, tables, planner, lock=None, lockout=None):
        # families planned again against a re-read before the write (see reread)
        self.replanned = []
        self.appliers = dict((family, FamilyApplier(runner, family)) for family, runner in runners.items())
        self.tables = [t for t in TABLES if t in tables]
        self.planner = planner
        self.plans = {}
        self.result = {'changed': False}
        self.lock = lock
        self._locked = False
        self.lockout = lockout
        # warnings for the module to give (module.warn), in order
        self.warnings = []

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
        self._plan_result()
        return self.result

    def _plan_result(self):
        self.result.update({
            'changed': any(p.changed for plans in self.plans.values() for p in plans),
            'before': dict((f, plans_text(p, 'before')) for f, p in self.plans.items()),
            'after': dict((f, plans_text(p, 'after')) for f, p in self.plans.items()),
            'payload': dict((f, payload(p)) for f, p in self.plans.items()),
        })

    def reread(self, family):
        """Right before the write, under the apply lock: read the family's tables again. A program
        that does not take the lock (Docker, fail2ban, kube-proxy) may have edited them since the plan,
        shifting the rule numbers the -I positions were computed on. When a planned table changed, plan
        again against the re-read (the positions come from it), --test the new payload; the lockout
        check then runs again (check_lockout). A change that cannot be planned any more fails, naming
        the chains that changed, with nothing changed. Returns the names of the changed chains."""
        dummy, live = self.appliers[family].read(self.tables)
        moved = []
        for plan in self.plans[family]:
            now = live.tables.get(plan.name)
            if now is None or now == plan.before:
                continue
            for name in sorted(set(plan.before.chains) | set(now.chains)):
                a, b = plan.before.chains.get(name), now.chains.get(name)
                if (a is None) != (b is None) or (a is not None and (a.policy != b.policy or a.keys() != b.keys())):
                    moved.append('%s %s %s' % (family, plan.name, name))
        if not moved:
            return moved
        try:
            plans = self.planner(family, live.tables)
        except FirewallError as exc:
            raise FirewallError('the chain(s) %s changed between the plan and the write (another program edited '
                                'them) and the change cannot be planned again: %s. Nothing was changed; run the task '
                                'again.' % (', '.join(moved), exc.msg), changed_chains=moved)
        self.plans[family] = plans
        self.replanned.append(family)
        self.warnings.append('the chain(s) %s changed between the plan and the write (another program edited them): '
                             'the change was planned again against the re-read live tables' % ', '.join(moved))
        self._plan_result()
        text = self.result['payload'][family]
        if text:
            self.appliers[family].test(text)
        return moved

    def diffs(self):
        out = []
        for family, plans in self.plans.items():
            for plan in plans:
                if plan.changed:
                    out.append({
                        'before_header': '%s table %s (live)' % (family, plan.name),
                        'after_header': '%s table %s (after)' % (family, plan.name),
                        'before': chains_text(plan.before, plan.touched),
                        'after': chains_text(plan.after, plan.touched),
                    })
        return out

    def run(self, check_mode=False):
        """Test every payload, then (unless check_mode) restore and verify. Returns the result."""
        try:
            todo = [(f, self.result['payload'][f]) for f in self.plans if self.result['payload'][f]]
            for family, text in todo:
                self.appliers[family].test(text)
            self.check_lockout()
            if check_mode:
                warning = open_windows_warning(list(self.plans)) if self.lock is not None else None
                if warning:
                    self.warnings.append(warning)
                return self.result
            if self.lock is not None:
                # every family of the task, changed or not: an unchanged result must not hide an open window
                settle_all([self.appliers[family] for family in FAMILIES if family in self.plans])
            # every changed family read again before the first write: a refusal then changes nothing
            moved = []
            for family, dummy in todo:
                moved.extend(self.reread(family))
            if moved:
                self.check_lockout()
            for family in [family for family, dummy in todo]:
                text = self.result['payload'][family]
                if text:
                    self.appliers[family].restore(text)
                    self.verify(family)
            return self.result
        finally:
            self.release()

    def check_lockout(self):
        """lockout_check() of every changed filter table; the reports go to result['lockout'] by family."""
        if self.lockout is None:
            return
        reports = {}
        for family, plans in self.plans.items():
            for plan in plans:
                if plan.name == 'filter' and plan.changed:
                    reports[family] = lockout_check(Ruleset(family, {'filter': plan.after}), self.lockout,
                                                    hint='or change the rules in an order that keeps the session')
        self.result['lockout'] = reports

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


def run_change(module, describe, allow=()):
    """The whole pipeline of a granular task: exits or fails the module. On failure the live tables
    are as they were unless the result says changed.

    module: the AnsibleModule (its argument spec: empty lists are refused, naming the option,
    except for the options in allow). describe(params) -> Change, raising SpecError on bad input.
    Runs the lockout check when the module has the option lockout_check; an undecided one warns.
    """
    params = module.params
    apply = None
    try:
        check_empty_lists(params, module.argument_spec, allow=allow)
        if not 0 <= params['wait'] <= 300:
            raise SpecError('wait must be between 0 and 300 seconds, not %d' % params['wait'], 'wait', params['wait'])
        if params.get('lockout_check') and params.get('ssh_connection') is not None:
            ssh_session(params)
        change = describe(params)
        runners = dict((f, NoflushRunner(module, f, params['wait'])) for f in change.families)
        lockout = params if 'lockout_check' in params else None
        apply = Apply(runners, change.tables, change.planner, lock=ApplyLock(params['wait']), lockout=lockout)
        apply.plan()
        apply.result.update(change.extra())
        result = apply.run(module.check_mode)
        if apply.replanned:
            result.update(change.extra())   # the rules and references of the re-read plan
        if module._diff:
            result['diff'] = apply.diffs()
    except (FirewallError, IptablesCommandError) as exc:
        msg, extra = failure(exc, apply)
        module.fail_json(msg=msg, **extra)
    for warning in apply.warnings:
        module.warn(warning)
    for family, report in sorted(result.get('lockout', {}).items()):
        if report.get('status') == 'undecided':
            module.warn('lockout check undecided (%s): %s' % (family, report.get('message')))
    module.exit_json(**result)
