#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: iptables_chain
short_description: Create, flush or remove a user-defined iptables/ip6tables chain
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Makes sure a user-defined chain exists (O(state=present)), exists and holds no rules (O(state=flushed)), or does
    not exist (O(state=absent)) in one table, in IPv4, IPv6 or both.
  - The live table is read with C(iptables-save); only the chain (and, with O(force), the rules that jump to it) is
    edited, with one C(iptables-restore --noflush) per family (after C(iptables-restore --test --noflush)). Other
    chains, including those of Docker, fail2ban or podman, are not touched.
  - After loading, the chain is read back and must be what was predicted, or the module fails.
  - Removing a chain that rules still jump to (C(-j)) or go to (C(-g)) is an error listing those rules, unless
    O(force=true), which removes them too.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
  - rampart.firewall.granular
  - rampart.firewall.lockout
attributes:
  check_mode:
    support: full
    details:
      - The edits are still checked with C(iptables-restore --test --noflush), which changes nothing.
  diff_mode:
    support: full
    details:
      - One diff per family, showing the chain and the chains that held rules jumping to it.
  platform:
    support: full
    platforms: linux
options:
  chain:
    description:
      - The name of the user-defined chain, 1 to 28 characters, no blanks or quotes, not starting with V(-) or V(!).
      - Built-in chains (V(INPUT), V(PREROUTING), ...) are refused, see M(rampart.firewall.iptables_policy).
    type: str
    required: true
    aliases: [name]
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
  state:
    description:
      - V(present) creates the chain when it does not exist. Its rules, if any, are left alone.
      - V(flushed) creates the chain when it does not exist and removes all its rules when it has some.
      - V(absent) removes the chain with its rules when it exists, see O(force).
    type: str
    choices: [present, absent, flushed]
    default: present
  force:
    description:
      - With O(state=absent), also remove the rules of other chains that jump or go to the chain (in any chain of the
        table, including chains of other software). Without it, such rules make the module fail, listing them.
    type: bool
    default: false
seealso:
  - module: rampart.firewall.iptables_rule
  - module: rampart.firewall.iptables_policy
  - module: rampart.firewall.iptables_ruleset
'''

EXAMPLES = r'''
- name: Create the chains of the Arch wiki's simple stateful firewall, in both families
  rampart.firewall.iptables_chain:
    chain: "{{ item }}"
    family: both
  loop: [TCP, UDP]

- name: Create a chain in the nat table
  rampart.firewall.iptables_chain:
    chain: port-forwards
    table: nat

- name: Jump to the TCP chain from INPUT
  rampart.firewall.iptables_rule:
    chain: INPUT
    family: both
    protocol: tcp
    syn: match
    ctstate: [NEW]
    jump: TCP

- name: Empty the UDP chain (created when missing)
  rampart.firewall.iptables_chain:
    chain: UDP
    family: both
    state: flushed

- name: Remove the UDP chain (nothing jumps to it)
  rampart.firewall.iptables_chain:
    chain: UDP
    family: both
    state: absent

- name: Remove the TCP chain and the INPUT rule that jumps to it
  rampart.firewall.iptables_chain:
    chain: TCP
    family: both
    state: absent
    force: true
'''

RETURN = r'''
changed:
  description: Whether the chain was (or, in check mode, would be) created, flushed or removed.
  returned: always
  type: bool
  sample: true
references:
  description:
    - The rules that jump or go to the chain, by family, as C(-A CHAIN ...) lines.
    - With O(state=absent) and O(force=true) they were (or would be) removed.
  returned: success, with O(state=absent)
  type: dict
  sample:
    ipv4: ["-A INPUT -p tcp -m tcp --syn -m conntrack --ctstate NEW -j TCP"]
before:
  description: The chain and the chains holding references to it, before, by family, in C(iptables-restore) format.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\nCOMMIT\n"
after:
  description: The same chains after the change (predicted in check mode), by family.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:TCP - [0:0]\nCOMMIT\n"
payload:
  description: The text fed (or that would be fed) to C(iptables-restore --noflush), by family; empty when nothing
    changes.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:TCP - [0:0]\nCOMMIT\n"
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
  sample: INPUT
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
  sample: "iptables-restore v1.8.9 (nf_tables): \nline 3: CHAIN_DEL failed (Device or resource busy): chain TCP\n"
line:
  description: The line of RV(payload) that C(iptables-restore) rejected.
  returned: failure of iptables-restore, when the line is known
  type: str
  sample: "-X TCP"
lineno:
  description: The number of that line (1-based).
  returned: failure of iptables-restore, when the line is known
  type: int
  sample: 3
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import TABLES
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_apply import Change, run_change
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import FAMILY_CHOICES, families_of
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_planner import check_user_chain_name, plan_chain


def argument_spec():
    return dict(
        chain=dict(type='str', required=True, aliases=['name']),
        table=dict(type='str', default='filter', choices=list(TABLES)),
        family=dict(type='str', default='ipv4', choices=list(FAMILY_CHOICES)),
        state=dict(type='str', default='present', choices=['present', 'absent', 'flushed']),
        force=dict(type='bool', default=False),
        wait=dict(type='int', default=10),
        lockout_check=dict(type='bool', default=True),
        ssh_connection=dict(type='str'),
    )


def describe(params):
    """The Change of the task. Raises SpecError."""
    name, table, state = params['chain'], params['table'], params['state']
    check_user_chain_name(name, table)
    references = {}

    def planner(family, live):
        plan, refs = plan_chain(family, live[table], name, state, params['force'])
        references[family] = refs
        return [plan]

    return Change(families_of(params['family']), [table], planner,
                  lambda: {'references': references} if state == 'absent' else {})


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_change(module, describe)


if __name__ == '__main__':
    main()
