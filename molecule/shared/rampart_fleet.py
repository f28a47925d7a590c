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
