# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model of iptables-save / iptables-restore text.

parse() reads restore-format text (as people write it, or as iptables-save prints it on the
nf_tables or the legacy backend) into a Ruleset. Every rule gets a canonical ``key`` (equal for
equal rules however they were spelled) and a canonical ``text`` (iptables-save's own spelling),
so that a file and the live ruleset it produced compare equal, and render() gives text that
iptables-restore accepts. diff() shows the difference of two rulesets table by table.

Pure Python, standard library only; runs on the controller and on target hosts (Python 3.8+).
"""

from __future__ import annotations

import difflib
import re
from collections import namedtuple

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_matches import (
    CONTROL_RE,
    BadValue,
    Ctx,
    MATCHES,
    MATCH_ALIASES,
    OPAQUE_TARGETS,
    PROTO_MATCHES,
    Split,
    TARGETS,
    char_problem,
    control_char,
    escape_controls,
    format_net,
    is_ascii_digits,
    parse_net,
    parse_proto,
    proto_name,
    quote_token,
    save_string,
)

__metaclass__ = type

TABLES = ('raw', 'mangle', 'nat', 'filter', 'security')
BUILTIN_CHAINS = {
    'filter': ('INPUT', 'FORWARD', 'OUTPUT'),
    'nat': ('PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'),
    'mangle': ('PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'),
    'raw': ('PREROUTING', 'OUTPUT'),
    'security': ('INPUT', 'FORWARD', 'OUTPUT'),
}
POLICIES = ('ACCEPT', 'DROP')
FAMILIES = ('ipv4', 'ipv6')
MAX_CHAIN_NAME = 28
MAX_IFNAME = 15

__all__ = ['TABLES', 'BUILTIN_CHAINS', 'POLICIES', 'ParseError', 'Rule', 'Chain', 'Table', 'Ruleset',
           'parse', 'parse_rule', 'render', 'render_table', 'diff', 'tables_equal', 'new_table', 'chain_name_problem',
           'rule_tokens', 'rule_matches', 'MatchPart']


class ParseError(ValueError):
    """Input that iptables-restore would reject (or that this model refuses).

    lineno: 1-based line number (None when the error is not about one line)
    line: the input line
    field: what is wrong: an option ('--dport', '-j', '-i'), or 'table', 'chain', 'policy', 'COMMIT', ...
    value: the offending value

    str() escapes control characters (as repr() does), so that a NUL or an escape sequence in
    the input never reaches a message or a terminal.
    """

    def __init__(self, message, lineno=None, line=None, field=None, value=None):
        self.message = message
        self.lineno = lineno
        self.line = line
        self.field = field
        self.value = value
        ValueError.__init__(self, self.__str__())

    def __str__(self):
        parts = []
        if self.lineno is not None:
            parts.append('line %d' % self.lineno)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        if self.line is not None:
            parts.append(self.line)
        return escape_controls(': '.join(parts))

    def __reduce__(self):
        return (ParseError, (self.message, self.lineno, self.line, self.field, self.value))


class Rule:
    """One rule of a chain.

    chain: the chain it is in
    key: hashable canonical form (equal for equal rules, however they were written)
    text: the rule in iptables-save spelling, without the leading '-A CHAIN '
    target: the -j/-g target (an extension name or a chain name), or None
    goto: True for -g
    lineno: the input line it came from (None if not parsed from text)
    jumps: the chain it jumps or goes to, None for a standard or extension target
    matches: its matches as the model reads them (rule_matches), parsed once on first use
    """

    __slots__ = ('chain', 'key', 'text', 'target', 'goto', 'lineno', '_jump', '_matches', '_hash')

    def __init__(self, chain, key, text, target=None, goto=False, lineno=None, jumps=None):
        self.chain = chain
        self.key = key
        self.text = text
        self.target = target
        self.goto = goto
        self.lineno = lineno
        self._jump = jumps
        self._matches = None
        self._hash = None

    @property
    def jumps(self):
        return self._jump

    @property
    def matches(self):
        """rule_matches() of the rule's text, computed once (raises ValueError like it)."""
        if self._matches is None:
            self._matches = rule_matches(self.text or '')
        return self._matches

    def __eq__(self, other):
        if not isinstance(other, Rule):
            return NotImplemented
        return self.chain == other.chain and self.key == other.key

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        # computed once: the engine and ownership.py put every rule in sets (rules are never modified)
        found = self._hash
        if found is None:
            found = self._hash = hash((self.chain, self.key))
        return found

    def __repr__(self):
        return 'Rule(%r, %r)' % (self.chain, self.text)

    def line(self):
        """The restore line '-A CHAIN TEXT'."""
        return '-A %s %s' % (self.chain, self.text) if self.text else '-A ' + self.chain


class Chain:
    """A chain: policy is 'ACCEPT'/'DROP' for a built-in chain, None for a user-defined one."""

    __slots__ = ('name', 'policy', 'rules', 'lineno')

    def __init__(self, name, policy=None, rules=None, lineno=None):
        self.name = name
        self.policy = policy
        self.rules = rules if rules is not None else []
        self.lineno = lineno

    @property
    def builtin(self):
        return self.policy is not None

    def keys(self):
        return [r.key for r in self.rules]

    def copy(self):
        """A new Chain with its own rule list. Rule objects are never modified, so they are shared
        (a deepcopy of 10,000 rules costs more than parsing them)."""
        return Chain(self.name, self.policy, list(self.rules), self.lineno)

    def __eq__(self, other):
        if not isinstance(other, Chain):
            return NotImplemented
        return (self.name == other.name and self.policy == other.policy and len(self.rules) == len(other.rules) and self.keys() == other.keys())

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return 'Chain(%r, %r, %d rules)' % (self.name, self.policy, len(self.rules))


class Table:
    """A table: chains maps name -> Chain (built-ins first in kernel order, then user chains)."""

    __slots__ = ('name', 'chains', 'lineno')

    def __init__(self, name, chains=None, lineno=None):
        self.name = name
        self.chains = chains if chains is not None else {}
        self.lineno = lineno

    def __eq__(self, other):
        if not isinstance(other, Table):
            return NotImplemented
        return self.name == other.name and tables_equal(self, other)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def copy(self):
        """A copy whose chains and rule lists can be changed (the rules are shared)."""
        return Table(self.name, dict((name, chain.copy()) for name, chain in self.chains.items()), self.lineno)

    def user_chains(self):
        return [c for c in self.chains.values() if c.policy is None]

    def rules(self):
        """All rules, chain by chain."""
        out = []
        for c in self.chains.values():
            out.extend(c.rules)
        return out

    def __repr__(self):
        return 'Table(%r, %d chains)' % (self.name, len(self.chains))


class Ruleset:
    """family: 'ipv4' or 'ipv6'; tables maps name -> Table (in input order).

    Two rulesets are equal when every table is; a table missing on one side counts as a
    pristine table (built-in chains with policy ACCEPT, no rules): iptables-legacy-save prints
    such empty tables, iptables-nft-save does not.
    """

    __slots__ = ('family', 'tables')

    def __init__(self, family='ipv4', tables=None):
        if family not in FAMILIES:
            raise ValueError('family must be ipv4 or ipv6, not %r' % (family,))
        self.family = family
        self.tables = tables if tables is not None else {}

    def table(self, name):
        """The named table, created pristine if missing."""
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = new_table(name)
        return t

    def __eq__(self, other):
        if not isinstance(other, Ruleset):
            return NotImplemented
        if self.family != other.family:
            return False
        for name in set(self.tables) | set(other.tables):
            a = self.tables.get(name) or new_table(name)
            b = other.tables.get(name) or new_table(name)
            if not tables_equal(a, b):
                return False
        return True

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return 'Ruleset(%r, %r)' % (self.family, list(self.tables))


def new_table(name):
    """A pristine table: its built-in chains with policy ACCEPT and no rules."""
    if name not in BUILTIN_CHAINS:
        raise ValueError('unknown table %r' % (name,))
    return Table(name, dict((c, Chain(c, 'ACCEPT')) for c in BUILTIN_CHAINS[name]))


def tables_equal(a, b):
    """Canonical equality of two tables: same chains (in any order), policies, and rules in order."""
    ca, cb = a.chains, b.chains
    if len(ca) != len(cb):
        return False
    for name, x in ca.items():
        y = cb.get(name)
        if y is None or x.policy != y.policy or len(x.rules) != len(y.rules):
            return False
        for r, s in zip(x.rules, y.rules):
            if r.key != s.key:
                return False
    return True


# ------------------------------------------------------------------------ tokens

_WS = ' \t\r\n\v\f'
# iptables-restore separates words at blanks and tabs only (str.split() also at '\xa0', '\u3000', ...)
_BLANKS = ' \t'


def _split_ws(text):
    """The words of text separated by blanks and tabs (text holds no control characters)."""
    if text.isascii():
        return text.split()
    return [w for w in text.replace('\t', ' ').split(' ') if w]


_TOKEN_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^ \t"\']+)')
_UNESCAPE_RE = re.compile(r'\\(.)', re.S)


def _split_quoted(line):
    """Split like iptables-restore does, plus single quotes. Returns (tokens, quoted indexes).

    Double quotes group words and a backslash inside them escapes the next character; single
    quotes group words literally (iptables-restore itself treats them as ordinary characters).
    An opening quote continues the current word; a closing quote ends it. Raises ValueError
    on an unbalanced quote (with the text from the opening quote).
    """
    toks = []
    quoted = set()
    pos = 0
    prev_end = -1
    prev_quoted = False
    for mo in _TOKEN_RE.finditer(line):
        start = mo.start()
        if start > pos and line[pos:start].strip(_BLANKS):
            raise ValueError(line[pos:].strip(_BLANKS))
        dq, sq, plain = mo.groups()
        if plain is not None:
            toks.append(plain)
            prev_quoted = False
        else:
            if dq is not None:
                val = _UNESCAPE_RE.sub(r'\1', dq) if '\\' in dq else dq
            else:
                val = sq
            if start == prev_end and not prev_quoted and toks:
                toks[-1] += val
            else:
                toks.append(val)
            quoted.add(len(toks) - 1)
            prev_quoted = True
        prev_end = pos = mo.end()
    if line[pos:].strip(_BLANKS):
        raise ValueError(line[pos:].strip(_BLANKS))
    return toks, quoted


_NOQUOTE = frozenset()


def _tokens(line):
    """(tokens, quoted indexes) of a rule line: str.split() unless the line has quotes."""
    dq = line.find('"')
    sq = line.find("'")
    if dq < 0 and sq < 0:
        return _split_ws(line), _NOQUOTE
    q = dq if sq < 0 or (0 <= dq < sq) else sq
    k = q
    while k > 0 and line[k - 1] not in _WS:
        k -= 1
    head = _split_ws(line[:k])
    rest, rq = _split_quoted(line[k:])
    base = len(head)
    head.extend(rest)
    return head, set(base + j for j in rq)


GENERIC = {
    '-s': 's', '--source': 's', '--src': 's',
    '-d': 'd', '--destination': 'd', '--dst': 'd',
    '-i': 'i', '--in-interface': 'i',
    '-o': 'o', '--out-interface': 'o',
    '-p': 'p', '--protocol': 'p',
    '-f': 'f', '--fragment': 'f', '--fragments': 'f',
    '-m': 'm', '--match': 'm',
    '-j': 'j', '--jump': 'j',
    '-g': 'g', '--goto': 'g',
    '-c': 'c', '--set-counters': 'c',
}
# all of iptables' own long options (getopt_long resolves abbreviations against them too);
# the ones that are not rule options map to upper-case command letters
_GETOPT_LONG = {
    '--append': 'A', '--delete': 'D', '--check': 'C', '--insert': 'I', '--replace': 'R', '--list': 'L',
    '--list-rules': 'S', '--flush': 'F', '--zero': 'Z', '--new-chain': 'N', '--delete-chain': 'X',
    '--rename-chain': 'E', '--policy': 'P', '--source': 's', '--destination': 'd', '--src': 's', '--dst': 'd',
    '--protocol': 'p', '--in-interface': 'i', '--jump': 'j', '--table': 'T', '--match': 'm', '--numeric': 'n',
    '--out-interface': 'o', '--verbose': 'v', '--wait': 'w', '--wait-interval': 'W', '--exact': 'x',
    '--fragments': 'f', '--version': 'V', '--help': 'h', '--line-numbers': '0', '--modprobe': 'M',
    '--set-counters': 'c', '--goto': 'g', '--ipv4': '4', '--ipv6': '6',
}
_GENERIC_LONG = list(_GETOPT_LONG)
_GENERIC_PREFIXES = frozenset(n[:k] for n in _GENERIC_LONG for k in range(3, len(n)))
_LETTER_OPT = {'s': '-s', 'd': '-d', 'p': '-p', 'i': '-i', 'j': '-j', 'm': '-m', 'o': '-o', 'f': '-f', 'c': '-c',
               'g': '-g'}
_GENERIC_PRINT = {'s': '-s', 'd': '-d', 'i': '-i', 'o': '-o', 'p': '-p', 'f': '-f', 'm': '-m', 'j': '-j',
                  'g': '-g', 'c': '-c'}
_VERDICTS = ('ACCEPT', 'DROP', 'RETURN', 'QUEUE')
_NO_IN = ('OUTPUT', 'POSTROUTING')
_NO_OUT = ('INPUT', 'PREROUTING')
_COUNTERS_RE = re.compile(r'^\[[0-9]+:[0-9]+\]$')
_NET_TEXT = {'ipv4': {}, 'ipv6': {}}
_V4_RE = re.compile(r'([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?:/([0-9]{1,2}))?$')


def _net_text(s, family):
    """Canonical -s/-d text of one address ('' for 0.0.0.0/0). Cached. Raises BadValue."""
    cache = _NET_TEXT[family]
    r = cache.get(s)
    if r is None:
        mo = _V4_RE.match(s) if family == 'ipv4' else None
        if mo is not None:
            a, b, c, d, plen = mo.groups()
            a, b, c, d = int(a), int(b), int(c), int(d)
            plen = 32 if plen is None else int(plen)
            if a > 255 or b > 255 or c > 255 or d > 255 or plen > 32:
                parse_net(s, family)  # raises the error
            if plen == 0:
                r = ''
            else:
                n = ((a << 24) | (b << 16) | (c << 8) | d) & (0xFFFFFFFF ^ (0xFFFFFFFF >> plen))
                r = '%d.%d.%d.%d/%d' % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255, plen)
        else:
            a, m = parse_net(s, family)
            r = format_net(a, m, family) if m else ''
        if len(cache) > 50000:
            cache.clear()
        cache[s] = r
    return r


