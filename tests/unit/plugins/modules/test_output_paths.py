# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 22: every output path proven usable before anything changes (iptables_host.check_file_path,
check_dir_path, check_output_paths), nothing written before the point of no return, a failure after
it naming what is live and what was written, and both families in one call withdrawing every window
when a step fails after the first family's timer started. Same fake kernel as test_iptables_ruleset."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_host
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs as outputs
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_ruleset_apply as ruleset_apply

from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base
from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset_families as families

WEB = base.WEB
run = base.run
kernel = base.kernel
window = base.window
persisted = base.persisted
targets = families.targets
both = families.both


# ---- the helper ------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    (tmp_path / 'linked').symlink_to(real)
    (real / 'a-dir').mkdir()
    os.mkfifo(str(real / 'fifo'))
    return tmp_path


@pytest.mark.parametrize('relative,words', [
    ('linked/rules.v4', 'is a symlink'),          # a symlinked directory the module would follow
    ('linked/new/rules.v4', 'is a symlink'),      # one that is an ancestor further up
    ('real/a-dir', 'is a directory'),
    ('real/fifo', 'a FIFO'),
])
def test_check_file_path_refuses(tree, relative, words):
    problem = iptables_host.check_file_path('copy_dir', str(tree / relative))
    assert problem is not None and words in problem and 'copy_dir' in problem, problem


@pytest.mark.parametrize('path,words', [
    ('/proc/sys/net/ipv4/ip_forward', '/proc'),
    ('/proc/self/new', '/proc'),
    ('/sys/kernel/rules.v4', '/sys'),
    ('/dev/shm/rules.v4', '/dev'),
    ('/dev/null', 'device'),
])
def test_kernel_interfaces_are_refused(path, words):
    problem = iptables_host.check_file_path('persist_path', path)
    assert problem is not None and words in problem and 'persist_path' in problem, problem


def test_a_kernel_filesystem_mounted_elsewhere_is_refused_by_filesystem(tmp_path):
    mnt = tmp_path / 'my proc'
    mnt.mkdir()
    mountinfo = tmp_path / 'mountinfo'
    mountinfo.write_text('1 0 8:1 / / rw - ext4 /dev/sda1 rw\n'
                         '2 1 0:5 / %s rw,nosuid - proc proc rw\n' % str(mnt).replace(' ', '\\040'))
    problem = iptables_host.check_file_path('copy_dir', str(mnt / 'rules.v4'), mountinfo=str(mountinfo))
    assert problem is not None and 'proc filesystem' in problem, problem
    assert iptables_host.check_dir_path('copy_dir', str(mnt / 'new'), mountinfo=str(mountinfo)) is not None
    # the same directory on a disk filesystem is fine
    assert iptables_host.check_file_path('copy_dir', str(tmp_path / 'rules.v4'), mountinfo=str(mountinfo)) is None


def test_filesystem_of_takes_the_longest_and_latest_mount(tmp_path):
    mountinfo = tmp_path / 'mountinfo'
    mountinfo.write_text('1 0 8:1 / / rw - ext4 /dev/sda1 rw\n'
                         '2 1 0:5 / /srv rw - tmpfs tmpfs rw\n'
                         '3 1 0:6 / /srv rw - proc proc rw\n'
                         '4 1 0:7 / /srv/data rw - xfs /dev/sdb rw\n')
    assert iptables_host.filesystem_of('/srv/x', str(mountinfo)) == ('/srv', 'proc')
    assert iptables_host.filesystem_of('/srv/data/x', str(mountinfo)) == ('/srv/data', 'xfs')
    assert iptables_host.filesystem_of('/srvx', str(mountinfo)) == ('/', 'ext4')
    assert iptables_host.filesystem_of('/x', str(tmp_path / 'missing')) is None


def test_check_dir_path_refuses_symlinked_ancestors_and_accepts_real_ones(tree):
    assert 'is a symlink' in iptables_host.check_dir_path('copy_dir', str(tree / 'linked' / 'copies'))
    assert 'is a symlink' in iptables_host.check_dir_path('copy_dir', str(tree / 'linked'))
    assert iptables_host.check_dir_path('copy_dir', str(tree / 'real' / 'copies')) is None
    assert iptables_host.check_file_path('copy_dir', str(tree / 'real' / 'new' / 'rules.v4')) is None


def test_check_output_paths_names_the_option(tree):
    with pytest.raises(iptables_host.HostError) as info:
        iptables_host.check_output_paths([('copy_dir', str(tree / 'real'), 'dir'),
                                          ('backup (its directory)', str(tree / 'linked' / 'b'), 'dir')])
    assert info.value.extra['field'] == 'backup (its directory)' and 'symlink' in info.value.msg


# ---- iptables_ruleset: refused before the first change ------------------------------------------

