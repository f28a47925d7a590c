# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of plugins/module_utils/iptables_lockout.py (the SSH lockout preflight)."""

from __future__ import annotations

import ipaddress
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import (
    Packet,
    evaluate,
    parse_ssh_connection,
    preflight,
    session_packets,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures')
CLIENT = '198.51.100.7'
SERVER = '203.0.113.10'
CLIENT6 = '2001:db8:100::7'
SERVER6 = '2001:db8::1'


def conn(port=22, family='ipv4'):
    if family == 'ipv6':
        return '%s 50000 %s %d' % (CLIENT6, SERVER6, port)
    return '%s 50000 %s %d' % (CLIENT, SERVER, port)


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as f:
        return f.read()


def load(name, where='corpus'):
    return parse(fixture(where, name), 'ipv6' if name.endswith('.v6') else 'ipv4')


def line_of(text, needle):
    """1-based number of the first line of text that starts with needle."""
    for n, line in enumerate(text.split('\n'), 1):
        if line.strip().startswith(needle):
            return n
    raise AssertionError('%r not in the file' % needle)


def filt(rules, inp='DROP', out='ACCEPT', chains=(), family='ipv4'):
    """A filter table: line 2 is :INPUT, 4 is :OUTPUT, user chains follow, then the rules."""
    lines = ['*filter', ':INPUT %s [0:0]' % inp, ':FORWARD DROP [0:0]', ':OUTPUT %s [0:0]' % out]
    lines += [':%s - [0:0]' % c for c in chains]
    lines += list(rules) + ['COMMIT', '']
    return parse('\n'.join(lines), family)


def verdicts(result):
    return dict((v['packet'], v['verdict']) for v in result['verdicts'])


def new_in(rs, port=22, src=CLIENT, dst=SERVER, **kw):
    return evaluate(rs, Packet('INPUT', src, dst, 'tcp', 50000, port, 'NEW', {'SYN'}, **kw))


# ------------------------------------------------------------------------ corpus

def test_000_single_host_v4_ssh_path_goes_through_recent():
    # INPUT sends NEW tcp/22 to IN_SSH, whose first two rules are `-m recent --rcheck ... -j DROP`
    # (the brute-force guard): whether they match depends on the recent list at run time, so a
    # new connection is legitimately UNDECIDED (ACCEPT by `--set -j ACCEPT`, or DROP).
    text = fixture('corpus', '000-arch-single-host.v4')
    r = preflight(parse(text), conn(22))
    assert r['safe'] is None
    assert verdicts(r) == {'ssh-new-in': 'UNDECIDED', 'ssh-established-out': 'ACCEPT', 'ssh-established-in': 'ACCEPT',
                           'ssh-synack-out': 'ACCEPT'}
    new = r['verdicts'][0]
    assert sorted(new['possible']) == ['ACCEPT', 'DROP']
    rc = [line_of(text, '-A IN_SSH -m recent --name sshbf --rttl --rcheck --hitcount %d' % n) for n in (3, 4)]
    assert [(u['chain'], u['lineno']) for u in r['undecidable']] == [('IN_SSH', rc[0]), ('IN_SSH', rc[1])]
    assert all('recent --rcheck' in u['reason'] and u['packets'] == ['ssh-new-in'] for u in r['undecidable'])
    assert 'line %d' % rc[0] in r['message'] and 'confirm-or-revert' in r['message']
    v = new_in(parse(text))
    assert '-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j IN_SSH' in v.trace
    assert set(p['rule'] for p in v.paths) == set([
        '-A IN_SSH -m recent --set --name sshbf --mask 255.255.255.255 --rsource -j ACCEPT',
        '-A IN_SSH -m recent --rcheck --seconds 10 --hitcount 3 --rttl --name sshbf --mask 255.255.255.255 '
        '--rsource -j DROP',
        '-A IN_SSH -m recent --rcheck --seconds 1800 --hitcount 4 --rttl --name sshbf --mask 255.255.255.255 '
        '--rsource -j DROP'])
    est = r['verdicts'][2]
    assert est['chain'] == 'INPUT' and est['rule'] == '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'


def test_000_single_host_v6_accepts_through_tcp_chain():
    text = fixture('corpus', '000-arch-single-host.v6')
    rs = parse(text, 'ipv6')
    r = preflight(rs, conn(22, 'ipv6'))
    assert r['safe'] is True, r['message']
    assert set(verdicts(r).values()) == {'ACCEPT'}
    v = new_in(rs, src=CLIENT6, dst=SERVER6)
    assert (v.verdict, v.chain, v.rule_text) == ('ACCEPT', 'TCP', '-A TCP -p tcp -m tcp --dport 22 -j ACCEPT')
    assert v.lineno == line_of(text, '-A TCP -p tcp --dport 22 -j ACCEPT')
    assert v.trace == ['-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j TCP',
                       '-A TCP -p tcp -m tcp --dport 22 -j ACCEPT']
    assert v.undecidable == []
    # the IPv4 session is not filtered by ip6tables at all
    r4 = preflight(rs, conn(22))
    assert r4['safe'] is True and r4['verdicts'] == [] and 'does not filter it' in r4['message']


def test_000_nat_gateway_accepts_ssh():
    r = preflight(load('000-arch-nat-gateway.v4'), conn(22))
    assert r['safe'] is True
    assert r['verdicts'][0]['chain'] == 'TCP'


def test_004_all_drop_ssh_port_is_23():
    text = fixture('corpus', '004-dti-vps-all-drop.v4')
    rs = parse(text)
    r22 = preflight(rs, conn(22))
    assert r22['safe'] is False
    new = r22['verdicts'][0]
    drop_line = line_of(text, '-A indrop -j DROP')
    expected = ('DROP', 'indrop', '-A indrop -j DROP', drop_line)
    assert (new['verdict'], new['chain'], new['rule'], new['lineno']) == expected
    assert "'-A indrop -j DROP' (line %d) in chain indrop" % drop_line in r22['message']
    # the established session itself would survive: only new connections (Ansible's next one) die
    assert verdicts(r22)['ssh-established-in'] == 'ACCEPT'
    assert verdicts(r22)['ssh-established-out'] == 'ACCEPT'
    v = new_in(rs, 22)
    assert v.trace == ['-A INPUT -j indrop', '-A indrop -m limit --limit 30/min -j LOG --log-prefix "fw input drop "',
                       '-A indrop -j DROP']
    r23 = preflight(rs, conn(23))
    assert r23['safe'] is True, r23['message']
    new = r23['verdicts'][0]
    assert (new['verdict'], new['chain'], new['lineno']) == ('ACCEPT', 'inaccept', line_of(text, '-A inaccept -j ACCEPT'))
    assert any('limit' in n for n in r23['notes'])


def test_001_web_vps_ssh_is_hashlimited():
    # the only SSH accept carries `-m hashlimit`: under the limit ACCEPT, above it the packet
    # falls through to the DROP policy, so the new connection is UNDECIDED
    text = fixture('corpus', '001-centos-vps-web.v4')
    r = preflight(parse(text), conn(22))
    assert r['safe'] is None
    new = r['verdicts'][0]
    assert new['verdict'] == 'UNDECIDED' and sorted(new['possible']) == ['ACCEPT', 'DROP']
    assert len(r['undecidable']) == 1
    u = r['undecidable'][0]
    assert u['lineno'] == line_of(text, '-A INPUT -p tcp -m state --syn --state NEW --dport 22 -m hashlimit')
    assert 'hashlimit' in u['reason'] and 't_sshd' in u['reason']
    assert verdicts(r)['ssh-established-in'] == 'ACCEPT'


def test_003_busybox_depends_on_the_interface():
    rs = load('003-blfs-busybox.v4')
    r = preflight(rs, conn(22))
    assert r['safe'] is None
    assert [u['rule'] for u in r['undecidable']] == ['-A INPUT ! -i WAN1 -j ACCEPT', '-A OUTPUT ! -o WAN1 -j ACCEPT']
    # from the internet side the router rejects SSH and drops its replies
    r = preflight(rs, conn(22), in_iface='WAN1', out_iface='WAN1')
    assert r['safe'] is False
    assert r['verdicts'][0]['rule'] == '-A INPUT -j REJECT --reject-with icmp-port-unreachable'
    assert verdicts(r)['ssh-established-out'] == 'DROP'
    # from the LAN it is accepted
    r = preflight(rs, conn(22), in_iface='eth0', out_iface='eth0')
    assert r['safe'] is True


EXPECTED = {
    '000-arch-nat-gateway.v4': True,
    '000-arch-single-host.v4': None,   # recent --rcheck guard on the SSH path
    '000-arch-single-host.v6': True,
    '001-centos-vps-web.v4': None,     # hashlimit on the SSH accept
    '002-vpc-log-drop-reject.v4': True,
    '003-blfs-busybox.v4': None,       # ! -i WAN1 / ! -o WAN1 with an unknown interface
    '003-blfs-masquerading-router.v4': False,
    '003-blfs-personal.v4': False,     # no accept for new connections at all
    '004-dti-vps-all-drop.v4': True,   # with its SSH port 23
    '010-filter-spellings.v4': True,
    '011-nat-spellings.v4': True,      # no filter table
    '012-mangle-raw.v4': True,         # no filter table
    '013-ipv6-spellings.v6': True,
    '014-foreign.v4': None,            # string, time and u32 DROP rules
}


def _summary(rs, name):
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    r = preflight(rs, conn(23 if name.startswith('004') else 22, family))
    out = [r['safe']]
    for label, pkt in session_packets(conn(23 if name.startswith('004') else 22, family), family):
        v = evaluate(rs, pkt)
        out.append((label, v.verdict, v.chain, v.rule.key if v.rule is not None else v.rule_text, sorted(v.possible),
                    sorted((u['chain'], u['reason']) for u in v.undecidable)))
    return out


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_fixture_verdicts_same_for_every_spelling(name):
    where = 'corpus' if os.path.exists(os.path.join(FIXTURES, 'corpus', name)) else 'extra'
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    mine = _summary(load(name, where), name)
    assert mine[0] is EXPECTED[name]
    for backend in ('nft', 'legacy'):
        saved = parse(fixture('saved', backend, name), family)
        assert _summary(saved, name) == mine, backend


# ------------------------------------------------------------------ hand-written

def test_policy_drop_without_ssh_accept():
    rs = filt(['-A INPUT -p tcp --dport 80 -j ACCEPT'])
    v = new_in(rs)
    assert (v.verdict, v.chain, v.rule, v.rule_text, v.lineno) == ('DROP', 'INPUT', None, ':INPUT DROP (policy)', 2)
    assert v.trace == [':INPUT DROP (policy)']
    r = preflight(rs, conn())
    assert r['safe'] is False
    assert "':INPUT DROP (policy)' (line 2)" in r['message']


def test_source_restrictions():
    assert new_in(filt(['-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT'])).verdict == 'DROP'
    v = new_in(filt(['-A INPUT -s 198.51.100.0/24 -p tcp --dport 22 -j ACCEPT']))
    assert (v.verdict, v.lineno) == ('ACCEPT', 5)
    assert new_in(filt(['-A INPUT -s 198.51.0.7/255.255.0.255 -j ACCEPT'])).verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -d 203.0.113.0/24 -p tcp --dport 22 -j ACCEPT'])).verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -d 203.0.114.0/24 -p tcp --dport 22 -j ACCEPT'])).verdict == 'DROP'


