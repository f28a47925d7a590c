# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Strict checks of the variables of the roles single_host, masquerading_router, bastion and
firewall_base, made on the controller before anything touches a host.

problems(role, variables, declared=(), names=()) -> [str]
    One message per problem, each naming the variable, the item and what is wrong, for
    example ``single_host_tcp_ports[2]: port 70000 is outside 1-65535``. ``variables`` is a
    mapping of the role's variables (name -> value, as Ansible templated them); names with the
    role's prefix that are neither checked here nor in ``declared`` (the role's argument spec)
    are reported as unknown, with the closest known name. Variables named
    ``rampart_firewall_extra_rules`` or ending in ``_rampart_firewall_extra_rules`` (the hook)
    are checked as extra rules. [] means all is well.

    ``names`` are further variable names in sight (tasks/validate.yml passes every name of the
    play, no value). A name of ``variables`` or ``names`` whose prefix is close to the role's is
    reported as unknown too, with the name meant (``single_hosts_tcp_ports: ... did you mean
    single_host_tcp_ports?``), when it splits at an underscore into
      - a head that is not a role's name but within near_prefix_edits(role) edits of it (1 for
        bastion, 2 for single_host, 3 for masquerading_router and firewall_base; insertions,
        deletions, substitutions and swapped neighbours), or the role's name in other letter
        case or without its underscore, and
      - a tail that is a variable of the role (spec or ``declared``), or within difflib ratio 0.8
        of one.
    Names starting with ``_`` and hook names are never taken for one, and a tail that is no
    variable of the role keeps other software's variables out (``bastions_ssh_key``,
    ``single_hosts_owner``, ``bastion_host`` while single_host runs).

Lengths are counted in UTF-8 bytes, as the kernel counts them: a log prefix keeps 29 bytes
(the LOG target cuts the rest silently), so ``<role>_log_prefix`` is refused when
``PREFIX:LABEL `` of a label the role writes (ROLE_LOG_LABELS) and that has no prefix of its
own in ``<role>_log_prefixes`` exceeds 29 bytes, naming the label, and each value of
``<role>_log_prefixes`` has at most 29 bytes; a comment at most 255, an extra rule's chain 28,
an extra rule's ``--log-prefix`` 29.

Across items and variables: a port forward with a range ``low:high`` takes no ``to_port`` or
the same range (DNAT maps no range onto another port by port); a forward whose sources are all
of the other family than ``to`` would be written nowhere; a forward is refused when an earlier
one has the same protocol, an overlapping port or range and the family of ``to``, and either
no sources or the same sources (the first DNAT takes every connection; a forward without
sources after one with sources is fine, it takes the other sources); a ``{set: NAME}`` source
must name a set of ``<role>_ipsets`` (checked before packages or sets are touched: the role
creates only the sets it declares; sets made elsewhere can be matched in extra rules); sets are
sources only, not egress destinations (bastion DNS, NTP, internal networks) or anti-spoofing
networks; two sets cannot share a kernel name (NAME or its IPv6 twin NAME6).

Role argument validation (meta/argument_specs.yml) checks types but does not write the
converted value back: ``"443"`` where a list belongs would reach the template as a string and
open ports 4 and 3. Here a list must be a list, an item may only have known keys, a port is
1-65535 (a range ``low:high`` not backwards), an address or network is IPv4 or IPv6
(ipaddress), an interface name is one iptables accepts, a rate is one the limit and hashlimit
matches accept, and an extra rule parses (iptables_model).

Pure Python, standard library and the collection's model only.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import shlex

from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import (
    ParseError,
    parse_rule,
)
from ansible_collections.rampart.firewall.plugins.module_utils import reachability

__metaclass__ = type

__all__ = ['problems', 'ROLES', 'SPECS', 'HOOK_SUFFIX']

ROLES = ('single_host', 'masquerading_router', 'bastion', 'firewall_base')
HOOK_SUFFIX = '_rampart_firewall_extra_rules'

_RATE_RE = re.compile(r'^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$')
_PORT_RE = re.compile(r'^[0-9]+$')
_SYSCTL_KEY_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.\-/:+]*$')
_CHAIN_RE = re.compile(r'^[^\s!\-"\'][^\s"\']{0,27}$')
MAX_CHAIN_BYTES = 28  # iptables-restore: a chain name of at most 28 bytes
# 30 characters: the IPv6 twin NAME6 must fit the kernel's 31
_SETNAME_RE = re.compile(r'^[A-Za-z0-9_.:\-]{1,30}$')
_TABLES = ('raw', 'mangle', 'nat', 'filter', 'security')
_BUILTIN = {
    'raw': ('PREROUTING', 'OUTPUT'),
    'mangle': ('PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'),
    'nat': ('PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'),
    'filter': ('INPUT', 'FORWARD', 'OUTPUT'),
    'security': ('INPUT', 'FORWARD', 'OUTPUT'),
}
# chains the roles' template creates (extra rules may jump to them)
_ROLE_CHAINS = {
    'filter': ('TCP', 'UDP', 'IN_SSH', 'IN_TRUSTED', 'OUT_TRUSTED', 'fw-interfaces', 'fw-open', 'DOCKER-USER', 'LOGACCEPT',
               'LOGDROP', 'LOGREJECT'),
    'raw': ('antispoof',),
}


class _Bad(Exception):
    """A problem with a value, named relative to the value (the caller adds the variable)."""

    def __init__(self, msg, where=''):
        Exception.__init__(self, msg)
        self.msg = msg
        self.where = where


def _show(value, limit=80):
    try:
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = text[:limit - 3] + '...'
    return text


def _what(value):
    """'the string "443"', 'the number 443', 'a mapping {...}' for messages."""
    if isinstance(value, bool):
        return 'the boolean %s' % ('true' if value else 'false')
    if value is None:
        return 'null (empty)'
    if isinstance(value, str):
        return 'the string %s' % _show(value)
    if isinstance(value, (int, float)):
        return 'the number %s' % _show(value)
    if isinstance(value, dict):
        return 'a mapping %s' % _show(value)
    if isinstance(value, (list, tuple)):
        return 'a list %s' % _show(value)
    return _show(value)


