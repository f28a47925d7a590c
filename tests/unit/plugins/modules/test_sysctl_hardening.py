# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the sysctl_hardening module against a fake target: a /proc/sys tree, the
sysctl.d directories, /etc/sysctl.conf and /proc/self/mountinfo live in a temporary
directory (the module's PROC_SYS, DIRS, CONF and MOUNTINFO are pointed there)."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import time

import pytest

from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import PROFILES, render
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_transaction
from ansible_collections.rampart.firewall.plugins.modules import sysctl_hardening

from module_harness import AnsibleExitJson, AnsibleFailJson, patch_module_args  # noqa: F401 pylint: disable=unused-import


def exit_json(self, *args, **kwargs):
    kwargs.setdefault('changed', False)
    kwargs['warnings'] = list(self.test_warnings)
    raise AnsibleExitJson(kwargs)


def fail_json(self, *args, **kwargs):
    kwargs['failed'] = True
    kwargs['warnings'] = list(self.test_warnings)
    raise AnsibleFailJson(kwargs)


def warn(self, warning):
    self.test_warnings.append(warning)


# Live values of a fresh network namespace (tcp_rmem with tabs, as the kernel shows it).
DEFAULTS = {
    'net.ipv4.ip_forward': '0',
    'net.ipv6.conf.all.forwarding': '0',
    'net.ipv4.conf.all.rp_filter': '0',
    'net.ipv4.conf.default.rp_filter': '0',
    'net.ipv4.tcp_syncookies': '1',
    'net.ipv4.conf.all.accept_redirects': '1',
    'net.ipv4.conf.default.accept_redirects': '1',
    'net.ipv6.conf.all.accept_redirects': '1',
    'net.ipv6.conf.default.accept_redirects': '1',
    'net.ipv4.conf.all.secure_redirects': '1',
    'net.ipv4.conf.default.secure_redirects': '1',
    'net.ipv4.conf.all.send_redirects': '1',
    'net.ipv4.conf.default.send_redirects': '1',
    'net.ipv4.conf.all.accept_source_route': '0',
    'net.ipv4.conf.default.accept_source_route': '1',
    'net.ipv6.conf.all.accept_source_route': '0',
    'net.ipv6.conf.default.accept_source_route': '0',
    'net.ipv4.conf.all.log_martians': '0',
    'net.ipv4.conf.default.log_martians': '0',
    'net.ipv4.icmp_echo_ignore_broadcasts': '1',
    'net.ipv4.icmp_ignore_bogus_error_responses': '1',
    'net.ipv4.tcp_rmem': '4096\t131072\t6291456',
    'net.ipv6.conf.eth0.accept_ra': '1',
    'kernel.panic': '0',
}

MOUNTINFO_RW = '76 75 0:43 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n'


class Target:
    """The fake target below a temporary directory."""

    def __init__(self, root):
        self.root = str(root)
        self.proc = os.path.join(self.root, 'proc', 'sys')
        self.etc = os.path.join(self.root, 'etc', 'sysctl.d')
        self.run = os.path.join(self.root, 'run', 'sysctl.d')
        self.usr = os.path.join(self.root, 'usr', 'lib', 'sysctl.d')
        self.conf = os.path.join(self.root, 'etc', 'sysctl.conf')
        self.mountinfo = os.path.join(self.root, 'mountinfo')
        self.path = os.path.join(self.etc, '90-rampart-firewall.conf')
        self.net = os.path.join(self.root, 'sys', 'class', 'net')
        for directory in (self.etc, self.run, self.usr, self.net):
            os.makedirs(directory)
        for key, value in DEFAULTS.items():
            self.set_live(key, value)
        self.set_mountinfo(MOUNTINFO_RW)
        self.writes = []
        self.unwritable = set()

    def proc_path(self, key):
        return os.path.join(self.proc, *key.split('.'))

    def set_live(self, key, value):
        path = self.proc_path(key)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, 'w') as handle:
            handle.write(value + '\n')

    def live(self, key):
        with open(self.proc_path(key)) as handle:
            return handle.read().strip()

    def all_live(self):
        return dict((k, self.live(k)) for k in DEFAULTS)

    def set_mountinfo(self, text):
        with open(self.mountinfo, 'w') as handle:
            handle.write(text)

    def write(self, directory, name, text):
        path = os.path.join(directory, name)
        with open(path, 'w') as handle:
            handle.write(text)
        return path

    def file(self):
        if not os.path.exists(self.path):
            return None
        with open(self.path) as handle:
            return handle.read()

    def state(self):
        return self.file(), self.all_live()


@pytest.fixture
def target(monkeypatch, tmp_path):
    fake = Target(tmp_path)
    monkeypatch.setattr(basic.AnsibleModule, 'test_warnings', [], raising=False)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', warn)
    monkeypatch.setattr(sysctl_hardening, 'PROC_SYS', fake.proc)
    monkeypatch.setattr(sysctl_hardening, 'MOUNTINFO', fake.mountinfo)
    monkeypatch.setattr(sysctl_hardening, 'DIRS', (fake.etc, fake.run, os.path.join(fake.root, 'usr', 'local', 'lib', 'sysctl.d'), fake.usr))
    monkeypatch.setattr(sysctl_hardening, 'CONF', fake.conf)
    monkeypatch.setattr(sysctl_hardening, 'WRITABLE_DIRS', (fake.etc, fake.run))
    # no container engine on the fake target (the machine running the tests may have podman bridges)
    monkeypatch.setattr(sysctl_transaction, 'NET_DIR', fake.net)
    monkeypatch.setattr(sysctl_transaction, 'SOCKET_ROOT', fake.root)
    # the windows' state (and the apply lock) in the fake target; the window's reads and writes of /proc/sys too
    fake.state_dir = os.path.join(fake.root, 'run', 'rampart-firewall')
    monkeypatch.setattr(rollback, 'STATE_DIR', fake.state_dir)
    monkeypatch.setattr(sysctl_transaction, 'PROC_SYS', fake.proc)

    real_write = sysctl_hardening.write_proc

    def write_proc(key, value):
        fake.writes.append((key, value))
        real_write(key, value)

    monkeypatch.setattr(sysctl_hardening, 'write_proc', write_proc)
    monkeypatch.setattr(sysctl_hardening, 'proc_writable', lambda key: key not in fake.unwritable)
    return fake


def run(target, args, check_mode=False, diff=False):
    args = dict(args)
    args.setdefault('path', target.path)
    # the direct path (no window) unless a test asks for one: the window is tested below and in test_sysctl_window
    args.setdefault('rollback_timeout', 0)
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    basic.AnsibleModule.test_warnings = []
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            sysctl_hardening.main()
    return info.value.args[0]


