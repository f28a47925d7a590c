"""rampart.firewall.bastion with an allow list of one family (ipv4_only.yml, issue 25): before
issue 25 every run failed on ansible-core 2.19 ("'NoneType' has no attribute 'split'"). The play
converges, re-runs unchanged, SSH comes in over IPv4 from the allowed network and is refused
over IPv6 from the same client. The scenario's own converge is applied again at the end."""
import re

import pytest

import probe
import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
BASTIONS = {'bastion-bookworm': 22, 'bastion-trixie': 2222}
ALLOWED, OUTSIDE = 'bastion-allowed', 'rampart-bastion'


def addr(name, family):
    return fleet.address(PLATFORMS[name], OUTSIDE, family)


def changed(proc):
    """The PLAY RECAP's changed= of every bastion."""
    return dict((m.group(1), int(m.group(2))) for m in re.finditer(r'^(bastion-\w+)\s*:.*?changed=(\d+)', proc.stdout, re.M))


@pytest.fixture(scope='module')
def ipv4_only():
    first = fleet.playbook('ipv4_only.yml')
    second = fleet.playbook('ipv4_only.yml')
    yield first, second
    fleet.playbook('converge.yml')


def test_converges_and_reruns_unchanged(ipv4_only):
    first, second = ipv4_only
    assert sorted(changed(first)) == sorted(BASTIONS), first.stdout[-3000:]
    assert changed(second) == dict((name, 0) for name in BASTIONS), second.stdout[-3000:]


def test_ssh_over_ipv4_from_the_network_and_refused_over_ipv6(ipv4_only):
    for name, port in sorted(BASTIONS.items()):
        result = probe.probe(ALLOWED, addr(name, 4), port)
        assert result.outcome == 'open' and result.data.startswith('SSH-2.0-'), (name, result)
        assert probe.probe(ALLOWED, addr(name, 6), port).outcome == 'refused', name
        assert '--dport %d' % port not in fleet.host(name).check_output('ip6tables -S TCP'), name
