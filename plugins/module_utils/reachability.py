# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reachability probes: what must hold after a firewall change, checked with real packets.

No AnsibleModule here: the module rampart.firewall.reachability_probe, the action plugin of
iptables_ruleset (controller-side probes inside the confirm-or-revert window) and the role
checks (role_vars) all use these functions.

A probe spec (the role variable form, ``<role>_confirm_probes`` items)::

    {port: 1-65535 (required for tcp and udp, none for icmp),
     proto: tcp | udp | icmp            (default tcp),
     expect: open | closed | refused | timeout   (default open; closed = refused or timeout),
     from: controller | <inventory group or host>   (default controller),
     host: address or name to probe     (default: the target's ansible_host, filled in by the caller),
     timeout: seconds, > 0 and <= 60    (default 3)}

normalise(spec, where) -> dict with every key, or raises ProbeError naming the field and the value.
problems(specs, where) -> [str], one message per bad item ([] when all is well).

What is observed (``observed``):

* tcp: ``open`` (the connection was accepted), ``refused`` (an RST, or an ICMP unreachable that the
  kernel reports as a refusal or an unreachable network/host), ``timeout`` (no answer in time: a
  silent DROP).
* udp: an empty datagram is sent on a connected socket; ``open`` when any answer arrives,
  ``refused`` when an ICMP port unreachable comes back (the kernel reports ECONNREFUSED on the
  connected socket), ``timeout`` otherwise. A UDP service that does not answer an empty datagram
  and a firewall that drops it look the same ("open|filtered", as nmap says): use expect timeout
  or closed for UDP only when that is what you mean, and expect open only for a service that answers.
* icmp: one echo request with the system ``ping`` (argument list ``ping -n -c 1 -W SECONDS HOST``,
  HOST checked not to start with ``-``): ``open`` on a reply, ``refused`` when an ICMP unreachable
  or "packet filtered" came back, ``timeout`` otherwise. ping is setuid or has the capability, so
  it needs no root. Without a ping binary, a raw ICMP/ICMPv6 socket does the same as root
  (raw_echo); without either the probe is an ``error``.
* ``error`` when the probe could not be made (a name that does not resolve, no ping, or the probing
  host's own OUTPUT rules refused the packet: EPERM/EACCES, which says nothing of the target), and
  ``budget`` when the total budget ran out before the probe finished; neither holds any expectation.

run(probes, budget, workers) runs normalised probes (each with its host) concurrently in threads,
each bounded by its own timeout and all by the total budget, and returns one result per probe in
the same order: {host, port, proto, expect, from, observed, ok, detail, elapsed}.
"""

from __future__ import annotations

import errno
import math
import os
import re
import socket
import struct
import subprocess
import threading
import time

PROTOS = ('tcp', 'udp', 'icmp')
EXPECTS = ('open', 'closed', 'refused', 'timeout')
KEYS = ('port', 'proto', 'expect', 'from', 'host', 'timeout')
DEFAULT_TIMEOUT = 3
MAX_TIMEOUT = 60
MAX_BUDGET = 3600
DEFAULT_BUDGET = 60
MAX_WORKERS = 64
DEFAULT_WORKERS = 16
CONTROLLER = 'controller'
# What ping prints when an ICMP error came back instead of a reply (iputils, busybox).
_PING_REFUSED = re.compile(r'unreachable|filtered|prohibited', re.IGNORECASE)
# A host: a name or an address (IPv4, IPv6, with an optional %zone). Never starts with "-":
# it is an argument of ping.
_HOST_RE = re.compile(r'\A[A-Za-z0-9_][A-Za-z0-9_.:%-]{0,252}\Z')
# A `from`: an inventory host or group name (no space, no quote, no path).
_FROM_RE = re.compile(r'\A[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,252}\Z')


class ProbeError(ValueError):
    """A probe spec is wrong. msg names the field and the value."""

    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg


def _show(value, limit=60):
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + '...'


def _number(value, where, key):
    if isinstance(value, bool) or value is None:
        raise ProbeError('%s.%s must be a number of seconds, not %s' % (where, key, _show(value)))
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ProbeError('%s.%s must be a number of seconds, not %s' % (where, key, _show(value)))
    if not isinstance(value, (int, float)) or math.isnan(value):
        raise ProbeError('%s.%s must be a number of seconds, not %s' % (where, key, _show(value)))
    return value


def normalise(spec, where='probe', need_host=False):
    """The probe SPEC with every key (defaults filled in), checked. WHERE names it in messages
    (``single_host_confirm_probes[2]``). NEED_HOST: host is required (the module's form).
    Raises ProbeError."""
    if not isinstance(spec, dict):
        raise ProbeError('%s must be a dict like {port: 443}, not %s' % (where, _show(spec)))
    unknown = sorted(str(key) for key in spec if key not in KEYS)
    if unknown:
        raise ProbeError('%s: unknown key(s) %s (known: %s)' % (where, ', '.join(unknown), ', '.join(KEYS)))
    proto = spec.get('proto')
    proto = 'tcp' if proto is None else proto
    if proto not in PROTOS:
        raise ProbeError('%s.proto must be one of %s, not %s' % (where, ', '.join(PROTOS), _show(proto)))
    expect = spec.get('expect')
    expect = 'open' if expect is None else expect
    if expect not in EXPECTS:
        raise ProbeError('%s.expect must be one of %s, not %s' % (where, ', '.join(EXPECTS), _show(expect)))
    port = spec.get('port')
    if proto == 'icmp':
        if port is not None:
            raise ProbeError('%s.port: an icmp probe has no port, not %s' % (where, _show(port)))
    else:
        if isinstance(port, str) and port.strip().isdigit():
            port = int(port.strip())
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ProbeError('%s.port must be a port number 1-65535 for %s, not %s' % (where, proto, _show(port)))
    source = spec.get('from')
    source = CONTROLLER if source is None else source
    if not isinstance(source, str) or not _FROM_RE.match(source):
        raise ProbeError('%s.from must be controller or an inventory group or host name, not %s' % (where, _show(source)))
    host = spec.get('host')
    if host is None or host == '':
        if need_host:
            raise ProbeError('%s.host is required: the address or name to probe' % where)
        host = None
    elif not isinstance(host, str) or not _HOST_RE.match(host):
        raise ProbeError('%s.host must be an address or a host name, not %s' % (where, _show(host)))
    timeout = spec.get('timeout')
    timeout = DEFAULT_TIMEOUT if timeout is None else _number(timeout, where, 'timeout')
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ProbeError('%s.timeout must be more than 0 and at most %d seconds, not %s' % (where, MAX_TIMEOUT, _show(timeout)))
    return {'port': port, 'proto': proto, 'expect': expect, 'from': source, 'host': host, 'timeout': timeout}


def normalise_all(specs, where='probes', need_host=False, default_host=None):
    """Every spec of the list SPECS normalised (host defaulting to DEFAULT_HOST). Raises ProbeError."""
    if specs is None:
        return []
    if not isinstance(specs, (list, tuple)):
        raise ProbeError('%s must be a list of probes like [{port: 443}], not %s' % (where, _show(specs)))
    found = []
    for index, spec in enumerate(specs):
        item = normalise(spec, '%s[%d]' % (where, index), need_host=need_host and default_host is None)
        if item['host'] is None and default_host is not None:
            item['host'] = default_host
        found.append(item)
    return found


def problems(specs, where='probes'):
    """One message per bad item of SPECS (a role variable); [] when all is well."""
    if specs is None:
        return []
    if not isinstance(specs, (list, tuple)):
        return ['%s must be a list of probes like [{port: 443}], not %s' % (where, _show(specs))]
    found = []
    for index, spec in enumerate(specs):
        try:
            normalise(spec, '%s[%d]' % (where, index))
        except ProbeError as exc:
            found.append(exc.msg)
    return found


def holds(expect, observed):
    """Whether OBSERVED meets EXPECT (closed: refused or timeout)."""
    if expect == 'closed':
        return observed in ('refused', 'timeout')
    return observed == expect


def describe(result):
    """One line for a result: "db:5432/tcp from web: expected open, observed refused (...)"."""
    where = result['host'] if result.get('port') is None else '%s:%s' % (result['host'], result['port'])
    return '%s/%s from %s: expected %s, observed %s%s' % (
        where, result['proto'], result.get('from', CONTROLLER), result['expect'], result['observed'],
        ' (%s)' % result['detail'] if result.get('detail') else '')


def _addresses(host, port, kind):
    """getaddrinfo of HOST (first address). Raises socket.gaierror."""
    infos = socket.getaddrinfo(host, port, 0, kind)
    return infos[0][0], infos[0][4]


# errno of a connect/send/recv that an ICMP unreachable from the path or the target causes
_UNREACHABLE = (errno.EHOSTUNREACH, errno.ENETUNREACH)
# errno of a packet the PROBING host's own firewall dropped or rejected (its OUTPUT chain): it never
# left, so it says nothing about the target - an error, not "refused"
_LOCAL_BLOCK = (errno.EPERM, errno.EACCES)


def _socket_probe(host, port, timeout, kind, exchange, sock_factory):
    """(observed, detail) of one socket probe of KIND (SOCK_STREAM or SOCK_DGRAM): EXCHANGE(sock,
    address) returns the detail of an ``open`` answer; the exceptions map the same for both protocols."""
    silent = ('no answer within %ss' % timeout if kind == socket.SOCK_STREAM
              else 'no answer within %ss (open|filtered: a silent service and a DROP look the same)' % timeout)
    refused = 'connection refused (reset)' if kind == socket.SOCK_STREAM else 'ICMP port unreachable'
    try:
        family, address = _addresses(host, port, kind)
    except (socket.gaierror, UnicodeError) as exc:
        return 'error', 'cannot resolve %s: %s' % (host, exc)
    sock = sock_factory(family, kind)
    try:
        sock.settimeout(timeout)
        return 'open', exchange(sock, address)
    except socket.timeout:
        return 'timeout', silent
    except ConnectionRefusedError:
        return 'refused', refused
    except OSError as exc:
        if exc.errno in _UNREACHABLE:
            return 'refused', 'ICMP unreachable: %s' % (exc.strerror or exc)
        if exc.errno in _LOCAL_BLOCK:
            return 'error', 'blocked on the probing host itself (its own OUTPUT rules): %s' % (exc.strerror or exc)
        if exc.errno == errno.ETIMEDOUT:
            return 'timeout', silent
        return 'error', str(exc)
    finally:
        sock.close()


def _tcp_exchange(sock, address):
    sock.connect(address)
    return 'connected to %s' % address[0]


def _udp_exchange(sock, address):
    sock.connect(address)
    sock.send(b'')
    sock.recv(2048)
    return 'answered'


def probe_tcp(host, port, timeout, sock_factory=socket.socket):
    """(observed, detail) of a TCP connect to HOST:PORT."""
    return _socket_probe(host, port, timeout, socket.SOCK_STREAM, _tcp_exchange, sock_factory)


def probe_udp(host, port, timeout, sock_factory=socket.socket):
    """(observed, detail) of an empty UDP datagram to HOST:PORT."""
    return _socket_probe(host, port, timeout, socket.SOCK_DGRAM, _udp_exchange, sock_factory)


def _ping_argv(host, timeout):
    return ['ping', '-n', '-c', '1', '-W', str(max(1, int(-(-timeout // 1)))), host]


def _run_ping(argv, timeout):
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, LANG='C', LC_ALL='C'))
    try:
        out, _err = proc.communicate(timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _err = proc.communicate()
    return proc.returncode, out.decode('utf-8', 'replace')


def probe_icmp(host, timeout, run=None, sock_factory=socket.socket):
    """(observed, detail) of one ICMP echo request to HOST with the system ping; without a ping
    binary, with a raw socket (root only, raw_echo)."""
    if host.startswith('-'):   # normalise() refuses it already; the last guard of an argument list
        return 'error', 'not a host: %s' % host
    run = run or _run_ping
    try:
        rc, out = run(_ping_argv(host, timeout), timeout)
    except FileNotFoundError:
        return raw_echo(host, timeout, sock_factory)
    except OSError as exc:
        return 'error', 'cannot run ping: %s' % exc
    last = [line.strip() for line in out.splitlines() if line.strip()]
    if rc == 0:
        return 'open', 'echo reply'
    if _PING_REFUSED.search(out):
        line = [text for text in last if _PING_REFUSED.search(text)]
        return 'refused', line[0][:120] if line else 'ICMP unreachable'
    if rc == 1:
        return 'timeout', 'no echo reply within %ss' % timeout
    return 'error', 'ping failed (rc %s): %s' % (rc, last[-1][:120] if last else '')


# ICMP types: (echo request, echo reply, destination unreachable, length of the IP header of the
# original datagram quoted in an error: IPv4's is read from the packet, IPv6's is 40 bytes).
_ICMP = {socket.AF_INET: (8, 0, 3), socket.AF_INET6: (128, 129, 1)}


def _checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff


def _icmp_header(packet, family):
    """(type, code, rest) of the ICMP message in PACKET as a raw socket returns it (IPv4 with its IP
    header, IPv6 without)."""
    if family == socket.AF_INET:
        packet = packet[(packet[0] & 0x0f) * 4:] if packet else packet
    if len(packet) < 8:
        return None, None, b''
    return packet[0], packet[1], packet[4:]


def _quoted_echo(rest, family):
    """The identifier and sequence of the echo request quoted in an ICMP error (REST: after the
    error's 4 header bytes), or None."""
    inner = rest[4:]
    if family == socket.AF_INET:
        if not inner:
            return None
        inner = inner[(inner[0] & 0x0f) * 4:]
    else:
        inner = inner[40:]
    if len(inner) < 8:
        return None
    return struct.unpack('!HH', inner[4:8])


def raw_echo(host, timeout, sock_factory=socket.socket, now=time.time):
    """(observed, detail) of one ICMP (ICMPv6) echo request to HOST over a raw socket, for a
    controller without a ping binary. Needs root (CAP_NET_RAW): otherwise an ``error`` saying so."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        return 'error', 'cannot resolve %s: %s' % (host, exc)
    family, address = infos[0][0], infos[0][4]
    request, reply, unreachable = _ICMP[family]
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    try:
        sock = sock_factory(family, socket.SOCK_RAW, proto)
    except OSError as exc:
        return 'error', 'no ping binary, and no raw socket for ICMP (root only): %s' % exc
    ident, seq = os.getpid() & 0xffff, int(now() * 1000) & 0xffff
    body = struct.pack('!HH', ident, seq) + b'rampart-probe'
    header = struct.pack('!BBH', request, 0, 0)
    if family == socket.AF_INET:   # the kernel fills in ICMPv6's checksum
        header = struct.pack('!BBH', request, 0, _checksum(header + body))
    deadline = now() + timeout
    try:
        sock.sendto(header + body, address)
        while True:
            left = deadline - now()
            if left <= 0:
                return 'timeout', 'no echo reply within %ss' % timeout
            sock.settimeout(left)
            try:
                packet = sock.recvfrom(2048)[0]
            except socket.timeout:
                return 'timeout', 'no echo reply within %ss' % timeout
            kind, code, rest = _icmp_header(packet, family)
            if kind == reply and rest[:4] == body[:4]:
                return 'open', 'echo reply (raw socket)'
            if kind == unreachable and _quoted_echo(rest, family) == (ident, seq):
                return 'refused', 'ICMP destination unreachable (code %d)' % code
    except OSError as exc:
        return 'error', 'raw ICMP echo failed: %s' % exc
    finally:
        sock.close()


def probe(spec, sock_factory=socket.socket, ping=None):
    """(observed, detail) of one normalised probe SPEC."""
    if spec['proto'] == 'tcp':
        return probe_tcp(spec['host'], spec['port'], spec['timeout'], sock_factory)
    if spec['proto'] == 'udp':
        return probe_udp(spec['host'], spec['port'], spec['timeout'], sock_factory)
    return probe_icmp(spec['host'], spec['timeout'], ping, sock_factory)


def result_of(spec, observed, detail, elapsed):
    return {'host': spec['host'], 'port': spec['port'], 'proto': spec['proto'], 'expect': spec['expect'],
            'from': spec.get('from', CONTROLLER), 'observed': observed, 'ok': holds(spec['expect'], observed),
            'detail': detail, 'elapsed': round(elapsed, 3)}


def run(probes, budget=DEFAULT_BUDGET, workers=DEFAULT_WORKERS, probe_fn=None, now=time.time):
    """Run the normalised PROBES (each with its host) concurrently: at most WORKERS threads, each
    probe bounded by its own timeout, all of them by BUDGET seconds. A probe not finished when the
    budget runs out is reported as observed ``budget`` (its thread ends on its own timeout; it
    holds no expectation). Returns the results in the order of PROBES."""
    probe_fn = probe_fn or probe
    results = [None] * len(probes)
    started = now()
    deadline = started + budget
    lock = threading.Lock()
    queue = list(enumerate(probes))
    done = threading.Event()
    remaining = [len(probes)]

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                index, spec = queue.pop(0)
                if now() >= deadline:
                    results[index] = result_of(spec, 'budget', 'not started within the total budget of %ss' % budget, 0.0)
                    remaining[0] -= 1
                    if not remaining[0]:
                        done.set()
                    continue
            begin = now()
            try:
                observed, detail = probe_fn(spec)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                observed, detail = 'error', '%s: %s' % (type(exc).__name__, exc)
            with lock:
                if results[index] is None:
                    results[index] = result_of(spec, observed, detail, now() - begin)
                remaining[0] -= 1
                if not remaining[0]:
                    done.set()

    if not probes:
        return []
    count = max(1, min(int(workers), MAX_WORKERS, len(probes)))
    for _index in range(count):
        thread = threading.Thread(target=worker, name='rampart-probe')
        thread.daemon = True
        thread.start()
    done.wait(max(budget, 0))
    with lock:
        for index, spec in enumerate(probes):
            if results[index] is None:
                results[index] = result_of(spec, 'budget', 'not finished within the total budget of %ss' % budget,
                                           now() - started)
        queue[:] = []
    return results


def summary(results):
    """The failing results as one line each (describe), in order."""
    return [describe(result) for result in results if not result['ok']]