ROUTER = {'profile': 'router', 'settings': {'net.ipv4.conf.all.rp_filter': 2, 'net.ipv4.tcp_rmem': '4096 131072 6291456',
                                            'net.ipv6.conf.eth0.accept_ra': '2'}}


def expected_router():
    settings = dict(PROFILES['router'])
    settings.update({'net.ipv4.conf.all.rp_filter': '2', 'net.ipv4.tcp_rmem': '4096 131072 6291456',
                     'net.ipv6.conf.eth0.accept_ra': '2'})
    return dict(sorted(settings.items()))


# ---- apply and idempotence ------------------------------------------------------------------------

def test_first_run_writes_file_and_live_values_second_run_changes_nothing(target):
    result = run(target, ROUTER)
    assert result['changed'] is True
    assert result['file_changed'] is True
    assert result['path'] == target.path
    assert result['settings'] == expected_router()
    assert result['overrides'] == [] and result['unknown'] == []
    content = target.file()
    assert content == render(expected_router(), 'router')
    assert content.startswith('# Managed by rampart.firewall')
    body = [line for line in content.splitlines() if not line.startswith('#')]
    assert body[:2] == ['net.ipv4.ip_forward = 1', 'net.ipv6.conf.all.forwarding = 1']
    assert body[2:] == sorted(body[2:])
    assert sorted(body) == ['%s = %s' % kv for kv in sorted(expected_router().items())]
    assert stat.S_IMODE(os.stat(target.path).st_mode) == 0o644
    for key, value in expected_router().items():
        assert ' '.join(target.live(key).split()) == value, key
    changed = dict((c['key'], (c['before'], c['after'])) for c in result['live_changed'])
    assert changed['net.ipv4.ip_forward'] == ('0', '1')
    assert changed['net.ipv4.conf.all.rp_filter'] == ('0', '2')
    assert changed['net.ipv6.conf.eth0.accept_ra'] == ('1', '2')
    assert 'net.ipv4.tcp_rmem' not in changed          # tabs vs spaces: equal
    assert 'net.ipv4.tcp_syncookies' not in changed    # already 1
    assert target.live('kernel.panic') == '0'          # not managed
    assert not result['warnings']
    # forwarding keys are written first
    assert [write[0] for write in target.writes[:2]] == ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']

    target.writes[:] = []
    again = run(target, ROUTER)
    assert again['changed'] is False
    assert again['file_changed'] is False
    assert again['live_changed'] == []
    assert target.writes == []


def test_host_profile(target):
    target.set_live('net.ipv4.ip_forward', '1')
    result = run(target, {'profile': 'host'})
    assert result['changed'] is True
    assert target.live('net.ipv4.ip_forward') == '0'
    assert 'net.ipv4.ip_forward = 0\n' in target.file()
    assert 'profile host' in target.file()


def test_integer_values_compare_by_value(target):
    target.set_live('kernel.panic', '010')
    run(target, {'profile': 'host', 'settings': {'kernel.panic': 10}})
    target.writes[:] = []
    target.set_live('kernel.panic', '010')
    result = run(target, {'profile': 'host', 'settings': {'kernel.panic': '10'}})
    assert result['changed'] is False
    assert target.writes == []


def test_null_removes_a_profile_key(target):
    result = run(target, {'profile': 'host', 'settings': {'net.ipv4.conf.all.log_martians': None}})
    assert 'net.ipv4.conf.all.log_martians' not in result['settings']
    assert 'log_martians = 1' in target.file()           # the default.* key stays
    assert 'net.ipv4.conf.all.log_martians' not in target.file()
    assert target.live('net.ipv4.conf.all.log_martians') == '0'


def test_reload_false_writes_only_the_file(target):
    before = target.all_live()
    result = run(target, dict(ROUTER, reload=False))
    assert result['changed'] is True and result['file_changed'] is True
    assert result['live_changed'] == []
    assert target.all_live() == before
    assert target.writes == []


def test_kernel_reset_by_ip_forward_is_written_after_it(target, monkeypatch):
    """Writing net.ipv4.ip_forward makes the kernel set all.accept_redirects to its opposite."""
    target.set_live('net.ipv4.ip_forward', '1')
    target.set_live('net.ipv4.conf.all.accept_redirects', '0')   # already what the profile wants
    real = sysctl_hardening.write_proc

    def kernel(key, value):
        real(key, value)
        if key == 'net.ipv4.ip_forward':
            target.set_live('net.ipv4.conf.all.accept_redirects', '0' if value == '1' else '1')

    monkeypatch.setattr(sysctl_hardening, 'write_proc', kernel)
    predicted = run(target, {'profile': 'host'}, check_mode=True)
    result = run(target, {'profile': 'host'})
    assert target.live('net.ipv4.conf.all.accept_redirects') == '0'
    assert target.live('net.ipv4.ip_forward') == '0'
    assert result['live_changed'] == predicted['live_changed']
    assert 'net.ipv4.conf.all.accept_redirects' not in [c['key'] for c in result['live_changed']]
    assert not result['warnings']
    assert run(target, {'profile': 'host'})['changed'] is False


def test_value_the_kernel_does_not_keep_is_a_warning(target, monkeypatch):
    real = sysctl_hardening.write_proc

    def clamping(key, value):
        real(key, '1' if key == 'net.ipv4.conf.all.rp_filter' else value)

    monkeypatch.setattr(sysctl_hardening, 'write_proc', clamping)
    result = run(target, ROUTER)
    assert any('net.ipv4.conf.all.rp_filter was set to 2 but the kernel reports 1' in w for w in result['warnings'])


def test_existing_file_with_other_mode_is_corrected(target):
    run(target, ROUTER)
    os.chmod(target.path, 0o600)
    predicted = run(target, ROUTER, check_mode=True)
    assert predicted['changed'] is True and predicted['file_changed'] is True
    assert stat.S_IMODE(os.stat(target.path).st_mode) == 0o600
    result = run(target, ROUTER)
    assert result['file_changed'] is True and result['live_changed'] == []
    assert stat.S_IMODE(os.stat(target.path).st_mode) == 0o644


def test_hand_edited_file_is_rewritten(target):
    run(target, ROUTER)
    with open(target.path, 'a') as handle:
        handle.write('kernel.panic = 5\n')
    result = run(target, ROUTER)
    assert result['file_changed'] is True and result['live_changed'] == []
    assert 'kernel.panic' not in target.file()


def test_no_temporary_files_are_left(target):
    run(target, ROUTER)
    run(target, dict(ROUTER, profile='host'))
    assert sorted(os.listdir(target.etc)) == ['90-rampart-firewall.conf']


