# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whose is a live chain or rule: OURS, a NEIGHBOUR's, or UNKNOWN. The one place that decides it;
the engine (what an apply keeps), the persisted form (what is written for boot) and the audit (what
is reported) all ask here. Pure logic on iptables_model objects: no AnsibleModule, no files.

The words, in code, docs and results: *ours* (we declare it now, or we applied it before and the
record says so), *neighbours'* (Docker, fail2ban, CrowdSec, netavark/CNI, Kubernetes, libvirt...:
recognised by the preserve_* patterns), *unknown* (neither).

The table of ownership, for a table the desired ruleset names (the module's documentation and the
README repeat it):

==============================================================  ============  ==================================
live chain or rule                                              whose         what the apply does
==============================================================  ============  ==================================
declared by the desired ruleset (any chain, any interface)      ours          applied, persisted
in the record of an earlier apply, no longer declared           ours          removed live and from the file
                                                                              (wherever it points: docker0, br-*)
user chain matching preserve_chains, not declared/recorded      neighbour     kept as it is, never persisted
rule of a built-in chain jumping into such a chain              neighbour     kept at the top, never persisted
rule of a built-in chain on a preserve_interfaces interface,    neighbour     kept at the top, never persisted,
its nat POSTROUTING MASQUERADE subnets, or matching a                         never a reason for changed
preserve_sets set (not declared, not recorded)
anything else (a rule inserted by hand or by unknown software,  unknown       removed, and reported
a user chain nobody declares)                                                 (unknown_rules, unknown_chains)
==============================================================  ============  ==================================

Why an unknown rule is removed: a firewall tool that silently keeps a stray ACCEPT is not a
firewall; software that must write into built-in chains is named by a pattern (then it is a
neighbour), everything else is reported when it goes.

