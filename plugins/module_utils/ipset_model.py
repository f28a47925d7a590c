# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure model of ipset sets: names, members, ``ipset save`` text, diffs and payloads.

No AnsibleModule, no file or process access: the module (plugins/modules/ipset.py) reads
``ipset save NAME`` and the persisted file, and hands the text to these functions.

* check_name(name): a set name the kernel accepts and that can never be read as an option or
  a path: ASCII letters, digits, ``_ . : -``, 1 to 31 characters, not starting with ``-``.
* SetSpec: the type, family and creation options of a set; ``key()`` is what idempotence
  compares (hashsize is left out: it is a starting size the kernel grows on its own).
* member_key(text, set_type, family): the canonical key of one member (``10.0.0.1/32`` and
  ``10.0.0.1`` are the same key in a hash:net set); raises IpsetError naming the entry.
* parse_members(items, spec): the keys of a member list; every bad entry is reported.
* parse_save(text): ``ipset save`` (or ``ipset list -output save``) text -> {name: LiveSet}.
* render_swap / render_create / render_rebuild / render_restore_previous / render_block: the
  ``ipset restore`` payloads (every change is built in a temporary set, TEMP_PREFIX, first) and the
  persisted block of a set; merge_persisted(): the persisted file with one set's block
  replaced, added or removed, the other sets left as they are.
