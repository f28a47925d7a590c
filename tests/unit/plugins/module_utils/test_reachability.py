# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The probe engine (module_utils/reachability.py): spec checks, real TCP and UDP probes against
listeners on 127.0.0.x, timeouts through a mocked socket, ping through a fake runner, and the
concurrency bounds (budget, workers)."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import reachability as r


# ---------------------------------------------------------------- specs

def test_defaults():
    assert r.normalise({'port': 443}) == {'port': 443, 'proto': 'tcp', 'expect': 'open', 'from': 'controller',
                                          'host': None, 'timeout': 3}


def test_full_spec_and_string_port():
    got = r.normalise({'port': '5432', 'proto': 'udp', 'expect': 'closed', 'from': 'web', 'host': 'db.example',
                       'timeout': '1.5'})
    assert got == {'port': 5432, 'proto': 'udp', 'expect': 'closed', 'from': 'web', 'host': 'db.example', 'timeout': 1.5}


def test_icmp_has_no_port():
    assert r.normalise({'proto': 'icmp'})['port'] is None
    with pytest.raises(r.ProbeError, match=r'p\.port: an icmp probe has no port, not 7'):
        r.normalise({'proto': 'icmp', 'port': 7}, 'p')


@pytest.mark.parametrize('spec, message', [
    ({'port': 0}, r'x\.port must be a port number 1-65535 for tcp, not 0'),
    ({'port': 70000}, r'x\.port must be a port number 1-65535 for tcp, not 70000'),
    ({'port': True}, r'x\.port must be a port number'),
    ({}, r'x\.port must be a port number 1-65535 for tcp, not None'),
    ({'port': 1, 'proto': 'sctp'}, r'x\.proto must be one of tcp, udp, icmp, not sctp'),
    ({'port': 1, 'expect': 'filtered'}, r'x\.expect must be one of open, closed, refused, timeout, not filtered'),
    ({'port': 1, 'from': 'a b'}, r'x\.from must be controller or an inventory group or host name, not a b'),
    ({'port': 1, 'host': '-oProxyCommand=x'}, r'x\.host must be an address or a host name, not -oProxyCommand=x'),
    ({'port': 1, 'host': 'a;b'}, r'x\.host must be an address or a host name'),
    ({'port': 1, 'timeout': 0}, r'x\.timeout must be more than 0 and at most 60 seconds, not 0'),
    ({'port': 1, 'timeout': 61}, r'x\.timeout must be more than 0 and at most 60'),
    ({'port': 1, 'timeout': 'soon'}, r'x\.timeout must be a number of seconds, not soon'),
    ({'port': 1, 'timeout': False}, r'x\.timeout must be a number of seconds'),
    ({'port': 1, 'timeout': float('nan')}, r'x\.timeout must be a number of seconds, not nan'),
    ({'port': 1, 'timeout': 'inf'}, r'x\.timeout must be more than 0 and at most 60 seconds, not inf'),
    ({'port': 1, 'prot': 'tcp'}, r'x: unknown key\(s\) prot'),
    ('443', r'x must be a dict like \{port: 443\}, not 443'),
])
def test_bad_specs_name_field_and_value(spec, message):
    with pytest.raises(r.ProbeError, match=message):
        r.normalise(spec, 'x')


def test_problems_one_message_per_item():
    assert r.problems([{'port': 22}, {'port': 0}, {'port': 1, 'expect': 'x'}], 'single_host_confirm_probes') == [
        'single_host_confirm_probes[1].port must be a port number 1-65535 for tcp, not 0',
        'single_host_confirm_probes[2].expect must be one of open, closed, refused, timeout, not x']
    assert r.problems('443', 'v') == ['v must be a list of probes like [{port: 443}], not 443']
    assert r.problems(None) == [] and r.problems([]) == []


def test_normalise_all_default_host_and_need_host():
    assert [p['host'] for p in r.normalise_all([{'port': 1}, {'port': 2, 'host': 'b'}], default_host='a')] == ['a', 'b']
    with pytest.raises(r.ProbeError, match=r'probes\[0\]\.host is required'):
        r.normalise_all([{'port': 1}], need_host=True)


@pytest.mark.parametrize('expect, observed, ok', [
    ('open', 'open', True), ('open', 'refused', False), ('open', 'timeout', False),
    ('closed', 'refused', True), ('closed', 'timeout', True), ('closed', 'open', False), ('closed', 'error', False),
    ('refused', 'refused', True), ('refused', 'timeout', False), ('timeout', 'timeout', True),
    ('timeout', 'budget', False), ('open', 'error', False),
])
def test_holds(expect, observed, ok):
    assert r.holds(expect, observed) is ok


# ---------------------------------------------------------------- real packets on loopback

