# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The strict checks of the role variables (plugins/module_utils/role_vars.py, issue 11).

Each bad value gives exactly one message, naming the variable and the item, and saying what is
wrong; every role variable (defaults/main.yml, meta/argument_specs.yml) has a check; the
defaults pass.
"""

from __future__ import annotations

import os
import re

import zlib

import pytest
import yaml

from ansible_collections.rampart.firewall.plugins.filter.role_var_problems import FilterModule
from ansible_collections.rampart.firewall.plugins.module_utils.role_vars import SPECS, problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = ('single_host', 'masquerading_router', 'bastion')
ROUTER_NEEDS = {
    'masquerading_router_wan_interface': 'eth0',
    'masquerading_router_lan_interfaces': ['eth1'],
    'masquerading_router_lan_networks': ['192.168.1.0/24'],
}


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return yaml.safe_load(f)


def defaults(role):
    d = _yaml('roles', role, 'defaults', 'main.yml')
    if role == 'masquerading_router':
        d.update(ROUTER_NEEDS)
    return d


def declared(role):
    """The option names of the role's argument spec (read by their indentation)."""
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as f:
        return re.findall(r'^      (%s_[a-z0-9_]+):' % role, f.read(), re.M)


def check(role, **overrides):
    v = defaults(role)
    v.update(overrides)
    return problems(role, v, declared(role))


