# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel settings in iptables_ruleset's transaction (option sysctl): the plan, the split between the
windows, the records a window keeps (hostile ones refused), the timer's restore (forwarding first, before
the rules), and the sysctl.d file written after the confirmation from a validated record.

/proc/sys is a temporary directory (sysctl_transaction.PROC_SYS pointed there)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rb
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_profiles as sp
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_transaction as st
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError

PREVIOUS = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
RESTORE = ['iptables-restore', '-w', '10']


def set_proc(root, values):
    for key, value in values.items():
        path = os.path.join(str(root), sp.sysctl_path(key))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write('%s\n' % value)


def get_proc(root, key):
    with open(os.path.join(str(root), sp.sysctl_path(key))) as handle:
        return handle.read().strip()


@pytest.fixture
def proc(tmp_path, monkeypatch):
    root = tmp_path / 'proc_sys'
    root.mkdir()
    monkeypatch.setattr(st, 'PROC_SYS', str(root))
    monkeypatch.setattr(st, 'NET_DIR', str(tmp_path / 'no-net'))
    return root


# ---- pure parts -------------------------------------------------------------------------------------

def test_plan_changes_only_differing_keys_forwarding_first():
    settings = {'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.ip_forward': '1', 'net.ipv4.tcp_syncookies': '1'}
    live = {'net.ipv4.conf.all.rp_filter': '2', 'net.ipv4.ip_forward': '0', 'net.ipv4.tcp_syncookies': '01'}
    changes = sp.plan_changes(settings, live)
    assert [c['key'] for c in changes] == ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter']
    assert changes[0] == {'key': 'net.ipv4.ip_forward', 'before': '0', 'after': '1'}


def test_share_keys_by_family_and_to_the_first_family_when_alone():
    keys = ['net.ipv6.conf.all.forwarding', 'net.ipv4.ip_forward', 'net.core.somaxconn']
    assert sp.share_keys(keys, ['ipv4', 'ipv6']) == {
        'ipv4': ['net.ipv4.ip_forward', 'net.core.somaxconn'], 'ipv6': ['net.ipv6.conf.all.forwarding']}
    assert sp.share_keys(keys, ['ipv6']) == {
        'ipv6': ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding', 'net.core.somaxconn']}


def test_restore_record_round_trip_forwarding_first():
    changes = [{'key': 'net.ipv4.conf.all.rp_filter', 'before': '0', 'after': '1'},
               {'key': 'net.ipv4.ip_forward', 'before': '0', 'after': '1'}]
    record = json.loads(json.dumps(sp.restore_record(changes)))
    assert record == [['net.ipv4.ip_forward', '0'], ['net.ipv4.conf.all.rp_filter', '0']]
    assert sp.check_restore_record(record) == [('net.ipv4.ip_forward', '0'), ('net.ipv4.conf.all.rp_filter', '0')]


@pytest.mark.parametrize('record', [
    {'net.ipv4.ip_forward': '0'},                                # not a list
    [['net.ipv4.ip_forward']],                                   # not a pair
    [['../../etc/shadow', '0']],                                 # a path
    [['net/ipv4/ip_forward', '0']],                              # a slash path
    [['net.ipv4..ip_forward', '0']],                             # ".."
    [['kernel.core_pattern', '|/tmp/x']],                        # not a network key
    [['net.ipv4.ip_forward', '1\nnet.ipv4.conf.all.rp_filter=0']],  # two lines
    [['net.ipv4.ip_forward', True]],                             # not a value
    [['net.ipv4.ip_forward', '0'], ['net.ipv4.ip_forward', '1']],   # twice
    [['net.ipv4.ip_forward', '0']] * (sp.RECORD_MAX_KEYS + 1),
])
def test_hostile_restore_record_refused(record):
    with pytest.raises(sp.SettingsError):
        sp.check_restore_record(record)


def test_transaction_key_refuses_other_namespaces_naming_the_key():
    with pytest.raises(sp.SettingsError, match='kernel.panic'):
        sp.transaction_key('kernel.panic')
    assert sp.transaction_key('net.ipv4.conf.eth0.rp_filter') == 'net.ipv4.conf.eth0.rp_filter'


def test_file_record_is_rendered_not_copied():
    record = sp.file_record('/etc/sysctl.d/90-rampart-firewall.conf', 'router', {'net.ipv4.ip_forward': '1'})
    path, content = sp.check_file_record(json.loads(json.dumps(record)))
    assert path == '/etc/sysctl.d/90-rampart-firewall.conf'
    assert content == sp.render({'net.ipv4.ip_forward': '1'}, 'router')
    for bad in (dict(record, path='/etc/cron.d/evil'), dict(record, path='/etc/sysctl.d/../x.conf'),
                dict(record, profile='evil'), dict(record, settings={'net.ipv4.ip_forward': '1\n* * * * * root x'}),
                dict(record, settings={'kernel.core_pattern': '|/bin/sh'}), dict(record, settings=[]), []):
        with pytest.raises(sp.SettingsError):
            sp.check_file_record(bad)


# ---- the live part -----------------------------------------------------------------------------------

def test_restore_live_writes_forwarding_first_and_refuses_hostile_record(proc):
    set_proc(proc, {'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.accept_redirects': '1'})
    assert st.restore_live([['net.ipv4.ip_forward', '0'], ['net.ipv4.conf.all.accept_redirects', '0']]) == []
    assert get_proc(proc, 'net.ipv4.ip_forward') == '0'
    assert get_proc(proc, 'net.ipv4.conf.all.accept_redirects') == '0'
    (proc / 'escape').write_text('keep\n')
    problems = st.restore_live([['net.ipv4.ip_forward', '1'], ['../escape', 'x']])
    assert problems and 'not restored' in problems[0]
    assert get_proc(proc, 'net.ipv4.ip_forward') == '0'      # nothing of a bad record is written
    assert (proc / 'escape').read_text() == 'keep\n'


def test_restore_live_does_not_follow_a_symlink(proc, tmp_path):
    target = tmp_path / 'target'
    target.write_text('0\n')
    os.makedirs(str(proc / 'net' / 'ipv4'))
    os.symlink(str(target), str(proc / 'net' / 'ipv4' / 'ip_forward'))
    problems = st.restore_live([['net.ipv4.ip_forward', '1']])
    assert problems
    assert target.read_text() == '0\n'


def test_expire_restores_kernel_before_rules(proc, tmp_path):
    state = str(tmp_path / 'state')
    set_proc(proc, {'net.ipv4.ip_forward': '1'})
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, tables=['filter'], now=1000,
                   extra={'sysctl': [['net.ipv4.ip_forward', '0']]})
    seen = []

    def run(argv, data):
        seen.append(get_proc(proc, 'net.ipv4.ip_forward'))
        return 0, '', ''
    assert rb.expire(state, token, RESTORE, run=run) == 'reverted'
    assert seen == ['0']                    # forwarding was off when the rules were restored
    with open(os.path.join(state, token + '.reverted')) as handle:
        assert json.load(handle)['sysctl'] == {'restored': ['net.ipv4.ip_forward'], 'problems': []}


