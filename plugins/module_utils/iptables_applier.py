# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The applier: the steps every module of the collection takes to change the live ruleset of a family.

FamilyApplier holds the steps of one family, in the order an apply takes them: read the live
tables (iptables-save, parsed by the model), iptables-restore --test, settle (refuse while a
confirm-or-revert window of the family is open, revert a stale one), iptables-restore (with
--noflush when the runner was made so), read back and verify against the prediction. Between
the test and the restore, lockout_check() evaluates the resulting filter table for the SSH
session the module runs in (iptables_lockout, imported only when a changed filter table is
checked). Every apply holds ApplyLock (iptables_host) from its first read to its last check, so
that two applies on one host, whatever modules run them, take turns.

Two pipelines are built on it: the granular one (iptables_apply: Apply, run_change) and the
whole-ruleset one (iptables_ruleset). It is a module of its own, importing neither the granular
planner nor the option layer, so that iptables_ruleset does not ship them (AnsiballZ ships every
module_utils reachable by an import, and the target compiles what is imported from source).
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import sys
import threading

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import empty_table, parse_or_empty
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    Ruleset,
    render_table,
)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import excerpt, session_ssh_connection
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_tables import chains_text, parse_tables

__metaclass__ = type


def _tool(family):
    return 'iptables-save' if family == 'ipv4' else 'ip6tables-save'


# the interpreter's switch interval while iptables-save runs beside a parse (FamilyApplier.saving)
SAVE_SWITCH_INTERVAL = 0.0005


class FamilyApplier:
    """The steps of an apply in one family (see the module docstring). runner: an IptablesRunner
    (or anything with save(), test(payload), restore(payload) and restore_argv())."""

    def __init__(self, runner, family):
        self.runner = runner
        self.family = family
        # True once iptables-restore has changed the live ruleset (a later failure still changed it)
        self.applied = False

    @contextlib.contextmanager
    def saving(self):
        """Run iptables-save (read-only) in a thread while the block runs, so that the two slowest steps of
        a re-apply, this command and parsing the desired text, overlap. Yields a function that returns
        the printed text (or raises what the runner raised); the thread is always waited for."""
        box = {}

        def save():
            try:
                box['text'] = self.runner.save()
            except Exception as exc:   # handed to the caller, raised in its thread
                box['error'] = exc

        thread = threading.Thread(target=save, name='%s-save' % self.family)
        # The block parses (pure Python, it holds the interpreter lock); the save thread needs the lock for each
        # 32 KB its pipe delivers. At the default interval (5 ms) the save waited for the whole parse; at 0.5 ms it
        # ends when iptables-save does (the module's read step about 0.015 s shorter, benchmarks/ruleset_bench.py).
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, SAVE_SWITCH_INTERVAL))
        thread.start()

        def text():
            thread.join()
            if 'error' in box:
                raise box['error']
            return box['text']
        try:
            yield text
        finally:
            thread.join()
            sys.setswitchinterval(interval)

    def read(self, tables=None, known=None, text=None):
        """(iptables-save text, Ruleset). tables: parse only these tables (a table the kernel does not
        print is pristine), so that a rule the model does not understand elsewhere does not stop a
        change; None: every printed table. known: a Ruleset whose rules the live one probably holds
        (the desired or the predicted one): their lines are not parsed again (iptables_model.parse).
        text: what iptables-save printed (saving()), or None to run it now."""
        if text is None:
            text = self.runner.save()
        if tables is not None:
            return text, Ruleset(self.family, parse_tables(text, self.family, tables))
        try:
            return text, parse_or_empty(text, family=self.family, known=known)
        except ParseError as exc:
            raise FirewallError('cannot understand the live ruleset printed by %s (please report this): %s'
                                % (_tool(self.family), exc), before=text)

    def test(self, text):
        """iptables-restore --test: changes nothing; raises IptablesCommandError."""
        self.runner.test(text)

    def settle(self):
        """Refuse while a confirm-or-revert window of this family is open (its timer would later
        restore the ruleset from before the window, undoing this change); revert a stale one.
        Runs before every apply, changed or not (see settle_all)."""
        settle_all([self])

    def restore(self, text):
        self.runner.restore(text)
        self.applied = True

    def verify(self, predicted, scope, every_table=False):
        """Read the live ruleset back and compare it with predicted ({table: Table}). scope:
        {table: None (the whole table) or [chain names]}. Returns the live Ruleset of the tables in
        scope (of every table with every_table); raises FirewallError (with the diff; its attribute
        live holds the live text of the tables in scope) when they differ."""
        if every_table:
            dummy, live = self.read(None, known=Ruleset(self.family, dict(predicted)))
        else:
            dummy, live = self.read(list(scope))
        wrong = []
        for name, chains in scope.items():
            want, got = predicted.get(name) or empty_table(name), live.tables.get(name) or empty_table(name)
            if chains is None:
                if want != got:
                    wrong.append((name, None))
                continue
            for chain in chains:
                a, b = want.chains.get(chain), got.chains.get(chain)
                if (a is None) != (b is None) or (a is not None and (a.policy != b.policy or a.keys() != b.keys())):
                    wrong.append((name, chain))
        if not wrong:
            return live
        lines = []
        for name, chain in wrong:
            want, got = predicted.get(name) or empty_table(name), live.tables.get(name) or empty_table(name)
            if chain is None:
                expect, actual, where = render_table(want), render_table(got), '%s %s' % (self.family, name)
            else:
                expect, actual = chains_text(want, [chain]), chains_text(got, [chain])
                where = '%s %s %s' % (self.family, name, chain)
            lines.extend(difflib.unified_diff(expect.splitlines(), actual.splitlines(), 'predicted ' + where,
                                              'live ' + where, lineterm=''))
        shown = ', '.join(' '.join([self.family, name] + ([chain] if chain else [])) for name, chain in wrong)
        error = FirewallError('iptables-restore succeeded but the live rules differ from the prediction in %s; '
                              'another program may have changed them meanwhile:\n%s' % (shown, '\n'.join(lines)))
        error.live = ''.join(render_table(live.tables[n]) for n in scope if n in live.tables)
        raise error


