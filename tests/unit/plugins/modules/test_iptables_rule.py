# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the iptables_rule module, against a fake kernel that applies
iptables-restore --noflush payloads the way iptables does (declaring an existing user chain
flushes it, -I takes a rule number, -D a rule specification (a rule number is refused: the modules
never delete by number), -X refuses a chain in use). The tests check the exact
payload, `changed`, and the live ruleset afterwards.

FakeKernel, run_module and the fixtures here are shared with the tests of iptables_chain,
iptables_policy and iptables_nat."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback
import yaml

from ansible.module_utils import basic

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import parse_or_empty
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    Chain,
    ParseError,
    parse,
    parse_rule,
    render,
)
from ansible_collections.rampart.firewall.plugins.modules import (
    iptables_chain,
    iptables_policy,
    iptables_rule,
)

from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json, patch_module_args  # noqa: F401 pylint: disable=unused-import

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')
ENV_C = {'LANG': 'C', 'LC_ALL': 'C'}

EMPTY = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'

# What molecule/shared/foreign_chains.sh leaves behind: chains of software we do not own.
FOREIGN = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:NETAVARK_FORWARD - [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A FORWARD -j DOCKER-USER
-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
-A DOCKER-USER -j RETURN
-A NETAVARK_FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A f2b-sshd -j RETURN
COMMIT
'''

SSH = '-p tcp -m tcp --dport 22 -j ACCEPT'
HTTP = '-p tcp -m tcp --dport 80 -j ACCEPT'
ICMP = '-p icmp -m icmp --icmp-type 8 -j ACCEPT'


def table_text(rules, chains=(), policies=None, table='filter'):
    """iptables-save text of a filter table with rules [(chain, text)]."""
    policies = policies or {}
    out = ['*' + table] + [':%s %s [0:0]' % (c, policies.get(c, 'ACCEPT')) for c in ('INPUT', 'FORWARD', 'OUTPUT')]
    out += [':%s - [0:0]' % c for c in chains]
    out += ['-A %s %s' % (c, r) for c, r in rules]
    return '\n'.join(out + ['COMMIT']) + '\n'


class RestoreFailed(Exception):
    def __init__(self, lineno, msg):
        Exception.__init__(self, msg)
        self.lineno = lineno


def apply_noflush(live_text, payload, family):
    """The ruleset text after iptables-restore --noflush of payload (all or nothing, as with nf_tables)."""
    rs = parse_or_empty(live_text, family)
    table = None
    for lineno, raw in enumerate(payload.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('*'):
            table = rs.table(line[1:])
            continue
        if line == 'COMMIT':
            table = None
            continue
        assert table is not None, payload
        if line.startswith(':'):
            name, policy = line[1:].split()[:2]
            if policy == '-':
                table.chains[name] = Chain(name, None, [])      # declaring a user chain flushes it
            else:
                table.chains[name].policy = policy
            continue
        parts = line.split(None, 2)
        cmd, name = parts[0], parts[1]
        rest = parts[2] if len(parts) > 2 else ''
        chain = table.chains.get(name)
        if chain is None:
            raise RestoreFailed(lineno, "Chain '%s' does not exist" % name)
        users = [c.name for c in table.user_chains()]
        if cmd == '-A':
            chain.rules.append(parse_rule(rest, name, table.name, family, users))
        elif cmd == '-I':
            index, dummy, spec = rest.partition(' ')
            if int(index) > len(chain.rules) + 1:
                raise RestoreFailed(lineno, 'Index of insertion too big.')
            chain.rules.insert(int(index) - 1, parse_rule(spec, name, table.name, family, users))
        elif cmd == '-D':
            assert not rest.strip().isdigit(), 'a delete by rule number: %r' % line
            key = parse_rule(rest, name, table.name, family, users).key
            at = next((i for i, r in enumerate(chain.rules) if r.key == key), None)
            if at is None:
                raise RestoreFailed(lineno, 'Bad rule (does a matching rule exist in that chain?).')
            del chain.rules[at]
        elif cmd == '-F':
            chain.rules[:] = []
        elif cmd == '-X':
            if chain.rules or any(r.jumps == name for r in table.rules()):
                raise RestoreFailed(lineno, 'CHAIN_DEL failed (Device or resource busy): chain %s' % name)
            del table.chains[name]
        else:
            raise AssertionError('unexpected payload line %r' % line)
    return render(rs)


class FakeKernel:
    """Stands in for run_command/get_bin_path: one live ruleset per family."""

    def __init__(self):
        self.live = {'ipv4': EMPTY, 'ipv6': EMPTY}
        self.calls = []
        self.tested = []
        self.restored = []
        self.test_result = None
        self.restore_result = None
        self.after_restore = None
        self.warnings = []
        # {number of the iptables-save call: function(kernel)}: another program's edit right after that read
        self.neighbour = {}
        self.saves = 0

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/sbin/%s' % name

    def warn(self, warning, **kwargs):
        self.warnings.append(warning)

    def run_command(self, args, **kwargs):
        args = list(args)
        data = kwargs.get('data')
        self.calls.append((args, data))
        assert kwargs.get('environ_update') == ENV_C
        name = os.path.basename(args[0])
        family = 'ipv6' if name.startswith('ip6') else 'ipv4'
        if name.endswith('-save'):
            assert args == ['/usr/sbin/%s' % name]
            self.saves += 1
            text = self.live[family]
            if self.saves in self.neighbour:
                self.neighbour[self.saves](self)
            return 0, text, ''
        assert name.endswith('-restore') and '--noflush' in args
        assert kwargs.get('binary_data') is True
        try:
            after = apply_noflush(self.live[family], data, family)
        except (RestoreFailed, ParseError) as exc:
            lineno = getattr(exc, 'lineno', 0)
            return 1, '', '%s: line %d failed: %s\n' % (name, lineno, exc)
        if '--test' in args:
            self.tested.append(data)
            return self.test_result or (0, '', '')
        self.restored.append(data)
        if self.restore_result:
            return self.restore_result
        self.live[family] = self.after_restore if self.after_restore is not None else after
        return 0, '', ''

    @property
    def restore_calls(self):
        return [call[0] for call in self.calls if call[0][0].endswith('-restore')]

    def rules(self, family='ipv4', table='filter', chain='INPUT'):
        """The live rules of a chain, as iptables-save prints them (without -A CHAIN)."""
        rs = parse(self.live[family], family)
        return [r.text for r in rs.table(table).chains[chain].rules]


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    fake = FakeKernel()
    # the apply lock and the open-window check use the rollback state directory
    monkeypatch.setattr(iptables_rollback, 'STATE_DIR', str(tmp_path / 'run'))
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', fake.run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', fake.get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', fake.warn)
    return fake


def run_module(module, args, check_mode=False, diff=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            module.main()
    return info.value.args[0]


def run(args, check_mode=False, diff=False):
    return run_module(iptables_rule, args, check_mode, diff)


# ---- one rule ------------------------------------------------------------------------------

def test_append_then_nothing_to_do(kernel):
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['changed'] is True
    assert 'failed' not in result
    payload = '*filter\n-A INPUT %s\nCOMMIT\n' % SSH
    assert kernel.restored == [payload]
    assert kernel.tested == [payload]
    assert result['payload'] == {'ipv4': payload}
    assert result['rules'] == {'ipv4': ['-A INPUT ' + SSH]}
    assert result['before'] == {'ipv4': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'}
    assert result['after'] == {'ipv4': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT %s\nCOMMIT\n' % SSH}
    # --test --noflush first, then the real restore, with the xtables lock wait
    assert kernel.restore_calls == [
        ['/usr/sbin/iptables-restore', '-w', '10', '--test', '--noflush'],
        ['/usr/sbin/iptables-restore', '-w', '10', '--noflush'],
    ]
    assert kernel.rules() == [SSH]

    kernel.calls[:] = []
    again = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 'ssh', 'jump': 'ACCEPT'})
    assert again['changed'] is False
    assert again['payload'] == {'ipv4': ''}
    assert kernel.restore_calls == []
    assert [c[0] for c in kernel.calls] == [['/usr/sbin/iptables-save']]


def test_user_spelling_matches_save_spelling(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', '-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment '
                                                '--comment "ssh in" -j ACCEPT')])
    result = run({'chain': 'INPUT', 'proto': 'TCP', 'destination_port': 'ssh', 'ctstate': ['NEW'],
                  'comment': 'ssh in', 'jump': 'ACCEPT'})
    assert result['changed'] is False
    assert kernel.restore_calls == []


def test_append_leaves_a_present_rule_where_it_is(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH), ('INPUT', HTTP), ('INPUT', '-j DROP')])
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['changed'] is False
    assert kernel.restore_calls == []


def test_prepend_inserts_at_the_top(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', HTTP)])
    result = run({'chain': 'INPUT', 'position': 'prepend', 'protocol': 'tcp', 'destination_port': 22,
                  'jump': 'ACCEPT'})
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-I INPUT 1 %s\nCOMMIT\n' % SSH]
    assert kernel.rules() == [SSH, HTTP]
    kernel.calls[:] = []
    assert run({'chain': 'INPUT', 'position': 'prepend', 'protocol': 'tcp', 'destination_port': 22,
                'jump': 'ACCEPT'})['changed'] is False
    assert kernel.restore_calls == []


def test_a_rule_in_the_wrong_place_is_moved(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', HTTP), ('INPUT', SSH)])
    result = run({'chain': 'INPUT', 'position': 1, 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-D INPUT %s\n-I INPUT 1 %s\nCOMMIT\n' % (SSH, SSH)]
    assert kernel.rules() == [SSH, HTTP]


def test_position_n(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', HTTP), ('INPUT', '-j DROP')])
    args = {'chain': 'INPUT', 'position': '2', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'}
    assert run(args)['changed'] is True
    assert kernel.restored == ['*filter\n-I INPUT 2 %s\nCOMMIT\n' % SSH]
    assert kernel.rules() == [HTTP, SSH, '-j DROP']
    assert run(args)['changed'] is False
    # the last possible position is appended with -A
    args['position'] = 3
    assert run(args)['changed'] is True
    assert kernel.restored[-1] == '*filter\n-D INPUT %s\n-A INPUT %s\nCOMMIT\n' % (SSH, SSH)
    assert kernel.rules() == [HTTP, '-j DROP', SSH]


def test_position_beyond_the_end_is_an_error(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', HTTP)])
    result = run({'chain': 'INPUT', 'position': 3, 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True
    assert result['changed'] is False
    assert result['field'] == 'position'
    assert 'highest possible position is 2' in result['msg']
    assert kernel.restore_calls == []


NEIGHBOUR = '-i docker0 -j ACCEPT'


def neighbour_inserts_at_the_top(kernel):
    """Docker, fail2ban or kube-proxy: a rule at the top of INPUT, without our apply lock."""
    live = parse(kernel.live['ipv4'])
    chain = live.tables['filter'].chains['INPUT']
    chain.rules.insert(0, parse_rule(NEIGHBOUR, 'INPUT', 'filter', 'ipv4', []))
    kernel.live['ipv4'] = render(live)


def test_a_neighbour_insert_between_the_plan_and_the_write_is_planned_again(kernel):
    # the plan reads [HTTP, SSH] and would move SSH to the top; a neighbour inserts a rule right after that read
    kernel.live['ipv4'] = table_text([('INPUT', HTTP), ('INPUT', SSH)])
    kernel.neighbour[1] = neighbour_inserts_at_the_top
    result = run({'chain': 'INPUT', 'position': 1, 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'},
                 diff=True)
    assert result['changed'] is True and 'failed' not in result
    # read again under the lock before the write: deleted by specification, the position from the re-read
    assert kernel.saves == 3      # the plan, the re-read before the write, the verification
    assert kernel.restored == ['*filter\n-D INPUT %s\n-I INPUT 1 %s\nCOMMIT\n' % (SSH, SSH)]
    assert kernel.tested[-1] == kernel.restored[-1]
    assert kernel.rules() == [SSH, NEIGHBOUR, HTTP]      # no rule of the neighbour's or the user's went
    assert result['before']['ipv4'].count('-A INPUT') == 3 and NEIGHBOUR in result['before']['ipv4']
    assert NEIGHBOUR in result['diff'][0]['before']
    assert any('filter INPUT changed between the plan and the write' in w for w in kernel.warnings)


def test_a_neighbour_insert_cannot_make_a_delete_by_number_take_the_wrong_rule(kernel):
    # even when the neighbour inserts after the re-read (the verification then fails), the delete is by
    # specification: the user's HTTP rule and the neighbour's rule are still there
    kernel.live['ipv4'] = table_text([('INPUT', HTTP), ('INPUT', SSH)])
    kernel.neighbour[2] = neighbour_inserts_at_the_top
    result = run({'chain': 'INPUT', 'position': 1, 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True and result['changed'] is True
    assert 'another program may have changed them meanwhile' in result['msg']
    assert kernel.restored == ['*filter\n-D INPUT %s\n-I INPUT 1 %s\nCOMMIT\n' % (SSH, SSH)]
    assert sorted(kernel.rules()) == sorted([SSH, NEIGHBOUR, HTTP])


def test_a_chain_changed_so_that_the_change_cannot_be_made_fails_naming_it(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', HTTP), ('INPUT', '-j DROP')])

    def neighbour_deletes(kern):
        kern.live['ipv4'] = table_text([('INPUT', HTTP)])
    kernel.neighbour[1] = neighbour_deletes
    result = run({'chain': 'INPUT', 'position': 3, 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True and result['changed'] is False
    assert 'ipv4 filter INPUT changed between the plan and the write' in result['msg']
    assert 'highest possible position is 2' in result['msg']
    assert result['changed_chains'] == ['ipv4 filter INPUT']
    assert kernel.restored == [] and kernel.rules() == [HTTP]


def test_extra_copies_are_removed(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH), ('INPUT', HTTP), ('INPUT', SSH)])
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['changed'] is True
    # -D by specification removes the first copy: the copy that stays is the last one, moved to its place
    assert kernel.restored == ['*filter\n-D INPUT %s\n-D INPUT %s\n-I INPUT 1 %s\nCOMMIT\n' % (SSH, SSH, SSH)]
    assert kernel.rules() == [SSH, HTTP]


def test_absent_removes_every_copy(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH), ('INPUT', HTTP), ('INPUT', SSH)])
    args = {'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT', 'state': 'absent'}
    result = run(args)
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-D INPUT %s\n-D INPUT %s\nCOMMIT\n' % (SSH, SSH)]
    assert kernel.rules() == [HTTP]
    assert run(args)['changed'] is False


def test_absent_from_a_missing_chain_or_to_a_missing_target_is_nothing_to_do(kernel):
    assert run({'chain': 'nope', 'jump': 'ACCEPT', 'state': 'absent'})['changed'] is False
    assert run({'chain': 'INPUT', 'jump': 'gone-chain', 'state': 'absent'})['changed'] is False
    assert kernel.restore_calls == []


def test_missing_chain_is_an_error(kernel):
    result = run({'chain': 'fw-open', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True
    assert result['field'] == 'chain'
    assert result['value'] == 'fw-open'
    assert "chain 'fw-open' does not exist in the filter table (ipv4)" in result['msg']
    assert kernel.restore_calls == []


def test_jump_to_a_user_chain(kernel):
    kernel.live['ipv4'] = table_text([], chains=['fw-open'])
    result = run({'chain': 'FORWARD', 'jump': 'fw-open'})
    assert result['changed'] is True
    assert kernel.rules(chain='FORWARD') == ['-j fw-open']
    assert run({'chain': 'FORWARD', 'goto': 'fw-open'})['changed'] is True
    assert kernel.rules(chain='FORWARD') == ['-j fw-open', '-g fw-open']


def test_foreign_chains_and_other_tables_are_untouched(kernel):
    kernel.live['ipv4'] = FOREIGN
    result = run({'chain': 'INPUT', 'position': 'prepend', 'protocol': 'tcp', 'destination_port': 22,
                  'jump': 'ACCEPT'})
    assert kernel.restored == ['*filter\n-I INPUT 1 %s\nCOMMIT\n' % SSH]
    live = parse(kernel.live['ipv4'])
    foreign = parse(FOREIGN)
    assert live.tables['nat'] == foreign.tables['nat']
    for name in ('FORWARD', 'DOCKER-USER', 'NETAVARK_FORWARD', 'f2b-sshd'):
        assert live.tables['filter'].chains[name] == foreign.tables['filter'].chains[name]
    assert kernel.rules() == [SSH, '-p tcp -m multiport --dports 22 -j f2b-sshd']
    assert result['before'] == {'ipv4': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 22 '
                                        '-j f2b-sshd\nCOMMIT\n'}


# ---- rules: lists ------------------------------------------------------------------------------

WEB_RULES = [
    {'protocol': 'tcp', 'destination_port': 80, 'jump': 'ACCEPT'},
    {'protocol': 'tcp', 'destination_port': 443, 'jump': 'ACCEPT'},
    {'protocol': 'udp', 'destination_port': 443, 'jump': 'ACCEPT'},
]
R80 = HTTP
R443 = '-p tcp -m tcp --dport 443 -j ACCEPT'
U443 = '-p udp -m udp --dport 443 -j ACCEPT'


def test_rules_are_applied_in_one_restore_and_keep_their_order(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH), ('INPUT', '-j DROP')])
    result = run({'chain': 'INPUT', 'position': 2, 'rules': WEB_RULES})
    assert result['changed'] is True
    assert kernel.restored == ['*filter\n-I INPUT 2 %s\n-I INPUT 3 %s\n-I INPUT 4 %s\nCOMMIT\n' % (R80, R443, U443)]
    assert kernel.rules() == [SSH, R80, R443, U443, '-j DROP']
    assert run({'chain': 'INPUT', 'position': 2, 'rules': WEB_RULES})['changed'] is False


def test_rules_append_keeps_list_order_and_fills_gaps(kernel):
    # 443/tcp is missing and 443/udp came before 80: both are placed after their predecessor
    kernel.live['ipv4'] = table_text([('INPUT', U443), ('INPUT', SSH), ('INPUT', R80), ('INPUT', '-j LOG')])
    result = run({'chain': 'INPUT', 'rules': WEB_RULES})
    assert result['changed'] is True
    assert kernel.rules() == [SSH, R80, R443, U443, '-j LOG']
    assert run({'chain': 'INPUT', 'rules': WEB_RULES})['changed'] is False
    # later appends by others do not make them move
    kernel.live['ipv4'] = table_text([('INPUT', r) for r in kernel.rules() + ['-j DROP']])
    assert run({'chain': 'INPUT', 'rules': WEB_RULES})['changed'] is False


def test_rules_in_several_chains_and_tables(kernel):
    kernel.live['ipv4'] = table_text([], chains=['web'])
    result = run({'rules': [
        {'chain': 'web', 'protocol': 'tcp', 'destination_port': 80, 'jump': 'ACCEPT'},
        {'chain': 'INPUT', 'protocol': 'tcp', 'jump': 'web'},
        {'table': 'nat', 'chain': 'PREROUTING', 'protocol': 'tcp', 'destination_port': 8081, 'jump': 'REDIRECT',
         'to_ports': 8080},
    ]})
    assert result['changed'] is True
    assert kernel.restored == [
        '*nat\n-A PREROUTING -p tcp -m tcp --dport 8081 -j REDIRECT --to-ports 8080\nCOMMIT\n'
        '*filter\n-A web %s\n-A INPUT -p tcp -j web\nCOMMIT\n' % HTTP]
    assert len(kernel.restore_calls) == 2


def test_rules_with_state_per_item(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH), ('INPUT', HTTP)])
    result = run({'chain': 'INPUT', 'rules': [
        {'protocol': 'tcp', 'destination_port': 80, 'jump': 'ACCEPT', 'state': 'absent'},
        {'protocol': 'tcp', 'destination_port': 443, 'jump': 'ACCEPT'},
    ]})
    assert result['changed'] is True
    assert kernel.rules() == [SSH, R443]


def test_source_lists_give_one_rule_each(kernel):
    result = run({'chain': 'INPUT', 'source': ['10.0.0.0/8', '192.168.1.0/24,172.16.0.0/12'], 'jump': 'ACCEPT'})
    assert result['changed'] is True
    assert kernel.rules() == ['-s 10.0.0.0/8 -j ACCEPT', '-s 192.168.1.0/24 -j ACCEPT', '-s 172.16.0.0/12 -j ACCEPT']


def test_empty_rules_list_is_nothing_to_do(kernel):
    result = run({'rules': []})
    assert result['changed'] is False
    assert kernel.calls == [(['/usr/sbin/iptables-save'], None)]


# ---- families ----------------------------------------------------------------------------------

def test_both_families_translate_icmp_and_reject(kernel):
    args = {'family': 'both', 'chain': 'INPUT', 'rules': [
        {'protocol': 'icmp', 'icmp_type': 'echo-request', 'jump': 'ACCEPT'},
        {'protocol': 'icmp', 'icmp_type': 'fragmentation-needed', 'jump': 'ACCEPT'},
        {'protocol': 'tcp', 'jump': 'REJECT', 'reject_with': 'tcp-reset'},
        {'jump': 'REJECT', 'reject_with': 'icmp-port-unreachable'},
    ]}
    result = run(args)
    assert result['changed'] is True
    assert kernel.rules('ipv4') == [ICMP, '-p icmp -m icmp --icmp-type 3/4 -j ACCEPT',
                                    '-p tcp -j REJECT --reject-with tcp-reset',
                                    '-j REJECT --reject-with icmp-port-unreachable']
    assert kernel.rules('ipv6') == ['-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT',
                                    '-p ipv6-icmp -m icmp6 --icmpv6-type 2 -j ACCEPT',
                                    '-p tcp -j REJECT --reject-with tcp-reset',
                                    '-j REJECT --reject-with icmp6-port-unreachable']
    assert sorted(result['payload']) == ['ipv4', 'ipv6']
    assert [c[0] for c in kernel.restore_calls] == ['/usr/sbin/iptables-restore', '/usr/sbin/ip6tables-restore'] * 2
    assert run(args)['changed'] is False


def test_rules_written_for_ipv6_are_translated_for_ipv4(kernel):
    result = run({'family': 'both', 'chain': 'INPUT', 'protocol': 'ipv6-icmp', 'icmp_type': 'packet-too-big',
                  'jump': 'REJECT', 'reject_with': 'icmp6-adm-prohibited'})
    assert result['changed'] is True
    assert kernel.rules('ipv4') == ['-p icmp -m icmp --icmp-type 3/4 -j REJECT --reject-with icmp-admin-prohibited']
    assert kernel.rules('ipv6') == ['-p ipv6-icmp -m icmp6 --icmpv6-type 2 -j REJECT --reject-with icmp6-adm-prohibited']


def test_an_address_of_the_other_family_is_an_error_unless_scoped(kernel):
    args = {'family': 'both', 'chain': 'INPUT', 'rules': [{'source': ['10.0.0.0/8'], 'jump': 'ACCEPT'}]}
    result = run(args)
    assert result['failed'] is True
    assert result['field'] == 'source'
    assert result['value'] == '10.0.0.0/8'
    assert "rules[0] (ipv6 filter INPUT): source: IPv4 address '10.0.0.0/8' used in an ipv6 rule" in result['msg']
    assert 'give this rule family: ipv4' in result['msg']
    assert kernel.restore_calls == []      # not even the IPv4 half
    args['rules'][0]['family'] = 'ipv4'
    assert run(args)['changed'] is True
    assert kernel.rules('ipv4') == ['-s 10.0.0.0/8 -j ACCEPT']
    assert kernel.rules('ipv6') == []


def test_no_icmpv6_equivalent_is_an_error_naming_the_option(kernel):
    result = run({'family': 'both', 'chain': 'INPUT', 'protocol': 'icmp', 'icmp_type': 'timestamp-request',
                  'jump': 'DROP'})
    assert result['failed'] is True
    assert result['field'] == 'icmp_type'
    assert 'no ICMPv6 equivalent' in result['msg']


def test_ipv6_only(kernel):
    result = run({'family': 'ipv6', 'chain': 'INPUT', 'source': ['fe80::/10'], 'protocol': 'ipv6-icmp',
                  'jump': 'ACCEPT', 'wait': 0})
    assert result['changed'] is True
    assert kernel.restore_calls == [['/usr/sbin/ip6tables-restore', '--test', '--noflush'],
                                    ['/usr/sbin/ip6tables-restore', '--noflush']]
    assert kernel.rules('ipv6') == ['-s fe80::/10 -p ipv6-icmp -j ACCEPT']
    assert kernel.live['ipv4'] == EMPTY


# ---- check and diff mode -------------------------------------------------------------------------

def test_check_mode_predicts_and_changes_nothing(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', HTTP), ('INPUT', SSH)])
    result = run({'chain': 'INPUT', 'position': 'prepend', 'protocol': 'tcp', 'destination_port': 22,
                  'jump': 'ACCEPT'}, check_mode=True, diff=True)
    assert result['changed'] is True
    assert kernel.restored == []
    assert kernel.tested == ['*filter\n-D INPUT %s\n-I INPUT 1 %s\nCOMMIT\n' % (SSH, SSH)]
    assert result['after'] == {'ipv4': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT %s\n-A INPUT %s\nCOMMIT\n' % (SSH, HTTP)}
    assert result['diff'] == [{
        'before_header': 'ipv4 table filter (live)',
        'after_header': 'ipv4 table filter (after)',
        'before': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT %s\n-A INPUT %s\nCOMMIT\n' % (HTTP, SSH),
        'after': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT %s\n-A INPUT %s\nCOMMIT\n' % (SSH, HTTP),
    }]
    assert kernel.rules() == [HTTP, SSH]


def test_check_mode_unchanged(kernel):
    kernel.live['ipv4'] = table_text([('INPUT', SSH)])
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'}, check_mode=True,
                 diff=True)
    assert result['changed'] is False
    assert result['diff'] == []
    assert kernel.restore_calls == []


# ---- failures --------------------------------------------------------------------------------------

BAD = [
    ('port-70000', {'protocol': 'tcp', 'destination_port': 70000, 'jump': 'ACCEPT'}, 'destination_port', '70000'),
    ('port-name', {'protocol': 'tcp', 'destination_port': 'nosuchservice', 'jump': 'ACCEPT'}, 'destination_port',
     'nosuchservice'),
    ('multiport-70000', {'protocol': 'tcp', 'destination_ports': [80, 70000], 'jump': 'ACCEPT'}, 'destination_ports',
     '70000'),
    ('cidr-33', {'source': ['10.0.0.0/33'], 'jump': 'ACCEPT'}, 'source', '10.0.0.0/33'),
    ('bad-address', {'destination': ['10.0.0.256'], 'jump': 'ACCEPT'}, 'destination', '10.0.0.256'),
    ('ipv6-in-ipv4', {'source': ['2001:db8::1'], 'jump': 'ACCEPT'}, 'source', '2001:db8::1'),
    ('unknown-target', {'jump': 'ACCEPTT'}, 'jump', 'ACCEPTT'),
    ('missing-chain', {'chain': 'nope', 'jump': 'ACCEPT'}, 'chain', 'nope'),
    ('unknown-icmp-type', {'protocol': 'icmp', 'icmp_type': 'echo-requestx', 'jump': 'ACCEPT'}, 'icmp_type',
     'echo-requestx'),
    ('icmp-type-without-icmp', {'protocol': 'tcp', 'icmp_type': 'echo-request', 'jump': 'ACCEPT'}, 'icmp_type',
     'echo-request'),
    ('port-without-protocol', {'destination_port': 22, 'jump': 'ACCEPT'}, 'destination_port', None),
    ('syn-without-tcp', {'protocol': 'udp', 'syn': 'match', 'jump': 'ACCEPT'}, 'syn', None),
    ('reject-with-on-accept', {'jump': 'ACCEPT', 'reject_with': 'tcp-reset'}, 'reject_with', 'tcp-reset'),
    ('reject-with-unknown', {'jump': 'REJECT', 'reject_with': 'icmp-nope'}, 'reject_with', 'icmp-nope'),
    ('tcp-reset-needs-tcp', {'protocol': 'udp', 'jump': 'REJECT', 'reject_with': 'tcp-reset'}, 'reject_with',
     'tcp-reset'),
    ('dnat-in-filter', {'protocol': 'tcp', 'destination_port': 80, 'jump': 'DNAT', 'to_destination': '10.0.0.2'},
     'jump', 'DNAT'),
    ('to-destination-without-dnat', {'jump': 'ACCEPT', 'to_destination': '10.0.0.2'}, 'to_destination', '10.0.0.2'),
    ('bad-limit', {'limit': '5/fortnight', 'jump': 'ACCEPT'}, 'limit', '5/fortnight'),
    ('hashlimit-rate', {'hashlimit': {'name': 'x', 'upto': 'fast'}, 'jump': 'ACCEPT'}, 'hashlimit', 'fast'),
    ('recent-seconds-with-set', {'recent': {'command': 'set', 'seconds': 60}, 'jump': 'ACCEPT'}, 'recent', None),
    ('log-prefix-newline', {'jump': 'LOG', 'log_prefix': 'a\nb'}, 'log_prefix', None),
    ('match-args-bad-port', {'protocol': 'tcp', 'match_args': '--dport 99999', 'jump': 'ACCEPT'}, 'match_args',
     '99999'),
    ('in-interface-in-output', {'chain': 'OUTPUT', 'in_interface': 'eth0', 'jump': 'ACCEPT'}, 'in_interface', 'eth0'),
    ('interface-too-long', {'in_interface': 'averyveryverylongname0', 'jump': 'ACCEPT'}, 'in_interface',
     'averyveryverylongname0'),
    ('position-0', {'position': 0, 'jump': 'ACCEPT'}, 'position', 0),
    ('position-word', {'position': 'middle', 'jump': 'ACCEPT'}, 'position', 'middle'),
    ('negated-source-list', {'source': ['! 10.0.0.1', '10.0.0.2'], 'jump': 'ACCEPT'}, 'source', None),
    ('duplicate-in-list', {'rules': [{'jump': 'ACCEPT'}, {'jump': 'ACCEPT'}]}, 'rules', '-j ACCEPT'),
    ('family-not-in-task', {'rules': [{'jump': 'ACCEPT', 'family': 'ipv6'}]}, 'family', 'ipv6'),
    ('no-chain', {'chain': None, 'jump': 'ACCEPT'}, 'chain', None),
    ('wait', {'wait': -1, 'jump': 'ACCEPT'}, 'wait', -1),
    # issue 10: non-ASCII digits, which iptables rejects (finding 10)
    ('fullwidth-port', {'protocol': 'tcp', 'destination_port': '２２', 'jump': 'ACCEPT'}, 'destination_port', '２２'),
    ('fullwidth-ports', {'protocol': 'tcp', 'destination_ports': ['80', '４４３'], 'jump': 'ACCEPT'},
     'destination_ports', '４４３'),
    ('fullwidth-source', {'source': ['１０.0.0.1'], 'jump': 'ACCEPT'}, 'source', '１０.0.0.1'),
    ('arabic-indic-prefix', {'destination': ['10.0.0.0/٢٤'], 'jump': 'DROP'}, 'destination', '10.0.0.0/٢٤'),
    ('fullwidth-position', {'position': '２', 'jump': 'ACCEPT'}, 'position', '２'),
    # an invalid protocol is named as such, not as a missing one (finding 12)
    ('protocol-injection', {'protocol': 'tcp; id', 'destination_port': 22, 'jump': 'ACCEPT'}, 'protocol', 'tcp; id'),
    ('protocol-words', {'protocol': 'tcp -j DROP', 'destination_ports': [22], 'jump': 'ACCEPT'}, 'protocol',
     'tcp -j DROP'),
]


@pytest.mark.parametrize('case', BAD, ids=[c[0] for c in BAD])
def test_bad_input_fails_naming_the_option_and_changes_nothing(kernel, case):
    name, args, field, value = case
    kernel.live['ipv4'] = FOREIGN
    args = dict({'chain': 'INPUT'}, **args)
    if args['chain'] is None:
        del args['chain']
    result = run(args)
    assert result['failed'] is True, result
    assert result['changed'] is False
    assert result.get('field') == field, result['msg']
    if value is not None:
        assert result.get('value') == value, result['msg']
        assert str(value) in result['msg']
    assert field in result['msg']
    assert kernel.restore_calls == []
    assert kernel.live['ipv4'] == FOREIGN


def _no_raw_controls(text):
    return not any(ord(c) < 32 and c != '\t' or 127 <= ord(c) < 160 for c in text)


CONTROL_BAD = [
    ('nul-in-comment', {'comment': 'ssh\x00', 'jump': 'ACCEPT'}, 'comment', 'ssh\x00'),
    ('escape-in-comment', {'comment': '\x1b[2J', 'jump': 'ACCEPT'}, 'comment', '\x1b[2J'),
    ('c1-in-log-prefix', {'jump': 'LOG', 'log_prefix': 'in\x85'}, 'log_prefix', 'in\x85'),
    ('nul-in-match-args', {'match_args': '-m comment --comment "a\x00" ', 'jump': 'ACCEPT'}, 'match_args',
     '-m comment --comment "a\x00" '),
    ('nul-in-interface', {'in_interface': 'eth\x000', 'jump': 'ACCEPT'}, 'in_interface', 'eth\x000'),
    ('nul-in-chain', {'chain': 'INPUT\x00', 'jump': 'ACCEPT'}, 'chain', 'INPUT\x00'),
    ('nul-in-chain-absent', {'chain': 'gone\x00', 'jump': 'ACCEPT', 'state': 'absent'}, 'chain', 'gone\x00'),
    ('nul-in-item-chain', {'rules': [{'chain': 'web\x00', 'jump': 'ACCEPT'}]}, 'chain', 'web\x00'),
    ('nul-in-goto', {'goto': 'web\x00'}, 'goto', 'web\x00'),
]


@pytest.mark.parametrize('case', CONTROL_BAD, ids=[c[0] for c in CONTROL_BAD])
def test_control_characters_fail_naming_the_option_and_the_escaped_value(kernel, case):
    """Issue 10, findings 8 and 12: a NUL made iptables-restore cut the line and load the rule
    without its target (or fail with 'policy invalid'); now nothing runs and the message shows
    the value escaped."""
    name, args, field, value = case
    kernel.live['ipv4'] = FOREIGN
    result = run(dict({'chain': 'INPUT'}, **args))
    assert result['failed'] is True, result
    assert result['changed'] is False
    assert result['field'] == field, result['msg']
    assert result['value'] == value
    assert repr(value) in result['msg'] or repr(value)[1:-1] in result['msg'], result['msg']
    assert _no_raw_controls(result['msg']), repr(result['msg'])
    assert kernel.restore_calls == []
    assert kernel.live['ipv4'] == FOREIGN


EMPTY_LIST_BAD = [
    ('destination-ports', {'protocol': 'tcp', 'destination_ports': [], 'jump': 'ACCEPT'}, 'destination_ports',
     'destination_ports must not be an empty list'),
    ('source-ports', {'protocol': 'tcp', 'source_ports': [], 'jump': 'ACCEPT'}, 'source_ports',
     'source_ports must not be an empty list'),
    ('source', {'source': [], 'jump': 'DROP'}, 'source', 'source must not be an empty list'),
    ('destination', {'destination': [], 'jump': 'DROP'}, 'destination', 'destination must not be an empty list'),
    ('ctstate', {'ctstate': [], 'jump': 'ACCEPT'}, 'ctstate', 'ctstate must not be an empty list'),
    ('src-type', {'src_type': [], 'jump': 'ACCEPT'}, 'src_type', 'src_type must not be an empty list'),
    ('dst-type', {'dst_type': [], 'jump': 'ACCEPT'}, 'dst_type', 'dst_type must not be an empty list'),
    ('tcp-flags', {'protocol': 'tcp', 'tcp_flags': {'flags': []}, 'jump': 'ACCEPT'}, 'tcp_flags.flags',
     'tcp_flags.flags must not be an empty list'),
    ('hashlimit-mode', {'hashlimit': {'name': 'x', 'upto': '1/s', 'mode': []}, 'jump': 'ACCEPT'}, 'hashlimit.mode',
     'hashlimit.mode must not be an empty list'),
    ('in-rules', {'rules': [{'jump': 'ACCEPT'}, {'protocol': 'tcp', 'destination_ports': [], 'jump': 'ACCEPT'}]},
     'destination_ports', 'rules[1].destination_ports must not be an empty list'),
    ('aliased', {'src': [], 'jump': 'DROP'}, 'source', 'source must not be an empty list'),
]


@pytest.mark.parametrize('case', EMPTY_LIST_BAD, ids=[c[0] for c in EMPTY_LIST_BAD])
def test_an_empty_list_fails_instead_of_widening_the_rule(kernel, case):
    """Issue 10, finding 9: destination_ports: [] was loaded as 'all TCP', source: [] without the
    address match, ctstate: [] without the state match."""
    name, args, field, text = case
    kernel.live['ipv4'] = FOREIGN
    result = run(dict({'chain': 'INPUT'}, **args))
    assert result['failed'] is True, result
    assert result['changed'] is False
    assert result['field'] == field
    assert text in result['msg']
    assert 'omit' in result['msg']
    assert kernel.calls == []
    assert kernel.live['ipv4'] == FOREIGN


def test_the_flags_set_list_may_be_empty(kernel):
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'tcp_flags': {'flags': ['ALL'], 'flags_set': []},
                  'jump': 'DROP'})
    assert result['changed'] is True
    assert kernel.rules() == ['-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE -j DROP']


ARGSPEC_BAD = [
    ('ctstate-choice', {'ctstate': ['RRELATED', 'ESTABLISHED'], 'jump': 'ACCEPT'}, 'RRELATED'),
    ('table-choice', {'table': 'filterx', 'jump': 'ACCEPT'}, 'filterx'),
    ('family-choice', {'family': 'inet', 'jump': 'ACCEPT'}, 'inet'),
    ('log-level-choice', {'jump': 'LOG', 'log_level': 'loud'}, 'loud'),
    ('rules-and-options', {'rules': [{'jump': 'ACCEPT'}], 'protocol': 'tcp'}, 'mutually exclusive'),
    ('jump-and-goto', {'jump': 'ACCEPT', 'goto': 'x'}, 'mutually exclusive'),
    ('burst-without-limit', {'limit_burst': 5, 'jump': 'ACCEPT'}, 'limit'),
    ('recent-needs-command', {'recent': {'name': 'x'}, 'jump': 'ACCEPT'}, 'command'),
    ('item-jump-and-goto', {'rules': [{'jump': 'ACCEPT', 'goto': 'x'}]}, 'mutually exclusive'),
    ('unknown-option', {'dport': 22}, 'dport'),
]


@pytest.mark.parametrize('case', ARGSPEC_BAD, ids=[c[0] for c in ARGSPEC_BAD])
def test_argument_spec_rejects_before_reading_anything(kernel, case):
    name, args, text = case
    result = run(dict({'chain': 'INPUT'}, **args))
    assert result['failed'] is True
    assert text in result['msg']
    assert kernel.calls == []


def test_restore_failure_names_the_payload_line(kernel):
    kernel.restore_result = (4, '', 'iptables-restore v1.8.9 (nf_tables): \nline 2: RULE_APPEND failed (Invalid argument)'
                                    ': rule in chain INPUT\n')
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True
    assert result['changed'] is False
    assert result['lineno'] == 2
    assert result['line'] == '-A INPUT ' + SSH
    assert result['cmd'] == '/usr/sbin/iptables-restore -w 10 --noflush'
    assert result['rc'] == 4
    assert result['payload'] == {'ipv4': '*filter\n-A INPUT %s\nCOMMIT\n' % SSH}


def test_test_failure_changes_nothing(kernel):
    kernel.test_result = (2, '', "iptables-restore v1.8.9 (nf_tables): Couldn't load match `nosuch'\n"
                                 "Error occurred at line: 2\n")
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True
    assert result['changed'] is False
    assert result['cmd'] == '/usr/sbin/iptables-restore -w 10 --test --noflush'
    assert kernel.restored == []


def test_verification_failure_is_loud(kernel):
    kernel.after_restore = EMPTY
    result = run({'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': 22, 'jump': 'ACCEPT'})
    assert result['failed'] is True
    assert result['changed'] is True
    assert 'differ from the prediction in ipv4 filter INPUT' in result['msg']
    assert '+-A INPUT' not in result['msg'] and '--A INPUT ' + SSH in result['msg']


def test_ipv6_failure_after_ipv4_was_applied_reports_changed(kernel, monkeypatch):
    original = kernel.run_command

    def flaky(self, args, **kwargs):
        if args[0].endswith('ip6tables-restore') and '--test' not in args:
            return 4, '', 'ip6tables-restore: line 2 failed\n'
        return original(args, **kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', flaky)
    result = run({'family': 'both', 'chain': 'INPUT', 'jump': 'ACCEPT'})
    assert result['failed'] is True
    assert result['changed'] is True          # IPv4 was loaded before IPv6 failed
    assert kernel.rules('ipv4') == ['-j ACCEPT']


# ---- the corpus, as structured options ----------------------------------------------------------------

with open(os.path.join(ROOT, 'molecule', 'granular', 'vars', 'corpus.yml')) as _handle:
    CORPUS = yaml.safe_load(_handle)['corpus']


def loose(text):
    """A rule's text with its -m blocks sorted: equal for the same matches in another order."""
    toks = text.split(' ')
    head, blocks, target = [], [], []
    current = head
    for i, tok in enumerate(toks):
        if tok in ('-j', '-g') and (i == 0 or toks[i - 1] != '!'):
            current = target
        elif tok == '-m' and current is not target:
            blocks.append([])
            current = blocks[-1]
        current.append(tok)
    return (' '.join(head), sorted(' '.join(b) for b in blocks), ' '.join(target))


def loose_table(table):
    return dict((c.name, (c.policy, [loose(r.text) for r in c.rules])) for c in table.chains.values())


def apply_corpus(entry, check_mode=False):
    """Run the policy, chain and rule tasks of one corpus entry; returns the results."""
    family = entry['family']
    out = []
    for pol in entry['policies']:
        out.append(run_module(iptables_policy, dict(pol, family=family), check_mode))
    for chain in entry['chains']:
        out.append(run_module(iptables_chain, dict(chain, family=family), check_mode))
    out.append(run_module(iptables_rule, {'family': family, 'rules': entry['rules']}, check_mode))
    return out


def test_corpus_covers_every_file():
    names = sorted(n for n in os.listdir(os.path.join(FIXTURES, 'corpus')) if n[:3].isdigit())
    assert sorted(CORPUS) == names


@pytest.mark.parametrize('name', sorted(CORPUS))
def test_corpus_round_trip(kernel, name):
    entry = CORPUS[name]
    family = entry['family']
    kernel.live[family] = FOREIGN if family == 'ipv4' else EMPTY
    foreign = parse_or_empty(kernel.live[family], family)
    first = apply_corpus(entry)
    assert all('failed' not in r for r in first), [r['msg'] for r in first if 'failed' in r]
    assert first[-1]['changed'] is True
    # the structured rules are the file's rules (up to the order of the matches of eight)
    want = parse(open(os.path.join(FIXTURES, 'corpus', name)).read(), family)
    live = parse(kernel.live[family], family)
    for tname, table in want.tables.items():
        got = live.tables[tname]
        got_loose = loose_table(got)
        for cname, chain in table.chains.items():
            have = got_loose[cname]
            kept = [loose(r.text) for r in foreign.table(tname).chains.get(cname, Chain(cname)).rules]
            assert have[0] == chain.policy
            assert [r for r in have[1] if r not in kept] == [loose(r.text) for r in chain.rules], cname
    # idempotence: nothing to do the second time, in check mode or not
    kernel.calls[:] = []
    assert [r['changed'] for r in apply_corpus(entry, check_mode=True)] == [False] * len(first)
    assert [r['changed'] for r in apply_corpus(entry)] == [False] * len(first)
    assert kernel.restore_calls == []


def test_corpus_rules_are_exact_except_the_state_first_rules():
    """Every corpus rule builds to exactly the canonical rule of the file, except the eight that
    write -m state before the protocol match (one in 001, seven in 004)."""
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import build_rules
    inexact = []
    for name, entry in sorted(CORPUS.items()):
        family = entry['family']
        want = parse(open(os.path.join(FIXTURES, 'corpus', name)).read(), family)
        keys = set(r.key for t in want.tables.values() for r in t.rules())
        for item in entry['rules']:
            table = item.get('table', 'filter')
            opts = dict((k, v) for k, v in item.items() if k not in ('chain', 'table'))
            opts.setdefault('recent', None)
            if opts['recent'] is not None:
                opts['recent'] = dict({'rttl': False, 'reap': False}, **opts['recent'])
            if opts.get('tcp_flags') is not None:
                opts['tcp_flags'] = dict({'flags_set': []}, **opts['tcp_flags'])
            chains = list(want.tables[table].chains)
            for rule in build_rules(opts, family, table, item['chain'], chains):
                if rule.key not in keys:
                    inexact.append((name, rule.line()))
    assert [n for n, dummy in inexact] == ['001-centos-vps-web.v4'] + ['004-dti-vps-all-drop.v4'] * 7, inexact


# ---- scale -----------------------------------------------------------------------------------------------

def test_two_hundred_rules_plan_quickly(kernel):
    rules = [{'protocol': 'tcp', 'destination_port': 1000 + i, 'source': ['10.%d.%d.0/24' % (i // 250, i % 250)],
              'comment': 'rule %d' % i, 'jump': 'ACCEPT'} for i in range(200)]
    start = time.time()
    result = run({'chain': 'INPUT', 'rules': rules})
    assert result['changed'] is True
    assert len(kernel.rules()) == 200
    kernel.calls[:] = []
    again = run({'chain': 'INPUT', 'rules': rules})
    assert again['changed'] is False
    assert kernel.restore_calls == []
    assert time.time() - start < 10


def test_granular_change_waits_for_the_ruleset_lock_and_fails_when_held(kernel):
    """The granular modules take the same lock as iptables_ruleset (one lock per host)."""
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import ApplyLock
    with ApplyLock(5):
        result = run_module(iptables_rule, {'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': '8443',
                                            'jump': 'ACCEPT', 'wait': 0})
    assert result['failed'] is True and 'still holds' in result['msg']
    assert kernel.restored == []


def test_granular_change_is_refused_during_an_open_window(kernel):
    iptables_rollback.arm(iptables_rollback.STATE_DIR, 'ipv4', '*filter\nCOMMIT\n', ['iptables-restore'], 30)
    result = run_module(iptables_rule, {'chain': 'INPUT', 'protocol': 'tcp', 'destination_port': '8443', 'jump': 'ACCEPT'})
    assert result['failed'] is True and 'still waiting for its confirmation' in result['msg']
    assert kernel.restored == []
    other = run_module(iptables_rule, {'chain': 'INPUT', 'family': 'ipv6', 'protocol': 'tcp', 'destination_port': '8443',
                                       'jump': 'ACCEPT'})
    assert other.get('failed') is not True, other
