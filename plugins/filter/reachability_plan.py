# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""reachability_plan: the declared probes of every host, grouped by where they run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: reachability_plan
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
short_description: The declared reachability probes of an inventory, grouped by where they run
description:
  - Reads the probes every host declares in C(<role>_confirm_probes) - the role is the one its group gives it
    (C(single_hosts) -> C(single_host), C(routers) -> C(masquerading_router), C(bastions) -> C(bastion)), else the
    first of C(single_host_confirm_probes), C(masquerading_router_confirm_probes), C(bastion_confirm_probes) defined
    for the host - checks every item and fills in the defaults (C(host) - the host's C(ansible_host), else its
    inventory name).
  - Groups them by the place they run from. V(controller) runs on the controller; an inventory host runs on that
    host; a probe C(from) an inventory group runs from B(each) host of the group, one row per host, because a firewall
    lets a group in through the set of its addresses and one host missing from the set is the drift to show.
  - Fails naming the host, the variable, the item and the value for a bad probe, and for a C(from) that is neither
    V(controller) nor an inventory group or host, or an empty group.
  - Used by the playbook C(rampart.firewall.reachability).
positional: hostvars
options:
  _input:
    description: The inventory groups (the C(groups) variable); C(all) lists the hosts.
    type: dict
    required: true
  hostvars:
    description: The variables of the hosts (the C(hostvars) variable).
    type: dict
    required: true
"""

EXAMPLES = r"""
# host_vars/db1.yml: 5432 open to the web group, closed to the controller
single_host_confirm_probes:
  - {port: 5432, from: web}
  - {port: 5432, expect: closed}

# -> {'web1': [{target: db1, from: web, source: web1, probe: {host: 10.0.0.5, port: 5432, ...}}, ...],
#     'controller': [...]}
batches: "{{ groups | rampart.firewall.reachability_plan(hostvars) }}"
"""

RETURN = r"""
_value:
  description:
    - Source (V(controller) or an inventory host) to its probes, each
      V({target, var, index, from, source, probe}); C(probe) is the probe with every key filled in.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.module_utils.reachability_report import ROLES, SUFFIX, plan, probe_var


def _get(hv, name):
    try:
        return hv[name]
    except KeyError:
        return None


def reachability_plan(groups, hostvars):
    """Source -> planned probes (see DOCUMENTATION). Raises AnsibleFilterError with every problem."""
    if not hasattr(groups, 'get') or not hasattr(hostvars, '__getitem__'):
        raise AnsibleFilterError('reachability_plan: use it as groups | rampart.firewall.reachability_plan(hostvars)')
    groups = dict((str(name), [str(h) for h in members or ()]) for name, members in groups.items())
    declared = []
    for host in groups.get('all', []):
        try:
            hv = hostvars[host]
        except KeyError:
            continue
        defined = [role + SUFFIX for role in ROLES if _get(hv, role + SUFFIX) is not None]
        var = probe_var([g for g, members in groups.items() if host in members], defined)
        specs = _get(hv, var) if var else None
        if specs is None or specs == []:
            continue
        declared.append((host, var, specs, _get(hv, 'ansible_host') or host))
    batches, problems = plan(declared, groups)
    if problems:
        raise AnsibleFilterError('reachability_plan: %s' % '; '.join(problems))
    return batches


class FilterModule(object):
    """rampart.firewall filters."""

    def filters(self):
        return {'reachability_plan': reachability_plan}
