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

import fcntl
import os
import tempfile
import time

from ansible.module_utils.common.text.converters import to_native

ENABLED_STATES = ('enabled', 'static', 'alias', 'indirect', 'generated', 'transient')
_C = {'LANG': 'C', 'LC_ALL': 'C'}


class HostError(Exception):
    """A side effect failed: msg plus result keys (cmd, rc, stdout, stderr)."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


def write_atomic(module, path, content, mode):
    """Write content to path through a temporary file in the same directory and module.atomic_move.

    A new file gets mode; an existing one keeps its owner and mode (atomic_move copies them)."""
    directory = os.path.dirname(path) or '.'
    creating = not os.path.exists(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(content)
            os.chmod(tmp, mode)
        except Exception:
            os.unlink(tmp)
            raise
    except (IOError, OSError) as exc:
        raise HostError('cannot write %s: %s' % (path, to_native(exc)))
    module.atomic_move(tmp, path)
    if creating:
        # atomic_move gives a new file the default mode (0666 & ~umask).
        os.chmod(path, mode)


def _missing(text):
    return 'No such file' in text or 'not found' in text or 'does not exist' in text


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
        if state == 'not-found' or _missing(err or ''):
            module.warn('the service %s that restores the persisted rules at boot is not installed: '
                        'install the package %s' % (service, package))
            continue
        if state == 'masked':
            module.warn('the service %s that restores the persisted rules at boot is masked: '
                        'the rules will not be loaded at boot' % service)
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


LOCK_PATH = '/run/rampart-firewall.lock'


class ApplyLock:
    """An exclusive lock around read-plan-apply-verify, so that two applies on one host
    (two playbooks, or two tasks with async) run one after the other instead of each
    reading a ruleset the other is about to replace. fcntl.flock: released by the kernel
    when the process dies."""

    def __init__(self, timeout, path=None):
        self.timeout = max(int(timeout), 0)
        self.path = path or LOCK_PATH
        self.handle = None

    def __enter__(self):
        try:
            self.handle = open(self.path, 'a')
        except (IOError, OSError):
            return self   # no place for a lock file (read-only /run): go on unlocked
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError):
                if time.time() >= deadline:
                    self.handle.close()
                    self.handle = None
                    raise HostError('another rampart.firewall apply on this host still holds %s after %d s (option wait)'
                                    % (self.path, self.timeout))
                time.sleep(0.1)

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()   # closing releases the flock
        return False
