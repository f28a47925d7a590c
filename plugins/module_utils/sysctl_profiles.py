# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kernel network hardening settings (sysctl) and the sysctl.d machinery around them.

Pure logic: no file access, no AnsibleModule. Roles and documentation refer to the
profiles here (PROFILES) so that there is one source for what a profile sets. The module
rampart.firewall.sysctl_hardening reads /proc/sys and the sysctl.d directories and hands
their content to these functions.

What is here:
  - the profiles (COMMON, HOST, ROUTER, PROFILES) and merge_settings() to add/override keys;
  - detect_engine() and engine_settings(): a container engine on the target keeps its forwarding;
  - render() for the managed file and parse_sysctl_conf() for sysctl.d/sysctl.conf syntax;
  - load_order() (systemd-sysctl and procps `sysctl --system` order) and find_overrides();
  - values_equal() to compare a value with what /proc/sys shows;
  - readonly_mount() to tell from /proc/self/mountinfo whether /proc/sys is mounted read-only;
  - check_path() for the file the module may write (a plain *.conf name in a sysctl.d directory).
"""

from __future__ import annotations

import posixpath
import re
from fnmatch import fnmatchcase

# Settings of both profiles. IPv6 has no rp_filter (use the netfilter rpfilter match),
# no secure_redirects, send_redirects or log_martians; tcp_syncookies covers IPv6 too.
COMMON = {
    # Strict reverse path filter: drop packets whose source would not be routed back out
    # of the interface they came in on (anti-spoofing). The kernel uses max(all, interface).
    'net.ipv4.conf.all.rp_filter': '1',
    'net.ipv4.conf.default.rp_filter': '1',
    # SYN cookies when the SYN backlog overflows (SYN flood).
    'net.ipv4.tcp_syncookies': '1',
    # ICMP redirects can rewrite the routing table: ignore them, never send them.
    'net.ipv4.conf.all.accept_redirects': '0',
    'net.ipv4.conf.default.accept_redirects': '0',
    'net.ipv6.conf.all.accept_redirects': '0',
    'net.ipv6.conf.default.accept_redirects': '0',
    'net.ipv4.conf.all.secure_redirects': '0',
    'net.ipv4.conf.default.secure_redirects': '0',
    'net.ipv4.conf.all.send_redirects': '0',
    'net.ipv4.conf.default.send_redirects': '0',
    # Source-routed packets let the sender choose the path: refuse them.
    'net.ipv4.conf.all.accept_source_route': '0',
    'net.ipv4.conf.default.accept_source_route': '0',
    'net.ipv6.conf.all.accept_source_route': '0',
    'net.ipv6.conf.default.accept_source_route': '0',
    # Log packets with impossible source addresses.
    'net.ipv4.conf.all.log_martians': '1',
    'net.ipv4.conf.default.log_martians': '1',
    # No smurf amplification, no log noise from broken routers.
    'net.ipv4.icmp_echo_ignore_broadcasts': '1',
    'net.ipv4.icmp_ignore_bogus_error_responses': '1',
}

# A host forwards nothing. (Docker, podman, libvirt and Kubernetes hosts need forwarding: with a
# container engine running, engine_settings() leaves the forwarding keys as they are.)
HOST = dict(COMMON)
HOST.update({
    'net.ipv4.ip_forward': '0',
    'net.ipv6.conf.all.forwarding': '0',
})

# A router forwards both families. No accept_ra here on purpose: net.ipv6.conf.all.accept_ra
# does not reach existing interfaces in the kernel, and accept_ra=2 on every interface
# would let any host on a LAN announce itself as the router's default gateway. A router
# whose WAN is configured by SLAAC sets net.ipv6.conf.<wan>.accept_ra=2 for its WAN only
# (see the module documentation).
ROUTER = dict(COMMON)
ROUTER.update({
    'net.ipv4.ip_forward': '1',
    'net.ipv6.conf.all.forwarding': '1',
})

PROFILES = {
    'host': HOST,
    'router': ROUTER,
}

# The keys a container engine needs: Docker, podman, CNI and libvirt route their guests' traffic.
FORWARDING_KEYS = ('net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding')
# What tells, on the target, that a container engine runs: its bridges (names in /sys/class/net,
# fnmatch patterns, the same as iptables_engine.DEFAULT_PRESERVE_INTERFACES) or its API socket.
ENGINE_BRIDGES = ('docker0', 'docker_gwbridge', 'br-*', 'cni-*', 'cni0', 'podman*', 'virbr*')
ENGINE_SOCKETS = ('/run/docker.sock', '/run/containerd/containerd.sock', '/run/podman/podman.sock')
SYS_CLASS_NET = '/sys/class/net'
CONTAINER_ENGINE_CHOICES = ('auto', 'present', 'absent')

# systemd-sysctl's directories, highest precedence first (/lib/sysctl.d only on split-/usr
# systems). procps `sysctl --system` reads the same and then /etc/sysctl.conf.
SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')
SYSCTL_CONF = '/etc/sysctl.conf'

# The directories the module may write its file to: the administrator's (/etc/sysctl.d) and the
# volatile one (/run/sysctl.d). The /usr and /lib ones belong to packages.
WRITE_DIRS = ('/etc/sysctl.d', '/run/sysctl.d')

# A file name the module may write: no slash, no leading dot or dash, printable ASCII without
# blanks, ending in .conf (systemd-sysctl and procps read *.conf only).
FILE_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.@+-]*\.conf$')
FILE_NAME_MAX = 255

KEY_RE = re.compile(r'^[a-z0-9_]+(\.[a-zA-Z0-9_.-]+)+$')
GLOB_CHARS = frozenset('*?[')

HEADER = ('# Managed by rampart.firewall (module rampart.firewall.sysctl_hardening, profile {profile}).\n'
          '# Do not edit: changes are overwritten on the next run. Set keys with the module\'s settings option.\n')


class SettingsError(ValueError):
    """A profile, key or value that cannot be used. The message names it."""


def is_forwarding_key(key):
    """Keys whose change makes the kernel reset other keys: writing net.ipv4.ip_forward
    (or net.ipv4.conf.all.forwarding) sets net.ipv4.conf.all.accept_redirects to its
    opposite. They are written first so that the other keys are written after the reset."""
    if key == 'net.ipv4.ip_forward':
        return True
    return key.endswith('.forwarding') and key.startswith(('net.ipv4.conf.', 'net.ipv6.conf.'))


def apply_order(keys):
    """The order to write KEYS to /proc/sys: forwarding keys first, then the rest, sorted."""
    keys = sorted(keys)
    return [k for k in keys if is_forwarding_key(k)] + [k for k in keys if not is_forwarding_key(k)]


def validate_key(key):
    """Raise SettingsError unless KEY is a dotted sysctl name (net.ipv4.ip_forward)."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key) or '..' in key or key.endswith('.'):
        raise SettingsError('settings: %r is not a sysctl key: a key is a dotted name like net.ipv4.ip_forward '
                            '(lowercase first part, then parts of letters, digits, "_" and "-", separated by single dots). '
                            'Nothing was changed.' % (key,))
    return key


