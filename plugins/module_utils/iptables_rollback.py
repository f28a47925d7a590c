# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Confirm-or-revert: the protocol between an apply, its confirmation and the revert timer.

No AnsibleModule here. The protocol lives in files of a state directory on the target
(default /run/rampart-firewall, a tmpfs: a reboot forgets every pending apply, and the
persisted file, written only after confirmation, still holds the previous ruleset).

For one armed apply with token T:

* ``T.rules``   the previous live ruleset of the tables the apply touched (restore text)
* ``T.json``    {family, deadline, tables, ...}: data only, never a command
* ``T.pending`` exists while nobody has decided yet

T.json may also carry the kernel settings of the apply (iptables_ruleset option sysctl, see
sysctl_transaction): ``sysctl``, the previous live values, restored by the timer BEFORE the rules
(forwarding goes off first), and ``sysctl_file``, the sysctl.d file iptables_confirm writes after
the confirmation. Both are data, validated key by key before use.

Trust: the state directory must be a real directory (not a symlink) owned by the user
running the module (root) with no group or other permissions (``secure_dir``), checked
before anything in it is read or written; it is created 0700. A token is accepted only in
the exact shape ``arm`` makes (``FAMILY-SECONDS-8HEX``, ``valid_token``), so no path is
ever built from input. The timer restores with the argv its own module process computed
(passed in memory to ``expire``/``watch``/``run_window``), never one read from a file.

Exactly one of the two deciders wins, because each starts with ``os.rename`` of
``T.pending``, which is atomic:

* the confirmer renames it to ``T.confirmed``;
* the timer, at the deadline, renames it to ``T.reverting``, restores ``T.rules`` with
  ``iptables-restore`` and renames ``T.reverting`` to ``T.reverted`` (or ``T.failed``).

The apply itself happens in the timer process too, after the module has returned
(``run_window``): a ruleset that cuts the connection must not cut it before the module's own
answer has reached the controller. The timer waits ``delay`` seconds, or less when the
controller says it has the answer: the first confirmation call writes ``T.go`` (``go``), and
only a controller that read the answer knows the token. The timer records ``T.applied`` (or
renames ``T.pending`` to ``T.apply-failed``: iptables-restore is atomic, so nothing
changed); the confirmer waits for that record first (``wait_applied``).