# (role, variables, the start of the one message, words the message must hold)
BAD = [
    # ---- a string, number or mapping where a list belongs
    ('single_host', {'single_host_tcp_ports': '443'}, 'single_host_tcp_ports:', ['must be a list', '"443"']),
    ('single_host', {'single_host_tcp_ports': '80,443'}, 'single_host_tcp_ports:', ['must be a list', '"80,443"']),
    ('single_host', {'single_host_tcp_ports': 443}, 'single_host_tcp_ports:', ['must be a list', 'number 443']),
    ('single_host', {'single_host_tcp_ports': {'port': 443}}, 'single_host_tcp_ports:', ['must be a list', 'mapping']),
    ('single_host', {'single_host_udp_ports': '53'}, 'single_host_udp_ports:', ['must be a list']),
    ('masquerading_router', {'masquerading_router_tcp_ports': '443'}, 'masquerading_router_tcp_ports:',
     ['must be a list', '"443"']),
    ('masquerading_router', {'masquerading_router_lan_interfaces': 'eth1'}, 'masquerading_router_lan_interfaces:',
     ['must be a list', '[eth1]']),
    ('masquerading_router', {'masquerading_router_lan_networks': '192.168.1.0/24'},
     'masquerading_router_lan_networks:', ['must be a list']),
    ('masquerading_router', {'masquerading_router_antispoof_allow': '192.168.0.0/16'},
     'masquerading_router_antispoof_allow:', ['must be a list']),
    ('masquerading_router', {'masquerading_router_lan_services': 'ssh'}, 'masquerading_router_lan_services:',
     ['must be a list']),
    ('bastion', {'bastion_allowed_networks': '203.0.113.0/24'}, 'bastion_allowed_networks:', ['must be a list']),
    ('bastion', {'bastion_egress_ssh_ports': 22}, 'bastion_egress_ssh_ports:', ['must be a list']),
    ('bastion', {'bastion_dns_servers': '192.0.2.53'}, 'bastion_dns_servers:', ['must be a list']),
    ('single_host', {'single_host_egress': {'proto': 'tcp', 'port': 443}}, 'single_host_egress:', ['must be a list']),
    ('single_host', {'single_host_extra_rules': '-p tcp --dport 1 -j ACCEPT'}, 'single_host_extra_rules:',
     ['must be a list']),
    ('single_host', {'single_host_docker_published_sources': '10.0.0.0/8'}, 'single_host_docker_published_sources:',
     ['must be a list']),
    ('single_host', {'single_host_ssh_recent': {'hitcount': 3, 'seconds': 10}}, 'single_host_ssh_recent:',
     ['must be a list']),
    # ---- unknown keys in items
    ('single_host', {'single_host_tcp_ports': [22, {'port': 9100, 'source': ['10.0.0.0/8']}]},
     'single_host_tcp_ports[1]:', ['unknown key "source"', 'did you mean "sources"']),
    ('single_host', {'single_host_udp_ports': [{'port': 53, 'interface': ['eth0']}]}, 'single_host_udp_ports[0]:',
     ['unknown key "interface"', '"interfaces"']),
    ('single_host', {'single_host_egress': [{'proto': 'tcp', 'port': 443, 'destination': ['10.0.0.1']}]},
     'single_host_egress[0]:', ['unknown key "destination"', '"destinations"']),
    ('masquerading_router', {'masquerading_router_port_forwards': [{'port': 80, 'to': '192.168.1.6', 'toport': 8080}]},
     'masquerading_router_port_forwards[0]:', ['unknown key "toport"', '"to_port"']),
    ('masquerading_router', {'masquerading_router_lan_networks': [{'source': '192.168.1.0/24', 'snat': '198.51.100.1'}]},
     'masquerading_router_lan_networks[0]:', ['unknown key "snat"', '"snat_to"']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rules': '-j ACCEPT'}]},
     'single_host_extra_rules[0]:', ['unknown key "rules"', '"rule"']),
    ('single_host', {'single_host_ssh_recent': [{'hitcount': 3, 'second': 10}]}, 'single_host_ssh_recent[0]:',
     ['unknown key "second"']),
    # ---- missing keys
    ('single_host', {'single_host_tcp_ports': [{'sources': ['10.0.0.0/8']}]}, 'single_host_tcp_ports[0]:',
     ['"port" is missing']),
    ('masquerading_router', {'masquerading_router_port_forwards': [{'port': 80}]},
     'masquerading_router_port_forwards[0]:', ['"to" is missing']),
    ('single_host', {'single_host_egress': [{'proto': 'udp'}]}, 'single_host_egress[0]:', ['"port" is missing']),
    ('single_host', {'single_host_extra_rules': [{'rule': '-j ACCEPT'}]}, 'single_host_extra_rules[0]:',
     ['"chain" is missing']),
    # ---- ports
    ('single_host', {'single_host_tcp_ports': [22, 70000]}, 'single_host_tcp_ports[1]:', ['70000 is outside 1-65535']),
    ('single_host', {'single_host_tcp_ports': [0]}, 'single_host_tcp_ports[0]:', ['0 is outside 1-65535']),
    ('single_host', {'single_host_tcp_ports': ['8100:8000']}, 'single_host_tcp_ports[0]:', ['backwards', '"8000:8100"']),
    ('single_host', {'single_host_tcp_ports': ['8000-8100']}, 'single_host_tcp_ports[0]:', ['with a colon']),
    ('single_host', {'single_host_tcp_ports': ['80,443']}, 'single_host_tcp_ports[0]:', ['several ports']),
    ('single_host', {'single_host_tcp_ports': ['http']}, 'single_host_tcp_ports[0]:', ['"http" is not a port number']),
    ('single_host', {'single_host_tcp_ports': [True]}, 'single_host_tcp_ports[0]:', ['must be a number']),
    ('single_host', {'single_host_udp_ports': [{'port': 99999}]}, 'single_host_udp_ports[0].port:',
     ['99999 is outside 1-65535']),
    ('single_host', {'single_host_tcp_ports': ['1:70000']}, 'single_host_tcp_ports[0]:', ['70000 is outside']),
    ('single_host', {'single_host_egress': [{'proto': 'tcp', 'port': [80, 65536]}]}, 'single_host_egress[0].port:',
     ['65536 is outside']),
    ('single_host', {'single_host_ssh_port': 0}, 'single_host_ssh_port:', ['0 is outside 1-65535']),
    ('single_host', {'single_host_ssh_port': '2200:2300'}, 'single_host_ssh_port:', ['not a range']),
    ('bastion', {'bastion_ssh_port': 70000}, 'bastion_ssh_port:', ['70000 is outside']),
    ('bastion', {'bastion_egress_ssh_ports': [22, 100000]}, 'bastion_egress_ssh_ports[1]:', ['100000 is outside']),
    ('masquerading_router', {'masquerading_router_port_forwards': [{'port': 80, 'to': '192.168.1.6', 'to_port': 0}]},
     'masquerading_router_port_forwards[0].to_port:', ['0 is outside']),
    ('masquerading_router', {'masquerading_router_port_forwards': [{'port': '90:80', 'to': '192.168.1.6'}]},
     'masquerading_router_port_forwards[0].port:', ['backwards']),
    # ---- addresses and networks
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'sources': ['10.0.0.300']}]},
     'single_host_tcp_ports[0].sources[0]:', ['"10.0.0.300"', 'neither an IPv4 nor an IPv6']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'sources': ['10.0.0.0/33']}]},
     'single_host_tcp_ports[0].sources[0]:', ['neither']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'sources': '10.0.0.0/8'}]},
     'single_host_tcp_ports[0].sources:', ['must be a list']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'sources': ['2001:db8::/129']}]},
     'single_host_tcp_ports[0].sources[0]:', ['neither']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'sources': ['example.org']}]},
     'single_host_tcp_ports[0].sources[0]:', ['neither']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'sources': [{'set': 'a b'}]}]},
     'single_host_tcp_ports[0].sources[0]:', ['set name']),
    ('bastion', {'bastion_allowed_networks': ['203.0.113.0/24', '198.51.100.0/255']}, 'bastion_allowed_networks[1]:',
     ['neither']),
    ('bastion', {'bastion_internal_networks': ['10.0.0.0/8', 10]}, 'bastion_internal_networks[1]:',
     ['written as a string']),
    ('bastion', {'bastion_dns_servers': ['192.0.2.256']}, 'bastion_dns_servers[0]:', ['neither']),
    ('bastion', {'bastion_ntp_servers': ['ntp.example.org']}, 'bastion_ntp_servers[0]:', ['neither']),
    ('masquerading_router', {'masquerading_router_lan_networks': ['192.168.1/24x']},
     'masquerading_router_lan_networks[0]:', ['neither']),
    ('masquerading_router', {'masquerading_router_port_forwards': [{'port': 80, 'to': '192.168.1.0/24'}]},
     'masquerading_router_port_forwards[0].to:', ['a single address']),
    ('masquerading_router', {'masquerading_router_port_forwards': [{'port': 80, 'to': '192.168.1.6',
                                                                    'sources': ['1.2.3.4.5']}]},
     'masquerading_router_port_forwards[0].sources[0]:', ['neither']),
    ('masquerading_router', {'masquerading_router_lan_networks': [{'source': '192.168.1.0/24', 'snat_to': '2001:db8::1'}]},
     'masquerading_router_lan_networks[0].snat_to:', ['different IP families']),
    ('masquerading_router', {'masquerading_router_antispoof_networks': ['10.0.0.0/8', 'fc00::/77x']},
     'masquerading_router_antispoof_networks[1]:', ['neither']),
    ('single_host', {'single_host_docker_published_sources': ['300.1.1.1']}, 'single_host_docker_published_sources[0]:',
     ['neither']),
    ('single_host', {'single_host_egress': [{'port': 53, 'destinations': ['1.1.1.1/40']}]},
     'single_host_egress[0].destinations[0]:', ['neither']),
    # ---- interfaces
    ('masquerading_router', {'masquerading_router_wan_interface': 'a-very-long-interface0'},
     'masquerading_router_wan_interface:', ['at most 15']),
    ('masquerading_router', {'masquerading_router_wan_interface': 'eth 0'}, 'masquerading_router_wan_interface:',
     ['refuses']),
    ('masquerading_router', {'masquerading_router_wan_interface': 'eth/0'}, 'masquerading_router_wan_interface:',
     ['refuses']),
    ('masquerading_router', {'masquerading_router_lan_interfaces': ['eth1', 'e+th']},
     'masquerading_router_lan_interfaces[1]:', ['may only end']),
    ('masquerading_router', {'masquerading_router_lan_interfaces': ['eth1', '']}, 'masquerading_router_lan_interfaces[1]:',
     ['empty']),
    ('masquerading_router', {'masquerading_router_lan_interfaces': ['eth1', '!eth2']},
     'masquerading_router_lan_interfaces[1]:', ['refuses']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'interfaces': ['eth0', 'wlan0-is-too-long']}]},
     'single_host_tcp_ports[0].interfaces[1]:', ['at most 15']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'interfaces': 'eth0'}]}, 'single_host_tcp_ports[0].interfaces:',
     ['must be a list']),
    ('masquerading_router', {'masquerading_router_lan_interfaces': ['eth0', 'eth1']},
     'masquerading_router_lan_interfaces:', ['holds the WAN interface']),
    # ---- "every interface but these" (seed 003), and ufw
    ('single_host', {'single_host_trusted_interfaces_except': 'eth0'}, 'single_host_trusted_interfaces_except:',
     ['must be a list', 'NOT trusted']),
    ('single_host', {'single_host_trusted_interfaces_except': ['eth0', 'my wan']},
     'single_host_trusted_interfaces_except[1]:', ['refuses']),
    ('masquerading_router', {'masquerading_router_trusted_interfaces_except': ['ppp0']},
     'masquerading_router_trusted_interfaces_except:', ['does not hold the WAN interface "eth0"', 'forwarded anywhere']),
    ('masquerading_router', {'masquerading_router_trusted_interfaces_except': ['eth0', 'eth1']},
     'masquerading_router_trusted_interfaces_except:', ['holds the LAN interface "eth1"']),
    ('bastion', {'bastion_trusted_interfaces_except': ['eth0']}, 'bastion_trusted_interfaces_except:',
     ['unknown variable']),
    ('single_host', {'single_host_stop_ufw': 'yes'}, 'single_host_stop_ufw:', ['true or false']),
    ('bastion', {'bastion_stop_ufw': None}, 'bastion_stop_ufw:', ['true or false']),
    # ---- required (no guessed eth0/eth1/192.168.1.0/24)
    ('masquerading_router', {'masquerading_router_wan_interface': ''}, 'masquerading_router_wan_interface:',
     ['required']),
    ('masquerading_router', {'masquerading_router_lan_interfaces': []}, 'masquerading_router_lan_interfaces:',
     ['required']),
    ('masquerading_router', {'masquerading_router_lan_networks': []}, 'masquerading_router_lan_networks:', ['required']),
    # ---- booleans, choices, numbers, rates, text
    ('single_host', {'single_host_log_drops': 'false'}, 'single_host_log_drops:', ['true or false', 'non-empty string']),
    ('single_host', {'single_host_ipv6': 'no'}, 'single_host_ipv6:', ['true or false']),
    ('single_host', {'single_host_reject': 1}, 'single_host_reject:', ['true or false']),
    ('masquerading_router', {'masquerading_router_antispoof': 'yes'}, 'masquerading_router_antispoof:', ['true or false']),
    ('bastion', {'bastion_egress_icmp_echo': None}, 'bastion_egress_icmp_echo:', ['true or false']),
    ('single_host', {'single_host_output_policy': 'REJECT'}, 'single_host_output_policy:', ['ACCEPT, DROP']),
    ('single_host', {'single_host_output_policy': 'drop'}, 'single_host_output_policy:', ['did you mean DROP']),
    ('single_host', {'single_host_ssh_bruteforce': 'fail2ban'}, 'single_host_ssh_bruteforce:', ['none, recent, hashlimit']),
    ('bastion', {'bastion_ssh_bruteforce': 'recnet'}, 'bastion_ssh_bruteforce:', ['did you mean recent']),
    ('masquerading_router', {'masquerading_router_lan_services': ['ssh', 'http']},
     'masquerading_router_lan_services[1]:', ['ssh, dns, dhcp, ntp']),
    ('single_host', {'single_host_sysctl_on_readonly': 'ignore'}, 'single_host_sysctl_on_readonly:', ['file_only']),
    ('single_host', {'single_host_container_engine': 'docker'}, 'single_host_container_engine:', ['auto, present, absent']),
    ('single_host', {'single_host_icmp_echo_limit': '5 per second'}, 'single_host_icmp_echo_limit:', ['rate']),
    ('single_host', {'single_host_icmp_echo_limit': 5}, 'single_host_icmp_echo_limit:', ['rate']),
    ('single_host', {'single_host_ssh_hashlimit': '1/fortnight'}, 'single_host_ssh_hashlimit:', ['rate']),
    ('bastion', {'bastion_log_limit': '0/minute'}, 'bastion_log_limit:', ['rate']),
    ('single_host', {'single_host_icmp_echo_burst': 0}, 'single_host_icmp_echo_burst:', ['outside']),
    ('single_host', {'single_host_log_burst': 'ten'}, 'single_host_log_burst:', ['whole number']),
    ('single_host', {'single_host_portscan_seconds': -1}, 'single_host_portscan_seconds:', ['outside']),
    ('single_host', {'single_host_rollback_timeout': 7200}, 'single_host_rollback_timeout:', ['outside 0-3600']),
    ('single_host', {'single_host_ssh_recent': [{'hitcount': 30, 'seconds': 10}]}, 'single_host_ssh_recent[0].hitcount:',
     ['outside 1-20']),
    ('single_host', {'single_host_ssh_recent': []}, 'single_host_ssh_recent:', ['must not be empty']),
    ('single_host', {'single_host_log_prefix': 'a-prefix-that-is-far-too-long'}, 'single_host_log_prefix:',
     ['OUTPUT-ACCEPT', 'at most 14 bytes']),
    ('single_host', {'single_host_log_prefix': 'my "fw"'}, 'single_host_log_prefix:', ['must not contain "']),
    ('single_host', {'single_host_log_prefix': ''}, 'single_host_log_prefix:', ['must not be empty']),
    ('single_host', {'single_host_conf_dir': 'etc/rampart'}, 'single_host_conf_dir:', ['absolute path']),
    ('single_host', {'single_host_sysctl_settings': ['net.ipv4.ip_forward=1']}, 'single_host_sysctl_settings:',
     ['mapping']),
    ('single_host', {'single_host_sysctl_settings': {'net.ipv4.tcp_syncookies': [1]}}, 'single_host_sysctl_settings:',
     ['number or a string']),
    ('masquerading_router', {'masquerading_router_sysctl_settings': {'kernel.kptr_restrict': 2}},
     'masquerading_router_sysctl_settings:', ['kernel.kptr_restrict', 'network key (net.*)', 'sysctl_hardening']),
    ('single_host', {'single_host_tcp_ports': [{'port': 22, 'comment': 'two\nlines'}]},
     'single_host_tcp_ports[0].comment:', ['control character']),
    ('single_host', {'single_host_egress': [{'proto': 'icmp', 'port': 1}]}, 'single_host_egress[0].proto:',
     ['tcp, udp']),
    # ---- extra rules (and the hook)
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': 'iptables -A INPUT -j ACCEPT'}]},
     'single_host_extra_rules[0].rule:', ['without "iptables"']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': '-p tcp --dprot 22 -j ACCEPT'}]},
     'single_host_extra_rules[0].rule:', ['does not parse', '--dprot']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': '-j ACCEPT', 'family': 'inet6'}]},
     'single_host_extra_rules[0].family:', ['both, ipv4, ipv6']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': '-j ACCEPT', 'table': 'filters'}]},
     'single_host_extra_rules[0].table:', ['did you mean filter']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': '-j ACCEPT', 'order': 'first'}]},
     'single_host_extra_rules[0].order:', ['whole number']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'my chain', 'rule': '-j ACCEPT'}]},
     'single_host_extra_rules[0].chain:', ['not a chain name']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': '-s 10.0.0.1 -j ACCEPT'}]},
     'single_host_extra_rules[0].rule:', ['does not parse for ipv6']),
    ('single_host', {'single_host_extra_rules': [{'chain': 'INPUT', 'rule': '-j NOSUCHCHAIN'}]},
     'single_host_extra_rules[0].rule:', ['NOSUCHCHAIN']),
    ('single_host', {'rampart_firewall_extra_rules': [{'chain': 'INPUT', 'rule': '-p tcp --dport 70000 -j ACCEPT'}]},
     'rampart_firewall_extra_rules[0].rule:', ['does not parse']),
    ('bastion', {'webapp_rampart_firewall_extra_rules': {'chain': 'INPUT', 'rule': '-j ACCEPT'}},
     'webapp_rampart_firewall_extra_rules:', ['must be a list']),
    # ---- unknown variables (a typo is ignored silently otherwise)
    ('single_host', {'single_host_tcp_port': [443]}, 'single_host_tcp_port:',
     ['unknown variable', 'did you mean single_host_tcp_ports']),
    ('masquerading_router', {'masquerading_router_wan_iface': 'eth0'}, 'masquerading_router_wan_iface:',
     ['unknown variable']),
    ('bastion', {'bastion_allowed_network': ['10.0.0.0/8']}, 'bastion_allowed_network:',
     ['did you mean bastion_allowed_networks']),
    ('bastion', {'bastion_tcp_ports': [80]}, 'bastion_tcp_ports:', ['unknown variable']),
    # ---- expressiveness variables
    ('single_host', {'single_host_icmp_echo_limit_per': 'packets'}, 'single_host_icmp_echo_limit_per:',
     ['connection, packet', 'did you mean packet']),
    ('single_host', {'single_host_hashlimit_htable_expire': -5}, 'single_host_hashlimit_htable_expire:', ['outside']),
    ('single_host', {'single_host_log_prefixes': {'INPUTS': 'x '}}, 'single_host_log_prefixes:',
     ['unknown label "INPUTS"', 'did you mean INPUT']),
    ('single_host', {'single_host_log_prefixes': {'INPUT': 'a prefix that is much too long for LOG'}},
     'single_host_log_prefixes:', ['INPUT: the prefix', 'at most 29']),
    ('single_host', {'single_host_log_prefixes': ['fw ']}, 'single_host_log_prefixes:', ['mapping']),
    ('single_host', {'single_host_log_accepts': 'yes'}, 'single_host_log_accepts:', ['true or false']),
    ('masquerading_router', {'masquerading_router_reject_with': {'forward_udp': 'icmp-host-unreachable'}},
     'masquerading_router_reject_with:', ['unknown key "forward_udp"']),
    ('bastion', {'bastion_reject_with': {'input_other': 'tcp-reset'}}, 'bastion_reject_with:', ['TCP only']),
    ('single_host', {'single_host_reject_with': {'input_tcp': 'icmp6-port-unreachable'}}, 'single_host_reject_with:',
     ['not a reject type']),
    ('single_host', {'single_host_egress': [{'proto': 'all', 'port': 80}]}, 'single_host_egress[0].port:',
     ['takes no port']),
    ('single_host', {'single_host_log_limit': 'fast'}, 'single_host_log_limit:', ['rate', 'for no limit']),
    # ---- address sets
    ('single_host', {'single_host_ipsets': [{'name': 'web', 'members': ['192.0.2.10', '192.0.2.300']}]},
     'single_host_ipsets[0].members[1]:', ['neither']),
    ('single_host', {'single_host_ipsets': [{'name': 'a-name-that-is-far-too-long-for-ipset'}]},
     'single_host_ipsets[0].name:', ['1-30']),
    ('bastion', {'bastion_ipsets': [{'name': 'web', 'member': []}]}, 'bastion_ipsets[0]:', ['unknown key "member"']),
]


