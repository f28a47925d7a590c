"""rampart.firewall.masquerading_router, checked with packets: LAN clients behind two routers
(Debian 12 with MASQUERADE, Debian 13 with SNAT for IPv4), a server on the WAN."""
import re
import subprocess
import time

import pytest

import probe
import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
LAN_NET, WAN_NET = 'rampart-masquerading_router-lan', 'rampart-masquerading_router-wan'
WAN = 'masquerading_router-wan'
# (router, the LAN client behind it)
PAIRS = [('masquerading_router-bookworm', 'masquerading_router-lan1'),
         ('masquerading_router-trixie', 'masquerading_router-lan2')]
ROUTERS = [r for r, c in PAIRS]
FAMILIES = pytest.mark.parametrize('family', [4, 6])
PAIR = pytest.mark.parametrize('router,client', PAIRS, ids=ROUTERS)


def addr(name, family, network=None):
    return fleet.address(PLATFORMS[name], network, family)


def sh(name, cmd, check=True):
    return subprocess.run(['podman', 'exec', name, 'sh', '-c', cmd], capture_output=True, text=True, check=check)


@pytest.fixture(scope='module', autouse=True)
def servers():
    probe.serve(WAN, 8080)
    for router, client in PAIRS:
        probe.serve(client, 80)
        probe.serve(client, 8091)
        probe.serve(router, 53)       # stands in for a DNS server offered to the LAN


@PAIR
@FAMILIES
def test_lan_client_reaches_the_wan_server_seen_as_the_router(router, client, family):
    result = probe.probe(client, addr(WAN, family), 8080)
    assert result.outcome == 'open'
    assert result.peer == addr(router, family, WAN_NET), 'the server must see the router, not %s' % result.peer


@PAIR
@FAMILIES
def test_port_forward_from_the_wan_reaches_the_lan_server(router, client, family):
    result = probe.probe(WAN, addr(router, family, WAN_NET), 8080)
    assert result.outcome == 'open'
    # DNAT only: the LAN server sees the real client, and answered through the router
    assert result.peer == addr(WAN, family)
    # other ports of the WAN address are closed (tail REJECT of INPUT)
    assert probe.probe(WAN, addr(router, family, WAN_NET), 8081).outcome == 'refused'


@FAMILIES
def test_port_range_forward_reaches_the_lan_server(family):
    """A forwarded port range (issue 25): 8090:8091 on the bookworm router to the same ports of lan1."""
    router, client = PAIRS[0]
    result = probe.probe(WAN, addr(router, family, WAN_NET), 8091)
    assert result.outcome == 'open' and result.peer == addr(WAN, family), result
    save = 'iptables-save' if family == 4 else 'ip6tables-save'
    target = addr(client, family) if family == 4 else '[%s]' % addr(client, family)
    assert '--to-destination %s:8090-8091' % target in sh(router, '%s -t nat' % save).stdout


@PAIR
@FAMILIES
def test_new_connection_from_the_wan_to_the_lan_is_refused(router, client, family):
    ip = 'ip -%d' % family
    lan = '10.89.55.0/24' if family == 4 else 'fd89:55::/64'
    sh(WAN, '%s route replace %s via %s' % (ip, lan, addr(router, family, WAN_NET)))
    try:
        assert probe.probe(WAN, addr(client, family), 80).outcome == 'refused'       # FORWARD: tcp-reset
        # icmp-admin-prohibited reads as EHOSTUNREACH on IPv4, icmp6-adm-prohibited as EACCES; the trixie
        # router rejects with icmp-host-unreachable (masquerading_router_reject_with), icmp6-addr-unreachable in IPv6
        expected = 'unreachable' if family == 4 or 'trixie' in router else 'prohibited'
        assert probe.probe(WAN, addr(client, family), 80, 'udp').outcome == expected
        # the same connection from the LAN side is allowed (trusted LAN interface)
        assert probe.probe(client, addr(WAN, family), 8080).outcome == 'open'
    finally:
        sh(WAN, '%s route del %s' % (ip, lan), check=False)


