"""single_host (tcp 22 only) on a host that runs the real Docker engine and fail2ban.

The tests run in this order and build on each other: Docker's semantics after the converge,
a container started later, the restriction of published ports, then a reboot.
"""
import re
import subprocess
import time

import probe
import rampart_fleet as fleet

HOST, CLIENT, CLIENT2 = 'docker-host', 'docker-client', 'docker-client2'
PLATFORMS = {p['name']: p for p in fleet.platforms()}
SITE = '../../playbooks/site.yml'
RECAP = re.compile(r'changed=(\d+)')


def addr(name, family):
    return fleet.address(PLATFORMS[name], family=family)


def on_host(*argv, check=True):
    return subprocess.run(['podman', 'exec', HOST] + list(argv), capture_output=True, text=True, check=check).stdout


def site(extra_vars=None):
    """Run the collection's site playbook; returns the number of changed tasks on the host."""
    proc = fleet.playbook(SITE, limit=HOST, extra_vars=extra_vars)
    line = [line for line in proc.stdout.splitlines() if line.startswith(HOST) and 'ok=' in line][-1]
    return int(RECAP.search(line).group(1))


def published(client, family):
    return probe.probe(client, addr(HOST, family), 8080, 'tcp').outcome


def egress(client_name):
    """From the Docker container, a TCP connection to the client's echo server: who does it see?"""
    out = on_host('docker', 'exec', 'web', 'sh', '-c', 'echo hi | nc -w 3 %s 9000' % addr(client_name, 4), check=False)
    return out.strip()


def setup_module():
    probe.serve(CLIENT, 9000)


def test_published_port_answers_after_the_apply_in_both_families():
    for family in (4, 6):
        assert published(CLIENT, family) == 'open', family
        assert published(CLIENT2, family) == 'open', family


def test_our_firewall_is_live_and_closed():
    assert on_host('iptables', '-S', 'INPUT').splitlines()[0] == '-P INPUT DROP'
    assert on_host('ip6tables', '-S', 'INPUT').splitlines()[0] == '-P INPUT DROP'
    assert probe.probe(CLIENT, addr(HOST, 4), 2222, 'tcp').outcome == 'refused'
    assert probe.probe(CLIENT, addr(HOST, 6), 2222, 'tcp').outcome == 'refused'


def test_containers_reach_the_outside_masqueraded():
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4)


def test_forwarding_stays_on():
    assert on_host('sysctl', '-n', 'net.ipv4.ip_forward').strip() == '1'
    assert on_host('sysctl', '-n', 'net.ipv6.conf.all.forwarding').strip() == '1'
    text = on_host('cat', '/etc/sysctl.d/90-rampart-firewall.conf', check=False)
    assert 'ip_forward' not in text and 'all.forwarding' not in text


def test_forwarding_stays_on_when_the_facts_do_not_show_docker():
    """gather_facts: false (like roles: [docker, single_host] with facts from before Docker started): the
    role cannot see docker0; the sysctl task (made to run: its file removed, a key changed) and the apply's
    sysctl_check find Docker on the target. Forwarding stays 1 live, no ip_forward = 0 in the file, the
    published port answers, and the second run changes nothing."""
    path = '/etc/sysctl.d/90-rampart-firewall.conf'
    on_host('rm', '-f', path)
    on_host('sysctl', '-q', '-w', 'net.ipv4.conf.all.log_martians=0')
    fleet.playbook('no_facts.yml', limit=HOST)
    assert on_host('sysctl', '-n', 'net.ipv4.ip_forward').strip() == '1'
    assert on_host('sysctl', '-n', 'net.ipv6.conf.all.forwarding').strip() == '1'
    text = on_host('cat', path)   # written again: the sysctl task ran
    assert 'ip_forward' not in text and 'all.forwarding' not in text and 'log_martians = 1' in text
    assert published(CLIENT, 4) == 'open' and published(CLIENT, 6) == 'open'
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4)
    again = fleet.playbook('no_facts.yml', limit=HOST)
    line = [line for line in again.stdout.splitlines() if line.startswith(HOST) and 'ok=' in line][-1]
    assert int(RECAP.search(line).group(1)) == 0, again.stdout[-3000:]
    # Without facts the role's rules do not own DOCKER-USER (the rules still follow the facts): the
    # site playbook puts the converged state back for the tests below.
    site()