@pytest.fixture
def tcp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.2', 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def _free_port(host, kind):
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_tcp_open_and_refused(tcp_listener):
    observed, detail = r.probe_tcp('127.0.0.2', tcp_listener, 2)
    assert (observed, detail) == ('open', 'connected to 127.0.0.2')
    closed = _free_port('127.0.0.3', socket.SOCK_STREAM)
    assert r.probe_tcp('127.0.0.3', closed, 2)[0] == 'refused'


def test_udp_answer_and_port_unreachable():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(('127.0.0.4', 0))
    port = server.getsockname()[1]

    def echo():
        _data, peer = server.recvfrom(64)
        server.sendto(b'pong', peer)

    thread = threading.Thread(target=echo)
    thread.start()
    try:
        assert r.probe_udp('127.0.0.4', port, 2) == ('open', 'answered')
    finally:
        thread.join(5)
        server.close()
    assert r.probe_udp('127.0.0.4', _free_port('127.0.0.4', socket.SOCK_DGRAM), 2) == ('refused', 'ICMP port unreachable')


def test_udp_silent_service_is_a_timeout_open_or_filtered():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(('127.0.0.5', 0))
    try:
        observed, detail = r.probe_udp('127.0.0.5', server.getsockname()[1], 0.3)
    finally:
        server.close()
    assert observed == 'timeout' and 'open|filtered' in detail


class _SilentSocket:
    """A socket whose connect never gets an answer (a DROP): raises socket.timeout."""

    def __init__(self, *args):
        self.timeout = None
        self.closed = False

    def settimeout(self, value):
        self.timeout = value

    def connect(self, address):
        raise socket.timeout('timed out')

    def close(self):
        self.closed = True


def test_tcp_timeout_with_a_silent_socket():
    assert r.probe_tcp('127.0.0.1', 9, 0.5, sock_factory=_SilentSocket) == ('timeout', 'no answer within 0.5s')


class _UnreachableSocket(_SilentSocket):
    def connect(self, address):
        raise OSError(113, 'No route to host')


def test_tcp_icmp_unreachable_is_refused():
    assert r.probe_tcp('127.0.0.1', 9, 1, sock_factory=_UnreachableSocket) == ('refused', 'ICMP unreachable: No route to host')


class _LocallyBlockedSocket(_SilentSocket):
    """connect() as the kernel answers when the probing host's own OUTPUT chain drops the packet."""

    def connect(self, address):
        raise OSError(1, 'Operation not permitted')

    def send(self, data):
        raise OSError(1, 'Operation not permitted')


@pytest.mark.parametrize('probe', [r.probe_tcp, r.probe_udp])
def test_a_probe_blocked_on_the_probing_host_is_an_error_not_refused(probe):
    # the packet never left: it says nothing of the target, so neither "refused" nor "closed" may hold
    observed, detail = probe('127.0.0.1', 9, 1, sock_factory=_LocallyBlockedSocket)
    assert observed == 'error' and 'probing host' in detail
    assert not r.holds('closed', observed)


def test_unresolvable_name_is_an_error():
    observed, detail = r.probe_tcp('no-such-host.invalid', 80, 1)
    assert observed == 'error' and detail.startswith('cannot resolve no-such-host.invalid')


def test_run_probe_tcp_listener_through_run(tcp_listener):
    probes = r.normalise_all([{'port': tcp_listener, 'from': 'web'}, {'port': _free_port('127.0.0.3', socket.SOCK_STREAM),
                                                                      'expect': 'closed'},
                              {'port': tcp_listener, 'expect': 'closed', 'timeout': 1}], default_host='127.0.0.2')
    probes[1]['host'] = '127.0.0.3'
    results = r.run(probes, budget=10)
    assert [(x['observed'], x['ok'], x['from']) for x in results] == [('open', True, 'web'), ('refused', True, 'controller'),
                                                                      ('open', False, 'controller')]
    assert r.summary(results) == ['127.0.0.2:%d/tcp from controller: expected closed, observed open (connected to 127.0.0.2)'
                                  % tcp_listener]


# ---------------------------------------------------------------- ping

def test_icmp_argv_and_outcomes():
    seen = []

    def runner(answer):
        def run(argv, timeout):
            seen.append(argv)
            return answer
        return run

    assert r.probe_icmp('192.0.2.1', 2.5, runner((0, '1 received'))) == ('open', 'echo reply')
    assert seen[0] == ['ping', '-n', '-c', '1', '-W', '3', '192.0.2.1']
    assert r.probe_icmp('192.0.2.1', 1, runner((1, 'From 192.0.2.1 icmp_seq=1 Packet filtered\n'))) == \
        ('refused', 'From 192.0.2.1 icmp_seq=1 Packet filtered')
    assert r.probe_icmp('192.0.2.1', 1, runner((1, '0 received'))) == ('timeout', 'no echo reply within 1s')
    assert r.probe_icmp('192.0.2.1', 1, runner((2, 'ping: bad address'))) == ('error', 'ping failed (rc 2): ping: bad address')
    assert r.probe_icmp('-f', 1, runner((0, ''))) == ('error', 'not a host: -f')

    def broken(argv, timeout):
        raise PermissionError(13, 'Permission denied')

    assert r.probe_icmp('192.0.2.1', 1, broken) == ('error', 'cannot run ping: [Errno 13] Permission denied')


