"""The three roles in unprivileged containers (only NET_ADMIN and NET_RAW, /proc/sys read-only),
checked with testinfra and with real packets.

What this proves and what it does not (see docs/testing-with-molecule.md):
- the rules apply, persist and come back after a restart; the hook of another role works;
  the roles' sysctl.d file is written; a second run reports no change;
- kernel settings are NOT applied live here: the roles report them (warning, and the audit's
  sysctl.live_not_settable), and the live values stay what the container started with;
- forwarding is what the container was started with: IPv4 forwarding inherited from the host
  (on a podman host it is on), IPv6 forwarding off, whatever the router profile says.
"""
import json
import os
import subprocess
import tempfile

import pytest

import probe
import rampart_fleet as fleet

PLATFORMS = {p['name']: p for p in fleet.platforms()}
WEB, BASTION, ROUTER = 'unprivileged-web', 'unprivileged-bastion', 'unprivileged-router'
CLIENT, LAN = 'unprivileged-client', 'unprivileged-lan'
OUTSIDE, INSIDE = 'rampart-unprivileged', 'rampart-unprivileged-lan'
FIREWALLS = {WEB: 'host', BASTION: 'host', ROUTER: 'router'}          # name: sysctl profile
FAMILIES = pytest.mark.parametrize('family', [4, 6])
EACH = pytest.mark.parametrize('name', sorted(FIREWALLS))
AUDIT = os.path.join('..', '..', 'playbooks', 'audit.yml')
CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN = 12, 13, 21


def addr(name, family, network=None):
    return fleet.address(PLATFORMS[name], network, family)


def sh(name, cmd, check=True):
    return subprocess.run(['podman', 'exec', name, 'sh', '-c', cmd], capture_output=True, text=True, check=check)


def live(name, key):
    return sh(name, 'cat /proc/sys/%s' % key.replace('.', '/')).stdout.strip()


@pytest.fixture(scope='module', autouse=True)
def servers():
    probe.serve(WEB, 8080)
    probe.serve(WEB, 8081)
    probe.serve(CLIENT, 8080)
    probe.serve(LAN, 80)


@pytest.fixture(scope='module')
def audit():
    """playbooks/audit.yml (the roles in audit mode) against the scenario: its JSON report."""
    with tempfile.NamedTemporaryFile(suffix='.json') as report:
        proc = fleet.playbook(AUDIT, extra_vars={'audit_report_file': report.name})
        with open(report.name) as handle:
            return json.load(handle), proc


# ---- the containers are what users test in ------------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(PLATFORMS))
def test_containers_are_unprivileged(name):
    mounts = sh(name, 'cat /proc/self/mountinfo').stdout.splitlines()
    proc_sys = [line.split() for line in mounts if line.split()[4] == '/proc/sys']
    assert proc_sys and 'ro' in proc_sys[-1][5].split(','), 'expected /proc/sys mounted read-only'
    caps = int([line for line in sh(name, 'cat /proc/1/status').stdout.splitlines() if line.startswith('CapEff:')][0].split()[1], 16)
    assert caps & (1 << CAP_NET_ADMIN) and caps & (1 << CAP_NET_RAW)
    assert not caps & (1 << CAP_SYS_ADMIN), 'the container must not be privileged'


# ---- what works with NET_ADMIN alone ----------------------------------------------------------------------------

@EACH
def test_rules_are_persisted_for_the_boot_service(name):
    host = fleet.host(name)
    assert host.service('netfilter-persistent').is_enabled
    for family in ('v4', 'v6'):
        persisted = host.file('/etc/iptables/rules.%s' % family)
        assert persisted.is_file and '-A INPUT' in persisted.content_string
    assert host.file('/etc/ansible/facts.d/rampart_firewall.fact').is_file


@EACH
def test_sysctl_file_is_written(name):
    conf = fleet.host(name).file('/etc/sysctl.d/90-rampart-firewall.conf')
    assert conf.is_file and conf.mode == 0o644
    forward = '0' if FIREWALLS[name] == 'host' else '1'
    assert 'net.ipv4.ip_forward = %s\n' % forward in conf.content_string
    assert 'net.ipv4.conf.all.rp_filter = 1\n' in conf.content_string


@EACH
def test_the_roles_report_the_settings_they_could_not_apply(name, audit):
    """The audit (roles in audit mode) lists the keys that differ live and cannot be set here,
    without calling it drift; each of them really differs from the file."""
    report, dummy = audit
    sysctl = report[name]['sysctl']
    assert sysctl['drift'] is False and sysctl['file'] is False and sysctl['live'] == []
    assert sysctl['live_not_settable'], 'a container started with the host defaults differs from the profile'
    conf = fleet.host(name).file('/etc/sysctl.d/90-rampart-firewall.conf').content_string
    wanted = dict(line.split(' = ') for line in conf.splitlines() if ' = ' in line and not line.startswith('#'))
    for key in sysctl['live_not_settable']:
        assert live(name, key) != wanted[key], key
    # rp_filter is in every profile and an unprivileged container cannot set it
    if live(name, 'net.ipv4.conf.all.rp_filter') != '1':
        assert 'net.ipv4.conf.all.rp_filter' in sysctl['live_not_settable']