def _id(case):
    variables, start = case[1], case[2]
    return '%s-%s' % (start.rstrip(':'), zlib.crc32(repr(sorted(variables.items(), key=str)).encode()) % 10000)


def test_enough_cases():
    assert len(BAD) >= 60


@pytest.mark.parametrize('case', BAD, ids=[_id(c) for c in BAD])
def test_bad_variable_gives_one_clear_message(case):
    role, variables, start, words = case
    found = check(role, **variables)
    assert len(found) == 1, found
    msg = found[0]
    assert msg.startswith(start + ' '), msg
    for word in words:
        assert word in msg, (word, msg)


@pytest.mark.parametrize('role', ROLES)
def test_defaults_pass(role):
    assert check(role) == []


@pytest.mark.parametrize('role', ROLES + ('firewall_base',))
def test_every_role_variable_is_checked(role):
    names = set(n for n in _yaml('roles', role, 'defaults', 'main.yml') if n.startswith(role + '_'))
    names |= set(declared(role))
    checked = set(role + '_' + k for k in SPECS[role])
    assert names - checked == set()


def test_masquerading_router_without_its_wan_and_lan():
    found = problems('masquerading_router', {}, [])
    names = [m.split(':', maxsplit=1)[0] for m in found]
    assert names == ['masquerading_router_wan_interface', 'masquerading_router_lan_interfaces',
                     'masquerading_router_lan_networks']


