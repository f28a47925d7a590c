# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One iptables_ruleset call is one Transaction: its steps are methods named after what they do,
run in this order by Transaction.run(), under the apply lock:

  read     an open window of the same families settled (refused, or a stale one reverted), then per
           family: the text of the desired ruleset (content or src), the managed address sets (ipset
           save), where to persist, every output path (a regular file or absent, in real directories,
           not in /proc, /sys or /dev), then the live ruleset (iptables-save, in a thread while the
           desired text is parsed: FamilyApplier.saving) and the record of earlier applies
  plan     per family: the managed sets' changes (a type change of a set in use refused), the ruleset
           plan (iptables_engine: ours as declared, neighbours' chains and rules kept, ours no longer
           declared and unknown ones removed), the result keys and the diff; then the kernel settings
           (option sysctl, sysctl_transaction.KernelSettings): /proc/sys and the sysctl.d file read, the
           changes planned and shared between the families' windows (net.ipv6.* with IPv6)
  check    per family: the missing managed sets created (no rule uses them yet; destroyed again if
           anything fails before the point of no return), the sets the rules name must exist,
           iptables-restore --test, the lockout preflight with the NEW set members; then the local
           fact and other firewall managers (refuse_managers). Nothing has changed yet.
  arm      per changed family (its rules, sets or share of the kernel settings), its confirm-or-revert
           window armed (rollback_timeout > 0; a Window: token, T.pending/T.json/T.rules written, with the
           previous kernel values and the sysctl.d file as data; the timer not started). A failure
           withdraws them.
  apply    the backups (option backup) of every changed family: the last refusal. Then, per family,
           the window's timer started (it applies the sets, then the rules, then the family's kernel
           settings, a moment after the answer; a revert restores the kernel settings first) or, without
           a window, the sets and the rules restored now and read back, then the kernel settings.
           ---- the point of no return: the first backup written or the first change made ----
  confirm  without a window the applied change was verified by apply: confirmed at once; with a
           window, the handover to the controller (result rollback: token(s), deadline; the action
           plugin confirms over a new connection, iptables_confirm then writes the files)
  write    without a window: the record of what we applied, the persisted rules (boot services
           enabled), the persisted sets, the copy (copy_dir), the sysctl.d file; then, always last, the
           local fact

A failure up to arm leaves everything as it was (the sets this call created destroyed, the armed
windows withdrawn). A failure from apply on withdraws every window whose timer has not applied, and
names what is live (live_state, per family) and what was written (written): past_no_return().

