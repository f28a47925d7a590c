# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iptables_ruleset and the record of what it applied (issue 23, exact ownership): a rule of ours on
docker0 or a br-* bridge removed from the ruleset is gone live and persisted on the next run; the
first run without a record; a stale persisted file holding Docker's rules; a forged, symlinked,
oversized or foreign-owned record refused (treated as no record, with a warning); the record written
only after the confirmation; seeded from the copy of the rules (copy_dir)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
from ansible_collections.rampart.firewall.plugins.module_utils.ownership import RECORD_HEADER, parse_record

from test_iptables_ruleset import confirm, kernel, persisted, run, timer_applies, window  # noqa: F401 pylint: disable=unused-import

LIVE = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'live')

HEAD = '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n'
BASE = ('-A INPUT -i lo -j ACCEPT\n'
        '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n'
        '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n')
DOCKER0_RULE = '-A INPUT -i docker0 -p tcp -m tcp --dport 5432 -j ACCEPT'
BR_LAN_RULE = '-A INPUT -i br-lan -p udp -m udp --dport 67 -j ACCEPT'
WITH_BRIDGE_RULES = HEAD + BASE + DOCKER0_RULE + '\n' + BR_LAN_RULE + '\nCOMMIT\n'
WITHOUT = HEAD + BASE + 'COMMIT\n'


def docker_host():
    with open(os.path.join(LIVE, 'docker-fail2ban-bookworm.v4')) as handle:
        return handle.read()


def record_file(family='ipv4'):
    return iptables_outputs.record_path(family)


def read(path):
    with open(path) as handle:
        return handle.read()


def test_rule_of_ours_on_docker0_and_br_lan_is_gone_live_and_persisted_on_the_next_run(kernel, persisted):
    kernel.live['ipv4'] = docker_host()
    first = run({'content': WITH_BRIDGE_RULES, 'persist_path': persisted})
    assert first['changed'] is True and first['record'] == {'path': record_file(), 'state': 'none'}
    assert DOCKER0_RULE in kernel.live['ipv4'] and DOCKER0_RULE in read(persisted)
    recorded = parse_record(read(record_file()), 'ipv4')
    assert recorded == parse(WITH_BRIDGE_RULES)

    second = run({'content': WITHOUT, 'persist_path': persisted})
    assert second['changed'] is True and second['record']['state'] == 'read'
    assert second['ours_removed'] == [DOCKER0_RULE, BR_LAN_RULE]
    assert second['unknown_rules'] == []
    assert second['ownership']['ours'] == 3 and second['ownership']['ours_removed'] == 2
    assert second['ownership']['unknown'] == 0 and second['ownership']['neighbours'] > 0
    for text in (kernel.live['ipv4'], read(persisted)):
        assert DOCKER0_RULE not in text and BR_LAN_RULE not in text
    # Docker's own rules are still live, and none of them persisted
    assert '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT' in kernel.live['ipv4']
    assert 'docker0' not in read(persisted) and 'DOCKER' not in read(persisted)

    third = run({'content': WITHOUT, 'persist_path': persisted})
    assert third['changed'] is False
    assert third['ours_removed'] == [] and third['neighbour_rules'] == second['neighbour_rules']


def test_first_run_without_record_on_a_host_with_a_stale_persisted_docker_file(kernel, persisted):
    """netfilter-persistent save once ran with Docker up: the file holds Docker's DOCKER nat chain, its
    DNAT to a container and its MASQUERADE. After one run nothing of Docker's is in our file."""
    host = docker_host()
    with open(persisted, 'w') as handle:
        handle.write(host)
    kernel.live['ipv4'] = host
    result = run({'content': WITHOUT, 'persist_path': persisted})
    assert result['record']['state'] == 'none'
    assert result['persist_changed'] is True
    text = read(persisted)
    for word in ('DOCKER', 'docker0', '172.17.', 'DNAT', 'MASQUERADE', 'f2b-'):
        assert word not in text, word
    assert parse(text) == parse(WITHOUT)
    # live: Docker's and fail2ban's chains and rules are still there
    assert '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80' in kernel.live['ipv4']
    assert ':f2b-sshd' in kernel.live['ipv4']
    again = run({'content': WITHOUT, 'persist_path': persisted})
    assert again['changed'] is False and again['record']['state'] == 'read'


