# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""reachability_report: the fleet reachability report from the planned probes and what they observed."""

from __future__ import annotations

DOCUMENTATION = r"""
name: reachability_report
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
short_description: The fleet reachability report (data) from the planned probes and what they observed
description:
  - Joins the probes planned by P(rampart.firewall.reachability_plan#filter) with what each source's
    M(rampart.firewall.reachability_probe) task returned (the variable O(register) of the source host; V(localhost)
    for the controller) into one row per probe - host, address, port, proto, from (and the host it ran from),
    expected, observed, ok, detail, elapsed.
  - A source that was unreachable or whose task failed gives its rows the observation V(not run) or V(error), with
    the reason; such a row never holds.
  - Drift first - the rows whose expectation does not hold come before the others.
  - P(rampart.firewall.reachability_render#filter) turns the report into a terminal table, JSON or an HTML page.
positional: hostvars
options:
  _input:
    description: What P(rampart.firewall.reachability_plan#filter) returned.
    type: dict
    required: true
  hostvars:
    description: The variables of the hosts (the C(hostvars) variable).
    type: dict
    required: true
  register:
    description: The variable each source registered the result of its probes in.
    type: str
    default: reachability_probe_run
  generated:
    description: When the report was made (shown as given).
    type: str
  title:
    description: The title of the report.
    type: str
    default: Reachability report
"""

EXAMPLES = r"""
# after the reachability_probe task of every source (register: reachability_probe_run)
- name: Join the planned probes and what they observed
  ansible.builtin.set_fact:
    reachability_report: "{{ reachability_batches | rampart.firewall.reachability_report(hostvars) }}"

- name: Count the drift
  ansible.builtin.debug:
    msg: "{{ reachability_report.summary.drift }} of {{ reachability_report.summary.probes }} probes drift"
"""

RETURN = r"""
_value:
  description:
    - V({title, generated, summary, rows}); C(summary) holds V(probes), V(as_declared), V(drift), V(hosts), V(sources),
      V(drift_hosts); each row V({host, address, port, proto, from, via, expect, observed, ok, detail, elapsed, timeout,
      var, index}) (C(via) - the host the probe ran from, or V(controller)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.firewall.plugins.module_utils.reachability import CONTROLLER
from ansible_collections.rampart.firewall.plugins.module_utils.reachability_report import document, rows


def _outcome(hostvars, source, register):
    try:
        hv = hostvars['localhost' if source == CONTROLLER else source]
        return hv[register]
    except KeyError:
        return None


def reachability_report(batches, hostvars, register='reachability_probe_run', generated=None, title='Reachability report'):
    """The report (see DOCUMENTATION)."""
    if not hasattr(batches, 'items'):
        raise AnsibleFilterError('reachability_report: the input must be what reachability_plan returned')
    batches = dict((str(source), list(entries)) for source, entries in batches.items())
    outcomes = dict((source, _outcome(hostvars, source, register)) for source in batches)
    return document(rows(batches, outcomes), generated=None if generated is None else str(generated), title=str(title))


class FilterModule(object):
    """rampart.firewall filters."""

    def filters(self):
        return {'reachability_report': reachability_report}
