# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources written {set: NAME} in the roles: the template matches NAME in IPv4 and NAME6 in IPv6,
the lockout evaluator decides SSH with the set's members, and every role hands its ipsets over."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import preflight
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse

import rolerender
from rolerender import ROLES, render, role_ruleset


def rules(text):
    return [line for line in text.splitlines() if line.startswith('-A ')]


def test_port_sources_with_a_set_per_family():
    fb = rolerender.firewall_base_vars('single_host', {
        'single_host_tcp_ports': [22, {'port': 5432, 'sources': [{'set': 'web'}, '192.0.2.7', '2001:db8::7']}]})
    v4, v6 = rules(render(fb, 'ipv4')), rules(render(fb, 'ipv6'))
    assert '-A TCP -m set --match-set web src -p tcp --dport 5432 -j ACCEPT' in v4
    assert '-A TCP -s 192.0.2.7 -p tcp --dport 5432 -j ACCEPT' in v4
    assert '-A TCP -m set --match-set web6 src -p tcp --dport 5432 -j ACCEPT' in v6
    assert '-A TCP -s 2001:db8::7 -p tcp --dport 5432 -j ACCEPT' in v6
    assert not [r for r in v4 if 'web6' in r] and not [r for r in v6 if 'web src' in r]


def test_bastion_allow_list_from_a_set_decides_the_lockout():
    user = {'bastion_allowed_networks': [{'set': 'admins'}], 'bastion_internal_networks': ['10.0.0.0/8']}
    # with the default brute-force guard (recent) the verdict depends on its list, not on the set
    guarded = preflight(role_ruleset('bastion', user, 'ipv4'), '198.51.100.7 50000 192.0.2.10 22',
                        sets={'admins': ['198.51.100.0/24']})
    assert guarded['safe'] is None
    assert [u['reason'] for u in guarded['undecidable'] if 'set' in u['reason'] and 'ipset' in u['reason']] == []
    user['bastion_ssh_bruteforce'] = 'none'
    rs = role_ruleset('bastion', user, 'ipv4')
    assert ('-A TCP -p tcp -m set --match-set admins src -m tcp --dport 22 -m comment --comment ssh -j ACCEPT'
            in rolerender.iptables_model.render(rs))
    inside = preflight(rs, '198.51.100.7 50000 192.0.2.10 22', sets={'admins': ['198.51.100.0/24']})
    assert inside['safe'] is True
    outside = preflight(rs, '203.0.113.9 50000 192.0.2.10 22', sets={'admins': ['198.51.100.0/24']})
    assert outside['safe'] is False
    assert preflight(rs, '198.51.100.7 50000 192.0.2.10 22')['safe'] is None   # without the members: undecided
    rs6 = role_ruleset('bastion', user, 'ipv6')
    assert preflight(rs6, '2001:db8::7 50000 2001:db8::10 22', sets={'admins6': ['2001:db8::/64']})['safe'] is True


def test_port_forward_and_published_sources_with_sets():
    fb = rolerender.firewall_base_vars('masquerading_router', {
        'masquerading_router_wan_interface': 'eth0', 'masquerading_router_lan_interfaces': ['eth1'],
        'masquerading_router_lan_networks': ['192.168.1.0/24'],
        'masquerading_router_port_forwards': [{'port': 8080, 'to': '192.168.1.5', 'to_port': 80,
                                               'sources': [{'set': 'partners'}]}],
        'masquerading_router_docker_published_sources': [{'set': 'office'}]})
    text = render(fb, 'ipv4')
    assert ('-A PREROUTING -i eth0 -m set --match-set partners src -m addrtype --dst-type LOCAL -p tcp --dport 8080 -j DNAT '
            '--to-destination 192.168.1.5:80') in text
    assert '-m set --match-set partners src -d 192.168.1.5 -p tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT' in text
    assert '-A published -m set --match-set office src -j RETURN' in text
    assert '-A published -m set --match-set office6 src -j RETURN' in render(fb, 'ipv6')


@pytest.mark.parametrize('role', ROLES)
def test_every_role_hands_its_ipsets_over(role):
    assert rolerender.include_vars(role)['firewall_base_ipsets'] == '{{ %s_ipsets }}' % role
    assert rolerender.load_yaml('roles', role, 'defaults', 'main.yml')['%s_ipsets' % role] == []
    spec = rolerender.load_yaml('roles', role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    assert spec['%s_ipsets' % role]['default'] == []


def test_the_include_is_skipped_without_sets():
    tasks = rolerender.load_yaml('roles', 'firewall_base', 'tasks', 'main.yml')
    inc = [t for t in tasks if t.get('ansible.builtin.include_tasks') == 'ipsets.yml']
    assert len(inc) == 1
    assert 'firewall_base_ipsets | length > 0' in inc[0]['when']
    with open(rolerender.os.path.join(rolerender.ROOT, 'roles', 'firewall_base', 'tasks', 'ipsets.yml')) as f:
        assert [t['name'] for t in yaml.safe_load(f)]


def test_port_forward_dnat_only_for_the_routers_own_addresses():
    """A port forward rewrites connections to the router itself, not traffic routed through it to
    another network that happens to use the same port (-m addrtype --dst-type LOCAL), in both families."""
    fb = rolerender.firewall_base_vars('masquerading_router', {
        'masquerading_router_wan_interface': 'eth0', 'masquerading_router_lan_interfaces': ['eth1'],
        'masquerading_router_lan_networks': ['192.168.1.0/24', 'fd00:1::/64'],
        'masquerading_router_port_forwards': [{'port': 8080, 'to': '192.168.1.5', 'to_port': 80},
                                              {'port': 8443, 'to': 'fd00:1::5', 'to_port': 443}]})
    head = '-A PREROUTING -i eth0 -m addrtype --dst-type LOCAL -p tcp --dport '
    for family, line in (('ipv4', head + '8080 -j DNAT --to-destination 192.168.1.5:80'),
                         ('ipv6', head + '8443 -j DNAT --to-destination [fd00:1::5]:443')):
        text = render(fb, family)
        assert line in text, text
        assert parse(text, family=family).tables['nat']