class _Fail(Exception):
    def __init__(self, field, value, message):
        Exception.__init__(self, message)
        self.field = field
        self.value = value
        self.message = message


def rule_tokens(text):
    """[(token, quoted)] of a rule's text, split the way the parser splits it (the lockout
    evaluator reads rules with this, so there is one tokenizer). Raises ValueError on an
    unbalanced quote."""
    toks, quoted = _tokens(text)
    return [(tok, index in quoted) for index, tok in enumerate(toks)]


# The options that stand alone in a rule, outside any -m module.
GENERIC_FLAGS = frozenset(('-s', '-d', '-i', '-o', '-p', '-f', '-m', '-j', '-g'))


class MatchPart(namedtuple('MatchPart', ('name', 'tokens', 'options'))):
    """One '-m NAME ...' of a rule: name (MATCH_ALIASES resolved), tokens ((token, quoted), ...)
    after the name, and options [(Option of iptables_matches, negated, [args])], or None when the
    module or one of its options is not in the match table."""

    __slots__ = ()


def _match_options(mod, toks):
    out = []
    i = 0
    neg = False
    while i < len(toks):
        tok, quoted = toks[i]
        if tok == '!' and not quoted:
            neg = True
            i += 1
            continue
        opt = mod.by_name.get(tok) if not quoted else None
        if opt is None:
            return None
        args = [t for t, dummy in toks[i + 1:i + 1 + opt.nargs]]
        if len(args) < opt.nargs:
            return None
        out.append((opt, neg, args))
        neg = False
        i += 1 + opt.nargs
    return out


