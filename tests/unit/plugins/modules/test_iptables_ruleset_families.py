# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of what issue 13 added to iptables_ruleset: both families in one call (rulesets)
with one revert window, the copies of the rules (copy_dir), the local fact (local_fact) and the
read-only check of the kernel settings (sysctl_check). Same fake kernel as test_iptables_ruleset."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import PersistTarget
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_profiles
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_transaction
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_ruleset_apply as ruleset_apply
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs as outputs

from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base

WEB = base.WEB
confirm = base.confirm
run = base.run
timer_applies = base.timer_applies
# the fixtures of the single-family tests: the fake kernel, the revert window in a temporary directory
kernel = base.kernel
window = base.window

WEB6 = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
'''


@pytest.fixture
def targets(monkeypatch, tmp_path):
    """The distribution's files of both families, in a temporary tree."""
    paths = {'ipv4': str(tmp_path / 'etc' / 'iptables' / 'rules.v4'), 'ipv6': str(tmp_path / 'etc' / 'iptables' / 'rules.v6')}
    monkeypatch.setattr(ruleset_apply, 'persist_target',
                        lambda os_release, family: PersistTarget(paths[family], (), 'iptables-persistent', 0o640))
    monkeypatch.setattr(outputs, 'FACTS_DIR', str(tmp_path / 'facts.d'))
    return paths


def both(**extra):
    args = {'rulesets': {'ipv4': WEB, 'ipv6': WEB6}}
    args.update(extra)
    return args


def text(path):
    with open(path) as handle:
        return handle.read()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ---- both families, synchronous ----------------------------------------------------------

def test_both_families_in_one_call_then_no_change(kernel, targets):
    result = run(both())
    assert result['changed'] is True
    assert set(result['families']) == {'ipv4', 'ipv6'}
    assert parse(kernel.live['ipv4']) == parse(WEB)
    assert parse(kernel.live['ipv6'], family='ipv6') == parse(WEB6, family='ipv6')
    assert [call[0][0] for call in kernel.restore_calls] == [
        '/usr/sbin/iptables-restore', '/usr/sbin/ip6tables-restore', '/usr/sbin/iptables-restore', '/usr/sbin/ip6tables-restore']
    assert '--test' in kernel.restore_calls[0][0] and '--test' in kernel.restore_calls[1][0], 'both tested before any apply'
    for family in ('ipv4', 'ipv6'):
        assert result['families'][family]['persisted'] == targets[family]
        assert result['families'][family]['persist_changed'] is True
    again = run(both())
    assert again['changed'] is False
    assert all(not entry['changed'] for entry in again['families'].values())


def test_only_one_family(kernel, targets):
    result = run({'rulesets': {'ipv6': WEB6}})
    assert list(result['families']) == ['ipv6']
    assert all(os.path.basename(call[0][0]).startswith('ip6') for call in kernel.calls)


def test_an_error_in_one_family_changes_neither(kernel, targets):
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB6.replace('--dport 22', '--dport 70000')}})
    assert result['failed'] is True
    assert 'ipv6' in result['msg'] and result['value'] == '70000'
    assert kernel.restored == [], 'ipv4 was only tested (--test)'
    assert not os.path.exists(targets['ipv4'])


def test_check_and_diff_mode_for_both_families(kernel, targets):
    result = run(both(), check_mode=True, diff=True)
    assert result['changed'] is True
    assert kernel.restored == []
    headers = [entry['after_header'] for entry in result['diff']]
    assert 'ipv4 table filter (desired)' in headers and 'ipv6 table filter (desired)' in headers
    assert '%s (persisted)' % targets['ipv6'] in headers
    assert not os.path.exists(targets['ipv4'])


def test_rulesets_excludes_content_family_and_persist_path(kernel, targets):
    for extra in ({'content': WEB}, {'family': 'ipv6'}, {'persist_path': '/tmp/x'}):
        result = run(both(**extra))
        assert result['failed'] is True and 'mutually exclusive' in result['msg']
    empty = run({'rulesets': {}})
    assert empty['failed'] is True and 'rulesets' in empty['msg']


# ---- copy_dir and local_fact -------------------------------------------------------------

def test_copies_are_written_with_safe_modes_and_kept_in_sync(kernel, targets, tmp_path):
    copies = str(tmp_path / 'conf' / 'rampart')
    result = run(both(copy_dir=copies))
    assert mode(copies) == 0o700
    assert text(os.path.join(copies, 'rules.v4')) == WEB and text(os.path.join(copies, 'rules.v6')) == WEB6
    assert mode(os.path.join(copies, 'rules.v4')) == 0o600
    assert result['families']['ipv4']['copy_changed'] is True
    again = run(both(copy_dir=copies))
    assert again['changed'] is False
    # a copy edited by hand is put back without touching the rules
    with open(os.path.join(copies, 'rules.v6'), 'w') as handle:
        handle.write('edited\n')
    fixed = run(both(copy_dir=copies), diff=True)
    assert fixed['changed'] is True and fixed['families']['ipv6']['copy_changed'] is True
    assert fixed['families']['ipv4']['copy_changed'] is False
    assert text(os.path.join(copies, 'rules.v6')) == WEB6
    assert any(entry['before'] == 'edited\n' for entry in fixed['diff'])


def test_copy_in_check_mode_is_reported_not_written(kernel, targets, tmp_path):
    copies = str(tmp_path / 'copies')
    result = run(both(copy_dir=copies), check_mode=True)
    assert result['families']['ipv4']['copy_changed'] is True
    assert not os.path.exists(copies)


@pytest.mark.parametrize('value,words', [
    ('relative/dir', 'absolute'),
    ('/etc/../tmp', 'normalised'),
    ('/', 'below /'),
    ('/tmp/x\ny', 'control characters'),
])
def test_bad_copy_dir_touches_nothing(kernel, targets, value, words):
    result = run(both(copy_dir=value))
    assert result['failed'] is True
    assert result['msg'].startswith('copy_dir') and words in result['msg']
    assert kernel.calls == []


def test_copy_dir_symlink_or_file_is_refused(kernel, targets, tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    link = tmp_path / 'link'
    link.symlink_to(real)
    result = run(both(copy_dir=str(link)))
    assert result['failed'] is True and 'symlink' in result['msg']
    afile = tmp_path / 'afile'
    afile.write_text('x')
    result = run(both(copy_dir=str(afile)))
    assert result['failed'] is True and 'directory' in result['msg']
    assert kernel.restored == []


def test_local_fact_written_once(kernel, targets, tmp_path):
    fact = {'name': 'rampart_firewall', 'content': {'packages': ['iptables', 'iptables-persistent']}}
    result = run(both(local_fact=fact))
    path = str(tmp_path / 'facts.d' / 'rampart_firewall.fact')
    assert result['local_fact'] == path and result['local_fact_changed'] is True
    assert json.loads(text(path)) == fact['content']
    assert mode(path) == 0o644 and mode(os.path.dirname(path)) == 0o755
    again = run(both(local_fact=fact))
    assert again['changed'] is False and again['local_fact_changed'] is False


def test_local_fact_check_mode_and_bad_name(kernel, targets, tmp_path):
    fact = {'name': 'rampart_firewall', 'content': {'packages': []}}
    result = run(both(local_fact=fact), check_mode=True)
    assert result['local_fact_changed'] is True
    assert not os.path.exists(str(tmp_path / 'facts.d'))
    bad = run(both(local_fact={'name': '../evil', 'content': {}}))
    assert bad['failed'] is True and bad['field'] == 'local_fact.name' and '../evil' in bad['msg']
    assert kernel.restored == []


def test_single_family_options_take_copy_dir_and_local_fact(kernel, targets, tmp_path):
    copies = str(tmp_path / 'single')
    result = run({'content': WEB, 'copy_dir': copies, 'local_fact': {'name': 'x', 'content': {'a': 1}}})
    assert result['copy'] == os.path.join(copies, 'rules.v4') and result['copy_changed'] is True
    assert text(result['copy']) == WEB
    assert result['local_fact_changed'] is True


# ---- one window for both families --------------------------------------------------------

def test_one_window_for_both_families_confirmed_at_once(kernel, targets, window, monkeypatch, tmp_path):
    state, bodies = window
    copies = str(tmp_path / 'copies')
    result = run(both(rollback_timeout=30, copy_dir=copies))
    assert result['changed'] is True
    tokens = result['rollback']['tokens']
    assert [token.split('-')[0] for token in tokens] == ['ipv4', 'ipv6'] == result['rollback']['families']
    assert len(bodies) == 2 and kernel.restored == [], 'the timers apply after the answer'
    assert not os.path.exists(targets['ipv4']) and not os.path.exists(copies)
    assert result['families']['ipv4']['persist_pending'] is True
    timer_applies(bodies, monkeypatch)
    timer_applies(bodies, monkeypatch)
    looked = confirm({'tokens': tokens, 'confirm': False})
    assert looked['outcome'] == 'applied'
    assert not os.path.exists(targets['ipv4']), 'confirm=false only looks'
    done = confirm({'tokens': tokens})
    assert done['confirmed'] == 'confirmed'
    assert [window['family'] for window in done['windows']] == ['ipv4', 'ipv6']
    assert all(window['persist_changed'] and window['copy_changed'] for window in done['windows'])
    assert parse(text(targets['ipv6']), family='ipv6') == parse(WEB6, family='ipv6')
    assert text(os.path.join(copies, 'rules.v6')) == WEB6 and mode(copies) == 0o700
    assert rollback.pending(state) == []


def test_one_family_fails_to_apply_the_other_is_not_confirmed(kernel, targets, window, monkeypatch):
    state, bodies = window
    result = run(both(rollback_timeout=30))
    tokens = result['rollback']['tokens']
    timer_applies(bodies, monkeypatch)            # ipv4 applied
    kernel.restore_result = (2, '', 'ip6tables-restore: line 3 failed\n')
    timer_applies(bodies, monkeypatch)            # ipv6 fails: nothing changed there
    looked = confirm({'tokens': tokens, 'confirm': False})
    assert looked['failed'] is True
    assert looked['outcome'] == 'apply-failed'
    assert 'ipv6' in looked['msg'] and 'Not confirming ipv4' in looked['msg']
    assert rollback.outcome(state, tokens[0]) == 'pending', 'ipv4 is left to its timer'
    kernel.restore_result = None
    assert rollback.expire(state, tokens[0], ['/usr/sbin/iptables-restore']) == 'reverted'
    assert not os.path.exists(targets['ipv4'])


def test_tokens_are_validated(kernel):
    bad = confirm({'tokens': ['ipv4-1-deadbeef', '../../etc/passwd']})
    assert bad['failed'] is True and 'tokens[1]' in bad['msg']
    twice = confirm({'tokens': ['ipv4-1-deadbeef', 'ipv4-2-deadbeef']})
    assert twice['failed'] is True and 'one window per family' in twice['msg']


def test_busy_family_refuses_before_anything_changes(kernel, targets, window, monkeypatch):
    run({'rulesets': {'ipv6': WEB6}, 'rollback_timeout': 30})
    second = run(both(rollback_timeout=30, lockout_check=False))
    assert second['failed'] is True and 'still waiting' in second['msg']
    assert len(rollback.pending(window[0])) == 1, 'no window armed for ipv4'


def test_check_mode_with_rollback_arms_nothing(kernel, targets, window):
    result = run(both(rollback_timeout=30), check_mode=True)
    assert result['changed'] is True and 'rollback' not in result
    assert window[1] == []


# ---- sysctl_check ------------------------------------------------------------------------

@pytest.fixture
def proc(monkeypatch, tmp_path):
    root = tmp_path / 'proc-sys'
    settings = sysctl_profiles.merge_settings('host', {})
    for key, value in settings.items():
        path = root / sysctl_profiles.sysctl_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + '\n')
    monkeypatch.setattr(outputs, 'PROC_SYS', str(root))
    # no container engine on the fake target (the machine running the tests may have podman bridges)
    net = tmp_path / 'sys-class-net'
    net.mkdir()
    monkeypatch.setattr(sysctl_transaction, 'NET_DIR', str(net))
    monkeypatch.setattr(sysctl_transaction, 'SOCKET_ROOT', str(tmp_path))
    conf = tmp_path / 'sysctl.d'
    conf.mkdir()
    return root, settings


def test_sysctl_in_place_and_not(proc, monkeypatch, tmp_path):
    root, settings = proc
    path = '/etc/sysctl.d/90-rampart-firewall.conf'
    real = tmp_path / 'conf'
    monkeypatch.setattr(outputs.os, 'lstat', lambda p, _l=os.lstat: _l(str(real) if p == path else p))
    real_open = open

    def fake_open(p, *args, **kwargs):
        return real_open(str(real) if p == path else p, *args, **kwargs)
    monkeypatch.setattr('builtins.open', fake_open)
    real.write_text(sysctl_profiles.render(settings, 'host'))
    os.chmod(str(real), 0o644)
    assert outputs.sysctl_state({'profile': 'host', 'path': path}) == (True, [])
    # a live value differs
    (root / 'net' / 'ipv4' / 'tcp_syncookies').write_text('0\n')
    ok, why = outputs.sysctl_state({'profile': 'host', 'path': path})
    assert ok is False and why == ['net.ipv4.tcp_syncookies is 0 live, not 1']
    (root / 'net' / 'ipv4' / 'tcp_syncookies').write_text('1\n')
    # the settings change the file
    ok, why = outputs.sysctl_state({'profile': 'host', 'path': path, 'settings': {'net.ipv4.ip_forward': None}})
    assert ok is False and why == ['%s differs' % path]
    os.chmod(str(real), 0o600)
    ok, why = outputs.sysctl_state({'profile': 'host', 'path': path})
    assert ok is False and 'mode 0600' in why[0]


def test_sysctl_unknown_key_or_bad_input_is_not_in_place(proc):
    ok, why = outputs.sysctl_state({'profile': 'host', 'settings': {'net.ipv4.nope': 1}})
    assert ok is False and 'cannot be read' in why[0]
    ok, why = outputs.sysctl_state({'profile': 'host', 'settings': {'bad key': 1}})
    assert ok is False and why[0].startswith('settings:')
    ok, why = outputs.sysctl_state({'profile': 'host', 'path': '/etc/../x.conf'})
    assert ok is False and why[0].startswith('path:')


def test_sysctl_check_is_returned_and_read_only(kernel, targets, proc):
    result = run(both(sysctl_check={'profile': 'host'}), check_mode=True)
    assert result['sysctl_in_place'] is False   # the file is missing here
    assert any('missing' in reason or 'differs' in reason for reason in result['sysctl_differ'])


def test_backup_failure_withdraws_the_armed_windows(kernel, targets, window, monkeypatch, tmp_path):
    state, bodies = window
    blocker = tmp_path / 'not-a-dir'
    blocker.write_text('')
    monkeypatch.setattr(ruleset_apply, 'BACKUP_DIR', str(blocker / 'backups'))
    result = run(both(rollback_timeout=30, backup=True))
    assert result['failed'] is True and 'backup' in result['msg']
    assert bodies == [] and kernel.restored == []
    assert rollback.pending(state) == [], 'no window is left armed without its timer'


def test_one_systemctl_call_for_the_boot_service_of_both_families(kernel, tmp_path, monkeypatch):
    """Debian restores both families with netfilter-persistent: one call asks systemctl once, enables once,
    and lists the service under the first family."""
    paths = {'ipv4': str(tmp_path / 'rules.v4'), 'ipv6': str(tmp_path / 'rules.v6')}
    monkeypatch.setattr(ruleset_apply, 'persist_target', lambda os_release, family: PersistTarget(
        paths[family], ('netfilter-persistent',), 'iptables-persistent', 0o640))
    kernel.systemctl = '/usr/bin/systemctl'

    def systemctl_calls():
        return [call[0][1:] for call in kernel.calls if call[0][0].endswith('systemctl')]

    result = run(both())
    assert systemctl_calls() == [['is-enabled', 'netfilter-persistent'], ['enable', 'netfilter-persistent']]
    assert result['families']['ipv4']['services_enabled'] == ['netfilter-persistent']
    assert result['families']['ipv6']['services_enabled'] == []
    kernel.calls[:] = []
    kernel.unit_state['netfilter-persistent'] = (0, 'enabled\n', '')
    again = run(both())
    assert again['changed'] is False
    assert systemctl_calls() == [['is-enabled', 'netfilter-persistent']]


def test_both_families_keep_the_sets_boot_service_beside_the_rules_one(kernel, tmp_path, monkeypatch):
    """The boot service the persisted sets enabled (RHEL: ipset) stays in the family's services_enabled when the
    call then enables the rules' service of both families at once (it used to replace the list)."""
    paths = {'ipv4': str(tmp_path / 'rules.v4'), 'ipv6': str(tmp_path / 'rules.v6')}
    monkeypatch.setattr(ruleset_apply, 'persist_target', lambda os_release, family: PersistTarget(
        paths[family], ('iptables',), 'iptables-services', 0o600))
    kernel.systemctl = '/usr/bin/systemctl'

    def persist_sets(self):
        if self.family == 'ipv4':
            self.result['services_enabled'] = ['ipset']
    monkeypatch.setattr(ruleset_apply.RulesetApply, 'persist_sets', persist_sets)
    result = run(both())
    assert result['families']['ipv4']['services_enabled'] == ['ipset', 'iptables']
    assert result['families']['ipv6']['services_enabled'] == []


def test_every_window_reverted_is_not_reported_as_partly(kernel, targets, window, monkeypatch):
    """When no window was confirmed (both timers reverted), confirmed says so, not "partly"."""
    state, bodies = window
    result = run(both(rollback_timeout=30))
    tokens = result['rollback']['tokens']
    timer_applies(bodies, monkeypatch)
    timer_applies(bodies, monkeypatch)
    for token, argv in zip(tokens, (['/usr/sbin/iptables-restore'], ['/usr/sbin/ip6tables-restore'])):
        assert rollback.expire(state, token, argv) == 'reverted'
    done = confirm({'tokens': tokens})
    assert done['failed'] is True
    assert done['confirmed'] == 'reverted' and done['outcome'] == 'reverted'
    assert not os.path.exists(targets['ipv4']) and not os.path.exists(targets['ipv6'])


def test_sysctl_check_agrees_with_sysctl_hardening_on_a_container_host(proc, monkeypatch, tmp_path):
    """Docker runs (docker0 seen, forwarding on): the file sysctl_hardening writes has no forwarding keys,
    and the check finds it in place, so the role does not run the sysctl task again on every run."""
    root, dummy = proc
    (tmp_path / 'sys-class-net' / 'docker0').mkdir()
    (root / 'net' / 'ipv4' / 'ip_forward').write_text('1\n')
    (root / 'net' / 'ipv6' / 'conf' / 'all' / 'forwarding').write_text('1\n')
    path = '/etc/sysctl.d/90-rampart-firewall.conf'
    real = tmp_path / 'conf'
    monkeypatch.setattr(outputs.os, 'lstat', lambda p, _l=os.lstat: _l(str(real) if p == path else p))
    real_open = open

    def fake_open(p, *args, **kwargs):
        return real_open(str(real) if p == path else p, *args, **kwargs)
    monkeypatch.setattr('builtins.open', fake_open)
    without = sysctl_profiles.merge_settings('host', {'net.ipv4.ip_forward': None, 'net.ipv6.conf.all.forwarding': None})
    real.write_text(sysctl_profiles.render(without, 'host'))
    os.chmod(str(real), 0o644)
    assert outputs.sysctl_state({'profile': 'host', 'path': path}) == (True, [])
    assert outputs.sysctl_state({'profile': 'host', 'path': path, 'container_engine': 'auto'}) == (True, [])
    ok, why = outputs.sysctl_state({'profile': 'host', 'path': path, 'container_engine': 'absent'})
    assert ok is False and 'net.ipv4.ip_forward is 1 live, not 0' in why
    (tmp_path / 'sys-class-net' / 'docker0').rmdir()
    ok, why = outputs.sysctl_state({'profile': 'host', 'path': path})
    assert ok is False, 'Docker gone: the host profile wants forwarding off again'
    assert outputs.sysctl_state({'profile': 'host', 'path': path, 'container_engine': 'present'}) == (True, [])
