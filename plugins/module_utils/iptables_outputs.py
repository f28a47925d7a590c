# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What one iptables_ruleset call writes or checks besides the rules: the copy of the applied
rules (copy_dir), the role's local fact (local_fact) and the read-only check of the kernel
settings that rampart.firewall.sysctl_hardening would set (sysctl_check).

Each is planned first (what would be written, whether it is the same already: nothing is
written), then written with write_owned (iptables_host: the one atomic writer, directories
created root-only) unless in check mode.
"""

from __future__ import annotations

import json
import os
import re
import stat

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.firewall_managers import other_managers, refusal
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    HostError,
    check_dir_path,
    check_file_path,
    excerpt,
    read_own_file,
    write_owned,
)
from ansible_collections.rampart.firewall.plugins.module_utils.ownership import (
    RecordError,
    parse_record,
    parse_seed,
    record_text,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    SettingsError,
    apply_order,
    check_path as sysctl_check_path,
    engine_needs_reading,
    engine_settings,
    merge_settings,
    normalize_live,
    render as render_sysctl,
    sysctl_path,
    values_equal,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_transaction import engine_evidence

__metaclass__ = type

# The copy of the applied rules (copy_dir): root-only, like the persisted files.
COPY_MODE = 0o600
COPY_DIR_MODE = 0o700
# The local fact (local_fact), read by the setup module (its default fact_path).
FACTS_DIR = '/etc/ansible/facts.d'
FACT_MODE = 0o644
FACT_NAME_RE = re.compile(r'\A[A-Za-z0-9_]{1,64}\Z')
# The largest fact written, and read back: a fact written once must be readable by every later run.
FACT_LIMIT = 1 << 20
# The kernel settings checked by sysctl_check, and the default file of rampart.firewall.sysctl_hardening.
PROC_SYS = '/proc/sys'
SYSCTL_DEFAULT_PATH = '/etc/sysctl.d/90-rampart-firewall.conf'


def copy_path(copy_dir, family):
    """The copy of a family's rules in copy_dir (rules.v4, rules.v6), or None without copy_dir."""
    return os.path.join(copy_dir, 'rules.v6' if family == 'ipv6' else 'rules.v4') if copy_dir else None


def plan_copy(path, content):
    """What writing the copy means: path, content, mode, same, dir, dir_mode, diff. Changes nothing."""
    old = None
    same = False
    try:
        data = read_own_file('the copy', path)   # never through a symlink planted in copy_dir
    except HostError as exc:
        raise FirewallError(exc.msg, field='copy_dir', value=excerpt(path, 200))
    if data is not None:
        old = data.decode('utf-8', 'replace')
        same = old == content and stat.S_IMODE(os.lstat(path).st_mode) == COPY_MODE
    return {'path': path, 'content': content, 'mode': COPY_MODE, 'same': same,
            'dir': os.path.dirname(path), 'dir_mode': COPY_DIR_MODE,
            'diff': {'before_header': '%s (copy)' % path, 'after_header': '%s (copy)' % path,
                     'before': old or '', 'after': content}}


def write_plan(module, planned, what):
    """Write a planned file (plan_copy, Outputs.fact): content, mode, its directory root's."""
    try:
        write_owned(module, planned['path'], planned['content'], planned['mode'], planned['dir_mode'])
    except HostError as exc:
        raise FirewallError('cannot write %s: %s' % (what, exc.msg), **exc.extra)
    except (IOError, OSError) as exc:
        raise FirewallError('cannot write %s %s: %s' % (what, planned['path'], to_native(exc)))


def write_copy(module, copy):
    write_plan(module, copy, 'the copy of the rules')


# ---- the record of what we applied (ownership.py) -------------------------------------------
# Root-only state, one file per family, written after the confirmation; never trusted unless ours.
RECORD_DIR = '/var/lib/rampart-firewall'
RECORD_MODE = 0o600
RECORD_DIR_MODE = 0o700
RECORD_LIMIT = 64 * 1024 * 1024


class Record:
    """The record as read: ruleset (a Ruleset or None), state ('read', 'none', 'seeded': from the
    copy of the rules, 'refused': not ours, treated as none), text (the file's text, or None),
    warning (why it was refused, or None), path."""

    def __init__(self, path, ruleset=None, state='none', text=None, warning=None):
        self.path = path
        self.ruleset = ruleset
        self.state = state
        self.text = text
        self.warning = warning

    def report(self):
        return {'path': self.path, 'state': self.state}


def record_path(family):
    """The record of a family in RECORD_DIR (record.v4, record.v6)."""
    return os.path.join(RECORD_DIR, 'record.v6' if family == 'ipv6' else 'record.v4')