# --------------------------------------------------------------------- scalar checks

def _bool(value):
    if not isinstance(value, bool):
        hint = ''
        if isinstance(value, str) and value.strip().lower() in ('yes', 'no', 'true', 'false', 'on', 'off', '0', '1'):
            hint = ' (a quoted word is a string, and any non-empty string counts as true: write true or false unquoted)'
        raise _Bad('must be true or false, not %s%s' % (_what(value), hint))


def _intval(value, what='a whole number'):
    """The int of value (an int, or a string of digits from a template); raises _Bad."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Bad('must be %s, not %s' % (what, _what(value)))
    if isinstance(value, str):
        if not _PORT_RE.match(value.strip()):
            raise _Bad('must be %s, not %s' % (what, _what(value)))
        return int(value.strip())
    return value


def _int(low, high=None, what='a whole number'):
    def check(value):
        n = _intval(value, what)
        if n < low or (high is not None and n > high):
            rng = ('%d-%d' % (low, high)) if high is not None else ('at least %d' % low)
            raise _Bad('%s is outside %s' % (n, rng) if high is not None else 'must be %s, not %s' % (rng, n))
    return check


def _choice(*choices):
    def check(value):
        if not isinstance(value, str) or value not in choices:
            close = []
            if isinstance(value, str):
                close = [c for c in choices if c.lower() == value.lower()] or difflib.get_close_matches(value, choices, 1)
            hint = (' (did you mean %s?)' % close[0]) if close else ''
            raise _Bad('must be one of %s, not %s%s' % (', '.join(choices), _what(value), hint))
    return check


def _rate(allow_empty=False):
    def check(value):
        if allow_empty and value in ('', None):
            return
        if not isinstance(value, str) or not _RATE_RE.match(value.strip()):
            raise _Bad('must be a rate such as 5/minute (a number, /, then second, minute, hour or day)%s, not %s'
                       % (', or "" for no limit' if allow_empty else '', _what(value)))
    return check


def _utf8len(text):
    """The length of text in bytes, as the kernel and iptables count it (UTF-8)."""
    return len(str(text).encode('utf-8', 'surrogateescape'))


def _text(maxlen=None, what='text', allow_empty=True, maxbytes=None):
    """Text of at most maxlen characters and at most maxbytes bytes in UTF-8 (what the kernel counts)."""
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _Bad('must be %s, not %s' % (what, _what(value)))
        text = str(value)
        if not allow_empty and not text:
            raise _Bad('must not be empty')
        if maxlen is not None and len(text) > maxlen:
            raise _Bad('has %d characters, at most %d are allowed' % (len(text), maxlen))
        if maxbytes is not None and _utf8len(text) > maxbytes:
            raise _Bad('%s has %d bytes in UTF-8 (a non-ASCII letter takes 2 or more), at most %d are allowed: the kernel '
                       'counts bytes%s' % (_show(text, 40), _utf8len(text), maxbytes,
                                           ' and would cut the rest' if what.startswith('a log prefix') else ''))
        for ch in text:
            if ord(ch) < 32 or ord(ch) == 127:
                raise _Bad('contains the control character %r (a line break cannot be in a rule)' % ch)
    return check


# the LOG target keeps 29 bytes of --log-prefix (a 30-byte field with its NUL) and cuts the rest silently
LOG_PREFIX_BYTES = 29
# comment match: 255 bytes (iptables refuses more)
COMMENT_BYTES = 255
_COMMENT = _text(None, 'a comment', maxbytes=COMMENT_BYTES)


def _log_prefix(value):
    """The prefix itself; whether "PREFIX:LABEL " fits is checked with the labels (_log_prefix_fits)."""
    _text(None, 'a log prefix (text)', allow_empty=False, maxbytes=LOG_PREFIX_BYTES)(value)
    if '"' in str(value) or '\\' in str(value):
        raise _Bad('must not contain " or \\ (the prefix is written in double quotes), not %s' % _show(value))


def _path(value):
    if not isinstance(value, str) or not value.startswith('/'):
        raise _Bad('must be an absolute path such as /etc/rampart-firewall, not %s' % _what(value))
    _text(4096, 'a path')(value)


# --------------------------------------------------------------------- network things

def _port_number(text, what):
    if not _PORT_RE.match(text):
        raise _Bad('%s %s is not a port number' % (what, _show(text)))
    n = int(text)
    if not 1 <= n <= 65535:
        raise _Bad('%s %d is outside 1-65535' % (what, n))
    return n


def _port(allow_range=True):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _Bad('port must be a number 1-65535%s, not %s'
                       % (' or a range "low:high"' if allow_range else '', _what(value)))
        text = str(value).strip()
        if isinstance(value, str) and (',' in text or ' ' in text):
            raise _Bad('port %s holds several ports: write one item per port (a list such as [80, 443])'
                       % _show(value))
        if ':' in text or '-' in text:
            if not allow_range:
                raise _Bad('port %s: a single port is needed here, not a range' % _show(value))
            if '-' in text and ':' not in text:
                raise _Bad('port range %s: iptables writes ranges with a colon ("low:high")' % _show(value))
            parts = text.split(':')
            if len(parts) != 2:
                raise _Bad('port range %s must be "low:high"' % _show(value))
            low = _port_number(parts[0].strip(), 'port')
            high = _port_number(parts[1].strip(), 'port')
            if low > high:
                raise _Bad('port range %s is written backwards (write "%d:%d")' % (_show(value), high, low))
            return
        _port_number(text, 'port')
    return check


def _net(value, kind='network'):
    """An address or network (kind 'network') or an address only (kind 'address')."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise _Bad('%s must be an IPv4 or IPv6 %s written as a string, not %s'
                   % (_show(value), 'address' if kind == 'address' else 'address or network', _what(value)))
    text = value.strip()
    try:
        if kind == 'address':
            return ipaddress.ip_address(text)
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        if kind == 'address' and '/' in text:
            raise _Bad('%s must be a single address, not a network' % _show(value)) from None
        raise _Bad('%s is neither an IPv4 nor an IPv6 %s' % (_show(value), 'address' if kind == 'address'
                                                             else 'address or network')) from None


