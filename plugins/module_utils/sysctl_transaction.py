# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kernel settings as a participant of iptables_ruleset's transaction (option sysctl).

The settings that can cut a connection (rp_filter on an asymmetric route, forwarding) are planned in the
same call as the rules (read /proc/sys, compute the changes and the sysctl.d file), applied by the window's
timer right after the rules (forwarding goes on only once the new FORWARD rules are live), restored by the
timer on revert before the rules (forwarding goes off first), and the sysctl.d file is written only after
the confirmation (iptables_confirm), atomically. Without a window (rollback_timeout 0, or nothing live
changes) the live values and the file are written where the persisted rules are.

The window keeps its part as data in its state file (T.json, see iptables_rollback):

* ``sysctl``       [[key, previous value], ...]: restored by the timer (restore_live), every key validated
                   (sysctl_profiles.check_restore_record) and its /proc/sys path built from the validated key;
* ``sysctl_file``  {path, profile, settings, optional}: the file written after the confirmation
                   (write_file_record), its path checked and its content rendered from validated data.

The pure parts are in sysctl_profiles (plan_changes, share_keys, restore_record, check_restore_record,
file_record, check_file_record); here: the reads and writes of /proc/sys and of the file.
"""

from __future__ import annotations

import errno
import os
import stat

from ansible_collections.rampart.firewall.plugins.module_utils import atomic_file
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    ENGINE_SOCKETS,
    SYS_CLASS_NET,
    WRITE_DIRS as SYSCTL_DIRS,
    SettingsError,
    apply_order,
    check_file_record,
    check_path,
    check_restore_record,
    detect_engine,
    engine_needs_reading,
    engine_settings,
    file_record,
    merge_settings,
    normalize_live,
    plan_changes,
    readonly_mount,
    render,
    restore_record,
    share_keys,
    sysctl_path,
    transaction_key,
    values_equal,
)

__metaclass__ = type

# Unit tests point these elsewhere.
PROC_SYS = '/proc/sys'
NET_DIR = SYS_CLASS_NET
SOCKET_ROOT = ''
MOUNTINFO = '/proc/self/mountinfo'
DEFAULT_PATH = '/etc/sysctl.d/90-rampart-firewall.conf'
FILE_MODE = 0o644
LIVE_HEADER = 'live values (/proc/sys)'
ON_READONLY = ('fail', 'file_only', 'skip')
# The directories the file may be in (sysctl_profiles.WRITE_DIRS).
WRITE_DIRS = SYSCTL_DIRS


def proc_file(key):
    """The /proc/sys file of KEY, built only from a key transaction_key accepts (raises SettingsError)."""
    return os.path.join(PROC_SYS, sysctl_path(transaction_key(key)))


def read_key_file(path):
    """The value in the /proc/sys file PATH (without the final newline), None when it does not exist; never
    through a symlink, and only a regular file (a directory of keys is not a key). Raises OSError. The one
    reader of live kernel values of the collection (sysctl_hardening uses it too)."""
    if not os.path.lexists(path):
        return None
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, 'not a key (a directory of keys or not a regular file)', path)
        data = os.read(fd, 65536)
    finally:
        os.close(fd)
    text = data.decode('utf-8', 'replace')
    return text[:-1] if text.endswith('\n') else text


def write_key_file(path, value):
    """One write(2) of VALUE (text) to the /proc/sys file PATH, never through a symlink (the kernel parses one
    write as the whole value). Raises OSError. The one writer of live kernel values of the collection."""
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        os.write(fd, value.encode('utf-8'))
    finally:
        os.close(fd)


def read_mountinfo(path=None):
    """The text of /proc/self/mountinfo (PATH in tests), '' when it cannot be read: whether /proc/sys is mounted
    read-only (sysctl_profiles.readonly_mount). Used by sysctl_hardening too."""
    try:
        with open(path or MOUNTINFO) as handle:
            return handle.read()
    except (IOError, OSError):
        return ''


def read_live(key):
    """The live value of KEY (without the final newline), None when the key does not exist. Raises OSError."""
    return read_key_file(proc_file(key))


def write_live(key, value):
    """One write(2) of VALUE to KEY's file. Raises OSError."""
    write_key_file(proc_file(key), value)


