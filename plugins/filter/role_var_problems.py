# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: role_var_problems
short_description: What is wrong with the variables of a rampart.firewall role
version_added: 0.1.0
author: rampart.firewall developers
description:
  - Checks the variables of the roles C(rampart.firewall.single_host), C(masquerading_router), C(bastion) (or C(firewall_base))
    on the controller, before anything touches a host, and returns one message per problem, each naming the variable,
    the item and what is wrong.
  - A list must be a list (V("443") where a list of ports belongs is an error, not ports 4 and 3); an item may only
    have known keys (V(source) for V(sources) is an error); a port is 1-65535 and a range C(low:high) is not written
    backwards; an address or network is IPv4 or IPv6; an interface name is one iptables accepts (at most 15 characters,
    no space, C(/) or quote, C(+) only at the end); rates are like V(5/minute); extra rules parse as iptables options.
  - Lengths are counted in UTF-8 bytes, as the kernel counts them. A log prefix keeps 29 bytes, so C(<role>_log_prefix)
    is refused when C(PREFIX:LABEL ) of a label without a prefix of its own (O(_input) C(<role>_log_prefixes)) exceeds
    29 bytes, naming the label; a comment has at most 255 bytes, an extra rule's chain 28.
  - 'A port forward with a port range C(low:high) takes no C(to_port) or the same range; a forward hidden by an earlier
    one (same protocol, overlapping ports, the family of C(to), and the earlier one without sources or with the same
    sources) is refused; a C({set: NAME}) source must name a set of C(<role>_ipsets), and sets are sources only (not
    egress destinations or anti-spoofing networks).'
  - A variable with the role's prefix that the role does not know is reported, with the closest known name; so is a
    variable of O(names) whose prefix is close to the role's (C(single_hosts_tcp_ports), within 1 edit of
    C(bastion), 2 of C(single_host), 3 of C(masquerading_router) or C(firewall_base), or in other letter case, or
    without the underscore) when the rest of its name is, or nearly is, a variable of the role.
positional: role, declared, names
options:
  _input:
    description: The role's variables, name to value (every variable whose name starts with the role's prefix).
    type: dict
    required: true
  role:
    description: The role whose variables these are.
    type: str
    required: true
    choices: [single_host, masquerading_router, bastion, firewall_base]
  declared:
    description: Further variable names the role declares (its argument spec); they are not reported as unknown.
    type: list
    elements: str
    default: []
  names:
    description:
      - Further variable names in sight (names only, no value is read), for example
        C(query('ansible.builtin.varnames', '.')); those whose prefix is close to the role's are reported as unknown.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Stop before anything changes when a variable is wrong
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ dict(query('ansible.builtin.varnames', '^single_host_')
              | zip(query('ansible.builtin.vars', *query('ansible.builtin.varnames', '^single_host_'))))
         | rampart.firewall.role_var_problems('single_host', names=query('ansible.builtin.varnames', '.')) }}

# {'single_host_tcp_ports': '443'} | rampart.firewall.role_var_problems('single_host')
# -> ['single_host_tcp_ports: must be a list, not the string "443" (write [443] or [80, 443]: one item per port)']

# {} | rampart.firewall.role_var_problems('single_host', names=['single_hosts_tcp_ports'])
# -> ["single_hosts_tcp_ports: unknown variable, its prefix is close to the role single_host's: did you mean
#      single_host_tcp_ports? (the role reads only single_host_*, this one would be ignored)"]
"""

RETURN = r"""
_value:
  description: One message per problem, each starting with the variable and the item (C(single_host_tcp_ports[2])); empty
    when every variable is fine.
  type: list
  elements: str
  sample:
    - 'single_host_tcp_ports[2]: port 70000 is outside 1-65535'
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.module_utils.role_vars import problems


def role_var_problems(variables, role, declared=None, names=None):
    """The problems of a role's variables (see DOCUMENTATION)."""
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError('role_var_problems: the input must be a mapping of variable names to values, not %s'
                                 % type(variables).__name__)
    return problems(str(role), dict(variables), list(declared or ()), [str(n) for n in names or ()])


class FilterModule(object):
    """rampart.firewall filters."""

    def filters(self):
        return {'role_var_problems': role_var_problems}
