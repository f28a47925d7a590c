# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel-only window of sysctl_hardening (sysctl_window) and what the window protocol does without rules
(iptables_rollback.restore_rules / expire): no iptables-restore runs for a window that has no tables, and a
window of tables that cannot be restored is 'failed', never 'reverted'."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rb
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_profiles as sp
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_transaction as st
from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_window as sw


def never(argv, data):
    raise AssertionError('iptables-restore ran for a kernel-only window: %r' % (argv,))


def test_restore_rules_of_a_kernel_only_window_runs_nothing():
    assert rb.restore_rules({'tables': []}, '', ['iptables-restore'], never) == (0, '', '')
    assert rb.restore_rules({'tables': []}, None, None, never) == (0, '', '')


def test_restore_rules_of_tables_without_rules_or_without_iptables_restore_fails():
    rc, _out, err = rb.restore_rules({'tables': ['filter']}, None, ['iptables-restore'], never)
    assert rc == 1 and 'T.rules' in err
    rc, _out, err = rb.restore_rules({'tables': ['filter']}, '*filter\nCOMMIT\n', None, never)
    assert rc == 1 and 'iptables-restore' in err
    seen = []
    assert rb.restore_rules({'tables': ['filter']}, '*filter\nCOMMIT\n', ['x'], lambda a, d: seen.append((a, d)) or (0, '', '')) \
        == (0, '', '')
    assert seen == [(['x'], '*filter\nCOMMIT\n')]


@pytest.fixture
def proc(tmp_path, monkeypatch):
    root = tmp_path / 'proc_sys'
    root.mkdir()
    monkeypatch.setattr(st, 'PROC_SYS', str(root))
    for key, value in {'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '2'}.items():
        path = os.path.join(str(root), sp.sysctl_path(key))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(value + '\n')
    return root


def live(root, key):
    with open(os.path.join(str(root), sp.sysctl_path(key))) as handle:
        return handle.read().strip()


@pytest.mark.parametrize('rules', [None, ''])
def test_expire_of_a_kernel_only_window_restores_the_values_without_rules(proc, tmp_path, rules):
    state = str(tmp_path / 'state')
    token = rb.arm(state, 'ipv4', '', None, 30, extra={'sysctl': [['net.ipv4.ip_forward', '0'],
                                                                  ['net.ipv4.conf.all.rp_filter', '1']]})
    if rules is None:
        os.unlink(os.path.join(state, token + '.rules'))
    assert rb.expire(state, token, None, run=never) == 'reverted'
    assert live(proc, 'net.ipv4.ip_forward') == '0' and live(proc, 'net.ipv4.conf.all.rp_filter') == '1'
    with open(os.path.join(state, token + '.reverted')) as handle:
        report = json.load(handle)
    assert report['rc'] == 0 and report['tables'] == [] and report['restored'] == ''
    assert report['sysctl']['restored'] == ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter']


def test_a_tampered_kernel_only_record_restores_nothing(proc, tmp_path):
    """kernel.* in T.json (a tampered record): refused as a whole, the revert says it failed."""
    state = str(tmp_path / 'state')
    token = rb.arm(state, 'ipv4', '', None, 30, extra={'sysctl': [['net.ipv4.ip_forward', '0'],
                                                                  ['kernel.core_pattern', '|/tmp/x']]})
    assert rb.expire(state, token, None, run=never) == 'failed'
    assert live(proc, 'net.ipv4.ip_forward') == '1'


def test_window_keys_accept_network_keys_and_name_the_first_other():
    assert sw.window_keys(['net.ipv4.ip_forward', 'net.ipv6.conf.eth0.accept_ra']) == \
        ['net.ipv4.ip_forward', 'net.ipv6.conf.eth0.accept_ra']
    with pytest.raises(sp.SettingsError) as info:
        sw.window_keys(['net.ipv4.ip_forward', 'kernel.panic', 'vm.swappiness'])
    assert 'kernel.panic' in str(info.value) and 'rollback_timeout=0' in str(info.value)
    with pytest.raises(sp.SettingsError):
        sw.window_keys(['net..ipv4'])


def test_families_of_split_as_the_transaction_does():
    assert sw.families_of(['net.ipv4.ip_forward']) == ['ipv4']
    assert sw.families_of(['net.ipv6.conf.all.forwarding']) == ['ipv6']
    assert sw.families_of(['net.core.somaxconn', 'net.ipv6.conf.all.forwarding']) == ['ipv4', 'ipv6']
    assert sw.families_of([]) == []


def test_the_bounds_are_the_ruleset_ones():
    from ansible_collections.rampart.firewall.plugins.module_utils import iptables_ruleset_apply as ra
    assert (ra.MAX_ROLLBACK_TIMEOUT, ra.MAX_WAIT, ra.APPLY_DELAY) == (rb.MAX_ROLLBACK_TIMEOUT, rb.MAX_WAIT, rb.APPLY_DELAY)