def normalize_value(key, value):
    """VALUE as the one-line string written to the file: ints become strings, whitespace
    runs become one space. Raise SettingsError for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SettingsError('settings: the value of %s must be a string or an integer, got %s %r '
                            '(write 0 or 1 for booleans). Nothing was changed.' % (key, type(value).__name__, value))
    text = str(value)
    for char, name in (('\n', 'a newline'), ('\r', 'a carriage return'), ('\0', 'a NUL character')):
        if char in text:
            raise SettingsError('settings: the value of %s contains %s (%r); a sysctl value is one line. '
                                'Nothing was changed.' % (key, name, text))
    odd = [char for char in text if (ord(char) < 32 and char != '\t') or 127 <= ord(char)]
    if odd:
        raise SettingsError('settings: the value of %s must be ASCII text without control characters, not %s. '
                            'Nothing was changed.' % (key, ascii(text)[:80]))
    text = ' '.join(text.split())
    if not text:
        raise SettingsError('settings: the value of %s is empty. Use null to remove a key of the profile. '
                            'Nothing was changed.' % key)
    return text


def detect_engine(interfaces, sockets):
    """The evidence of a running container engine: the names of INTERFACES (the entries of
    /sys/class/net) that match ENGINE_BRIDGES, then the paths of SOCKETS (those of ENGINE_SOCKETS
    that exist). An empty list: no engine seen."""
    found = sorted(name for name in (interfaces or ()) if any(fnmatchcase(name, pattern) for pattern in ENGINE_BRIDGES))
    return found + [path for path in ENGINE_SOCKETS if path in set(sockets or ())]


def engine_needs_reading(profile, settings, container_engine):
    """Whether the target must be looked at (detect_engine) to settle the forwarding keys: only for the
    host profile with container_engine auto, when the settings do not name every forwarding key."""
    unnamed = any(key not in (settings or {}) for key in FORWARDING_KEYS)
    return container_engine == 'auto' and profile == 'host' and unnamed


def engine_settings(profile, settings, container_engine, evidence=()):
    """(settings, left): SETTINGS with the forwarding keys removed (value None, see merge_settings)
    when the host profile would switch forwarding off on a host where a container engine runs
    (container_engine present, or auto with EVIDENCE from detect_engine), except the keys the
    user set in SETTINGS; LEFT lists the keys so left as they are (empty otherwise).

    A container engine needs forwarding: the host profile would cut its containers off (live at once,
    and at every boot through the sysctl.d file)."""
    if container_engine not in CONTAINER_ENGINE_CHOICES:
        raise SettingsError('container_engine must be one of %s, got %r. Nothing was changed.'
                            % (', '.join(CONTAINER_ENGINE_CHOICES), container_engine))
    settings = dict(settings or {})
    runs = container_engine == 'present' or (container_engine == 'auto' and bool(evidence))
    if profile != 'host' or not runs:
        return settings, []
    left = [key for key in FORWARDING_KEYS if key not in settings]
    for key in left:
        settings[key] = None
    return settings, left


def merge_settings(profile, settings=None):
    """The effective settings: the profile's, then SETTINGS added or overriding (a None value
    removes a key of the profile). Returns a dict key -> str, keys sorted."""
    if profile not in PROFILES:
        raise SettingsError('profile must be one of %s, got %r. Nothing was changed.' % (', '.join(sorted(PROFILES)), profile))
    merged = dict(PROFILES[profile])
    for key, value in sorted((settings or {}).items(), key=lambda item: str(item[0])):
        validate_key(key)
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = normalize_value(key, value)
    return dict(sorted(merged.items()))


def render(settings, profile, optional=()):
    """The managed file: the header, then one `key = value` line per key, in apply_order():
    sorted, forwarding keys first. systemd-sysctl and `sysctl --system` write the keys in
    file order, and a change of net.ipv4.ip_forward resets net.ipv4.conf.all.accept_redirects,
    so the forwarding keys must come before it.
    Keys in OPTIONAL get the `-` prefix (systemd-sysctl and procps ignore errors for them,
    such as a key that does not exist yet)."""
    lines = [HEADER.format(profile=profile)]
    for key in apply_order(settings):
        lines.append('%s%s = %s\n' % ('-' if key in optional else '', key, settings[key]))
    return ''.join(lines)


def sysctl_path(key):
    """The path of KEY below /proc/sys, the way systemd-sysctl and procps normalise it:
    if the first separator is a dot, dots and slashes are swapped
    (net.ipv4.conf.eth0/100.rp_filter -> net/ipv4/conf/eth0.100/rp_filter); if it is a
    slash, the key is a path already."""
    key = key.strip()
    match = re.search(r'[./]', key)
    if match and match.group() == '.':
        key = key.translate(str.maketrans('./', '/.'))
    return re.sub('/+', '/', key).strip('/')


def is_glob(key):
    return any(c in GLOB_CHARS for c in key)


def parse_sysctl_conf(text):
    """Assignments of a sysctl.d / sysctl.conf file, in order, as dicts:
    key (as written, without the leading `-`), path (see sysctl_path()), value (str,
    stripped; None for a `-key` line without `=`, systemd's "negative match" that removes an
    earlier assignment of the key and excludes it from globs), ignore_errors (leading `-`),
    glob (the key is a glob pattern) and lineno (1-based).

    Lines whose first non-blank character is `#` or `;` are comments; blank lines and
    other lines without `=` are skipped, as systemd-sysctl does (with a warning)."""
    result = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        ignore = False
        if '=' in line:
            key, value = line.split('=', 1)
            value = value.strip()
            if key.startswith('-'):
                ignore = True
                key = key[1:]
        elif line.startswith('-'):
            key, value, ignore = line[1:], None, True
        else:
            continue
        key = key.strip()
        if not key:
            continue
        result.append({'key': key, 'path': sysctl_path(key), 'value': value, 'ignore_errors': ignore,
                       'glob': is_glob(key), 'lineno': lineno})
    return result


def load_order(entries, dirs=SYSCTL_DIRS, conf=SYSCTL_CONF):
    """The files that are applied at boot, in the order they are read, as paths.

    ENTRIES is a list of (directory, file name) pairs found on the target. Like
    systemd-sysctl: only *.conf files of DIRS count; a name present in several directories
    is read once, from the first directory of DIRS (so /etc/sysctl.d masks /run/sysctl.d,
    which masks /usr/local/lib/sysctl.d, ...); files are read in the order of their names.
    Like procps `sysctl --system`: CONF (/etc/sysctl.conf) is read last when present."""
    dirs = [_norm(d) for d in dirs]
    conf = _norm(conf)
    winner = {}
    has_conf = False
    for directory, name in entries:
        directory = _norm(directory)
        if _join(directory, name) == conf:
            has_conf = True
            continue
        if directory not in dirs or not name.endswith('.conf') or '/' in name:
            continue
        rank = dirs.index(directory)
        if name not in winner or rank < winner[name]:
            winner[name] = rank
    order = [_join(dirs[winner[name]], name) for name in sorted(winner)]
    if has_conf:
        order.append(conf)
    return order


def boot_position(path, entries, dirs=SYSCTL_DIRS, conf=SYSCTL_CONF):
    """Where PATH stands in the boot-time load order, given the ENTRIES found on the target
    (PATH itself need not be among them; it is about to be written).

    Returns (state, other, later):
      ('loaded', None, [files read after PATH]),
      ('masked', masking file, [all files]) when a file of the same name in a directory
        of higher precedence is read instead,
      ('ignored', None, [all files]) when PATH is not read at boot at all (not a *.conf
        file of DIRS, not CONF).
    When PATH is not read, every file read at boot may set its keys, so all count as later."""
    path = _norm(path)
    directory, name = path.rsplit('/', 1) if '/' in path else ('.', path)
    directory = directory or '/'
    order = load_order(list(entries) + [(directory, name)], dirs, conf)
    if path in order:
        return 'loaded', None, order[order.index(path) + 1:]
    others = load_order(entries, dirs, conf)
    if _norm(directory) in [_norm(d) for d in dirs] and name.endswith('.conf'):
        for other in order:
            if other.rsplit('/', 1)[1] == name:
                return 'masked', other, others
    return 'ignored', None, others


def find_overrides(desired, later_files):
    """Keys of DESIRED (key -> value) that the files read after ours set to another value.

    LATER_FILES: list of (path, text) in load order. For each key the last assignment wins,
    as at boot; it is reported when its value differs from ours (values_equal()), or when it
    is a negative match (`-key` without a value: systemd-sysctl then does not set the key
    at all; reported with theirs None). Glob assignments (net.ipv4.conf.*.rp_filter) are
    not reported: systemd-sysctl never applies a glob to a key that is set explicitly.
    Returns a list of {key, ours, theirs, file}, sorted by key."""
    wanted = dict((sysctl_path(k), k) for k in desired)
    last = {}
    for path, text in later_files:
        for item in parse_sysctl_conf(text):
            if item['glob'] or item['path'] not in wanted:
                continue
            last[wanted[item['path']]] = (item['value'], path)
    overrides = []
    for key in sorted(last):
        theirs, path = last[key]
        if theirs is None or not values_equal(desired[key], theirs):
            overrides.append({'key': key, 'ours': desired[key], 'theirs': theirs, 'file': path})
    return overrides


def normalize_live(text):
    """A value as /proc/sys shows it, on one line with single spaces (tcp_rmem uses tabs)."""
    return ' '.join(text.split())


def values_equal(ours, theirs):
    """Whether two sysctl values are the same: whitespace-separated values compare as lists,
    and two integers compare by value (01 == 1)."""
    left, right = str(ours).split(), str(theirs).split()
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        if a == b:
            continue
        try:
            if int(a) != int(b):
                return False
        except ValueError:
            return False
    return True


def readonly_mount(mountinfo, path):
    """The mount point covering PATH when it is mounted read-only, else None.

    MOUNTINFO is the text of /proc/self/mountinfo. The last mount of the longest mount point
    that is PATH or a parent of it covers PATH (later mounts on the same point shadow
    earlier ones); its per-mount options (field 6) tell whether it is read-only."""
    best = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        point = _unescape(fields[4])
        if point == '/' or path == point or path.startswith(point.rstrip('/') + '/'):
            if best is None or len(point) >= len(best[0]):
                best = (point, fields[5].split(','))
    if best and 'ro' in best[1]:
        return best[0]
    return None


def escape(text):
    """TEXT quoted for a message, with backslashes, quotes and every non-printable character
    escaped (a NUL byte reads \\x00, a newline \\n), so that the message shows exactly what was
    given and stays on one line."""
    out = []
    for char in str(text):
        if char in '\\"':
            out.append('\\' + char)
        elif char == '\n':
            out.append('\\n')
        elif char == '\t':
            out.append('\\t')
        elif char == '\r':
            out.append('\\r')
        elif not char.isprintable():
            code = ord(char)
            out.append('\\x%02x' % code if code < 0x100 else ('\\u%04x' % code if code < 0x10000 else '\\U%08x' % code))
        else:
            out.append(char)
    return '"%s"' % ''.join(out)


def check_path(path, dirs=WRITE_DIRS):
    """None when PATH is a file the module may write, else the reason why not (a sentence
    naming `path` and the escaped value).

    Accepted: DIR/NAME exactly, DIR one of DIRS, NAME a plain file name ending in .conf
    (FILE_NAME_RE: letters, digits, "_", ".", "@", "+", "-", not starting with a dot or a
    dash). Nothing is normalised: "..", "//", "/./", control characters, blanks and relative
    paths are refused, so the file written is always the file named."""
    shown = escape(path)
    allowed = ' or '.join('%s/NAME.conf' % d for d in dirs)
    if not isinstance(path, str) or not path:
        return 'path must be %s, got %s.' % (allowed, shown)
    if any(not c.isprintable() or c.isspace() for c in path):
        return 'path %s contains a control or blank character; it must be %s.' % (shown, allowed)
    if '/..' in path or '../' in path or path == '..':
        return 'path %s contains "..": it must be %s, named directly.' % (shown, allowed)
    directory, _sep, name = path.rpartition('/')
    if directory not in dirs:
        return ('path %s is not a file of %s: the module writes only to %s (the directories systemd-sysctl '
                'reads that belong to the administrator).' % (shown, ' or '.join(dirs), allowed))
    if not FILE_NAME_RE.fullmatch(name) or len(name) > FILE_NAME_MAX:
        return ('path %s: the file name must end in .conf (systemd-sysctl reads *.conf only) and consist of letters, '
                'digits, "_", ".", "@", "+" and "-", not starting with a dot or a dash, at most %d characters.'
                % (shown, FILE_NAME_MAX))
    return None


def _unescape(field):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def _norm(path):
    return posixpath.normpath(re.sub('/+', '/', path))


def _join(directory, name):
    return _norm(directory + '/' + name)


# ---- the kernel settings as a participant of iptables_ruleset's transaction (option sysctl) --------------
# Pure: the plan of the live changes, the split between the windows of the two families, and the two records
# a window keeps as data in its state file (T.json): the previous live values (restored by the revert timer)
# and the sysctl.d file to write after the confirmation (re-rendered from validated data by iptables_confirm).

# The first part of every key the transaction takes: the network settings (the ones that can cut a connection).
TRANSACTION_PREFIX = 'net.'
# The most keys one window restores: a record with more is not one this code wrote.
RECORD_MAX_KEYS = 512


def transaction_key(key):
    """KEY if the transaction may set and restore it: a sysctl key (validate_key) of the network (net.*).
    Raise SettingsError naming the key otherwise. The /proc/sys path of a key is only ever built from a key
    that passed here (sysctl_path of a dotted name without a slash, "..", or a leading dot)."""
    validate_key(key)
    if not key.startswith(TRANSACTION_PREFIX) or '/' in key:
        raise SettingsError('sysctl.settings: %s is not a network key (net.*): the transaction of iptables_ruleset sets '
                            'and restores the kernel network settings only; set other keys with '
                            'rampart.firewall.sysctl_hardening and rollback_timeout=0. Nothing was changed.' % escape(key))
    return key


def family_of(key):
    """The family whose window carries KEY: ipv6 for net.ipv6.*, ipv4 for every other key."""
    return 'ipv6' if key.startswith('net.ipv6.') else 'ipv4'


def share_keys(keys, families):
    """KEYS split between the windows of FAMILIES (the families of the call, in order): each key goes with its
    own family (family_of) when the call has it, else with the first family. Returns family -> sorted keys
    (every family of FAMILIES present, maybe empty)."""
    families = list(families)
    shares = dict((family, []) for family in families)
    for key in keys:
        family = family_of(key)
        shares[family if family in shares else families[0]].append(key)
    return dict((family, apply_order(shares[family])) for family in families)


def plan_changes(settings, live):
    """The live changes: {key, before, after} for every key of SETTINGS whose live value (LIVE: key -> text as
    read, keys missing from LIVE are not planned) differs, in apply_order (forwarding keys first)."""
    return [{'key': key, 'before': normalize_live(live[key]), 'after': settings[key]}
            for key in apply_order(settings) if key in live and not values_equal(settings[key], live[key])]


def restore_record(changes):
    """The data a window keeps to restore the live values: [[key, previous value], ...] in apply_order, so the
    revert writes the forwarding keys first (forwarding goes off before anything else is restored)."""
    previous = dict((change['key'], change['before']) for change in changes)
    return [[key, previous[key]] for key in apply_order(previous)]


def check_restore_record(record):
    """RECORD (read back from the window's state file) as [(key, value)] in apply_order, every key checked with
    transaction_key and every value with normalize_value. Raise SettingsError for anything else: a record
    that is not exactly what restore_record writes is not restored at all (never a path or a value from it
    unchecked)."""
    if not isinstance(record, list) or len(record) > RECORD_MAX_KEYS:
        raise SettingsError('the kernel settings record is not a list of at most %d [key, value] pairs' % RECORD_MAX_KEYS)
    pairs = {}
    for item in record:
        if not isinstance(item, list) or len(item) != 2:
            raise SettingsError('the kernel settings record holds %s, not a [key, value] pair' % escape(repr(item)[:80]))
        key, value = item
        transaction_key(key)
        if key in pairs:
            raise SettingsError('the kernel settings record names %s twice' % escape(key))
        pairs[key] = normalize_value(key, value)
    return [(key, pairs[key]) for key in apply_order(pairs)]


def file_record(path, profile, settings, optional=()):
    """The data a window keeps to write the sysctl.d file after the confirmation."""
    return {'path': path, 'profile': profile, 'settings': dict(settings), 'optional': sorted(optional)}


def check_file_record(record, dirs=WRITE_DIRS):
    """RECORD (read back from the window's state file) as (path, content): the path checked with check_path,
    every key and value validated, the content rendered here (render), never taken from the record. Raise
    SettingsError for anything else."""
    if not isinstance(record, dict) or not isinstance(record.get('settings'), dict) \
            or not isinstance(record.get('optional'), list) or len(record['settings']) > RECORD_MAX_KEYS:
        raise SettingsError('the sysctl.d record is not {path, profile, settings, optional}')
    problem = check_path(record.get('path'), dirs)
    if problem:
        raise SettingsError(problem)
    if record.get('profile') not in PROFILES:
        raise SettingsError('the sysctl.d record names the profile %s' % escape(record.get('profile')))
    settings = {}
    for key, value in record['settings'].items():
        transaction_key(key)
        settings[key] = normalize_value(key, value)
    optional = [key for key in record['optional'] if key in settings]
    return record['path'], render(settings, record['profile'], optional=optional)
