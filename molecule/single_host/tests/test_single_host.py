"""rampart.firewall.single_host, checked with packets from two client containers.

single_host-bookworm: ports 22 (recent SSH guard), 8080 (TCP and UDP), 9090 only from
single_host-client, logging. single_host-trixie: the same ports, OUTPUT DROP with an egress
list, limited pings, hashlimit SSH guard, port-scan trap, every interface but eth0 trusted (a
veth pair to a network namespace stands in for the LAN). single_host-legacy: the same ports on
the iptables-legacy backend. At the end, single_host-bookworm meets an active ufw (a stand-in
unit) and runs with the INPUT policy ACCEPT and source rules. Hook rules: 7070 (group_vars), 7071 (single_host_extra_rules),
7072/udp (another role's variable), 7073 open on IPv6 only.
"""
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

import probe
import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
HOSTS = sorted(n for n, p in PLATFORMS.items() if 'single_hosts' in p.get('groups', []))
CLIENT, CLIENT2 = 'single_host-client', 'single_host-client2'
COUNTERS = re.compile(r'\[\d+:\d+\]')
FOREIGN = re.compile(r'NETAVARK|DOCKER|f2b-')
FOREIGN_LINES = [':NETAVARK_FORWARD', '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
                 ':DOCKER-USER', '-A FORWARD -j DOCKER-USER', ':f2b-sshd', '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd']
SITE = os.path.join('..', '..', 'playbooks', 'site.yml')
AUDIT = os.path.join('..', '..', 'playbooks', 'audit.yml')


def addr(name, family):
    return fleet.address(PLATFORMS[name], family=family)


def live(name, save='iptables-save'):
    out = fleet.host(name).check_output(save)
    return '\n'.join(COUNTERS.sub('', line) for line in out.splitlines() if not line.startswith('#'))


@pytest.fixture(scope='module', autouse=True)
def servers():
    for name in HOSTS + [CLIENT]:
        probe.serve(name, 8080)
    for name in HOSTS:
        for port in (9090, 9101, 7070, 7071, 7072, 7073):
            probe.serve(name, port)


@pytest.fixture(params=HOSTS)
def name(request):
    return request.param


FAMILIES = pytest.mark.parametrize('family', [4, 6])


def test_backend(name):
    version = fleet.host(name).check_output('iptables --version')
    assert ('legacy' if 'legacy' in name else 'nf_tables') in version


@FAMILIES
def test_open_ports_answer(name, family):
    target = addr(name, family)
    tcp = probe.probe(CLIENT, target, 8080, 'tcp')
    assert tcp.outcome == 'open' and tcp.peer == addr(CLIENT, family)
    assert probe.probe(CLIENT, target, 8080, 'udp').outcome == 'open'
    banner = probe.probe(CLIENT, target, 22, 'tcp')
    assert banner.outcome == 'open' and banner.data.startswith('SSH-2.0-'), banner


@FAMILIES
def test_closed_tcp_port_answers_rst(name, family):
    assert probe.probe(CLIENT, addr(name, family), 2222, 'tcp').outcome == 'refused'


@FAMILIES
def test_closed_udp_port_answers_port_unreachable(name, family):
    # single_host-legacy: icmp-admin-prohibited (single_host_reject_with), EHOSTUNREACH in IPv4, EACCES in IPv6
    expected = ('unreachable' if family == 4 else 'prohibited') if 'legacy' in name else 'refused'
    assert probe.probe(CLIENT, addr(name, family), 2222, 'udp').outcome == expected


@FAMILIES
def test_unknown_protocol_is_rejected_like_linux(name, family):
    # IPv4: icmp-proto-unreachable, as Linux answers; IPv6 has no such REJECT: adm-prohibited
    expected = 'proto-unreachable' if family == 4 else 'prohibited'
    assert probe.probe(CLIENT, addr(name, family), proto='proto').outcome == expected


@FAMILIES
def test_ping_works(name, family):
    assert probe.probe(CLIENT, addr(name, family), proto='icmp').outcome == 'reply'


@FAMILIES
def test_source_restricted_port(name, family):
    target = addr(name, family)
    assert probe.probe(CLIENT, target, 9090).outcome == 'open'
    assert probe.probe(CLIENT2, target, 9090).outcome == 'refused'