# ---- check and diff mode ----------------------------------------------------------------------------

def test_check_mode_predicts_exactly_and_changes_nothing(target):
    before = target.state()
    predicted = run(target, ROUTER, check_mode=True, diff=True)
    assert target.state() == before
    assert target.writes == []
    assert predicted['changed'] is True and predicted['file_changed'] is True
    result = run(target, ROUTER, diff=True)
    for key in ('changed', 'file_changed', 'live_changed', 'settings', 'overrides', 'diff'):
        assert predicted[key] == result[key], key
    assert run(target, ROUTER, check_mode=True)['changed'] is False


def test_diff_mode(target):
    result = run(target, ROUTER, check_mode=True, diff=True)
    file_diff, live_diff = result['diff']
    assert file_diff['before_header'] == target.path + ' (absent)'
    assert file_diff['after_header'] == target.path
    assert file_diff['before'] == ''
    assert file_diff['after'] == render(expected_router(), 'router')
    assert live_diff['before_header'] == live_diff['after_header'] == 'live values (/proc/sys)'
    assert 'net.ipv4.ip_forward = 0\n' in live_diff['before']
    assert 'net.ipv4.ip_forward = 1\n' in live_diff['after']
    assert 'tcp_rmem' not in live_diff['after']
    run(target, ROUTER)
    target.set_live('net.ipv4.conf.all.rp_filter', '0')
    result = run(target, ROUTER, diff=True)
    assert result['diff'] == [{'before_header': 'live values (/proc/sys)', 'after_header': 'live values (/proc/sys)',
                               'before': 'net.ipv4.conf.all.rp_filter = 0\n', 'after': 'net.ipv4.conf.all.rp_filter = 2\n'}]
    assert run(target, ROUTER, diff=True)['diff'] == []


def test_diff_of_a_changed_file(target):
    run(target, ROUTER)
    old = target.file()
    result = run(target, {'profile': 'host'}, diff=True, check_mode=True)
    assert result['diff'][0]['before_header'] == target.path
    assert result['diff'][0]['before'] == old
    assert 'net.ipv4.ip_forward = 0' in result['diff'][0]['after']


# ---- bad input changes nothing --------------------------------------------------------------------------

@pytest.mark.parametrize('args,words', [
    ({'profile': 'laptop'}, ['profile', 'laptop']),
    ({'profile': 'host', 'settings': {'net.ipv4.ip_forward': '1\nkernel.panic = 1'}}, ['net.ipv4.ip_forward', 'newline']),
    ({'profile': 'host', 'settings': {'net.ipv4.no_such_key': 1}}, ['net.ipv4.no_such_key', 'Unknown', 'unknown_keys=warn']),
    ({'profile': 'host', 'settings': {'net.ipv4.conf': 1}}, ['net.ipv4.conf', 'directory']),
    ({'profile': 'host', 'settings': {'Net.ipv4.ip_forward': 1}}, ['Net.ipv4.ip_forward', 'not a sysctl key']),
    ({'profile': 'host', 'settings': {'net.ipv4.ip_forward': True}}, ['net.ipv4.ip_forward', '0 or 1']),
    ({'profile': 'host', 'settings': {'net.ipv4.ip_forward': ''}}, ['net.ipv4.ip_forward', 'empty']),
    ({'profile': 'host', 'on_override': 'maybe'}, ['on_override', 'maybe']),
    ({'profile': 'host', 'settings': 'net.ipv4.ip_forward'}, ['settings']),
])
def test_bad_input_fails_and_changes_nothing(target, args, words):
    run(target, ROUTER)
    target.set_live('net.ipv4.conf.all.rp_filter', '0')
    before = target.state()
    result = run(target, args)
    assert result['failed'] is True
    for word in words:
        assert word in result['msg']
    assert not result.get('changed')      # argument spec failures have no changed key
    assert target.state() == before


def test_missing_directory(target):
    os.rmdir(target.run)          # /run/sysctl.d is allowed, but need not exist
    result = run(target, dict(ROUTER, path=os.path.join(target.run, 'x.conf')))
    assert result['failed'] and 'does not exist' in result['msg'] and 'Nothing was changed' in result['msg']
    assert result['changed'] is False


def test_unknown_keys_warn(target):
    args = {'profile': 'router', 'unknown_keys': 'warn', 'settings': {'net.netfilter.nf_conntrack_max': 262144}}
    result = run(target, args)
    assert result['unknown'] == ['net.netfilter.nf_conntrack_max']
    assert '-net.netfilter.nf_conntrack_max = 262144\n' in target.file()
    assert 'net.netfilter.nf_conntrack_max' not in [c['key'] for c in result['live_changed']]
    assert any('net.netfilter.nf_conntrack_max' in w for w in result['warnings'])
    assert run(target, args)['changed'] is False
    # the module gets loaded: the key is written plainly and set live
    target.set_live('net.netfilter.nf_conntrack_max', '65536')
    result = run(target, args)
    assert result['unknown'] == []
    assert '\nnet.netfilter.nf_conntrack_max = 262144\n' in target.file()
    assert target.live('net.netfilter.nf_conntrack_max') == '262144'


def test_unknown_profile_key_fails_naming_it(target):
    os.remove(target.proc_path('net.ipv6.conf.all.forwarding'))    # IPv6 disabled
    result = run(target, {'profile': 'router'})
    assert result['failed'] and 'net.ipv6.conf.all.forwarding' in result['msg']
    assert result['changed'] is False
    assert result['unknown'] == ['net.ipv6.conf.all.forwarding']
    assert target.file() is None and target.writes == []


# ---- /proc/sys not writable ---------------------------------------------------------------------------------

def test_read_only_proc_sys_fails_before_changing_anything(target):
    target.set_mountinfo(MOUNTINFO_RW + '53 76 0:43 /sys %s ro,nosuid,nodev,noexec,relatime - proc proc rw\n' % target.proc)
    target.unwritable.update(DEFAULTS)
    before = target.state()
    for check_mode in (True, False):
        result = run(target, ROUTER, check_mode=check_mode)
        assert result['failed'] is True
        msg = result['msg']
        assert 'net.ipv4.ip_forward' in msg                    # the first key to change
        assert 'read-only' in msg and 'unprivileged container' in msg
        assert 'Nothing was changed' in msg and 'was not written' in msg and target.path in msg
        assert 'reload=false' in msg and 'on_readonly=file_only' in msg
        assert result['key'] == 'net.ipv4.ip_forward'
        assert result['changed'] is False
        # the result tells what was written: nothing (it used to say file_changed: true)
        assert result['file_changed'] is False and result['live_changed'] == []
        assert result['live_skipped'][0]['key'] == 'net.ipv4.ip_forward'
        assert target.state() == before and target.writes == []
    # reload=false only writes the file
    result = run(target, dict(ROUTER, reload=False))
    assert result['changed'] is True and result['live_changed'] == []
    assert target.file() == render(expected_router(), 'router')
    assert target.all_live() == before[1]