* references(save_text, name): the iptables rules (``-m set --match-set NAME`` and the SET
  target's ``--add-set`` / ``--del-set`` / ``--map-set NAME``) that use a set.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import shlex

__metaclass__ = type

TYPES = ('hash:net', 'hash:ip', 'hash:ip,port')
FAMILIES = ('inet', 'inet6')
PORT_PROTOS = ('tcp', 'udp', 'sctp', 'udplite')
MAX_NAME = 31
MAX_MEMBER_CHARS = 100
SAMPLE = 10
DEFAULT_HASHSIZE = 1024
DEFAULT_MAXELEM = 65536
# What the kernel takes (ip_set_hash_gen.h, ip_set_timeout.h): a hash table of at most 2^27 buckets
# (hashsize is rounded up to a power of two; 2^28 pointers no longer fit INT_MAX bytes: ENOMEM),
# maxelem a u32, and a timeout of at most (UINT_MAX >> 1) / 1000 seconds.
MIN_HASHSIZE = 64
MAX_HASHSIZE = 1 << 27
MAX_MAXELEM = (1 << 32) - 1
MAX_TIMEOUT = 2147483
BOUNDS = {'hashsize': (MIN_HASHSIZE, MAX_HASHSIZE), 'maxelem': (1, MAX_MAXELEM), 'timeout': (0, MAX_TIMEOUT)}

# The temporary sets a change is built in (temp_name): no user set may be named so (check_name).
TEMP_PREFIX = 'rft_'
_NAME_RE = re.compile(r'\A[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,30}\Z')
_DIGITS_RE = re.compile(r'\A[0-9]{1,10}\Z')
# creation options that take a value / that are flags, as ipset save prints them
_VALUE_OPTS = ('family', 'hashsize', 'maxelem', 'timeout', 'bucketsize', 'initval', 'netmask', 'markmask',
               'size', 'range')
_FLAG_OPTS = ('counters', 'comment', 'skbinfo', 'forceadd')
# options that say nothing about what the set holds or does
_IGNORED_OPTS = ('hashsize', 'bucketsize', 'initval')
# entry options of an "add" line that are state, not membership
_ENTRY_VALUE_OPTS = ('timeout', 'packets', 'bytes', 'comment', 'skbmark', 'skbprio', 'skbqueue')


class IpsetError(ValueError):
    """Bad input: the message names the option or entry, escaped and shortened.

    entry and reason (when set): the same message without the entry's text, for entries read from
    a file, whose content is not quoted."""

    def __init__(self, msg, entry=None, reason=None):
        ValueError.__init__(self, msg)
        self.entry = entry
        self.reason = reason


def _bad(entry, text, reason, hint=''):
    """The IpsetError of a bad entry: "ENTRY: 'TEXT' REASON HINT" (reason without the text kept apart)."""
    return IpsetError("%s: '%s' %s%s" % (entry, excerpt(text), reason, hint), entry, reason)


def excerpt(text, limit=60):
    """TEXT for a message: control and non-ASCII characters escaped, at most LIMIT characters."""
    shown = repr(str(text))[1:-1]
    return shown if len(shown) <= limit else shown[:limit] + '...'


def check_name(name, option='name'):
    """Return NAME when it is a safe set name, and not one of the reserved temporary names
    (TEMP_PREFIX); raise IpsetError naming OPTION otherwise."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise IpsetError("%s must be 1 to %d characters of ASCII letters, digits, '_', '.', ':' or '-', not "
                         "starting with '-': '%s'" % (option, MAX_NAME, excerpt(name)))
    if name.startswith(TEMP_PREFIX):
        raise IpsetError("%s must not start with '%s' (reserved for the temporary sets a change is built in): '%s'"
                         % (option, TEMP_PREFIX, excerpt(name)))
    return name


def temp_name(name, taken=()):
    """The name of the temporary set a new member list is built in before the swap (at most 31
    characters, TEMP_PREFIX and 16 hex digits): the first candidate not in TAKEN (the live set
    names), so that a live set of that name, whoever left it, is never touched."""
    check_name(name)
    for attempt in range(1000):
        seed = name if not attempt else '%s#%d' % (name, attempt)
        tmp = '%s%s' % (TEMP_PREFIX, hashlib.sha256(seed.encode('ascii')).hexdigest()[:16])
        if tmp not in taken:
            return tmp
    raise IpsetError('no free temporary set name for %s: destroy the leftover %s* sets' % (excerpt(name), TEMP_PREFIX))


class SetSpec:
    """Type, family and creation options of a set. timeout None: no timeout support; counters and
    comment: the extensions; extra: other creation options (read from a live set), kept as text."""

    __slots__ = ('set_type', 'family', 'hashsize', 'maxelem', 'timeout', 'counters', 'comment', 'extra')

    def __init__(self, set_type='hash:net', family='inet', hashsize=None, maxelem=None, timeout=None,
                 counters=False, comment=False, extra=()):
        if set_type not in TYPES:
            raise IpsetError('type must be one of %s, not %s' % (', '.join(TYPES), excerpt(set_type)))
        if family not in FAMILIES:
            raise IpsetError('family must be inet or inet6, not %s' % excerpt(family))
        for what, value in (('hashsize', hashsize), ('maxelem', maxelem), ('timeout', timeout)):
            low, high = BOUNDS[what]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
                raise IpsetError('%s must be an integer from %d to %d (what the kernel takes), not %s'
                                 % (what, low, high, excerpt(value)))
        self.set_type = set_type
        self.family = family
        self.hashsize = hashsize if hashsize is not None else DEFAULT_HASHSIZE
        self.maxelem = maxelem if maxelem is not None else DEFAULT_MAXELEM
        self.timeout = timeout
        self.counters = bool(counters)
        self.comment = bool(comment)
        self.extra = tuple(extra)

    def key(self):
        """What idempotence compares (hashsize is only a starting size)."""
        return (self.set_type, self.family, self.maxelem, self.timeout, self.counters, self.comment, self.extra)

    def swappable(self, other):
        """ipset swap needs the same type and family."""
        return self.set_type == other.set_type and self.family == other.family

    def as_dict(self):
        return {'type': self.set_type, 'family': self.family, 'hashsize': self.hashsize, 'maxelem': self.maxelem,
                'timeout': self.timeout, 'counters': self.counters, 'comment': self.comment,
                'other_options': list(self.extra)}

    def create_line(self, name):
        words = ['create', name, self.set_type, 'family', self.family, 'hashsize', str(self.hashsize),
                 'maxelem', str(self.maxelem)]
        if self.timeout is not None:
            words += ['timeout', str(self.timeout)]
        if self.counters:
            words.append('counters')
        if self.comment:
            words.append('comment')
        return ' '.join(words)

    def __repr__(self):
        return 'SetSpec(%s)' % self.create_line('-')


# ----------------------------------------------------------------------- members

def _version(family):
    return 4 if family == 'inet' else 6


def _address(text, family, entry):
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise _bad(entry, text, 'is not an %s address' % ('IPv4' if family == 'inet' else 'IPv6'))
    if addr.version != _version(family):
        raise _bad(entry, text, 'is an IPv%d address, but the set has family %s' % (addr.version, family))
    return addr


def _network(text, family, entry):
    if '/' not in text:
        addr = _address(text, family, entry)
        return int(addr), addr.max_prefixlen
    addr_text, _slash, plen = text.partition('/')
    if _DIGITS_RE.match(plen):
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError:
            net = None
        if net is not None and net.version == _version(family) and net.prefixlen:
            return int(net.network_address), net.prefixlen
    # the slow way, for a precise message
    _address(addr_text, family, entry)
    if not _DIGITS_RE.match(plen):
        raise _bad(entry, text, 'has a bad prefix length')
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if 'host bits' in str(exc):
            raise _bad(entry, text, 'has host bits set', ': write the network address (%s) or a single address'
                       % ipaddress.ip_network(text, strict=False))
        raise _bad(entry, text, 'is not an %s network' % ('IPv4' if family == 'inet' else 'IPv6'))
    if net.prefixlen == 0:
        raise _bad(entry, text, 'is /0: a hash:net set cannot hold a /0 network')
    return int(net.network_address), net.prefixlen


def _not_null(addr, ver, set_type, entry, raw):
    """The unspecified address (0.0.0.0, ::) as a member of a hash:ip or hash:ip,port set: ipset refuses it
    ("Null-valued element, cannot be stored in a hash type of set"; the kernel: EINVAL for hash:ip,port),
    so an ipset restore with it would fail half-way. (hash:net stores 0.0.0.0 as a /32 network.)"""
    if addr == 0:
        raise _bad(entry, raw, 'is the unspecified address %s: a %s set cannot hold it (ipset refuses a null-valued '
                   'element)' % ('0.0.0.0' if ver == 4 else '::', set_type))


def member_keys(text, set_type, family, entry='member'):
    """The canonical keys of one member text (a range in a hash:net set gives several). Raises IpsetError.

    hash:net: (version, address int, prefix length, nomatch); hash:ip: (version, address int);
    hash:ip,port: (version, address int, protocol, port)."""
    if not isinstance(text, str):
        raise IpsetError('%s must be a string, not %s' % (entry, excerpt(repr(text))))
    raw = text.strip()
    if not raw:
        raise IpsetError('%s is empty' % entry)
    if len(raw) > MAX_MEMBER_CHARS or '%' in raw or any(ord(c) < 33 and c != ' ' or ord(c) > 126 for c in raw):
        raise _bad(entry, raw, 'is not a member (printable ASCII, at most %d characters)' % MAX_MEMBER_CHARS)
    ver = _version(family)
    words = raw.split()
    value, flags = words[0], words[1:]
    nomatch = False
    if flags == ['nomatch'] and set_type == 'hash:net':
        nomatch = True
    elif flags:
        raise _bad(entry, raw, 'is not a member: one address%s per entry'
                   % (' or network (optionally followed by nomatch)' if set_type == 'hash:net' else ''))
    if set_type == 'hash:net':
        if '-' in value:
            first, _dash, last = value.partition('-')
            lo = _address(first, family, entry)
            hi = _address(last, family, entry)
            if int(hi) < int(lo):
                raise _bad(entry, raw, 'is a range that ends before it starts')
            nets = list(ipaddress.summarize_address_range(lo, hi))
            if any(not n.prefixlen for n in nets):
                raise _bad(entry, raw, 'is a range of every address (/0): a hash:net set cannot hold a /0 network')
            return [(ver, int(n.network_address), n.prefixlen, nomatch) for n in nets]
        addr, plen = _network(value, family, entry)
        return [(ver, addr, plen, nomatch)]
    if set_type == 'hash:ip':
        if '/' in value:
            addr, plen = _network(value, family, entry)
            if plen != (32 if ver == 4 else 128):
                raise _bad(entry, raw, 'is a network: a hash:ip set holds single addresses (use type hash:net)')
        else:
            addr = int(_address(value, family, entry))
        _not_null(addr, ver, set_type, entry, raw)
        return [(ver, addr)]
    # hash:ip,port
    addr_text, comma, port_text = value.partition(',')
    if not comma:
        raise _bad(entry, raw, 'is not ADDRESS,PROTO:PORT (for example 192.0.2.1,tcp:22)')
    if '/' in addr_text:
        addr, plen = _network(addr_text, family, entry)
        if plen != (32 if ver == 4 else 128):
            raise _bad(entry, raw, 'is a network: a hash:ip,port set holds single addresses')
    else:
        addr = int(_address(addr_text, family, entry))
    _not_null(addr, ver, set_type, entry, raw)
    proto, colon, port = port_text.partition(':')
    if not colon:
        proto, port = 'tcp', port_text
    proto = proto.lower()
    if proto not in PORT_PROTOS:
        raise _bad(entry, raw, 'has a bad protocol: the protocol must be one of %s' % ', '.join(PORT_PROTOS))
    if not _DIGITS_RE.match(port) or int(port) > 65535:
        raise _bad(entry, raw, 'has a bad port: the port must be a number from 0 to 65535 (no names or ranges)')
    return [(ver, addr, proto, int(port))]


def member_text(key, set_type):
    """The ipset spelling of a key (the inverse of member_keys)."""
    if isinstance(key[1], str):      # a live entry this model does not understand, kept as text
        return key[1]
    addr = ipaddress.ip_address(key[1]) if key[0] == 4 else ipaddress.IPv6Address(key[1])
    if set_type == 'hash:net':
        text = str(addr) if key[2] == addr.max_prefixlen else '%s/%d' % (addr, key[2])
        return text + (' nomatch' if key[3] else '')
    if set_type == 'hash:ip':
        return str(addr)
    return '%s,%s:%d' % (addr, key[2], key[3])


def _strip_comment(text):
    """A member line without its '#' comment; '' for a blank or comment line."""
    return text.split('#', 1)[0].strip()


def parse_members(items, spec, origin='members'):
    """The set of keys of ITEMS (strings; '#' starts a comment, blank items are skipped).

    ORIGIN names the source in errors: 'members' gives 'members[3]' and quotes the bad entry, a
    file ('src PATH') gives 'src PATH line 3' and the reason only: a file may be anything root can
    read, its content is never quoted. Raises IpsetError listing up to 5 bad entries (and how many
    there are)."""
    keys = set()
    errors = []
    count = 0
    quote = origin == 'members'
    for index, item in enumerate(items):
        entry = ('%s[%d]' % (origin, index)) if quote else ('%s line %d' % (origin, index + 1))
        if not isinstance(item, str):
            errors.append('%s must be a string, not %s' % (entry, 'null' if item is None else excerpt(repr(item))))
            continue
        text = _strip_comment(item)
        if not text:
            continue
        count += 1
        try:
            keys.update(member_keys(text, spec.set_type, spec.family, entry))
        except IpsetError as exc:
            errors.append(str(exc) if quote or exc.reason is None else '%s: the entry %s (not quoted)' % (entry, exc.reason))
    if errors:
        more = ' (and %d more bad entries)' % (len(errors) - 5) if len(errors) > 5 else ''
        raise IpsetError('; '.join(errors[:5]) + more)
    if len(keys) > spec.maxelem:
        raise IpsetError('%d members, more than maxelem %d: raise maxelem' % (len(keys), spec.maxelem))
    return keys


def sorted_keys(keys):
    return sorted(keys, key=lambda k: tuple((1, x) if isinstance(x, str) else (0, x) for x in k))


# ----------------------------------------------------------------------- ipset save text

class LiveSet:
    """A set read from ipset save text: spec, keys, and lineno of its create line."""

    __slots__ = ('name', 'spec', 'keys', 'lineno')

    def __init__(self, name, spec, keys, lineno):
        self.name = name
        self.spec = spec
        self.keys = keys
        self.lineno = lineno


def _words(line):
    if '"' not in line and "'" not in line and '\\' not in line:
        return line.split()
    try:
        return shlex.split(line, posix=True)
    except ValueError:
        return line.split()


def parse_create(words, lineno=None):
    """A SetSpec from the words of a create line: ['create', NAME, TYPE, opt...]. Unknown
    types raise IpsetError; unknown options go to extra (so they count as a difference)."""
    where = ' (line %d)' % lineno if lineno else ''
    if len(words) < 3:
        raise IpsetError('cannot read the create line%s: %s' % (where, excerpt(' '.join(words))))
    set_type = words[2]
    if set_type not in TYPES:
        raise IpsetError('the set %s is of type %s%s; this module manages %s'
                         % (excerpt(words[1]), excerpt(set_type), where, ', '.join(TYPES)))
    opts = {}
    extra = []
    i = 3
    while i < len(words):
        word = words[i]
        if word in _VALUE_OPTS and i + 1 < len(words):
            opts[word] = words[i + 1]
            if word not in _IGNORED_OPTS and word not in ('family', 'maxelem', 'timeout'):
                extra.append('%s %s' % (word, words[i + 1]))
            i += 2
            continue
        if word in _FLAG_OPTS:
            opts[word] = True
            if word not in ('counters', 'comment'):
                extra.append(word)
        else:
            extra.append(word)
        i += 1

    def num(name):
        value = opts.get(name)
        if value is None:
            return None
        if not _DIGITS_RE.match(value):
            raise IpsetError('cannot read %s %s of the set %s%s' % (name, excerpt(value), excerpt(words[1]), where))
        return int(value)
    return SetSpec(set_type, opts.get('family', 'inet'), num('hashsize'), num('maxelem'), num('timeout'),
                   bool(opts.get('counters')), bool(opts.get('comment')), tuple(extra))


def _live_key(value, spec, flags):
    """The key of a member as ipset prints it; text it cannot read is kept as (9, text)."""
    text = value + (' nomatch' if 'nomatch' in flags and spec.set_type == 'hash:net' else '')
    try:
        keys = member_keys(text, spec.set_type, spec.family)
    except IpsetError:
        return (9, text)
    return keys[0] if len(keys) == 1 else (9, text)


def parse_save(text, only=None):
    """{name: LiveSet} of ``ipset save`` text (ONLY: a name, to skip the other sets).

    Entry state (timeout left, packets, bytes, comments) is dropped: membership is what is
    compared. Raises IpsetError on a line it cannot read (naming the line)."""
    sets = {}
    for lineno, line in enumerate((text or '').splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        words = _words(stripped)
        if len(words) < 2:
            raise IpsetError('cannot read ipset save line %d: %s' % (lineno, excerpt(stripped)))
        cmd, name = words[0], words[1]
        if only is not None and name != only:
            continue
        if cmd in ('create', '-N', '-exist'):
            if cmd == '-exist':
                raise IpsetError('cannot read ipset save line %d: %s' % (lineno, excerpt(stripped)))
            sets[name] = LiveSet(name, parse_create(words, lineno), set(), lineno)
        elif cmd in ('add', '-A'):
            if name not in sets or len(words) < 3:
                raise IpsetError('ipset save line %d adds to a set not created before it: %s'
                                 % (lineno, excerpt(stripped)))
            live = sets[name]
            live.keys.add(_live_key(words[2], live.spec, words[3:]))
        else:
            raise IpsetError('cannot read ipset save line %d: %s' % (lineno, excerpt(stripped)))
    return sets


def list_names(text):
    """The set names of ``ipset list -n`` text."""
    return [line.strip() for line in (text or '').splitlines() if line.strip()]


# ----------------------------------------------------------------------- diff and payloads

def diff(before, after):
    """(added, removed): sorted lists of keys."""
    before = before or set()
    return sorted_keys(after - before), sorted_keys(before - after)


def sample(keys, set_type, limit=SAMPLE):
    return [member_text(k, set_type) for k in keys[:limit]]


def _adds(name, keys, set_type):
    return ['add %s %s' % (name, member_text(k, set_type)) for k in sorted_keys(keys)]


def render_create(name, spec, keys, tmp=None):
    """ipset restore payload creating a set that does not exist yet. With TMP (temp_name): the set
    is built as TMP and renamed to NAME at the end, so a member the kernel refuses leaves no set NAME
    (only TMP, which the caller created and destroys)."""
    if tmp is None:
        return '\n'.join([spec.create_line(name)] + _adds(name, keys, spec.set_type)) + '\n'
    return '\n'.join([spec.create_line(tmp)] + _adds(tmp, keys, spec.set_type) + ['rename %s %s' % (tmp, name)]) + '\n'


def render_swap(name, spec, keys, tmp=None):
    """ipset restore payload replacing a live set atomically: fill a temporary set, swap it with
    NAME (rules that use NAME see the old members, then the new ones, never a part), destroy the
    temporary set (which then holds the old members). Before the swap line NAME is untouched."""
    tmp = tmp or temp_name(name)
    lines = [spec.create_line(tmp)]
    lines += _adds(tmp, keys, spec.set_type)
    lines += ['swap %s %s' % (tmp, name), 'destroy %s' % tmp]
    return '\n'.join(lines) + '\n'


def render_rebuild(name, spec, keys, tmp):
    """ipset restore payload giving a set that NOTHING references another type or family (ipset swap
    needs the same type): build TMP completely, then destroy NAME and rename TMP to NAME. A refused
    member stops the restore before NAME is touched."""
    lines = [spec.create_line(tmp)] + _adds(tmp, keys, spec.set_type)
    lines += ['destroy %s' % name, 'rename %s %s' % (tmp, name)]
    return '\n'.join(lines) + '\n'


def renamed_save(save_text, name, tmp):
    """The lines of ``ipset save NAME`` text (SAVE_TEXT) with the set renamed TMP: the previous content
    of NAME, to be built again in TMP and swapped back (the revert of a change), byte for byte."""
    out = []
    for line in (save_text or '').splitlines():
        words = line.split(' ', 2)
        if len(words) >= 2 and words[0] in ('create', 'add') and words[1] == name:
            out.append(' '.join([words[0], tmp] + words[2:]))
    return out


def render_restore_previous(name, save_text, tmp, swap=True):
    """ipset restore payload giving NAME back its previous content (SAVE_TEXT, its ``ipset save NAME``):
    built in TMP, then swapped in (SWAP: same type and family) or, when the type changed (the set is
    not referenced then), NAME destroyed and TMP renamed."""
    lines = renamed_save(save_text, name, tmp)
    lines += ['swap %s %s' % (tmp, name), 'destroy %s' % tmp] if swap else ['destroy %s' % name, 'rename %s %s' % (tmp, name)]
    return '\n'.join(lines) + '\n'


def revert_sets(run, record):
    """Run a revert record of the set transaction (ipset_transaction.SetTransaction.revert_record):
    {'restore': [{name, payload}], 'destroy': [names]}. RUN(args, data=None) -> (rc, out, err) runs
    the ipset command with ARGS. Every payload runs, whatever the others did; the created sets are
    destroyed last (the rules that used them are gone by then). Returns the problems (strings; empty
    when every set is back)."""
    problems = []
    for item in (record or {}).get('restore') or []:
        rc, out, err = run(['restore'], data=item['payload'])
        if rc != 0:
            problems.append('the previous content of the set %s could not be restored: %s'
                            % (excerpt(item['name']), ' '.join((err or out).split())))
    for name in (record or {}).get('destroy') or []:
        rc, out, err = run(['destroy', name])
        if rc != 0:
            problems.append('the set %s could not be destroyed: %s' % (excerpt(name), ' '.join((err or out).split())))
    return problems


def payload_excerpt(payload, limit=SAMPLE):
    """The payload for a result: every line but the 'add' lines past the first LIMIT, which are counted."""
    out = []
    skipped = 0
    adds = 0
    for line in payload.splitlines():
        if line.startswith('add '):
            adds += 1
            if adds > limit:
                skipped += 1
                continue
        elif skipped:
            out.append('# ... %d more add lines' % skipped)
            skipped = 0
        out.append(line)
    if skipped:
        out.append('# ... %d more add lines' % skipped)
    return out


def restore_error_line(output):
    """The payload line number of an ``ipset restore`` error ('Error in line N: ...'), or None."""
    match = re.search(r'Error in line (\d+)', output or '')
    return int(match.group(1)) if match else None


# ----------------------------------------------------------------------- persisted file

def render_block(name, spec, keys):
    """The lines of a set in the persisted file (what ipset restore loads at boot)."""
    return [spec.create_line(name)] + _adds(name, keys, spec.set_type)


def merge_persisted(text, name, block):
    """The persisted file TEXT with the lines of set NAME replaced by BLOCK (a list of lines, or
    None to remove the set). Other sets' lines, comments and order are kept; a new set is added at
    the end. Returns the new text ('' when nothing is left)."""
    out = []
    placed = False
    for line in (text or '').splitlines():
        words = line.split(None, 2)
        if len(words) >= 2 and words[0] in ('create', 'add', '-N', '-A') and words[1] == name:
            if not placed and block is not None:
                out.extend(block)
            placed = True
            continue
        out.append(line)
    if not placed and block is not None:
        out.extend(block)
    while out and not out[-1].strip():
        out.pop()
    return '\n'.join(out) + '\n' if out else ''


def persisted_set(text, name):
    """The LiveSet of NAME in the persisted file TEXT, or None (also when the file cannot be read)."""
    lines = [line for line in (text or '').splitlines()
             if len(line.split(None, 2)) >= 2 and line.split(None, 2)[1] == name]
    try:
        return parse_save('\n'.join(lines)).get(name)
    except IpsetError:
        return None


# ----------------------------------------------------------------------- references

_REF_OPTS = ('--match-set', '--add-set', '--del-set', '--map-set', '--set')


def references(save_text, name):
    """['table filter: -A INPUT -m set --match-set NAME src -j DROP', ...]: the rules of
    iptables-save text that use the set NAME (set match or SET target)."""
    found = []
    table = None
    for line in (save_text or '').splitlines():
        if line.startswith('*'):
            table = line[1:].strip()
            continue
        if not line.startswith('-A ') or name not in line:
            continue
        words = _words(line)
        for i, word in enumerate(words[:-1]):
            if word in _REF_OPTS and words[i + 1] == name:
                found.append('table %s: %s' % (table, line.strip()))
                break
    return found


# ----------------------------------------------------------------------- persistence layouts

# layout (iptables_persist.distribution_layout) -> (file, services, package, mode of a new file, plugin)
# Debian/Ubuntu: the netfilter-persistent plugin 10-ipset of ipset-persistent runs
# `ipset restore -exist < /etc/iptables/ipsets` before 15-ip4tables/25-ip6tables load the rules
# (its own `save` writes the file with mode 0640). RHEL family: ipset.service of ipset-service loads
# /etc/sysconfig/ipset, ordered before iptables.service. Arch: ipset.service of the ipset package
# restores /etc/ipset.conf before network-pre.target. RHEL and Arch are mapped, not tested.
PERSIST_LAYOUTS = {
    'debian': ('/etc/iptables/ipsets', ('netfilter-persistent',), 'ipset-persistent', 0o640,
               '/usr/share/netfilter-persistent/plugins.d/10-ipset'),
    'rhel': ('/etc/sysconfig/ipset', ('ipset.service',), 'ipset-service', 0o600, None),
    'arch': ('/etc/ipset.conf', ('ipset.service',), 'ipset', 0o644, None),
}


def lockout_networks(live):
    """The members of a LiveSet as networks for iptables_lockout.preflight(sets={name: networks}),
    or None when the set cannot be given that way (hash:ip,port, nomatch entries, unreadable entries):
    its matches then stay undecidable."""
    if live.spec.set_type not in ('hash:net', 'hash:ip'):
        return None
    out = []
    for key in live.keys:
        if isinstance(key[1], str) or (live.spec.set_type == 'hash:net' and key[3]):
            return None
        plen = key[2] if live.spec.set_type == 'hash:net' else (32 if key[0] == 4 else 128)
        out.append(ipaddress.ip_network((key[1], plen)) if key[0] == 4 else ipaddress.IPv6Network((key[1], plen)))
    return out


# ----------------------------------------------------------------------- sets a ruleset uses

def referenced_sets(save_text):
    """{set name: first rule that uses it} of iptables-save (or iptables-restore) text: set matches
    (``-m set [!] --match-set NAME``) and SET targets (``--add-set`` / ``--del-set`` / ``--map-set``)."""
    found = {}
    table = None
    for line in (save_text or '').splitlines():
        if line.startswith('*'):
            table = line[1:].strip()
            continue
        if not line.startswith('-A ') or 'set' not in line:
            continue
        words = _words(line)
        for i, word in enumerate(words[:-1]):
            if word in _REF_OPTS and word != '--set':
                found.setdefault(words[i + 1], 'table %s: %s' % (table, line.strip()))
    return found


def parse_headers(text):
    """{name: family} of ``ipset list -t`` text (family None for a set type without one, such as list:set)."""
    sets = {}
    name = None
    for line in (text or '').splitlines():
        key, _colon, value = line.partition(':')
        if key == 'Name':
            name = value.strip()
            sets[name] = None
        elif key == 'Header' and name is not None:
            words = value.split()
            if 'family' in words[:-1]:
                sets[name] = words[words.index('family') + 1]
    return sets


def check_declared(declared, option='ipsets'):
    """Validate iptables_ruleset's ipsets option, {set name: member list or managed set}, before anything
    runs: every name a set name, every value a list of member strings, or a managed set's dictionary
    ({members, type, family, maxelem, hashsize}, see MANAGED_KEYS) with such a list (addresses or networks, or
    ADDRESS,PROTO:PORT entries, of either family; '#' comments and blank items allowed). A string
    for a list, null, a number or a bad entry raises IpsetError naming the option, the key and the
    value (escaped, shortened)."""
    if declared is None:
        return
    if not isinstance(declared, dict):
        raise IpsetError('%s must be a dictionary of set name to member list, not %s' % (option, _shown(declared)))
    for name in sorted(declared, key=str):
        check_name(name, '%s key' % option)
        members = declared[name]
        where = '%s[%s]' % (option, name)
        managed = None
        if isinstance(members, dict):
            managed = members
            members = _check_managed(members, where)
            where += '.members'
        if isinstance(members, str):
            raise IpsetError("%s must be a list of addresses and networks, not the string '%s' (write [%s])"
                             % (where, excerpt(members), excerpt(members)))
        if not isinstance(members, list):
            raise IpsetError('%s must be a list of addresses and networks, not %s' % (where, _shown(members)))
        for index, item in enumerate(members):
            entry = '%s[%d]' % (where, index)
            if not isinstance(item, str):
                raise IpsetError('%s must be a string (an address or network), not %s' % (entry, _shown(item)))
            text = _strip_comment(item)
            if not text:
                continue
            if managed is not None:
                # a managed set's member is checked against its own type and family, with the precise reason
                member_keys(text, managed.get('type', 'hash:net'), managed.get('family', 'inet'), entry)
                continue
            if not any(_is_member(text, set_type, family) for set_type in ('hash:net', 'hash:ip,port')
                       for family in FAMILIES):
                raise IpsetError("%s: '%s' is not an IPv4 or IPv6 address or network" % (entry, excerpt(text)))


# The keys of a managed set of iptables_ruleset's ipsets option ({members, type, family, maxelem, hashsize}).
MANAGED_KEYS = ('members', 'type', 'family', 'maxelem', 'hashsize')


def _check_managed(value, where):
    """Check a managed set's dictionary (everything but the members' syntax, which check_declared
    checks as for a list); returns its member list."""
    unknown = sorted(str(key) for key in value if key not in MANAGED_KEYS)
    if unknown:
        raise IpsetError('%s: unknown key(s) %s; a managed set has %s' % (where, excerpt(', '.join(unknown)),
                                                                          ', '.join(MANAGED_KEYS)))
    if 'members' not in value:
        raise IpsetError('%s: members is required (the complete member list, [] for an empty set)' % where)
    if value.get('type', 'hash:net') not in TYPES:
        raise IpsetError('%s.type must be one of %s, not %s' % (where, ', '.join(TYPES), _quoted(value.get('type'))))
    if value.get('family', 'inet') not in FAMILIES:
        raise IpsetError('%s.family must be inet or inet6, not %s' % (where, _quoted(value.get('family'))))
    for what in ('maxelem', 'hashsize'):
        number = value.get(what)
        low, high = BOUNDS[what]
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high):
            raise IpsetError('%s.%s must be an integer from %d to %d (what the kernel takes), not %s'
                             % (where, what, low, high, _quoted(number)))
    return value['members']


def _quoted(value):
    """A value for a message: a string quoted and escaped, anything else as _shown gives it."""
    return "'%s'" % excerpt(value) if isinstance(value, str) else _shown(value)


def _is_member(text, set_type, family):
    try:
        member_keys(text, set_type, family)
    except IpsetError:
        return False
    return True


def _shown(value):
    """A non-string value as the YAML/JSON user wrote it (null, true, 5, 1.5, [...]), escaped and shortened."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return excerpt(repr(value))
    return '%s %s' % (type(value).__name__, excerpt(repr(value)))