def rule_matches(text):
    """The matches of a rule's text in iptables-save spelling (Rule.text), in order, up to its
    -j/-g: a tuple of (flag, negated, value) with flag -s, -d, -i, -o or -p and its value, -f
    with None, or -m with a MatchPart. Raises ValueError when the text is not in that form (an
    option outside a module that is not a generic one, a flag without its value)."""
    toks = rule_tokens(text)
    n = len(toks)
    out = []
    i = 0
    neg = False
    while i < n:
        tok, quoted = toks[i]
        if tok == '!' and not quoted:
            neg = True
            i += 1
            continue
        if quoted or tok not in GENERIC_FLAGS:
            raise ValueError('%s is not an option of its own' % tok)
        if tok in ('-j', '-g'):
            break
        if tok == '-f':
            out.append(('-f', neg, None))
            i += 1
        elif tok != '-m':
            if i + 1 >= n:
                raise ValueError('%s has no value' % tok)
            out.append((tok, neg, toks[i + 1][0]))
            i += 2
        else:
            if i + 1 >= n:
                raise ValueError('-m has no module name')
            j = i + 2
            while j < n:
                t, q = toks[j]
                negated_flag = t == '!' and j + 1 < n and toks[j + 1][0] in GENERIC_FLAGS and not toks[j + 1][1]
                if not q and (t in GENERIC_FLAGS or negated_flag):
                    break
                j += 1
            name = MATCH_ALIASES.get(toks[i + 1][0], toks[i + 1][0])
            mod = MATCHES.get(name)
            opts = toks[i + 2:j]
            out.append(('-m', neg, MatchPart(name, tuple(opts), _match_options(mod, opts) if mod is not None else None)))
            i = j
        neg = False
    return tuple(out)


def _opaque_tokens(toks, i, quoted):
    """Tokens of an extension this model does not know: up to the next generic option."""
    j = i
    n = len(toks)
    out = []
    while j < n:
        t = toks[j]
        q = j in quoted
        if not q:
            if t in GENERIC:
                break
            if t == '!' and j + 1 < n and toks[j + 1] in GENERIC and (j + 1) not in quoted:
                break
        out.append((t, q))
        j += 1
    return out, j


def _opaque_text(tok, was_quoted):
    """Print a verbatim token so that it reads back the same; quoted tokens that would read
    back as generic options (or '!') stay quoted."""
    if was_quoted:
        if tok in GENERIC or tok == '!':
            return '"' + tok + '"'
        return save_string(tok)
    return quote_token(tok)


class _Inst:
    """A match or target being parsed."""

    __slots__ = ('mod', 'slots', 'name', 'opaque')

    def __init__(self, mod, name, opaque=None):
        self.mod = mod
        self.name = name
        self.slots = {}
        self.opaque = opaque


def _opt_tokens(opt, args, ctx):
    """(text tokens, key tokens) of one option without its '!'. Cached per option."""
    ck = (args[0] if len(args) == 1 else tuple(args), ctx.family, ctx.proto, ctx.proto_inv)
    cache = opt.cache
    r = cache.get(ck)
    if r is None:
        vals = opt.norm(args, ctx) if opt.norm is not None else tuple(quote_token(a) for a in args)
        if vals is None:
            r = ((), ())
        else:
            if vals.__class__ is Split:
                kv = vals.key
                vals = vals.text
            else:
                kv = vals
            out = opt.out
            r = ((out,) + tuple(vals), ((out,) + tuple(kv)) if opt.key else ())
        if len(cache) > 20000:
            cache.clear()
        cache[ck] = r
    return r