@FAMILIES
def test_port_with_sources_of_one_family(name, family):
    """9101 lists an IPv4 source only (issue 25): open to it over IPv4, closed over IPv6."""
    target = addr(name, family)
    assert probe.probe(CLIENT, target, 9101).outcome == ('open' if family == 4 else 'refused')
    assert probe.probe(CLIENT2, target, 9101).outcome == 'refused'
    # the refusals put both clients in the port-scan trap of single_host-trixie: let them out again
    fleet.host(name).run('for f in /proc/net/xt_recent/*PORTSCAN*; do echo / > "$f"; done')


def _rpfilter_drops(name):
    """Packets dropped so far by the IPv6 reverse-path filter (raw PREROUTING)."""
    out = fleet.host(name).check_output('ip6tables -t raw -L PREROUTING -v -x -n')
    rows = [line.split() for line in out.splitlines() if 'rpfilter' in line]
    assert len(rows) == 1, out
    return int(rows[0][0])


def test_spoofed_ipv6_source_is_dropped(name):
    """Issue 25: the IPv6 reverse-path filter (single_host_ipv6_rpfilter: auto, strict like IPv4's
    rp_filter=1). A SYN from an address the host routes out of another interface (a veth pair stands
    in for it) is dropped before conntrack; the same client from its own address gets in."""
    host = fleet.host(name)
    spoof, target = 'fd89:dead::21', addr(name, 6)
    host.check_output('ip link add rf-a type veth peer name rf-b && ip link set rf-a up && ip link set rf-b up'
                      ' && ip -6 route add fd89:dead::/64 dev rf-a')
    subprocess.run(['podman', 'exec', CLIENT, 'ip', '-6', 'addr', 'add', spoof + '/128', 'dev', 'eth0', 'nodad'],
                   check=True, capture_output=True)
    try:
        before = _rpfilter_drops(name)
        proc = subprocess.run(['podman', 'exec', CLIENT, 'nc', '-6', '-z', '-n', '-v', '-w', '3', '-s', spoof, target, '8080'],
                              capture_output=True, text=True, check=False)
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert _rpfilter_drops(name) > before
        # the conntrack table never saw it
        assert spoof not in host.run('cat /proc/net/nf_conntrack 2>/dev/null || conntrack -L 2>/dev/null').stdout
    finally:
        subprocess.run(['podman', 'exec', CLIENT, 'ip', '-6', 'addr', 'del', spoof + '/128', 'dev', 'eth0'],
                       capture_output=True, check=False)
        host.run('ip link del rf-a')
    before = _rpfilter_drops(name)
    assert probe.probe(CLIENT, target, 8080).outcome == 'open'
    assert _rpfilter_drops(name) == before
    # IPv4 has the rp_filter sysctl instead: no rpfilter rule there
    assert 'rpfilter' not in live(name, 'iptables-save')


@FAMILIES
def test_extra_rules_from_the_hook(name, family):
    target = addr(name, family)
    assert probe.probe(CLIENT, target, 7070).outcome == 'open'            # rampart_firewall_extra_rules
    assert probe.probe(CLIENT, target, 7071).outcome == 'open'            # single_host_extra_rules
    assert probe.probe(CLIENT, target, 7072, 'udp').outcome == 'open'     # webapp_rampart_firewall_extra_rules
    # family: ipv6 only, in INPUT at order 300 (before the jumps to the TCP and UDP chains)
    assert probe.probe(CLIENT, target, 7073).outcome == ('open' if family == 6 else 'refused')
    text = live(name, 'ip6tables-save' if family == 6 else 'iptables-save')
    assert ('--dport 7073' in text) == (family == 6)
    # order 450 puts the group_vars rule before the role's ports (order 500) in chain TCP; on trixie
    # the SSH port (order 50, before the port-scan trap) and the trap (100) come first
    tcp = [line for line in text.splitlines() if line.startswith('-A TCP ')]
    assert '7070' in tcp[0 if 'trixie' not in name else 2], tcp


