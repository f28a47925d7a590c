"""rampart.firewall.bastion, checked with packets: SSH in from the allow-list only, throttled;
SSH out to the internal network, DNS and NTP to the listed servers, nothing else."""
import re
import time

import pytest

import probe
import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
BASTIONS = {'bastion-bookworm': 22, 'bastion-trixie': 2222}      # name: sshd port
ALLOWED, OTHER, INTERNAL = 'bastion-allowed', 'bastion-other', 'bastion-internal'
OUTSIDE, INSIDE = 'rampart-bastion', 'rampart-bastion-internal'
FAMILIES = pytest.mark.parametrize('family', [4, 6])


def addr(name, family, network=None):
    return fleet.address(PLATFORMS[name], network, family)


@pytest.fixture(params=sorted(BASTIONS))
def name(request):
    return request.param


@pytest.fixture(scope='module', autouse=True)
def servers():
    for port in (53, 80, 123):
        probe.serve(INTERNAL, port)
    probe.serve(OTHER, 53)


@FAMILIES
def test_ssh_from_an_allowed_network_works(name, family):
    result = probe.probe(ALLOWED, addr(name, family, OUTSIDE), BASTIONS[name])
    assert result.outcome == 'open' and result.data.startswith('SSH-2.0-'), result


@FAMILIES
def test_ssh_from_elsewhere_does_not(name, family):
    assert probe.probe(OTHER, addr(name, family, OUTSIDE), BASTIONS[name]).outcome == 'refused'
    # nor from the internal network
    assert probe.probe(INTERNAL, addr(name, family, INSIDE), BASTIONS[name]).outcome == 'refused'


@FAMILIES
def test_ssh_is_the_only_open_port(name, family):
    target = addr(name, family, OUTSIDE)
    other_port = 22 if BASTIONS[name] != 22 else 2222
    assert probe.probe(ALLOWED, target, other_port).outcome == 'refused'
    # bastion-trixie rejects UDP with icmp-admin-prohibited (bastion_reject_with): EHOSTUNREACH in IPv4,
    # EACCES for icmp6-adm-prohibited
    udp = 'refused' if name == 'bastion-bookworm' else ('unreachable' if family == 4 else 'prohibited')
    assert probe.probe(ALLOWED, target, 53, 'udp').outcome == udp
    assert probe.probe(ALLOWED, target, proto='icmp').outcome == 'reply'


@FAMILIES
def test_fourth_connection_within_10s_is_dropped(name, family):
    target, port = addr(name, family, OUTSIDE), BASTIONS[name]
    outcomes = [probe.probe(ALLOWED, target, port).outcome for dummy in range(4)]
    assert outcomes == ['open', 'open', 'open', 'timeout']
    # another source is not affected
    assert probe.probe(OTHER, target, port).outcome == 'refused'


@FAMILIES
def test_egress_is_ssh_to_the_internal_network_dns_and_ntp(name, family):
    internal = addr(INTERNAL, family)
    ssh = probe.probe(name, internal, 22)
    assert ssh.outcome == 'open' and ssh.data.startswith('SSH-2.0-')
    assert probe.probe(name, internal, 53, 'udp').outcome == 'open'
    assert probe.probe(name, internal, 53, 'tcp').outcome == 'open'
    assert probe.probe(name, internal, 123, 'udp').outcome == 'open'
    assert probe.probe(name, internal, proto='icmp').outcome == 'reply'


@FAMILIES
def test_other_egress_fails(name, family):
    internal, other = addr(INTERNAL, family), addr(OTHER, family)
    assert probe.probe(name, internal, 80).outcome in ('timeout', 'denied')          # not SSH
    assert probe.probe(name, internal, 80, 'udp').outcome == 'denied'
    assert probe.probe(name, other, 22).outcome in ('timeout', 'denied')             # SSH, but not internal
    assert probe.probe(name, other, 53, 'udp').outcome == 'denied'                   # DNS, not a listed server


def test_drops_are_logged_rate_limited(name):
    for save in ('iptables-save', 'ip6tables-save'):
        text = fleet.host(name).check_output(save)
        for chain in ('INPUT', 'OUTPUT'):
            assert '-A %s -m limit --limit 5/min --limit-burst 10 -j LOG --log-prefix "rampart:%s "' % (chain, chain) in text
        assert ':OUTPUT DROP' in text


def logged(name, family, chain, marker):
    """Packets counted so far by the LOG rules of CHAIN whose line contains MARKER."""
    out = fleet.host(name).check_output('%s -L %s -n -v -x' % ('iptables' if family == 4 else 'ip6tables', chain))
    return sum(int(line.split()[0]) for line in out.splitlines() if marker in line and 'LOG' in line)


@FAMILIES
def test_accepted_ssh_is_logged_with_its_own_prefix(family):
    """bastion_log_accepts and bastion_log_prefixes (bastion-trixie, issue 11)."""
    name = 'bastion-trixie'
    before = logged(name, family, 'TCP', 'ssh in')
    # the connection limit (4 in 10 s) may still hold earlier tests' connections, so a timeout is
    # possible here; what this test checks is that the accept LOG counter grew
    assert probe.probe(ALLOWED, addr(name, family, OUTSIDE), BASTIONS[name]).outcome in ('open', 'timeout')
    assert logged(name, family, 'TCP', 'ssh in') > before


@FAMILIES
def test_a_watched_source_is_logged_first(family):
    """bastion_source_rules with action log (bastion-trixie, issue 11): logged, then refused as before."""
    name = 'bastion-trixie'
    before = logged(name, family, 'INPUT', 'watched')
    assert probe.probe(OTHER, addr(name, family, OUTSIDE), BASTIONS[name]).outcome == 'refused'
    assert logged(name, family, 'INPUT', 'watched') > before


@FAMILIES
def test_ping_limit_counts_every_packet(family):
    """bastion-bookworm: 2/second, burst 3, per packet: one fast ping session loses requests;
    bastion-trixie (no limit) loses none (issue 11)."""
    def received(name):
        out = fleet.host(ALLOWED).run('ping -%d -n -q -c 20 -i 0.02 -W 1 %s' % (family, addr(name, family, OUTSIDE))).stdout
        return int(re.search(r'(\d+) (?:packets )?received', out).group(1))
    time.sleep(2)                       # the bucket of earlier pings fills again
    assert 1 <= received('bastion-bookworm') < 15
    assert received('bastion-trixie') == 20
    save = 'iptables-save' if family == 4 else 'ip6tables-save'
    assert '--hashlimit-htable-expire 60000' in fleet.host('bastion-bookworm').check_output(save)


@FAMILIES
def test_a_source_rule_drops(family):
    """bastion_source_rules with action drop (bastion-bookworm, issue 11): that source times out on
    UDP 53, another source gets the port unreachable."""
    target = addr('bastion-bookworm', family, OUTSIDE)
    assert probe.probe(OTHER, target, 53, 'udp').outcome == 'timeout'
    assert probe.probe(ALLOWED, target, 53, 'udp').outcome == 'refused'
