# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The partial-table planner of the granular modules, pure Python on iptables_model objects.

plan_rules(), plan_chain() and plan_policy() compare the wanted change with the live Table and
return TablePlans: the iptables-restore --noflush lines (chain declarations, -D CHAIN RULE, -I N,
-A, -F, -X, policies) and the predicted chains afterwards. Existing user chains are never declared,
because iptables-restore --noflush flushes a chain it finds declared.

A rule is deleted by its specification (-D CHAIN RULE, the text iptables-save printed for it), never
by its number: a rule another program (Docker, fail2ban, kube-proxy) inserts between the read and the
write cannot make the wrong rule go, and a rule gone meanwhile makes the whole restore fail (the table
is committed at once, so nothing changes). -D CHAIN RULE removes the first rule that matches: the plan
keeps only the last copy of a duplicated rule, so that the deletes remove exactly the planned copies.
An -I position is computed against the live table the plan was made on; Apply (iptables_apply) reads
the tables again under the apply lock right before the write and plans again when they changed.
"""

from __future__ import annotations

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_matches import (
    char_problem,
    control_char,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    BUILTIN_CHAINS,
    POLICIES,
    TABLES,
    Chain,
    ParseError,
    chain_name_problem,
    parse,
)
from ansible_collections.rampart.firewall.plugins.module_utils.errors import PlanError, SpecError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_tables import chains_text
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_options import (
    TARGET_EXTENSIONS,
    build_rules,
)

__metaclass__ = type


def _op_line(op):
    kind = op[0]
    if kind == 'N':
        return ':%s - [0:0]' % op[1]
    if kind == 'P':
        return ':%s %s [0:0]' % (op[1], op[2])
    if kind == 'F':
        return '-F %s' % op[1]
    if kind == 'X':
        return '-X %s' % op[1]
    if kind == 'D':
        return ('-D %s %s' % (op[1], op[2].text)).rstrip()
    if kind == 'I':
        return ('-I %s %d %s' % (op[1], op[2], op[3].text)).rstrip()
    return ('-A %s %s' % (op[1], op[2].text)).rstrip()  # 'A'


def simulate(table, ops):
    """Apply ops to a copy of table the way iptables-restore --noflush does. Raises PlanError."""
    out = table.copy()
    for op in ops:
        kind, name = op[0], op[1]
        chain = out.chains.get(name)
        if kind == 'N':
            out.chains[name] = Chain(name, None, [])
            continue
        if chain is None:
            raise PlanError('internal error: %s on missing chain %s' % (_op_line(op), name))
        if kind == 'P':
            chain.policy = op[2]
        elif kind == 'F':
            chain.rules[:] = []
        elif kind == 'X':
            refs = [r for c in out.chains.values() for r in c.rules if r.jumps == name]
            if chain.rules or refs or chain.policy is not None:
                raise PlanError('internal error: cannot delete chain %s' % name)
            del out.chains[name]
        elif kind == 'D':
            # by specification: the first rule that matches, as iptables does
            at = next((i for i, rule in enumerate(chain.rules) if rule.key == op[2].key), None)
            if at is None:
                raise PlanError('internal error: %s matches no rule of %s' % (_op_line(op), name))
            del chain.rules[at]
        elif kind == 'I':
            if not 1 <= op[2] <= len(chain.rules) + 1:
                raise PlanError('internal error: %s beyond the end of %s' % (_op_line(op), name))
            chain.rules.insert(op[2] - 1, op[3])
        else:
            chain.rules.append(op[2])
    return out


class TablePlan:
    """The change of one table in one family.

    before: the live Table; after: the predicted Table; ops: edit operations (see _op_line);
    touched: the chains the task is about, in order (reported before/after, verified after).
    """

    def __init__(self, family, before, ops, touched, after=None):
        self.family = family
        self.name = before.name
        self.before = before
        self.ops = list(ops)
        self.touched = list(touched)
        self.after = after if after is not None else simulate(before, self.ops)

    @property
    def changed(self):
        return bool(self.ops)

    def lines(self):
        """The restore lines for this table: declarations and policies first, then the edits."""
        decl = [_op_line(op) for op in self.ops if op[0] in ('N', 'P')]
        rest = [_op_line(op) for op in self.ops if op[0] not in ('N', 'P')]
        return decl + rest


def plans_text(plans, side):
    """Restore text of the touched chains of several TablePlans, before or after."""
    return ''.join(chains_text(getattr(p, side), p.touched) for p in plans)


def payload(plans):
    """The iptables-restore --noflush input for a family's TablePlans ('' when nothing changes)."""
    out = []
    for plan in plans:
        if plan.changed:
            out.append('*%s\n%s\nCOMMIT\n' % (plan.name, '\n'.join(plan.lines())))
    return ''.join(out)


