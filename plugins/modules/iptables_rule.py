#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: iptables_rule
short_description: Add, move or remove iptables/ip6tables rules written as structured options
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Makes sure one rule, or a list of rules (O(rules)), is present at the wanted place of a chain, or absent,
    without owning the rest of the ruleset. For roles that add to a firewall instead of owning it
    (see M(rampart.firewall.iptables_ruleset) for that).
  - The live table is read with C(iptables-save) and compared canonically with the wanted rules, the same way
    M(rampart.firewall.iptables_ruleset) compares rulesets, so C(destination_port=ssh) matches the live
    C(-p tcp -m tcp --dport 22) and a second run reports no change.
  - Only the chains named by the rules are edited, with targeted C(-D CHAIN RULE), C(-I CHAIN N) and C(-A CHAIN) lines
    fed to one C(iptables-restore --noflush) per family and task (after C(iptables-restore --test --noflush)). Other
    chains, including those of Docker, fail2ban or podman, and their counters, are not touched.
  - After loading, the touched chains are read back and must be what was predicted, or the module fails.
  - With O(family=both) one rule written once is loaded into iptables and ip6tables. Rules written for IPv4 are
    translated for IPv6 and back. V(icmp) becomes V(ipv6-icmp), O(icmp_type) names become their ICMPv6
    counterparts (V(echo-request), V(8) and V(ping) become ICMPv6 V(echo-request), V(fragmentation-needed) becomes
    V(packet-too-big), V(host-unreachable) becomes V(address-unreachable), V(network-unreachable) becomes V(no-route),
    V(any) drops the type). O(reject_with) C(icmp-*) types become C(icmp6-*) ones (V(icmp-port-unreachable) becomes
    V(icmp6-port-unreachable), V(icmp-host-unreachable) becomes V(icmp6-addr-unreachable), V(icmp-net-unreachable)
    becomes V(icmp6-no-route), the C(*-prohibited) types and V(icmp-proto-unreachable) become
    V(icmp6-adm-prohibited)). A type without a counterpart is an error naming the option.
  - An IPv4 address in a rule that goes to IPv6, or the reverse, is an error naming the option, unless the rule
    is scoped to one family with O(family) (or O(rules[].family)).
  - Every value is checked by the collection's iptables model before anything changes. A port of 70000, a C(/33)
    prefix, an unknown ICMP type or target, or a chain that does not exist is an error naming the option and the
    value, and nothing is changed.
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
      - One diff per family and table, showing the touched chains.
  platform:
    support: full
    platforms: linux
