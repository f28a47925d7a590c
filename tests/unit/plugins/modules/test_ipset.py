# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the ipset module against a fake ipset that interprets restore payloads like ipset 7.17."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as m
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback
from ansible_collections.rampart.firewall.plugins.modules import ipset as ipset_module

from test_iptables_rule import exit_json, fail_json, run_module  # noqa: F401 pylint: disable=unused-import

EMPTY_RULES = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'


class FakeIpset:
    """Sets as {name: (create words, [members])}; restore runs line by line, like ipset (not atomic)."""

    def __init__(self):
        self.sets = {}
        self.refs = {}
        self.rules = {'ipv4': EMPTY_RULES, 'ipv6': EMPTY_RULES}
        self.calls = []
        self.payloads = []
        self.fail_add = None
        self.fail_create = None      # (name it does not apply to, text of the create line it refuses)
        self.warnings = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name == 'systemctl':
            return None
        return '/usr/sbin/' + name

    def warn(self, msg):
        self.warnings.append(msg)

    def save(self, only=None):
        out = []
        for name, (create, members) in self.sets.items():
            if only is None or only == name:
                out.append(' '.join(['create', name] + create + ['bucketsize', '12', 'initval', '0x1234']))
                out += ['add %s %s' % (name, x) for x in reversed(members)]
        return '\n'.join(out) + '\n' if out else ''

    def run_command(self, args, data=None, binary_data=False, environ_update=None, **kw):
        assert isinstance(args, list) and environ_update == {'LANG': 'C', 'LC_ALL': 'C'}
        self.calls.append(args)
        name = os.path.basename(args[0])
        if name == 'iptables-save':
            return 0, self.rules['ipv4'], ''
        if name == 'ip6tables-save':
            return 0, self.rules['ipv6'], ''
        assert name == 'ipset'
        cmd = args[1:]
        if cmd == ['list', '-n']:
            return 0, ''.join(n + '\n' for n in self.sets), ''
        if cmd[:2] == ['list', '-t']:
            return 0, 'Name: %s\nReferences: %d\n' % (cmd[2], self.refs.get(cmd[2], 0)), ''
        if cmd[0] == 'save':
            return 0, self.save(cmd[1]), ''
        if cmd[0] == 'destroy':
            self.sets.pop(cmd[1], None)
            return 0, '', ''
        assert cmd == ['restore']
        self.payloads.append(data)
        for lineno, line in enumerate(data.splitlines(), 1):
            words = line.split()
            if words[0] == 'create':
                if self.fail_create and words[1] != self.fail_create[0] and self.fail_create[1] in line:
                    return 1, '', 'ipset v7.17: Error in line %d: Kernel error received: Cannot allocate memory\n' % lineno
                if words[1] in self.sets:
                    return 1, '', 'ipset v7.17: Error in line %d: Set cannot be created: set with the same name already exists\n' % lineno
                self.sets[words[1]] = (words[2:], [])
            elif words[0] == 'add':
                if self.fail_add and words[2] == self.fail_add:
                    return 1, '', 'ipset v7.17: Error in line %d: Hash is full, cannot add more elements\n' % lineno
                self.sets[words[1]][1].append(' '.join(words[2:]))
            elif words[0] == 'swap':
                a, b = words[1], words[2]
                if self.sets[a][0][:3] != self.sets[b][0][:3]:
                    return 1, '', 'ipset v7.17: Error in line %d: The sets cannot be swapped: their type does not match\n' % lineno
                self.sets[a], self.sets[b] = self.sets[b], self.sets[a]
            elif words[0] == 'rename':
                if words[2] in self.sets:
                    return 1, '', 'ipset v7.17: Error in line %d: Set cannot be renamed: a set with the new name already exists\n' % lineno
                self.sets[words[2]] = self.sets.pop(words[1])
            elif words[0] == 'destroy':
                if self.refs.get(words[1]):
                    return 1, '', 'ipset v7.17: Error in line %d: Set cannot be destroyed: it is in use by a kernel component\n' % lineno
                del self.sets[words[1]]
        return 0, '', ''


@pytest.fixture
def fake(monkeypatch, tmp_path):
    kernel = FakeIpset()
    monkeypatch.setattr(iptables_rollback, 'STATE_DIR', str(tmp_path / 'run'))
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', kernel.run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', kernel.get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', kernel.warn)
    kernel.persist = str(tmp_path / 'ipsets')
    return kernel


