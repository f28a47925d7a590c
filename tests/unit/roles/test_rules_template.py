# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/firewall_base/templates/rules.j2 under test (issue 11).

The template is rendered with Jinja2 over a matrix of variable combinations (every variable of
firewall_base that the template reads, and every role variable that reaches it, at least once;
both families), each output is parsed with the model (iptables_model), and the filter table is
run through the lockout evaluator (iptables_lockout): the open ports accept, SSH is reachable
when its port is open, closed ports are answered as configured (REJECT with the Linux answer, or
DROP), established traffic passes, egress follows the OUTPUT policy, a router forwards from
its LAN and not from its WAN.
"""

from __future__ import annotations

import ipaddress
import re

import pytest

import rolerender as rr
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import Packet, evaluate, preflight

HOST = {'ipv4': '203.0.113.1', 'ipv6': '2001:db8::1'}
CLIENT = {'ipv4': '198.51.100.7', 'ipv6': '2001:db8:1::7'}     # an address of no source list
ADMIN = {'ipv4': '192.0.2.10', 'ipv6': '2001:db8:2::10'}        # inside the ADMIN_NETS
ADMIN_NETS = ['192.0.2.0/24', '2001:db8:2::/48']
LAN = {'ipv4': '192.168.1.20', 'ipv6': 'fd00:1::20'}
FAMILIES = ('ipv4', 'ipv6')

# ---- the matrix at firewall_base level (name -> variables over the defaults)
ROUTER = {
    'firewall_base_forward': True,
    'firewall_base_wan_interface': 'ppp0',
    'firewall_base_lan_interfaces': ['eth0', 'eth1'],
    'firewall_base_masquerade': ['192.168.1.0/24', {'source': '192.168.2.0/24', 'snat_to': '203.0.113.1'},
                                 'fd00:1::/64'],
    'firewall_base_port_forwards': [
        {'proto': 'tcp', 'port': 8080, 'to': '192.168.1.6', 'to_port': 80, 'comment': 'web'},
        {'port': 2222, 'to': 'fd00:1::6', 'to_port': 22, 'sources': ADMIN_NETS},
        {'proto': 'udp', 'port': 51820, 'to': '192.168.1.7', 'sources': ['192.0.2.0/24', '2001:db8:2::/48']},
    ],
    'firewall_base_antispoof': True,
    'firewall_base_antispoof_networks': ['10.0.0.0/8', '192.168.0.0/16', 'fc00::/7'],
    'firewall_base_antispoof_allow': ['10.0.0.0/30', 'fd00:ff::/64'],
    'firewall_base_dhcp_client': True,
    'firewall_base_dhcp_server_interfaces': ['eth0'],
    'firewall_base_tables': ['filter', 'nat', 'raw'],
    'firewall_base_tcp_ports': [22, {'port': 53, 'interfaces': ['eth0', 'eth1']}],
    'firewall_base_udp_ports': [{'port': 53, 'interfaces': ['eth0', 'eth1']}],
}
MATRIX = {
    'defaults': {'firewall_base_tcp_ports': [22]},
    'nothing-open': {},
    'ports': {
        'firewall_base_tcp_ports': [22, 80, '8000:8100', {'port': 443, 'sources': ADMIN_NETS, 'comment': 'admin "web"'},
                                    {'port': 9100, 'sources': ['192.0.2.0/24']},
                                    {'port': 5432, 'interfaces': ['eth1'], 'comment': 'db'}],
        'firewall_base_udp_ports': [53, {'port': 51820, 'sources': ADMIN_NETS}],
    },
    'ssh-only-from-admins': {'firewall_base_tcp_ports': [{'port': 22, 'sources': ADMIN_NETS}]},
    'drop-tails': {'firewall_base_tcp_ports': [22], 'firewall_base_reject': False},
    'ssh-recent': {'firewall_base_tcp_ports': [2222], 'firewall_base_ssh_port': 2222, 'firewall_base_ssh_guard': 'recent',
                   'firewall_base_ssh_recent': [{'hitcount': 5, 'seconds': 60}]},
    'ssh-hashlimit': {'firewall_base_tcp_ports': [22, 80], 'firewall_base_ssh_guard': 'hashlimit',
                      'firewall_base_ssh_hashlimit': '3/minute', 'firewall_base_ssh_hashlimit_burst': 5},
    'trap': {'firewall_base_tcp_ports': [22, 80], 'firewall_base_portscan_trap': True,
             'firewall_base_portscan_seconds': 120},
    'trap-drop': {'firewall_base_tcp_ports': [22], 'firewall_base_portscan_trap': True, 'firewall_base_reject': False},
    'trap-and-guard': {'firewall_base_tcp_ports': [22], 'firewall_base_portscan_trap': True,
                       'firewall_base_ssh_guard': 'recent'},
    'log': {'firewall_base_tcp_ports': [22], 'firewall_base_log': True, 'firewall_base_log_prefix': 'fw',
            'firewall_base_log_limit': '10/minute', 'firewall_base_log_burst': 5, 'firewall_base_ssh_guard': 'recent',
            'firewall_base_portscan_trap': True, 'firewall_base_output_policy': 'DROP'},
    'ping-limited': {'firewall_base_tcp_ports': [22], 'firewall_base_icmp_echo_limit': '1/second',
                     'firewall_base_icmp_echo_burst': 5},
    'no-ping': {'firewall_base_tcp_ports': [22], 'firewall_base_icmp_echo': False},
    'egress': {'firewall_base_tcp_ports': [22], 'firewall_base_output_policy': 'DROP',
               'firewall_base_egress': [{'proto': 'udp', 'port': 53, 'destinations': ['192.0.2.53', '2001:db8:2::53']},
                                        {'port': [80, 443], 'comment': 'web'}, {'proto': 'tcp', 'port': '6000:6010'}],
               'firewall_base_egress_icmp_echo': False},
    'router': ROUTER,
    'router-drop-log': dict(ROUTER, firewall_base_reject=False, firewall_base_log=True),
    'docker': {'firewall_base_tcp_ports': [22], 'firewall_base_docker_published_sources': ADMIN_NETS},
    'ping-per-packet': {'firewall_base_tcp_ports': [22], 'firewall_base_icmp_echo_limit': '1/second',
                        'firewall_base_icmp_echo_limit_per': 'packet', 'firewall_base_hashlimit_htable_expire': 120000,
                        'firewall_base_ssh_guard': 'hashlimit', 'firewall_base_log': True},
    'log-everything': {'firewall_base_tcp_ports': [22, 80], 'firewall_base_udp_ports': [53], 'firewall_base_log': True,
                       'firewall_base_log_limit': '', 'firewall_base_log_accepts': True,
                       'firewall_base_log_prefixes': {'INPUT': 'fw input drop ', 'INPUT-ACCEPT': 'fw input accept ',
                                                      'OUTPUT-ACCEPT': 'fw output accept ', 'INVALID': 'FIREWALL:INVALID '},
                       'firewall_base_output_policy': 'DROP', 'firewall_base_egress': [{'proto': 'all'}]},
    # "trust every interface except the WAN" (seed 003): a host on two networks, then several WANs
    'trust-all-but-wan': {'firewall_base_tcp_ports': [22], 'firewall_base_trusted_interfaces_except': ['wan0'],
                          'firewall_base_output_policy': 'DROP', 'firewall_base_egress': [{'port': 443}]},
    'trust-all-but-two': {'firewall_base_tcp_ports': [22, {'port': 80, 'interfaces': ['wan0']}],
                          'firewall_base_trusted_interfaces_except': ['wan0', 'wan1'],
                          'firewall_base_output_policy': 'DROP', 'firewall_base_log_accepts': True},
    'router-all-but-wan': dict(ROUTER, firewall_base_forward_interfaces_except=['ppp0']),
    'router-all-but-two': dict(ROUTER, firewall_base_forward_interfaces_except=['ppp0', 'wg+'],
                               firewall_base_log_accepts=True),
    'off': dict(ROUTER, firewall_base_state='absent', firewall_base_extra_rules=[
        {'table': 'mangle', 'chain': 'PREROUTING', 'rule': '-j MARK --set-mark 1'}]),
    'accept-policy': {'firewall_base_tcp_ports': [], 'firewall_base_input_policy': 'ACCEPT', 'firewall_base_log': True,
                      'firewall_base_source_rules': [
                          {'sources': ['198.51.100.0/24', '2001:db8:1::/48'], 'proto': 'icmp', 'log': True},
                          {'sources': ['198.51.100.7', '2001:db8:1::7'], 'action': 'reject', 'proto': 'tcp', 'port': 22},
                          {'sources': ['192.0.2.66'], 'action': 'log', 'comment': 'watch'}],
                      'firewall_base_log_prefixes': {'SOURCE': '[INPUT]'}, 'firewall_base_log_limit': ''},
    'reject-types': dict(ROUTER, firewall_base_reject_with={
        'input_tcp': 'icmp-port-unreachable', 'input_udp': 'icmp-admin-prohibited', 'input_other': 'icmp-port-unreachable',
        'forward_tcp': 'icmp-host-unreachable', 'forward_other': 'icmp-host-unreachable'}, firewall_base_log_accepts=True),
    # issue 25: REJECT in INPUT with DROP in FORWARD; per-port REJECT types and drops; the IPv6
    # reverse-path filter loose; broadcast and multicast logged like the rest
    'reject-in-drop-forward': dict(ROUTER, firewall_base_forward_reject='drop',
                                   firewall_base_sysctl_settings={'net.ipv4.conf.all.rp_filter': 2}),
    'port-actions': {'firewall_base_tcp_ports': [22, 80, {'port': 113, 'action': 'reject', 'reject_with': 'tcp-reset'},
                                                 {'port': 23, 'action': 'drop', 'sources': ADMIN_NETS},
                                                 {'port': 25, 'action': 'reject'}],
                     'firewall_base_udp_ports': [{'port': 137, 'action': 'reject', 'reject_with': 'icmp-admin-prohibited'}],
                     'firewall_base_ipv6_rpfilter': 'loose', 'firewall_base_drop_broadcast': False,
                     'firewall_base_log': True},
    'extra-rules': {
        'firewall_base_tcp_ports': [22],
        'firewall_base_extra_rules': [
            {'chain': 'INPUT', 'rule': '-s 192.0.2.99 -j DROP', 'family': 'ipv4', 'order': 50, 'comment': 'before all'},
            {'chain': 'TCP', 'rule': '-p tcp --dport 7071 -j ACCEPT', 'comment': 'hook'},
            {'chain': 'INPUT', 'rule': '-p tcp --dport 7073 -j ACCEPT', 'family': 'ipv6', 'order': 300},
            {'table': 'nat', 'chain': 'PREROUTING', 'family': 'ipv4',
             'rule': '-p tcp --dport 8080 -j REDIRECT --to-ports 80'},
            {'chain': 'LOGDROP2'},
            {'chain': 'LOGDROP2', 'rule': '-j DROP'},
        ],
    },
}
# variables of firewall_base the template does not read (they drive the tasks)
NOT_IN_TEMPLATE = {'firewall_base_caller', 'firewall_base_mode', 'firewall_base_ipv6', 'firewall_base_conf_dir',
                   'firewall_base_rollback_timeout', 'firewall_base_sysctl', 'firewall_base_sysctl_profile',
                   'firewall_base_sysctl_on_readonly',
                   'firewall_base_container_engine', 'firewall_base_stop_firewalld', 'firewall_base_stop_ufw',
                   'firewall_base_ipsets', 'firewall_base_confirm_probes'}


def fb(case):
    v = rr.base_defaults()
    v.update(MATRIX[case])
    return v


def _fam(net, family):
    return (':' in str(net)) == (family == 'ipv6')


def _verdict(rs, **kw):
    return evaluate(rs, Packet(**kw))


def _ports(items, action='accept'):
    """(port text, sources or None, interfaces or None) of the port items with that action."""
    for item in items:
        p = item if isinstance(item, dict) else {'port': item}
        if p.get('action', 'accept') == action:
            yield str(p['port']), p.get('sources') or None, p.get('interfaces') or None


def _first_port(text):
    return int(str(text).split(':', maxsplit=1)[0])


REJECT6 = {'icmp-net-unreachable': 'icmp6-no-route', 'icmp-host-unreachable': 'icmp6-addr-unreachable',
           'icmp-port-unreachable': 'icmp6-port-unreachable', 'icmp-proto-unreachable': 'icmp6-adm-prohibited',
           'icmp-net-prohibited': 'icmp6-adm-prohibited', 'icmp-host-prohibited': 'icmp6-adm-prohibited',
           'icmp-admin-prohibited': 'icmp6-adm-prohibited', 'tcp-reset': 'tcp-reset'}
REJECT_DEFAULTS = {'input_tcp': 'tcp-reset', 'input_udp': 'icmp-port-unreachable', 'input_other': 'icmp-proto-unreachable',
                   'forward_tcp': 'tcp-reset', 'forward_other': 'icmp-admin-prohibited'}


def reject_type(v, key, family):
    kind = dict(REJECT_DEFAULTS, **v['firewall_base_reject_with'])[key]
    return REJECT6[kind] if family == 'ipv6' else kind


def _host_of(net):
    n = ipaddress.ip_network(net, strict=False)
    return str(n.network_address if n.num_addresses == 1 else n[1])


def _closed_port(v, proto):
    used = set()
    for port, _s, _i in [p for action in ('accept', 'reject', 'drop') for p in _ports(v['firewall_base_%s_ports' % proto], action)]:
        a, dummy, b = port.partition(':')
        used.update(range(int(a), int(b or a) + 1))
    for extra in v['firewall_base_extra_rules']:
        used.update(int(p) for p in re.findall(r'--dport (\d+)', extra.get('rule', '')))
    return next(p for p in (4, 5, 6, 7, 9, 11) if p not in used)


def check_properties(v, family, rs):
    """The properties every rendering must have (see the module docstring)."""
    client = CLIENT[family]
    if v['firewall_base_state'] == 'absent':
        # the off switch: everything passes
        for chain, kw in (('INPUT', {}), ('OUTPUT', {}), ('FORWARD', {'in_iface': 'eth0', 'out_iface': 'eth1'})):
            for proto in ('tcp', 'udp'):
                assert _verdict(rs, chain=chain, proto=proto, src=client, dst=HOST[family], sport=40000, dport=4,
                                **kw).verdict == 'ACCEPT'
        return
    if any(r.get('action', 'drop') != 'log' for r in v['firewall_base_source_rules']):
        client = {'ipv4': '198.18.0.7', 'ipv6': '2001:db8:5::7'}[family]     # not in a source rule
    host = HOST[family]
    reject = v['firewall_base_reject']
    blocked = 'REJECT' if reject else 'DROP'
    trap = v['firewall_base_portscan_trap']
    guard = v['firewall_base_ssh_guard']
    ssh_port = str(v['firewall_base_ssh_port'])
    # an untrusted interface: with "every interface but these" trusted, one of these
    excl = v['firewall_base_trusted_interfaces_except']
    eth9 = excl[0] if excl else 'eth9'
    wan9 = excl[-1] if excl else 'wan9'
    if excl:
        # whatever arrives on another interface is accepted, closed ports too; on these it is not
        for proto in ('tcp', 'udp'):
            assert _verdict(rs, chain='INPUT', proto=proto, src=client, dst=host, sport=40000, dport=4,
                            in_iface='lan7').verdict == 'ACCEPT'
            for iface in excl:
                assert _verdict(rs, chain='INPUT', proto=proto, src=client, dst=host, sport=40000, dport=4,
                                in_iface=iface).blocked
        if v['firewall_base_output_policy'] == 'DROP':
            assert _verdict(rs, chain='OUTPUT', src=host, dst=client, sport=40000, dport=25,
                            out_iface='lan7').verdict == 'ACCEPT'
            for iface in excl:
                assert _verdict(rs, chain='OUTPUT', src=host, dst=client, sport=40000, dport=25, out_iface=iface).blocked

    # established and related traffic passes, in and out
    assert _verdict(rs, chain='INPUT', src=client, dst=host, dport=40000, sport=22, ctstate='ESTABLISHED').verdict == 'ACCEPT'
    assert _verdict(rs, chain='OUTPUT', src=host, dst=client, sport=22, dport=40000,
                    ctstate='ESTABLISHED').verdict == 'ACCEPT'

    # the open ports, for a source of each list (or any source)
    for proto in ('tcp', 'udp'):
        anywhere = set(p for p, s, i in _ports(v['firewall_base_%s_ports' % proto]) if s is None and i is None)
        for port, sources, ifaces in _ports(v['firewall_base_%s_ports' % proto]):
            mine = [s for s in (sources or []) if isinstance(s, str) and _fam(s, family)]
            src = client if sources is None else (ADMIN[family] if mine else client)
            pkt = dict(chain='INPUT', proto=proto, src=src, dst=host, sport=40000, dport=_first_port(port),
                       in_iface=(ifaces[0] if ifaces else eth9))
            verdict = _verdict(rs, **pkt)
            if sources is not None and not mine:
                # a port with sources of the other family only is closed in this family
                assert verdict.blocked, (port, family, verdict)
                continue
            if proto == 'tcp' and port == ssh_port and guard != 'none' or port != ssh_port and trap:
                # SSH guard (runtime state), or the port-scan trap before an open port
                assert 'ACCEPT' in verdict.possible, (port, verdict.possible)
            else:
                assert verdict.verdict == 'ACCEPT', (proto, port, family, verdict, verdict.trace)
            if port in anywhere:
                continue
            if sources is not None and mine:
                # ... and only from those sources
                pkt['src'] = client
                other = _verdict(rs, **pkt)
                pkt['src'] = src
                assert other.blocked, (port, verdict)
            if ifaces:
                pkt['in_iface'] = wan9
                other = _verdict(rs, **pkt)
                assert other.blocked, (port, other)

    # ports refused on purpose: REJECT with their own type (or the chain's), or DROP, for their sources
    for proto in ('tcp', 'udp'):
        items = [i for i in v['firewall_base_%s_ports' % proto] if isinstance(i, dict) and i.get('action', 'accept') != 'accept']
        for item in items:
            mine = [s for s in (item.get('sources') or []) if isinstance(s, str) and _fam(s, family)]
            if item.get('sources') and not mine:
                continue
            src = ADMIN[family] if mine else client
            verdict = _verdict(rs, chain='INPUT', proto=proto, src=src, dst=host, sport=40000, dport=int(item['port']),
                               in_iface=eth9)
            if item['action'] == 'drop':
                assert verdict.verdict == 'DROP', (item, verdict.possible)
            else:
                kind = item.get('reject_with') or dict(REJECT_DEFAULTS, **v['firewall_base_reject_with'])['input_' + proto]
                assert verdict.verdict == 'REJECT', (item, verdict.possible)
                assert (REJECT6[kind] if family == 'ipv6' else kind) in verdict.rule_text, verdict.rule_text

    # SSH reachable when its port is open (the lockout preflight of an SSH session)
    open_ssh = [p for p in _ports(v['firewall_base_tcp_ports']) if p[0] == ssh_port and p[2] is None]
    if open_ssh:
        sources = open_ssh[0][1]
        mine = [s for s in (sources or []) if isinstance(s, str) and _fam(s, family)]
        if sources is None or mine:
            src = ADMIN[family] if mine else client
            r = preflight(rs, '%s 40000 %s %s' % (src, host, ssh_port))
            assert r['safe'] is (True if guard == 'none' else None), r['message']
            if guard == 'none':
                # the SSH port stays reachable for an admin who touched a closed port (trap)
                assert _verdict(rs, chain='INPUT', src=src, dst=host, sport=40000,
                                dport=int(ssh_port), in_iface=eth9).verdict == 'ACCEPT'

    if v['firewall_base_input_policy'] == 'ACCEPT':
        # everything else is accepted: no tails
        for proto in ('tcp', 'udp'):
            assert _verdict(rs, chain='INPUT', proto=proto, src=client, dst=host, sport=40000, dport=4,
                            in_iface=eth9).verdict == 'ACCEPT'
        return
    # closed ports are answered as configured
    tcp_closed = _closed_port(v, 'tcp')
    verdict = _verdict(rs, chain='INPUT', src=client, dst=host, sport=40000, dport=tcp_closed, in_iface=eth9)
    assert set(verdict.possible) == {blocked if (reject or trap) else 'DROP'}, (tcp_closed, verdict.possible)
    if reject:
        assert reject_type(v, 'input_tcp', family) in (verdict.rule_text or ''), verdict.rule_text
    verdict = _verdict(rs, chain='INPUT', proto='udp', src=client, dst=host, sport=40000,
                       dport=_closed_port(v, 'udp'), in_iface=eth9)
    assert set(verdict.possible) == {blocked if (reject or trap) else 'DROP'}, verdict.possible
    if reject:
        assert reject_type(v, 'input_udp', family) in verdict.rule_text, verdict.rule_text

    # egress: everything with OUTPUT ACCEPT; the egress list only with DROP
    out = dict(chain='OUTPUT', src=host, dst=client, sport=40000, out_iface=eth9)
    anything = [item for item in v['firewall_base_egress'] if item.get('proto') == 'all' and not item.get('destinations')]
    if v['firewall_base_output_policy'] == 'ACCEPT' or anything:
        assert _verdict(rs, dport=25, **out).verdict == 'ACCEPT'
    else:
        assert _verdict(rs, dport=25, **out).blocked
        for item in v['firewall_base_egress']:
            if item.get('proto') == 'all':
                continue
            dests = [d for d in item.get('destinations') or [] if _fam(d, family)]
            ports = item['port'] if isinstance(item['port'], list) else [item['port']]
            dst = _host_of(dests[0]) if dests else client
            kw = dict(out)
            kw.update(dst=dst, proto=item.get('proto', 'tcp'), dport=_first_port(ports[-1]))
            verdict = _verdict(rs, **kw)
            if item.get('destinations') and not dests:
                # destinations of the other family only: closed in this family
                assert verdict.blocked, (item, verdict)
            else:
                assert verdict.verdict == 'ACCEPT', (item, verdict)

    # forwarding: a router forwards what comes from its LAN, nothing new from its WAN
    fwd = dict(chain='FORWARD', src=LAN[family], dst=client, sport=40000, dport=443)
    fmode = v['firewall_base_forward_reject']
    reject = reject if fmode == 'auto' else fmode == 'reject'
    blocked = 'REJECT' if reject else 'DROP'
    if v['firewall_base_forward']:
        lan = v['firewall_base_lan_interfaces'][0]
        wan = v['firewall_base_wan_interface']
        verdict = _verdict(rs, in_iface=lan, out_iface=wan, **fwd)
        if v['firewall_base_docker_published_sources']:
            # (the published ports' check is in mangle FORWARD, which this evaluation of filter does not see)
            assert 'ACCEPT' in verdict.possible and 'REJECT' not in verdict.possible, verdict.possible
        else:
            assert verdict.verdict == 'ACCEPT', verdict
        back = _verdict(rs, chain='FORWARD', src=client, dst=LAN[family], sport=40000, dport=443,
                        in_iface=wan, out_iface=lan)
        assert set(back.possible) - {'RETURN'} <= {blocked if reject else 'DROP', 'DROP'}, back.possible
        if reject and not v['firewall_base_docker_published_sources']:
            assert reject_type(v, 'forward_tcp', family) in back.rule_text, back.rule_text
        # "every interface but these": another interface (not a LAN one) forwards too, the WAN does not
        fexcl = v['firewall_base_forward_interfaces_except']
        other = _verdict(rs, in_iface='wg7' if 'wg+' not in fexcl else 'tun7', out_iface=wan, **fwd)
        assert (other.verdict == 'ACCEPT') == bool(fexcl), other.possible
        if 'wg+' in fexcl:
            assert _verdict(rs, in_iface='wg7', out_iface=wan, **fwd).verdict != 'ACCEPT'
    elif not v['firewall_base_docker_published_sources']:
        assert _verdict(rs, in_iface='eth0', out_iface='eth1', **fwd).verdict == 'DROP'


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('case', sorted(MATRIX))
def test_template_matrix(case, family):
    v = fb(case)
    rs = rr.ruleset(v, family)
    check_properties(v, family, rs)


def test_matrix_sets_every_template_variable():
    with open(rr.os.path.join(rr.ROOT, 'roles', 'firewall_base', 'templates', 'rules.j2')) as f:
        read = set(re.findall(r'\bfirewall_base_[a-z0-9_]+', f.read())) - NOT_IN_TEMPLATE
    read.add('firewall_base_extra_rules')    # read through __firewall_base_extra_rules (with the hook)
    set_somewhere = set()
    for variables in MATRIX.values():
        set_somewhere.update(variables)
    assert read - set_somewhere == set()
    assert set(rr.base_defaults()) - NOT_IN_TEMPLATE - read == set(), 'a firewall_base default the template ignores'


# ---- rendered through the roles (their tasks/main.yml mapping onto firewall_base)
ROUTER_VARS = {'masquerading_router_wan_interface': 'ppp0', 'masquerading_router_lan_interfaces': ['eth0', 'eth1'],
               'masquerading_router_lan_networks': ['192.168.1.0/24', 'fd00:1::/64']}
ROLE_CASES = {
    'single_host': [
        {},
        {'single_host_tcp_ports': [2222, 80, {'port': 443, 'sources': ADMIN_NETS}], 'single_host_udp_ports': [53],
         'single_host_ssh_port': 2222, 'single_host_ssh_bruteforce': 'hashlimit', 'single_host_ssh_hashlimit': '2/minute',
         'single_host_ssh_hashlimit_burst': 3, 'single_host_portscan_trap': True, 'single_host_portscan_seconds': 30,
         'single_host_log_drops': True, 'single_host_log_prefix': 'vps', 'single_host_log_limit': '1/second',
         'single_host_log_burst': 3, 'single_host_icmp_echo_limit': '2/second', 'single_host_icmp_echo_burst': 4,
         'single_host_icmp_echo_limit_per': 'packet', 'single_host_hashlimit_htable_expire': 60000,
         'single_host_log_prefixes': {'INPUT': 'vps drop '}, 'single_host_log_accepts': True,
         'single_host_reject_with': {'input_other': 'icmp-port-unreachable'},
         'single_host_source_rules': [{'sources': ['192.0.2.66'], 'action': 'reject', 'log': True}],
         'single_host_drop_broadcast': False, 'single_host_ipv6_rpfilter': 'loose'},
        {'single_host_input_policy': 'ACCEPT', 'single_host_tcp_ports': []},
        {'single_host_trusted_interfaces_except': ['wan0'], 'single_host_output_policy': 'DROP'},
        {'single_host_output_policy': 'DROP', 'single_host_egress': [{'proto': 'tcp', 'port': 443}],
         'single_host_egress_icmp_echo': False, 'single_host_icmp_echo': False, 'single_host_reject': False,
         'single_host_ssh_bruteforce': 'recent', 'single_host_ssh_recent': [{'hitcount': 2, 'seconds': 5}],
         'single_host_extra_rules': [{'chain': 'TCP', 'rule': '-p tcp --dport 7071 -j ACCEPT'}],
         'single_host_docker_published_sources': ADMIN_NETS},
    ],
    'masquerading_router': [
        dict(ROUTER_VARS),
        dict(ROUTER_VARS, masquerading_router_reject_with={'forward_other': 'icmp-host-unreachable'},
             masquerading_router_log_accepts=True, masquerading_router_log_prefixes={'FORWARD-ACCEPT': 'gw fwd '},
             masquerading_router_icmp_echo_limit_per='packet', masquerading_router_hashlimit_htable_expire=1000,
             masquerading_router_input_policy='DROP', masquerading_router_trusted_interfaces_except=['ppp0'],
             masquerading_router_trusted_interfaces_scope='all', masquerading_router_forward_reject='drop',
             masquerading_router_drop_broadcast=False, masquerading_router_ipv6_rpfilter='off',
             masquerading_router_source_rules=[{'sources': ['2001:db8:66::/48'], 'proto': 'udp', 'port': 53}]),
        dict(ROUTER_VARS, masquerading_router_lan_services=['ssh', 'dns', 'dhcp', 'ntp'],
             masquerading_router_port_forwards=[{'port': 8080, 'to': '192.168.1.6', 'to_port': 80}],
             masquerading_router_antispoof=True, masquerading_router_antispoof_networks=['10.0.0.0/8'],
             masquerading_router_antispoof_allow=['10.0.0.0/30'], masquerading_router_dhcp_client=True,
             masquerading_router_tcp_ports=[22], masquerading_router_udp_ports=[51820],
             masquerading_router_output_policy='DROP', masquerading_router_egress=[{'port': 443}],
             masquerading_router_egress_icmp_echo=False, masquerading_router_icmp_echo=True,
             masquerading_router_icmp_echo_limit='5/second', masquerading_router_icmp_echo_burst=5,
             masquerading_router_reject=False, masquerading_router_ssh_port=22,
             masquerading_router_ssh_bruteforce='recent', masquerading_router_ssh_recent=[{'hitcount': 3, 'seconds': 9}],
             masquerading_router_ssh_hashlimit='1/minute', masquerading_router_ssh_hashlimit_burst=2,
             masquerading_router_portscan_trap=True, masquerading_router_portscan_seconds=10,
             masquerading_router_log_drops=True, masquerading_router_log_prefix='gw',
             masquerading_router_log_limit='1/minute', masquerading_router_log_burst=1,
             masquerading_router_extra_rules=[{'chain': 'FORWARD', 'rule': '-p tcp --dport 25 -j DROP', 'order': 50}],
             masquerading_router_docker_published_sources=['192.0.2.0/24']),
    ],
    'bastion': [
        {},
        {'bastion_reject_with': {'input_tcp': 'icmp-admin-prohibited'}, 'bastion_log_accepts': True,
         'bastion_log_prefixes': {'OUTPUT-ACCEPT': 'out ok '}, 'bastion_icmp_echo_limit_per': 'packet',
         'bastion_hashlimit_htable_expire': 5000, 'bastion_source_rules': [{'sources': ['192.0.2.0/24'], 'action': 'log'}],
         'bastion_drop_broadcast': False, 'bastion_ipv6_rpfilter': 'strict'},
        {'bastion_ssh_port': 2222, 'bastion_allowed_networks': ADMIN_NETS, 'bastion_ssh_bruteforce': 'hashlimit',
         'bastion_ssh_recent': [{'hitcount': 3, 'seconds': 10}], 'bastion_ssh_hashlimit': '4/minute',
         'bastion_ssh_hashlimit_burst': 4, 'bastion_internal_networks': ['10.0.0.0/8', 'fd00::/8'],
         'bastion_egress_ssh_ports': [22, 2222], 'bastion_dns_servers': ['192.0.2.53'],
         'bastion_ntp_servers': ['192.0.2.123'], 'bastion_egress': [{'proto': 'tcp', 'port': 443}],
         'bastion_egress_icmp_echo': False, 'bastion_icmp_echo': False, 'bastion_icmp_echo_limit': '1/second',
         'bastion_icmp_echo_burst': 2, 'bastion_reject': False, 'bastion_log_drops': False, 'bastion_log_prefix': 'b',
         'bastion_log_limit': '2/minute', 'bastion_log_burst': 2,
         'bastion_extra_rules': [{'chain': 'OUTPUT', 'rule': '-p tcp --dport 873 -j ACCEPT', 'family': 'ipv4'}],
         'bastion_docker_published_sources': ['192.0.2.0/24']},
    ],
}
# role variables that do not reach the template (tasks, kernel settings, files)
NOT_RENDERED = ('state',    # the off switch: test_off_switch_through_the_roles
                'ipv6', 'conf_dir', 'rollback_timeout', 'sysctl', 'sysctl_settings', 'sysctl_on_readonly',
                'stop_firewalld', 'stop_ufw', 'container_engine', 'ipsets', 'confirm_probes')
ROLE_PARAMS = [(role, i, family) for role in ROLE_CASES for i in range(len(ROLE_CASES[role])) for family in FAMILIES]


@pytest.mark.parametrize('role,index,family', ROLE_PARAMS)
def test_roles_render(role, index, family):
    v = rr.firewall_base_vars(role, ROLE_CASES[role][index])
    rs = rr.ruleset(v, family)
    check_properties(v, family, rs)


@pytest.mark.parametrize('role', sorted(ROLE_CASES))
def test_role_cases_set_every_rendered_variable(role):
    names = set(n for n in rr.load_yaml('roles', role, 'defaults', 'main.yml'))
    names -= set('%s_%s' % (role, s) for s in NOT_RENDERED)
    set_somewhere = set()
    for case in ROLE_CASES[role]:
        set_somewhere.update(case)
    assert names - set_somewhere == set()


def test_bastion_ssh_only_from_the_allow_list():
    v = rr.firewall_base_vars('bastion', {'bastion_allowed_networks': ['192.0.2.0/24']})
    v4 = rr.ruleset(v, 'ipv4')
    v6 = rr.ruleset(v, 'ipv6')
    assert evaluate(v4, Packet('INPUT', ADMIN['ipv4'], HOST['ipv4'], dport=22)).possible
    assert evaluate(v4, Packet('INPUT', CLIENT['ipv4'], HOST['ipv4'], dport=22)).blocked
    # no IPv6 network in the list: SSH closed on IPv6
    assert evaluate(v6, Packet('INPUT', ADMIN['ipv6'], HOST['ipv6'], dport=22)).blocked


def test_the_header_and_the_families():
    v = fb('router')
    assert rr.render(v, 'ipv4').startswith('#\n# Ansible managed\n#\n')
    v4 = rr.render(v, 'ipv4')
    v6 = rr.render(v, 'ipv6')
    assert '192.168.1.0/24' in v4 and '192.168.1.0/24' not in v6
    assert 'fd00:1::/64' in v6 and 'fd00:1::/64' not in v4
    assert '[fd00:1::6]:22' in v6
    for text in (v4, v6):
        for addr in re.findall(r'-[sd] (\S+)', text):
            ipaddress.ip_network(addr, strict=False)


# ---- safer defaults (issue 11)
def test_ssh_comes_before_the_port_scan_trap():
    for case in ('trap', 'trap-drop', 'trap-and-guard'):
        for family in FAMILIES:
            rs = rr.ruleset(fb(case), family)
            tcp = [r.text for r in rs.tables['filter'].chains['TCP'].rules]
            ssh = [i for i, r in enumerate(tcp) if '--dport 22 ' in r]
            trap = [i for i, r in enumerate(tcp) if 'PORTSCAN' in r]
            assert ssh and trap and max(ssh) < min(trap), tcp


def test_router_antispoof_default_keeps_cgnat_and_documentation_ranges():
    defaults = rr.load_yaml('roles', 'masquerading_router', 'defaults', 'main.yml')
    nets = defaults['masquerading_router_antispoof_networks']
    for net in ('100.64.0.0/10', '192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'):
        assert net not in nets
    v = rr.firewall_base_vars('masquerading_router', ROUTER_VARS)
    for family, src in (('ipv4', '100.64.3.4'), ('ipv4', '203.0.113.9'), ('ipv6', '2001:db8:9::1')):
        text = rr.render(v, family)
        drops = re.findall(r'-A antispoof -s (\S+) -j DROP', text)
        assert drops
        assert not any(ipaddress.ip_address(src) in ipaddress.ip_network(d) for d in drops), (src, drops)
    assert '-A antispoof -s 10.0.0.0/8 -j DROP' in rr.render(v, 'ipv4')


def test_router_needs_its_wan_and_lan():
    defaults = rr.load_yaml('roles', 'masquerading_router', 'defaults', 'main.yml')
    for name in ('wan_interface', 'lan_interfaces', 'lan_networks'):
        assert 'masquerading_router_' + name not in defaults
    with open(rr.os.path.join(rr.ROOT, 'roles', 'masquerading_router', 'meta', 'argument_specs.yml')) as f:
        spec = f.read()
    for name in ('wan_interface', 'lan_interfaces', 'lan_networks'):
        option = re.search(r'^      masquerading_router_%s:\n((?:        .*\n|          .*\n)+)' % name, spec, re.M)
        assert option and 'required: true' in option.group(1) and 'default:' not in option.group(1), name


# ---- expressiveness (issue 11)
def _rules(text, chain):
    return [line[len('-A %s ' % chain):] for line in text.splitlines() if line.startswith('-A %s ' % chain)]


@pytest.mark.parametrize('family', FAMILIES)
def test_ping_limit_per_packet_comes_before_the_established_accept(family):
    text = rr.render(fb('ping-per-packet'), family)
    rules = _rules(text, 'INPUT')
    limit = [i for i, r in enumerate(rules) if 'hashlimit-name icmp-echo' in r and r.endswith('-j DROP')]
    established = rules.index('-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    assert limit and max(limit) < established, rules
    assert '--hashlimit-above 1/second' in rules[limit[0]] and '--hashlimit-htable-expire 120000' in rules[limit[0]]
    assert any('hashlimit-name sshbf' in r and '--hashlimit-htable-expire 120000' in r for r in _rules(text, 'IN_SSH'))
    # per connection (the default): after the established accept, no htable-expire
    text = rr.render(fb('ping-limited'), family)
    rules = _rules(text, 'INPUT')
    limit = [i for i, r in enumerate(rules) if 'hashlimit-name icmp-echo' in r]
    assert min(limit) > rules.index('-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    assert 'htable-expire' not in text


@pytest.mark.parametrize('family', FAMILIES)
def test_unlimited_logging_free_prefixes_and_logged_accepts(family):
    text = rr.render(fb('log-everything'), family)
    logs = [line for line in text.splitlines() if '-j LOG' in line]
    assert logs and not any('-m limit' in line for line in logs)
    assert '-A INPUT -j LOG --log-prefix "fw input drop "' in text
    assert '-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "FIREWALL:INVALID "' in text
    assert '-A OUTPUT -j LOG --log-prefix "rampart:OUTPUT "' in text     # a label without its own prefix
    tcp = _rules(text, 'TCP')
    for port in ('22', '80'):
        i = tcp.index('-p tcp --dport %s -j ACCEPT' % port)
        assert tcp[i - 1] == '-p tcp --dport %s -j LOG --log-prefix "fw input accept "' % port
    out = _rules(text, 'OUTPUT')
    i = out.index('-m conntrack --ctstate NEW -j ACCEPT')
    assert out[i - 1] == '-m conntrack --ctstate NEW -j LOG --log-prefix "fw output accept "'


@pytest.mark.parametrize('family', FAMILIES)
def test_egress_anything_new(family):
    rs = rr.ruleset(fb('log-everything'), family)
    for proto, port in (('tcp', 25), ('udp', 5353), ('tcp', 65000)):
        assert evaluate(rs, Packet('OUTPUT', HOST[family], CLIENT[family], proto=proto, sport=40000,
                                   dport=port)).verdict == 'ACCEPT'
    assert evaluate(rs, Packet('OUTPUT', HOST[family], CLIENT[family], sport=40000, dport=25,
                               ctstate='INVALID')).blocked


@pytest.mark.parametrize('family', FAMILIES)
def test_reject_types_per_chain(family):
    text = rr.render(fb('reject-types'), family)
    v6 = family == 'ipv6'
    assert '-A INPUT -p udp -j REJECT --reject-with %s' % ('icmp6-adm-prohibited' if v6 else 'icmp-admin-prohibited') in text
    assert '-A INPUT -p tcp -j REJECT --reject-with %s' % ('icmp6-port-unreachable' if v6 else 'icmp-port-unreachable') in text
    assert '-A INPUT -j REJECT --reject-with %s' % ('icmp6-port-unreachable' if v6 else 'icmp-port-unreachable') in text
    assert '-A FORWARD -p tcp -j REJECT --reject-with %s' % ('icmp6-addr-unreachable' if v6 else 'icmp-host-unreachable') in text
    assert '-A FORWARD -j REJECT --reject-with %s' % ('icmp6-addr-unreachable' if v6 else 'icmp-host-unreachable') in text
    assert 'tcp-reset' not in text


@pytest.mark.parametrize('family', FAMILIES)
def test_input_policy_accept_with_source_rules(family):
    """Seed 002: INPUT accepts; a source's pings are logged and dropped, its SSH rejected."""
    v = fb('accept-policy')
    text = rr.render(v, family)
    assert ':INPUT ACCEPT [0:0]' in text and ':FORWARD DROP [0:0]' in text
    assert 'REJECT --reject-with tcp-reset' in text and '-j TCP' in text
    assert '-A INPUT -p tcp -j REJECT' not in text and 'rampart:INPUT' not in text
    rs = rr.ruleset(v, family)
    src = CLIENT[family]
    ssh = evaluate(rs, Packet('INPUT', src, HOST[family], sport=40000, dport=22))
    assert ssh.verdict == 'REJECT' and 'tcp-reset' in ssh.rule_text
    # even an established connection of that source is cut (order 90)
    assert evaluate(rs, Packet('INPUT', src, HOST[family], sport=40000, dport=22, ctstate='ESTABLISHED')).blocked
    assert evaluate(rs, Packet('INPUT', src, HOST[family], sport=40000, dport=80)).verdict == 'ACCEPT'
    assert evaluate(rs, Packet('INPUT', ADMIN[family], HOST[family], sport=40000, dport=22)).verdict == 'ACCEPT'
    rules = _rules(text, 'INPUT')
    icmp = 'ipv6-icmp' if family == 'ipv6' else 'icmp'
    net = '2001:db8:1::/48' if family == 'ipv6' else '198.51.100.0/24'
    i = rules.index('-s %s -p %s -j DROP' % (net, icmp))
    assert rules[i - 1] == '-s %s -p %s -j LOG --log-prefix "[INPUT]"' % (net, icmp)
    assert ('-s 192.0.2.66 -m comment --comment "watch" -j LOG --log-prefix "[INPUT]"' in rules) == (family == 'ipv4')


