# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plan what iptables-restore must load so the live ruleset matches a desired one.

Pure logic on iptables_model objects: no AnsibleModule, no commands, no files.

Whose is each live chain and rule (ours, a neighbour's, unknown) is decided in ownership.py, which
holds the table of ownership. What the plan does with it, for every table the desired ruleset
names (tables it does not name are not touched at all):

* After the apply the table holds exactly the desired chains, policies and rules, plus the
  neighbours' chains and rules below. Ours no longer declared (the record holds them) and unknown
  ones are removed (Plan.removed lists both).
* A neighbour's user chain (its name matches preserve_chains, neither declared nor recorded) is
  kept with its live rules. Built-in chains are never a neighbour's.
* The live rules of other chains (built-in or user chains) that jump or goto into a kept
  neighbour's chain are kept too, at the TOP of the same chain in the result, in their live
  order. That is where Docker, fail2ban and netavark insert them. If the desired chain already
  contains the very same rule, the desired position wins and the rule is not duplicated. If the
  chain holding such a jump is a user chain that the desired ruleset no longer declares, the jump
  goes away with its chain (Plan.dropped lists it).
* If the desired ruleset declares a chain that matches a preserve pattern, the desired version
  wins: the chain is ours, its live rules and the live jumps into it are replaced by what the
  desired ruleset says (Plan.ours_chains lists such chains). Rules at the very top of a desired
  chain that jump into such a chain (``-A FORWARD -j DOCKER-USER``) stay above the kept
  neighbours' rules, where the chain's original owner puts them.
* Container engines write rules straight into built-in chains (Docker's ``FORWARD -i docker0 !
  -o docker0 -j ACCEPT``, ``raw PREROUTING ... ! -i docker0 -j DROP``, ``nat POSTROUTING -s
  172.17.0.0/16 ! -o docker0 -j MASQUERADE`` with one MASQUERADE per published port), and so do
  ban tools matching an ipset they fill (fail2ban's ipset actions, CrowdSec's bouncer). Those the
  patterns name (preserve_interfaces, preserve_sets) and that are neither declared nor recorded
  are kept at the top of their chain with the jumps into neighbours' chains, all in live order,
  never persisted, never a change (Plan.neighbour_rules). Plan.neighbour_set_names names the sets
  of the kept ones (the lockout preflight reads them as not matching the running session: they
  are live before and after the apply).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

# PlanError is defined in errors.py (one class for the engine and the granular planner)
from ansible_collections.rampart.firewall.plugins.module_utils.errors import PlanError  # noqa: F401 pylint: disable=unused-import

from ansible_collections.rampart.firewall.plugins.module_utils.ownership import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_PRESERVE,
    DEFAULT_PRESERVE_INTERFACES,
    DEFAULT_PRESERVE_SETS,
    OwnershipTable,
    Patterns,
    is_neighbour_chain,
    matched_sets,
    neighbour_set,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    BUILTIN_CHAINS,
    TABLES,
    Ruleset,
    diff as model_diff,
    new_table,
    parse,
    render,
)

# The ownership decision (ours / neighbour / unknown) and the preserve_* defaults live in ownership.py.


def rule_line(rule):
    """The '-A CHAIN ...' restore line of a rule."""
    return rule.line()


def empty_table(table):
    """A table as the kernel has it before anything is loaded: built-in chains, policy ACCEPT, no rules."""
    return new_table(table)


