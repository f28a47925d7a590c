# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/reachability.yml run for real: ansible-playbook, the local connection, packets on loopback.

An inventory of local-connection hosts declares probes from the controller, from a group (each of
its hosts) and from a host that cannot be reached; a listener on 127.0.0.1 gives an open port, a
port nobody listens on a refused one. The report must hold every row, drift first, in the table,
the JSON and the HTML files, and reachability_fail_on_drift must fail the run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'reachability.yml')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


@pytest.fixture
def env(tmp_path):
    ns = tmp_path / 'collections' / 'ansible_collections' / 'rampart'
    ns.mkdir(parents=True)
    os.symlink(ROOT, str(ns / 'firewall'))
    out = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / 'tmp'), ANSIBLE_SSH_ARGS='-o ControlMaster=no')
    return out


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run(args, env):
    return subprocess.run([ANSIBLE_PLAYBOOK] + args, env=env, capture_output=True, text=True, check=False, timeout=240)


def test_syntax_check(env, tmp_path):
    inventory = tmp_path / 'empty.yml'
    inventory.write_text('all: {}\n')
    proc = run(['--syntax-check', '-i', str(inventory), PLAYBOOK], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_report_of_a_local_fleet(env, tmp_path):
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(16)
    open_port = listener.getsockname()[1]
    closed_port = free_port()
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    inventory = {'all': {'children': {
        'single_hosts': {'hosts': {'db1': dict(local, ansible_host='127.0.0.1', single_host_confirm_probes=[
            {'port': open_port},                                      # controller: open, holds
            {'port': closed_port, 'expect': 'closed'},                # controller: refused, holds
            {'port': open_port, 'from': 'web'},                       # each web host: holds
            {'port': closed_port, 'from': 'web'},                     # each web host: DRIFT (refused)
            {'port': open_port, 'from': 'lost', 'timeout': 1},        # source unreachable: DRIFT (not run)
        ])}},
        'web': {'hosts': {'web1': dict(local), 'web2': dict(local)}},
        # TEST-NET-1: nothing answers; ssh gives up after 2 s
        'lost': {'hosts': {'lost1': {'ansible_host': '192.0.2.1', 'ansible_ssh_timeout': 2, 'ansible_user': 'nobody'}}},
    }}}
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump(inventory))
    report_dir = tmp_path / 'report'
    try:
        proc = run(['-i', str(path), '-f', '10', PLAYBOOK, '-e', 'reachability_report_dir=%s' % report_dir], env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        failing = run(['-i', str(path), '-f', '10', PLAYBOOK, '-e', 'reachability_report_dir=%s' % report_dir,
                       '-e', 'reachability_fail_on_drift=true'], env)
    finally:
        listener.close()
    assert 'HTML: %s/reachability.html' % report_dir in proc.stdout
    doc = json.loads((report_dir / 'reachability.json').read_text())
    rows = [(r['from'], r['via'], r['port'], r['expect'], r['observed'], r['ok']) for r in doc['rows']]
    assert rows == [
        ('web', 'web1', closed_port, 'open', 'refused', False),
        ('web', 'web2', closed_port, 'open', 'refused', False),
        ('lost', 'lost1', open_port, 'open', 'not run', False),
        ('controller', 'controller', open_port, 'open', 'open', True),
        ('controller', 'controller', closed_port, 'closed', 'refused', True),
        ('web', 'web1', open_port, 'open', 'open', True),
        ('web', 'web2', open_port, 'open', 'open', True),
    ]
    assert doc['summary']['drift'] == 3 and doc['summary']['sources'] == 4
    text = (report_dir / 'reachability.txt').read_text().splitlines()
    assert text[0].split() == ['host', 'address', 'port', 'proto', 'from', 'expected', 'observed', 'ok']
    col = text[0].index(' ok') + 1
    assert [line[col:col + 5].strip() for line in text[2:9]] == ['DRIFT'] * 3 + ['ok'] * 4
    assert text[-1] == '7 probes on 1 hosts from 4 sources: 4 as declared, 3 drift (db1)'
    # the table is printed by the play as well
    assert '"%s"' % text[-1] in proc.stdout
    page = (report_dir / 'reachability.html').read_text()
    assert page.count('<tr class="drift">') == 3 and page.count('<tr class="ok">') == 4
    assert failing.returncode != 0 and 'drift on db1' in failing.stdout
