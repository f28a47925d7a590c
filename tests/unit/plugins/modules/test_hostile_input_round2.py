# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Regression tests of issue 24 (hostile input, round 2) for iptables_ruleset and ipset: each
refused input fails naming the option and the (escaped) value, and nothing runs or is written."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs as outputs
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import PersistTarget
from ansible_collections.rampart.firewall.plugins.modules import ipset as ipset_module

from test_ipset import fake, run as run_ipset  # noqa: F401 pylint: disable=unused-import
from test_iptables_ruleset import run
from test_iptables_ruleset_ipsets import CLIENT_IN, RULES, base, kernel  # noqa: F401 pylint: disable=unused-import

SUPERSCRIPT = u'198.51.100.7 5555 203.0.113.10 \u00b2\u00b2'
FULLWIDTH = u'198.51.100.7 5555 203.0.113.10 \uff12\uff12'


def nothing_ran(kernel):
    return kernel.tested == [] and kernel.restored == [] and kernel.ipset_calls == []


# ---- 1: the values of ipsets ----------------------------------------------------------------

@pytest.mark.parametrize('value, shown', [
    (5, '5'), (True, 'true'), (1.5, '1.5'), (None, 'null'),
    ('198.51.100.0/24', "the string '198.51.100.0/24'"),
    ([None], 'null'), ([7], '7'), (['not-an-address'], "'not-an-address'"),
])
def test_ipsets_values_are_checked_before_anything_runs(kernel, value, shown):
    """Today: TypeError 'int' object is not iterable from the lockout check, or silently accepted."""
    result = run(base(lockout_check=True, ssh_connection=CLIENT_IN, ipsets={'abuse': value, 'admins': ['198.51.100.0/24']}))
    assert result['failed'] is True and not result.get('changed')
    assert 'ipsets[abuse]' in result['msg'] and shown in result['msg']
    assert nothing_ran(kernel)


def test_ipsets_without_ssh_connection_are_checked_too(kernel):
    result = run(base(ipsets={'abuse': 5}))
    assert result['failed'] is True and 'ipsets[abuse] must be a list' in result['msg']
    assert nothing_ran(kernel)


def test_ipsets_good_values_still_apply(kernel):
    result = run(base(lockout_check=True, ssh_connection=CLIENT_IN,
                      ipsets={'abuse': ['203.0.113.0/24', '# comment', '', '2001:db8::/32'], 'admins': ['198.51.100.0/24']}))
    assert 'failed' not in result, result.get('msg')
    assert result['lockout']['status'] == 'safe'


# ---- 6: ssh_connection (one parser, ASCII digits) and dict options ----------------------------

@pytest.mark.parametrize('value', [SUPERSCRIPT, FULLWIDTH])
def test_ruleset_ssh_connection_unicode_digits_name_the_option(kernel, value):
    """Today: 'lockout check: invalid literal for int() with base 10' (superscripts), or the fullwidth
    digits read as 22."""
    result = run(base(lockout_check=True, ssh_connection=value))
    assert result['failed'] is True
    assert result['msg'].startswith('ssh_connection must read') and value in result['msg']
    assert 'invalid literal' not in result['msg']
    assert kernel.tested == [] and kernel.restored == []


@pytest.mark.parametrize('option, value, shown', [
    ('rulesets', 'ipv4', "the string 'ipv4'"),
    ('rulesets', ['*filter', 'COMMIT'], '["*filter", "COMMIT"]'),
    ('rulesets', 5, '5'),
    ('local_fact', 'rampart', "the string 'rampart'"),
    ('local_fact', ['rampart'], '["rampart"]'),
    ('sysctl_check', 'host', "the string 'host'"),
    ('sysctl_check', ['host'], '["host"]'),
    ('ipsets', 'abuse', "the string 'abuse'"),
])
def test_dict_options_given_as_string_or_list_name_the_option(kernel, option, value, shown):
    """Today: ansible-core's 'dictionary requested, could not parse JSON or key=value' (no option
    named), and a TypeError traceback in ansible-core for a number."""
    args = {'persist': False, option: value}
    if option != 'rulesets':
        args['content'] = RULES
    result = run(args)
    assert result['failed'] is True
    assert result['msg'].startswith('%s must be a dictionary' % option) and shown in result['msg']
    assert kernel.calls == []


