# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the iptables_nat module (fake kernel from test_iptables_rule)."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
from ansible_collections.rampart.firewall.plugins.modules import iptables_nat

from test_iptables_rule import EMPTY, FOREIGN, kernel, run_module, table_text  # noqa: F401 pylint: disable=unused-import


def run(args, check_mode=False, diff=False):
    return run_module(iptables_nat, args, check_mode, diff)


ARCH_SSH = {'type': 'port_forward', 'in_interface': 'ppp0', 'port': 22, 'to_destination': '192.168.0.5',
            'filter_chain': 'fw-open'}
ARCH_WEB = {'type': 'port_forward', 'in_interface': 'ppp0', 'protocol': 'tcp', 'port': 8000,
            'to_destination': '192.168.0.6:80', 'filter_chain': 'fw-open'}


def test_masquerade(kernel):
    args = {'type': 'masquerade', 'source': ['192.168.0.0/24', '10.3.0.0/16'], 'out_interface': 'ppp0'}
    result = run(args)
    assert result['changed'] is True
    payload = ('*nat\n-A POSTROUTING -s 192.168.0.0/24 -o ppp0 -j MASQUERADE\n'
               '-A POSTROUTING -s 10.3.0.0/16 -o ppp0 -j MASQUERADE\nCOMMIT\n')
    assert kernel.restored == [payload]
    assert result['rules'] == {'ipv4': ['-A POSTROUTING -s 192.168.0.0/24 -o ppp0 -j MASQUERADE',
                                        '-A POSTROUTING -s 10.3.0.0/16 -o ppp0 -j MASQUERADE']}
    assert result['before'] == {'ipv4': '*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'}
    kernel.calls[:] = []
    assert run(args)['changed'] is False
    assert kernel.restore_calls == []


def test_masquerade_both_families(kernel):
    args = {'type': 'masquerade', 'out_interface': 'eth0', 'family': 'both', 'protocol': 'tcp', 'to_ports': '1024-65535'}
    assert run(args)['changed'] is True
    for family in ('ipv4', 'ipv6'):
        assert kernel.rules(family, 'nat', 'POSTROUTING') == ['-o eth0 -p tcp -j MASQUERADE --to-ports 1024-65535']
    assert run(args)['changed'] is False


def test_snat(kernel):
    args = {'type': 'snat', 'source': ['192.168.1.0/24'], 'out_interface': 'eth0', 'to_source': '203.0.113.10'}
    assert run(args)['changed'] is True
    assert kernel.rules('ipv4', 'nat', 'POSTROUTING') == ['-s 192.168.1.0/24 -o eth0 -j SNAT --to-source 203.0.113.10']
    assert run(args)['changed'] is False


def test_port_forward_installs_both_halves_in_one_restore(kernel):
    kernel.live['ipv4'] = table_text([], chains=['fw-open'], policies={'FORWARD': 'DROP'})
    result = run(ARCH_WEB, diff=True)
    assert result['changed'] is True
    assert kernel.restored == [
        '*nat\n-A PREROUTING -i ppp0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 192.168.0.6:80\nCOMMIT\n'
        '*filter\n-A fw-open -d 192.168.0.6/32 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n']
    assert len(kernel.restore_calls) == 2
    assert [d['before_header'] for d in result['diff']] == ['ipv4 table nat (live)', 'ipv4 table filter (live)']
    assert run(ARCH_WEB)['changed'] is False
    assert run(ARCH_SSH)['changed'] is True
    # exactly the Arch wiki gateway's rules (tests/unit/fixtures/corpus/000-arch-nat-gateway.v4)
    assert kernel.rules('ipv4', 'nat', 'PREROUTING') == [
        '-i ppp0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 192.168.0.6:80',
        '-i ppp0 -p tcp -m tcp --dport 22 -j DNAT --to-destination 192.168.0.5']
    assert kernel.rules(chain='fw-open') == ['-d 192.168.0.6/32 -p tcp -m tcp --dport 80 -j ACCEPT',
                                             '-d 192.168.0.5/32 -p tcp -m tcp --dport 22 -j ACCEPT']


def test_port_forward_absent_removes_both_halves(kernel):
    kernel.live['ipv4'] = table_text([], chains=['fw-open'])
    run(ARCH_WEB)
    run(ARCH_SSH)
    result = run(dict(ARCH_WEB, state='absent'))
    assert result['changed'] is True
    assert kernel.restored[-1] == ('*nat\n-D PREROUTING -i ppp0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 192.168.0.6:80\n'
                                   'COMMIT\n*filter\n-D fw-open -d 192.168.0.6/32 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n')
    assert kernel.rules(chain='fw-open') == ['-d 192.168.0.5/32 -p tcp -m tcp --dport 22 -j ACCEPT']
    assert run(dict(ARCH_WEB, state='absent'))['changed'] is False


