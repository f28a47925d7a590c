"""The roles with address sets from inventory groups: ipset-host becomes a database host that takes
5432 from the group web only (db.yml, single_host). Runs after test_ipset.py (which ends with a reboot).

Check mode first (the sets do not exist yet: the ruleset check accepts them as declared, the run
changes nothing), then the run (sets web and web6, rules, persisted), then a run that changes
nothing; packets from inside and outside the group in both families."""
import re
import subprocess

import probe
import rampart_fleet as fleet

HOST, CLIENT = 'ipset-host', 'ipset-client'
TARGET = {4: '10.89.92.11', 6: 'fd89:92::11'}
IN_GROUP = {4: '10.89.92.21', 6: 'fd89:92::21'}
OUTSIDE = {4: '10.89.92.23', 6: 'fd89:92::23'}


def on(name, *argv):
    return subprocess.run(['podman', 'exec', name] + list(argv), capture_output=True, text=True, check=True).stdout


def recap(proc):
    return re.search(r'ipset-host\s*:\s*ok=\d+\s+changed=(\d+)', proc.stdout).group(1)


def test_check_mode_accepts_declared_sets_and_changes_nothing():
    before = on(HOST, 'ipset', 'list', '-n').split()
    proc = fleet.playbook('db.yml', '--check', limit=HOST)
    assert on(HOST, 'ipset', 'list', '-n').split() == before
    assert 'web' not in before
    assert 'iptables-restore --test was not run, the sets web are declared but not created yet' in ' '.join(
        (proc.stdout + proc.stderr).split())
    assert int(recap(proc)) > 0


def test_database_port_from_the_web_group_in_both_families():
    proc = fleet.playbook('db.yml', limit=HOST)
    assert int(recap(proc)) > 0
    assert on(HOST, 'ipset', 'save', 'web').splitlines()[1:] == ['add web 10.89.92.21']
    assert on(HOST, 'ipset', 'save', 'web6').splitlines()[1:] == ['add web6 fd89:92::21']
    assert '-m set --match-set web src' in on(HOST, 'iptables', '-S', 'TCP')
    assert '-m set --match-set web6 src' in on(HOST, 'ip6tables', '-S', 'TCP')
    saved = on(HOST, 'cat', '/etc/iptables/ipsets')
    assert 'add web 10.89.92.21' in saved and 'add web6 fd89:92::21' in saved
    probe.serve(HOST, 5432)
    for family in (4, 6):
        assert probe.probe(CLIENT, TARGET[family], 5432, 'tcp', source=IN_GROUP[family]).outcome == 'open', family
        assert probe.probe(CLIENT, TARGET[family], 5432, 'tcp', source=OUTSIDE[family]).outcome == 'refused', family
        assert probe.probe(CLIENT, TARGET[family], 22, 'tcp', source=OUTSIDE[family]).outcome == 'open', family


def test_second_run_changes_nothing():
    assert recap(fleet.playbook('db.yml', limit=HOST)) == '0'
