#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: iptables_policy
short_description: Set the policy of a built-in iptables/ip6tables chain
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Sets the policy (V(ACCEPT) or V(DROP)) of a built-in chain such as V(INPUT) or V(FORWARD), in IPv4, IPv6 or both.
  - Idempotent, the live policy is read with C(iptables-save) first and nothing is loaded (and no change is reported)
    when it already is the wanted one.
  - The change is one policy line fed to C(iptables-restore --noflush) (after C(iptables-restore --test --noflush)).
    The rules of the chain and every other chain are not touched. The chain is read back afterwards and must have
    the new policy, or the module fails.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
  - rampart.firewall.granular
  - rampart.firewall.lockout
attributes:
  check_mode:
    support: full
    details:
      - The change is still checked with C(iptables-restore --test --noflush), which changes nothing.
  diff_mode:
    support: full
    details:
      - One diff per family, showing the chain.
  platform:
    support: full
    platforms: linux
options:
  chain:
    description:
      - A built-in chain of O(table), V(INPUT), V(FORWARD) or V(OUTPUT) in the filter table, V(PREROUTING),
        V(INPUT), V(OUTPUT) or V(POSTROUTING) in the nat table, and so on. User-defined chains have no policy.
    type: str
    required: true
  policy:
    description: The policy, what happens to packets that reach the end of the chain.
    type: str
    required: true
    choices: [ACCEPT, DROP]
  table:
    description: The table of the chain.
    type: str
    choices: [raw, mangle, nat, filter, security]
    default: filter
  family:
    description: V(ipv4) uses C(iptables), V(ipv6) uses C(ip6tables), V(both) uses both.
    type: str
    choices: [ipv4, ipv6, both]
    default: ipv4
notes:
  - Setting V(DROP) on V(INPUT) before the rules that let your own connection in exist would cut the connection, and over
    SSH the lockout check (O(lockout_check)) refuses that change. Add those rules first (M(rampart.firewall.iptables_rule)).
seealso:
  - module: rampart.firewall.iptables_rule
  - module: rampart.firewall.iptables_chain
  - module: rampart.firewall.iptables_ruleset
'''

EXAMPLES = r'''
- name: Let established connections and SSH in first
  rampart.firewall.iptables_rule:
    family: both
    chain: INPUT
    rules:
      - ctstate: [RELATED, ESTABLISHED]
        jump: ACCEPT
      - in_interface: lo
        jump: ACCEPT
      - protocol: tcp
        destination_port: 22
        jump: ACCEPT

- name: Drop what no rule accepts, in IPv4 and IPv6
  rampart.firewall.iptables_policy:
    chain: INPUT
    policy: DROP
    family: both

- name: Do not route between interfaces
  rampart.firewall.iptables_policy:
    chain: FORWARD
    policy: DROP
    family: both

- name: Open INPUT again
  rampart.firewall.iptables_policy:
    chain: INPUT
    policy: ACCEPT
    family: both
'''

RETURN = r'''
changed:
  description: Whether the policy was (or, in check mode, would be) changed.
  returned: always
  type: bool
  sample: true
before:
  description: The chain before, by family, in C(iptables-restore) format.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
after:
  description: The chain after the change (predicted in check mode), by family.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
payload:
  description: The text fed (or that would be fed) to C(iptables-restore --noflush), by family; empty when nothing
    changes.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:INPUT DROP [0:0]\nCOMMIT\n"
lockout:
  description:
    - The lockout check of each changed C(filter) table, by family (see O(lockout_check)); empty when no
      C(filter) table changes.
    - C(status) is V(safe), V(undecided), V(skipped) (with C(reason)) or V(disabled); on a refusal the failure
      carries the report with C(status=unsafe) and the C(verdicts) that cut the session.
  returned: success, when O(lockout_check) is on; failure, when the check refused
  type: dict
  sample:
    ipv4: {status: safe, safe: true, message: ""}
field:
  description: The option that is wrong.
  returned: failure, when an option is wrong
  type: str
  sample: chain
value:
  description: The wrong value.
  returned: failure, when an option is wrong
  type: str
  sample: MYCHAIN
cmd:
  description: The command that failed.
  returned: failure of an iptables command
  type: str
  sample: /usr/sbin/iptables-restore -w 10 --noflush
rc:
  description: The exit code of the command that failed.
  returned: failure of an iptables command
  type: int
  sample: 1
stdout:
  description: The standard output of the command that failed.
  returned: failure of an iptables command
  type: str
  sample: ""
stderr:
  description: The standard error of the command that failed.
  returned: failure of an iptables command
  type: str
  sample: "iptables-restore: line 2 failed\n"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import POLICIES, TABLES
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_apply import Change, run_change
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import FAMILY_CHOICES, families_of
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_planner import check_builtin_chain, plan_policy


def argument_spec():
    return dict(
        chain=dict(type='str', required=True),
        policy=dict(type='str', required=True, choices=list(POLICIES)),
        table=dict(type='str', default='filter', choices=list(TABLES)),
        family=dict(type='str', default='ipv4', choices=list(FAMILY_CHOICES)),
        wait=dict(type='int', default=10),
        lockout_check=dict(type='bool', default=True),
        ssh_connection=dict(type='str'),
    )


def describe(params):
    """The Change of the task. Raises SpecError."""
    name, table = params['chain'], params['table']
    check_builtin_chain(name, table)

    def planner(family, live):
        return [plan_policy(family, live[table], name, params['policy'])]

    return Change(families_of(params['family']), [table], planner)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_change(module, describe)


if __name__ == '__main__':
    main()