def test_read_only_proc_sys_is_fine_when_nothing_needs_changing(target):
    run(target, ROUTER)
    target.unwritable.update(DEFAULTS)
    assert run(target, ROUTER)['changed'] is False


def test_unwritable_key_without_read_only_mount(target, monkeypatch):
    target.unwritable.add('net.ipv4.conf.all.rp_filter')
    monkeypatch.setattr(sysctl_hardening.os, 'geteuid', lambda: 0)
    result = run(target, ROUTER)
    assert result['failed'] and 'net.ipv4.conf.all.rp_filter' in result['msg'] and 'permission denied' in result['msg']
    assert result['changed'] is False
    assert 'namespaces' in result['msg']
    assert target.file() is None
    monkeypatch.setattr(sysctl_hardening.os, 'geteuid', lambda: 1000)
    result = run(target, ROUTER)
    assert 'not root' in result['msg'] and 'become' in result['msg']


@pytest.mark.parametrize('existing', [False, True])
def test_kernel_rejecting_a_value_puts_everything_back(target, monkeypatch, existing):
    if existing:
        run(target, {'profile': 'host'})
    before = target.state()
    real = sysctl_hardening.write_proc

    def kernel(key, value):
        if key == 'net.ipv4.tcp_rmem' and value == 'abc':
            raise OSError(errno.EINVAL, 'Invalid argument')
        real(key, value)

    monkeypatch.setattr(sysctl_hardening, 'write_proc', kernel)
    result = run(target, dict(ROUTER, settings={'net.ipv4.tcp_rmem': 'abc'}))
    assert result['failed'] is True
    msg = result['msg']
    assert 'net.ipv4.tcp_rmem = abc' in msg and 'Invalid argument' in msg
    assert ('restored to its previous content' if existing else 'removed again') in msg
    assert 'put back' in msg and 'net.ipv4.ip_forward' in msg
    assert result['changed'] is False
    assert target.state() == before


def test_failed_rollback_is_said(target, monkeypatch):
    real = sysctl_hardening.write_proc
    calls = []

    def kernel(key, value):
        calls.append(key)
        if key == 'net.ipv4.tcp_rmem' or (key == 'net.ipv4.ip_forward' and value == '0'):
            raise OSError(errno.EINVAL, 'Invalid argument')
        real(key, value)

    monkeypatch.setattr(sysctl_hardening, 'write_proc', kernel)
    result = run(target, dict(ROUTER, settings={'net.ipv4.tcp_rmem': 'abc'}))
    assert result['failed'] and 'FAILED' in result['msg'] and 'half changed' in result['msg']
    assert result['changed'] is True


# ---- overrides -------------------------------------------------------------------------------------------------

def test_later_file_is_reported_and_earlier_ones_are_not(target):
    target.write(target.etc, '10-early.conf', 'net.ipv4.ip_forward = 0\n')
    target.write(target.usr, '99-zzz.conf', 'net.ipv4.ip_forward = 0\n')          # masked by /etc's 99-zzz.conf
    target.write(target.etc, '99-zzz.conf', '# local\nnet.ipv4.conf.all.log_martians = 0\nnet.ipv4.conf.all.rp_filter=2\n')
    target.write(target.run, '95-run.conf', 'net.ipv4.conf.*.rp_filter = 0\n-net.ipv4.conf.default.rp_filter\n')
    result = run(target, ROUTER)
    assert result['overrides'] == [
        {'key': 'net.ipv4.conf.all.log_martians', 'ours': '1', 'theirs': '0', 'file': os.path.join(target.etc, '99-zzz.conf')},
        {'key': 'net.ipv4.conf.default.rp_filter', 'ours': '1', 'theirs': None, 'file': os.path.join(target.run, '95-run.conf')},
    ]
    warning = [w for w in result['warnings'] if 'win at the next boot' in w]
    assert len(warning) == 1 and '99-zzz.conf' in warning[0] and 'net.ipv4.conf.all.log_martians' in warning[0]
    assert result['changed'] is True
    assert target.live('net.ipv4.conf.all.log_martians') == '1'          # ours live


def test_sysctl_conf_and_its_symlink_are_reported_once(target):
    target.write(os.path.dirname(target.conf), 'sysctl.conf', 'net.ipv4.ip_forward=0\n')
    os.symlink('../sysctl.conf', os.path.join(target.etc, '99-sysctl.conf'))
    result = run(target, ROUTER)
    assert result['overrides'] == [{'key': 'net.ipv4.ip_forward', 'ours': '1', 'theirs': '0',
                                    'file': os.path.join(target.etc, '99-sysctl.conf')}]
    os.remove(os.path.join(target.etc, '99-sysctl.conf'))
    result = run(target, ROUTER)
    assert result['overrides'][0]['file'] == target.conf


def test_on_override_fail_changes_nothing(target):
    target.write(target.etc, '99-zzz.conf', 'net.ipv4.conf.all.log_martians = 0\n')
    before = target.state()
    for check_mode in (True, False):
        result = run(target, dict(ROUTER, on_override='fail'), check_mode=check_mode)
        assert result['failed'] is True
        assert 'net.ipv4.conf.all.log_martians' in result['msg'] and '99-zzz.conf' in result['msg']
        assert 'Nothing was changed' in result['msg']
        assert result['overrides'][0]['theirs'] == '0'
        assert result['changed'] is False
        assert target.state() == before


def test_on_override_ignore(target):
    target.write(target.etc, '99-zzz.conf', 'net.ipv4.conf.all.log_martians = 0\n')
    result = run(target, dict(ROUTER, on_override='ignore'))
    assert len(result['overrides']) == 1
    assert not result['warnings']


def test_same_value_later_is_no_override(target):
    target.write(target.etc, '99-zzz.conf', 'net.ipv4.conf.all.rp_filter = 2\nnet.ipv4.tcp_rmem = 4096  131072 6291456\n')
    assert run(target, ROUTER)['overrides'] == []


def test_masked_path_warns_and_all_files_count(target):
    target.write(target.etc, '90-x.conf', 'net.ipv4.ip_forward = 0\n')
    result = run(target, dict(ROUTER, path=os.path.join(target.run, '90-x.conf')))
    assert any('not read at boot' in w and os.path.join(target.etc, '90-x.conf') in w for w in result['warnings'])
    assert [o['key'] for o in result['overrides']] == ['net.ipv4.ip_forward']


