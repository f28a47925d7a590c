# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The options every granular module (iptables_rule, iptables_chain, iptables_policy, iptables_nat)
    shares with the applier it runs on (module_utils/iptables_apply.run_change)."""

    DOCUMENTATION = r'''
options:
  wait:
    description:
      - Seconds C(iptables-restore) waits for the xtables lock (C(-w)) when another program holds it, and seconds the
        module waits for another apply of this collection on the same host (the apply lock of
        M(rampart.firewall.iptables_ruleset), held from reading the live rules to checking them after the change).
      - V(0) means do not wait; at most V(300). The nf_tables backend has no xtables lock and ignores it there.
    type: int
    default: 10
notes:
  - The module needs root (or C(CAP_NET_ADMIN)) on the target, so use privilege escalation (C(become)) or connect as root.
  - The changes are not persisted. Save them with M(rampart.firewall.iptables_ruleset) or C(netfilter-persistent save)
    if they must survive a reboot.
  - Rules are deleted by their specification (C(-D CHAIN RULE), as C(iptables-save) printed them), never by their number,
    so a rule that Docker, fail2ban or kube-proxy inserts meanwhile cannot make another rule go; a rule gone meanwhile
    makes the whole C(iptables-restore) fail and nothing changes. Right before the write, still under the apply lock,
    the changed tables are read again; when another program changed them since the plan, the change is planned, tested
    and checked again against that read (the positions of C(-I CHAIN N) come from it, and a warning names the chains),
    or, when it cannot be made any more, the task fails naming the chains (result key C(changed_chains)) with nothing
    changed. An edit in the milliseconds between that read and the write is caught by the check after loading.
'''
