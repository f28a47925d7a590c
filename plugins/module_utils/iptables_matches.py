# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Match and target definitions for the iptables-save model (iptables_model.py).

One data table (MATCHES, TARGETS) drives both parsing and rendering, in the spirit of the
resource-module templates: for each extension it lists its options (names and aliases, how
many values each takes, whether it may be negated, the value normaliser), the order in which
iptables-save prints them, and the defaults iptables-save adds or leaves out.

The spellings here follow iptables 1.8.9 (Debian 12), checked against iptables-save output
of both the nf_tables and the legacy backend.
"""

from __future__ import annotations

import ipaddress
import re
import socket

__metaclass__ = type


class BadValue(Exception):
    """A value an option cannot take. The parser turns it into a ParseError.

    ``value`` names the offending value when it is not the whole argument.
    """

    def __init__(self, message, value=None):
        Exception.__init__(self, message)
        self.message = message
        self.value = value


class Split:
    """A normalised value whose text (iptables-save spelling) and key (comparison form) differ."""

    __slots__ = ('text', 'key')

    def __init__(self, text, key):
        self.text = text
        self.key = key


class Ctx:
    """What a normaliser may need to know about the rule it works on."""

    __slots__ = ('family', 'proto', 'proto_inv', 'table', 'chain')

    def __init__(self, family, table, chain):
        self.family = family
        self.table = table
        self.chain = chain
        self.proto = None
        self.proto_inv = False


class Opt:
    """One option of an extension.

    slot: options sharing a slot are alternatives (only one may be given); slots print in the
        order of their first appearance in the module's option list.
    names: spellings accepted on input (the first is printed unless ``out`` says otherwise).
    nargs: number of values the option takes (0, 1 or 2).
    norm: normaliser ``norm(args, ctx)`` -> tuple of value tokens, a Split, or None (left out
        by iptables-save); None here means the values are kept verbatim.
    inv: the option may be negated with a leading '!'.
    key: False if the option does not take part in comparisons (see NFLOG --nflog-range).
    """

    __slots__ = ('slot', 'names', 'nargs', 'norm', 'inv', 'out', 'key', 'cache')

    def __init__(self, slot, names, nargs=1, norm=None, inv=False, out=None, key=True):
        self.slot = slot
        self.names = names
        self.nargs = nargs
        self.norm = norm
        self.inv = inv
        self.out = out or names[0]
        self.key = key
        # (values, family, proto, proto negated) -> (text tokens, key tokens)
        self.cache = {}


class Module:
    """A match or target extension.

    proto: protocol number(s) the extension requires (a match named after a protocol is also
        loaded implicitly by '-p PROTO' when one of its options appears).
    defaults: slot -> function(ctx) giving the tokens iptables-save prints when the option
        was not given (e.g. recent's --name DEFAULT).
    finish: function(slots, ctx) run before rendering, for checks across options; may rewrite
        the slots dict ({slot: [opt, invert, args]}).
    render: function(slots, ctx) -> (text tokens, key tokens), replacing the generic renderer.
    tables: tables the target may be used in.
    family: 'ipv4' or 'ipv6' when the extension exists for one family only.
    """

    __slots__ = ('name', 'opts', 'by_name', 'order', 'index', 'owner', 'prefixes', 'proto', 'defaults', 'finish',
                 'render', 'tables', 'family', 'hooks', 'keyed', 'simple')

    def __init__(self, name, opts, proto=None, defaults=None, finish=None, render=None, tables=None,
                 family=None, hooks=None, keyed=False):
        self.name = name
        self.opts = opts
        self.by_name = {}
        order = []
        for opt in opts:
            for n in opt.names:
                self.by_name[n] = opt
            if opt.slot not in order:
                order.append(opt.slot)
        self.order = tuple(order)
        self.index = dict((slot, k) for k, slot in enumerate(order))
        self.owner = dict((n, self) for n in self.by_name)
        # every abbreviation getopt_long could take for one of the options
        self.prefixes = frozenset(n[:k] for n in self.by_name for k in range(3, len(n)))
        self.proto = proto
        self.defaults = defaults or {}
        self.finish = finish
        self.render = render
        self.tables = tables
        self.family = family
        self.hooks = hooks
        # keyed: its key tokens may differ from its text tokens (a Split normaliser or an
        # option with key=False), so rules using it always get a separate key
        self.keyed = keyed or any(not o.key for o in opts)
        self.simple = finish is None and render is None and not self.defaults


# --------------------------------------------------------------------------- helpers

# Control characters (C0 but tab, DEL, C1): iptables-restore cuts a line at a NUL and passes the
# others on into names and comments, so no rule may contain one.
CONTROL_RE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f-\x9f]')
_HEX = frozenset('0123456789abcdefABCDEF')


def is_ascii_digits(s):
    """True for a non-empty string of the ASCII digits 0-9 only.

    str.isdigit(), int() and re's \\d also take other digits ('\\uff12', '\\u0662', ...), which
    iptables rejects.
    """
    return s.isascii() and s.isdigit()


def _non_ascii(s):
    """' (non-ASCII characters: ...)' for an error message about s, or ''."""
    return '' if s.isascii() else ' (non-ASCII characters: %s)' % ascii(s)


def control_char(s):
    """The first control character in s (any but tab), or None."""
    mo = CONTROL_RE.search(s)
    return None if mo is None else mo.group()


def escape_controls(s):
    """s with each control character written as repr() writes it ('\\x00'); the rest unchanged."""
    if CONTROL_RE.search(s) is None:
        return s
    return CONTROL_RE.sub(lambda mo: repr(mo.group())[1:-1], s)


def char_problem(s):
    """Why the text s cannot go into a rule, naming it and the character escaped, or None.

    A long s is shown as an excerpt around the character (a line of any file may end up here).
    """
    mo = CONTROL_RE.search(s)
    if mo is None:
        return None
    pos = mo.start()
    if len(s) <= 40:
        shown = repr(s)
    else:
        start = max(0, pos - 16)
        end = min(len(s), pos + 16)
        shown = '%s%s%s' % ('...' if start else '', repr(s[start:end]), '...' if end < len(s) else '')
    return '%s contains the control character %r (not allowed in rules)' % (shown, mo.group())


def _uint(s, lo=0, hi=0xFFFFFFFF, what='number'):
    """A decimal (or 0x hex) unsigned integer in [lo, hi], as strtoul would read it (ASCII digits only)."""
    try:
        if s[:2] in ('0x', '0X'):
            if not s[2:] or not all(c in _HEX for c in s[2:]):
                raise ValueError(s)
            v = int(s[2:], 16)
        else:
            if not is_ascii_digits(s):
                raise ValueError(s)
            v = int(s)
    except ValueError:
        raise BadValue('invalid %s %r%s' % (what, s, _non_ascii(s))) from None
    if v < lo or v > hi:
        raise BadValue('%s %r out of range (%d-%d)' % (what, s, lo, hi))
    return v


def uint_norm(lo, hi, what='number'):
    def norm(args, ctx):
        return (str(_uint(args[0], lo, hi, what)),)
    return norm


def _uint_norm_32(args, ctx):
    return (str(_uint(args[0])),)


def save_string(value):
    """Quote a value the way iptables-save's xtables_save_string() does."""
    if value and not value.strip('_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'):
        return value
    return '"' + value.replace('\\', '\\\\').replace('"', '\\"').replace("'", "\\'") + '"'


def quote_token(value):
    """Quote a verbatim token only when it could not be read back as one token."""
    if value and '"' not in value and "'" not in value and '\\' not in value and not any(c.isspace() for c in value):
        return value
    return save_string(value)


def string_norm(maxlen=None, minlen=1, truncate=False):
    def norm(args, ctx):
        v = args[0]
        if len(v) < minlen:
            raise BadValue('must be at least %d character(s) long' % minlen)
        if control_char(v) is not None:
            raise BadValue(char_problem(v))
        if maxlen is not None and len(v.encode('utf-8', 'surrogateescape')) > maxlen:
            if not truncate:
                raise BadValue('longer than %d characters' % maxlen)
            v = v.encode('utf-8', 'surrogateescape')[:maxlen].decode('utf-8', 'ignore')
        return (save_string(v),)
    return norm


def _plain_name(maxlen):
    def norm(args, ctx):
        v = args[0]
        if not v or len(v.encode('utf-8', 'surrogateescape')) > maxlen or any(c.isspace() for c in v) or '"' in v \
                or "'" in v or control_char(v) is not None:
            raise BadValue('invalid name %r (1 to %d characters, no blanks, quotes or control characters)'
                           % (v, maxlen))
        return (v,)
    return norm


def _flag(args, ctx):
    return ()


# ------------------------------------------------------------------------ addresses

_V4_CACHE = {}
_V6_CACHE = {}
_V4_ALL = 0xFFFFFFFF
_V6_ALL = (1 << 128) - 1


def _v4_int(s):
    parts = s.split('.')
    if len(parts) != 4:
        raise ValueError(s)
    n = 0
    for p in parts:
        if not is_ascii_digits(p) or len(p) > 3:
            raise ValueError(s)
        b = int(p)
        if b > 255:
            raise ValueError(s)
        n = (n << 8) | b
    return n


def ntop4(n):
    return '%d.%d.%d.%d' % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def ntop6(n):
    """inet_ntop(AF_INET6) as glibc spells it (Python's ipaddress differs for ::ffff:a.b.c.d)."""
    words = [(n >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i in range(8):
        if words[i] == 0:
            if cur_base == -1:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base != -1:
            if best_base == -1 or cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base != -1 and (best_base == -1 or cur_len > best_len):
        best_base, best_len = cur_base, cur_len
    if best_len < 2:
        best_base = -1
    out = []
    i = 0
    while i < 8:
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                out.append(':')
            i += 1
            continue
        if i:
            out.append(':')
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            out.append(ntop4(n & _V4_ALL))
            break
        out.append('%x' % words[i])
        i += 1
    if best_base != -1 and best_base + best_len == 8:
        out.append(':')
    return ''.join(out)


def _v6_int(s):
    if '%' in s or not s or not s.isascii() or s.strip() != s:
        raise ValueError(s)
    return int(ipaddress.IPv6Address(s))


def _mask_len(mask, bits):
    """Prefix length of a contiguous mask, or None."""
    inv = ((1 << bits) - 1) ^ mask
    if inv & (inv + 1):
        return None
    return bits - inv.bit_length()


def _other_family(s, family):
    if family == 'ipv4':
        return ':' in s
    return '.' in s and ':' not in s


def parse_net(s, family, keep_host_bits=False):
    """Parse ADDR[/LEN|/MASK] -> (addr int, mask int), host bits cleared unless keep_host_bits. Cached."""
    cache = _V4_CACHE if family == 'ipv4' else _V6_CACHE
    r = cache.get(s)
    if r is not None:
        return (r[2], r[1]) if keep_host_bits else (r[0], r[1])
    addr, sep, mask = s.partition('/')
    bits = 32 if family == 'ipv4' else 128
    full = _V4_ALL if bits == 32 else _V6_ALL
    conv = _v4_int if bits == 32 else _v6_int
    if _other_family(addr, family):
        raise BadValue('%s address %r used in an %s rule' % ('IPv6' if family == 'ipv4' else 'IPv4', s, family))
    try:
        a = conv(addr)
    except ValueError:
        raise BadValue('invalid address %r%s' % (s, _non_ascii(s) or ' (host names are not supported)')) from None
    if not sep:
        m = full
    elif is_ascii_digits(mask):
        plen = int(mask)
        if plen > bits or len(mask) > 3:
            raise BadValue('invalid prefix length in %r (0-%d)' % (s, bits))
        m = full ^ (full >> plen)
    else:
        if _other_family(mask, family):
            raise BadValue('invalid mask in %r' % s)
        try:
            m = conv(mask)
        except ValueError:
            raise BadValue('invalid mask in %r%s' % (s, _non_ascii(s))) from None
    r = (a & m, m, a)
    if len(cache) < 100000:
        cache[s] = r
    return (a, m) if keep_host_bits else (a & m, m)


def format_net(addr, mask, family, always_mask=True):
    """ADDR/LEN as iptables-save prints -s/-d; ADDR alone when always_mask is False and the mask is full."""
    if family == 'ipv4':
        bits, a = 32, ntop4(addr)
    else:
        bits, a = 128, ntop6(addr)
    plen = _mask_len(mask, bits)
    if plen == bits and not always_mask:
        return a
    if plen is None:
        return a + '/' + (ntop4(mask) if bits == 32 else ntop6(mask))
    return '%s/%d' % (a, plen)


def parse_addr(s, family):
    """A single address (no mask) -> int."""
    if _other_family(s, family):
        raise BadValue('%s address %r used in an %s rule' % ('IPv6' if family == 'ipv4' else 'IPv4', s, family))
    try:
        return _v4_int(s) if family == 'ipv4' else _v6_int(s)
    except ValueError:
        raise BadValue('invalid address %r%s' % (s, _non_ascii(s))) from None


def format_addr(n, family):
    return ntop4(n) if family == 'ipv4' else ntop6(n)


# ---------------------------------------------------------------------- protocols

# netbase /etc/protocols (Debian 12), plus iptables' own names (xtables_chain_protos)
PROTO_NAMES = {
    0: 'all', 1: 'icmp', 2: 'igmp', 3: 'ggp', 4: 'ipencap', 5: 'st', 6: 'tcp', 8: 'egp', 9: 'igp',
    12: 'pup', 17: 'udp', 20: 'hmp', 22: 'xns-idp', 27: 'rdp', 29: 'iso-tp4', 33: 'dccp', 36: 'xtp',
    37: 'ddp', 38: 'idpr-cmtp', 41: 'ipv6', 43: 'ipv6-route', 44: 'ipv6-frag', 45: 'idrp', 46: 'rsvp',
    47: 'gre', 50: 'esp', 51: 'ah', 57: 'skip', 58: 'ipv6-icmp', 59: 'ipv6-nonxt', 60: 'ipv6-opts',
    73: 'rspf', 81: 'vmtp', 88: 'eigrp', 89: 'ospf', 93: 'ax.25', 94: 'ipip', 97: 'etherip', 98: 'encap',
    103: 'pim', 108: 'ipcomp', 112: 'vrrp', 115: 'l2tp', 124: 'isis', 132: 'sctp', 133: 'fc',
    135: 'ipv6-mh', 136: 'udplite', 137: 'mpls-in-ip', 138: 'manet', 139: 'hip', 140: 'shim6',
    141: 'wesp', 142: 'rohc', 143: 'ethernet',
}
PROTO_NUMBERS = dict((v, k) for k, v in PROTO_NAMES.items())
PROTO_NUMBERS.update({'icmpv6': 58, 'mh': 135, 'mobility-header': 135, 'hopopt': 0, 'ip': 0})
_PROTO_CACHE = {}


def parse_proto(s):
    """Protocol name or number -> number (0 means all)."""
    r = _PROTO_CACHE.get(s)
    if r is not None:
        return r
    if not s.isascii() or control_char(s) is not None:
        # str.lower() maps some non-ASCII letters to ASCII ones ('\u212a' to 'k')
        raise BadValue('unknown protocol %r%s' % (s, _non_ascii(s)))
    low = s.lower()
    if low in PROTO_NUMBERS:
        r = PROTO_NUMBERS[low]
    elif is_ascii_digits(s) and len(s) <= 3 and int(s) <= 255:
        r = int(s)
    else:
        try:
            r = socket.getprotobyname(s)
        except (OSError, ValueError, UnicodeError):
            raise BadValue('unknown protocol %r' % s) from None
    _PROTO_CACHE[s] = r
    return r


def proto_name(n):
    return PROTO_NAMES.get(n, str(n))


# --------------------------------------------------------------------------- ports

_PORT_CACHE = {}
_PORT_PROTOS = {6: 'tcp', 17: 'udp', 132: 'sctp', 33: 'dccp', 136: 'udplite'}


def parse_port(s, proto=None):
    """A port number or service name -> int (names resolved with getservbyname)."""
    k = (s, proto)
    r = _PORT_CACHE.get(k)
    if r is not None:
        return r
    if is_ascii_digits(s):
        r = int(s)
        if r > 65535:
            raise BadValue('invalid port %r' % s, s)
    elif not s.isascii():
        raise BadValue('invalid port %r%s' % (s, _non_ascii(s)), s)
    else:
        pname = _PORT_PROTOS.get(proto) if isinstance(proto, int) else proto
        r = None
        try:
            if s and s.strip() == s and control_char(s) is None:
                r = socket.getservbyname(s, pname) if pname else socket.getservbyname(s)
        except (OSError, ValueError, UnicodeError, OverflowError):
            r = None
        if r is None:
            raise BadValue('invalid port/service %r' % s, s)
    _PORT_CACHE[k] = r
    return r


def _port_range(s, proto):
    lo, sep, hi = s.partition(':')
    a = parse_port(lo, proto) if lo else 0
    b = (parse_port(hi, proto) if hi else 65535) if sep else a
    if a > b:
        raise BadValue('invalid port range %r (min > max)' % s, s)
    return a, b


def port_range_norm(args, ctx):
    """tcp/udp/sctp --sport/--dport: N, N:M, N:, :M; the full range prints nothing."""
    a, b = _port_range(args[0], ctx.proto)
    if a == 0 and b == 65535:
        return None
    return (str(a) if a == b else '%d:%d' % (a, b),)


def multiport_norm(args, ctx):
    items = args[0].split(',')
    out = []
    count = 0
    for it in items:
        lo, sep, hi = it.partition(':')
        if sep and (not lo or not hi):
            raise BadValue('invalid port range %r' % it, it)
        a = parse_port(lo, ctx.proto)
        if sep:
            b = parse_port(hi, ctx.proto)
            if a > b:
                raise BadValue('invalid port range %r (min > max)' % it, it)
            out.append((a, b))
            count += 2
        else:
            out.append((a, a))
            count += 1
    if count > 15:
        raise BadValue('too many ports specified (at most 15, a range counts as 2)')
    text = ','.join(str(a) if a == b else '%d:%d' % (a, b) for a, b in out)
    key = ','.join(str(a) if a == b else '%d:%d' % (a, b) for a, b in sorted(set(out)))
    return Split((text,), (key,))


def _multiport_finish(slots, ctx):
    if ctx.proto not in (6, 17, 33, 132, 136) or ctx.proto_inv:
        raise BadValue("multiport needs '-p tcp', '-p udp', '-p udplite', '-p sctp' or '-p dccp'")


def port_or_range_dash(args, ctx):
    """PORT[-PORT] (REDIRECT/MASQUERADE --to-ports)."""
    s = args[0]
    lo, sep, hi = s.partition('-')
    a = parse_port(lo, ctx.proto) if is_ascii_digits(lo) else None
    if a is None:
        raise BadValue('invalid port %r%s' % (s, _non_ascii(s)), s)
    if sep and not is_ascii_digits(hi):
        raise BadValue('invalid port range %r%s' % (s, _non_ascii(s)), s)
    b = parse_port(hi, ctx.proto) if sep else a
    if a > b:
        raise BadValue('invalid port range %r (min > max)' % s, s)
    return (str(a) if a == b else '%d-%d' % (a, b),)


# ---------------------------------------------------------------------- tcp / icmp

TCP_FLAGS = (('FIN', 0x01), ('SYN', 0x02), ('RST', 0x04), ('PSH', 0x08), ('ACK', 0x10), ('URG', 0x20))
_TCP_FLAG_BITS = dict(TCP_FLAGS)
_TCP_FLAG_BITS.update({'ALL': 0x3F, 'NONE': 0})


def _tcp_flag_mask(s):
    m = 0
    for f in s.split(','):
        bit = _TCP_FLAG_BITS.get(f.upper()) if f.isascii() else None
        if bit is None:
            raise BadValue('unknown TCP flag %r%s' % (f, _non_ascii(f)), s)
        m |= bit
    return m


def _tcp_flag_str(m):
    if not m:
        return 'NONE'
    return ','.join(n for n, b in TCP_FLAGS if m & b)


def tcp_flags_norm(args, ctx):
    mask = _tcp_flag_mask(args[0])
    comp = _tcp_flag_mask(args[1])
    return (_tcp_flag_str(mask), _tcp_flag_str(comp))


def syn_norm(args, ctx):
    return ('FIN,SYN,RST,ACK', 'SYN')


ICMP_TYPES = (
    ('any', 0xFF, 0, 0xFF), ('echo-reply', 0, 0, 0xFF), ('pong', 0, 0, 0xFF),
    ('destination-unreachable', 3, 0, 0xFF), ('network-unreachable', 3, 0, 0), ('host-unreachable', 3, 1, 1),
    ('protocol-unreachable', 3, 2, 2), ('port-unreachable', 3, 3, 3), ('fragmentation-needed', 3, 4, 4),
    ('source-route-failed', 3, 5, 5), ('network-unknown', 3, 6, 6), ('host-unknown', 3, 7, 7),
    ('network-prohibited', 3, 9, 9), ('host-prohibited', 3, 10, 10), ('TOS-network-unreachable', 3, 11, 11),
    ('TOS-host-unreachable', 3, 12, 12), ('communication-prohibited', 3, 13, 13),
    ('host-precedence-violation', 3, 14, 14), ('precedence-cutoff', 3, 15, 15), ('source-quench', 4, 0, 0xFF),
    ('redirect', 5, 0, 0xFF), ('network-redirect', 5, 0, 0), ('host-redirect', 5, 1, 1),
    ('TOS-network-redirect', 5, 2, 2), ('TOS-host-redirect', 5, 3, 3), ('echo-request', 8, 0, 0xFF),
    ('ping', 8, 0, 0xFF), ('router-advertisement', 9, 0, 0xFF), ('router-solicitation', 10, 0, 0xFF),
    ('time-exceeded', 11, 0, 0xFF), ('ttl-exceeded', 11, 0, 0xFF), ('ttl-zero-during-transit', 11, 0, 0),
    ('ttl-zero-during-reassembly', 11, 1, 1), ('parameter-problem', 12, 0, 0xFF), ('ip-header-bad', 12, 0, 0),
    ('required-option-missing', 12, 1, 1), ('timestamp-request', 13, 0, 0xFF), ('timestamp-reply', 14, 0, 0xFF),
    ('address-mask-request', 17, 0, 0xFF), ('address-mask-reply', 18, 0, 0xFF),
)

ICMP6_TYPES = (
    ('destination-unreachable', 1, 0, 0xFF), ('no-route', 1, 0, 0), ('communication-prohibited', 1, 1, 1),
    ('beyond-scope', 1, 2, 2), ('address-unreachable', 1, 3, 3), ('port-unreachable', 1, 4, 4),
    ('failed-policy', 1, 5, 5), ('reject-route', 1, 6, 6), ('packet-too-big', 2, 0, 0xFF),
    ('time-exceeded', 3, 0, 0xFF), ('ttl-exceeded', 3, 0, 0xFF), ('ttl-zero-during-transit', 3, 0, 0),
    ('ttl-zero-during-reassembly', 3, 1, 1), ('parameter-problem', 4, 0, 0xFF), ('bad-header', 4, 0, 0),
    ('unknown-header-type', 4, 1, 1), ('unknown-option', 4, 2, 2), ('echo-request', 128, 0, 0xFF),
    ('ping', 128, 0, 0xFF), ('echo-reply', 129, 0, 0xFF), ('pong', 129, 0, 0xFF),
    ('mld-listener-query', 130, 0, 0xFF), ('mld-listener-report', 131, 0, 0xFF),
    ('mld-listener-done', 132, 0, 0xFF), ('router-solicitation', 133, 0, 0xFF),
    ('router-advertisement', 134, 0, 0xFF), ('neighbour-solicitation', 135, 0, 0xFF),
    ('neighbor-solicitation', 135, 0, 0xFF), ('neighbour-advertisement', 136, 0, 0xFF),
    ('neighbor-advertisement', 136, 0, 0xFF), ('redirect', 137, 0, 0xFF),
)


def _icmp_lookup(s, table, what):
    if not s.isascii():
        raise BadValue('unknown %s %r%s' % (what, s, _non_ascii(s)), s)
    low = s.lower()
    for name, t, a, b in table:
        if name.lower() == low:
            return t, a, b
    found = [(name, t, a, b) for name, t, a, b in table if name.lower().startswith(low)]
    if len(set((t, a, b) for _n, t, a, b in found)) == 1:
        return found[0][1:]
    if found:
        raise BadValue('ambiguous %s %r (%s)' % (what, s, ', '.join(n for n, _t, _a, _b in found)), s)
    raise BadValue('unknown %s %r' % (what, s), s)


def _icmp_norm(table, what):
    def norm(args, ctx):
        s = args[0]
        if s[:1] and s[:1] in '0123456789':
            t, sep, c = s.partition('/')
            try:
                typ = _uint(t, 0, 255, what)
                if sep:
                    code = _uint(c, 0, 255, 'code')
                    lo, hi = code, code
                else:
                    lo, hi = 0, 0xFF
            except BadValue:
                raise BadValue('invalid %s %r' % (what, s), s) from None
        else:
            typ, lo, hi = _icmp_lookup(s, table, what)
        if typ == 0xFF and table is ICMP_TYPES and (lo, hi) == (0, 0xFF):
            return ('any',)
        if lo == 0 and hi == 0xFF:
            return (str(typ),)
        return ('%d/%d' % (typ, lo),)
    return norm


# -------------------------------------------------------------------- conntrack etc.

CT_STATES = (('INVALID', 1), ('NEW', 8), ('RELATED', 4), ('ESTABLISHED', 2), ('UNTRACKED', 64),
             ('SNAT', 16), ('DNAT', 32))
STATE_STATES = (('INVALID', 1), ('NEW', 8), ('RELATED', 4), ('ESTABLISHED', 2), ('UNTRACKED', 64))
CT_STATUS = (('EXPECTED', 1), ('SEEN_REPLY', 2), ('ASSURED', 4), ('CONFIRMED', 8))
ADDR_TYPES = ('UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE',
              'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE')


def word_set_norm(words, what, none=None):
    """A comma list of words compared as a set, printed in iptables' bit order."""
    bits = dict(words)
    order = [w for w, _b in sorted(words, key=lambda x: x[1])] if words is CT_STATUS else None

    def norm(args, ctx):
        s = args[0]
        m = 0
        for w in s.split(','):
            b = bits.get(w.upper()) if w.isascii() else None
            if b is None:
                if none and w.upper() == none:
                    continue
                raise BadValue('unknown %s %r in %r%s' % (what, w, s, _non_ascii(w)), s)
            m |= b
        if not m and none:
            return (none,)
        names = order or [w for w, _b in words]
        return (','.join(w for w in names if m & bits[w]),)
    return norm


def addrtype_norm(args, ctx):
    s = args[0]
    got = set()
    for w in s.split(','):
        if not w.isascii() or w.upper() not in ADDR_TYPES:
            raise BadValue('unknown address type %r in %r%s' % (w, s, _non_ascii(w)), s)
        got.add(w.upper())
    return (','.join(t for t in ADDR_TYPES if t in got),)


def _ct_addr_norm(args, ctx):
    # conntrack keeps the host bits: --ctorigsrc 10.0.0.9/8 prints as given
    a, m = parse_net(args[0], ctx.family, keep_host_bits=True)
    return (format_net(a, m, ctx.family, always_mask=False),)


def _ct_proto_norm(args, ctx):
    n = parse_proto(args[0])
    if n == 0:
        raise BadValue('--ctproto must not be 0/all')
    return (str(n),)


def _colon_range(lo_, hi_, what):
    def norm(args, ctx):
        s = args[0]
        a, sep, b = s.partition(':')
        x = _uint(a, lo_, hi_, what) if a else lo_
        y = (_uint(b, lo_, hi_, what) if b else hi_) if sep else x
        if x > y:
            raise BadValue('invalid range %r (min > max)' % s, s)
        return (str(x) if x == y else '%d:%d' % (x, y),)
    return norm


def _ct_port_norm(args, ctx):
    s = args[0]
    a, sep, b = s.partition(':')
    x = parse_port(a, None) if not is_ascii_digits(a) else _uint(a, 0, 65535, 'port')
    y = (parse_port(b, None) if not is_ascii_digits(b) else _uint(b, 0, 65535, 'port')) if sep else x
    if x > y:
        raise BadValue('invalid port range %r (min > max)' % s, s)
    return (str(x) if x == y else '%d:%d' % (x, y),)


def _ctdir_norm(args, ctx):
    v = args[0].upper() if args[0].isascii() else ''
    if v not in ('ORIGINAL', 'REPLY'):
        raise BadValue('--ctdir must be ORIGINAL or REPLY')
    return (v,)


# --------------------------------------------------------------------------- rates

_RATE_UNITS = (('second', 1), ('minute', 60), ('hour', 3600), ('day', 86400))


def _rate_unit(unit, s):
    if not unit or not unit.isascii():
        raise BadValue('invalid rate %r%s' % (s, _non_ascii(s)), s)
    low = unit.lower()
    for name, mult in _RATE_UNITS:
        if name.startswith(low):
            return mult
    raise BadValue('invalid rate %r (units: /second, /minute, /hour, /day)' % s, s)


def _parse_rate(s, scale):
    """N[/unit] -> (period in 1/scale seconds, unit multiplier)."""
    num, sep, unit = s.partition('/')
    mult = _rate_unit(unit, s) if sep else 1
    if not is_ascii_digits(num) or int(num) == 0:
        raise BadValue('invalid rate %r%s' % (s, _non_ascii(s)), s)
    period = scale * mult // int(num)
    if period == 0:
        raise BadValue('rate too fast %r' % s, s)
    return period, mult


def _print_rate(period, scale):
    rates = (('day', scale * 86400), ('hour', scale * 3600), ('min', scale * 60), ('sec', scale))
    i = 1
    while i < 4:
        m = rates[i][1]
        if period > m or m // period < m % period:
            break
        i += 1
    name, m = rates[i - 1]
    return '%d/%s' % (m // period, name), m // scale * 1000


def limit_rate_norm(args, ctx):
    period, _mult = _parse_rate(args[0], 10000)
    if period > 0xFFFFFFFF:
        raise BadValue('rate too slow %r' % args[0])
    return (_print_rate(period, 10000)[0],)


def limit_burst_norm(args, ctx):
    v = _uint(args[0], 0, 10000, 'burst')
    if v == 5:
        return None
    return (str(v),)


# ------------------------------------------------------------------------ hashlimit

_HL_SCALE = 1000000
_HL_MODES = (('srcip', 2), ('srcport', 8), ('dstip', 1), ('dstport', 4))


def _hl_cost_to_bytes(cost):
    r = 0xFFFFFFFF // cost if cost else 0xFFFFFFFF
    return (r - 1) << 13


def _hl_bytes_to_cost(b):
    r = b >> 13
    return 0xFFFFFFFF // (r + 1)


def _hl_factor(c):
    return {'m': 1024 * 1024, 'k': 1024}.get(c, 1)


def _hl_render(slots, ctx):
    """hashlimit (revision 3) as hashlimit_mt_save() prints it."""
    text = []
    rate = slots.get('rate')
    if rate is None:
        raise BadValue('you have to specify --hashlimit-upto or --hashlimit-above')
    if 'name' not in slots:
        raise BadValue('--hashlimit-name is required')
    if 'ratematch' in slots or 'interval' in slots:
        raise BadValue('--hashlimit-rate-match/--hashlimit-rate-interval are not supported by this model')
    opt, inv, args = rate
    above = (opt.names[0] == '--hashlimit-above') != inv
    s = args[0]
    text.append('--hashlimit-above' if above else '--hashlimit-upto')
    expire = None
    if 'expire' in slots:
        expire = _uint(slots['expire'][2][0], what='--hashlimit-htable-expire')
    if 'b/s' in s[1:]:
        # byte mode
        num = s[:s.index('b/s')]
        factor = _hl_factor(num[-1:]) if num[-1:] in ('k', 'm') else 1
        digits = num[:-1] if factor != 1 else num
        if not is_ascii_digits(digits) or int(digits) == 0:
            raise BadValue('invalid rate %r' % s, s)
        cost = _hl_bytes_to_cost(int(digits) * factor)
        if cost == 0:
            raise BadValue('rate too high %r' % s, s)
        r = _hl_cost_to_bytes(cost)
        units = (('m', 1024 * 1024), ('k', 1024), ('', 1))
        i = 0
        while i < 2:
            if r >= units[i][1] and _hl_bytes_to_cost(r & ~(units[i][1] - 1)) == cost:
                break
            i += 1
        text.append('%d%sb/s' % (r // units[i][1], units[i][0]))
        burst = 0
        if 'burst' in slots:
            bs = slots['burst'][2][0]
            bf = _hl_factor(bs[-1:]) if bs[-1:] in ('k', 'm') else 1
            bd = bs[:-1] if bf != 1 else bs
            bv = _uint(bd, 1, 1000000 if bf == 1 else 0xFFFFFFFF, '--hashlimit-burst') * bf
            if bv < r:
                raise BadValue('burst cannot be smaller than %db' % r)
            burst = bv // r + (1 if bv % r else 0)
            if expire is None:
                expire = 60000
        if expire is None:
            expire = 15000
        if burst == 0:
            quantum = 15000
        else:
            rb = r * burst
            i = 0
            while i < 2:
                if rb >= units[i][1]:
                    break
                i += 1
            text.append('--hashlimit-burst')
            text.append('%d%sb' % (rb // units[i][1], units[i][0]))
            quantum = 60000
    else:
        period, mult = _parse_rate(s, _HL_SCALE)
        txt, quantum = _print_rate(period, _HL_SCALE)
        text.append(txt)
        burst = _uint(slots['burst'][2][0], 1, 1000000, '--hashlimit-burst') if 'burst' in slots else 5
        text.append('--hashlimit-burst')
        text.append(str(burst))
        if expire is None:
            expire = mult * 1000
    if 'mode' in slots:
        mode = 0
        ms = slots['mode'][2][0]
        for w in ms.replace('|', ',').split(','):
            bit = dict(_HL_MODES).get(w)
            if bit is None:
                raise BadValue('invalid --hashlimit-mode %r' % ms, ms)
            mode |= bit
        if mode:
            text.append('--hashlimit-mode')
            text.append(','.join(n for n, b in _HL_MODES if mode & b))
    text.append('--hashlimit-name')
    text.extend(_plain_name(255)(slots['name'][2], ctx))
    for slot, opt_name, default in (('size', '--hashlimit-htable-size', 0), ('max', '--hashlimit-htable-max', 0),
                                    ('gcinterval', '--hashlimit-htable-gcinterval', 1000)):
        if slot in slots:
            v = _uint(slots[slot][2][0], what=opt_name)
            if v != default:
                text.append(opt_name)
                text.append(str(v))
    if expire != quantum:
        text.append('--hashlimit-htable-expire')
        text.append(str(expire))
    dmask = 32 if ctx.family == 'ipv4' else 128
    for slot, opt_name in (('srcmask', '--hashlimit-srcmask'), ('dstmask', '--hashlimit-dstmask')):
        if slot in slots:
            v = _uint(slots[slot][2][0], 0, dmask, opt_name)
            if v != dmask:
                text.append(opt_name)
                text.append(str(v))
    return text, text


# ------------------------------------------------------------------------- marks

def _mark_pair(s, what='mark'):
    v, sep, m = s.partition('/')
    a = _uint(v, what=what)
    b = _uint(m, what='mask') if sep else None
    return a, b


def mark_match_norm(args, ctx):
    a, b = _mark_pair(args[0])
    if b is None or b == 0xFFFFFFFF:
        return ('0x%x' % a,)
    return ('0x%x/0x%x' % (a, b),)


def _xmark_render(slots, ctx, connmark=False):
    """MARK / CONNMARK targets: everything prints as --set-xmark VALUE/MASK (or save/restore)."""
    if len(slots) == 0:
        raise BadValue('%s target: one of the mark options is required' % ('CONNMARK' if connmark else 'MARK'))
    if 'op' not in slots:
        raise BadValue('a mark operation (--set-xmark, --set-mark, ...) is required')
    opt, _inv, args = slots['op']
    name = opt.names[0]
    if name in ('--save-mark', '--restore-mark'):
        nf = ct = 0xFFFFFFFF
        if 'mask' in slots:
            nf = ct = _uint(slots['mask'][2][0], what='mask')
        if 'nfmask' in slots:
            nf = _uint(slots['nfmask'][2][0], what='nfmask')
        if 'ctmask' in slots:
            ct = _uint(slots['ctmask'][2][0], what='ctmask')
        toks = [name, '--nfmask', '0x%x' % nf, '--ctmask', '0x%x' % ct]
        return toks, toks
    for extra in ('mask', 'nfmask', 'ctmask'):
        if extra in slots:
            raise BadValue('%s can only be used with --save-mark or --restore-mark' % slots[extra][0].names[0])
    if name == '--set-xmark':
        a, b = _mark_pair(args[0])
        mark, mask = a, (0xFFFFFFFF if b is None else b)
    elif name == '--set-mark':
        a, b = _mark_pair(args[0])
        mark, mask = a, (0xFFFFFFFF if b is None else (a | b))
    elif name == '--and-mark':
        mark, mask = 0, (~_uint(args[0], what='mark')) & 0xFFFFFFFF
    elif name == '--or-mark':
        a = _uint(args[0], what='mark')
        mark, mask = a, a
    else:  # --xor-mark
        mark, mask = _uint(args[0], what='mark'), 0
    toks = ['--set-xmark', '0x%x/0x%x' % (mark, mask)]
    return toks, toks


# ----------------------------------------------------------------------- targets

REJECT4 = (('icmp-net-unreachable', 'net-unreach'), ('icmp-host-unreachable', 'host-unreach'),
           ('icmp-proto-unreachable', 'proto-unreach'), ('icmp-port-unreachable', 'port-unreach'),
           ('icmp-net-prohibited', 'net-prohib'), ('icmp-host-prohibited', 'host-prohib'),
           ('tcp-reset', 'tcp-rst'), ('icmp-admin-prohibited', 'admin-prohib'))
REJECT6 = (('icmp6-no-route', 'no-route'), ('icmp6-adm-prohibited', 'adm-prohibited'),
           ('icmp6-addr-unreachable', 'addr-unreach'), ('icmp6-port-unreachable', 'port-unreach'),
           ('icmp6-policy-fail', 'policy-fail'), ('icmp6-reject-route', 'reject-route'),
           ('tcp-reset', 'tcp-rst'))
# {family: {reject type or its alias: the canonical name iptables-save prints}}
REJECT_NAMES = {'ipv4': {}, 'ipv6': {}}
for _fam, _tab in (('ipv4', REJECT4), ('ipv6', REJECT6)):
    for _canon, _alias in _tab:
        REJECT_NAMES[_fam][_canon] = _canon
        REJECT_NAMES[_fam][_alias] = _canon


def reject_norm(args, ctx):
    v = REJECT_NAMES[ctx.family].get(args[0])
    if v is None:
        raise BadValue('unknown reject type %r for %s' % (args[0], ctx.family), args[0])
    if v == 'tcp-reset' and (ctx.proto != 6 or ctx.proto_inv):
        raise BadValue("--reject-with tcp-reset needs '-p tcp'", args[0])
    return (v,)


def _reject_default(ctx):
    return ('--reject-with', 'icmp-port-unreachable' if ctx.family == 'ipv4' else 'icmp6-port-unreachable')


LOG_LEVELS = {'emerg': 0, 'panic': 0, 'alert': 1, 'crit': 2, 'error': 3, 'warning': 4, 'notice': 5,
              'info': 6, 'debug': 7}


def log_level_norm(args, ctx):
    s = args[0]
    if is_ascii_digits(s):
        v = int(s)
        if v > 7:
            raise BadValue('log level %r out of range (0-7)' % s, s)
    else:
        v = LOG_LEVELS.get(s)
        if v is None:
            raise BadValue('unknown log level %r' % s, s)
    if v == 4:
        return None
    return (str(v),)


def nat_range_norm(args, ctx):
    """SNAT/DNAT --to-source/--to-destination [ADDR[-ADDR]][:PORT[-PORT]]."""
    s = args[0]
    fam = ctx.family
    if fam == 'ipv6' and s.startswith('['):
        addr, sep, rest = s[1:].partition(']')
        if not sep:
            raise BadValue('invalid address range %r' % s, s)
        if rest and not rest.startswith(':'):
            raise BadValue('invalid range %r' % s, s)
        port = rest[1:] if rest else ''
        has_port = bool(rest)
    elif fam == 'ipv6':
        addr, port, has_port = s, '', False
    else:
        addr, sep, port = s.partition(':')
        has_port = bool(sep)
    out = ''
    if addr:
        a, dash, b = addr.partition('-')
        lo = parse_addr(a, fam)
        hi = parse_addr(b, fam) if dash else lo
        if hi < lo:
            raise BadValue('invalid address range %r' % addr, s)
        out = format_addr(lo, fam) + ('' if hi == lo else '-' + format_addr(hi, fam))
        if fam == 'ipv6' and has_port:
            out = '[' + out + ']'
    if has_port:
        if ctx.proto not in (6, 17, 33, 132, 136) or ctx.proto_inv:
            raise BadValue('need TCP, UDP, SCTP or DCCP with port specification', s)
        p, dash, q = port.partition('-')
        if not is_ascii_digits(p) or (dash and not is_ascii_digits(q)):
            raise BadValue('invalid port range %r%s' % (port, _non_ascii(port)), s)
        x = parse_port(p)
        y = parse_port(q) if dash else x
        if y < x:
            raise BadValue('invalid port range %r' % port, s)
        out += ':' + (str(x) if x == y else '%d-%d' % (x, y))
    if not addr and not has_port:
        raise BadValue('invalid range %r' % s, s)
    return (out,)


def _to_ports_finish(slots, ctx):
    if 'ports' in slots and (ctx.proto not in (6, 17, 33, 132, 136) or ctx.proto_inv):
        raise BadValue('need TCP, UDP, SCTP or DCCP with port specification')


def _snat_finish(slots, ctx):
    if 'to' not in slots:
        raise BadValue('SNAT needs --to-source')


def _dnat_finish(slots, ctx):
    if 'to' not in slots:
        raise BadValue('DNAT needs --to-destination')


def _owner_id(kind):
    def norm(args, ctx):
        s = args[0]
        a, dash, b = s.partition('-')

        def one(x):
            if is_ascii_digits(x):
                return _uint(x)
            try:
                if kind == 'uid':
                    import pwd
                    return pwd.getpwnam(x).pw_uid
                import grp
                return grp.getgrnam(x).gr_gid
            except (KeyError, ImportError, ValueError, UnicodeError):
                raise BadValue('unknown %s %r' % ('user' if kind == 'uid' else 'group', x), s) from None
        lo = one(a)
        hi = one(b) if dash else lo
        if hi < lo:
            raise BadValue('invalid range %r' % s, s)
        return (str(lo) if lo == hi else '%d-%d' % (lo, hi),)
    return norm


PKT_TYPES = {'unicast': 'unicast', 'host': 'unicast', 'broadcast': 'broadcast', 'multicast': 'multicast',
             'otherhost': 'otherhost', 'outgoing': 'outgoing', 'loopback': 'loopback', 'fastroute': 'fastroute'}


def pkttype_norm(args, ctx):
    v = PKT_TYPES.get(args[0].lower()) if args[0].isascii() else None
    if v is None:
        raise BadValue('bad packet type %r%s' % (args[0], _non_ascii(args[0])), args[0])
    return (v,)


def mac_norm(args, ctx):
    s = args[0]
    parts = s.split(':')
    if len(parts) != 6 or not all(len(p) in (1, 2) and all(c in '0123456789abcdefABCDEF' for c in p) for p in parts):
        raise BadValue('bad mac address %r' % s, s)
    return (':'.join('%02x' % int(p, 16) for p in parts),)


def iprange_norm(args, ctx):
    s = args[0]
    a, dash, b = s.partition('-')
    lo = parse_addr(a, ctx.family)
    hi = parse_addr(b, ctx.family) if dash else lo
    return ('%s-%s' % (format_addr(lo, ctx.family), format_addr(hi, ctx.family)),)


def _recent_name(args, ctx):
    v = args[0]
    if not v or len(v.encode('utf-8', 'surrogateescape')) > 199 or '/' in v or any(c.isspace() for c in v) \
            or control_char(v) is not None:
        raise BadValue('invalid --name %r' % v, v)
    return (v,)


def _recent_mask(args, ctx):
    return (format_addr(parse_addr(args[0], ctx.family), ctx.family),)


def _recent_finish(slots, ctx):
    if 'cmd' not in slots:
        raise BadValue('recent: one of --set, --rcheck, --update or --remove is required')
    cmd = slots['cmd'][0].names[0]
    if cmd in ('--set', '--remove'):
        for s in ('seconds', 'hitcount', 'reap'):
            if s in slots:
                raise BadValue('recent: %s cannot be used with %s' % (slots[s][0].names[0], cmd))
    if 'reap' in slots and 'seconds' not in slots:
        raise BadValue('recent: --reap needs --seconds')


def _recent_mask_default(ctx):
    return ('--mask', '255.255.255.255' if ctx.family == 'ipv4' else 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')


def _length_norm(args, ctx):
    return _colon_range(0, 65535, 'length')(args, ctx)


def _hl_slot(slot, names, nargs=1, inv=False):
    return Opt(slot, names, nargs, None, inv)


def _tcpmss_finish(slots, ctx):
    if 'mss' not in slots:
        raise BadValue('TCPMSS target: --set-mss or --clamp-mss-to-pmtu is required')
    if ctx.proto != 6 or ctx.proto_inv:
        raise BadValue("TCPMSS target needs '-p tcp'")


def _rpfilter_finish(slots, ctx):
    if ctx.chain not in ('PREROUTING',) and ctx.chain in ('INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'):
        raise BadValue('rpfilter is only valid in the PREROUTING chain of the raw or mangle table')
    if ctx.table not in ('raw', 'mangle'):
        raise BadValue('rpfilter is only valid in the raw and mangle tables')


def _nflog_group(args, ctx):
    v = _uint(args[0], 0, 65535, 'group')
    return None if v == 0 else (str(v),)


def _nflog_threshold(args, ctx):
    return (str(_uint(args[0], 0, 65535, 'threshold')),)


def _nflog_range(args, ctx):
    v = _uint(args[0], what='range')
    return None if v == 0 else (str(v),)


INV = True

MATCHES = {
    'tcp': Module('tcp', [
        Opt('sport', ('--sport', '--source-port'), 1, port_range_norm, INV),
        Opt('dport', ('--dport', '--destination-port'), 1, port_range_norm, INV),
        Opt('option', ('--tcp-option',), 1, uint_norm(0, 255, 'TCP option'), INV),
        Opt('flags', ('--tcp-flags',), 2, tcp_flags_norm, INV),
        Opt('flags', ('--syn',), 0, syn_norm, INV, out='--tcp-flags'),
    ], proto=6),
    'udp': Module('udp', [
        Opt('sport', ('--sport', '--source-port'), 1, port_range_norm, INV),
        Opt('dport', ('--dport', '--destination-port'), 1, port_range_norm, INV),
    ], proto=17),
    'sctp': Module('sctp', [
        Opt('sport', ('--sport', '--source-port'), 1, port_range_norm, INV),
        Opt('dport', ('--dport', '--destination-port'), 1, port_range_norm, INV),
        Opt('chunks', ('--chunk-types',), 2, None, INV),
    ], proto=132),
    'icmp': Module('icmp', [
        Opt('type', ('--icmp-type',), 1, _icmp_norm(ICMP_TYPES, 'ICMP type'), INV),
    ], proto=1, family='ipv4'),
    'icmp6': Module('icmp6', [
        Opt('type', ('--icmpv6-type',), 1, _icmp_norm(ICMP6_TYPES, 'ICMPv6 type'), INV),
    ], proto=58, family='ipv6'),
    'multiport': Module('multiport', [
        Opt('ports', ('--sports', '--source-ports'), 1, multiport_norm, INV),
        Opt('ports', ('--dports', '--destination-ports'), 1, multiport_norm, INV),
        Opt('ports', ('--ports',), 1, multiport_norm, INV),
    ], finish=_multiport_finish, keyed=True),
    'state': Module('state', [
        Opt('state', ('--state',), 1, word_set_norm(STATE_STATES, 'state'), INV),
    ]),
    'conntrack': Module('conntrack', [
        Opt('ctstate', ('--ctstate',), 1, word_set_norm(CT_STATES, 'ctstate'), INV),
        Opt('ctproto', ('--ctproto',), 1, _ct_proto_norm, INV),
        Opt('ctorigsrc', ('--ctorigsrc',), 1, _ct_addr_norm, INV),
        Opt('ctorigdst', ('--ctorigdst',), 1, _ct_addr_norm, INV),
        Opt('ctreplsrc', ('--ctreplsrc',), 1, _ct_addr_norm, INV),
        Opt('ctrepldst', ('--ctrepldst',), 1, _ct_addr_norm, INV),
        Opt('ctorigsrcport', ('--ctorigsrcport',), 1, _ct_port_norm, INV),
        Opt('ctorigdstport', ('--ctorigdstport',), 1, _ct_port_norm, INV),
        Opt('ctreplsrcport', ('--ctreplsrcport',), 1, _ct_port_norm, INV),
        Opt('ctrepldstport', ('--ctrepldstport',), 1, _ct_port_norm, INV),
        Opt('ctstatus', ('--ctstatus',), 1, word_set_norm(CT_STATUS, 'ctstatus', none='NONE'), INV),
        Opt('ctexpire', ('--ctexpire',), 1, _colon_range(0, 0xFFFFFFFF, 'expire time'), INV),
        Opt('ctdir', ('--ctdir',), 1, _ctdir_norm),
    ]),
    'recent': Module('recent', [
        Opt('cmd', ('--set',), 0, _flag, INV),
        Opt('cmd', ('--rcheck',), 0, _flag, INV),
        Opt('cmd', ('--update',), 0, _flag, INV),
        Opt('cmd', ('--remove',), 0, _flag, INV),
        Opt('seconds', ('--seconds',), 1, uint_norm(1, 0xFFFFFFFF, 'seconds')),
        Opt('reap', ('--reap',), 0, _flag),
        Opt('hitcount', ('--hitcount',), 1, uint_norm(1, 0xFFFFFFFF, 'hitcount')),
        Opt('rttl', ('--rttl',), 0, _flag),
        Opt('name', ('--name',), 1, _recent_name),
        Opt('mask', ('--mask',), 1, _recent_mask),
        Opt('side', ('--rsource',), 0, _flag),
        Opt('side', ('--rdest',), 0, _flag),
    ], defaults={
        'name': lambda ctx: ('--name', 'DEFAULT'),
        'mask': _recent_mask_default,
        'side': lambda ctx: ('--rsource',),
    }, finish=_recent_finish),
    'limit': Module('limit', [
        Opt('limit', ('--limit',), 1, limit_rate_norm),
        Opt('burst', ('--limit-burst',), 1, limit_burst_norm),
    ], defaults={'limit': lambda ctx: ('--limit', '3/hour')}),
    'hashlimit': Module('hashlimit', [
        _hl_slot('rate', ('--hashlimit-upto',), inv=INV),
        _hl_slot('rate', ('--hashlimit-above',), inv=INV),
        _hl_slot('rate', ('--hashlimit',), inv=INV),
        _hl_slot('burst', ('--hashlimit-burst',)),
        _hl_slot('mode', ('--hashlimit-mode',)),
        _hl_slot('name', ('--hashlimit-name',)),
        _hl_slot('size', ('--hashlimit-htable-size',)),
        _hl_slot('max', ('--hashlimit-htable-max',)),
        _hl_slot('gcinterval', ('--hashlimit-htable-gcinterval',)),
        _hl_slot('expire', ('--hashlimit-htable-expire',)),
        _hl_slot('srcmask', ('--hashlimit-srcmask',)),
        _hl_slot('dstmask', ('--hashlimit-dstmask',)),
        _hl_slot('ratematch', ('--hashlimit-rate-match',), 0),
        _hl_slot('interval', ('--hashlimit-rate-interval',)),
    ], render=_hl_render),
    # libxt_set: known, so that a protocol option written after it ('-m set --match-set S src
    # --dport 22') goes to its own match as iptables-save prints it, not into the set match.
    'set': Module('set', [
        Opt('match', ('--match-set', '--set'), 2, None, INV, out='--match-set'),
        Opt('nomatch', ('--return-nomatch',), 0, _flag),
        Opt('counters', ('--update-counters',), 0, _flag, INV),
        Opt('subcounters', ('--update-subcounters',), 0, _flag, INV),
        Opt('packets', ('--packets-eq',), 1, None, INV),
        Opt('packets', ('--packets-lt',), 1, None),
        Opt('packets', ('--packets-gt',), 1, None),
        Opt('bytes', ('--bytes-eq',), 1, None, INV),
        Opt('bytes', ('--bytes-lt',), 1, None),
        Opt('bytes', ('--bytes-gt',), 1, None),
    ]),
    'comment': Module('comment', [
        Opt('comment', ('--comment',), 1, string_norm(255)),
    ]),
    'addrtype': Module('addrtype', [
        Opt('src', ('--src-type',), 1, addrtype_norm, INV),
        Opt('dst', ('--dst-type',), 1, addrtype_norm, INV),
        Opt('iface', ('--limit-iface-in',), 0, _flag),
        Opt('iface', ('--limit-iface-out',), 0, _flag),
    ]),
    'rpfilter': Module('rpfilter', [
        Opt('loose', ('--loose',), 0, _flag),
        Opt('validmark', ('--validmark',), 0, _flag),
        Opt('acceptlocal', ('--accept-local',), 0, _flag),
        Opt('invert', ('--invert',), 0, _flag),
    ], finish=_rpfilter_finish),
    'pkttype': Module('pkttype', [
        Opt('type', ('--pkt-type',), 1, pkttype_norm, INV),
    ]),
    'length': Module('length', [
        Opt('length', ('--length',), 1, _length_norm, INV),
    ]),
    'iprange': Module('iprange', [
        Opt('src', ('--src-range',), 1, iprange_norm, INV),
        Opt('dst', ('--dst-range',), 1, iprange_norm, INV),
    ]),
    'mac': Module('mac', [
        Opt('mac', ('--mac-source',), 1, mac_norm, INV),
    ]),
    'mark': Module('mark', [
        Opt('mark', ('--mark',), 1, mark_match_norm, INV),
    ]),
    'connmark': Module('connmark', [
        Opt('mark', ('--mark',), 1, mark_match_norm, INV),
    ]),
    'owner': Module('owner', [
        Opt('socket', ('--socket-exists',), 0, _flag, INV),
        Opt('uid', ('--uid-owner',), 1, _owner_id('uid'), INV),
        Opt('gid', ('--gid-owner',), 1, _owner_id('gid'), INV),
        Opt('suppl', ('--suppl-groups',), 0, _flag),
    ]),
}

# names under which a match may be loaded
MATCH_ALIASES = {'icmpv6': 'icmp6', 'ipv6-icmp': 'icmp6'}

# the match '-p PROTO' loads implicitly when an option it does not know appears
PROTO_MATCHES = {6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'icmp6'}

TARGETS = {
    'ACCEPT': Module('ACCEPT', []),
    'DROP': Module('DROP', []),
    'RETURN': Module('RETURN', []),
    'QUEUE': Module('QUEUE', []),
    'NOTRACK': Module('NOTRACK', [], tables=('raw',)),
    'TRACE': Module('TRACE', [], tables=('raw',)),
    'REJECT': Module('REJECT', [
        Opt('with', ('--reject-with',), 1, reject_norm),
    ], defaults={'with': _reject_default}, tables=('filter', 'mangle', 'raw')),
    'LOG': Module('LOG', [
        Opt('prefix', ('--log-prefix',), 1, string_norm(29, truncate=True)),
        Opt('level', ('--log-level',), 1, log_level_norm),
        Opt('seq', ('--log-tcp-sequence',), 0, _flag),
        Opt('tcpopt', ('--log-tcp-options',), 0, _flag),
        Opt('ipopt', ('--log-ip-options',), 0, _flag),
        Opt('uid', ('--log-uid',), 0, _flag),
        Opt('mac', ('--log-macdecode',), 0, _flag),
    ]),
    'NFLOG': Module('NFLOG', [
        Opt('prefix', ('--nflog-prefix',), 1, string_norm(63, truncate=True)),
        Opt('group', ('--nflog-group',), 1, _nflog_group),
        Opt('size', ('--nflog-size',), 1, _uint_norm_32),
        # deprecated; the nf_tables backend drops it, so it takes no part in comparisons
        Opt('range', ('--nflog-range',), 1, _nflog_range, key=False),
        Opt('threshold', ('--nflog-threshold',), 1, _nflog_threshold),
    ]),
    'MASQUERADE': Module('MASQUERADE', [
        Opt('ports', ('--to-ports',), 1, port_or_range_dash),
        Opt('random', ('--random',), 0, _flag),
        Opt('fully', ('--random-fully',), 0, _flag),
    ], tables=('nat',), hooks=('POSTROUTING',), finish=_to_ports_finish),
    'REDIRECT': Module('REDIRECT', [
        Opt('ports', ('--to-ports',), 1, port_or_range_dash),
        Opt('random', ('--random',), 0, _flag),
    ], tables=('nat',), hooks=('PREROUTING', 'OUTPUT'), finish=_to_ports_finish),
    'SNAT': Module('SNAT', [
        Opt('to', ('--to-source',), 1, nat_range_norm),
        Opt('random', ('--random',), 0, _flag),
        Opt('fully', ('--random-fully',), 0, _flag),
        Opt('persistent', ('--persistent',), 0, _flag),
    ], tables=('nat',), hooks=('POSTROUTING', 'INPUT'), finish=_snat_finish),
    'DNAT': Module('DNAT', [
        Opt('to', ('--to-destination',), 1, nat_range_norm),
        Opt('random', ('--random',), 0, _flag),
        Opt('fully', ('--random-fully',), 0, _flag),
        Opt('persistent', ('--persistent',), 0, _flag),
    ], tables=('nat',), hooks=('PREROUTING', 'OUTPUT'), finish=_dnat_finish),
    'MARK': Module('MARK', [
        Opt('op', ('--set-xmark',), 1),
        Opt('op', ('--set-mark',), 1),
        Opt('op', ('--and-mark',), 1),
        Opt('op', ('--or-mark',), 1),
        Opt('op', ('--xor-mark',), 1),
    ], render=_xmark_render),
    'CONNMARK': Module('CONNMARK', [
        Opt('op', ('--set-xmark',), 1),
        Opt('op', ('--set-mark',), 1),
        Opt('op', ('--and-mark',), 1),
        Opt('op', ('--or-mark',), 1),
        Opt('op', ('--xor-mark',), 1),
        Opt('op', ('--save-mark',), 0),
        Opt('op', ('--restore-mark',), 0),
        Opt('nfmask', ('--nfmask',), 1),
        Opt('ctmask', ('--ctmask',), 1),
        Opt('mask', ('--mask',), 1),
    ], render=lambda slots, ctx: _xmark_render(slots, ctx, True)),
    'TCPMSS': Module('TCPMSS', [
        Opt('mss', ('--set-mss',), 1, uint_norm(0, 65535, 'MSS')),
        Opt('mss', ('--clamp-mss-to-pmtu',), 0, _flag),
    ], finish=_tcpmss_finish),
}

# Target extensions that are accepted with their options kept verbatim.
OPAQUE_TARGETS = frozenset((
    'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CLUSTERIP', 'CONNSECMARK', 'CT', 'DNPT', 'DSCP', 'ECN', 'HL', 'HMARK',
    'IDLETIMER', 'LED', 'NETMAP', 'NFQUEUE', 'RATEEST', 'SAME', 'SECMARK', 'SET', 'SNPT', 'SYNPROXY',
    'TCPOPTSTRIP', 'TEE', 'TOS', 'TPROXY', 'TTL', 'ULOG', 'MIRROR', 'JOOL', 'JOOL_SIIT', 'FULLCONENAT',
))
