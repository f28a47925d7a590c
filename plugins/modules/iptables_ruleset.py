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
  - Chains of other software (Docker, fail2ban, podman/netavark, Kubernetes, libvirt, ...) are kept, see O(preserve_chains).
  - Before loading, the payload is checked with C(iptables-restore --test). After loading, the live ruleset is read
    back and must equal what was planned, or the module fails.
  - The managed part of the live ruleset is then written to the file that the distribution restores at boot,
    see O(persist).
  - With O(state=gathered) the module only reads the live ruleset and returns it.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
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
  sysctl_check:
    description:
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
        foreign and is kept with its live rules, unless the ruleset declares a chain of that name.
      - Live rules that jump (C(-j)) or go (C(-g)) into a kept foreign chain from a built-in chain or from a
        user chain of the ruleset are kept as well. They are placed at the B(top) of that chain, in their live
        order, because that is where Docker, fail2ban and netavark insert them. A jump held by a user chain
        that the ruleset no longer declares goes away with its chain (with a warning).
      - As for C(iptables-restore), a rule of the ruleset can only jump into a chain that the ruleset declares,
        and declaring a chain makes it the ruleset's own (see below). So leave the jumps into foreign chains
        out of the ruleset; they are kept at the top as described.
      - If the ruleset declares a chain whose name matches a pattern (for example C(DOCKER-USER)), the
        ruleset's version wins. Its live rules and the live jumps into it are replaced by what the ruleset
        says, and it is persisted like any other chain of the ruleset.
      - Rules that other software puts straight into built-in chains without jumping to a chain of its own
        (for example the C(MASQUERADE) rule older Docker versions add to C(nat POSTROUTING)) cannot be told
        apart from yours and are removed from the tables the ruleset names. Put them in the ruleset if you
        need them.
      - Setting this option B(replaces) the default list; to add a pattern, repeat the default ones.
        V([]) means the ruleset owns every chain of the tables it names.
      - Built-in chains are never foreign.
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
  preserve_interfaces:
    description:
      - Shell-style patterns (as in O(preserve_chains)) naming the network interfaces of container engines and
        hypervisors. Docker, podman, CNI and libvirt write rules straight into built-in chains for their bridges
        (Docker's C(FORWARD -o docker0 -j DOCKER), C(FORWARD -i docker0 ! -o docker0 -j ACCEPT), C(raw PREROUTING
        ... ! -i docker0 -j DROP), C(nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE)).
      - A live rule of a built-in chain that matches such an interface with C(-i) or C(-o) (negated or not) is
        foreign like a foreign chain, and so is a C(nat POSTROUTING) C(MASQUERADE) rule whose source lies in a
        subnet that such a rule masquerades (Docker's per-published-port rules). Foreign rules are kept at the top
        of their chain with the jumps into foreign chains, all in live order, are never persisted (their owner
        writes them again when it starts), and never make the task report a change.
      - A rule of the ruleset on such an interface is yours and is applied and persisted as usual. A rule on such
        an interface that an earlier ruleset had and the current one drops cannot be told apart from the engine's
        and is kept; delete it by hand (or run once with V([])).
      - Setting this option B(replaces) the default list. V([]) means no rule of a built-in chain is foreign.
    type: list
    elements: str
    default: [docker0, docker_gwbridge, br-*, cni-*, cni0, podman*, virbr*]
  wait:
    description:
      - Seconds C(iptables-restore) waits for the xtables lock (C(-w)) when another program holds it.
      - Also the seconds an apply waits for another apply of this module on the same host to finish
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
      - The file holds every live table of O(family) in its managed form, that is without foreign chains
        (see O(preserve_chains)) and without the jumps into them, because their owners recreate them when they
        start. Tables that hold nothing but built-in chains with policy C(ACCEPT), no rules and at most foreign
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
      - Before loading a changed ruleset, save the complete previous live ruleset (all tables, foreign chains
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
        and applies the new ruleset one second after the module has answered (so a ruleset that cuts the
        connection cannot swallow the answer). The controller must then reach the host again over a B(new)
        connection and confirm (the action plugin of this module does it, with M(rampart.firewall.iptables_confirm)).
        Without a confirmation in time, the host restores the previous ruleset of the touched tables by itself,
        and the task fails saying so.
      - The persisted file (O(persist)) is written only after the confirmation, so a reverted ruleset never
        comes back at the next boot. A reboot during the window forgets the new ruleset too (the window lives in
        C(/run/rampart-firewall), a tmpfs) and the boot loads the previously persisted one.
      - While one apply of a family waits for its confirmation, a second apply of the same family that would change
        the live ruleset fails with a message saying when the first one's timer fires, also with O(rollback_timeout=0)
        (the first timer would otherwise restore the ruleset from before both).
      - Over SSH this is the real protection. Over C(local) and container connections (C(podman), C(docker)) a
        new connection does not cross the firewall, so the confirmation always arrives; the timer then only
        protects against a controller that dies between the apply and the confirmation.
      - V(0) turns it off; the module applies synchronously and persists at once (no timer, no action-plugin
        round trip). Check mode never arms a timer.
      - "At most V(3600) (one hour): a window that never ends would keep the previous ruleset waiting forever."
      - The window's state lives in C(/run/rampart-firewall), which must be a directory owned by root with
        mode C(0700) (it is created so); the module refuses to use it otherwise. It holds data only (the
        previous ruleset, deadlines); the timer decides the restore command itself.
    type: int
    default: 30
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
      - The ipset sets the play declares for this ruleset, set name to member list (addresses and networks), as
        the O(rampart.firewall.ipset#module:members) of the C(rampart.firewall.ipset) tasks that run before this
        one. The roles pass their C(<role>_ipsets) here.
      - Every set the ruleset uses (a C(-m set --match-set NAME) match or a C(SET) target) must exist on the
        target, with the family of the ruleset; otherwise the module fails naming the set and the rule, before
        anything changes. In check mode a set listed here that does not exist yet is accepted (the ipset task
        before would have created it); C(iptables-restore --test) then cannot run, and a warning says so.
      - The lockout preflight uses these members rather than the live ones (see O(lockout_check)).
    type: dict
  ssh_connection:
    description:
      - The SSH session the lockout check protects, as the C(SSH_CONNECTION) variable writes it
        (C(CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT)).
      - By default the action plugin reads C(SSH_CONNECTION) on the target over the task's connection, without
        privilege escalation (C(sudo) would reset it), when the connection is C(ssh) or C(paramiko); it is empty
        otherwise.
      - Set it to protect another path explicitly, for example C(198.51.100.7 0 203.0.113.10 22) for a management
        host when the play itself runs locally.
    type: str
notes:
  - The module needs root (or C(CAP_NET_ADMIN)) on the target, so use privilege escalation (C(become)) or connect as root.
  - With the nf_tables backend one C(iptables-restore) call is one transaction for all tables in it. With the
    legacy backend each table is committed on its own; C(iptables-restore --test) runs first to catch errors.
  - Counters are not compared and are reset for the touched tables.
  - If another program changes a touched table between the module reading the live ruleset and loading the new
    one, that change is lost, and the check after loading may fail.
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

- name: Show the chains that were kept
  ansible.builtin.debug:
    var: firewall.kept_chains

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

- name: Keep the default foreign chains plus the ones of an in-house tool
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

- name: Own every chain of the named tables (foreign chains are removed)
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart/rules.v4
    preserve_chains: []

- name: Write the rules to a custom file (no boot service is enabled for it)
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart/rules.v4
    persist_path: /etc/rampart/persisted.v4

- name: Both families in one call and one confirm-or-revert window; keep copies, check the kernel settings
  rampart.firewall.iptables_ruleset:
    rulesets:
      ipv4: "{{ lookup('ansible.builtin.template', 'rules.v4.j2') }}"
      ipv6: "{{ lookup('ansible.builtin.template', 'rules.v6.j2') }}"
    copy_dir: /etc/rampart
    sysctl_check:
      profile: host
  register: firewall

- name: Set the kernel settings only when they are not in place
  rampart.firewall.sysctl_hardening:
    profile: host
  when: not firewall.sysctl_in_place

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
      description: Seconds between the module's answer and the timer's C(iptables-restore).
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
      returns for one family (RV(before), RV(after), RV(payload), RV(tables), RV(kept_chains), RV(kept_rules),
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
  description: What the confirmation found, from M(rampart.firewall.iptables_confirm) (V(confirmed) on success).
  returned: when a revert window was armed
  type: str
  sample: confirmed
confirm_attempts:
  description: How many times the action plugin tried to reach the host again to confirm (each over a new connection).
  returned: when a revert window was armed
  type: int
  sample: 1
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
  description: The touched tables as they were live, in canonical C(iptables-restore) format.
  returned: state=present, and on failures after the live ruleset was read
  type: str
  sample: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
after:
  description:
    - The touched tables as they are after the run (or would be, in check mode), in canonical C(iptables-restore) format.
    - Same as RV(payload).
  returned: state=present
  type: str
  sample: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
payload:
  description:
    - The exact text that was (or, when nothing changed or in check mode, would be) fed to C(iptables-restore),
      the desired tables plus the kept foreign chains and their jumps.
  returned: state=present
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
kept_chains:
  description: The foreign chains that were kept, see O(preserve_chains).
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
  description: The foreign rules of built-in chains that were kept (container engines' interfaces), see O(preserve_interfaces).
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
backup_file:
  description: The file the previous live ruleset was saved to, see O(backup).
  returned: when O(backup=true) and the live ruleset changed (not in check mode)
  type: str
  sample: /var/backups/rampart-firewall/iptables-20250131T120501.123456.rules
gathered:
  description:
    - The live ruleset of O(family), by table, then by chain.
    - Each chain has its C(policy) (V(null) for user chains), its C(rules) (canonical C(iptables-restore) text
      without the leading C(-A CHAIN)) and C(foreign), whether it matches O(preserve_chains).
  returned: state=gathered
  type: dict
  sample:
    filter:
      INPUT:
        policy: DROP
        rules: ["-i lo -j ACCEPT", "-p tcp -m tcp --dport 22 -j ACCEPT"]
        foreign: false
      FORWARD:
        policy: ACCEPT
        rules: ["-m comment --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD"]
        foreign: false
      OUTPUT:
        policy: ACCEPT
        rules: []
        foreign: false
      NETAVARK_FORWARD:
        policy: null
        rules: ["-d 10.88.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
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

import datetime
import ipaddress
import json
import os
import re
import stat

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
    DEFAULT_PRESERVE,
    DEFAULT_PRESERVE_INTERFACES,
    PlanError,
    apply_result,
    describe,
    empty_table,
    declared_chains,
    parse_or_empty,
    persistable,
    plan as make_plan,
    rule_line,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    ApplyLock,
    DigestLoggingModule,
    HostError,
    check_dir_path,
    check_file_path,
    enable_services,
    write_owned,
    excerpt,
    read_regular_file,
    write_atomic,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import preflight as lockout_preflight
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_ruleset import RulesetSets
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    TABLES,
    diff as model_diff,
    parse,
    render,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import (
    OS_RELEASE_PATHS,
    persist_target,
    read_os_release,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import (
    IptablesCommandError,
    IptablesRunner,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    SettingsError,
    apply_order,
    check_path as sysctl_check_path,
    merge_settings,
    normalize_live,
    render as render_sysctl,
    sysctl_path,
    values_equal,
)

BACKUP_DIR = '/var/backups/rampart-firewall'
# Upper bounds of the options in seconds: a window that never ends is no safety net.
MAX_ROLLBACK_TIMEOUT = 3600
MAX_WAIT = 300
# Seconds between the module's answer and the timer's iptables-restore (see apply_with_rollback).
APPLY_DELAY = 1.0
# The copy of the applied rules (copy_dir): root-only, like the persisted files.
COPY_MODE = 0o600
COPY_DIR_MODE = 0o700
# The local fact (local_fact), read by the setup module (its default fact_path).
FACTS_DIR = '/etc/ansible/facts.d'
FACT_MODE = 0o644
FACT_NAME_RE = re.compile(r'\A[A-Za-z0-9_]{1,64}\Z')
# The kernel settings checked by sysctl_check, and the default file of rampart.firewall.sysctl_hardening.
PROC_SYS = '/proc/sys'
SYSCTL_DEFAULT_PATH = '/etc/sysctl.d/90-rampart-firewall.conf'

PERSIST_HEADER = (
    '# Written by rampart.firewall.iptables_ruleset: the managed part of the live ruleset.\n'
    '# Foreign chains (preserve_chains) and the jumps into them are left out: their owners\n'
    '# (Docker, fail2ban, podman...) recreate them when they start.\n'
)

# systemctl is-enabled states that need no "systemctl enable".


def withdraw(token):
    """Withdraw a window armed by this run whose timer was never started (nothing was applied):
    remove its files, so that no later apply finds it pending and restores its ruleset."""
    if not rollback.valid_token(token):
        return
    for suffix in ('pending', 'json', 'rules'):
        try:
            os.unlink(os.path.join(rollback.STATE_DIR, '%s.%s' % (token, suffix)))
        except OSError:
            pass


class RulesetModule:
    """The steps of the module, each usable on its own.

    present() runs them in order: load_desired, read_live, plan, check, apply
    (backup, restore, verify) and persist.
    """

    def __init__(self, module, runner=None, params=None):
        self.module = module
        # params: the module's, or those of one family of O(rulesets) (family and content set)
        self.params = params if params is not None else module.params
        self.family = self.params['family']
        self.preserve = list(self.params['preserve_chains'] or [])
        self.interfaces = list(self.params['preserve_interfaces'] or [])
        self.runner = runner or IptablesRunner(module, self.family, self.params['wait'])
        self.result = {'changed': False}
        self.diffs = []
        # True once iptables-restore has changed the live ruleset (a later failure still changed it).
        self.applied = False
        # The text of src once read (the copy in copy_dir is this text).
        self.source_text = None
        copy_dir = self.params.get('copy_dir')
        self.copy_path = (os.path.join(copy_dir, 'rules.v6' if self.family == 'ipv6' else 'rules.v4')
                          if copy_dir else None)

    # ---- reading -------------------------------------------------------------------------
    def desired_text(self):
        if self.params['content'] is not None:
            return self.params['content']
        if self.source_text is not None:
            return self.source_text
        path = self.params['src']
        try:
            data = read_regular_file('src', path)
        except HostError as exc:
            raise FirewallError(exc.msg)
        try:
            self.source_text = data.decode('utf-8')
            return self.source_text
        except UnicodeDecodeError as exc:
            raise FirewallError('cannot read src %s: not UTF-8 text (byte %d)' % (excerpt(path, 200), exc.start))

    def load_desired(self):
        text = self.desired_text()
        where = 'src %s' % excerpt(self.params['src'], 200) if self.params['content'] is None else 'content'
        try:
            return parse(text, family=self.family)
        except ParseError as exc:
            # Quote only a short, escaped excerpt of the bad line and value: src may be any
            # file root can read (a symlink to a secret must not leak it into logs).
            extra = {}
            if exc.lineno is not None:
                extra['lineno'] = exc.lineno
            if exc.line is not None:
                extra['line'] = excerpt(exc.line)
            if exc.field is not None:
                extra['field'] = excerpt(exc.field, 40)
            if exc.value is not None:
                extra['value'] = excerpt(exc.value, 40)
            shown = ParseError(excerpt(exc.message, 160), exc.lineno, extra.get('line'), extra.get('field'))
            raise FirewallError('%s does not parse as an %s ruleset: %s' % (where, self.family, to_native(shown)), **extra)

    def read_live(self):
        """Return (iptables-save text, Ruleset)."""
        text = self.runner.save()
        try:
            return text, parse_or_empty(text, family=self.family)
        except ParseError as exc:
            raise FirewallError(
                'cannot understand the live ruleset printed by iptables-save (please report this): %s' % to_native(exc),
                before=text)

    # ---- state=gathered ------------------------------------------------------------------
    def gathered(self):
        dummy, live = self.read_live()
        self.result['gathered'] = describe(live, self.preserve)
        names = [name for name in TABLES if name in live.tables]
        self.result['rendered'] = render(live, tables=names) if names else ''
        return self.result

    # ---- state=present -------------------------------------------------------------------
    def plan(self, desired, live):
        try:
            return make_plan(desired, live, self.preserve, self.interfaces)
        except PlanError as exc:
            raise FirewallError(to_native(exc))

    def locate(self, desired, line):
        """Where a payload line comes from, for error messages."""
        if not line:
            return ''
        for table in desired.tables.values():
            for chain in table.chains.values():
                for rule in chain.rules:
                    if rule_line(rule) == line:
                        if getattr(rule, 'lineno', None):
                            return 'line %d of the desired ruleset' % rule.lineno
                        return 'from the desired ruleset'
        if line.startswith('-A '):
            return 'kept from the live ruleset'
        return ''

    def command_failure(self, exc, desired=None, **extra):
        result = exc.to_result()
        result.pop('msg')
        msg = exc.located(self.locate(desired, exc.line)) if desired is not None else exc.msg
        if exc.line is not None:
            result['line'] = exc.line
            result['lineno'] = exc.lineno
        result.update(extra)
        return FirewallError(msg, **result)

    def check(self, plan, desired):
        """iptables-restore --test on the payload (changes nothing)."""
        try:
            self.runner.test(plan.payload)
        except IptablesCommandError as exc:
            raise self.command_failure(exc, desired, before=plan.before)

    def backup(self, live_text):
        stamp = datetime.datetime.now().strftime('%Y%m%dT%H%M%S.%f')
        name = '%s-%s.rules' % ('iptables' if self.family == 'ipv4' else 'ip6tables', stamp)
        try:
            if not os.path.isdir(os.path.dirname(BACKUP_DIR)):
                os.makedirs(os.path.dirname(BACKUP_DIR), 0o755)
            rollback.secure_dir(BACKUP_DIR)   # root's, 0700, not a symlink
            path = os.path.join(BACKUP_DIR, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as handle:
                handle.write(live_text)
        except (IOError, OSError, rollback.StateDirError) as exc:
            raise FirewallError('cannot write the backup in %s: %s' % (BACKUP_DIR, to_native(exc)))
        return path

    def apply(self, plan, desired):
        """Load the payload, then read the live ruleset back and check it is the planned one. Returns the new live Ruleset."""
        try:
            self.runner.restore(plan.payload)
        except IptablesCommandError as exc:
            raise self.command_failure(exc, desired, before=plan.before)
        self.applied = True
        try:
            dummy, live = self.read_live()
        except IptablesCommandError as exc:
            raise self.command_failure(exc, before=plan.before)
        # A table iptables-save does not print counts as pristine (as in the model's Ruleset equality).
        wrong = [name for name in plan.tables
                 if (live.tables.get(name) or empty_table(name)) != plan.result.tables[name]]
        if wrong:
            got = render(live, tables=[name for name in wrong if name in live.tables]) if live.tables else ''
            raise FirewallError(
                'iptables-restore succeeded but the live ruleset differs from what was loaded in table(s) %s; '
                'another program may have changed it meanwhile:\n%s'
                % (', '.join(wrong), model_diff(plan.result, live, tables=wrong)),
                before=plan.before, after=got)
        return live

    # ---- persistence ---------------------------------------------------------------------
    def os_release(self):
        for path in OS_RELEASE_PATHS:
            try:
                with open(path) as handle:
                    return read_os_release(handle.read())
            except (IOError, OSError):
                continue
        return {}

    def persist_target(self):
        """Return (path, services, package, mode). The path is checked here, before anything
        changes: an unusable file fails the task with the live ruleset untouched."""
        chosen = self.params['persist_path']
        if chosen is not None:
            problem = check_file_path('persist_path', chosen)
            if problem:
                raise FirewallError(problem)
        try:
            target = persist_target(self.os_release(), self.family)
        except ValueError as exc:
            if chosen is None:
                raise FirewallError(to_native(exc))
            return chosen, (), None, 0o600
        if chosen is None or chosen == target.path:
            problem = check_file_path('the persisted file', target.path)
            if problem:
                raise FirewallError(problem)
            return target.path, tuple(target.services), target.package, target.mode
        return chosen, (), target.package, target.mode

    def read_persisted(self, path):
        """Return the text of the existing persisted file, or None."""
        if not os.path.exists(path):
            return None
        try:
            with open(path, 'rb') as handle:
                return handle.read().decode('utf-8', 'replace')
        except (IOError, OSError) as exc:
            raise FirewallError('cannot read the persisted ruleset %s: %s' % (path, exc.strerror or to_native(exc)))

    def parse_persisted(self, text):
        """The persisted text as a Ruleset, or None when it does not parse (it is then rewritten)."""
        try:
            return parse_or_empty(text, family=self.family)
        except ParseError:
            return None

    def write_persisted(self, path, content, mode):
        try:
            write_atomic(self.module, path, content, mode)
        except HostError as exc:
            raise FirewallError('cannot write the persisted ruleset: %s' % exc.msg)

    def enable_services(self, services, package):
        try:
            return enable_services(self.module, services, package)
        except HostError as exc:
            raise FirewallError(exc.msg, **exc.extra)

    def plan_persist(self, live, plan, target):
        """What persisting the managed form of LIVE means: a dict with path, content, same (no write
        needed), mode, services, package and the diff entry. Changes nothing."""
        path, services, package, mode = target
        old_text = self.read_persisted(path)
        owned = {}
        mine = set(plan.mine)
        if old_text is not None:
            # chains matching preserve_chains that the user declared in an earlier run stay the user's
            owned.update((name, chains) for name, chains in declared_chains(old_text, self.preserve).items()
                         if name not in plan.tables)
            # and so do rules on a container engine's interface persisted before (foreign ones never are)
            old = self.parse_persisted(old_text) if self.interfaces else None
            for name, table in (old.tables.items() if old is not None else ()):
                if name not in plan.tables:
                    for chain in table.chains.values():
                        mine.update(chain.rules)
        owned.update(plan.owned)
        wanted, names = persistable(live, self.preserve, owned, self.interfaces, mine)
        content = PERSIST_HEADER + (render(wanted, tables=names) if names else '')
        # the file we write is canonical text: a re-run finds it identical without parsing it
        same = old_text is not None and (old_text == content or self.parse_persisted(old_text) == wanted)
        return {
            'path': path, 'content': content, 'same': same, 'mode': mode,
            'services': list(services), 'package': package,
            'diff': {'before_header': '%s (persisted)' % path, 'after_header': '%s (persisted)' % path,
                     'before': old_text or '', 'after': content},
        }

    def persist(self, live, plan, target):
        """Write the managed form of the live ruleset (the predicted one in check mode) to the boot file.

        target: (path, services, package, mode) from persist_target().
        """
        todo = self.plan_persist(live, plan, target)
        self.result['persisted'] = todo['path']
        self.result['persist_changed'] = not todo['same']
        if not todo['same']:
            if self.module._diff:
                self.diffs.append(todo['diff'])
            if not self.module.check_mode:
                self.write_persisted(todo['path'], todo['content'], todo['mode'])
        self.result['services_enabled'] = self.enable_services(todo['services'], todo['package'])

    # ---- safety: lockout preflight and confirm-or-revert ---------------------------------
    def lockout(self, plan):
        """Evaluate the resulting filter table for the SSH session that runs this task.

        Fails (before anything changed) when the session's packets would be dropped or rejected."""
        ssh = (self.params['ssh_connection'] or '').strip()
        if not self.params['lockout_check']:
            return {'status': 'disabled'}
        if not ssh:
            return {'status': 'skipped', 'reason': 'no SSH session to protect (local or container connection, '
                                                   'or ssh_connection empty)'}
        if 'filter' not in plan.tables:
            return {'status': 'skipped', 'reason': 'the filter table is not managed by this ruleset'}
        try:
            client = ipaddress.ip_address(ssh.split()[0])
        except (ValueError, IndexError):
            raise FirewallError('ssh_connection must read "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT" '
                                '(the SSH_CONNECTION variable), not %r' % ssh)
        mapped = getattr(client, 'ipv4_mapped', None)
        version = 4 if (client.version == 4 or mapped is not None) else 6
        if version != (4 if self.family == 'ipv4' else 6):
            return {'status': 'skipped', 'reason': 'the SSH session runs over IPv%d, this ruleset is %s' % (version, self.family)}
        try:
            sets = getattr(self, 'sets', None)
            report = lockout_preflight(plan.result, ssh, sets=sets.contents() if sets is not None else None)
        except ValueError as exc:
            raise FirewallError('lockout check: %s' % to_native(exc))
        report = dict(report)
        if report.get('safe') is False:
            report['status'] = 'unsafe'
            raise FirewallError(
                'refusing to apply: %s. Nothing was changed. Fix the ruleset, or set lockout_check: false '
                '(rollback_timeout still reverts a ruleset that cuts the connection).' % report.get('message'),
                lockout=report)
        if report.get('safe') is None:
            report['status'] = 'undecided'
            self.module.warn('lockout check undecided: %s; relying on the revert timer (rollback_timeout=%s)'
                             % (report.get('message'), self.params['rollback_timeout']))
        else:
            report['status'] = 'safe'
        return report

    def arm_window(self, plan, desired, target, predicted):
        """Arm the revert timer of this family (nothing is applied yet). Returns a function that
        starts the timer, which applies the payload a moment after the module has answered.

        The persisted file and the copy are not written here: iptables_confirm writes them once the
        controller has confirmed over a new connection (the action plugin does that)."""
        state_dir = rollback.STATE_DIR
        todo = self.plan_persist(predicted, plan, target) if target is not None else None
        copy = self.plan_copy()
        timeout = self.params['rollback_timeout']
        extra = {'persist': todo and dict(todo, diff=None)}
        if copy is not None:
            extra['copy'] = dict(copy, diff=None)
        try:
            token = rollback.arm(state_dir, self.family, plan.before, self.runner.restore_argv(), timeout,
                                 tables=plan.tables, extra=extra)
        except (rollback.RollbackBusy, rollback.StateDirError) as exc:
            raise FirewallError(to_native(exc))
        except (IOError, OSError) as exc:
            raise FirewallError('cannot arm the revert timer in %s: %s' % (state_dir, to_native(exc)))

        def apply():
            # The timer runs after this module has answered and released its lock: take it
            # again for the apply itself, so that it cannot interleave with another apply.
            try:
                with ApplyLock(self.params['wait']):
                    self.apply(plan, desired)
            except HostError as exc:
                raise rollback.ApplyError(exc.msg, applied=self.applied)
            except FirewallError as exc:
                raise rollback.ApplyError(exc.msg, applied=self.applied, **exc.extra)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                raise rollback.ApplyError('unexpected error while applying: %s' % to_native(exc), applied=True)
            return {'verified': True}

        def start():
            restore_argv = self.runner.restore_argv()
            pid = rollback.spawn(lambda: rollback.run_window(state_dir, token, apply, restore_argv, delay=APPLY_DELAY))
            meta = rollback.meta(state_dir, token) or {}
            self.result['rollback'] = {
                'token': token, 'timeout': timeout, 'deadline': meta.get('deadline'), 'state_dir': state_dir,
                'timer_pid': pid, 'apply_delay': APPLY_DELAY,
            }
            if todo is not None:
                self.result['persisted'] = todo['path']
                self.result['persist_changed'] = not todo['same']
                self.result['persist_pending'] = True
                if not todo['same'] and self.module._diff:
                    self.diffs.append(todo['diff'])
            if copy is not None:
                self.result['copy_changed'] = not copy['same']
                if not copy['same'] and self.module._diff:
                    self.diffs.append(copy['diff'])
            return self.result['rollback']

        start.token = token
        return start

    def apply_with_rollback(self, plan, desired, target, predicted):
        """Arm the revert timer and start it (one family)."""
        return self.arm_window(plan, desired, target, predicted)()

    # ---- the copy of the applied rules (copy_dir) ----------------------------------------
    def plan_copy(self):
        """What writing the copy of the desired ruleset means (None without copy_dir): path, content,
        mode, same, diff. Changes nothing."""
        if self.copy_path is None:
            return None
        content = self.desired_text()
        old = None
        same = False
        if os.path.lexists(self.copy_path):
            try:
                old = read_regular_file('the copy', self.copy_path).decode('utf-8', 'replace')
            except HostError as exc:
                raise FirewallError(exc.msg)
            same = old == content and stat.S_IMODE(os.stat(self.copy_path).st_mode) == COPY_MODE
        return {'path': self.copy_path, 'content': content, 'mode': COPY_MODE, 'same': same,
                'dir': os.path.dirname(self.copy_path), 'dir_mode': COPY_DIR_MODE,
                'diff': {'before_header': '%s (copy)' % self.copy_path, 'after_header': '%s (copy)' % self.copy_path,
                         'before': old or '', 'after': content}}

    def write_copy(self):
        """Write the copy now (unless it is up to date); in check mode only report it."""
        copy = self.plan_copy()
        if copy is None:
            return
        self.result['copy_changed'] = not copy['same']
        if copy['same']:
            return
        if self.module._diff:
            self.diffs.append(copy['diff'])
        if not self.module.check_mode:
            try:
                write_owned(self.module, copy['path'], copy['content'], COPY_MODE, COPY_DIR_MODE)
            except HostError as exc:
                raise FirewallError('cannot write the copy of the rules: %s' % exc.msg, **exc.extra)
            except (IOError, OSError) as exc:
                raise FirewallError('cannot write the copy of the rules %s: %s' % (copy['path'], to_native(exc)))

    # ---- present: prepare (reads and checks only), then apply -----------------------------
    def prepare(self):
        """Everything before the first change: load, where to persist, read live, plan, diff,
        iptables-restore --test and the lockout check. Returns (desired, target, live_text, live, plan)."""
        desired = self.load_desired()
        try:
            # the ipset sets the ruleset uses must exist (or, in check mode, be declared): refused before anything
            self.sets = RulesetSets(self.module, desired, self.module.params.get('ipsets'))
        except ValueError as exc:
            raise FirewallError(to_native(exc))
        # Where to persist is known before anything changes (an unknown distribution fails here).
        target = self.persist_target() if self.params['persist'] else None
        live_text, live = self.read_live()
        plan = self.plan(desired, live)
        self.result.update({
            'before': plan.before,
            'after': plan.after,
            'payload': plan.payload,
            'tables': list(plan.tables),
            'live_changed': plan.changed,
            'kept_chains': plan.kept,
            'kept_rules': list(plan.kept_rules),
            'persisted': None,
            'persist_changed': False,
            'services_enabled': [],
        })
        if self.copy_path is not None:
            self.result.update(copy=self.copy_path, copy_changed=False)
            self.plan_copy()   # an unreadable copy fails here, before anything changed
        for line in plan.dropped:
            self.module.warn('dropped %s: its chain is not in the desired ruleset' % line)
        if self.module._diff:
            for name in plan.tables:
                if not plan.table_changed(name):
                    continue
                self.diffs.append({
                    'before_header': '%s table %s (live)' % (self.family, name),
                    'after_header': '%s table %s (desired)' % (self.family, name),
                    'before': render(plan.current, tables=[name]),
                    'after': render(plan.result, tables=[name]),
                })
        self.result['lockout'] = {'status': 'unchanged'}
        if plan.changed:
            if self.sets.pending:
                self.module.warn(self.sets.warn_untested())
            else:
                self.check(plan, desired)
            self.result['lockout'] = self.lockout(plan)
        return desired, target, live_text, live, plan

    def settle(self):
        """Refuse while a window of this family is open; revert a stale one (see rollback.settle)."""
        try:
            rollback.settle(rollback.STATE_DIR, self.family, self.runner.restore_argv())
        except (rollback.RollbackBusy, rollback.StateDirError) as exc:
            raise FirewallError(to_native(exc))

    def windowed(self, prepared):
        """Whether this family's change goes through a revert window."""
        return bool(prepared[4].changed and not self.module.check_mode and self.params['rollback_timeout'] > 0)

    def finish(self, prepared, start=None):
        """After prepare() (and, for a windowed change, arm_window()): apply synchronously, or
        start the timer; persist and copy unless that waits for the confirmation."""
        desired, target, live_text, live, plan = prepared
        if plan.changed:
            if self.module.check_mode:
                live = apply_result(live, plan.result)
            else:
                if self.params['backup']:
                    try:
                        self.result['backup_file'] = self.backup(live_text)
                    except FirewallError:
                        if start is not None:   # armed, its timer never started: withdraw it
                            withdraw(start.token)
                        raise
                if start is not None:
                    start()
                    self.result['changed'] = True
                    return self.result
                live = self.apply(plan, desired)
        if target is not None:
            self.persist(live, plan, target)
        self.write_copy()
        self.result['changed'] = any((plan.changed, self.result['persist_changed'], self.result['services_enabled'],
                                      self.result.get('copy_changed')))
        return self.result

    def present(self):
        prepared = self.prepare()
        start = None
        extras = Extras(self.module)
        extras.prepare()
        if prepared[4].changed and not self.module.check_mode:
            self.settle()
        extras.write()
        if self.windowed(prepared):
            desired, target, dummy, live, plan = prepared
            start = self.arm_window(plan, desired, target, apply_result(live, plan.result))
        self.finish(prepared, start)
        extras.report(self.result, self.diffs)
        if self.module._diff:
            self.result['diff'] = self.diffs
        return self.result

    def run(self):
        try:
            if self.params['state'] == 'gathered':
                return self.gathered()
            try:
                with ApplyLock(self.params['wait']):
                    return self.present()
            except HostError as exc:
                raise FirewallError(exc.msg, **exc.extra)
        except IptablesCommandError as exc:
            raise self.command_failure(exc, before=self.result.get('before'))


# ---- what one call does besides the rules: the local fact and the sysctl check ------------
def sysctl_state(options, proc_sys=None):
    """Read-only: whether the kernel settings that rampart.firewall.sysctl_hardening would set with
    OPTIONS (profile, settings, path) are in place, file and live values. Returns (in_place, reasons).
    Anything unexpected (bad input, unknown key, unreadable file) is 'not in place': sysctl_hardening
    then runs and reports it."""
    proc_sys = proc_sys or PROC_SYS
    reasons = []
    try:
        settings = merge_settings(options['profile'], options.get('settings') or {})
    except SettingsError as exc:
        return False, ['settings: %s' % to_native(exc)]
    path = options.get('path') or SYSCTL_DEFAULT_PATH
    problem = sysctl_check_path(path)
    if problem:
        return False, ['path: %s' % problem]
    for key in apply_order(settings):
        proc = os.path.join(proc_sys, sysctl_path(key))
        try:
            with open(proc, 'rb') as handle:
                value = handle.read().decode('utf-8', 'replace')
        except (IOError, OSError):
            return False, ['%s cannot be read live' % key]
        value = value[:-1] if value.endswith('\n') else value
        if not values_equal(settings[key], value):
            reasons.append('%s is %s live, not %s' % (key, excerpt(normalize_live(value), 40), settings[key]))
    content = render_sysctl(settings, options['profile'])
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            reasons.append('%s is not a regular file' % path)
        else:
            if stat.S_IMODE(info.st_mode) != 0o644:
                reasons.append('%s has mode %04o' % (path, stat.S_IMODE(info.st_mode)))
            with open(path, 'rb') as handle:
                if handle.read().decode('utf-8', 'replace') != content:
                    reasons.append('%s differs' % path)
    except (IOError, OSError):
        reasons.append('%s is missing or unreadable' % path)
    return not reasons, reasons


class Extras:
    """The role's local fact (local_fact) and the read-only sysctl check (sysctl_check) of one call."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.fact = None

    def prepare(self):
        """Validate and plan the fact: nothing is written here."""
        spec = self.params.get('local_fact')
        if not spec:
            return
        name = spec['name']
        if not FACT_NAME_RE.match(name or ''):
            raise FirewallError('local_fact.name must be letters, digits and "_" (it names %s/NAME.fact), not %s'
                                % (FACTS_DIR, excerpt(name, 60)), field='local_fact.name', value=excerpt(name, 60))
        path = os.path.join(FACTS_DIR, '%s.fact' % name)
        for problem in (check_dir_path('the directory of local facts', FACTS_DIR), check_file_path('local_fact', path)):
            if problem:
                raise FirewallError(problem)
        content = json.dumps(spec['content'], sort_keys=True) + '\n'
        old = None
        same = False
        if os.path.exists(path):
            try:
                old = read_regular_file('local_fact', path, limit=1 << 20).decode('utf-8', 'replace')
            except HostError as exc:
                raise FirewallError(exc.msg)
            try:
                same = json.loads(old) == spec['content'] and stat.S_IMODE(os.stat(path).st_mode) == FACT_MODE
            except ValueError:
                same = False
        self.fact = {'path': path, 'content': content, 'same': same, 'old': old}

    def write(self):
        fact = self.fact
        if fact is None or fact['same'] or self.module.check_mode:
            return
        try:
            write_owned(self.module, fact['path'], fact['content'], FACT_MODE, 0o755)
        except HostError as exc:
            raise FirewallError('cannot write the local fact: %s' % exc.msg, **exc.extra)
        except (IOError, OSError) as exc:
            raise FirewallError('cannot write the local fact %s: %s' % (fact['path'], to_native(exc)))

    def report(self, result, diffs):
        fact = self.fact
        if fact is not None:
            result['local_fact'] = fact['path']
            result['local_fact_changed'] = not fact['same']
            if not fact['same']:
                result['changed'] = True
                if self.module._diff:
                    diffs.append({'before_header': '%s (local fact)' % fact['path'],
                                  'after_header': '%s (local fact)' % fact['path'],
                                  'before': fact['old'] or '', 'after': fact['content']})
        if self.params.get('sysctl_check'):
            result['sysctl_in_place'], result['sysctl_differ'] = sysctl_state(self.params['sysctl_check'])


class FamiliesModule:
    """O(rulesets): both families in one call and one revert window. Every family is read, planned
    and checked before anything changes; then each changed family is armed (one window, one token per
    family: the revert stays per family), and the timers started together."""

    def __init__(self, module, runners=None):
        self.module = module
        self.workers = []
        for family in ('ipv4', 'ipv6'):
            content = (module.params['rulesets'] or {}).get(family)
            if content is None:
                continue
            params = dict(module.params, family=family, content=content, src=None)
            self.workers.append(RulesetModule(module, runner=(runners or {}).get(family), params=params))
        self.result = {'changed': False, 'families': {}}
        self.applied = False

    def present(self):
        extras = Extras(self.module)
        prepared = [worker.prepare() for worker in self.workers]
        extras.prepare()
        if not self.module.check_mode:
            for worker, prep in zip(self.workers, prepared):
                if prep[4].changed:
                    worker.settle()
        extras.write()
        starts = []
        try:
            for worker, prep in zip(self.workers, prepared):
                if worker.windowed(prep):
                    desired, target, dummy, live, plan = prep
                    starts.append(worker.arm_window(plan, desired, target, apply_result(live, plan.result)))
                else:
                    starts.append(None)
        except FirewallError:
            for start in starts:
                if start is not None:   # armed, timer not started: withdraw
                    withdraw(start.token)
            raise
        diffs = []
        for index, (worker, prep, start) in enumerate(zip(self.workers, prepared, starts)):
            try:
                worker.finish(prep, start)
            except FirewallError:
                for later in starts[index + 1:]:
                    if later is not None:   # armed, its timer never started: withdraw it
                        withdraw(later.token)
                raise
            finally:
                self.applied = self.applied or worker.applied or 'rollback' in worker.result
                self.result['families'][worker.family] = worker.result
            diffs.extend(worker.diffs)
        windows = [worker.result['rollback'] for worker in self.workers if 'rollback' in worker.result]
        if windows:
            self.result['rollback'] = {
                'token': windows[0]['token'], 'tokens': [window['token'] for window in windows],
                'families': [worker.family for worker in self.workers if 'rollback' in worker.result],
                'timeout': windows[0]['timeout'], 'deadline': max(window['deadline'] or 0 for window in windows),
                'state_dir': windows[0]['state_dir'], 'timer_pid': windows[0]['timer_pid'],
                'apply_delay': windows[0]['apply_delay'],
            }
        self.result['changed'] = any(worker.result['changed'] for worker in self.workers)
        extras.report(self.result, diffs)
        if self.module._diff:
            self.result['diff'] = diffs
        return self.result

    def run(self):
        current = None
        try:
            with ApplyLock(self.module.params['wait']):
                return self.present()
        except HostError as exc:
            raise FirewallError(exc.msg, **exc.extra)
        except IptablesCommandError as exc:
            for worker in self.workers:
                if worker.result.get('before') is not None:
                    current = worker
            raise (current or self.workers[0]).command_failure(exc)


def argument_spec():
    return dict(
        family=dict(type='str', default='ipv4', choices=['ipv4', 'ipv6']),
        content=dict(type='str'),
        src=dict(type='path'),
        rulesets=dict(type='dict', options=dict(ipv4=dict(type='str'), ipv6=dict(type='str'))),
        state=dict(type='str', default='present', choices=['present', 'gathered']),
        preserve_chains=dict(type='list', elements='str', default=list(DEFAULT_PRESERVE)),
        preserve_interfaces=dict(type='list', elements='str', default=list(DEFAULT_PRESERVE_INTERFACES)),
        wait=dict(type='int', default=10),
        persist=dict(type='bool', default=True),
        persist_path=dict(type='path'),
        copy_dir=dict(type='path'),
        local_fact=dict(type='dict', options=dict(name=dict(type='str', required=True),
                                                  content=dict(type='dict', required=True))),
        sysctl_check=dict(type='dict', options=dict(profile=dict(type='str', required=True, choices=['host', 'router']),
                                                    settings=dict(type='dict'),
                                                    path=dict(type='path', default=SYSCTL_DEFAULT_PATH))),
        backup=dict(type='bool', default=False),
        rollback_timeout=dict(type='int', default=30),
        lockout_check=dict(type='bool', default=True),
        ssh_connection=dict(type='str'),
        ipsets=dict(type='dict'),
    )


def main():
    module = DigestLoggingModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('content', 'src', 'rulesets'), ('family', 'rulesets'), ('persist_path', 'rulesets')],
        required_if=[('state', 'present', ('content', 'src', 'rulesets'), True)],
        supports_check_mode=True,
    )
    if not 0 <= module.params['wait'] <= MAX_WAIT:
        module.fail_json(msg='wait must be between 0 and %d seconds, not %d' % (MAX_WAIT, module.params['wait']))
    if not 0 <= module.params['rollback_timeout'] <= MAX_ROLLBACK_TIMEOUT:
        module.fail_json(msg='rollback_timeout must be 0 (off) or up to %d seconds, not %d'
                         % (MAX_ROLLBACK_TIMEOUT, module.params['rollback_timeout']))
    if module.params['copy_dir'] is not None:
        problem = check_dir_path('copy_dir', module.params['copy_dir'])
        if problem:
            module.fail_json(msg=problem, field='copy_dir', value=excerpt(module.params['copy_dir'], 200))
    rulesets = module.params['rulesets']
    if rulesets is not None and module.params['state'] == 'present':
        if not any(value is not None for value in rulesets.values()):
            module.fail_json(msg='rulesets must give the ruleset of at least one family (ipv4, ipv6), not %s'
                             % excerpt(rulesets, 60), field='rulesets')
        worker = FamiliesModule(module)
    else:
        worker = RulesetModule(module)
    try:
        result = worker.run()
    except FirewallError as exc:
        failed = dict(worker.result)
        failed.pop('diff', None)
        failed.update(exc.extra)
        failed['changed'] = worker.applied
        module.fail_json(msg=exc.msg, **failed)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
