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
    (the ownership record in C(/var/lib/rampart-firewall) written, the persisted file written, the boot service
    enabled, the sysctl.d file of the kernel settings written).
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
      - One of O(token) and O(tokens) is required.
    type: str
  tokens:
    description:
      - The tokens of all the families one call armed, RV(rampart.firewall.iptables_ruleset#module:rollback.tokens)
        (option O(rampart.firewall.iptables_ruleset#module:rulesets)), each checked as O(token); at most one per family.
      - With O(confirm=false), RV(outcome) is V(applied) only when every family is live. If one could not be applied,
        the module fails and confirms none, so the timers restore the other families at the deadline.
      - With O(confirm=true) each pending window is confirmed and its deferred writes are done; the module fails if any
        was not confirmed. RV(windows) has the answer of each family.
    type: list
    elements: str
  wait_apply:
    description:
      - Seconds to wait for the timer to have applied the ruleset (it does so when this module first runs for the
        window, at the latest one second after M(rampart.firewall.iptables_ruleset) answered, once it holds the apply
        lock). Between V(0) and V(300).
      - By default the O(rampart.firewall.iptables_ruleset#module:wait) of the apply (how long its timer may wait for
        the apply lock) plus 30 seconds, for each window; 330 seconds for a window that recorded no wait.
    type: int
  confirm:
    description:
      - V(false) only waits for the apply and reports RV(outcome) without confirming.
      - Over SSH (and any connection that crosses the target's network) the action plugin calls the module twice, first
        with V(false), then, after dropping the connection, with V(true). So the confirming connection is opened after
        the new ruleset is live and has crossed it; a connection opened just before the apply could confirm a ruleset
        that then cuts it.
      - Over C(local) and container connections (C(podman), C(docker), C(buildah), C(chroot)), which the firewall
        cannot cut, it calls the module once with V(true). That call gives the go, waits for the apply, then confirms.
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
# The action plugin of rampart.firewall.iptables_ruleset calls this module by itself: an apply with
# rollback_timeout returns already confirmed (or reverted). By hand, for a window whose controller
# went away mid-run (its token is in /run/rampart-firewall on the host, see the README):
- name: Wait for the apply and report the window, without confirming
  rampart.firewall.iptables_confirm:
    token: ipv4-1795000000-1a2b3c4d
    confirm: false
  register: window

- name: Drop the connection, so that the confirmation crosses the new ruleset
  ansible.builtin.meta: reset_connection

- name: Confirm it from the new connection
  rampart.firewall.iptables_confirm:
    token: ipv4-1795000000-1a2b3c4d
  when: window.outcome == 'applied'
'''

RETURN = r'''
confirmed:
  description:
    - V(confirmed) when this call stopped the timer, V(already) when the window had been confirmed before,
      V(not yet) with O(confirm=false); with O(tokens), V(partly) when some but not every window was confirmed, and
      the outcome of the first window (for example V(reverted)) when none was.
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
windows:
  description: With O(tokens), the answer for each token, in the same order.
  returned: with tokens
  type: list
  elements: dict
  sample: [{token: ipv4-1795000000-1a2b3c4d, family: ipv4, outcome: confirmed, confirmed: confirmed, revert: {},
            persisted: /etc/iptables/rules.v4, persist_changed: true, services_enabled: [], copy: /etc/rampart-firewall/rules.v4,
            copy_changed: true}]
ipsets_persisted:
  description: The persisted sets file the managed sets of the apply (O(rampart.firewall.iptables_ruleset#module:ipsets))
    were written to after the confirmation.
  returned: success, when the apply changed managed sets and persists them
  type: str
  sample: /etc/iptables/ipsets
ipsets_persist_changed:
  description: Whether the persisted sets file was written.
  returned: success, when the apply changed managed sets and persists them
  type: bool
sysctl_file_changed:
  description: Whether the sysctl.d file of the kernel settings (O(rampart.firewall.iptables_ruleset#module:sysctl)) was
    written after the confirmation. The live values were set by the timer right after the rules, inside the window.
  returned: success, when the apply changed the sysctl.d file of its kernel settings
  type: bool
copy:
  description: The copy of the rules written after the confirmation (option copy_dir of iptables_ruleset).
  returned: success, when the apply had copy_dir
  type: str
  sample: /etc/rampart-firewall/rules.v4
copy_changed:
  description: Whether the copy was written.
  returned: success, when the apply had copy_dir
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
    check_dir_path,
    check_file_path,
    enable_services,
    write_owned,
    excerpt,
    write_atomic,
)
from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError

# The copy of the applied rules (iptables_ruleset option copy_dir): root-only.
COPY_MODE = 0o600
COPY_DIR_MODE = 0o700

_EXPLAIN = {
    'reverted': 'the revert timer restored the previous ruleset because no confirmation arrived in time',
    'failed': 'the revert timer fired but could not restore the previous ruleset',
    'apply-failed': 'the new ruleset could not be applied; nothing was changed',
    'unknown': 'there is no trace of this apply: the host rebooted during the window (the boot loaded the '
               'previously persisted ruleset), or the token is wrong',
    'waiting': 'the timer has not applied the ruleset yet',
}


def _decide(state_dir, token, confirm, wait):
    """Wait for the timer's apply of TOKEN, then confirm it (CONFIRM) or only look. WAIT: seconds,
    or None for the window's own (rollback.apply_wait of its record).
    Returns (state, report): state 'confirmed', 'already', 'applied' (confirm=false) or what
    happened instead, with the timer's report."""
    if wait is None:
        wait = rollback.apply_wait(rollback.meta(state_dir, token))
    if rollback.outcome(state_dir, token) == 'pending':
        rollback.go(state_dir, token)   # the controller has the module's answer: the timer may apply now
    state = rollback.wait_applied(state_dir, token, wait)
    if state == 'confirmed':
        return 'already', {}
    if state == 'pending' and not confirm:
        return 'applied', {}
    detail = ''
    if state == 'pending':
        state, detail = rollback.confirm(state_dir, token)
    elif state in ('reverted', 'failed', 'apply-failed'):
        state, detail = rollback.confirm(state_dir, token)
    report = {}
    if detail:
        try:
            report = json.loads(detail)
        except ValueError:
            report = {'text': detail}
    return state, report


def _explain(state, report):
    msg = 'not confirmed: %s' % _EXPLAIN.get(state, state)
    if state == 'reverted' and not report.get('tables') and report.get('sysctl'):
        # a kernel-only window (sysctl_hardening): no rules, the previous live values restored
        msg += ' (restored kernel settings: %s)' % ', '.join(report['sysctl'].get('restored') or ['?'])
    elif state == 'reverted':
        msg += ' (restored tables: %s)' % ', '.join(report.get('tables') or ['?'])
    elif state == 'apply-failed':
        msg += ': %s' % report.get('msg', '')
    return msg


def _finish(module, meta):
    """After the confirmation: the deferred writes recorded by the apply (persisted file, boot
    service, copy of the rules). Each path is checked again before writing. Returns the result
    keys; raises HostError."""
    # What writes the files is imported here, not at the top: the calls with confirm=false (the go, then
    # the wait for the timer's apply) do not compile it, nor the model it reaches (ownership, engine).
    # pylint: disable=import-outside-toplevel
    from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs, sysctl_transaction
    from ansible_collections.rampart.firewall.plugins.module_utils.ipset_host import persist_finish, write_persisted
    result = {'persisted': None, 'persist_changed': False, 'services_enabled': []}
    record = (meta or {}).get('record')
    if record and not record['same']:
        # the record of what we applied (rules and chains that are ours): written first, before the persisted file
        if record['path'] not in (iptables_outputs.record_path('ipv4'), iptables_outputs.record_path('ipv6')):
            raise HostError('not writing the ownership record: %s is not where records are kept' % excerpt(record['path'], 200))
        try:
            iptables_outputs.write_record(module, dict(record, mode=iptables_outputs.RECORD_MODE,
                                                       dir_mode=iptables_outputs.RECORD_DIR_MODE))
        except FirewallError as exc:
            raise HostError(exc.msg)
    sets = (meta or {}).get('ipsets_persist')
    if sets:
        # the managed sets of iptables_ruleset (option ipsets): their lines merged into the sets file as it
        # is now, before the rules that use them are persisted (the boot loads the sets first)
        try:
            result['ipsets_persist_changed'] = write_persisted(module, sets)
            result['ipsets_persisted'] = sets['path']
            result['services_enabled'] = persist_finish(module, sets)
        except FirewallError as exc:
            raise HostError(exc.msg, **exc.extra)
    todo = (meta or {}).get('persist')
    if todo:
        result['persisted'] = todo['path']
        problem = check_file_path('the persisted file', todo['path'])
        if problem:
            raise HostError('not persisting: %s' % problem)
        if not todo['same']:
            write_atomic(module, todo['path'], todo['content'], todo['mode'])
            result['persist_changed'] = True
        enabled = enable_services(module, todo['services'], todo['package'])
        result['services_enabled'] = sorted(set(result['services_enabled']).union(enabled))
    kernel = (meta or {}).get('sysctl_file')
    if kernel:
        # the sysctl.d file of the kernel settings the window applied (iptables_ruleset option sysctl): its path
        # checked again and its content rendered from the validated record (sysctl_transaction.write_file_record)
        try:
            result['sysctl_file_changed'] = sysctl_transaction.write_file_record(module, kernel)
        except FirewallError as exc:
            raise HostError(exc.msg)
    copy = (meta or {}).get('copy')
    if copy:
        result['copy'] = copy['path']
        result['copy_changed'] = False
        problem = check_dir_path('the directory of the copy', os.path.dirname(copy['path']))
        problem = problem or check_file_path('the copy', copy['path'])
        if problem:
            raise HostError('not writing the copy of the rules: %s' % problem)
        if not copy['same']:
            write_owned(module, copy['path'], copy['content'], COPY_MODE, COPY_DIR_MODE)
            result['copy_changed'] = True
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(token=dict(type='str', no_log=False),
                           tokens=dict(type='list', elements='str', no_log=False),
                           wait_apply=dict(type='int'),
                           confirm=dict(type='bool', default=True)),
        mutually_exclusive=[('token', 'tokens')],
        required_one_of=[('token', 'tokens')],
        supports_check_mode=False,
    )
    many = module.params['tokens'] is not None
    tokens = module.params['tokens'] if many else [module.params['token']]
    if not tokens:
        module.fail_json(msg='tokens must name at least one token of iptables_ruleset', outcome='unknown')
    for index, token in enumerate(tokens):
        if not rollback.valid_token(token):
            module.fail_json(msg='%s must be a token of iptables_ruleset (ipv4-SECONDS-8HEX or ipv6-SECONDS-8HEX), not %s'
                             % ('tokens[%d]' % index if many else 'token', excerpt(token, 60)), outcome='unknown')
    if len(set(token.split('-')[0] for token in tokens)) != len(tokens):
        module.fail_json(msg='tokens must name at most one window per family, not %s' % excerpt(', '.join(tokens), 200),
                         outcome='unknown')
    if module.params['wait_apply'] is not None and not 0 <= module.params['wait_apply'] <= 300:
        module.fail_json(msg='wait_apply must be between 0 and 300 seconds, not %d' % module.params['wait_apply'])
    state_dir = rollback.STATE_DIR
    if not os.path.lexists(state_dir):
        module.fail_json(msg='not confirmed: %s' % _EXPLAIN['unknown'], outcome='unknown', revert={}, changed=False)
    try:
        rollback.secure_dir(state_dir)
    except rollback.StateDirError as exc:
        module.fail_json(msg=to_native(exc))
    if not many:
        single(module, state_dir, tokens[0])
    several(module, state_dir, tokens)


def single(module, state_dir, token):
    meta = rollback.meta(state_dir, token)
    state, report = _decide(state_dir, token, module.params['confirm'], module.params['wait_apply'])
    if state == 'already':
        module.exit_json(changed=False, confirmed='already', persisted=None, persist_changed=False, services_enabled=[])
    if state == 'applied':
        module.exit_json(changed=False, confirmed='not yet', outcome='applied', persisted=None, persist_changed=False,
                         services_enabled=[])
    if state != 'confirmed':
        module.fail_json(msg=_explain(state, report), outcome=state, revert=report, changed=state in ('reverted', 'failed'))
    result = {'changed': True, 'confirmed': 'confirmed'}
    try:
        result.update(_finish(module, meta))
    except HostError as exc:
        module.fail_json(msg='confirmed, but persisting failed: %s' % exc.msg, **exc.extra)
    except (IOError, OSError) as exc:
        module.fail_json(msg='confirmed, but persisting failed: %s' % to_native(exc))
    module.exit_json(**result)


def several(module, state_dir, tokens):
    """One confirmation for the windows of several families armed by one apply (option rulesets of
    iptables_ruleset). With confirm=false, 'applied' only when every family is live: if one could
    not be applied, none is confirmed and the timers restore the others at the deadline, so both
    families stay as they were. With confirm=true each pending window is confirmed and its deferred
    writes done; the task fails if any was not confirmed."""
    metas = dict((token, rollback.meta(state_dir, token)) for token in tokens)
    windows = []
    for token in tokens:
        state, report = _decide(state_dir, token, module.params['confirm'], module.params['wait_apply'])
        windows.append({'token': token, 'family': token.split('-')[0], 'outcome': state, 'revert': report})
    states = [window['outcome'] for window in windows]
    if not module.params['confirm']:
        if all(state in ('applied', 'already') for state in states):
            module.exit_json(changed=False, confirmed='not yet', outcome='applied', windows=windows,
                             persisted=None, persist_changed=False, services_enabled=[])
        bad = [window for window in windows if window['outcome'] not in ('applied', 'already')]
        live = [window['family'] for window in windows if window['outcome'] == 'applied']
        module.fail_json(msg='%s%s' % ('; '.join('%s: %s' % (window['family'], _explain(window['outcome'], window['revert']))
                                                 for window in bad),
                                       ('. Not confirming %s either: its timer restores the previous ruleset at the '
                                        'deadline, so both families stay as they were' % ', '.join(live)) if live else ''),
                         outcome=bad[0]['outcome'], revert=bad[0]['revert'], windows=windows,
                         changed=any(state in ('reverted', 'failed') for state in states))
    failures = []
    changed = False
    for window in windows:
        state = window['outcome']
        if state == 'already':
            window['confirmed'] = 'already'
            continue
        if state != 'confirmed':
            failures.append('%s: %s' % (window['family'], _explain(state, window['revert'])))
            changed = changed or state in ('reverted', 'failed')
            continue
        changed = True
        window['confirmed'] = 'confirmed'
        try:
            window.update(_finish(module, metas[window['token']]))
        except HostError as exc:
            failures.append('%s: confirmed, but persisting failed: %s' % (window['family'], exc.msg))
        except (IOError, OSError) as exc:
            failures.append('%s: confirmed, but persisting failed: %s' % (window['family'], to_native(exc)))
    result = {'changed': changed, 'windows': windows,
              'confirmed': ('confirmed' if all(window.get('confirmed') for window in windows)
                            else 'partly' if any(window.get('confirmed') for window in windows)
                            else windows[0]['outcome']),
              'persisted': None, 'persist_changed': any(window.get('persist_changed') for window in windows),
              'services_enabled': sorted(set(name for window in windows for name in window.get('services_enabled', [])))}
    if failures:
        bad = [window for window in windows if not window.get('confirmed')] or windows
        module.fail_json(msg='; '.join(failures), outcome=bad[0]['outcome'], revert=bad[0].get('revert', {}), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