# ---- 5: local_fact within the read limit ------------------------------------------------------

def test_local_fact_larger_than_the_read_limit_is_refused_before_anything(kernel, tmp_path, monkeypatch):
    """Today: written once (1.2 MB), then every later run fails reading it back (1 MiB limit)."""
    monkeypatch.setattr(outputs, 'FACTS_DIR', str(tmp_path / 'facts.d'))
    result = run(base(local_fact={'name': 'rampart', 'content': {'blob': 'x' * outputs.FACT_LIMIT}}))
    assert result['failed'] is True and result['changed'] is False
    assert 'local_fact' in result['msg'] and 'more than the limit of %d bytes' % outputs.FACT_LIMIT in result['msg']
    assert kernel.restored == [] and not os.path.exists(str(tmp_path / 'facts.d'))
    # just under the limit: written, and read back by the next run
    fact = {'name': 'rampart', 'content': {'blob': 'x' * (outputs.FACT_LIMIT - 100)}}
    assert 'failed' not in run(base(local_fact=fact))
    again = run(base(local_fact=fact))
    assert 'failed' not in again, again.get('msg')
    assert again['local_fact_changed'] is False


# ---- 7: a bad src is not quoted ---------------------------------------------------------------

def test_bad_src_quotes_the_line_number_and_field_not_the_content(kernel, tmp_path):
    """Today: the message, line and value quote up to 80 characters of the file."""
    secret = tmp_path / 'secret'
    secret.write_text('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport s3cr3t-t0k3n-abcdef -j ACCEPT\nCOMMIT\n')
    link = tmp_path / 'rules.v4'
    link.symlink_to(secret)
    result = run({'src': str(link), 'persist': False})
    assert result['failed'] is True
    visible = json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))
    assert 's3cr3t' not in visible
    assert 'line 3' in result['msg'] and 'at --dport' in result['msg'] and result['lineno'] == 3
    assert 'line' not in result and 'value' not in result
    shadow = tmp_path / 'shadow'
    shadow.write_text('root:$6$Zk3Qm9sPq2Lx7VbN$abcdef:19000:0:99999:7:::\n')
    result = run({'src': str(shadow), 'persist': False})
    assert result['failed'] is True and 'line 1' in result['msg']
    assert 'Zk3Q' not in json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))


def test_bad_ipset_src_is_not_quoted(fake, tmp_path):
    src = tmp_path / 'list'
    src.write_text('10.0.0.0/8\nroot:s3cr3t:19000\n')
    result = run_ipset(fake, {'name': 'abuse', 'src': str(src)})
    assert result['failed'] is True
    assert 'line 2' in result['msg'] and 's3cr3t' not in result['msg']
    assert fake.calls == []


# ---- 2: ipset state=absent and a persisted rules file that cannot be read ---------------------

@pytest.fixture
def rules_file(fake, monkeypatch, tmp_path):
    paths = {'ipv4': str(tmp_path / 'rules.v4'), 'ipv6': str(tmp_path / 'rules.v6')}
    monkeypatch.setattr(ipset_module, 'persist_target',
                        lambda os_release, family: PersistTarget(paths[family], (), 'iptables-persistent', 0o640))
    return paths