@PAIR
@FAMILIES
def test_spoofed_private_source_on_the_wan_is_dropped(router, client, family):
    spoof, net = ('192.168.77.5', '192.168.77.0/24') if family == 4 else ('fd00:77::5', 'fd00:77::/64')
    ip = 'ip -%d' % family
    save = 'iptables' if family == 4 else 'ip6tables'
    wan_if = sh(WAN, "ip -o addr show to %s | awk '{print $2}'" % addr(WAN, family)).stdout.strip()
    sh(WAN, '%s addr add %s dev %s %s' % (ip, spoof, wan_if, 'nodad' if family == 6 else ''))
    # the router could answer it (no reverse-path drop): only the firewall stands in the way
    sh(router, '%s route replace %s via %s' % (ip, net, addr(WAN, family)))
    try:
        before = sh(router, '%s -t raw -L antispoof -n -v -x' % save).stdout
        assert probe.probe(WAN, addr(router, family, WAN_NET), 8080, source=spoof).outcome == 'timeout'
        assert probe.probe(WAN, addr(router, family, WAN_NET), 8080).outcome == 'open'
        after = sh(router, '%s -t raw -L antispoof -n -v -x' % save).stdout
        dropped = [line for line in after.splitlines() if 'DROP' in line and ('192.168.0.0/16' in line or 'fc00::/7' in line)]
        assert dropped and int(dropped[0].split()[0]) > 0, after
        assert after != before
    finally:
        sh(router, '%s route del %s' % (ip, net), check=False)
        sh(WAN, '%s addr del %s dev %s' % (ip, spoof, wan_if), check=False)


@FAMILIES
def test_forwarded_new_connections_are_logged(family):
    """masquerading_router_log_accepts with a prefix of its own, without a limit (trixie, issue 11)."""
    router, client = PAIRS[1]
    save = 'iptables' if family == 4 else 'ip6tables'

    def logged():
        out = sh(router, '%s -L fw-interfaces -n -v -x' % save).stdout
        return sum(int(line.split()[0]) for line in out.splitlines() if 'lan out' in line and 'LOG' in line)

    before = logged()
    assert probe.probe(client, addr(WAN, family), 8080).outcome == 'open'
    assert logged() > before
    assert '-m limit' not in sh(router, '%s -S fw-interfaces' % save).stdout


@FAMILIES
def test_cgnat_and_documentation_sources_on_the_wan_pass(family):
    """The default anti-spoofing list leaves out 100.64.0.0/10 and the documentation ranges (issue 11)."""
    router = ROUTERS[0]
    spoof, net = ('100.64.77.5', '100.64.77.0/24') if family == 4 else ('2001:db8:77::5', '2001:db8:77::/64')
    ip = 'ip -%d' % family
    wan_if = sh(WAN, "ip -o addr show to %s | awk '{print $2}'" % addr(WAN, family)).stdout.strip()
    sh(WAN, '%s addr add %s dev %s %s' % (ip, spoof, wan_if, 'nodad' if family == 6 else ''))
    sh(router, '%s route replace %s via %s' % (ip, net, addr(WAN, family)))
    try:
        assert probe.probe(WAN, addr(router, family, WAN_NET), 8080, source=spoof).outcome == 'open'
    finally:
        sh(router, '%s route del %s' % (ip, net), check=False)
        sh(WAN, '%s addr del %s dev %s' % (ip, spoof, wan_if), check=False)


@PAIR
@FAMILIES
def test_services_offered_to_the_lan_only(router, client, family):
    lan_ip, wan_ip = addr(router, family, LAN_NET), addr(router, family, WAN_NET)
    ssh = probe.probe(client, lan_ip, 22)
    assert ssh.outcome == 'open' and ssh.data.startswith('SSH-2.0-')
    assert probe.probe(client, lan_ip, 53, 'udp').outcome == 'open'
    assert probe.probe(client, lan_ip, 53).outcome == 'open'
    assert probe.probe(WAN, wan_ip, 22).outcome == 'refused'
    assert probe.probe(WAN, wan_ip, 53, 'udp').outcome == 'refused'
    assert probe.probe(client, lan_ip, proto='icmp').outcome == 'reply'
    assert probe.probe(WAN, wan_ip, proto='icmp').outcome == 'reply'


@pytest.mark.parametrize('router', ROUTERS)
def test_router_settings(router):
    host = fleet.host(router)
    assert host.check_output('cat /proc/sys/net/ipv4/ip_forward') == '1'
    assert host.check_output('cat /proc/sys/net/ipv6/conf/all/forwarding') == '1'
    nat = host.check_output('iptables-save -t nat')
    if 'trixie' in router:
        assert '-j SNAT --to-source 10.89.56.12' in nat
    else:
        assert '-j MASQUERADE' in nat
    assert 'NETAVARK-HOSTPORT-DNAT' in nat, 'foreign chains must survive'
    assert host.service('netfilter-persistent').is_enabled
    assert '-A fw-open' in host.file('/etc/iptables/rules.v4').content_string
    assert '-A fw-open' in host.file('/etc/iptables/rules.v6').content_string


