# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs iptables-save and iptables-restore for the modules (the revert timer of
iptables_rollback restores with the argv this runner gives it, restore_argv()).

Every command is an argument list (never a shell string), runs with LANG=C and
LC_ALL=C so messages can be read, and restore payloads are fed on stdin.
"""

from __future__ import annotations

import re

_BINARIES = {
    'ipv4': ('iptables-save', 'iptables-restore'),
    'ipv6': ('ip6tables-save', 'ip6tables-restore'),
}

_ENV = {'LANG': 'C', 'LC_ALL': 'C'}

# The three ways iptables-restore 1.8 names the failing input line:
#   "Error occurred at line: 5"                        (parse errors, nft and legacy)
#   "line 3: RULE_APPEND failed (Invalid argument) ..."  (nft, kernel refused at commit)
#   "iptables-restore: line 4 failed"                  (legacy, kernel refused at COMMIT)
_LINE_RES = (
    re.compile(r'Error occurred at line:\s*(\d+)'),
    re.compile(r'^\s*line (\d+):', re.MULTILINE),
    re.compile(r'\bline (\d+) failed\b'),
)


def _command_text(cmd):
    return ' '.join(cmd)


def failed_line(output):
    """Return the input line number that iptables-restore reported in its output, or None."""
    for regex in _LINE_RES:
        match = regex.search(output or '')
        if match:
            return int(match.group(1))
    return None


def payload_line(payload, lineno):
    """Return line number lineno (1-based) of payload, or None when out of range."""
    if lineno is None or lineno < 1:
        return None
    lines = payload.splitlines()
    if lineno > len(lines):
        return None
    return lines[lineno - 1]


class IptablesCommandError(Exception):
    """An iptables command failed. Carries what a failure result needs.

    Attributes: msg, cmd (list), rc, stdout, stderr, and for restore failures
    lineno / line: the payload line that iptables-restore reported (or None).
    """

    def __init__(self, msg, cmd, rc, stdout, stderr, lineno=None, line=None, detail=None):
        super().__init__(msg)
        self.msg = msg
        self.detail = detail
        self.cmd = list(cmd)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.lineno = lineno
        self.line = line

    def located(self, origin):
        """The message, with origin (for example "line 7 of the ruleset") after the payload line."""
        if self.line is None or not origin or self.detail is None:
            return self.msg
        return self.msg.replace(
            'payload line %d: %s: ' % (self.lineno, self.line),
            'payload line %d (%s): %s: ' % (self.lineno, origin, self.line), 1)

    def to_result(self):
        """The keys of a failure result (msg, cmd, rc, stdout, stderr)."""
        return {
            'msg': self.msg,
            'cmd': _command_text(self.cmd),
            'rc': self.rc,
            'stdout': self.stdout,
            'stderr': self.stderr,
        }


class IptablesRunner:
    """Run iptables-save and iptables-restore (or their ip6tables twins) for one family.

    module: an AnsibleModule (only get_bin_path() and run_command() are used).
    wait: seconds to wait for the xtables lock (iptables-restore -w); 0 means do not wait.
    noflush: restores (and --test runs) edit the tables with --noflush instead of replacing them
    (the granular modules); restore_argv() is always the replacing command.
    """

    def __init__(self, module, family='ipv4', wait=10, noflush=False):
        if family not in _BINARIES:
            raise ValueError("family must be 'ipv4' or 'ipv6', not %r" % (family,))
        self.module = module
        self.family = family
        self.wait = int(wait or 0)
        self.noflush = noflush
        self._save_name, self._restore_name = _BINARIES[family]
        self._paths = {}

    def _bin(self, name):
        if name not in self._paths:
            self._paths[name] = self.module.get_bin_path(name, required=True)
        return self._paths[name]

    def _restore_cmd(self, test=False, noflush=None):
        cmd = [self._bin(self._restore_name)]
        if self.wait > 0:
            # Accepted by both backends of 1.8 (the nft one ignores the value: nftables has no lock).
            cmd.extend(['-w', str(self.wait)])
        if test:
            cmd.append('--test')
        if self.noflush if noflush is None else noflush:
            cmd.append('--noflush')
        return cmd

    def restore_argv(self):
        """The iptables-restore command line (stdin: whole tables) that replaces the tables it
        names, for the revert timer: never --noflush."""
        return self._restore_cmd(noflush=False)

    def save(self):
        """Return the text of iptables-save (all tables, no counters)."""
        # iptables-save takes no -w: it does not take the xtables lock.
        cmd = [self._bin(self._save_name)]
        rc, out, err = self.module.run_command(cmd, environ_update=dict(_ENV))
        if rc != 0:
            raise IptablesCommandError(
                '%s failed (rc=%s): %s' % (self._save_name, rc, (err or out or '').strip()),
                cmd, rc, out, err)
        return out

    def test(self, payload):
        """Check payload with iptables-restore --test (nothing is changed). Raises IptablesCommandError."""
        self._restore(payload, test=True)

    def restore(self, payload):
        """Load payload with iptables-restore: every table in it is replaced atomically."""
        self._restore(payload, test=False)

    def _restore(self, payload, test):
        cmd = self._restore_cmd(test=test)
        rc, out, err = self.module.run_command(cmd, data=payload, binary_data=True, environ_update=dict(_ENV))
        if rc == 0:
            return
        what = '%s%s' % (self._restore_name, ' --test' if test else '')
        output = '\n'.join(part for part in (err, out) if part)
        lineno = failed_line(output)
        line = payload_line(payload, lineno)
        detail = ' '.join(part.strip() for part in output.splitlines()
                          if part.strip() and not part.startswith('Try `'))
        if line is not None:
            msg = '%s failed (rc=%s) at payload line %d: %s: %s' % (what, rc, lineno, line, detail)
        else:
            msg = '%s failed (rc=%s): %s' % (what, rc, detail)
        raise IptablesCommandError(msg, cmd, rc, out, err, lineno=lineno, line=line, detail=detail)
