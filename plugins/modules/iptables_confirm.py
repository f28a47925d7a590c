#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: iptables_confirm
short_description: Confirm a ruleset applied by iptables_ruleset with a revert timer, then persist it
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - M(rampart.firewall.iptables_ruleset) with O(rampart.firewall.iptables_ruleset#module:rollback_timeout) applies a
    changed ruleset under a revert timer. Its action plugin calls this module over a B(new) connection to say
    "the controller can still reach the host"; the timer is stopped and the deferred persistence is done
    (the persisted file written, the boot service enabled).
  - You do not need this module in a playbook; the action plugin of M(rampart.firewall.iptables_ruleset) calls it.
    It is a module of its own so that the protocol has no hidden parameters, and so that you can confirm by hand
    (or from another play) when you drive the window yourself.
  - If the timer already restored the previous ruleset, or the host rebooted during the window, or the apply
    itself failed, the module fails and says which, with the report of the revert.
  - The protocol is described in C(plugins/module_utils/iptables_rollback.py).
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
  platform:
    support: full
    platforms: linux
options:
  token:
    description:
      - The token of the window, RV(rampart.firewall.iptables_ruleset#module:rollback.token).
      - Only the exact shape the module generates is accepted (C(ipv4-SECONDS-8HEX) or C(ipv6-SECONDS-8HEX),
        lowercase hexadecimal, ASCII digits); anything else is refused before any file is looked at.
    type: str
    required: true
  wait_apply:
    description:
      - Seconds to wait for the timer to have applied the ruleset (it does so one second after
        M(rampart.firewall.iptables_ruleset) answered). Between V(0) and V(300).
    type: int
    default: 20
  confirm:
    description:
      - V(false) only waits for the apply and reports RV(outcome) without confirming.
      - The action plugin calls the module twice, first with V(false), then, after dropping the connection, with
        V(true). So the confirming connection is opened after the new ruleset is live and has crossed it; a
        connection opened just before the apply could confirm a ruleset that then cuts it.
    type: bool
    default: true
notes:
  - Needs root on the target, like M(rampart.firewall.iptables_ruleset).
  - The state directory C(/run/rampart-firewall) must be owned by root with mode C(0700); the module refuses to
    read anything from it otherwise. The persisted file it writes is the one the apply recorded there, checked
    again (absolute path, regular file or missing) before writing.
seealso:
  - module: rampart.firewall.iptables_ruleset
'''

EXAMPLES = r'''
# Normally the action plugin of iptables_ruleset does this. By hand:
- name: Apply with a revert window, and do not confirm yet
  rampart.firewall.iptables_ruleset:
    src: /etc/rampart-firewall/rules.v4
    rollback_timeout: 120
  register: applied
  # the action plugin confirms at once; to confirm by hand, call the module instead of the action:
  # ansible.builtin.command is not needed, any later task can confirm as below

- name: Confirm from a new connection
  rampart.firewall.iptables_confirm:
    token: "{{ applied.rollback.token }}"
  when: applied.rollback is defined and applied.confirmed is not defined
'''

RETURN = r'''
confirmed:
  description:
    - V(confirmed) when this call stopped the timer, V(already) when the window had been confirmed before,
      V(not yet) with O(confirm=false).
  returned: success
  type: str
  sample: confirmed
outcome:
  description:
    - V(applied) with O(confirm=false) when the ruleset is live and waits for the confirmation.
    - On failure, what became of the window instead. V(reverted) (the timer restored the previous ruleset),
      V(failed) (the timer tried to and iptables-restore failed), V(apply-failed) (the timer could not apply the new
      ruleset, nothing changed), V(unknown) (no trace, the host rebooted during the window, or the token is wrong),
      V(waiting) (the timer has not applied yet).
  returned: failure, and with confirm=false
  type: str
  sample: reverted
revert:
  description: The timer's report when it reverted or failed to apply (rc, stderr, restored text, tables, time).
  returned: when outcome is reverted, failed or apply-failed
  type: dict
  sample: {rc: 0, stderr: '', tables: [filter], restored: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
           at: 1795000031.2, family: ipv4}
persisted:
  description: The persisted file written (or found up to date) after the confirmation, null when not persisting.
  returned: success
  type: str
  sample: /etc/iptables/rules.v4
persist_changed:
  description: Whether the persisted file was written.
  returned: success
  type: bool
  sample: true
services_enabled:
  description: Boot services enabled after the confirmation.
  returned: success
  type: list
  elements: str
  sample: [netfilter-persistent]
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    HostError,
    check_file_path,
    enable_services,
    excerpt,
    write_atomic,
)

_EXPLAIN = {
    'reverted': 'the revert timer restored the previous ruleset because no confirmation arrived in time',
    'failed': 'the revert timer fired but could not restore the previous ruleset',
    'apply-failed': 'the new ruleset could not be applied; nothing was changed',
    'unknown': 'there is no trace of this apply: the host rebooted during the window (the boot loaded the '
               'previously persisted ruleset), or the token is wrong',
    'waiting': 'the timer has not applied the ruleset yet',
}


def main():
    module = AnsibleModule(
        argument_spec=dict(token=dict(type='str', required=True, no_log=False),
                           wait_apply=dict(type='int', default=20),
                           confirm=dict(type='bool', default=True)),
        supports_check_mode=False,
    )
    token = module.params['token']
    if not rollback.valid_token(token):
        module.fail_json(msg='token must be a token of iptables_ruleset (ipv4-SECONDS-8HEX or ipv6-SECONDS-8HEX), not %s'
                         % excerpt(token, 60), outcome='unknown')
    if not 0 <= module.params['wait_apply'] <= 300:
        module.fail_json(msg='wait_apply must be between 0 and 300 seconds, not %d' % module.params['wait_apply'])
    state_dir = rollback.STATE_DIR
    if not os.path.lexists(state_dir):
        module.fail_json(msg='not confirmed: %s' % _EXPLAIN['unknown'], outcome='unknown', revert={}, changed=False)
    try:
        rollback.secure_dir(state_dir)
    except rollback.StateDirError as exc:
        module.fail_json(msg=to_native(exc))
    meta = rollback.meta(state_dir, token)
    state = rollback.wait_applied(state_dir, token, module.params['wait_apply'])
    if state == 'confirmed':
        module.exit_json(changed=False, confirmed='already', persisted=None, persist_changed=False, services_enabled=[])
    if state == 'pending' and not module.params['confirm']:
        module.exit_json(changed=False, confirmed='not yet', outcome='applied', persisted=None, persist_changed=False,
                         services_enabled=[])
    if state == 'pending':
        state, detail = rollback.confirm(state_dir, token)
    else:
        detail = ''
        if state in ('reverted', 'failed', 'apply-failed'):
            state, detail = rollback.confirm(state_dir, token)
    if state != 'confirmed':
        report = {}
        if detail:
            try:
                report = json.loads(detail)
            except ValueError:
                report = {'text': detail}
        msg = 'not confirmed: %s' % _EXPLAIN.get(state, state)
        if state == 'reverted':
            msg += ' (restored tables: %s)' % ', '.join(report.get('tables') or ['?'])
        elif state == 'apply-failed':
            msg += ': %s' % report.get('msg', '')
        module.fail_json(msg=msg, outcome=state, revert=report, changed=state in ('reverted', 'failed'))

    result = {'changed': True, 'confirmed': 'confirmed', 'persisted': None, 'persist_changed': False, 'services_enabled': []}
    todo = (meta or {}).get('persist')
    if todo:
        result['persisted'] = todo['path']
        problem = check_file_path('the persisted file', todo['path'])
        if problem:
            module.fail_json(msg='confirmed, but not persisting: %s' % problem)
        try:
            if not todo['same']:
                write_atomic(module, todo['path'], todo['content'], todo['mode'])
                result['persist_changed'] = True
            result['services_enabled'] = enable_services(module, todo['services'], todo['package'])
        except HostError as exc:
            module.fail_json(msg='confirmed, but persisting failed: %s' % exc.msg, **exc.extra)
        except (IOError, OSError) as exc:
            module.fail_json(msg='confirmed, but persisting failed: %s' % to_native(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
