# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lockout preflight: would a new filter table cut the operator's SSH session?

Before a ruleset is applied to a remote host, the packets that keep the controller connected
over SSH are run through the new *filter* table the way netfilter would run them:

* ``ssh-new-in``: a new connection, TCP SYN from the controller to sshd (INPUT, ctstate NEW);
* ``ssh-established-out``: the session's return traffic, sshd to the controller (OUTPUT,
  ESTABLISHED, ACK);
* ``ssh-established-in``: the session's inbound traffic (INPUT, ESTABLISHED, ACK);
* ``ssh-synack-out``: sshd's SYN-ACK answering a new connection (OUTPUT, ESTABLISHED, SYN+ACK).

The addresses and ports come from the target's ``SSH_CONNECTION`` ("client_ip client_port
server_ip server_port").

evaluate(ruleset_or_table, packet) -> Verdict
    Traverses the filter table from the packet's built-in chain: rules in order; ACCEPT, DROP
    and REJECT decide; RETURN returns to the calling chain (from a built-in chain, or from a
    chain reached by -g from it, the policy decides); ``-j CHAIN`` jumps and comes back when
    CHAIN is exhausted; ``-g CHAIN`` goes to CHAIN without coming back (on exhaustion the
    caller of the chain that did the -g continues); LOG, NFLOG, MARK, ... continue; QUEUE,
    NFQUEUE, SYNPROXY and unknown targets give UNDECIDED.

    A match the evaluator cannot decide for a single packet (``-m recent --rcheck``,
    hashlimit, connlimit, string, time, owner, set, mark, ..., or ``-i eth0`` while the
    interface is unknown) forks the evaluation: both branches (matches / does not match) are
    followed, and an assumption is reused for the same predicate later on the same path. When
    every branch ends in the same verdict, that verdict stands and nothing is reported;
    otherwise the verdict is UNDECIDED and ``undecidable`` lists the rules whose matches made
    the difference, with the reason. At most ``max_paths`` branches (64) are followed; beyond
    that the verdict is UNDECIDED. The evaluator never guesses ACCEPT.

session_packets(ssh_connection, family) -> [(label, Packet)]
    The packets above; [] when the session runs over the other IP family (ip6tables never
    sees an IPv4 session and vice versa). ``::ffff:a.b.c.d`` counts as IPv4. Raises
    ValueError on a malformed SSH_CONNECTION.

preflight(ruleset, ssh_connection) -> dict
    ``safe`` is a tri-state:

    * True: every session packet is ACCEPTed (or the session is not filtered by this family,
      or the ruleset has no filter table: the live filter table stays as it is);
    * False: at least one session packet is certainly DROPped or REJECTed; ``message`` names
      the chain, the rule (or the policy) and its input line;
    * None: unknown. Some packet's fate depends on matches the evaluator cannot decide (and
      none is certainly blocked); ``message`` and ``undecidable`` list those rules. The caller
      should then rely on confirm-or-revert rather than on this check.

Decisions for matches that depend on the host: the SSH server address is a local address
(``-m addrtype --dst-type LOCAL`` matches it); the controller's packets do not arrive on ``lo``
unless its address is a loopback address or the server's own; ``-m limit`` matches (one
connection attempt is well under any limit; recorded as a note); ``-m recent --set`` matches;
conntrack tuple options (``--ctorigsrc`` ...) assume the session is not NATed on this host.
``-m set [!] --match-set NAME src|dst`` is decided when the caller passes the set's contents
(``sets={NAME: [networks]}`` to evaluate() or preflight()); otherwise it is undecidable. It stays
undecidable for a set that a rule of the table changes (``-j SET --add-set/--del-set/--map-set``):
the contents then depend on earlier packets. ``-m recent`` lists and hashlimit buckets are never
known: those matches fork, and a rule changing them makes later ones fork again.

Pure Python, standard library only (Python 3.8+).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_matches import (
    BadValue,
    parse_addr,
    parse_net,
    parse_proto,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    Ruleset,
    Table,
    rule_tokens,
)

__metaclass__ = type

__all__ = ['Packet', 'Verdict', 'evaluate', 'compile_sets', 'parse_ssh_connection', 'session_packets', 'preflight',
           'MAX_PATHS',
           'VERDICTS', 'SESSION_PACKETS']

MAX_PATHS = 64
MAX_DEPTH = 64
VERDICTS = ('ACCEPT', 'DROP', 'REJECT', 'UNDECIDED')
BLOCKING = ('DROP', 'REJECT')
CT_STATES = ('NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED')
TCP_FLAG_BITS = {'FIN': 0x01, 'SYN': 0x02, 'RST': 0x04, 'PSH': 0x08, 'ACK': 0x10, 'URG': 0x20}
_FLAG_WORDS = dict(TCP_FLAG_BITS, ALL=0x3F, NONE=0)
_PROTOS = {'tcp': 6, 'udp': 17}
_FILTER_CHAINS = ('INPUT', 'FORWARD', 'OUTPUT')

NO_FILTER_NOTE = ('the ruleset has no filter table: filter is not managed by it, so the live filter table '
                  'stays as it is (the preflight cannot judge it)')

# targets that let the packet go on to the next rule
CONTINUE_TARGETS = frozenset((
    'LOG', 'NFLOG', 'ULOG', 'MARK', 'CONNMARK', 'TCPMSS', 'AUDIT', 'CLASSIFY', 'CONNSECMARK', 'SECMARK', 'DSCP',
    'ECN', 'HL', 'TTL', 'TOS', 'HMARK', 'IDLETIMER', 'LED', 'RATEEST', 'SET', 'TCPOPTSTRIP', 'TEE', 'CHECKSUM',
    'CLUSTERIP', 'TRACE', 'NOTRACK', 'CT',
))
# targets whose verdict is not known here
UNDECIDED_TARGETS = {
    'QUEUE': 'hands the packet to a userspace program (QUEUE)',
    'NFQUEUE': 'hands the packet to a userspace program (NFQUEUE)',
    'SYNPROXY': 'SYNPROXY answers the TCP handshake itself',
    'MIRROR': 'MIRROR sends the packet back',
    'JOOL': 'the packet is translated by Jool',
    'JOOL_SIIT': 'the packet is translated by Jool',
}
# targets and matches whose effect changes what later stateful matches see
_SIDE_EFFECT_TARGETS = frozenset(('MARK', 'CONNMARK', 'SET'))
_STATEFUL_MATCHES = frozenset(('recent', 'hashlimit', 'mark', 'connmark', 'set', 'quota', 'connlimit', 'statistic'))
_SIDE_EFFECT_MATCHES = frozenset(('hashlimit', 'quota', 'statistic'))