def parse_or_empty(text, family='ipv4', known=None):
    """parse(), except that text without any table (iptables-nft-save prints nothing on a host
    where nothing was loaded yet; an empty persisted file) gives an empty Ruleset. known: a Ruleset
    whose rules TEXT probably holds verbatim (see iptables_model.parse)."""
    for line in (text or '').splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            return parse(text, family=family, known=known)
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
    neighbour_chains: one dict per neighbour's chain kept: {table, chain, rules (count), jumps (restore lines)}.
    ours_chains: {table: [chains]} desired chains that match a preserve pattern (declared: ours).
    dropped: restore lines of live jumps into neighbours' chains that were dropped with their chain.
    current / result: Rulesets (touched tables only) of the live state and of the result.
    neighbour_rules: restore lines of the neighbours' rules of built-in chains kept from live.
    ours: the set of Rules of the desired ruleset (ours, even on a container engine's interface).
    neighbour_set_names: sorted names of the preserve_sets ipsets that the kept neighbour rules match.
    ours_live: how many rules of ours (declared) are live before the apply.
    removed: {ours_removed, ours_removed_chains, unknown_rules, unknown_chains}: what the apply
        removes from the live touched tables that the desired ruleset does not declare: rules and
        chains of ours (the record holds them) and unknown ones (restore lines; chains as 'table chain').
    """

    neighbour_rules = ()
    ours = frozenset()
    neighbour_set_names = ()
    removed = None
    ours_live = 0

    def __init__(self, tables, payload, changed, before, after, neighbour_chains, ours_chains, dropped, current, result):
        self.tables = tables
        self.payload = payload
        self.changed = changed
        self.before = before
        self.after = after
        self._diff = None
        self.neighbour_chains = neighbour_chains
        self.ours_chains = ours_chains
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


def _merge_table(name, want, have, patterns, recorded=None):
    """One table: (result table, neighbour chain entries, ours_chains, dropped lines, neighbour rule
    lines, the ownership report). RECORDED: the record's Table (None: none)."""
    table = want.copy()
    own = OwnershipTable(name, have, want, recorded, patterns)
    neighbour_rules = own.neighbour_rules
    # rules of ours that the ruleset no longer declares: removed wherever they point
    stale = own.recorded_rules - own.declared_rules
    ours_chains = [chain for chain in want.chains if is_neighbour_chain(chain, patterns.chains, name)]
    neighbour_chains = own.neighbour_chains
    neighbour_chain_set = set(neighbour_chains)

    # Live jumps into neighbours' chains, from chains that are not themselves pattern-named, and the
    # neighbours' rules of built-in chains (container engines' interfaces, ban tools' sets), in live order.
    jumps = {}      # holding chain -> [rules], live order
    order = []
    for chain_name, chain in have.chains.items():
        if is_neighbour_chain(chain_name, patterns.chains, name):
            continue
        for rule in chain.rules:
            if rule in stale:
                continue
            # a neighbour's rule that jumps into a chain the result will not have (preserve_chains
            # does not keep it, the ruleset does not declare it) goes, like its chain
            if rule.jumps in neighbour_chain_set or (
                    rule in neighbour_rules and (not rule.jumps or rule.jumps in want.chains)):
                if chain_name not in jumps:
                    jumps[chain_name] = []
                    order.append(chain_name)
                jumps[chain_name].append(rule)

    kept_jumps = {}  # neighbour chain -> [restore lines]
    kept_rules = []  # neighbours' rules of built-in chains (restore lines)
    dropped = []
    for chain_name in order:
        target = table.chains.get(chain_name)
        if target is None:
            dropped.extend(rule_line(rule) for rule in jumps[chain_name])
            continue
        present = set(target.rules)
        for rule in jumps[chain_name]:
            if rule.jumps in neighbour_chain_set:
                kept_jumps.setdefault(rule.jumps, []).append(rule_line(rule))
            elif rule not in present:
                kept_rules.append(rule_line(rule))
        new_rules = [rule for rule in jumps[chain_name] if rule not in present]
        # The ruleset's own leading jumps into chains it took over from a preserve pattern
        # (DOCKER-USER) stay first, where their original owner puts them.
        lead = 0
        ours_set = set(ours_chains)
        while lead < len(target.rules) and target.rules[lead].jumps in ours_set:
            lead += 1
        target.rules[lead:lead] = new_rules

    kept = []
    for chain_name in neighbour_chains:
        table.chains[chain_name] = have.chains[chain_name].copy()
        kept.append({
            'table': name,
            'chain': chain_name,
            'rules': len(have.chains[chain_name].rules),
            'jumps': kept_jumps.get(chain_name, []),
        })

    # A neighbour's chain must not jump into a live chain that the result no longer has.
    for chain_name in neighbour_chains:
        for rule in table.chains[chain_name].rules:
            goes_to = rule.jumps
            if goes_to and goes_to not in table.chains and goes_to in have.chains:
                raise PlanError(
                    "table %s: kept neighbour chain %s jumps to chain %s, which the desired ruleset does not declare "
                    "(declare %s, or remove the pattern matching %s from preserve_chains to own it): %s"
                    % (name, chain_name, goes_to, goes_to, chain_name, rule_line(rule)))
    return table, kept, ours_chains, dropped, kept_rules, own.report()


def plan(desired, live, preserve=DEFAULT_PRESERVE, interfaces=DEFAULT_PRESERVE_INTERFACES, sets=DEFAULT_PRESERVE_SETS,
         recorded=None):
    """Combine the desired ruleset with the neighbours' chains and rules of the live one. Returns a Plan.

    Only the tables named in desired are planned; preserve is a sequence of fnmatch
    patterns (an empty one means the desired ruleset owns every chain); interfaces are the
    fnmatch patterns of neighbours' interfaces and sets those of neighbours' ipsets (both empty: no
    rule of a built-in chain is a neighbour's). RECORDED: the record of earlier applies (a Ruleset,
    or None): its rules and chains are ours, and removed when the ruleset no longer declares them
    (see ownership.py).
    """
    if desired.family != live.family:
        raise PlanError('cannot plan an %s ruleset against a live %s ruleset' % (desired.family, live.family))
    if recorded is not None and recorded.family != desired.family:
        raise PlanError('cannot plan with a record of %s for an %s ruleset' % (recorded.family, desired.family))
    patterns = Patterns(preserve, interfaces, sets)
    touched = [name for name in TABLES if name in desired.tables]
    neighbour_rules = []
    ours = set()
    removed = {'ours_removed': [], 'ours_removed_chains': [], 'unknown_rules': [], 'unknown_chains': []}

    current_tables = {}
    result_tables = {}
    kept = []
    ours_chains = {}
    dropped = []
    for name in touched:
        have = live.tables.get(name)
        if have is None:
            have = empty_table(name)
        current_tables[name] = have
        table, table_kept, table_ours, table_dropped, table_rules, report = _merge_table(
            name, desired.tables[name], have, patterns, recorded.tables.get(name) if recorded is not None else None)
        neighbour_rules.extend(table_rules)
        for chain in desired.tables[name].chains.values():
            ours.update(chain.rules)
        result_tables[name] = table
        kept.extend(table_kept)
        if table_ours:
            ours_chains[name] = table_ours
        dropped.extend(table_dropped)
        for key in ('ours_removed', 'unknown_rules'):
            removed[key].extend(report[key])
        for key in ('ours_removed_chains', 'unknown_chains'):
            removed[key].extend('%s %s' % (name, chain) for chain in report[key])

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
        neighbour_chains=kept,
        ours_chains=ours_chains,
        dropped=dropped,
        current=current,
        result=result,
    )
    result_plan.neighbour_rules = neighbour_rules
    result_plan.ours = ours
    result_plan.removed = removed
    live_rules = set()
    for name in touched:
        live_rules.update(current_tables[name].rules())
    result_plan.ours_live = len(ours & live_rules)
    found_sets = []
    if patterns.sets:
        for name in touched:
            for chain in result_tables[name].chains.values():
                for rule in chain.rules:
                    if rule not in ours and chain.name in BUILTIN_CHAINS.get(name, ()):
                        found_sets.extend(found for found in matched_sets(rule)
                                          if any(fnmatchcase(found, pattern) for pattern in patterns.sets))
    result_plan.neighbour_set_names = sorted(set(found_sets))
    return result_plan


