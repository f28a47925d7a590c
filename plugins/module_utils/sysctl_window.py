# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kernel-only confirm-or-revert window of sysctl_hardening (option rollback_timeout).

The same window as iptables_ruleset's (iptables_rollback: arm, run_window, watch/expire, T.json data only,
tokens FAMILY-SECONDS-8HEX) with the same kernel part (sysctl_transaction.KernelSettings: window_record,
apply_share, restore_live, write_file_record), and no rules: T.rules is empty and T.json names no table, so
the timer applies the kernel values of its family and, unless confirmed, restores them at the deadline;
iptables_confirm writes the sysctl.d file after the confirmation (T.json's sysctl_file). The controller side
is iptables_ruleset's action plugin (plugins/action/sysctl_hardening.py subclasses it).

The keys of net.ipv6.* ride in an ipv6 window, the others in an ipv4 one (sysctl_profiles.share_keys); only
network keys (sysctl_profiles.transaction_key) go through a window. A window of a family, from either module,
refuses an apply of that family while it is open (iptables_rollback.settle: RollbackBusy).

Steps, in order (KernelWindows): settle (refuse while a window of the families is open, revert a stale one),
arm (T.json, T.rules, T.pending of each family whose live values change; nothing applied), start (fork each
timer, which applies its family's values once the controller has the answer).
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import IptablesRunner
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    SettingsError,
    escape,
    share_keys,
    transaction_key,
    validate_key,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_transaction import KernelSettings

__metaclass__ = type

FAMILIES = ('ipv4', 'ipv6')
_RESTORE = {'ipv4': 'iptables-restore', 'ipv6': 'ip6tables-restore'}


def window_keys(keys):
    """KEYS if every one may go through a window: a network key (net.*) without a slash. Raise SettingsError
    naming the first other key (a tampered window record must never write kernel.* keys such as
    kernel.core_pattern, so the timer restores network keys only)."""
    for key in keys:
        validate_key(key)
        try:
            transaction_key(key)
        except SettingsError:
            raise SettingsError('settings: %s is not a network key (net.*): with a confirm-or-revert window '
                                '(rollback_timeout > 0) the module sets and restores network keys only. Set other keys '
                                'in a task of their own with rollback_timeout=0 (they cannot cut a connection). '
                                'Nothing was changed.' % escape(key)) from None
    return list(keys)


def families_of(keys):
    """The families whose windows the keys of KEYS would ride in (share_keys), in FAMILIES order."""
    shares = share_keys(list(keys), FAMILIES)
    return [family for family in FAMILIES if shares[family]]


def restore_argv(module, family, wait):
    """The iptables-restore command of FAMILY (to revert a stale window of iptables_ruleset found by settle), or
    None on a host without it (a kernel-only window needs none)."""
    if module.get_bin_path(_RESTORE[family]) is None:
        return None
    return IptablesRunner(module, family, wait).restore_argv()


def kernel_settings(module, path, profile, settings, live, blocked, changes, file_plan):
    """A KernelSettings (sysctl_transaction) for the plan sysctl_hardening has made: SETTINGS (key -> value),
    LIVE (key -> value read; unknown keys absent), BLOCKED (keys that cannot be written), CHANGES (the live
    changes to make, {key, before, after}), FILE_PLAN {before, content, same, record}. Its window parts
    (window_record, apply_share, share) are the ones iptables_ruleset's option sysctl uses."""
    kernel = KernelSettings(module, {'profile': profile, 'path': path}, FAMILIES)
    kernel.settings = dict(settings)
    kernel.live = dict(live)
    kernel.blocked_keys = set(blocked)
    kernel.changes = list(changes)
    kernel.file = dict(file_plan, path=path)
    return kernel


class KernelWindows:
    """The windows of one sysctl_hardening call: one per family whose live values change."""

    def __init__(self, module, kernel, timeout, wait, state_dir=None):
        self.module = module
        self.kernel = kernel
        self.timeout = timeout
        self.wait = wait
        self.state_dir = state_dir or rollback.STATE_DIR
        self.argv = {}
        # family -> token, in FAMILIES order, armed and not yet started / started
        self.tokens = {}
        self.pids = {}

    def restore_argv(self, family):
        if family not in self.argv:
            self.argv[family] = restore_argv(self.module, family, self.wait)
        return self.argv[family]

    def families(self):
        """The families with live changes (each gets a window)."""
        return [family for family in FAMILIES if self.kernel.changes_live(family)]

    def settle(self, families):
        """Before anything changes, changed or not: refuse while a window of FAMILIES is open (from
        iptables_ruleset or sysctl_hardening: its timer would later restore the values from before it), with
        every open window in the error's open_window (the action plugin confirms it and runs the task again);
        revert a stale one. Raises FirewallError."""
        busy = []
        for family in families:
            try:
                rollback.settle(self.state_dir, family, self.restore_argv(family))
            except rollback.RollbackBusy as exc:
                busy.append(exc)
            except rollback.StateDirError as exc:
                raise FirewallError(str(exc))
        if busy:
            raise FirewallError('; '.join(str(exc) for exc in busy),
                                open_window={'tokens': [exc.token for exc in busy], 'families': [exc.family for exc in busy],
                                             'remaining': round(max(max(exc.remaining, 0) for exc in busy), 1)})

    def arm(self):
        """Arm the window of every family with live changes (nothing applied): T.json holds the previous live
        values of its share (sysctl) and, in the first window, the sysctl.d file to write after the confirmation
        (sysctl_file). A failure withdraws the windows armed so far. Raises FirewallError."""
        try:
            for family in self.families():
                extra = {'wait': self.wait, 'module': 'sysctl_hardening'}
                extra.update(self.kernel.window_record(family))
                self.tokens[family] = rollback.arm(self.state_dir, family, '', self.restore_argv(family), self.timeout,
                                                   tables=(), extra=extra)
        except (rollback.RollbackBusy, rollback.StateDirError) as exc:
            self.withdraw()
            raise FirewallError(to_native(exc))
        except (IOError, OSError) as exc:
            self.withdraw()
            raise FirewallError('cannot arm the revert timer in %s: %s' % (self.state_dir, to_native(exc)))
        return self.tokens

    def withdraw(self):
        for token in self.tokens.values():
            rollback.withdraw(self.state_dir, token)
        self.tokens = {}

    def start(self):
        """Fork each window's timer (iptables_rollback.run_window with timer_apply). Returns the result key
        rollback: {token, timeout, deadline, state_dir, timer_pid, apply_delay}, and tokens and families
        (every window of the call, confirmed together)."""
        for family, token in self.tokens.items():
            try:
                self.pids[family] = rollback.spawn(self.timer_body(family, token))
            except (IOError, OSError) as exc:
                # the windows not started yet apply nothing: gone; those started apply and revert by themselves
                for other, other_token in self.tokens.items():
                    if other not in self.pids:
                        rollback.withdraw(self.state_dir, other_token)
                raise FirewallError('cannot start the revert timer of the %s window: %s' % (family, to_native(exc)))
        return self.report()

    def timer_body(self, family, token):
        state_dir, argv = self.state_dir, self.restore_argv(family)

        def body():
            return rollback.run_window(state_dir, token, lambda: self.timer_apply(family, token), argv,
                                       delay=rollback.APPLY_DELAY)
        return body

    def timer_apply(self, family, token):
        """The timer's apply (in the forked timer, after the module answered and released the apply lock): the
        live values of FAMILY's share, forwarding keys first, under the apply lock. A refused value reverts at
        once (ApplyError applied=True: the revert restores whatever was written)."""
        # imported here: iptables_host imports iptables_rollback, which imports sysctl_transaction
        from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import ApplyLock, HostError
        try:
            with ApplyLock(self.wait, self.state_dir):
                if rollback.outcome(self.state_dir, token) != 'pending':
                    raise SystemExit(0)   # withdrawn meanwhile: nothing to apply, watch or revert
                try:
                    self.kernel.apply_share(family)
                except FirewallError as exc:
                    raise rollback.ApplyError(exc.msg, applied=True)
        except HostError as exc:
            raise rollback.ApplyError(exc.msg, applied=False)
        return {'verified': True, 'sysctl': list(self.kernel.share_all(family))}

    def report(self):
        tokens = [self.tokens[family] for family in FAMILIES if family in self.tokens]
        if not tokens:
            return None
        deadlines = [(rollback.meta(self.state_dir, token) or {}).get('deadline') or 0 for token in tokens]
        first = [family for family in FAMILIES if family in self.tokens][0]
        found = {'token': tokens[0], 'timeout': self.timeout, 'deadline': max(deadlines), 'state_dir': self.state_dir,
                 'timer_pid': self.pids.get(first), 'apply_delay': rollback.APPLY_DELAY,
                 'families': [family for family in FAMILIES if family in self.tokens]}
        if len(tokens) > 1:
            found['tokens'] = tokens
        return found
