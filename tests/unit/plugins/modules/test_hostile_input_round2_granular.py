# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Regression tests of issue 24 for the granular modules: ssh_connection is read by the one parser
of the collection (ASCII digits only) and a bad one names the option and the value, before
anything runs, whether or not the change touches the filter table."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.firewall.plugins.modules import iptables_chain, iptables_policy, iptables_rule

from test_iptables_rule import kernel, run_module  # noqa: F401 pylint: disable=unused-import

SUPERSCRIPT = u'198.51.100.7 5555 203.0.113.10 \u00b2\u00b2'
FULLWIDTH = u'198.51.100.7 5555 203.0.113.10 \uff12\uff12'
MODULES = [
    (iptables_rule, {'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 443, 'jump': 'ACCEPT'}),
    (iptables_chain, {'chain': 'fuzz-in'}),
    (iptables_policy, {'chain': 'INPUT', 'policy': 'DROP'}),
]


@pytest.mark.parametrize('value', [SUPERSCRIPT, FULLWIDTH, '198.51.100.7 5555 203.0.113.10'])
@pytest.mark.parametrize('module, args', MODULES, ids=['rule', 'chain', 'policy'])
def test_bad_ssh_connection_names_the_option_and_changes_nothing(kernel, module, args, value):
    """Today: 'lockout check: invalid literal for int() with base 10: ...' without the option (superscripts);
    fullwidth digits read as port 22."""
    result = run_module(module, dict(args, ssh_connection=value))
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'].startswith('ssh_connection must read') and value in result['msg']
    assert kernel.restored == [] and kernel.tested == []


@pytest.mark.parametrize('module, args', MODULES, ids=['rule', 'chain', 'policy'])
def test_good_ssh_connection_still_works(kernel, module, args):
    args = dict(args, policy='ACCEPT') if 'policy' in args else args
    result = run_module(module, dict(args, ssh_connection='198.51.100.7 5555 203.0.113.10 22'))
    assert 'failed' not in result, result.get('msg')