options:
  rules:
    description:
      - A list of rules, applied in one task with one C(iptables-restore) per family.
      - Each element takes the rule options of this module (O(protocol), O(source), O(destination_port), O(jump), ...)
        and may override O(chain), O(table), O(family) and O(state) for itself.
      - The rules of the list that go to the same chain keep their relative order, see O(position).
      - Mutually exclusive with the rule options at the top level of the task.
      - An empty list is allowed and changes nothing.
    type: list
    elements: dict
    suboptions:
      <<: &rule_options
        protocol:
          description:
            - The protocol (C(-p)), a name from C(/etc/protocols) or a number. Prefix with V(!) to negate.
            - V(icmp) and V(ipv6-icmp) are translated for the other family, see O(family).
          type: str
          aliases: [proto]
        source:
          description:
            - Source addresses or networks (C(-s)), for example V(10.0.0.0/8) or V(2001:db8::/32). Host names are not
              accepted.
            - Several addresses give one rule each, in the order given (as C(iptables -s a,b) does).
            - Prefix a single address with V(!) to negate it.
            - An empty list is an error (it would drop the match and widen the rule). Leave the option out to match
              any address. The same holds for every list option of a rule except O(rules[].tcp_flags.flags_set).
          type: list
          elements: str
          aliases: [src]
        destination:
          description:
            - Destination addresses or networks (C(-d)), as for O(source). Several addresses give one rule each
              (one per source and destination pair). An empty list is an error.
          type: list
          elements: str
          aliases: [dst]
        in_interface:
          description:
            - The interface the packet came in on (C(-i)), for example V(eth0), V(ppp+) or V(! WAN1) to negate.
          type: str
        out_interface:
          description:
            - The interface the packet goes out on (C(-o)), for example V(eth0) or V(! WAN1) to negate.
          type: str
        source_port:
          description:
            - Source port (C(--sport)) as a number, a service name (V(domain)) or a range (V(1024-65535) or
              V(1024:65535)). Prefix with V(!) to negate.
            - Quote a range written with a colon, YAML reads an unquoted V(10:20) as the number 620.
            - Needs O(protocol) V(tcp), V(udp), V(sctp), V(dccp) or V(udplite).
          type: raw
        destination_port:
          description:
            - Destination port (C(--dport)) as a number, a service name (V(ssh)) or a range (V(8000-8010) or
              V(8000:8010)). Prefix with V(!) to negate.
            - Quote a range written with a colon, YAML reads an unquoted V(10:20) as the number 620.
            - Needs O(protocol) V(tcp), V(udp), V(sctp), V(dccp) or V(udplite).
          type: raw
        syn:
          description:
            - V(match) matches TCP SYN packets that start a connection (C(--syn)), V(negate) the others (C(! --syn)),
              V(ignore) (like leaving it out) does not look at the flags.
            - Needs O(protocol=tcp).
          type: str
          choices: [match, negate, ignore]
        tcp_flags:
          description:
            - TCP flags to examine and the ones that must be set (C(--tcp-flags)). Needs O(protocol=tcp).
          type: dict
          suboptions:
            flags:
              description: The flags to examine (V(SYN), V(ACK), V(FIN), V(RST), V(URG), V(PSH), V(ALL), V(NONE)). An
                empty list is an error.
              type: list
              elements: str
              required: true
            flags_set:
              description: The flags among them that must be set (none when empty, the one list option where an empty
                list is allowed).
              type: list
              elements: str
              default: []
        icmp_type:
          description:
            - ICMP type (C(--icmp-type)) or ICMPv6 type (C(--icmpv6-type)) as a name (V(echo-request)), a number (V(8))
              or a type/code pair (V(3/4)). Prefix with V(!) to negate.
            - Needs O(protocol) V(icmp) or V(ipv6-icmp). The name is read in the family of O(protocol) and
              translated for the other family, see O(family).
          type: str
        source_ports:
          description:
            - Source ports matched with C(-m multiport --sports), numbers, names or ranges (V(1000-2000)); at most 15
              ports (a range counts as two). An empty list is an error.
            - Needs O(protocol) V(tcp), V(udp), V(sctp), V(dccp) or V(udplite).
          type: list
          elements: raw
        destination_ports:
          description:
            - Destination ports matched with C(-m multiport --dports), numbers, names or ranges (V(1000-2000)); at
              most 15 ports (a range counts as two). An empty list is an error, it does not mean every port.
            - Needs O(protocol) V(tcp), V(udp), V(sctp), V(dccp) or V(udplite).
          type: list
          elements: raw
        ctstate:
          description:
            - Connection tracking states to match, with C(-m conntrack --ctstate) (or C(-m state --state), see
              O(ctstate_match)). An empty list is an error, leave the option out to match any state.
          type: list
          elements: str
          choices: [INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED, SNAT, DNAT]
        ctstate_match:
          description:
            - The match that checks O(ctstate). V(conntrack) (the default when not given) writes
              C(-m conntrack --ctstate), V(state) the older C(-m state --state) (no V(SNAT) or V(DNAT) states).
            - The two are different rules for iptables, so use the one the live rule was written with.
          type: str
          choices: [conntrack, state]
        src_type:
          description: Source address types to match with C(-m addrtype --src-type). An empty list is an error.
          type: list
          elements: str
          choices: [UNSPEC, UNICAST, LOCAL, BROADCAST, ANYCAST, MULTICAST, BLACKHOLE, UNREACHABLE, PROHIBIT, THROW, NAT,
                    XRESOLVE]
        dst_type:
          description: Destination address types to match with C(-m addrtype --dst-type). An empty list is an error.
          type: list
          elements: str
          choices: [UNSPEC, UNICAST, LOCAL, BROADCAST, ANYCAST, MULTICAST, BLACKHOLE, UNREACHABLE, PROHIBIT, THROW, NAT,
                    XRESOLVE]
        recent:
          description:
            - The C(recent) match, which keeps a list of recently seen addresses (port scan and brute force
              protection).
          type: dict
          suboptions:
            command:
              description:
                - V(set) adds the address to the list, V(update) checks and refreshes it, V(rcheck) checks it,
                  V(remove) deletes it.
              type: str
              required: true
              choices: [set, update, rcheck, remove]
            name:
              description: The name of the list (C(--name)); iptables uses C(DEFAULT) when it is not given.
              type: str
            seconds:
              description: Only match when the address was seen within this many seconds (C(--seconds)).
              type: int
            hitcount:
              description: Only match when the address was seen at least this many times (C(--hitcount)).
              type: int
            rttl:
              description: Also require the same TTL as when the address was added (C(--rttl)).
              type: bool
              default: false
            reap:
              description: Purge entries older than O(rules[].recent.seconds) (C(--reap)).
              type: bool
              default: false
            side:
              description: Use the V(source) address (C(--rsource), the default when not given) or the V(destination)
                address (C(--rdest)).
              type: str
              choices: [source, destination]
        limit:
          description: Average rate for C(-m limit --limit), for example V(30/minute) or V(5/s).
          type: str
        limit_burst:
          description: Burst for C(-m limit --limit-burst). Needs O(limit).
          type: int
        hashlimit:
          description: The C(hashlimit) match, a rate limit per address or port (C(-m hashlimit)).
          type: dict
          suboptions:
            name:
              description: The name of the hash table (C(--hashlimit-name)).
              type: str
              required: true
            upto:
              description: Match up to this rate (C(--hashlimit-upto)), for example V(1/m). One of this and
                O(rules[].hashlimit.above) is required.
              type: str
            above:
              description: Match above this rate (C(--hashlimit-above)).
              type: str
            burst:
              description: The burst (C(--hashlimit-burst)), a number (or V(10k) style in byte mode).
              type: raw
            mode:
              description: What the table is keyed by (C(--hashlimit-mode)). An empty list is an error, leave the option
                out for one rate shared by all packets.
              type: list
              elements: str
              choices: [srcip, srcport, dstip, dstport]
            htable_size:
              description: C(--hashlimit-htable-size).
              type: int
            htable_max:
              description: C(--hashlimit-htable-max).
              type: int
            htable_gcinterval:
              description: C(--hashlimit-htable-gcinterval), in milliseconds.
              type: int
            htable_expire:
              description: C(--hashlimit-htable-expire), in milliseconds.
              type: int
            srcmask:
              description: C(--hashlimit-srcmask), a prefix length.
              type: int
            dstmask:
              description: C(--hashlimit-dstmask), a prefix length.
              type: int
        match_args:
          description:
            - Raw iptables match options for what the structured options do not cover, for example
              V(-m rpfilter --invert) or V(-m pkttype --pkt-type broadcast). They are written after the structured
              matches and before the target, and are checked by the same model as everything else.
            - They are not translated between families.
          type: str
        comment:
          description: A comment stored with the rule (C(-m comment --comment)), at most 255 characters.
          type: str
        jump:
          description:
            - The target (C(-j)), V(ACCEPT), V(DROP), V(RETURN), V(REJECT), V(LOG), V(DNAT), V(SNAT), V(MASQUERADE),
              V(REDIRECT), another target extension, or a user-defined chain of the table.
            - A rule without O(jump) or O(goto) only counts packets.
          type: str
        goto:
          description: A user-defined chain to go to (C(-g)) instead of jumping. Mutually exclusive with O(jump).
          type: str
        reject_with:
          description:
            - The ICMP error (or V(tcp-reset)) sent back by O(jump=REJECT) (C(--reject-with)), for example
              V(icmp-port-unreachable), V(icmp-host-prohibited) or V(icmp6-adm-prohibited).
            - Translated for the other family, see O(family).
          type: str
        log_prefix:
          description: Prefix of the log lines of O(jump=LOG) (C(--log-prefix)), at most 29 characters.
          type: str
        log_level:
          description: Syslog level of O(jump=LOG) (C(--log-level)).
          type: str
          choices: [emerg, alert, crit, error, warning, notice, info, debug, '0', '1', '2', '3', '4', '5', '6', '7']
        to_destination:
          description:
            - The new destination of O(jump=DNAT) (C(--to-destination)), V(ADDRESS), V(ADDRESS:PORT),
              V([IPV6-ADDRESS]:PORT) or ranges.
          type: str
        to_source:
          description: The new source of O(jump=SNAT) (C(--to-source)), V(ADDRESS) or V(ADDRESS:PORT), or a range.
          type: str
        to_ports:
          description: The ports of O(jump=REDIRECT) or O(jump=MASQUERADE) (C(--to-ports)), V(8080) or V(8000-8010).
          type: raw
      chain:
        description: The chain of this rule (default O(chain)).
        type: str
      table:
        description: The table of this rule (default O(table)).
        type: str
        choices: [raw, mangle, nat, filter, security]
      family:
        description:
          - The families this rule goes to (default O(family)). V(ipv4) or V(ipv6) scopes a rule to one family of a
            task with O(family=both).
          - It must be one of the task's families.
        type: str
        choices: [ipv4, ipv6, both]
      state:
        description: Whether this rule must be present or absent (default O(state)).
        type: str
        choices: [present, absent]
  <<: *rule_options
  chain:
    description:
      - The chain the rule goes to, a built-in chain of O(table) or a user-defined chain that exists (see
        M(rampart.firewall.iptables_chain)).
      - With O(rules), the default chain of the rules.
    type: str
  table:
    description: The table of the chain.
    type: str
    choices: [raw, mangle, nat, filter, security]
    default: filter
  family:
    description:
      - V(ipv4) uses C(iptables), V(ipv6) uses C(ip6tables), V(both) loads each rule into both (translated, see the
        description).
    type: str
    choices: [ipv4, ipv6, both]
    default: ipv4
  state:
    description:
      - V(present) makes sure the rule is in the chain exactly once, at O(position).
      - V(absent) removes every copy of it from the chain. A chain that does not exist has no rules, so this is not
        an error then.
    type: str
    choices: [present, absent]
    default: present
  position:
    description:
      - Where a present rule must be. Part of idempotence, a rule at the wrong place is moved (deleted and
        inserted again, reported as a change), one at the right place is not touched.
      - V(append) (the default) means anywhere in the chain. A missing rule is appended at the end. A rule that is
        already there stays where it is, even when other rules were appended after it since, so it does not move
        on every run.
      - V(prepend) means rule 1 of the chain, and a number V(N) means rule N (1-based). A number beyond the end of the
        chain (not counting the rule itself) is an error, as for C(iptables -I).
      - With O(rules), the rules of one chain keep the order of the list. V(prepend) and V(N) place them together
        as rules N, N+1, and so on. With V(append), rules already in list order stay where they are, and a missing
        or out-of-order rule is placed right after the rule before it in the list (the first one right before the
        next one, or at the end of the chain when none of them is there).
      - Extra copies of a present rule are removed.
    type: raw
    default: append