# ---- path: only a plain *.conf name in /etc/sysctl.d or /run/sysctl.d (issue 10, finding 11) ---------------------

def _tree(target):
    """Every file below the fake root with its content, to prove that nothing was touched."""
    files = {}
    for directory, _dirs, names in os.walk(target.root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, 'rb') as handle:
                files[path] = handle.read()
    return files


@pytest.mark.parametrize('make_path,words', [
    # the reported hole: normalised to a file outside sysctl.d, which was overwritten
    (lambda t: t.etc + '/../passwd', ['..']),
    (lambda t: t.etc + '/../sysctl.d/90-x.conf', ['..']),
    (lambda t: t.etc + '/sub/../90-x.conf', ['..']),
    # the NUL byte that gave a traceback, and other control characters
    (lambda t: t.etc + '/90-x\x00.conf', ['\\x00']),
    (lambda t: t.etc + '/90-x\n.conf', ['\\n']),
    (lambda t: t.etc + '/90 x.conf', ['blank']),
    # not one of the two directories, or not a plain name in it
    (lambda t: os.path.join(t.root, 'etc', 'passwd'), ['is not a file of']),
    (lambda t: t.usr + '/90-x.conf', ['is not a file of']),
    (lambda t: t.etc + '//90-x.conf', ['is not a file of']),
    (lambda t: t.etc + '/./90-x.conf', ['is not a file of']),
    (lambda t: t.etc + '/sub/90-x.conf', ['is not a file of']),
    (lambda t: t.etc, ['is not a file of']),
    (lambda t: t.etc + '/', ['must end in .conf']),
    (lambda t: 'sysctl.d/90-x.conf', ['is not a file of']),
    (lambda t: t.etc + '/hardening.txt', ['must end in .conf']),
    (lambda t: t.etc + '/.conf', ['must end in .conf']),
    (lambda t: t.etc + '/.90-x.conf', ['must end in .conf']),
    (lambda t: t.etc + '/-90-x.conf', ['must end in .conf']),
    (lambda t: t.etc + '/' + 'x' * 300 + '.conf', ['at most 255']),
])
def test_path_outside_the_sysctl_directories_is_refused_before_anything(target, make_path, words):
    run(target, {'profile': 'host'})
    target.set_live('net.ipv4.conf.all.rp_filter', '0')
    target.write(os.path.join(target.root, 'etc'), 'passwd', 'root:x:0:0:root:/root:/bin/bash\n')
    before = _tree(target)
    target.writes[:] = []
    path = make_path(target)
    for check_mode in (False, True):
        result = run(target, {'profile': 'host', 'path': path}, check_mode=check_mode)
        assert result['failed'] is True, result
        msg = result['msg']
        assert msg.startswith('path "'), msg
        assert 'Nothing was changed' in msg
        for word in words:
            assert word in msg, msg
        assert '\x00' not in msg and '\n' not in msg        # escaped, on one line
        assert result['changed'] is False and result['file_changed'] is False and result['live_changed'] == []
        assert _tree(target) == before
        assert target.writes == []


def test_path_accepts_plain_names_in_both_directories(target):
    for path in (os.path.join(target.etc, '60-my_host.v2@x+y.conf'), os.path.join(target.run, '90-rampart.conf')):
        result = run(target, {'profile': 'host', 'path': path})
        assert not result.get('failed'), result.get('msg')
        assert result['path'] == path
        assert os.path.isfile(path)


def test_path_that_is_a_symlink_is_refused(target):
    real = target.write(os.path.join(target.root, 'etc'), 'sysctl.conf', '# the admin\n')
    link = os.path.join(target.etc, '99-sysctl.conf')
    os.symlink('../sysctl.conf', link)
    result = run(target, {'profile': 'host', 'path': link})
    assert result['failed'] and 'symlink' in result['msg'] and 'Nothing was changed' in result['msg']
    assert os.path.islink(link)
    with open(real) as handle:
        assert handle.read() == '# the admin\n'
    assert result['file_changed'] is False and target.writes == []


def test_path_of_a_fifo_is_refused(target):
    fifo = os.path.join(target.etc, '90-fifo.conf')
    os.mkfifo(fifo)

    def hung(signum, frame):
        raise AssertionError('the module opened the FIFO and hangs')

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        result = run(target, {'profile': 'host', 'path': fifo})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result['failed'] and 'not a regular file' in result['msg']
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_argument_spec_matches_documentation():
    import yaml
    doc = yaml.safe_load(sysctl_hardening.DOCUMENTATION)
    assert doc['options']['path']['default'] == '/etc/sysctl.d/90-rampart-firewall.conf'
    assert doc['options']['profile']['required'] is True
    yaml.safe_load(sysctl_hardening.EXAMPLES)
    yaml.safe_load(sysctl_hardening.RETURN)


def test_read_only_etc_fails_before_changing_anything(target, monkeypatch):
    target.set_mountinfo(MOUNTINFO_RW + '60 1 0:50 / %s ro,relatime - overlay overlay rw\n' % target.root)
    real_access = os.access
    monkeypatch.setattr(sysctl_hardening.os, 'access', lambda path, mode: False if path == target.etc else real_access(path, mode))
    before = target.state()
    result = run(target, ROUTER)
    assert result['failed'] and 'not writable' in result['msg'] and 'read-only file system' in result['msg']
    assert 'Nothing was changed' in result['msg'] and result['changed'] is False
    assert target.state() == before and target.writes == []


# ---- on_readonly: containers whose /proc/sys is read-only (issue 17) ------------------------------------------

MOUNTINFO_RO = MOUNTINFO_RW + '53 76 0:43 /sys {proc} ro,nosuid,nodev,noexec,relatime - proc proc rw\n'


def read_only(target):
    target.set_mountinfo(MOUNTINFO_RO.format(proc=target.proc))
    target.unwritable.update(DEFAULTS)