def _lis(values):
    """Indexes (into values) of the longest strictly increasing subsequence; among the longest,
    the one that keeps the earliest indexes (so the first rules of a list stay where they are)."""
    n = len(values)
    longest = [1] * n      # longest increasing run starting at i
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            if values[j] > values[i] and longest[j] + 1 > longest[i]:
                longest[i] = longest[j] + 1
    out = []
    need = max(longest) if n else 0
    last = None
    for i in range(n):
        if need and longest[i] == need and (last is None or values[i] > last):
            out.append(i)
            last = values[i]
            need -= 1
    return out


def wanted_chain(rules, present, absent, position):
    """The rule list a chain must end with.

    rules: the live rules; present: the wanted Rules in their list order (distinct keys);
    absent: Rules that must not be in the chain; position: 'append' or a 1-based index.

    append: each wanted rule must be in the chain once, anywhere, with the wanted rules in their
    list order; rules already in that order stay where they are (the longest run of them in
    order), a missing or out-of-order rule goes right after the wanted rule before it in the
    list (the first one right before the next wanted rule that stays; at the end of the chain
    when none stays). N: the wanted rules must be rules N, N+1, ... of the chain.
    Either way extra copies of a wanted rule are removed. Raises PlanError when N is beyond
    the end of the chain.
    """
    gone = set(r.key for r in absent)
    want = [r.key for r in present]
    wanted = set(want)
    remaining = [r for r in rules if r.key not in gone]
    if position == 'append':
        first = {}
        for i, r in enumerate(remaining):
            if r.key in wanted and r.key not in first:
                first[r.key] = i
        seq = [k for k in want if k in first]
        keep = set(seq[i] for i in _lis([first[k] for k in seq]))
        final = []
        placed = set()
        for r in remaining:
            if r.key in wanted:
                if r.key in keep and r.key not in placed:
                    final.append(r)
                    placed.add(r.key)
                continue
            final.append(r)
        for idx, rule in enumerate(present):
            if rule.key in keep:
                continue
            if idx > 0:
                prev = want[idx - 1]
                at = next(i for i, r in enumerate(final) if r.key == prev) + 1
            else:
                nxt = next((k for k in want[1:] if k in keep), None)
                at = len(final) if nxt is None else next(i for i, r in enumerate(final) if r.key == nxt)
            final.insert(at, rule)
        return final
    others = [r for r in remaining if r.key not in wanted]
    if position - 1 > len(others):
        raise PlanError('position %d is beyond the end of the chain: it has %d other rule(s), so the highest '
                        'possible position is %d' % (position, len(others), len(others) + 1), 'position', position)
    return others[:position - 1] + list(present) + others[position - 1:]


