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
  - 'A member is an address, a network, or C({group: GROUP, address_from: FROM}), which stands for the IPv4 and
    IPv6 addresses of the hosts of that inventory group, found on the controller. C(address_from) chooses which
    address represents a host (what a peer connecting to the target is seen from):'
  - 'V(auto) (the default): the host variable C(rampart_firewall_address) when the host sets it (an address or a list:
    the explicit choice, for hosts behind NAT); otherwise, per family, its C(ansible_host) when it is an address of
    that family or a name (resolved on the controller, facts or not) - how hosts are reached, behind 1:1 NAT the
    public address that peers see; otherwise the address of its default route from its facts (C(default_ipv4),
    C(default_ipv6)); otherwise every global address of its facts. Bridges of container engines (C(172.17.0.1)) and
    other interfaces never come in while one of the first choices gives an address of that family.'
  - 'V(ansible_host) - only C(ansible_host) (an address, or a name resolved on the controller).
    V(facts) - every global address of the gathered facts (C(all_ipv4_addresses), C(all_ipv6_addresses)).
    C({fact: NAME}) - one fact (C(ansible_facts[NAME]) or the variable C(ansible_NAME)) holding an address, a list
    of addresses or a mapping with C(address) (such as C(default_ipv4)). C({var: NAME}) - a host variable holding
    an address or a list of addresses. Loopback, link-local, multicast and unspecified addresses are always left out.'
  - Facts are what a member reports about itself, and any member can report any address; C(ansible_host) and
    C(rampart_firewall_address) come from the inventory.
  - With O(target), a warning names each member host whose addresses are all private (RFC 1918, CGNAT, ULA) while
    the target's own address (chosen the same way) is public - a peer behind NAT reaches the target from its public
    address, which the set would not hold.
  - Fails naming the variable, the item and the value for an unknown key, a bad name, type, member or address_from,
    an unknown group, or a host of the group without any address.
positional: groups, hostvars, ipv6, var, target
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
  target:
    description: The inventory name of the host the sets are for (C(inventory_hostname)), for the warning about private addresses.
    type: str
"""

EXAMPLES = r"""
# 5432 open to the hosts of the inventory group "web" (sets web and web6)
single_host_ipsets:
  - name: web
    members:
      - group: web
single_host_tcp_ports:
  - {port: 5432, sources: [{set: web}]}

# a bastion's monitoring hosts behind 1:1 NAT, represented by their ansible_host (their public address)
bastion_ipsets:
  - name: monitoring
    members:
      - group: monitoring
        address_from: ansible_host

# a host that knows better: host_vars/mon1.yml
rampart_firewall_address: [203.0.113.10, "2001:db8::10"]

# what the role hands to rampart.firewall.iptables_ruleset (option ipsets)
sets: "{{ single_host_ipsets | rampart.firewall.role_ipsets(groups, hostvars, true, 'single_host_ipsets', inventory_hostname) }}"
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
from ansible.utils.display import Display

__metaclass__ = type

TYPES = ('hash:net', 'hash:ip')
KEYS = ('name', 'type', 'members', 'maxelem')
# 30 characters: the IPv6 twin NAME6 must fit the kernel's 31
_NAME_RE = re.compile(r'\A[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,29}\Z')
_FACT_KEYS = ('all_ipv4_addresses', 'all_ipv6_addresses')
# the host variable that says, in the inventory, which address(es) represent a host (address_from: auto)
ADDRESS_VAR = 'rampart_firewall_address'
ADDRESS_FROM = ('auto', 'ansible_host', 'facts')
display = Display()


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


def _hv_get(hv, key):
    return hv.get(key) if hasattr(hv, 'get') else None


def _fact(hv, name):
    """A fact of the host: ansible_facts[NAME], or the injected variable ansible_NAME."""
    facts = _hv_get(hv, 'ansible_facts')
    facts = facts if isinstance(facts, dict) else {}
    value = facts.get(name)
    if value is None:
        value = _hv_get(hv, 'ansible_' + name)
    return value


def _addresses(value):
    """The global addresses in VALUE: an address, a list of them, or a mapping with 'address'."""
    if isinstance(value, dict):
        value = value.get('address')
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    found = []
    for item in value:
        addr = _ip(item) if isinstance(item, (str, bytes)) else None
        if addr is not None and _global(addr):
            found.append(addr)
    return found


def _from_ansible_host(given):
    if not given:
        return []
    addr = _ip(given)
    if addr is not None:
        return [addr] if _global(addr) else []
    return _resolve(to_text(given))


def _from_facts(hv):
    found = []
    for key in _FACT_KEYS:
        found.extend(_addresses(_fact(hv, key)))
    return found


