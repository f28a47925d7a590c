#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: sysctl_hardening
short_description: Kernel network hardening settings (sysctl), in a sysctl.d file and live
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Writes the kernel network hardening settings of a profile (plus your own O(settings)) to one file in
    C(/etc/sysctl.d), which C(systemd-sysctl) applies at every boot, and sets the live values in C(/proc/sys)
    that differ (see O(reload)).
  - The file starts with a comment saying that it is managed by rampart.firewall, then has one C(key = value)
    line per key, sorted, except that the forwarding keys come first. C(systemd-sysctl) and C(sysctl --system) write
    the keys in file order, and the kernel resets C(net.ipv4.conf.all.accept_redirects) when C(net.ipv4.ip_forward)
    changes, so it must be written after. The file is written only when its content differs, atomically (a temporary
    file in the same directory, then a rename), with mode C(0644).
  - Live values are read from C(/proc/sys) and compared value by value (whitespace-separated values compare as
    lists, integers by value, so C(01) equals C(1)); only keys that differ are written.
  - The module reports (or refuses, see O(on_override)) files read B(after) its own at boot that set one of its
    keys to another value, because those win at the next boot.
  - "Both profiles set (IPv6 has no C(rp_filter), C(secure_redirects), C(send_redirects) or C(log_martians);
    C(tcp_syncookies) covers IPv6 as well):"
  - "C(net.ipv4.conf.all.rp_filter=1), C(net.ipv4.conf.default.rp_filter=1): strict reverse path filter, drop packets
    whose source address would not be routed back out of the interface they came in on (anti-spoofing)."
  - "C(net.ipv4.tcp_syncookies=1): SYN cookies when the SYN backlog overflows (SYN flood)."
  - "C(net.ipv4.conf.all.accept_redirects=0), C(net.ipv4.conf.default.accept_redirects=0),
    C(net.ipv6.conf.all.accept_redirects=0), C(net.ipv6.conf.default.accept_redirects=0),
    C(net.ipv4.conf.all.secure_redirects=0), C(net.ipv4.conf.default.secure_redirects=0): ignore ICMP redirects,
    which rewrite the routing table."
  - "C(net.ipv4.conf.all.send_redirects=0), C(net.ipv4.conf.default.send_redirects=0): never send ICMP redirects."
  - "C(net.ipv4.conf.all.accept_source_route=0), C(net.ipv4.conf.default.accept_source_route=0),
    C(net.ipv6.conf.all.accept_source_route=0), C(net.ipv6.conf.default.accept_source_route=0): refuse source-routed
    packets."
  - "C(net.ipv4.conf.all.log_martians=1), C(net.ipv4.conf.default.log_martians=1): log packets with impossible
    source addresses."
  - "C(net.ipv4.icmp_echo_ignore_broadcasts=1): do not answer broadcast pings (smurf amplification).
    C(net.ipv4.icmp_ignore_bogus_error_responses=1): do not log bogus ICMP error responses."
  - "Profile V(host) adds: C(net.ipv4.ip_forward=0), C(net.ipv6.conf.all.forwarding=0), the machine forwards nothing.
    On a host where a container engine runs (Docker, podman, CNI, libvirt: see O(container_engine)) it leaves those two
    keys as they are, because the containers and VMs need forwarding."
  - "Profile V(router) adds: C(net.ipv4.ip_forward=1), C(net.ipv6.conf.all.forwarding=1), the machine forwards both
    families."
  - The router profile does B(not) set C(accept_ra). With IPv6 forwarding on, the kernel ignores router advertisements
    on interfaces with C(accept_ra=1) (the default), so a router whose WAN address and default route come from SLAAC
    loses them. C(net.ipv6.conf.all.accept_ra) does not reach existing interfaces, and C(accept_ra=2) on every
    interface would let any host on a LAN announce itself as the router's default gateway. Set C(accept_ra=2) for the
    WAN interface only, for example O(settings) C(net.ipv6.conf.eth0.accept_ra=2) (see the examples), or let the
    network manager handle router advertisements (systemd-networkd does it in user space with C(IPv6AcceptRA=)).
  - The profiles are data in the module_utils C(rampart.firewall.sysctl_profiles) (C(PROFILES)), for roles and
    documentation that need the same list.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
attributes:
  check_mode:
    support: full
    details:
      - Predicts the file change and the live values that would change, and changes nothing. It fails where the real
        run would fail before changing anything (bad input, unknown keys, overrides with O(on_override=fail),
        C(/proc/sys) not writable with O(on_readonly=fail)), and it reports RV(live_skipped) and warns as the real run
        would with O(on_readonly=file_only) or O(on_readonly=skip).
  diff_mode:
    support: full
    details:
      - The file before and after, and the live values that change (C(key = value) lines, before and after).
      - With a window, the diff is the change the window applies and the confirmation writes.
  platform:
    support: full
    platforms: linux