def _lcs_pairs(a, b):
    """[(i, j)] of one longest common subsequence of the key lists a and b."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for dummy in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    out = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            out.append((i, j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def chain_ops(name, old, new, wanted):
    """-D/-I/-A operations turning the rule list old into new.

    wanted: the keys of the task's rules. Every other rule of new is a rule of old that keeps
    its place relative to the others (the task never moves rules that are not its own), so only
    rules with a wanted key are inserted, and only they and removed rules are deleted. Between
    two such fixed rules, the wanted rules that are already in the right order stay.

    Deletes are by specification (-D CHAIN RULE removes the first matching rule): of a wanted rule
    that old holds several times, the copy that stays must be the last one, else every copy is
    deleted and the rule inserted again where it belongs.
    """
    staying = set(r.key for r in new)
    fixed_old = [i for i, r in enumerate(old) if r.key not in wanted and r.key in staying]
    fixed_new = [j for j, r in enumerate(new) if r.key not in wanted]
    if [old[i].key for i in fixed_old] != [new[j].key for j in fixed_new]:
        raise PlanError('internal error: the rules of chain %s that the task does not own would move' % name)
    kept_old = set(fixed_old)
    kept_new = set(fixed_new)
    bounds_old = [-1] + fixed_old + [len(old)]
    bounds_new = [-1] + fixed_new + [len(new)]
    for k in range(len(bounds_old) - 1):
        seg_old = [i for i in range(bounds_old[k] + 1, bounds_old[k + 1]) if old[i].key in wanted]
        seg_new = list(range(bounds_new[k] + 1, bounds_new[k + 1]))
        for x, y in _lcs_pairs([old[i].key for i in seg_old], [new[j].key for j in seg_new]):
            kept_old.add(seg_old[x])
            kept_new.add(seg_new[y])
    last = {}
    for i, rule in enumerate(old):
        last[rule.key] = i
    for i, j in list(_kept_pairs(old, new, kept_old, kept_new)):
        if old[i].key in wanted and last[old[i].key] != i:     # an earlier copy would stay: -D removes the first match
            kept_old.discard(i)
            kept_new.discard(j)
    deletes = [i for i in range(len(old)) if i not in kept_old]
    ops = [('D', name, old[i]) for i in reversed(deletes)]
    length = len(old) - len(deletes)
    for j in range(len(new)):
        if j in kept_new:
            continue
        if j == length:
            ops.append(('A', name, new[j]))
        else:
            ops.append(('I', name, j + 1, new[j]))
        length += 1
    return ops


def _kept_pairs(old, new, kept_old, kept_new):
    """(i, j) of the rules of old kept as rules of new, in order (the two kept lists match one to one)."""
    return zip(sorted(kept_old), sorted(kept_new))


class ChainWant:
    """The rules wanted present (in order, at position) and absent in one chain."""

    def __init__(self, chain, family='ipv4', position='append', position_field='position'):
        self.chain = chain
        self.family = family
        self.position = position
        self.position_field = position_field
        self.present = []
        self.absent = []
        self.origin = {}  # key -> where the rule came from ('rules[2]'), for duplicate errors

    def add(self, rule, state, where=''):
        other = self.origin.get(rule.key)
        if other is not None:
            who = 'the task gives' if other[0] == where else '%s and %s give' % (other[0], where)
            raise SpecError('%s the same %s rule twice: %s' % (who, self.family, rule.line()), 'rules', rule.text)
        self.origin[rule.key] = (where, state)
        (self.present if state == 'present' else self.absent).append(rule)


def plan_rules(family, table, wants):
    """TablePlan for rules wanted present/absent in chains of table (wants: ChainWants in order).

    A chain missing from the live table is an error when rules must be present in it, and
    nothing to do when they must be absent.
    """
    ops = []
    finals = {}
    for want in wants:
        chain = table.chains.get(want.chain)
        if chain is None:
            if want.present:
                raise PlanError("chain '%s' does not exist in the %s table (%s); create it first with "
                                "rampart.firewall.iptables_chain" % (want.chain, table.name, family),
                                'chain', want.chain)
            continue
        try:
            final = wanted_chain(chain.rules, want.present, want.absent, want.position)
        except PlanError as exc:
            if want.position_field == 'position':
                raise
            raise PlanError('%s: %s' % (want.position_field, exc), want.position_field, want.position)
        finals[want.chain] = [r.key for r in final]
        ops.extend(chain_ops(want.chain, chain.rules, final, set(r.key for r in want.present)))
    plan = TablePlan(family, table, ops, list(finals))
    for name, keys in finals.items():
        if plan.after.chains[name].keys() != keys:
            raise PlanError('internal error: the edits of chain %s do not give the wanted rules' % name)
    return plan


class RuleRequest:
    """One structured rule of a task: where (for errors, 'rules[2]'), chain, table, families,
    state ('present' or 'absent'), position ('append' or N) and the rule options. chain_field:
    the option that named the chain, for errors."""

    def __init__(self, where, chain, table, families, state, opts, position='append', chain_field='chain',
                 position_field='position'):
        self.where = where
        self.chain_field = chain_field
        self.position_field = position_field
        self.chain = chain
        self.table = table
        self.families = families
        self.state = state
        self.opts = opts
        self.position = position


class RulePlanner:
    """A planner for Apply: builds the requested rules against the live tables of a family and
    plans the edits. lines: {family: ['-A CHAIN ...', ...]} of the built rules, in order.

    Rules of one chain must share one position (the first request's is used).
    """

    def __init__(self, requests, both=False):
        for req in requests:
            check_chain_name(req.chain, req.table, req.chain_field, req.where)
        self.requests = requests
        self.both = both
        self.lines = {}

    def tables(self):
        return set(r.table for r in self.requests)

    def __call__(self, family, live):
        per_table = {}
        lines = self.lines[family] = []
        for req in self.requests:
            if family not in req.families:
                continue
            table = live[req.table]
            chains = [c.name for c in table.user_chains()]
            if req.state == 'absent':
                # a rule that jumps to a chain that does not exist cannot be in the table: let it parse
                chains += [t for t in (req.opts.get('jump'), req.opts.get('goto'))
                           if t and t not in TARGET_EXTENSIONS]
            rules = build_rules(req.opts, family, req.table, req.chain, chains, req.where, self.both)
            wants = per_table.setdefault(req.table, {})
            want = wants.get(req.chain)
            if want is None:
                want = wants[req.chain] = ChainWant(req.chain, family, req.position, req.position_field)
            for rule in rules:
                want.add(rule, req.state, req.where)
                lines.append(rule.line())
        return [plan_rules(family, live[name], list(per_table[name].values()))
                for name in TABLES if name in per_table]


def _chain_chars(name, field, where=''):
    """Raise SpecError when a chain name holds a control character (iptables-restore would cut
    the line at a NUL and fail with a message about something else)."""
    if control_char(name) is not None:
        raise SpecError('%s%s: invalid chain name: %s' % (where + ': ' if where else '', field, char_problem(name)),
                        field, name)


def check_chain_name(name, table, field='chain', where=''):
    """Raise SpecError unless name can be a chain of table: a built-in one or a valid user-defined name."""
    if not isinstance(name, str):
        raise SpecError('%s%s must be a chain name, not %r' % (where + ': ' if where else '', field, name), field, name)
    _chain_chars(name, field, where)
    if name in BUILTIN_CHAINS[table]:
        return
    problem = chain_name_problem(name)
    if problem:
        raise SpecError('%s%s: %s' % (where + ': ' if where else '', field, problem), field, name)


def check_user_chain_name(name, table, field='chain'):
    """Raise SpecError unless name is a valid user-defined chain name for table."""
    _chain_chars(name, field)
    if name in BUILTIN_CHAINS[table]:
        raise SpecError("'%s' is a built-in chain of the %s table: iptables_chain manages user-defined chains "
                        "(use iptables_policy for the policy of a built-in chain)" % (name, table), field, name)
    problem = None
    if not name or len(name.encode('utf-8', 'surrogateescape')) > 28:
        problem = 'it must be 1 to 28 characters long (counted in UTF-8 bytes)'
    elif name[0] in '-!' or any(c.isspace() or c in '"\'' for c in name):
        problem = "it must not start with '-' or '!' nor contain blanks or quotes"
    else:
        try:
            parse('*%s\n:%s - [0:0]\nCOMMIT\n' % (table, name))
        except ParseError as exc:
            problem = exc.message
    if problem:
        raise SpecError('%s: invalid chain name %r: %s' % (field, name, problem), field, name)


def references(table, name):
    """[(chain, 1-based index, Rule)] of the rules of other chains that jump or go to chain name."""
    out = []
    for chain in table.chains.values():
        if chain.name == name:
            continue
        for i, rule in enumerate(chain.rules):
            if rule.jumps == name:
                out.append((chain.name, i + 1, rule))
    return out


def plan_chain(family, table, name, state, force=False):
    """TablePlan making user chain name present, absent or flushed (present and empty).

    absent: the rules of other chains that jump or go to it are an error (listing them) unless
    force, which deletes them too (-D CHAIN RULE, by specification), then -F (when it has rules)
    and -X. flushed: -F, or a declaration when the chain does not exist yet.
    """
    chain = table.chains.get(name)
    ops = []
    refs = []
    if state == 'present':
        if chain is None:
            ops.append(('N', name))
    elif state == 'flushed':
        if chain is None:
            ops.append(('N', name))
        elif chain.rules:
            ops.append(('F', name))
    elif chain is not None:
        refs = references(table, name)
        if refs and not force:
            raise PlanError('chain %s of the %s table (%s) is still used by %d rule(s); remove them first or set '
                            'force: true to remove them with the chain: %s'
                            % (name, table.name, family, len(refs), '; '.join(r.line() for c, i, r in refs)),
                            'chain', name)
        order = list(table.chains)
        for cname, index, rule in sorted(refs, key=lambda x: (order.index(x[0]), -x[1])):
            ops.append(('D', cname, rule))
        if chain.rules:
            ops.append(('F', name))
        ops.append(('X', name))
    ref_chains = set(c for c, i, r in refs)
    touched = [c for c in table.chains if c in ref_chains or c == name] or [name]
    return TablePlan(family, table, ops, touched), [r.line() for c, i, r in refs]


def check_builtin_chain(name, table):
    """Raise SpecError unless name is a built-in chain of table."""
    _chain_chars(name, 'chain')
    if name not in BUILTIN_CHAINS[table]:
        raise SpecError("chain: %r is not a built-in chain of the %s table (%s): only built-in chains have a policy"
                        % (name, table, ', '.join(BUILTIN_CHAINS[table])), 'chain', name)


def plan_policy(family, table, name, policy):
    """TablePlan setting the policy of built-in chain name (a policy line, only when it differs)."""
    check_builtin_chain(name, table.name)
    if policy not in POLICIES:
        raise SpecError('policy must be ACCEPT or DROP, not %r' % (policy,), 'policy', policy)
    chain = table.chains.get(name)
    ops = [] if chain is not None and chain.policy == policy else [('P', name, policy)]
    return TablePlan(family, table, ops, [name])