def test_unknown_rule_is_removed_reported_and_warned(kernel, persisted):
    kernel.live['ipv4'] = docker_host()
    run({'content': WITHOUT, 'persist_path': persisted})
    kernel.warnings[:] = []
    kernel.live['ipv4'] = kernel.live['ipv4'].replace(
        '-A INPUT -i lo -j ACCEPT\n', '-A INPUT -s 198.51.100.0/24 -j ACCEPT\n-A INPUT -i lo -j ACCEPT\n')
    result = run({'content': WITHOUT, 'persist_path': persisted})
    assert result['changed'] is True
    assert result['unknown_rules'] == ['-A INPUT -s 198.51.100.0/24 -j ACCEPT']
    assert '198.51.100.0/24' not in kernel.live['ipv4']
    assert any('unknown_rules' in warning and '198.51.100.0/24' in warning for warning in kernel.warnings)


def test_check_mode_writes_no_record(kernel, persisted):
    kernel.live['ipv4'] = docker_host()
    result = run({'content': WITH_BRIDGE_RULES, 'persist_path': persisted}, check_mode=True)
    assert result['changed'] is True
    assert not os.path.exists(record_file())


def test_record_is_written_only_after_the_confirmation(kernel, persisted, window, monkeypatch):
    state, bodies = window
    kernel.live['ipv4'] = docker_host()
    result = run({'content': WITH_BRIDGE_RULES, 'persist_path': persisted, 'rollback_timeout': 30})
    timer_applies(bodies, monkeypatch)
    assert not os.path.exists(record_file()), 'nothing is recorded before the confirmation'
    done = confirm({'token': result['rollback']['token']})
    assert done['confirmed'] == 'confirmed'
    assert parse_record(read(record_file()), 'ipv4') == parse(WITH_BRIDGE_RULES)
    assert oct(os.stat(record_file()).st_mode & 0o777) == oct(iptables_outputs.RECORD_MODE)
    assert oct(os.stat(os.path.dirname(record_file())).st_mode & 0o777) == oct(iptables_outputs.RECORD_DIR_MODE)


def test_copy_of_the_rules_seeds_the_record_of_a_first_run(kernel, persisted, tmp_path):
    """An existing host (earlier version, no record) whose copy_dir holds the last applied ruleset: its
    rules are ours, so a docker0 rule it declared and the new ruleset drops is removed."""
    copy_dir = tmp_path / 'conf'
    copy_dir.mkdir(mode=0o700)
    (copy_dir / 'rules.v4').write_text(WITH_BRIDGE_RULES)
    os.chmod(str(copy_dir / 'rules.v4'), 0o600)
    kernel.live['ipv4'] = docker_host().replace(
        '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n',
        '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n%s\n%s\n' % (DOCKER0_RULE, BR_LAN_RULE))
    result = run({'content': WITHOUT, 'persist_path': persisted, 'copy_dir': str(copy_dir)})
    assert result['record']['state'] == 'seeded'
    assert result['ours_removed'] == [DOCKER0_RULE, BR_LAN_RULE]
    assert DOCKER0_RULE not in kernel.live['ipv4']


def _forge_symlink(path, tmp_path):
    target = tmp_path / 'elsewhere'
    target.write_text(RECORD_HEADER % 'ipv4' + WITH_BRIDGE_RULES)
    os.symlink(str(target), path)


def _forge_oversized(path, tmp_path):
    with open(path, 'w') as handle:
        handle.write(RECORD_HEADER % 'ipv4' + WITH_BRIDGE_RULES)
        handle.write('#' * (iptables_outputs.RECORD_LIMIT + 1))


