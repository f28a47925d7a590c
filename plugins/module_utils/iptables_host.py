# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Side effects on the target besides iptables itself: the persisted file and the boot service.

Shared by iptables_ruleset (which persists right away, or defers it until the apply is
confirmed) and iptables_confirm (which does the deferred persistence). Functions take the
AnsibleModule for atomic_move, run_command and warn; the decisions about what to write
live in iptables_engine/iptables_persist (pure).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time

import hashlib

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils import atomic_file
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.os_release import read_os_release

ENABLED_STATES = ('enabled', 'static', 'alias', 'indirect', 'generated', 'transient')
_C = {'LANG': 'C', 'LC_ALL': 'C'}


class HostError(FirewallError):
    """A side effect failed: msg plus result keys (cmd, rc, stdout, stderr)."""


def write_atomic(module, path, content, mode):
    """Write content to path with atomic_file.write_atomic and module.atomic_move, creating the
    directory (0755) when it is missing. A new file gets mode; an existing one keeps its owner
    and mode (atomic_move copies them). Raises HostError."""
    directory = os.path.dirname(path) or '.'
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        atomic_file.write_atomic(path, content, mode, module.atomic_move)
    except (IOError, OSError) as exc:
        raise HostError('cannot write %s: %s' % (path, to_native(exc)))


def _missing(text):
    return 'No such file' in text or 'not found' in text or 'does not exist' in text


def _unusable(module, service, package, state, err):
    """Warn and return True when the boot service is not installed or masked (state: systemctl
    is-enabled's answer, err its stderr): enabling it cannot help."""
    if state == 'not-found' or _missing(err):
        module.warn('the service %s that restores the persisted rules at boot is not installed: '
                    'install the package %s' % (service, package))
        return True
    if state == 'masked':
        module.warn('the service %s that restores the persisted rules at boot is masked: '
                    'the rules will not be loaded at boot' % service)
        return True
    return False


def enable_services(module, services, package):
    """systemctl enable each service that is not enabled yet; returns the ones enabled (or to enable in check mode).

    A missing or masked unit is a warning naming the package, not a failure; no systemctl: nothing."""
    systemctl = module.get_bin_path('systemctl')
    enabled = []
    if not systemctl:
        return enabled
    for service in services:
        rc, out, err = module.run_command([systemctl, 'is-enabled', service], environ_update=_C)
        state = (out or '').strip().splitlines()[0].strip() if (out or '').strip() else ''
        if rc == 0 and state in ENABLED_STATES:
            continue
        if _unusable(module, service, package, state, err or ''):
            continue
        if not module.check_mode:
            cmd = [systemctl, 'enable', service]
            rc, out, err = module.run_command(cmd, environ_update=_C)
            if rc != 0:
                if _missing(err or ''):
                    module.warn('the service %s that restores the persisted rules at boot is not installed: '
                                'install the package %s' % (service, package))
                    continue
                raise HostError('cannot enable %s: %s' % (service, (err or out).strip()),
                                cmd=' '.join(cmd), rc=rc, stdout=out, stderr=err)
        enabled.append(service)
    return enabled


def _unit_file_states(module, systemctl, services):
    """{service: (state, stderr)} from one `systemctl is-enabled S1 S2 ...` (one line per unit, in order).
    systemd 257 prints "not-found" for a missing unit and goes on; older ones (252) print an error and
    stop at it: that unit gets state '' with the error, and the units after it are asked again."""
    states = {}
    rest = list(services)
    while rest:
        rc, out, err = module.run_command([systemctl, 'is-enabled'] + rest, environ_update=_C)
        lines = [line.strip() for line in (out or '').splitlines() if line.strip()]
        for service, state in zip(rest, lines):
            states[service] = (state, '')
        if len(lines) >= len(rest):
            break
        states[rest[len(lines)]] = ('', err or '')
        rest = rest[len(lines) + 1:]
    return states


