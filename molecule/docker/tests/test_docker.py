"""single_host (tcp 22 only) on a host that runs the real Docker engine, fail2ban and CrowdSec's
firewall bouncer.

The tests run in this order and build on each other: Docker's semantics after the converge,
forwarding whatever the facts say, the neighbours' bans, a container started later, the
restriction of published ports, a reboot, then the off switch (state absent) and on again.
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


def on(name, *argv, check=True):
    return subprocess.run(['podman', 'exec', name] + list(argv), capture_output=True, text=True, check=check).stdout


def recap(proc):
    """The number of changed tasks on the host in a playbook's output."""
    line = [line for line in proc.stdout.splitlines() if line.startswith(HOST) and 'ok=' in line][-1]
    return int(RECAP.search(line).group(1))


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
    role cannot see docker0; the apply's kernel settings (option sysctl; made to change: the file removed, a key
    changed) find Docker on the target. Forwarding stays 1 live, no ip_forward = 0 in the file, the
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
    assert recap(again) == 0, again.stdout[-3000:]
    # The rules do not depend on the facts: the site playbook (facts gathered) changes nothing either.
    assert site() == 0


def test_facts_gathered_before_dockers_first_start():
    """roles: [docker, single_host] with the facts gathered before Docker's first start (no docker0,
    forwarding 0): forwarding is 1 live after the play (Docker switched it on, the role left it), no 0
    is written to sysctl.d, the published port answers and containers reach the outside; a second
    run changes nothing."""
    path = '/etc/sysctl.d/90-rampart-firewall.conf'
    on_host('systemctl', 'stop', 'docker.socket', 'docker')
    on_host('ip', 'link', 'del', 'docker0', check=False)
    on_host('sysctl', '-q', '-w', 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0')
    on_host('rm', '-f', path)
    assert 'docker0' not in on_host('ip', '-o', 'link')
    proc = fleet.playbook('facts_before_docker.yml', limit=HOST)
    assert on_host('sysctl', '-n', 'net.ipv4.ip_forward').strip() == '1'
    assert on_host('sysctl', '-n', 'net.ipv6.conf.all.forwarding').strip() == '1'
    text = on_host('cat', path)
    assert 'ip_forward' not in text and 'all.forwarding' not in text, text
    for family in (4, 6):
        deadline = time.time() + 30
        while published(CLIENT, family) != 'open':
            assert time.time() < deadline, (family, proc.stdout[-3000:])
            time.sleep(1)
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4)
    assert recap(fleet.playbook('facts_before_docker.yml', limit=HOST)) == 0


def test_dockers_rules_are_kept_but_not_persisted():
    forward = on_host('iptables', '-S', 'FORWARD')
    assert '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT' in forward
    assert '-A FORWARD -o docker0 -j DOCKER' in forward
    assert '-P FORWARD DROP' in forward
    # Without docker_published_sources DOCKER-USER is Docker's: kept live with the jump into it
    assert '-A FORWARD -j DOCKER-USER' in forward
    for path in ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        text = on_host('cat', path)
        # nothing of Docker's is persisted
        for word in ('DOCKER', '-o docker0', 'MASQUERADE', 'f2b', '172.17.', 'fd00:d0c'):
            assert word not in text, (path, word)


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


BANNED = '10.89.90.97'


def crowdsec_rules():
    """The bouncer's ban rules in INPUT (IPv4, IPv6)."""
    return ([line for line in on_host('iptables', '-S', 'INPUT').splitlines() if 'crowdsec-blacklists' in line],
            [line for line in on_host('ip6tables', '-S', 'INPUT').splitlines() if 'crowdsec6-blacklists' in line])


def wait_for_crowdsec_ban(timeout=60):
    deadline = time.time() + timeout
    while True:
        v4, v6 = crowdsec_rules()
        members = on_host('ipset', 'list', 'crowdsec-blacklists', check=False)
        if v4 and v6 and BANNED in members:
            return v4, v6
        assert time.time() < deadline, 'no CrowdSec ban: %s %s\n%s\n%s' % (
            v4, v6, members, on_host('systemctl', 'status', 'crowdsec', 'crowdsec-firewall-bouncer', check=False))
        time.sleep(1)


def test_crowdsec_ban_holds_through_two_applies_and_is_not_persisted():
    """CrowdSec's firewall bouncer (Debian's packages, iptables mode): a decision is a member of the set
    crowdsec-blacklists and the bouncer's DROP rule straight in INPUT (crowdsec6-blacklists in IPv6).
    Two applies keep it in place and report no change; nothing of it is persisted."""
    on_host('cscli', 'decisions', 'add', '--ip', BANNED, '--duration', '4h', '--reason', 'rampart test')
    before = wait_for_crowdsec_ban()
    for dummy in range(2):
        assert site() == 0, 'a kept CrowdSec rule made the run report a change'
        assert crowdsec_rules() == before
        assert BANNED in on_host('ipset', 'list', 'crowdsec-blacklists')
    lines = on_host('iptables', '-S', 'INPUT').splitlines()
    assert lines.index(before[0][0]) < lines.index('-A INPUT -i lo -j ACCEPT'), 'the ban stays above our rules'
    for path in ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        assert 'crowdsec' not in on_host('cat', path), path


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
    for tool in ('iptables', 'ip6tables'):
        assert '-A FORWARD -m conntrack --ctstate DNAT -j published' in on_host(tool, '-t', 'mangle', '-S', 'FORWARD'), tool