def _auto(hv, given):
    explicit = _hv_get(hv, ADDRESS_VAR)
    if explicit is not None:
        return _addresses(explicit)
    chosen = []
    from_host = _from_ansible_host(given)
    for version, default_key in ((4, 'default_ipv4'), (6, 'default_ipv6')):
        mine = [a for a in from_host if a.version == version]
        if not mine:
            mine = [a for a in _addresses(_fact(hv, default_key)) if a.version == version]
        if not mine:
            mine = [a for a in _from_facts(hv) if a.version == version]
        chosen.extend(mine)
    return chosen


def check_address_from(value, where):
    """ADDRESS_FROM as given in a group member: 'auto', 'ansible_host', 'facts', {fact: NAME} or {var: NAME}."""
    if value is None:
        return 'auto'
    if isinstance(value, str) and value in ADDRESS_FROM:
        return value
    if isinstance(value, dict) and len(value) == 1 and set(value) <= {'fact', 'var'}:
        name = list(value.values())[0]
        if isinstance(name, str) and re.match(r'\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z', name):
            return value
    raise AnsibleFilterError('%s.address_from must be one of %s, {fact: NAME} or {var: NAME}, not %s'
                             % (where, ', '.join(ADDRESS_FROM), _show(value)))


def host_addresses(host, hostvars, address_from='auto'):
    """(addresses, ansible_host) of an inventory host, chosen by ADDRESS_FROM (see the documentation):
    auto, ansible_host, facts, {fact: NAME} or {var: NAME}. Loopback and link-local are left out."""
    try:
        hv = hostvars[host]
    except KeyError:
        return [], None
    given = _hv_get(hv, 'ansible_host')
    if address_from == 'auto':
        found = _auto(hv, given)
    elif address_from == 'ansible_host':
        found = _from_ansible_host(given)
    elif address_from == 'facts':
        found = _from_facts(hv)
    elif 'fact' in address_from:
        found = _addresses(_fact(hv, address_from['fact']))
    else:
        found = _addresses(_hv_get(hv, address_from['var']))
    return found, given


_SHARED = ipaddress.ip_network('100.64.0.0/10')   # carrier-grade NAT


def _public(addrs):
    """The addresses of ADDRS that are public: not private (RFC 1918, ULA, documentation...) nor CGNAT."""
    return [a for a in addrs if not a.is_private and not (a.version == 4 and a in _SHARED)]


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


def role_ipsets(declared, groups=None, hostvars=None, ipv6=True, var='ipsets', target=None):
    """[{name, family, type, maxelem, members}] of the role variable DECLARED: one inet set NAME and,
    with IPV6, one inet6 set NAME6 per item, members sorted and without duplicates. Raises
    AnsibleFilterError naming VAR, the item and the value. With TARGET (an inventory host), warns
    about member hosts seen only at private addresses while the target's address is public."""
    if declared is None:
        return []
    if isinstance(declared, (str, bytes)) or not isinstance(declared, (list, tuple)):
        raise AnsibleFilterError('%s must be a list of sets ({name, members, type, maxelem}), not %s'
                                 % (var, _show(declared)))
    groups = groups or {}
    out = []
    names = {}
    target_public = []
    if target:
        target_public = _public(host_addresses(target, hostvars or {})[0])
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
                if 'group' not in member or not set(member) <= {'group', 'address_from'} or not isinstance(member['group'], str):
                    raise AnsibleFilterError('%s must be an address, a network or {group: NAME, address_from: FROM}, not %s'
                                             % (mwhere, _show(member)))
                group = member['group']
                if group not in groups:
                    raise AnsibleFilterError('%s: there is no inventory group %s' % (mwhere, _show(group)))
                how = check_address_from(member.get('address_from'), mwhere)
                for host in groups[group]:
                    addrs, given = host_addresses(host, hostvars or {}, how)
                    if not addrs:
                        shown = _show(given) if given else 'not set'
                        raise AnsibleFilterError(
                            '%s: the host %s of the group %s has no address (address_from: %s): no facts were gathered '
                            'for it and its ansible_host (%s) is not an address that resolves; gather its facts in an '
                            'earlier play, set ansible_host or %s to its address, or choose another address_from'
                            % (mwhere, _show(host), _show(group), _show(how), shown, ADDRESS_VAR))
                    if target_public and host != target and not _public(addrs):
                        display.warning(
                            '%s: the host %s of the group %s has only private addresses (%s) while %s is reached at the '
                            'public address %s: a peer behind NAT connects from its public address, which the set %s '
                            'does not hold; set %s for %s, or address_from' % (
                                mwhere, host, group, ', '.join(sorted(str(a) for a in addrs)), target,
                                target_public[0], name, ADDRESS_VAR, host))
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