def _destination(value):
    """An address or network, not a set (egress destinations, anti-spoofing networks: the template
    writes them with -s/-d and cannot match a set there)."""
    if isinstance(value, dict):
        raise _Bad('%s: an address set matches sources only (open ports, source rules, allowed networks, port forwards, '
                   'published-port sources); write addresses or networks here' % _show(value))
    _net(value)


def _source(value):
    """A network, or {set: NAME} (an ipset)."""
    if isinstance(value, dict):
        keys = sorted(str(k) for k in value)
        if keys != ['set']:
            raise _Bad('%s: a source is an address, a network or {set: NAME}' % _show(value))
        name = value['set']
        if not isinstance(name, str) or not _SETNAME_RE.match(name):
            raise _Bad('set name %s must be 1-30 letters, digits or . _ : - (the IPv6 set is NAME6)' % _show(name))
        return
    _net(value)


def _iface(value):
    if isinstance(value, bool) or not isinstance(value, str):
        raise _Bad('interface name must be a string such as eth0, not %s' % _what(value))
    if not value:
        raise _Bad('interface name is empty')
    if len(value) > 15:
        raise _Bad('interface name %s has %d characters, iptables accepts at most 15' % (_show(value), len(value)))
    for ch in value:
        if ch.isspace() or ch in '/"\'!' or ord(ch) < 32 or ord(ch) > 126:
            raise _Bad('interface name %s contains %r, which iptables refuses' % (_show(value), ch))
    if '+' in value[:-1]:
        raise _Bad('interface name %s: "+" (any suffix) may only end the name' % _show(value))
    if value in ('.', '..'):
        raise _Bad('interface name %s is not valid' % _show(value))


# --------------------------------------------------------------------- structures

def _list(element=None, nonempty=False, hint=''):
    def check(value, ctx=None):
        if not isinstance(value, (list, tuple)):
            raise _Bad('must be a list, not %s%s' % (_what(value), hint))
        if nonempty and not value:
            raise _Bad('must not be empty')
        out = []
        if element is not None:
            for i, item in enumerate(value):
                try:
                    _call(element, item, ctx)
                except _Bad as e:
                    out.append(('[%d]' % i + e.where, e.msg))
        return out
    check.structured = True
    return check


def _call(check, value, ctx):
    r = check(value, ctx) if getattr(check, 'structured', False) else check(value)
    if r:
        # a nested structure reports its first problem through the item (one message per item)
        where, msg = r[0]
        raise _Bad(msg, where)


def _structured(fn):
    fn.structured = True
    return fn


def _keys(item, allowed, required=(), what='item'):
    if not isinstance(item, dict):
        raise _Bad('%s must be a mapping with the keys %s, not %s' % (what, ', '.join(allowed), _what(item)))
    for key in item:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, 1, 0.6)
            raise _Bad('%s %s: unknown key %s%s; the keys are %s'
                       % (what, _show(item), _show(key), (' (did you mean %s?)' % _show(close[0])) if close else '',
                          ', '.join(allowed)))
    for key in required:
        if key not in item:
            raise _Bad('%s %s: the key %s is missing' % (what, _show(item), _show(key)))


def _sub(item, key, check):
    """Check item[key] (when present), naming the key."""
    if key not in item:
        return
    try:
        if getattr(check, 'structured', False):
            r = check(item[key], None)
            if r:
                raise _Bad(r[0][1], '.%s%s' % (key, r[0][0]))
        else:
            check(item[key])
    except _Bad as e:
        raise _Bad(e.msg, e.where if e.where.startswith('.') else '.%s%s' % (key, e.where)) from None


_PORT_ITEM_KEYS = ('port', 'sources', 'interfaces', 'action', 'reject_with', 'comment')


def _port_item_of(proto):
    @_structured
    def check(item, ctx=None):
        if not isinstance(item, dict):
            _port()(item)
            return None
        _keys(item, _PORT_ITEM_KEYS, ('port',), 'port item')
        _sub(item, 'port', _port())
        _sub(item, 'sources', _list(_source, hint=' (write [203.0.113.0/24])'))
        _sub(item, 'interfaces', _list(_iface, hint=' (write [eth0])'))
        _sub(item, 'action', _choice('accept', 'drop', 'reject'))
        _sub(item, 'reject_with', _choice(*REJECT_TYPES))
        _sub(item, 'comment', _COMMENT)
        if 'reject_with' in item and item.get('action') != 'reject':
            raise _Bad('port item %s: reject_with needs action: reject' % _show(item), '.reject_with')
        if item.get('reject_with') == 'tcp-reset' and proto != 'tcp':
            raise _Bad('port item %s: tcp-reset answers TCP only (iptables refuses it for %s)' % (_show(item), proto),
                       '.reject_with')
        return None
    return check


