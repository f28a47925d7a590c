"""rampart.firewall.bastion with its allow list from an inventory group (ipsets_allow.yml): the sets
admins and admins6 hold bastion-allowed's addresses (from its facts, on the controller), SSH comes
in from it and not from bastion-other, in both families. The scenario's own converge is applied
again at the end, so the tests that follow see the allow list of molecule.yml."""
import pytest

import probe
import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
BASTIONS = {'bastion-bookworm': 22, 'bastion-trixie': 2222}
ALLOWED, OTHER, OUTSIDE = 'bastion-allowed', 'bastion-other', 'rampart-bastion'


def addr(name, family):
    return fleet.address(PLATFORMS[name], OUTSIDE, family)


@pytest.fixture(scope='module')
def from_group():
    fleet.playbook('ipsets_allow.yml')
    yield
    fleet.playbook('converge.yml')


def test_allow_list_from_the_group_admins(from_group):
    for name, port in sorted(BASTIONS.items()):
        host = fleet.host(name)
        assert host.check_output('ipset save admins').splitlines()[1:] == ['add admins %s' % addr(ALLOWED, 4)]
        assert host.check_output('ipset save admins6').splitlines()[1:] == ['add admins6 %s' % addr(ALLOWED, 6)]
        assert '-m set --match-set admins src' in host.check_output('iptables -S TCP')
        assert '-m set --match-set admins6 src' in host.check_output('ip6tables -S TCP')
        for family in (4, 6):
            result = probe.probe(ALLOWED, addr(name, family), port)
            assert result.outcome == 'open' and result.data.startswith('SSH-2.0-'), (name, family, result)
            assert probe.probe(OTHER, addr(name, family), port).outcome == 'refused', (name, family)
