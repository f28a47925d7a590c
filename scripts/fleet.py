"""Start and remove test containers: the one place that knows how we run them.

Used by molecule/shared/create.yml and destroy.yml, and by the demo.

    python3 scripts/fleet.py up   SPEC.json      start the platforms listed in SPEC (JSON list), wait for systemd
    python3 scripts/fleet.py down SPEC.json      remove those containers and their networks

A platform: {"name": "web", "image": "localhost/rampart-test:bookworm",
             "networks": [{"name": "rampart-lan", "ipv4_address": "10.89.50.11",
                           "ipv6_address": "fd89:50::11"}]}
Networks are created --internal (no route out of the sandbox), with the /24 (and /64)
around the given addresses. The host's bridge takes .1 of every network: never use it.
Containers run systemd as PID 1, privileged (writing sysctls needs it), unless the platform
says "privileged": false; "capabilities": ["NET_ADMIN", "NET_RAW"] adds those (--cap-add).
A platform with "ssh": true gets the public key PUBKEY (`fleet.py up SPEC PUBKEY`) in
/root/.ssh/authorized_keys and is waited for until sshd is active, for scenarios that
reach it over ssh.
Podman settings come from CONTAINERS_CONF (tests/containers.conf) when it is not set.

The harness needs podman's netavark network backend (pinned in tests/containers.conf,
installed by scripts/setup.sh): with it the host's bridge takes the .1 address of every
network, --internal ones too, so the controller reaches the containers over real SSH.
With CNI an --internal network gives the host no address and SSH times out. `up` checks
the backend first, removes a leftover network of the same name that the other backend
(CNI) made in an earlier run, recreates one whose subnets differ from the spec, and,
once the containers run, makes one TCP connection from the controller to a container on
each network, failing with the cause and the fix instead of a timeout in a scenario.
"""
import errno
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time

BACKEND = 'netavark'
FIX = ('scripts/setup.sh installs netavark and aardvark-dns, and tests/containers.conf '
       '(CONTAINERS_CONF) sets [network] network_backend = "netavark"')

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault('CONTAINERS_CONF', os.path.join(HERE, '..', 'tests', 'containers.conf'))