_REASONS = {
    'recent': 'depends on runtime state (the recent address list)',
    'hashlimit': 'depends on the rate of earlier packets (hashlimit buckets)',
    'connlimit': 'depends on the number of open connections',
    'string': 'depends on the packet payload',
    'u32': 'depends on raw packet contents',
    'bpf': 'depends on a BPF program',
    'time': 'depends on the time of day and the date',
    'owner': 'depends on the owner of the local socket',
    'set': 'depends on the contents of an ipset',
    'mark': 'depends on the packet mark',
    'connmark': 'depends on the connection mark',
    'mac': "depends on the previous hop's MAC address",
    'length': 'depends on the packet length',
    'physdev': 'depends on the bridge port',
    'geoip': 'depends on the GeoIP database',
    'statistic': 'is random or counts packets',
    'quota': 'depends on the traffic counted so far',
    'socket': 'depends on a socket lookup',
    'helper': 'depends on the conntrack helper',
    'policy': 'depends on the IPsec policy',
    'ttl': 'depends on the TTL of the packet',
    'hl': 'depends on the hop limit of the packet',
    'tcpmss': 'depends on the MSS option of the packet',
    'dscp': 'depends on the DSCP field of the packet',
    'tos': 'depends on the TOS field of the packet',
    'ecn': 'depends on the ECN bits of the packet',
    'rpfilter': 'depends on the routing table',
    'cgroup': 'depends on the control group of the local socket',
    'devgroup': 'depends on the device group of the interface',
    'cpu': 'depends on the CPU handling the packet',
    'nfacct': 'depends on accounting counters',
}
# matches that only ever match their own protocol (the tcp packet never matches them)
_PROTO_ONLY = {'icmp': 1, 'icmp6': 58, 'udplite': 136, 'dccp': 33, 'esp': 50, 'ah': 51,
               'mh': 135}


class Packet:
    """One packet to evaluate.

    chain: 'INPUT', 'OUTPUT' (or 'FORWARD'); src, dst: IP address strings; proto: 'tcp' (or
    'udp'); sport, dport: ints (None when unknown); ctstate: 'NEW', 'ESTABLISHED', 'RELATED', 'INVALID' or
    'UNTRACKED'; tcp_flags: the flag names set ({'SYN'}, {'ACK'}, ...; default {'SYN'} for NEW,
    {'ACK'} otherwise); in_iface, out_iface: interface names, None when unknown; direction:
    'ORIGINAL' or 'REPLY' (the conntrack direction; default ORIGINAL for NEW, else unknown).
    """

    __slots__ = ('chain', 'src', 'dst', 'proto', 'sport', 'dport', 'ctstate', 'tcp_flags', 'in_iface', 'out_iface',
                 'direction')

    def __init__(self, chain, src, dst, proto='tcp', sport=0, dport=0, ctstate='NEW', tcp_flags=None, in_iface=None,
                 out_iface=None, direction=None):
        if chain not in _FILTER_CHAINS:
            raise ValueError('packet chain must be one of %s, not %r' % (', '.join(_FILTER_CHAINS), chain))
        if proto not in _PROTOS:
            raise ValueError('packet protocol must be tcp or udp, not %r' % (proto,))
        if ctstate not in CT_STATES:
            raise ValueError('packet ctstate must be one of %s, not %r' % (', '.join(CT_STATES), ctstate))
        for port in (sport, dport):
            if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535):
                raise ValueError('packet ports must be integers 0-65535 (or None: unknown), not %r' % (port,))
        if tcp_flags is None:
            tcp_flags = () if proto != 'tcp' else (('SYN',) if ctstate == 'NEW' else ('ACK',))
        if isinstance(tcp_flags, str):
            tcp_flags = [f for f in tcp_flags.replace(',', ' ').split() if f]
        flags = frozenset(f.upper() for f in tcp_flags)
        bad = sorted(f for f in flags if f not in TCP_FLAG_BITS)
        if bad:
            raise ValueError('unknown TCP flag(s) %s' % ', '.join(bad))
        if flags and proto != 'tcp':
            raise ValueError('TCP flags given for a %s packet' % proto)
        if direction is None and ctstate == 'NEW':
            direction = 'ORIGINAL'
        if direction not in (None, 'ORIGINAL', 'REPLY'):
            raise ValueError('packet direction must be ORIGINAL or REPLY, not %r' % (direction,))
        self.chain = chain
        self.src = src
        self.dst = dst
        self.proto = proto
        self.sport = sport
        self.dport = dport
        self.ctstate = ctstate
        self.tcp_flags = flags
        self.in_iface = in_iface
        self.out_iface = out_iface
        self.direction = direction

    def __repr__(self):
        return 'Packet(%s %s %s:%s -> %s:%s %s %s)' % (
            self.chain, self.proto, self.src, self.sport, self.dst, self.dport, self.ctstate,
            ','.join(sorted(self.tcp_flags)))