def test_several_problems_one_message_each():
    found = check('single_host', single_host_tcp_ports='443', single_host_udp_ports=[70000],
                  single_host_log_drops='yes')
    assert len(found) == 3
    names = sorted(m.split(':', maxsplit=1)[0] for m in found)
    assert names == ['single_host_log_drops', 'single_host_tcp_ports', 'single_host_udp_ports[0]']


GOOD = [
    ('single_host', {'single_host_tcp_ports': [
        22, '8000:8100',
        {'port': 443, 'sources': ['203.0.113.0/24', '2001:db8::/32'], 'interfaces': ['eth0', 'wg+'], 'comment': 'web'}]}),
    ('single_host', {'single_host_tcp_ports': [{'port': '22', 'sources': [{'set': 'admins'}]}],
                     'single_host_ipsets': [{'name': 'admins', 'members': ['192.0.2.10']}]}),
    ('single_host', {'single_host_ssh_port': '2222', 'single_host_icmp_echo_limit': '1/s'}),
    ('single_host', {'single_host_extra_rules': [
        {'chain': 'INPUT', 'rule': '-p tcp --dport 7073 -j ACCEPT', 'family': 'ipv6', 'order': 300},
        {'table': 'nat', 'chain': 'PREROUTING', 'family': 'ipv4', 'rule': '-p tcp --dport 8080 -j REDIRECT --to-ports 80'},
        {'chain': 'LOGME'}, {'chain': 'INPUT', 'rule': '-j LOGME', 'order': 50}]}),
    ('masquerading_router', {
        'masquerading_router_lan_networks': ['192.168.1.0/24', 'fd00::/64', {'source': '10.1.0.0/16', 'snat_to': '198.51.100.7'}],
        'masquerading_router_port_forwards': [{'proto': 'udp', 'port': 51820, 'to': 'fd00::6'}]}),
    ('bastion', {'bastion_allowed_networks': ['203.0.113.0/24', '2001:db8::/48'], 'bastion_dns_servers': ['192.0.2.53']}),
    ('single_host', {'single_host_rampart_firewall_extra_rules': [{'chain': 'TCP', 'rule': '-p tcp --dport 1 -j ACCEPT'}]}),
    ('single_host', {'single_host_log_limit': '', 'single_host_log_prefixes': {'INPUT': 'FIREWALL:INPUT '},
                     'single_host_egress': [{'proto': 'all'}, {'proto': 'all', 'destinations': ['10.0.0.0/8']}],
                     'single_host_reject_with': {'input_tcp': 'icmp-port-unreachable', 'forward_other': 'icmp-host-unreachable'},
                     'single_host_icmp_echo_limit_per': 'packet', 'single_host_hashlimit_htable_expire': 120000}),
    ('single_host', {'single_host_trusted_interfaces_except': ['ppp+', 'eth0'], 'single_host_stop_ufw': True}),
    ('masquerading_router', {'masquerading_router_trusted_interfaces_except': ['eth0', 'wg+'],
                             'masquerading_router_stop_ufw': True}),
]


@pytest.mark.parametrize('role,variables', GOOD)
def test_good_values_pass(role, variables):
    assert check(role, **variables) == []


def test_declared_names_are_not_unknown():
    assert problems('single_host', {'single_host_future_thing': 1}, ['single_host_future_thing']) == []
    assert problems('single_host', {'single_host_future_thing': 1}, []) != []


def test_the_filter():
    f = FilterModule().filters()['role_var_problems']
    assert f({'single_host_tcp_ports': '443'}, 'single_host') == [
        'single_host_tcp_ports: must be a list, not the string "443" (write [443] or [80, 443]: one item per port)']
    assert f({}, 'nope')[0].startswith('rampart.firewall: unknown role')


def test_validate_runs_before_the_packages():
    """Each role checks its variables first, before the task that installs packages."""
    for role in ROLES:
        tasks = _yaml('roles', role, 'tasks', 'main.yml')
        first = tasks[0]['ansible.builtin.include_role']
        assert first.get('tasks_from') == 'validate', role
        assert tasks[0]['vars']['firewall_base_caller'] == role