def neighbour_sets(contents, set_names, used=()):
    """The sets argument of the lockout preflight (iptables_applier.lockout_check) for a plan that keeps
    neighbours' ban rules: a function returning contents() (the members of the sets the desired
    ruleset uses; contents may be None) plus an empty member list for each of SET_NAMES
    (Plan.neighbour_set_names) that the desired ruleset does not use itself (USED: the names it uses).

    Why empty: a kept ban rule is live before the apply and after it, the apply does not change
    what it does, and a session that is running is not banned; without this, every such rule would
    make the preflight undecided (the sets are not ours to read) on every apply of a host with
    fail2ban or CrowdSec bans. Returns contents unchanged when nothing is kept."""
    kept = tuple(name for name in (set_names or ()) if name not in set(used or ()))
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


def managed_only(ruleset, preserve=DEFAULT_PRESERVE, ours_chains=None, interfaces=DEFAULT_PRESERVE_INTERFACES, ours=(),
                 sets=DEFAULT_PRESERVE_SETS):
    """The ruleset without the neighbours' chains, the jumps into them and the neighbours' rules of
    built-in chains (container engines' interfaces, ban tools' ipsets): what gets persisted.

    ours_chains: optional {table: [chain names]} of chains that match a preserve pattern but are
    ours (declared: Plan.ours_chains, or recorded); they are kept. ours: Rules that are ours even
    on a neighbour's interface or set (Plan.ours, the recorded rules).
    """
    patterns = Patterns(preserve, interfaces, sets)
    ours_chains = ours_chains or {}
    ours_rules = set(ours or ())
    tables = {}
    for name, table in ruleset.tables.items():
        own = set(ours_chains.get(name, ()))
        neighbour_chains = set(chain for chain in table.chains
                               if chain not in own and is_neighbour_chain(chain, patterns.chains, name))
        neighbour_rules = OwnershipTable(name, table, patterns=patterns).neighbour_rules - ours_rules
        clean = table.copy()
        for chain in neighbour_chains:
            del clean.chains[chain]
        for chain in clean.chains.values():
            chain.rules[:] = [rule for rule in chain.rules
                              if rule.jumps not in neighbour_chains and rule not in neighbour_rules]
        tables[name] = clean
    return _ruleset(ruleset, tables)