def enable_services_families(module, wanted):
    """enable_services for the families of one call in one `systemctl is-enabled` (a run that changes
    nothing costs one systemctl process, not one per family and service).

    WANTED: ordered (family, services, package) triples, as persist targets give them. Returns
    {family: [services enabled, or to enable in check mode]}. A service shared by the families (Debian's
    netfilter-persistent) is checked, enabled and warned about once, and listed under the first family
    that names it, as two enable_services calls in a row would. The ones to enable are enabled with one
    `systemctl enable`; when that fails, one by one (enable_services), so that a missing unit is a warning there too.
    Raises HostError."""
    result = dict((family, []) for family, dummy, dummy2 in wanted)
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        return result
    owner = {}
    for family, services, package in wanted:
        for service in services:
            owner.setdefault(service, (family, package))
    if not owner:
        return result
    states = _unit_file_states(module, systemctl, list(owner))
    todo = []
    for service, (family, package) in owner.items():
        state, err = states.get(service, ('', ''))
        if state in ENABLED_STATES:
            continue
        if _unusable(module, service, package, state, err):
            continue
        todo.append(service)
    if todo and not module.check_mode:
        rc, out, err = module.run_command([systemctl, 'enable'] + todo, environ_update=_C)
        if rc != 0:
            # one by one: a unit the failed call enabled before it stopped counts as enabled by us
            after = _unit_file_states(module, systemctl, todo)
            todo = [service for service in todo
                    if after.get(service, ('', ''))[0] in ENABLED_STATES or enable_services(module, [service], owner[service][1])]
    for service in todo:
        result[owner[service][0]].append(service)
    return result


LOCK_NAME = 'apply.lock'


class ApplyLock:
    """An exclusive lock around read-plan-apply-verify, so that two applies on one host
    (two playbooks, or two tasks with async) run one after the other instead of each
    reading a ruleset the other is about to replace. fcntl.flock: released by the kernel
    when the process dies.

    The lock file is ``apply.lock`` in the rollback state directory (/run/rampart-firewall),
    which must be root's and 0700 (iptables_rollback.secure_dir): no other user can open,
    and so hold, the lock. It is opened with O_NOFOLLOW and must be a regular file owned by
    this process's user. A read-only /run (no place for the directory) means going on
    unlocked; an untrusted directory or file is an error."""

    def __init__(self, timeout, state_dir=None):
        self.timeout = max(int(timeout), 0)
        self.state_dir = state_dir or rollback.STATE_DIR
        self.path = os.path.join(self.state_dir, LOCK_NAME)
        self.fd = None

    def _open(self):
        try:
            rollback.secure_dir(self.state_dir)
        except rollback.StateDirError as exc:
            if os.path.exists(self.state_dir) or not _read_only(os.path.dirname(self.state_dir)):
                raise HostError(str(exc))
            return None   # read-only /run: go on unlocked
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise HostError('cannot open the apply lock %s: %s' % (self.path, exc.strerror or to_native(exc)))
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise HostError('refusing to use the apply lock %s: not a regular file owned by uid %d' % (self.path, os.geteuid()))
        return fd

    def __enter__(self):
        self.fd = self._open()
        if self.fd is None:
            return self
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError):
                if time.time() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise HostError('another rampart.firewall apply on this host still holds %s after %d s (option wait)'
                                    % (self.path, self.timeout))
                time.sleep(0.1)

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)   # closing releases the flock
            self.fd = None
        return False


def _read_only(path):
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def excerpt(text, limit=80):
    """A short, printable form of TEXT for messages: control and non-ASCII characters escaped
    (as Python's repr does), at most LIMIT characters, '...' when cut."""
    shown = repr(str(text))[1:-1]
    return shown if len(shown) <= limit else shown[:limit] + '...'