@FAMILIES
def test_egress_list_with_output_drop(family):
    name = 'single_host-trixie'
    client = addr(CLIENT, family)
    assert probe.probe(name, client, 8080).outcome in ('timeout', 'denied')   # not in the egress list
    assert probe.probe(name, client, 53, 'udp').outcome == 'refused'           # allowed: the port unreachable comes back
    assert probe.probe(name, addr(CLIENT2, family), 53, 'udp').outcome == 'denied'   # DNS only to the listed server
    assert probe.probe(name, client, proto='icmp').outcome == 'reply'
    assert probe.probe('single_host-bookworm', client, 8080).outcome == 'open'  # OUTPUT ACCEPT there


@FAMILIES
def test_port_scan_trap(family):
    target = addr('single_host-trixie', family)
    assert probe.probe(CLIENT2, target, 8080).outcome == 'open'
    assert probe.probe(CLIENT2, target, 2223).outcome == 'refused'      # the scan: a closed port...
    assert probe.probe(CLIENT2, target, 8080).outcome == 'refused'      # ...then even the open port is refused
    assert probe.probe(CLIENT2, target, 22).outcome == 'open'           # SSH comes before the trap (issue 11)
    assert probe.probe(CLIENT, target, 8080).outcome == 'open'          # for that source only


def test_foreign_chains_survive(name):
    for save in ('iptables-save', 'ip6tables-save'):
        text = live(name, save)
        missing = [line for line in FOREIGN_LINES if line not in text]
        assert not missing, '%s: foreign chains or jumps lost: %s' % (save, missing)


@pytest.mark.parametrize('ext', ['v4', 'v6'])
def test_rendered_and_persisted_files(name, ext):
    host = fleet.host(name)
    rendered = host.file('/etc/rampart-firewall/rules.' + ext)
    assert rendered.mode == 0o600
    assert rendered.content_string.startswith('#\n# Ansible managed')
    persisted = host.file('/etc/iptables/rules.' + ext).content_string
    assert '-A TCP' in persisted and not FOREIGN.search(persisted)
    assert host.service('netfilter-persistent').is_enabled


def test_sysctl_profile_host(name):
    host = fleet.host(name)
    assert host.file('/etc/sysctl.d/90-rampart-firewall.conf').exists
    assert host.check_output('cat /proc/sys/net/ipv4/ip_forward') == '0'
    assert host.check_output('cat /proc/sys/net/ipv4/conf/all/rp_filter') == '1'


def test_hook_from_another_role_in_the_play():
    target = addr('single_host-bookworm', 4)
    probe.serve('single_host-bookworm', 9100)
    assert probe.probe(CLIENT, target, 9100).outcome == 'refused'
    proc = fleet.playbook('hook.yml')
    assert probe.probe(CLIENT, target, 9100).outcome == 'open', proc.stdout[-3000:]
    fleet.playbook('converge.yml')                                       # back to the scenario's rules
    assert probe.probe(CLIENT, target, 9100).outcome == 'refused'