def test_negated_source():
    rules = ['-A INPUT ! -s 198.51.100.0/24 -j REJECT', '-A INPUT -p tcp --dport 22 -j ACCEPT']
    assert new_in(filt(rules, 'ACCEPT')).verdict == 'ACCEPT'
    rules = ['-A INPUT ! -s 10.0.0.0/8 -j REJECT', '-A INPUT -p tcp --dport 22 -j ACCEPT']
    v = new_in(filt(rules, 'ACCEPT'))
    assert (v.verdict, v.rule_text) == ('REJECT', '-A INPUT ! -s 10.0.0.0/8 -j REJECT --reject-with icmp-port-unreachable')


def test_loopback_only():
    rs = filt(['-A INPUT -i lo -j ACCEPT'])
    assert new_in(rs).verdict == 'DROP'
    assert preflight(rs, conn())['safe'] is False
    # a controller on the host itself does come in over lo
    assert preflight(rs, '127.0.0.1 50000 127.0.0.1 22', )['verdicts'][0]['verdict'] == 'ACCEPT'
    assert new_in(filt(['-A INPUT ! -i lo -p tcp --dport 22 -j ACCEPT'])).verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -i + -p tcp --dport 22 -j ACCEPT'])).verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -i eth0 -p tcp --dport 22 -j ACCEPT']), in_iface='eth0').verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -i eth+ -p tcp --dport 22 -j ACCEPT']), in_iface='eth1').verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -i eth+ -p tcp --dport 22 -j ACCEPT']), in_iface='ens3').verdict == 'DROP'
    v = new_in(filt(['-A INPUT -i eth0 -p tcp --dport 22 -j ACCEPT']))
    assert v.verdict == 'UNDECIDED' and 'in_iface' in v.undecidable[0]['reason']