The work of one family is an iptables_ruleset_apply.RulesetApply (its step methods have the same
names; its state is a FamilyState, its window a Window). Another participant (the kernel settings,
like the sets' SetTransaction inside each family) is an object with any of the step methods
read/plan/check/arm/apply/confirm/write(transaction), and withdraw(transaction) for a failure from
apply on, appended to Transaction.participants: each step calls it after the families.
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_applier import (
    open_windows_warning,
    settle_all,
    ssh_session,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    ApplyLock,
    HostError,
    check_dir_path,
    enable_services_families,
    excerpt,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_outputs import Outputs
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_ruleset_apply import (
    MAX_APPLY_DELAY,
    MAX_ROLLBACK_TIMEOUT,
    MAX_WAIT,
    RulesetApply,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import IptablesCommandError
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_model import IpsetError, check_declared
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_transaction import KernelSettings

__metaclass__ = type

STEPS = ('read', 'plan', 'check', 'arm', 'apply', 'confirm', 'write')


def live_state(worker):
    """What is live for WORKER's family after its run: changed (restored), pending (its window's
    timer applies a moment after the answer, reverted unless confirmed) or unchanged."""
    if worker.applied:
        return 'changed'
    return 'pending' if 'rollback' in worker.result else 'unchanged'


def past_no_return(exc, workers, written):
    """The error of a step after the first change (the backup, the restore or the start of a window,
    then persisting, the copy, the local fact, the boot services): the message and the result keys
    say what is live (live_state, by family) and which files this call wrote (written)."""
    states = dict((worker.family, live_state(worker)) for worker in workers)
    words = {'changed': 'the new %s ruleset is live', 'unchanged': 'the %s ruleset is as it was',
             'pending': 'the new %s ruleset is applied by its revert window (reverted at the deadline unless confirmed)'}
    live = '; '.join(words[state] % family for family, state in states.items())
    msg = '%s. %s%s; written: %s' % (exc.msg.rstrip('.'), live[:1].upper(), live[1:], ', '.join(written) if written else 'nothing')
    extra = dict(exc.extra)
    extra.update(live_state=states, written=list(written))
    return FirewallError(msg, **extra)


class Transaction:
    """One iptables_ruleset call (state=present): one family (content/src) or both (O(rulesets), one
    window per family, armed and started together). See the module docstring for the steps."""

    def __init__(self, module, runners=None):
        self.module = module
        params = module.params
        # O(rulesets): a result per family under families, the boot services of both enabled at once
        self.families_call = params.get('rulesets') is not None
        if self.families_call:
            self.workers = []
            for family in ('ipv4', 'ipv6'):
                content = params['rulesets'].get(family)
                if content is not None:
                    family_params = dict(params, family=family, content=content, src=None)
                    self.workers.append(RulesetApply(module, runner=(runners or {}).get(family), params=family_params))
            self.result = {'changed': False, 'families': {}}
        else:
            self.workers = [RulesetApply(module, runner=(runners or {}).get(params['family']))]
            self.result = self.workers[0].result
        self.outputs = Outputs(module)
        # other participants (see the module docstring): objects with step methods taking this transaction
        self.participants = []
        if params.get('sysctl') and params['state'] == 'present':
            # the kernel settings (option sysctl): planned here, applied in the windows after the rules
            self.participants.append(KernelSettings(module, params['sysctl'], [worker.family for worker in self.workers]))

    @property
    def applied(self):
        """True once a family's live state changed, or a window's timer was started (it applies)."""
        return any(worker.applied or 'rollback' in worker.result for worker in self.workers)

    def run(self):
        """The whole transaction under the apply lock; returns the result. Raises FirewallError."""
        try:
            with ApplyLock(self.module.params['wait']):
                try:
                    self.settle()
                    self.read()
                    self.plan()
                    self.check()
                    self.arm()
                    try:
                        self.apply()      # the point of no return
                        self.confirm()
                        self.write()
                    except FirewallError as exc:
                        raise self.failed_after_arm(exc)
                except Exception:
                    # under the lock (a started timer has applied nothing): the sets this call created go again
                    self.abandon()
                    raise
        except HostError as exc:
            raise FirewallError(exc.msg, **exc.extra)
        except IptablesCommandError as exc:
            raise self.command_failure(exc)
        return self.report()

    def participate(self, step):
        for participant in self.participants:
            method = getattr(participant, step, None)
            if method is not None:
                method(self)

    # ---- the steps, in order -------------------------------------------------------------
    def read(self):
        """Read every family (Transaction.run has settled the open windows first). Changes nothing."""
        for worker in self.workers:
            worker.read()
        self.participate('read')

    def settle(self):
        """Before the live rulesets are read, changed or not: refuse while a window of these families is
        open (one error names every open window: the action plugin confirms it over a new connection and
        runs the task again), revert a stale one (iptables_apply.settle_all). Check mode only warns."""
        if self.module.check_mode:
            warning = open_windows_warning([worker.family for worker in self.workers])
            if warning:
                self.module.warn(warning)
            return
        settle_all([worker.applier for worker in self.workers])

    def plan(self):
        for worker in self.workers:
            worker.plan()
        self.participate('plan')

    def check(self):
        for worker in self.workers:
            worker.check()
        # the local fact and the other firewall managers: validated and planned, nothing written
        self.outputs.prepare()
        self.participate('check')

    def arm(self):
        """Arm the window of every changed family (nothing applied). A failure withdraws those armed."""
        try:
            for worker in self.workers:
                worker.arm()
            self.participate('arm')
        except FirewallError:
            for worker in self.workers:
                if worker.state.window is not None:   # armed, its timer not started
                    worker.state.window.withdraw()
            raise

    def apply(self):
        # the backups of every family before the first change: a refused one changes nothing
        for worker in self.workers:
            worker.take_backup()
        for worker in self.workers:
            try:
                worker.apply()
            finally:
                self.result.get('families', {})[worker.family] = worker.result
        self.participate('apply')

    def confirm(self):
        for worker in self.workers:
            worker.confirm()
        windows = [worker.result['rollback'] for worker in self.workers if 'rollback' in worker.result]
        if windows and self.families_call:
            self.result['rollback'] = {
                'token': windows[0]['token'], 'tokens': [window['token'] for window in windows],
                'families': [worker.family for worker in self.workers if 'rollback' in worker.result],
                'timeout': windows[0]['timeout'], 'deadline': max(window['deadline'] or 0 for window in windows),
                'state_dir': windows[0]['state_dir'], 'timer_pid': windows[0]['timer_pid'],
                'apply_delay': windows[0]['apply_delay'],
            }
        self.participate('confirm')

    def write(self):
        services = [] if self.families_call else None
        for worker in self.workers:
            worker.services = services
            worker.write()
        if services:
            # one systemctl is-enabled for both families (Debian: one service restores both)
            try:
                enabled = enable_services_families(self.module, services)
            except HostError as exc:
                raise FirewallError(exc.msg, **exc.extra)
            for worker in self.workers:
                if worker.family in enabled:
                    # added to what the family's own write enabled (the persisted sets' boot service)
                    earlier = set(worker.result.get('services_enabled') or [])
                    worker.result['services_enabled'] = sorted(earlier.union(enabled[worker.family]))
                    worker.result['changed'] = worker.result['changed'] or bool(enabled[worker.family])
        self.participate('write')
        # the local fact last: nothing is written before the point of no return
        self.outputs.write()
        fact = self.outputs.fact
        if fact is not None and not fact['same'] and not self.module.check_mode:
            self.workers[-1].written.append(fact['path'])

    # ---- the answer, and failures ----------------------------------------------------------
    def report(self):
        diffs = [entry for worker in self.workers for entry in worker.diffs]
        if self.families_call:
            self.result['changed'] = any(worker.result['changed'] for worker in self.workers)
        self.outputs.report(self.result, diffs)
        if self.module._diff:
            self.result['diff'] = diffs
        return self.result

    def failed_after_arm(self, exc):
        """A failure from apply on: withdraw every window whose timer has not applied (a started timer
        waits for the apply lock this call holds, then finds its window gone and applies nothing), and
        name what is live and what was written (past_no_return) once anything was."""
        for worker in self.workers:
            window = worker.state.window
            if window is not None and not worker.applied:
                window.withdraw()
                worker.result.pop('rollback', None)
                worker.result['changed'] = False
        self.participate('withdraw')
        written = [path for worker in self.workers for path in worker.written]
        if not written and not any(worker.applied for worker in self.workers):
            return exc
        return past_no_return(exc, self.workers, written)

    def abandon(self):
        for worker in self.workers:
            worker.abandon()

    def command_failure(self, exc):
        """An iptables command failed outside the steps that explain it: named for the last family read."""
        if not self.families_call:
            worker = self.workers[0]
            return worker.command_failure(exc, before=worker.live_before())
        current = None
        for worker in self.workers:
            if worker.live_before() is not None:
                current = worker
        return (current or self.workers[0]).command_failure(exc)


def run_ruleset(module):
    """The body of iptables_ruleset after argument parsing: check the options the argument spec
    cannot, run the Transaction (or state=gathered), and exit or fail the module."""
    params = module.params
    if not 0 <= params['wait'] <= MAX_WAIT:
        module.fail_json(msg='wait must be between 0 and %d seconds, not %d' % (MAX_WAIT, params['wait']))
    if not 0 <= params['rollback_timeout'] <= MAX_ROLLBACK_TIMEOUT:
        module.fail_json(msg='rollback_timeout must be 0 (off) or up to %d seconds, not %d'
                         % (MAX_ROLLBACK_TIMEOUT, params['rollback_timeout']))
    if not 0 <= params['apply_delay'] <= MAX_APPLY_DELAY:
        module.fail_json(msg='apply_delay must be between 0 and %d seconds, not %s' % (MAX_APPLY_DELAY, params['apply_delay']),
                         field='apply_delay', value=params['apply_delay'])
    if params['copy_dir'] is not None:
        problem = check_dir_path('copy_dir', params['copy_dir'])
        if problem:
            module.fail_json(msg=problem, field='copy_dir', value=excerpt(params['copy_dir'], 200))
    try:
        # the members of the declared sets feed the lockout check: a list of strings each, checked first
        check_declared(params['ipsets'])
    except IpsetError as exc:
        module.fail_json(msg=to_native(exc), field='ipsets')
    if params['state'] == 'present' and params['lockout_check'] and params['ssh_connection'] is not None:
        try:
            ssh_session(params)
        except FirewallError as exc:
            module.fail_json(msg=exc.msg, **exc.extra)
    rulesets = params['rulesets']
    if params['state'] == 'gathered':
        worker = RulesetApply(module)
        run = worker.run_gathered
    else:
        if rulesets is not None and not any(value is not None for value in rulesets.values()):
            module.fail_json(msg='rulesets must give the ruleset of at least one family (ipv4, ipv6), not %s'
                             % excerpt(rulesets, 60), field='rulesets')
        worker = Transaction(module)
        run = worker.run
    try:
        result = run()
    except FirewallError as exc:
        failed = dict(worker.result)
        failed.pop('diff', None)
        failed.update(exc.extra)
        failed['changed'] = worker.applied
        module.fail_json(msg=exc.msg, **failed)
    module.exit_json(**result)
