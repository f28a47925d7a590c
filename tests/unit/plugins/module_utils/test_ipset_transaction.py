# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The set transaction's pure parts and the revert of its record: plan_change's methods, the
managed specs of a family, check_declared of managed sets, and the window's revert of sets
(iptables_rollback.expire runs the record after the rules, every payload whatever the others did)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as m
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError, PlanError, SpecError
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_host import merge_blocks, plan_change
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_transaction import lists_of, managed_specs
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_engine, iptables_planner, iptables_options


def live(text):
    return m.parse_save(text)


SAVED = 'create a hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x25fc214c\nadd a 10.0.0.0/8\n'


def test_plan_change_methods_all_build_in_a_temporary_set():
    spec = m.SetSpec()
    keys = m.parse_members(['10.0.0.0/8'], spec)
    current = live(SAVED)['a']
    assert plan_change('a', spec, keys, current, ['a']).method == 'none'
    create = plan_change('a', spec, keys, None, [])
    assert create.method == 'create' and create.payload.endswith('rename %s a\n' % create.tmp)
    swap = plan_change('a', spec, m.parse_members(['10.0.0.0/9'], spec), current, ['a'])
    assert swap.method == 'swap' and swap.payload.startswith('create %s ' % swap.tmp)
    rebuild = plan_change('a', m.SetSpec('hash:ip'), set(), current, ['a'])
    assert rebuild.method == 'rebuild' and rebuild.payload.endswith('destroy a\nrename %s a\n' % rebuild.tmp)
    with pytest.raises(FirewallError, match='refusing to change the set a from hash:net/inet to hash:ip/inet'):
        plan_change('a', m.SetSpec('hash:ip'), set(), current, ['a'], in_use='1 kernel reference(s)')


def test_temporary_name_avoids_every_live_name():
    taken = [m.temp_name('a')]
    change = plan_change('a', m.SetSpec(), set(), None, taken)
    assert change.tmp not in taken and change.tmp.startswith(m.TEMP_PREFIX)


def test_managed_specs_per_family_and_lists_for_the_check():
    declared = {'admins': {'members': ['192.0.2.1']}, 'admins6': {'members': ['2001:db8::1'], 'family': 'inet6'},
                'abuse': ['203.0.113.0/24']}
    assert sorted(managed_specs(declared, 'ipv4')) == ['admins']
    assert sorted(managed_specs(declared, 'ipv6')) == ['admins6']
    assert lists_of(declared) == {'admins': ['192.0.2.1'], 'admins6': ['2001:db8::1'], 'abuse': ['203.0.113.0/24']}
    with pytest.raises(FirewallError, match=r'ipsets\[big\]: 2 members, more than maxelem 1'):
        managed_specs({'big': {'members': ['192.0.2.1', '192.0.2.2'], 'maxelem': 1}}, 'ipv4')


@pytest.mark.parametrize('value, shown', [
    ({'members': [], 'colour': 'red'}, 'unknown key(s) colour'),
    ({'type': 'hash:net'}, 'members is required'),
    ({'members': [], 'type': 'list:set'}, "type must be one of hash:net, hash:ip, hash:ip,port, not 'list:set'"),
    ({'members': [], 'family': 'ipv4'}, "family must be inet or inet6, not 'ipv4'"),
    ({'members': [], 'hashsize': 1 << 31}, 'hashsize must be an integer from 64 to 134217728'),
    ({'members': [], 'maxelem': True}, 'maxelem must be an integer'),
    ({'members': '10.0.0.1'}, "members must be a list of addresses and networks, not the string '10.0.0.1'"),
    ({'members': ['0.0.0.0-255.255.255.255']}, 'is a range of every address (/0)'),
    ({'members': ['192.0.2.1', '0.0.0.0'], 'type': 'hash:ip'}, "members[1]: '0.0.0.0' is the unspecified address 0.0.0.0"),
    ({'members': ['2001:db8::1']}, 'is an IPv6 address, but the set has family inet'),
])
def test_check_declared_names_the_field_of_a_managed_set(value, shown):
    with pytest.raises(m.IpsetError) as info:
        m.check_declared({'admins': value})
    assert 'ipsets[admins]' in str(info.value) and shown in str(info.value)


def test_merge_blocks_replaces_only_the_given_sets():
    text = 'create other hash:ip family inet\nadd other 192.0.2.9\ncreate a hash:net family inet\nadd a 10.0.0.0/8\n'
    merged = merge_blocks(text, {'a': ['create a hash:net family inet', 'add a 10.0.0.0/9'], 'new': None})
    assert merged == 'create other hash:ip family inet\nadd other 192.0.2.9\ncreate a hash:net family inet\nadd a 10.0.0.0/9\n'


def test_revert_runs_every_payload_then_destroys_the_created_sets():
    calls = []

    def run(args, data=None):
        calls.append((args, data))
        return (1, '', 'boom\n') if data and 'first' in data else (0, '', '')
    record = {'restore': [{'name': 'first', 'payload': 'create t first\n'}, {'name': 'b', 'payload': 'create t b\n'}],
              'destroy': ['fresh']}
    problems = m.revert_sets(run, record)
    assert [c[0] for c in calls] == [['restore'], ['restore'], ['destroy', 'fresh']]
    assert problems == ['the previous content of the set first could not be restored: boom']


def test_expire_restores_the_rules_then_the_sets(tmp_path, monkeypatch):
    state = str(tmp_path / 'run')
    binary = tmp_path / 'ipset'
    binary.write_text('')
    binary.chmod(0o755)
    monkeypatch.setattr(rollback, 'IPSET_PATHS', (str(binary),))
    payload = m.render_restore_previous('a', SAVED, 'rft_x')
    token = rollback.arm(state, 'ipv4', '*filter\nCOMMIT\n', ['iptables-restore'], 30,
                         extra={'ipsets': {'restore': [{'name': 'a', 'payload': payload}], 'destroy': ['fresh']}})
    calls = []

    def run(argv, data):
        calls.append((os.path.basename(argv[0]), argv[1:], data))
        return 0, '', ''
    assert rollback.expire(state, token, ['iptables-restore'], run=run) == 'reverted'
    assert calls == [('iptables-restore', [], '*filter\nCOMMIT\n'), ('ipset', ['restore'], payload),
                     ('ipset', ['destroy', 'fresh'], '')]
    with open(os.path.join(state, '%s.reverted' % token)) as handle:
        report = json.load(handle)
    assert report['ipsets'] == {'restored': ['a'], 'destroyed': ['fresh'], 'problems': []}


def test_expire_reports_failed_when_a_set_cannot_be_restored(tmp_path, monkeypatch):
    state = str(tmp_path / 'run')
    monkeypatch.setattr(rollback, 'IPSET_PATHS', (str(tmp_path / 'missing'),))
    token = rollback.arm(state, 'ipv4', '*filter\nCOMMIT\n', ['iptables-restore'], 30,
                         extra={'ipsets': {'restore': [], 'destroy': ['fresh']}})
    assert rollback.expire(state, token, ['iptables-restore'], run=lambda argv, data: (0, '', '')) == 'failed'


def test_one_error_hierarchy():
    """PlanError and SpecError are defined once (errors.py); the engine, the planner and the options use them."""
    assert iptables_engine.PlanError is PlanError is iptables_planner.PlanError
    assert iptables_options.SpecError is SpecError
    assert issubclass(PlanError, SpecError) and issubclass(SpecError, FirewallError) and issubclass(PlanError, ValueError)
