# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ipset sets on a host: the commands, one set's change, and the persisted sets file.

Shared by the module rampart.firewall.ipset (one set) and by the set transaction of
iptables_ruleset (ipset_transaction.SetTransaction, the sets of a ruleset). The pure parts
(names, members, payloads, the persisted text) are in ipset_model.

* IpsetCommands(module): every ``ipset`` command, as argument lists with ``LANG=C``; payloads on
  stdin (``ipset restore``).
* plan_change(name, spec, keys, live, names, in_use): how one set becomes SPEC with KEYS, as a
  SetChange (method none / create / swap / rebuild and its ``ipset restore`` payload). Every
  method builds the new content in a temporary set (ipset_model.temp_name, a name not live) first:
  a refused member or a kernel-refused hashsize stops the restore before the set is touched. A
  type (or family) change of a set IN USE (a rule or another kernel component references it) is
  refused naming the set: ipset cannot swap sets of two types, and a rule must never point at a
  missing or wrong set.
* IpsetCommands.apply(change): runs the payload; on failure destroys the temporary set (provably
  this call's: its name was not live when the change was planned, under the apply lock) and
  raises FirewallError naming the payload line.
* persist_plan / persist_finish: where the boot service loads sets from, the file's new text with
  the given sets' blocks replaced (merge_blocks), the plugin/service warnings and the services.
"""

from __future__ import annotations

import os
import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as model
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    HostError,
    check_file_path,
    enable_services,
    read_own_file,
    write_atomic,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import distribution_layout

__metaclass__ = type

_C = {'LANG': 'C', 'LC_ALL': 'C'}


class SetChange:
    """How one set changes: method ('none', 'create', 'swap', 'rebuild'), the ipset restore payload
    ('' for none) and the temporary set it builds in (None for none)."""

    __slots__ = ('name', 'method', 'payload', 'tmp')

    def __init__(self, name, method='none', payload='', tmp=None):
        self.name = name
        self.method = method
        self.payload = payload
        self.tmp = tmp


def plan_change(name, spec, keys, live, names, in_use=False):
    """The SetChange making the set NAME (LiveSet LIVE or None) SPEC with KEYS. names: the live set
    names (the temporary name avoids them). in_use: whether a rule or a kernel component references
    the set; a type or family change is then refused (FirewallError naming the set), before anything
    changes."""
    if live is None:
        tmp = model.temp_name(name, names)
        return SetChange(name, 'create', model.render_create(name, spec, keys, tmp), tmp)
    if live.spec.key() == spec.key() and live.keys == keys:
        return SetChange(name)
    tmp = model.temp_name(name, names)
    if not live.spec.swappable(spec):
        if in_use:
            raise FirewallError('refusing to change the set %s from %s/%s to %s/%s, nothing was changed: it is in use%s, '
                                'and ipset cannot swap sets of two types, so a rule would point at a missing or wrong set; '
                                'give the new set another name (and change the rules to it), or remove the rules that '
                                'use it first' % (name, live.spec.set_type, live.spec.family, spec.set_type, spec.family,
                                                  ' by ' + in_use if isinstance(in_use, str) else ''),
                                field='type', value=spec.set_type)
        return SetChange(name, 'rebuild', model.render_rebuild(name, spec, keys, tmp), tmp)
    return SetChange(name, 'swap', model.render_swap(name, spec, keys, tmp), tmp)


class IpsetCommands:
    """Every ipset command of a module (module.run_command, argument lists, LANG=C)."""

    def __init__(self, module, binary=None):
        self.module = module
        self.binary = binary or module.get_bin_path('ipset', required=True)

    def run(self, args, data=None):
        rc, out, err = self.module.run_command([self.binary] + list(args), data=data, binary_data=data is not None,
                                               environ_update=dict(_C))
        return rc, out or '', err or ''

    def fail(self, msg, args, rc, out, err):
        raise FirewallError(msg, cmd=' '.join([self.binary] + list(args)), rc=rc, stdout=out, stderr=err)

    def names(self):
        """The live set names (ipset list -n)."""
        rc, out, err = self.run(['list', '-n'])
        if rc != 0:
            self.fail('ipset list -n failed (rc=%d): %s (is the ip_set kernel module available?)'
                      % (rc, (err or out).strip()), ['list', '-n'], rc, out, err)
        return model.list_names(out)

    def save_text(self, name):
        """``ipset save NAME``, exactly as printed (the revert gives it back byte for byte)."""
        rc, out, err = self.run(['save', name])
        if rc != 0:
            self.fail('ipset save %s failed (rc=%d): %s' % (name, rc, (err or out).strip()), ['save', name], rc, out, err)
        return out

    def live(self, name, names):
        """(LiveSet or None, save text or None) of NAME."""
        if name not in names:
            return None, None
        text = self.save_text(name)
        try:
            return model.parse_save(text, only=name).get(name), text
        except model.IpsetError as exc:
            raise FirewallError('cannot read the live set %s: %s' % (name, exc))

    def kernel_references(self, name):
        """The kernel's reference count of NAME (iptables rules, list:set members, ...)."""
        rc, out, _err = self.run(['list', '-t', name])
        match = re.search(r'^References:\s*(\d+)', out, re.MULTILINE) if rc == 0 else None
        return int(match.group(1)) if match else 0

    def restore(self, payload, tmp=None, created=True):
        """ipset restore PAYLOAD. On failure: destroy TMP when CREATED (it was not live before: this
        call made it, half-filled) and raise FirewallError naming the payload line."""
        rc, out, err = self.run(['restore'], data=payload)
        if rc == 0:
            return
        lineno = model.restore_error_line(err or out)
        lines = payload.splitlines()
        line = lines[lineno - 1] if lineno and lineno <= len(lines) else None
        if tmp is not None and created and tmp in self.names():
            self.run(['destroy', tmp])
        msg = 'ipset restore failed (rc=%d)%s: %s' % (
            rc, ' at payload line %d (%s)' % (lineno, model.excerpt(line, 100)) if line else '',
            ' '.join((err or out).split()))
        self.fail(msg, ['restore'], rc, out, err)

    def apply(self, change):
        """Run a SetChange (nothing for method none)."""
        if change.payload:
            self.restore(change.payload, change.tmp)

    def destroy(self, name):
        rc, out, err = self.run(['destroy', name])
        if rc != 0:
            self.fail('ipset destroy %s failed (rc=%d): %s' % (name, rc, (err or out).strip()), ['destroy', name],
                      rc, out, err)


# ----------------------------------------------------------------------- the persisted sets file

def merge_blocks(text, blocks):
    """The persisted file TEXT with the block of every set of BLOCKS ({name: [lines] or None})
    replaced, added or removed (ipset_model.merge_persisted), other sets kept."""
    for name in sorted(blocks):
        text = model.merge_persisted(text or '', name, blocks[name])
    return text or ''


def persist_plan(os_release, path, sets, option='persist_path'):
    """Where and what to persist: {path, mode, services, package, plugin, old, new, blocks}.

    os_release: the parsed os-release (iptables_host.os_release); path: the file chosen by the user
    (None: the distribution's, ipset_model.PERSIST_LAYOUTS); sets: {name: (SetSpec, keys) or None to
    remove}. A set whose persisted block already holds the same options and members keeps its lines
    (another hashsize or member order is no change). Checks the path (a regular file or absent, in a
    real directory, not on /proc, /sys, /dev) and reads the old text never through a symlink. Raises
    FirewallError naming OPTION."""
    layout = distribution_layout(os_release)
    known = model.PERSIST_LAYOUTS.get(layout)
    if path is None:
        if known is None:
            raise FirewallError('do not know where this distribution keeps its ipsets for boot: set %s to the file your '
                                'boot service restores before the iptables rules, or do not persist' % option)
        path = known[0]
    problem = check_file_path(option, path)
    if problem:
        raise FirewallError(problem)
    try:
        data = read_own_file(option, path)   # never through a symlink: its text is shown in the diff
        old = None if data is None else to_text(data, errors='surrogate_or_strict')
    except (HostError, UnicodeError) as exc:
        raise FirewallError(getattr(exc, 'msg', None) or '%s %s is not UTF-8 text' % (option, model.excerpt(path)))
    blocks = {}
    for name, want in sets.items():
        if want is not None and old is not None:
            were = model.persisted_set(old, name)
            if were is not None and were.keys == want[1] and were.spec.key() == want[0].key():
                continue        # the same set, spelt otherwise: leave its lines alone
        blocks[name] = model.render_block(name, want[0], want[1]) if want is not None else None
    new = merge_blocks(old, blocks) if blocks else old
    if known is not None and path == known[0]:
        mode, services, package, plugin = known[3], known[1], known[2], known[4]
    else:
        # a file of the user's choosing: who loads it at boot is the user's business
        mode, services, package, plugin = 0o640, (), None, None
    return {'path': path, 'mode': mode, 'services': list(services), 'package': package, 'plugin': plugin,
            'old': old, 'new': new if new is not None else '', 'blocks': blocks,
            'same': old == new or (old is None and not blocks)}


def persist_record(plan):
    """The JSON-safe part of a persist_plan that write_persisted needs (stored in a window's T.json)."""
    return dict((key, plan[key]) for key in ('path', 'mode', 'services', 'package', 'plugin', 'blocks'))


def write_persisted(module, plan, option='the persisted sets file'):
    """Write the blocks of PLAN (persist_plan, or its persist_record) into the sets file, merged into
    the file as it is NOW (read again, never through a symlink): two writers of the same file (the
    two families of one call, confirmed one after the other) each replace only their own sets.
    The path is checked again first. Returns True when the file was written; raises FirewallError."""
    problem = check_file_path(option, plan['path'])
    if problem:
        raise FirewallError('not persisting the sets: %s' % problem)
    try:
        data = read_own_file(option, plan['path'])
        old = None if data is None else to_text(data, errors='surrogate_or_strict')
    except (HostError, UnicodeError) as exc:
        raise FirewallError(getattr(exc, 'msg', None) or '%s %s is not UTF-8 text' % (option, model.excerpt(plan['path'])))
    new = merge_blocks(old, plan['blocks'])
    if new == (old or '') and (old is not None or not new):
        return False
    try:
        write_atomic(module, plan['path'], new, plan['mode'])
    except HostError as exc:
        raise FirewallError('cannot write the persisted sets: %s' % exc.msg, **exc.extra)
    return True


def persist_finish(module, plan):
    """After the sets file is written (or found up to date): warn when the boot plugin that loads it
    is missing, enable the boot services. Returns the services enabled; raises FirewallError."""
    if plan['plugin'] and not os.path.exists(plan['plugin']):
        module.warn('the netfilter-persistent plugin %s that loads %s at boot is not installed: install the package %s, '
                    'or the sets (and the persisted rules that use them) are not loaded at boot'
                    % (plan['plugin'], plan['path'], plan['package']))
    if not plan['services']:
        return []
    try:
        return enable_services(module, plan['services'], plan['package'])
    except HostError as exc:
        raise FirewallError(exc.msg, **exc.extra)