def recap_changes(stdout):
    """{host: changed count} from the PLAY RECAP."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', stdout, re.M)}


def audit():
    with tempfile.NamedTemporaryFile(suffix='.json') as report:
        proc = fleet.playbook(AUDIT, extra_vars={'audit_report_file': report.name})
        with open(report.name) as handle:
            return json.load(handle), proc


def test_audit_reports_drift_and_changes_nothing():
    report, proc = audit()
    for name in HOSTS:
        assert report[name]['role'] == 'single_host'
        assert not report[name]['drift'], report[name]
    assert report[CLIENT]['role'] == ''
    assert all(recap_changes(proc.stdout)[name] == 0 for name in HOSTS)
    # drift: a rule added by hand on the legacy host, a persisted file edited on trixie
    fleet.host('single_host-legacy').check_output('iptables -I TCP -p tcp --dport 6000 -j ACCEPT')
    fleet.host('single_host-trixie').check_output("sed -i '/--dport 8080/d' /etc/iptables/rules.v6")
    report, proc = audit()
    legacy = report['single_host-legacy']
    assert legacy['drift']
    assert legacy['families']['ipv4']['live_vs_desired'] == 'drift'
    assert legacy['families']['ipv4']['live_vs_persisted'] == 'drift'
    assert legacy['families']['ipv4']['persisted_vs_desired'] == 'same'
    assert any('6000' in line for line in legacy['families']['ipv4']['unexpected_live'])
    assert legacy['families']['ipv6']['live_vs_desired'] == 'same'
    trixie = report['single_host-trixie']
    assert trixie['drift'] and trixie['families']['ipv6']['persisted_vs_desired'] == 'drift'
    assert trixie['families']['ipv6']['live_vs_desired'] == 'same'
    assert not report['single_host-bookworm']['drift']
    assert all(recap_changes(proc.stdout)[name] == 0 for name in HOSTS)
    # nothing was changed by the audit
    assert '--dport 6000' in live('single_host-legacy')
    # converge repairs both
    fleet.playbook('converge.yml')
    report, dummy = audit()
    assert not any(report[name]['drift'] for name in HOSTS), report


# ---- issue 11, seed 003: "every interface but the WAN" (single_host_trusted_interfaces_except: [eth0]
# on trixie). A veth pair to a network namespace inside the container is the LAN side (ns "lan").
TRIXIE = 'single_host-trixie'
LAN_NS = {4: ('10.89.198.1', '10.89.198.2', 24), 6: ('fd89:198::1', 'fd89:198::2', 64)}


def in_ns(container, ns, args):
    """Run args in network namespace ns of container (podman exec ... ip netns exec)."""
    return subprocess.run(['podman', 'exec', container, 'ip', 'netns', 'exec', ns] + list(args),
                          capture_output=True, text=True, check=False)


def probe_from_ns(container, ns, target, port, proto='tcp'):
    proc = in_ns(container, ns, ['python3', '-c', probe.CLIENT_CODE, proto, target, str(port), '', '3'])
    return proc.stdout.split('\n')[0].strip() or 'error: ' + proc.stderr.strip()


@pytest.fixture
def lan_namespace():
    host = fleet.host(TRIXIE)
    cmds = ['ip netns add lan', 'ip link add rt-lan type veth peer name rt-ns', 'ip link set rt-ns netns lan',
            'ip link set rt-lan up', 'ip -n lan link set lo up', 'ip -n lan link set rt-ns up']
    for family, (mine, theirs, plen) in LAN_NS.items():
        nodad = ' nodad' if family == 6 else ''
        cmds += ['ip addr add %s/%d dev rt-lan%s' % (mine, plen, nodad),
                 'ip -n lan addr add %s/%d dev rt-ns%s' % (theirs, plen, nodad)]
    host.check_output(' && '.join(cmds))
    subprocess.run(['podman', 'exec', '-d', TRIXIE, 'ip', 'netns', 'exec', 'lan', 'python3', '-c', probe.SERVER_CODE, '6003'],
                   check=True)
    time.sleep(1)
    yield
    host.run('ip link del rt-lan; ip netns pids lan | xargs -r kill; ip netns del lan')


@FAMILIES
def test_every_interface_but_the_wan_is_trusted(family, lan_namespace):
    host = fleet.host(TRIXIE)
    assert host.check_output("ip -o addr show to %s | awk '{print $2}'" % addr(TRIXIE, family)).startswith('eth0')
    probe.serve(TRIXIE, 6001)                 # a port that is not open (not in single_host_tcp_ports)
    mine, theirs, dummy = LAN_NS[family]
    # in: from the LAN side anything is accepted, on the WAN (eth0) the closed port is refused
    assert probe_from_ns(TRIXIE, 'lan', mine, 6001) == 'open'
    assert probe_from_ns(TRIXIE, 'lan', mine, 6001, 'udp') == 'open'
    assert probe.probe(CLIENT, addr(TRIXIE, family), 6001).outcome == 'refused'
    # out (OUTPUT DROP with an egress list): anything to the LAN side, only the list to the WAN
    assert probe.probe(TRIXIE, theirs, 6003).outcome == 'open'
    assert probe.probe(TRIXIE, addr(CLIENT, family), 8080).outcome in ('timeout', 'denied')
    save = 'iptables' if family == 4 else 'ip6tables'
    rules = host.check_output('%s -S' % save)
    assert '-A INPUT ! -i eth0 -j ACCEPT' in rules and '-A OUTPUT ! -o eth0 -j ACCEPT' in rules, rules


# Last: after a restart the foreign chains are gone from the containers (nothing recreates them).
def managed(text):
    """The ruleset without the foreign chains and jumps, as {table: (policies, rules per chain)}:
    chain order is not compared (iptables-save lists chains in its own order), tables with
    nothing but empty ACCEPT built-in chains are left out (the legacy backend lists them once
    loaded)."""
    tables, table = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or line == 'COMMIT' or FOREIGN.search(line):
            continue
        if line.startswith('*'):
            table = tables.setdefault(line[1:], ({}, {}))
        elif line.startswith(':'):
            chain, policy = line[1:].split()[:2]
            table[0][chain] = policy
        else:
            chain = line.split()[1]
            table[1].setdefault(chain, []).append(line)
    return {name: t for name, t in tables.items() if t[1] or set(t[0].values()) - {'ACCEPT'}}


def test_rules_are_back_after_restart(name):
    before = managed(live(name)), managed(live(name, 'ip6tables-save'))
    fleet.host(name).check_output('iptables -F TCP && ip6tables -F TCP')
    assert '-A TCP' not in live(name)
    fleet.restart(name)
    after = managed(live(name)), managed(live(name, 'ip6tables-save'))
    assert after == before
    assert 'filter' in after[0] and 'filter' in after[1]


# ---- issue 11 on single_host-legacy: the variables of the expressiveness part (after the restart
# test above: the servers are started again and the neighbours refreshed first)
LEGACY = 'single_host-legacy'


@pytest.fixture(scope='module')
def after_restart():
    for name in (LEGACY, CLIENT):
        probe.serve(name, 8080)
    probe.serve(LEGACY, 9090)
    # the restarted hosts have new MAC addresses: forget the clients' neighbour entries (an entry
    # still REACHABLE would be used as it is, towards the old address), then refresh them
    for client in (CLIENT, CLIENT2):
        fleet.host(client).run('ip -4 neigh flush all; ip -6 neigh flush all')
    for family in (4, 6):
        for client, name in ((CLIENT, LEGACY), (CLIENT, 'single_host-trixie'), (CLIENT2, LEGACY)):
            probe.probe(client, addr(name, family), proto='icmp')
    time.sleep(2)     # the per-packet ping bucket of the legacy host fills again


def _log_count(name, save, chain, prefix):
    out = fleet.host(name).check_output('%s -L %s -n -v -x' % (save, chain))
    return sum(int(line.split()[0]) for line in out.splitlines() if prefix in line and 'LOG' in line)


@FAMILIES
def test_any_new_egress_with_output_drop(family, after_restart):
    save = 'iptables' if family == 4 else 'ip6tables'
    assert '-P OUTPUT DROP' in fleet.host(LEGACY).check_output('%s -S OUTPUT' % save)
    assert probe.probe(LEGACY, addr(CLIENT, family), 8080).outcome == 'open'
    assert probe.probe(LEGACY, addr(CLIENT, family), 8080, 'udp').outcome == 'open'


@FAMILIES
def test_source_rule_rejects_and_logs(family, after_restart):
    save = 'iptables' if family == 4 else 'ip6tables'
    before = _log_count(LEGACY, save, 'INPUT', 'src ')
    assert probe.probe(CLIENT2, addr(LEGACY, family), 8080).outcome == 'refused'
    assert probe.probe(CLIENT, addr(LEGACY, family), 8080).outcome == 'open'
    assert _log_count(LEGACY, save, 'INPUT', 'src ') > before


@FAMILIES
def test_accepted_connections_logged_without_limit(family, after_restart):
    save = 'iptables' if family == 4 else 'ip6tables'
    before = _log_count(LEGACY, save, 'TCP', 'acc ')
    for dummy in range(3):
        assert probe.probe(CLIENT, addr(LEGACY, family), 8080).outcome == 'open'
    assert _log_count(LEGACY, save, 'TCP', 'acc ') >= before + 3
    logs = [line for line in fleet.host(LEGACY).check_output('%s -S' % save).splitlines() if '-j LOG' in line]
    assert logs and not [line for line in logs if '-m limit' in line], logs


@FAMILIES
def test_ping_limit_counts_every_packet(family, after_restart):
    """Per packet (legacy, 2/second, burst 3): one fast ping session loses requests; per connection
    (trixie, 5/second, burst 10) the requests of a running ping are not counted."""
    def received(name):
        out = fleet.host(CLIENT).run('ping -%d -n -q -c 20 -i 0.02 -W 1 %s' % (family, addr(name, family))).stdout
        return int(re.search(r'(\d+) (?:packets )?received', out).group(1))
    legacy = received(LEGACY)
    assert 1 <= legacy < 15, legacy
    assert received('single_host-trixie') == 20
    save = 'iptables-save' if family == 4 else 'ip6tables-save'
    assert '--hashlimit-htable-expire 120000' in fleet.host(LEGACY).check_output(save)


def test_off_switch_and_back(after_restart):
    """single_host_state: absent on the legacy host: policies ACCEPT, the role's rules and chains gone
    live and from the persisted files, foreign chains kept; then on again (issue 11)."""
    host = fleet.host(LEGACY)
    # a foreign chain with its jump (the restart test above removed the ones prepare.yml made)
    foreign = ['-N f2b-offtest', '-A INPUT -p tcp -m tcp --dport 2 -j f2b-offtest']
    for save in ('iptables', 'ip6tables'):
        host.check_output('%s -N f2b-offtest && %s -I INPUT -p tcp --dport 2 -j f2b-offtest' % (save, save))
    fleet.playbook('converge.yml', limit=LEGACY, extra_vars={'single_host_state': 'absent'})
    try:
        for save, persisted in (('iptables', '/etc/iptables/rules.v4'), ('ip6tables', '/etc/iptables/rules.v6')):
            rules = host.check_output('%s -S' % save)
            for chain in ('INPUT', 'FORWARD', 'OUTPUT'):
                assert '-P %s ACCEPT' % chain in rules
            assert '-N TCP' not in rules and '-N UDP' not in rules
            # nothing of ours is persisted any more (at boot: no rules, policies ACCEPT)
            text = host.file(persisted).content_string
            assert '-A TCP' not in text and ':TCP' not in text and 'DROP' not in text, text
            missing = [line for line in foreign if line not in rules]
            assert not missing, (save, missing, rules)
        for family in (4, 6):
            assert probe.probe(CLIENT2, addr(LEGACY, family), 9090).outcome == 'open'    # no source restriction left
    finally:
        fleet.playbook('converge.yml', limit=LEGACY)
        for save in ('iptables', 'ip6tables'):
            host.run('%s -D INPUT -p tcp --dport 2 -j f2b-offtest; %s -X f2b-offtest' % (save, save))
    for family in (4, 6):
        assert probe.probe(CLIENT2, addr(LEGACY, family), 9090).outcome == 'refused'


# ---- issue 11 on single_host-bookworm (last: it converges that host three times): an active ufw is
# refused with nothing changed, stopped with single_host_stop_ufw; the INPUT policy ACCEPT with
# source lists that drop, reject and log.
BOOKWORM = 'single_host-bookworm'
# A stand-in for ufw (the image has no ufw package): a unit named ufw whose start adds a chain of
# ufw's and whose stop removes it only while /etc/ufw/ufw.conf says ENABLED=yes (as ufw-init does).
UFW_UNIT = """[Unit]
Description=Uncomplicated firewall (rampart test stand-in)
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'iptables -N ufw-user-input && iptables -I INPUT -j ufw-user-input && iptables -A ufw-user-input -p tcp --dport 6002 -j ACCEPT'
ExecStop=/bin/sh -c '. /etc/ufw/ufw.conf; [ "$$ENABLED" = yes ] || exit 0; \\
  iptables -D INPUT -j ufw-user-input; iptables -F ufw-user-input; iptables -X ufw-user-input'