def _path_shape(option, path, what):
    """The checks a file and a directory path share. Returns (message, None) when the path is
    refused, else (None, its lstat result or None when it does not exist)."""
    shown = excerpt(path, 200)
    if not isinstance(path, str) or not path:
        return '%s must be an absolute %s path, not %r' % (option, what, path), None
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return '%s must not contain control characters: %s' % (option, shown), None
    if not os.path.isabs(path) or path == '/':
        return '%s must be an absolute path below /: %s' % (option, shown), None
    if any(part in ('.', '..') for part in path.split('/')) or path.endswith('/') or '//' in path:
        return '%s must be a normalised %s path (no ".", "..", "//" or trailing "/"): %s' % (option, what, shown), None
    try:
        return None, os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return '%s: cannot inspect %s: %s' % (option, shown, exc.strerror or exc), None


# Filesystems no file of the collection is ever written to: the kernel's interfaces (a "file" there is
# a kernel setting or a device), found by the filesystem a path is on, not by its prefix alone.
KERNEL_FILESYSTEMS = frozenset((
    'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'configfs',
    'bpf', 'pstore', 'efivarfs', 'fusectl', 'mqueue', 'binfmt_misc', 'hugetlbfs', 'rpc_pipefs', 'nsfs',
))
KERNEL_TREES = ('/proc', '/sys', '/dev')
MOUNTINFO = '/proc/self/mountinfo'


def _unescape_mount(field):
    """A path of /proc/self/mountinfo, whose blanks and backslashes are written as octal escapes."""
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and i + 3 < len(field) and all(c in '01234567' for c in field[i + 1:i + 4]):
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def filesystem_of(path, mountinfo=None):
    """(mount point, filesystem type) of the mount PATH (an existing path without symlinks) is on, from
    /proc/self/mountinfo (the longest mount point that contains it; of two on the same point, the later,
    which hides the earlier), or None when mountinfo cannot be read."""
    try:
        with open(mountinfo or MOUNTINFO, 'rb') as handle:
            text = handle.read(1 << 22).decode('utf-8', 'surrogateescape')
    except (IOError, OSError):
        return None
    found = None
    for line in text.splitlines():
        fields = line.split(' ')
        if ' - ' not in line or len(fields) < 5:
            continue
        point = _unescape_mount(fields[4])
        fstype = line.split(' - ', 1)[1].split(' ')[0]
        inside = point == '/' or path == point or path.startswith(point.rstrip('/') + '/')
        if inside and (found is None or len(point) >= len(found[0])):
            found = (point, fstype)
    return found


def _kernel_tree(option, path, existing, mountinfo=None):
    """The reason why PATH (EXISTING: its nearest existing ancestor, or itself) is in a kernel
    interface (/proc, /sys, /dev or any mount of their filesystems), or None."""
    shown = excerpt(path, 200)
    mount = filesystem_of(existing, mountinfo)
    if mount is not None and mount[1] in KERNEL_FILESYSTEMS:
        return ('%s must not be on a %s filesystem (mounted on %s: a kernel interface, not a place for files): %s'
                % (option, mount[1], excerpt(mount[0], 120), shown))
    try:
        device = os.stat(existing).st_dev
    except OSError:
        return None
    for tree in KERNEL_TREES:
        try:
            if os.path.isdir(tree) and os.stat(tree).st_dev == device:
                return '%s must not be on the filesystem of %s (a kernel interface, not a place for files): %s' % (option, tree, shown)
        except OSError:
            continue
    return None


