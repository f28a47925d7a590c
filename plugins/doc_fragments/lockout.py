# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The lockout check of the granular modules that change the filter table (iptables_rule,
    iptables_policy, iptables_chain): module_utils/iptables_applier.lockout_check."""

    DOCUMENTATION = r'''
options:
  lockout_check:
    description:
      - Before changing a C(filter) table, evaluate it as it will be for the packets that keep the running SSH session
        alive (see O(ssh_connection)), that is a NEW TCP connection from the controller's address to the SSH port it uses, and
        the session's established traffic in both directions. This is the evaluator of
        M(rampart.firewall.iptables_ruleset)'s O(rampart.firewall.iptables_ruleset#module:lockout_check).
      - If the verdict is C(DROP) or C(REJECT) the module refuses, names the chain and rule that would cut the session,
        and changes nothing (in check mode too). An undecided verdict (a C(recent) or C(hashlimit) match on the path)
        is reported in RV(lockout) with a warning, and the change is made.
      - Granular changes have no revert window; a change the check cannot see through (another host's path, a NAT
        rule) can still cut the session.
    type: bool
    default: true
  ssh_connection:
    description:
      - The SSH session the lockout check protects, as the C(SSH_CONNECTION) variable writes it
        (C(CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT)).
      - By default the module finds it itself, in its environment or, when privilege escalation reset that, in the
        environment of the closest process above it that has it (C(sudo), the login shell), with no extra round trip.
        Over a local, podman or docker connection there is none (unless the play runs on the host itself from an
        SSH login, whose session is then protected), and the check is skipped.
      - Set it to protect another path explicitly, for example C(198.51.100.7 0 203.0.113.10 22) for a management
        host when the play itself runs locally, or to V("") to skip the check.
    type: str
'''