def test_on_readonly_file_only_writes_the_file_and_warns(target):
    read_only(target)
    live_before = target.all_live()
    args = dict(ROUTER, on_readonly='file_only')
    predicted = run(target, args, check_mode=True, diff=True)
    assert target.file() is None and target.writes == []
    result = run(target, args, diff=True)
    for key in ('changed', 'file_changed', 'live_changed', 'live_skipped', 'diff', 'warnings'):
        assert predicted[key] == result[key], key
    assert not result.get('failed')
    assert result['changed'] is True and result['file_changed'] is True
    assert result['live_changed'] == []
    assert target.file() == render(expected_router(), 'router')
    assert target.all_live() == live_before and target.writes == []
    skipped = dict((c['key'], c) for c in result['live_skipped'])
    assert skipped['net.ipv4.ip_forward']['before'] == '0' and skipped['net.ipv4.ip_forward']['after'] == '1'
    assert 'read-only' in skipped['net.ipv4.ip_forward']['reason']
    assert 'net.ipv4.tcp_rmem' not in skipped                        # equal already
    assert len(result['diff']) == 1                                   # the file only, no live diff
    warning = [w for w in result['warnings'] if 'NOT applied live' in w]
    assert len(warning) == 1
    assert 'net.ipv4.ip_forward (live 0, wanted 1)' in warning[0] and 'on_readonly=file_only' in warning[0]
    assert target.path in warning[0]
    # second run: no change, the same warning
    again = run(target, args)
    assert again['changed'] is False and again['file_changed'] is False and again['live_changed'] == []
    assert again['live_skipped'] == result['live_skipped']
    assert any('NOT applied live' in w for w in again['warnings'])
    assert run(target, args, check_mode=True)['changed'] is False


def test_on_readonly_file_only_sets_the_keys_it_can(target):
    """A key the container does not own is skipped; the others are set (and verified)."""
    target.unwritable.add('net.ipv4.conf.all.rp_filter')
    result = run(target, dict(ROUTER, on_readonly='file_only'))
    assert not result.get('failed')
    assert [c['key'] for c in result['live_skipped']] == ['net.ipv4.conf.all.rp_filter']
    assert 'namespaces' in result['live_skipped'][0]['reason']
    assert 'net.ipv4.ip_forward' in [c['key'] for c in result['live_changed']]
    assert 'net.ipv4.conf.all.rp_filter' not in [c['key'] for c in result['live_changed']]
    assert target.live('net.ipv4.ip_forward') == '1'
    assert target.live('net.ipv4.conf.all.rp_filter') == '0'
    assert ('net.ipv4.conf.all.rp_filter', '2') not in target.writes
    assert not [w for w in result['warnings'] if 'kernel reports' in w]
    again = run(target, dict(ROUTER, on_readonly='file_only'))
    assert again['changed'] is False


def test_on_readonly_skip_changes_nothing(target):
    read_only(target)
    before = target.state()
    for check_mode in (True, False):
        result = run(target, dict(ROUTER, on_readonly='skip'), check_mode=check_mode, diff=True)
        assert not result.get('failed')
        assert result['changed'] is False and result['file_changed'] is False and result['live_changed'] == []
        assert 'net.ipv4.ip_forward' in [c['key'] for c in result['live_skipped']]
        assert not result.get('diff')
        warning = [w for w in result['warnings'] if 'on_readonly=skip' in w]
        assert len(warning) == 1 and 'not written although it differs' in warning[0]
        assert target.state() == before and target.writes == []


def test_on_readonly_has_no_effect_when_nothing_must_change_live(target):
    run(target, ROUTER)
    read_only(target)
    for mode in ('fail', 'file_only', 'skip'):
        result = run(target, dict(ROUTER, on_readonly=mode))
        assert result['changed'] is False and result['live_skipped'] == [] and not result['warnings']


def test_on_readonly_does_not_excuse_a_missing_become(target, monkeypatch):
    target.unwritable.add('net.ipv4.ip_forward')
    monkeypatch.setattr(sysctl_hardening.os, 'geteuid', lambda: 1000)
    for mode in ('file_only', 'skip'):
        result = run(target, dict(ROUTER, on_readonly=mode))
        assert result['failed'] and 'not root' in result['msg'] and 'become' in result['msg']
        assert result['file_changed'] is False and target.file() is None


def test_failure_results_say_what_was_written(target):
    """file_changed and live_changed of a failure describe what was done, not what was planned."""
    target.write(target.etc, '99-zzz.conf', 'net.ipv4.conf.all.log_martians = 0\n')
    result = run(target, dict(ROUTER, on_override='fail'))
    assert result['failed'] and result['file_changed'] is False and result['live_changed'] == []
    assert target.file() is None


# ---- container engine: forwarding left as it is -------------------------------------------------

def start_docker(target, socket=False):
    """What the target shows once dockerd runs: the docker0 bridge, the API socket, forwarding on."""
    os.makedirs(os.path.join(target.net, 'docker0'))
    if socket:
        os.makedirs(os.path.join(target.root, 'run'), exist_ok=True)
        with open(os.path.join(target.root, 'run', 'docker.sock'), 'w'):
            pass
    target.set_live('net.ipv4.ip_forward', '1')
    target.set_live('net.ipv6.conf.all.forwarding', '1')