@pytest.mark.parametrize('family', FAMILIES)
def test_off_switch(family):
    """state absent: the same tables, built-in policies ACCEPT, no rule and no chain of the role."""
    on = rr.render(dict(fb('off'), firewall_base_state='present'), family)
    off = rr.render(fb('off'), family)
    tables = re.findall(r'^\*(\w+)$', on, re.M)
    assert tables == ['raw', 'mangle', 'nat', 'filter']
    assert re.findall(r'^\*(\w+)$', off, re.M) == tables
    assert not [line for line in off.splitlines() if line.startswith('-A ')]
    chains = re.findall(r'^:(\S+) (\S+)', off, re.M)
    assert chains and all(policy == 'ACCEPT' for _c, policy in chains), chains
    assert not [c for c, policy in chains if policy == '-']
    iptables_model_parse = rr.iptables_model.parse(off, family)
    assert sorted(iptables_model_parse.tables) == sorted(tables)


@pytest.mark.parametrize('role', sorted(ROLE_CASES))
def test_off_switch_through_the_roles(role):
    variables = dict(ROLE_CASES[role][-1], **{role + '_state': 'absent'})
    for family in FAMILIES:
        text = rr.render(rr.firewall_base_vars(role, variables), family)
        assert '-A ' not in text and ' DROP ' not in text, text