@pytest.mark.parametrize('shape', ['symlink', 'too-large'])
def test_absent_refused_when_the_boot_rules_file_cannot_be_checked(fake, rules_file, tmp_path, monkeypatch, shape):
    """Today: the reference check skips such a file and the set the boot file uses is destroyed."""
    run_ipset(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    boot = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set abuse src -j DROP\nCOMMIT\n'
    real = tmp_path / 'real.v4'
    real.write_text(boot)
    if shape == 'symlink':
        os.symlink(str(real), rules_file['ipv4'])
    else:
        with open(rules_file['ipv4'], 'w') as handle:
            handle.write(boot)
        real_read = ipset_module.read_regular_file

        def read(option, path):
            if path == rules_file['ipv4']:
                raise ipset_module.HostError('%s %s is 70000000 bytes, more than the limit of 67108864' % (option, path))
            return real_read(option, path)
        monkeypatch.setattr(ipset_module, 'read_regular_file', read)
    before = (fake.save(), len(fake.payloads))
    result = run_ipset(fake, {'name': 'abuse', 'state': 'absent'})
    assert result['failed'] is True and result['changed'] is False
    assert 'refusing to change the set abuse' in result['msg'] and rules_file['ipv4'] in result['msg']
    assert (fake.save(), len(fake.payloads)) == before and 'abuse' in fake.sets
    # a regular file without the rule: destroyed
    if shape == 'symlink':
        os.unlink(rules_file['ipv4'])
        with open(rules_file['ipv4'], 'w') as handle:
            handle.write(boot.replace('abuse', 'other'))
        result = run_ipset(fake, {'name': 'abuse', 'state': 'absent'})
        assert result['changed'] is True and 'abuse' not in fake.sets


# ---- 3: kernel bounds ------------------------------------------------------------------------

@pytest.mark.parametrize('option, value, ok', [
    ('hashsize', 1 << 27, True), ('hashsize', (1 << 27) + 1, False), ('hashsize', 1 << 31, False),
    ('hashsize', 63, False), ('maxelem', (1 << 32) - 1, True), ('maxelem', 1 << 32, False), ('maxelem', 0, False),
    ('timeout', 2147483, True), ('timeout', 2147484, False), ('timeout', -1, False),
])
def test_ipset_bounds_are_what_the_kernel_takes(fake, option, value, ok):
    """Today: hashsize accepted up to 2^31 (the kernel refuses more than 2^27), maxelem refused above 2^31."""
    result = run_ipset(fake, {'name': 'abuse', 'members': ['10.0.0.1'], option: value})
    if ok:
        assert 'failed' not in result, result.get('msg')
        return
    assert result['failed'] is True
    assert result['msg'].startswith(option) and str(value) in result['msg']
    assert fake.calls == []
    # state=absent checks the options too
    result = run_ipset(fake, {'name': 'abuse', 'state': 'absent', option: value})
    assert result['failed'] is True and result['msg'].startswith(option)


# ---- 4: members [null] -----------------------------------------------------------------------

@pytest.mark.parametrize('members', [[None], ['10.0.0.1', None]])
def test_ipset_null_member_is_refused(fake, members):
    """Today: ansible-core turns null into '', a blank item, and the set is emptied."""
    run_ipset(fake, {'name': 'abuse', 'members': ['10.0.0.0/8']})
    before = (fake.save(), len(fake.payloads))
    result = run_ipset(fake, {'name': 'abuse', 'members': members})
    assert result['failed'] is True and result['changed'] is False
    assert 'members[%d] must be a string, not null' % members.index(None) in result['msg']
    assert (fake.save(), len(fake.payloads)) == before


def test_choice_with_control_characters_is_escaped(kernel):
    """ansible-core's 'value of state must be one of ...' quotes the value raw (found with sysctl_hardening's on_readonly)."""
    result = run({'content': RULES, 'persist': False, 'state': 'present\x00\x1b[2J'})
    assert result['failed'] is True and result['msg'].startswith('state must be one of')
    assert '\x00' not in result['msg'] and '\x1b' not in result['msg'] and '\\x00' in result['msg']
    assert kernel.calls == []
