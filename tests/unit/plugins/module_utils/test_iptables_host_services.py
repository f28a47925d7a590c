# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""enable_services_families: the boot services of every family of one call in one `systemctl is-enabled`.

The fake systemctl answers as the two systemd versions of the test images do (checked in the
bookworm and trixie images): systemd 252 prints an error for a missing unit and stops there,
systemd 257 prints "not-found" and goes on; both print one state per unit, in order.
"""

from __future__ import annotations

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    HostError,
    enable_services,
    enable_services_families,
)

DEBIAN = [('ipv4', ('netfilter-persistent',), 'iptables-persistent'),
          ('ipv6', ('netfilter-persistent',), 'iptables-persistent')]
RHEL = [('ipv4', ('iptables.service',), 'iptables-services'),
        ('ipv6', ('ip6tables.service',), 'iptables-services')]


class FakeModule:
    """run_command of a systemctl knowing UNITS {name: state} (absent: not installed)."""

    def __init__(self, units, systemd=257, check_mode=False, refuse=()):
        self.units = dict(units)
        self.systemd = systemd
        self.check_mode = check_mode
        self.refuse = set(refuse)   # units whose enable fails (not a missing unit)
        self.calls = []
        self.warnings = []

    def get_bin_path(self, name):
        return '/usr/bin/systemctl' if name == 'systemctl' else None

    def warn(self, msg):
        self.warnings.append(msg)

    def run_command(self, argv, environ_update=None):
        assert environ_update == {'LANG': 'C', 'LC_ALL': 'C'}
        self.calls.append(argv[1:])
        verb, units = argv[1], argv[2:]
        if verb == 'is-enabled':
            out, err, any_enabled = [], '', False
            for unit in units:
                state = self.units.get(unit)
                if state is None:
                    if self.systemd < 257:
                        err = 'Failed to get unit file state for %s: No such file or directory\n' % unit
                        return 1, ''.join(line + '\n' for line in out), err
                    state = 'not-found'
                out.append(state)
                any_enabled = any_enabled or state in ('enabled', 'static', 'alias', 'indirect', 'generated', 'transient')
            rc = 0 if any_enabled else (4 if out and all(s == 'not-found' for s in out) else 1)
            return rc, ''.join(line + '\n' for line in out), err
        if verb == 'enable':
            for unit in units:
                if unit not in self.units:
                    return 1, '', 'Failed to enable unit: Unit file %s does not exist.\n' % unit
                if unit in self.refuse:
                    return 1, '', 'Failed to enable unit %s: Access denied\n' % unit
                self.units[unit] = 'enabled'
            return 0, '', ''
        raise AssertionError(argv)


@pytest.mark.parametrize('systemd', [252, 257])
def test_a_rerun_is_one_systemctl_call(systemd):
    module = FakeModule({'netfilter-persistent': 'enabled'}, systemd)
    assert enable_services_families(module, DEBIAN) == {'ipv4': [], 'ipv6': []}
    assert module.calls == [['is-enabled', 'netfilter-persistent']]
    module = FakeModule({'iptables.service': 'enabled', 'ip6tables.service': 'enabled'}, systemd)
    assert enable_services_families(module, RHEL) == {'ipv4': [], 'ipv6': []}
    assert module.calls == [['is-enabled', 'iptables.service', 'ip6tables.service']]
    assert not module.warnings


def test_a_shared_service_is_enabled_once_under_the_first_family():
    module = FakeModule({'netfilter-persistent': 'disabled'})
    assert enable_services_families(module, DEBIAN) == {'ipv4': ['netfilter-persistent'], 'ipv6': []}
    assert module.calls == [['is-enabled', 'netfilter-persistent'], ['enable', 'netfilter-persistent']]
    assert module.units['netfilter-persistent'] == 'enabled'


def test_the_services_to_enable_are_enabled_in_one_call():
    module = FakeModule({'iptables.service': 'disabled', 'ip6tables.service': 'static'})
    assert enable_services_families(module, RHEL) == {'ipv4': ['iptables.service'], 'ipv6': []}
    module = FakeModule({'iptables.service': 'disabled', 'ip6tables.service': 'disabled'})
    assert enable_services_families(module, RHEL) == {'ipv4': ['iptables.service'], 'ipv6': ['ip6tables.service']}
    assert module.calls[-1] == ['enable', 'iptables.service', 'ip6tables.service']


def test_check_mode_reports_and_changes_nothing():
    module = FakeModule({'iptables.service': 'disabled', 'ip6tables.service': 'enabled'}, check_mode=True)
    assert enable_services_families(module, RHEL) == {'ipv4': ['iptables.service'], 'ipv6': []}
    assert [call[0] for call in module.calls] == ['is-enabled']
    assert module.units['iptables.service'] == 'disabled'


@pytest.mark.parametrize('systemd', [252, 257])
def test_a_missing_unit_is_a_warning_and_the_others_are_still_handled(systemd):
    # systemd 252 stops at the missing unit: the ones after it are asked again
    module = FakeModule({'ip6tables.service': 'disabled'}, systemd)
    assert enable_services_families(module, RHEL) == {'ipv4': [], 'ipv6': ['ip6tables.service']}
    assert module.warnings == ['the service iptables.service that restores the persisted rules at boot is not installed: '
                               'install the package iptables-services']
    assert module.units['ip6tables.service'] == 'enabled'
    assert module.calls[-1] == ['enable', 'ip6tables.service']
    asked = [call for call in module.calls if call[0] == 'is-enabled']
    assert len(asked) == (2 if systemd == 252 else 1)


def test_a_masked_service_is_a_warning_once():
    module = FakeModule({'netfilter-persistent': 'masked'})
    assert enable_services_families(module, DEBIAN) == {'ipv4': [], 'ipv6': []}
    assert module.warnings == ['the service netfilter-persistent that restores the persisted rules at boot is masked: '
                               'the rules will not be loaded at boot']
    assert [call[0] for call in module.calls] == ['is-enabled']


def test_same_answers_as_enable_services_family_by_family():
    """The result and the warnings are those of two enable_services calls in a row (one per family),
    with a shared service's warning given once."""
    for units in ({}, {'iptables.service': 'disabled'}, {'iptables.service': 'masked', 'ip6tables.service': 'disabled'},
                  {'iptables.service': 'enabled', 'ip6tables.service': 'indirect'}):
        for check_mode in (False, True):
            together, apart = FakeModule(units, check_mode=check_mode), FakeModule(units, check_mode=check_mode)
            expected = dict((family, enable_services(apart, services, package)) for family, services, package in RHEL)
            assert enable_services_families(together, RHEL) == expected
            assert together.warnings == apart.warnings
            assert together.units == apart.units