[Install]
WantedBy=multi-user.target
"""
FACT = '/etc/ansible/facts.d/rampart_firewall.fact'
FILES = ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6', '/etc/rampart-firewall/rules.v4', '/etc/rampart-firewall/rules.v6')


def snapshot(name):
    host = fleet.host(name)
    return (live(name), live(name, 'ip6tables-save')) + tuple(host.file(f).content_string for f in FILES)


@pytest.fixture(scope='module')
def ufw_active():
    host = fleet.host(BOOKWORM)
    for port in (8080, 9090, 6001):
        probe.serve(BOOKWORM, port)
    for client in (CLIENT, CLIENT2):
        fleet.host(client).run('ip -4 neigh flush all; ip -6 neigh flush all')     # see after_restart
    for family in (4, 6):
        for client in (CLIENT, CLIENT2):
            probe.probe(client, addr(BOOKWORM, family), proto='icmp')
    subprocess.run(['podman', 'exec', '-i', BOOKWORM, 'sh', '-c', 'cat > /usr/lib/systemd/system/ufw.service'],
                   input=UFW_UNIT, text=True, check=True)
    host.check_output('mkdir -p /etc/ufw && printf "ENABLED=yes\\nLOGLEVEL=low\\n" > /etc/ufw/ufw.conf'
                      ' && systemctl daemon-reload && systemctl start ufw && rm -f %s' % FACT)
    yield host
    fleet.playbook('converge.yml', limit=BOOKWORM)          # back to the scenario's rules


def test_active_ufw_is_refused_and_nothing_changes(ufw_active):
    host = ufw_active
    assert host.check_output('systemctl is-active ufw') == 'active'
    assert '-A ufw-user-input' in live(BOOKWORM)
    before = snapshot(BOOKWORM)
    proc = fleet.playbook('converge.yml', limit=BOOKWORM, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    out = proc.stdout + proc.stderr                         # the failed task's message goes to stderr
    assert 'ufw is active' in out and 'single_host_stop_ufw: true' in out, out[-3000:]
    assert recap_changes(proc.stdout)[BOOKWORM] == 0, proc.stdout[-3000:]
    assert snapshot(BOOKWORM) == before
    assert host.check_output('systemctl is-active ufw') == 'active'
    assert not host.file(FACT).exists


ACCEPT_POLICY = {
    'single_host_stop_ufw': True,
    'single_host_input_policy': 'ACCEPT',
    'single_host_source_rules': [
        {'sources': ['10.89.54.22', 'fd89:54::22'], 'proto': 'tcp', 'port': 8080, 'action': 'drop', 'log': True},
        {'sources': ['10.89.54.22', 'fd89:54::22'], 'proto': 'tcp', 'port': 9090, 'action': 'reject'},
        {'sources': ['10.89.54.21', 'fd89:54::21'], 'proto': 'tcp', 'port': 6001, 'action': 'log'},
    ],
    'single_host_log_prefixes': {'SOURCE': 'watched '},
}


@pytest.fixture(scope='module')
def accept_policy(ufw_active):
    fleet.playbook('converge.yml', limit=BOOKWORM, extra_vars=ACCEPT_POLICY)
    return ufw_active


def test_stop_ufw_stops_it(accept_policy):
    host = accept_policy
    assert host.run('systemctl is-active ufw').stdout.strip() == 'inactive'
    assert host.run('systemctl is-enabled ufw').stdout.strip() == 'masked'
    assert 'ENABLED=no' in host.file('/etc/ufw/ufw.conf').content_string
    assert 'ufw-user-input' not in live(BOOKWORM)           # its stop removed ufw's rules
    assert host.file(FACT).exists


@FAMILIES
def test_input_policy_accept_with_source_rules(family, accept_policy):
    host = accept_policy
    save = 'iptables' if family == 4 else 'ip6tables'
    assert '-P INPUT ACCEPT' in host.check_output('%s -S INPUT' % save)
    target = addr(BOOKWORM, family)
    # anything not listed is accepted: a port that is not open answers, a closed one gets the kernel's RST
    assert probe.probe(CLIENT2, target, 6001).outcome == 'open'
    assert probe.probe(CLIENT, target, 2222).outcome == 'refused'
    assert probe.probe(CLIENT, target, 2222, 'udp').outcome == 'refused'
    assert probe.probe(CLIENT, target, 9090).outcome == 'open'
    # client2: dropped (and logged) on 8080, rejected on 9090; client on 8080 is not concerned
    dropped = _log_count(BOOKWORM, save, 'INPUT', 'watched ')
    assert probe.probe(CLIENT2, target, 8080).outcome == 'timeout'
    assert probe.probe(CLIENT2, target, 9090).outcome == 'refused'
    assert probe.probe(CLIENT, target, 8080).outcome == 'open'
    # client on 6001: logged, then accepted
    assert probe.probe(CLIENT, target, 6001).outcome == 'open'
    assert _log_count(BOOKWORM, save, 'INPUT', 'watched ') >= dropped + 2
