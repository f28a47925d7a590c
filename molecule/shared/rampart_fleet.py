"""Helpers for the scenarios' testinfra tests: who is in the fleet, and how to reach them.

Tests reach containers with testinfra's podman backend (`podman exec`), which is fast,
instead of the Ansible backend. The platform list comes from the file the shared
create playbook wrote (platforms.json in molecule's ephemeral directory).
"""
import json
import os
import subprocess
import time

import testinfra


def platforms():
    path = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'platforms.json')
    with open(path) as spec:
        return json.load(spec)


def host(name):
    return testinfra.get_host('podman://' + name)


def address(platform, network=None, family=4):
    """The platform's address on NETWORK (default: its first network)."""
    for net in platform.get('networks', []):
        if network in (None, net['name']):
            return net['ipv4_address'] if family == 4 else net['ipv6_address']
    raise KeyError('%s has no network %s' % (platform['name'], network))


def restart(name, timeout=90):
    """`podman restart` (a reboot for the container) and wait until systemd is up again."""
    subprocess.run(['podman', 'restart', '-t', '2', name], check=True, capture_output=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        proc = subprocess.run(['podman', 'exec', name, 'systemctl', 'is-system-running'],
                              capture_output=True, text=True, check=False)
        if proc.stdout.strip() in ('running', 'degraded'):
            return
        time.sleep(0.5)
    raise AssertionError('%s did not boot again within %ss' % (name, timeout))


def playbook(name, *args, limit=None, extra_vars=None, check=True):
    """Run a playbook of the current scenario against the molecule inventory.

    Returns the CompletedProcess; raises AssertionError with the output when it fails
    and check is true."""
    scenario = os.environ['MOLECULE_SCENARIO_DIRECTORY']
    cmd = ['ansible-playbook', '-i', os.environ['MOLECULE_INVENTORY_FILE'], os.path.join(scenario, name)]
    if limit:
        cmd += ['--limit', limit]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    cmd += list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=scenario)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (rc=%s):\n%s\n%s' % (' '.join(cmd), proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    return proc


def connect(client, target, port, family=4, timeout=3):
    """TCP connect from container CLIENT to TARGET:PORT with netcat.

    Returns 'open' (connected), 'refused' (an RST came back) or 'timeout' (dropped)."""
    proc = subprocess.run(['podman', 'exec', client, 'nc', '-%d' % family, '-z', '-n', '-v', '-w', str(timeout), target, str(port)],
                          capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return 'open'
    if 'refused' in out:
        return 'refused'
    if 'timed out' in out or 'Operation now in progress' in out:
        return 'timeout'
    return 'other: ' + out.strip()


def listen(name, port, family=4):
    """Start a TCP listener in container NAME that accepts connections until removed."""
    subprocess.run(['podman', 'exec', '-d', name, 'nc', '-%d' % family, '-k', '-l', '-n', str(port)], check=True)
    time.sleep(0.3)
