# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The applier: the one way every module of the collection changes the live ruleset.

FamilyApplier holds the steps of one family, in the order an apply takes them: read the live
tables (iptables-save, parsed by the model), iptables-restore --test, settle (refuse while a
confirm-or-revert window of the family is open, revert a stale one), iptables-restore (with
--noflush when the runner was made so), read back and verify against the prediction. Between
the test and the restore, lockout_check() evaluates the resulting filter table for the SSH
session the module runs in (iptables_lockout). Every apply holds ApplyLock (iptables_host) from
its first read to its last check, so that two applies on one host, whatever modules run them,
take turns.

Two pipelines are built on it:
- run_change() here: a granular change (iptables_rule, iptables_nat, iptables_chain,
  iptables_policy). A module builds a Change from its parameters; Apply plans every family
  before anything changes, tests, runs the lockout check on a changed filter table, reads the
  changed families again right before the write (still under the lock: a program that does not
  take it, Docker, fail2ban, kube-proxy, may have edited a chain since the plan; then it plans,
  tests and checks again against the re-read), restores with --noflush (only the touched chains;
  deletes by rule specification, never by number) and verifies the touched chains.
- iptables_ruleset_apply.run_ruleset(): whole rulesets (iptables_ruleset), which add the
  confirm-or-revert window and persisting on top of the same steps.
