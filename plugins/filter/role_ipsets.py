# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""role_ipsets: the address sets a role declares (<role>_ipsets), one per family, with inventory
groups expanded on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_ipsets
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
short_description: The address sets a role declares, one per family, with inventory groups expanded
description:
  - Turns the C(<role>_ipsets) variable of the roles into the sets that M(rampart.firewall.ipset) creates on the
    target - for each declared set C(NAME) an IPv4 set C(NAME) (family C(inet)) and, with O(ipv6), an IPv6 set
    C(NAME6) (family C(inet6)) - each with the members of its family, sorted and without duplicates.
  - 'A member is an address, a network, or C({group: GROUP}), which stands for the IPv4 and IPv6 addresses of the
    hosts of that inventory group, found on the controller - the host''s C(ansible_host) when it is an address
    (a name is resolved on the controller when the host has no facts), and the global addresses of its gathered
    facts (C(all_ipv4_addresses), C(all_ipv6_addresses); loopback and link-local addresses left out).'
  - Fails naming the variable, the item and the value for an unknown key, a bad name, type or member, an
    unknown group, or a host of the group without any address.
positional: groups, hostvars, ipv6, var
options:
  _input:
    description: The declared sets, each V({name, members, type, maxelem}).
    type: list
    elements: dict
    required: true
  groups:
    description: The inventory groups (the C(groups) variable).
    type: dict
  hostvars:
    description: The variables of the hosts (the C(hostvars) variable).
    type: dict
  ipv6:
    description: Also give the IPv6 sets.
    type: bool
    default: true
  var:
    description: The name of the variable, for messages.
    type: str
    default: ipsets
"""

EXAMPLES = r"""
# 5432 open to the hosts of the inventory group "web" (sets web and web6)
single_host_ipsets:
  - name: web
    members:
      - group: web
single_host_tcp_ports:
  - '{port: 5432, sources: [{set: web}]}'

# what the role hands to rampart.firewall.ipset
sets: "{{ single_host_ipsets | rampart.firewall.role_ipsets(groups, hostvars) }}"
"""

RETURN = r"""
_value:
  description: One item per set and family, V({name, family, type, maxelem, members}).
  type: list
  elements: dict