def _module_tokens(inst, ctx, kind):
    """(text tokens, key tokens) of a known match/target (one list for both unless mod.keyed)."""
    mod = inst.mod
    slots = inst.slots
    field = None
    try:
        if not mod.simple:
            if mod.finish is not None:
                field = '%s %s' % (kind, mod.name)
                mod.finish(slots, ctx)
            if mod.render is not None:
                field = '%s %s' % (kind, mod.name)
                return mod.render(slots, ctx)
        defaults = mod.defaults
        if defaults:
            order = mod.order
        elif len(slots) < 2:
            order = slots
        else:
            order = sorted(slots, key=mod.index.__getitem__)
        text = []
        key = [] if mod.keyed else text
        for slot in order:
            v = slots.get(slot)
            if v is None:
                d = defaults.get(slot)
                if d is not None:
                    toks = d(ctx)
                    text.extend(toks)
                    if key is not text:
                        key.extend(toks)
                continue
            opt, inv, args = v
            field = opt.names[0]
            t, k = _opt_tokens(opt, args, ctx)
            if inv and t:
                text.append('!')
                if k and key is not text:
                    key.append('!')
            text.extend(t)
            if key is not text:
                key.extend(k)
        return text, key
    except BadValue as e:
        value = e.value
        if value is None:
            v = slots.get(_slot_of(mod, field)) if field else None
            value = ' '.join(v[2]) if v else mod.name
        raise _Fail(field or '%s %s' % (kind, mod.name), value, e.message) from None


def _slot_of(mod, optname):
    opt = mod.by_name.get(optname)
    return opt.slot if opt is not None else None


_ABBREV_CACHE = {}


def _abbrev(name, loaded):
    """getopt_long's unique-abbreviation rule over the generic and the loaded options.

    Returns ('generic', full name), (module, full name) or (None, sorted candidates).
    """
    if not name.startswith('--') or len(name) < 3:
        return None, ()
    ck = (name,) + tuple(inst.mod.name for inst in loaded)
    r = _ABBREV_CACHE.get(ck)
    if r is not None:
        return r
    cands = {}
    for g in _GENERIC_LONG:
        if g.startswith(name):
            cands[('generic', _GETOPT_LONG[g])] = g
    for inst in loaded:
        for opt_name, opt in inst.mod.by_name.items():
            if opt_name.startswith(name):
                cands.setdefault((inst.mod.name, opt), opt_name)
    r = None, tuple(sorted(cands.values()))
    if len(cands) == 1:
        (owner, _x), full = list(cands.items())[0]
        if owner == 'generic':
            r = 'generic', full
        else:
            for inst in loaded:
                if full in inst.mod.by_name:
                    r = inst.mod, full
                    break
    if len(_ABBREV_CACHE) > 5000:
        _ABBREV_CACHE.clear()
    _ABBREV_CACHE[ck] = r
    return r


