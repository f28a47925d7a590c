# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iptables_ruleset and ipset sets: a ruleset that uses a set that neither exists nor is declared
is refused before anything runs (naming the set and the rule), a set of the other family too; in
check mode a declared set passes (without iptables-restore --test, with a warning); the lockout
preflight reads the members of the sets (declared, else live) instead of reporting undecided."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_ruleset_apply as ruleset_apply

from test_iptables_ruleset import DEBIAN_OS_RELEASE, ENV_C, FakeKernel, exit_json, fail_json, run

RULES = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT
-A INPUT -m set --match-set abuse src -j DROP
COMMIT
'''
RULES6 = RULES.replace('admins', 'admins6').replace('abuse', 'abuse6')

HEADERS = '''Name: admins
Type: hash:net
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1c3a5b2e
Size in memory: 504
References: 0
Number of entries: 1

Name: abuse
Type: hash:net
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x6f2a1d3c
Size in memory: 504
References: 0
Number of entries: 2

Name: admins6
Type: hash:net
Revision: 7
Header: family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1c3a5b2f
Size in memory: 504
References: 0
Number of entries: 0
'''
SAVE = {
    'admins': 'create admins hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1c3a5b2e\n'
              'add admins 198.51.100.0/24\n',
    'abuse': 'create abuse hash:net family inet hashsize 1024 maxelem 65536\nadd abuse 203.0.113.0/24\n'
             'add abuse 192.0.2.99\n',
}
CLIENT_IN = '198.51.100.7 50000 192.0.2.10 22'
CLIENT_OUT = '192.0.2.50 50000 192.0.2.10 22'


class SetKernel(FakeKernel):
    """FakeKernel with an ipset binary: ipset list -t prints HEADERS (or nothing), ipset save NAME SAVE[NAME]."""

    def __init__(self):
        super().__init__()
        self.headers = HEADERS
        self.saves = dict(SAVE)
        self.ipset_calls = []

    def run_command(self, args, **kwargs):
        if os.path.basename(args[0]) == 'ipset':
            assert kwargs.get('environ_update') == ENV_C
            self.ipset_calls.append(list(args[1:]))
            if args[1:] == ['list', '-t']:
                return 0, self.headers, ''
            if args[1] == 'save' and args[2] in self.saves:
                return 0, self.saves[args[2]], ''
            return 1, '', 'ipset v7.17: The set with the given name does not exist\n'
        return super().run_command(args, **kwargs)


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    fake = SetKernel()
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    for name in ('run_command', 'get_bin_path', 'warn'):
        monkeypatch.setattr(basic.AnsibleModule, name, getattr(fake, name))
    os_release = tmp_path / 'os-release'
    os_release.write_text(DEBIAN_OS_RELEASE)
    monkeypatch.setattr(ruleset_apply, 'OS_RELEASE_PATHS', (str(os_release),))
    monkeypatch.setattr(ruleset_apply, 'BACKUP_DIR', str(tmp_path / 'backups'))
    monkeypatch.setattr(iptables_rollback, 'STATE_DIR', str(tmp_path / 'run'))
    return fake


def base(**extra):
    args = {'content': RULES, 'persist': False, 'lockout_check': False}
    args.update(extra)
    return args


def test_live_sets_of_the_family_apply(kernel):
    result = run(base())
    assert 'failed' not in result, result.get('msg')
    assert result['changed'] is True
    assert kernel.ipset_calls == [['list', '-t']]
    assert len(kernel.restored) == 1


def test_no_set_no_ipset_call(kernel):
    result = run(base(content=RULES.replace('-m set --match-set admins src ', '').replace(
        '-A INPUT -m set --match-set abuse src -j DROP\n', '')))
    assert 'failed' not in result, result.get('msg')
    assert kernel.ipset_calls == []


def test_missing_set_is_refused_naming_it_and_nothing_runs(kernel):
    kernel.headers = HEADERS.split('Name: abuse', maxsplit=1)[0]
    result = run(base())
    assert result['failed'] is True
    assert result['changed'] is False
    assert 'the set abuse does not exist and is not declared' in result['msg']
    assert '-A INPUT -m set --match-set abuse src -j DROP' in result['msg']
    assert 'nothing was changed' in result['msg']
    assert kernel.tested == [] and kernel.restored == []


def test_missing_set_refused_in_check_mode_too(kernel):
    kernel.headers = ''
    result = run(base(), check_mode=True)
    assert result['failed'] is True
    assert 'the set abuse does not exist' in result['msg'] and 'the set admins does not exist' in result['msg']


def test_set_of_the_other_family_is_refused(kernel):
    result = run(base(content=RULES.replace('abuse', 'admins6')))
    assert result['failed'] is True
    assert 'the set admins6 is of family inet6, but this ipv4 ruleset uses it' in result['msg']
    assert kernel.restored == []


def test_ipv6_ruleset_needs_inet6_sets(kernel):
    result = run(base(family='ipv6', content=RULES6))
    assert result['failed'] is True
    assert 'the set abuse6 does not exist' in result['msg']
    assert 'admins6' not in result['msg']


def test_declared_set_passes_check_mode_without_restore_test(kernel):
    kernel.headers = ''
    result = run(base(ipsets={'admins': ['198.51.100.0/24'], 'abuse': []}), check_mode=True)
    assert 'failed' not in result, result.get('msg')
    assert result['changed'] is True
    assert kernel.tested == [] and kernel.restored == []
    assert any('iptables-restore --test was not run' in w and 'abuse, admins' in w for w in kernel.warnings)


def test_declared_but_missing_set_is_refused_outside_check_mode(kernel):
    kernel.headers = ''
    result = run(base(ipsets={'admins': [], 'abuse': []}))
    assert result['failed'] is True
    assert 'the set abuse is declared (ipsets) but does not exist' in result['msg']
    assert kernel.restored == []


def test_bad_declared_name(kernel):
    result = run(base(ipsets={'-exist': []}))
    assert result['failed'] is True
    assert 'ipsets key must be 1 to 31 characters' in result['msg']


def test_lockout_reads_live_set_controller_inside(kernel):
    result = run(base(lockout_check=True, ssh_connection=CLIENT_IN))
    assert 'failed' not in result, result.get('msg')
    assert result['lockout']['status'] == 'safe'
    assert ['save', 'admins'] in kernel.ipset_calls


def test_lockout_reads_live_set_controller_outside_is_refused(kernel):
    result = run(base(lockout_check=True, ssh_connection=CLIENT_OUT))
    assert result['failed'] is True
    assert result['msg'].startswith('refusing to apply')
    assert result['lockout']['status'] == 'unsafe'
    assert kernel.restored == []


def test_lockout_prefers_declared_members(kernel):
    # live admins holds the controller, the declared list (what the play's ipset task makes it) does not
    result = run(base(lockout_check=True, ssh_connection=CLIENT_IN, ipsets={'admins': ['10.0.0.0/8'], 'abuse': []}))
    assert result['failed'] is True
    assert result['lockout']['status'] == 'unsafe'
    result = run(base(lockout_check=True, ssh_connection=CLIENT_OUT,
                      ipsets={'admins': ['192.0.2.50', '# a comment', ''], 'abuse': []}))
    assert 'failed' not in result, result.get('msg')
    assert result['lockout']['status'] == 'safe'


def test_lockout_in_a_block_list_is_refused(kernel):
    rules = RULES.replace('-A INPUT -m set --match-set abuse src -j DROP\n', '').replace(
        '-A INPUT -m conntrack', '-A INPUT -m set --match-set abuse src -j DROP\n-A INPUT -m conntrack')
    result = run(base(content=rules, lockout_check=True, ssh_connection='192.0.2.99 50000 192.0.2.10 22'))
    assert result['failed'] is True
    assert 'abuse' in result['msg']


def test_lockout_undecided_when_members_are_not_networks(kernel):
    kernel.saves['admins'] = 'create admins hash:ip,port family inet\nadd admins 198.51.100.7,tcp:22\n'
    kernel.headers = HEADERS
    result = run(base(lockout_check=True, ssh_connection=CLIENT_IN))
    assert 'failed' not in result, result.get('msg')
    assert result['lockout']['status'] == 'undecided'