def set_values(pairs):
    """Write [(key, value)] in their order, skipping a key already at its value (read again just before: a
    forwarding key written first may reset others). Returns the problems (empty: every value set and read back)."""
    problems = []
    for key, value in pairs:
        try:
            current = read_live(key)
            if current is not None and values_equal(value, current):
                continue
            write_live(key, value)
            current = read_live(key)
        except (IOError, OSError, SettingsError) as exc:
            problems.append('%s: %s' % (key, getattr(exc, 'strerror', None) or exc))
            continue
        if current is None or not values_equal(value, current):
            problems.append('%s: set to %s, the kernel reports %s' % (key, value, normalize_live(current or '')))
    return problems


def restore_live(record):
    """The revert timer's part (no module): the live values of RECORD (T.json's sysctl) back, forwarding keys
    first. A record that does not validate is not restored at all. Returns the problems (empty: all back)."""
    if not record:
        return []
    try:
        pairs = check_restore_record(record)
    except SettingsError as exc:
        return ['the kernel settings were not restored: %s' % exc]
    return set_values(pairs)


# iptables_host is imported where it is used: it imports iptables_rollback, which imports this module.


def write_file_record(module, record):
    """After the confirmation (iptables_confirm): write the sysctl.d file of RECORD (T.json's sysctl_file),
    its path checked and its content rendered here. Returns whether the file changed; raises FirewallError."""
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import HostError, check_file_path
    try:
        path, content = check_file_record(record, WRITE_DIRS)
    except SettingsError as exc:
        raise FirewallError('not writing the sysctl.d file: %s' % exc)
    problem = check_file_path('sysctl.path', path)
    if problem:
        raise FirewallError('not writing the sysctl.d file: %s' % problem)
    try:
        before, mode = read_file(path)
    except HostError as exc:
        raise FirewallError('not writing the sysctl.d file: %s' % exc.msg)
    if before == content and mode == FILE_MODE:
        return False
    write_file(module, path, content)
    return True


def read_file(path):
    """(text or None, mode or None) of the sysctl.d file, never through a symlink. Raises HostError."""
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import read_own_file
    data = read_own_file('sysctl.path', path)
    if data is None:
        return None, None
    return data.decode('utf-8', 'replace'), stat.S_IMODE(os.lstat(path).st_mode)


def write_file(module, path, content):
    """The file, atomically (temporary file in the same directory, rename), mode 0644. Raises FirewallError."""
    try:
        atomic_file.write_atomic(path, content.encode('utf-8'), FILE_MODE, module.atomic_move)
        os.chmod(path, FILE_MODE)
    except (IOError, OSError) as exc:
        raise FirewallError('cannot write the sysctl.d file %s: %s' % (path, getattr(exc, 'strerror', None) or exc))


def engine_evidence():
    """detect_engine() of the target: the entries of /sys/class/net and the engine sockets that exist. The one
    look of the collection: sysctl_hardening and iptables_outputs (sysctl_check) import it from here (a light
    module: it does not bring the ruleset model along). Unit tests point NET_DIR and SOCKET_ROOT elsewhere."""
    try:
        names = os.listdir(NET_DIR)
    except (IOError, OSError):
        names = []
    return detect_engine(names, [path for path in ENGINE_SOCKETS if os.path.exists(SOCKET_ROOT + path)])