The record: after each confirmed apply, the tables the desired ruleset named are written, as the
desired text, to a root-only state file per family (RECORD_DIR, see iptables_outputs). A rule is
ours when we declare it now or the record holds it. The previous persisted file is never evidence
(``netfilter-persistent save`` writes whatever is live, Docker's rules included). On the first run
without a record the copy of the last applied ruleset (copy_dir), when there is one, seeds it; with
neither, only the declared rules are ours, and a rule of an earlier apply on a neighbour's
interface cannot be told from the neighbour's: it is kept live as the neighbour's (listed in
neighbour_rules, never persisted, so a reboot drops it), and every rule declared from then on is
in the record.

Tables the desired ruleset does not name are not touched live; their persisted form is the live
table less the neighbours' chains and rules (ours when recorded).
"""

from __future__ import annotations

import ipaddress
from fnmatch import fnmatchcase

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    BUILTIN_CHAINS,
    TABLES,
    ParseError,
    Ruleset,
    parse,
    render,
)

OURS = 'ours'
NEIGHBOUR = 'neighbour'
UNKNOWN = 'unknown'

# Chains created by software the collection does not own: a neighbour's unless declared or recorded.
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

# Interfaces of container engines and hypervisors, whose rules in built-in chains are neighbours'.
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

# The first line of a record file; anything else is not a record of ours.
RECORD_HEADER = '# rampart.firewall record v1 %s: the tables and rules applied by iptables_ruleset (do not edit)\n'


class RecordError(ValueError):
    """A record file that is not one of ours (wrong header, family, or text)."""


def is_neighbour_chain(name, patterns, table=None):
    """True when chain NAME matches one of the preserve_chains PATTERNS (never a built-in chain of TABLE)."""
    if table is not None and name in BUILTIN_CHAINS.get(table, ()):
        return False
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def basic_matches(rule):
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


def neighbour_interface(rule, interfaces):
    """The first interface of the rule (-i/-o, negated or not) matching INTERFACES, or None."""
    if '-i ' not in rule.text and '-o ' not in rule.text:
        return None
    for dummy, flag, value in basic_matches(rule):
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


def neighbour_set(rule, sets):
    """The first set of the rule whose name matches one of the SETS patterns, or None."""
    for name in matched_sets(rule):
        if any(fnmatchcase(name, pattern) for pattern in sets):
            return name
    return None


def _sources(rule):
    found = []
    for negated, flag, value in basic_matches(rule):
        if flag == '-s' and not negated:
            try:
                found.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                pass
    return found


def pattern_rules(table_name, table, interfaces, sets=()):
    """The rules of TABLE's built-in chains that the patterns name a neighbour's: on an interface
    matching INTERFACES, or, in nat POSTROUTING, a MASQUERADE of a source inside a subnet that such
    a rule masquerades (Docker's per-published-port rules), or matching an ipset whose name matches
    SETS. A set of Rules, by pattern only: OwnershipTable takes out the ones that are ours."""
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
            if sets and neighbour_set(rule, sets):
                found.add(rule)
            if interfaces and neighbour_interface(rule, interfaces):
                found.add(rule)
                if table_name == 'nat' and chain_name == 'POSTROUTING':
                    subnets.extend(_sources(rule))
    if subnets and table_name == 'nat' and 'POSTROUTING' in table.chains:
        for rule in table.chains['POSTROUTING'].rules:
            if rule in found or rule.target != 'MASQUERADE':
                continue
            if any(source.version == net.version and source.subnet_of(net)
                   for source in _sources(rule) for net in subnets):
                found.add(rule)
    return found


class Patterns:
    """The three pattern lists that name neighbours (options preserve_chains, preserve_interfaces, preserve_sets)."""

    __slots__ = ('chains', 'interfaces', 'sets')

    def __init__(self, chains=DEFAULT_PRESERVE, interfaces=DEFAULT_PRESERVE_INTERFACES, sets=DEFAULT_PRESERVE_SETS):
        self.chains = tuple(chains or ())
        self.interfaces = tuple(interfaces or ())
        self.sets = tuple(sets or ())


class OwnershipTable:
    """The ownership of every chain and rule of one LIVE table (see the module docstring).

    declared: the desired Table (None: the ruleset does not name this table), recorded: the Table
    of the record (None: no record of it). Attributes:

    neighbour_chains: names of the live user chains that are a neighbour's (in live order).
    neighbour_rules: the Rules of built-in chains that are a neighbour's by interface, MASQUERADE
        subnet or set (jumps into neighbour chains are neighbours' too: whose() says so).
    ours_chains: names of the live user chains that are ours (declared or recorded).
    """

    def __init__(self, name, live, declared=None, recorded=None, patterns=None):
        patterns = patterns or Patterns()
        self.name = name
        self.live = live
        self.declared_chains = set(declared.chains) if declared is not None else set()
        self.recorded_chains = set(recorded.chains) if recorded is not None else set()
        self.declared_rules = set(declared.rules()) if declared is not None else set()
        self.recorded_rules = set(recorded.rules()) if recorded is not None else set()
        builtin = BUILTIN_CHAINS.get(name, ())
        mentioned = self.declared_chains | self.recorded_chains
        self.ours_chains = [chain for chain in live.chains if chain not in builtin and chain in mentioned]
        self.neighbour_chains = [chain for chain in live.chains
                                 if chain not in mentioned and is_neighbour_chain(chain, patterns.chains, name)]
        self._neighbour_set = set(self.neighbour_chains)
        self.neighbour_rules = set(rule for rule in pattern_rules(name, live, patterns.interfaces, patterns.sets)
                                   if not self.is_ours(rule))

    def is_ours(self, rule):
        return rule in self.declared_rules or rule in self.recorded_rules

    def whose_chain(self, chain):
        """OURS, NEIGHBOUR or UNKNOWN for a live user chain (a built-in chain is nobody's: its rules are)."""
        if chain in self.declared_chains or chain in self.recorded_chains:
            return OURS
        if chain in self._neighbour_set:
            return NEIGHBOUR
        return UNKNOWN

    def whose(self, rule):
        """OURS, NEIGHBOUR or UNKNOWN for a live rule of this table."""
        if self.is_ours(rule):
            return OURS
        if rule.chain in self._neighbour_set or rule.jumps in self._neighbour_set or rule in self.neighbour_rules:
            return NEIGHBOUR
        return UNKNOWN

    def report(self):
        """{ours_removed, unknown_rules, unknown_chains, ours_removed_chains}: what an apply of the
        declared table removes from this live table, as restore lines and chain names (live order)."""
        removed, unknown, unknown_chains, removed_chains = [], [], [], []
        for chain_name, chain in self.live.chains.items():
            whose_chain = self.whose_chain(chain_name) if chain_name not in BUILTIN_CHAINS.get(self.name, ()) else None
            if whose_chain == NEIGHBOUR:
                continue
            if whose_chain is not None and chain_name not in self.declared_chains:
                (removed_chains if whose_chain == OURS else unknown_chains).append(chain_name)
            for rule in chain.rules:
                if rule in self.declared_rules:
                    continue
                whose = self.whose(rule)
                if whose == OURS:
                    removed.append(rule.line())
                elif whose == UNKNOWN:
                    unknown.append(rule.line())
        return {'ours_removed': removed, 'unknown_rules': unknown, 'unknown_chains': unknown_chains,
                'ours_removed_chains': removed_chains}


# ---- the record ----------------------------------------------------------------------------

def parse_record(text, family, known=None):
    """The Ruleset of a record file's TEXT, parsed strictly: the first line must be the header of
    FAMILY, the rest iptables-restore text the model reads. Raises RecordError. known: the desired
    Ruleset (a record is rendered from it: its lines are not parsed again, iptables_model.parse)."""
    header = RECORD_HEADER % family
    if not text.startswith(header):
        raise RecordError('it does not begin with the record header of %s' % family)
    try:
        return parse(text[len(header):], family=family, known=known)
    except ParseError as exc:
        raise RecordError('it does not parse: line %s' % (exc.lineno + 1 if exc.lineno is not None else '?'))


def parse_seed(text, family):
    """The Ruleset of the copy of the last applied ruleset (copy_dir), the record of a first run;
    None when it does not parse."""
    try:
        return parse(text, family=family)
    except ParseError:
        return None


def record_text(family, recorded, desired, touched):
    """The text of the new record: the TOUCHED tables as DESIRED declares them, the other tables as
    RECORDED (a Ruleset or None) had them."""
    tables = {}
    if recorded is not None:
        tables.update((name, table) for name, table in recorded.tables.items() if name not in touched)
    tables.update((name, desired.tables[name]) for name in touched)
    names = [name for name in TABLES if name in tables]
    body = render(Ruleset(family, dict((name, tables[name]) for name in names)), tables=names) if names else ''
    return RECORD_HEADER % family + body
