# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables_ruleset's refuse_managers / other_managers: other firewall managers seen on every apply,
in the same call (issue 23), refused before anything is changed."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs

from test_iptables_ruleset import WEB, kernel, persisted, run  # noqa: F401 pylint: disable=unused-import

FIREWALLD = {'name': 'firewalld', 'enabled': True, 'running': False,
             'evidence': ['/etc/systemd/system/multi-user.target.wants/firewalld.service']}
NFTABLES = {'name': 'nftables', 'enabled': True, 'running': None,
            'evidence': ['/etc/systemd/system/sysinit.target.wants/nftables.service']}


@pytest.fixture
def managers(monkeypatch):
    found = []
    monkeypatch.setattr(iptables_outputs, 'other_managers', lambda: list(found))
    return found


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_refused_manager_fails_before_anything_changes(kernel, persisted, managers, check_mode):  # noqa: F811
    managers.extend([FIREWALLD, NFTABLES])
    result = run({'content': WEB, 'persist_path': persisted, 'refuse_managers': ['firewalld', 'nftables', 'ufw']},
                 check_mode=check_mode)
    assert result['failed'] is True
    assert result['msg'].startswith('another firewall manager would replace these rules, nothing was changed: firewalld is enabled')
    assert 'nftables is enabled' in result['msg']
    assert result['other_managers'] == [FIREWALLD, NFTABLES]
    assert kernel.restored == []   # (iptables-restore --test may have run: it changes nothing)
    assert not os.path.exists(persisted)


def test_a_manager_not_refused_is_reported(kernel, persisted, managers):  # noqa: F811
    managers.append(NFTABLES)
    result = run({'content': WEB, 'persist_path': persisted, 'refuse_managers': ['firewalld', 'ufw']})
    assert 'failed' not in result and result['changed'] is True
    assert result['other_managers'] == [NFTABLES]
    again = run({'content': WEB, 'persist_path': persisted, 'refuse_managers': ['firewalld', 'ufw']})
    assert again['changed'] is False and again['other_managers'] == [NFTABLES]


def test_both_families_refused_in_one_call(kernel, tmp_path, managers):  # noqa: F811
    managers.append(FIREWALLD)
    result = run({'rulesets': {'ipv4': WEB, 'ipv6': WEB.replace('icmp', 'ipv6-icmp')}, 'refuse_managers': ['firewalld']})
    assert result['failed'] is True and 'firewalld' in result['msg']
    assert kernel.restored == []


def test_nothing_found_reports_an_empty_list(kernel, persisted, managers):  # noqa: F811
    result = run({'content': WEB, 'persist_path': persisted, 'refuse_managers': ['firewalld', 'nftables', 'ufw']})
    assert result['other_managers'] == [] and result['changed'] is True