class Verdict:
    """The fate of a packet.

    verdict: 'ACCEPT', 'DROP', 'REJECT' or 'UNDECIDED'
    chain: the chain of the deciding rule or of the deciding policy (None when undecided
        because of undecidable matches, or when there is no filter table)
    rule: the deciding Rule, None when a policy decided
    rule_text: '-A CHAIN ...' of the deciding rule, or ':INPUT DROP (policy)'
    lineno: input line of the deciding rule (of the chain declaration for a policy), if known
    undecidable: [{'chain', 'rule', 'lineno', 'reason'}] rules whose match could not be decided
        and that changed the outcome (or the undecided target that decided)
    trace: the rule lines that matched on the way (the first explored path when undecided)
    notes: assumptions made on the way (limit matches taken as matching, ...)
    possible: the verdicts reachable over all explored branches
    paths: one summary per explored branch: {'verdict', 'chain', 'rule', 'lineno', 'assuming'}
    """

    __slots__ = ('verdict', 'chain', 'rule', 'rule_text', 'lineno', 'undecidable', 'trace', 'notes', 'possible',
                 'paths')

    def __init__(self, verdict, chain=None, rule=None, rule_text=None, lineno=None, undecidable=None, trace=None,
                 notes=None, possible=None, paths=None):
        self.verdict = verdict
        self.chain = chain
        self.rule = rule
        self.rule_text = rule_text
        self.lineno = lineno
        self.undecidable = undecidable if undecidable is not None else []
        self.trace = trace if trace is not None else []
        self.notes = notes if notes is not None else []
        self.possible = possible if possible is not None else [verdict]
        self.paths = paths if paths is not None else []

    @property
    def blocked(self):
        """True when every explored branch drops or rejects the packet."""
        return all(v in BLOCKING for v in self.possible)

    def as_dict(self):
        return {
            'verdict': self.verdict, 'chain': self.chain, 'rule': self.rule_text, 'lineno': self.lineno,
            'undecidable': [dict(u) for u in self.undecidable], 'trace': list(self.trace),
            'notes': list(self.notes), 'possible': list(self.possible),
        }

    def __repr__(self):
        return 'Verdict(%s, %r, line %s)' % (self.verdict, self.rule_text, self.lineno)


# ----------------------------------------------------------------------- addresses