A confirmation that finds no ``T.pending`` reports what happened instead: ``reverted``
(the timer won), ``confirmed`` (a repeated confirmation) or ``unknown`` (no trace: the
host rebooted during the window, which also restores the previous ruleset from the
persisted file). A new apply for a family while another one of the same family is pending
is refused (``RollbackBusy``): stacking two revert timers would restore the wrong state.
A pending apply whose deadline has passed (its timer was killed) is reverted by the next
arm() before it goes on: an unconfirmed apply is never kept.
"""

from __future__ import annotations

import gc
import json
import os
import re
import stat
import subprocess
import time
import uuid

from ansible_collections.rampart.firewall.plugins.module_utils import atomic_file
from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_transaction

STATE_DIR = '/run/rampart-firewall'
# Bounds and delay of a window, the same for every module that arms one (iptables_ruleset, sysctl_hardening):
# a window that never ends is no safety net; the apply lock is waited for at most MAX_WAIT seconds; the timer
# applies at most APPLY_DELAY seconds after the module has answered.
MAX_ROLLBACK_TIMEOUT = 3600
MAX_WAIT = 300
APPLY_DELAY = 1.0
# The exact shape arm() makes: family, whole seconds, 8 hex digits (ASCII only).
TOKEN_RE = re.compile(r'\A(?:ipv4|ipv6)-[0-9]{1,12}-[0-9a-f]{8}\Z')


class StateDirError(Exception):
    """The state directory cannot be trusted (wrong owner, mode, or not a directory)."""


def valid_token(token):
    """True when TOKEN has exactly the shape arm() generates."""
    return isinstance(token, str) and TOKEN_RE.match(token) is not None


def secure_dir(state_dir):
    """Create STATE_DIR (mode 0700) or check that the existing one can be trusted: a directory,
    not a symlink, owned by this process's user, no group/other permissions. Raises StateDirError."""
    try:
        os.mkdir(state_dir, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StateDirError('cannot create the state directory %s: %s' % (state_dir, exc.strerror or exc))
    try:
        info = os.lstat(state_dir)
    except OSError as exc:
        raise StateDirError('cannot inspect the state directory %s: %s' % (state_dir, exc.strerror or exc))
    problems = []
    if not stat.S_ISDIR(info.st_mode):
        problems.append('it is not a directory (a symlink or a file)')
    else:
        if info.st_uid != os.geteuid():
            problems.append('it is owned by uid %d, not %d' % (info.st_uid, os.geteuid()))
        if stat.S_IMODE(info.st_mode) & 0o077:
            problems.append('its mode is %04o (group or others have access)' % stat.S_IMODE(info.st_mode))
    if problems:
        raise StateDirError('refusing to use the state directory %s: %s. Remove it; it is recreated with mode 0700'
                            % (state_dir, '; '.join(problems)))
    return state_dir


class RollbackBusy(Exception):
    """Another apply of the same family is still waiting for its confirmation."""

    def __init__(self, token, family, remaining):
        self.token = token
        self.family = family
        self.remaining = remaining
        super().__init__(
            'an earlier apply (%s, token %s) is still waiting for its confirmation; its revert timer '
            'fires in %.0f s. Confirm it over a new connection (rampart.firewall.iptables_confirm with this token; '
            'rampart.firewall.iptables_ruleset does that by itself before going on), wait for its timer, or '
            'remove %s/%s.pending to give up its revert'
            % (family, token, max(remaining, 0), STATE_DIR, token))


def _path(state_dir, token, suffix):
    if not valid_token(token):   # never a path from input: callers validate, this is the last guard
        raise ValueError('not a rollback token: %r' % (token,))
    return os.path.join(state_dir, '%s.%s' % (token, suffix))


def _write(path, text):
    atomic_file.write_atomic(path, text, 0o600)


def pending(state_dir, family=None, now=None):
    """Pending applies as a list of (token, meta) sorted by deadline, optionally of one family."""
    now = time.time() if now is None else now
    found = []
    if not os.path.isdir(state_dir):
        return found
    for name in os.listdir(state_dir):
        if not name.endswith('.pending'):
            continue
        token = name[:-len('.pending')]
        if not valid_token(token):
            continue
        try:
            with open(_path(state_dir, token, 'json')) as handle:
                meta = json.load(handle)
        except (IOError, OSError, ValueError):
            continue
        if family is None or meta.get('family') == family:
            meta['remaining'] = meta['deadline'] - now
            found.append((token, meta))
    return sorted(found, key=lambda item: item[1]['deadline'])


def open_windows_warning(families, state_dir=None):
    """Check mode: a warning naming the open windows of FAMILIES (read only), or None. Used by every module that
    settles windows (iptables_ruleset, the granular modules, sysctl_hardening)."""
    state_dir = state_dir or STATE_DIR
    if not os.path.isdir(state_dir) or os.path.islink(state_dir):
        return None
    try:
        found = [(token, meta) for family in families for token, meta in pending(state_dir, family)]
    except (IOError, OSError, KeyError, TypeError):
        return None
    if not found:
        return None
    shown = ', '.join('%s, token %s, %.0f s left' % (meta.get('family'), token, max(meta['remaining'], 0))
                      for token, meta in found)
    return ('a confirm-or-revert window is open (%s): a run without check mode confirms it over a new connection '
            'before changing anything, or fails' % shown)


def arm(state_dir, family, previous, restore_argv, timeout, tables=(), now=None, extra=None):
    """Record the previous ruleset and open the window. Returns the token.

    restore_argv is the iptables-restore command of FAMILY; it is used to expire a stale window
    of the same family now, and is not stored. Raises RollbackBusy when an apply of the same
    family is already pending, StateDirError when the state directory cannot be trusted."""
    if family not in ('ipv4', 'ipv6'):
        raise ValueError('family must be ipv4 or ipv6, not %r' % (family,))
    now = time.time() if now is None else now
    secure_dir(state_dir)
    settle(state_dir, family, restore_argv, now)
    prune(state_dir, now)
    token = '%s-%d-%s' % (family, int(now), uuid.uuid4().hex[:8])
    _write(_path(state_dir, token, 'rules'), previous)
    meta = {'family': family, 'deadline': now + timeout, 'timeout': timeout,
            'tables': list(tables), 'armed': now}
    meta.update(extra or {})
    _write(_path(state_dir, token, 'json'), json.dumps(meta))
    _write(_path(state_dir, token, 'pending'), '')
    return token


def settle(state_dir, family, restore_argv, now=None):
    """Before any apply of FAMILY (with or without a window of its own): refuse while a window
    of FAMILY is open (its timer would later restore the ruleset from before that window, undoing
    this apply), and keep the promise of a window whose deadline passed but whose timer is gone
    (killed): revert it now. Raises RollbackBusy."""
    now = time.time() if now is None else now
    for token, meta in pending(state_dir, family, now):
        if meta['remaining'] > 0:
            raise RollbackBusy(token, family, meta['remaining'])
        expire(state_dir, token, restore_argv)


FINAL = ('confirmed', 'reverted', 'failed', 'apply-failed')


def prune(state_dir, now, age=3600):
    """Forget windows decided more than AGE seconds ago (their files only serve late confirmations),
    and temporary files of atomic_file.write_atomic left by a process killed mid-write."""
    for name in os.listdir(state_dir):
        if name.startswith('.') and name.endswith('.tmp'):
            path = os.path.join(state_dir, name)
            try:
                if now - os.lstat(path).st_mtime >= age:
                    os.unlink(path)
            except OSError:
                pass
            continue
        token, _sep, state = name.partition('.')
        if state not in FINAL or not valid_token(token):
            continue
        try:
            if now - os.stat(os.path.join(state_dir, name)).st_mtime < age:
                continue
        except OSError:
            continue
        for suffix in FINAL + ('applied', 'json', 'rules', 'go'):
            try:
                os.unlink(_path(state_dir, token, suffix))
            except OSError:
                pass


def outcome(state_dir, token):
    """What became of TOKEN: pending, confirmed, reverting, reverted, failed or unknown."""
    for state in ('pending', 'confirmed', 'reverting', 'reverted', 'failed', 'apply-failed'):
        if os.path.exists(_path(state_dir, token, state)):
            return state
    return 'unknown'


def confirm(state_dir, token):
    """Confirm TOKEN. Returns (state, detail): state 'confirmed' when this call won,
    otherwise what happened instead (see outcome())."""
    try:
        os.rename(_path(state_dir, token, 'pending'), _path(state_dir, token, 'confirmed'))
    except OSError:  # somebody else decided
        state = outcome(state_dir, token)
        detail = ''
        if state in ('reverted', 'failed', 'apply-failed'):
            with open(_path(state_dir, token, state)) as handle:
                detail = handle.read()
        return state, detail
    _cleanup(state_dir, token, keep=('confirmed',))
    return 'confirmed', ''


def expire(state_dir, token, restore_argv, run=None):
    """The timer's move at the deadline: revert unless confirmed. Returns the final state.

    restore_argv comes from the caller (the module process that armed the window, or the
    next apply of the same family), never from the state directory."""
    try:
        os.rename(_path(state_dir, token, 'pending'), _path(state_dir, token, 'reverting'))
    except OSError:
        return outcome(state_dir, token)
    run = run or _run
    with open(_path(state_dir, token, 'json')) as handle:
        meta = json.load(handle)
    try:
        with open(_path(state_dir, token, 'rules')) as handle:
            previous = handle.read()
    except FileNotFoundError:
        previous = None
    # the kernel settings of the window first (iptables_ruleset option sysctl, or the kernel-only window of
    # sysctl_hardening): forwarding goes off before the previous rules come back (T.json's sysctl, validated
    # key by key: sysctl_transaction.restore_live)
    kernel_problems = sysctl_transaction.restore_live(meta.get('sysctl'))
    rc, out, err = restore_rules(meta, previous, restore_argv, run)
    # then the address sets of the apply (iptables_ruleset's managed ipsets): their previous content,
    # and the sets it created destroyed, once the rules that used them are gone
    set_problems = revert_sets(meta.get('ipsets'), run)
    state = 'reverted' if rc == 0 and not set_problems and not kernel_problems else 'failed'
    report = {'rc': rc, 'stdout': out, 'stderr': err, 'restored': previous or '', 'tables': meta.get('tables', []),
              'at': time.time(), 'family': meta['family']}
    failed_apply = applied(state_dir, token)
    if isinstance(failed_apply, dict) and failed_apply.get('msg'):
        # the timer's apply failed after changing something (ApplyError applied=True): say why it reverted at once
        report['apply_error'] = failed_apply['msg']
    if meta.get('sysctl'):
        report['sysctl'] = {'restored': [item[0] for item in meta['sysctl'] if isinstance(item, list) and item],
                            'problems': kernel_problems}
    if meta.get('ipsets'):
        report['ipsets'] = {'restored': [item['name'] for item in meta['ipsets'].get('restore') or []],
                            'destroyed': list(meta['ipsets'].get('destroy') or []), 'problems': set_problems}
    _write(_path(state_dir, token, 'reverting'), json.dumps(report))
    os.rename(_path(state_dir, token, 'reverting'), _path(state_dir, token, state))
    return state


def restore_rules(meta, previous, restore_argv, run):
    """The rules part of a revert: (rc, stdout, stderr). A kernel-only window (sysctl_hardening: no tables, T.rules
    empty) has no rules to restore: nothing runs. A window of tables whose T.rules is missing, or a host without
    iptables-restore (RESTORE_ARGV None), cannot be restored: rc 1, the revert is 'failed'."""
    if not meta.get('tables') and not (previous or '').strip():
        return 0, '', ''
    if previous is None:
        return 1, '', 'the previous rules (T.rules) are missing: nothing to restore them from'
    if not restore_argv:
        return 1, '', 'iptables-restore was not found when this window was settled: the previous rules were not restored'
    return run(list(restore_argv), previous)


def withdraw(state_dir, token):
    """Remove the files of a window armed by this run whose timer has not been started (nothing applied), so that
    no later apply finds it pending and restores its state."""
    if not valid_token(token):
        return
    for suffix in ('pending', 'json', 'rules'):
        try:
            os.unlink(_path(state_dir, token, suffix))
        except OSError:
            pass


# Where the revert finds ipset (a constant list, never a path from input or from the state directory).
IPSET_PATHS = ('/usr/sbin/ipset', '/sbin/ipset', '/usr/bin/ipset', '/bin/ipset')


def revert_sets(record, run=None):
    """The set part of a revert: ipset_model.revert_sets of RECORD (T.json's ipsets) with the ipset of
    IPSET_PATHS, through RUN(argv, data). Returns the problems (empty: every set back, or no record)."""
    if not record:
        return []
    run = run or _run
    binary = next((path for path in IPSET_PATHS if os.path.isfile(path) and os.access(path, os.X_OK)), None)
    if binary is None:
        return ['ipset is not installed (%s): the sets were not restored' % ', '.join(IPSET_PATHS)]
    return ipset_model.revert_sets(lambda args, data=None: run([binary] + list(args), data or ''), record)


def _run(argv, data):
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, LANG='C', LC_ALL='C'))
    out, err = proc.communicate(data.encode('utf-8'))
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def _cleanup(state_dir, token, keep=()):
    for suffix in ('rules', 'json', 'go'):
        if suffix not in keep:
            try:
                os.unlink(_path(state_dir, token, suffix))
            except OSError:
                pass