def test_the_restriction_holds_when_docker_restarts():
    """Docker 20.10 (Debian 12's docker.io) inserts its IPv6 ACCEPTs above FORWARD's jump to DOCKER-USER
    whenever it starts (moby#42477): the restriction lives in mangle FORWARD, which Docker never writes to,
    so it holds in both families with no run of ours after Docker's restart."""
    on_host('systemctl', 'restart', 'docker')
    deadline = time.time() + 60
    while published(CLIENT, 4) != 'open' or published(CLIENT, 6) != 'open':
        assert time.time() < deadline, 'the published port did not answer again after Docker restarted'
        time.sleep(1)
    for family in (4, 6):
        # dropped (a timeout), not refused: the port is up, the check in mangle FORWARD drops CLIENT2
        assert published(CLIENT2, family) == 'timeout', family


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
    # the neighbours' bans are back (their services put them back); they hold through the runs after the
    # restart, and the second of them changes nothing (the first after a reboot may: seen 1 change)
    wait_for_crowdsec_ban()
    assert '-N f2b-sshd' in on_host('iptables', '-S', 'f2b-sshd')   # (its bans may have expired by now: bantime 10 min)
    site({'single_host_docker_published_sources': [addr(CLIENT, 4), addr(CLIENT, 6)]})
    assert site({'single_host_docker_published_sources': [addr(CLIENT, 4), addr(CLIENT, 6)]}) == 0
    wait_for_crowdsec_ban(timeout=5)
    for path in ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        text = on_host('cat', path)
        assert 'crowdsec' not in text and 'f2b' not in text, path


SYSCTL = '/etc/sysctl.d/90-rampart-firewall.conf'


def unpublished():
    """From CLIENT, routed through the host straight to the container's port 81, which Docker does not publish."""
    ip = on_host('docker', 'inspect', 'web', '--format', '{{.NetworkSettings.IPAddress}}').strip()
    on_host('docker', 'exec', '-d', 'web', '/bin/httpd', '-p', '81', '-h', '/www')
    on(CLIENT, 'ip', 'route', 'replace', '172.17.0.0/16', 'via', addr(HOST, 4))
    return probe.probe(CLIENT, ip, 81, 'tcp').outcome


def test_state_absent_leaves_a_docker_host_as_docker_had_it():
    """single_host_state: absent with the restriction of published ports still in the variables: our rules go,
    FORWARD keeps Docker's policy DROP, DOCKER-USER is an empty chain with Docker's jump (so the published
    port answers everyone again), containers reach the outside, a neighbour that routes to a container's
    unpublished port gets nothing; kernel settings and sets are left alone; a second run changes nothing."""
    # the neighbour's route works: with FORWARD open (by hand, a moment) the unpublished port answers
    on_host('iptables', '-P', 'FORWARD', 'ACCEPT')
    try:
        assert unpublished() == 'open'
    finally:
        on_host('iptables', '-P', 'FORWARD', 'DROP')
    assert unpublished() in ('timeout', 'refused')
    on_host('sysctl', '-q', '-w', 'net.ipv4.conf.all.log_martians=0')
    settings = on_host('cat', SYSCTL)
    off = {'single_host_state': 'absent',
           'single_host_docker_published_sources': [addr(CLIENT, 4), addr(CLIENT, 6)]}
    site(off)
    for tool in ('iptables', 'ip6tables'):
        lines = on_host(tool, '-S').splitlines()
        assert '-P INPUT ACCEPT' in lines and '-P OUTPUT ACCEPT' in lines, (tool, lines)
        assert '-P FORWARD DROP' in lines, (tool, lines)
        assert on_host(tool, '-S', 'DOCKER-USER').splitlines() == ['-N DOCKER-USER'], tool
        assert '-A FORWARD -j DOCKER-USER' in lines, tool
        assert not [line for line in lines if line.startswith(('-N TCP', '-N UDP', '-N IN_SSH'))], (tool, lines)
        assert 'published' not in on_host(tool, '-t', 'mangle', '-S'), tool
    for family in (4, 6):
        assert published(CLIENT, family) == 'open', family
        assert published(CLIENT2, family) == 'open', family
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4)
    assert unpublished() in ('timeout', 'refused'), 'FORWARD open: a neighbour reaches an unpublished container port'
    # kernel settings and sets left alone, the neighbours' bans kept
    assert on_host('sysctl', '-n', 'net.ipv4.conf.all.log_martians').strip() == '0'
    assert on_host('cat', SYSCTL) == settings
    assert crowdsec_rules()[0] and '-N f2b-sshd' in on_host('iptables', '-S', 'f2b-sshd')
    persisted = on_host('cat', '/etc/iptables/rules.v4')
    assert ':FORWARD DROP' in persisted and 'crowdsec' not in persisted and 'DOCKER-ISOLATION' not in persisted
    assert site(off) == 0


def test_the_firewall_on_again_after_absent():
    assert site() > 0
    assert on_host('iptables', '-S', 'INPUT').splitlines()[0] == '-P INPUT DROP'
    assert on_host('ip6tables', '-S', 'INPUT').splitlines()[0] == '-P INPUT DROP'
    assert probe.probe(CLIENT, addr(HOST, 4), 2222, 'tcp').outcome == 'refused'
    assert on_host('sysctl', '-n', 'net.ipv4.conf.all.log_martians').strip() == '1'
    for family in (4, 6):
        assert published(CLIENT, family) == 'open', family
        assert published(CLIENT2, family) == 'open', family
    assert egress(CLIENT) == 'peer=%s' % addr(HOST, 4)
    assert unpublished() in ('timeout', 'refused')
    assert crowdsec_rules()[0]
    assert site() == 0