def run(fake, args, check_mode=False, diff=False):
    args = dict(args)
    args.setdefault('persist_path', fake.persist)
    return run_module(ipset_module, args, check_mode, diff)


def members(fake, name):
    return sorted(m.parse_save(fake.save(name))[name].keys)


def file_text(fake):
    with open(fake.persist) as handle:
        return handle.read()


def test_create_idempotent_swap_and_persist(fake):
    result = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8', '192.0.2.1/32', '# note', '']})
    assert result['changed'] is True and result['method'] == 'create'
    assert result['added'] == 2 and result['before'] is None and result['after']['count'] == 2
    tmp = m.temp_name('abuse')
    assert fake.payloads == ['create %s hash:net family inet hashsize 1024 maxelem 65536\n'
                             'add %s 10.0.0.0/8\nadd %s 192.0.2.1\nrename %s abuse\n' % (tmp, tmp, tmp, tmp)]
    assert file_text(fake) == 'create abuse hash:net family inet hashsize 1024 maxelem 65536\n' \
                              'add abuse 10.0.0.0/8\nadd abuse 192.0.2.1\n'
    assert result['persist_changed'] is True
    # canonically equal: no change, nothing loaded, file untouched
    again = run(fake, {'name': 'abuse', 'members': ['192.0.2.1', '10.0.0.0/8']})
    assert again['changed'] is False and again['method'] == 'none' and len(fake.payloads) == 1
    # a change goes through a temporary set and a swap
    changed = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8', '198.51.100.0/24']}, diff=True)
    tmp = m.temp_name('abuse')
    assert changed['method'] == 'swap'
    assert fake.payloads[-1] == ('create %s hash:net family inet hashsize 1024 maxelem 65536\n'
                                 'add %s 10.0.0.0/8\nadd %s 198.51.100.0/24\nswap %s abuse\ndestroy %s\n'
                                 % (tmp, tmp, tmp, tmp, tmp))
    assert (changed['added'], changed['removed']) == (1, 1)
    assert changed['added_sample'] == ['198.51.100.0/24'] and changed['removed_sample'] == ['192.0.2.1']
    assert changed['diff']['before'].endswith('add abuse 192.0.2.1\n')
    assert changed['diff']['after'].endswith('add abuse 198.51.100.0/24\n')
    assert list(fake.sets) == ['abuse']
    assert 'add abuse 198.51.100.0/24' in file_text(fake)


def test_check_mode_changes_nothing(fake):
    result = run(fake, {'name': 'abuse', 'members': ['10.0.%d.0/24' % i for i in range(40)]}, check_mode=True, diff=True)
    assert result['changed'] is True and result['added'] == 40 and len(result['added_sample']) == 10
    assert '# ... 30 more added' in result['diff']['after']
    assert fake.payloads == [] and fake.sets == {} and not os.path.exists(fake.persist)
    assert sum(1 for line in result['payload'] if line.startswith('add ')) == 10


def test_options_change_is_a_swap(fake):
    run(fake, {'name': 'a', 'members': ['10.0.0.1']})
    result = run(fake, {'name': 'a', 'members': ['10.0.0.1'], 'timeout': 600, 'counters': True})
    assert result['changed'] is True and result['options_changed'] is True and result['method'] == 'swap'
    assert fake.sets['a'][0] == 'hash:net family inet hashsize 1024 maxelem 65536 timeout 600 counters'.split()
    assert run(fake, {'name': 'a', 'members': ['10.0.0.1'], 'timeout': 600, 'counters': True})['changed'] is False
    # hashsize is only a starting size
    assert run(fake, {'name': 'a', 'members': ['10.0.0.1'], 'timeout': 600, 'counters': True,
                      'hashsize': 4096})['changed'] is False


def test_bad_entry_changes_nothing(fake):
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    before = (fake.save(), file_text(fake), len(fake.payloads))
    result = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8', '10.0.0.5/8', 'evil\x1b]0;x']})
    assert result['failed'] is True and result['changed'] is False
    assert "members[1]: '10.0.0.5/8' has host bits set" in result['msg']
    assert "members[2]: 'evil\\x1b]0;x'" in result['msg']
    assert (fake.save(), file_text(fake), len(fake.payloads)) == before