notes:
  - Rules are compared as C(iptables) compares them. The options are written in a fixed order (protocol options such as
    O(destination_port) first, then multiport, connection state, address type, recent, limit, hashlimit, O(match_args),
    O(comment), then the target), and a live rule with the same matches in another order is a different rule.
  - If another program changes a touched chain between the module reading it and loading the edits, the change is
    planned again against a second read (see the note on C(-D CHAIN RULE) above); an edit after that read makes the
    check after loading fail.
seealso:
  - module: rampart.firewall.iptables_chain
  - module: rampart.firewall.iptables_policy
  - module: rampart.firewall.iptables_nat
  - module: rampart.firewall.iptables_ruleset
  - module: ansible.builtin.iptables
'''

EXAMPLES = r'''
- name: Allow SSH (added at the end of INPUT if missing, left where it is otherwise)
  rampart.firewall.iptables_rule:
    chain: INPUT
    protocol: tcp
    destination_port: ssh
    ctstate: [NEW]
    jump: ACCEPT
    comment: ssh

- name: Accept established traffic as the first rule, for IPv4 and IPv6
  rampart.firewall.iptables_rule:
    family: both
    chain: INPUT
    position: prepend
    ctstate: [RELATED, ESTABLISHED]
    jump: ACCEPT

- name: Answer pings in both families (icmp echo-request becomes ipv6-icmp echo-request for IPv6)
  rampart.firewall.iptables_rule:
    family: both
    chain: INPUT
    protocol: icmp
    icmp_type: echo-request
    limit: 5/second
    jump: ACCEPT

