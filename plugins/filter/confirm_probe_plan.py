# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""confirm_probe_plan: the confirm probes of one host, split into the controller's and those of other hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: confirm_probe_plan
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
short_description: The confirm probes of one host, split into the controller's and those sent from other inventory hosts
description:
  - Takes the probes a host declares (C(<role>_confirm_probes), see M(rampart.firewall.reachability_probe) for the keys),
    checks every item, fills in the defaults (C(host) - the address given, normally the host's C(ansible_host)) and
    splits them by where they are sent from. V(controller) probes go to the option
    O(rampart.firewall.iptables_ruleset#module:confirm_probes); a probe C(from) an inventory host is sent from that
    host, a probe C(from) an inventory group from B(each) host of the group (the same plan as the playbook
    C(rampart.firewall.reachability)).
  - Fails naming the variable, the item and the value for a bad probe, and for a C(from) that is neither V(controller)
    nor an inventory group or host, or an empty group.
  - Used by the role C(firewall_base) to hold the revert window open while other hosts probe.
positional: target, address, groups, var
options:
  _input:
    description: The probes as declared (a list of dicts).
    type: list
    elements: dict
    required: true
  target:
    description: The inventory name of the host the probes are about (C(inventory_hostname)).
    type: str
    required: true
  address:
    description: The address probed when an item has no C(host) (the host's C(ansible_host)).
    type: str
    required: true
  groups:
    description: The inventory groups (the C(groups) variable); C(all) lists the hosts.
    type: dict
    required: true
  var:
    description: The variable name used in messages.
    type: str
    default: confirm_probes
"""

EXAMPLES = r"""
# single_host_confirm_probes: [{port: 443}, {port: 5432, from: web}]
plan: "{{ single_host_confirm_probes | rampart.firewall.confirm_probe_plan(inventory_hostname, ansible_host, groups) }}"
# -> {controller: [{host: 192.0.2.10, port: 443, proto: tcp, expect: open, from: controller, timeout: 3}],
#     remote: [{source: web1, probes: [{host: 192.0.2.10, port: 5432, proto: tcp, expect: open, from: web, timeout: 3}]}]}
"""

RETURN = r"""
_value:
  description:
    - C(controller), the probes the controller sends; C(remote), one V({source, probes}) per inventory host that sends
      probes, in the order of first appearance. Every probe has all its keys (C(host), C(port), C(proto), C(expect),
      C(from), C(timeout)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.module_utils.reachability import CONTROLLER
from ansible_collections.rampart.firewall.plugins.module_utils.reachability_report import plan


def confirm_probe_plan(probes, target, address, groups, var='confirm_probes'):
    """{controller: [probe], remote: [{source, probes}]} (see DOCUMENTATION). Raises AnsibleFilterError."""
    if not hasattr(groups, 'get'):
        raise AnsibleFilterError('confirm_probe_plan: groups must be the inventory groups (the groups variable)')
    groups = dict((str(name), [str(host) for host in members or ()]) for name, members in groups.items())
    batches, problems = plan([(str(target), str(var), probes, str(address) if address else None)], groups)
    if problems:
        raise AnsibleFilterError('confirm_probe_plan: %s' % '; '.join(problems))
    controller = [entry['probe'] for entry in batches.pop(CONTROLLER, [])]
    remote = [{'source': source, 'probes': [entry['probe'] for entry in entries]} for source, entries in batches.items()]
    return {'controller': controller, 'remote': remote}


class FilterModule(object):
    """rampart.firewall filters."""

    def filters(self):
        return {'confirm_probe_plan': confirm_probe_plan}