@pytest.mark.parametrize('name', ['-exist', '../x', 'a' * 32, 'a b'])
def test_bad_name_is_refused_before_anything_runs(fake, name):
    result = run(fake, {'name': name, 'members': []})
    assert result['failed'] is True and 'name must be 1 to 31 characters' in result['msg']
    assert fake.calls == []


def test_failed_restore_leaves_the_live_set_and_drops_the_temporary_one(fake):
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    fake.fail_add = '192.0.2.0/24'
    result = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8', '192.0.2.0/24']})
    assert result['failed'] is True and 'Hash is full' in result['msg']
    assert 'at payload line 3 (add rft_' in result['msg']
    assert list(fake.sets) == ['abuse'] and members(fake, 'abuse') == sorted(m.member_keys('10.0.0.0/8', 'hash:net', 'inet'))
    assert 'add abuse 192.0.2.0/24' not in file_text(fake)


def test_leftover_temporary_set_is_never_touched(fake):
    """A live set with the temporary name (whoever made it) is not destroyed: another free name is used."""
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    leftover = m.temp_name('abuse')
    fake.sets[leftover] = (['hash:net', 'family', 'inet'], ['1.2.3.4'])
    result = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/9']})
    assert result['changed'] is True and 'destroy %s' % leftover not in fake.payloads[-1]
    assert sorted(fake.sets) == sorted(['abuse', leftover]) and fake.sets[leftover][1] == ['1.2.3.4']
    assert m.temp_name('abuse', [leftover]) in fake.payloads[-1]


@pytest.mark.parametrize('name', ['rft_0123456789abcdef', 'rft_x'])
def test_reserved_temporary_prefix_is_refused_by_name(fake, name):
    result = run(fake, {'name': name, 'members': []})
    assert result['failed'] is True and "must not start with 'rft_'" in result['msg'] and name in result['msg']
    assert fake.calls == []


def test_range_of_every_address_is_refused_like_slash_zero(fake):
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    before = (fake.save(), file_text(fake), len(fake.payloads))
    result = run(fake, {'name': 'abuse', 'members': ['0.0.0.0-255.255.255.255']})
    assert result['failed'] is True and result['changed'] is False
    assert "members[0]: '0.0.0.0-255.255.255.255' is a range of every address (/0)" in result['msg']
    assert (fake.save(), file_text(fake), len(fake.payloads)) == before


def test_refused_member_of_a_new_set_leaves_no_set(fake):
    fake.fail_add = '192.0.2.0/24'
    result = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8', '192.0.2.0/24']})
    assert result['failed'] is True and result['changed'] is False and 'Hash is full' in result['msg']
    assert fake.sets == {} and not os.path.exists(fake.persist)


def test_kernel_refused_hashsize_leaves_the_set_untouched(fake):
    """A hashsize the kernel refuses (ENOMEM on the create of the temporary set): the live set, its
    members and the persisted file stay as they were, and the task fails (changed false)."""
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    before = (fake.save(), file_text(fake))
    fake.fail_create = ('abuse', 'hashsize 134217728')
    result = run(fake, {'name': 'abuse', 'members': ['10.0.0.0/9'], 'hashsize': 134217728, 'maxelem': 1000})
    assert result['failed'] is True and result['changed'] is False and 'Cannot allocate memory' in result['msg']
    assert (fake.save(), file_text(fake)) == before and list(fake.sets) == ['abuse']


def test_type_change_of_an_unreferenced_set_keeps_it_when_a_member_is_refused(fake):
    run(fake, {'name': 's', 'members': ['10.0.0.1']})
    before = (fake.save(), file_text(fake))
    fake.fail_add = '10.0.0.2'
    result = run(fake, {'name': 's', 'type': 'hash:ip', 'members': ['10.0.0.1', '10.0.0.2']})
    assert result['failed'] is True and result['changed'] is False
    assert (fake.save(), file_text(fake)) == before and list(fake.sets) == ['s']