def snapshot(kernel_, *paths):
    return dict(kernel_.live), list(kernel_.restored), dict((p, os.path.lexists(p)) for p in paths)


@pytest.fixture
def fact_dir(monkeypatch, tmp_path):
    facts = tmp_path / 'facts.d'
    monkeypatch.setattr(outputs, 'FACTS_DIR', str(facts))
    return facts


FACT = {'name': 'rampart', 'content': {'role': 'single_host'}}


def refused(kernel_, result, persisted_, fact_dir_, words):
    assert result['failed'] is True and result.get('changed', False) is False, result
    assert words in result['msg'], result['msg']
    assert kernel_.restored == [] and kernel_.tested == [], 'refused before the --test, the restore and any write'
    assert not os.path.exists(persisted_)
    assert not os.path.exists(str(fact_dir_ / 'rampart.fact'))


@pytest.mark.parametrize('shape', ['symlinked-dir', 'file-is-a-dir', 'fifo', 'symlinked-file'])
def test_bad_copies_change_nothing(kernel, persisted, fact_dir, tmp_path, shape):
    real = tmp_path / 'real'
    real.mkdir()
    copies = tmp_path / 'copies'
    if shape == 'symlinked-dir':
        copies.symlink_to(real)
    else:
        copies.mkdir()
        if shape == 'file-is-a-dir':
            (copies / 'rules.v4').mkdir()
        elif shape == 'fifo':
            os.mkfifo(str(copies / 'rules.v4'))
        else:
            (real / 'secret').write_text('root only\n')
            (copies / 'rules.v4').symlink_to(real / 'secret')
    result = run({'content': WEB, 'persist_path': persisted, 'copy_dir': str(copies), 'local_fact': FACT})
    refused(kernel, result, persisted, fact_dir, 'copy_dir')
    assert result['field'] == 'copy_dir'
    assert 'root only' not in str(result)
    assert sorted(os.listdir(str(real))) in ([], ['secret'])


@pytest.mark.parametrize('option,path,words', [
    ('persist_path', '/proc/sys/net/ipv4/rampart-rules', '/proc'),
    ('persist_path', '/sys/fs/rules.v4', '/sys'),
    ('persist_path', '/dev/shm/rules.v4', '/dev'),
    ('copy_dir', '/proc/self/rampart', '/proc'),
    ('copy_dir', '/sys/fs/rampart', '/sys'),
])
def test_outputs_in_kernel_interfaces_change_nothing(kernel, persisted, fact_dir, option, path, words):
    args = {'content': WEB, 'persist_path': persisted, 'local_fact': FACT}
    args[option] = path
    result = run(args)
    refused(kernel, result, persisted, fact_dir, words)
    assert option in result['msg']


def test_a_symlinked_backup_directory_changes_nothing(kernel, persisted, fact_dir, tmp_path, monkeypatch):
    (tmp_path / 'elsewhere').mkdir()
    (tmp_path / 'backups-link').symlink_to(tmp_path / 'elsewhere')
    monkeypatch.setattr(ruleset_apply, 'BACKUP_DIR', str(tmp_path / 'backups-link' / 'rampart-firewall'))
    result = run({'content': WEB, 'persist_path': persisted, 'backup': True, 'local_fact': FACT})
    refused(kernel, result, persisted, fact_dir, 'backup')
    assert os.listdir(str(tmp_path / 'elsewhere')) == []


def test_a_refused_backup_writes_no_local_fact(kernel, persisted, fact_dir, tmp_path, monkeypatch):
    """The backup step refuses at write time (a directory others can enter): the local fact, written
    first before issue 22, is not written, nor is anything else."""
    backups = tmp_path / 'backups'
    backups.mkdir()
    os.chmod(str(backups), 0o755)
    monkeypatch.setattr(ruleset_apply, 'BACKUP_DIR', str(backups))
    result = run({'content': WEB, 'persist_path': persisted, 'backup': True, 'local_fact': FACT})
    assert result['failed'] is True and result['changed'] is False and 'backup' in result['msg']
    assert kernel.restored == []
    assert not os.path.exists(persisted) and not os.path.exists(str(fact_dir / 'rampart.fact'))
    assert 'live_state' not in result, 'nothing was written: a plain refusal'


# ---- a failure after the point of no return names what is live and what was written ---------------

def failing_writes(monkeypatch, what):
    real = outputs.write_owned

    def write_owned(module, path, content, mode, dir_mode):
        if what in path:
            raise iptables_host.HostError('cannot write %s: No space left on device' % path)
        return real(module, path, content, mode, dir_mode)
    monkeypatch.setattr(outputs, 'write_owned', write_owned)