def test_expire_reports_failed_when_kernel_cannot_be_restored(proc, tmp_path):
    state = str(tmp_path / 'state')
    token = rb.arm(state, 'ipv4', PREVIOUS, RESTORE, 30, now=1000, extra={'sysctl': [['net.ipv4.ip_forward', '0']]})
    assert rb.expire(state, token, RESTORE, run=lambda argv, data: (0, '', '')) == 'failed'


class FakeModule:
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def atomic_move(self, src, dest, **kwargs):
        os.rename(src, dest)


def router_live(proc):
    values = dict(sp.ROUTER)
    values.update({'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.forwarding': '0', 'net.ipv4.conf.all.rp_filter': '2'})
    set_proc(proc, values)


def test_plan_shares_and_records(proc, tmp_path, monkeypatch):
    router_live(proc)
    monkeypatch.setattr(sp, 'WRITE_DIRS', sp.WRITE_DIRS)
    ks = st.KernelSettings(FakeModule(diff=True), {'profile': 'router', 'path': '/run/sysctl.d/90-test.conf'},
                           ['ipv4', 'ipv6'])
    monkeypatch.setattr(st, 'read_file', lambda path: (None, None))
    monkeypatch.setattr(st.os.path, 'isdir', lambda path: True)
    import ansible_collections.rampart.firewall.plugins.module_utils.iptables_host as host
    monkeypatch.setattr(host, 'check_file_path', lambda option, path: None)
    ks.read_plan()
    assert [c['key'] for c in ks.share('ipv4')] == ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter']
    assert [c['key'] for c in ks.share('ipv6')] == ['net.ipv6.conf.all.forwarding']
    ipv4 = ks.window_record('ipv4')
    assert ipv4['sysctl_file'] == sp.file_record('/run/sysctl.d/90-test.conf', 'router', sp.ROUTER)
    # every settable key of the share, changed or not (a forwarding write resets others), forwarding first
    assert ipv4['sysctl'][0] == ['net.ipv4.ip_forward', '0']
    assert ['net.ipv4.conf.all.rp_filter', '2'] in ipv4['sysctl'] and ['net.ipv4.conf.all.accept_redirects', '0'] in ipv4['sysctl']
    assert not [key for key, value in ipv4['sysctl'] if key.startswith('net.ipv6.')]
    ipv6 = ks.window_record('ipv6')
    assert ipv6['sysctl'][0] == ['net.ipv6.conf.all.forwarding', '0'] and 'sysctl_file' not in ipv6
    ks.apply_share('ipv4')                                  # the timer, after the ipv4 rules
    assert get_proc(proc, 'net.ipv4.ip_forward') == '1'
    assert get_proc(proc, 'net.ipv6.conf.all.forwarding') == '0'    # the ipv6 window's part, not yet
    result, diffs = {'changed': False}, []
    ks.report(result, diffs)
    assert result['changed'] and result['sysctl']['pending'] and result['sysctl']['file_changed']
    assert len(diffs) == 2