def test_port_forward_in_forward_at_a_position(kernel):
    kernel.live['ipv4'] = table_text([('FORWARD', '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'),
                                      ('FORWARD', '-j REJECT --reject-with icmp-host-unreachable')])
    args = {'type': 'port_forward', 'in_interface': 'eth0', 'protocol': 'udp', 'port': '5000:5010',
            'to_destination': '10.0.0.9', 'filter_position': 2, 'comment': 'game', 'source': ['198.51.100.0/24']}
    assert run(args)['changed'] is True
    assert kernel.rules(chain='FORWARD') == [
        '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-s 198.51.100.0/24 -d 10.0.0.9/32 -p udp -m udp --dport 5000:5010 -m comment --comment game -j ACCEPT',
        '-j REJECT --reject-with icmp-host-unreachable']
    assert kernel.rules('ipv4', 'nat', 'PREROUTING') == [
        '-s 198.51.100.0/24 -i eth0 -p udp -m udp --dport 5000:5010 -m comment --comment game -j DNAT '
        '--to-destination 10.0.0.9']
    assert run(args)['changed'] is False


def test_port_forward_ipv6_and_no_filter_half(kernel):
    args = {'type': 'port_forward', 'family': 'ipv6', 'in_interface': 'eth0', 'protocol': 'udp', 'port': 53,
            'to_destination': '[fd00::53]:5353'}
    assert run(args)['changed'] is True
    assert kernel.rules('ipv6', 'nat', 'PREROUTING') == [
        '-i eth0 -p udp -m udp --dport 53 -j DNAT --to-destination [fd00::53]:5353']
    assert kernel.rules('ipv6', chain='FORWARD') == ['-d fd00::53/128 -p udp -m udp --dport 5353 -j ACCEPT']
    args = {'type': 'port_forward', 'in_interface': 'eth0', 'port': 80, 'to_destination': '10.0.0.8',
            'filter_accept': False}
    result = run(args)
    assert list(result['rules']) == ['ipv4'] and len(result['rules']['ipv4']) == 1
    assert kernel.rules(chain='FORWARD') == []


def test_check_mode(kernel):
    result = run(dict(ARCH_WEB, filter_chain='FORWARD'), check_mode=True)
    assert result['changed'] is True
    assert len(kernel.tested) == 1
    assert kernel.restored == []


def test_foreign_chains_untouched(kernel):
    kernel.live['ipv4'] = FOREIGN
    assert run(dict(ARCH_WEB, filter_chain='FORWARD'))['changed'] is True
    live, foreign = parse(kernel.live['ipv4']), parse(FOREIGN)
    assert live.tables['nat'].chains['NETAVARK-HOSTPORT-DNAT'] == foreign.tables['nat'].chains['NETAVARK-HOSTPORT-DNAT']
    assert kernel.rules('ipv4', 'nat', 'PREROUTING')[0] == '-m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT'
    assert kernel.rules(chain='FORWARD')[:2] == ['-j DOCKER-USER',
                                                 '-m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD']


BAD = [
    ('address-of-other-family', dict(ARCH_WEB, family='both', filter_chain='FORWARD'), 'to_destination',
     '192.168.0.6:80'),
    ('bad-address', dict(ARCH_WEB, to_destination='192.168.0.300', filter_chain='FORWARD'), 'to_destination',
     '192.168.0.300'),
    ('port-70000', dict(ARCH_WEB, port=70000, filter_chain='FORWARD'), 'destination_port', '70000'),
    ('to-port-70000', dict(ARCH_WEB, to_destination='192.168.0.6:70000', filter_chain='FORWARD'), 'to_destination',
     '70000'),
    ('missing-filter-chain', ARCH_WEB, 'chain', 'fw-open'),
    ('port-only', dict(ARCH_WEB, to_destination=':8080'), 'to_destination', ':8080'),
    ('address-range', dict(ARCH_WEB, to_destination='10.0.0.1-10.0.0.5'), 'to_destination', '10.0.0.1-10.0.0.5'),
    ('in-interface-with-masquerade', {'type': 'masquerade', 'out_interface': 'eth0', 'in_interface': 'eth1'},
     'in_interface', 'eth1'),
    ('to-source-with-masquerade', {'type': 'masquerade', 'out_interface': 'eth0', 'to_source': '1.2.3.4'},
     'to_source', '1.2.3.4'),
    ('cidr-33', {'type': 'masquerade', 'out_interface': 'eth0', 'source': ['10.0.0.0/33']}, 'source', '10.0.0.0/33'),
    ('to-ports-without-protocol', {'type': 'masquerade', 'out_interface': 'eth0', 'to_ports': 2000}, 'to_ports', None),
    ('bad-position', dict(ARCH_WEB, filter_position='top'), 'filter_position', 'top'),
    # issue 10: non-ASCII digits (finding 10)
    ('fullwidth-port', dict(ARCH_WEB, port='８０００', filter_chain='FORWARD'), 'destination_port', '８０００'),
    ('fullwidth-to-destination', dict(ARCH_WEB, to_destination='１９２.168.0.6', filter_chain='FORWARD'),
     'to_destination', '１９２.168.0.6'),
    ('fullwidth-source', {'type': 'masquerade', 'out_interface': 'eth0', 'source': ['１０.0.0.0/8']}, 'source',
     '１０.0.0.0/8'),
]