def _ip(text, what='address'):
    """An ipaddress object for an address string (a %scope suffix is dropped). Raises ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError('invalid %s %r' % (what, text))
    s = text.strip()
    if '%' in s:
        s = s.split('%', 1)[0]
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        raise ValueError('invalid %s %r (an IPv4 or IPv6 address is needed)' % (what, text)) from None
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return a


def _scope(text):
    """The interface name of an IPv6 scope suffix (fe80::1%eth0), or None."""
    if isinstance(text, str) and '%' in text:
        z = text.split('%', 1)[1].strip()
        if z and not (z.isascii() and z.isdigit()):
            return z
    return None


class _Ctx:
    """The packet, reduced to what the matches look at."""

    __slots__ = ('family', 'src', 'dst', 'bits', 'proto', 'sport', 'dport', 'flags', 'state', 'iin', 'iout',
                 'direction', 'src_local', 'dst_local', 'chain', 'sets')

    def __init__(self, packet, family, sets=None):
        src = _ip(packet.src, 'source address')
        dst = _ip(packet.dst, 'destination address')
        if src.version != dst.version:
            raise ValueError('packet source %s and destination %s are of different IP versions' % (src, dst))
        fam = 'ipv4' if src.version == 4 else 'ipv6'
        if family is not None and fam != family:
            raise ValueError('the packet is %s but the ruleset is %s' % (fam, family))
        self.family = fam
        self.src = int(src)
        self.dst = int(dst)
        self.bits = 32 if fam == 'ipv4' else 128
        self.proto = _PROTOS[packet.proto]
        self.sport = packet.sport
        self.dport = packet.dport
        self.flags = 0
        for f in packet.tcp_flags:
            self.flags |= TCP_FLAG_BITS[f]
        self.state = packet.ctstate
        self.direction = packet.direction
        self.chain = packet.chain
        self.sets = sets
        same = self.src == self.dst
        # locally known addresses: the server's (dst on INPUT, src on OUTPUT) and loopback ones
        if packet.chain == 'INPUT':
            self.dst_local = True
            self.src_local = src.is_loopback or same
            self.iin = packet.in_iface if packet.in_iface is not None else ('lo' if self.src_local else None)
            self.iout = ''
        elif packet.chain == 'OUTPUT':
            self.src_local = True
            self.dst_local = dst.is_loopback or same
            self.iin = ''
            self.iout = packet.out_iface if packet.out_iface is not None else ('lo' if self.dst_local else None)
        else:
            self.src_local = self.dst_local = None
            self.iin = packet.in_iface
            self.iout = packet.out_iface


# ----------------------------------------------------------------------- rule text

def _show(tok, quoted):
    if quoted or not tok or any(c.isspace() for c in tok):
        return '"%s"' % tok.replace('\\', '\\\\').replace('"', '\\"')
    return tok


class _Unknown:
    """A predicate the evaluator cannot decide: key names the positive predicate."""

    __slots__ = ('key', 'reason', 'stateful')

    def __init__(self, key, reason, stateful=False):
        self.key = key
        self.reason = reason
        self.stateful = stateful


class _Compiled:
    __slots__ = ('comps', 'side_effect', 'notes')

    def __init__(self, comps, side_effect=False, notes=()):
        self.comps = comps
        self.side_effect = side_effect
        self.notes = tuple(notes)


_CACHE = {}


def _ports(s):
    """'N' or 'N:M' -> (lo, hi)."""
    lo, sep, hi = s.partition(':')
    a = int(lo) if lo else 0
    b = (int(hi) if hi else 65535) if sep else a
    return a, b


def _flag_mask(s):
    m = 0
    for w in s.split(','):
        m |= _FLAG_WORDS[w.upper()]
    return m


def _set_match(opts):
    """(set name, 'src' or 'dst', negated) of '-m set [!] --match-set NAME src|dst' with nothing else, or None."""
    words = [t for t, q in opts if not q]
    if len(words) != len(opts):
        return None
    neg = bool(words) and words[0] == '!'
    if neg:
        words = words[1:]
    if len(words) == 3 and words[0] == '--match-set' and words[2] in ('src', 'dst'):
        return words[1], words[2], neg
    return None


def _compile_match(part, family, comps, notes):
    """Add the components of one '-m NAME OPTS' (a MatchPart of the model) to comps. Returns True
    if it has side effects."""
    name, opts, parsed = part
    label = ' '.join(['-m', name] + [_show(t, q) for t, q in opts])
    if name == 'set':
        one = _set_match(opts)
        if one is not None:
            # decided in _check when the caller gave the set's contents; otherwise undecidable as before
            comps.append(('set', False, one + (_Unknown(('m', label), '-m set %s' % _REASONS['set'], True),)))
            return False
    if name in _PROTO_ONLY:
        comps.append(('l4', False, _PROTO_ONLY[name]))
        return False
    if parsed is None or name in _REASONS or name in ('recent', 'hashlimit'):
        stateful = name in _STATEFUL_MATCHES
        if name == 'recent' and parsed is not None:
            cmd = [(o, neg) for o, neg, _a in parsed if o.slot == 'cmd']
            listname = [a[0] for o, _n, a in parsed if o.slot == 'name']
            if cmd and cmd[0][0].names[0] == '--set':
                comps.append(('const', cmd[0][1], True))  # --set always matches; '! --set' never
                return True
            neg = bool(cmd and cmd[0][1])
            key = ('m', name, tuple((o.names[0], tuple(a)) for o, _n, a in parsed))
            reason = '-m recent %s depends on runtime state (the address list %r)' % (
                cmd[0][0].names[0] if cmd else '', listname[0] if listname else 'DEFAULT')
            comps.append(('unknown', neg, _Unknown(key, reason, True)))
            return bool(cmd) and cmd[0][0].names[0] in ('--update', '--remove')
        if name == 'hashlimit' and parsed is not None:
            neg = any(n for o, n, _a in parsed if o.slot == 'rate')
            key = ('m', name, tuple((o.names[0], tuple(a)) for o, _n, a in parsed))
            names = [a[0] for o, _n, a in parsed if o.slot == 'name']
            reason = '-m hashlimit %s' % _REASONS['hashlimit']
            if names:
                reason += ' (%r)' % names[0]
            comps.append(('unknown', neg, _Unknown(key, reason, True)))
            return True
        reason = _REASONS.get(name)
        reason = '-m %s %s' % (name, reason) if reason else '%s is not evaluated by the preflight' % label
        comps.append(('unknown', False, _Unknown(('m', label), reason, stateful)))
        return name in _SIDE_EFFECT_MATCHES
    if name in ('tcp', 'udp', 'sctp'):
        comps.append(('l4', False, {'tcp': 6, 'udp': 17, 'sctp': 132}[name]))
    for opt, neg, args in parsed:
        slot = opt.slot
        if name in ('tcp', 'udp', 'sctp'):
            if slot in ('sport', 'dport'):
                comps.append((slot, neg, _ports(args[0])))
            elif slot == 'flags':
                if opt.names[0] == '--syn':
                    comps.append(('flags', neg, (0x17, 0x02)))
                else:
                    comps.append(('flags', neg, (_flag_mask(args[0]), _flag_mask(args[1]))))
            else:
                comps.append(('unknown', neg, _Unknown(('m', name, opt.names[0], tuple(args)),
                                                       '%s %s depends on the packet header options'
                                                       % (opt.names[0], ' '.join(args)))))
        elif name == 'multiport':
            which = {'--sports': 'src', '--dports': 'dst', '--ports': 'any'}[opt.names[0]]
            comps.append(('mports', neg, (which, tuple(_ports(p) for p in args[0].split(',')))))
        elif name == 'state' or (name == 'conntrack' and slot == 'ctstate'):
            comps.append(('state', neg, frozenset(args[0].upper().split(','))))
        elif name == 'conntrack':
            if slot == 'ctproto':
                comps.append(('ctproto', neg, parse_proto(args[0])))
            elif slot in ('ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst'):
                comps.append(('ctaddr', neg, (slot[2:], parse_net(args[0], family))))
            elif slot in ('ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport'):
                comps.append(('ctport', neg, (slot[2:-4], _ports(args[0]))))
            elif slot == 'ctdir':
                comps.append(('ctdir', neg, args[0].upper()))
            elif slot == 'ctstatus' and args[0].upper() == 'NONE':
                comps.append(('const', neg, False))
            else:
                comps.append(('unknown', neg, _Unknown(('m', name, opt.names[0], tuple(args)),
                                                       '-m conntrack %s %s depends on the connection tracking entry'
                                                       % (opt.names[0], ' '.join(args)))))
        elif name == 'comment':
            pass
        elif name == 'limit':
            if slot == 'limit':
                notes.append("'%s' was taken as matching: a single connection attempt is under any limit" % label)
        elif name == 'addrtype':
            if slot in ('src', 'dst'):
                limit = [o.names[0] for o, _n, _a in parsed if o.slot == 'iface']
                comps.append(('addrtype', neg, (slot, frozenset(args[0].upper().split(',')),
                                                limit[0] if limit else None, label)))
        elif name == 'pkttype':
            comps.append(('pkttype', neg, args[0].lower()))
        elif name == 'iprange':
            lo, _dash, hi = args[0].partition('-')
            comps.append(('iprange', neg, (slot, parse_addr(lo, family), parse_addr(hi or lo, family))))
        else:
            comps.append(('unknown', False, _Unknown(('m', label), '%s is not evaluated by the preflight' % label)))
            break
    return False


def _compile(rule, family):
    """The components of a rule: [(kind, negated, data)]; cached by (text, family)."""
    ck = (rule.text, family)
    r = _CACHE.get(ck)
    if r is not None:
        return r
    comps = []
    notes = []
    side = rule.target in _SIDE_EFFECT_TARGETS
    try:
        for flag, neg, value in rule.matches:
            if flag == '-f':
                comps.append(('frag', neg, None))
            elif flag in ('-s', '-d'):
                comps.append(('src' if flag == '-s' else 'dst', neg, parse_net(value, family)))
            elif flag in ('-i', '-o'):
                comps.append(('in' if flag == '-i' else 'out', neg, value))
            elif flag == '-p':
                comps.append(('proto', neg, parse_proto(value)))
            elif _compile_match(value, family, comps, notes):
                side = True
    except (ValueError, IndexError, KeyError, BadValue):
        comps = [('unknown', False, _Unknown(('rule', rule.text), 'the preflight cannot read this rule'))]
        notes = []
    r = _Compiled(comps, side, notes)
    if len(_CACHE) > 20000:
        _CACHE.clear()
    _CACHE[ck] = r
    return r


# ----------------------------------------------------------------------- matching

def _iface_match(pattern, name):
    if pattern.endswith('+'):
        return name.startswith(pattern[:-1])
    return name == pattern


def _in_net(addr, net):
    a, m = net
    return (addr & m) == a


def _addrtype_local(types, family):
    """Does an address type set match a local unicast address?"""
    if family == 'ipv4':
        return 'LOCAL' in types
    if 'MULTICAST' in types or 'UNSPEC' in types:
        return False
    if types & frozenset(('LOCAL', 'ANYCAST', 'BLACKHOLE', 'UNREACHABLE')):
        return 'LOCAL' in types
    return True


def _port_unknown(kind, data):
    return _Unknown(('port?', kind, data), "the controller's port is unknown (0 in SSH_CONNECTION)")


def _check(kind, data, c):
    """True/False, or an _Unknown, for one component (without its negation)."""
    if kind == 'src':
        return _in_net(c.src, data)
    if kind == 'dst':
        return _in_net(c.dst, data)
    if kind == 'proto':
        return c.proto == data
    if kind == 'l4':
        return c.proto == data
    if kind == 'sport' or kind == 'dport':
        port = c.sport if kind == 'sport' else c.dport
        if port is None:
            return _port_unknown(kind, data)
        return data[0] <= port <= data[1]
    if kind == 'flags':
        return (c.flags & data[0]) == data[1]
    if kind == 'state':
        if c.state in data:
            return True
        if data & frozenset(('SNAT', 'DNAT')):
            return _Unknown(('ctnat', tuple(sorted(data))), '--ctstate %s depends on NAT of the connection'
                            % ','.join(sorted(data)))
        return False
    if kind in ('in', 'out'):
        name = c.iin if kind == 'in' else c.iout
        if name is not None:
            return _iface_match(data, name)
        if data == '+':
            return True
        if data == 'lo':
            return False
        flag = '-i' if kind == 'in' else '-o'
        return _Unknown(('iface', kind, data), '%s %s: the %s interface is unknown (pass %s to decide)'
                        % (flag, data, 'input' if kind == 'in' else 'output',
                           'in_iface' if kind == 'in' else 'out_iface'))
    if kind == 'frag':
        return False
    if kind == 'const':
        return data
    if kind == 'mports':
        which, ranges = data
        ports = (c.sport,) if which == 'src' else (c.dport,) if which == 'dst' else (c.sport, c.dport)
        if any(lo <= p <= hi for p in ports if p is not None for lo, hi in ranges):
            return True
        if None in ports:
            return _port_unknown('multiport', data)
        return False
    if kind == 'unknown':
        return data
    if kind == 'set':
        name, side, neg, unknown = data
        contents = c.sets.get(name) if c.sets is not None else None
        if contents is None:
            return unknown
        if contents.__class__ is _Changed:
            # the table itself adds to or deletes from this set: the known contents are not the ones the
            # session's packets meet (an earlier packet, of this session or another, may have changed them)
            return _Unknown(unknown.key, contents.reason, True)
        addr = c.src if side == 'src' else c.dst
        bits = c.bits
        found = any(((addr >> (bits - plen)) << (bits - plen) if plen else 0) in nets
                    for plen, nets in contents.get(c.family, {}).items())
        return found != neg
    if kind in ('ctaddr', 'ctport', 'ctdir'):
        if c.direction is None:
            return _Unknown(('ctdir?', kind, data), 'the conntrack direction of the packet is unknown')
        if kind == 'ctdir':
            return data == c.direction
        if c.direction == 'ORIGINAL':
            orig = (c.src, c.sport, c.dst, c.dport)
        else:
            orig = (c.dst, c.dport, c.src, c.sport)
        tuples = {'origsrc': (orig[0], orig[1]), 'origdst': (orig[2], orig[3]),
                  'replsrc': (orig[2], orig[3]), 'repldst': (orig[0], orig[1])}
        if kind == 'ctaddr':
            return _in_net(tuples[data[0]][0], data[1])
        port = tuples[data[0]][1]
        if port is None:
            return _port_unknown(kind, data)
        return data[1][0] <= port <= data[1][1]
    if kind == 'ctproto':
        return c.proto == data
    if kind == 'pkttype':
        return data == 'unicast'
    if kind == 'iprange':
        addr = c.src if data[0] == 'src' else c.dst
        return data[1] <= addr <= data[2]
    if kind == 'addrtype':
        side, types, limit, label = data
        local = c.src_local if side == 'src' else c.dst_local
        if local and not limit:
            return _addrtype_local(types, c.family)
        what = 'the controller' if local is False else 'this'
        return _Unknown(('addrtype', side, types, limit), '%s depends on the routing type of %s address'
                        % (label, what))
    return _Unknown(('kind', kind, repr(data)), 'cannot evaluate %s' % kind)


# ----------------------------------------------------------------------- traversal

class _TooMany(Exception):
    pass


class _State:
    __slots__ = ('chain', 'idx', 'stack', 'assume', 'gen', 'trace', 'consulted', 'notes', 'assuming')

    def __init__(self, chain):
        self.chain = chain
        self.idx = 0
        self.stack = []
        self.assume = {}
        self.gen = 0
        self.trace = []
        self.consulted = []
        self.notes = []
        self.assuming = []

    def copy(self):
        s = _State(self.chain)
        s.idx = self.idx
        s.stack = list(self.stack)
        s.assume = dict(self.assume)
        s.gen = self.gen
        s.trace = list(self.trace)
        s.consulted = list(self.consulted)
        s.notes = list(self.notes)
        s.assuming = list(self.assuming)
        return s


class _Leaf:
    __slots__ = ('verdict', 'chain', 'rule', 'text', 'lineno', 'state', 'reason')

    def __init__(self, verdict, chain, rule, text, lineno, state, reason=None):
        self.verdict = verdict
        self.chain = chain
        self.rule = rule
        self.text = text
        self.lineno = lineno
        self.state = state
        self.reason = reason


def _entry(rule, reason):
    return {'chain': rule.chain if rule is not None else None, 'rule': rule.line() if rule is not None else None,
            'lineno': rule.lineno if rule is not None else None, 'reason': reason}


class _Evaluator:

    def __init__(self, table, ctx, start, max_paths):
        self.table = table
        self.ctx = ctx
        self.start = start
        self.max_paths = max_paths
        self.nleaves = 0
        self.relevant = []
        self.forks = []

    def leaf(self, st, verdict, rule=None, reason=None):
        self.nleaves += 1
        if self.nleaves > self.max_paths:
            raise _TooMany()
        if rule is None and verdict != 'UNDECIDED':
            ch = self.table.chains[self.start]
            text = ':%s %s (policy)' % (ch.name, ch.policy)
            st.trace.append(text)
            return _Leaf(verdict, ch.name, None, text, ch.lineno, st)
        if rule is None:
            return _Leaf(verdict, None, None, None, None, st, reason)
        return _Leaf(verdict, rule.chain, rule, rule.line(), rule.lineno, st, reason)

    def match(self, rule, st):
        """True, False, or (key, _Unknown) to fork on."""
        comp = _compile(rule, self.ctx.family)
        unknowns = []
        for kind, neg, data in comp.comps:
            r = _check(kind, data, self.ctx)
            if r.__class__ is _Unknown:
                unknowns.append((neg, r))
            elif r == neg:
                return False
        pending = None
        used = []
        for neg, u in unknowns:
            key = (u.key, st.gen) if u.stateful else u.key
            val = st.assume.get(key)
            if val is None:
                if pending is None:
                    pending = (key, u, rule)
                continue
            if val == neg:
                st.consulted.append((key, rule, u.reason))
                return False
            used.append((key, rule, u.reason))
        if pending is not None:
            return pending
        st.consulted.extend(used)
        for note in comp.notes:
            if note not in st.notes:
                st.notes.append(note)
        if comp.side_effect:
            st.gen += 1
        return True

    def walk(self, st):
        chains = self.table.chains
        while True:
            chain = chains[st.chain]
            if st.idx >= len(chain.rules):
                if st.stack:
                    st.chain, st.idx = st.stack.pop()
                    continue
                return [self.leaf(st, chains[self.start].policy)]
            rule = chain.rules[st.idx]
            m = self.match(rule, st)
            if m is False:
                st.idx += 1
                continue
            if m is not True:
                if self.harmless(rule):
                    # matching or not, the packet goes on to the next rule unchanged
                    st.idx += 1
                    continue
                return self.fork(st, m)
            st.idx += 1
            st.trace.append(rule.line())
            target = rule.jumps
            if target is not None:
                active = [c for c, _i in st.stack]
                if target not in chains or target == st.chain or target in active or len(st.stack) >= MAX_DEPTH:
                    return [self.leaf(st, 'UNDECIDED', rule, 'a jump loop or a missing chain %r' % target)]
                if not rule.goto:
                    st.stack.append((st.chain, st.idx))
                st.chain = target
                st.idx = 0
                continue
            target = rule.target
            if target is None or target in CONTINUE_TARGETS:
                continue
            if target in ('ACCEPT', 'DROP', 'REJECT'):
                return [self.leaf(st, target, rule)]
            if target == 'RETURN':
                if st.stack:
                    st.chain, st.idx = st.stack.pop()
                    continue
                return [self.leaf(st, chains[self.start].policy)]
            reason = UNDECIDED_TARGETS.get(target, 'the target %s is not evaluated by the preflight' % target)
            return [self.leaf(st, 'UNDECIDED', rule, '-j %s: %s' % (target, reason) if target in UNDECIDED_TARGETS
                              else reason)]

    def harmless(self, rule):
        """A rule that changes nothing for the verdict or for later matches (LOG, NFLOG, no target)."""
        if rule.jumps is not None or _compile(rule, self.ctx.family).side_effect:
            return False
        return rule.target is None or (rule.target in CONTINUE_TARGETS and rule.target not in _SIDE_EFFECT_TARGETS)

    def fork(self, st, pending):
        key, unk, rule = pending
        self.forks.append((key, rule, unk.reason))
        other = st.copy()
        st.assume[key] = False
        st.assuming.append((rule, unk.reason, False))
        other.assume[key] = True
        other.assuming.append((rule, unk.reason, True))
        leaves = self.walk(st) + self.walk(other)
        if len(set(lf.verdict for lf in leaves)) > 1 and key not in self.relevant:
            self.relevant.append(key)
        return leaves

    def run(self):
        try:
            leaves = self.walk(_State(self.start))
        except _TooMany:
            seen = []
            for _key, rule, reason in self.forks:
                e = _entry(rule, reason)
                if e not in seen:
                    seen.append(e)
            seen.append(_entry(None, 'more than %d combinations of undecidable matches: gave up' % self.max_paths))
            return Verdict('UNDECIDED', undecidable=seen, possible=['UNDECIDED'])
        return self.combine(leaves)

    def combine(self, leaves):
        possible = []
        for lf in leaves:
            if lf.verdict not in possible:
                possible.append(lf.verdict)
        notes = []
        for lf in leaves:
            for n in lf.state.notes:
                if n not in notes:
                    notes.append(n)
        paths = [{'verdict': lf.verdict, 'chain': lf.chain, 'rule': lf.text, 'lineno': lf.lineno,
                  'assuming': ['%s %s (%s)' % (r.line(), 'matches' if v else 'does not match', why)
                               for r, why, v in lf.state.assuming]} for lf in leaves]
        undecidable = []
        order = []
        for key, _rule, _reason in self.forks:
            if key in self.relevant and key not in order:
                order.append(key)
        for key in order:
            for lf in leaves:
                for k, rule, reason in lf.state.consulted:
                    if k == key:
                        e = _entry(rule, reason)
                        if e not in undecidable:
                            undecidable.append(e)
        for lf in leaves:
            if lf.verdict == 'UNDECIDED' and lf.reason:
                e = _entry(lf.rule, lf.reason)
                if e not in undecidable:
                    undecidable.append(e)
        first = leaves[0]
        if len(possible) == 1:
            if self.forks:
                rules = []
                for _k, rule, _r in self.forks:
                    if rule.line() not in rules:
                        rules.append(rule.line())
                notes.append('%d match(es) that cannot be decided did not change the outcome: %s'
                             % (len(rules), '; '.join(rules)))
            return Verdict(first.verdict, first.chain, first.rule, first.text, first.lineno, undecidable,
                           first.state.trace, notes, possible, paths)
        return Verdict('UNDECIDED', None, None, None, None, undecidable, first.state.trace, notes, possible, paths)


def compile_sets(sets):
    """{name: {'ipv4'|'ipv6': {prefix length: set of network ints}}} of {name: [networks]}.

    Networks are strings ('10.0.0.0/8', '192.0.2.7', '2001:db8::/32') or ipaddress objects; host
    bits are masked. Raises ValueError naming the set and the entry. Already compiled sets pass."""
    if sets is None:
        return None
    if not isinstance(sets, dict):
        raise ValueError('sets must be a dict of set name -> list of networks, not %r' % (sets,))
    out = {}
    for name, members in sets.items():
        if isinstance(members, dict):
            out[name] = members
            continue
        if isinstance(members, str) or not hasattr(members, '__iter__'):
            raise ValueError('the contents of the set %r must be a list of networks, not %r' % (name, members))
        fams = {}
        for member in members:
            try:
                net = ipaddress.ip_network(member if not isinstance(member, str) else member.strip(), strict=False)
            except (TypeError, ValueError):
                raise ValueError('the set %r holds %r, which is not an IP network' % (name, member)) from None
            fam = 'ipv4' if net.version == 4 else 'ipv6'
            fams.setdefault(fam, {}).setdefault(net.prefixlen, set()).add(int(net.network_address))
        out[name] = fams
    return out


class _Changed:
    """The contents of a set that rules of the table change (-j SET --add-set/--del-set/--map-set)."""

    __slots__ = ('reason',)

    def __init__(self, reason):
        self.reason = reason


# The options of the SET target that name the set it changes.
_SET_TARGET_OPTIONS = ('--add-set', '--del-set', '--map-set')


def _set_changers(table):
    """{set name: the first rule changing it} of the '-j SET' rules of TABLE; the name None stands
    for a SET rule whose set cannot be read (it may change any set)."""
    found = {}
    for chain in table.chains.values():
        for rule in chain.rules:
            if rule.target != 'SET':
                continue
            try:
                words = [tok for tok, dummy in rule_tokens(rule.text or '')]
            except ValueError:
                words = []
            names = [words[i + 1] for i, word in enumerate(words[:-1]) if word in _SET_TARGET_OPTIONS]
            for name in names or [None]:
                found.setdefault(name, rule)
    return found


def _unchanged_sets(sets, table):
    """SETS (compiled) without the known contents of the sets that rules of TABLE change: a match on
    such a set stays undecidable (the preflight never decides on contents the ruleset itself alters)."""
    if not sets:
        return sets
    changers = _set_changers(table)
    if not changers:
        return sets
    out = dict(sets)
    for name in list(out):
        rule = changers.get(name, changers.get(None))
        if rule is None:
            continue
        where = "'%s'%s" % (rule.line(), ' (line %d)' % rule.lineno if rule.lineno else '')
        out[name] = _Changed('-m set: the set %r is changed by %s, so its contents when the packet arrives are '
                             'not the known ones' % (name, where))
    return out


def evaluate(ruleset_or_table, packet, max_paths=MAX_PATHS, sets=None):
    """The Verdict of the filter table (of a Ruleset, or a filter Table) for a Packet.

    A Ruleset without a filter table gives ACCEPT with a note (the live filter table stays).
    sets: optional {set name: [networks]} (see compile_sets): a '-m set --match-set NAME src|dst'
    match on a set given here is decided; sets not given (and set matches with other options or
    several directions) stay undecidable.
    Raises ValueError when the packet's addresses are of the other family than the ruleset.
    """
    if not isinstance(packet, Packet):
        raise TypeError('evaluate() needs a Packet, not %r' % (packet,))
    if isinstance(ruleset_or_table, Ruleset):
        family = ruleset_or_table.family
        table = ruleset_or_table.tables.get('filter')
        if table is None:
            return Verdict('ACCEPT', notes=[NO_FILTER_NOTE])
    elif isinstance(ruleset_or_table, Table):
        table = ruleset_or_table
        if table.name != 'filter':
            raise ValueError('the preflight evaluates the filter table, not %r' % table.name)
        family = None
    else:
        raise TypeError('evaluate() needs a Ruleset or a filter Table, not %r' % (ruleset_or_table,))
    ctx = _Ctx(packet, family, _unchanged_sets(compile_sets(sets), table))
    chain = table.chains.get(packet.chain)
    if chain is None or chain.policy is None:
        raise ValueError('the filter table has no built-in chain %s' % packet.chain)
    return _Evaluator(table, ctx, packet.chain, max_paths).run()


# ----------------------------------------------------------------------- session

SESSION_PACKETS = (
    ('ssh-new-in', 'a new SSH connection (SYN, INPUT)'),
    ('ssh-established-out', "the session's return traffic (ESTABLISHED, OUTPUT)"),
    ('ssh-established-in', "the session's inbound traffic (ESTABLISHED, INPUT)"),
    ('ssh-synack-out', "the SYN-ACK answering a new connection (OUTPUT)"),
)
_DESCRIPTIONS = dict(SESSION_PACKETS)


_PORT_RE = re.compile(r'\A[0-9]{1,5}\Z')


def parse_ssh_connection(ssh_connection):
    """'client_ip client_port server_ip server_port' -> (client, cport, server, sport, scope iface).

    Addresses come back as strings, IPv4-mapped IPv6 addresses as IPv4. A client port of 0
    means unknown (matches on it are then undecidable). Raises ValueError.
    """
    if not isinstance(ssh_connection, str):
        raise ValueError('SSH_CONNECTION must be a string "client_ip client_port server_ip server_port", not %r'
                         % (ssh_connection,))
    parts = ssh_connection.split()
    if len(parts) != 4:
        raise ValueError('SSH_CONNECTION must read "client_ip client_port server_ip server_port", got %r'
                         % (ssh_connection,))
    client = _ip(parts[0], 'client address in SSH_CONNECTION')
    server = _ip(parts[2], 'server address in SSH_CONNECTION')
    ports = []
    for what, p, low in (('client port', parts[1], 0), ('server port', parts[3], 1)):
        # ASCII digits only: str.isdigit() also takes superscripts and fullwidth digits
        if not _PORT_RE.match(p) or not low <= int(p) <= 65535:
            raise ValueError('invalid %s %r in SSH_CONNECTION %r (%d-65535)' % (what, p, ssh_connection, low))
        ports.append(int(p))
    if client.version != server.version:
        raise ValueError('SSH_CONNECTION %r mixes IPv4 and IPv6 addresses' % (ssh_connection,))
    scope = _scope(parts[2]) or _scope(parts[0])
    return str(client), ports[0], str(server), ports[1], scope


def session_packets(ssh_connection, family='ipv4', in_iface=None, out_iface=None):
    """[(label, Packet)] of an SSH session for a ruleset of the given family.

    [] when the session runs over the other family. in_iface/out_iface: the server's interface
    towards the controller, if known (an IPv6 link-local scope gives it too).
    Raises ValueError on a malformed SSH_CONNECTION or family.
    """
    if family not in ('ipv4', 'ipv6'):
        raise ValueError('family must be ipv4 or ipv6, not %r' % (family,))
    client, cport, server, sport, scope = parse_ssh_connection(ssh_connection)
    fam = 'ipv6' if ':' in client else 'ipv4'
    cport = cport or None
    if fam != family:
        return []
    if scope:
        in_iface = in_iface or scope
        out_iface = out_iface or scope
    return [
        ('ssh-new-in', Packet('INPUT', client, server, 'tcp', cport, sport, 'NEW', ('SYN',), in_iface, None,
                              'ORIGINAL')),
        ('ssh-established-out', Packet('OUTPUT', server, client, 'tcp', sport, cport, 'ESTABLISHED', ('ACK',),
                                       None, out_iface, 'REPLY')),
        ('ssh-established-in', Packet('INPUT', client, server, 'tcp', cport, sport, 'ESTABLISHED', ('ACK',),
                                      in_iface, None, 'ORIGINAL')),
        ('ssh-synack-out', Packet('OUTPUT', server, client, 'tcp', sport, cport, 'ESTABLISHED', ('SYN', 'ACK'),
                                  None, out_iface, 'REPLY')),
    ]


def _where(v):
    if v.rule is None and v.rule_text:
        where = "the policy '%s'" % v.rule_text
    else:
        where = "'%s'" % v.rule_text
    if v.lineno is not None:
        where += ' (line %d)' % v.lineno
    return where


def preflight(ruleset, ssh_connection, in_iface=None, out_iface=None, max_paths=MAX_PATHS, sets=None):
    """Would applying ruleset cut the SSH session described by ssh_connection?

    sets: optional {set name: [networks]}, the contents of the ipsets the ruleset matches with
    '-m set --match-set NAME src|dst' (live or declared); without it such matches are undecidable.

    Returns {'safe': True/False/None, 'family', 'session', 'filter_managed', 'verdicts',
    'undecidable', 'notes', 'message'}:

    * safe True: every session packet is ACCEPTed (also when the session belongs to the other
      IP family, or when the ruleset has no filter table and the live one stays);
    * safe False: some session packet is certainly dropped or rejected: message names the
      chain, the rule (or policy) and its line;
    * safe None: unknown: some packet depends on matches that cannot be decided (listed in
      'undecidable' and in message) and none is certainly blocked; rely on confirm-or-revert.

    verdicts: [{'packet', 'description', 'verdict', 'chain', 'rule', 'lineno', 'possible'}].
    Raises ValueError on a malformed SSH_CONNECTION.
    """
    if not isinstance(ruleset, Ruleset):
        raise TypeError('preflight() needs a Ruleset, not %r' % (ruleset,))
    family = ruleset.family
    client, cport, server, sport, _scope_iface = parse_ssh_connection(ssh_connection)
    session = {'client': client, 'client_port': cport, 'server': server, 'server_port': sport}
    who = 'SSH from %s to %s port %d' % (client, server, sport)
    out = {'safe': True, 'family': family, 'session': session, 'filter_managed': 'filter' in ruleset.tables,
           'verdicts': [], 'undecidable': [], 'notes': [], 'message': ''}
    packets = session_packets(ssh_connection, family, in_iface, out_iface)
    if not packets:
        out['message'] = ('%s runs over %s: the %s ruleset does not filter it'
                          % (who, 'IPv6' if family == 'ipv4' else 'IPv4', family))
        return out
    if 'filter' not in ruleset.tables:
        out['notes'].append(NO_FILTER_NOTE)
        out['message'] = 'the new %s ruleset has no filter table: the live filter table stays as it is' % family
        return out
    blocked = []
    uncertain = []
    notes = {}
    sets = compile_sets(sets)
    for label, pkt in packets:
        v = evaluate(ruleset, pkt, max_paths, sets)
        out['verdicts'].append({'packet': label, 'description': _DESCRIPTIONS[label], 'verdict': v.verdict,
                                'chain': v.chain, 'rule': v.rule_text, 'lineno': v.lineno,
                                'possible': list(v.possible)})
        for u in v.undecidable:
            for e in out['undecidable']:
                if all(e[k] == u[k] for k in ('chain', 'rule', 'lineno', 'reason')):
                    e['packets'].append(label)
                    break
            else:
                e = dict(u)
                e['packets'] = [label]
                out['undecidable'].append(e)
        for n in v.notes:
            notes.setdefault(n, []).append(label)
        if v.verdict in BLOCKING:
            how = 'DROPPED' if v.verdict == 'DROP' else 'REJECTED'
            blocked.append('%s is %s by %s in chain %s' % (_DESCRIPTIONS[label], how, _where(v), v.chain))
        elif v.verdict == 'UNDECIDED' and v.blocked:
            ways = sorted(set('%s by %s' % (p['verdict'], "'%s' (line %s)" % (p['rule'], p['lineno']))
                              for p in v.paths))
            blocked.append('%s is blocked whichever way the undecidable matches go (%s)'
                           % (_DESCRIPTIONS[label], '; '.join(ways)))
        elif v.verdict == 'UNDECIDED':
            why = '; '.join("'%s'%s: %s" % (u['rule'], ' (line %d)' % u['lineno'] if u['lineno'] else '', u['reason'])
                            if u['rule'] else u['reason'] for u in v.undecidable)
            fates = ' or '.join('a verdict the preflight cannot tell' if p == 'UNDECIDED' else p for p in v.possible)
            uncertain.append('%s may get %s, depending on: %s' % (_DESCRIPTIONS[label], fates,
                                                                  why or 'the undecidable matches'))
    out['notes'] = ['%s (%s)' % (n, ', '.join(labels)) for n, labels in notes.items()]
    if blocked:
        out['safe'] = False
        out['message'] = 'the new %s filter table would cut %s: %s' % (family, who, '; '.join(blocked))
        if uncertain:
            out['message'] += '; besides, %s' % '; '.join(uncertain)
    elif uncertain:
        out['safe'] = None
        out['message'] = ('cannot tell whether the new %s filter table keeps %s: %s. Rely on confirm-or-revert.'
                          % (family, who, '; '.join(uncertain)))
    else:
        out['message'] = ('the new %s filter table accepts %s (new connections and established traffic both ways)'
                          % (family, who))
    return out
