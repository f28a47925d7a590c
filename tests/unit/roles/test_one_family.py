# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role variable that takes addresses, given addresses of one family, of the other, and of
both (issue 25).

Rendered the way a play renders it: the role's variables templated by ansible-core's Templar,
rules.j2 through the ``ansible.builtin.template`` lookup, both families in one render (rolerender).
Before issue 25 a list of one family crashed every role on ansible-core 2.19 ("object of type
'NoneType' has no attribute 'split'"): a Jinja2 macro that renders nothing is None there.

For each case: the render succeeds, each family's file parses, the addresses of a family appear
in that family's file only, and a family without addresses gets no rule for that item (a port
restricted to IPv4 sources is closed on IPv6, as the role READMEs say).
"""

from __future__ import annotations

import pytest

import rolerender as rr
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse

NET = {'ipv4': '198.51.100.0/24', 'ipv6': '2001:db8:7::/48'}
HOST = {'ipv4': '192.168.1.6', 'ipv6': 'fd00:1::6'}
ROUTER = {'masquerading_router_wan_interface': 'ppp0', 'masquerading_router_lan_interfaces': ['eth1'],
          'masquerading_router_lan_networks': ['192.168.1.0/24', 'fd00:1::/64']}
PORTS_ROLES = ('single_host', 'masquerading_router')


def _nets(fams):
    return [NET[f] for f in fams]


# (role, variables for the families given) -> the role variables of one case
CASES = {
    'bastion_allowed_networks': ('bastion', lambda f: {'bastion_allowed_networks': _nets(f)}),
    'bastion_internal_networks': ('bastion', lambda f: {'bastion_internal_networks': _nets(f)}),
    'bastion_dns_servers': ('bastion', lambda f: {'bastion_dns_servers': _nets(f)}),
    'bastion_egress': ('bastion', lambda f: {'bastion_egress': [{'port': 443, 'destinations': _nets(f)}]}),
    'masquerading_router_port_forwards': ('masquerading_router', lambda f: dict(ROUTER, masquerading_router_port_forwards=[
        {'port': 8080 + i, 'to': HOST[fam], 'to_port': 80, 'sources': [NET[fam]]} for i, fam in enumerate(f)])),
    'masquerading_router_antispoof_allow': ('masquerading_router', lambda f: dict(
        ROUTER, masquerading_router_antispoof_allow=_nets(f))),
}
for _role in ('single_host', 'masquerading_router', 'bastion'):
    _base = ROUTER if _role == 'masquerading_router' else {}
    CASES['%s_source_rules' % _role] = (_role, lambda f, r=_role, b=_base: dict(
        b, **{'%s_source_rules' % r: [{'sources': _nets(f), 'action': 'drop'}]}))
    CASES['%s_docker_published_sources' % _role] = (_role, lambda f, r=_role, b=_base: dict(
        b, **{'%s_docker_published_sources' % r: _nets(f)}))
for _role in PORTS_ROLES:
    _base = ROUTER if _role == 'masquerading_router' else {}
    for _proto in ('tcp', 'udp'):
        CASES['%s_%s_ports' % (_role, _proto)] = (_role, lambda f, r=_role, p=_proto, b=_base: dict(
            b, **{'%s_%s_ports' % (r, p): [22, {'port': 9100, 'sources': _nets(f)}]}))
    CASES['%s_egress' % _role] = (_role, lambda f, r=_role, b=_base: dict(
        b, **{'%s_output_policy' % r: 'DROP', '%s_egress' % r: [{'port': 443, 'destinations': _nets(f)}]}))

SPLITS = {'ipv4-only': ('ipv4',), 'ipv6-only': ('ipv6',), 'both': ('ipv4', 'ipv6')}


@pytest.mark.parametrize('split', sorted(SPLITS))
@pytest.mark.parametrize('case', sorted(CASES))
def test_addresses_of_one_family_render_in_that_family_only(case, split):
    role, build = CASES[case]
    fams = SPLITS[split]
    fb_vars = rr.firewall_base_vars(role, build(fams))
    files = rr.render(fb_vars, 'ipv4', families=['ipv4', 'ipv6']).split(rr.FAMILY_SEPARATOR)
    assert len(files) == 2
    for family, text in zip(('ipv4', 'ipv6'), files):
        parse(text, family)
        other = 'ipv6' if family == 'ipv4' else 'ipv4'
        assert NET[other] not in text
        assert (NET[family] in text) == (family in fams), (family, text)


@pytest.mark.parametrize('role', rr.ROLES)
def test_a_port_open_to_ipv4_sources_only_is_closed_on_ipv6(role):
    """The README's promise: with sources of one family, the other family has the port closed."""
    if role == 'bastion':
        user = {'bastion_allowed_networks': [NET['ipv4']]}
        port, chain = 22, 'TCP'
    else:
        user = dict(ROUTER if role == 'masquerading_router' else {},
                    **{'%s_tcp_ports' % role: [{'port': 9100, 'sources': [NET['ipv4']]}]})
        port, chain = 9100, 'TCP'
    fb_vars = rr.firewall_base_vars(role, user)
    v4, v6 = rr.render(fb_vars, 'ipv4', families=['ipv4', 'ipv6']).split(rr.FAMILY_SEPARATOR)
    rules4 = [r.text for r in parse(v4, 'ipv4').tables['filter'].chains[chain].rules]
    rules6 = [r.text for r in parse(v6, 'ipv6').tables['filter'].chains[chain].rules]
    assert any('-s %s' % NET['ipv4'] in r and '--dport %d' % port in r for r in rules4)
    assert not any('--dport %d' % port in r for r in rules6)