def _parse_rule_body(toks, i, quoted, family, table, chain, chains):
    """Parse the tokens of one rule after '-A CHAIN'.

    Returns a list of (text, key, target, goto, jumps): more than one when -s or -d list
    several addresses (iptables-restore adds one rule per combination).

    Options of extensions are dispatched like iptables does with its merged getopt table: an
    option belongs to the first loaded extension that has it and goes to that extension's
    latest instance; '-p PROTO' loads the protocol's match when an unknown option appears.
    """
    n = len(toks)
    src = dst = None
    iin = iout = None
    proto = None
    proto_inv = False
    proto_given = False
    frag = None
    matches = []
    loaded = []
    owners = {}
    latest = {}
    target = None
    tinst = None
    goto = False
    jump = None
    implicit_done = False
    inv = False
    builtin = chain in BUILTIN_CHAINS[table]
    while i < n:
        tok = toks[i]
        if quoted and i in quoted:
            raise _Fail(tok, tok, 'bad argument %r (a quoted value where an option was expected)' % tok)
        g = GENERIC.get(tok)
        if g is None:
            if tok == '!':
                if inv:
                    raise _Fail('!', '!', "multiple '!' flags not allowed")
                inv = True
                i += 1
                continue
            mod = owners.get(tok)
            full = tok
            if mod is None:
                if len(tok) < 2 or tok[0] != '-':
                    raise _Fail(tok, tok, 'bad argument %r' % tok)
                if tok in _GENERIC_PREFIXES or any(tok in x.mod.prefixes for x in loaded):
                    mod, full = _abbrev(tok, loaded)
                else:
                    full = ()
                if mod == 'generic':
                    letter = _GETOPT_LONG[full]
                    if letter not in _LETTER_OPT:
                        raise _Fail(tok, tok, '%s (%s) is not a rule option' % (tok, full))
                    g = letter
                    mod = None
                elif mod is None and not implicit_done and proto is not None and not proto_inv:
                    implicit_done = True
                    pm = PROTO_MATCHES.get(proto)
                    if pm is not None and pm not in latest and MATCHES[pm].family in (None, family):
                        pmod = MATCHES[pm]
                        newinst = _Inst(pmod, pm)
                        loaded.append(newinst)
                        mod = pmod.owner.get(tok)
                        full = tok
                        if mod is None:
                            mod, full = _abbrev(tok, loaded)
                            if mod == 'generic':
                                mod = None
                        if mod is None:
                            loaded.pop()
                        else:
                            matches.append(newinst)
                            latest[pm] = newinst
                            merged = dict(pmod.owner)
                            merged.update(owners)
                            owners = merged
            if g is None:
                if mod is None:
                    hint = ''
                    for other in loaded:
                        for oname in other.mod.by_name:
                            if tok.startswith(oname + '-'):
                                hint = " (did you mean '%s %s'?)" % (oname, tok[len(oname) + 1:])
                    if full:
                        raise _Fail(tok, tok, 'ambiguous option %r (could be %s)' % (tok, ', '.join(full)))
                    where = ''
                    if loaded:
                        where = ' for %s' % ', '.join(("'-j %s'" if m is tinst else "'-m %s'") % m.name
                                                      for m in loaded)
                    raise _Fail(tok, tok, 'unknown option %r%s%s' % (tok, where, hint))
                inst = latest[mod.name]
                opt = mod.by_name[full]
                if inv and not opt.inv:
                    raise _Fail(full, full, 'option %s cannot be inverted' % full)
                slots = inst.slots
                prev = slots.get(opt.slot)
                if prev is not None:
                    if prev[0] is opt:
                        raise _Fail(full, full, 'option %s can only be used once' % full)
                    raise _Fail(full, full, 'options %s and %s cannot be used together' % (prev[0].names[0], full))
                nargs = opt.nargs
                if nargs == 0:
                    args = ()
                    i += 1
                else:
                    args = toks[i + 1:i + 1 + nargs]
                    if len(args) < nargs:
                        raise _Fail(full, '', 'option %s requires %s'
                                    % (full, 'an argument' if nargs == 1 else '%d arguments' % nargs))
                    if '!' in args:
                        for k in range(nargs):
                            if args[k] == '!' and (i + 1 + k) not in quoted:
                                raise _Fail(full, '!', "old negation syntax '%s ! VALUE' is not supported: "
                                            "write '! %s VALUE'" % (full, full))
                    i += 1 + nargs
                slots[opt.slot] = (opt, inv, args)
                inv = False
                continue
        # a generic option
        if g == 'f':
            if family != 'ipv4':
                raise _Fail(tok, tok, '-f (fragment) exists for IPv4 only')
            if frag is not None:
                raise _Fail(tok, tok, 'multiple -f flags not allowed')
            frag = inv
            inv = False
            i += 1
            continue
        if i + 1 >= n:
            raise _Fail(tok, '', 'option %s requires an argument' % tok)
        val = toks[i + 1]
        if val == '!' and (i + 1) not in quoted:
            nxt = toks[i + 2] if i + 2 < n else 'VALUE'
            raise _Fail(tok, '!', "old negation syntax '%s ! %s' is not supported: write '! %s %s'"
                        % (tok, nxt, _GENERIC_PRINT[g], nxt))
        if g == 'm':
            if inv:
                raise _Fail('!', val, "'!' cannot negate -m (negate the match's options instead)")
            mname = MATCH_ALIASES.get(val, val)
            mod = MATCHES.get(mname)
            if mod is not None:
                if mod.family is not None and mod.family != family:
                    raise _Fail(tok, val, "match '%s' does not exist for %s" % (val, family))
                inst = _Inst(mod, mname)
                matches.append(inst)
                loaded.append(inst)
                if mname not in latest:
                    merged = dict(mod.owner)
                    merged.update(owners)
                    owners = merged
                latest[mname] = inst
                i += 2
            else:
                if not val or val[0] == '-' or len(val) > 28 or (quoted and (i + 1) in quoted):
                    raise _Fail(tok, val, 'invalid match name %r' % val)
                opaque, j = _opaque_tokens(toks, i + 2, quoted)
                matches.append(_Inst(None, val, opaque))
                i = j
        elif g == 's' or g == 'd':
            if (src if g == 's' else dst) is not None:
                raise _Fail(tok, val, 'multiple %s flags not allowed' % _GENERIC_PRINT[g])
            try:
                if ',' in val:
                    nets = [_net_text(part, family) for part in val.split(',')]
                else:
                    nets = [_net_text(val, family)]
            except BadValue as e:
                raise _Fail(tok, val, e.message) from None
            if g == 's':
                src = (inv, nets)
            else:
                dst = (inv, nets)
            inv = False
            i += 2
        elif g == 'p':
            if proto_given:
                raise _Fail(tok, val, 'multiple -p flags not allowed')
            proto_given = True
            try:
                num = parse_proto(val)
            except BadValue as e:
                raise _Fail(tok, val, e.message) from None
            if num == 0:
                if inv:
                    raise _Fail(tok, val, 'rule would never match protocol')
                proto = None
            else:
                proto = num
                proto_inv = inv
            inv = False
            i += 2
        elif g == 'j' or g == 'g':
            if target is not None:
                raise _Fail(tok, val, 'multiple -j/-g flags not allowed')
            if inv:
                raise _Fail('!', val, "'!' cannot negate %s" % _GENERIC_PRINT[g])
            target = val
            goto = g == 'g'
            mod = None if goto else TARGETS.get(val)
            if mod is not None:
                # a target extension wins over a user chain of the same name, as in iptables
                if mod.tables is not None and table not in mod.tables:
                    raise _Fail(tok, val, 'target %s is only valid in the %s table(s)'
                                % (val, '/'.join(mod.tables)))
                if mod.hooks is not None and builtin and chain not in mod.hooks:
                    raise _Fail(tok, val, 'target %s is only valid in the %s chain(s), not %s'
                                % (val, '/'.join(mod.hooks), chain))
                tinst = _Inst(mod, val)
                if mod.opts:
                    loaded.append(tinst)
                    merged = dict(mod.owner)
                    merged.update(owners)
                    owners = merged
                    latest[val] = tinst
                i += 2
            elif val in chains:
                jump = val
                i += 2
            elif val in BUILTIN_CHAINS[table]:
                raise _Fail(tok, val, "cannot jump to the built-in chain '%s'" % val)
            elif goto:
                raise _Fail(tok, val, "-g needs a user-defined chain of table '%s'; '%s' is not declared"
                            % (table, val))
            elif val in OPAQUE_TARGETS:
                opaque, j = _opaque_tokens(toks, i + 2, quoted)
                tinst = _Inst(None, val, opaque)
                i = j
            else:
                raise _Fail(tok, val, "unknown target '%s': neither a target extension nor a chain "
                            "declared in table '%s'" % (val, table))
        elif g == 'i' or g == 'o':
            if (iin if g == 'i' else iout) is not None:
                raise _Fail(tok, val, 'multiple %s flags not allowed' % _GENERIC_PRINT[g])
            if not val or len(val.encode('utf-8', 'surrogateescape')) > MAX_IFNAME or val[0] == '-' or \
                    any(c in val for c in ' \t\'"/'):
                raise _Fail(tok, val, 'invalid interface name %r (1 to %d characters, counted in UTF-8 bytes; no '
                            'blanks, quotes or /)' % (val, MAX_IFNAME))
            if g == 'i':
                if builtin and chain in _NO_IN:
                    raise _Fail(tok, val, "can't use -i with %s" % chain)
                iin = (inv, val)
            else:
                if builtin and chain in _NO_OUT:
                    raise _Fail(tok, val, "can't use -o with %s" % chain)
                iout = (inv, val)
            inv = False
            i += 2
        else:  # 'c'
            if i + 2 >= n or not is_ascii_digits(toks[i + 1]) or not is_ascii_digits(toks[i + 2]):
                raise _Fail(tok, val, '-c needs two numbers: packets and bytes')
            if inv:
                raise _Fail('!', val, "'!' cannot negate -c")
            i += 3
    if inv:
        raise _Fail('!', '!', "'!' must be followed by an option")

    ctx = Ctx(family, table, chain)
    ctx.proto = proto
    ctx.proto_inv = proto_inv
    # generic part, in iptables-save's order (-s and -d are added per address below)
    text = []
    if iin is not None:
        if iin[0]:
            text.append('!')
        text.append('-i')
        text.append(iin[1])
    if iout is not None:
        if iout[0]:
            text.append('!')
        text.append('-o')
        text.append(iout[1])
    if proto is not None:
        if proto_inv:
            text.append('!')
        text.append('-p')
        text.append(proto_name(proto))
    if frag is not None:
        if frag:
            text.append('!')
        text.append('-f')
    key = None  # separate key tokens, once an extension needs them
    for m in matches:
        mod = m.mod
        if mod is None:
            if key is None:
                key = text[:]
            text.append('-m')
            text.append(m.name)
            key.append('-m')
            key.append(m.name)
            for t, q in m.opaque:
                text.append(_opaque_text(t, q))
                key.append(t)
            continue
        req = mod.proto
        if req is not None and (proto != req or proto_inv):
            raise _Fail('-m', m.name, "the %s match requires '-p %s'" % (m.name, proto_name(req)))
        t, k = _module_tokens(m, ctx, '-m')
        if key is None and k is not t:
            key = text[:]
        text.append('-m')
        text.append(m.name)
        text.extend(t)
        if key is not None:
            key.append('-m')
            key.append(m.name)
            key.extend(k)
    if target is not None:
        flag = '-g' if goto else '-j'
        text.append(flag)
        text.append(target)
        if key is not None:
            key.append(flag)
            key.append(target)
        if tinst is not None:
            if tinst.mod is None:
                if key is None:
                    key = text[:]
                for t, q in tinst.opaque:
                    text.append(_opaque_text(t, q))
                    key.append(t)
            elif tinst.mod.opts:
                t, k = _module_tokens(tinst, ctx, '-j')
                if key is None and k is not t:
                    key = text[:]
                text.extend(t)
                if key is not None:
                    key.extend(k)
    # the key is the text, or (when an extension compares differently from how it prints)
    # the key tokens joined by NUL
    if src is None and dst is None:
        s = ' '.join(text)
        return [(s, s if key is None else '\x00'.join(key), target, goto, jump)]
    srcs = src[1] if src is not None else (None,)
    dsts = dst[1] if dst is not None else (None,)
    any_net = '0.0.0.0/0' if family == 'ipv4' else '::/0'
    tail = ' '.join(text)
    ktail = None if key is None else '\x00'.join(key)
    out = []
    for s in srcs:
        for d in dsts:
            pre = []
            if s is not None and (s or src[0]):
                if src[0]:
                    pre.append('!')
                pre.append('-s')
                pre.append(s or any_net)
            if d is not None and (d or dst[0]):
                if dst[0]:
                    pre.append('!')
                pre.append('-d')
                pre.append(d or any_net)
            if not pre:
                t = tail
                k = ktail
            else:
                t = ' '.join(pre) + ' ' + tail if tail else ' '.join(pre)
                k = None if ktail is None else ('\x00'.join(pre) + '\x00' + ktail if ktail else '\x00'.join(pre))
            out.append((t, t if k is None else k, target, goto, jump))
    return out


