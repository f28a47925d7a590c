# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plan what iptables-restore must load so the live ruleset matches a desired one.

Pure logic on iptables_model objects: no AnsibleModule, no commands, no files.

Ownership rules (the module's documentation repeats them):

* Every table named in the desired ruleset is owned: after the apply it holds exactly
  the desired chains, policies and rules, plus the foreign chains below.
  Tables the desired ruleset does not name are not touched at all.
* A user-defined chain of a touched table whose name matches one of the preserve
  patterns (fnmatch, case-sensitive) and that the desired ruleset does not declare is
  foreign (Docker, fail2ban, netavark, ...): it is kept with its live rules.
  Built-in chains are never foreign.
* The live rules of non-foreign chains (built-in or user chains) that jump or goto
  into a kept foreign chain are kept too, at the TOP of the same chain in the result,
  in their live order. That is where Docker, fail2ban and netavark insert them.
  If the desired chain already contains the very same rule, the desired position wins
  and the rule is not duplicated. If the chain holding such a jump is a user chain that
  the desired ruleset no longer declares, the jump goes away with its chain
  (Plan.dropped lists it).
* If the desired ruleset declares a chain that matches a preserve pattern, the desired
  version wins: the user took ownership of it, its live rules and the live jumps into it
  are replaced by what the desired ruleset says (Plan.owned lists such chains). Rules at the
  very top of a desired chain that jump into such a chain (``-A FORWARD -j DOCKER-USER``)
  stay above the kept foreign rules, where the chain's original owner puts them.
* Container engines also write rules straight into built-in chains (Docker's
  ``FORWARD -o docker0 -j DOCKER``, ``FORWARD -i docker0 ! -o docker0 -j ACCEPT``, its
  ``raw PREROUTING ... ! -i docker0 -j DROP``, and ``nat POSTROUTING -s 172.17.0.0/16
  ! -o docker0 -j MASQUERADE`` with one MASQUERADE per published port). A live rule of a
  built-in chain is foreign too when it matches (``-i``/``-o``, negated or not) an
  interface named by one of the preserve_interfaces patterns (``docker0``, ``br-*``,
  ``cni-*``, ``virbr*``, ``podman*`` ...), or, in nat ``POSTROUTING``, when its source lies
  in a subnet that such a foreign rule masquerades (the per-port rules). Unless the desired
  ruleset holds the very same rule, it is kept at the top of its chain together with the
  jumps into foreign chains, all in their live order, and it is never persisted.
  A rule of the desired ruleset on such an interface is the user's: it is applied and
  persisted like any other. (A rule on such an interface that an earlier ruleset had and
  the current one drops cannot be told from the engine's and is kept; remove it by hand.)
* Ban tools write their rules straight into built-in chains too, matching an ipset they fill
  (fail2ban's ipset actions: ``-A INPUT -p tcp -m set --match-set f2b-sshd src -j REJECT``,
  ``f2b-sshd6`` in IPv6; CrowdSec's firewall bouncer: ``-A INPUT -m set --match-set
  crowdsec-blacklists src -j DROP``, ``crowdsec6-blacklists`` in IPv6). A live rule of a
  built-in chain with a (not negated) ``-m set --match-set NAME`` whose NAME matches one of the
  preserve_sets patterns is foreign the same way: kept at the top of its chain with the other
  kept rules in live order, never persisted, never a change, unless the desired ruleset holds
  the very same rule. Plan.kept_sets names the sets of the kept ones (the lockout preflight
  reads them as not matching the running session: they are live before and after the apply).
"""

from __future__ import annotations

import ipaddress
from fnmatch import fnmatchcase

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    BUILTIN_CHAINS,
    TABLES,
    Ruleset,
    diff as model_diff,
    new_table,
    parse,
    render,
)

# Chains created by software the collection does not own. Kept as they are live.
DEFAULT_PRESERVE = (
    'DOCKER',         # Docker
    'DOCKER-*',       # Docker (DOCKER-USER, DOCKER-ISOLATION-STAGE-1, DOCKER-FORWARD, ...)
    'f2b-*',          # fail2ban
    'NETAVARK*',      # podman / netavark (NETAVARK_FORWARD, NETAVARK_INPUT, ...)
    'NETAVARK-*',     # netavark's older chains (NETAVARK-HOSTPORT-DNAT, ...)
    'CNI-*',          # CNI plugins (podman < 4, containerd)
    'KUBE-*',         # Kubernetes kube-proxy and kubelet
    'LIBVIRT_*',      # libvirt
    'cali-*',         # Calico
    'FLANNEL-*',      # flannel
    'ts-*',           # Tailscale
    'CROWDSEC_*',     # CrowdSec firewall bouncer >= 0.0.26 (CROWDSEC_CHAIN, CROWDSEC_LOG)
)


# Interfaces of container engines and hypervisors, whose rules in built-in chains are foreign.
DEFAULT_PRESERVE_INTERFACES = (
    'docker0',        # Docker's default bridge
    'docker_gwbridge',  # Docker swarm
    'br-*',           # Docker user-defined networks
    'cni-*',          # CNI plugins (podman < 4)
    'cni0',           # CNI (Kubernetes, containerd)
    'podman*',        # podman/netavark bridges
    'virbr*',         # libvirt
)


# ipsets of ban tools that insert their own rules into built-in chains (-m set --match-set NAME).
DEFAULT_PRESERVE_SETS = (
    'f2b-*',          # fail2ban ipset actions (f2b-<jail>, f2b-<jail>6 in IPv6)
    'crowdsec-*',     # CrowdSec firewall bouncer, IPv4 (crowdsec-blacklists, crowdsec-blacklists-0)
    'crowdsec6-*',    # CrowdSec firewall bouncer, IPv6 (crowdsec6-blacklists)
    'sshguard4',      # sshguard's ipset backend (the rule is written by its service or the admin)
    'sshguard6',
)


class PlanError(FirewallError, ValueError):
    """The desired ruleset cannot be combined with the live one."""


def is_preserved(name, preserve, table=None):
    """True when chain name matches one of the preserve patterns (never for a built-in chain of table)."""
    if table is not None and name in BUILTIN_CHAINS.get(table, ()):
        return False
    return any(fnmatchcase(name, pattern) for pattern in preserve)


def _basic_matches(rule):
    """[(negated, flag, value)] of the basic matches (-s -d -i -o -p) of a rule, read from its
    canonical iptables-save text, where they come first, before any -m, -j or -g."""
    found = []
    negated = False
    words = rule.text.split()
    index = 0
    while index < len(words):
        word = words[index]
        if word in ('-m', '-j', '-g'):
            break
        if word == '!':
            negated = True
        elif word in ('-s', '-d', '-i', '-o', '-p') and index + 1 < len(words):
            found.append((negated, word, words[index + 1]))
            negated = False
            index += 1
        index += 1
    return found


def _on_foreign_interface(rule, interfaces):
    if '-i ' not in rule.text and '-o ' not in rule.text:
        return None
    for dummy, flag, value in _basic_matches(rule):
        if flag in ('-i', '-o') and any(fnmatchcase(value, pattern) for pattern in interfaces):
            return value
    return None


def matched_sets(rule):
    """The names of the ipsets a rule matches with a set match that is not negated
    (``-m set --match-set NAME src``), in order; () when it has none or its text does not read."""
    if '--match-set' not in rule.text:
        return ()
    try:
        matches = rule.matches
    except ValueError:
        return ()
    names = []
    for flag, negated, value in matches:
        if flag != '-m' or negated or value.name != 'set':
            continue
        tokens = value.tokens
        for index in range(len(tokens) - 1):
            word, quoted = tokens[index]
            if word == '--match-set' and not quoted and not (index and tokens[index - 1][0] == '!'):
                names.append(tokens[index + 1][0])
    return tuple(names)


def _on_preserved_set(rule, sets):
    """The first set of the rule whose name matches one of the SETS patterns, or None."""
    for name in matched_sets(rule):
        if any(fnmatchcase(name, pattern) for pattern in sets):
            return name
    return None


def foreign_rules(table_name, table, interfaces, sets=()):
    """The rules of TABLE's built-in chains that other software wrote (see the module docstring):
    on an interface matching INTERFACES, or, in nat POSTROUTING, masquerading a source inside a
    subnet that such a rule masquerades, or matching an ipset whose name matches SETS.
    Returns a set of Rules."""
    interfaces = tuple(interfaces or ())
    sets = tuple(sets or ())
    found = set()
    if not interfaces and not sets:
        return found
    subnets = []
    for chain_name in BUILTIN_CHAINS.get(table_name, ()):
        chain = table.chains.get(chain_name)
        if chain is None:
            continue
        for rule in chain.rules:
            if sets and _on_preserved_set(rule, sets):
                found.add(rule)
            if interfaces and _on_foreign_interface(rule, interfaces):
                found.add(rule)
                if table_name == 'nat' and chain_name == 'POSTROUTING':
                    for negated, flag, value in _basic_matches(rule):
                        if flag == '-s' and not negated:
                            try:
                                subnets.append(ipaddress.ip_network(value, strict=False))
                            except ValueError:
                                pass
    if subnets and table_name == 'nat' and 'POSTROUTING' in table.chains:
        for rule in table.chains['POSTROUTING'].rules:
            if rule in found or rule.target != 'MASQUERADE':
                continue
            for negated, flag, value in _basic_matches(rule):
                if flag == '-s' and not negated:
                    try:
                        source = ipaddress.ip_network(value, strict=False)
                    except ValueError:
                        continue
                    if any(source.version == net.version and source.subnet_of(net) for net in subnets):
                        found.add(rule)
    return found


def rule_line(rule):
    """The '-A CHAIN ...' restore line of a rule."""
    return rule.line()


def empty_table(table):
    """A table as the kernel has it before anything is loaded: built-in chains, policy ACCEPT, no rules."""
    return new_table(table)


def parse_or_empty(text, family='ipv4'):
    """parse(), except that text without any table (iptables-nft-save prints nothing on a host
    where nothing was loaded yet; an empty persisted file) gives an empty Ruleset."""
    for line in (text or '').splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            return parse(text, family=family)
    return Ruleset(family, {})


def is_trivial(table):
    """True when a table holds nothing but built-in chains with policy ACCEPT (or none) and no rules."""
    for name, chain in table.chains.items():
        if name not in BUILTIN_CHAINS.get(table.name, ()):
            return False
        if chain.rules:
            return False
        if chain.policy not in (None, 'ACCEPT'):
            return False
    return True


def _ruleset(template, tables):
    """A Ruleset of template's family holding the given tables (dict name -> Table), in TABLES order."""
    return Ruleset(template.family, dict((name, tables[name]) for name in TABLES if name in tables))


class Plan:
    """What to load, and what it changes.

    tables: names of the touched tables, in TABLES order.
    payload: the exact iptables-restore input for those tables.
    changed: whether any touched table differs canonically from live.
    before / after: restore text of the live and the resulting touched tables.
    diff: unified diff between before and after ('' when equal).
    kept: one dict per kept foreign chain: {table, chain, rules (count), jumps (restore lines)}.
    owned: {table: [chains]} desired chains that match a preserve pattern (the user owns them).
    dropped: restore lines of live jumps into foreign chains that were dropped with their chain.
    current / result: Rulesets (touched tables only) of the live state and of the result.
    kept_rules: restore lines of the foreign rules of built-in chains kept from live (container engines).
    mine: the set of Rules of the desired ruleset (never foreign, even on a container engine's interface).
    kept_sets: sorted names of the preserve_sets ipsets that the kept foreign rules of built-in chains match.
    """

    kept_rules = ()
    mine = frozenset()
    kept_sets = ()

    def __init__(self, tables, payload, changed, before, after, kept, owned, dropped, current, result):
        self.tables = tables
        self.payload = payload
        self.changed = changed
        self.before = before
        self.after = after
        self._diff = None
        self.kept = kept
        self.owned = owned
        self.dropped = dropped
        self.current = current
        self.result = result

    @property
    def diff(self):
        """Unified diff of the touched tables, live -> result ('' when equal). Computed on first
        use only: on 50,000 rules with 10% changed, difflib takes minutes, and a module needs it
        in diff mode only."""
        if self._diff is None:
            self._diff = model_diff(self.current, self.result, tables=self.tables) if self.tables else ''
        return self._diff

    def table_changed(self, name):
        """Whether the touched table name changes."""
        return self.current.tables[name] != self.result.tables[name]


def _merge_table(name, want, have, preserve, interfaces=(), sets=()):
    """Return (result table, kept entries, owned chain names, dropped lines, kept foreign rule lines) for one table."""
    table = want.copy()
    alien = foreign_rules(name, have, interfaces, sets)
    owned = [chain for chain in want.chains if is_preserved(chain, preserve, name)]
    foreign = [chain for chain in have.chains
               if is_preserved(chain, preserve, name) and chain not in want.chains]
    foreign_set = set(foreign)

    # Live jumps into foreign chains, from chains that are not themselves preserved, and the
    # foreign rules of built-in chains (container engines' interfaces), in live order.
    jumps = {}      # holding chain -> [rules], live order
    order = []
    for chain_name, chain in have.chains.items():
        if is_preserved(chain_name, preserve, name):
            continue
        for rule in chain.rules:
            # a foreign rule that jumps into a chain the result will not have (preserve_chains
            # does not keep it, the ruleset does not declare it) goes, like its chain
            if rule.jumps in foreign_set or (rule in alien and (not rule.jumps or rule.jumps in want.chains)):
                if chain_name not in jumps:
                    jumps[chain_name] = []
                    order.append(chain_name)
                jumps[chain_name].append(rule)

    kept_jumps = {}  # foreign chain -> [restore lines]
    kept_rules = []  # foreign rules of built-in chains (restore lines)
    dropped = []
    for chain_name in order:
        target = table.chains.get(chain_name)
        if target is None:
            dropped.extend(rule_line(rule) for rule in jumps[chain_name])
            continue
        present = set(target.rules)
        for rule in jumps[chain_name]:
            if rule.jumps in foreign_set:
                kept_jumps.setdefault(rule.jumps, []).append(rule_line(rule))
            elif rule not in present:
                kept_rules.append(rule_line(rule))
        new_rules = [rule for rule in jumps[chain_name] if rule not in present]
        # The ruleset's own leading jumps into chains it took over from a preserve pattern
        # (DOCKER-USER) stay first, where their original owner puts them.
        lead = 0
        owned_set = set(owned)
        while lead < len(target.rules) and target.rules[lead].jumps in owned_set:
            lead += 1
        target.rules[lead:lead] = new_rules

    kept = []
    for chain_name in foreign:
        table.chains[chain_name] = have.chains[chain_name].copy()
        kept.append({
            'table': name,
            'chain': chain_name,
            'rules': len(have.chains[chain_name].rules),
            'jumps': kept_jumps.get(chain_name, []),
        })

    # A kept chain must not jump into a live chain that the result no longer has.
    for chain_name in foreign:
        for rule in table.chains[chain_name].rules:
            goes_to = rule.jumps
            if goes_to and goes_to not in table.chains and goes_to in have.chains:
                raise PlanError(
                    "table %s: kept foreign chain %s jumps to chain %s, which the desired ruleset does not declare "
                    "(declare %s, or remove the pattern matching %s from preserve_chains to own it): %s"
                    % (name, chain_name, goes_to, goes_to, chain_name, rule_line(rule)))
    return table, kept, owned, dropped, kept_rules


def plan(desired, live, preserve=DEFAULT_PRESERVE, interfaces=DEFAULT_PRESERVE_INTERFACES, sets=DEFAULT_PRESERVE_SETS):
    """Combine the desired ruleset with the foreign chains and rules of the live one. Returns a Plan.

    Only the tables named in desired are planned; preserve is a sequence of fnmatch
    patterns (an empty one means the desired ruleset owns every chain); interfaces are the
    fnmatch patterns of foreign interfaces and sets those of foreign ipsets (both empty: no rule
    of a built-in chain is foreign).
    """
    if desired.family != live.family:
        raise PlanError('cannot plan an %s ruleset against a live %s ruleset' % (desired.family, live.family))
    preserve = tuple(preserve or ())
    interfaces = tuple(interfaces or ())
    sets = tuple(sets or ())
    touched = [name for name in TABLES if name in desired.tables]
    kept_rules = []
    mine = set()

    current_tables = {}
    result_tables = {}
    kept = []
    owned = {}
    dropped = []
    for name in touched:
        have = live.tables.get(name)
        if have is None:
            have = empty_table(name)
        current_tables[name] = have
        table, table_kept, table_owned, table_dropped, table_rules = _merge_table(
            name, desired.tables[name], have, preserve, interfaces, sets)
        kept_rules.extend(table_rules)
        for chain in desired.tables[name].chains.values():
            mine.update(chain.rules)
        result_tables[name] = table
        kept.extend(table_kept)
        if table_owned:
            owned[name] = table_owned
        dropped.extend(table_dropped)

    current = _ruleset(live, current_tables)
    result = _ruleset(desired, result_tables)
    changed = any(current_tables[name] != result_tables[name] for name in touched)
    before = render(current, tables=touched) if touched else ''
    after = render(result, tables=touched) if touched else ''
    result_plan = Plan(
        tables=touched,
        payload=after,
        changed=changed,
        before=before,
        after=after,
        kept=kept,
        owned=owned,
        dropped=dropped,
        current=current,
        result=result,
    )
    result_plan.kept_rules = kept_rules
    result_plan.mine = mine
    kept_sets = []
    if sets:
        for name in touched:
            for chain in result_tables[name].chains.values():
                for rule in chain.rules:
                    if rule not in mine and chain.name in BUILTIN_CHAINS.get(name, ()):
                        kept_sets.extend(found for found in matched_sets(rule)
                                         if any(fnmatchcase(found, pattern) for pattern in sets))
    result_plan.kept_sets = sorted(set(kept_sets))
    return result_plan


def neighbour_sets(contents, kept_sets, used=()):
    """The sets argument of the lockout preflight (iptables_apply.lockout_check) for a plan that keeps
    neighbours' ban rules: a function returning contents() (the members of the sets the desired
    ruleset uses; contents may be None) plus an empty member list for each of KEPT_SETS
    (Plan.kept_sets) that the desired ruleset does not use itself (USED: the names it uses).

    Why empty: a kept ban rule is live before the apply and after it, the apply does not change
    what it does, and a session that is running is not banned; without this, every such rule would
    make the preflight undecided (the sets are not ours to read) on every apply of a host with
    fail2ban or CrowdSec bans. Returns contents unchanged when nothing is kept."""
    kept = tuple(name for name in (kept_sets or ()) if name not in set(used or ()))
    if not kept:
        return contents

    def sets():
        found = dict(contents() if contents is not None else {})
        for name in kept:
            found.setdefault(name, [])
        return found
    return sets


def apply_result(live, result):
    """The live ruleset as it will be once result (a Plan.result) is loaded: its tables replace live's."""
    tables = dict(live.tables)
    tables.update(result.tables)
    return _ruleset(live, tables)


def managed_only(ruleset, preserve=DEFAULT_PRESERVE, owned=None, interfaces=DEFAULT_PRESERVE_INTERFACES, mine=(),
                 sets=DEFAULT_PRESERVE_SETS):
    """The ruleset without foreign chains, the jumps into them and the foreign rules of built-in
    chains (container engines' interfaces, ban tools' ipsets): what gets persisted.

    owned: optional {table: [chain names]} of chains that match a preserve pattern but
    belong to the user (Plan.owned); they are kept. mine: Rules that belong to the user even
    on a foreign interface (Plan.mine).
    """
    preserve = tuple(preserve or ())
    owned = owned or {}
    mine_rules = set(mine or ())
    tables = {}
    for name, table in ruleset.tables.items():
        own = set(owned.get(name, ()))
        foreign = set(chain for chain in table.chains
                      if chain not in own and is_preserved(chain, preserve, name))
        alien = foreign_rules(name, table, interfaces, sets) - mine_rules
        clean = table.copy()
        for chain in foreign:
            del clean.chains[chain]
        for chain in clean.chains.values():
            chain.rules[:] = [rule for rule in chain.rules if rule.jumps not in foreign and rule not in alien]
        tables[name] = clean
    return _ruleset(ruleset, tables)


def persistable(ruleset, preserve=DEFAULT_PRESERVE, owned=None, interfaces=DEFAULT_PRESERVE_INTERFACES, mine=(),
                sets=DEFAULT_PRESERVE_SETS):
    """managed_only(ruleset) less the tables that hold nothing but default policies.

    Returns (Ruleset, [table names]) where the names are the tables to write, in TABLES order.
    """
    managed = managed_only(ruleset, preserve, owned, interfaces, mine, sets)
    names = [name for name in TABLES if name in managed.tables and not is_trivial(managed.tables[name])]
    return _ruleset(managed, dict((name, managed.tables[name]) for name in names)), names


def owned_in(ruleset, preserve=DEFAULT_PRESERVE):
    """{table: [chains]} of the chains of ruleset that match a preserve pattern (non built-in)."""
    preserve = tuple(preserve or ())
    owned = {}
    for name, table in ruleset.tables.items():
        chains = [chain for chain in table.chains if is_preserved(chain, preserve, name)]
        if chains:
            owned[name] = chains
    return owned


def declared_chains(text, preserve=DEFAULT_PRESERVE):
    """{table: [chains]} of the user chains declared in restore TEXT that match a preserve pattern.

    Reads only the '*table' and ':CHAIN' lines (no rule parsing), so it is cheap on big files;
    the same answer as owned_in(parse(text)) for text that parses."""
    preserve = tuple(preserve or ())
    found = {}
    table = None
    for line in text.splitlines():
        if line.startswith('*'):
            table = line[1:].strip()
        elif line.startswith(':') and table:
            name = line[1:].split(None, 1)[0] if line[1:].strip() else ''
            if name and is_preserved(name, preserve, table):
                found.setdefault(table, []).append(name)
    return found


def describe(ruleset, preserve=DEFAULT_PRESERVE):
    """Structured view of a ruleset: {table: {chain: {policy, rules, foreign}}} (for state=gathered)."""
    preserve = tuple(preserve or ())
    result = {}
    for name in TABLES:
        table = ruleset.tables.get(name)
        if table is None:
            continue
        chains = {}
        for chain_name, chain in table.chains.items():
            chains[chain_name] = {
                'policy': chain.policy,
                'rules': [rule.text for rule in chain.rules],
                'foreign': is_preserved(chain_name, preserve, name),
            }
        result[name] = chains
    return result
