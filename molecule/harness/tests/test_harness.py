"""The harness's own tests. Each asserts something that breaks when the image or the
podman settings are wrong (no systemd, no iptables-persistent, no shared network)."""
import time

import pytest

import rampart_fleet as fleet

PLATFORMS = fleet.platforms()
NAMES = [p['name'] for p in PLATFORMS]


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def test_systemd_is_pid1_and_running(name):
    host = fleet.host(name)
    assert host.check_output('cat /proc/1/comm') == 'systemd'
    assert host.run('systemctl is-system-running').stdout.strip() in ('running', 'degraded')
    failed = host.run('systemctl --failed --no-legend --plain').stdout.strip()
    assert failed == '', failed


@pytest.mark.parametrize('cmd', ['iptables', 'ip6tables'])
def test_iptables_works(name, cmd):
    host = fleet.host(name)
    out = host.check_output(cmd + '-save -t filter')
    assert ':INPUT ACCEPT' in out
    # the marker the converge added is live in both families
    assert 'rampart-harness-marker' in out


def test_netfilter_persistent_enabled_and_active(name):
    host = fleet.host(name)
    assert host.service('netfilter-persistent').is_enabled
    assert host.run('systemctl is-active netfilter-persistent').stdout.strip() == 'active'


def test_saved_rules_survive_podman_restart(name):
    host = fleet.host(name)
    for path in ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6'):
        assert 'rampart-harness-marker' in host.file(path).content_string
    # Flush the live rules so that only a reload from disk can bring the marker back.
    host.check_output('iptables -F INPUT && ip6tables -F INPUT')
    assert 'rampart-harness-marker' not in host.check_output('iptables-save')
    links = host.check_output('ip -o link show')
    fleet.restart(name)
    host = fleet.host(name)
    # the same MAC addresses, as a rebooted host keeps them (scripts/fleet.py mac_address): else the
    # neighbours' caches point at the old ones and probes right after a restart are lost
    assert [line.split('link/')[1] for line in host.check_output('ip -o link show').splitlines()] == \
        [line.split('link/')[1] for line in links.splitlines()]
    assert 'rampart-harness-marker' in host.check_output('iptables-save -t filter')
    assert 'rampart-harness-marker' in host.check_output('ip6tables-save -t filter')


@pytest.mark.parametrize('family', [4, 6])
def test_tcp_between_containers_on_internal_network(family):
    server, client = PLATFORMS[0], PLATFORMS[1]
    srv = fleet.host(server['name'])
    cli = fleet.host(client['name'])
    port = 5000 + family
    log = '/tmp/nc-%d.log' % family
    srv.run('rm -f %s' % log)
    # -l listen, -v print "Connection received on PEER PORT", -n no DNS
    # netcat-openbsd listens on IPv4 only unless told -6
    srv.check_output("sh -c 'nohup nc -%d -lvn -w 5 %d >%s 2>&1 &'" % (family, port, log))
    time.sleep(0.5)
    target = fleet.address(server, family=family)
    cli.check_output("sh -c 'echo hello-from-%s | nc -N -w 3 %s %d'" % (client['name'], target, port))
    deadline = time.time() + 5
    while time.time() < deadline and 'hello-from' not in srv.file(log).content_string:
        time.sleep(0.2)
    seen = srv.file(log).content_string
    assert 'hello-from-%s' % client['name'] in seen
    assert 'Connection received on %s ' % fleet.address(client, family=family) in seen