options:
  profile:
    description:
      - The set of settings to start from, see the description for what each one sets.
      - V(host) for a machine that forwards nothing, V(router) for one that forwards IPv4 and IPv6.
      - There is no default on purpose, because the profiles differ in forwarding and the wrong one cuts off a router
        or a container host.
    type: str
    required: true
    choices: [host, router]
  settings:
    description:
      - Keys to add to the profile or to override in it, as a dictionary of sysctl key to value.
      - Keys are dotted names as in C(sysctl -a), like C(net.ipv4.conf.all.rp_filter). They must match
        C(^[a-z0-9_]+(\.[a-zA-Z0-9_.-]+\)+$), without two dots in a row. Names with slashes (interface names with dots,
        such as VLAN C(eth0.100)) are not supported.
      - Values are strings or integers on one line (no newline). Whitespace-separated values
        (C(net.ipv4.tcp_rmem="4096 131072 6291456")) are written with single spaces. Booleans are refused, write
        V(0) or V(1).
      - A value of V(null) removes the key from the profile. The module then neither writes nor changes it; its live
        value stays what it is.
      - Every key (of the profile and of O(settings)) must exist on the target as a file below C(/proc/sys), see
        O(unknown_keys).
    type: dict
  path:
    description:
      - The file to write, C(/etc/sysctl.d/NAME.conf) or C(/run/sysctl.d/NAME.conf) (volatile, gone at the next boot),
        the administrator's directories among those that C(systemd-sysctl) reads. The directories of packages
        (C(/usr/lib/sysctl.d), C(/usr/local/lib/sysctl.d), C(/lib/sysctl.d)) are refused.
      - NAME is a plain file name of letters, digits, C(_), C(.), C(@), C(+) and C(-), not starting with a dot or a
        dash, ending in C(.conf). The path is checked as given, before anything is read or written, and is not
        normalised; C(..), C(//), blanks and control characters are refused with an error naming O(path) and the
        value.
      - An existing file at O(path) must be a regular file of its own, not a symbolic link (Debian's
        C(/etc/sysctl.d/99-sysctl.conf) links to C(/etc/sysctl.conf)).
      - The module warns when a file of the same name in a directory of higher precedence masks it (a file of
        C(/run/sysctl.d) masked by one of C(/etc/sysctl.d)).
      - The directory must exist.
    type: path
    default: /etc/sysctl.d/90-rampart-firewall.conf
  reload:
    description:
      - Also set the live values, in C(/proc/sys), that differ from the effective settings.
      - The module writes C(/proc/sys) directly (no C(sysctl) command is needed). It writes forwarding keys first, because the
        kernel resets C(net.ipv4.conf.all.accept_redirects) when C(net.ipv4.ip_forward) changes, then the other keys,
        read again, sorted. Afterwards it reads every key back and warns about values that the kernel did not keep.
      - Before writing anything, the module checks that each key to change is writable. If the module does not run as
        root, it fails naming the key and changes nothing. If a key is not writable for root (C(/proc/sys) mounted
        read-only, as in unprivileged containers; a key of the host that the container's namespaces do not own),
        O(on_readonly) decides.
      - If the kernel refuses a value while writing (for example V(abc) for a number), the module puts the live values
        it already wrote back and restores the previous file (or removes it if it did not exist), then fails naming the
        key. The message says what was restored.
      - V(false) only writes the file, for example to apply the settings at the next boot only. The result then has no
        live changes. For containers, O(on_readonly=file_only) is the better choice; it still sets live values where
        it can, and says which it could not.
    type: bool
    default: true
  rollback_timeout:
    description:
      - Confirm-or-revert, with the meaning, bounds and default of
        O(rampart.firewall.iptables_ruleset#module:rollback_timeout). When live values change, the target arms a revert
        window of this many seconds per family (the keys of C(net.ipv6.*) in an IPv6 window, the others in an IPv4 one)
        and its timer sets the live values once the controller has the module's answer (forwarding keys first). The
        controller must then reach the host again over a B(new) connection and confirm (the action plugin does it, with
        M(rampart.firewall.iptables_confirm)); without a confirmation in time the host restores the previous live values
        by itself, and the task fails saying so.
      - The file O(path) is written only after the confirmation (by M(rampart.firewall.iptables_confirm)), so reverted
        values never come back at the next boot. A change of the file alone (no live value changes, or O(reload=false))
        needs no window and is written at once.
      - With a window, only network keys (C(net.*)) are accepted, and O(settings) naming another key fails naming it
        before anything changes; set such keys in a task of their own with O(rollback_timeout=0).
      - A window of the same family still open (of this module or of M(rampart.firewall.iptables_ruleset), for example a
        run that was interrupted) makes the module change nothing and fail naming it (RV(open_window)), changed or not
        and also with O(rollback_timeout=0); the action plugin confirms that window over a new connection first, then
        runs the task (RV(earlier_window)).
      - V(0) turns the window off and sets the live values at once, as earlier versions did. That is the B(unsafe)
        choice, because a wrong C(rp_filter) or forwarding value cuts the controller off and nothing puts it back.
      - At most V(3600). The window's state lives in C(/run/rampart-firewall) (root's, mode C(0700)). Check mode never
        arms a window.
    type: int
    default: 30
  wait:
    description:
      - Seconds the module, and the window's timer, wait for another apply on the same host (the apply lock of
        O(rampart.firewall.iptables_ruleset#module:wait)). V(0) means do not wait; at most V(300).
    type: int
    default: 10
  hold_window:
    description:
      - V(true) makes the action plugin return as soon as the new values are live, without confirming the window;
        RV(confirmed) is V(held) and RV(rollback) has the token(s). The play must then confirm it with
        M(rampart.firewall.iptables_confirm) over a new connection before the deadline, or the host restores the previous
        values by itself (and the file stays as it was). Needs O(rollback_timeout) > 0.
    type: bool
    default: false
  on_readonly:
    description:
      - What to do when live values must change (O(reload=true)) and some keys cannot be set because they are not
        writable for root, typically because C(/proc/sys) is mounted read-only in an unprivileged container
        (podman or docker without C(--privileged); C(--cap-add NET_ADMIN) does not change that).
      - V(fail) fails before changing anything, naming the first such key, with all of them in RV(live_skipped).
      - V(file_only) writes the file as usual, sets the live values that can be set, leaves the others as they are,
        lists them in RV(live_skipped) and warns naming each, with its live and wanted value. They do not count as a
        change, so a second run reports none (and warns again). The file is applied at boot only where C(/proc/sys)
        is writable, not in such a container (C(systemd-sysctl.service) is skipped on a read-only C(/proc/sys)).
      - V(skip) changes nothing at all, neither the file nor any live value, warns, and lists in RV(live_skipped)
        every live value that differs.
      - Where every key to change is writable, this option has no effect. Not running as root is always an error.
    type: str
    choices: [fail, file_only, skip]
    default: fail
  on_override:
    description:
      - What to do when a file read after O(path) at boot sets one of the keys to another value (or removes it with a
        C(-key) line), so that the next boot ends with the other value.
      - "The boot order is that of C(systemd-sysctl): the C(*.conf) files of C(/etc/sysctl.d), C(/run/sysctl.d),
        C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d) and C(/lib/sysctl.d), sorted by file name, a name present in
        several directories being read from the first of them only (C(/etc) wins). C(/etc/sysctl.conf) counts as read
        last, as by C(sysctl --system) of procps (Debian also links it as C(/etc/sysctl.d/99-sysctl.conf))."
      - Glob assignments (C(net.ipv4.conf.*.rp_filter = 2)) are not overrides, because C(systemd-sysctl) never applies
        a glob to a key set explicitly.
      - V(warn) sets the values anyway, warns, and lists them in RV(overrides).
      - V(fail) fails before changing anything, listing them in RV(overrides).
      - V(ignore) sets the values anyway and lists them in RV(overrides), without a warning.
    type: str
    choices: [warn, fail, ignore]
    default: warn
  container_engine:
    description:
      - Whether a container engine (Docker, podman, containerd/CNI, libvirt) runs on the target. With O(profile=host)
        and an engine running, the forwarding keys C(net.ipv4.ip_forward) and C(net.ipv6.conf.all.forwarding) are left
        as they are, neither set live nor written to the file, and the module warns saying so (see
        RV(container_engine)); the host profile would otherwise switch forwarding off and cut the containers off, live
        at once and at every boot. A forwarding key that O(settings) names (a value, or V(null)) is set as given.
      - V(auto) looks at the target when the module runs, whatever facts were gathered and whatever the play order
        (a Docker started by an earlier role or task counts). An engine runs when a network interface
        (C(/sys/class/net)) is named C(docker0), C(docker_gwbridge), C(br-*), C(cni-*), C(cni0), C(podman*) or C(virbr*),
        or when C(/run/docker.sock), C(/run/containerd/containerd.sock) or C(/run/podman/podman.sock) exists.
      - V(present) treats the host as a container host without looking; V(absent) never does (the host profile then
        switches forwarding off).
      - No effect with O(profile=router), which sets forwarding on.
    type: str
    choices: [auto, present, absent]
    default: auto
  unknown_keys:
    description:
      - What to do with a key that has no file below C(/proc/sys) on the target, such as a typo, a key of a kernel
        module that is not loaded (C(net.netfilter.*), C(net.bridge.*)), or an interface that does not exist.
      - V(fail) fails naming the keys, before changing anything.
      - V(warn) warns naming them, writes them to the file with a leading C(-) (C(-net.bridge.bridge-nf-call-iptables =
        1)), so that C(systemd-sysctl) and C(sysctl --system) do not fail at boot where they are still missing, and does
        not set them live. They are listed in RV(unknown). Once the key exists, the next run writes it without the
        C(-) and sets it live.
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - The module needs root on the target (C(become)).
  - C(net.*) keys belong to the network namespace. In a container they change the container only.
  - Keys that leave the file (removed from O(settings), or after a change of O(profile)) keep their live value until the
    next boot.
  - The module does not run C(sysctl --system) or C(systemd-sysctl), so other files are not re-applied.
  - A change of C(rp_filter) or forwarding can cut a connection, so by default (O(rollback_timeout)) the live values
    change inside a confirm-or-revert window, restored by the host itself when the confirmation does not come, the file
    written only after it; with O(rollback_timeout=0) they are set at once. The roles set the same profiles inside the
    window of the rules (O(rampart.firewall.iptables_ruleset#module:sysctl)), in the same call.
  - The module has an action plugin (the controller side of O(rollback_timeout), the one of
    M(rampart.firewall.iptables_ruleset)); with O(rollback_timeout=0) it only runs the module.
  - O(path) is checked before anything changes, live values included. It must be a regular file or absent, in real
    directories (a symlinked C(sysctl.d) directory is refused, the module never writes through a link), and not on a
    filesystem of C(/proc), C(/sys) or C(/dev).
seealso:
  - name: sysctl.d(5)
    description: The format of the file and the directories read at boot.
    link: https://www.freedesktop.org/software/systemd/man/latest/sysctl.d.html
  - name: IP sysctl
    description: What each C(net.ipv4) and C(net.ipv6) key means.
    link: https://docs.kernel.org/networking/ip-sysctl.html
  - module: ansible.posix.sysctl
    description: Set one sysctl key at a time.
'''

EXAMPLES = r'''
- name: Harden a server that forwards nothing
  rampart.firewall.sysctl_hardening:
    profile: host

- name: Harden a router whose WAN (eth0) gets its IPv6 address by SLAAC
  rampart.firewall.sysctl_hardening:
    profile: router
    settings:
      net.ipv6.conf.eth0.accept_ra: 2            # keep SLAAC on the WAN with forwarding on
      net.ipv4.conf.all.rp_filter: 2             # loose reverse path filter (multi-homed, asymmetric routes)
      net.ipv4.conf.default.rp_filter: 2
      net.ipv4.tcp_rmem: "4096 131072 6291456"
  register: hardening

- name: Show the live values that changed
  ansible.builtin.debug:
    var: hardening.live_changed

- name: A container host (Docker, podman) keeps forwarding, without log_martians
  rampart.firewall.sysctl_hardening:
    profile: router
    settings:
      net.ipv4.conf.all.log_martians: null
      net.ipv4.conf.default.log_martians: null

- name: A Docker host that forwards nothing else; the forwarding keys stay as Docker set them (found on the target)
  rampart.firewall.sysctl_hardening:
    profile: host
    container_engine: auto

- name: Apply, then probe from elsewhere before confirming (the host reverts by itself without the confirmation)
  rampart.firewall.sysctl_hardening:
    profile: router
    rollback_timeout: 120
    hold_window: true
  register: kernel

- name: Confirm the held window over a new connection
  rampart.firewall.iptables_confirm:
    tokens: "{{ kernel.rollback.tokens | default([kernel.rollback.token]) }}"
  when: kernel.rollback is defined

- name: Only write the file; it is applied at the next boot
  rampart.firewall.sysctl_hardening:
    profile: host
    reload: false

- name: In an unprivileged container (read-only /proc/sys), write the file and warn about the live values left as they are
  rampart.firewall.sysctl_hardening:
    profile: host
    on_readonly: file_only

- name: Refuse to run when another sysctl.d file would undo a setting at the next boot
  rampart.firewall.sysctl_hardening:
    profile: host
    on_override: fail

- name: A key of a kernel module that may not be loaded yet (br_netfilter)
  rampart.firewall.sysctl_hardening:
    profile: router
    unknown_keys: warn
    settings:
      net.bridge.bridge-nf-call-iptables: 1
'''

RETURN = r'''
changed:
  description: Whether the file or a live value changed (or would change, in check mode).
  returned: always
  type: bool
  sample: true
rollback:
  description:
    - The revert window(s) armed for the live values (see O(rollback_timeout)); absent when no window was armed.
    - The action plugin confirms them and then reports RV(confirmed).
  returned: when live values changed and rollback_timeout > 0
  type: dict
  sample: {token: ipv4-1795000000-1a2b3c4d, tokens: [ipv4-1795000000-1a2b3c4d, ipv6-1795000000-5e6f7a8b],
           families: [ipv4, ipv6], timeout: 30, deadline: 1795000030.5, state_dir: /run/rampart-firewall, timer_pid: 4242,
           apply_delay: 1.0}
  contains:
    token:
      description: The token of the first window, for M(rampart.firewall.iptables_confirm).
      type: str
      sample: ipv4-1795000000-1a2b3c4d
    tokens:
      description: With two windows (IPv4 and IPv6 keys change), the tokens of both, confirmed together.
      type: list
      elements: str
      sample: [ipv4-1795000000-1a2b3c4d, ipv6-1795000000-5e6f7a8b]
    families:
      description: The families of the windows, in the order of RV(rollback.tokens).
      type: list
      elements: str
      sample: [ipv4, ipv6]
    timeout:
      description: The window in seconds, O(rollback_timeout).
      type: int
      sample: 30
    deadline:
      description: When the timers restore the previous values unless confirmed, in seconds since the epoch.
      type: float
      sample: 1795000030.5
    state_dir:
      description: The root-only directory that holds the windows' state files.
      type: str
      sample: /run/rampart-firewall
    timer_pid:
      description: The process ID of the first window's detached timer.
      type: int
      sample: 4242
    apply_delay:
      description: The most seconds between the module's answer and the timer's apply.
      type: float
      sample: 1.0
confirmed:
  description:
    - What the confirmation found, from M(rampart.firewall.iptables_confirm) (V(confirmed) on success; V(held) with
      O(hold_window); otherwise what happened, for example V(reverted)).
  returned: when a window was armed
  type: str
  sample: confirmed
file_pending:
  description:
    - True in the module's answer while the file waits for the confirmation; V(false) once the action plugin has
      confirmed (or the window was reverted), V(true) with O(hold_window) while it waits for the play's confirmation.
  returned: when a window was armed
  type: bool
  sample: false
open_window:
  description: The windows of the same family that still wait for their confirmation; the module then changed nothing.
  returned: failure, when a window of the same family is open
  type: dict
  sample: {tokens: [ipv4-1795000000-1a2b3c4d], families: [ipv4], remaining: 21.5}
earlier_window:
  description: The open windows the action plugin confirmed before this task (RV(open_window)), and what it found.
  returned: when an earlier window was open
  type: dict
  sample: {tokens: [ipv4-1795000000-1a2b3c4d], families: [ipv4], confirmed: confirmed}
path:
  description: The file written.
  returned: always
  type: str
  sample: /etc/sysctl.d/90-rampart-firewall.conf
settings:
  description: The effective settings, the profile with O(settings) applied, as key to value (strings).
  returned: success
  type: dict
  sample:
    net.ipv4.conf.all.accept_redirects: "0"
    net.ipv4.conf.all.rp_filter: "2"
    net.ipv4.ip_forward: "1"
    net.ipv4.tcp_rmem: "4096 131072 6291456"
    net.ipv6.conf.all.forwarding: "1"
file_changed:
  description:
    - Whether the file was (or, in check mode, would be) written or its mode corrected.
    - On failure, whether the file holds new content now (V(false) when the module failed before writing it or put
      the previous file back).
    - With a window (O(rollback_timeout)), whether the confirmation wrote it (V(false) when the window was reverted; in
      the module's own answer, and with O(hold_window), the file it writes once confirmed, see RV(file_pending)).
  returned: always
  type: bool
  sample: true
live_changed:
  description:
    - The live values that were (or, in check mode, would be) changed, with the value before and after.
    - Empty with O(reload=false), and on failure unless putting the previous values back failed.
    - With a window, the values its timers set; empty when the window was reverted (the previous values are back).
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The sysctl key.
      type: str
      sample: net.ipv4.ip_forward
    before:
      description: The live value before, as C(/proc/sys) showed it (whitespace made single spaces).
      type: str
      sample: "0"
    after:
      description: The value set.
      type: str
      sample: "1"
  sample:
    - key: net.ipv4.ip_forward
      before: "0"
      after: "1"
    - key: net.ipv4.conf.all.rp_filter
      before: "0"
      after: "2"
overrides:
  description:
    - The keys that a file read after RV(path) at boot sets to another value, see O(on_override).
    - C(theirs) is V(null) when that file removes the key with a C(-key) line.
  returned: success, and on failure with O(on_override=fail)
  type: list
  elements: dict
  contains:
    key:
      description: The sysctl key.
      type: str
      sample: net.ipv4.conf.all.rp_filter
    ours:
      description: The value of the effective settings.
      type: str
      sample: "1"
    theirs:
      description: The value that file sets, which wins at boot.
      type: str
      sample: "0"
    file:
      description: The file.
      type: str
      sample: /etc/sysctl.d/99-zzz.conf
  sample:
    - key: net.ipv4.conf.all.rp_filter
      ours: "1"
      theirs: "0"
      file: /etc/sysctl.d/99-zzz.conf
live_skipped:
  description:
    - The live values that differ from the settings and were not set, see O(on_readonly), with the reason.
    - Empty where C(/proc/sys) is writable.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The sysctl key.
      type: str
      sample: net.ipv4.ip_forward
    before:
      description: The live value, left as it is.
      type: str
      sample: "1"
    after:
      description: The value of the settings (written to the file with O(on_readonly=file_only)).
      type: str
      sample: "0"
    reason:
      description: Why it was not set.
      type: str
      sample: /proc/sys is mounted read-only (/proc/sys is read-only, as in an unprivileged container)
  sample:
    - key: net.ipv4.conf.all.rp_filter
      before: "2"
      after: "1"
      reason: /proc/sys is mounted read-only (/proc/sys is read-only, as in an unprivileged container)
container_engine:
  description:
    - What the module found about a container engine (see O(container_engine)).
    - C(found) lists what showed one (interface names, socket paths; empty with O(container_engine=present) or when
      nothing was looked at), C(forwarding_left) the forwarding keys left as they are because of it (empty when none).
  returned: success
  type: dict
  contains:
    found:
      description: The interfaces and sockets that showed a running container engine.
      type: list
      elements: str
      sample: [docker0, /run/docker.sock]
    forwarding_left:
      description: The forwarding keys left as they are (neither set live nor written to the file).
      type: list
      elements: str
      sample: [net.ipv4.ip_forward, net.ipv6.conf.all.forwarding]
  sample:
    found: [docker0, /run/docker.sock]
    forwarding_left: [net.ipv4.ip_forward, net.ipv6.conf.all.forwarding]
unknown:
  description: The keys that do not exist below C(/proc/sys) on the target, with O(unknown_keys=warn).
  returned: success
  type: list
  elements: str
  sample: [net.bridge.bridge-nf-call-iptables]
'''

import os
import stat

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    ApplyLock,
    DigestLoggingModule,
    HostError,
    check_file_path,
    read_own_file,
)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils import atomic_file
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    CONTAINER_ENGINE_CHOICES,
    PROFILES,
    SYSCTL_CONF,
    SYSCTL_DIRS,
    SettingsError,
    apply_order,
    WRITE_DIRS,
    boot_position,
    check_path,
    file_record,
    engine_needs_reading,
    engine_settings,
    find_overrides,
    merge_settings,
    normalize_live,
    readonly_mount,
    render,
    sysctl_path,
    values_equal,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_transaction import (
    engine_evidence,
    read_key_file,
    read_mountinfo as read_transaction_mountinfo,
    write_key_file,
)
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_window import (
    KernelWindows,
    families_of,
    kernel_settings,
    window_keys,
)

# Roots on the target. Unit tests point these at temporary trees.
PROC_SYS = '/proc/sys'
MOUNTINFO = '/proc/self/mountinfo'
DIRS = SYSCTL_DIRS
CONF = SYSCTL_CONF
WRITABLE_DIRS = WRITE_DIRS

FILE_MODE = 0o644
LIVE_HEADER = 'live values (/proc/sys)'


class LiveWriteError(Exception):
    def __init__(self, key, error):
        Exception.__init__(self, key, error)
        self.key = key
        self.error = error


def proc_file(key):
    return os.path.join(PROC_SYS, sysctl_path(key))


def read_proc(key):
    """The live value of KEY (as shown, without the final newline), None when the key does not exist.
    Raises OSError when it exists but cannot be read (sysctl_transaction.read_key_file: no symlink, a regular
    file only)."""
    return read_key_file(proc_file(key))


def write_proc(key, value):
    """One write(2) of VALUE to the key's file (sysctl_transaction.write_key_file)."""
    write_key_file(proc_file(key), to_text(value))


def proc_writable(key):
    return os.access(proc_file(key), os.W_OK)


def read_mountinfo():
    return read_transaction_mountinfo(MOUNTINFO)


def apply_live(targets, written):
    """Make the live values equal TARGETS (key -> value): forwarding keys first, then the
    others, each read again just before (writing a forwarding key may reset others).
    Appends the keys written to WRITTEN; raises LiveWriteError naming the key that failed."""
    for key in apply_order(targets):
        try:
            current = read_proc(key)
            if current is not None and values_equal(targets[key], current):
                continue
            write_proc(key, targets[key])
        except (IOError, OSError) as e:
            raise LiveWriteError(key, e)
        written.append(key)


def describe(theirs):
    return '(removed by a -key line)' if theirs is None else theirs


def error_text(error):
    if getattr(error, 'strerror', None):
        return error.strerror
    return to_native(error)


class SysctlHardening:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = self.params['path']
        # What was changed so far: a failure reports the truth, not the plan.
        self.result = {'changed': False, 'path': self.path, 'file_changed': False, 'live_changed': [], 'live_skipped': []}
        # Before anything else, even reading: the file written must be the file named.
        # then the output path check every module shares: a regular file or absent, in real directories
        # (a symlinked sysctl.d is refused), not in /proc, /sys or /dev
        problem = check_path(self.path, WRITABLE_DIRS) or check_file_path('path', self.path)
        if problem:
            problem = problem if problem.endswith('.') else problem + '.'
            self.fail('%s Nothing was changed.' % problem)

    def fail(self, msg, changed=False, **extra):
        """Fail. Unless CHANGED says otherwise, nothing was changed (all checks run before any change);
        RV(file_changed) and RV(live_changed) say what was changed."""
        self.result.update(extra)
        self.result['changed'] = changed
        self.module.fail_json(msg=msg, **self.result)

    # -- reading --------------------------------------------------------------------------

    def effective(self):
        profile, engine = self.params['profile'], self.params['container_engine']
        wanted = self.params['settings'] or {}
        evidence = engine_evidence() if engine_needs_reading(profile, wanted, engine) else []
        try:
            wanted, left = engine_settings(profile, wanted, engine, evidence)
            settings = merge_settings(profile, wanted)
        except SettingsError as e:
            self.fail(to_native(e))
        self.result['container_engine'] = {'found': evidence, 'forwarding_left': left}
        if left:
            self.module.warn('A container engine runs here (%s): %s left as they are, not set live and not written to %s '
                             '(the host profile would switch forwarding off and cut the containers off). Set '
                             'container_engine=absent, or the keys in settings, to manage them.'
                             % (', '.join(evidence) if evidence else 'container_engine=present',
                                ' and '.join(left), self.path))
        return settings

    def read_live(self, settings):
        live, unknown = {}, []
        for key in settings:
            try:
                value = read_proc(key)
            except (IOError, OSError) as e:
                self.fail('Cannot read %s (%s): %s. Nothing was changed.' % (key, proc_file(key), error_text(e)))
            if value is None:
                unknown.append(key)
            else:
                live[key] = value
        return live, unknown

    def read_file(self):
        """(content as text or None, mode or None) of the managed file."""
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            self.fail('The directory %s of path does not exist. Nothing was changed.' % directory)
        if not os.path.lexists(self.path):
            return None, None
        if os.path.isdir(self.path):
            self.fail('path %s is a directory. Nothing was changed.' % self.path)
        if os.path.islink(self.path):
            self.fail('path %s is a symbolic link (to %s): the module writes only a regular file of its own. '
                      'Nothing was changed.' % (self.path, os.readlink(self.path)))
        if not stat.S_ISREG(os.lstat(self.path).st_mode):
            self.fail('path %s is not a regular file. Nothing was changed.' % self.path)
        try:
            # never through a symlink or from a FIFO (the check above may be raced): the text is the diff's "before"
            data = read_own_file('path', self.path)
            if data is None:
                return None, None
            return to_text(data, errors='surrogate_or_replace'), os.lstat(self.path).st_mode & 0o7777
        except HostError as e:
            self.fail('%s. Nothing was changed.' % e.msg)
        except (IOError, OSError) as e:
            self.fail('Cannot read %s: %s. Nothing was changed.' % (self.path, error_text(e)))

    def boot_files(self):
        entries = []
        for directory in DIRS:
            try:
                names = os.listdir(directory)
            except (IOError, OSError):
                continue
            for name in names:
                if name.endswith('.conf') and not os.path.isdir(os.path.join(directory, name)):
                    entries.append((directory, name))
        if os.path.lexists(CONF):
            entries.append((os.path.dirname(CONF), os.path.basename(CONF)))
        return entries

    def overrides(self, settings):
        state, other, later = boot_position(self.path, self.boot_files(), DIRS, CONF)
        if state == 'masked':
            self.module.warn('%s is not read at boot: %s has the same name in a directory of higher precedence and is read '
                             'instead.' % (self.path, other))
        elif state == 'ignored':
            self.module.warn('%s is not read at boot: systemd-sysctl reads *.conf files of %s only (and procps sysctl '
                             '--system %s).' % (self.path, ', '.join(DIRS), CONF))
        own = os.path.realpath(self.path)
        seen = set()
        files = []
        for path in later:
            real = os.path.realpath(path)
            if real == own or real in seen:
                continue
            seen.add(real)
            try:
                with open(path, 'rb') as handle:
                    files.append((path, to_text(handle.read(), errors='surrogate_or_replace')))
            except (IOError, OSError) as e:
                self.module.warn('Cannot read %s to look for overrides: %s' % (path, error_text(e)))
        return find_overrides(settings, files)

    # -- checks before changing anything ---------------------------------------------------

    def blocked(self, keys):
        """The keys of KEYS that cannot be set live, as (key, reason), in order. Fails at once
        when the module does not run as root: that is a mistake (become), not a container."""
        blocked = []
        mountinfo = None
        for key in keys:
            if proc_writable(key):
                continue
            path = proc_file(key)
            if mountinfo is None:
                mountinfo = read_mountinfo()
            ro = readonly_mount(mountinfo, path)
            if ro:
                why = '%s is mounted read-only (%s is read-only, as in an unprivileged container)' % (ro, PROC_SYS)
            elif os.geteuid() != 0:
                self.fail('Cannot set %s live: %s is not writable, permission denied: the module runs as uid %d, not root '
                          '(use become). Nothing was changed: %s was not written and no live value was set.'
                          % (key, path, os.geteuid(), self.path), key=key)
            else:
                why = ('permission denied: the key is read-only, or it belongs to the host and the namespaces of this '
                       'container do not own it')
            blocked.append((key, why))
        return blocked

    # -- changing ---------------------------------------------------------------------------

    def write_file(self, data):
        atomic_file.write_atomic(self.path, to_bytes(data), FILE_MODE, self.module.atomic_move)

    def restore_file(self, before, mode):
        """Put the previous file back. Returns (sentence for the failure message, whether it worked)."""
        try:
            if before is None:
                os.unlink(self.path)
                return '%s was removed again (it did not exist before)' % self.path, True
            self.write_file(before)
            os.chmod(self.path, mode)
            return '%s was restored to its previous content' % self.path, True
        except (IOError, OSError) as e:
            return 'restoring %s FAILED (%s): it holds the new settings' % (self.path, error_text(e)), False

    def rollback_live(self, original, written):
        """Write the original values back (all of them: a forwarding key may have reset others).
        Returns (sentence for the failure message, whether it worked)."""
        if not written:
            return 'no live value had been changed', True
        try:
            apply_live(original, [])
        except LiveWriteError as e:
            return ('putting the live values back FAILED at %s (%s): the live values are half changed, check %s'
                    % (e.key, error_text(e.error), ', '.join(written))), False
        return 'the live value(s) already written were put back (%s)' % ', '.join(written), True

    def run(self):
        params = self.params
        settings = self.effective()
        if params['rollback_timeout'] > 0:
            # only network keys go through the window (its timer restores network keys only)
            try:
                window_keys(sorted(settings))
            except SettingsError as e:
                self.fail(to_native(e), field='settings')
        live, unknown = self.read_live(settings)
        if unknown and params['unknown_keys'] == 'fail':
            self.fail('Unknown sysctl key(s): %s. There is no %s on the target (a typo, a kernel module that is not '
                      'loaded, or an interface that does not exist). Nothing was changed. Fix or remove the key, or use '
                      'unknown_keys=warn to write it to the file anyway.'
                      % (', '.join(unknown), ', '.join(proc_file(k) for k in unknown)),
                      unknown=unknown)
        if unknown:
            self.module.warn('Unknown sysctl key(s), written to %s with a leading "-" and not set live: %s'
                             % (self.path, ', '.join(unknown)))

        content = render(settings, params['profile'], optional=unknown)
        before, mode = self.read_file()
        content_changed = before != content
        file_changed = content_changed or mode != FILE_MODE

        differ = []
        if params['reload']:
            for key in apply_order(live):
                if not values_equal(settings[key], live[key]):
                    differ.append({'key': key, 'before': normalize_live(live[key]), 'after': settings[key]})

        overrides = self.overrides(settings)
        self.result.update(settings=settings, overrides=overrides, unknown=unknown)
        if overrides:
            lines = '; '.join('%s = %s in %s (ours: %s)' % (o['key'], describe(o['theirs']), o['file'], o['ours']) for o in overrides)
            if params['on_override'] == 'fail':
                self.fail('Files read after %s at boot set these keys to other values, which win at the next boot: %s. '
                          'Nothing was changed (on_override=fail).' % (self.path, lines))
            if params['on_override'] == 'warn':
                self.module.warn('Files read after %s at boot set these keys to other values, which win at the next '
                                 'boot: %s. The live values are set to ours now.' % (self.path, lines))

        # Live values that cannot be set (/proc/sys read-only): on_readonly decides.
        blocked = self.blocked([c['key'] for c in differ]) if differ else []
        reasons = dict(blocked)
        live_skipped = [dict(c, reason=reasons[c['key']]) for c in differ if c['key'] in reasons]
        live_changed = [c for c in differ if c['key'] not in reasons]
        if blocked:
            key, why = blocked[0]
            listed = ', '.join('%s (live %s, wanted %s)' % (c['key'], c['before'], c['after']) for c in live_skipped)
            if params['on_readonly'] == 'fail':
                self.fail('Cannot set %s live: %s is not writable, %s. Nothing was changed: %s was not written and no live '
                          'value was set. Use on_readonly=file_only to write only the file and leave these live values '
                          'as they are (or reload=false), on_readonly=skip to change nothing. Keys that cannot be set: %s.'
                          % (key, proc_file(key), why, self.path, listed),
                          key=key, live_skipped=live_skipped)
            if params['on_readonly'] == 'skip':
                self.module.warn('Kernel settings NOT applied (on_readonly=skip): %s; nothing was changed, %s was %s and no '
                                 'live value was set. Live values that differ from the settings: %s.'
                                 % (why, self.path, 'not written although it differs' if file_changed else 'not touched',
                                    ', '.join('%s (live %s, wanted %s)' % (c['key'], c['before'], c['after']) for c in differ)))
                self.result.update(live_skipped=[dict(c, reason=reasons.get(c['key'], 'on_readonly=skip')) for c in differ])
                self.module.exit_json(**self.result)
            self.module.warn('%d kernel setting(s) NOT applied live (on_readonly=file_only): %s. Not set: %s. %s holds them; '
                             'they take effect only at a boot where %s is writable (not in this container).'
                             % (len(live_skipped), why, listed, self.path, PROC_SYS))

        directory = os.path.dirname(self.path)
        if content_changed and not os.access(directory, os.W_OK):
            self.fail('Cannot write %s: the directory %s is not writable (%s). Nothing was changed.'
                      % (self.path, directory, 'read-only file system' if readonly_mount(read_mountinfo(), directory) else 'permission denied'),
                      live_skipped=live_skipped)

        if self.module._diff:
            diff = []
            if file_changed:
                diff.append({'before_header': self.path if before is not None else '%s (absent)' % self.path,
                             'after_header': self.path,
                             'before': before or '', 'after': content})
            if live_changed:
                diff.append({'before_header': LIVE_HEADER, 'after_header': LIVE_HEADER,
                             'before': ''.join('%s = %s\n' % (c['key'], c['before']) for c in live_changed),
                             'after': ''.join('%s = %s\n' % (c['key'], c['after']) for c in live_changed)})
            self.result['diff'] = diff

        self.result['live_skipped'] = live_skipped
        if self.module.check_mode:
            warning = rollback.open_windows_warning(families_of(settings))
            if warning:
                self.module.warn(warning)
            self.result.update(changed=file_changed or bool(live_changed), file_changed=file_changed, live_changed=live_changed)
            self.module.exit_json(**self.result)

        kernel = kernel_settings(self.module, self.path, params['profile'], settings, live, reasons, live_changed,
                                 {'before': before, 'content': content, 'same': not file_changed,
                                  'record': file_record(self.path, params['profile'], settings, unknown)})
        windows = KernelWindows(self.module, kernel, params['rollback_timeout'], params['wait'])
        try:
            with ApplyLock(params['wait']):
                # a window of these families (this module's or iptables_ruleset's) still open refuses the run,
                # changed or not: its timer would later restore the values from before it
                windows.settle(families_of(settings))
                if params['rollback_timeout'] > 0 and live_changed:
                    self.result['rollback'] = self.arm_and_start(windows)
                    self.result.update(changed=True, file_changed=file_changed, live_changed=live_changed,
                                       file_pending=file_changed)
                    self.module.exit_json(**self.result)
                self.change_now(settings, live, reasons, before, mode, content, content_changed, file_changed, live_changed)
        except FirewallError as e:
            self.fail(e.msg, **e.extra)

    def arm_and_start(self, windows):
        """The kernel-only windows (sysctl_window): armed, then their timers started; they apply the live values
        once the controller has the answer, restore them at the deadline unless confirmed, and the file is written
        by iptables_confirm after the confirmation. Nothing is changed here."""
        windows.arm()
        return windows.start()

    def change_now(self, settings, live, reasons, before, mode, content, content_changed, file_changed, live_changed):
        """Without a window (rollback_timeout=0, or no live value changes): the file, then the live values."""
        if content_changed:
            try:
                self.write_file(content)
            except (IOError, OSError) as e:
                self.fail('Cannot write %s: %s. Nothing was changed.' % (self.path, error_text(e)))
        if file_changed:
            try:
                os.chmod(self.path, FILE_MODE)
            except (IOError, OSError) as e:
                self.fail('Cannot set the mode of %s to 0644: %s. %s; no live value was set.'
                          % (self.path, error_text(e), 'The file was written' if content_changed else 'The file was not written'),
                          changed=content_changed, file_changed=content_changed)
        self.result['file_changed'] = file_changed

        if live_changed:
            # Every readable key that is not blocked: writing a forwarding key may reset others.
            settable = [k for k in live if k not in reasons]
            written = []
            try:
                apply_live(dict((k, settings[k]) for k in settable), written)
            except LiveWriteError as e:
                live_note, live_ok = self.rollback_live(dict((k, live[k]) for k in settable), written)
                file_note, file_ok = self.restore_file(before, mode) if file_changed else ('%s was not changed' % self.path, True)
                self.fail('Cannot set %s = %s live: %s. %s; %s.' % (e.key, settings[e.key], error_text(e.error), file_note, live_note),
                          changed=not (live_ok and file_ok), key=e.key,
                          file_changed=file_changed and not file_ok,
                          live_changed=[] if live_ok else [c for c in live_changed if c['key'] in written])
            self.verify(settings, settable)

        self.result.update(changed=file_changed or bool(live_changed), live_changed=live_changed)
        self.module.exit_json(**self.result)

    def verify(self, settings, keys):
        for key in keys:
            try:
                value = read_proc(key)
            except (IOError, OSError) as e:
                self.module.warn('Cannot read %s back: %s' % (key, error_text(e)))
                continue
            if value is None or not values_equal(settings[key], value):
                self.module.warn('%s was set to %s but the kernel reports %s.' % (key, settings[key], normalize_live(value or '')))


def main():
    module = DigestLoggingModule(
        argument_spec=dict(
            profile=dict(type='str', required=True, choices=sorted(PROFILES)),
            settings=dict(type='dict'),
            path=dict(type='path', default='/etc/sysctl.d/90-rampart-firewall.conf'),
            reload=dict(type='bool', default=True),
            on_override=dict(type='str', default='warn', choices=['warn', 'fail', 'ignore']),
            unknown_keys=dict(type='str', default='fail', choices=['fail', 'warn']),
            on_readonly=dict(type='str', default='fail', choices=['fail', 'file_only', 'skip']),
            container_engine=dict(type='str', default='auto', choices=list(CONTAINER_ENGINE_CHOICES)),
            rollback_timeout=dict(type='int', default=30),
            wait=dict(type='int', default=10),
            hold_window=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    # the bounds of iptables_ruleset's options of the same names (iptables_rollback)
    if not 0 <= module.params['rollback_timeout'] <= rollback.MAX_ROLLBACK_TIMEOUT:
        module.fail_json(msg='rollback_timeout must be between 0 and %d seconds, not %d. Nothing was changed.'
                         % (rollback.MAX_ROLLBACK_TIMEOUT, module.params['rollback_timeout']), field='rollback_timeout',
                         changed=False)
    if not 0 <= module.params['wait'] <= rollback.MAX_WAIT:
        module.fail_json(msg='wait must be between 0 and %d seconds, not %d. Nothing was changed.'
                         % (rollback.MAX_WAIT, module.params['wait']), field='wait', changed=False)
    if module.params['hold_window'] and module.params['rollback_timeout'] == 0:
        module.fail_json(msg='hold_window needs a revert window: rollback_timeout must be more than 0, not 0. Nothing was '
                         'changed.', field='hold_window', changed=False)
    SysctlHardening(module).run()


if __name__ == '__main__':
    main()
