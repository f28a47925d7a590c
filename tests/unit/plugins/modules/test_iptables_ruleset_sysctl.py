# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iptables_ruleset option sysctl (issue 22): the kernel settings in the transaction. Planned in the call,
applied by the window's timer after the rules, restored by the timer BEFORE the rules (forwarding off first),
the sysctl.d file written only after the confirmation; a change of only the kernel settings goes through a
window too; bad input changes nothing. Same fake kernel as test_iptables_ruleset; /proc/sys and the sysctl.d
directory are temporary directories."""

from __future__ import annotations

import os

import pytest
from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_profiles
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_transaction
from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base

WEB = base.WEB
run = base.run
confirm = base.confirm
kernel = base.kernel
window = base.window


@pytest.fixture
def proc(monkeypatch, tmp_path):
    """/proc/sys with the router profile's keys, forwarding off and rp_filter loose; an empty sysctl.d."""
    root = tmp_path / 'proc-sys'
    values = dict(sysctl_profiles.ROUTER, **{'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.forwarding': '0',
                                             'net.ipv4.conf.all.rp_filter': '2'})
    for key, value in values.items():
        path = root / sysctl_profiles.sysctl_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + '\n')
    conf = tmp_path / 'sysctl.d'
    conf.mkdir()
    monkeypatch.setattr(sysctl_transaction, 'PROC_SYS', str(root))
    monkeypatch.setattr(sysctl_transaction, 'NET_DIR', str(tmp_path / 'no-net'))
    monkeypatch.setattr(sysctl_transaction, 'WRITE_DIRS', (str(conf),))
    return root, str(conf / '90-rampart-firewall.conf')


def live(root, key):
    return (root / sysctl_profiles.sysctl_path(key)).read_text().strip()


def args(path, **extra):
    result = {'content': WEB, 'persist': False, 'rollback_timeout': 30, 'sysctl': {'profile': 'router', 'path': path}}
    result.update(extra)
    return result


def test_check_mode_reports_and_changes_nothing(kernel, proc):
    root, path = proc
    result = run(args(path), check_mode=True, diff=True)
    assert result['changed'] is True
    assert [c['key'] for c in result['sysctl']['live_changed']] == [
        'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding', 'net.ipv4.conf.all.rp_filter']
    assert result['sysctl']['file_changed'] is True and result['sysctl']['pending'] is False
    assert any(entry.get('after_header') == path for entry in result['diff'])
    assert live(root, 'net.ipv4.ip_forward') == '0' and not os.path.exists(path)


def test_window_applies_after_the_rules_reverts_kernel_first_and_writes_the_file_after_confirmation(
        kernel, proc, window, monkeypatch):
    root, path = proc
    state, bodies = window
    result = run(args(path))
    token = result['rollback']['token']
    assert result['sysctl']['pending'] is True
    assert live(root, 'net.ipv4.ip_forward') == '0' and kernel.restored == []   # nothing before the answer
    meta = rollback.meta(state, token)
    assert meta['sysctl'][0] == ['net.ipv4.ip_forward', '0']                     # forwarding restored first
    assert meta['sysctl_file']['path'] == path
    order = []
    real_restore = kernel.run_command

    def spy(argv, **kwargs):
        if 'restore' in argv[0] and '--test' not in argv:
            order.append(('rules', live(root, 'net.ipv4.ip_forward')))
        return real_restore(argv, **kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', staticmethod(spy))
    base.timer_applies(bodies, monkeypatch)
    assert order == [('rules', '0')], 'the rules first, forwarding still off'
    assert live(root, 'net.ipv4.ip_forward') == '1' and live(root, 'net.ipv4.conf.all.rp_filter') == '1'
    assert not os.path.exists(path), 'the file waits for the confirmation'
    # left unconfirmed: the revert puts forwarding back off before the rules
    order.clear()
    assert rollback.expire(state, token, ['/usr/sbin/iptables-restore', '-w', '10'],
                           run=lambda argv, data: (order.append(('rules', live(root, 'net.ipv4.ip_forward'))) or (0, '', ''))) \
        == 'reverted'
    assert order == [('rules', '0')]
    assert live(root, 'net.ipv4.conf.all.rp_filter') == '2' and not os.path.exists(path)


def test_confirmation_writes_the_file(kernel, proc, window, monkeypatch):
    root, path = proc
    state, bodies = window
    result = run(args(path))
    base.timer_applies(bodies, monkeypatch)
    answer = confirm({'token': result['rollback']['token']})
    assert answer['confirmed'] == 'confirmed' and answer['sysctl_file_changed'] is True
    with open(path) as handle:
        assert handle.read() == sysctl_profiles.render(sysctl_profiles.ROUTER, 'router')
    assert oct(os.stat(path).st_mode & 0o777) == '0o644'
    # the re-run: nothing to change, no window
    again = run(args(path))
    assert again['changed'] is False and 'rollback' not in again


def test_only_kernel_settings_change_still_goes_through_a_window(kernel, proc, window, monkeypatch):
    root, path = proc
    state, bodies = window
    result = run(args(path, sysctl={'profile': 'router', 'path': path}, rollback_timeout=0))
    assert result['changed'] is True and 'rollback' not in result
    assert live(root, 'net.ipv4.ip_forward') == '1' and os.path.exists(path)   # no window: at once
    (root / 'net' / 'ipv4' / 'conf' / 'all' / 'rp_filter').write_text('0\n')
    result = run(args(path))
    assert result['live_changed'] is False and 'rollback' in result
    assert live(root, 'net.ipv4.conf.all.rp_filter') == '0'
    base.timer_applies(bodies, monkeypatch)
    assert live(root, 'net.ipv4.conf.all.rp_filter') == '1'


@pytest.mark.parametrize('bad, field', [
    ({'profile': 'router', 'settings': {'kernel.panic': 1}}, 'kernel.panic'),
    ({'profile': 'router', 'settings': {'net.ipv4.nope': 1}}, 'net.ipv4.nope'),
    ({'profile': 'router', 'settings': {'net.ipv4.ip_forward': '1\n2'}}, 'net.ipv4.ip_forward'),
    ({'profile': 'router', 'path': '/etc/cron.d/x.conf'}, '/etc/cron.d/x.conf'),
])
def test_bad_input_names_the_field_and_changes_nothing(kernel, proc, window, bad, field):
    root, path = proc
    bad = dict(bad)
    bad.setdefault('path', path)
    result = run(args(path, sysctl=bad))
    assert result['failed'] and field in result['msg'], result['msg']
    assert kernel.restored == [] and live(root, 'net.ipv4.ip_forward') == '0' and not os.path.exists(path)
    assert rollback.pending(window[0]) == []