# ------------------------------------------------------------------------- parse

_CONTROL_SEARCH = CONTROL_RE.search


def _words(line):
    """[(start, end, text, quoted)] of the words of line as iptables-restore splits them (at blanks
    and tabs; quotes group words). Only for locating a bad character in an error message."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        if line[i] in _BLANKS:
            i += 1
            continue
        start = i
        buf = []
        quoted = False
        while i < n and line[i] not in _BLANKS:
            q = line[i]
            if q not in '"\'':
                buf.append(q)
                i += 1
                continue
            quoted = True
            i += 1
            while i < n and line[i] != q:
                if q == '"' and line[i] == '\\' and i + 1 < n:
                    i += 1
                buf.append(line[i])
                i += 1
            i += 1
        out.append((start, min(i, n), ''.join(buf), quoted))
    return out


def _control_error(line, lineno=None, raw=None, body_only=False):
    """The ParseError of a line (or, body_only, of a rule without '-A CHAIN') holding a control
    character: the field is the option (or 'chain', 'policy', 'table', ...) whose value holds it."""
    pos = _CONTROL_SEARCH(line).start()
    words = _words(line)
    k = 0
    for j, w in enumerate(words):
        if w[0] <= pos < w[1]:
            k = j
            break
    value = words[k][2] if words else line
    field = 'rule'
    first = '-' if body_only else line[0]
    lo = None
    if body_only:
        lo = 0
    elif first == ':':
        field = ('chain', 'policy')[k] if k < 2 else 'counters'
        if k == 0:
            value = value[1:]
    elif first == '*':
        field = 'table'
        value = line[1:].strip(_BLANKS)
    elif first in '-[':
        base = 1 if first == '[' else 0
        if k < base:
            field = 'counters'
        elif k == base + 1:
            field = 'chain'
        elif k > base + 1:
            lo = base + 2
    else:
        field = 'line'
    if lo is not None:
        for j in range(k, lo - 1, -1):
            dummy, dummy2, text, quoted = words[j]
            if not quoted and len(text) > 1 and text[0] == '-':
                field = text
                break
    return ParseError(char_problem(value) or char_problem(line), lineno, raw, field, value)


def _check_chain_name(name):
    """Why name cannot be a user-defined chain, or None."""
    if control_char(name) is not None:
        return char_problem(name)
    if not name or len(name.encode('utf-8', 'surrogateescape')) > MAX_CHAIN_NAME:
        return 'chain name %r must be 1 to %d characters (counted in UTF-8 bytes)' % (name, MAX_CHAIN_NAME)
    if name[0] in '-!' or any(c in _WS or c in '"\'' for c in name):
        return 'invalid chain name %r' % name
    if name in _VERDICTS:
        return 'chain name %r clashes with a standard target' % name
    return None


chain_name_problem = _check_chain_name


def _find_loops(table):
    """(chain, rule) of a jump that closes a loop, or None."""
    graph = {}
    for c in table.chains.values():
        graph[c.name] = [r for r in c.rules if r._jump is not None]
    state = {}
    for start in graph:
        if state.get(start):
            continue
        stack = [(start, iter(graph[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                continue
            tgt = nxt._jump
            st = state.get(tgt)
            if st == 1:
                return nxt
            if st is None:
                state[tgt] = 1
                stack.append((tgt, iter(graph.get(tgt, ()))))
    return None


class _Known:
    """The rules of an already parsed Ruleset by their restore line ('-A CHAIN TEXT'), one dict per
    table, built on first use: parse(known=...) takes a line found here from the parsed rule instead
    of parsing it again."""

    __slots__ = ('ruleset', 'lines')

    def __init__(self, ruleset):
        self.ruleset = ruleset
        self.lines = {}

    def table(self, name):
        found = self.lines.get(name)
        if found is None:
            found = {}
            table = self.ruleset.tables.get(name)
            for chain in (table.chains.values() if table is not None else ()):
                pre = '-A ' + chain.name
                pre_sp = pre + ' '
                for rule in chain.rules:
                    found.setdefault(pre_sp + rule.text if rule.text else pre, rule)
            self.lines[name] = found
        return found


def parse(text, family='ipv4', known=None):
    """Parse iptables-restore / iptables-save text into a Ruleset. Raises ParseError.

    known: None, or a Ruleset of the same family parsed before (the desired ruleset, when TEXT is
    what iptables-save printed after applying it, or a file render() wrote from it). A rule line of
    TEXT that is exactly one of its rules in canonical spelling ('-A CHAIN ' + Rule.text, as
    iptables-save prints it) is taken from that rule instead of being parsed again: the canonical
    text reads back as itself (the same key, target and jump), so the result is the one parse()
    gives without known, at a fraction of the cost. Only a rule in a declared chain of the same
    table whose jump resolves the same way (its chain declared; a target that is not a user chain
    of TEXT) is taken; any other line, and any line that differs by one byte, is parsed."""
    if family not in FAMILIES:
        raise ValueError('family must be ipv4 or ipv6, not %r' % (family,))
    index = _Known(known) if known is not None and known.family == family and known.tables else None
    lines_of = None
    rs = Ruleset(family)
    table = None
    tname = None
    theader = None
    chains = {}
    user = set()
    declared = set()
    if '\r' in text:
        text = text.replace('\r\n', '\n')
    lines = text.split('\n')
    lineno = 0
    for raw in lines:
        lineno += 1
        line = raw.strip()
        if not line or line[0] == '#':
            continue
        if lines_of is not None and line[0] == '-':
            rule = lines_of.get(line)
            if rule is not None:
                chain = chains.get(rule.chain)
                jump = rule._jump
                if chain is not None and ((jump in user) if jump is not None else rule.target not in user):
                    chain.rules.append(Rule(rule.chain, rule.key, rule.text, rule.target, rule.goto, lineno, jump))
                    continue
        if _CONTROL_SEARCH(line) is not None:
            raise _control_error(line, lineno, raw)
        c = line[0]
        if c == '-' or c == '[':
            if table is None:
                raise ParseError('rule outside a table (no *table line before it)', lineno, raw, 'table', '')
            body = line
            if c == '[':
                end = line.find(']')
                if end < 0 or not _COUNTERS_RE.match(line[:end + 1]):
                    raise ParseError('bad counters %r' % line[:end + 1 if end >= 0 else None], lineno, raw, 'counters',
                                     line[:end + 1 if end >= 0 else None])
                body = line[end + 1:].lstrip()
            try:
                toks, quoted = _tokens(body)
            except ValueError as e:
                raise ParseError('unbalanced quote', lineno, raw, 'quote', str(e)) from None
            if not toks:
                raise ParseError('empty rule', lineno, raw, 'rule', '')
            cmd = toks[0]
            if cmd == '-A' or cmd == '--append':
                insert = None
                start = 2
            elif cmd == '-I' or cmd == '--insert':
                insert = 1
                start = 2
                if len(toks) > 2 and toks[2].isdigit() and not toks[2].isascii():
                    raise ParseError('invalid rule number %r: ASCII digits only' % toks[2], lineno, raw, cmd, toks[2])
                if len(toks) > 2 and is_ascii_digits(toks[2]):
                    insert = int(toks[2])
                    start = 3
                    if insert < 1:
                        raise ParseError('invalid rule number %r: rule numbers start at 1' % toks[2], lineno, raw,
                                         cmd, toks[2])
                elif len(toks) > 2 and toks[2][:1] == '-' and is_ascii_digits(toks[2][1:]):
                    raise ParseError('invalid rule number %r: rule numbers start at 1' % toks[2], lineno, raw, cmd,
                                     toks[2])
            else:
                raise ParseError('unsupported command %r: restore files may contain -A and -I rules only' % cmd,
                                 lineno, raw, cmd, cmd)
            if len(toks) < 2 or (1 in quoted):
                raise ParseError('%s needs a chain name' % cmd, lineno, raw, 'chain', '')
            cname = toks[1]
            chain = chains.get(cname)
            if chain is None:
                raise ParseError("chain '%s' is not declared in table '%s'" % (cname, tname), lineno, raw, 'chain',
                                 cname)
            try:
                parsed = _parse_rule_body(toks, start, quoted, family, tname, cname, user)
            except _Fail as e:
                raise ParseError(e.message, lineno, raw, e.field, e.value) from None
            new = [Rule(cname, key, rtext, tgt, gt, lineno, jmp) for rtext, key, tgt, gt, jmp in parsed]
            if insert is None:
                chain.rules.extend(new)
            else:
                if insert - 1 > len(chain.rules):
                    raise ParseError('rule number %d too big: chain %s has %d rule(s)'
                                     % (insert, cname, len(chain.rules)), lineno, raw, cmd, str(insert))
                chain.rules[insert - 1:insert - 1] = new
        elif c == ':':
            if table is None:
                raise ParseError('chain declaration outside a table', lineno, raw, 'table', '')
            parts = _split_ws(line[1:])
            if len(parts) < 2 or len(parts) > 3:
                raise ParseError('chain declaration must read :NAME POLICY [PACKETS:BYTES]', lineno, raw, 'chain',
                                 line)
            name, policy = parts[0], parts[1]
            if len(parts) == 3 and not _COUNTERS_RE.match(parts[2]):
                raise ParseError('bad counters %r' % parts[2], lineno, raw, 'counters', parts[2])
            if name in declared:
                raise ParseError("chain '%s' declared twice" % name, lineno, raw, 'chain', name)
            declared.add(name)
            if name in BUILTIN_CHAINS[tname]:
                if policy == '-':
                    raise ParseError("built-in chain '%s' needs a policy (ACCEPT or DROP), not '-'" % name,
                                     lineno, raw, 'policy', policy)
                if policy not in POLICIES:
                    raise ParseError('bad policy %r for %s (ACCEPT or DROP)' % (policy, name), lineno, raw,
                                     'policy', policy)
                ch = chains[name]
                ch.policy = policy
                ch.lineno = lineno
            else:
                if policy != '-':
                    raise ParseError("user-defined chain '%s' cannot have a policy (write '-', not %r)"
                                     % (name, policy), lineno, raw, 'policy', policy)
                msg = _check_chain_name(name)
                if msg:
                    raise ParseError(msg, lineno, raw, 'chain', name)
                chains[name] = Chain(name, None, [], lineno)
                user.add(name)
        elif c == '*':
            name = line[1:].strip(_BLANKS)
            if table is not None:
                raise ParseError("table '%s' is not closed by COMMIT before the next table" % tname, lineno, raw,
                                 'COMMIT', tname)
            if name not in BUILTIN_CHAINS:
                raise ParseError('unknown table %r (one of %s)' % (name, ', '.join(TABLES)), lineno, raw, 'table',
                                 name)
            if name in rs.tables:
                raise ParseError("table '%s' appears twice" % name, lineno, raw, 'table', name)
            table = new_table(name)
            table.lineno = lineno
            tname = name
            theader = raw
            chains = table.chains
            lines_of = index.table(name) if index is not None else None
            user = set()
            declared = set()
        elif line == 'COMMIT':
            if table is None:
                raise ParseError('COMMIT without a table', lineno, raw, 'COMMIT', '')
            bad = _find_loops(table)
            if bad is not None:
                raise ParseError("jump to '%s' makes a loop" % bad._jump, bad.lineno, lines[bad.lineno - 1],
                                 '-g' if bad.goto else '-j', bad._jump)
            rs.tables[tname] = table
            table = None
            lines_of = None
        else:
            word = _split_ws(line)[0]
            raise ParseError('unexpected line (expected *table, :CHAIN, -A, COMMIT or # comment)', lineno, raw,
                             'line', word)
    if table is not None:
        raise ParseError("table '%s' is not closed by COMMIT" % tname, table.lineno, theader, 'COMMIT', tname)
    if not rs.tables:
        raise ParseError('no table found (empty input?)', None, None, 'table', '')
    return rs


def parse_rule(spec, chain='INPUT', table='filter', family='ipv4', chains=()):
    """Canonicalise one rule written as iptables options ('-p tcp --dport 22 -j ACCEPT').

    chains: user-defined chains of the table it may jump to. Returns a Rule (the first one if
    -s/-d list several addresses). Raises ParseError.
    """
    if table not in BUILTIN_CHAINS:
        raise ParseError('unknown table %r' % (table,), None, spec, 'table', table)
    if control_char(chain) is not None:
        raise ParseError(char_problem(chain), None, spec, 'chain', chain)
    if control_char(spec) is not None:
        raise _control_error(spec, None, spec, True)
    try:
        toks, quoted = _tokens(spec)
    except ValueError as e:
        raise ParseError('unbalanced quote', None, spec, 'quote', str(e)) from None
    try:
        parsed = _parse_rule_body(toks, 0, quoted, family, table, chain, set(chains))
    except _Fail as e:
        raise ParseError(e.message, None, spec, e.field, e.value) from None
    rtext, key, tgt, gt, jmp = parsed[0]
    return Rule(chain, key, rtext, tgt, gt, None, jmp)


# ------------------------------------------------------------------------ render

def render_table(table, sort_chains=False):
    """Restore text of one table (lines, without the final newline)."""
    out = ['*' + table.name]
    chains = list(table.chains.values())
    if sort_chains:
        chains = [c for c in chains if c.policy is not None] + sorted(
            (c for c in chains if c.policy is None), key=lambda c: c.name)
    for c in chains:
        out.append(':%s %s [0:0]' % (c.name, c.policy or '-'))
    for c in chains:
        pre = '-A ' + c.name
        pre_sp = pre + ' '
        out.extend([pre_sp + r.text if r.text else pre for r in c.rules])
    out.append('COMMIT')
    return '\n'.join(out)


def _table_names(tables, given):
    if given is None:
        return [t for t in TABLES if t in tables]
    for t in given:
        if t not in BUILTIN_CHAINS:
            raise ValueError('unknown table %r' % (t,))
    return [t for t in TABLES if t in given and t in tables]


def render(ruleset, tables=None):
    """iptables-restore text for the ruleset (or the named tables), in TABLES order."""
    parts = [render_table(ruleset.tables[t]) for t in _table_names(ruleset.tables, tables)]
    return '\n'.join(parts) + '\n' if parts else ''


# -------------------------------------------------------------------------- diff

_HUNK_RE = re.compile(r'^@@ -([0-9]+)(,[0-9]+)? \+([0-9]+)(,[0-9]+)? @@$')


def _unified(a, b, fromfile, tofile, n=3):
    """difflib.unified_diff, fast on long inputs with a small difference."""
    la, lb = len(a), len(b)
    p = 0
    m = min(la, lb)
    while p < m and a[p] == b[p]:
        p += 1
    s = 0
    while s < m - p and a[la - 1 - s] == b[lb - 1 - s]:
        s += 1
    start = max(0, p - n)
    ea = la - max(0, s - n)
    eb = lb - max(0, s - n)
    out = []
    for line in difflib.unified_diff(a[start:ea], b[start:eb], fromfile, tofile, n=n, lineterm=''):
        if start and line.startswith('@@'):
            mo = _HUNK_RE.match(line)
            if mo:
                line = '@@ -%d%s +%d%s @@' % (int(mo.group(1)) + start, mo.group(2) or '',
                                              int(mo.group(3)) + start, mo.group(4) or '')
        out.append(line)
    return out


def diff(before, after, tables=None):
    """Unified diff of two rulesets, table by table ('' when they are canonically equal).

    A table present on one side only is compared with a pristine table.
    """
    names = set(before.tables) | set(after.tables)
    if tables is not None:
        for t in tables:
            if t not in BUILTIN_CHAINS:
                raise ValueError('unknown table %r' % (t,))
        names &= set(tables)
    out = []
    for t in TABLES:
        if t not in names:
            continue
        a = before.tables.get(t) or new_table(t)
        b = after.tables.get(t) or new_table(t)
        if tables_equal(a, b):
            continue
        out.extend(_unified(render_table(a, True).split('\n'), render_table(b, True).split('\n'),
                            'before (%s %s)' % (before.family, t), 'after (%s %s)' % (after.family, t)))
    return '\n'.join(out) + '\n' if out else ''
