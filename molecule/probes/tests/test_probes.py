"""Confirm by service over real SSH (issue 26): the probes of single_host_confirm_probes decide the
revert window. The cases run in order; each applies single_host on probes-db with apply.yml
(variables overridden with -e) and reads the outcome and the host's state through podman.

Declared (molecule.yml): SSH open from the controller, 5432 open from the web group (sent from
probes-web, delegated, while the window is held open), 5432 closed to the controller, ping answered
(the controller has no ping binary: a raw socket), UDP 53 refused to web (ICMP port unreachable).
"""
import json
import re
import time

import pytest

import rampart_fleet as fleet

DB = 'probes-db'
DB_ADDRESS = '10.89.109.11'
COUNTERS = re.compile(r'\[\d+:\d+\]')
BASE_PORTS = [22, {'port': 5432, 'sources': ['10.89.109.12', 'fd89:109::12'], 'comment': 'postgres from web'}]


def state():
    """Live filter tables and persisted files of both families."""
    host = fleet.host(DB)
    found = []
    for save, path in (('iptables-save', '/etc/iptables/rules.v4'), ('ip6tables-save', '/etc/iptables/rules.v6')):
        live = host.check_output('%s -t filter' % save)
        found.append('\n'.join(COUNTERS.sub('', line) for line in live.splitlines() if not line.startswith('#')))
        found.append(host.file(path).content_string)
    return tuple(found)


def apply(*args, **extra):
    start = time.time()
    proc = fleet.playbook('apply.yml', *args, extra_vars=extra or None)
    with open('/tmp/rampart-probes-%s.json' % DB) as handle:
        outcome = json.load(handle)
    return outcome, time.time() - start, proc


def test_1_converged_with_every_probe_held():
    live4, persisted4 = state()[:2]
    assert 'postgres from web' in live4 and 'postgres from web' in persisted4
    assert fleet.connect('probes-web', DB_ADDRESS, 5432) == 'open'


def test_2_closing_the_declared_port_is_reverted_and_the_probe_named():
    before = state()
    outcome, took, _proc = apply(single_host_tcp_ports=[22])
    assert outcome['failed'] is True, outcome
    msg = outcome['msg']
    assert 'did not hold' in msg and 'not confirmed' in msg, msg
    assert '10.89.109.11:5432/tcp from web: expected open, observed refused' in msg, msg
    assert 'restored the previous rules by itself (reverted)' in msg, msg
    assert outcome['applied']['confirmed'] == 'held', 'the window was held open for the web probe'
    assert state() == before, 'live rules and persisted files as before'
    assert fleet.connect('probes-web', DB_ADDRESS, 5432) == 'open'
    print('reverted by itself after a failing probe from web: %.1f s (window 10 s)' % took)


def test_3_a_controller_probe_decides_too():
    before = state()
    outcome, took, _proc = apply(single_host_tcp_ports=[22, 5432])
    assert outcome['failed'] is True, outcome
    applied = outcome['applied']
    assert applied['confirmed'] == 'reverted', applied
    failing = applied['probes_failing']
    assert failing == ['10.89.109.11:5432/tcp from controller: expected closed, observed open (connected to 10.89.109.11)'], failing
    assert failing[0] in outcome['msg']
    assert state() == before
    print('reverted by itself after a failing controller probe: %.1f s (window 10 s)' % took)


def test_4_check_mode_probes_the_current_rules_and_changes_nothing():
    before = state()
    probes = [{'port': 22}, {'port': 5432, 'from': 'web'}, {'port': 8081, 'from': 'web'}, {'port': 5432, 'expect': 'closed'}]
    outcome, _took, proc = apply('--check', single_host_tcp_ports=[22], single_host_confirm_probes=probes)
    assert outcome['failed'] is False, outcome
    assert 'do not hold now: 10.89.109.11:8081/tcp from web: expected open, observed refused' in proc.stdout, proc.stdout[-3000:]
    assert '5432/tcp from web: expected open' not in proc.stdout, 'the current rules let web in'
    assert state() == before


def test_5_a_change_that_keeps_every_probe_is_confirmed_and_persisted():
    outcome, took, _proc = apply(single_host_tcp_ports=BASE_PORTS + [{'port': 8080, 'comment': 'probes case 5'}])
    assert outcome['failed'] is False, outcome
    assert outcome['applied']['confirmed'] == 'held'
    confirmed = outcome['confirmed']
    assert confirmed['confirmed'] == 'confirmed', confirmed
    assert [w['family'] for w in confirmed['windows']] == ['ipv4', 'ipv6']
    live4, persisted4, live6, persisted6 = state()
    assert 'probes case 5' in live4 and 'probes case 5' in persisted4 and 'probes case 5' in persisted6
    controller = outcome['applied']['probes']
    assert [(p['port'], p['proto'], p['observed'], p['ok']) for p in controller] == [
        (22, 'tcp', 'open', True), (5432, 'tcp', 'refused', True), (None, 'icmp', 'open', True)], controller
    print('confirmed after every probe held: %.1f s' % took)


@pytest.fixture(scope='module', autouse=True)
def back_to_the_declared_state():
    yield
    apply()