Errors are FirewallError (errors.py) or IptablesCommandError (iptables_runner), converted to a
failure result by failure() or by the ruleset pipeline. Commands run through IptablesRunner.
"""

from __future__ import annotations

import difflib
import ipaddress
import os

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import empty_table, parse_or_empty
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    Ruleset,
    TABLES,
    render_table,
)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import ApplyLock, excerpt, session_ssh_connection
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

    def read(self, tables=None, known=None):
        """(iptables-save text, Ruleset). tables: parse only these tables (a table the kernel does not
        print is pristine), so that a rule the model does not understand elsewhere does not stop a
        change; None: every printed table. known: a Ruleset whose rules the live one probably holds
        (the desired or the predicted one): their lines are not parsed again (iptables_model.parse)."""
        text = self.runner.save()
        if tables is not None:
            return text, Ruleset(self.family, parse_tables(text, self.family, tables))
        try:
            return text, parse_or_empty(text, family=self.family, known=known)
        except ParseError as exc:
            raise FirewallError('cannot understand the live ruleset printed by %s (please report this): %s'
                                % (_tool(self.family), exc), before=text)

    def test(self, text):
        """iptables-restore --test: changes nothing; raises IptablesCommandError."""
        self.runner.test(text)

    def settle(self):
        """Refuse while a confirm-or-revert window of this family is open (its timer would later
        restore the ruleset from before the window, undoing this change); revert a stale one.
        Runs before every apply, changed or not (see settle_all)."""
        settle_all([self])

    def restore(self, text):
        self.runner.restore(text)
        self.applied = True

    def verify(self, predicted, scope, every_table=False):
        """Read the live ruleset back and compare it with predicted ({table: Table}). scope:
        {table: None (the whole table) or [chain names]}. Returns the live Ruleset of the tables in
        scope (of every table with every_table); raises FirewallError (with the diff; its attribute
        live holds the live text of the tables in scope) when they differ."""
        if every_table:
            dummy, live = self.read(None, known=Ruleset(self.family, dict(predicted)))
        else:
            dummy, live = self.read(list(scope))
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


def open_window(busy):
    """The result key open_window of a refusal: the windows of RollbackBusy errors BUSY, which the
    action plugin of iptables_ruleset confirms over a new connection before running the task again.
    {tokens, families, remaining (seconds until the last deadline)}."""
    return {'tokens': [exc.token for exc in busy], 'families': [exc.family for exc in busy],
            'remaining': round(max(max(exc.remaining, 0) for exc in busy), 1)}


def settle_all(appliers):
    """Before anything is read for an apply, changed or not: revert the stale windows of the
    appliers' families (deadline passed, timer gone), and refuse while one is open, with every open
    window of those families in the error's open_window (see open_window). A run that found its
    ruleset live and unchanged must not report ok while the timer of an earlier window still
    restores the ruleset from before it: that window is confirmed first (by the action plugin, over
    a new connection) or this run fails. Raises FirewallError."""
    busy = []
    for applier in appliers:
        try:
            rollback.settle(rollback.STATE_DIR, applier.family, applier.runner.restore_argv())
        except rollback.RollbackBusy as exc:
            busy.append(exc)
        except rollback.StateDirError as exc:
            raise FirewallError(str(exc))
    if busy:
        raise FirewallError('; '.join(str(exc) for exc in busy), open_window=open_window(busy))


def open_windows_warning(families):
    """Check mode: a warning naming the open windows of FAMILIES (read only), or None."""
    state_dir = rollback.STATE_DIR
    if not os.path.isdir(state_dir) or os.path.islink(state_dir):
        return None
    try:
        found = [(token, meta) for family in families for token, meta in rollback.pending(state_dir, family)]
    except (IOError, OSError, KeyError, TypeError):
        return None
    if not found:
        return None
    shown = ', '.join('%s, token %s, %.0f s left' % (meta.get('family'), token, max(meta['remaining'], 0))
                      for token, meta in found)
    return ('a confirm-or-revert window is open (%s): a run without check mode confirms it over a new connection '
            'before changing anything, or fails' % shown)


def ssh_session(params):
    """The SSH session the lockout check protects, the same for every module: params['ssh_connection'],
    or when that is None session_ssh_connection(); '' when there is none. The one parser of the
    option (iptables_lockout.parse_ssh_connection, ASCII digits only): a malformed value raises
    FirewallError naming ssh_connection (or the session's SSH_CONNECTION) and the value, escaped
    and shortened. Modules call it before anything changes."""
    given = params.get('ssh_connection')
    ssh = (session_ssh_connection() if given is None else given).strip()
    if not ssh:
        return ''
    # the evaluator is imported when a module needs it: an unchanged run does not compile it
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import parse_ssh_connection
    try:
        parse_ssh_connection(ssh)
    except ValueError as exc:
        where = 'ssh_connection' if given is not None else "the session's SSH_CONNECTION (set ssh_connection to override it)"
        raise FirewallError('%s must read "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT" (ASCII digits), not \'%s\': %s'
                            % (where, excerpt(ssh, 120), _problem(exc)), field='ssh_connection', value=excerpt(ssh, 120))
    return ssh


def _problem(exc):
    """What parse_ssh_connection found wrong, without the whole value again."""
    text = str(exc)
    if 'mixes IPv4 and IPv6' in text:
        return 'it mixes IPv4 and IPv6 addresses'
    cut = text.find(' in SSH_CONNECTION')
    if cut > 0:
        return excerpt(text[:cut], 80)
    return 'four fields separated by spaces are needed'


def lockout_check(ruleset, params, sets=None, hint=None):
    """The lockout preflight of an apply, the same for every module: evaluate the filter table of
    ruleset (the Ruleset of one family as it will be) for the packets of the SSH session this
    module runs in (params['ssh_connection'], or when that is None session_ssh_connection()).

    Returns the report of iptables_lockout.preflight with its status: disabled (lockout_check
    false), skipped (no SSH session, or one of the other family; reason says which), safe or
    undecided (the caller warns). Raises FirewallError (lockout=report) when the session's packets
    would be dropped or rejected: nothing has changed then. hint: what else protects the session.
    sets: None, or a function returning the contents of the ipsets the rules match (called only
    when the preflight runs: reading live sets costs an ipset call)."""
    if not params.get('lockout_check', True):
        return {'status': 'disabled'}
    ssh = ssh_session(params)
    if not ssh:
        return {'status': 'skipped', 'reason': 'no SSH session to protect (local or container connection, '
                                               'or ssh_connection empty)'}
    client = ipaddress.ip_address(ssh.split()[0].split('%', 1)[0])
    mapped = getattr(client, 'ipv4_mapped', None)
    version = 4 if (client.version == 4 or mapped is not None) else 6
    if version != (4 if ruleset.family == 'ipv4' else 6):
        return {'status': 'skipped', 'reason': 'the SSH session runs over IPv%d, this change is %s' % (version, ruleset.family)}
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import preflight
    try:
        report = dict(preflight(ruleset, ssh, sets=sets() if sets is not None else None))
    except ValueError as exc:
        raise FirewallError('lockout check: %s' % exc)
    if report.get('safe') is False:
        report['status'] = 'unsafe'
        raise FirewallError('refusing to apply: %s. Nothing was changed. Fix the rules, or set lockout_check: false%s.'
                            % (report.get('message'), ' (%s)' % hint if hint else ''), lockout=report)
    report['status'] = 'undecided' if report.get('safe') is None else 'safe'
    return report


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