def _not_ours(path):
    """Why PATH (and its directory) is not a root-only file of ours, or None (missing is fine)."""
    uid = os.geteuid()
    for what, where, want_dir in (('its directory', os.path.dirname(path), True), ('the file', path, False)):
        try:
            info = os.lstat(where)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return 'cannot read %s: %s' % (what, exc.strerror)
        kind_ok = stat.S_ISDIR(info.st_mode) if want_dir else stat.S_ISREG(info.st_mode)
        if not kind_ok:
            return '%s is not a %s (a symlink?)' % (what, 'directory' if want_dir else 'regular file')
        if info.st_uid != uid:
            return '%s is owned by uid %d, not %d' % (what, info.st_uid, uid)
        if info.st_mode & 0o022:
            return '%s is writable by group or others' % what
        if not want_dir and info.st_size > RECORD_LIMIT:
            return 'the file is %d bytes, more than the limit of %d' % (info.st_size, RECORD_LIMIT)
    return None


def read_record(family, seed_path=None, known=None):
    """The Record of FAMILY. A record that is not ours (not root's, not a regular file, a symlink,
    too big, not the record text: ownership.parse_record) is refused: treated as no record, with a
    warning. Without a record, the copy of the last applied rules (SEED_PATH, copy_dir) seeds it
    when it is ours and parses (state 'seeded'). known: the desired Ruleset, whose rules the record
    holds in canonical spelling (not parsed again, see iptables_model.parse)."""
    path = record_path(family)
    record = Record(path)
    problem = _not_ours(path)
    data = None
    if problem is None:
        try:
            data = read_own_file('the ownership record', path, RECORD_LIMIT)
        except HostError as exc:
            problem = exc.msg
    if data is not None:
        try:
            text = data.decode('utf-8')
            record.ruleset = parse_record(text, family, known=known)
            record.text = text
            record.state = 'read'
            return record
        except (UnicodeDecodeError, RecordError) as exc:
            problem = 'it is not a record: %s' % to_native(exc)
    if problem is not None:
        record.state = 'refused'
        record.warning = ('ignoring the ownership record %s (%s): treated as no record, so only the declared rules '
                          'are ours on this run; it is written again after the apply' % (excerpt(path, 200), problem))
    if seed_path and _not_ours(seed_path) is None:
        try:
            seed = read_own_file('the copy', seed_path)
        except HostError:
            seed = None
        if seed is not None:
            record.ruleset = parse_seed(seed.decode('utf-8', 'replace'), family)
            if record.ruleset is not None and record.state == 'none':
                record.state = 'seeded'
    return record


def plan_record(record, family, desired, touched):
    """What writing the new record means (the TOUCHED tables as DESIRED declares them, the others
    as RECORD had them): path, content, mode, same, dir, dir_mode. Changes nothing."""
    content = record_text(family, record.ruleset if record.state in ('read', 'seeded') else None, desired, touched)
    same = record.state == 'read' and record.text == content
    return {'path': record.path, 'content': content, 'mode': RECORD_MODE, 'same': same,
            'dir': os.path.dirname(record.path), 'dir_mode': RECORD_DIR_MODE}


def record_dir_problem():
    """Why RECORD_DIR cannot hold our record (a symlink, not a directory, another user's), or None.
    Checked before anything changes: the record is written after the apply."""
    try:
        info = os.lstat(RECORD_DIR)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return 'cannot use the record directory %s: %s' % (excerpt(RECORD_DIR, 200), exc.strerror)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return ('refusing to use the record directory %s: it must be a directory (not a symlink) owned by uid %d; '
                'remove it, the next apply creates it' % (excerpt(RECORD_DIR, 200), os.geteuid()))
    return None


def write_record(module, planned):
    """Write a planned record (plan_record) unless it is the same already; a directory of ours with
    a loosened mode gets RECORD_DIR_MODE back."""
    if planned is None or planned['same']:
        return
    problem = record_dir_problem()
    if problem:
        raise FirewallError(problem)
    if os.path.isdir(planned['dir']) and stat.S_IMODE(os.lstat(planned['dir']).st_mode) != planned['dir_mode']:
        os.chmod(planned['dir'], planned['dir_mode'])
    if _not_ours(planned['path']) is not None:
        # a refused record goes first: the atomic move would give the new one its owner and mode
        try:
            os.unlink(planned['path'])
        except OSError as exc:
            raise FirewallError('cannot replace the ownership record %s: %s' % (excerpt(planned['path'], 200), exc.strerror))
    write_plan(module, planned, 'the ownership record')