def test_a_failed_enable_falls_back_to_one_by_one():
    # the combined enable fails on a unit that vanished meanwhile: the other is still enabled, the vanished one warned about
    module = FakeModule({'iptables.service': 'disabled', 'ip6tables.service': 'disabled'})
    real = module.run_command

    def vanish(argv, environ_update=None):
        if argv[1] == 'enable' and len(argv) > 3:
            del module.units['iptables.service']
        return real(argv, environ_update)

    module.run_command = vanish
    assert enable_services_families(module, RHEL) == {'ipv4': [], 'ipv6': ['ip6tables.service']}
    assert module.units['ip6tables.service'] == 'enabled'
    assert 'iptables.service' in module.warnings[0] and 'not installed' in module.warnings[0]


def test_an_enable_that_fails_for_another_reason_raises():
    module = FakeModule({'iptables.service': 'disabled', 'ip6tables.service': 'enabled'}, refuse=['iptables.service'])
    with pytest.raises(HostError) as caught:
        enable_services_families(module, RHEL)
    assert 'cannot enable iptables.service' in caught.value.msg


def test_no_systemctl_or_no_services():
    module = FakeModule({})
    module.get_bin_path = lambda name: None
    assert enable_services_families(module, RHEL) == {'ipv4': [], 'ipv6': []}
    assert module.calls == []
    module = FakeModule({})
    assert enable_services_families(module, [('ipv4', (), 'x')]) == {'ipv4': []}
    assert module.calls == []