def declared_networks(name, members, family):
    """The members of a declared set (iptables_ruleset's ipsets option) as networks for the lockout
    preflight, or None when they are not all addresses and networks of FAMILY ('ipv4' or 'ipv6')."""
    ipfam = 'inet' if family == 'ipv4' else 'inet6'
    out = []
    if not isinstance(members, (list, tuple)):
        return None if members is not None else out
    for index, item in enumerate(members):
        text = _strip_comment(item) if isinstance(item, str) else None
        if text is None:
            return None
        if not text:
            continue
        try:
            keys = member_keys(text, 'hash:net', ipfam, 'ipsets[%s][%d]' % (excerpt(name), index))
        except IpsetError:
            return None
        for key in keys:
            if key[3]:
                return None      # nomatch: an exception the lockout evaluator does not model
            out.append(ipaddress.ip_network((key[1], key[2])) if key[0] == 4 else ipaddress.IPv6Network((key[1], key[2])))
    return out


def check_ruleset_sets(refs, family, live, declared, check_mode):
    """Decide whether a ruleset that uses the sets REFS ({name: rule}) may be applied.

    live: {name: family} of the live sets (parse_headers); declared: names of the sets the play
    declares (iptables_ruleset's ipsets option). A set must exist live with the ruleset's family;
    in check mode a declared set that does not exist yet passes (an ipset task before this one
    would have created it). Returns the sorted names that are declared but not live (check mode);
    raises IpsetError naming the set and the rule otherwise."""
    want = 'inet' if family == 'ipv4' else 'inet6'
    pending = []
    problems = []
    for name in sorted(refs):
        if name in live:
            if live[name] is not None and live[name] != want:
                problems.append('the set %s is of family %s, but this %s ruleset uses it (%s); an %s ruleset needs '
                                'a set of family %s' % (excerpt(name), live[name], family, excerpt(refs[name], 120),
                                                        family, want))
            continue
        if name in declared:
            if check_mode:
                pending.append(name)
                continue
            problems.append('the set %s is declared (ipsets) but does not exist: create it with rampart.firewall.ipset '
                            'before this task (rule %s)' % (excerpt(name), excerpt(refs[name], 120)))
            continue
        problems.append('the set %s does not exist and is not declared (ipsets): create it with rampart.firewall.ipset '
                        'before this task, or fix the name (rule %s)' % (excerpt(name), excerpt(refs[name], 120)))
    if problems:
        raise IpsetError('refusing the ruleset, nothing was changed: ' + '; '.join(problems))
    return pending
