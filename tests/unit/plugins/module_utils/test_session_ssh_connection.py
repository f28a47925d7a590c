# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iptables_host.session_ssh_connection: the SSH session a module runs in, found in its own
environment or in its parent processes' (sudo resets the environment of become), on a fake /proc."""

from __future__ import annotations

import os

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import session_ssh_connection

SESSION = '198.51.100.7 50000 203.0.113.10 22'


def fake_proc(tmp_path, chain):
    """chain: [(pid, comm, environ dict)] from the module's process up; each one's parent is the next."""
    root = tmp_path / 'proc'
    for index, (pid, comm, env) in enumerate(chain):
        parent = chain[index + 1][0] if index + 1 < len(chain) else 1
        for name in (str(pid),) + (('self',) if index == 0 else ()):
            d = root / name
            d.mkdir(parents=True, exist_ok=True)
            (d / 'stat').write_text('%d (%s) S %d 1 1 0 -1\n' % (pid, comm, parent))
            (d / 'environ').write_bytes(b'\0'.join(('%s=%s' % kv).encode() for kv in env.items()) + b'\0')
    return str(root)


def test_own_environment_first(tmp_path):
    assert session_ssh_connection({'SSH_CONNECTION': SESSION}, proc=str(tmp_path / 'none')) == SESSION


def test_found_above_sudo(tmp_path):
    # python (env reset by sudo) <- sh <- sudo (the login env) <- sh <- sshd
    proc = fake_proc(tmp_path, [(500, 'python3', {'PATH': '/usr/bin'}), (499, 'sh', {'PATH': '/usr/bin'}),
                                (498, 'sudo) x (y', {'SSH_CONNECTION': SESSION, 'USER': 'admin'}),
                                (497, 'sh', {'SSH_CONNECTION': 'older one'})])
    assert session_ssh_connection({}, proc=proc) == SESSION


def test_no_session_anywhere(tmp_path):
    proc = fake_proc(tmp_path, [(40, 'python3', {}), (30, 'conmon', {'PATH': '/bin'})])
    assert session_ssh_connection({}, proc=proc) == ''
    assert session_ssh_connection({}, proc=str(tmp_path / 'missing')) == ''


def test_depth_is_bounded(tmp_path):
    chain = [(1000 - i, 'sh', {}) for i in range(20)] + [(900, 'sshd', {'SSH_CONNECTION': SESSION})]
    proc = fake_proc(tmp_path, chain)
    assert session_ssh_connection({}, proc=proc) == ''
    assert session_ssh_connection({}, proc=proc, depth=25) == SESSION


def test_real_proc_does_not_fail():
    assert isinstance(session_ssh_connection({}, proc='/proc'), str)
    assert os.path.exists('/proc/self/stat')
