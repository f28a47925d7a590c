#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: iptables_ruleset
short_description: Apply a whole iptables/ip6tables ruleset atomically and idempotently
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Loads a complete ruleset in C(iptables-restore) format with one C(iptables-restore) (or C(ip6tables-restore)) call,
    so every table it names is replaced in one step, and only when the live ruleset differs from it.
  - The comparison is canonical, not textual. The ruleset may be written the way people write rules
    (C(-p tcp --dport 22), C(-m state), C(--syn), padded policy lines, comments) and is still found equal to the
    C(iptables-save) spelling of the same rules, so a second run reports no change.
  - Only the tables named in the ruleset are touched. A ruleset with only C(*filter) leaves C(nat), C(mangle),
    C(raw) and C(security) as they are.
  - Every live chain and rule is B(ours), a B(neighbour's) or B(unknown). Ours - declared by the ruleset now, or applied
    by an earlier run and kept in the record (C(/var/lib/rampart-firewall/record.v4|v6), written after each confirmed
    apply) - is applied and persisted; ours that the ruleset no longer declares is removed, wherever it points (a rule
    on C(docker0) included). A neighbour's - chains of other software (Docker, fail2ban, podman/netavark, Kubernetes,
    libvirt, ..., O(preserve_chains)), the rules such software writes straight into built-in chains on its bridges
    (O(preserve_interfaces)) and ban tools' rules matching their ipsets (fail2ban, CrowdSec, O(preserve_sets)) - is
    kept in place, never persisted, never a change. Unknown (anything else in the tables the ruleset names) is
    removed and reported (RV(unknown_rules), RV(unknown_chains), a warning).
  - The record is trusted only when it is ours (a regular root-owned file, not writable by others, at most 64 MiB,
    the record text); otherwise it is ignored with a warning, as on a first run. A first run without a record takes
    the copy in O(copy_dir) as the record when there is one; the previous persisted file is never taken as evidence
    (C(netfilter-persistent save) writes whatever is live, Docker's rules included). Writing the record never makes
    the task report a change; check mode writes nothing.
  - Before loading, the payload is checked with C(iptables-restore --test). After loading, the live ruleset is read
    back and must equal what was planned, or the module fails.
  - The managed part of the live ruleset is then written to the file that the distribution restores at boot,
    see O(persist).
  - With O(state=gathered) the module only reads the live ruleset and returns it.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
  - rampart.firewall.lockout
attributes:
  check_mode:
    support: full
    details:
      - The payload is still checked with C(iptables-restore --test), which changes nothing, so check mode
        also reports rulesets that the target's iptables would reject.
  diff_mode:
    support: full
    details:
      - One diff per touched table, plus one for the persisted file when it changes.
  platform:
    support: full
    platforms: linux
options:
  family:
    description:
      - Address family of the ruleset.
      - V(ipv4) uses C(iptables-save) and C(iptables-restore), V(ipv6) uses C(ip6tables-save) and C(ip6tables-restore).
    type: str
    choices: [ipv4, ipv6]
    default: ipv4
  content:
    description:
      - The desired ruleset, in C(iptables-restore) format (C(*table), C(:CHAIN POLICY [0:0]), C(-A CHAIN ...), C(COMMIT)).
      - Each table it names is owned by the module for this run; tables it does not name are not touched.
      - Mutually exclusive with O(src). One of them is required with O(state=present).
      - Ignored with O(state=gathered).
    type: str
  src:
    description:
      - Path of a file on the target holding the desired ruleset, in the same format as O(content).
      - Typically written by M(ansible.builtin.template) first.
      - It must be a regular file (a symlink to one is followed) of UTF-8 text, at most 64 MiB; a FIFO,
        device or directory is refused without reading it. A line that does not parse is quoted only as a
        short, escaped excerpt.
      - Mutually exclusive with O(content). One of them is required with O(state=present).
      - Ignored with O(state=gathered).
    type: path
  rulesets:
    description:
      - Both families in B(one) call, as a dictionary with the keys C(ipv4) and C(ipv6), each the desired ruleset of
        that family in the format of O(content). A key left out (or V(null)) leaves that family alone.
      - Every family is read, planned, checked (C(iptables-restore --test), lockout check) before anything changes;
        an error in one changes neither. With O(rollback_timeout) the changed families are applied under one
        confirm-or-revert window (one token per family, so the revert stays per family, and one confirmation by the
        action plugin for all of them). If one family cannot be applied, the other is not confirmed either and its timer
        restores it at the deadline.
      - Without a window (O(rollback_timeout=0)), IPv4 is applied first, then IPv6.
      - The results of each family are in RV(families); the diff (diff mode) holds the diffs of both.
      - Mutually exclusive with O(content), O(src), O(family) and O(persist_path) (each family is persisted to the
        distribution's file).
    type: dict
    suboptions:
      ipv4:
        description: The IPv4 ruleset, in C(iptables-restore) format.
        type: str
      ipv6:
        description: The IPv6 ruleset, in C(ip6tables-restore) format.
        type: str
  copy_dir:
    description:
      - Keep a copy of the desired ruleset as given (O(content), the text of O(src), or each family of O(rulesets))
        in this directory, as C(rules.v4) and C(rules.v6), mode C(0600). The directory is created with mode C(0700)
        (missing parents C(0755)) when it does not exist; an existing one keeps its owner and mode.
      - A copy is written only when it differs. When the live ruleset changes under a revert window, the copy is
        written with the persisted file, after the confirmation.
      - It must be an absolute, normalised path (no C(.), C(..), C(//) or trailing C(/)) without control characters,
        not C(/); if it exists it must be a directory, not a symlink. This is checked before anything is changed.
    type: path
  local_fact:
    description:
      - Also write a local fact, C(/etc/ansible/facts.d/NAME.fact), holding O(local_fact.content) as JSON
        (mode C(0644); the directory is created with mode C(0755)). The roles record there that the packages are installed.
      - Written only when its content differs, after every check passed and before the rules are applied.
    type: dict
    suboptions:
      name:
        description: The name of the fact, letters, digits and C(_) (at most 64), read as C(ansible_local.NAME).
        type: str
        required: true
      content:
        description: The data of the fact.
        type: dict
        required: true
  refuse_managers:
    description:
      - Other firewall managers to refuse. Every call looks for them, read-only and without a command (links
        in C(/etc/systemd/system/*.wants) and C(*.requires), C(/run/systemd/units/invocation:UNIT), C(/etc/ufw/ufw.conf)),
        and reports what it found as RV(other_managers); one named here and found fails the task before anything is
        changed (check mode too).
      - V(firewalld) enabled or running (running, it replaces the rules at once; enabled, at the next boot),
        V(nftables) when C(nftables.service) is enabled (it loads C(/etc/nftables.conf) at boot; Debian's default
        begins with C(flush ruleset)), V(ufw) when C(/etc/ufw/ufw.conf) says C(ENABLED=yes) and ufw is installed.
        A unit masked in C(/etc/systemd/system) counts as off.
    type: list
    elements: str
    choices: [firewalld, nftables, ufw]
    default: []
  sysctl:
    description:
      - The kernel network settings of M(rampart.firewall.sysctl_hardening)'s profiles, set B(in the same transaction) as
        the rules (the settings that can cut a connection, C(rp_filter) on an asymmetric route and forwarding). Planned in
        this call (the live values in C(/proc/sys) read and compared, the sysctl.d file rendered); check and diff modes
        report the live values and the file that would change.
      - With a revert window (O(rollback_timeout)), the timer sets the changed live values right B(after) the rules of the
        window (forwarding goes on only once the new C(FORWARD) rules are live), keeps the previous values as data in the
        window's state file, and on revert restores them B(before) the rules (forwarding goes off first). The sysctl.d file
        is written only after the confirmation (M(rampart.firewall.iptables_confirm)), atomically, mode C(0644). A change of
        the kernel settings alone (rules unchanged) goes through a window too.
      - The keys of C(net.ipv6.*) ride in the IPv6 window, every other key in the IPv4 one; with one family in
        O(rulesets) (or O(family)), that family's window carries all of them.
      - Without a window (O(rollback_timeout=0)) the live values are set right after the rules, and the file written where
        the persisted rules are.
      - Only network keys (C(net.*)) are accepted; every key must exist in C(/proc/sys) (an unknown key fails before
        anything changes, naming it). Overrides by later sysctl.d files are not looked for here (M(rampart.firewall.sysctl_hardening)
        reports them).
      - Mutually exclusive with O(sysctl_check), which it replaces (O(sysctl_check) stays, read-only, deprecated).
    type: dict
    suboptions:
      profile:
        description: O(rampart.firewall.sysctl_hardening#module:profile).
        type: str
        required: true
        choices: [host, router]
      settings:
        description: O(rampart.firewall.sysctl_hardening#module:settings), network keys (C(net.*)) only.
        type: dict
      path:
        description: O(rampart.firewall.sysctl_hardening#module:path).
        type: path
        default: /etc/sysctl.d/90-rampart-firewall.conf
      container_engine:
        description: O(rampart.firewall.sysctl_hardening#module:container_engine).
        type: str
        choices: [auto, present, absent]
        default: auto
      on_readonly:
        description:
          - O(rampart.firewall.sysctl_hardening#module:on_readonly), for the live values that cannot be set (C(/proc/sys)
            mounted read-only). V(fail) fails before anything changes, V(file_only) sets the others and writes the file,
            V(skip) changes no kernel setting and writes no file. A warning names the keys left.
        type: str
        choices: [fail, file_only, skip]
        default: fail
  sysctl_check:
    description:
      - Deprecated, use O(sysctl), which also sets the settings inside the transaction.
      - Also check, read-only, whether the kernel settings that M(rampart.firewall.sysctl_hardening) would set with these
        options are in place, the file (content and mode C(0644)) and every live value in C(/proc/sys). The answer is
        RV(sysctl_in_place), so that a role can skip the call of M(rampart.firewall.sysctl_hardening) when nothing
        is to change (it still reports overrides and read-only keys when it runs).
      - Changes nothing and never fails the task; anything unexpected (an unknown key, bad settings) counts as not in
        place.
    type: dict
    suboptions:
      profile:
        description: O(rampart.firewall.sysctl_hardening#module:profile).
        type: str
        required: true
        choices: [host, router]
      settings:
        description: O(rampart.firewall.sysctl_hardening#module:settings).
        type: dict
      path:
        description: O(rampart.firewall.sysctl_hardening#module:path).
        type: path
        default: /etc/sysctl.d/90-rampart-firewall.conf
      container_engine:
        description:
          - O(rampart.firewall.sysctl_hardening#module:container_engine). The check applies the same rule as the module
            (with V(auto) it looks at the target's interfaces and engine sockets the same way), so the forwarding keys
            that the module leaves on a container host do not count as not in place.
        type: str
        choices: [auto, present, absent]
        default: auto
  state:
    description:
      - V(present) makes the live ruleset match the desired one (and persists it, see O(persist)).
      - V(gathered) only reads the live ruleset and returns it in RV(gathered) and RV(rendered); it changes nothing.
    type: str
    choices: [present, gathered]
    default: present
  preserve_chains:
    description:
      - Shell-style patterns (case-sensitive, as in Python C(fnmatch.fnmatchcase)) naming user-defined chains
        that belong to other software. In each table the ruleset names, a live chain matching one of them is
        a neighbour's and is kept with its live rules, unless the ruleset declares a chain of that name (or
        declared it before, as the record says; it is then ours and removed).
      - Live rules that jump (C(-j)) or go (C(-g)) into a kept neighbour's chain from a built-in chain or from a
        user chain of the ruleset are kept as well. They are placed at the B(top) of that chain, in their live
        order, because that is where Docker, fail2ban and netavark insert them. A jump held by a user chain
        that the ruleset no longer declares goes away with its chain (with a warning).
      - As for C(iptables-restore), a rule of the ruleset can only jump into a chain that the ruleset declares,
        and declaring a chain makes it the ruleset's own (see below). So leave the jumps into neighbours' chains
        out of the ruleset; they are kept at the top as described.
      - If the ruleset declares a chain whose name matches a pattern (for example C(DOCKER-USER)), the
        ruleset's version wins. Its live rules and the live jumps into it are replaced by what the ruleset
        says, and it is persisted like any other chain of the ruleset.
      - Rules that other software puts straight into built-in chains without jumping to a chain of its own are
        kept when they name a container engine's interface (O(preserve_interfaces)) or match a ban tool's ipset
        (O(preserve_sets)); any other one is unknown, removed from the tables the ruleset names and reported in
        RV(unknown_rules) with a warning (a firewall that silently keeps a stray C(ACCEPT) is not a firewall). Put it
        in the ruleset if you need it, or name its owner with a pattern.
      - Setting this option B(replaces) the default list; to add a pattern, repeat the default ones.
        V([]) means the ruleset owns every chain of the tables it names.
      - Built-in chains are never a neighbour's.
    type: list
    elements: str
    default:
      - DOCKER
      - DOCKER-*
      - f2b-*
      - NETAVARK*
      - NETAVARK-*
      - CNI-*
      - KUBE-*
      - LIBVIRT_*
      - cali-*
      - FLANNEL-*
      - ts-*
      - CROWDSEC_*
  preserve_interfaces:
    description:
      - Shell-style patterns (as in O(preserve_chains)) naming the network interfaces of container engines and
        hypervisors. Docker, podman, CNI and libvirt write rules straight into built-in chains for their bridges
        (Docker's C(FORWARD -o docker0 -j DOCKER), C(FORWARD -i docker0 ! -o docker0 -j ACCEPT), C(raw PREROUTING
        ... ! -i docker0 -j DROP), C(nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE)).
      - A live rule of a built-in chain that matches such an interface with C(-i) or C(-o) (negated or not) is
        a neighbour's like a neighbour's chain, and so is a C(nat POSTROUTING) C(MASQUERADE) rule whose source lies in a
        subnet that such a rule masquerades (Docker's per-published-port rules). Neighbours' rules are kept at the top
        of their chain with the jumps into neighbours' chains, all in live order, are never persisted (their owner
        writes them again when it starts), and never make the task report a change.
      - A rule of the ruleset on such an interface is ours and is applied and persisted as usual. When a later
        ruleset drops it, the record says it was ours, so it is removed, live and from the persisted file
        (RV(ours_removed)). Only on a first run without a record (and without a copy in O(copy_dir)) can such a rule of
        an earlier apply not be told apart from the engine's, and it is then kept as the engine's.
      - Setting this option B(replaces) the default list. V([]) means no rule of a built-in chain is a neighbour's.
    type: list
    elements: str
    default: [docker0, docker_gwbridge, br-*, cni-*, cni0, podman*, virbr*]
  preserve_sets:
    description:
      - Shell-style patterns (as in O(preserve_chains)) naming the ipsets of ban tools that insert their own rules
        straight into built-in chains. fail2ban's ipset actions (C(iptables-ipset), C(iptables-ipset-proto6),
        C(iptables-ipset-proto6-allports)) insert C(-A INPUT -p tcp -m set --match-set f2b-sshd src -j REJECT)
        (set C(f2b-<jail>), C(f2b-<jail>6) in IPv6); CrowdSec's firewall bouncer in iptables mode inserts
        C(-A INPUT -m set --match-set crowdsec-blacklists src -j DROP) (C(crowdsec6-blacklists) in IPv6);
        sshguard's ipset backend fills C(sshguard4) and C(sshguard6).
      - A live rule of a built-in chain with a set match (not negated) C(-m set --match-set NAME) whose NAME matches
        one of the patterns is a neighbour's, like the rules of O(preserve_interfaces). It is kept at the top of its chain with
        the other kept rules in live order, never persisted (the tool inserts it again when it starts), and never a reason
        to report a change, so a ban added or lifted between two runs changes nothing. A rule of the ruleset that
        matches such a set is ours, applied and persisted as usual.
      - The lockout preflight reads a kept ban rule as not matching the running session (it is live before and after
        the apply, the apply does not change what it does, and a session that runs is not banned), so a host with bans
        does not make every apply undecided. A rule of the ruleset matching such a set is evaluated with its members.
      - Setting this option B(replaces) the default list. V([]) means no rule is a neighbour's because of its set.
    type: list
    elements: str
    default: [f2b-*, crowdsec-*, crowdsec6-*, sshguard4, sshguard6]
  wait:
    description:
      - Seconds C(iptables-restore) waits for the xtables lock (C(-w)) when another program holds it.
      - Also the seconds an apply waits for another apply on the same host, of this module or of the granular ones
        (an flock on C(/run/rampart-firewall/apply.lock), a directory only root can enter, around reading,
        planning and checking, and, with O(rollback_timeout), taken again by the timer around applying and
        verifying), so that two applies at once run one after the other and the last one wins.
      - V(0) means do not wait; at most V(300). The nf_tables backend has no xtables lock and ignores it there.
    type: int
    default: 10
  persist:
    description:
      - Write the managed part of the live ruleset to the file the distribution restores at boot, and enable the
        service that restores it with C(systemctl enable) when C(systemctl) exists.
      - The file holds every live table of O(family) in its managed form, that is without neighbours' chains
        (see O(preserve_chains)), the jumps into them and neighbours' rules, because their owners recreate them when
        they start; a rule or chain of ours (declared, or in the record for the tables this ruleset does not name) is
        kept even where a pattern would name a neighbour. The previous file is not evidence of ownership, so Docker's
        rules that a C(netfilter-persistent save) once wrote there are gone after one run.
        Tables that hold nothing but built-in chains with policy C(ACCEPT), no rules and at most neighbours'
        chains are left out of the file. So rules that other tasks or people added to tables this run did not
        touch are persisted too, as C(netfilter-persistent save) would.
      - The file is only written when its rules differ canonically from the new ones, so a second run does not
        report a change. It is written atomically (a temporary file in the same directory, then a rename); a new
        file gets the mode the distribution uses (C(0640) on Debian, C(0600) on the RHEL family, C(0644) on Arch);
        an existing file keeps its owner and mode.
      - Debian and Ubuntu (and derivatives) use C(/etc/iptables/rules.v4) or C(/etc/iptables/rules.v6) and the
        C(netfilter-persistent) service (package C(iptables-persistent)).
      - The RHEL family (RHEL, CentOS, Fedora, Rocky, AlmaLinux, Oracle Linux, Amazon Linux) uses
        C(/etc/sysconfig/iptables) or C(/etc/sysconfig/ip6tables) and C(iptables.service) or
        C(ip6tables.service) (package C(iptables-services)).
      - Arch Linux and derivatives use C(/etc/iptables/iptables.rules) or C(/etc/iptables/ip6tables.rules) and
        C(iptables.service) or C(ip6tables.service) (package C(iptables)).
      - A missing service unit is reported as a warning naming the package to install, not as a failure.
      - On any other distribution the module fails unless O(persist_path) is set.
    type: bool
    default: true
  persist_path:
    description:
      - Write the persisted ruleset to this file instead of the distribution's one (see O(persist)).
      - The boot service is only enabled when this is the file the distribution's service restores; for any other
        path, making sure the file is loaded at boot is up to you.
      - It must be an absolute, normalised path without control characters; if it exists it must be a regular file
        (not a directory, device, FIFO or symlink). This is checked before anything is changed. The same holds for
        the distribution's file.
      - Ignored when O(persist=false).
    type: path
  backup:
    description:
      - Before loading a changed ruleset, save the complete previous live ruleset (all tables, neighbours' chains
        included, as C(iptables-save) printed it) to a new timestamped file in C(/var/backups/rampart-firewall/)
        (created with mode C(0700); the file gets mode C(0600)). It can be loaded back with C(iptables-restore).
      - The directory is the same whether or not O(persist) is set, and the backup is never placed next to the
        persisted file, so a boot service can never pick it up.
      - Nothing is saved when the live ruleset does not change, or in check mode.
    type: bool
    default: false
  rollback_timeout:
    description:
      - Confirm-or-revert. When the live ruleset changes, the target arms a revert timer of this many seconds
        and applies the new ruleset once the controller has the module's answer (so a ruleset that cuts the
        connection cannot swallow the answer), that is when the first confirmation call arrives, at the latest one
        second after the module has answered. The controller must then reach the host again over a B(new)
        connection and confirm (the action plugin of this module does it, with M(rampart.firewall.iptables_confirm)).
        Without a confirmation in time, the host restores the previous ruleset of the touched tables by itself,
        and the task fails saying so.
      - The persisted file (O(persist)) is written only after the confirmation, so a reverted ruleset never
        comes back at the next boot. A reboot during the window forgets the new ruleset too (the window lives in
        C(/run/rampart-firewall), a tmpfs) and the boot loads the previously persisted one.
      - While one apply of a family waits for its confirmation (for example its run was interrupted), a second run
        of the same family, changed or not and also with O(rollback_timeout=0), does nothing before that window is
        decided (the first timer would otherwise restore the ruleset from before both, after the second run reported
        ok). The action plugin confirms the open window over a new connection, the way it confirms its own, then runs
        the task (RV(earlier_window)); if the window cannot be confirmed the task fails saying so. The module alone
        fails naming the window (RV(open_window)). Check mode warns.
      - Over SSH this is the real protection. Over C(local) and container connections (C(podman), C(docker)) a
        new connection does not cross the firewall, so the confirmation always arrives; the timer then only
        protects against a controller that dies between the apply and the confirmation. Over those (C(local),
        C(podman), C(docker), C(buildah), C(chroot)) the action plugin confirms with one call of
        M(rampart.firewall.iptables_confirm) instead of two, unless O(confirm_probes) or O(hold_window) need the
        ruleset live before the confirmation.
      - V(0) turns it off; the module applies synchronously and persists at once (no timer, no action-plugin
        round trip). Check mode never arms a timer.
      - "At most V(3600) (one hour): a window that never ends would keep the previous ruleset waiting forever."
      - The window's state lives in C(/run/rampart-firewall), which must be a directory owned by root with
        mode C(0700) (it is created so); the module refuses to use it otherwise. It holds data only (the
        previous ruleset, deadlines); the timer decides the restore command itself.
    type: int
    default: 30
  confirm_probes:
    description:
      - Confirm by service, not only by SSH. Probes that must hold once the new ruleset is live, each a dict
        C({port, proto, expect, host, timeout, from}) as in M(rampart.firewall.reachability_probe) (C(proto) V(tcp),
        V(udp) or V(icmp), default V(tcp); C(expect) V(open), V(closed), V(refused) or V(timeout), default V(open);
        C(host) by default the target's C(ansible_host); C(timeout) default 3 seconds; C(from) only V(controller)).
      - The action plugin runs them from the controller, concurrently, after the timer applied the ruleset and before
        it confirms the window. If any does not hold, the window is not confirmed, the host restores the previous
        ruleset by itself at the deadline (the action plugin waits for it), nothing is persisted, and the task fails
        naming each failing probe (host, port, from, expected, observed). RV(probes) has every result.
      - They need a revert window (O(rollback_timeout) > 0). When the ruleset does not change they do not run. In check
        mode they run against the current state, RV(probes) reports them, and a warning names those that do not hold
        now (what the change would have to fix); the task does not fail for them.
      - Probes from other hosts (C(from) a group or host of the inventory) are for tasks around O(hold_window), as the
        roles do with C(<role>_confirm_probes).
    type: list
    elements: dict
    default: []
  apply_delay:
    description:
      - With a revert window (O(rollback_timeout) > 0), the most seconds the window's timer waits, once the module has
        answered, before it applies the ruleset. It applies earlier when the controller says it has the module's answer
        (the first call of M(rampart.firewall.iptables_confirm)). Between V(0) and V(10).
      - The wait is there so that a ruleset which cuts the connection cannot cut it before the module's answer (with the
        window's token) has reached the controller. Over SSH keep the default.
      - The action plugin passes V(0) over C(local) and container connections (C(podman), C(docker), C(buildah),
        C(chroot)), unless the task sets it. The firewall cannot cut those connections, so the timer applies as soon
        as the module has released the apply lock, while the answer travels.
    type: float
    default: 1.0
  hold_window:
    description:
      - V(true) makes the action plugin return as soon as the new ruleset is live (and O(confirm_probes) held), without
        confirming the window; RV(confirmed) is V(held) and RV(rollback) has the token(s). The play must then confirm it
        with M(rampart.firewall.iptables_confirm) over a new connection (C(ansible.builtin.meta) C(reset_connection)
        first) before the deadline, or the host restores the previous ruleset by itself. Persisting waits for that
        confirmation.
      - For checks that run elsewhere inside the window, for example probes from other inventory hosts
        (M(rampart.firewall.reachability_probe) delegated to them). Needs O(rollback_timeout) > 0.
    type: bool
    default: false
  lockout_check:
    description:
      - Before applying, evaluate the resulting C(filter) table for the packets that keep the running SSH session
        alive (see O(ssh_connection)), that is a NEW TCP connection from the controller's address to the SSH port it uses,
        and the session's established traffic in both directions. Chains, jumps, gotos, C(RETURN), policies and
        the matches the model understands (addresses, interfaces, protocol, ports, multiport, conntrack/state,
        TCP flags, addrtype, comment) are evaluated.
      - If the verdict is C(DROP) or C(REJECT) the module refuses to apply, names the chain and rule (and its line)
        that would cut the session, and changes nothing.
      - Where a rule on the path uses a match that cannot be decided without runtime state (C(recent),
        C(hashlimit), C(connlimit), ...), the result says so in RV(lockout) with a warning, and the
        module relies on O(rollback_timeout); it never guesses "safe".
      - A C(-m set --match-set NAME src|dst) match is decided with the members of the set, as declared in
        O(ipsets) or else as live (C(ipset save NAME)); a set of type C(hash:ip,port) or with C(nomatch) entries
        stays undecided.
      - Skipped (C(status=skipped) in RV(lockout)) when there is no SSH session (local or container connections) or
        when the ruleset does not name the C(filter) table.
    type: bool
    default: true
  ipsets:
    description:
      - The ipset sets of this ruleset, set name to either a member list or a managed set.
      - 'A B(managed set) is a dictionary V({members, type, family, maxelem, hashsize}): C(members) the complete
        member list (addresses and networks as in O(rampart.firewall.ipset#module:members), V([]) for an empty set),
        C(type) V(hash:net) (default), V(hash:ip) or V(hash:ip,port), C(family) V(inet) (default) or
        V(inet6), C(maxelem) (default 65536) and C(hashsize) (a starting size, not compared). This call
        creates or updates it B(inside the transaction of the rules): the ruleset of family V(ipv4) owns the managed
        sets of family V(inet), the ruleset of V(ipv6) those of V(inet6) (the roles name them C(NAME) and C(NAME6));
        a managed set of a family this call applies no ruleset for is left alone.'
      - 'The order of one call: the live sets are read (C(ipset save NAME), kept byte for byte) and planned with the
        rules; a set that does not exist is created with its members B(before) C(iptables-restore --test) (iptables
        refuses a rule naming a missing set) and destroyed again if anything fails before the point of no return; the
        lockout preflight evaluates the B(new) members; inside the same confirm-or-revert window the changed sets are
        applied first (each built in a temporary set and C(swap)ped in: a set a rule uses is never destroyed, emptied or
        retyped), then the rules; the revert restores the previous rules B(and) the previous content of every changed
        set (byte for byte) and destroys the sets the call created; the persisted sets file (as O(ipsets_persist_path))
        is written only after the confirmation, with the persisted rules. With O(rollback_timeout=0) the same order
        runs at once, and a failure of the rules gives the sets their previous content back.'
      - A type or family change of a managed set that a rule (or another kernel component) uses is B(refused) before
        anything changes, naming the set (ipset cannot swap sets of two types, and no rule may point at a missing or
        wrong set); give the new set another name and change the rules to it. A set nothing uses is rebuilt (built
        in a temporary set, then renamed).
      - A B(member list) declares a set made by an earlier task (for example M(rampart.firewall.ipset)); it is read for
        the check and the lockout preflight only.
      - Every set the ruleset uses (a C(-m set --match-set NAME) match or a C(SET) target) must exist on the
        target (or be managed here), with the family of the ruleset; otherwise the module fails naming the set and the
        rule, before anything changes. In check mode a set that does not exist yet is accepted;
        C(iptables-restore --test) then cannot run, and a warning says so.
      - The lockout preflight uses these members rather than the live ones (see O(lockout_check)).
      - Set names starting with V(rft_) are reserved for the temporary sets.
    type: dict
  ipsets_persist_path:
    description:
      - The file the managed sets of O(ipsets) are persisted to (only their lines are replaced; other sets are kept),
        instead of the distribution's (Debian and Ubuntu C(/etc/iptables/ipsets), loaded by the netfilter-persistent
        plugin of C(ipset-persistent) before the rules; RHEL family C(/etc/sysconfig/ipset); Arch C(/etc/ipset.conf)),
        as O(rampart.firewall.ipset#module:persist_path). Written with O(persist) only, after the confirmation.
    type: path
notes:
  - The module needs root (or C(CAP_NET_ADMIN)) on the target, so use privilege escalation (C(become)) or connect as root.
  - With the nf_tables backend one C(iptables-restore) call is one transaction for all tables in it. With the
    legacy backend each table is committed on its own; C(iptables-restore --test) runs first to catch errors.
  - Counters are not compared and are reset for the touched tables.
  - Bans of fail2ban's ipset actions and of CrowdSec's firewall bouncer (rules in C(INPUT) matching their sets, see
    O(preserve_sets)) survive an apply and are never written to the persisted file; fail2ban's classic actions keep
    their C(f2b-*) chains (O(preserve_chains)). A kept ban rule does not make the lockout preflight undecided.
  - If another program changes a touched table between the module reading the live ruleset and loading the new
    one, that change is lost, and the check after loading may fail.
  - Every output path is checked before anything changes, before the first C(iptables-restore --test). These are the
    persisted file (O(persist_path) or the distribution's), the copies and O(copy_dir), the local fact and its
    directory, and the backup directory C(/var/backups/rampart-firewall). Each must be a regular file or absent, in
    real directories (a symlinked directory is refused, the module never writes through a link), and not in
    C(/proc), C(/sys) or C(/dev) nor on a filesystem of theirs mounted elsewhere (read from C(/proc/self/mountinfo)).
    A refusal names the option and the path, and the live rules and every file stay as they were.
  - The changes come in this order, the backup first and the local fact last. Backup, the apply (or the start of the
    revert window), the ownership record, the persisted file, the copy, the boot services, the local fact. A failure after the first
    write names what is live and what was written (RV(live_state), RV(written)). With a revert window, a failure
    before the module answers withdraws the window (its timer, already started, waits for the apply lock the
    module holds, then applies nothing), so the live rules stay as they were.
  - Both families in one call (O(rulesets)) with a window. The backups of both families are written before the
    first timer starts. When a later step fails (the second family's window or timer, a copy, the local fact),
    the windows of both families are withdrawn, so neither family changes and nothing is reverted later.
seealso:
  - name: iptables-restore(8)
    description: The format of the ruleset.
    link: https://manpages.debian.org/bookworm/iptables/iptables-restore.8.en.html
  - module: community.general.iptables_state
    description: Save and restore iptables state with a rollback on lost connections.
'''

EXAMPLES = r'''
- name: Apply a small web server firewall, written the way people write rules
  rampart.firewall.iptables_ruleset:
    content: |
      *filter
      :INPUT DROP [0:0]
      :FORWARD DROP [0:0]
      :OUTPUT ACCEPT [0:0]
      -A INPUT -i lo -j ACCEPT
      -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      -A INPUT -p icmp --icmp-type echo-request -j ACCEPT
      -A INPUT -p tcp --dport 22 -j ACCEPT
      -A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
      COMMIT

- name: Make sure the directory for rendered rulesets exists
  ansible.builtin.file:
    path: /etc/rampart
    state: directory
    owner: root
    group: root
    mode: "0700"

- name: Render the ruleset from a template on the target
  ansible.builtin.template:
    src: rules.v4.j2
    dest: /etc/rampart/rules.v4
    owner: root
    group: root
    mode: "0600"

- name: Apply it, keep the chains of Docker, fail2ban, podman... and see what changed
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart/rules.v4
    backup: true
  register: firewall

- name: Show the neighbours' chains that were kept, and the unknown rules that were removed
  ansible.builtin.debug:
    msg: "{{ firewall.neighbour_chains }} {{ firewall.unknown_rules }}"

- name: Same, rendered on the controller instead of the target
  rampart.firewall.iptables_ruleset:
    content: "{{ lookup('ansible.builtin.template', 'rules.v4.j2') }}"

- name: IPv6, without writing it to the boot file
  rampart.firewall.iptables_ruleset:
    family: ipv6
    persist: false
    content: |
      *filter
      :INPUT DROP [0:0]
      :FORWARD DROP [0:0]
      :OUTPUT ACCEPT [0:0]
      -A INPUT -i lo -j ACCEPT
      -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      -A INPUT -p ipv6-icmp -j ACCEPT
      -A INPUT -p tcp --dport 22 -j ACCEPT
      COMMIT

- name: Keep the default neighbours' chains plus the ones of an in-house tool
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart/rules.v4
    preserve_chains:
      - DOCKER
      - DOCKER-*
      - f2b-*
      - NETAVARK*
      - CNI-*
      - KUBE-*
      - LIBVIRT_*
      - cali-*
      - FLANNEL-*
      - ts-*
      - MYTOOL-*

- name: Own every chain of the named tables (neighbours' chains are removed as unknown)
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart/rules.v4
    preserve_chains: []

- name: Write the rules to a custom file (no boot service is enabled for it)
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart/rules.v4
    persist_path: /etc/rampart/persisted.v4

- name: A router, both families and the kernel settings in one call and one confirm-or-revert window; keep copies
  rampart.firewall.iptables_ruleset:
    rulesets:
      ipv4: "{{ lookup('ansible.builtin.template', 'rules.v4.j2') }}"
      ipv6: "{{ lookup('ansible.builtin.template', 'rules.v6.j2') }}"
    copy_dir: /etc/rampart
    # forwarding goes on after the new FORWARD rules, off again first on revert; sysctl.d written after the confirmation
    sysctl:
      profile: router

- name: Read the live IPv4 ruleset
  rampart.firewall.iptables_ruleset:
    state: gathered
  register: live

- name: Show the policy of INPUT and the rules of the nat table
  ansible.builtin.debug:
    msg:
      - "{{ live.gathered.filter.INPUT.policy }}"
      - "{{ live.gathered.nat | default({}) }}"
'''

RETURN = r'''
ipsets:
  description:
    - The managed sets of O(ipsets) of this family, by name - V(method) (V(none), V(create), V(swap) or V(rebuild)),
      V(family), V(type), V(count), V(added), V(removed) and samples of at most 10 added and removed members.
    - With O(rulesets), in RV(families) per family.
  returned: when O(ipsets) has managed sets of the family
  type: dict
  sample: {"admins": {"method": "swap", "family": "inet", "type": "hash:net", "count": 2, "added": 1, "removed": 1,
           "added_sample": ["192.0.2.7"], "removed_sample": ["198.51.100.7"]}}
ipsets_changed:
  description: Whether a managed set was (or would be) created or changed.
  returned: when O(ipsets) has managed sets of the family
  type: bool
ipsets_persisted:
  description: The persisted sets file (null without O(persist)).
  returned: when O(ipsets) has managed sets of the family
  type: str
  sample: /etc/iptables/ipsets
ipsets_persist_changed:
  description: Whether the persisted sets file was (or, with a window, will be after the confirmation) rewritten.
  returned: when O(ipsets) has managed sets of the family
  type: bool
lockout:
  description:
    - The lockout preflight's report (see O(lockout_check)).
    - C(status) is V(safe), V(undecided) (a rule on the path needs runtime state; the revert timer is the
      protection), V(unsafe) (the task failed), V(skipped) (with C(reason)), V(disabled), or V(unchanged) when
      nothing was to be applied.
    - When evaluated it also holds C(verdicts) (one per session packet, with the deciding C(chain), C(rule) and
      C(lineno)), C(undecidable) (the rules whose matches could not be decided) and C(message).
  returned: state=present
  type: dict
  sample: {status: safe, safe: true, message: "the SSH session 198.51.100.7 -> 22 stays open",
           verdicts: [{packet: new SSH connection, verdict: ACCEPT, chain: TCP, rule: "-A TCP -p tcp -m tcp --dport 22 -j ACCEPT", lineno: 17}],
           undecidable: []}
rollback:
  description:
    - The revert window armed for this apply (see O(rollback_timeout)); absent when no timer was armed.
    - The action plugin confirms it and then reports RV(confirmed) and the final persistence keys.
  returned: when the live ruleset changed and rollback_timeout > 0
  type: dict
  sample: {token: ipv4-1795000000-1a2b3c4d, timeout: 30, deadline: 1795000030.5, state_dir: /run/rampart-firewall,
           timer_pid: 4242, apply_delay: 1.0}
  contains:
    token:
      description:
        - The window's token, to pass as O(rampart.firewall.iptables_confirm#module:token) to
          M(rampart.firewall.iptables_confirm).
      type: str
      sample: ipv4-1795000000-1a2b3c4d
    timeout:
      description: The revert window in seconds, O(rollback_timeout).
      type: int
      sample: 30
    deadline:
      description: When the timer restores the previous ruleset unless confirmed, in seconds since the epoch.
      type: float
      sample: 1795000030.5
    state_dir:
      description: The root-only directory that holds the window's state files.
      type: str
      sample: /run/rampart-firewall
    timer_pid:
      description: The process ID of the detached revert timer.
      type: int
      sample: 4242
    apply_delay:
      description: The most seconds between the module's answer and the timer's C(iptables-restore) (it starts earlier
        when the first confirmation call arrives), O(apply_delay).
      type: float
      sample: 1.0
    tokens:
      description: With O(rulesets), the tokens of every family armed by this call (one window for all of them).
      type: list
      elements: str
      sample: [ipv4-1795000000-1a2b3c4d, ipv6-1795000000-5e6f7a8b]
    families:
      description: With O(rulesets), the families of RV(rollback.tokens), in the same order.
      type: list
      elements: str
      sample: [ipv4, ipv6]
families:
  description:
    - With O(rulesets), the result of each family, keyed V(ipv4) and V(ipv6), with the keys a call with O(content)
      returns for one family (RV(before), RV(after), RV(payload), RV(tables), RV(neighbour_chains), RV(neighbour_rules),
      RV(ours_removed), RV(ours_removed_chains), RV(unknown_rules), RV(unknown_chains), RV(ownership), RV(record), RV(kept_chains), RV(kept_rules),
      RV(lockout), RV(persisted), RV(persist_changed), RV(services_enabled), RV(copy), RV(copy_changed), RV(backup_file),
      RV(rollback)) and C(changed); after a revert window also C(confirmed).
  returned: with rulesets
  type: dict
  sample: {ipv4: {changed: true, tables: [filter], persisted: /etc/iptables/rules.v4, persist_changed: true,
                  confirmed: confirmed, lockout: {status: skipped}},
           ipv6: {changed: false, tables: [filter], persisted: /etc/iptables/rules.v6, persist_changed: false,
                  lockout: {status: unchanged}}}
copy:
  description: The copy of the desired ruleset kept in O(copy_dir) (with O(rulesets), in RV(families)).
  returned: when copy_dir is set
  type: str
  sample: /etc/rampart-firewall/rules.v4
copy_changed:
  description: Whether the copy was (or, in check mode or while waiting for the confirmation, will be) written.
  returned: when copy_dir is set
  type: bool
  sample: true
local_fact:
  description: The local fact file of O(local_fact).
  returned: when local_fact is set
  type: str
  sample: /etc/ansible/facts.d/rampart_firewall.fact
local_fact_changed:
  description: Whether the local fact was (or, in check mode, would be) written.
  returned: when local_fact is set
  type: bool
  sample: false
other_managers:
  description:
    - The other firewall managers found on the target (see O(refuse_managers)), each with C(name), C(enabled),
      C(running) (null where it is not read) and C(evidence) (the paths that showed it). Empty when there is none.
  returned: with state=present
  type: list
  elements: dict
  sample: [{"name": "nftables", "enabled": true, "running": null, "evidence": ["/etc/systemd/system/sysinit.target.wants/nftables.service"]}]
sysctl:
  description:
    - The kernel settings of O(sysctl) - C(path), C(settings) (the effective ones), C(live_changed) (key, before and
      after, set live by this call, or by the window's timer when C(pending)), C(live_skipped) (with C(reason), see
      O(sysctl.on_readonly)), C(file_changed) (written now, or after the confirmation when C(pending)), C(pending)
      (carried by a revert window) and C(container_engine) (C(found), C(forwarding_left)).
  returned: when sysctl is set and state=present
  type: dict
  sample: {"path": "/etc/sysctl.d/90-rampart-firewall.conf", "live_changed": [{"key": "net.ipv4.ip_forward", "before": "0",
           "after": "1"}], "live_skipped": [], "file_changed": true, "pending": true}
sysctl_in_place:
  description: Whether the kernel settings of O(sysctl_check) are in place, file and live values.
  returned: when sysctl_check is set
  type: bool
  sample: true
sysctl_differ:
  description: What is not in place (empty when RV(sysctl_in_place)).
  returned: when sysctl_check is set
  type: list
  elements: str
  sample: ["net.ipv4.conf.all.rp_filter is 2 live, not 1", "/etc/sysctl.d/90-rampart-firewall.conf differs"]
confirmed:
  description:
    - What the confirmation found, from M(rampart.firewall.iptables_confirm) (V(confirmed) on success).
    - V(held) with O(hold_window), the ruleset is live and waits for a confirmation by the play.
  returned: when a revert window was armed
  type: str
  sample: confirmed
probes:
  description:
    - The results of O(confirm_probes), as RV(rampart.firewall.reachability_probe#module:results) (host, port, proto,
      expect, from, observed, ok, detail, elapsed), run inside the window, or in check mode against the current state.
  returned: when confirm_probes is set and a window was armed, or in check mode
  type: list
  elements: dict
  sample: [{host: 192.0.2.10, port: 443, proto: tcp, expect: open, from: controller, observed: refused, ok: false,
            detail: connection refused (reset), elapsed: 0.002}]
probes_failing:
  description: One line per probe of RV(probes) that did not hold (host:port/proto from FROM, expected, observed).
  returned: when RV(probes) is
  type: list
  elements: str
  sample: ["192.0.2.10:443/tcp from controller: expected open, observed refused (connection refused (reset))"]
confirm_attempts:
  description:
    - How many times the action plugin called M(rampart.firewall.iptables_confirm) for the window (each over a new connection),
      including the call that waits for the apply. V(2) over SSH when all went well, V(1) over a C(local) or container
      connection.
  returned: when a revert window was armed
  type: int
  sample: 2
confirm_seconds:
  description: Seconds from the module call to the end of the confirmation (or of the wait for it).
  returned: when a revert window was armed
  type: float
  sample: 3.2
revert:
  description:
    - The timer's report when the window was not confirmed and the host restored the previous ruleset (rc, stderr,
      restored text, tables, time, family), from M(rampart.firewall.iptables_confirm).
    - With O(rulesets), also in each family's entry of RV(families).
  returned: when the window ended in a revert or a failed apply
  type: dict
  sample: {rc: 0, stderr: '', tables: [filter], restored: "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", at: 1795000031.2,
           family: ipv4}
open_window:
  description:
    - The revert windows of an earlier apply of the task's families that still wait for their confirmation; the
      module then changed nothing and failed. The action plugin confirms them and runs the task again.
  returned: failure, when a window of the same family is open
  type: dict
  sample: {tokens: [ipv4-1795000000-1a2b3c4d], families: [ipv4], remaining: 21.5}
earlier_window:
  description:
    - The open windows the action plugin found before this task (RV(open_window)) and what their confirmation found
      (V(confirmed), V(already), or on failure what became of them, for example V(reverted)).
  returned: when an earlier window was open
  type: dict
  sample: {tokens: [ipv4-1795000000-1a2b3c4d], families: [ipv4], confirmed: confirmed}
persist_pending:
  description: True in the module's own answer while persistence waits for the confirmation.
  returned: when a revert window was armed and persist is true
  type: bool
  sample: true
changed:
  description: Whether the live ruleset, the persisted file or the boot service changed (or would change in check mode).
  returned: always
  type: bool
  sample: true
before:
  description:
    - The touched tables as they were live, in canonical C(iptables-restore) format.
    - Not returned when the live tables already were the desired ones (RV(live_changed) false), since they are RV(after) then.
  returned: state=present when RV(live_changed), and on failures after the live ruleset was read
  type: str
  sample: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
after:
  description:
    - The touched tables as they are after the run (or would be, in check mode), in canonical C(iptables-restore) format.
    - Same as RV(payload) when that is returned.
  returned: state=present
  type: str
  sample: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
payload:
  description:
    - The exact text that was (or in check mode would be) fed to C(iptables-restore), the desired tables plus the
      kept neighbours' chains, their jumps and the neighbours' rules.
    - Not returned when the live tables already were the desired ones (RV(live_changed) false), since nothing is fed to
      C(iptables-restore) then and RV(after) holds the same text.
  returned: state=present when RV(live_changed)
  type: str
  sample: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:NETAVARK_FORWARD - [0:0]\n-A FORWARD -m comment
    --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
tables:
  description: The tables the ruleset names, that is the tables the module owns in this run.
  returned: state=present
  type: list
  elements: str
  sample: [nat, filter]
live_changed:
  description:
    - Whether the live ruleset differs canonically from the desired one (and so was, or in check mode would be,
      replaced). Unlike RV(changed) it leaves out the persisted file and the boot service, and a task's
      C(changed_when) does not override it (the audit of the roles reads it).
  returned: state=present
  type: bool
  sample: true
neighbour_chains:
  description: The neighbours' chains that were kept, see O(preserve_chains) (the same entries as RV(kept_chains)).
  returned: state=present
  type: list
  elements: dict
  sample:
    - table: filter
      chain: NETAVARK_FORWARD
      rules: 4
      jumps: ['-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD']
neighbour_rules:
  description: The neighbours' rules of built-in chains that were kept (container engines' interfaces and ban tools'
    sets), see O(preserve_interfaces) and O(preserve_sets).
  returned: state=present
  type: list
  elements: str
  sample: ['-A FORWARD -i docker0 ! -o docker0 -j ACCEPT', '-A INPUT -m set --match-set crowdsec-blacklists src -j DROP']
ours_removed:
  description: Rules of ours (the record of an earlier apply holds them) that the ruleset no longer declares, removed
    (or, in check mode, to be removed) from the live tables it names, wherever they point.
  returned: state=present
  type: list
  elements: str
  sample: ['-A INPUT -i docker0 -p tcp -m tcp --dport 5432 -j ACCEPT']
ours_removed_chains:
  description: User chains of ours (recorded) that the ruleset no longer declares, removed, as C(TABLE CHAIN).
  returned: state=present
  type: list
  elements: str
  sample: ['filter DOCKER-USER']
unknown_rules:
  description: Live rules of the tables the ruleset names that are neither declared, nor recorded as ours, nor a
    neighbour's; they are removed (in check mode, would be), with a warning.
  returned: state=present
  type: list
  elements: str
  sample: ['-A INPUT -s 198.51.100.0/24 -j ACCEPT']
unknown_chains:
  description: Live user chains of the tables the ruleset names that are nobody's we know, removed, as C(TABLE CHAIN).
  returned: state=present
  type: list
  elements: str
  sample: ['filter HANDMADE']
ownership:
  description: Counts of whose is what is live in the tables the ruleset names (before the apply).
  returned: state=present
  type: dict
  contains:
    ours:
      description: Rules of ours (declared) that are live.
      type: int
    neighbours:
      description: Neighbours' chains, the jumps into them and neighbours' rules of built-in chains (kept).
      type: int
    unknown:
      description: Unknown rules and chains (removed), RV(unknown_rules) and RV(unknown_chains).
      type: int
    ours_removed:
      description: Recorded rules and chains of ours no longer declared (removed), RV(ours_removed) and RV(ours_removed_chains).
      type: int
  sample: {ours: 14, neighbours: 9, unknown: 1, ours_removed: 0}
record:
  description: The record of earlier applies that decided what is ours (written again after this apply is confirmed).
  returned: state=present
  type: dict
  contains:
    path:
      description: The record file.
      type: str
      sample: /var/lib/rampart-firewall/record.v4
    state:
      description: V(read); V(none) (first run); V(seeded) (no record, the copy in O(copy_dir) taken as the record);
        V(refused) (not ours - a symlink, another user's, writable by others, too big, not a record - ignored with a
        warning).
      type: str
      sample: read
kept_chains:
  description: Deprecated alias of RV(neighbour_chains), removed in 3.0.0. The neighbours' chains that were kept.
  returned: state=present
  type: list
  elements: dict
  contains:
    table:
      description: The table of the chain.
      type: str
      sample: filter
    chain:
      description: The name of the chain.
      type: str
      sample: NETAVARK_FORWARD
    rules:
      description: How many rules the chain holds.
      type: int
      sample: 4
    jumps:
      description: The kept rules of other chains that jump into this chain, as C(-A CHAIN ...) lines.
      type: list
      elements: str
      sample: ['-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD']
  sample:
    - table: filter
      chain: NETAVARK_FORWARD
      rules: 4
      jumps: ['-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD']
kept_rules:
  description: Deprecated alias of RV(neighbour_rules), removed in 3.0.0.
  returned: state=present
  type: list
  elements: str
  sample: ['-A FORWARD -o docker0 -j DOCKER', '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT']
persisted:
  description: The file the managed ruleset is persisted to, or V(null) when O(persist=false).
  returned: state=present
  type: str
  sample: /etc/iptables/rules.v4
persist_changed:
  description: Whether the persisted file was (or, in check mode, would be) written.
  returned: state=present
  type: bool
  sample: false
services_enabled:
  description: The boot services that were (or, in check mode, would be) enabled with C(systemctl enable).
  returned: state=present
  type: list
  elements: str
  sample: [netfilter-persistent]
live_state:
  description:
    - On a failure after the first write, what is live, by family. V(changed) the new ruleset was applied,
      V(pending) it is applied by its revert window (and reverted unless confirmed), V(unchanged) the live rules are
      as they were (a withdrawn window included).
  returned: failure after the first write (backup, apply, persisted file, copy, local fact)
  type: dict
  sample: {ipv4: changed}
written:
  description: On a failure after the first write, the files this call wrote, in order (backups included).
  returned: failure after the first write (backup, apply, persisted file, copy, local fact)
  type: list
  elements: str
  sample: [/etc/iptables/rules.v4]
backup_file:
  description: The file the previous live ruleset was saved to, see O(backup).
  returned: when O(backup=true) and the live ruleset changed (not in check mode)
  type: str
  sample: /var/backups/rampart-firewall/iptables-20250131T120501.123456.rules
gathered:
  description:
    - The live ruleset of O(family), by table, then by chain.
    - Each chain has its C(policy) (V(null) for user chains), its C(rules) (canonical C(iptables-restore) text
      without the leading C(-A CHAIN)), C(neighbour), whether it matches O(preserve_chains), and C(foreign), its
      deprecated alias (removed in 3.0.0).
  returned: state=gathered
  type: dict
  sample:
    filter:
      INPUT:
        policy: DROP
        rules: ["-i lo -j ACCEPT", "-p tcp -m tcp --dport 22 -j ACCEPT"]
        neighbour: false
        foreign: false
      FORWARD:
        policy: ACCEPT
        rules: ["-m comment --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD"]
        neighbour: false
        foreign: false
      OUTPUT:
        policy: ACCEPT
        rules: []
        neighbour: false
        foreign: false
      NETAVARK_FORWARD:
        policy: null
        rules: ["-d 10.88.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
        neighbour: true
        foreign: true
rendered:
  description: The live ruleset of O(family), all tables, in canonical C(iptables-restore) format.
  returned: state=gathered
  type: str
  sample: "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
cmd:
  description: The command that failed.
  returned: failure of an iptables or systemctl command
  type: str
  sample: /usr/sbin/iptables-restore -w 10 --test
rc:
  description: The exit code of the command that failed.
  returned: failure of an iptables or systemctl command
  type: int
  sample: 2
stdout:
  description: The standard output of the command that failed.
  returned: failure of an iptables or systemctl command
  type: str
  sample: ""
stderr:
  description: The standard error of the command that failed.
  returned: failure of an iptables or systemctl command
  type: str
  sample: "iptables-restore v1.8.9 (nf_tables): invalid port/service `70000' specified\nError occurred at line: 7\n"
line:
  description:
    - When the ruleset does not parse, the offending line of O(content) or O(src).
    - When C(iptables-restore) rejects the payload, the offending line of RV(payload).
  returned: failure, when the line is known
  type: str
  sample: "-A INPUT -p tcp --dport 70000 -j ACCEPT"
lineno:
  description: The number of that line (1-based), in O(content) or O(src), or in RV(payload) for C(iptables-restore) failures.
  returned: failure, when the line is known
  type: int
  sample: 7
field:
  description: When the ruleset does not parse, the option (or part of the line) that is wrong.
  returned: failure, when the ruleset does not parse
  type: str
  sample: "--dport"
value:
  description: When the ruleset does not parse, the wrong value.
  returned: failure, when the ruleset does not parse
  type: str
  sample: "70000"
'''

import gc

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
    DEFAULT_PRESERVE,
    DEFAULT_PRESERVE_INTERFACES,
    DEFAULT_PRESERVE_SETS,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import DigestLoggingModule
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_outputs import SYSCTL_DEFAULT_PATH
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_transaction import run_ruleset
from ansible_collections.rampart.firewall.plugins.module_utils import reachability


def _kernel_options():
    """The options sysctl and sysctl_check share (those of rampart.firewall.sysctl_hardening)."""
    return dict(profile=dict(type='str', required=True, choices=['host', 'router']),
                settings=dict(type='dict'),
                path=dict(type='path', default=SYSCTL_DEFAULT_PATH),
                container_engine=dict(type='str', default='auto', choices=['auto', 'present', 'absent']))


def argument_spec():
    return dict(
        family=dict(type='str', default='ipv4', choices=['ipv4', 'ipv6']),
        content=dict(type='str'),
        src=dict(type='path'),
        rulesets=dict(type='dict', options=dict(ipv4=dict(type='str'), ipv6=dict(type='str'))),
        state=dict(type='str', default='present', choices=['present', 'gathered']),
        preserve_chains=dict(type='list', elements='str', default=list(DEFAULT_PRESERVE)),
        preserve_interfaces=dict(type='list', elements='str', default=list(DEFAULT_PRESERVE_INTERFACES)),
        preserve_sets=dict(type='list', elements='str', default=list(DEFAULT_PRESERVE_SETS)),
        wait=dict(type='int', default=10),
        persist=dict(type='bool', default=True),
        persist_path=dict(type='path'),
        copy_dir=dict(type='path'),
        local_fact=dict(type='dict', options=dict(name=dict(type='str', required=True),
                                                  content=dict(type='dict', required=True))),
        sysctl=dict(type='dict', options=dict(_kernel_options(), on_readonly=dict(type='str', default='fail',
                                                                                  choices=['fail', 'file_only', 'skip']))),
        sysctl_check=dict(type='dict', options=_kernel_options()),
        backup=dict(type='bool', default=False),
        rollback_timeout=dict(type='int', default=30),
        apply_delay=dict(type='float', default=1.0),
        confirm_probes=dict(type='list', elements='dict', default=[]),
        hold_window=dict(type='bool', default=False),
        lockout_check=dict(type='bool', default=True),
        ssh_connection=dict(type='str'),
        ipsets=dict(type='dict'),
        ipsets_persist_path=dict(type='path'),
        refuse_managers=dict(type='list', elements='str', default=[], choices=['firewalld', 'nftables', 'ufw']),
    )


def main():
    # One short process per call. It parses the rulesets into hundreds of thousands of objects, none in a
    # cycle (a Ruleset holds its tables, a table its chains, a chain its rules, nothing points back), and every
    # pass of the cyclic collector walked them all: about 0.014 s of a 10,000-rule re-apply
    # (benchmarks/ruleset_bench.py). What little cyclic garbage a run makes goes with the process (the revert
    # timer it may fork turns the collector back on: iptables_rollback.spawn).
    gc.disable()
    module = DigestLoggingModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('content', 'src', 'rulesets'), ('family', 'rulesets'), ('persist_path', 'rulesets'),
                            ('sysctl', 'sysctl_check')],
        required_if=[('state', 'present', ('content', 'src', 'rulesets'), True)],
        supports_check_mode=True,
    )
    check_window_options(module)
    run_ruleset(module)


def check_window_options(module):
    """confirm_probes and hold_window, checked before anything is read or changed (the action plugin runs the probes)."""
    params = module.params
    try:
        probes = reachability.normalise_all(params['confirm_probes'], 'confirm_probes')
    except reachability.ProbeError as exc:
        module.fail_json(msg=exc.msg)
    for index, probe in enumerate(probes):
        if probe['from'] != reachability.CONTROLLER:
            module.fail_json(msg='confirm_probes[%d].from must be controller, not %s: probes from other hosts run in tasks '
                                 'around hold_window (see the roles\' <role>_confirm_probes)' % (index, probe['from']))
    if (probes or params['hold_window']) and params['rollback_timeout'] == 0 and params['state'] == 'present':
        module.fail_json(msg='%s needs a revert window: rollback_timeout must be more than 0, not 0'
                         % ('confirm_probes' if probes else 'hold_window'))


if __name__ == '__main__':
    main()
