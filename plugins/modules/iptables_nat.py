#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: iptables_nat
short_description: Masquerading, source NAT and port forwarding with iptables/ip6tables
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - The three NAT setups of a gateway, each as one task.
  - V(masquerade) rewrites the source of packets leaving by O(out_interface) to that interface's address
    (C(-t nat -A POSTROUTING -o OUT -j MASQUERADE)), optionally only for the O(source) networks.
  - V(snat) rewrites it to a fixed address, O(to_source) (C(-j SNAT --to-source)).
  - V(port_forward) sends connections arriving on O(in_interface) to O(port) on to another host, O(to_destination)
    (C(-t nat -A PREROUTING -i IN -p PROTO --dport PORT -j DNAT --to-destination ADDRESS[:PORT])), and also accepts
    them in the filter table (C(-A CHAIN -d ADDRESS -p PROTO --dport PORT -j ACCEPT)), in O(filter_chain), V(FORWARD)
    or a user-defined chain such as the Arch wiki gateway's C(fw-open). O(state=absent) removes both rules.
  - Works like M(rampart.firewall.iptables_rule), which it uses. The live tables are read and compared
    canonically, only the touched chains are edited with one C(iptables-restore --noflush) per family, and the
    result is read back and checked.
  - Forwarding also needs C(net.ipv4.ip_forward) (and C(net.ipv6.conf.all.forwarding)) set to 1, see
    M(rampart.firewall.sysctl_hardening).
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
  - rampart.firewall.granular
attributes:
  check_mode:
    support: full
    details:
      - The edits are still checked with C(iptables-restore --test --noflush), which changes nothing.
  diff_mode:
    support: full
    details:
      - One diff per family and table, showing the touched chains.
  platform:
    support: full
    platforms: linux