def test_a_copy_failing_after_the_apply_names_what_is_live_and_written(kernel, persisted, fact_dir, tmp_path, monkeypatch):
    failing_writes(monkeypatch, 'rules.v4')
    copies = tmp_path / 'copies'
    result = run({'content': WEB, 'persist_path': persisted, 'copy_dir': str(copies), 'local_fact': FACT})
    assert result['failed'] is True and result['changed'] is True
    assert result['live_state'] == {'ipv4': 'changed'}
    assert result['written'] == [persisted]
    assert 'The new ipv4 ruleset is live' in result['msg'] and 'written: %s' % persisted in result['msg']
    assert 'No space left on device' in result['msg']
    assert len(kernel.restored) == 1 and os.path.exists(persisted)
    assert not os.path.exists(str(fact_dir / 'rampart.fact')), 'the local fact comes last'


def test_a_local_fact_failing_after_the_apply_names_what_is_live_and_written(kernel, persisted, fact_dir, monkeypatch):
    failing_writes(monkeypatch, 'rampart.fact')
    result = run({'content': WEB, 'persist_path': persisted, 'local_fact': FACT})
    assert result['failed'] is True and result['changed'] is True
    assert result['live_state'] == {'ipv4': 'changed'} and result['written'] == [persisted]
    assert 'local fact' in result['msg']


def test_a_local_fact_failing_during_a_window_withdraws_it(kernel, persisted, fact_dir, window, monkeypatch):
    """With confirm-or-revert, the answer is the point of no return: the started timer waits for the
    apply lock this run holds, finds its window withdrawn and applies nothing."""
    state, bodies = window
    failing_writes(monkeypatch, 'rampart.fact')
    result = run({'content': WEB, 'persist_path': persisted, 'local_fact': FACT, 'rollback_timeout': 30})
    assert result['failed'] is True and result['changed'] is False
    assert 'rollback' not in result
    assert rollback.pending(state) == []
    assert len(bodies) == 1
    monkeypatch.setattr(rollback, 'watch', lambda *args, **kwargs: 'pending')
    with pytest.raises(SystemExit):
        bodies.pop(0)()
    assert kernel.restored == [] and not os.path.exists(persisted)


# ---- both families: the second fails after the first family's timer started ------------------------

def test_second_family_failing_after_the_first_timer_started_withdraws_both(kernel, targets, window, monkeypatch):
    state, bodies = window
    calls = []

    def spawn(body):
        calls.append(body)
        if len(calls) == 2:
            raise OSError(11, 'Resource temporarily unavailable')
        bodies.append(body)
        return 4242
    monkeypatch.setattr(rollback, 'spawn', spawn)
    result = run(both(rollback_timeout=30))
    assert result['failed'] is True and result['changed'] is False, result
    assert 'cannot start the revert timer of the ipv6 window' in result['msg']
    assert rollback.pending(state) == [], 'both windows withdrawn'
    assert 'rollback' not in result
    # the first family's timer, started, applies nothing once it gets the lock
    monkeypatch.setattr(rollback, 'watch', lambda *args, **kwargs: 'pending')
    assert len(bodies) == 1
    with pytest.raises(SystemExit):
        bodies.pop(0)()
    assert kernel.restored == []
    assert not os.path.exists(targets['ipv4']) and not os.path.exists(targets['ipv6'])
    assert os.listdir(state) == ['apply.lock'], 'no state file is left behind'


def test_second_family_backup_failing_starts_no_timer(kernel, targets, window, monkeypatch, tmp_path):
    """The backups of both families come before the first timer starts."""
    state, bodies = window
    real = ruleset_apply.RulesetApply.backup

    def backup(self, live_text):
        if self.family == 'ipv6':
            raise ruleset_apply.FirewallError('cannot write the backup in %s: No space left on device' % ruleset_apply.BACKUP_DIR)
        return real(self, live_text)
    monkeypatch.setattr(ruleset_apply.RulesetApply, 'backup', backup)
    result = run(both(rollback_timeout=30, backup=True))
    assert result['failed'] is True and result['changed'] is False
    assert bodies == [] and rollback.pending(state) == [] and kernel.restored == []
    assert result['live_state'] == {'ipv4': 'unchanged', 'ipv6': 'unchanged'}
    assert len(result['written']) == 1 and '/iptables-' in result['written'][0]


def test_both_families_refuse_a_bad_output_path_of_either_before_anything(kernel, targets, window, tmp_path):
    state, bodies = window
    copies = tmp_path / 'copies'
    copies.mkdir()
    os.mkfifo(str(copies / 'rules.v6'))
    result = run(both(rollback_timeout=30, copy_dir=str(copies)))
    assert result['failed'] is True and result['changed'] is False and 'FIFO' in result['msg']
    assert bodies == [] and rollback.pending(state) == [] and kernel.restored == []
    assert not os.path.exists(targets['ipv4'])