# ---- issue 11: "every interface but the WAN" (trixie: masquerading_router_trusted_interfaces_except).
# A veth pair to a network namespace inside each router is an interface that is neither the WAN nor
# a listed LAN interface: trixie forwards from it, bookworm (LAN interfaces only) refuses.
OTHER = {4: ('10.89.197.1', '10.89.197.2', 24, '10.89.197.0/24'), 6: ('fd89:197::1', 'fd89:197::2', 64, 'fd89:197::/64')}


@pytest.fixture(params=ROUTERS)
def other_namespace(request):
    router = request.param
    cmds = ['ip netns add other', 'ip link add rt-other type veth peer name rt-ns', 'ip link set rt-ns netns other',
            'ip link set rt-other up', 'ip -n other link set lo up', 'ip -n other link set rt-ns up']
    for family, (mine, theirs, plen, dummy) in OTHER.items():
        nodad = ' nodad' if family == 6 else ''
        cmds += ['ip addr add %s/%d dev rt-other%s' % (mine, plen, nodad),
                 'ip -n other addr add %s/%d dev rt-ns%s' % (theirs, plen, nodad),
                 'ip -n other -%d route add default via %s' % (family, mine)]
    sh(router, ' && '.join(cmds))
    # port 8083: the port forwards of 8080 DNAT whatever arrives on the WAN with that port
    subprocess.run(['podman', 'exec', '-d', router, 'ip', 'netns', 'exec', 'other', 'python3', '-c', probe.SERVER_CODE, '8083'],
                   check=True)
    for family in (4, 6):
        sh(WAN, 'ip -%d route replace %s via %s' % (family, OTHER[family][3], addr(router, family, WAN_NET)))
    time.sleep(1)
    yield router
    for family in (4, 6):
        sh(WAN, 'ip -%d route del %s' % (family, OTHER[family][3]), check=False)
    sh(router, 'ip link del rt-other; ip netns pids other | xargs -r kill; ip netns del other', check=False)


def probe_from_other(router, target, port):
    proc = subprocess.run(['podman', 'exec', router, 'ip', 'netns', 'exec', 'other', 'python3', '-c', probe.CLIENT_CODE,
                           'tcp', target, str(port), '', '3'], capture_output=True, text=True, check=False)
    lines = proc.stdout.split('\n')
    return lines[0].strip() or 'error: ' + proc.stderr.strip(), (lines[1].strip() if len(lines) > 1 else '')


@FAMILIES
def test_every_interface_but_the_wan_forwards(family, other_namespace):
    router = other_namespace
    outcome, data = probe_from_other(router, addr(WAN, family), 8080)
    if 'trixie' in router:
        assert outcome == 'open', (outcome, data)
        assert data == 'peer=' + OTHER[family][1]          # forwarded, not masqueraded (not a LAN network)
        save = 'iptables' if family == 4 else 'ip6tables'
        wan_if = sh(router, "ip -o addr show to %s | awk '{print $2}'" % addr(router, family, WAN_NET)).stdout.strip()
        assert '-A fw-interfaces ! -i %s -j ACCEPT' % wan_if in sh(router, '%s -S fw-interfaces' % save).stdout
    else:
        assert outcome == 'refused', (outcome, data)        # FORWARD's tail: tcp-reset
    # new connections from the WAN to a server behind that interface are refused on both (FORWARD's tail)
    assert probe.probe(WAN, OTHER[family][1], 8083).outcome == 'refused'


@FAMILIES
def test_router_ping_limit_counts_every_packet(family):
    """bookworm: 2/second, burst 3, per packet: a fast ping session loses requests; trixie (no limit) none."""
    def received(router):
        out = sh(WAN, 'ping -%d -n -q -c 20 -i 0.02 -W 1 %s' % (family, addr(router, family, WAN_NET)), check=False).stdout
        return int(re.search(r'(\d+) (?:packets )?received', out).group(1))
    time.sleep(2)
    assert 1 <= received(ROUTERS[0]) < 15
    assert received(ROUTERS[1]) == 20
    save = 'iptables-save' if family == 4 else 'ip6tables-save'
    assert '--hashlimit-htable-expire 60000' in sh(ROUTERS[0], save).stdout


@FAMILIES
def test_router_source_rule_drops_and_logs(family):
    router = ROUTERS[0]
    save = 'iptables' if family == 4 else 'ip6tables'
    probe.serve(router, 8082)

    def logged():
        out = sh(router, '%s -L INPUT -n -v -x' % save).stdout
        return sum(int(line.split()[0]) for line in out.splitlines() if 'SOURCE' in line and 'LOG' in line)

    before = logged()
    assert probe.probe(WAN, addr(router, family, WAN_NET), 8082).outcome == 'timeout'
    assert logged() > before
    assert probe.probe('masquerading_router-lan1', addr(router, family, LAN_NET), 8082).outcome == 'refused'
