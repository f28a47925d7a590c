"""Reachability probes between containers: what a packet really meets, not what the rules say.

Used by the demo (`make demo`) and by the molecule scenarios of the roles. Every probe runs
inside a container with `podman exec CONTAINER python3 -c ...` (the test images have python3,
ping and iproute2), so the packets cross the real firewall of the target.

    python3 demo/probe.py serve CONTAINER PORT            echo server (TCP and UDP, IPv4 and IPv6)
    python3 demo/probe.py tcp|udp CLIENT TARGET PORT [--source ADDR] [--timeout S]
    python3 demo/probe.py icmp CLIENT TARGET              ping
    python3 demo/probe.py proto CLIENT TARGET             a packet of an unused IP protocol (253)
    python3 demo/probe.py table PROBES.json               run a list of probes, print a table,
                                                          exit 1 when a row does not match
    python3 demo/probe.py servers PROBES.json             only start the echo servers of the list

Outcomes (the `outcome` of a probe):
  open               TCP connected, or a UDP answer came back
  refused            TCP RST (REJECT --reject-with tcp-reset, or nothing listening),
                     or ICMP port unreachable for UDP
  proto-unreachable  ICMP protocol unreachable (REJECT --reject-with icmp-proto-unreachable)
  prohibited         ICMP administratively prohibited (icmp-admin-prohibited, icmp6-adm-prohibited)
  unreachable        ICMP host or network unreachable
  denied             the client's own OUTPUT chain dropped the packet (EPERM)
  timeout            nothing came back: dropped on the way (or a UDP service that never answers)
  reply              ping answered
The echo server answers every TCP connection and UDP datagram with `peer=ADDRESS`, the source
address it saw, so a probe also tells who the server thinks it talks to (NAT).
"""
import argparse
import json
import os
import subprocess
import sys
import time

PODMAN = os.environ.get('PODMAN', 'podman')
os.environ.setdefault('CONTAINERS_CONF', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'containers.conf'))

# Runs in the container: python3 -c CLIENT_CODE KIND TARGET PORT SOURCE TIMEOUT
CLIENT_CODE = r'''
import errno, socket, sys
kind, target, port, source, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
fam = socket.AF_INET6 if ':' in target else socket.AF_INET
ERR = {errno.ECONNREFUSED: 'refused', errno.EHOSTUNREACH: 'unreachable', errno.ENETUNREACH: 'unreachable',
       errno.EACCES: 'prohibited', errno.EPERM: 'denied', errno.ENOPROTOOPT: 'proto-unreachable',
       errno.EPROTO: 'proto-unreachable',
       errno.ETIMEDOUT: 'timeout'}
def raw_payload():
    # REJECT answers only a packet whose checksum is right (nf_reject_verify_csum), as for TCP
    # and UDP: give the probe a valid one's complement checksum (IPv4: over the payload; IPv6:
    # with the pseudo-header of the addresses, the length and the protocol).
    src = source
    if not src:
        finder = socket.socket(fam, socket.SOCK_DGRAM)
        finder.connect((target, 9))
        src = finder.getsockname()[0]
        finder.close()
    body = b'rampart-probe'
    length = 2 + len(body)
    if fam == socket.AF_INET:
        pseudo = b''
    else:
        pseudo = socket.inet_pton(fam, src) + socket.inet_pton(fam, target) + length.to_bytes(4, 'big') + bytes([0, 0, 0, 253])
    data = pseudo + b'\0\0' + body
    if len(data) % 2:
        data += b'\0'
    total = sum(int.from_bytes(data[i:i + 2], 'big') for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return (~total & 0xffff).to_bytes(2, 'big') + body
def main(port=port):
    if kind == 'tcp':
        s = socket.socket(fam, socket.SOCK_STREAM)
    elif kind == 'udp':
        s = socket.socket(fam, socket.SOCK_DGRAM)
    else:
        s = socket.socket(fam, socket.SOCK_RAW, 253)
        port = 0
    if kind != 'tcp':
        # deliver ICMP errors (port/protocol unreachable) to the socket
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, 25, 1)   # IPV6_RECVERR
        else:
            s.setsockopt(socket.IPPROTO_IP, 11, 1)     # IP_RECVERR
    if source:
        s.bind((source, 0))
    s.settimeout(timeout)
    try:
        s.connect((target, port))
        if kind == 'raw':
            s.send(raw_payload())
        elif kind == 'udp':
            s.send(b'rampart-probe\n')
        try:
            data = s.recv(200)
        except socket.timeout:
            return 'open' if kind == 'tcp' else 'timeout', ''
        return 'open', data.decode('utf-8', 'replace').strip()
    except socket.timeout:
        return 'timeout', ''
    except OSError as exc:
        return ERR.get(exc.errno, 'error:' + (exc.strerror or str(exc))), ''
outcome, data = main()
print(outcome)
print(data)
'''

# Runs in the container: python3 -c SERVER_CODE PORT (forever; started with podman exec -d)
SERVER_CODE = r'''
import socket, sys, threading
port = int(sys.argv[1])
def peer(addr):
    host = addr[0]
    return host[7:] if host.startswith('::ffff:') else host
def tcp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', port))
    s.listen(64)
    while True:
        c, addr = s.accept()
        try:
            c.sendall(('peer=%s\n' % peer(addr)).encode())
        except OSError:
            pass
        c.close()
def udp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', port))
    while True:
        data, addr = s.recvfrom(512)
        s.sendto(('peer=%s\n' % peer(addr)).encode(), addr)
threading.Thread(target=udp, daemon=True).start()
tcp()
'''


