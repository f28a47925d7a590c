# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where each Linux distribution keeps the iptables rules it restores at boot, and what goes
into that file (persisted_form: the managed part of the live ruleset).

Pure logic: no file access, no AnsibleModule. The ruleset pipeline (iptables_ruleset_apply)
reads /etc/os-release, passes its text to read_os_release() (os_release.py) and the result to persist_target(),
and reads and writes the persisted file itself.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
    DEFAULT_PRESERVE_SETS,
    is_neighbour_chain,
    parse_or_empty,
    persistable,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import ParseError, render
from ansible_collections.rampart.firewall.plugins.module_utils.os_release import (  # noqa: F401 pylint: disable=unused-import
    OS_RELEASE_PATHS,
    read_os_release,
)

# path: the file the boot service restores; services: the systemd units that
# restore it (to be enabled); package: what provides those units; mode: the
# permissions the distribution's own "save" gives a new file.
PersistTarget = namedtuple('PersistTarget', ('path', 'services', 'package', 'mode'))
PersistTarget.__new__.__defaults__ = (0o600,)

FAMILIES = ('ipv4', 'ipv6')

# family -> (path, services, package, mode)
_LAYOUTS = {
    'debian': {
        # netfilter-persistent's plugins write these with "chmod 0640".
        'ipv4': ('/etc/iptables/rules.v4', ('netfilter-persistent',), 'iptables-persistent', 0o640),
        'ipv6': ('/etc/iptables/rules.v6', ('netfilter-persistent',), 'iptables-persistent', 0o640),
    },
    'rhel': {
        # iptables-services (iptables-nft-services on newer Fedora/EL, which provides it)
        # saves with mode 0600.
        'ipv4': ('/etc/sysconfig/iptables', ('iptables.service',), 'iptables-services', 0o600),
        'ipv6': ('/etc/sysconfig/ip6tables', ('ip6tables.service',), 'iptables-services', 0o600),
    },
    'arch': {
        # The iptables package ships these files with mode 0644.
        'ipv4': ('/etc/iptables/iptables.rules', ('iptables.service',), 'iptables', 0o644),
        'ipv6': ('/etc/iptables/ip6tables.rules', ('ip6tables.service',), 'iptables', 0o644),
    },
}

# os-release ID (or ID_LIKE word) -> layout
_IDS = {
    'debian': 'debian',
    'ubuntu': 'debian',
    'raspbian': 'debian',
    'rhel': 'rhel',
    'centos': 'rhel',
    'fedora': 'rhel',
    'rocky': 'rhel',
    'almalinux': 'rhel',
    'ol': 'rhel',
    'amzn': 'rhel',
    'arch': 'arch',
    'archarm': 'arch',
    'manjaro': 'arch',
}


class UnknownDistributionError(ValueError):
    """The distribution has no known iptables persistence layout."""


def distribution_layout(os_release):
    """Return the layout name ('debian', 'rhel' or 'arch') for an os-release dict, or None."""
    os_release = os_release or {}
    ident = (os_release.get('ID') or '').strip().lower()
    if ident in _IDS:
        return _IDS[ident]
    for word in (os_release.get('ID_LIKE') or '').lower().split():
        if word in _IDS:
            return _IDS[word]
    return None


def persist_target(os_release, family):
    """Return the PersistTarget of a distribution (os-release dict) for 'ipv4' or 'ipv6'.

    Raises UnknownDistributionError (a ValueError) for a distribution with no known layout;
    its message tells the user to set persist_path.
    """
    if family not in FAMILIES:
        raise ValueError("family must be one of %s, not %r" % (', '.join(FAMILIES), family))
    layout = distribution_layout(os_release)
    if layout is None:
        os_release = os_release or {}
        name = os_release.get('PRETTY_NAME') or os_release.get('NAME') or os_release.get('ID') or 'unknown'
        raise UnknownDistributionError(
            "do not know where %s (ID=%s, ID_LIKE=%s) keeps its %s rules for boot: "
            "set persist_path to the file your boot service restores, or set persist=false"
            % (name, os_release.get('ID') or '', os_release.get('ID_LIKE') or '', family))
    path, services, package, mode = _LAYOUTS[layout][family]
    return PersistTarget(path, services, package, mode)


PERSIST_HEADER = (
    '# Written by rampart.firewall.iptables_ruleset: the managed part of the live ruleset.\n'
    '# Neighbours\' chains (preserve_chains) and the jumps into them are left out, and so are the\n'
    '# neighbours\' rules of built-in chains (preserve_interfaces, preserve_sets): their owners\n'
    '# (Docker, fail2ban, CrowdSec, podman...) recreate them when they start.\n'
)


def _parse_persisted(text, family, known=None):
    """The persisted text as a Ruleset, or None when it does not parse (it is then rewritten).
    known: the Ruleset to persist (its canonical lines are not parsed again, iptables_model.parse)."""
    try:
        return parse_or_empty(text, family=family, known=known)
    except ParseError:
        return None


def persisted_form(old_text, live, plan, preserve, interfaces, sets=DEFAULT_PRESERVE_SETS, recorded=None):
    """(content, same): the text to persist for LIVE (the live Ruleset after applying PLAN, an
    iptables_engine Plan) and whether OLD_TEXT (the file as it is, or None) holds it already.

    Neighbours' chains and rules are left out (preserve, interfaces, sets: as given to the plan;
    ownership.py decides). In the tables the plan touches, ours are the declared chains and rules
    (Plan.ours_chains, Plan.ours); in the other tables, the ones of RECORDED (the record of earlier
    applies, a Ruleset or None). OLD_TEXT is never evidence of ownership: a file written by
    ``netfilter-persistent save`` holds whatever was live (Docker's NAT included)."""
    ours_chains = {}
    ours = set(plan.ours)
    if recorded is not None:
        for name, table in recorded.tables.items():
            if name in plan.tables:
                continue
            chains = [chain for chain in table.chains if is_neighbour_chain(chain, preserve or (), name)]
            if chains:
                ours_chains[name] = chains
            ours.update(table.rules())
    ours_chains.update(plan.ours_chains)
    wanted, names = persistable(live, preserve, ours_chains, interfaces, ours, sets)
    content = PERSIST_HEADER + (render(wanted, tables=names) if names else '')
    # the file written is canonical text: a re-run finds it identical without parsing it; a file
    # written otherwise (an older header, iptables-save) is compared canonically, its lines that are
    # canonical already taken from WANTED instead of parsed
    same = old_text is not None and (old_text == content or _parse_persisted(old_text, live.family, known=wanted) == wanted)
    return content, same
