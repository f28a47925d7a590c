# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Structured rule options, family translation and partial-table edits for the granular modules
(iptables_rule, iptables_nat, iptables_chain, iptables_policy).

Three parts. The first two are pure Python on iptables_model objects; the third runs
commands through an IptablesRunner and takes the apply lock (no AnsibleModule is imported here):

* RULE_OPTIONS, one table of option definitions: the argument_spec of every structured rule
  option, the order in which options are written, and the iptables flags each one produces (so
  an error of the model, which names a flag, can be reported under the option's name).
  build_rules() turns one set of options into canonical model Rules for one family, translating
  ICMP, ICMP types and REJECT types when a rule written for one family goes to the other.
* The partial-table planner: plan_rules(), plan_chain() and plan_policy() compare the wanted
  change with the live Table and return TablePlans: the iptables-restore --noflush lines
  (chain declarations, -D N, -I N, -A, -F, -X, policies) and the predicted chains afterwards.
  Existing user chains are never declared, because iptables-restore --noflush flushes a chain
  it finds declared.
* Apply: under the apply lock of iptables_ruleset, reads the live tables of each family, plans
  every family before anything changes, runs iptables-restore --test --noflush, refuses a family
  with an open confirm-or-revert window, then the real restore (one per family), reads the
  tables back and fails loudly when a touched chain differs from the prediction.
"""

from __future__ import annotations

import difflib

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_matches import (
    ADDR_TYPES,
    ICMP6_TYPES,
    ICMP_TYPES,
    OPAQUE_TARGETS,
    REJECT4,
    REJECT6,
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
    BUILTIN_CHAINS,
    POLICIES,
    TABLES,
    Chain,
    ParseError,
    Table,
    chain_name_problem,
    new_table,
    parse,
    parse_rule,
)
from ansible_collections.rampart.firewall.plugins.module_utils import iptables_rollback as rollback
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import HostError
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_runner import IptablesRunner

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


class SpecError(ValueError):
    """Wrong input or an impossible change. field names the module option, value the bad value."""

    def __init__(self, msg, field=None, value=None, rule=None):
        ValueError.__init__(self, msg)
        self.msg = msg
        self.field = field
        self.value = value
        self.rule = rule

    def extra(self):
        """The keys this error adds to a failure result."""
        out = {}
        for key in ('field', 'value', 'rule'):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


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
_REJECT_CANON = {'ipv4': {}, 'ipv6': {}}
for _fam, _tab in (('ipv4', REJECT4), ('ipv6', REJECT6)):
    for _canon, _alias in _tab:
        _REJECT_CANON[_fam][_canon] = _canon
        _REJECT_CANON[_fam][_alias] = _canon


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
        if name not in _REJECT_CANON[family] and name in _REJECT_CANON[other]:
            canon = _REJECT_CANON[other][name]
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


# ---------------------------------------------------------------------------- planner

class PlanError(SpecError):
    """The change cannot be made on the live table."""


def copy_table(table):
    """A copy of table whose chains and rule lists can be changed (rules are shared)."""
    return Table(table.name, dict((name, Chain(c.name, c.policy, list(c.rules), c.lineno))
                                  for name, c in table.chains.items()), table.lineno)


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
        return '-D %s %d' % (op[1], op[2])
    if kind == 'I':
        return ('-I %s %d %s' % (op[1], op[2], op[3].text)).rstrip()
    return ('-A %s %s' % (op[1], op[2].text)).rstrip()  # 'A'


def simulate(table, ops):
    """Apply ops to a copy of table the way iptables-restore --noflush does. Raises PlanError."""
    out = copy_table(table)
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
            if not 1 <= op[2] <= len(chain.rules):
                raise PlanError('internal error: %s beyond the end of %s' % (_op_line(op), name))
            del chain.rules[op[2] - 1]
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


def _chains_text(table, names):
    """Restore text of the named chains of table (those that exist)."""
    chains = [table.chains[n] for n in names if n in table.chains]
    out = ['*' + table.name]
    out += [':%s %s [0:0]' % (c.name, c.policy or '-') for c in chains]
    for c in chains:
        out += [r.line() for r in c.rules]
    out.append('COMMIT')
    return '\n'.join(out) + '\n'


def plans_text(plans, side):
    """Restore text of the touched chains of several TablePlans, before or after."""
    return ''.join(_chains_text(getattr(p, side), p.touched) for p in plans)


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
    deletes = [i for i in range(len(old)) if i not in kept_old]
    ops = [('D', name, i + 1) for i in reversed(deletes)]
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
    force, which deletes them too (-D CHAIN N, highest index first), then -F (when it has rules)
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
            ops.append(('D', cname, index))
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


# ----------------------------------------------------------------------- live tables

def split_tables(text):
    """{table: its block of iptables-save text (from *table to COMMIT)}."""
    blocks = {}
    name = None
    lines = []
    for line in (text or '').splitlines():
        stripped = line.strip()
        if name is None:
            if stripped.startswith('*'):
                name = stripped[1:].strip()
                lines = [stripped]
            continue
        lines.append(line)
        if stripped == 'COMMIT':
            blocks[name] = '\n'.join(lines) + '\n'
            name = None
    return blocks


def parse_tables(text, family, names):
    """{name: live Table} of the named tables of iptables-save text (pristine when not printed).

    Only the named tables are parsed, so a rule this model does not understand in another
    table does not stop a granular change. Raises SpecError when a named table does not parse.
    """
    blocks = split_tables(text)
    out = {}
    for name in names:
        block = blocks.get(name)
        if block is None:
            out[name] = new_table(name)
            continue
        try:
            out[name] = parse(block, family).tables[name]
        except ParseError as exc:
            raise SpecError('cannot understand the live %s table printed by %s-save (please report this): %s'
                            % (name, 'iptables' if family == 'ipv4' else 'ip6tables', exc))
    return out


# ------------------------------------------------------------------------ applying

def NoflushRunner(module, family, wait):  # pylint: disable=invalid-name
    """An IptablesRunner whose restores (and --test runs) edit tables with --noflush."""
    return IptablesRunner(module, family, wait, noflush=True)


class Apply:
    """Plan, check, apply and verify a granular change in one or two families.

    runners: {family: runner with save(), test(payload), restore(payload)}.
    planner: function(family, live) -> list of TablePlans, where live is {table: Table} of the
    tables named in tables.
    lock: a context manager (iptables_host.ApplyLock) held from plan() to the end of run(), the
    same lock iptables_ruleset takes, so that a granular change and a ruleset apply on one host
    run one after the other. Before restoring, a family with an open confirm-or-revert window is
    refused (its timer would later restore the ruleset from before the window, undoing this change).
    """

    def __init__(self, runners, tables, planner, lock=None):
        self.runners = runners
        self.tables = [t for t in TABLES if t in tables]
        self.planner = planner
        self.plans = {}
        self.applied = False
        self.result = {'changed': False}
        self.lock = lock
        self._locked = False

    def _take_lock(self):
        if self.lock is None or self._locked:
            return
        try:
            self.lock.__enter__()
        except HostError as exc:
            raise SpecError(exc.msg)
        self._locked = True

    def release(self):
        """Release the lock (also released by the kernel when the module's process ends)."""
        if self._locked:
            self._locked = False
            self.lock.__exit__(None, None, None)

    def plan(self):
        self._take_lock()
        try:
            for family in FAMILIES:
                if family not in self.runners:
                    continue
                live = parse_tables(self.runners[family].save(), family, self.tables)
                self.plans[family] = self.planner(family, live)
        except Exception:
            self.release()
            raise
        self.result.update({
            'changed': any(p.changed for plans in self.plans.values() for p in plans),
            'before': dict((f, plans_text(p, 'before')) for f, p in self.plans.items()),
            'after': dict((f, plans_text(p, 'after')) for f, p in self.plans.items()),
            'payload': dict((f, payload(p)) for f, p in self.plans.items()),
        })
        return self.result

    def diffs(self):
        out = []
        for family, plans in self.plans.items():
            for plan in plans:
                if plan.changed:
                    out.append({
                        'before_header': '%s table %s (live)' % (family, plan.name),
                        'after_header': '%s table %s (after)' % (family, plan.name),
                        'before': _chains_text(plan.before, plan.touched),
                        'after': _chains_text(plan.after, plan.touched),
                    })
        return out

    def run(self, check_mode=False):
        """Test every payload, then (unless check_mode) restore and verify. Returns the result."""
        try:
            todo = [(f, self.result['payload'][f]) for f in self.plans if self.result['payload'][f]]
            for family, text in todo:
                self.runners[family].test(text)
            if check_mode:
                return self.result
            if self.lock is not None:
                for family, dummy in todo:
                    try:
                        rollback.settle(rollback.STATE_DIR, family, self.runners[family].restore_argv())
                    except (rollback.RollbackBusy, rollback.StateDirError) as exc:
                        raise SpecError(str(exc))
            for family, text in todo:
                self.runners[family].restore(text)
                self.applied = True
                self.verify(family)
            return self.result
        finally:
            self.release()

    def verify(self, family):
        live = parse_tables(self.runners[family].save(), family, [p.name for p in self.plans[family]])
        wrong = []
        for plan in self.plans[family]:
            got = live[plan.name]
            for name in plan.touched:
                a, b = plan.after.chains.get(name), got.chains.get(name)
                if (a is None) != (b is None) or (a is not None and (a.policy != b.policy or a.keys() != b.keys())):
                    wrong.append((plan, name))
        if wrong:
            lines = []
            for plan, name in wrong:
                expect = _chains_text(plan.after, [name]).splitlines()
                actual = _chains_text(live[plan.name], [name]).splitlines()
                lines.extend(difflib.unified_diff(expect, actual, 'predicted %s %s %s' % (family, plan.name, name),
                                                  'live %s %s %s' % (family, plan.name, name), lineterm=''))
            raise SpecError('iptables-restore succeeded but the live rules differ from the prediction in %s; another '
                            'program may have changed them meanwhile:\n%s'
                            % (', '.join('%s %s %s' % (family, p.name, n) for p, n in wrong), '\n'.join(lines)))


def failure(exc, apply=None):
    """The keys of a failure result for a SpecError or an IptablesCommandError."""
    out = {}
    if apply is not None:
        for key in ('before', 'after', 'payload'):
            if key in apply.result:
                out[key] = apply.result[key]
    if isinstance(exc, SpecError):
        out.update(exc.extra())
        msg = exc.msg
    else:
        out.update(exc.to_result())
        msg = out.pop('msg')
        if getattr(exc, 'line', None) is not None:
            out['line'] = exc.line
            out['lineno'] = exc.lineno
    out['changed'] = bool(apply is not None and apply.applied)
    return msg, out
