# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iptables_ruleset with MANAGED sets (ipsets values that are dictionaries): one transaction of sets
and rules. A fake ipset (restore line by line, like ipset 7.17: a failing line leaves the lines
before it done; swap needs the same type; destroy refused while a rule references the set;
iptables-restore refuses a rule naming a missing set) records every command in order, so the
tests check the order of the steps and that a failure at each step leaves every set, rule and
file as it was (ipset save byte for byte), with a result that says so."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_ruleset_apply as ruleset_apply
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse

from test_iptables_ruleset import ENV_C, confirm, kernel, run, timer_applies, window  # noqa: F401 pylint: disable=unused-import

RULES = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m set --match-set admins src -m tcp --dport 22 -j ACCEPT
COMMIT
'''
RULES_ABUSE = RULES.replace('COMMIT', '-A INPUT -m set --match-set abuse src -j DROP\nCOMMIT')
RULES6 = RULES.replace('admins', 'admins6')
CONTROLLER = '198.51.100.7'
SSH = '%s 50000 192.0.2.10 22' % CONTROLLER
OPEN = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'


class FakeSets:
    """The ipset side of the fake host. sets: {name: [header words, [members in insertion order]]}."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.sets = {}
        self.log = []               # ('ipset', args...) / ('iptables-restore', '--test'|'apply') in order
        self.fail_add = None        # a member the kernel refuses
        self.fail_create = None     # text of a create line the kernel refuses (ENOMEM)

    def referenced(self):
        refs = {}
        for family in ('ipv4', 'ipv6'):
            for name in ipset_model.referenced_sets(self.kernel.live[family]):
                refs[name] = refs.get(name, 0) + 1
        return refs

    def save(self, name):
        header, members = self.sets[name]
        return ''.join(['create %s %s\n' % (name, ' '.join(header))] + ['add %s %s\n' % (name, m) for m in members])

    def ipset(self, args, data):
        cmd = list(args[1:])
        self.log.append(tuple(['ipset'] + cmd[:2]))
        if cmd == ['list', '-n']:
            return 0, ''.join(n + '\n' for n in self.sets), ''
        if cmd == ['list', '-t']:
            return 0, ''.join('Name: %s\nType: %s\nHeader: %s\nReferences: %d\n\n'
                              % (n, h[0], ' '.join(h[1:]), self.referenced().get(n, 0))
                              for n, (h, _m) in self.sets.items()), ''
        if cmd[:2] == ['list', '-t']:
            return 0, 'Name: %s\nReferences: %d\n' % (cmd[2], self.referenced().get(cmd[2], 0)), ''
        if cmd[0] == 'save':
            if cmd[1] not in self.sets:
                return 1, '', 'ipset v7.17: The set with the given name does not exist\n'
            return 0, self.save(cmd[1]), ''
        if cmd[0] == 'destroy':
            return self.line(['destroy', cmd[1]], 1)
        assert cmd == ['restore'], cmd
        self.log[-1] = ('ipset', 'restore', data.splitlines()[-1])
        for lineno, line in enumerate(data.splitlines(), 1):
            rc = self.line(line.split(), lineno, line)
            if rc[0]:
                return rc
        return 0, '', ''

    def line(self, words, lineno, line=''):
        err = 'ipset v7.17: Error in line %d: ' % lineno
        if words[0] == 'create':
            if self.fail_create and self.fail_create in line:
                return 1, '', err + 'Kernel error received: Cannot allocate memory\n'
            if words[1] in self.sets:
                return 1, '', err + 'Set cannot be created: set with the same name already exists\n'
            header = words[2:]
            if 'bucketsize' not in header:
                header += ['bucketsize', '12', 'initval', '0x%08x' % (len(self.log) * 2654435761 % (1 << 32))]
            self.sets[words[1]] = [header, []]
        elif words[0] == 'add':
            if words[2] == self.fail_add:
                return 1, '', err + 'Hash is full, cannot add more elements\n'
            self.sets[words[1]][1].append(' '.join(words[2:]))
        elif words[0] == 'swap':
            a, b = words[1], words[2]
            if self.sets[a][0][:3] != self.sets[b][0][:3]:
                return 1, '', err + 'The sets cannot be swapped: their type does not match\n'
            self.sets[a], self.sets[b] = self.sets[b], self.sets[a]
        elif words[0] == 'rename':
            if words[2] in self.sets:
                return 1, '', err + 'Set cannot be renamed: a set with the new name already exists\n'
            self.sets[words[2]] = self.sets.pop(words[1])
        elif words[0] == 'destroy':
            if words[1] not in self.sets:
                return 1, '', err + 'The set with the given name does not exist\n'
            if self.referenced().get(words[1]):
                return 1, '', err + 'Set cannot be destroyed: it is in use by a kernel component\n'
            del self.sets[words[1]]
        else:
            raise AssertionError(words)
        return 0, '', ''

    def run_command(self, args, **kwargs):
        args = list(args)
        name = os.path.basename(args[0])
        if name == 'ipset':
            assert kwargs.get('environ_update') == ENV_C
            return self.ipset(args, kwargs.get('data'))
        if name.endswith('-restore'):
            family = 'ipv6' if name.startswith('ip6') else 'ipv4'
            data = kwargs.get('data') or ''
            self.log.append(('iptables-restore', '--test' if '--test' in args else family))
            missing = sorted(n for n in ipset_model.referenced_sets(data) if n not in self.sets)
            if missing:
                return 2, '', "iptables-restore v1.8.9 (nf_tables): Set %s doesn't exist.\n" % missing[0]
        return self.kernel.run_command(args, **kwargs)

    def state(self):
        """Everything a failure must leave as it was: every set's ipset save, both rulesets."""
        return (dict((n, self.save(n)) for n in sorted(self.sets)), dict(self.kernel.live))


@pytest.fixture
def host(kernel, monkeypatch, tmp_path):  # noqa: F811 pylint: disable=redefined-outer-name
    fake = FakeSets(kernel)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', fake.run_command)
    # the revert timer (iptables_rollback) finds ipset at a fixed path; the fake stands there
    binary = tmp_path / 'bin' / 'ipset'
    binary.parent.mkdir()
    binary.write_text('')
    binary.chmod(0o755)
    monkeypatch.setattr(rollback, 'IPSET_PATHS', (str(binary),))
    fake.files = {'rules': str(tmp_path / 'rules.v4'), 'sets': str(tmp_path / 'ipsets')}
    return fake


def managed(*members, **extra):
    spec = {'members': list(members)}
    spec.update(extra)
    return spec


def args(host, ipsets, content=RULES, **extra):
    out = {'content': content, 'ipsets': ipsets, 'persist_path': host.files['rules'],
           'ipsets_persist_path': host.files['sets'], 'ssh_connection': SSH}
    out.update(extra)
    return out


def files(host):
    out = {}
    for key, path in sorted(host.files.items()):
        if os.path.exists(path):
            with open(path) as handle:
                out[key] = handle.read()
    return out


def first_run(host):
    result = run(args(host, {'admins': managed(CONTROLLER), 'abuse': managed('203.0.113.0/24')}, content=RULES_ABUSE))
    assert 'failed' not in result, result.get('msg')
    return result


# ---- the order of one transaction -------------------------------------------------------------

def test_first_run_creates_the_sets_before_the_test_then_applies_the_rules_and_persists_both(host):
    result = first_run(host)
    assert result['changed'] is True and result['ipsets_changed'] is True
    assert result['ipsets']['admins']['method'] == 'create' and result['ipsets']['admins']['count'] == 1
    steps = [entry for entry in host.log if entry[1] in ('restore', '--test', 'ipv4')]
    tmp = ipset_model.temp_name('abuse')
    assert steps[:3] == [('ipset', 'restore', 'rename %s abuse' % tmp),
                         ('ipset', 'restore', 'rename %s admins' % ipset_model.temp_name('admins')),
                         ('iptables-restore', '--test')], 'the sets exist before iptables-restore --test'
    assert steps[3:] == [('iptables-restore', 'ipv4')]
    assert sorted(host.sets) == ['abuse', 'admins'] and host.sets['admins'][1] == [CONTROLLER]
    assert result['lockout']['status'] == 'safe'
    written = files(host)
    assert 'create admins hash:net family inet hashsize 1024 maxelem 65536\nadd admins %s\n' % CONTROLLER in written['sets']
    assert 'add abuse 203.0.113.0/24' in written['sets'] and '--match-set admins' in written['rules']
    assert result['ipsets_persisted'] == host.files['sets'] and result['ipsets_persist_changed'] is True


def test_rerun_unchanged_reads_and_changes_nothing(host):
    first_run(host)
    before, log = (host.state(), files(host)), len(host.log)
    again = first_run(host)
    assert again['changed'] is False and again['ipsets_changed'] is False
    assert again['ipsets']['admins']['method'] == 'none'
    assert [entry for entry in host.log[log:] if entry[1] in ('restore', 'ipv4', '--test', 'destroy')] == []
    assert (host.state(), files(host)) == before


def test_member_change_alone_is_tested_and_swapped_then_persisted(host):
    first_run(host)
    log = len(host.log)
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.99'), 'abuse': managed('203.0.113.0/24')},
                      content=RULES_ABUSE))
    assert result['changed'] is True and result['live_changed'] is False and result['ipsets_changed'] is True
    assert result['ipsets']['admins']['method'] == 'swap' and result['ipsets']['admins']['added_sample'] == ['192.0.2.99']
    assert result['lockout']['status'] == 'safe', 'a set change alone goes through the lockout preflight'
    tmp = ipset_model.temp_name('admins')
    steps = [entry for entry in host.log[log:] if entry[1] in ('restore', '--test', 'ipv4', 'destroy')]
    assert steps == [('iptables-restore', '--test'), ('ipset', 'restore', 'destroy %s' % tmp)]
    assert sorted(host.sets['admins'][1]) == sorted([CONTROLLER, '192.0.2.99']) and tmp not in host.sets
    assert 'add admins 192.0.2.99' in files(host)['sets']


# ---- the lockout preflight reads the NEW members ----------------------------------------------

def test_controller_leaving_the_set_is_refused_and_nothing_changes(host):
    first_run(host)
    before = (host.state(), files(host))
    result = run(args(host, {'admins': managed('192.0.2.99'), 'abuse': managed('203.0.113.0/24')}, content=RULES_ABUSE))
    assert result['failed'] is True and result['changed'] is False
    assert 'refusing to apply' in result['msg'] and result['lockout']['status'] == 'unsafe'
    assert (host.state(), files(host)) == before
    assert not [name for name in host.sets if name.startswith(ipset_model.TEMP_PREFIX)]


def test_refused_first_run_leaves_no_set_behind(host):
    """The lockout preflight refuses after the missing sets were created for --test: they go again."""
    host.kernel.live['ipv4'] = OPEN
    before = (host.state(), files(host))
    result = run(args(host, {'admins': managed('192.0.2.99')}))
    assert result['failed'] is True and result['changed'] is False and 'refusing to apply' in result['msg']
    assert host.sets == {} and (host.state(), files(host)) == before


# ---- failure at each step: state unchanged, the result says so ---------------------------------

def test_refused_member_while_creating_changes_nothing(host):
    first_run(host)
    before = (host.state(), files(host))
    host.fail_add = '192.0.2.66'
    result = run(args(host, {'admins': managed(CONTROLLER), 'abuse': managed('203.0.113.0/24'),
                             'later': managed('192.0.2.66')}, content=RULES_ABUSE))
    assert result['failed'] is True and result['changed'] is False and 'Hash is full' in result['msg']
    assert (host.state(), files(host)) == before


def test_failing_test_destroys_the_created_sets(host):
    host.kernel.test_result = (2, '', 'iptables-restore: line 6 failed\n')
    result = run(args(host, {'admins': managed(CONTROLLER)}))
    assert result['failed'] is True and result['changed'] is False
    assert host.sets == {} and files(host) == {}


def test_swap_failing_half_way_without_a_window_gives_every_set_back(host):
    first_run(host)
    before = (host.state(), files(host))
    host.fail_add = '203.0.113.99'     # abuse is swapped first (sorted), admins second would be fine
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5'), 'abuse': managed('203.0.113.99'),
                             'newset': managed('192.0.2.1')}, content=RULES_ABUSE))
    assert result['failed'] is True and result['changed'] is False, result
    assert (host.state(), files(host)) == before
    host.fail_add = None
    host.fail_create = None
    host.sets['admins'][1] = [CONTROLLER]
    # the second set fails after the first was swapped in: both are given back, the result says so
    host.fail_add = '192.0.2.5'
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5'), 'abuse': managed('203.0.113.7')},
                      content=RULES_ABUSE))
    assert result['failed'] is True and result['changed'] is False
    assert 'the sets were given back their previous content, the rules were not changed' in result['msg']
    assert (host.state(), files(host)) == before


def test_rules_failing_after_the_sets_gives_the_sets_back(host):
    first_run(host)
    before = (host.state(), files(host))
    host.kernel.restore_result = (1, '', 'iptables-restore: line 3 failed\n')
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5'), 'abuse': managed('203.0.113.0/24'),
                             'fresh': managed('192.0.2.1')},
                      content=RULES_ABUSE.replace('COMMIT', '-A INPUT -m set --match-set fresh src -j DROP\nCOMMIT')))
    assert result['failed'] is True and result['changed'] is False
    assert 'the sets were given back their previous content' in result['msg']
    assert (host.state(), files(host)) == before


def test_kernel_refused_hashsize_changes_nothing(host):
    first_run(host)
    before = (host.state(), files(host))
    host.fail_create = 'hashsize 134217728'
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5', hashsize=134217728),
                             'abuse': managed('203.0.113.0/24')}, content=RULES_ABUSE))
    assert result['failed'] is True and result['changed'] is False and 'Cannot allocate memory' in result['msg']
    assert (host.state(), files(host)) == before


def test_type_change_of_a_set_in_use_is_refused_naming_it(host):
    first_run(host)
    before = (host.state(), files(host))
    result = run(args(host, {'admins': managed(CONTROLLER, type='hash:ip'), 'abuse': managed('203.0.113.0/24')},
                      content=RULES_ABUSE))
    assert result['failed'] is True and result['changed'] is False
    assert 'refusing to change the set admins from hash:net/inet to hash:ip/inet, nothing was changed' in result['msg']
    assert (host.state(), files(host)) == before


def test_type_change_of_a_set_nothing_uses_is_rebuilt(host):
    first_run(host)
    run(args(host, {'admins': managed(CONTROLLER), 'abuse': managed('203.0.113.0/24')}))     # no rule uses abuse now
    result = run(args(host, {'admins': managed(CONTROLLER), 'abuse': managed('203.0.113.7', type='hash:ip')}))
    assert 'failed' not in result, result['msg']
    assert result['ipsets']['abuse']['method'] == 'rebuild' and host.sets['abuse'][0][0] == 'hash:ip'


def test_check_mode_runs_no_ipset_restore(host):
    result = run(args(host, {'admins': managed(CONTROLLER)}), check_mode=True)
    assert result['changed'] is True and result['ipsets']['admins']['method'] == 'create'
    assert not [entry for entry in host.log if entry[1] in ('restore', 'destroy')]
    assert host.sets == {} and files(host) == {}


def test_bare_list_keeps_its_meaning(host):
    """A member list is a set made elsewhere: read for the check and the preflight, never changed."""
    host.kernel.live['ipv4'] = OPEN
    host.line(['create', 'admins', 'hash:net', 'family', 'inet', 'hashsize', '1024', 'maxelem', '65536'], 1)
    result = run(args(host, {'admins': [CONTROLLER]}))
    assert 'failed' not in result and 'ipsets' not in result
    assert not [entry for entry in host.log if entry[1] in ('restore', 'destroy')]


# ---- inside the confirm-or-revert window ------------------------------------------------------

@pytest.fixture
def timer(host, window, monkeypatch):  # noqa: F811 pylint: disable=redefined-outer-name
    """The window of test_iptables_ruleset, its timer's commands (iptables-restore, ipset) on this host."""
    monkeypatch.setattr(rollback, '_run', lambda argv, data: host.run_command(
        argv, data=data, environ_update=ENV_C, binary_data=True))
    return window


def test_window_applies_sets_then_rules_and_confirm_writes_the_sets_file(host, timer, monkeypatch):
    state, bodies = timer
    first_run(host)
    before_files = files(host)
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5'), 'abuse': managed('203.0.113.0/24')},
                      content=RULES_ABUSE + '', rollback_timeout=30))
    assert result['changed'] is True and 'rollback' in result and result['ipsets_persist_pending'] is True
    assert host.sets['admins'][1] == [CONTROLLER], 'the timer applies, after the module has answered'
    timer_applies(bodies, monkeypatch)
    assert sorted(host.sets['admins'][1]) == sorted([CONTROLLER, '192.0.2.5'])
    assert files(host) == before_files, 'nothing is persisted before the confirmation'
    done = confirm({'token': result['rollback']['token']})
    assert done['confirmed'] == 'confirmed' and done['ipsets_persist_changed'] is True
    assert 'add admins 192.0.2.5' in files(host)['sets']


def test_window_diff_shows_the_persisted_sets_file_it_writes_after_the_confirmation(host, timer):
    state, bodies = timer
    first_run(host)
    before = files(host)['sets']
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5'), 'abuse': managed('203.0.113.0/24')},
                      content=RULES_ABUSE, rollback_timeout=30), diff=True)
    assert result['ipsets_persist_pending'] is True
    header = '%s (persisted sets)' % host.files['sets']
    entries = [entry for entry in result['diff'] if entry['after_header'] == header]
    assert len(entries) == 1, [entry['after_header'] for entry in result['diff']]
    assert entries[0]['before'] == before and 'add admins 192.0.2.5' in entries[0]['after']
    assert files(host)['sets'] == before, 'written only after the confirmation'


def test_window_revert_gives_back_sets_and_rules_byte_for_byte(host, timer, monkeypatch):
    state, bodies = timer
    first_run(host)
    before = (host.state(), files(host))
    # the controller leaves the set, the preflight is bypassed: only the window protects the session
    result = run(args(host, {'admins': managed('192.0.2.99'), 'abuse': managed('203.0.113.0/24'),
                             'fresh': managed('192.0.2.1')},
                      content=RULES_ABUSE.replace('COMMIT', '-A INPUT -m set --match-set fresh src -j DROP\nCOMMIT'),
                      rollback_timeout=30, lockout_check=False))
    assert result['changed'] is True and 'fresh' in host.sets, 'created before iptables-restore --test'
    timer_applies(bodies, monkeypatch)
    assert host.sets['admins'][1] == ['192.0.2.99'] and '--match-set fresh' in host.kernel.live['ipv4']
    assert rollback.expire(state, result['rollback']['token'], ['/usr/sbin/iptables-restore']) == 'reverted'
    assert (host.state(), files(host)) == before, 'every set (ipset save), rule and file as before'
    late = confirm({'token': result['rollback']['token']})
    assert late['outcome'] == 'reverted' and late['revert']['ipsets']['restored'] == ['admins']
    assert late['revert']['ipsets']['destroyed'] == ['fresh']


def test_window_set_apply_failing_half_way_is_reverted(host, timer, monkeypatch):
    state, bodies = timer
    first_run(host)
    before = (host.state(), files(host))
    result = run(args(host, {'admins': managed(CONTROLLER, '192.0.2.5'), 'abuse': managed('203.0.113.66')},
                      content=RULES_ABUSE, rollback_timeout=30))
    host.fail_add = '192.0.2.5'        # abuse is swapped in first, then admins fails
    monkeypatch.setattr(rollback, 'watch', lambda *a, **k: 'pending')
    bodies.pop(0)()
    assert (host.state(), files(host)) == before
    res = confirm({'token': result['rollback']['token']})
    assert res['failed'] is True and res['outcome'] == 'reverted'


def test_window_withdrawn_before_the_apply_destroys_created_sets(host, window, monkeypatch):  # noqa: F811
    """The timer of a window its run withdrew applies nothing and destroys the sets the run created."""
    state, bodies = window
    host.kernel.live['ipv4'] = OPEN
    result = run(args(host, {'admins': managed(CONTROLLER)}, rollback_timeout=30))
    assert 'admins' in host.sets
    ruleset_apply.withdraw(result['rollback']['token'])
    with pytest.raises(SystemExit):
        bodies.pop(0)()
    assert host.sets == {}


def test_both_families_each_own_their_sets(host):
    result = run({'rulesets': {'ipv4': RULES, 'ipv6': RULES6}, 'ssh_connection': SSH,
                  'ipsets': {'admins': managed(CONTROLLER), 'admins6': managed('2001:db8::7', family='inet6')},
                  'persist': False})
    assert 'failed' not in result, result['msg']
    assert result['families']['ipv4']['ipsets'].keys() == {'admins'}
    assert result['families']['ipv6']['ipsets'].keys() == {'admins6'}
    assert host.sets['admins6'][0][:3] == ['hash:net', 'family', 'inet6']


def test_both_families_second_failing_destroys_the_first_familys_created_sets(host):
    host.kernel.test_result = (2, '', 'ip6tables-restore: line 6 failed\n')
    result = run({'rulesets': {'ipv4': RULES, 'ipv6': RULES6}, 'ssh_connection': SSH, 'persist': False,
                  'ipsets': {'admins': managed(CONTROLLER), 'admins6': managed('2001:db8::7', family='inet6')}})
    assert result['failed'] is True and result['changed'] is False
    assert host.sets == {}


def test_managed_set_of_bad_shape_is_refused_by_name(host):
    result = run(args(host, {'admins': {'members': [CONTROLLER], 'colour': 'red'}}))
    assert result['failed'] is True and 'ipsets[admins]: unknown key(s) colour' in result['msg']
    result = run(args(host, {'admins': managed('0.0.0.0-255.255.255.255')}))
    assert result['failed'] is True and 'is a range of every address (/0)' in result['msg']
    result = run(args(host, {'rft_0123456789abcdef': managed(CONTROLLER)}))
    assert result['failed'] is True and "must not start with 'rft_'" in result['msg']
    assert host.sets == {} and files(host) == {}
    assert parse(host.kernel.live['ipv4']) is not None