- name: Create a chain for the web services
  rampart.firewall.iptables_chain:
    chain: web-in
    family: both

- name: Fill it with several rules in one task (one iptables-restore per family)
  rampart.firewall.iptables_rule:
    family: both
    chain: web-in
    rules:
      - protocol: tcp
        destination_ports: [http, https, "8000-8010"]
        jump: ACCEPT
      - protocol: udp
        destination_port: 443
        jump: ACCEPT
      - source: [10.0.0.0/8, 192.168.0.0/16]
        family: ipv4
        protocol: tcp
        destination_port: 9100
        jump: ACCEPT
      - protocol: tcp
        jump: REJECT
        reject_with: tcp-reset

- name: Send new TCP connections to it (rule 3 of INPUT)
  rampart.firewall.iptables_rule:
    family: both
    chain: INPUT
    position: 3
    protocol: tcp
    syn: match
    jump: web-in

- name: SSH brute-force protection with the recent match
  rampart.firewall.iptables_rule:
    chain: INPUT
    rules:
      - protocol: tcp
        destination_port: 22
        ctstate: [NEW]
        recent: {command: rcheck, name: sshbf, seconds: 60, hitcount: 4, rttl: true}
        jump: DROP
      - protocol: tcp
        destination_port: 22
        ctstate: [NEW]
        recent: {command: set, name: sshbf}