@pytest.mark.parametrize('socket', [False, True])
def test_host_profile_leaves_forwarding_of_a_running_docker(target, socket):
    start_docker(target, socket)
    if socket:
        os.rmdir(os.path.join(target.net, 'docker0'))   # the socket alone shows it
    result = run(target, {'profile': 'host'})
    assert result['changed'] is True
    assert target.live('net.ipv4.ip_forward') == '1' and target.live('net.ipv6.conf.all.forwarding') == '1'
    assert 'ip_forward' not in target.file() and 'forwarding' not in target.file()
    assert 'net.ipv4.ip_forward' not in result['settings']
    assert result['container_engine'] == {
        'found': ['/run/docker.sock'] if socket else ['docker0'],
        'forwarding_left': ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']}
    assert any('container engine runs here' in w and 'net.ipv4.ip_forward and net.ipv6.conf.all.forwarding left as they are'
               in w for w in result['warnings'])
    assert not any(key in ('net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding') for key, dummy in target.writes)
    again = run(target, {'profile': 'host'})
    assert again['changed'] is False


def test_docker_started_after_a_first_run_gets_its_forwarding_back_into_the_file(target):
    """roles: [docker, single_host] with an earlier run before Docker: the file holds ip_forward = 0; once
    Docker runs, the next run rewrites the file without it and leaves the live 1 alone."""
    first = run(target, {'profile': 'host'})
    assert 'net.ipv4.ip_forward = 0' in target.file() and first['container_engine']['forwarding_left'] == []
    start_docker(target)
    result = run(target, {'profile': 'host'})
    assert result['file_changed'] is True and 'ip_forward' not in target.file()
    assert target.live('net.ipv4.ip_forward') == '1'


def test_container_engine_present_and_absent(target):
    result = run(target, {'profile': 'host', 'container_engine': 'present'})
    assert result['container_engine'] == {'found': [], 'forwarding_left': ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']}
    assert any('container_engine=present' in w for w in result['warnings'])
    start_docker(target)
    result = run(target, {'profile': 'host', 'container_engine': 'absent'})
    assert target.live('net.ipv4.ip_forward') == '0' and 'net.ipv4.ip_forward = 0' in target.file()
    assert result['container_engine'] == {'found': [], 'forwarding_left': []}


def test_explicit_forwarding_settings_win_over_the_engine(target):
    start_docker(target)
    result = run(target, {'profile': 'host', 'settings': {'net.ipv4.ip_forward': 0}})
    assert target.live('net.ipv4.ip_forward') == '0' and 'net.ipv4.ip_forward = 0' in target.file()
    assert target.live('net.ipv6.conf.all.forwarding') == '1'
    assert result['container_engine']['forwarding_left'] == ['net.ipv6.conf.all.forwarding']


def test_router_profile_ignores_the_engine(target):
    start_docker(target)
    result = run(target, {'profile': 'router'})
    assert result['container_engine'] == {'found': [], 'forwarding_left': []}
    assert 'net.ipv4.ip_forward = 1' in target.file() and not result['warnings']


def test_unknown_container_engine_value_is_refused_naming_it(target):
    result = run(target, {'profile': 'host', 'container_engine': 'docker'})
    assert result['failed'] is True and 'container_engine' in result['msg'] and 'docker' in result['msg']
    assert target.file() is None


# ---- the confirm-or-revert window (rollback_timeout, sysctl_window) ------------------------------------------

HOST = {'profile': 'host', 'container_engine': 'absent'}


def raw_live(target):
    """Every fake /proc/sys file of DEFAULTS as its bytes (what the window must restore)."""
    found = {}
    for key in DEFAULTS:
        with open(target.proc_path(key), 'rb') as handle:
            found[key] = handle.read()
    return found


@pytest.fixture
def timers(target, monkeypatch):
    """spawn() records the timers' bodies instead of forking; run_window runs on a fake clock whose sleep calls
    on_sleep (to confirm meanwhile, as the controller would)."""
    bodies = []
    clock = {'now': time.time(), 'on_sleep': None}
    real_run_window = rollback.run_window

    def now():
        return clock['now']

    def sleep(seconds):
        clock['now'] += seconds
        if clock['on_sleep'] is not None:
            clock['on_sleep']()

    monkeypatch.setattr(rollback, 'spawn', lambda body: bodies.append(body) or 4242 + len(bodies))
    monkeypatch.setattr(rollback, 'run_window', lambda *args, **kwargs: real_run_window(*args, sleep=sleep, now=now, **kwargs))
    monkeypatch.setattr(sysctl_transaction, 'WRITE_DIRS', (target.etc, target.run))
    target.bodies = bodies
    target.clock = clock
    return target


def confirm_module(token):
    from ansible_collections.rampart.firewall.plugins.modules import iptables_confirm
    with patch_module_args({'token': token}):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            iptables_confirm.main()
    return info.value.args[0]


def tokens_of(result):
    return result['rollback'].get('tokens') or [result['rollback']['token']]


def test_window_changes_nothing_before_the_timer_and_records_the_kernel_only_window(timers):
    before = raw_live(timers)
    result = run(timers, dict(ROUTER, rollback_timeout=30))
    assert result['changed'] is True and result['file_pending'] is True and result['file_changed'] is True
    assert result['rollback']['families'] == ['ipv4', 'ipv6'] and result['rollback']['timeout'] == 30
    assert [t.split('-')[0] for t in tokens_of(result)] == ['ipv4', 'ipv6']
    assert len(timers.bodies) == 2
    # nothing changed yet: the timers apply, the confirmation writes the file
    assert raw_live(timers) == before and timers.file() is None
    meta4, meta6 = (rollback.meta(timers.state_dir, token) for token in tokens_of(result))
    with open(os.path.join(timers.state_dir, tokens_of(result)[0] + '.rules')) as handle:
        assert handle.read() == ''                       # no rules in a kernel-only window
    assert meta4['tables'] == [] and meta6['tables'] == [] and meta4['wait'] == 10
    assert meta4['sysctl'][0] == ['net.ipv4.ip_forward', '0']          # forwarding first
    assert all(key.startswith('net.ipv6.') for key, _value in meta6['sysctl'])
    assert not any(key.startswith('net.ipv6.') for key, _value in meta4['sysctl'])
    assert meta4['sysctl_file']['path'] == timers.path and 'sysctl_file' not in meta6


def test_window_not_confirmed_restores_the_live_values_and_leaves_the_file(timers):
    timers.write(timers.etc, '90-rampart-firewall.conf', 'net.ipv4.ip_forward = 0\n')
    os.chmod(timers.path, 0o644)
    with open(timers.path, 'rb') as handle:
        file_before = handle.read()
    before = dict((key, timers.live(key)) for key in DEFAULTS)
    result = run(timers, dict(ROUTER, rollback_timeout=30))
    seen = {}

    def look():   # inside each window: its timer has applied the new values
        for token in tokens_of(result):
            if token not in seen and rollback.outcome(timers.state_dir, token) == 'pending' \
                    and rollback.applied(timers.state_dir, token) is not None:
                seen[token] = dict((key, timers.live(key)) for key in DEFAULTS)
    timers.clock['on_sleep'] = look
    states = []
    for body in timers.bodies:   # each timer from the time its window was armed (they run at once on a host)
        timers.clock['now'] = time.time()
        states.append(body())
    assert states == ['reverted', 'reverted']
    ipv4, ipv6 = (seen[token] for token in tokens_of(result))
    assert ipv4['net.ipv4.ip_forward'] == '1' and ipv4['net.ipv4.conf.all.rp_filter'] == '2'
    assert ipv6['net.ipv6.conf.all.forwarding'] == '1' and ipv6['net.ipv6.conf.eth0.accept_ra'] == '2'
    assert ipv6['net.ipv4.ip_forward'] == '0'      # the IPv4 window was reverted at its deadline first
    # every value back (forwarding reset others in a real kernel: all restored), the file untouched
    assert dict((key, timers.live(key)) for key in DEFAULTS) == before
    with open(timers.path, 'rb') as handle:
        assert handle.read() == file_before
    answer = confirm_module(tokens_of(result)[0])
    assert answer['failed'] and answer['outcome'] == 'reverted'
    assert 'net.ipv4.ip_forward' in answer['revert']['sysctl']['restored'] and answer['revert']['rc'] == 0


def test_window_confirmed_keeps_the_values_and_writes_the_file(timers):
    result = run(timers, dict(ROUTER, rollback_timeout=30))
    answers = {}
    for token, body in zip(tokens_of(result), timers.bodies):
        def confirm_now(token=token):
            if token not in answers and rollback.applied(timers.state_dir, token) is not None:
                answers[token] = confirm_module(token)
        timers.clock['on_sleep'] = confirm_now
        assert body() == 'confirmed'
    first, second = (answers[token] for token in tokens_of(result))
    assert first['confirmed'] == 'confirmed' and first['sysctl_file_changed'] is True
    assert second['confirmed'] == 'confirmed' and 'sysctl_file_changed' not in second
    assert timers.file() == render(expected_router(), 'router')
    assert stat.S_IMODE(os.stat(timers.path).st_mode) == 0o644
    assert timers.live('net.ipv4.ip_forward') == '1' and timers.live('net.ipv6.conf.all.forwarding') == '1'
    again = run(timers, dict(ROUTER, rollback_timeout=30))
    assert again['changed'] is False and 'rollback' not in again


def test_a_value_the_kernel_refuses_in_the_timer_reverts_at_once(timers, monkeypatch):
    before = dict((key, timers.live(key)) for key in DEFAULTS)
    result = run(timers, dict(HOST, rollback_timeout=30, settings={'net.ipv4.conf.all.rp_filter': 1}))
    real = sysctl_transaction.write_live

    def refuse(key, value):
        if key == 'net.ipv4.conf.all.rp_filter':
            raise OSError(errno.EINVAL, 'Invalid argument')
        real(key, value)
    monkeypatch.setattr(sysctl_transaction, 'write_live', refuse)
    assert timers.bodies[0]() == 'reverted'
    assert dict((key, timers.live(key)) for key in DEFAULTS) == before and timers.file() is None
    assert rollback.outcome(timers.state_dir, tokens_of(result)[0]) == 'reverted'
    answer = confirm_module(tokens_of(result)[0])
    assert answer['failed'] and 'net.ipv4.conf.all.rp_filter' in answer['revert']['apply_error']
    assert 'Invalid argument' in answer['revert']['apply_error']


def test_a_change_of_the_file_alone_needs_no_window(timers):
    for key, value in PROFILES['host'].items():
        timers.set_live(key, value)
    result = run(timers, dict(HOST, rollback_timeout=30))
    assert result['changed'] is True and 'rollback' not in result and timers.bodies == []
    assert timers.file() == render(PROFILES['host'], 'host')


def test_check_mode_arms_no_window(timers):
    result = run(timers, dict(ROUTER, rollback_timeout=30), check_mode=True)
    assert result['changed'] is True and 'rollback' not in result and timers.bodies == []
    assert not os.path.exists(timers.state_dir) or not os.listdir(timers.state_dir)


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_key_outside_net_is_refused_with_a_window(timers, check_mode):
    before = timers.state()
    result = run(timers, dict(HOST, rollback_timeout=30, settings={'kernel.panic': 10}), check_mode=check_mode)
    assert result['failed'] and result['field'] == 'settings'
    assert 'kernel.panic' in result['msg'] and 'rollback_timeout=0' in result['msg']
    assert timers.state() == before and timers.bodies == []


@pytest.mark.parametrize('args, words', [
    ({'rollback_timeout': 3601}, ['rollback_timeout', '3600', '3601']),
    ({'rollback_timeout': -1}, ['rollback_timeout', '-1']),
    ({'wait': 301}, ['wait', '300', '301']),
    ({'hold_window': True, 'rollback_timeout': 0}, ['hold_window', 'rollback_timeout']),
])
def test_window_options_out_of_bounds_change_nothing(timers, args, words):
    before = timers.state()
    result = run(timers, dict(HOST, **args))
    assert result['failed'] and all(word in result['msg'] for word in words)
    assert timers.state() == before and timers.bodies == []


@pytest.mark.parametrize('timeout', [30, 0])
def test_an_open_ruleset_window_of_the_family_refuses_the_run(timers, timeout):
    """A window of iptables_ruleset (rules, no kernel values) still open: nothing changes, open_window names it."""
    token = rollback.arm(timers.state_dir, 'ipv4', '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', ['/bin/false'], 30,
                         tables=['filter'])
    before = timers.state()
    result = run(timers, dict(HOST, rollback_timeout=timeout))
    assert result['failed'] and token in result['msg'] and result['open_window']['tokens'] == [token]
    assert result['open_window']['families'] == ['ipv4']
    assert timers.state() == before and timers.bodies == []
    # unchanged as well: an open window is never reported ok
    for key, value in PROFILES['host'].items():
        timers.set_live(key, value)
    assert run(timers, dict(HOST, rollback_timeout=timeout))['open_window']['tokens'] == [token]


def test_an_open_sysctl_window_refuses_a_ruleset_apply_of_the_family(timers):
    from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_applier import settle_all
    result = run(timers, dict(HOST, rollback_timeout=30))

    class Runner:
        @staticmethod
        def restore_argv():
            return ['/bin/false']

    class Applier:
        family = 'ipv4'
        runner = Runner()
    with pytest.raises(FirewallError) as info:
        settle_all([Applier()])
    assert info.value.extra['open_window']['tokens'] == [tokens_of(result)[0]]
    # and a second sysctl_hardening run too
    again = run(timers, dict(HOST, rollback_timeout=30))
    assert again['failed'] and again['open_window']['tokens'] == tokens_of(result)


def test_a_stale_window_whose_timer_died_is_reverted_by_the_next_run(timers):
    before = dict((key, timers.live(key)) for key in DEFAULTS)
    first = run(timers, dict(HOST, rollback_timeout=30, settings={'net.ipv4.conf.all.rp_filter': 1}))
    token = tokens_of(first)[0]
    # the timer applied, then died; its deadline passes
    timers.set_live('net.ipv4.conf.all.rp_filter', '1')
    for each in tokens_of(first):
        meta_path = os.path.join(timers.state_dir, each + '.json')
        with open(meta_path) as handle:
            meta = json.load(handle)
        meta['deadline'] = 1.0
        with open(meta_path, 'w') as handle:
            json.dump(meta, handle)
    again = run(timers, dict(HOST, rollback_timeout=0, reload=False))
    assert rollback.outcome(timers.state_dir, token) == 'reverted'
    assert timers.live('net.ipv4.conf.all.rp_filter') == before['net.ipv4.conf.all.rp_filter']
    assert again['changed'] is True and timers.file() is not None


def test_check_mode_warns_about_an_open_window_and_changes_nothing(timers):
    token = rollback.arm(timers.state_dir, 'ipv6', '', None, 30, extra={'sysctl': []})
    before = timers.state()
    result = run(timers, dict(HOST, rollback_timeout=30), check_mode=True)
    assert not result.get('failed') and result['changed'] is True
    assert any(token in warning and 'window is open' in warning for warning in result['warnings'])
    assert timers.state() == before and rollback.outcome(timers.state_dir, token) == 'pending'