@pytest.mark.parametrize('family', FAMILIES)
def test_logged_ping_accept_has_a_bucket_of_its_own(family):
    """A LOG rule with the same hashlimit name would use up the tokens of the accept after it."""
    text = rr.render(dict(fb('ping-limited'), firewall_base_log_accepts=True), family)
    rules = [r for r in _rules(text, 'INPUT') if 'hashlimit' in r]
    assert len(rules) == 2, rules
    assert '--hashlimit-name icmp-echo-log' in rules[0] and '-j LOG' in rules[0]
    assert '--hashlimit-name icmp-echo ' in rules[1] and rules[1].endswith('-j ACCEPT')


@pytest.mark.parametrize('role', sorted(ROLE_CASES))
def test_one_render_of_both_families_is_the_two_files(role):
    """tasks/main.yml renders rules.j2 once for both families and splits the text on the separator line:
    the pieces are exactly the files of the per-family renders (which the audit and these tests use)."""
    for case in ROLE_CASES[role]:
        fb = rr.firewall_base_vars(role, case)
        files = [rr.render(fb, family) for family in ('ipv4', 'ipv6')]
        assert rr.render(fb, 'ipv4', families=['ipv4', 'ipv6']).split(rr.FAMILY_SEPARATOR) == files
        assert rr.render(fb, 'ipv4', families=['ipv4']).split(rr.FAMILY_SEPARATOR) == files[:1]
        assert all(rr.FAMILY_SEPARATOR not in text for text in files)