- name: Log and reject everything from one IPv4 host
  rampart.firewall.iptables_rule:
    chain: INPUT
    rules:
      - source: [198.51.100.7]
        limit: 30/minute
        jump: LOG
        log_prefix: "blocked: "
        log_level: info
      - source: [198.51.100.7]
        jump: REJECT
        reject_with: icmp-host-prohibited

- name: A match the options do not cover, through match_args
  rampart.firewall.iptables_rule:
    table: raw
    chain: PREROUTING
    match_args: -m rpfilter --invert
    jump: DROP

- name: Redirect port 8081 to 8080 on this host
  rampart.firewall.iptables_rule:
    table: nat
    chain: PREROUTING
    protocol: tcp
    destination_port: 8081
    jump: REDIRECT
    to_ports: 8080

- name: Remove a rule (every copy of it)
  rampart.firewall.iptables_rule:
    chain: INPUT
    protocol: tcp
    destination_port: 23
    jump: ACCEPT
    state: absent
'''

RETURN = r'''
changed:
  description: Whether a rule was added, moved or removed (or would be, in check mode).
  returned: always
  type: bool
  sample: true
rules:
  description: The rules of the task as C(iptables-save) prints them, by family, in order.
  returned: success
  type: dict
  sample:
    ipv4: ["-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment ssh -j ACCEPT"]
before:
  description: The touched chains before the change, by family, in C(iptables-restore) format.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
