# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Other firewall managers on the target, seen read-only by rampart.firewall.iptables_ruleset on every
apply (no command, no extra remote call): a few lstat/readlink calls and one small file read.

* firewalld: enabled (a link to firewalld.service in a ``*.wants`` or ``*.requires`` directory of
  /etc/systemd/system) or running (systemd's /run/systemd/units/invocation:firewalld.service, there
  while the unit is active). Running, it replaces the rules at once; enabled, at the next boot.
* nftables: nftables.service enabled. At boot it loads /etc/nftables.conf, whose Debian default
  begins with ``flush ruleset`` (every table, iptables-nft's included).
* ufw: /etc/ufw/ufw.conf says ENABLED=yes (what ``ufw status`` reports as active) and ufw is
  installed. ufw.service loads ufw's rules at boot over these.

A unit masked in /etc/systemd/system (a link to /dev/null) counts as neither enabled nor running.
"""

from __future__ import annotations

import os
import re

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import HostError, read_own_file

MANAGERS = ('firewalld', 'nftables', 'ufw')
SYSTEMD_ETC = '/etc/systemd/system'
SYSTEMD_RUN_UNITS = '/run/systemd/units'
UFW_CONF = '/etc/ufw/ufw.conf'
UFW_PROGRAMS = ('/usr/sbin/ufw', '/sbin/ufw', '/usr/bin/ufw')
UFW_ENABLED_RE = re.compile(r'''^\s*ENABLED\s*=\s*["']?yes["']?\s*$''', re.IGNORECASE | re.MULTILINE)

# What each one does to these rules, and how to stop it by hand (the roles also have switches).
WHY = {
    'firewalld': 'replaces these rules when it starts (and at every boot)',
    'nftables': "loads /etc/nftables.conf at boot (Debian's default begins with flush ruleset and removes these rules)",
    'ufw': 'loads its own rules at boot over these',
}
FIX = {
    'firewalld': 'systemctl disable --now firewalld && systemctl mask firewalld',
    'nftables': 'systemctl disable nftables (or mask it)',
    'ufw': 'ufw disable',
}


def _under(root, path):
    return os.path.join(root, path.lstrip('/')) if root not in (None, '', '/') else path


def _masked(root, unit):
    path = _under(root, os.path.join(SYSTEMD_ETC, unit))
    try:
        return os.path.islink(path) and os.readlink(path) == '/dev/null'
    except OSError:
        return False


def _enabled(root, unit):
    """The paths of the links that enable UNIT (sorted), [] when none."""
    base = _under(root, SYSTEMD_ETC)
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return []
    return [os.path.join(SYSTEMD_ETC, entry, unit) for entry in entries
            if entry.endswith(('.wants', '.requires')) and os.path.lexists(os.path.join(base, entry, unit))]


def _running(root, unit):
    path = os.path.join(SYSTEMD_RUN_UNITS, 'invocation:' + unit)
    return [path] if os.path.lexists(_under(root, path)) else []


def _ufw_active(root):
    if not any(os.path.lexists(_under(root, path)) for path in UFW_PROGRAMS) or _masked(root, 'ufw.service'):
        return False
    try:
        data = read_own_file('ufw.conf', _under(root, UFW_CONF), limit=65536)
    except HostError:
        return False
    return data is not None and bool(UFW_ENABLED_RE.search(data.decode('utf-8', 'replace')))


def other_managers(root='/'):
    """The other firewall managers that would replace or mix with these rules, in MANAGERS order:
    [{'name', 'enabled', 'running', 'evidence'}] (running is None where it is not read: nftables is a
    oneshot unit, ufw's state is its ENABLED setting). ROOT: where the file system is (tests)."""
    found = []
    for name in ('firewalld', 'nftables'):
        unit = name + '.service'
        if _masked(root, unit):
            continue
        enabled = _enabled(root, unit)
        running = _running(root, unit) if name == 'firewalld' else []
        if enabled or running:
            found.append({'name': name, 'enabled': bool(enabled), 'running': bool(running) if name == 'firewalld' else None,
                          'evidence': enabled + running})
    if _ufw_active(root):
        found.append({'name': 'ufw', 'enabled': True, 'running': None, 'evidence': [UFW_CONF + ': ENABLED=yes']})
    return found


def refusal(found, refuse):
    """The error message for the managers of FOUND named in REFUSE, or None when none is."""
    names = set(refuse or ())
    hits = [item for item in found if item['name'] in names]
    if not hits:
        return None
    parts = []
    for item in hits:
        state = ' and '.join(word for word, on in (('enabled', item['enabled']), ('running', item['running'])) if on)
        parts.append('%s is %s (%s) and %s: %s' % (item['name'], state, ', '.join(item['evidence']), WHY[item['name']],
                                                   FIX[item['name']]))
    return ('another firewall manager would replace these rules, nothing was changed: %s. '
            '(The roles stop firewalld and ufw with <role>_stop_firewalld / <role>_stop_ufw.)' % '; '.join(parts))