def test_dockers_rules_are_kept_but_not_persisted():
    forward = on_host('iptables', '-S', 'FORWARD')
    assert '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT' in forward
    assert '-A FORWARD -o docker0 -j DOCKER' in forward
    assert '-P FORWARD DROP' in forward
    for path in ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        text = on_host('cat', path)
        # DOCKER-USER is the role's own (it holds the restriction of published ports); nothing of Docker's is persisted
        for word in (':DOCKER ', 'DOCKER-ISOLATION', '-j DOCKER\n', '-o docker0', 'MASQUERADE', 'f2b', '172.17.', 'fd00:d0c'):
            assert word not in text, (path, word)
        assert '-A FORWARD -j DOCKER-USER' in text, path


def test_fail2ban_ban_holds_through_two_applies():
    for dummy in range(2):
        site()
        assert '-A f2b-sshd -s 10.89.90.99/32 -j REJECT' in on_host('iptables', '-S', 'f2b-sshd')
    assert on_host('fail2ban-client', 'status', 'sshd').count('10.89.90.99') == 1


def test_fail2ban_ipset_ban_holds_through_two_applies_and_is_not_persisted():
    """The iptables-ipset-proto6-allports action: a rule straight in INPUT matching f2b-sshd-ipset (preserve_sets)."""
    for dummy in range(2):
        assert site() == 0, 'a kept ban rule made the run report a change'
        assert '-m set --match-set f2b-sshd-ipset src -j REJECT' in on_host('iptables', '-S', 'INPUT')
        assert '-m set --match-set f2b-sshd-ipset6 src -j REJECT' in on_host('ip6tables', '-S', 'INPUT')
    lines = on_host('iptables', '-S', 'INPUT').splitlines()
    ban = [i for i, line in enumerate(lines) if 'f2b-sshd-ipset' in line][0]
    assert ban < lines.index('-A INPUT -i lo -j ACCEPT'), 'the ban stays above our rules'
    assert '10.89.90.98' in on_host('ipset', 'list', 'f2b-sshd-ipset')
    for path in ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        assert 'match-set' not in on_host('cat', path), path


def test_a_container_started_after_the_apply_changes_nothing():
    on_host('docker', 'run', '-d', '--name', 'late', '-p', '8081:80', 'rampart/busybox', '/bin/httpd', '-f', '-p', '80', '-h', '/www')
    try:
        assert probe.probe(CLIENT, addr(HOST, 4), 8081, 'tcp').outcome == 'open'
        assert site() == 0, 'a container started after the apply made the next run report a change'
        assert probe.probe(CLIENT, addr(HOST, 4), 8081, 'tcp').outcome == 'open'
    finally:
        on_host('docker', 'rm', '-f', 'late', check=False)


def test_published_ports_restricted_to_sources_in_both_families():
    site({'single_host_docker_published_sources': [addr(CLIENT, 4), addr(CLIENT, 6)]})
    for family in (4, 6):
        assert published(CLIENT, family) == 'open', family
        assert published(CLIENT2, family) in ('timeout', 'refused'), family
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4), 'egress of containers is not restricted'
    # idempotent with the restriction
    assert site({'single_host_docker_published_sources': [addr(CLIENT, 4), addr(CLIENT, 6)]}) == 0


def test_reboot_restores_everything():
    started = time.time()
    fleet.restart(HOST)
    deadline = time.time() + 90
    while on_host('systemctl', 'is-active', 'docker', check=False).strip() != 'active' or \
            'web' not in on_host('docker', 'ps', '--format', '{{.Names}}', check=False):
        assert time.time() < deadline, 'docker did not come back'
        time.sleep(1)
    deadline = time.time() + 45
    while published(CLIENT, 4) != 'open' or published(CLIENT, 6) != 'open':
        assert time.time() < deadline, 'the published port did not answer again after the reboot in both families:\n%s\n%s\n%s' % (
            on_host('ip6tables-save', check=False), on_host('sysctl', 'net.ipv6.conf.all.forwarding', check=False),
            on_host('docker', 'inspect', 'web', '--format', '{{.NetworkSettings.GlobalIPv6Address}}', check=False))
        time.sleep(1)
    print('\nreboot -> published port answers (IPv4 and IPv6) in %.1f s' % (time.time() - started))
    assert on_host('iptables', '-S', 'INPUT').splitlines()[0] == '-P INPUT DROP'
    assert on_host('ip6tables', '-S', 'INPUT').splitlines()[0] == '-P INPUT DROP'
    assert published(CLIENT, 6) == 'open'
    # the restriction of the last run was persisted and holds after the reboot
    assert published(CLIENT2, 4) in ('timeout', 'refused')
    assert published(CLIENT2, 6) in ('timeout', 'refused')
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4)
    assert on_host('sysctl', '-n', 'net.ipv4.ip_forward').strip() == '1'