def sysctl_state(options, proc_sys=None):
    """Read-only: whether the kernel settings that rampart.firewall.sysctl_hardening would set with
    OPTIONS (profile, settings, path, container_engine) are in place, file and live values. Returns
    (in_place, reasons). The forwarding keys a running container engine needs are left out as the
    module leaves them (sysctl_profiles.engine_settings). Anything unexpected (bad input, unknown key,
    unreadable file) is 'not in place': sysctl_hardening then runs and reports it."""
    proc_sys = proc_sys or PROC_SYS
    reasons = []
    engine = options.get('container_engine') or 'auto'
    try:
        wanted = options.get('settings') or {}
        evidence = engine_evidence() if engine_needs_reading(options['profile'], wanted, engine) else []
        wanted, dummy = engine_settings(options['profile'], wanted, engine, evidence)
        settings = merge_settings(options['profile'], wanted)
    except SettingsError as exc:
        return False, ['settings: %s' % to_native(exc)]
    path = options.get('path') or SYSCTL_DEFAULT_PATH
    problem = sysctl_check_path(path)
    if problem:
        return False, ['path: %s' % problem]
    for key in apply_order(settings):
        proc = os.path.join(proc_sys, sysctl_path(key))
        try:
            with open(proc, 'rb') as handle:
                value = handle.read().decode('utf-8', 'replace')
        except (IOError, OSError):
            return False, ['%s cannot be read live' % key]
        value = value[:-1] if value.endswith('\n') else value
        if not values_equal(settings[key], value):
            reasons.append('%s is %s live, not %s' % (key, excerpt(normalize_live(value), 40), settings[key]))
    content = render_sysctl(settings, options['profile'])
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            reasons.append('%s is not a regular file' % path)
        else:
            if stat.S_IMODE(info.st_mode) != 0o644:
                reasons.append('%s has mode %04o' % (path, stat.S_IMODE(info.st_mode)))
            with open(path, 'rb') as handle:
                if handle.read().decode('utf-8', 'replace') != content:
                    reasons.append('%s differs' % path)
    except (IOError, OSError):
        reasons.append('%s is missing or unreadable' % path)
    return not reasons, reasons


class Outputs:
    """The role's local fact (local_fact) and the read-only sysctl check (sysctl_check) of one call."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.fact = None
        self.managers = []

    def prepare(self):
        """Look for other firewall managers (refuse_managers), validate and plan the fact: nothing is written here."""
        self.managers = other_managers()
        refused = refusal(self.managers, self.params.get('refuse_managers'))
        if refused:
            raise FirewallError(refused, other_managers=self.managers)
        spec = self.params.get('local_fact')
        if not spec:
            return
        name = spec['name']
        if not FACT_NAME_RE.match(name or ''):
            raise FirewallError('local_fact.name must be letters, digits and "_" (it names %s/NAME.fact), not %s'
                                % (FACTS_DIR, excerpt(name, 60)), field='local_fact.name', value=excerpt(name, 60))
        path = os.path.join(FACTS_DIR, '%s.fact' % name)
        for problem in (check_dir_path('the directory of local facts', FACTS_DIR), check_file_path('local_fact', path)):
            if problem:
                raise FirewallError(problem)
        content = json.dumps(spec['content'], sort_keys=True) + '\n'
        size = len(content.encode('utf-8', 'surrogateescape'))
        if size > FACT_LIMIT:
            raise FirewallError('local_fact.content of %s is %d bytes as JSON, more than the limit of %d bytes (a fact is '
                                'read back with that limit): keep large data out of the fact'
                                % (excerpt(name, 60), size, FACT_LIMIT), field='local_fact.content')
        old = None
        same = False
        try:
            data = read_own_file('local_fact', path, limit=FACT_LIMIT)
        except HostError as exc:
            raise FirewallError(exc.msg)
        if data is not None:
            old = data.decode('utf-8', 'replace')
            try:
                same = json.loads(old) == spec['content'] and stat.S_IMODE(os.lstat(path).st_mode) == FACT_MODE
            except ValueError:
                same = False
        self.fact = {'path': path, 'content': content, 'same': same, 'old': old, 'mode': FACT_MODE, 'dir_mode': 0o755}

    def write(self):
        fact = self.fact
        if fact is None or fact['same'] or self.module.check_mode:
            return
        write_plan(self.module, fact, 'the local fact')

    def report(self, result, diffs):
        result['other_managers'] = self.managers
        fact = self.fact
        if fact is not None:
            result['local_fact'] = fact['path']
            result['local_fact_changed'] = not fact['same']
            if not fact['same']:
                result['changed'] = True
                if self.module._diff:
                    diffs.append({'before_header': '%s (local fact)' % fact['path'],
                                  'after_header': '%s (local fact)' % fact['path'],
                                  'before': fact['old'] or '', 'after': fact['content']})
        if self.params.get('sysctl_check'):
            result['sysctl_in_place'], result['sysctl_differ'] = sysctl_state(self.params['sysctl_check'])