def _forge_not_root(path, tmp_path):
    with open(path, 'w') as handle:
        handle.write(RECORD_HEADER % 'ipv4' + WITH_BRIDGE_RULES)
    os.chown(path, 65534, 65534)


def _forge_group_writable(path, tmp_path):
    with open(path, 'w') as handle:
        handle.write(RECORD_HEADER % 'ipv4' + WITH_BRIDGE_RULES)
    os.chmod(path, 0o660)


def _forge_no_header(path, tmp_path):
    with open(path, 'w') as handle:
        handle.write(WITH_BRIDGE_RULES)


def _forge_garbage(path, tmp_path):
    with open(path, 'wb') as handle:
        handle.write((RECORD_HEADER % 'ipv4').encode() + b'*filter\n\xff\xfe-A INPUT -j\n')


def _forge_fifo(path, tmp_path):
    os.mkfifo(path)


@pytest.mark.parametrize('forge', [_forge_symlink, _forge_oversized, _forge_not_root, _forge_group_writable,
                                   _forge_no_header, _forge_garbage, _forge_fifo],
                         ids=['symlink', 'oversized', 'not-root', 'group-writable', 'no-header', 'garbage', 'fifo'])
def test_a_record_that_is_not_ours_is_refused(kernel, persisted, tmp_path, monkeypatch, forge):
    """Treated as no record, with a warning: the docker0 rule it names is not made ours (it stays the
    neighbour's, kept live, not persisted); the apply writes a good record afterwards."""
    if forge is _forge_oversized:
        monkeypatch.setattr(iptables_outputs, 'RECORD_LIMIT', 4096)
    path = record_file()
    os.makedirs(os.path.dirname(path), 0o700)
    forge(path, tmp_path)
    kernel.live['ipv4'] = docker_host().replace(
        '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n%s\n' % DOCKER0_RULE)
    result = run({'content': WITHOUT, 'persist_path': persisted})
    assert 'failed' not in result, result.get('msg')
    assert result['record'] == {'path': path, 'state': 'refused'}
    assert any(warning.startswith('ignoring the ownership record') for warning in kernel.warnings), kernel.warnings
    assert DOCKER0_RULE in result['neighbour_rules'] and DOCKER0_RULE in kernel.live['ipv4']
    assert DOCKER0_RULE not in read(persisted)
    assert not os.path.islink(path)
    assert parse_record(read(path), 'ipv4') == parse(WITHOUT)
    info = os.lstat(path)
    assert info.st_uid == os.geteuid() and oct(info.st_mode & 0o777) == oct(iptables_outputs.RECORD_MODE)
    assert run({'content': WITHOUT, 'persist_path': persisted})['record']['state'] == 'read'


def test_a_record_dir_of_someone_else_is_refused(kernel, persisted):
    path = record_file()
    os.makedirs(os.path.dirname(path), 0o700)
    with open(path, 'w') as handle:
        handle.write(RECORD_HEADER % 'ipv4' + WITH_BRIDGE_RULES)
    os.chmod(os.path.dirname(path), 0o777)
    kernel.live['ipv4'] = docker_host()
    result = run({'content': WITHOUT, 'persist_path': persisted})
    assert result['record']['state'] == 'refused'
    assert any('writable by group or others' in warning for warning in kernel.warnings)
    # written again, and the directory put back to root-only
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == oct(iptables_outputs.RECORD_DIR_MODE)
    assert run({'content': WITHOUT, 'persist_path': persisted})['record']['state'] == 'read'


def test_a_record_dir_owned_by_another_user_fails_before_anything_changes(kernel, persisted):
    path = record_file()
    os.makedirs(os.path.dirname(path), 0o700)
    os.chown(os.path.dirname(path), 65534, 65534)
    kernel.live['ipv4'] = before = docker_host()
    result = run({'content': WITHOUT, 'persist_path': persisted})
    assert result['failed'] is True and 'record directory' in result['msg']
    assert result['changed'] is False
    assert kernel.restored == [] and kernel.live['ipv4'] == before and not os.path.exists(persisted)
