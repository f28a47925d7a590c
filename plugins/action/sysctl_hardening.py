# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of rampart.firewall.sysctl_hardening: the confirm-or-revert window of iptables_ruleset's
action plugin (one confirm loop for both modules), run for this module.

The module arms a kernel-only window per family whose live values change (option rollback_timeout); this plugin
confirms it over a new connection exactly as for a ruleset (iptables_ruleset.ActionModule: run, _confirm, the
earlier windows, hold_window), then says what the confirmation found in this module's terms: file_changed and
live_changed stay only when the values were confirmed (a revert put the previous values back and left the file
as it was), sysctl_file_changed from iptables_confirm, and no keys of the rules' persistence.
"""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.action.iptables_ruleset import ActionModule as RulesetAction

# result keys of the rules (persisted file, boot services, copy) that the ruleset's plugin sets and this module has not
_RULES_KEYS = ('persisted', 'persist_changed', 'services_enabled', 'copy_changed')


class ActionModule(RulesetAction):

    MODULE = 'rampart.firewall.sysctl_hardening'

    def _confirm(self, window, task_vars, started, before_confirm=None):
        """The ruleset plugin's confirmation, its answer kept for run() (sysctl_file_changed)."""
        self._confirmed = super()._confirm(window, task_vars, started, before_confirm)
        return self._confirmed

    def run(self, tmp=None, task_vars=None):
        self._confirmed = None
        result = super().run(tmp, task_vars)
        if not result.get('rollback'):
            return result
        found = self._confirmed or {}
        for key in _RULES_KEYS:
            result.pop(key, None)
        state = result.get('confirmed')
        windows = found.get('windows') or [found]
        written = any(item.get('sysctl_file_changed') for item in windows)
        if state in ('confirmed', 'already'):
            result['file_pending'] = False
            result['file_changed'] = bool(result.get('file_changed')) and written
        elif state == 'held':
            result['file_pending'] = bool(result.get('file_changed'))
        else:
            # not confirmed: the timer restored the previous live values (or tried to: revert says), the file was
            # not written; nothing changed when every value is back
            result.update(file_changed=False, file_pending=False, live_changed=[])
            outcome = found.get('outcome') or state
            reverts = [item.get('revert') or {} for item in windows]
            refused = [revert['apply_error'] for revert in reverts if revert.get('apply_error')]
            if outcome == 'reverted':
                result['changed'] = False
            if refused:
                result['msg'] = ('the new kernel settings could not be applied inside the window: %s. The previous live '
                                 'values were put back at once by the host (%s), and %s was not written (it is written '
                                 'only after a confirmation). %s'
                                 % ('; '.join(refused), outcome, result.get('path'), found.get('msg') or ''))
            elif outcome == 'reverted':
                result['msg'] = ('the new kernel settings were not confirmed over a new connection within %s s, so the '
                                 'host restored the previous live values of %s by itself, and %s was left as it was. %s'
                                 % (result['rollback'].get('timeout'),
                                    ', '.join(result['rollback'].get('families') or []) or 'the keys',
                                    result.get('path'), found.get('msg') or ''))
            elif found.get('msg'):
                result['msg'] = 'the new kernel settings were not confirmed: %s' % found['msg']
        return result
