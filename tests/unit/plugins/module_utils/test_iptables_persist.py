# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import (
    PersistTarget,
    UnknownDistributionError,
    persist_target,
    read_os_release,
)

DEBIAN = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
'''

UBUNTU = '''PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
'''

MINT = '''NAME="Linux Mint"
ID=linuxmint
ID_LIKE="ubuntu debian"
'''

RHEL = '''NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
'''

ROCKY = '''NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
'''

FEDORA = '''NAME="Fedora Linux"
VERSION="40 (Server Edition)"
ID=fedora
VERSION_ID=40
PRETTY_NAME="Fedora Linux 40 (Server Edition)"
'''

AMAZON = '''NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
'''

SOME_EL_CLONE = '''NAME="Some EL clone"
ID="someel"
ID_LIKE="rhel"
'''

ARCH = '''NAME="Arch Linux"
PRETTY_NAME="Arch Linux"
ID=arch
BUILD_ID=rolling
'''

ENDEAVOUR = '''NAME="EndeavourOS"
ID="endeavouros"
ID_LIKE="arch"
'''

SUSE = '''NAME="openSUSE Leap"
VERSION="15.6"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
PRETTY_NAME="openSUSE Leap 15.6"
'''


def test_read_os_release_unquotes_and_skips_comments():
    text = '# comment\n\nNAME="Debian GNU/Linux"\nID=debian\nPRETTY=\'single quoted\'\nESC="a \\"b\\" c"\nbroken line\nBAD="unbalanced\n'
    data = read_os_release(text)
    assert data['NAME'] == 'Debian GNU/Linux'
    assert data['ID'] == 'debian'
    assert data['PRETTY'] == 'single quoted'
    assert data['ESC'] == 'a "b" c'
    assert data['BAD'] == 'unbalanced'
    assert 'broken line' not in data


def test_read_os_release_empty():
    assert read_os_release('') == {}
    assert read_os_release(None) == {}


@pytest.mark.parametrize('text', [DEBIAN, UBUNTU, MINT])
def test_debian_family(text):
    v4 = persist_target(read_os_release(text), 'ipv4')
    v6 = persist_target(read_os_release(text), 'ipv6')
    assert v4 == PersistTarget('/etc/iptables/rules.v4', ('netfilter-persistent',), 'iptables-persistent', 0o640)
    assert v6 == PersistTarget('/etc/iptables/rules.v6', ('netfilter-persistent',), 'iptables-persistent', 0o640)


@pytest.mark.parametrize('text', [RHEL, ROCKY, FEDORA, AMAZON, SOME_EL_CLONE])
def test_rhel_family(text):
    v4 = persist_target(read_os_release(text), 'ipv4')
    v6 = persist_target(read_os_release(text), 'ipv6')
    assert v4 == PersistTarget('/etc/sysconfig/iptables', ('iptables.service',), 'iptables-services', 0o600)
    assert v6 == PersistTarget('/etc/sysconfig/ip6tables', ('ip6tables.service',), 'iptables-services', 0o600)


@pytest.mark.parametrize('ident', ['centos', 'almalinux', 'ol', 'rocky', 'rhel', 'fedora', 'amzn'])
def test_rhel_ids(ident):
    assert persist_target({'ID': ident}, 'ipv4').path == '/etc/sysconfig/iptables'


@pytest.mark.parametrize('text', [ARCH, ENDEAVOUR, 'ID=manjaro\nID_LIKE=arch\n'])
def test_arch_family(text):
    v4 = persist_target(read_os_release(text), 'ipv4')
    v6 = persist_target(read_os_release(text), 'ipv6')
    assert v4 == PersistTarget('/etc/iptables/iptables.rules', ('iptables.service',), 'iptables', 0o644)
    assert v6 == PersistTarget('/etc/iptables/ip6tables.rules', ('ip6tables.service',), 'iptables', 0o644)


def test_unknown_distribution_says_to_set_persist_path():
    with pytest.raises(UnknownDistributionError) as info:
        persist_target(read_os_release(SUSE), 'ipv4')
    message = str(info.value)
    assert 'persist_path' in message
    assert 'openSUSE Leap 15.6' in message
    assert isinstance(info.value, ValueError)


def test_no_os_release_at_all():
    with pytest.raises(UnknownDistributionError, match='persist_path'):
        persist_target({}, 'ipv6')


def test_bad_family():
    with pytest.raises(ValueError, match='family'):
        persist_target(read_os_release(DEBIAN), 'inet')


def test_persist_target_default_mode():
    assert PersistTarget('/x', (), None).mode == 0o600