def _port_list(value):
    """egress port: one port or a list of ports."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise _Bad('port list is empty')
        for p in value:
            _port()(p)
    else:
        _port()(value)


@_structured
def _egress_item(item, ctx=None):
    anything = isinstance(item, dict) and item.get('proto') == 'all'
    _keys(item, ('proto', 'port', 'destinations', 'comment'), () if anything else ('port',), 'egress item')
    _sub(item, 'proto', _choice('tcp', 'udp', 'all'))
    if anything and 'port' in item:
        raise _Bad('egress item %s: proto all (any new connection) takes no port' % _show(item), '.port')
    _sub(item, 'port', _port_list)
    _sub(item, 'destinations', _list(_destination, hint=' (write [192.0.2.53])'))
    _sub(item, 'comment', _COMMENT)


@_structured
def _recent_item(item, ctx=None):
    _keys(item, ('hitcount', 'seconds'), ('hitcount', 'seconds'), 'limit')
    _sub(item, 'hitcount', _int(1, 20, 'a number 1-20 (the recent module keeps 20 packets per address)'))
    _sub(item, 'seconds', _int(1, None, 'a number of seconds'))


def _port_span(value):
    """(low, high) of a port or range that _port() accepted."""
    parts = str(value).strip().split(':')
    return int(parts[0]), int(parts[-1])


def _family(value):
    """4 or 6 for an address or network, None for a set."""
    return None if isinstance(value, dict) else _net(value).version


@_structured
def _forward_item(item, ctx=None):
    _keys(item, ('proto', 'port', 'to', 'to_port', 'sources', 'comment'), ('port', 'to'), 'port forward')
    _sub(item, 'proto', _choice('tcp', 'udp'))
    _sub(item, 'port', _port())
    _sub(item, 'to', lambda v: _net(v, 'address'))
    _sub(item, 'to_port', _port())
    _sub(item, 'sources', _list(_source, hint=' (write [203.0.113.0/24])'))
    _sub(item, 'comment', _COMMENT)
    # DNAT to a port range keeps the original port when it lies in the range, and otherwise picks
    # any free port of it: only the same range (or no to_port) forwards each port to itself
    port, to_port = _port_span(item['port']), _port_span(item.get('to_port', item['port']))
    if port != to_port and (port[0] != port[1] or to_port[0] != to_port[1]):
        if port[0] != port[1]:
            raise _Bad('port forward %s: with the range %s, leave to_port out or write the same range (each port then '
                       'goes to the same port of %s): DNAT maps no range onto another range port by port, nor a range '
                       'onto one port' % (_show(item), _show(item['port']), item['to']), '.to_port')
        raise _Bad('port forward %s: to_port %s is a range, one port forwards to one port' % (
            _show(item), _show(item['to_port'])), '.to_port')
    # the forward is written in the family of "to", from the sources of that family (or sets):
    # sources of the other family only would leave no rule at all
    sources = item.get('sources') or []
    version = _net(item['to'], 'address').version
    if sources and all(_family(s) not in (None, version) for s in sources):
        raise _Bad('port forward %s: every source is IPv%d and "to" is IPv%d: the forward would not be written at all '
                   '(add a source of the family of "to")' % (_show(item), 10 - version, version), '.sources')


def _overlap(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


def _canonical_sources(sources):
    return sorted(_show(s) if isinstance(s, dict) else str(_net(s)) for s in sources)


@_structured
def _forwards(value, ctx=None):
    """The port forwards: each item, then no forward that an earlier one hides (the first DNAT takes the packet)."""
    out = _list(_forward_item, hint=' (write [{port: 443, to: 192.168.1.6}])')(value, ctx)
    if out:
        return out
    seen = []
    for i, fwd in enumerate(value):
        proto = fwd.get('proto', 'tcp')
        span = _port_span(fwd['port'])
        version = _net(fwd['to'], 'address').version
        sources = fwd.get('sources') or []
        for j, other in seen:
            if other.get('proto', 'tcp') != proto or _net(other['to'], 'address').version != version:
                continue
            if not _overlap(span, _port_span(other['port'])):
                continue
            # a later forward without sources after one with sources takes the other sources: it can match
            osources = other.get('sources') or []
            if osources and _canonical_sources(sources) != _canonical_sources(osources):
                continue
            out.append(('[%d]' % i, 'port forward %s: %s port %s (IPv%d) is forwarded already by item [%d] (%s to %s) '
                                    'from %s: the first forward takes these connections, this one can never match '
                                    '(one forward per port and family, or forwards from different sources, the one '
                                    'without sources last)'
                        % (_show(fwd), proto, _show(fwd['port']), version, j, _show(other['port']), other['to'],
                           'the same sources' if osources else 'every source')))
            break
        seen.append((i, fwd))
    return out


@_structured
def _masquerade_item(item, ctx=None):
    if not isinstance(item, dict):
        _net(item)
        return
    _keys(item, ('source', 'snat_to'), ('source',), 'NAT item')
    _sub(item, 'source', _net)
    _sub(item, 'snat_to', lambda v: _net(v, 'address'))
    if 'snat_to' in item:
        src = _net(item['source'])
        to = _net(item['snat_to'], 'address')
        if src.version != to.version:
            raise _Bad('NAT item %s: source and snat_to are of different IP families' % _show(item), '.snat_to')


@_structured
def _extra_rule(item, ctx=None):
    _keys(item, ('chain', 'rule', 'family', 'order', 'table', 'comment'), ('chain',), 'extra rule')
    _sub(item, 'family', _choice('both', 'ipv4', 'ipv6'))
    _sub(item, 'table', _choice(*_TABLES))
    _sub(item, 'order', _int(0, 1000000, 'a whole number (the position among the rules of the chain)'))
    _sub(item, 'comment', _COMMENT)
    chain = item['chain']
    if not isinstance(chain, str) or not _CHAIN_RE.match(chain) or _utf8len(chain) > MAX_CHAIN_BYTES:
        raise _Bad('chain %s is not a chain name iptables accepts (1-%d bytes in UTF-8, no space or quote, not '
                   'starting with - or !)' % (_show(chain), MAX_CHAIN_BYTES), '.chain')
    rule = item.get('rule', '')
    if rule is None or rule == '':
        return
    if not isinstance(rule, str):
        raise _Bad('rule must be a string of iptables options, not %s' % _what(rule), '.rule')
    words = rule.split()
    if words and (words[0] in ('iptables', 'ip6tables') or words[0] in ('-A', '-I', '--append', '--insert')):
        raise _Bad('rule %s: write the options only, without "iptables" and "-A CHAIN" (the chain goes in the key chain)'
                   % _show(rule), '.rule')
    table = item.get('table', 'filter')
    chains = set(_ROLE_CHAINS.get(table, ())) | set((ctx or {}).get(table, ()))
    families = ('ipv4', 'ipv6') if item.get('family', 'both') == 'both' else (item['family'],)
    for family in families:
        try:
            parse_rule(rule, chain=chain, table=table, family=family, chains=sorted(chains))
        except ParseError as e:
            raise _Bad('rule %s does not parse for %s: %s' % (_show(rule), family, e), '.rule') from None
    _rule_log_prefix(rule)


def _rule_log_prefix(rule):
    """A --log-prefix of an extra rule longer than the LOG target keeps (it would be cut silently)."""
    try:
        words = shlex.split(rule)
    except ValueError:
        return  # parse_rule names the quoting problem
    for opt, arg in zip(words, words[1:]):
        if opt == '--log-prefix' and _utf8len(arg) > LOG_PREFIX_BYTES:
            raise _Bad('rule %s: the --log-prefix %s has %d bytes in UTF-8, the LOG target keeps %d and would cut the '
                       'rest silently' % (_show(rule), _show(arg), _utf8len(arg), LOG_PREFIX_BYTES), '.rule')


@_structured
def _extra_rules(value, ctx=None):
    if not isinstance(value, (list, tuple)):
        raise _Bad('must be a list of {chain, rule, ...} mappings, not %s' % _what(value))
    chains = {}
    for item in value:
        if isinstance(item, dict) and isinstance(item.get('chain'), str):
            chains.setdefault(item.get('table', 'filter'), set()).add(item['chain'])
    return _list(_extra_rule)(value, chains)


def _member(value):
    """An ipset member: an address, a network or {group: GROUP, address_from: FROM} (filter role_ipsets)."""
    if isinstance(value, dict):
        keys = set(str(k) for k in value)
        if 'group' not in keys or not keys <= {'group', 'address_from'} or not isinstance(value['group'], str) or not value['group']:
            raise _Bad('member %s: a member is an address, a network or {group: GROUP, address_from: FROM}' % _show(value))
        how = value.get('address_from', 'auto')
        name = list(how.values())[0] if isinstance(how, dict) and len(how) == 1 and set(how) <= {'fact', 'var'} else None
        named = isinstance(name, str) and re.match(r'^[A-Za-z_][A-Za-z0-9_]{0,127}$', name)
        if how not in ('auto', 'ansible_host', 'facts') and not named:
            raise _Bad('member %s: address_from must be auto, ansible_host, facts, {fact: NAME} or {var: NAME}, not %s'
                       % (_show(value), _show(how)))
        return
    _net(value)


@_structured
def _ipset_item(item, ctx=None):
    _keys(item, ('name', 'members', 'type', 'maxelem'), ('name',), 'address set')
    name = item['name']
    if not isinstance(name, str) or not re.match(r'^[A-Za-z0-9_.:\-]{1,30}$', name):
        raise _Bad('set name %s must be 1-30 letters, digits or . _ : - (the IPv6 twin adds a 6)' % _show(name),
                   '.name')
    _sub(item, 'members', _list(_member, hint=' (write [192.0.2.10, {group: web}])'))
    _sub(item, 'type', _choice('hash:net', 'hash:ip'))
    _sub(item, 'maxelem', _int(1, 2 ** 31, 'a whole number'))


@_structured
def _ipsets(value, ctx=None):
    """The sets: each item, then no name twice (a set NAME has an IPv6 twin NAME6: web6 clashes with web's twin)."""
    out = _list(_ipset_item, hint=' (write [{name: web, members: [192.0.2.10]}])')(value, ctx)
    if out:
        return out
    taken = {}
    for i, item in enumerate(value):
        for kernel_name in (item['name'], item['name'] + '6'):
            if kernel_name in taken:
                out.append(('[%d].name' % i, 'set name %s: the kernel set %s is already the one of item [%d] (a set '
                                             'NAME is NAME in IPv4 and NAME6 in IPv6)'
                            % (_show(item['name']), kernel_name, taken[kernel_name])))
                break
        else:
            taken[item['name']] = taken[item['name'] + '6'] = i
    return out


# The labels of the template's log rules (rules.j2, log_tail(LABEL)): the prefix of a label is
# "PREFIX:LABEL " unless <role>_log_prefixes gives it one. tests/unit/roles/test_role_log_labels.py
# reads them from the template.
LOG_LABELS = ('INPUT', 'FORWARD', 'OUTPUT', 'INVALID', 'PING', 'SSH', 'SPOOF', 'PUBLISHED', 'SOURCE',
              'INPUT-ACCEPT', 'FORWARD-ACCEPT', 'OUTPUT-ACCEPT')
# single_host and bastion forward nothing and have no anti-spoofing (firewall_base_forward and
# firewall_base_antispoof stay false): these labels are never written for them
_FORWARD_LABELS = ('FORWARD', 'FORWARD-ACCEPT', 'SPOOF')
ROLE_LOG_LABELS = {
    'single_host': tuple(x for x in LOG_LABELS if x not in _FORWARD_LABELS),
    'bastion': tuple(x for x in LOG_LABELS if x not in _FORWARD_LABELS),
    'masquerading_router': LOG_LABELS,
    'firewall_base': LOG_LABELS,
}
REJECT_KEYS = ('input_tcp', 'input_udp', 'input_other', 'forward_tcp', 'forward_other')
REJECT_TYPES = ('icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-port-unreachable', 'icmp-proto-unreachable',
                'icmp-net-prohibited', 'icmp-host-prohibited', 'icmp-admin-prohibited', 'tcp-reset')


def _log_prefixes(value):
    if not isinstance(value, dict):
        raise _Bad('must be a mapping of log labels to prefixes, such as {INPUT: "fw input drop "}, not %s'
                   % _what(value))
    for label, prefix in value.items():
        if label not in LOG_LABELS:
            close = difflib.get_close_matches(str(label), LOG_LABELS, 1)
            raise _Bad('unknown label %s%s; the labels are %s' % (
                _show(label), (' (did you mean %s?)' % close[0]) if close else '', ', '.join(LOG_LABELS)))
        try:
            _text(None, 'a log prefix (text)', allow_empty=False, maxbytes=LOG_PREFIX_BYTES)(prefix)
            if '"' in str(prefix) or '\\' in str(prefix):
                raise _Bad('must not contain " or \\ (the prefix is written in double quotes)')
        except _Bad as e:
            raise _Bad('%s: the prefix %s' % (label, e.msg)) from None


def _reject_with(value):
    if not isinstance(value, dict):
        raise _Bad('must be a mapping such as {input_other: icmp-port-unreachable}, not %s' % _what(value))
    for key, kind in value.items():
        if key not in REJECT_KEYS:
            close = difflib.get_close_matches(str(key), REJECT_KEYS, 1)
            raise _Bad('unknown key %s%s; the keys are %s' % (
                _show(key), (' (did you mean %s?)' % close[0]) if close else '', ', '.join(REJECT_KEYS)))
        if kind not in REJECT_TYPES:
            raise _Bad('%s: %s is not a reject type; the types are %s (IPv6 takes the matching icmp6 type)'
                       % (key, _show(kind), ', '.join(REJECT_TYPES)))
        if kind == 'tcp-reset' and not key.endswith('_tcp'):
            raise _Bad('%s: tcp-reset answers TCP only (input_tcp, forward_tcp)' % key)


@_structured
def _source_rule(item, ctx=None):
    _keys(item, ('sources', 'action', 'proto', 'port', 'log', 'comment'), ('sources',), 'source rule')
    _sub(item, 'sources', _list(_source, nonempty=True, hint=' (write [192.0.2.66])'))
    _sub(item, 'action', _choice('drop', 'reject', 'log'))
    _sub(item, 'proto', _choice('all', 'tcp', 'udp', 'icmp'))
    _sub(item, 'log', _bool)
    _sub(item, 'comment', _COMMENT)
    if 'port' in item:
        if item.get('proto') not in ('tcp', 'udp'):
            raise _Bad('source rule %s: a port needs proto tcp or udp' % _show(item), '.port')
        _sub(item, 'port', _port())


def _sysctl(value):
    if not isinstance(value, dict):
        raise _Bad('must be a mapping of sysctl keys to values, such as {net.ipv4.tcp_syncookies: 1}, not %s'
                   % _what(value))
    for key, val in value.items():
        if not isinstance(key, str) or not _SYSCTL_KEY_RE.match(key):
            raise _Bad('key %s is not a sysctl key' % _show(key))
        if not key.startswith('net.'):
            # the roles set these inside the confirm-or-revert window (iptables_ruleset option sysctl), which
            # sets and restores the kernel network settings only (sysctl_profiles.transaction_key)
            raise _Bad('key %s is not a network key (net.*): the role sets its kernel settings inside the '
                       'confirm-or-revert window, which takes network keys only; set other keys with '
                       'rampart.firewall.sysctl_hardening and rollback_timeout: 0' % _show(key))
        if isinstance(val, (dict, list, tuple)):
            raise _Bad('%s: the value must be a number or a string, not %s' % (key, _what(val)))


@_structured
def _confirm_probes(value, ctx=None):
    """Probes that must hold inside the window (reachability.normalise): one message per bad item."""
    if not isinstance(value, list):
        raise _Bad('must be a list of probes like [{port: 443}, {port: 5432, from: web}], not %s' % _what(value))
    out = []
    for index, item in enumerate(value):
        where = '[%d]' % index
        try:
            reachability.normalise(item, where)
        except reachability.ProbeError as exc:
            out.append((where, exc.msg[len(where):].lstrip('.: ') if exc.msg.startswith(where) else exc.msg))
    return out


def _lan_services(value, ctx=None):
    return _list(_choice('ssh', 'dns', 'dhcp', 'ntp'))(value, ctx)


_lan_services.structured = True

# --------------------------------------------------------------------- the specs

# sources (a set allowed) and networks the template writes with -s or -d (no set)
_SOURCES = _list(_source, hint=' (write [203.0.113.0/24])')
_NETS = _list(_destination, hint=' (write [203.0.113.0/24])')
_PORTS_HINT = ' (write [443] or [80, 443]: one item per port)'
_COMMON = {
    'ipv6': _bool,
    'tcp_ports': _list(_port_item_of('tcp'), hint=_PORTS_HINT),
    'udp_ports': _list(_port_item_of('udp'), hint=_PORTS_HINT),
    'output_policy': _choice('ACCEPT', 'DROP'),
    'input_policy': _choice('DROP', 'ACCEPT'),
    'state': _choice('present', 'absent'),
    'source_rules': _list(_source_rule, hint=' (write [{sources: [192.0.2.66], action: drop}])'),
    'egress': _list(_egress_item, hint=' (write [{proto: tcp, port: 443}])'),
    'egress_icmp_echo': _bool,
    'icmp_echo': _bool,
    'icmp_echo_limit': _rate(allow_empty=True),
    'icmp_echo_burst': _int(1, 10000),
    'reject': _bool,
    'drop_broadcast': _bool,
    'ipv6_rpfilter': _choice('auto', 'strict', 'loose', 'off'),
    'ssh_port': _port(allow_range=False),
    'ssh_bruteforce': _choice('none', 'recent', 'hashlimit'),
    'ssh_recent': _list(_recent_item, nonempty=True),
    'ssh_hashlimit': _rate(),
    'ssh_hashlimit_burst': _int(1, 10000),
    'portscan_trap': _bool,
    'portscan_seconds': _int(1, 86400 * 365),
    'log_drops': _bool,
    'log_prefix': _log_prefix,
    'log_limit': _rate(allow_empty=True),
    'log_prefixes': _log_prefixes,
    'log_accepts': _bool,
    'reject_with': _reject_with,
    'icmp_echo_limit_per': _choice('connection', 'packet'),
    'hashlimit_htable_expire': _int(0, 2 ** 31 - 1, 'a number of milliseconds (0: the kernel default)'),
    'log_burst': _int(1, 10000),
    'extra_rules': _extra_rules,
    'sysctl': _bool,
    'sysctl_settings': _sysctl,
    'sysctl_on_readonly': _choice('file_only', 'fail', 'skip'),
    'rollback_timeout': _int(0, 3600, 'a number of seconds'),
    'confirm_probes': _confirm_probes,
    'conf_dir': _path,
    'stop_firewalld': _bool,
    'stop_ufw': _bool,
    'container_engine': _choice('auto', 'present', 'absent'),
    'docker_published_sources': _SOURCES,
    'ipsets': _ipsets,
}
_IFACES = _list(_iface, hint=' (write [eth1])')

_EXCEPT_HINT = ' (write [eth0]: the interfaces NOT trusted, such as the WAN)'

SPECS = {
    'single_host': dict(_COMMON, trusted_interfaces_except=_list(_iface, hint=_EXCEPT_HINT)),
    'masquerading_router': dict(
        _COMMON,
        wan_interface=_iface,
        lan_interfaces=_list(_iface, nonempty=True, hint=' (write [eth1])'),
        trusted_interfaces_except=_list(_iface, hint=_EXCEPT_HINT),
        lan_networks=_list(_masquerade_item, hint=' (write [192.168.1.0/24])'),
        lan_services=_lan_services,
        trusted_interfaces_scope=_choice('forward', 'all'),
        forward_reject=_choice('auto', 'reject', 'drop'),
        port_forwards=_forwards,
        antispoof=_bool,
        antispoof_networks=_NETS,
        antispoof_allow=_NETS,
        dhcp_client=_bool,
    ),
    'bastion': dict(
        (k, v) for k, v in dict(
            _COMMON,
            allowed_networks=_SOURCES,
            internal_networks=_NETS,
            egress_ssh_ports=_list(_port(), nonempty=True, hint=' (write [22])'),
            dns_servers=_NETS,
            ntp_servers=_NETS,
        ).items() if k not in ('tcp_ports', 'udp_ports', 'output_policy', 'portscan_trap', 'portscan_seconds',
                               'input_policy')
    ),
    'firewall_base': dict(
        (k, v) for k, v in dict(
            _COMMON,
            caller=_text(64, 'a role name', allow_empty=False),
            mode=_choice('apply', 'audit'),
            tables=_list(_choice(*_TABLES)),
            ssh_guard=_choice('none', 'recent', 'hashlimit'),
            ssh_recent=_list(_recent_item, nonempty=True),
            log=_bool,
            forward=_bool,
            forward_reject=_choice('auto', 'reject', 'drop'),
            wan_interface=lambda v: None if v == '' else _iface(v),
            lan_interfaces=_IFACES,
            trusted_interfaces_except=_list(_iface, hint=_EXCEPT_HINT),
            forward_interfaces_except=_list(_iface, hint=_EXCEPT_HINT),
            masquerade=_list(_masquerade_item),
            port_forwards=_forwards,
            antispoof=_bool,
            antispoof_networks=_NETS,
            antispoof_allow=_NETS,
            dhcp_client=_bool,
            dhcp_server_interfaces=_IFACES,
            sysctl_profile=_choice('host', 'router'),
        ).items() if k not in ('ssh_bruteforce', 'log_drops')
    ),
}
# what a role cannot run without (no guessed defaults)
REQUIRED = {
    'masquerading_router': ('wan_interface', 'lan_interfaces', 'lan_networks'),
}


def _log_prefix_fits(role, get):
    """The composed prefixes "PREFIX:LABEL " of the labels without a prefix of their own fit the LOG target."""
    prefix = get('log_prefix')
    if prefix is None or isinstance(prefix, bool):
        return []
    own = get('log_prefixes')
    own = own if isinstance(own, dict) else {}
    labels = [x for x in ROLE_LOG_LABELS[role] if x not in own]
    over = sorted((x for x in labels if _utf8len('%s:%s ' % (prefix, x)) > LOG_PREFIX_BYTES),
                  key=lambda x: (-len(x), x))
    if not over:
        return []
    room = LOG_PREFIX_BYTES - max(_utf8len(':%s ' % x) for x in labels)
    composed = '%s:%s ' % (prefix, over[0])
    give = ('%s a prefix of its own' % over[0]) if len(over) == 1 else \
        ('the labels %s a prefix of their own' % ', '.join(over))
    return [('log_prefix', '%s makes the prefix of the label %s %s, %d bytes in UTF-8: the LOG target keeps %d and '
                           'would cut the rest silently; write at most %d bytes here, or give %s in %s_log_prefixes'
             % (_show(prefix), over[0], _show(composed), _utf8len(composed), LOG_PREFIX_BYTES, room, give, role))]


def _set_refs(value, where=''):
    """(where, name) of every {set: NAME} in value."""
    if isinstance(value, dict):
        if list(value) == ['set'] and isinstance(value['set'], str):
            yield where, value['set']
            return
        for key, sub in value.items():
            yield from _set_refs(sub, '%s.%s' % (where, key))
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            yield from _set_refs(sub, '%s[%d]' % (where, i))


def _sets_declared(role, get, suffixes):
    """Every {set: NAME} source names a set of <role>_ipsets: checked before the packages and the sets are touched."""
    sets = get('ipsets')
    if sets is None and 'ipsets' in suffixes:
        return []  # the sets themselves are wrong: reported already
    declared = [item['name'] for item in sets or () if isinstance(item, dict) and isinstance(item.get('name'), str)]
    out = []
    for suffix in suffixes:
        if suffix in ('ipsets', 'extra_rules'):
            continue
        for where, name in _set_refs(get(suffix)):
            if name in declared:
                continue
            close = difflib.get_close_matches(name, declared, 1, 0.6)
            out.append(('%s%s' % (suffix, where),
                        'the set %s is not declared in %s_ipsets (%s%s): the role creates the sets it declares, and '
                        'a source may only name one of them (a set made outside the role can be matched in '
                        '%s_extra_rules)'
                        % (_show(name), role, ('did you mean %s? ' % _show(close[0])) if close else '',
                           ('declared: %s' % ', '.join(declared)) if declared else 'no set is declared', role)))
    return out


def _cross(role, get, suffixes=()):
    """Checks that involve several variables: [(name suffix, message)]."""
    out = _log_prefix_fits(role, get) + _sets_declared(role, get, suffixes)
    if get('confirm_probes') and get('rollback_timeout') == 0:
        out.append(('confirm_probes', 'needs a revert window: the probes decide whether the new rules are confirmed, '
                                      'and %s_rollback_timeout is 0' % role))
    if role == 'firewall_base':
        for flag in ('forward', 'antispoof', 'dhcp_client'):
            if get(flag) is True and not get('wan_interface'):
                out.append(('wan_interface', 'is empty, and firewall_base_%s needs the WAN interface' % flag))
    if role in ('masquerading_router', 'firewall_base'):
        wan = get('wan_interface')
        lans = get('lan_interfaces')
        if isinstance(wan, str) and isinstance(lans, (list, tuple)) and wan in lans:
            out.append(('lan_interfaces', 'holds the WAN interface %s: the WAN is never a trusted LAN' % _show(wan)))
        # "every interface but these" must leave the WAN out, and cannot leave a LAN interface out
        key = 'trusted_interfaces_except' if role == 'masquerading_router' else 'forward_interfaces_except'
        excl = get(key)
        if isinstance(excl, (list, tuple)) and excl:
            if isinstance(wan, str) and wan and wan not in excl:
                out.append((key, '%s does not hold the WAN interface %s: what arrives on the WAN would be forwarded '
                                 'anywhere (write [%s])' % (_show(list(excl)), _show(wan), wan)))
            both = [i for i in excl if isinstance(lans, (list, tuple)) and i in lans]
            if both:
                out.append((key, 'holds the LAN interface %s: a LAN interface is trusted, it cannot be left out'
                                 % _show(both[0])))
    return out


def _distance(a, b):
    """Edit distance (insertions, deletions, substitutions, swaps of two neighbours)."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def near_prefix_edits(role):
    """How many edits a prefix may be away from the role's name and still be taken for it."""
    return 1 if len(role) <= 8 else (2 if len(role) <= 12 else 3)


def _near_name(role, name, suffixes):
    """The variable of role that name was meant to be (single_hosts_tcp_ports -> single_host_tcp_ports), or None.

    name is taken for a variable of role when it splits, at an underscore, into a head that is not
    a role's name but is within near_prefix_edits(role) edits of it (or is the role's name in other
    letter case or without its underscore), and a tail that is a variable of the role or, when
    close, very nearly one (difflib ratio 0.8). Names starting with _ and the hook names are left
    alone; so is bastions_ssh_key (ssh_key is not a variable of bastion) or bastion_host for single_host.
    """
    if name.startswith('_') or name.startswith(role + '_') or name.endswith(HOOK_SUFFIX):
        return None
    parts = name.split('_')
    for i in range(1, len(parts)):
        head, tail = '_'.join(parts[:i]), '_'.join(parts[i:])
        low = head.lower()
        if head in ROLES or not tail:
            continue
        near = any((low == role, low.replace('_', '') == role.replace('_', ''),
                    _distance(low, role) <= near_prefix_edits(role)))
        if not near:
            continue
        close = [tail] if tail in suffixes else difflib.get_close_matches(tail, sorted(suffixes), 1, 0.8)
        if close:
            return '%s_%s' % (role, close[0])
    return None


def problems(role, variables, declared=(), names=()):
    """Messages for what is wrong with the variables of role (see the module docstring)."""
    if role not in SPECS:
        return ['rampart.firewall: unknown role %s; the roles are %s' % (_show(role), ', '.join(ROLES))]
    spec = SPECS[role]
    prefix = role + '_'
    out = []
    known = set(prefix + k for k in spec) | set(declared or ())
    present = {}
    for name in sorted(variables):
        if not isinstance(name, str):
            continue
        if name == 'rampart_firewall_extra_rules' or name.endswith(HOOK_SUFFIX):
            # the hook: extra rules from the inventory or from other roles
            try:
                for where, msg in _extra_rules(variables[name], None) or ():
                    out.append('%s%s: %s' % (name, where, msg))
            except _Bad as e:
                out.append('%s%s: %s' % (name, e.where, e.msg))
            continue
        if not name.startswith(prefix):
            continue
        suffix = name[len(prefix):]
        if suffix in spec:
            present[suffix] = variables[name]
        elif name not in known and not name.endswith(HOOK_SUFFIX):
            close = difflib.get_close_matches(name, sorted(known), 1, 0.8)
            out.append('%s: unknown variable of role %s%s' % (
                name, role, (' (did you mean %s?)' % close[0]) if close else ' (it would be ignored)'))
    for suffix in REQUIRED.get(role, ()):
        if suffix not in present or present[suffix] in ('', None, []):
            out.append('%s%s: required, the role does not guess it (see roles/%s/README.md)'
                       % (prefix, suffix, role))
            present.pop(suffix, None)
    for suffix in sorted(present):
        check = spec[suffix]
        value = present[suffix]
        try:
            if getattr(check, 'structured', False):
                for where, msg in check(value, None) or ():
                    out.append('%s%s%s: %s' % (prefix, suffix, where, msg))
            else:
                check(value)
        except _Bad as e:
            out.append('%s%s%s: %s' % (prefix, suffix, e.where, e.msg))
    # names with a prefix close to the role's: a variable meant for the role that it would never read
    suffixes = set(spec) | set(n[len(prefix):] for n in declared or () if isinstance(n, str) and n.startswith(prefix))
    for name in sorted(set(n for n in list(variables) + list(names or ()) if isinstance(n, str))):
        meant = _near_name(role, name, suffixes)
        if meant:
            out.append('%s: unknown variable, its prefix is close to the role %s\'s: did you mean %s? (the role reads '
                       'only %s*, this one would be ignored)' % (name, role, meant, prefix))
    bad = set(m.split(':', 1)[0].split('[', 1)[0].split('.', 1)[0] for m in out)
    for suffix, msg in _cross(role, lambda k: present.get(k) if prefix + k not in bad else None, sorted(present)):
        out.append('%s%s: %s' % (prefix, suffix, msg))
    return out