def open_window(busy):
    """The result key open_window of a refusal: the windows of RollbackBusy errors BUSY, which the
    action plugin of iptables_ruleset confirms over a new connection before running the task again.
    {tokens, families, remaining (seconds until the last deadline)}."""
    return {'tokens': [exc.token for exc in busy], 'families': [exc.family for exc in busy],
            'remaining': round(max(max(exc.remaining, 0) for exc in busy), 1)}


def settle_all(appliers):
    """Before anything is read for an apply, changed or not: revert the stale windows of the
    appliers' families (deadline passed, timer gone), and refuse while one is open, with every open
    window of those families in the error's open_window (see open_window). A run that found its
    ruleset live and unchanged must not report ok while the timer of an earlier window still
    restores the ruleset from before it: that window is confirmed first (by the action plugin, over
    a new connection) or this run fails. Raises FirewallError."""
    busy = []
    for applier in appliers:
        try:
            rollback.settle(rollback.STATE_DIR, applier.family, applier.runner.restore_argv())
        except rollback.RollbackBusy as exc:
            busy.append(exc)
        except rollback.StateDirError as exc:
            raise FirewallError(str(exc))
    if busy:
        raise FirewallError('; '.join(str(exc) for exc in busy), open_window=open_window(busy))


def open_windows_warning(families):
    """Check mode: a warning naming the open windows of FAMILIES (read only), or None (iptables_rollback's, which
    sysctl_hardening uses too)."""
    return rollback.open_windows_warning(families)


def ssh_session(params):
    """The SSH session the lockout check protects, the same for every module: params['ssh_connection'],
    or when that is None session_ssh_connection(); '' when there is none. The one parser of the
    option (iptables_lockout.parse_ssh_connection, ASCII digits only): a malformed value raises
    FirewallError naming ssh_connection (or the session's SSH_CONNECTION) and the value, escaped
    and shortened. Modules call it before anything changes."""
    given = params.get('ssh_connection')
    ssh = (session_ssh_connection() if given is None else given).strip()
    if not ssh:
        return ''
    # the evaluator is imported when a module needs it: an unchanged run does not compile it
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import parse_ssh_connection
    try:
        parse_ssh_connection(ssh)
    except ValueError as exc:
        where = 'ssh_connection' if given is not None else "the session's SSH_CONNECTION (set ssh_connection to override it)"
        raise FirewallError('%s must read "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT" (ASCII digits), not \'%s\': %s'
                            % (where, excerpt(ssh, 120), _problem(exc)), field='ssh_connection', value=excerpt(ssh, 120))
    return ssh


def _problem(exc):
    """What parse_ssh_connection found wrong, without the whole value again."""
    text = str(exc)
    if 'mixes IPv4 and IPv6' in text:
        return 'it mixes IPv4 and IPv6 addresses'
    cut = text.find(' in SSH_CONNECTION')
    if cut > 0:
        return excerpt(text[:cut], 80)
    return 'four fields separated by spaces are needed'


def lockout_check(ruleset, params, sets=None, hint=None):
    """The lockout preflight of an apply, the same for every module: evaluate the filter table of
    ruleset (the Ruleset of one family as it will be) for the packets of the SSH session this
    module runs in (params['ssh_connection'], or when that is None session_ssh_connection()).

    Returns the report of iptables_lockout.preflight with its status: disabled (lockout_check
    false), skipped (no SSH session, or one of the other family; reason says which), safe or
    undecided (the caller warns). Raises FirewallError (lockout=report) when the session's packets
    would be dropped or rejected: nothing has changed then. hint: what else protects the session.
    sets: None, or a function returning the contents of the ipsets the rules match (called only
    when the preflight runs: reading live sets costs an ipset call)."""
    if not params.get('lockout_check', True):
        return {'status': 'disabled'}
    ssh = ssh_session(params)
    if not ssh:
        return {'status': 'skipped', 'reason': 'no SSH session to protect (local or container connection, '
                                               'or ssh_connection empty)'}
    client = ipaddress.ip_address(ssh.split()[0].split('%', 1)[0])
    mapped = getattr(client, 'ipv4_mapped', None)
    version = 4 if (client.version == 4 or mapped is not None) else 6
    if version != (4 if ruleset.family == 'ipv4' else 6):
        return {'status': 'skipped', 'reason': 'the SSH session runs over IPv%d, this change is %s' % (version, ruleset.family)}
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import preflight
    try:
        report = dict(preflight(ruleset, ssh, sets=sets() if sets is not None else None))
    except ValueError as exc:
        raise FirewallError('lockout check: %s' % exc)
    if report.get('safe') is False:
        report['status'] = 'unsafe'
        raise FirewallError('refusing to apply: %s. Nothing was changed. Fix the rules, or set lockout_check: false%s.'
                            % (report.get('message'), ' (%s)' % hint if hint else ''), lockout=report)
    report['status'] = 'undecided' if report.get('safe') is None else 'safe'
    return report