after:
  description: The touched chains after the change (predicted in check mode), by family, in C(iptables-restore) format.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
payload:
  description: The text fed (or, in check mode, that would be fed) to C(iptables-restore --noflush), by family; empty
    when nothing changes.
  returned: success, and on failures after the live rules were read
  type: dict
  sample:
    ipv4: "*filter\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
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
  sample: destination_port
value:
  description: The wrong value.
  returned: failure, when an option is wrong
  type: str
  sample: "70000"
rule:
  description: The rule, in C(iptables) syntax, in which the model found the wrong value.
  returned: failure, when the model rejected a rule
  type: str
  sample: "-p tcp --dport 70000 -j ACCEPT"
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
  sample: "iptables-restore v1.8.9 (nf_tables): \nline 2: RULE_INSERT failed (Invalid argument): rule in chain INPUT\n"
line:
  description: The line of RV(payload) that C(iptables-restore) rejected.
  returned: failure of iptables-restore, when the line is known
  type: str
  sample: "-I INPUT 1 -p tcp -m tcp --dport 22 -j ACCEPT"
lineno:
  description: The number of that line (1-based).
  returned: failure of iptables-restore, when the line is known
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import TABLES
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_apply import Change, run_change
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import (
    FAMILY_CHOICES,
    RULE_OPTION_NAMES,
    SpecError,
    families_of,
    parse_position,
    rule_argument_spec,
    rule_spec_mutually_exclusive,
    rule_spec_required_by,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_planner import RulePlanner, RuleRequest


def argument_spec():
    item = rule_argument_spec()
    item.update(
        chain=dict(type='str'),
        table=dict(type='str', choices=list(TABLES)),
        family=dict(type='str', choices=list(FAMILY_CHOICES)),
        state=dict(type='str', choices=['present', 'absent']),
    )
    spec = rule_argument_spec()
    spec.update(
        rules=dict(type='list', elements='dict', options=item, mutually_exclusive=rule_spec_mutually_exclusive(),
                   required_by=rule_spec_required_by()),
        chain=dict(type='str'),
        table=dict(type='str', default='filter', choices=list(TABLES)),
        family=dict(type='str', default='ipv4', choices=list(FAMILY_CHOICES)),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        position=dict(type='raw', default='append'),
        wait=dict(type='int', default=10),
        lockout_check=dict(type='bool', default=True),
        ssh_connection=dict(type='str'),
    )
    return spec


def resolve(params, position):
    """The RuleRequests of the task. Raises SpecError."""
    task_families = families_of(params['family'])
    listed = params['rules'] is not None
    items = params['rules'] if listed else [params]
    out = []
    for index, item in enumerate(items):
        where = 'rules[%d]' % index if listed else ''
        chain = (item.get('chain') if listed else None) or params['chain']
        if not chain:
            raise SpecError('%s: chain is required (give chain to the task or to the rule)'
                            % (where or 'the rule'), 'chain')
        families = families_of((item.get('family') if listed else None) or params['family'])
        if not set(families) <= set(task_families):
            raise SpecError("%s: family %s is not one of the task's families (%s)"
                            % (where, item['family'], params['family']), 'family', item['family'])
        table = (item.get('table') if listed else None) or params['table']
        state = (item.get('state') if listed else None) or params['state']
        opts = dict((name, item.get(name)) for name in RULE_OPTION_NAMES)
        out.append(RuleRequest(where, chain, table, families, state, opts, position))
    return out


def describe(params):
    """The Change of the task. Raises SpecError."""
    families = families_of(params['family'])
    planner = RulePlanner(resolve(params, parse_position(params['position'])), len(families) == 2)
    return Change(families, planner.tables(), planner, lambda: {'rules': dict(planner.lines)})


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=rule_spec_mutually_exclusive() + [('rules', name) for name in RULE_OPTION_NAMES],
        required_by=rule_spec_required_by(),
        supports_check_mode=True,
    )
    run_change(module, describe, allow=('rules',))


if __name__ == '__main__':
    main()