def _real_ancestors(option, path, mountinfo=None):
    """The checks of the directories above PATH, for a path the module writes: every ancestor that
    exists is a real directory (a symlink there would make the module write where the link points,
    and a directory's non-root owner can plant one), and the path is not in a kernel interface
    (_kernel_tree). Returns a message or None."""
    for tree in KERNEL_TREES:
        if path == tree or path.startswith(tree + '/'):
            return '%s must not be below %s (a kernel interface, not a place for files): %s' % (option, tree, excerpt(path, 200))
    parts = path.split('/')[1:-1]
    current = ''
    existing = '/'
    for part in parts:
        current += '/' + part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            break
        except OSError as exc:
            return '%s: cannot inspect %s: %s' % (option, excerpt(current, 200), exc.strerror or exc)
        if stat.S_ISLNK(info.st_mode):
            return ('%s: the directory %s of %s is a symlink: the module writes only into real directories, '
                    'never through a link (name the directory the link points to)' % (option, excerpt(current, 200), excerpt(path, 200)))
        if not stat.S_ISDIR(info.st_mode):
            return '%s: %s of %s is not a directory' % (option, excerpt(current, 200), excerpt(path, 200))
        existing = current
    return _kernel_tree(option, path, path if os.path.lexists(path) and not os.path.islink(path) else existing, mountinfo)


def check_file_path(option, path, kinds='a regular file', mountinfo=None):
    """Validate a path the module will write, before anything is touched. Returns an error message
    naming OPTION and the (escaped) value, or None: absolute, no control characters, no '.' or '..'
    components, and, when it exists, a regular file (not a symlink, directory, device or FIFO);
    every ancestor that exists is a real directory (not a symlink); not in /proc, /sys or /dev nor
    on a filesystem of theirs anywhere (KERNEL_FILESYSTEMS, from /proc/self/mountinfo, and the
    device numbers of /proc, /sys and /dev). The one check of every output path of the collection
    (the persisted rules and sets, the copy, the local fact, the backup, the sysctl.d file)."""
    problem, info = _path_shape(option, path, 'file')
    if problem:
        return problem
    if info is not None and not stat.S_ISREG(info.st_mode):
        what = ('a symlink' if stat.S_ISLNK(info.st_mode) else 'a directory' if stat.S_ISDIR(info.st_mode)
                else 'a device' if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else 'a FIFO, not a regular file' if stat.S_ISFIFO(info.st_mode)
                else 'a socket, not a regular file' if stat.S_ISSOCK(info.st_mode) else 'not a regular file')
        return '%s must be %s, but %s is %s' % (option, kinds, excerpt(path, 200), what)
    parent = os.path.dirname(path)
    if os.path.lexists(parent) and not os.path.isdir(parent):
        return '%s: the parent %s is not a directory' % (option, excerpt(parent, 200))
    return _real_ancestors(option, path, mountinfo)


def check_dir_path(option, path, mountinfo=None):
    """Validate a directory the module will create or write into, before anything is touched.
    Returns an error message naming OPTION and the (escaped) value, or None: absolute, not /,
    no control characters, no '.' or '..' components, and, when it exists, a real directory
    (not a symlink). Ancestors that exist must be real directories (not symlinks), and the
    directory is not in a kernel interface (as check_file_path)."""
    problem, info = _path_shape(option, path, 'directory')
    if problem:
        return problem
    if info is not None and not stat.S_ISDIR(info.st_mode):
        what = 'a symlink' if stat.S_ISLNK(info.st_mode) else 'not a directory'
        return '%s must be a directory, but %s is %s' % (option, excerpt(path, 200), what)
    parent = os.path.dirname(path)
    while parent != '/' and not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return '%s: the ancestor %s is not a directory' % (option, excerpt(parent, 200))
    return _real_ancestors(option, path, mountinfo)


def check_output_paths(paths, mountinfo=None):
    """check_file_path / check_dir_path of every output path of one module call, before its first
    change: PATHS is a list of (option, path, 'file' or 'dir'). Raises HostError with the first
    problem (the message names the option and the path), nothing having been written."""
    for option, path, kind in paths:
        problem = (check_dir_path if kind == 'dir' else check_file_path)(option, path, mountinfo=mountinfo)
        if problem:
            raise HostError(problem, field=option, value=excerpt(path, 200))