def watch(state_dir, token, restore_argv, sleep=time.sleep, now=time.time, run=None):
    """Body of the timer process: sleep until the deadline, then expire()."""
    with open(_path(state_dir, token, 'json')) as handle:
        deadline = json.load(handle)['deadline']
    while True:
        left = deadline - now()
        if left <= 0:
            break
        if not os.path.exists(_path(state_dir, token, 'pending')):
            return outcome(state_dir, token)
        sleep(min(left, 0.5))
    return expire(state_dir, token, restore_argv, run=run)


class ApplyError(Exception):
    """The deferred apply failed. applied: True when the live ruleset was changed anyway
    (for example the read-back did not match), which makes the timer revert at once."""

    def __init__(self, msg, applied=False, **details):
        super().__init__(msg)
        self.msg = msg
        self.applied = applied
        self.details = details


def meta(state_dir, token):
    """The json record of TOKEN (None when it is gone)."""
    try:
        with open(_path(state_dir, token, 'json')) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def applied(state_dir, token):
    """The record the timer wrote after applying (None while the apply has not happened)."""
    try:
        with open(_path(state_dir, token, 'applied')) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


# How often the timer looks for the controller's go (T.go) while it waits to apply, and a confirmation
# for the timer's apply (wait_applied).
GO_POLL = 0.05


