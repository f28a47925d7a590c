# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of rampart.firewall.iptables_ruleset: confirm-or-revert.

1. Run the module (it finds the SSH session its lockout check protects by itself, see
   iptables_host.session_ssh_connection: no extra round trip).
2. When it armed a revert window (the ruleset changed and
   rollback_timeout > 0), the target applies the ruleset when our first iptables_confirm call
   arrives (it writes the window's go), at the latest a second after answering.
3. Call rampart.firewall.iptables_confirm with confirm=false until it says the ruleset is
   live (or the window is over); then drop the connection (for ssh: stop the ControlMaster,
   so the next command needs a NEW TCP connection, opened after the apply, through the new
   firewall) and call it again with confirm=true until it answers or the window is over. Confirmed: the module persists
   (and writes the copy of the rules, option copy_dir) and we report success.
   Over a transport that never crosses the target's network (_LOCAL_TRANSPORTS: local, podman, docker, chroot),
   the firewall cannot cut the connection and a second call would prove nothing more: without probes or
   hold_window, one confirm=true call gives the go, waits for the apply and confirms; and the module gets
   apply_delay=0 (unless the task sets it), so the timer applies while the answer travels.
   With the option rulesets (both families in one call) the module arms one window per family with one deadline;
   the same two calls confirm all of them at once (option tokens of iptables_confirm), and each family's result
   in `families` gets what its confirmation found. The revert stays per family.
   Not reachable in time: the host restores the previous ruleset by itself; we wait for
   that, ask once more what happened, and fail with the answer.
4. A run interrupted while it waited for its confirmation leaves its window open. The module
   refuses to touch (or persist) a family with an open window, naming it (result key
   open_window); we then confirm that window as in 3 (a new connection through its live
   ruleset) and run the module again, or fail saying the earlier window could not be
   confirmed. So a re-run never reports ok while an earlier timer is still armed.
5. Confirm by service (options confirm_probes, hold_window): in step 3, once the ruleset is live and before the
   confirm=true call, run the controller's probes (module_utils/reachability.py). Any that does not hold: do not
   confirm, wait for the timer to restore the previous ruleset, fail naming each probe. hold_window: stop there,
   unconfirmed (confirmed: held, the tokens in rollback), for the play to probe from other hosts and confirm.
   In check mode the probes only report on the current state (and warn); without a change they do not run.
No hidden module parameters: everything passed to the modules is documented.
"""

from __future__ import annotations

import contextlib
import gc
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.rampart.firewall.plugins.module_utils import reachability

display = Display()

MODULE = 'rampart.firewall.iptables_ruleset'
CONFIRM = 'rampart.firewall.iptables_confirm'
# After the deadline, how long to keep trying to learn what the timer did.
GRACE = 45
_SSH_TRANSPORTS = ('ssh', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh')
# Transports whose commands reach the target without crossing its network: a process on the controller that is the
# target (local), a container engine's exec on the same machine (podman, docker), a chroot. The target's firewall
# cannot cut them, so a second call over "a new connection" would prove nothing the first does not: their window is
# confirmed with ONE iptables_confirm call (confirm=true gives the go, waits for the apply, confirms). Every other
# transport (ssh, paramiko, winrm, a third-party plugin) gets the two calls of the docstring, step 3.
_LOCAL_TRANSPORTS = ('local', 'ansible.builtin.local', 'podman', 'containers.podman.podman', 'buildah',
                     'containers.podman.buildah', 'docker', 'community.docker.docker', 'chroot', 'community.general.chroot')


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off for the duration; on the way out what it would have to collect is
    frozen (gc.freeze), then the collector is back as it was.

    Every module call builds its AnsiballZ payload first: ansible-core parses each module_utils file it
    ships into a syntax tree (module_common.recursive_finder), several hundred thousand objects for
    iptables_ruleset. With the collector on, each burst of allocations starts collections that walk every
    object of the worker process (the play, the inventory, the loaded plugins), which made the build about
    twice as slow (benchmarks/ruleset_bench.py, "where the time goes"). The trees are cyclic garbage:
    ansible-core's ModuleDepFinder gives each import node a `parent` (the node whose body lists it), so
    reference counting cannot free them, and re-enabling the collector only deferred the work: one
    collection of about 181,000 objects, 0.05 to 0.08 s, right after the call. gc.freeze() moves them (and
    everything else alive) to the permanent generation instead, which no collection examines. They stay
    until the worker process ends: ansible-core forks one per task and host, and builds a module once per
    run (its AnsiballZ cache), so it is once per module and run, about 6 MB of the worker's memory
    (the 33 MB the build allocates are mostly kept by Python's allocator even when collected)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    # the module run() calls (plugins/action/sysctl_hardening.py subclasses this plugin for its own module)
    MODULE = MODULE

    def _execute_module(self, *args, **kwargs):  # pylint: disable=arguments-differ,signature-differs
        """ActionBase._execute_module (build, send, run, parse the answer) under gc_paused()."""
        with gc_paused():
            return super()._execute_module(*args, **kwargs)

    def _is_ssh(self):
        transport = getattr(self._connection, 'transport', '') or ''
        return transport in _SSH_TRANSPORTS or getattr(self._connection, '_load_name', '') in _SSH_TRANSPORTS

    def _is_local(self):
        """True when the connection never crosses the target's network (_LOCAL_TRANSPORTS)."""
        transport = getattr(self._connection, 'transport', '') or ''
        return transport in _LOCAL_TRANSPORTS or getattr(self._connection, '_load_name', '') in _LOCAL_TRANSPORTS

    def _reset(self):
        """Drop a persistent SSH connection so that the next command opens a new one.
        Other connections (local, podman, docker) open a new session for every command anyway."""
        if not self._is_ssh():
            return
        try:
            self._connection.reset()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            display.vvv('iptables_ruleset: connection reset failed: %s' % to_text(exc))

    def _try_confirm(self, token, task_vars, confirm):
        # one token (family), or the tokens of every family armed by one call (option rulesets)
        args = {'tokens': list(token)} if isinstance(token, (list, tuple)) else {'token': token}
        args['confirm'] = confirm
        try:
            res = self._execute_module(module_name=CONFIRM, module_args=args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            return {'unreachable': True, 'msg': to_text(exc)}
        return res

    def _confirm(self, window, task_vars, started, before_confirm=None):
        token = window['tokens'] if 'tokens' in window else window['token']
        deadline = started + float(window['timeout'])
        attempts = 0
        # Over a network connection: first wait for the apply (confirm=false), then confirm over a connection opened
        # after it. Over a local transport, with no step in between (probes, hold_window): one confirm=true call.
        confirm = before_confirm is None and self._is_local()
        while True:
            self._reset()
            attempts += 1
            res = self._try_confirm(token, task_vars, confirm)
            if not res.get('unreachable'):
                if not confirm and res.get('outcome') == 'applied':
                    stop = before_confirm(window, token, started) if before_confirm else None
                    if stop is not None:   # probes failed (reverted by now) or the window is held for the play
                        stop['attempts'] = attempts
                        return stop
                    confirm = True   # live now: confirm over a connection opened from now on
                    continue
                res['attempts'] = attempts
                return res
            now = time.time()
            if now > deadline + GRACE:
                return {'failed': True, 'unreachable': True, 'attempts': attempts, 'outcome': 'unreachable',
                        'msg': 'the host has not been reachable over a new connection since the ruleset was applied '
                               '(%d attempts, last error: %s). Its revert timer was due %.0f s ago: it should have '
                               'restored the previous ruleset by itself, yet it is still unreachable.'
                               % (attempts, res.get('msg'), now - deadline)}
            display.vv('iptables_ruleset: no new connection yet (%s); %.0f s left in the window'
                       % (res.get('msg', '').splitlines()[0] if res.get('msg') else 'unreachable', deadline - now))
            time.sleep(1)

    def _probes(self, task_vars):
        """The controller's confirm_probes of the task, normalised, host defaulting to the target's address
        (the module checks them too, before anything changes)."""
        default = task_vars.get('ansible_host') or task_vars.get('inventory_hostname')
        try:
            templated = self._templar.template(default)
            default = templated if isinstance(templated, str) else default
        except Exception:  # pylint: disable=broad-exception-caught
            pass
        try:
            return reachability.normalise_all(self._task.args.get('confirm_probes') or [], 'confirm_probes',
                                              default_host=default if isinstance(default, str) else None)
        except reachability.ProbeError:
            return []   # the module refuses them by name

    def _window_step(self, probes, hold, task_vars, found):
        """The step between 'applied' and confirm=true (docstring, 5): None to confirm, else what to return."""
        def step(window, token, started):
            if probes:
                found[:] = reachability.run(probes, budget=max(float(window['timeout']) / 2, 1))
                if reachability.summary(found):
                    return self._await_revert(token, task_vars, started + float(window['timeout']))
            if hold:
                return {'confirmed': 'held', 'outcome': 'held', 'changed': True}
            return None
        return step

    def _await_revert(self, token, task_vars, deadline):
        """Not confirming: wait until the timer restored the previous ruleset, and return what it reports."""
        while True:
            time.sleep(max(deadline - time.time(), 0) + 1)
            res = self._try_confirm(token, task_vars, False)
            if not res.get('unreachable') and res.get('outcome') != 'applied':
                res['failed'] = True
                return res
            if time.time() > deadline + GRACE:
                return {'failed': True, 'outcome': 'unknown', 'msg': 'the revert timer was due %.0f s ago and the window '
                        'still is not reverted: %s' % (time.time() - deadline, res.get('msg') or res.get('outcome'))}

    def _earlier(self, earlier, task_vars):
        """Confirm the open windows of an earlier apply the module found (its result key open_window:
        a run interrupted while it waited for its confirmation), over a new connection, the way our
        own window is confirmed. Returns the confirmation's answer; failed when not confirmed."""
        tokens = [token for token in earlier.get('tokens') or [] if isinstance(token, str)]
        if not tokens:
            return {'failed': True, 'msg': 'the module reported an open window without its token'}
        window = {'tokens': tokens} if len(tokens) > 1 else {'token': tokens[0]}
        try:
            remaining = max(float(earlier.get('remaining') or 0), 0.0)
        except (TypeError, ValueError):
            remaining = 0.0
        window['timeout'] = remaining
        return self._confirm(window, task_vars, time.time())

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if self.MODULE == MODULE and 'apply_delay' not in args and self._is_local():
            # the firewall cannot cut this connection, so the module's answer cannot be lost to the new ruleset: the
            # timer need not wait for the go (option apply_delay, documented)
            args['apply_delay'] = 0
        started = time.time()
        res = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        earlier = res.get('open_window')
        if res.get('failed') and isinstance(earlier, dict):
            # An earlier apply of these families still waits for its confirmation (its run was interrupted),
            # and nothing of this task has been done. Its ruleset is live: confirm it if a new connection
            # reaches the host through it (then its timer cannot undo this task later), then run the task.
            found = self._earlier(earlier, task_vars)
            state = found.get('confirmed') or found.get('outcome') or 'unknown'
            note = {'tokens': list(earlier.get('tokens') or []), 'families': list(earlier.get('families') or []),
                    'confirmed': state}
            if found.get('failed') or state not in ('confirmed', 'already'):
                result.update(res)
                result['earlier_window'] = note
                result['changed'] = bool(found.get('changed', False))
                result['msg'] = ('an earlier apply of %s was still waiting for its confirmation (token %s), and it could '
                                 'not be confirmed over a new connection: %s. Nothing of this task was applied; run it '
                                 'again once the host is reachable.'
                                 % (', '.join(note['families']) or 'this family', ', '.join(note['tokens']),
                                    found.get('msg') or state))
                return result
            display.vv('iptables_ruleset: confirmed the earlier window %s; running the task' % ', '.join(note['tokens']))
            started = time.time()
            res = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
            if res.get('open_window'):
                res['msg'] = 'another apply opened a window meanwhile: %s' % res.get('msg')
            res['earlier_window'] = note
            # confirming the earlier window stopped its timer and wrote its files: a change
            res['changed'] = bool(res.get('changed')) or state == 'confirmed'
        result.update(res)
        window = res.get('rollback')
        probes = self._probes(task_vars) if not (res.get('failed') or res.get('unreachable')) else []
        if res.get('failed') or res.get('unreachable') or not window:
            if probes and self._task.check_mode:   # report on the current state (nothing changed: no probe)
                self._report_probes(result, reachability.run(probes), False)
            return result

        found = []
        hold = bool(args.get('hold_window'))
        step = self._window_step(probes, hold, task_vars, found) if probes or hold else None
        confirm = self._confirm(window, task_vars, started, step)
        if probes:
            self._report_probes(result, found, True)
            if result['probes_failing'] and confirm.get('failed'):
                confirm['msg'] = ('%d probe(s) did not hold once the new ruleset was live, so it was not confirmed: %s. '
                                  'The host restored the previous ruleset by itself (%s), and the persisted file was left as '
                                  'it was.' % (len(result['probes_failing']), '; '.join(result['probes_failing']),
                                               confirm.get('outcome')))
                confirm['confirmed'], confirm['outcome'] = confirm.get('outcome'), 'probes'
        if confirm.get('confirmed') == 'held':   # nothing persisted yet: iptables_confirm will
            result.update(persisted=None, persist_changed=False, services_enabled=[])
        result['confirmed'] = confirm.get('confirmed') or confirm.get('outcome') or 'unknown'
        result['confirm_attempts'] = confirm.get('attempts')
        result['confirm_seconds'] = round(time.time() - started, 1)
        result.pop('persist_pending', None)
        if 'tokens' in window:
            return self._several(result, res, window, confirm)
        if confirm.get('failed'):
            # nothing was persisted: the module's answer only predicted it
            result.update(persisted=None, persist_changed=False, services_enabled=[])
            if 'copy_changed' in result:
                result['copy_changed'] = False
            result['failed'] = True
            result['changed'] = bool(confirm.get('changed', True))
            result['revert'] = confirm.get('revert')
            outcome = confirm.get('outcome')
            if outcome == 'reverted':
                result['msg'] = ('the new %s ruleset cut the controller off: no new connection could confirm it within %s s, '
                                 'so the host restored the previous ruleset of table(s) %s by itself, and the persisted '
                                 'file was left as it was. %s'
                                 % (args.get('family', 'ipv4'), window['timeout'],
                                    ', '.join(res.get('tables', [])), confirm.get('msg', '')))
            else:
                result['msg'] = confirm.get('msg')
            return result
        for key in ('persisted', 'persist_changed', 'services_enabled', 'copy_changed'):
            if key in confirm:
                result[key] = confirm[key]
        result['changed'] = True
        return result

    @staticmethod
    def _report_probes(result, found, decided):
        """RV(probes) and RV(probes_failing); a warning when they did not decide a window (none was armed)."""
        result['probes'] = found
        result['probes_failing'] = reachability.summary(found)
        if result['probes_failing'] and not decided:
            result.setdefault('warnings', []).append('%d probe(s) of confirm_probes do not hold now: %s'
                                                     % (len(result['probes_failing']), '; '.join(result['probes_failing'])))

    def _several(self, result, res, window, confirm):
        """The answer of a call with rulesets (both families, one window): each family's result gets
        what its confirmation found; the task fails when any family was not confirmed."""
        families = result.get('families') or {}
        found = dict((item.get('family'), item) for item in confirm.get('windows') or [])
        for family in window.get('families') or []:
            entry = families.get(family)
            if entry is None:
                continue
            entry.pop('persist_pending', None)
            item = found.get(family) or {}
            entry['confirmed'] = item.get('confirmed') or item.get('outcome') or confirm.get('outcome') or 'unknown'
            if item.get('confirmed') == 'confirmed':
                for key in ('persisted', 'persist_changed', 'services_enabled', 'copy_changed'):
                    if key in item:
                        entry[key] = item[key]
            else:
                # nothing of this family was persisted or copied: the module's answer only predicted it
                entry.update(persisted=None, persist_changed=False, services_enabled=[])
                if 'copy_changed' in entry:
                    entry['copy_changed'] = False
                if item.get('revert'):
                    entry['revert'] = item['revert']
        if confirm.get('failed'):
            result['failed'] = True
            result['changed'] = bool(confirm.get('changed', True))
            result['revert'] = confirm.get('revert')
            if confirm.get('outcome') == 'reverted':
                result['msg'] = ('the new ruleset cut the controller off: no new connection could confirm it within %s s, '
                                 'so the host restored the previous ruleset of %s by itself, and the persisted files were '
                                 'left as they were. %s'
                                 % (window['timeout'], ', '.join(window.get('families') or []), confirm.get('msg', '')))
            else:
                result['msg'] = confirm.get('msg')
            return result
        result['changed'] = True
        return result