class KernelSettings:
    """The kernel settings of one iptables_ruleset call (option sysctl: profile, settings, path,
    container_engine, on_readonly), for the families of the call (in order).

    Its steps in the Transaction: plan (read_plan: reads and plans, nothing written; each family learns of it
    as RulesetApply.kernel), apply (the live changes of the families without a window), write (the file without
    a window, the result keys). For a family with a window: window_record(family) is its data in T.json,
    apply_share(family) the timer's live change after the rules."""

    def __init__(self, module, options, families):
        self.module = module
        self.options = options
        self.families = list(families)
        self.path = options.get('path') or DEFAULT_PATH
        self.settings = {}
        # the live values read (key -> text), and the keys that cannot be written (read-only /proc/sys)
        self.live = {}
        self.blocked_keys = set()
        self.changes = []
        self.skipped = []
        self.file = None
        self.left = []
        self.evidence = []
        self.windowed = set()
        self.applied = []

    def fail(self, msg, **extra):
        raise FirewallError('sysctl: %s Nothing was changed.' % msg, **extra)

    # ---- read and plan: nothing written ----------------------------------------------------------
    def read_plan(self):
        options = self.options
        profile, engine = options['profile'], options.get('container_engine') or 'auto'
        on_readonly = options.get('on_readonly') or 'fail'
        if on_readonly not in ON_READONLY:
            self.fail('on_readonly must be one of %s, not %r.' % (', '.join(ON_READONLY), on_readonly))
        problem = check_path(self.path, WRITE_DIRS)
        if problem:
            self.fail(problem)
        wanted = options.get('settings') or {}
        try:
            self.evidence = engine_evidence() if engine_needs_reading(profile, wanted, engine) else []
            wanted, self.left = engine_settings(profile, wanted, engine, self.evidence)
            self.settings = merge_settings(profile, wanted)
            for key in self.settings:
                transaction_key(key)
        except SettingsError as exc:
            raise FirewallError('sysctl: %s' % exc, field='sysctl.settings')
        if self.left:
            self.module.warn('A container engine runs here (%s): %s left as they are (the host profile would switch '
                             'forwarding off and cut the containers off).'
                             % (', '.join(self.evidence) or 'container_engine=present', ' and '.join(self.left)))
        live, unknown = {}, []
        for key in self.settings:
            try:
                value = read_live(key)
            except (IOError, OSError) as exc:
                self.fail('cannot read %s (%s): %s.' % (key, proc_file(key), getattr(exc, 'strerror', None) or exc))
            if value is None:
                unknown.append(key)
            else:
                live[key] = value
        if unknown:
            self.fail('unknown sysctl key(s): %s (no %s on the target: a typo, a module not loaded, an interface that '
                      'does not exist).' % (', '.join(unknown), ', '.join(proc_file(key) for key in unknown)),
                      field='sysctl.settings', unknown=unknown)
        self.live = live
        changes = plan_changes(self.settings, live)
        blocked = self.blocked([change['key'] for change in changes])
        self.blocked_keys = set(blocked)
        if blocked:
            listed = ', '.join('%s (live %s, wanted %s)' % (c['key'], c['before'], c['after'])
                               for c in changes if c['key'] in blocked)
            why = blocked[sorted(blocked)[0]]
            if on_readonly == 'fail':
                self.fail('cannot set %s live: %s. Use on_readonly=file_only or skip. Keys that cannot be set: %s.'
                          % (sorted(blocked)[0], why, listed), field='sysctl.on_readonly')
            if on_readonly == 'skip':
                self.module.warn('Kernel settings NOT applied (sysctl.on_readonly=skip): %s. Not set: %s; the file '
                                 'is not written either.' % (why, listed))
                self.skipped = [dict(change, reason=why) for change in changes]
                self.changes = []
                return self
            self.module.warn('%d kernel setting(s) NOT applied live (on_readonly=file_only): %s. Not set: %s. %s holds them; '
                             'they take effect only at a boot where %s is writable (not in this container).'
                             % (len(blocked), why, listed, self.path, PROC_SYS))
            self.skipped = [dict(c, reason=blocked[c['key']]) for c in changes if c['key'] in blocked]
        self.changes = [change for change in changes if change['key'] not in blocked]
        content = render(self.settings, profile)
        from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import HostError, check_file_path
        problem = check_file_path('sysctl.path', self.path)
        if problem:
            self.fail(problem)
        if not os.path.isdir(os.path.dirname(self.path)):
            self.fail('the directory of sysctl.path %s does not exist.' % os.path.dirname(self.path))
        try:
            before, mode = read_file(self.path)
        except HostError as exc:
            self.fail('%s.' % exc.msg)
        self.file = {'path': self.path, 'before': before, 'content': content,
                     'same': before == content and mode == FILE_MODE,
                     'record': file_record(self.path, profile, self.settings)}
        return self

    def blocked(self, keys):
        """key -> reason for the keys of KEYS that cannot be written (a read-only /proc/sys)."""
        found = {}
        mountinfo = None
        for key in keys:
            path = proc_file(key)
            if os.access(path, os.W_OK):
                continue
            if mountinfo is None:
                mountinfo = read_mountinfo()
            ro = readonly_mount(mountinfo, path)
            if ro is None and os.geteuid() != 0:
                self.fail('cannot set %s live: %s is not writable and the module runs as uid %d, not root (use become).'
                          % (key, path, os.geteuid()))
            found[key] = (('%s is mounted read-only (%s is read-only, as in an unprivileged container)' % (ro, PROC_SYS)) if ro
                          else 'permission denied: the key is read-only, or it belongs to the host namespace')
        return found

    # ---- the steps of iptables_transaction.Transaction (a participant: called after the families) ----
    def plan(self, transaction):
        """Step plan: read /proc/sys and the file, plan the changes (nothing written); every family learns
        of its share (RulesetApply.kernel: its window is armed for it, its timer applies it after the rules)."""
        self.read_plan()
        for worker in transaction.workers:
            worker.kernel = self

    def apply(self, transaction):
        """Step apply (after the families' rules): the live changes of the families without a window."""
        if self.module.check_mode:
            return
        for worker in transaction.workers:
            if worker.family not in self.windowed:
                self.apply_share(worker.family)

    def write(self, transaction):
        """Step write: the file, unless a window carries it (iptables_confirm writes it after the confirmation);
        then the result keys and diffs."""
        if self.file_changed() and not self.windowed and not self.module.check_mode:
            write_file(self.module, self.path, self.file['content'])
            transaction.workers[0].written.append(self.path)
        worker = transaction.workers[0]
        self.report(transaction.result, worker.diffs)
        if transaction.result.get('changed'):
            worker.result['changed'] = True

    # ---- the windows ------------------------------------------------------------------------------
    def share(self, family):
        """The live changes carried by FAMILY's window (share_keys of the call's families)."""
        keys = share_keys([change['key'] for change in self.changes], self.families)[family]
        return [change for change in self.changes if change['key'] in keys]

    def changes_live(self, family):
        return bool(self.share(family))

    def share_all(self, family):
        """Every settable key of FAMILY's share, changed or not, in apply_order: writing a forwarding key makes the
        kernel reset others (net.ipv4.ip_forward sets net.ipv4.conf.all.accept_redirects to its opposite), so the
        apply sets them all (only those that differ, read again just before) and the revert restores them all."""
        keys = share_keys([key for key in self.settings if key in self.live and key not in self.blocked_keys],
                          self.families)[family]
        return keys

    def file_changed(self):
        return self.file is not None and not self.file['same']

    def window_record(self, family):
        """The extra data of FAMILY's T.json (its window is being armed): the previous live values of its share,
        and, in the first window of the call, the sysctl.d file to write after the confirmation."""
        extra = {}
        if self.share(family):
            extra['sysctl'] = restore_record([{'key': key, 'before': normalize_live(self.live[key])}
                                              for key in self.share_all(family)])
        if not self.windowed and self.file_changed():
            extra['sysctl_file'] = self.file['record']
        self.windowed.add(family)
        return extra

    def apply_share(self, family):
        """The timer's part (inside the window, after the rules): FAMILY's live changes, forwarding keys first.
        Raises FirewallError naming the keys that failed (the timer then reverts at once)."""
        if not self.share(family):
            return
        keys = self.share_all(family)
        problems = set_values([(key, self.settings[key]) for key in keys])
        self.applied.extend(keys)
        if problems:
            raise FirewallError('sysctl: the kernel refused: %s' % '; '.join(problems))

    def report(self, result, diffs):
        pending = bool(self.windowed)
        result['sysctl'] = {
            'path': self.path, 'settings': self.settings, 'live_changed': self.changes, 'live_skipped': self.skipped,
            'file_changed': self.file_changed(), 'pending': pending,
            'container_engine': {'found': self.evidence, 'forwarding_left': self.left},
        }
        if self.changes or self.file_changed():
            result['changed'] = True
        if self.module._diff:
            if self.file_changed():
                diffs.append({'before_header': self.path if self.file['before'] is not None else '%s (absent)' % self.path,
                              'after_header': self.path, 'before': self.file['before'] or '', 'after': self.file['content']})
            if self.changes:
                diffs.append({'before_header': LIVE_HEADER, 'after_header': LIVE_HEADER,
                              'before': ''.join('%s = %s\n' % (c['key'], c['before']) for c in self.changes),
                              'after': ''.join('%s = %s\n' % (c['key'], c['after']) for c in self.changes)})


def written_order(changes):
    """The keys of CHANGES in the order they are written (apply_order): for messages and tests."""
    return apply_order([change['key'] for change in changes])
