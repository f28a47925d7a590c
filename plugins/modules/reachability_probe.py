#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: reachability_probe
short_description: Probe ports and hosts with real packets (TCP connect, UDP, ICMP echo) and compare with what is expected
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Runs each probe of O(probes) from where the module runs, concurrently (threads), each bounded by its own
    O(probes[].timeout) and all of them by O(budget), and reports what was observed next to what was expected.
  - "Where the probes start from is where the task runs. Use C(delegate_to: localhost) for probes from the controller and
    C(delegate_to) a host of the C(from) group for the others; the value of O(probes[].from) is only carried into the
    results (the module does not move)."
  - "TCP: a connect. V(open) (accepted), V(refused) (a reset, or an ICMP unreachable), V(timeout) (no answer: a silent
    DROP)."
  - "UDP: an empty datagram on a connected socket. V(open) when any answer arrives, V(refused) when an ICMP port
    unreachable comes back, V(timeout) otherwise. A UDP service that does not answer an empty datagram and a firewall
    that drops it cannot be told apart (open|filtered): expect V(open) only of a service that answers."
  - "ICMP: one echo request with the system C(ping) (argument list C(ping -n -c 1 -W SECONDS HOST)): V(open) on a reply,
    V(refused) when an ICMP unreachable or C(packet filtered) came back, V(timeout) otherwise. No root is needed where ping
    is setuid or has its capability. Without a ping binary, a raw ICMP (ICMPv6) socket sends the echo request, as root
    only."
  - V(error) when the probe could not be made (a name that does not resolve, no ping binary), V(budget) when O(budget)
    ran out before the probe finished. Neither meets any expectation.
  - The probe engine is C(plugins/module_utils/reachability.py); the roles (C(<role>_confirm_probes)) and the option
    O(rampart.firewall.iptables_ruleset#module:confirm_probes) use the same engine inside the confirm-or-revert window.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
attributes:
  check_mode:
    support: full
    details:
      - The module only sends probes and changes nothing, so it runs in check mode too; C(changed) is always V(false).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  probes:
    description:
      - The probes, each one address (and port) with what is expected of it.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description:
          - The address or name to probe (an IPv4 or IPv6 address, or a name resolved where the module runs).
          - It may not start with C(-).
        type: str
        required: true
      port:
        description: The port, 1-65535. Required for V(tcp) and V(udp), not allowed for V(icmp).
        type: int
      proto:
        description: The protocol of the probe.
        type: str
        choices: [tcp, udp, icmp]
        default: tcp
      expect:
        description:
          - What must be observed. V(closed) means V(refused) or V(timeout).
        type: str
        choices: [open, closed, refused, timeout]
        default: open
      from:
        description:
          - Where the probe is declared to come from (V(controller), or an inventory group or host name), carried into the
            results. It does not change where the probe is sent from, which is where the task runs.
        type: str
        default: controller
      timeout:
        description: Seconds to wait for an answer, more than 0 and at most 60.
        type: float
        default: 3
  budget:
    description:
      - Total seconds for all the probes, more than 0 and at most 3600. A probe not finished by then is reported with
        RV(results[].observed=budget).
    type: float
    default: 60
  workers:
    description: How many probes run at the same time (threads), 1 to 64.
    type: int
    default: 16
  fail_on_mismatch:
    description:
      - V(true) fails the task when a probe does not meet its expectation, naming each one in RV(mismatches).
      - V(false) reports them and succeeds.
    type: bool
    default: false
notes:
  - The count of failing probes is RV(failed_probes), not C(failed) (which Ansible reads as the task's own failure).
seealso:
  - module: rampart.firewall.iptables_ruleset
'''

EXAMPLES = r'''
- name: Probe the web and database ports of the database host from the controller
  rampart.firewall.reachability_probe:
    probes:
      - {host: 192.0.2.10, port: 443}
      - {host: 192.0.2.10, port: 5432, expect: closed}
      - {host: 192.0.2.10, proto: icmp}
  delegate_to: localhost
  register: seen

- name: Probe the database from a host of the web group, failing on any mismatch
  rampart.firewall.reachability_probe:
    probes:
      - {host: 192.0.2.10, port: 5432, from: web}
    fail_on_mismatch: true
  delegate_to: "{{ groups['web'][0] }}"
'''

RETURN = r'''
results:
  description: One result per probe, in the order of O(probes).
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The address or name probed.
      type: str
    port:
      description: The port (null for icmp).
      type: int
    proto:
      description: The protocol.
      type: str
    expect:
      description: What was expected.
      type: str
    from:
      description: Where the probe is declared to come from.
      type: str
    observed:
      description: What was seen, V(open), V(refused), V(timeout), V(error) or V(budget).
      type: str
    ok:
      description: Whether what was seen meets the expectation.
      type: bool
    detail:
      description: A short explanation (the address connected to, the ICMP message, the error).
      type: str
    elapsed:
      description: Seconds the probe took.
      type: float
  sample: [{host: 192.0.2.10, port: 443, proto: tcp, expect: open, from: controller, observed: open, ok: true,
            detail: connected to 192.0.2.10, elapsed: 0.002}]
failed_probes:
  description: How many probes did not meet their expectation.
  returned: always
  type: int
  sample: 0
mismatches:
  description: One line per probe that did not meet its expectation (host:port/proto from FROM, expected, observed).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.10:5432/tcp from web: expected open, observed refused (connection refused (reset))"]
elapsed:
  description: Seconds all the probes took together.
  returned: always
  type: float
  sample: 0.31
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.firewall.plugins.module_utils import reachability


def _spec():
    return dict(
        probes=dict(type='list', elements='dict', required=True, options=dict(
            host=dict(type='str', required=True),
            port=dict(type='int'),
            proto=dict(type='str', choices=list(reachability.PROTOS), default='tcp'),
            expect=dict(type='str', choices=list(reachability.EXPECTS), default='open'),
            timeout=dict(type='float', default=reachability.DEFAULT_TIMEOUT),
            **{'from': dict(type='str', default=reachability.CONTROLLER)})),
        budget=dict(type='float', default=reachability.DEFAULT_BUDGET),
        workers=dict(type='int', default=reachability.DEFAULT_WORKERS),
        fail_on_mismatch=dict(type='bool', default=False),
    )


def main():
    module = AnsibleModule(argument_spec=_spec(), supports_check_mode=True)
    params = module.params
    try:
        probes = reachability.normalise_all(params['probes'], 'probes', need_host=True)
    except reachability.ProbeError as exc:
        module.fail_json(msg=exc.msg)
    if not 0 < params['budget'] <= reachability.MAX_BUDGET:
        module.fail_json(msg='budget must be more than 0 and at most %d seconds, not %s'
                         % (reachability.MAX_BUDGET, params['budget']))
    if not 1 <= params['workers'] <= reachability.MAX_WORKERS:
        module.fail_json(msg='workers must be between 1 and %d, not %s' % (reachability.MAX_WORKERS, params['workers']))
    started = time.time()
    results = reachability.run(probes, budget=params['budget'], workers=params['workers'])
    mismatches = reachability.summary(results)
    answer = dict(changed=False, results=results, failed_probes=len(mismatches), mismatches=mismatches,
                  elapsed=round(time.time() - started, 3))
    if mismatches and params['fail_on_mismatch']:
        module.fail_json(msg='%d probe(s) did not meet their expectation: %s' % (len(mismatches), '; '.join(mismatches)),
                         **answer)
    module.exit_json(**answer)


if __name__ == '__main__':
    main()