"""

import ipaddress
import re
import socket

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

__metaclass__ = type

TYPES = ('hash:net', 'hash:ip')
KEYS = ('name', 'type', 'members', 'maxelem')
# 30 characters: the IPv6 twin NAME6 must fit the kernel's 31
_NAME_RE = re.compile(r'\A[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,29}\Z')
_FACT_KEYS = ('all_ipv4_addresses', 'all_ipv6_addresses')


def _show(value, limit=60):
    text = repr(value) if not isinstance(value, str) else repr(value)[1:-1]
    return text if len(text) <= limit else text[:limit] + '...'


def _global(addr):
    return not (addr.is_loopback or addr.is_link_local or addr.is_unspecified or addr.is_multicast)


def _ip(text):
    try:
        return ipaddress.ip_address(to_text(text).strip().split('%')[0])
    except ValueError:
        return None


def _resolve(name):
    """The addresses of a host name, looked up on the controller (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return [a for a in (_ip(info[4][0]) for info in infos) if a is not None and _global(a)]


def host_addresses(host, hostvars):
    """The IPv4 and IPv6 addresses of an inventory host: its ansible_host when it is an address (or a
    name, resolved on the controller), and the global addresses of its gathered facts
    (all_ipv4_addresses, all_ipv6_addresses; loopback and link-local left out)."""
    try:
        hv = hostvars[host]
    except KeyError:
        return [], None
    found = []
    given = hv.get('ansible_host') if hasattr(hv, 'get') else None
    facts = hv.get('ansible_facts') if hasattr(hv, 'get') else None
    facts = facts if isinstance(facts, dict) else {}
    for key in _FACT_KEYS:
        values = facts.get(key)
        if values is None and hasattr(hv, 'get'):
            values = hv.get('ansible_' + key)
        for value in values or []:
            addr = _ip(value)
            if addr is not None and _global(addr):
                found.append(addr)
    if given:
        addr = _ip(given)
        if addr is not None:
            found.append(addr)
        elif not found:
            found.extend(_resolve(to_text(given)))
    return found, given


def _member(text, where):
    """An address or network (strict: network address) as text, and its IP version."""
    raw = to_text(text).strip()
    try:
        net = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        raise AnsibleFilterError("%s: '%s' is not an IPv4 or IPv6 address or network (a network is written with "
                                 "its network address, such as 10.0.0.0/8)" % (where, _show(raw)))
    if net.prefixlen == 0:
        raise AnsibleFilterError("%s: '%s': a set cannot hold a /0 network" % (where, _show(raw)))
    text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    return text, net.version, net.prefixlen == net.max_prefixlen


def _order(text):
    net = ipaddress.ip_network(text)
    return int(net.network_address), net.prefixlen


def role_ipsets(declared, groups=None, hostvars=None, ipv6=True, var='ipsets'):
    """[{name, family, type, maxelem, members}] of the role variable DECLARED: one inet set NAME and,
    with IPV6, one inet6 set NAME6 per item, members sorted and without duplicates. Raises
    AnsibleFilterError naming VAR, the item and the value."""
    if declared is None:
        return []
    if isinstance(declared, (str, bytes)) or not isinstance(declared, (list, tuple)):
        raise AnsibleFilterError('%s must be a list of sets ({name, members, type, maxelem}), not %s'
                                 % (var, _show(declared)))
    groups = groups or {}
    out = []
    names = {}
    for index, item in enumerate(declared):
        where = '%s[%d]' % (var, index)
        if not isinstance(item, dict):
            raise AnsibleFilterError('%s must be a mapping {name, members, type, maxelem}, not %s' % (where, _show(item)))
        unknown = sorted(set(item) - set(KEYS))
        if unknown:
            raise AnsibleFilterError('%s: unknown key(s) %s; a set has %s' % (where, ', '.join(map(_show, unknown)),
                                                                              ', '.join(KEYS)))
        name = item.get('name')
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise AnsibleFilterError("%s.name must be 1 to 30 characters of ASCII letters, digits, '_', '.', ':' or "
                                     "'-', not starting with '-' (the IPv6 set is NAME6), not '%s'" % (where, _show(name)))
        where = '%s (%s)' % (where, name)
        for taken in (name, name + '6'):
            if taken in names:
                raise AnsibleFilterError('%s: the set name %s is already taken by %s (the IPv6 set of a set NAME is '
                                         'NAME6)' % (where, taken, names[taken]))
        names[name] = names[name + '6'] = where
        set_type = item.get('type', 'hash:net')
        if set_type not in TYPES:
            raise AnsibleFilterError('%s.type must be one of %s, not %s' % (where, ', '.join(TYPES), _show(set_type)))
        maxelem = item.get('maxelem', 65536)
        if isinstance(maxelem, bool) or not isinstance(maxelem, int) or not 1 <= maxelem <= 1 << 31:
            raise AnsibleFilterError('%s.maxelem must be an integer from 1 to %d, not %s' % (where, 1 << 31, _show(maxelem)))
        members = item.get('members', [])
        if isinstance(members, (str, bytes, dict)) or not isinstance(members, (list, tuple)):
            raise AnsibleFilterError('%s.members must be a list of addresses, networks and {group: NAME}, not %s'
                                     % (where, _show(members)))
        fams = {4: set(), 6: set()}
        for mindex, member in enumerate(members):
            mwhere = '%s.members[%d]' % (where, mindex)
            if isinstance(member, dict):
                if set(member) != {'group'} or not isinstance(member['group'], str):
                    raise AnsibleFilterError('%s must be an address, a network or {group: NAME}, not %s'
                                             % (mwhere, _show(member)))
                group = member['group']
                if group not in groups:
                    raise AnsibleFilterError('%s: there is no inventory group %s' % (mwhere, _show(group)))
                for host in groups[group]:
                    addrs, given = host_addresses(host, hostvars or {})
                    if not addrs:
                        shown = _show(given) if given else 'not set'
                        raise AnsibleFilterError(
                            '%s: the host %s of the group %s has no address: no facts were gathered for it and its '
                            'ansible_host (%s) is not an address that resolves; gather its facts in an earlier play '
                            '(or set ansible_host to its address)' % (mwhere, _show(host), _show(group), shown))
                    for addr in addrs:
                        fams[addr.version].add(str(addr))
                continue
            if not isinstance(member, str):
                raise AnsibleFilterError('%s must be an address, a network or {group: NAME}, not %s' % (mwhere, _show(member)))
            text, version, single = _member(member, mwhere)
            if set_type == 'hash:ip' and not single:
                raise AnsibleFilterError("%s: '%s' is a network, a hash:ip set holds addresses (use type hash:net)"
                                         % (mwhere, _show(member)))
            fams[version].add(text)
        for version, suffix, family in ((4, '', 'inet'), (6, '6', 'inet6')):
            if version == 6 and not ipv6:
                continue
            keys = sorted(fams[version], key=_order)
            if len(keys) > maxelem:
                raise AnsibleFilterError('%s: %d IPv%d members, more than maxelem %d' % (where, len(keys), version, maxelem))
            out.append({'name': name + suffix, 'family': family, 'type': set_type, 'maxelem': maxelem, 'members': keys})
    return out


class FilterModule:
    """The filters of rampart.firewall used by its roles."""

    def filters(self):
        return {'role_ipsets': role_ipsets}
