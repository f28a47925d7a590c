# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One family of a whole-ruleset apply (iptables_ruleset), built on the applier (iptables_applier).

The transaction of one call, its steps in order and its point of no return are in iptables_transaction
(Transaction.run: read, plan, check, arm, apply, confirm, write). RulesetApply is one family's part of
each step, under the same names; what a step finds for the next one is in its FamilyState (desired,
target, live_text, live, plan, window), and a confirm-or-revert window is a Window (token, start(),
withdraw()). The copy, the local fact and the sysctl check live in iptables_outputs.
"""

from __future__ import annotations

import datetime
import os
import re

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_applier import (
    FamilyApplier,
    lockout_check,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
    PlanError,
    apply_result,
    describe,
    neighbour_sets,
    plan as make_plan,
    rule_line,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    ApplyLock,
    HostError,
    check_file_path,
    check_output_paths,
    enable_services,
    excerpt,
    os_release,
    read_own_file,
    read_regular_file,
    write_atomic,
)
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_ruleset import RulesetSets
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_host import persist_finish, persist_record, write_persisted
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_transaction import SetTransaction, lists_of
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    TABLES,
    parse,
    render,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_outputs import (
    copy_path,
    plan_copy,
    plan_record,
    read_record,
    record_dir_problem,
    write_copy,
    write_record,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import (
    OS_RELEASE_PATHS,
    persist_target,
    persisted_form,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import (
    IptablesCommandError,
    IptablesRunner,
)

__metaclass__ = type

BACKUP_DIR = '/var/backups/rampart-firewall'
# Upper bounds of the options in seconds: a window that never ends is no safety net.
# (iptables_rollback's: the same for sysctl_hardening's kernel-only window)
MAX_ROLLBACK_TIMEOUT = rollback.MAX_ROLLBACK_TIMEOUT
MAX_WAIT = rollback.MAX_WAIT
# Seconds between the module's answer and the timer's iptables-restore (see arm_window): the default and the
# bound of the option apply_delay.
APPLY_DELAY = rollback.APPLY_DELAY
MAX_APPLY_DELAY = 10
# A ParseError field shown for src: an option name (--dport, -j) or a word of the model (chain, counters).
_SAFE_FIELD = re.compile(r'\A(-[A-Za-z]|--[a-z][a-z0-9-]{0,23}|[a-zA-Z]{1,10})\Z')


def withdraw(token):
    """Withdraw a window armed by this run whose timer has not applied (nothing was applied): remove
    its files, so that no later apply finds it pending and restores its ruleset. A timer already
    started waits for the apply lock this run holds, then finds its window gone and exits without
    applying (see Window.timer_apply). (iptables_rollback.withdraw, which sysctl_hardening uses too.)"""
    rollback.withdraw(rollback.STATE_DIR, token)


class FamilyState:
    """What the steps of one family find, for the next ones: read sets desired (the parsed Ruleset),
    target (where to persist: (path, services, package, mode), or None without persist), live_text and
    live (iptables-save, parsed); plan sets plan (iptables_engine.Plan); arm sets window (a Window,
    or None when the change is applied at once or nothing changes); apply sets live to the ruleset
    now live (predicted in check mode)."""

    __slots__ = ('desired', 'target', 'live_text', 'live', 'plan', 'window')

    def __init__(self):
        self.desired = self.target = self.live_text = self.live = self.plan = self.window = None


class Window:
    """The confirm-or-revert window of one family, armed (iptables_rollback.arm wrote T.pending, T.json
    with the revert record and the files to write after the confirmation, T.rules) and not started.

    start() forks the timer (iptables_rollback.run_window), which applies the sets, then the rules, a
    moment (option apply_delay, APPLY_DELAY by default) after the module has answered, and restores the previous ones at the deadline
    unless the controller confirms; withdraw() removes a window whose timer has applied nothing."""

    def __init__(self, worker, token, plan, desired, persist=None, copy=None, sets_file=False):
        self.worker = worker
        self.token = token
        self.plan = plan
        self.desired = desired
        # what iptables_confirm writes after the confirmation: the persisted rules and the copy (plans
        # with their diff entries, or None), and whether the persisted sets file changes
        self.persist = persist
        self.copy = copy
        self.sets_file = sets_file
        self.started = False
        # option apply_delay (run_ruleset checked its bounds); APPLY_DELAY for a caller without the option
        self.delay = worker.params.get('apply_delay', APPLY_DELAY)
        if self.delay is None:
            self.delay = APPLY_DELAY

    def start(self):
        worker = self.worker
        restore_argv = worker.runner.restore_argv()
        state_dir = rollback.STATE_DIR
        try:
            pid = rollback.spawn(lambda: rollback.run_window(state_dir, self.token, self.timer_apply, restore_argv,
                                                             delay=self.delay))
        except (IOError, OSError) as exc:
            raise FirewallError('cannot start the revert timer of the %s window: %s' % (worker.family, to_native(exc)))
        self.started = True
        meta = rollback.meta(state_dir, self.token) or {}
        worker.result['rollback'] = {
            'token': self.token, 'timeout': worker.params['rollback_timeout'], 'deadline': meta.get('deadline'),
            'state_dir': state_dir, 'timer_pid': pid, 'apply_delay': self.delay,
        }
        return worker.result['rollback']

    def withdraw(self):
        withdraw(self.token)

    def timer_apply(self):
        """The timer's apply (in the forked timer, after the module has answered and released its lock):
        take the lock again for the apply itself, so that it cannot interleave with another apply."""
        worker = self.worker
        setx = worker.setx
        try:
            with ApplyLock(worker.params['wait']):
                if rollback.outcome(rollback.STATE_DIR, self.token) != 'pending':
                    # withdrawn by the run that armed it while this timer waited for its lock: nothing
                    # to apply, nothing to watch or revert (BaseException: not turned into ApplyError);
                    # the sets this call created are not used by any rule: they go again
                    setx.undo_created()
                    raise SystemExit(0)
                # the sets first (their previous content is in the window's record), then the rules
                try:
                    setx.apply()
                except FirewallError:
                    if not setx.applied:
                        setx.undo_created()    # nothing changed: no revert owed, no set left behind
                    raise
                if self.plan.changed:
                    worker.restore_and_verify(self.plan, self.desired)
                if worker.kernel is not None:
                    # the kernel settings after the rules (forwarding on once the new FORWARD rules are live); a
                    # refusal reverts at once (applied=True: the revert restores whatever was written)
                    try:
                        worker.kernel.apply_share(worker.family)
                    except FirewallError as exc:
                        raise rollback.ApplyError(exc.msg, applied=True)
        except HostError as exc:
            raise rollback.ApplyError(exc.msg, applied=worker.applied)
        except FirewallError as exc:
            raise rollback.ApplyError(exc.msg, applied=worker.applied, **exc.extra)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise rollback.ApplyError('unexpected error while applying: %s' % to_native(exc), applied=True)
        return {'verified': True}


class RulesetApply:
    """One family of iptables_ruleset: its part of each step of the Transaction (iptables_transaction),
    under the same names - read(), plan(), check(), arm(), take_backup() and apply(), confirm(), write() -
    with what they find in self.state (a FamilyState). The live ruleset is read, tested, restored and
    verified by a FamilyApplier (iptables_applier).

    The managed address sets of the family (ipsets values that are dictionaries) are a
    SetTransaction (ipset_transaction, self.setx) whose steps run inside these: read reads them
    (setx.read(), plan_persist), plan plans them (setx.plan()), check creates the missing ones before
    --test (setx.create_missing) and gives the lockout preflight their NEW members (set_contents);
    arm records their revert (setx.revert_record, T.json 'ipsets', run by iptables_rollback.expire
    after the rules) and the sets file to write after the confirmation ('ipsets_persist', written by
    iptables_confirm); the timer's apply (Window.timer_apply) runs setx.apply() before the rules;
    without a window apply_sets_and_rules() does the same and gives the sets back if the rules fail,
    and write (persist_sets) writes the file. A failure while the call holds the lock destroys the
    sets it created (abandon, from Transaction.run()).
    """

    def __init__(self, module, runner=None, params=None):
        self.module = module
        # params: the module's, or those of one family of O(rulesets) (family and content set)
        self.params = params if params is not None else module.params
        self.family = self.params['family']
        self.preserve = list(self.params['preserve_chains'] or [])
        self.interfaces = list(self.params['preserve_interfaces'] or [])
        self.preserve_sets = list(self.params['preserve_sets'] or [])
        self.runner = runner or IptablesRunner(module, self.family, self.params['wait'])
        self.applier = FamilyApplier(self.runner, self.family)
        self.result = {'changed': False}
        self.diffs = []
        # what the steps found so far (desired, target, live_text, live, plan, window)
        self.state = FamilyState()
        # The text of src once read (the copy in copy_dir is this text).
        self.source_text = None
        self.copy_path = copy_path(self.params.get('copy_dir'), self.family)
        self.sets = None
        # the managed address sets of this family (ipsets values that are dictionaries), see ipset_transaction
        self.setx = None
        # the kernel settings of the call (option sysctl: sysctl_transaction.KernelSettings, set by its plan step),
        # whose share of this family rides in this family's window
        self.kernel = None
        # the record of earlier applies (iptables_outputs.Record), read by read()
        self.record = None
        # None: persist() enables the boot services itself; a list: it adds (family, services, package)
        self.services = None
        # the files this run wrote, in order (a failure after the first change names them)
        self.written = []

    @property
    def applied(self):
        """True once iptables-restore (or ipset restore of a managed set) has changed the live state
        (a later failure still changed it)."""
        return self.applier.applied or bool(self.setx is not None and self.setx.applied)

    def changed_live(self, plan):
        """Whether the rules of PLAN or a managed set change."""
        return bool(plan.changed or (self.setx is not None and self.setx.changed))

    def abandon(self):
        """A failure of this call while it holds the apply lock, with nothing applied by it (a window
        it armed is withdrawn or its timer waits for the lock and then applies nothing): destroy the
        sets this call created (no rule uses them)."""
        if self.setx is not None and not self.applied:
            problems = self.setx.undo_created()
            if problems:
                self.module.warn('could not destroy the sets this run created: %s' % '; '.join(problems))

    # ---- reading -------------------------------------------------------------------------
    def desired_text(self):
        if self.params['content'] is not None:
            return self.params['content']
        if self.source_text is not None:
            return self.source_text
        path = self.params['src']
        try:
            data = read_regular_file('src', path)
        except HostError as exc:
            raise FirewallError(exc.msg)
        try:
            self.source_text = data.decode('utf-8')
            return self.source_text
        except UnicodeDecodeError as exc:
            raise FirewallError('cannot read src %s: not UTF-8 text (byte %d)' % (excerpt(path, 200), exc.start))

    def load_desired(self):
        text = self.desired_text()
        where = 'src %s' % excerpt(self.params['src'], 200) if self.params['content'] is None else 'content'
        try:
            return parse(text, family=self.family)
        except ParseError as exc:
            if self.params['content'] is None:
                raise self.src_error(exc, where)
            # content is the task's own text: a short, escaped excerpt of the bad line and value.
            extra = {}
            if exc.lineno is not None:
                extra['lineno'] = exc.lineno
            if exc.line is not None:
                extra['line'] = excerpt(exc.line)
            if exc.field is not None:
                extra['field'] = excerpt(exc.field, 40)
            if exc.value is not None:
                extra['value'] = excerpt(exc.value, 40)
            shown = ParseError(excerpt(exc.message, 160), exc.lineno, extra.get('line'), extra.get('field'))
            raise FirewallError('%s does not parse as an %s ruleset: %s' % (where, self.family, to_native(shown)), **extra)

    def src_error(self, exc, where):
        """The error of a src that does not parse: the line number and the field, never the content
        (src may be any file root can read; a symlink to a secret must not leak it into the result or
        the logs). The field is shown only when it is an option name or a word of the model."""
        extra = {}
        parts = []
        if exc.lineno is not None:
            extra['lineno'] = exc.lineno
            parts.append('line %d' % exc.lineno)
        if exc.field is not None and exc.field != 'line' and _SAFE_FIELD.match(exc.field):
            extra['field'] = exc.field
            parts.append('at %s' % exc.field)
        return FirewallError('%s does not parse as an %s ruleset%s (the content of src is not quoted: give the same text '
                             'as content to see the value)' % (where, self.family, ': ' + ', '.join(parts) if parts else ''),
                             **extra)

    def read_live(self, known=None):
        """Return (iptables-save text, Ruleset). known: the desired Ruleset (its rules, live already,
        are not parsed again)."""
        return self.applier.read(known=known)

    # ---- state=gathered ------------------------------------------------------------------
    def run_gathered(self):
        try:
            return self.gathered()
        except IptablesCommandError as exc:
            raise self.command_failure(exc, before=self.live_before())

    def gathered(self):
        dummy, live = self.read_live()
        self.result['gathered'] = describe(live, self.preserve)
        names = [name for name in TABLES if name in live.tables]
        self.result['rendered'] = render(live, tables=names) if names else ''
        return self.result

    # ---- state=present -------------------------------------------------------------------
    def compute_plan(self, desired, live):
        try:
            return make_plan(desired, live, self.preserve, self.interfaces, self.preserve_sets,
                             recorded=self.record.ruleset if self.record is not None else None)
        except PlanError as exc:
            raise FirewallError(to_native(exc))

    def locate(self, desired, line):
        """Where a payload line comes from, for error messages."""
        if not line:
            return ''
        for table in desired.tables.values():
            for chain in table.chains.values():
                for rule in chain.rules:
                    if rule_line(rule) == line:
                        if getattr(rule, 'lineno', None):
                            return 'line %d of the desired ruleset' % rule.lineno
                        return 'from the desired ruleset'
        if line.startswith('-A '):
            return 'kept from the live ruleset'
        return ''

    def command_failure(self, exc, desired=None, **extra):
        result = exc.to_result()
        result.pop('msg')
        msg = exc.located(self.locate(desired, exc.line)) if desired is not None else exc.msg
        if exc.line is not None:
            result['line'] = exc.line
            result['lineno'] = exc.lineno
        result.update(extra)
        return FirewallError(msg, **result)

    def test_payload(self, plan, desired):
        """iptables-restore --test on the payload (changes nothing)."""
        try:
            self.applier.test(plan.payload)
        except IptablesCommandError as exc:
            raise self.command_failure(exc, desired, before=plan.before)

    def backup(self, live_text):
        stamp = datetime.datetime.now().strftime('%Y%m%dT%H%M%S.%f')
        name = '%s-%s.rules' % ('iptables' if self.family == 'ipv4' else 'ip6tables', stamp)
        try:
            if not os.path.isdir(os.path.dirname(BACKUP_DIR)):
                os.makedirs(os.path.dirname(BACKUP_DIR), 0o755)
            rollback.secure_dir(BACKUP_DIR)   # root's, 0700, not a symlink
            path = os.path.join(BACKUP_DIR, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as handle:
                handle.write(live_text)
        except (IOError, OSError, rollback.StateDirError) as exc:
            raise FirewallError('cannot write the backup in %s: %s' % (BACKUP_DIR, to_native(exc)))
        return path

    def restore_and_verify(self, plan, desired):
        """Load the payload, then read the live ruleset back and check it is the planned one. Returns the new live Ruleset."""
        try:
            self.applier.restore(plan.payload)
            # A table iptables-save does not print counts as pristine (as in the model's Ruleset equality).
            return self.applier.verify(plan.result.tables, dict((name, None) for name in plan.tables), every_table=True)
        except IptablesCommandError as exc:
            raise self.command_failure(exc, desired if not self.applied else None, before=plan.before)
        except FirewallError as exc:
            raise FirewallError(exc.msg, before=plan.before, after=getattr(exc, 'live', None), **exc.extra)

    # ---- persistence ---------------------------------------------------------------------
    def os_release(self):
        return os_release(OS_RELEASE_PATHS)

    def persist_target(self):
        """Return (path, services, package, mode). The path is checked here, before anything
        changes: an unusable file fails the task with the live ruleset untouched."""
        chosen = self.params['persist_path']
        if chosen is not None:
            problem = check_file_path('persist_path', chosen)
            if problem:
                raise FirewallError(problem)
        try:
            target = persist_target(self.os_release(), self.family)
        except ValueError as exc:
            if chosen is None:
                raise FirewallError(to_native(exc))
            return chosen, (), None, 0o600
        if chosen is None or chosen == target.path:
            problem = check_file_path('the persisted file', target.path)
            if problem:
                raise FirewallError(problem)
            return target.path, tuple(target.services), target.package, target.mode
        return chosen, (), target.package, target.mode

    def read_persisted(self, path):
        """Return the text of the existing persisted file, or None. Never read through a symlink or
        from a FIFO or device (read_own_file): its text is the "before" of the diff."""
        try:
            data = read_own_file('the persisted ruleset', path)
        except HostError as exc:
            raise FirewallError(exc.msg)
        return None if data is None else data.decode('utf-8', 'replace')

    def write_persisted(self, path, content, mode):
        try:
            write_atomic(self.module, path, content, mode)
        except HostError as exc:
            raise FirewallError('cannot write the persisted ruleset: %s' % exc.msg)
        self.written.append(path)

    def enable_services(self, services, package):
        try:
            return enable_services(self.module, services, package)
        except HostError as exc:
            raise FirewallError(exc.msg, **exc.extra)

    def plan_persist(self, live, plan, target):
        """What persisting the managed form of LIVE means: a dict with path, content, same (no write
        needed), mode, services, package and the diff entry. Changes nothing."""
        path, services, package, mode = target
        old_text = self.read_persisted(path)
        content, same = persisted_form(old_text, live, plan, self.preserve, self.interfaces, self.preserve_sets,
                                       recorded=self.record.ruleset if self.record is not None else None)
        return {
            'path': path, 'content': content, 'same': same, 'mode': mode,
            'services': list(services), 'package': package,
            'diff': {'before_header': '%s (persisted)' % path, 'after_header': '%s (persisted)' % path,
                     'before': old_text or '', 'after': content},
        }

    def persist(self, live, plan, target):
        """Write the managed form of the live ruleset (the predicted one in check mode) to the boot file.

        target: (path, services, package, mode) from persist_target().
        """
        todo = self.plan_persist(live, plan, target)
        self.result['persisted'] = todo['path']
        self.result['persist_changed'] = not todo['same']
        if not todo['same']:
            if self.module._diff:
                self.diffs.append(todo['diff'])
            if not self.module.check_mode:
                self.write_persisted(todo['path'], todo['content'], todo['mode'])
        if self.services is not None:     # the Transaction of O(rulesets) enables both families' services at once
            self.services.append((self.family, todo['services'], todo['package']))
        else:
            self.result['services_enabled'] = self.enable_services(todo['services'], todo['package'])

    # ---- safety: lockout preflight and confirm-or-revert ---------------------------------
    def lockout(self, plan):
        """The lockout preflight of the resulting ruleset (iptables_applier.lockout_check)."""
        if 'filter' not in plan.tables:
            return {'status': 'skipped', 'reason': 'the filter table is not managed by this ruleset'}
        # kept neighbour bans (preserve_sets) are live before and after: read as not matching the session
        report = lockout_check(plan.result, self.params,
                               sets=neighbour_sets(self.set_contents if self.sets is not None else None,
                                                   plan.neighbour_set_names,
                                                   self.sets.refs if self.sets is not None else ()),
                               hint='rollback_timeout still reverts a ruleset that cuts the connection')
        if report['status'] == 'undecided':
            self.module.warn('lockout check undecided: %s; relying on the revert timer (rollback_timeout=%s)'
                             % (report.get('message'), self.params['rollback_timeout']))
        return report

    def set_contents(self):
        """The members the lockout preflight reads: the NEW members of the managed sets, then the
        declared or live ones of the others (RulesetSets.contents)."""
        contents = self.sets.contents()
        if self.setx:
            contents.update((name, nets) for name, nets in self.setx.contents().items() if name in self.sets.refs)
        return contents

    def apply_sets_and_rules(self, plan, desired):
        """The changed managed sets (temporary set + swap), then the rules. A failure before the rules
        are live gives every set its previous content back and destroys the sets this call created
        (the result says what is live). Returns the new live Ruleset, or None when the rules did not change."""
        try:
            self.setx.apply()
            return self.restore_and_verify(plan, desired) if plan.changed else None
        except FirewallError as exc:
            if self.applier.applied or not (self.setx.applied or self.setx.created):
                raise
            problems = self.setx.revert()
            if problems:
                raise FirewallError('%s; the sets could not all be given back their previous content: %s'
                                    % (exc.msg, '; '.join(problems)), **exc.extra)
            self.setx.applied = False
            raise FirewallError('%s; the sets were given back their previous content, the rules were not changed'
                                % exc.msg, **exc.extra)

    @staticmethod
    def sets_file_diff(todo):
        """The diff entry of the persisted sets file (ipset_host.persist_plan TODO)."""
        return {'before_header': '%s (persisted sets)' % todo['path'], 'after_header': '%s (persisted sets)' % todo['path'],
                'before': todo['old'] or '', 'after': todo['new']}

    def persist_sets(self):
        """Without a window: write the managed sets to the boot file after the rules are live."""
        todo = self.setx.persist if self.setx else None
        if todo is None:
            return
        if not todo['same'] and not self.module.check_mode and write_persisted(self.module, todo):
            self.written.append(todo['path'])
        if self.module._diff and not todo['same']:
            self.diffs.append(self.sets_file_diff(todo))
        if not self.module.check_mode:
            enabled = persist_finish(self.module, todo)
            self.result['services_enabled'] = sorted(set(self.result.get('services_enabled') or []) | set(enabled))

    def arm_window(self, plan, desired, target, predicted):
        """Arm the revert timer of this family (nothing is applied yet). Returns the Window, whose start()
        starts the timer, which applies the payload a moment after the module has answered.

        The persisted file and the copy are not written here: iptables_confirm writes them once the
        controller has confirmed over a new connection (the action plugin does that)."""
        state_dir = rollback.STATE_DIR
        todo = self.plan_persist(predicted, plan, target) if target is not None else None
        copy = self.plan_copy()
        timeout = self.params['rollback_timeout']
        # wait: the confirmation waits that long (plus a margin) for the timer's apply, which waits that long for the lock
        extra = {'persist': todo and dict(todo, diff=None), 'wait': self.params['wait'],
                 'record': self.plan_record(plan, desired)}
        if copy is not None:
            extra['copy'] = dict(copy, diff=None)
        if self.setx:
            # the revert restores the previous set contents after the rules; the confirmation writes the sets file
            extra['ipsets'] = self.setx.revert_record()
            if self.setx.persist is not None and not self.setx.persist['same']:
                extra['ipsets_persist'] = persist_record(self.setx.persist)
        if self.kernel is not None:
            # the previous live values of this family's kernel settings (restored before the rules) and, in the
            # call's first window, the sysctl.d file iptables_confirm writes (sysctl_transaction)
            extra.update(self.kernel.window_record(self.family))
        try:
            token = rollback.arm(state_dir, self.family, plan.before, self.runner.restore_argv(), timeout,
                                 tables=plan.tables, extra=extra)
        except (rollback.RollbackBusy, rollback.StateDirError) as exc:
            raise FirewallError(to_native(exc))
        except (IOError, OSError) as exc:
            raise FirewallError('cannot arm the revert timer in %s: %s' % (state_dir, to_native(exc)))
        return Window(self, token, plan, desired, persist=todo, copy=copy, sets_file='ipsets_persist' in extra)

    # ---- the record of what we applied (ownership.py) -----------------------------------
    def plan_record(self, plan, desired):
        """The new record (iptables_outputs.plan_record): the touched tables as declared."""
        return plan_record(self.record, self.family, desired, plan.tables)

    def write_record(self, plan, desired):
        """Write the record after an apply (none in check mode): what is live now is ours."""
        if self.module.check_mode:
            return
        # bookkeeping, like the apply lock: not listed in written (the files the task was asked for)
        write_record(self.module, self.plan_record(plan, desired))

    # ---- the copy of the applied rules (copy_dir) ----------------------------------------
    def plan_copy(self):
        """What writing the copy of the desired ruleset means (None without copy_dir). Changes nothing."""
        if self.copy_path is None:
            return None
        return plan_copy(self.copy_path, self.desired_text())

    def write_copy(self):
        """Write the copy now (unless it is up to date); in check mode only report it."""
        copy = self.plan_copy()
        if copy is None:
            return
        self.result['copy_changed'] = not copy['same']
        if copy['same']:
            return
        if self.module._diff:
            self.diffs.append(copy['diff'])
        if not self.module.check_mode:
            write_copy(self.module, copy)
            self.written.append(copy['path'])

    def output_paths(self):
        """(option, path, kind) of the files and directories this family writes besides the persisted file
        (checked by persist_target): the copy and its directory, the backup directory."""
        paths = []
        if self.copy_path is not None:
            paths += [('copy_dir', os.path.dirname(self.copy_path), 'dir'), ('copy_dir', self.copy_path, 'file')]
        if self.params['backup']:
            paths.append(('backup (its directory)', BACKUP_DIR, 'dir'))
        return paths

    def check_outputs(self):
        """Every output path of this family proven usable before the first change (iptables_host.check_output_paths:
        a regular file or absent, in real directories, not in /proc, /sys or /dev). Raises FirewallError."""
        try:
            check_output_paths(self.output_paths())
        except HostError as exc:
            raise FirewallError(exc.msg, **exc.extra)

    # ---- the steps (Transaction.run calls them in this order) ------------------------------
    def read(self):
        """Step read: the desired text, the managed sets (ipset save), where to persist, every output path,
        then the live ruleset (iptables-save runs while the desired text is parsed) and the record of
        earlier applies. Changes nothing: a desired text that does not parse fails once the read-only
        iptables-save has ended."""
        state = self.state
        self.desired_text()   # src read (a regular file, UTF-8) before any command runs
        # the managed sets of this family: read (ipset save, kept byte for byte)
        self.setx = SetTransaction(self.module, self.family, self.module.params.get('ipsets')).read()
        # Where to persist is known before anything changes (an unknown distribution fails here).
        state.target = self.persist_target() if self.params['persist'] else None
        if self.setx and self.params['persist']:
            self.setx.plan_persist(self.os_release(), self.module.params.get('ipsets_persist_path'))
        self.check_outputs()
        # iptables-save (read-only) runs while the desired text is parsed
        with self.applier.saving() as saved:
            state.desired = self.load_desired()
        state.live_text, state.live = self.applier.read(known=state.desired, text=saved())
        problem = record_dir_problem()
        if problem:
            raise FirewallError(problem)
        self.record = read_record(self.family, self.copy_path, known=state.desired)
        if self.record.warning:
            self.module.warn(self.record.warning)

    def live_before(self):
        """The live tables this family touches as they were read (canonical text), for a failure's RV(before);
        None before the plan."""
        plan = self.state.plan
        return plan.before if plan is not None else None

    def plan(self):
        """Step plan: the managed sets' changes (a type change of a set in use refused), the ruleset plan,
        the result keys, the warnings and the diff. Changes nothing."""
        state = self.state
        self.setx.plan()
        state.plan = plan = self.compute_plan(state.desired, state.live)
        if plan.changed:
            # unchanged, the live tables are RV(after) and nothing is fed to iptables-restore: one copy of the
            # text, not three (10,000 rules are 0.9 MB a copy, parsed and stored by the controller on every run)
            self.result.update(before=plan.before, payload=plan.payload)
        self.result.update({
            'after': plan.after,
            'tables': list(plan.tables),
            'live_changed': plan.changed,
            'neighbour_chains': plan.neighbour_chains,
            'neighbour_rules': list(plan.neighbour_rules),
            'unknown_rules': list(plan.removed['unknown_rules']),
            'unknown_chains': list(plan.removed['unknown_chains']),
            'ours_removed': list(plan.removed['ours_removed']),
            'ours_removed_chains': list(plan.removed['ours_removed_chains']),
            'record': self.record.report(),
            'ownership': {'ours': plan.ours_live, 'neighbours': len(plan.neighbour_rules) + sum(
                1 + len(entry['jumps']) for entry in plan.neighbour_chains),
                'unknown': len(plan.removed['unknown_rules']) + len(plan.removed['unknown_chains']),
                'ours_removed': len(plan.removed['ours_removed']) + len(plan.removed['ours_removed_chains'])},
            # deprecated aliases of neighbour_chains and neighbour_rules (removed in 3.0.0)
            'kept_chains': plan.neighbour_chains,
            'kept_rules': list(plan.neighbour_rules),
            'persisted': None,
            'persist_changed': False,
            'services_enabled': [],
        })
        if self.copy_path is not None:
            self.result.update(copy=self.copy_path, copy_changed=False)
            self.plan_copy()   # an unreadable copy fails here, before anything changed
        if self.setx:
            self.result.update(ipsets=self.setx.report(), ipsets_changed=self.setx.changed,
                               ipsets_persisted=self.setx.persist and self.setx.persist['path'],
                               ipsets_persist_changed=bool(self.setx.persist and not self.setx.persist['same']))
            if self.module._diff:
                self.diffs.extend(self.setx.diffs())
        self.report_plan(plan)

    def report_plan(self, plan):
        """The warnings and the diff of the plan."""
        for line in plan.dropped:
            self.module.warn('dropped %s: its chain is not in the desired ruleset' % line)
        unknown = plan.removed['unknown_rules'] + plan.removed['unknown_chains']
        if unknown and plan.changed:
            self.module.warn('%s: %d rule(s) or chain(s) that are neither declared, nor recorded as ours, nor a '
                             'neighbour\'s (preserve_chains, preserve_interfaces, preserve_sets) %s removed (unknown_rules, '
                             'unknown_chains): %s%s' % (self.family, len(unknown), 'would be' if self.module.check_mode else 'are',
                                                        '; '.join(excerpt(line, 120) for line in unknown[:3]),
                                                        ' ...' if len(unknown) > 3 else ''))
        if self.module._diff:
            for name in plan.tables:
                if not plan.table_changed(name):
                    continue
                self.diffs.append({
                    'before_header': '%s table %s (live)' % (self.family, name),
                    'after_header': '%s table %s (desired)' % (self.family, name),
                    'before': render(plan.current, tables=[name]),
                    'after': render(plan.result, tables=[name]),
                })

    def check(self):
        """Step check: the missing managed sets created (nothing uses them yet: abandon() destroys them if
        anything fails before the point of no return), the sets the rules name must exist, then, for a
        change, iptables-restore --test and the lockout preflight (with the NEW set members)."""
        state = self.state
        plan = state.plan
        if not self.module.check_mode:
            # missing managed sets are created (with their members) before iptables-restore --test,
            # which refuses a rule naming a missing set
            self.setx.create_missing()
        try:
            # the ipset sets the ruleset uses must exist (or, in check mode, be declared): refused before anything
            self.sets = RulesetSets(self.module, state.desired, lists_of(self.module.params.get('ipsets')))
        except ValueError as exc:
            raise FirewallError(to_native(exc))
        self.result['lockout'] = {'status': 'unchanged'}
        # a change of a managed set's members is a change too: tested and checked for a lockout
        if self.changed_live(plan):
            if self.sets.pending:
                self.module.warn(self.sets.warn_untested())
            else:
                self.test_payload(plan, state.desired)
            self.result['lockout'] = self.lockout(plan)

    def windowed(self):
        """Whether this family's change goes through a revert window: its rules or sets change live, or its share of
        the kernel settings does (a kernel setting alone can cut a connection: rp_filter)."""
        changes = self.changed_live(self.state.plan) or (self.kernel is not None and self.kernel.changes_live(self.family))
        return bool(changes and not self.module.check_mode and self.params['rollback_timeout'] > 0)

    def arm(self):
        """Step arm: the window of a changed family (rollback_timeout > 0), armed, not started."""
        state = self.state
        if self.windowed():
            state.window = self.arm_window(state.plan, state.desired, state.target, apply_result(state.live, state.plan.result))

    def take_backup(self):
        """The backup of the live ruleset (option backup) of a changed family, once, before its change: the
        last step that may refuse before the point of no return (its directory was checked by read).
        Writes nothing else."""
        if not (self.state.plan.changed and self.params['backup']) or self.module.check_mode or 'backup_file' in self.result:
            return
        self.result['backup_file'] = self.backup(self.state.live_text)
        self.written.append(self.result['backup_file'])

    def apply(self):
        """Step apply (after take_backup): start the window's timer, or apply the sets and the rules now
        and read them back; in check mode, predict the live ruleset."""
        state = self.state
        if state.window is not None:
            state.window.start()    # also a window for the kernel settings alone (rules unchanged)
            return
        if not self.changed_live(state.plan):
            return
        if self.module.check_mode:
            state.live = apply_result(state.live, state.plan.result)
        else:
            state.live = self.apply_sets_and_rules(state.plan, state.desired) or state.live

    def confirm(self):
        """Step confirm: a change applied now was verified by apply (confirmed at once); a window hands
        over to the controller: the result says what iptables_confirm writes after the confirmation."""
        window = self.state.window
        if window is None:
            return
        todo, copy = window.persist, window.copy
        if todo is not None:
            self.result['persisted'] = todo['path']
            self.result['persist_changed'] = not todo['same']
            self.result['persist_pending'] = True
            if not todo['same'] and self.module._diff:
                self.diffs.append(todo['diff'])
        if copy is not None:
            self.result['copy_changed'] = not copy['same']
            if not copy['same'] and self.module._diff:
                self.diffs.append(copy['diff'])
        if window.sets_file:
            self.result['ipsets_persist_pending'] = True
            if self.module._diff:
                self.diffs.append(self.sets_file_diff(self.setx.persist))
        self.result['changed'] = True

    def write(self):
        """Step write, without a window: the record, the persisted rules (and the boot services, unless
        the Transaction enables both families' at once: self.services), the persisted sets, the copy."""
        state = self.state
        if state.window is not None:
            return      # written by iptables_confirm after the confirmation
        plan = state.plan
        self.write_record(plan, state.desired)
        if state.target is not None:
            self.persist(state.live, plan, state.target)
        self.persist_sets()
        self.write_copy()
        self.result['changed'] = any((self.changed_live(plan), self.result['persist_changed'], self.result['services_enabled'],
                                      self.result.get('copy_changed'), self.result.get('ipsets_persist_changed')))