def ensure_dir(path, mode):
    """Create PATH (validated with check_dir_path) with MODE, and missing parents with 0755,
    owned by the running user (root). An existing directory is left as it is. Raises HostError."""
    try:
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), 0o755)
        os.mkdir(path, mode)
        os.chmod(path, mode)   # mkdir applies the umask
    except FileExistsError:
        if os.path.islink(path) or not os.path.isdir(path):
            raise HostError('refusing to write into %s: not a directory (or a symlink)' % excerpt(path, 200))
    except (IOError, OSError) as exc:
        raise HostError('cannot create the directory %s: %s' % (excerpt(path, 200), exc.strerror or to_native(exc)))


def write_owned(module, path, content, mode, dir_mode):
    """Write PATH (checked with check_file_path) atomically in its directory, created with
    DIR_MODE when missing, and give it MODE even when it existed with another one (a copy or
    a fact of ours that someone loosened is put back). Raises HostError."""
    ensure_dir(os.path.dirname(path), dir_mode)
    write_atomic(module, path, content, mode)
    try:
        os.chmod(path, mode)
    except (IOError, OSError) as exc:
        raise HostError('cannot set the mode of %s: %s' % (excerpt(path, 200), exc.strerror or to_native(exc)))


# Inputs bigger than this are refused (a 10,000-rule ruleset is about 1 MiB).
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_regular_file(option, path, limit=MAX_INPUT_BYTES):
    """The bytes of PATH, which must be a regular file of at most LIMIT bytes. Opened without
    blocking (a FIFO cannot hang the module) and checked on the open descriptor. Raises
    HostError naming OPTION. A symlink is followed (src, a file the task names): for a file the
    module shows or overwrites, read_own_file."""
    return _read_file(option, path, limit, False)


