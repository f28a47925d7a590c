# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Structured rule options of the granular modules (iptables_rule, iptables_nat): from module
options to canonical model Rules, pure Python.

RULE_OPTIONS is one table of option definitions: the argument_spec of every structured rule
option, the order in which options are written, and the iptables flags each one produces (so
an error of the model, which names a flag, can be reported under the option's name).
build_rules() turns one set of options into canonical model Rules for one family, translating
ICMP, ICMP types and REJECT types when a rule written for one family goes to the other.

The layers of the granular modules: iptables_options (what the user wrote) ->
iptables_planner (what changes in the live tables) -> iptables_apply (how it is applied).
"""

from __future__ import annotations

# SpecError is defined in errors.py (the one error hierarchy) and used from here by the granular modules
from ansible_collections.rampart.firewall.plugins.module_utils.errors import SpecError  # noqa: F401 pylint: disable=unused-import
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_matches import (
    ADDR_TYPES,
    ICMP6_TYPES,
    ICMP_TYPES,
    OPAQUE_TARGETS,
    REJECT_NAMES,
    TARGETS,
    BadValue,
    char_problem,
    control_char,
    is_ascii_digits,
    parse_proto,
    quote_token,
    save_string,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    parse_rule,
)

__metaclass__ = type

FAMILIES = ('ipv4', 'ipv6')
FAMILY_CHOICES = ['ipv4', 'ipv6', 'both']
CTSTATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT']
LOG_LEVEL_CHOICES = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug',
                     '0', '1', '2', '3', '4', '5', '6', '7']
PORT_PROTOCOLS = ('tcp', 'udp', 'sctp', 'dccp', 'udplite', '6', '17', '132', '33', '136')
TARGET_EXTENSIONS = frozenset(TARGETS) | OPAQUE_TARGETS
_ICMP4_NAMES = ('icmp', '1')
_ICMP6_NAMES = ('ipv6-icmp', 'icmpv6', '58')
# blanks trimmed around option values (ASCII only: str.strip() also trims '\xa0', '\u3000', ...)
_ASCII_BLANKS = ' \t\n\r\x0b\x0c'


def families_of(value):
    """('ipv4',), ('ipv6',) or both, for a family option value."""
    return FAMILIES if value == 'both' else (value,)


# ------------------------------------------------------------------ family translation

# ICMP type names of IPv4 -> IPv6 (names as in iptables_matches.ICMP_TYPES / ICMP6_TYPES).
# None: the type matches every ICMP packet, so the IPv6 rule has no --icmpv6-type.
ICMP_4TO6 = {
    'any': None,
    'echo-reply': 'echo-reply',
    'pong': 'echo-reply',
    'echo-request': 'echo-request',
    'ping': 'echo-request',
    'destination-unreachable': 'destination-unreachable',
    'network-unreachable': 'no-route',
    'host-unreachable': 'address-unreachable',
    'port-unreachable': 'port-unreachable',
    'fragmentation-needed': 'packet-too-big',
    'network-prohibited': 'communication-prohibited',
    'host-prohibited': 'communication-prohibited',
    'communication-prohibited': 'communication-prohibited',
    'redirect': 'redirect',
    'router-advertisement': 'router-advertisement',
    'router-solicitation': 'router-solicitation',
    'time-exceeded': 'time-exceeded',
    'ttl-exceeded': 'time-exceeded',
    'ttl-zero-during-transit': 'ttl-zero-during-transit',
    'ttl-zero-during-reassembly': 'ttl-zero-during-reassembly',
    'parameter-problem': 'parameter-problem',
    'ip-header-bad': 'bad-header',
}
ICMP_6TO4 = {
    'destination-unreachable': 'destination-unreachable',
    'no-route': 'network-unreachable',
    'communication-prohibited': 'communication-prohibited',
    'address-unreachable': 'host-unreachable',
    'port-unreachable': 'port-unreachable',
    'packet-too-big': 'fragmentation-needed',
    'time-exceeded': 'time-exceeded',
    'ttl-exceeded': 'time-exceeded',
    'ttl-zero-during-transit': 'ttl-zero-during-transit',
    'ttl-zero-during-reassembly': 'ttl-zero-during-reassembly',
    'parameter-problem': 'parameter-problem',
    'bad-header': 'ip-header-bad',
    'echo-request': 'echo-request',
    'ping': 'echo-request',
    'echo-reply': 'echo-reply',
    'pong': 'echo-reply',
    'redirect': 'redirect',
    'router-solicitation': 'router-solicitation',
    'router-advertisement': 'router-advertisement',
}
# REJECT --reject-with, IPv4 -> IPv6 and back (canonical names; aliases are resolved first).
# icmp-proto-unreachable has no ICMPv6 counterpart in REJECT: like the Arch wiki's IPv6 twin of
# its ruleset, it becomes icmp6-adm-prohibited.
REJECT_4TO6 = {
    'icmp-net-unreachable': 'icmp6-no-route',
    'icmp-host-unreachable': 'icmp6-addr-unreachable',
    'icmp-port-unreachable': 'icmp6-port-unreachable',
    'icmp-proto-unreachable': 'icmp6-adm-prohibited',
    'icmp-net-prohibited': 'icmp6-adm-prohibited',
    'icmp-host-prohibited': 'icmp6-adm-prohibited',
    'icmp-admin-prohibited': 'icmp6-adm-prohibited',
    'tcp-reset': 'tcp-reset',
}
REJECT_6TO4 = {
    'icmp6-no-route': 'icmp-net-unreachable',
    'icmp6-adm-prohibited': 'icmp-admin-prohibited',
    'icmp6-addr-unreachable': 'icmp-host-unreachable',
    'icmp6-port-unreachable': 'icmp-port-unreachable',
    'tcp-reset': 'tcp-reset',
}


def _negated(value):
    """(negated, rest) of a value that may start with '!'."""
    text = value.strip(_ASCII_BLANKS)
    if text.startswith('!'):
        return True, text[1:].strip(_ASCII_BLANKS)
    return False, text


def _icmp_resolve(value, table):
    """The canonical name of an ICMP type (name, number or type/code) in table, or None."""
    low = value.strip(_ASCII_BLANKS)
    if not low.isascii():
        # str.lower() maps some non-ASCII letters to ASCII ones ('\u212a' to 'k')
        return None
    low = low.lower()
    for name, _t, _a, _b in table:
        if name.lower() == low:
            return name
    if not is_ascii_digits(low[:1]):
        return None
    typ, sep, code = low.partition('/')
    if not is_ascii_digits(typ) or (sep and not is_ascii_digits(code)):
        return None
    triple = (int(typ), int(code), int(code)) if sep else (int(typ), 0, 0xFF)
    for name, t, a, b in table:
        if (t, a, b) == triple:
            return name
    return None


def protocol_family(protocol):
    """'ipv4' for icmp, 'ipv6' for ipv6-icmp, None for any other protocol (or none)."""
    if not protocol:
        return None
    dummy, name = _negated(str(protocol))
    name = name.lower()
    if name in _ICMP4_NAMES:
        return 'ipv4'
    if name in _ICMP6_NAMES:
        return 'ipv6'
    return None


def translate(opts, family):
    """A copy of the rule options for family: ICMP, ICMP types and REJECT types written for the
    other family are translated. Raises SpecError when there is no equivalent."""
    out = dict(opts)
    other = 'ipv6' if family == 'ipv4' else 'ipv4'
    written = protocol_family(opts.get('protocol'))
    if written == other:
        inv, dummy = _negated(str(opts['protocol']))
        out['protocol'] = ('! ' if inv else '') + ('icmp' if family == 'ipv4' else 'ipv6-icmp')
        icmp = opts.get('icmp_type')
        if icmp is not None:
            inv, name = _negated(str(icmp))
            src_table, mapping = (ICMP6_TYPES, ICMP_6TO4) if written == 'ipv6' else (ICMP_TYPES, ICMP_4TO6)
            canon = _icmp_resolve(name, src_table)
            if canon is None:
                raise SpecError('icmp_type: unknown %s type %r' % ('ICMPv6' if written == 'ipv6' else 'ICMP', name),
                                'icmp_type', icmp)
            if canon not in mapping:
                raise SpecError('icmp_type: the %s type %r has no %s equivalent; give the rule family: %s, or write '
                                'one rule per family' % ('ICMPv6' if written == 'ipv6' else 'ICMP', name,
                                                         'ICMPv6' if family == 'ipv6' else 'ICMP', written),
                                'icmp_type', icmp)
            target = mapping[canon]
            if target is None:
                out['icmp_type'] = None
            else:
                out['icmp_type'] = ('! ' if inv else '') + target
    reject = opts.get('reject_with')
    if reject is not None:
        name = str(reject).strip()
        if name not in REJECT_NAMES[family] and name in REJECT_NAMES[other]:
            canon = REJECT_NAMES[other][name]
            mapping = REJECT_4TO6 if other == 'ipv4' else REJECT_6TO4
            if canon not in mapping:
                raise SpecError('reject_with: %r has no %s equivalent; give the rule family: %s, or write one rule '
                                'per family' % (name, family, other), 'reject_with', reject)
            out['reject_with'] = mapping[canon]
    return out


# ------------------------------------------------------------------- option definitions

class RuleOption:
    """One structured rule option.

    name: the module option; spec: its argument_spec entry; flags: the iptables flags (and
    '-m NAME' / '-j NAME' fields of the model's errors) it produces, for error messages;
    emit: function(opts, ctx) -> list of tokens, or None when another option's emitter writes it.
    """

    __slots__ = ('name', 'spec', 'flags', 'emit')

    def __init__(self, name, spec, flags=(), emit=None):
        self.name = name
        self.spec = spec
        self.flags = flags
        self.emit = emit


class _Ctx:
    __slots__ = ('family', 'proto', 'record')

    def __init__(self, family, proto, record):
        self.family = family
        self.proto = proto
        self.record = record


def _text(value, field):
    """A scalar option value as text (ints become their decimal form)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SpecError('%s: expected a string or a number, got %r' % (field, value), field, value)
    text = str(value).strip(_ASCII_BLANKS)
    if not text:
        raise SpecError('%s: must not be empty' % field, field, value)
    if control_char(text) is not None:
        raise SpecError('%s: %s' % (field, char_problem(text)), field, value)
    return text


def _port(value, field):
    """A port, service name or range: ints and 'N-M' ranges are accepted and written N:M."""
    text = _text(value, field)
    lo, sep, hi = text.partition('-')
    if sep and is_ascii_digits(lo) and is_ascii_digits(hi):
        text = lo + ':' + hi
    return text


def _needs_proto(ctx, field, protos, what):
    if ctx.proto is None or ctx.proto[1] not in protos:
        raise SpecError('%s needs protocol %s%s' % (field, what, ' (not %s)' % ctx.proto[1] if ctx.proto else ''),
                        field)


def _generic(flag, field, negatable=True):
    def emit(opts, ctx):
        inv, text = _negated(_text(opts[field], field))
        if inv and not negatable:
            raise SpecError('%s cannot be negated' % field, field, opts[field])
        ctx.record(flag, field)
        return (['!'] if inv else []) + [flag, quote_token(text)]
    return emit


def _emit_protocol(opts, ctx):
    return _generic('-p', 'protocol')(opts, ctx)


def _proto_port(flag, field):
    def emit(opts, ctx):
        _needs_proto(ctx, field, PORT_PROTOCOLS, 'tcp, udp, sctp, dccp or udplite')
        inv, text = _negated(_text(opts[field], field))
        text = _port(text, field)
        ctx.record(flag, field)
        return (['!'] if inv else []) + [flag, quote_token(text)]
    return emit


def _emit_syn(opts, ctx):
    value = opts['syn']
    if value in (None, 'ignore'):
        return []
    _needs_proto(ctx, 'syn', ('tcp', '6'), 'tcp')
    ctx.record('--syn', 'syn')
    ctx.record('--tcp-flags', 'syn')
    return ['!', '--syn'] if value == 'negate' else ['--syn']


def _emit_tcp_flags(opts, ctx):
    value = opts['tcp_flags']
    _needs_proto(ctx, 'tcp_flags', ('tcp', '6'), 'tcp')
    if opts.get('syn') not in (None, 'ignore'):
        raise SpecError('syn and tcp_flags cannot be used together', 'tcp_flags')
    mask = ','.join(_text(f, 'tcp_flags.flags') for f in value.get('flags') or []) or 'NONE'
    comp = ','.join(_text(f, 'tcp_flags.flags_set') for f in value.get('flags_set') or []) or 'NONE'
    ctx.record('--tcp-flags', 'tcp_flags')
    return ['--tcp-flags', quote_token(mask), quote_token(comp)]


def _emit_icmp_type(opts, ctx):
    value = opts['icmp_type']
    if ctx.proto is None or ctx.proto[1] not in _ICMP4_NAMES + _ICMP6_NAMES:
        raise SpecError('icmp_type %r needs protocol icmp (or ipv6-icmp)' % (value,), 'icmp_type', value)
    flag = '--icmp-type' if ctx.family == 'ipv4' else '--icmpv6-type'
    inv, text = _negated(_text(value, 'icmp_type'))
    ctx.record(flag, 'icmp_type')
    ctx.record('-m icmp', 'icmp_type')
    ctx.record('-m icmp6', 'icmp_type')
    return (['!'] if inv else []) + [flag, quote_token(text)]


def _multiport(flag, field):
    def emit(opts, ctx):
        value = opts[field]
        if not value:
            return []
        _needs_proto(ctx, field, PORT_PROTOCOLS, 'tcp, udp, sctp, dccp or udplite')
        items = []
        for item in value:
            for part in str(item).split(',') if isinstance(item, str) else [item]:
                items.append(_port(part, field))
        ctx.record(flag, field)
        ctx.record('-m multiport', field)
        return ['-m', 'multiport', flag, quote_token(','.join(items))]
    return emit


def _emit_ctstate(opts, ctx):
    value = opts['ctstate']
    if not value:
        return []
    states = ','.join(_text(s, 'ctstate').upper() for s in value)
    if (opts.get('ctstate_match') or 'conntrack') == 'state':
        ctx.record('--state', 'ctstate')
        ctx.record('-m state', 'ctstate')
        return ['-m', 'state', '--state', quote_token(states)]
    ctx.record('--ctstate', 'ctstate')
    ctx.record('-m conntrack', 'ctstate')
    return ['-m', 'conntrack', '--ctstate', quote_token(states)]


def _emit_addrtype(opts, ctx):
    toks = []
    for field, flag in (('src_type', '--src-type'), ('dst_type', '--dst-type')):
        value = opts.get(field)
        if value:
            ctx.record(flag, field)
            toks += [flag, quote_token(','.join(_text(v, field).upper() for v in value))]
    if not toks:
        return []
    ctx.record('-m addrtype', 'src_type' if opts.get('src_type') else 'dst_type')
    return ['-m', 'addrtype'] + toks


def _emit_recent(opts, ctx):
    value = opts['recent']
    for flag in ('-m recent', '--set', '--update', '--rcheck', '--remove', '--seconds', '--hitcount', '--rttl',
                 '--reap', '--name', '--rsource', '--rdest', '--mask'):
        ctx.record(flag, 'recent')
    toks = ['-m', 'recent', '--' + value['command']]
    if value.get('seconds') is not None:
        toks += ['--seconds', str(value['seconds'])]
    if value.get('reap'):
        toks.append('--reap')
    if value.get('hitcount') is not None:
        toks += ['--hitcount', str(value['hitcount'])]
    if value.get('rttl'):
        toks.append('--rttl')
    if value.get('name') is not None:
        toks += ['--name', quote_token(_text(value['name'], 'recent.name'))]
    if value.get('side'):
        toks.append('--rsource' if value['side'] == 'source' else '--rdest')
    return toks


def _emit_limit(opts, ctx):
    toks = ['-m', 'limit']
    ctx.record('-m limit', 'limit')
    if opts.get('limit') is not None:
        ctx.record('--limit', 'limit')
        toks += ['--limit', quote_token(_text(opts['limit'], 'limit'))]
    if opts.get('limit_burst') is not None:
        ctx.record('--limit-burst', 'limit_burst')
        toks += ['--limit-burst', str(opts['limit_burst'])]
    return toks if len(toks) > 2 else []


_HASHLIMIT_KEYS = (('upto', '--hashlimit-upto'), ('above', '--hashlimit-above'), ('burst', '--hashlimit-burst'),
                   ('mode', '--hashlimit-mode'), ('name', '--hashlimit-name'),
                   ('htable_size', '--hashlimit-htable-size'), ('htable_max', '--hashlimit-htable-max'),
                   ('htable_gcinterval', '--hashlimit-htable-gcinterval'),
                   ('htable_expire', '--hashlimit-htable-expire'), ('srcmask', '--hashlimit-srcmask'),
                   ('dstmask', '--hashlimit-dstmask'))


def _emit_hashlimit(opts, ctx):
    value = opts['hashlimit']
    ctx.record('-m hashlimit', 'hashlimit')
    toks = ['-m', 'hashlimit']
    for key, flag in _HASHLIMIT_KEYS:
        item = value.get(key)
        if item is None or item == []:
            continue
        ctx.record(flag, 'hashlimit')
        if key == 'mode':
            text = ','.join(_text(m, 'hashlimit.mode') for m in item)
        else:
            text = _text(item, 'hashlimit.' + key)
        toks += [flag, quote_token(text)]
    return toks


def _emit_match_args(opts, ctx):
    value = opts['match_args']
    if control_char(value) is not None:
        raise SpecError('match_args: must be one line without control characters: %s' % char_problem(value),
                        'match_args', value)
    odd = [char for char in value if char.isdigit() and not char.isascii()]
    if odd:
        raise SpecError('match_args: numbers must be written with ASCII digits, not %s' % ascii(''.join(odd)),
                        'match_args', value)
    return [value.strip(_ASCII_BLANKS)] if value.strip(_ASCII_BLANKS) else []


def _emit_comment(opts, ctx):
    ctx.record('-m comment', 'comment')
    ctx.record('--comment', 'comment')
    return ['-m', 'comment', '--comment', save_string(_text(opts['comment'], 'comment'))]


# target options: option -> (flag, targets it belongs to)
TARGET_OPTIONS = (
    ('reject_with', '--reject-with', ('REJECT',)),
    ('log_prefix', '--log-prefix', ('LOG',)),
    ('log_level', '--log-level', ('LOG',)),
    ('to_destination', '--to-destination', ('DNAT',)),
    ('to_source', '--to-source', ('SNAT',)),
    ('to_ports', '--to-ports', ('REDIRECT', 'MASQUERADE')),
)


def _emit_target(opts, ctx):
    jump, goto = opts.get('jump'), opts.get('goto')
    if jump is not None and goto is not None:
        raise SpecError('jump and goto cannot be used together', 'goto', goto)
    toks = []
    target = None
    if jump is not None:
        target = _text(jump, 'jump')
        ctx.record('-j', 'jump')
        ctx.record('-j ' + target, 'jump')
        toks = ['-j', quote_token(target)]
    elif goto is not None:
        target = _text(goto, 'goto')
        ctx.record('-g', 'goto')
        toks = ['-g', quote_token(target)]
    for field, flag, targets in TARGET_OPTIONS:
        value = opts.get(field)
        if value is None:
            continue
        if jump is None or target not in targets:
            raise SpecError('%s %r needs jump: %s' % (field, value, ' or '.join(targets)), field, value)
        ctx.record(flag, field)
        if field == 'log_prefix':
            text = value
            if control_char(text) is not None:
                raise SpecError('log_prefix: %s' % char_problem(text), field, value)
            toks += [flag, save_string(text)]
        elif field == 'to_ports':
            _needs_proto(ctx, field, PORT_PROTOCOLS, 'tcp, udp, sctp, dccp or udplite')
            toks += [flag, quote_token(_port(value, field).replace(':', '-'))]
        else:
            toks += [flag, quote_token(_text(value, field))]
    return toks


def _addresses(opts, field):
    """[(negated, address)] of source or destination (a comma inside an item splits it too)."""
    value = opts.get(field)
    if not value:
        return [None]
    out = []
    for item in value:
        for part in _text(item, field).split(','):
            inv, addr = _negated(part)
            if not addr:
                raise SpecError('%s: empty address in %r' % (field, item), field, item)
            out.append((inv, addr))
    if len(out) > 1 and any(inv for inv, dummy in out):
        raise SpecError("%s: negation ('!') works with one address only" % field, field, value)
    return out


_PORT_SPEC = dict(type='raw')
_MULTIPORT_SPEC = dict(type='list', elements='raw')

# The one table of structured rule options: argument_spec, emission order, flags.
RULE_OPTIONS = (
    RuleOption('protocol', dict(type='str', aliases=['proto']), ('-p',), _emit_protocol),
    RuleOption('source', dict(type='list', elements='str', aliases=['src']), ('-s',)),
    RuleOption('destination', dict(type='list', elements='str', aliases=['dst']), ('-d',)),
    RuleOption('in_interface', dict(type='str'), ('-i',), _generic('-i', 'in_interface')),
    RuleOption('out_interface', dict(type='str'), ('-o',), _generic('-o', 'out_interface')),
    RuleOption('source_port', _PORT_SPEC, ('--sport',), _proto_port('--sport', 'source_port')),
    RuleOption('destination_port', _PORT_SPEC, ('--dport',), _proto_port('--dport', 'destination_port')),
    RuleOption('syn', dict(type='str', choices=['match', 'negate', 'ignore']), ('--syn',), _emit_syn),
    RuleOption('tcp_flags', dict(type='dict', options=dict(
        flags=dict(type='list', elements='str', required=True),
        flags_set=dict(type='list', elements='str', default=[]),
    )), ('--tcp-flags',), _emit_tcp_flags),
    RuleOption('icmp_type', dict(type='str'), ('--icmp-type', '--icmpv6-type'), _emit_icmp_type),
    RuleOption('source_ports', _MULTIPORT_SPEC, ('--sports',), _multiport('--sports', 'source_ports')),
    RuleOption('destination_ports', _MULTIPORT_SPEC, ('--dports',), _multiport('--dports', 'destination_ports')),
    RuleOption('ctstate', dict(type='list', elements='str', choices=CTSTATES), ('--ctstate', '--state'),
               _emit_ctstate),
    RuleOption('ctstate_match', dict(type='str', choices=['conntrack', 'state'])),
    RuleOption('src_type', dict(type='list', elements='str', choices=list(ADDR_TYPES)), ('--src-type',),
               _emit_addrtype),
    RuleOption('dst_type', dict(type='list', elements='str', choices=list(ADDR_TYPES)), ('--dst-type',)),
    RuleOption('recent', dict(type='dict', options=dict(
        command=dict(type='str', required=True, choices=['set', 'update', 'rcheck', 'remove']),
        name=dict(type='str'),
        seconds=dict(type='int'),
        hitcount=dict(type='int'),
        rttl=dict(type='bool', default=False),
        reap=dict(type='bool', default=False),
        side=dict(type='str', choices=['source', 'destination']),
    )), ('-m recent',), _emit_recent),
    RuleOption('limit', dict(type='str'), ('--limit',), _emit_limit),
    RuleOption('limit_burst', dict(type='int'), ('--limit-burst',)),
    RuleOption('hashlimit', dict(type='dict', options=dict(
        name=dict(type='str', required=True),
        upto=dict(type='str'),
        above=dict(type='str'),
        burst=dict(type='raw'),
        mode=dict(type='list', elements='str', choices=['srcip', 'srcport', 'dstip', 'dstport']),
        htable_size=dict(type='int'),
        htable_max=dict(type='int'),
        htable_gcinterval=dict(type='int'),
        htable_expire=dict(type='int'),
        srcmask=dict(type='int'),
        dstmask=dict(type='int'),
    ), mutually_exclusive=[('upto', 'above')], required_one_of=[('upto', 'above')]), ('-m hashlimit',),
        _emit_hashlimit),
    RuleOption('match_args', dict(type='str'), (), _emit_match_args),
    RuleOption('comment', dict(type='str'), ('--comment',), _emit_comment),
    RuleOption('jump', dict(type='str'), ('-j',), _emit_target),
    RuleOption('goto', dict(type='str'), ('-g',)),
    RuleOption('reject_with', dict(type='str'), ('--reject-with',)),
    RuleOption('log_prefix', dict(type='str'), ('--log-prefix',)),
    RuleOption('log_level', dict(type='str', choices=LOG_LEVEL_CHOICES), ('--log-level',)),
    RuleOption('to_destination', dict(type='str'), ('--to-destination',)),
    RuleOption('to_source', dict(type='str'), ('--to-source',)),
    RuleOption('to_ports', dict(type='raw'), ('--to-ports',)),
)
RULE_OPTION_NAMES = tuple(o.name for o in RULE_OPTIONS)
_RULE_SPECS = dict((o.name, o.spec) for o in RULE_OPTIONS)
_STATIC_FLAGS = {}
for _opt in RULE_OPTIONS:
    for _flag in _opt.flags:
        _STATIC_FLAGS.setdefault(_flag, _opt.name)


def rule_argument_spec(names=None):
    """argument_spec entries of the rule options (all, or the named ones), fresh copies."""
    out = {}
    for opt in RULE_OPTIONS:
        if names is None or opt.name in names:
            out[opt.name] = _copy_spec(opt.spec)
    return out


def _copy_spec(spec):
    out = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            out[key] = dict((k, _copy_spec(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v))
                            for k, v in value.items())
        elif isinstance(value, list):
            out[key] = list(value)
        else:
            out[key] = value
    return out


# what leaving out a list option means, for the error on an empty one
_EMPTY_HINTS = {
    'source': 'omit it to match any source address',
    'destination': 'omit it to match any destination address',
    'source_ports': 'omit it to match any source port',
    'destination_ports': 'omit it to match any destination port',
    'ctstate': 'omit it to match any connection state',
    'src_type': 'omit it to match any source address type',
    'dst_type': 'omit it to match any destination address type',
    'tcp_flags.flags': 'name the flags to examine (NONE examines none), or omit tcp_flags',
    'hashlimit.mode': 'omit it for one rate shared by all packets',
}


def check_empty_lists(params, spec, allow=(), where='', prefix=''):
    """Raise SpecError naming an option of type list that was given as an empty list.

    For a match option, an empty list is not "no value": writing nothing for it would drop the
    match and make the rule wider than written (destination_ports: [] would match every port,
    source: [] every address). The options named in allow, and those whose default is [] (an
    empty list is their documented meaning), may be empty. Suboptions (a dict, a list of dicts)
    are checked too. where: the path of params in the task, for the message ('rules[2]').
    """
    for name, entry in spec.items():
        value = params.get(name)
        if value is None:
            continue
        kind = entry.get('type')
        sub = entry.get('options')
        field = prefix + name
        path = '%s.%s' % (where, name) if where else name
        if kind == 'list':
            if value == [] and name not in allow and entry.get('default') != []:
                raise SpecError('%s must not be an empty list (it would drop the match and widen the rule); %s'
                                % (path, _EMPTY_HINTS.get(field, 'omit it instead')), field, value)
            if sub and isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        check_empty_lists(item, sub, (), '%s[%d]' % (path, index))
        elif kind == 'dict' and sub and isinstance(value, dict):
            check_empty_lists(value, sub, (), path, field + '.')


def rule_spec_mutually_exclusive():
    return [('jump', 'goto')]


def rule_spec_required_by():
    return {'limit_burst': 'limit', 'ctstate_match': 'ctstate'}


def build_specs(opts, family):
    """The restore-format rule specs ('-p tcp -m tcp ...' without '-A CHAIN') for opts in family.

    opts must already be translated for family (see translate()). Returns (specs, fields):
    one spec per source x destination combination, and {flag: option} for error messages.
    """
    fields = {}

    def record(flag, field):
        fields.setdefault(flag, field)

    check_empty_lists(opts, _RULE_SPECS)
    proto = None
    if opts.get('protocol') is not None:
        inv, name = _negated(_text(opts['protocol'], 'protocol'))
        try:
            parse_proto(name)
        except BadValue as exc:
            # before any option that needs a protocol says it is missing
            raise SpecError('protocol: %s' % exc.message, 'protocol', opts['protocol']) from None
        proto = (inv, name.lower())
    ctx = _Ctx(family, proto, record)
    body = []
    for opt in RULE_OPTIONS:
        if opt.emit is None:
            continue
        grouped = opt.name in ('src_type', 'limit', 'jump')
        if not grouped and opts.get(opt.name) is None:
            continue
        if opt.name == 'src_type' and not (opts.get('src_type') or opts.get('dst_type')):
            continue
        if opt.name == 'limit' and opts.get('limit') is None and opts.get('limit_burst') is None:
            continue
        body.extend(opt.emit(opts, ctx))
    tail = ' '.join(body)
    specs = []
    sources = _addresses(opts, 'source')
    dests = _addresses(opts, 'destination')
    if sources != [None]:
        record('-s', 'source')
    if dests != [None]:
        record('-d', 'destination')
    for src in sources:
        for dst in dests:
            head = []
            if src is not None:
                head += (['!'] if src[0] else []) + ['-s', quote_token(src[1])]
            if dst is not None:
                head += (['!'] if dst[0] else []) + ['-d', quote_token(dst[1])]
            specs.append(' '.join(head + ([tail] if tail else [])))
    return specs, fields


def _field_of(error_field, fields, opts):
    if error_field in fields:
        return fields[error_field]
    if error_field and error_field.split(' ')[0] in fields:
        return fields[error_field.split(' ')[0]]
    if opts.get('match_args'):
        return 'match_args'
    return _STATIC_FLAGS.get(error_field, error_field)


def build_rules(opts, family, table, chain, chains, where='', both=False):
    """Canonical model Rules for one set of structured options in one family.

    opts: rule options (missing keys count as not given), written for either family;
    chains: the user chains of the live table (jump targets). where: how to name the rule in
    errors ('rules[3]'). both: the task covers both families (for the hint in errors).
    Raises SpecError naming the option.
    """
    label = '%s (%s %s %s)' % (where or 'rule', family, table, chain)
    try:
        opts = translate(opts, family)
        specs, fields = build_specs(opts, family)
    except SpecError as exc:
        raise SpecError('%s: %s' % (label, exc.msg), exc.field, exc.value)
    rules = []
    for spec in specs:
        try:
            rules.append(parse_rule(spec, chain, table, family, chains))
        except ParseError as exc:
            field = _field_of(exc.field, fields, opts)
            msg = '%s: %s: %s (%s)' % (label, field, exc.message, spec)
            if both and field in ('source', 'destination', 'to_destination', 'to_source') and \
                    'used in an' in exc.message:
                msg += '; the task has family both: give this rule family: %s' % (
                    'ipv4' if family == 'ipv6' else 'ipv6')
            raise SpecError(msg, field, exc.value, spec)
    return rules


def split_nat_destination(value, field='to_destination'):
    """(address, port or None) of ADDRESS[:PORT] or [IPV6-ADDRESS]:PORT (port ranges written N:M).

    For the filter half of a port forward, which needs one address. Raises SpecError.
    """
    text = _text(value, field)
    if text.startswith('['):
        addr, sep, rest = text[1:].partition(']')
        if not sep or (rest and not rest.startswith(':')):
            raise SpecError('%s: invalid address %r (write [IPV6-ADDRESS]:PORT)' % (field, text), field, value)
        port = rest[1:]
    elif text.count(':') > 1:
        addr, port = text, ''
    else:
        addr, dummy, port = text.partition(':')
    if not addr:
        raise SpecError('%s: a port forward needs an address to forward to, not only a port: %r' % (field, value),
                        field, value)
    if '-' in addr:
        raise SpecError('%s: a port forward needs one address, not a range: %r' % (field, value), field, value)
    return addr, (_port(port, field) if port else None)


# -------------------------------------------------------------------------- positions

def parse_position(value, field='position'):
    """'append', or the 1-based index a rule must have ('prepend' is 1). Raises SpecError."""
    if value is None:
        return 'append'
    if isinstance(value, bool):
        raise SpecError('%s must be append, prepend or a rule number (1, 2, ...), not %r' % (field, value), field, value)
    text = str(value).strip(_ASCII_BLANKS).lower()
    if text == 'append':
        return 'append'
    if text == 'prepend':
        return 1
    if is_ascii_digits(text) and int(text) >= 1:
        return int(text)
    raise SpecError('%s must be append, prepend or a rule number (1, 2, ...), not %r' % (field, value), field, value)