def persistable(ruleset, preserve=DEFAULT_PRESERVE, ours_chains=None, interfaces=DEFAULT_PRESERVE_INTERFACES, ours=(),
                sets=DEFAULT_PRESERVE_SETS):
    """managed_only(ruleset) less the tables that hold nothing but default policies.

    Returns (Ruleset, [table names]) where the names are the tables to write, in TABLES order.
    """
    managed = managed_only(ruleset, preserve, ours_chains, interfaces, ours, sets)
    names = [name for name in TABLES if name in managed.tables and not is_trivial(managed.tables[name])]
    return _ruleset(managed, dict((name, managed.tables[name]) for name in names)), names


def describe(ruleset, preserve=DEFAULT_PRESERVE):
    """Structured view of a ruleset: {table: {chain: {policy, rules, neighbour, foreign}}} (for
    state=gathered; foreign is the deprecated name of neighbour)."""
    preserve = tuple(preserve or ())
    result = {}
    for name in TABLES:
        table = ruleset.tables.get(name)
        if table is None:
            continue
        chains = {}
        for chain_name, chain in table.chains.items():
            neighbour = is_neighbour_chain(chain_name, preserve, name)
            chains[chain_name] = {
                'policy': chain.policy,
                'rules': [rule.text for rule in chain.rules],
                'neighbour': neighbour,
                'foreign': neighbour,
            }
        result[name] = chains
    return result