def _no_raw_controls(text):
    return not any(ord(c) < 32 and c != '\t' or 127 <= ord(c) < 160 for c in text)


EMPTY_LIST_BAD = [
    ('masquerade-source', {'type': 'masquerade', 'out_interface': 'eth0', 'source': []}, 'source'),
    ('masquerade-destination', {'type': 'masquerade', 'out_interface': 'eth0', 'destination': []}, 'destination'),
    ('snat-source', {'type': 'snat', 'out_interface': 'eth0', 'to_source': '203.0.113.1', 'source': []}, 'source'),
    ('port-forward-source', dict(ARCH_WEB, source=[], filter_chain='FORWARD'), 'source'),
    ('port-forward-destination', dict(ARCH_WEB, destination=[], filter_chain='FORWARD'), 'destination'),
]


@pytest.mark.parametrize('case', EMPTY_LIST_BAD, ids=[c[0] for c in EMPTY_LIST_BAD])
def test_an_empty_list_fails_instead_of_translating_everything(kernel, case):
    """Issue 10, finding 9: source: [] masqueraded every source."""
    name, args, field = case
    kernel.live['ipv4'] = FOREIGN
    result = run(args)
    assert result['failed'] is True, result
    assert result['changed'] is False
    assert result['field'] == field
    assert '%s must not be an empty list' % field in result['msg']
    assert kernel.calls == []
    assert kernel.live['ipv4'] == FOREIGN


@pytest.mark.parametrize('args,field,value', [
    (dict(ARCH_WEB, filter_chain='fw-open\x00'), 'filter_chain', 'fw-open\x00'),
    (dict(ARCH_WEB, filter_chain='FORWARD', comment='web\x00'), 'comment', 'web\x00'),
    (dict(ARCH_WEB, filter_chain='FORWARD', in_interface='ppp0\x1b'), 'in_interface', 'ppp0\x1b'),
    ({'type': 'masquerade', 'out_interface': 'eth0', 'source': ['10.0.0.0/8\x00']}, 'source', '10.0.0.0/8\x00'),
])
def test_control_characters_fail_naming_the_option_and_the_escaped_value(kernel, args, field, value):
    kernel.live['ipv4'] = FOREIGN
    result = run(args)
    assert result['failed'] is True, result
    assert result['changed'] is False
    assert result['field'] == field, result['msg']
    assert result['value'] == value
    assert repr(value) in result['msg'], result['msg']
    assert _no_raw_controls(result['msg'])
    assert kernel.restore_calls == []
    assert kernel.live['ipv4'] == FOREIGN


@pytest.mark.parametrize('case', BAD, ids=[c[0] for c in BAD])
def test_bad_input_changes_nothing(kernel, case):
    name, args, field, value = case
    kernel.live['ipv4'] = FOREIGN
    result = run(args)
    assert result['failed'] is True, result
    assert result['changed'] is False
    assert result['field'] == field, result['msg']
    if value is not None:
        assert result['value'] == value
        assert value in result['msg']
    assert kernel.restore_calls == []
    assert kernel.live['ipv4'] == FOREIGN


@pytest.mark.parametrize('args,text', [
    ({'type': 'masquerade'}, 'out_interface'),
    ({'type': 'snat', 'out_interface': 'eth0'}, 'to_source'),
    ({'type': 'port_forward', 'port': 22}, 'to_destination'),
    ({'type': 'hairpin'}, 'hairpin'),
    ({'type': 'port_forward', 'port': 22, 'to_destination': '10.0.0.1', 'protocol': 'icmp'}, 'icmp'),
])
def test_argument_spec(kernel, args, text):
    result = run(args)
    assert result['failed'] is True
    assert text in result['msg']
    assert kernel.calls == []