options:
  type:
    description: The kind of NAT, see the description.
    type: str
    required: true
    choices: [masquerade, snat, port_forward]
  state:
    description: V(present) adds the rules (at O(position) and O(filter_position)), V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  family:
    description:
      - V(ipv4) uses C(iptables), V(ipv6) uses C(ip6tables), V(both) adds the rules to both.
      - An address of one family (O(source), O(to_destination), ...) in a rule that goes to the other is an error.
    type: str
    choices: [ipv4, ipv6, both]
    default: ipv4
  source:
    description:
      - Only translate packets from these addresses or networks (C(-s)), one rule each.
      - With V(port_forward), the filter rule is limited to them too.
      - An empty list is an error (it would translate packets from every address). Leave the option out for that.
    type: list
    elements: str
  destination:
    description:
      - V(masquerade) and V(snat), only translate packets to these addresses or networks.
      - V(port_forward), only forward connections to these addresses of the gateway (C(-d) in the DNAT rule).
      - An empty list is an error, as for O(source).
    type: list
    elements: str
  in_interface:
    description: V(port_forward), the interface the connections come in on, usually the internet side (C(-i)).
    type: str
  out_interface:
    description:
      - V(masquerade) and V(snat), the interface the packets leave by, usually the internet side (C(-o)).
      - Required with V(masquerade).
    type: str
  protocol:
    description:
      - The protocol. V(port_forward) uses V(tcp) when it is not given. With V(masquerade) and V(snat) it limits
        the rule to that protocol (needed for O(to_ports)).
    type: str
    choices: [tcp, udp, sctp, dccp, udplite]
  port:
    description:
      - V(port_forward), the port (number, service name or range V(8000-8010)) the connections come to. Required.
    type: raw
  to_destination:
    description:
      - V(port_forward), where to send the connections, V(ADDRESS) (same port) or V(ADDRESS:PORT), for IPv6
        V([ADDRESS]:PORT). Required.
    type: str
  to_source:
    description: V(snat), the new source address (or V(ADDRESS:PORTS), or a range). Required with V(snat).
    type: str
  to_ports:
    description: V(masquerade), the source ports to use (V(1024-65535)). Needs O(protocol).
    type: raw
  filter_chain:
    description:
      - V(port_forward), the chain of the filter table that gets the rule accepting the forwarded connections.
      - V(FORWARD) or a user-defined chain that exists (see M(rampart.firewall.iptables_chain)), for example one
        that V(FORWARD) jumps to before its final C(REJECT).
    type: str
    default: FORWARD
  filter_accept:
    description: V(port_forward), whether to add the filter rule at all. V(false) leaves the filter table alone.
    type: bool
    default: true
  position:
    description:
      - Where the NAT rule must be in its chain, V(append) (anywhere; appended when missing), V(prepend) or a rule
        number, as the O(rampart.firewall.iptables_rule#module:position) option of M(rampart.firewall.iptables_rule).
    type: raw
    default: append
  filter_position:
    description:
      - Where the filter rule of V(port_forward) must be in O(filter_chain), as O(position).
      - In a V(FORWARD) chain that ends with a C(REJECT) or C(DROP) rule, an appended rule comes too late. Use a
        number, V(prepend), or a user-defined chain.
    type: raw
    default: append
  comment:
    description: A comment stored with the rules (C(-m comment --comment)).
    type: str
seealso:
  - module: rampart.firewall.iptables_rule
  - module: rampart.firewall.iptables_chain
  - module: rampart.firewall.sysctl_hardening
  - name: Arch wiki, Simple stateful firewall, Setting up a NAT gateway
    description: The gateway these options are modelled on.
    link: https://wiki.archlinux.org/title/Simple_stateful_firewall#Setting_up_a_NAT_gateway
'''

EXAMPLES = r'''
- name: Masquerade the LAN behind the internet interface
  rampart.firewall.iptables_nat:
    type: masquerade
    source: [192.168.0.0/24, 10.3.0.0/16]
    out_interface: eth0

- name: Masquerade everything leaving by eth0, in IPv4 and IPv6
  rampart.firewall.iptables_nat:
    type: masquerade
    out_interface: eth0
    family: both

- name: Use a fixed public address instead
  rampart.firewall.iptables_nat:
    type: snat
    source: [192.168.1.0/24]
    out_interface: eth0
    to_source: 203.0.113.10

- name: A chain for the forwarded ports, as in the Arch wiki gateway
  rampart.firewall.iptables_chain:
    chain: fw-open

- name: Send FORWARD traffic through it
  rampart.firewall.iptables_rule:
    chain: FORWARD
    jump: fw-open

- name: Forward SSH from the internet to an inside host, accepted in fw-open
  rampart.firewall.iptables_nat:
    type: port_forward
    in_interface: eth0
    port: 22
    to_destination: 192.168.0.5
    filter_chain: fw-open

- name: Forward port 8000 to port 80 of another host, accepted as rule 1 of FORWARD
  rampart.firewall.iptables_nat:
    type: port_forward
    in_interface: eth0
    protocol: tcp
    port: 8000
    to_destination: 192.168.0.6:80
    filter_position: prepend
    comment: web

- name: Forward DNS over UDP to an inside IPv6 resolver
  rampart.firewall.iptables_nat:
    type: port_forward
    family: ipv6
    in_interface: eth0
    protocol: udp
    port: 53
    to_destination: "[fd00::53]:53"

- name: Stop forwarding port 8000 (both rules go)
  rampart.firewall.iptables_nat:
    type: port_forward
    in_interface: eth0
    protocol: tcp
    port: 8000
    to_destination: 192.168.0.6:80
    comment: web
    state: absent
'''

RETURN = r'''
changed:
  description: Whether a rule was added, moved or removed (or would be, in check mode).
  returned: always
  type: bool
  sample: true
rules:
  description: The rules of the task as C(iptables-save) prints them, by family (C(-t) tables implied by the chains).
  returned: success
  type: dict
  sample:
    ipv4:
      - "-A PREROUTING -i eth0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 192.168.0.6:80"
      - "-A FORWARD -d 192.168.0.6/32 -p tcp -m tcp --dport 80 -j ACCEPT"
before:
  description: The touched chains before the change, by family, in C(iptables-restore) format.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\nCOMMIT\n"
after:
  description: The touched chains after the change (predicted in check mode), by family.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i eth0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination
      192.168.0.6:80\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -d 192.168.0.6/32 -p tcp -m tcp --dport 80 -j
      ACCEPT\nCOMMIT\n"
payload:
  description: The text fed (or that would be fed) to C(iptables-restore --noflush), by family; empty when nothing
    changes.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*nat\n-A PREROUTING -i eth0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 192.168.0.6:80\nCOMMIT\n"
field:
  description: The option that is wrong.
  returned: failure, when an option is wrong
  type: str
  sample: to_destination
value:
  description: The wrong value.
  returned: failure, when an option is wrong
  type: str
  sample: 192.168.0.300
rule:
  description: The rule, in C(iptables) syntax, in which the model found the wrong value.
  returned: failure, when the model rejected a rule
  type: str
  sample: "-i eth0 -p tcp --dport 22 -j DNAT --to-destination 192.168.0.300"
cmd:
  description: The command that failed.
  returned: failure of an iptables command
  type: str
  sample: /usr/sbin/iptables-restore -w 10 --noflush
rc:
  description: The exit code of the command that failed.
  returned: failure of an iptables command
  type: int
  sample: 4
stdout:
  description: The standard output of the command that failed.
  returned: failure of an iptables command
  type: str
  sample: ""
stderr:
  description: The standard error of the command that failed.
  returned: failure of an iptables command
  type: str
  sample: "iptables-restore v1.8.9 (nf_tables): \nline 2: RULE_APPEND failed (Invalid argument): rule in chain PREROUTING\n"
line:
  description: The line of RV(payload) that C(iptables-restore) rejected.
  returned: failure of iptables-restore, when the line is known
  type: str
  sample: "-A PREROUTING -i eth0 -p tcp -m tcp --dport 22 -j DNAT --to-destination 192.168.0.5"
lineno:
  description: The number of that line (1-based).
  returned: failure of iptables-restore, when the line is known
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_apply import Change, run_change
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import (
    FAMILY_CHOICES,
    SpecError,
    families_of,
    parse_position,
    split_nat_destination,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_planner import RulePlanner, RuleRequest

# the options each type takes (besides type, state, family, wait and the defaulted filter_*)
ALLOWED = {
    'masquerade': ('source', 'destination', 'out_interface', 'protocol', 'to_ports', 'comment'),
    'snat': ('source', 'destination', 'out_interface', 'protocol', 'to_source', 'comment'),
    'port_forward': ('source', 'destination', 'in_interface', 'protocol', 'port', 'to_destination', 'comment'),
}
CHECKED = ('source', 'destination', 'in_interface', 'out_interface', 'protocol', 'port', 'to_destination',
           'to_source', 'to_ports', 'comment')


def argument_spec():
    return dict(
        type=dict(type='str', required=True, choices=['masquerade', 'snat', 'port_forward']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        family=dict(type='str', default='ipv4', choices=list(FAMILY_CHOICES)),
        source=dict(type='list', elements='str'),
        destination=dict(type='list', elements='str'),
        in_interface=dict(type='str'),
        out_interface=dict(type='str'),
        protocol=dict(type='str', choices=['tcp', 'udp', 'sctp', 'dccp', 'udplite']),
        port=dict(type='raw'),
        to_destination=dict(type='str'),
        to_source=dict(type='str'),
        to_ports=dict(type='raw'),
        filter_chain=dict(type='str', default='FORWARD'),
        filter_accept=dict(type='bool', default=True),
        position=dict(type='raw', default='append'),
        filter_position=dict(type='raw', default='append'),
        comment=dict(type='str'),
        wait=dict(type='int', default=10),
    )


def requests(params):
    """The RuleRequests of the task: the NAT rule, and the filter rule of a port forward."""
    kind = params['type']
    for name in CHECKED:
        if params[name] not in (None, []) and name not in ALLOWED[kind]:
            raise SpecError('%s (%r) cannot be used with type %s' % (name, params[name], kind), name, params[name])
    families = families_of(params['family'])
    state = params['state']
    common = dict(source=params['source'], comment=params['comment'], protocol=params['protocol'])
    position = parse_position(params['position'])
    if kind in ('masquerade', 'snat'):
        opts = dict(common, destination=params['destination'], out_interface=params['out_interface'])
        if kind == 'masquerade':
            opts.update(jump='MASQUERADE', to_ports=params['to_ports'])
        else:
            opts.update(jump='SNAT', to_source=params['to_source'])
        return [RuleRequest('', 'POSTROUTING', 'nat', families, state, opts, position)]
    protocol = params['protocol'] or 'tcp'
    address, to_port = split_nat_destination(params['to_destination'])
    nat = dict(common, protocol=protocol, destination=params['destination'], in_interface=params['in_interface'],
               destination_port=params['port'], jump='DNAT', to_destination=params['to_destination'])
    out = [RuleRequest('', 'PREROUTING', 'nat', families, state, nat, position)]
    if params['filter_accept']:
        accept = dict(common, protocol=protocol, destination=[address],
                      destination_port=params['port'] if to_port is None else to_port, jump='ACCEPT')
        out.append(RuleRequest('the filter rule', params['filter_chain'], 'filter', families, state, accept,
                               parse_position(params['filter_position'], 'filter_position'), 'filter_chain',
                               'filter_position'))
    return out


def describe(params):
    """The Change of the task. Raises SpecError."""
    families = families_of(params['family'])
    planner = RulePlanner(requests(params), len(families) == 2)
    return Change(families, planner.tables(), planner, lambda: {'rules': dict(planner.lines)})


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[
            ('type', 'masquerade', ('out_interface',)),
            ('type', 'snat', ('to_source',)),
            ('type', 'port_forward', ('port', 'to_destination')),
        ],
        supports_check_mode=True,
    )
    run_change(module, describe)


if __name__ == '__main__':
    main()
