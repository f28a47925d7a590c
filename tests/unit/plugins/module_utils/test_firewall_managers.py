# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_managers.other_managers on a file tree laid out as systemd and ufw leave it."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.firewall_managers import other_managers, refusal


def link(root, path, target):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(text)


def names(root):
    return [item['name'] for item in other_managers(str(root))]


def test_nothing_on_a_bare_host(tmp_path):
    assert other_managers(str(tmp_path)) == []
    os.makedirs(str(tmp_path / 'etc/systemd/system/multi-user.target.wants'))
    link(tmp_path, '/etc/systemd/system/multi-user.target.wants/ssh.service', '/lib/systemd/system/ssh.service')
    assert other_managers(str(tmp_path)) == []


def test_firewalld_enabled_but_stopped_is_found(tmp_path):
    """An enabled, stopped firewalld starts at boot and replaces the rules (issue 23)."""
    link(tmp_path, '/etc/systemd/system/multi-user.target.wants/firewalld.service', '/usr/lib/systemd/system/firewalld.service')
    assert other_managers(str(tmp_path)) == [{
        'name': 'firewalld', 'enabled': True, 'running': False,
        'evidence': ['/etc/systemd/system/multi-user.target.wants/firewalld.service']}]


def test_firewalld_running_but_not_enabled_is_found(tmp_path):
    link(tmp_path, '/run/systemd/units/invocation:firewalld.service', '0123456789abcdef0123456789abcdef')
    found = other_managers(str(tmp_path))
    assert found == [{'name': 'firewalld', 'enabled': False, 'running': True,
                      'evidence': ['/run/systemd/units/invocation:firewalld.service']}]


def test_a_masked_unit_counts_as_off(tmp_path):
    link(tmp_path, '/etc/systemd/system/firewalld.service', '/dev/null')
    link(tmp_path, '/etc/systemd/system/multi-user.target.wants/firewalld.service', '/usr/lib/systemd/system/firewalld.service')
    link(tmp_path, '/etc/systemd/system/nftables.service', '/dev/null')
    link(tmp_path, '/etc/systemd/system/sysinit.target.wants/nftables.service', '/lib/systemd/system/nftables.service')
    assert other_managers(str(tmp_path)) == []


def test_nftables_enabled_is_found_but_not_its_package(tmp_path):
    """Debian's nftables package (a dependency of crowdsec-firewall-bouncer) leaves the service disabled: not found."""
    write(tmp_path, '/etc/nftables.conf', 'flush ruleset\n')
    write(tmp_path, '/lib/systemd/system/nftables.service', '[Unit]\n')
    assert names(tmp_path) == []
    link(tmp_path, '/etc/systemd/system/sysinit.target.wants/nftables.service', '/lib/systemd/system/nftables.service')
    assert other_managers(str(tmp_path)) == [{'name': 'nftables', 'enabled': True, 'running': None,
                                              'evidence': ['/etc/systemd/system/sysinit.target.wants/nftables.service']}]


@pytest.mark.parametrize('conf, active', [
    ('ENABLED=yes\n', True),
    ('# comment\nIPV6=yes\nENABLED="yes"\nLOGLEVEL=low\n', True),
    ('ENABLED=no\n', False),
    ('#ENABLED=yes\nENABLED=no\n', False),
    ('', False),
])
def test_ufw_active_when_its_conf_says_so_and_it_is_installed(tmp_path, conf, active):
    write(tmp_path, '/etc/ufw/ufw.conf', conf)
    assert names(tmp_path) == []   # not installed (a conf left after a remove)
    write(tmp_path, '/usr/sbin/ufw', '#!/usr/bin/python3\n')
    assert names(tmp_path) == (['ufw'] if active else [])
    if active:
        link(tmp_path, '/etc/systemd/system/ufw.service', '/dev/null')
        assert names(tmp_path) == []


def test_ufw_conf_through_a_symlink_is_not_read(tmp_path):
    write(tmp_path, '/usr/sbin/ufw', '')
    write(tmp_path, '/elsewhere/ufw.conf', 'ENABLED=yes\n')
    link(tmp_path, '/etc/ufw/ufw.conf', str(tmp_path / 'elsewhere/ufw.conf'))
    assert names(tmp_path) == []


def test_all_three_in_order(tmp_path):
    write(tmp_path, '/usr/sbin/ufw', '')
    write(tmp_path, '/etc/ufw/ufw.conf', 'ENABLED=yes\n')
    link(tmp_path, '/etc/systemd/system/sysinit.target.wants/nftables.service', '/lib/systemd/system/nftables.service')
    link(tmp_path, '/run/systemd/units/invocation:firewalld.service', 'x')
    assert names(tmp_path) == ['firewalld', 'nftables', 'ufw']


def test_refusal_names_only_the_refused_ones(tmp_path):
    link(tmp_path, '/etc/systemd/system/multi-user.target.wants/firewalld.service', 'x')
    link(tmp_path, '/etc/systemd/system/sysinit.target.wants/nftables.service', 'x')
    found = other_managers(str(tmp_path))
    assert refusal(found, []) is None
    assert refusal(found, ['ufw']) is None
    msg = refusal(found, ['nftables'])
    assert msg.startswith('another firewall manager would replace these rules, nothing was changed: nftables is enabled')
    assert 'firewalld' not in msg.split('(The roles', maxsplit=1)[0] and 'flush ruleset' in msg and 'systemctl disable nftables' in msg
    msg = refusal(found, ['firewalld', 'nftables', 'ufw'])
    assert 'firewalld is enabled (/etc/systemd/system/multi-user.target.wants/firewalld.service)' in msg
    assert 'systemctl disable --now firewalld' in msg