def test_return_from_user_chain_falls_to_policy():
    rules = ['-A INPUT -j SSH', '-A SSH -p tcp --dport 22 -j RETURN', '-A SSH -j ACCEPT']
    v = new_in(filt(rules, chains=['SSH']))
    assert (v.verdict, v.rule_text) == ('DROP', ':INPUT DROP (policy)')
    assert v.trace == ['-A INPUT -j SSH', '-A SSH -p tcp -m tcp --dport 22 -j RETURN', ':INPUT DROP (policy)']
    rules = ['-A INPUT -j SSH', '-A SSH -p tcp --dport 22 -j RETURN', '-A INPUT -p tcp --dport 22 -j ACCEPT']
    assert new_in(filt(rules, chains=['SSH'])).verdict == 'ACCEPT'
    # RETURN in a built-in chain: the policy decides
    assert new_in(filt(['-A INPUT -j RETURN', '-A INPUT -j ACCEPT'])).rule_text == ':INPUT DROP (policy)'
    assert new_in(filt(['-A INPUT -j RETURN', '-A INPUT -j DROP'], 'ACCEPT')).verdict == 'ACCEPT'


def test_goto_semantics():
    common = ['-A A -j DROP', '-A INPUT -p tcp --dport 22 -j ACCEPT', '-A B -p udp -j ACCEPT']
    # -j B: B is exhausted, A continues and drops
    v = new_in(filt(['-A INPUT -j A', '-A A -j B'] + common, chains=['A', 'B']))
    assert (v.verdict, v.chain, v.rule_text) == ('DROP', 'A', '-A A -j DROP')
    # -g B: on exhaustion of B the caller of A (INPUT) continues, and accepts
    v = new_in(filt(['-A INPUT -j A', '-A A -g B'] + common, chains=['A', 'B']))
    assert (v.verdict, v.chain) == ('ACCEPT', 'INPUT')
    assert v.trace == ['-A INPUT -j A', '-A A -g B', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']
    # -g from a built-in chain: the policy decides, the rest of INPUT is skipped
    v = new_in(filt(['-A INPUT -g B', '-A INPUT -j ACCEPT', '-A B -j RETURN'], chains=['B']))
    assert v.rule_text == ':INPUT DROP (policy)'


def test_multiport_ranges():
    rs = filt(['-A INPUT -p tcp -m multiport --dports 80,443,20:25 -j ACCEPT'])
    assert new_in(rs, 22).verdict == 'ACCEPT'
    assert new_in(rs, 26).verdict == 'DROP'
    rs = filt(['-A INPUT -p tcp -m multiport ! --dports 1000:2000,3000 -j ACCEPT'])
    assert new_in(rs, 22).verdict == 'ACCEPT'
    assert new_in(rs, 1500).verdict == 'DROP'
    assert new_in(filt(['-A INPUT -p tcp -m multiport --ports 50000 -j ACCEPT']), 22).verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -p tcp -m multiport --sports 1:1023 -j ACCEPT']), 22).verdict == 'DROP'


def test_syn_and_not_syn():
    rules = ['-A INPUT -p tcp ! --syn -m state --state NEW -j DROP', '-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT',
             '-A INPUT -p tcp --dport 22 -j ACCEPT']
    r = preflight(filt(rules), conn())
    assert r['safe'] is True
    rules = ['-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT', '-A INPUT -p tcp --syn -j DROP',
             '-A INPUT -p tcp --dport 22 -j ACCEPT']
    r = preflight(filt(rules), conn())
    assert verdicts(r) == {'ssh-new-in': 'DROP', 'ssh-established-in': 'ACCEPT', 'ssh-established-out': 'ACCEPT',
                           'ssh-synack-out': 'ACCEPT'}
    assert r['safe'] is False
    rules = ['-A INPUT -p tcp --tcp-flags SYN,ACK ACK -j ACCEPT']
    r = preflight(filt(rules), conn())
    assert verdicts(r)['ssh-new-in'] == 'DROP' and verdicts(r)['ssh-established-in'] == 'ACCEPT'
    # the server's SYN-ACK must get out too
    r = preflight(filt(['-A INPUT -j ACCEPT', '-A OUTPUT -p tcp --tcp-flags SYN,ACK SYN,ACK -j DROP']), conn())
    assert verdicts(r)['ssh-synack-out'] == 'DROP' and r['safe'] is False


def test_recent_rcheck_before_accept_is_undecided():
    text = ['-A INPUT -p tcp --dport 22 -m recent --name ssh --rcheck --seconds 60 --hitcount 4 -j DROP',
            '-A INPUT -p tcp --dport 22 -j ACCEPT']
    r = preflight(filt(text), conn())
    assert r['safe'] is None
    assert [(u['chain'], u['lineno']) for u in r['undecidable']] == [('INPUT', 5)]
    assert 'recent --rcheck' in r['undecidable'][0]['reason']
    assert 'line 5' in r['message']
    # the same match before a DROP policy with no accept: both branches drop, so it is decided
    v = new_in(filt(text[:1]))
    assert v.verdict == 'DROP' and v.undecidable == [] and v.notes
    # DROP or REJECT: blocked either way, so not safe
    r = preflight(filt(text[:1] + ['-A INPUT -j REJECT']), conn())
    assert r['verdicts'][0]['verdict'] == 'UNDECIDED' and r['safe'] is False
    # recent --set always matches
    assert new_in(filt(['-A INPUT -m recent --set --name x -j ACCEPT'])).verdict == 'ACCEPT'
    assert new_in(filt(['-A INPUT -m recent ! --set --name x -j ACCEPT'])).verdict == 'DROP'


def test_same_predicate_is_assumed_consistently():
    # the LOG rule and the DROP rule test the same list: no path where only one matches
    rules = ['-A INPUT -m recent --rcheck --name bad -j LOG', '-A INPUT -m recent --rcheck --name bad -j DROP',
             '-A INPUT -m recent --rcheck --name bad -j DROP', '-A INPUT -j ACCEPT']
    v = new_in(filt(rules))
    assert v.verdict == 'UNDECIDED' and len(v.paths) == 2
    rules = ['-A INPUT ! -i eth0 -j ACCEPT', '-A INPUT -i eth0 -p tcp --dport 22 -j ACCEPT']
    assert new_in(filt(rules)).verdict == 'ACCEPT'


def test_log_before_drop_continues():
    rs = filt(['-A INPUT -p tcp --dport 22 -j LOG --log-prefix "ssh "', '-A INPUT -p tcp --dport 22 -j DROP',
               '-A INPUT -j ACCEPT'], 'ACCEPT')
    v = new_in(rs)
    assert (v.verdict, v.lineno) == ('DROP', 6)
    assert v.trace == ['-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix "ssh "',
                       '-A INPUT -p tcp -m tcp --dport 22 -j DROP']
    rs = filt(['-A INPUT -j NFLOG --nflog-group 2', '-A INPUT -j MARK --set-mark 1', '-A INPUT -j ACCEPT'])
    assert new_in(rs).verdict == 'ACCEPT'


def test_output_policy_drop():
    rules = ['-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-A INPUT -p tcp --dport 22 -j ACCEPT']
    r = preflight(filt(rules, out='DROP'), conn())
    assert r['safe'] is False
    assert verdicts(r)['ssh-established-out'] == 'DROP'
    assert "':OUTPUT DROP (policy)' (line 4)" in r['message']
    r = preflight(filt(rules + ['-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT'], out='DROP'), conn())
    assert r['safe'] is True, r['message']
    r = preflight(filt(rules + ['-A OUTPUT -p tcp --sport 22 -j ACCEPT'], out='DROP'), conn())
    assert r['safe'] is True
    r = preflight(filt(rules + ['-A OUTPUT -p tcp --dport 22 -j ACCEPT'], out='DROP'), conn())
    assert r['safe'] is False


def test_ipv6_session():
    rules = ['-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT',
             '-A INPUT -s 2001:db8:100::/48 -p tcp --dport 22 -j ACCEPT',
             '-A INPUT -p ipv6-icmp -j ACCEPT']
    rs = filt(rules, family='ipv6')
    r = preflight(rs, conn(22, 'ipv6'))
    assert r['safe'] is True and r['session']['client'] == CLIENT6
    r = preflight(rs, '2001:db8:200::7 50000 %s 22' % SERVER6)
    assert r['safe'] is False and 'line 2' in r['message']
    # link-local with a scope: the scope names the interface
    rs = filt(['-A INPUT -i eth0 -p tcp --dport 22 -j ACCEPT', '-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT'],
              family='ipv6')
    assert preflight(rs, 'fe80::7%eth0 50000 fe80::1%eth0 22')['safe'] is True
    # IPv4-mapped addresses are IPv4
    rs4 = filt(rules[:1] + ['-A INPUT -s 198.51.100.0/24 -p tcp --dport 22 -j ACCEPT'])
    r = preflight(rs4, '::ffff:198.51.100.7 50000 ::ffff:203.0.113.10 22')
    assert r['safe'] is True and r['session']['client'] == CLIENT
    assert preflight(rs, '::ffff:198.51.100.7 50000 ::ffff:203.0.113.10 22')['verdicts'] == []


@pytest.mark.parametrize('bad', ['', 'garbage', '1.2.3.4 22 5.6.7.8', '1.2.3.4 x 5.6.7.8 22', '1.2.3.4 70000 5.6.7.8 22',
                                 '1.2.3.4 1 5.6.7.8 0', '1.2.3.4 1 ::1 22', 'host 1 5.6.7.8 22',
                                 '1.2.3.4 1 5.6.7.8 22 extra', None, 42])
def test_malformed_ssh_connection(bad):
    with pytest.raises(ValueError, match='SSH_CONNECTION'):
        session_packets(bad, 'ipv4')
    with pytest.raises(ValueError):
        preflight(filt([]), bad)


def test_parse_ssh_connection():
    assert parse_ssh_connection(' 198.51.100.7 50000 203.0.113.10 22\n') == (CLIENT, 50000, SERVER, 22, None)
    assert parse_ssh_connection('fe80::7%ens3 1 fe80::1%ens3 22')[4] == 'ens3'
    assert [label for label, _p in session_packets(conn(), 'ipv4')] == [
        'ssh-new-in', 'ssh-established-out', 'ssh-established-in', 'ssh-synack-out']
    assert session_packets(conn(), 'ipv6') == []
    with pytest.raises(ValueError):
        session_packets(conn(), 'ipx')


def test_unknown_client_port():
    # a management path given with client port 0: matches on that port cannot be decided
    rules = ['-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT', '-A INPUT -p tcp --dport 22 -j ACCEPT']
    assert preflight(filt(rules), '%s 0 %s 22' % (CLIENT, SERVER))['safe'] is True
    rules = ['-A INPUT -p tcp --sport 0:1023 -j DROP'] + rules
    r = preflight(filt(rules), '%s 0 %s 22' % (CLIENT, SERVER))
    assert r['safe'] is None and 'port is unknown' in r['undecidable'][0]['reason']
    assert preflight(filt(rules), conn())['safe'] is True
    pkt = Packet('INPUT', CLIENT, SERVER, 'tcp', None, 22)
    assert evaluate(filt(['-A INPUT -p tcp -m multiport --ports 22 -j ACCEPT']), pkt).verdict == 'ACCEPT'
    assert evaluate(filt(['-A INPUT -p tcp -m multiport --ports 9 -j ACCEPT']), pkt).verdict == 'UNDECIDED'


def test_undecided_targets_and_no_filter():
    rs = filt(['-A INPUT -p tcp --dport 22 -j NFQUEUE --queue-num 3'])
    v = new_in(rs)
    assert (v.verdict, v.chain, v.lineno) == ('UNDECIDED', 'INPUT', 5)
    assert 'NFQUEUE' in v.undecidable[0]['reason']
    assert preflight(rs, conn())['safe'] is None
    rs = parse('*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n'
               'COMMIT\n')
    v = new_in(rs)
    assert v.verdict == 'ACCEPT' and 'no filter table' in v.notes[0]
    r = preflight(rs, conn())
    assert r['safe'] is True and r['filter_managed'] is False


def test_undecidable_that_does_not_matter():
    rules = ['-A INPUT -m string --string evil --algo bm -j DROP', '-A INPUT -m time --timestart 10:00 -j REJECT',
             '-A INPUT -p tcp --dport 22 -j ACCEPT']
    v = new_in(filt(rules, 'ACCEPT'))
    assert v.verdict == 'UNDECIDED' and len(v.undecidable) == 2
    v = new_in(filt(['-A INPUT -m owner --uid-owner 0 -j DROP', '-A INPUT -j DROP']))
    assert v.verdict == 'DROP' and not v.undecidable


def test_path_cap():
    chains = ['C%d' % n for n in range(8)]

    def rules(n):
        return ['-A INPUT -m mark --mark %d -j C%d' % (k, k) for k in range(n)] + ['-A INPUT -j ACCEPT']
    # 2**5 branches, all accepting: decided
    v = new_in(filt(rules(5), chains=chains))
    assert v.verdict == 'ACCEPT' and not v.undecidable and len(v.paths) == 32
    # 2**8 branches: more than the cap, undecided even though every branch would accept
    v = new_in(filt(rules(8), chains=chains))
    assert v.verdict == 'UNDECIDED'
    assert 'combinations' in v.undecidable[-1]['reason'] and len(v.undecidable) == 9
    v = evaluate(filt(rules(2), chains=chains), Packet('INPUT', CLIENT, SERVER, dport=22), max_paths=3)
    assert v.verdict == 'UNDECIDED'


def test_matches_decided_for_the_session():
    ok = ['-A INPUT -m addrtype --dst-type LOCAL -p tcp --dport 22 -j ACCEPT',
          '-A INPUT -m addrtype ! --dst-type BROADCAST,MULTICAST -p tcp --dport 22 -j ACCEPT',
          '-A INPUT -m comment --comment "ssh in" -p tcp --dport 22 -j ACCEPT',
          '-A INPUT -m limit --limit 1/min -p tcp --dport 22 -j ACCEPT',
          '-A INPUT -m pkttype --pkt-type unicast -p tcp --dport 22 -j ACCEPT',
          '-A INPUT -m iprange --src-range 198.51.100.1-198.51.100.10 -j ACCEPT',
          '-A INPUT ! -p udp -j ACCEPT',
          '-A INPUT ! -f -p tcp -j ACCEPT',
          '-A INPUT -m conntrack --ctstate NEW --ctorigdstport 22 --ctorigsrc 198.51.100.0/24 --ctdir ORIGINAL -j ACCEPT',
          '-A INPUT -m conntrack --ctproto tcp --ctrepldst 198.51.100.7 -j ACCEPT',
          '-A INPUT -p tcp -m tcp --sport 1024:65535 --dport 22 -j ACCEPT']
    for rule in ok:
        v = new_in(filt([rule]))
        assert v.verdict == 'ACCEPT' and not v.undecidable, rule
    no = ['-A INPUT -m addrtype --dst-type BROADCAST -j ACCEPT', '-A INPUT -p udp -j ACCEPT',
          '-A INPUT -p icmp -j ACCEPT', '-A INPUT -f -j ACCEPT', '-A INPUT -m conntrack --ctstatus NONE -j ACCEPT',
          '-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT', '-A INPUT -m conntrack --ctdir REPLY -j ACCEPT',
          '-A INPUT -m iprange ! --src-range 198.51.100.1-198.51.100.10 -j ACCEPT',
          '-A INPUT -p tcp -m tcp ! --dport 22 -j ACCEPT', '-A INPUT -m pkttype --pkt-type broadcast -j ACCEPT']
    for rule in no:
        v = new_in(filt([rule]))
        assert v.verdict == 'DROP' and not v.undecidable, rule
    for rule in ['-A INPUT -m addrtype --src-type LOCAL -j ACCEPT', '-A INPUT -m connlimit --connlimit-above 2 -j ACCEPT',
                 '-A INPUT -m set --match-set ok src -j ACCEPT', '-A INPUT -m length --length 0:100 -j ACCEPT',
                 '-A INPUT -m conntrack --ctstate DNAT -j ACCEPT', '-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT']:
        v = new_in(filt([rule]))
        assert v.verdict == 'UNDECIDED' and v.undecidable[0]['lineno'] == 5, rule


def test_evaluate_a_table_and_bad_inputs():
    rs = filt(['-A INPUT -p tcp --dport 22 -j ACCEPT'])
    v = evaluate(rs.tables['filter'], Packet('INPUT', CLIENT, SERVER, dport=22))
    assert v.verdict == 'ACCEPT' and v.as_dict()['rule'] == '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT'
    with pytest.raises(ValueError):
        evaluate(rs, Packet('INPUT', CLIENT6, SERVER6, dport=22))
    with pytest.raises(ValueError):
        Packet('PREROUTING', CLIENT, SERVER)
    with pytest.raises(ValueError):
        Packet('INPUT', CLIENT, SERVER, tcp_flags={'BOGUS'})
    with pytest.raises(ValueError):
        Packet('INPUT', CLIENT, SERVER, dport=70000)
    with pytest.raises(ValueError):
        evaluate(rs, Packet('INPUT', CLIENT, 'nonsense'))
    with pytest.raises(TypeError):
        evaluate('text', Packet('INPUT', CLIENT, SERVER))
    udp = evaluate(filt(['-A INPUT -p udp -m multiport --dports 60000:61000 -j ACCEPT']),
                   Packet('INPUT', CLIENT, SERVER, 'udp', 5000, 60001))
    assert udp.verdict == 'ACCEPT'


# ------------------------------------------------------------ property: decidable

NETS = ['198.51.100.0/24', '198.51.100.7', '10.0.0.0/8', '0.0.0.0/0', '203.0.113.10', '203.0.113.0/25', '192.0.2.1']
PORTS = [(22, 22), (20, 30), (1024, 65535), (50000, 50000), (80, 80)]
STATES = [('NEW',), ('ESTABLISHED',), ('ESTABLISHED', 'RELATED'), ('INVALID',), ('NEW', 'ESTABLISHED')]
FLAGS = [('FIN,SYN,RST,ACK', 'SYN'), ('SYN,ACK', 'ACK'), ('SYN,ACK', 'SYN,ACK'), ('ALL', 'NONE')]
FLAG_BITS = {'FIN': 1, 'SYN': 2, 'RST': 4, 'PSH': 8, 'ACK': 16, 'URG': 32}


@st.composite
def rule_spec(draw, chain, user_chains):
    spec = {}
    for key in ('src', 'dst'):
        if draw(st.integers(0, 2)) == 0:
            spec[key] = (draw(st.booleans()), draw(st.sampled_from(NETS)))
    proto = draw(st.sampled_from([None, 'tcp', 'tcp', 'udp', 'icmp']))
    if proto:
        spec['proto'] = (proto == 'udp' and draw(st.booleans()), proto)
    if proto == 'tcp' and not spec['proto'][0]:
        for key in ('sport', 'dport'):
            if draw(st.booleans()):
                spec[key] = (draw(st.booleans()), draw(st.sampled_from(PORTS)))
        if draw(st.booleans()):
            spec['flags'] = (draw(st.booleans()), draw(st.sampled_from(FLAGS)))
        if draw(st.integers(0, 3)) == 0:
            spec['mports'] = (draw(st.booleans()), draw(st.sampled_from(['--dports', '--sports', '--ports'])),
                              draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=3)))
    if draw(st.booleans()):
        spec['state'] = (draw(st.booleans()), draw(st.sampled_from(['state', 'conntrack'])), draw(st.sampled_from(STATES)))
    if draw(st.integers(0, 3)) == 0:
        opts = ['-i'] if chain == 'INPUT' else ['-o'] if chain == 'OUTPUT' else ['-i', '-o']
        spec['iface'] = (draw(st.booleans()), draw(st.sampled_from(opts)), draw(st.sampled_from(['lo', '+'])))
    spec['extra'] = draw(st.sampled_from(['', '', '-m comment --comment "x y"', '-m limit --limit 5/min']))
    targets = ['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'LOG', None]
    kind = draw(st.sampled_from(['t', 't', 't', 'jump', 'goto'])) if user_chains else 't'
    if kind == 't':
        spec['target'] = ('t', draw(st.sampled_from(targets)))
    else:
        spec['target'] = (kind, draw(st.sampled_from(user_chains)))
    return spec


def spec_text(chain, spec):
    out = ['-A', chain]
    for key, flag in (('src', '-s'), ('dst', '-d')):
        if key in spec:
            out += (['!'] if spec[key][0] else []) + [flag, spec[key][1]]
    if 'iface' in spec:
        neg, flag, name = spec['iface']
        out += (['!'] if neg else []) + [flag, name]
    if 'proto' in spec:
        out += (['!'] if spec['proto'][0] else []) + ['-p', spec['proto'][1]]
    for key, flag in (('sport', '--sport'), ('dport', '--dport')):
        if key in spec:
            neg, (lo, hi) = spec[key]
            out += (['!'] if neg else []) + [flag, '%d:%d' % (lo, hi)]
    if 'flags' in spec:
        neg, (mask, comp) = spec['flags']
        out += (['!'] if neg else []) + ['--tcp-flags', mask, comp]
    if 'mports' in spec:
        neg, opt, ranges = spec['mports']
        out += ['-m', 'multiport'] + (['!'] if neg else []) + [opt, ','.join('%d:%d' % r for r in ranges)]
    if 'state' in spec:
        neg, mod, states = spec['state']
        out += ['-m', mod] + (['!'] if neg else []) + ['--state' if mod == 'state' else '--ctstate', ','.join(states)]
    if spec['extra']:
        out.append(spec['extra'])
    kind, name = spec['target']
    if name is not None:
        out += ['-g' if kind == 'goto' else '-j', name]
    return ' '.join(out)


def oracle_match(spec, pkt, chain):
    """An independent reading of a generated rule for a packet."""
    def net(text, addr):
        return ipaddress.ip_address(addr) in ipaddress.ip_network(text, strict=False)
    for key, addr in (('src', pkt.src), ('dst', pkt.dst)):
        if key in spec and net(spec[key][1], addr) == spec[key][0]:
            return False
    if 'iface' in spec:
        neg, flag, name = spec['iface']
        # the session never uses lo; in INPUT there is no output device and vice versa
        hit = name == '+'
        if neg == hit:
            return False
    if 'proto' in spec and (spec['proto'][1] == 'tcp') == spec['proto'][0]:
        return False
    for key, port in (('sport', pkt.sport), ('dport', pkt.dport)):
        if key in spec:
            neg, (lo, hi) = spec[key]
            if (lo <= port <= hi) == neg:
                return False
    if 'flags' in spec:
        neg, (mask, comp) = spec['flags']

        def bits(words):
            return 63 if words == 'ALL' else sum(FLAG_BITS.get(w, 0) for w in words.split(','))
        have = sum(FLAG_BITS[f] for f in pkt.tcp_flags)
        if ((have & bits(mask)) == bits(comp)) == neg:
            return False
    if 'mports' in spec:
        neg, opt, ranges = spec['mports']
        ports = {'--dports': [pkt.dport], '--sports': [pkt.sport], '--ports': [pkt.sport, pkt.dport]}[opt]
        if any(lo <= p <= hi for p in ports for lo, hi in ranges) == neg:
            return False
    if 'state' in spec and (pkt.ctstate in spec['state'][2]) == spec['state'][0]:
        return False
    return True


def oracle_chain(table, chain, pkt):
    """('verdict', V) or ('return',): recursive reading of jumps and gotos."""
    for spec in table[chain]:
        if not oracle_match(spec, pkt, chain):
            continue
        kind, name = spec['target']
        if kind in ('jump', 'goto'):
            r = oracle_chain(table, name, pkt)
            if r[0] == 'verdict':
                return r
            if kind == 'goto':
                return ('return',)
            continue
        if name in ('ACCEPT', 'DROP', 'REJECT'):
            return ('verdict', name)
        if name == 'RETURN':
            return ('return',)
    return ('return',)


@st.composite
def ruleset_spec(draw):
    nuser = draw(st.integers(0, 3))
    users = ['U%d' % n for n in range(nuser)]
    table = {}
    for chain in ['INPUT', 'OUTPUT'] + users:
        later = users[users.index(chain) + 1:] if chain in users else users
        table[chain] = draw(st.lists(rule_spec(chain, later), max_size=5))
    policies = {'INPUT': draw(st.sampled_from(['ACCEPT', 'DROP'])), 'OUTPUT': draw(st.sampled_from(['ACCEPT', 'DROP']))}
    return table, policies, users


def render_spec(table, policies, users):
    lines = ['*filter', ':INPUT %s [0:0]' % policies['INPUT'], ':FORWARD DROP [0:0]',
             ':OUTPUT %s [0:0]' % policies['OUTPUT']] + [':%s - [0:0]' % u for u in users]
    for chain, specs in table.items():
        lines += [spec_text(chain, s) for s in specs]
    return '\n'.join(lines + ['COMMIT', ''])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset_spec(), st.sampled_from([22, 23, 80]))
def test_decidable_rulesets_are_decided_like_the_oracle(spec, port):
    table, policies, users = spec
    rs = parse(render_spec(table, policies, users))
    for label, pkt in session_packets(conn(port), 'ipv4'):
        v = evaluate(rs, pkt)
        assert v.verdict in ('ACCEPT', 'DROP', 'REJECT'), (label, v.undecidable)
        assert not v.undecidable
        r = oracle_chain(table, pkt.chain, pkt)
        expected = r[1] if r[0] == 'verdict' else policies[pkt.chain]
        assert v.verdict == expected, (label, v.trace)
