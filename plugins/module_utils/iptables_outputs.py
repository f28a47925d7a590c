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
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    HostError,
    check_dir_path,
    check_file_path,
    excerpt,
    read_own_file,
    write_owned,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    ENGINE_SOCKETS,
    SYS_CLASS_NET,
    SettingsError,
    apply_order,
    check_path as sysctl_check_path,
    detect_engine,
    engine_needs_reading,
    engine_settings,
    merge_settings,
    normalize_live,
    render as render_sysctl,
    sysctl_path,
    values_equal,
)

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
# Where a running container engine shows (sysctl_profiles.detect_engine); unit tests point these elsewhere.
NET_DIR = SYS_CLASS_NET
SOCKET_ROOT = ''


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


def engine_evidence():
    """detect_engine() of the target: the entries of /sys/class/net and the engine sockets that exist
    (the same reads as rampart.firewall.sysctl_hardening)."""
    try:
        names = os.listdir(NET_DIR)
    except (IOError, OSError):
        names = []
    return detect_engine(names, [path for path in ENGINE_SOCKETS if os.path.exists(SOCKET_ROOT + path)])


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

    def prepare(self):
        """Validate and plan the fact: nothing is written here."""
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