def test_unknown_and_foreign_keys_refused_before_anything(proc, tmp_path):
    router_live(proc)
    ks = st.KernelSettings(FakeModule(), {'profile': 'router', 'settings': {'net.ipv4.nope': 1}}, ['ipv4'])
    with pytest.raises(FirewallError, match='net.ipv4.nope'):
        ks.read_plan()
    ks = st.KernelSettings(FakeModule(), {'profile': 'router', 'settings': {'kernel.panic': 1}}, ['ipv4'])
    with pytest.raises(FirewallError, match='kernel.panic'):
        ks.read_plan()
    ks = st.KernelSettings(FakeModule(), {'profile': 'router', 'path': '/etc/cron.d/x'}, ['ipv4'])
    with pytest.raises(FirewallError, match='cron'):
        ks.read_plan()
    assert get_proc(proc, 'net.ipv4.ip_forward') == '0'


def test_write_file_record_checks_and_renders(tmp_path, monkeypatch):
    written = {}
    monkeypatch.setattr(st, 'read_file', lambda path: (None, None))
    monkeypatch.setattr(st, 'write_file', lambda module, path, content: written.update({path: content}))
    record = sp.file_record('/etc/sysctl.d/90-rampart-firewall.conf', 'router', {'net.ipv4.ip_forward': '1'})
    assert st.write_file_record(FakeModule(), record) is True
    assert written == {'/etc/sysctl.d/90-rampart-firewall.conf': sp.render({'net.ipv4.ip_forward': '1'}, 'router')}
    with pytest.raises(FirewallError, match='not writing'):
        st.write_file_record(FakeModule(), dict(record, path='/etc/profile.d/x.conf'))
    monkeypatch.setattr(st, 'read_file', lambda path: (sp.render({'net.ipv4.ip_forward': '1'}, 'router'), 0o644))
    assert st.write_file_record(FakeModule(), record) is False


def test_a_forwarding_write_that_resets_another_key_is_followed_by_that_key(proc, monkeypatch):
    """The kernel sets net.ipv4.conf.all.accept_redirects to the opposite of a new net.ipv4.ip_forward: the apply
    writes accept_redirects again although it was not a planned change (it was in place before)."""
    values = dict(sp.HOST, **{'net.ipv4.ip_forward': '1'})
    set_proc(proc, values)
    real_write = st.write_live

    def kernel_write(key, value):
        real_write(key, value)
        if key == 'net.ipv4.ip_forward':
            real_write('net.ipv4.conf.all.accept_redirects', '0' if value.strip() == '1' else '1')
    monkeypatch.setattr(st, 'write_live', kernel_write)
    ks = st.KernelSettings(FakeModule(), {'profile': 'host', 'path': '/run/sysctl.d/90-test.conf'}, ['ipv4'])
    monkeypatch.setattr(st, 'read_file', lambda path: (None, None))
    monkeypatch.setattr(st.os.path, 'isdir', lambda path: True)
    import ansible_collections.rampart.firewall.plugins.module_utils.iptables_host as host
    monkeypatch.setattr(host, 'check_file_path', lambda option, path: None)
    ks.read_plan()
    assert [c['key'] for c in ks.changes] == ['net.ipv4.ip_forward']
    record = ks.window_record('ipv4')['sysctl']
    ks.apply_share('ipv4')
    assert get_proc(proc, 'net.ipv4.ip_forward') == '0'
    assert get_proc(proc, 'net.ipv4.conf.all.accept_redirects') == '0'
    # the revert: forwarding back on (the kernel resets accept_redirects), then accept_redirects as it was
    assert st.restore_live(record) == []
    assert get_proc(proc, 'net.ipv4.ip_forward') == '1' and get_proc(proc, 'net.ipv4.conf.all.accept_redirects') == '0'


def test_the_one_key_reader_and_writer_follow_no_symlink_and_read_only_regular_files(tmp_path):
    # sysctl_hardening reads and writes live values through these too: a symlink planted where a key is
    # expected is neither read nor written through, and a directory of keys is not a key
    secret = tmp_path / 'secret'
    secret.write_text('root only\n')
    link = tmp_path / 'ip_forward'
    link.symlink_to(secret)
    with pytest.raises(OSError):
        st.read_key_file(str(link))
    with pytest.raises(OSError):
        st.write_key_file(str(link), '1')
    assert secret.read_text() == 'root only\n'
    with pytest.raises(OSError):
        st.read_key_file(str(tmp_path))
    key = tmp_path / 'rp_filter'
    key.write_text('1\n')
    assert st.read_key_file(str(key)) == '1'
    assert st.read_key_file(str(tmp_path / 'absent')) is None
