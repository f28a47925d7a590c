# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 22: no read through a symlink or a non-regular file for a diff, a copy or a persisted file.
copy_dir is kept with its owner (a non-root user may own it): a rules.v4 link planted there must not
bring its target (a root-only file) back as the diff's "before". One helper reads every file the
modules show or overwrite: iptables_host.read_own_file."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_host
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs as outputs
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_ruleset_apply as ruleset_apply
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import PersistTarget

from ansible_collections.rampart.firewall.tests.unit.plugins.modules import test_iptables_ruleset as base

WEB = base.WEB
run = base.run
kernel = base.kernel
window = base.window
persisted = base.persisted

SECRET = 'root:$6$very-secret-hash:19000:0:99999:7:::\n'


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / 'shadow'
    path.write_text(SECRET)
    os.chmod(str(path), 0o600)
    return str(path)


# ---- the helper ------------------------------------------------------------------------------

def test_read_own_file_refuses_a_symlink_and_names_the_path(tmp_path, secret):
    link = tmp_path / 'rules.v4'
    link.symlink_to(secret)
    with pytest.raises(iptables_host.HostError) as info:
        iptables_host.read_own_file('the copy', str(link))
    assert 'refusing to read the copy' in info.value.msg and str(link) in info.value.msg
    assert 'symlink' in info.value.msg and 'secret' not in info.value.msg
    # a dangling link too (lexists, not exists)
    dangling = tmp_path / 'dangling'
    dangling.symlink_to(tmp_path / 'nowhere')
    with pytest.raises(iptables_host.HostError, match='symlink'):
        iptables_host.read_own_file('the copy', str(dangling))


def test_read_own_file_refuses_a_fifo_without_hanging(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    done = []

    def read():
        try:
            iptables_host.read_own_file('local_fact', fifo)
        except iptables_host.HostError as exc:
            done.append(exc.msg)
    thread = threading.Thread(target=read)
    thread.start()
    thread.join(5)
    assert done and 'must be a regular file' in done[0] and fifo in done[0]


def test_read_own_file_reads_a_regular_file_and_none_when_missing(tmp_path):
    path = tmp_path / 'rules.v4'
    path.write_text('x\n')
    assert iptables_host.read_own_file('the copy', str(path)) == b'x\n'
    assert iptables_host.read_own_file('the copy', str(tmp_path / 'missing')) is None
    with pytest.raises(iptables_host.HostError, match='must be a regular file'):
        iptables_host.read_own_file('the copy', str(tmp_path))


def test_src_may_still_be_a_symlink(tmp_path):
    """src is the task's own input, not a file the module shows as "before" or overwrites."""
    real = tmp_path / 'real'
    real.write_text('x\n')
    link = tmp_path / 'src'
    link.symlink_to(real)
    assert iptables_host.read_regular_file('src', str(link)) == b'x\n'


# ---- where the modules read -----------------------------------------------------------------

@pytest.mark.parametrize('diff', [False, True])
def test_symlinked_copy_is_refused_and_its_target_never_shown(kernel, persisted, tmp_path, secret, diff):
    copies = tmp_path / 'copies'
    copies.mkdir()
    (copies / 'rules.v4').symlink_to(secret)
    result = run({'content': WEB, 'persist_path': persisted, 'copy_dir': str(copies)}, diff=diff)
    assert result['failed'] is True
    # refused by the check of every output path before the first change (iptables_host.check_output_paths)
    assert 'copy_dir' in result['msg'] and 'symlink' in result['msg']
    assert str(copies / 'rules.v4') in result['msg'] and result['field'] == 'copy_dir'
    assert 'very-secret-hash' not in json.dumps(result)
    assert kernel.restored == [], 'refused before anything changed'
    assert not os.path.exists(persisted)
    with open(secret) as handle:
        assert handle.read() == SECRET


def test_symlinked_copy_is_refused_with_rulesets_too(kernel, tmp_path, secret, monkeypatch):
    monkeypatch.setattr(ruleset_apply, 'persist_target', lambda os_release, family: PersistTarget(
        str(tmp_path / ('rules.' + family)), (), 'iptables-persistent', 0o640))
    copies = tmp_path / 'copies'
    copies.mkdir()
    (copies / 'rules.v6').symlink_to(secret)
    result = run({'rulesets': {'ipv4': WEB}, 'copy_dir': str(copies)}, diff=True)
    assert result.get('failed') is not True, 'only rules.v4 is read for an IPv4 ruleset'
    result = run({'rulesets': {'ipv6': WEB.replace('icmp', 'ipv6-icmp')}, 'copy_dir': str(copies)}, diff=True)
    assert result['failed'] is True and 'symlink' in result['msg']
    assert 'very-secret-hash' not in json.dumps(result)


def test_plan_copy_refuses_a_fifo(tmp_path):
    fifo = str(tmp_path / 'rules.v4')
    os.mkfifo(fifo)
    with pytest.raises(FirewallError, match='must be a regular file'):
        outputs.plan_copy(fifo, WEB)


def test_persisted_file_turned_into_a_symlink_after_the_path_check_is_not_read(kernel, tmp_path, secret):
    """The path checks run first (check_file_path refuses a symlink); the read itself refuses one too,
    so a link planted between the check and the read brings nothing back."""
    link = tmp_path / 'rules.v4'
    link.symlink_to(secret)
    worker = ruleset_apply.RulesetApply.__new__(ruleset_apply.RulesetApply)
    with pytest.raises(FirewallError) as info:
        worker.read_persisted(str(link))
    assert 'symlink' in info.value.msg and 'very-secret-hash' not in info.value.msg
    assert worker.read_persisted(str(tmp_path / 'missing')) is None


def test_local_fact_symlink_planted_after_the_check_is_not_read(kernel, tmp_path, secret, monkeypatch):
    facts = tmp_path / 'facts.d'
    facts.mkdir()
    monkeypatch.setattr(outputs, 'FACTS_DIR', str(facts))
    (facts / 'fw.fact').symlink_to(secret)
    # the path check passes (as if the link was planted just after it)
    monkeypatch.setattr(outputs, 'check_file_path', lambda option, path: None)
    module = type('M', (), {'params': {'local_fact': {'name': 'fw', 'content': {'a': 1}}}, 'check_mode': False})()
    extras = outputs.Outputs(module)
    with pytest.raises(FirewallError) as info:
        extras.prepare()
    assert 'refusing to read local_fact' in info.value.msg and 'very-secret-hash' not in info.value.msg