def _no_ping(argv, timeout):
    raise FileNotFoundError(2, 'No such file or directory')


def _no_raw(*args):
    raise PermissionError(1, 'Operation not permitted')


def test_icmp_without_ping_and_without_root_is_an_error():
    assert r.probe_icmp('127.0.0.1', 1, _no_ping, _no_raw) == (
        'error', 'no ping binary, and no raw socket for ICMP (root only): [Errno 1] Operation not permitted')


@pytest.mark.skipif(os.geteuid() != 0, reason='a raw socket needs root')
@pytest.mark.parametrize('host', ['127.0.0.1', '::1'])
def test_icmp_without_ping_uses_a_raw_socket_as_root(host):
    assert r.probe_icmp(host, 2, _no_ping) == ('open', 'echo reply (raw socket)')


class _RawSocket:
    """A raw ICMP socket that answers with PACKETS (built from what was sent) and then times out."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = None

    def __call__(self, *args):
        return self

    def sendto(self, packet, address):
        self.sent = packet

    def settimeout(self, value):
        pass

    def recvfrom(self, size):
        if not self.answers:
            raise socket.timeout('timed out')
        return self.answers.pop(0)(self.sent), ('192.0.2.1', 0)

    def close(self):
        pass


IP = bytes([0x45]) + bytes(19)   # an IPv4 header without options


def _looped_back(sent):
    return IP + sent


def _other_error(sent):
    return IP + bytes([3, 1, 0, 0, 0, 0, 0, 0]) + IP + bytes([8, 0, 0, 0, 0xff, 0xff, 0, 0])


def _our_error(sent):
    return IP + bytes([3, 13, 0, 0, 0, 0, 0, 0]) + IP + sent[:8]


def _reply(sent):
    return IP + bytes([0, 0, 0, 0]) + sent[4:]


def test_raw_echo_reads_an_ipv4_unreachable_quoting_our_request():
    fake = _RawSocket([_looped_back, _other_error, _our_error])   # our own request, someone else's error, ours
    assert r.raw_echo('192.0.2.1', 1, fake) == ('refused', 'ICMP destination unreachable (code 13)')
    assert r._checksum(fake.sent) == 0, 'a valid ICMP checksum'


def test_raw_echo_reply_and_timeout():
    assert r.raw_echo('192.0.2.1', 1, _RawSocket([_reply])) == ('open', 'echo reply (raw socket)')
    assert r.raw_echo('192.0.2.1', 0.2, _RawSocket([])) == ('timeout', 'no echo reply within 0.2s')


# ---------------------------------------------------------------- concurrency and budget

def test_probes_run_concurrently_within_workers():
    active = []
    peak = [0]
    lock = threading.Lock()

    def slow(spec):
        with lock:
            active.append(1)
            peak[0] = max(peak[0], len(active))
        time.sleep(0.2)
        with lock:
            active.pop()
        return 'open', ''

    probes = r.normalise_all([{'port': n} for n in range(1, 9)], default_host='h')
    results = r.run(probes, budget=30, workers=4, probe_fn=slow)
    assert [x['port'] for x in results] == list(range(1, 9)) and all(x['ok'] for x in results)
    assert peak[0] == 4


def test_budget_reports_unfinished_probes():
    gate = threading.Event()

    def stuck(spec):
        if spec['port'] == 2:
            gate.wait(5)
        return 'open', ''

    probes = r.normalise_all([{'port': 1}, {'port': 2}], default_host='h')
    try:
        results = r.run(probes, budget=0.3, workers=2, probe_fn=stuck)
    finally:
        gate.set()
    assert results[0]['observed'] == 'open'
    assert results[1]['observed'] == 'budget' and results[1]['ok'] is False
    assert 'total budget of 0.3s' in results[1]['detail']


def test_a_crashing_probe_is_an_error_not_a_crash():
    def boom(spec):
        raise RuntimeError('no')

    result = r.run(r.normalise_all([{'port': 1}], default_host='h'), probe_fn=boom)[0]
    assert (result['observed'], result['ok'], result['detail']) == ('error', False, 'RuntimeError: no')


def test_empty():
    assert r.run([]) == []