# ---- issue 25: loopback first, IPv6 reverse-path filter, broadcast drops, REJECT per port and
# per chain, DNAT of a port range, comments with backslashes, the router's trusted scope

def _lines(text, prefix):
    return [line for line in text.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize('family', FAMILIES)
def test_loopback_comes_before_every_per_packet_limit_and_source_rule(family):
    v = fb('ping-per-packet')
    v['firewall_base_source_rules'] = [{'sources': ['0.0.0.0/0', '::/0'], 'action': 'drop'}]
    text = rr.render(v, family)
    assert _lines(text, '-A INPUT ')[0] == '-A INPUT -i lo -j ACCEPT'
    rs = rr.ruleset(v, family)
    lo = {'ipv4': '127.0.0.1', 'ipv6': '::1'}[family]
    for proto in ('tcp', 'udp'):
        assert _verdict(rs, chain='INPUT', proto=proto, src=lo, dst=lo, dport=5432, in_iface='lo').verdict == 'ACCEPT'


@pytest.mark.parametrize('setting,expected', [
    (None, '-A PREROUTING -m rpfilter --invert -j DROP'), (1, '-A PREROUTING -m rpfilter --invert -j DROP'),
    (2, '-A PREROUTING -m rpfilter --loose --invert -j DROP'), (0, None), ('2', '-A PREROUTING -m rpfilter --loose --invert -j DROP')])
def test_ipv6_reverse_path_filter_follows_ipv4s_rp_filter(setting, expected):
    v = fb('defaults')
    if setting is not None:
        v['firewall_base_sysctl_settings'] = {'net.ipv4.conf.all.rp_filter': setting}
    v6 = rr.render(v, 'ipv6')
    assert _lines(v6, '-A PREROUTING') == ([expected] if expected else [])
    assert ('*raw' in v6) == bool(expected)
    assert '-m rpfilter' not in rr.render(v, 'ipv4')     # IPv4 has the rp_filter sysctl


@pytest.mark.parametrize('mode,expected', [('strict', ['-m rpfilter --invert -j DROP']),
                                           ('loose', ['-m rpfilter --loose --invert -j DROP']), ('off', [])])
def test_ipv6_reverse_path_filter_switch(mode, expected):
    v = fb('router')
    v.update(firewall_base_ipv6_rpfilter=mode, firewall_base_sysctl_settings={'net.ipv4.conf.all.rp_filter': 0})
    rs = rr.ruleset(v, 'ipv6')
    rules = [r.text for r in rs.tables['raw'].chains['PREROUTING'].rules]
    # before the WAN's anti-spoofing jump
    assert [r for r in rules if 'rpfilter' in r] == expected and rules[len(expected):] == ['-i ppp0 -j antispoof']


@pytest.mark.parametrize('family', FAMILIES)
def test_broadcast_and_multicast_are_dropped_before_the_log_rule(family):
    v = fb('log')
    text = rr.render(v, family)
    rules = _lines(text, '-A INPUT ')
    drop = '-A INPUT -m addrtype --dst-type %s -j DROP' % ('MULTICAST' if family == 'ipv6' else 'BROADCAST,MULTICAST')
    assert drop in rules
    assert rules.index(drop) < rules.index([r for r in rules if r.endswith(':INPUT "')][0])
    v['firewall_base_drop_broadcast'] = False
    assert 'addrtype' not in rr.render(v, family)
    v['firewall_base_drop_broadcast'] = True
    v['firewall_base_input_policy'] = 'ACCEPT'
    assert 'addrtype' not in rr.render(v, family)


@pytest.mark.parametrize('family', FAMILIES)
def test_reject_in_input_with_drop_in_forward(family):
    text = rr.render(fb('reject-in-drop-forward'), family)
    assert _lines(text, '-A INPUT -p tcp -j REJECT --reject-with tcp-reset')
    assert not [r for r in _lines(text, '-A FORWARD ') if 'REJECT' in r]
    v = fb('router-drop-log')     # firewall_base_reject false: FORWARD follows (auto)
    v['firewall_base_forward_reject'] = 'reject'
    text = rr.render(v, family)
    assert not [r for r in _lines(text, '-A INPUT ') if 'REJECT' in r]
    assert [r for r in _lines(text, '-A FORWARD ') if '-j REJECT --reject-with tcp-reset' in r]


@pytest.mark.parametrize('family', FAMILIES)
def test_a_port_answered_with_a_reject_type_of_its_own(family):
    text = rr.render(fb('port-actions'), family)
    assert '-A TCP -p tcp --dport 113 -j REJECT --reject-with tcp-reset' in text
    udp = 'icmp6-adm-prohibited' if family == 'ipv6' else 'icmp-admin-prohibited'
    assert '-A UDP -p udp --dport 137 -j REJECT --reject-with %s' % udp in text


@pytest.mark.parametrize('port,to_port,dnat', [('27015:27030', None, '192.168.1.7:27015-27030'),
                                               ('8000:8010', '9000:9010', '192.168.1.7:9000-9010'),
                                               (8080, 80, '192.168.1.7:80')])
def test_port_forward_of_a_port_range(port, to_port, dnat):
    v = fb('router')
    fwd = {'proto': 'udp', 'port': port, 'to': '192.168.1.7'}
    if to_port:
        fwd['to_port'] = to_port
    v['firewall_base_port_forwards'] = [fwd]
    text = rr.render(v, 'ipv4')
    nat = [r for r in _lines(text, '-A PREROUTING ') if 'DNAT' in r]
    assert len(nat) == 1 and nat[0].endswith('--to-destination %s' % dnat), nat
    assert '--dport %s -m conntrack --ctstate DNAT' % (to_port or port) in text
    rr.ruleset(v, 'ipv4')


@pytest.mark.parametrize('text', ['smb \\\\fs01\\backup', 'ends in a backslash \\', 'say "hi" \\"'])
def test_comments_keep_their_backslashes(text):
    """iptables-restore reads a backslash inside double quotes as escaping the next character: the
    template doubles each one, and the model reads the comment back as written (double quotes
    become single quotes, as always)."""
    v = fb('defaults')
    v['firewall_base_tcp_ports'] = [{'port': 445, 'comment': text}]
    rs = rr.ruleset(v, 'ipv4')
    rule = [r for r in rs.tables['filter'].chains['TCP'].rules if '--dport 445' in r.text][0]
    toks = [tok for tok, dummy in iptables_model.rule_tokens(rule.text)]
    assert toks[toks.index('--comment') + 1] == text.replace('"', "'")


def test_router_trusts_every_interface_but_the_wan_in_input_with_scope_all():
    base = dict(ROUTER_VARS, masquerading_router_trusted_interfaces_except=['ppp0'])
    forward_only = rr.render(rr.firewall_base_vars('masquerading_router', base), 'ipv4')
    assert '! -i ppp0 -j ACCEPT' in forward_only and '-A INPUT ! -i ppp0' not in forward_only
    v = rr.firewall_base_vars('masquerading_router', dict(base, masquerading_router_trusted_interfaces_scope='all',
                                                          masquerading_router_output_policy='DROP'))
    text = rr.render(v, 'ipv4')
    assert '-A INPUT ! -i ppp0 -j ACCEPT' in text and '-A OUTPUT ! -o ppp0 -j ACCEPT' in text
    rs = rr.ruleset(v, 'ipv4')
    assert _verdict(rs, chain='INPUT', proto='tcp', src=LAN['ipv4'], dst=HOST['ipv4'], dport=631,
                    in_iface='eth1').verdict == 'ACCEPT'
    assert _verdict(rs, chain='INPUT', proto='tcp', src=CLIENT['ipv4'], dst=HOST['ipv4'], dport=631,
                    in_iface='ppp0').blocked