def go(state_dir, token):
    """Tell the timer of TOKEN that the controller has the module's answer (T.go): a confirmation
    (iptables_confirm) comes only after the controller has read that answer, which holds the token,
    so the apply need not wait the rest of its delay. Harmless once the timer has applied."""
    try:
        os.close(os.open(_path(state_dir, token, 'go'), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        pass


def wait_go(state_dir, token, delay, sleep=time.sleep, now=time.time):
    """Wait until the controller's go (see go()) or DELAY seconds, whichever comes first: the apply
    never starts before the controller has the module's answer or DELAY has passed, and never later
    than DELAY."""
    end = now() + delay
    path = _path(state_dir, token, 'go')
    while True:
        left = end - now()
        if left <= 0 or os.path.exists(path):
            return
        sleep(min(left, GO_POLL))


def run_window(state_dir, token, apply, restore_argv, delay=1.0, sleep=time.sleep, now=time.time, run=None):
    """Body of the timer process: wait for the controller's go or DELAY (wait_go), apply, then
    watch() until confirmed or expired.

    apply() returns a dict recorded in T.applied, or raises ApplyError."""
    wait_go(state_dir, token, delay, sleep=sleep, now=now)
    try:
        record = apply() or {}
    except ApplyError as exc:
        report = {'msg': exc.msg, 'applied': exc.applied, 'details': exc.details, 'at': now()}
        if exc.applied:
            _write(_path(state_dir, token, 'applied'), json.dumps(report))
            return expire(state_dir, token, restore_argv, run=run)
        _write(_path(state_dir, token, 'apply-failed.tmp2'), json.dumps(report))
        try:
            os.rename(_path(state_dir, token, 'pending'), _path(state_dir, token, 'apply-failed'))
        except OSError:
            return outcome(state_dir, token)
        os.rename(_path(state_dir, token, 'apply-failed.tmp2'), _path(state_dir, token, 'apply-failed'))
        return 'apply-failed'
    record['at'] = now()
    _write(_path(state_dir, token, 'applied'), json.dumps(record))
    return watch(state_dir, token, restore_argv, sleep=sleep, now=now, run=run)


# What a confirmation waits for the timer's apply beyond the apply's own wait for the apply lock
# (option wait of iptables_ruleset, recorded as 'wait' in T.json): the delay before the apply, the
# restore, the read-back and a loaded host.
APPLY_MARGIN = 30
# The wait of a window recorded without one (armed by an older version): the largest allowed.
LEGACY_WAIT = 300


def apply_wait(meta):
    """Seconds a confirmation of the window of META (its json record, or None) waits for the timer's
    apply: the apply's recorded wait for the lock plus APPLY_MARGIN. The timer takes the apply lock
    with that wait, so a fixed shorter wait would declare a slow but healthy apply failed."""
    wait = (meta or {}).get('wait')
    if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= LEGACY_WAIT:
        wait = LEGACY_WAIT
    return wait + APPLY_MARGIN


def wait_applied(state_dir, token, timeout, sleep=time.sleep, now=time.time):
    """Wait until the timer has applied (or failed to). Returns the outcome: 'pending' with
    an applied record, or any final state; 'waiting' if TIMEOUT passed first."""
    end = now() + timeout
    while True:
        state = outcome(state_dir, token)
        if state != 'pending' or applied(state_dir, token) is not None:
            return state
        if now() >= end:
            return 'waiting'
        sleep(GO_POLL)


def spawn(body):  # pragma: no cover - exercised in molecule/safety
    """Run BODY() in a detached grandchild that outlives the module, the connection
    (setsid: no SIGHUP when SSH dies) and Ansible's temporary files (the code is already
    in memory). Every inherited descriptor above stderr is closed in the grandchild, so it
    holds no lock of the module (ApplyLock) and no pipe of the connection. Returns the
    grandchild's pid."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_fd)
            os.setsid()
            grandchild = os.fork()
            if grandchild:
                os.write(write_fd, str(grandchild).encode())
                os._exit(0)
            os.close(write_fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, max(os.sysconf('SC_OPEN_MAX'), 1024))
            os.chdir('/')
            # the module's process runs without the cyclic collector (modules/iptables_ruleset.py main); the
            # timer outlives it by up to the window's length
            gc.enable()
            body()
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd) as handle:
        value = handle.read()
    return int(value) if value else 0