def _read_file(option, path, limit, nofollow):
    """read_regular_file; nofollow: refuse a symlink (O_NOFOLLOW)."""
    shown = excerpt(path, 200)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (os.O_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        if nofollow and getattr(exc, 'errno', None) == errno.ELOOP:
            raise HostError('refusing to read %s %s: it is a symlink (a file the module shows in a diff or overwrites '
                            'is read only as a regular file, never through a link); remove the link' % (option, shown))
        raise HostError('cannot read %s %s: %s' % (option, shown, getattr(exc, 'strerror', None) or to_native(exc)))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HostError('%s must be a regular file: %s is not' % (option, shown))
        if info.st_size > limit:
            raise HostError('%s %s is %d bytes, more than the limit of %d' % (option, shown, info.st_size, limit))
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise HostError('%s %s is more than the limit of %d bytes' % (option, shown, limit))
            chunks.append(chunk)
        return b''.join(chunks)
    except OSError as exc:
        raise HostError('cannot read %s %s: %s' % (option, shown, exc.strerror or to_native(exc)))
    finally:
        os.close(fd)


def read_own_file(option, path, limit=MAX_INPUT_BYTES):
    """The bytes of a file the module shows (the "before" of a diff) or overwrites: the copy of the
    rules, the persisted rules, the local fact, the persisted ipsets, a sysctl.d file. PATH itself
    must be a regular file, not a symlink (O_NOFOLLOW) nor a FIFO or device (checked on the open
    descriptor): a link planted where the module writes would otherwise bring the content of its
    target (a root-only file) into the result. Returns None when PATH does not exist. Raises
    HostError naming OPTION and the path, never quoting content."""
    try:
        return _read_file(option, path, limit, True)
    except HostError:
        if not os.path.lexists(path):
            return None
        raise


# Parameter values longer than this are logged as a digest (see DigestLoggingModule).
LOG_VALUE_LIMIT = 256


def digest(value):
    """How a long parameter value is logged: its size and sha256, never its text."""
    data = to_native(value).encode('utf-8', 'surrogateescape')
    return '<%d bytes, sha256:%s>' % (len(data), hashlib.sha256(data).hexdigest()[:16])


def shown_value(value, limit=120):
    """A parameter value for a message, as the user wrote it in YAML: a string quoted, null, true,
    5, or a list/dict in JSON; escaped and shortened."""
    if isinstance(value, str):
        return "the string '%s'" % excerpt(value, limit)
    if value is None or isinstance(value, (bool, int, float, list, dict)):
        try:
            return excerpt(json.dumps(value, sort_keys=True, default=repr), limit)
        except (TypeError, ValueError):
            pass
    return excerpt(repr(value), limit)


class DigestLoggingModule(AnsibleModule):
    """AnsibleModule that writes a digest, not the text, of long parameter values (a whole
    ruleset in ``content``) to the target's syslog/journal when it logs its invocation, and that
    refuses a value of an option of type dict that is not one (a string, a list, a number)
    naming the option and the value, before ansible-core's own validation (whose message for a
    dict with suboptions does not name the option, and which fails with a traceback on a number),
    as it refuses a value with control characters for an option with choices (ansible-core's
    message would quote them raw).
    Everything else is AnsibleModule's."""

    def _set_internal_properties(self):
        super()._set_internal_properties()
        for name in sorted(self.argument_spec):
            spec = self.argument_spec[name]
            value = self.params.get(name) if isinstance(self.params, dict) else None
            if spec.get('choices') and isinstance(value, str) and any(ord(char) < 32 or ord(char) == 127 for char in value):
                # ansible-core's "must be one of" message would carry the raw control characters
                self.fail_json(msg='%s must be one of %s, not %s' % (name, ', '.join(map(str, spec['choices'])), shown_value(value)),
                               field=name)
            if spec.get('type') != 'dict' or value is None or isinstance(value, dict):
                continue
            keys = sorted(spec.get('options') or {})
            self.fail_json(msg='%s must be a dictionary%s, not %s'
                           % (name, ' (keys %s)' % ', '.join(keys) if keys else '', shown_value(value)),
                           field=name)

    def _log_invocation(self):
        real = self.params
        self.params = dict((key, digest(value) if isinstance(value, str) and len(value) > LOG_VALUE_LIMIT else value)
                           for key, value in real.items())
        try:
            super()._log_invocation()
        finally:
            self.params = real


def os_release(paths):
    """The fields of the first readable os-release file of paths (os_release.OS_RELEASE_PATHS),
    {} when none is readable."""
    for path in paths:
        try:
            with open(path) as handle:
                return read_os_release(handle.read())
        except (IOError, OSError):
            continue
    return {}


def _parent_pid(proc, pid):
    with open(os.path.join(proc, str(pid), 'stat'), 'rb') as handle:
        stat_line = handle.read().decode('ascii', 'replace')
    # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
    return int(stat_line[stat_line.rindex(')') + 2:].split()[1])


def _environ_value(proc, pid, name):
    with open(os.path.join(proc, str(pid), 'environ'), 'rb') as handle:
        for item in handle.read(1 << 20).split(b'\0'):
            if item.startswith(name + b'='):
                return item[len(name) + 1:].decode('ascii', 'replace')
    return None


def session_ssh_connection(environ=None, proc='/proc', depth=12):
    """SSH_CONNECTION of the SSH session this module runs in, or '' when it runs in none (a local,
    podman or docker connection).

    The module's own environment has it when the task does not become another user; sudo and su
    reset it, so the closest ancestor process that still has it is read next (sudo itself, or the
    login shell sshd started): at most depth processes up, stopping at pid 1. Only the lockout
    check reads it; a malformed value makes that check fail with a clear message."""
    environ = os.environ if environ is None else environ
    value = environ.get('SSH_CONNECTION')
    if value:
        return value
    try:
        pid = _parent_pid(proc, 'self')
        for dummy in range(depth):
            if pid <= 1:
                break
            value = _environ_value(proc, pid, b'SSH_CONNECTION')
            if value:
                return value
            pid = _parent_pid(proc, pid)
    except (IOError, OSError, ValueError, IndexError):
        pass
    return ''
