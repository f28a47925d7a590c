"""Start and remove test containers: the one place that knows how we run them.

Used by molecule/shared/create.yml and destroy.yml, and by the demo.

    python3 scripts/fleet.py up   SPEC.json      start the platforms listed in SPEC (JSON list), wait for systemd
    python3 scripts/fleet.py down SPEC.json      remove those containers and their networks

A platform: {"name": "web", "image": "localhost/rampart-test:bookworm",
             "networks": [{"name": "rampart-lan", "ipv4_address": "10.89.50.11",
                           "ipv6_address": "fd89:50::11"}]}
Networks are created --internal (no route out of the sandbox), with the /24 (and /64)
around the given addresses. The host's bridge takes .1 of every network: never use it.
Containers run systemd as PID 1, privileged (writing sysctls needs it).
A platform with "ssh": true gets the public key PUBKEY (`fleet.py up SPEC PUBKEY`) in
/root/.ssh/authorized_keys and is waited for until sshd is active, for scenarios that
reach it over ssh.
Podman settings come from CONTAINERS_CONF (tests/containers.conf) when it is not set.
"""
import ipaddress
import json
import os
import subprocess
import sys
import time

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


def up(platforms, pubkey=None):
    for image in sorted({p['image'] for p in platforms}):
        if podman('image', 'exists', image, check=False).returncode != 0:
            sys.exit('image %s is missing: run images/build.sh (make images)' % image)
    for name, net in networks_of(platforms).items():
        if podman('network', 'exists', name, check=False).returncode == 0:
            continue
        args = ['network', 'create', '--internal', '--label', 'rampart.test=1', '--subnet', str(net['v4'])]
        if net['v6']:
            args += ['--ipv6', '--subnet', str(net['v6'])]
        podman(*(args + [name]))
    for plat in platforms:
        args = ['run', '-d', '--replace', '--name', plat['name'], '--hostname', plat['name'],
                '--systemd=always', '--privileged', '--label', 'rampart.test=1']
        for net in plat.get('networks', []):
            spec = '%s:ip=%s' % (net['name'], net['ipv4_address'])
            if net.get('ipv6_address'):
                spec += ',ip6=%s' % net['ipv6_address']
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