@pytest.mark.parametrize('name', [ROUTER, BASTION])
def test_audit_finds_no_drift_of_the_rules(name, audit):
    report, dummy = audit
    assert report[name]['drift'] is False, report[name]


# ---- single_host, with the hook of the user's role ----------------------------------------------------------------

@FAMILIES
def test_web_opens_ssh_and_the_port_of_the_users_role_only(family):
    target = addr(WEB, family)
    assert probe.probe(CLIENT, target, 8080).outcome == 'open'          # webapp's hook rule
    assert probe.probe(CLIENT, target, 8081).outcome == 'refused'       # listening, but closed: REJECT tail
    ssh = probe.probe(CLIENT, target, 22)
    assert ssh.outcome == 'open' and ssh.data.startswith('SSH-2.0-')
    assert probe.probe(CLIENT, target, 8080, 'udp').outcome == 'refused'       # UDP closed: port unreachable
    assert probe.probe(CLIENT, target, proto='icmp').outcome == 'reply'


def test_web_rules_hold_the_hook_comment():
    assert '--comment webapp' in sh(WEB, 'iptables-save -t filter').stdout.replace('"', '')


# ---- masquerading_router: forwarding as the container was started -----------------------------------------------------

def test_router_forwarding_is_what_the_container_started_with(audit):
    report, dummy = audit
    not_set = report[ROUTER]['sysctl']['live_not_settable']
    for key in ('net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'):
        assert (live(ROUTER, key) != '1') == (key in not_set), key


@FAMILIES
def test_lan_host_reaches_the_wan_through_the_router_when_forwarding_is_on(family):
    key = 'net.ipv4.ip_forward' if family == 4 else 'net.ipv6.conf.all.forwarding'
    result = probe.probe(LAN, addr(CLIENT, family), 8080)
    if live(ROUTER, key) == '1':
        assert result.outcome == 'open'
        assert result.peer == addr(ROUTER, family, OUTSIDE), 'masqueraded: the server must see the router'
    else:
        # forwarding off in this netns and not settable: the router routes nothing of this family
        assert result.outcome != 'open', result


def test_port_forward_from_the_wan_when_forwarding_is_on():
    result = probe.probe(CLIENT, addr(ROUTER, 4, OUTSIDE), 8080)
    if live(ROUTER, 'net.ipv4.ip_forward') == '1':
        assert result.outcome == 'open' and result.peer == addr(CLIENT, 4)
    else:
        assert result.outcome != 'open', result


@FAMILIES
def test_router_offers_ssh_to_the_lan_only(family):
    ssh = probe.probe(LAN, addr(ROUTER, family, INSIDE), 22)
    assert ssh.outcome == 'open' and ssh.data.startswith('SSH-2.0-')
    assert probe.probe(CLIENT, addr(ROUTER, family, OUTSIDE), 22).outcome == 'refused'


# ---- bastion ----------------------------------------------------------------------------------------------------------

@FAMILIES
def test_bastion_ssh_from_the_allow_list_only(family):
    ssh = probe.probe(CLIENT, addr(BASTION, family, OUTSIDE), 22)
    assert ssh.outcome == 'open' and ssh.data.startswith('SSH-2.0-')
    assert probe.probe(WEB, addr(BASTION, family, OUTSIDE), 22).outcome == 'refused'


@FAMILIES
def test_bastion_egress_is_ssh_to_the_internal_network(family):
    ssh = probe.probe(BASTION, addr(LAN, family), 22)
    assert ssh.outcome == 'open' and ssh.data.startswith('SSH-2.0-')
    assert probe.probe(BASTION, addr(LAN, family), 80).outcome in ('timeout', 'denied')
    assert probe.probe(BASTION, addr(CLIENT, family), 22).outcome in ('timeout', 'denied')


# ---- persistence: the rules come back after a restart (last: it restarts the container) -----------------------------

def test_rules_come_back_after_a_restart():
    before = sh(WEB, 'iptables-save -t filter | grep -- "^-A"').stdout
    fleet.restart(WEB)
    after = sh(WEB, 'iptables-save -t filter | grep -- "^-A"').stdout
    assert '--comment webapp' in after.replace('"', '')
    assert sorted(after.splitlines()) == sorted(before.splitlines())
    # the web service is enabled: systemd starts it again; the restarted container has a new MAC
    # address, which the client must learn again before packets reach it
    sh(WEB, 'for i in $(seq 50); do systemctl is-active -q webapp && ss -Htln "sport = :8080" | grep -q . && exit 0; sleep 0.2; done; exit 1')
    sh(CLIENT, 'ip neigh flush all; ip -6 neigh flush all', check=False)
    probe.serve(WEB, 8081)
    for family in (4, 6):
        assert probe.probe(CLIENT, addr(WEB, family), 8080).outcome == 'open'
        assert probe.probe(CLIENT, addr(WEB, family), 8081).outcome == 'refused'
