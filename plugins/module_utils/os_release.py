# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fields of /etc/os-release. Pure: the caller reads the file (iptables_host.os_release).

A module of its own, importing nothing of the collection, so that iptables_host (which every module
imports) does not reach the persisted form (iptables_persist) and through it the whole model: AnsiballZ
ships every module_utils an import reaches, and the target compiles each one a module imports.
"""

from __future__ import annotations

import shlex

OS_RELEASE_PATHS = ('/etc/os-release', '/usr/lib/os-release')


def read_os_release(text):
    """Parse the text of /etc/os-release (shell-style KEY=VALUE lines) into a dict.

    Comments and blank lines are skipped, quotes and backslash escapes are removed
    the way a POSIX shell would. Malformed lines are ignored.
    """
    result = {}
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        key = key.strip()
        if not key or not key.replace('_', 'A').isalnum():
            continue
        try:
            words = shlex.split(value, comments=False, posix=True)
        except ValueError:
            # Unbalanced quotes: keep the value without its surrounding quotes.
            words = [value.strip().strip('"\'')]
        result[key] = ' '.join(words)
    return result