def test_absent_refused_while_referenced_names_the_rule(fake):
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    fake.rules['ipv4'] = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set abuse src -j DROP\nCOMMIT\n'
    fake.rules['ipv6'] = '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j SET --add-set abuse src\nCOMMIT\n'
    before = (fake.save(), file_text(fake))
    result = run(fake, {'name': 'abuse', 'state': 'absent'})
    assert result['failed'] is True
    assert 'ipv4 table filter: -A INPUT -m set --match-set abuse src -j DROP' in result['msg']
    assert 'ipv6 table mangle: -A PREROUTING -j SET --add-set abuse src' in result['msg']
    assert (fake.save(), file_text(fake)) == before
    # a kernel reference that is not an iptables rule
    fake.rules = {'ipv4': EMPTY_RULES, 'ipv6': EMPTY_RULES}
    fake.refs['abuse'] = 1
    result = run(fake, {'name': 'abuse', 'state': 'absent'})
    assert result['failed'] is True and '1 reference(s) in the kernel' in result['msg']
    fake.refs = {}
    result = run(fake, {'name': 'abuse', 'state': 'absent'})
    assert result['changed'] is True and result['method'] == 'destroy' and fake.sets == {}
    assert file_text(fake) == ''
    assert run(fake, {'name': 'abuse', 'state': 'absent'})['changed'] is False


def test_persisted_file_keeps_other_sets(fake):
    with open(fake.persist, 'w') as handle:
        handle.write('create other hash:ip family inet hashsize 1024 maxelem 65536\nadd other 192.0.2.9\n')
    run(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    assert file_text(fake) == ('create other hash:ip family inet hashsize 1024 maxelem 65536\nadd other 192.0.2.9\n'
                               'create abuse hash:net family inet hashsize 1024 maxelem 65536\nadd abuse 10.0.0.0/8\n')


def test_type_change_recreates_when_unreferenced_and_refuses_otherwise(fake):
    run(fake, {'name': 's', 'members': ['10.0.0.1']})
    fake.rules['ipv4'] = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set s src -j ACCEPT\nCOMMIT\n'
    result = run(fake, {'name': 's', 'type': 'hash:ip', 'members': ['10.0.0.1']})
    assert result['failed'] is True and 'cannot swap sets of two types' in result['msg'] and "'s'" not in result['msg']
    fake.rules['ipv4'] = EMPTY_RULES
    result = run(fake, {'name': 's', 'type': 'hash:ip', 'members': ['10.0.0.1']})
    assert result['method'] == 'recreate' and fake.sets['s'][0][0] == 'hash:ip'
    # and back, with a rule using it: refused, the samples in each set's own spelling
    fake.rules['ipv4'] = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set s src -j ACCEPT\nCOMMIT\n'
    result = run(fake, {'name': 's', 'type': 'hash:net', 'members': ['10.0.0.0/8']})
    assert result['failed'] is True and 'from hash:ip/inet to hash:net/inet, nothing was changed: it is in use by ipv4 table filter' in result['msg']
    assert result['removed_sample'] == ['10.0.0.1'] and result['added_sample'] == ['10.0.0.0/8']


def test_src_file_and_ipv6(fake, tmp_path):
    src = tmp_path / 'list6.txt'
    src.write_text('# office\n2001:db8::/32\n2001:db8:1::7/128   # host\n\n')
    result = run(fake, {'name': 'allow6', 'family': 'inet6', 'src': str(src)})
    assert result['changed'] is True and result['after']['count'] == 2
    tmp = m.temp_name('allow6')
    assert fake.payloads[-1].endswith('add %s 2001:db8::/32\nadd %s 2001:db8:1::7\nrename %s allow6\n' % (tmp, tmp, tmp))
    src.write_text('2001:db8::/32\n10.0.0.1\n')
    result = run(fake, {'name': 'allow6', 'family': 'inet6', 'src': str(src)})
    assert result['failed'] is True and 'line 2' in result['msg'] and 'family inet6' in result['msg']
    result = run(fake, {'name': 'allow6', 'family': 'inet6', 'src': str(tmp_path)})
    assert result['failed'] is True and 'must be a regular file' in result['msg']


def test_maxelem_exceeded_is_refused(fake):
    result = run(fake, {'name': 'a', 'members': ['10.0.0.1', '10.0.0.2'], 'maxelem': 1})
    assert result['failed'] is True and 'more than maxelem 1' in result['msg'] and fake.calls == []


def test_persist_false_writes_nothing(fake):
    result = run(fake, {'name': 'a', 'members': ['10.0.0.1'], 'persist': False})
    assert result['changed'] is True and result['persist_path'] is None and not os.path.exists(fake.persist)