def podman(*args, check=True):
    proc = subprocess.run(['podman'] + list(args), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit('podman %s failed (rc=%s): %s' % (' '.join(args), proc.returncode, proc.stderr.strip()))
    return proc


def networks_of(platforms):
    nets = {}
    for plat in platforms:
        for net in plat.get('networks', []):
            entry = nets.setdefault(net['name'], {'v4': None, 'v6': None})
            v4 = ipaddress.ip_interface(net['ipv4_address'] + '/24').network
            if entry['v4'] and entry['v4'] != v4:
                sys.exit('network %s: %s is outside %s' % (net['name'], net['ipv4_address'], entry['v4']))
            entry['v4'] = v4
            if net.get('ipv6_address'):
                entry['v6'] = ipaddress.ip_interface(net['ipv6_address'] + '/64').network
            if net['ipv4_address'].endswith('.1'):
                sys.exit('network %s: .1 belongs to the host bridge, pick another address' % net['name'])
    return nets


def check_backend():
    """The harness's network backend must be netavark (see the module docstring)."""
    backend = podman('info', '--format', '{{.Host.NetworkBackend}}').stdout.strip()
    if backend != BACKEND:
        sys.exit('podman uses the %r network backend (CONTAINERS_CONF=%s); the harness needs %r, because with '
                 'CNI the controller cannot reach containers on --internal networks. Fix: %s'
                 % (backend, os.environ.get('CONTAINERS_CONF'), BACKEND, FIX))


def remove_other_backend_network(name):
    """Remove a network NAME left by the CNI backend (an earlier run before netavark was pinned),
    with the containers still attached to it, so that it is never confused with ours."""
    if not os.path.exists('/etc/cni/net.d/%s.conflist' % name):
        return
    cni = ['--network-backend', 'cni']
    users = podman(*(cni + ['ps', '-a', '-q', '--filter', 'network=%s' % name]), check=False).stdout.split()
    if users:
        podman(*(cni + ['rm', '-f', '-t', '0'] + users), check=False)
    podman(*(cni + ['network', 'rm', '-f', name]), check=False)
    if os.path.exists('/etc/cni/net.d/%s.conflist' % name) and name.startswith('rampart-'):
        # podman skips a CNI config it cannot load (no CNI plugins installed any more), and
        # its rm then succeeds without removing it; the file is ours (rampart-*): remove it.
        os.unlink('/etc/cni/net.d/%s.conflist' % name)
    if os.path.exists('/etc/cni/net.d/%s.conflist' % name):
        sys.exit('network %s: a CNI network of that name is left from an earlier run and could not be removed: '
                 'remove /etc/cni/net.d/%s.conflist and its containers' % (name, name))
    print('removed the leftover CNI network %s' % name, file=sys.stderr)


def mac_address(ipv4_address):
    """The fixed MAC address of an interface, from its IPv4 address (02:00 and the four bytes: locally
    administered, unique within a fleet). Without it podman gives the interface a new random MAC at every
    start, so after `podman restart` (a reboot in the tests) the neighbours' caches point at the old one:
    their packets to the host are lost until neighbour discovery gives up on it (seconds), a probe that
    should get in times out, and a probe that should be dropped "times out" whatever the firewall does.
    A real host keeps its MAC through a reboot."""
    return '02:00:' + ':'.join('%02x' % int(byte) for byte in ipv4_address.split('.'))


def network_subnets(name):
    """The subnets of an existing network, as a set of strings (empty set if it does not exist)."""
    proc = podman('network', 'inspect', name, check=False)
    if proc.returncode != 0:
        return None
    info = json.loads(proc.stdout or '[]')
    return {str(ipaddress.ip_network(sub['subnet'])) for sub in (info[0].get('subnets') or [])} if info else set()


def source_address(address):
    """The local address the kernel would send from to ADDRESS (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((address, 9))
        return probe.getsockname()[0]


def check_reachable(platforms, timeout=20):
    """The controller must reach one container on each network directly over the network's
    bridge. First the route: the kernel must pick a source address inside the network (the
    host's .1 on the bridge); otherwise packets leave by the default route, where a sandbox's
    proxy may even accept the TCP connection, and SSH then times out in its banner exchange.
    Then one TCP connection to port 22: an answer of any kind (accepted, or refused by the
    container's kernel) proves the container is there."""
    seen = set()
    for plat in platforms:
        for net in plat.get('networks', []):
            if net['name'] in seen:
                continue
            seen.add(net['name'])
            address = net['ipv4_address']
            subnet = ipaddress.ip_interface(address + '/24').network
            source = source_address(address)
            if ipaddress.ip_address(source) not in subnet:
                route = ' '.join(subprocess.run(['ip', 'route', 'get', address], capture_output=True, text=True,
                                                check=False).stdout.split())
                sys.exit('the controller cannot reach %s (%s on network %s) directly: the host has no address in %s, '
                         'packets would leave from %s by the route "%s". The host gets the .1 of a network only '
                         'with podman\'s netavark backend (with CNI, --internal networks give it none). Fix: %s'
                         % (address, plat['name'], net['name'], subnet, source, route or '?', FIX))
            deadline, why = time.time() + timeout, None
            while True:
                try:
                    with socket.create_connection((address, 22), timeout=3):
                        break
                except ConnectionRefusedError:
                    break
                except OSError as exc:
                    why = errno.errorcode.get(exc.errno, str(exc)) if exc.errno else 'timeout'
                if time.time() > deadline:
                    sys.exit('the controller cannot reach %s (%s on network %s) on port 22: %s, although the route '
                             'is direct (from %s). Is the container running? Fix for the backend: %s'
                             % (address, plat['name'], net['name'], why, source, FIX))
                time.sleep(0.5)


def up(platforms, pubkey=None):
    check_backend()
    for image in sorted({p['image'] for p in platforms}):
        if podman('image', 'exists', image, check=False).returncode != 0:
            sys.exit('image %s is missing: run images/build.sh (make images)' % image)
    for name, net in networks_of(platforms).items():
        remove_other_backend_network(name)
        want = {str(net['v4'])} | ({str(net['v6'])} if net['v6'] else set())
        have = network_subnets(name)
        if have == want:
            continue
        if have is not None:
            print('network %s has subnets %s, want %s: recreating it' % (name, sorted(have), sorted(want)), file=sys.stderr)
            podman('network', 'rm', '-f', name)
        args = ['network', 'create', '--internal', '--label', 'rampart.test=1', '--subnet', str(net['v4'])]
        if net['v6']:
            args += ['--ipv6', '--subnet', str(net['v6'])]
        podman(*(args + [name]))
    for plat in platforms:
        args = ['run', '-d', '--replace', '--name', plat['name'], '--hostname', plat['name'],
                '--systemd=always', '--label', 'rampart.test=1']
        # "privileged": false runs the container the way users' molecule drivers do (read-only
        # /proc/sys), with only the capabilities listed in "capabilities" added.
        args += ['--privileged'] if plat.get('privileged', True) else []
        args += ['--cap-add=%s' % cap for cap in plat.get('capabilities', [])]
        for net in plat.get('networks', []):
            spec = '%s:ip=%s' % (net['name'], net['ipv4_address'])
            if net.get('ipv6_address'):
                spec += ',ip6=%s' % net['ipv6_address']
            spec += ',mac=%s' % mac_address(net['ipv4_address'])
            args += ['--network', spec]
        if not plat.get('networks'):
            args += ['--network', 'none']
        podman(*(args + [plat['image'], '/lib/systemd/systemd']))
    deadline = time.time() + 90
    for plat in platforms:
        while True:
            state = podman('exec', plat['name'], 'systemctl', 'is-system-running', check=False).stdout.strip()
            if state in ('running', 'degraded'):
                break
            if time.time() > deadline:
                sys.exit('%s: systemd did not finish booting (state %r)' % (plat['name'], state))
            time.sleep(0.5)
    for plat in platforms:
        if plat.get('ssh'):
            if not pubkey or not os.path.exists(pubkey):
                sys.exit('%s: ssh: true needs a public key (fleet.py up SPEC PUBKEY)' % plat['name'])
            with open(pubkey) as key:
                pub = key.read().strip()
            podman('exec', plat['name'], 'sh', '-c',
                   'install -d -m 0700 /root/.ssh && printf "%s\\n" "$0" > /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys', pub)
            while podman('exec', plat['name'], 'systemctl', 'is-active', 'ssh', check=False).stdout.strip() != 'active':
                if time.time() > deadline:
                    sys.exit('%s: sshd is not active' % plat['name'])
                time.sleep(0.5)
    check_reachable(platforms)
    print(json.dumps([p['name'] for p in platforms]))


def down(platforms):
    names = [p['name'] for p in platforms]
    if names:
        podman(*(['rm', '-f', '-t', '0', '--ignore'] + names), check=False)
    for name in networks_of(platforms):
        podman('network', 'rm', '-f', name, check=False)


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in ('up', 'down'):
        sys.exit(__doc__)
    with open(argv[2]) as spec:
        platforms = json.load(spec)
    if argv[1] == 'up':
        up(platforms, argv[3] if len(argv) == 4 else None)
    else:
        down(platforms)


if __name__ == '__main__':
    main(sys.argv)