class Result(object):
    def __init__(self, outcome, data=''):
        self.outcome = outcome
        self.data = data

    @property
    def peer(self):
        """The source address the echo server saw, or None."""
        return self.data[5:] if self.data.startswith('peer=') else None

    def __repr__(self):
        return 'Result(%r, %r)' % (self.outcome, self.data)


def _exec(container, args, detach=False):
    cmd = [PODMAN, 'exec'] + (['-d'] if detach else []) + [container] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def serve(container, port):
    """Start the echo server on PORT (TCP and UDP, both families) in CONTAINER, unless it runs already."""
    if _exec(container, ['sh', '-c', 'ss -Htln "sport = :%d" | grep -q .' % port]).returncode == 0:
        return
    proc = _exec(container, ['python3', '-c', SERVER_CODE, str(port)], detach=True)
    if proc.returncode != 0:
        raise RuntimeError('cannot start the echo server in %s: %s' % (container, proc.stderr.strip()))
    deadline = time.time() + 5
    while time.time() < deadline:
        if _exec(container, ['sh', '-c', 'ss -Htln "sport = :%d" | grep -q .' % port]).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError('the echo server in %s did not start listening on %d' % (container, port))


def probe(client, target, port=0, proto='tcp', source=None, timeout=3):
    """Send one probe from CLIENT to TARGET and return a Result (see the module docstring)."""
    if proto == 'icmp':
        six = ':' in target
        args = ['ping', '-6' if six else '-4', '-n', '-c', '1', '-W', str(int(timeout))]
        if source:
            args += ['-I', source]
        proc = _exec(client, args + [target])
        out = proc.stdout + proc.stderr
        if proc.returncode == 0:
            return Result('reply')
        if 'not permitted' in out:
            return Result('denied')
        if 'Unreachable' in out:
            return Result('unreachable')
        if 'Prohibited' in out or 'prohibited' in out:
            return Result('prohibited')
        return Result('timeout')
    kind = 'raw' if proto == 'proto' else proto
    proc = _exec(client, ['python3', '-c', CLIENT_CODE, kind, target, str(port), source or '', str(timeout)])
    if proc.returncode != 0:
        return Result('error:' + (proc.stderr.strip().splitlines() or ['?'])[-1])
    lines = proc.stdout.split('\n')
    return Result(lines[0].strip(), lines[1].strip() if len(lines) > 1 else '')


def run_table(probes, out=sys.stdout):
    """Run each probe ({name, client, target, port, proto, source, expect, peer}) and print a table.

    expect is one outcome or a list of acceptable ones; peer (optional) is the source address
    the echo server must have seen. Returns the number of rows that do not match."""
    rows = []
    for spec in probes:
        if spec.get('serve'):
            serve(spec['serve'], spec['port'])
            continue
        result = probe(spec['client'], spec['target'], spec.get('port', 0), spec.get('proto', 'tcp'),
                       spec.get('source'), spec.get('timeout', 3))
        expect = spec['expect'] if isinstance(spec['expect'], list) else [spec['expect']]
        observed = result.outcome
        ok = observed in expect
        if spec.get('peer'):
            observed += ' (seen as %s)' % (result.peer or '?')
            ok = ok and result.peer == spec['peer']
        rows.append((spec['name'], ' or '.join(expect) + (' (seen as %s)' % spec['peer'] if spec.get('peer') else ''),
                     observed, 'ok' if ok else 'MISMATCH'))
    head = ('probe', 'expected', 'observed', '')
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(4)]
    line = '  '.join('%-*s' % (widths[i], head[i]) for i in range(4))
    out.write(line.rstrip() + '\n' + '  '.join('-' * w for w in widths) + '\n')
    for row in rows:
        out.write('  '.join('%-*s' % (widths[i], row[i]) for i in range(4)).rstrip() + '\n')
    bad = sum(1 for r in rows if r[3] != 'ok')
    out.write('%d probes, %d as expected, %d mismatches\n' % (len(rows), len(rows) - bad, bad))
    return bad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('serve')
    p.add_argument('container')
    p.add_argument('port', type=int)
    for kind in ('tcp', 'udp'):
        p = sub.add_parser(kind)
        p.add_argument('client')
        p.add_argument('target')
        p.add_argument('port', type=int)
        p.add_argument('--source')
        p.add_argument('--timeout', type=float, default=3)
    for kind in ('icmp', 'proto'):
        p = sub.add_parser(kind)
        p.add_argument('client')
        p.add_argument('target')
        p.add_argument('--source')
        p.add_argument('--timeout', type=float, default=3)
    p = sub.add_parser('table')
    p.add_argument('spec')
    p = sub.add_parser('servers')
    p.add_argument('spec')
    args = parser.parse_args(argv)
    if args.cmd == 'serve':
        serve(args.container, args.port)
        return 0
    if args.cmd == 'table':
        with open(args.spec) as handle:
            return 1 if run_table(json.load(handle)) else 0
    if args.cmd == 'servers':
        with open(args.spec) as handle:
            for spec in json.load(handle):
                if spec.get('serve'):
                    serve(spec['serve'], spec['port'])
        return 0
    result = probe(args.client, args.target, getattr(args, 'port', 0), args.cmd, args.source, args.timeout)
    print(result.outcome + (' ' + result.data if result.data else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
