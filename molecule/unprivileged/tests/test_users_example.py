"""The verify step of docs/testing-with-molecule.md, as a user writes it: testinfra through
molecule's inventory (the ansible backend, any connection), one file check, one service check
and real packets from another container. Runs here against unprivileged-web and
unprivileged-client; copy it as molecule/default/tests/test_default.py."""
import os

import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = RUNNER.get_hosts('single_hosts')        # the hosts given to rampart.firewall.single_host

# Connect from the client: prints open, refused (REJECT, the firewall's answer) or timeout (dropped).
PROBE = '''
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print("open")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("timeout" if isinstance(e, socket.timeout) else repr(e))
'''


def client():
    return testinfra.get_host('ansible://' + RUNNER.get_hosts('clients')[0], ansible_inventory=INVENTORY)


def probe(address, port):
    return client().check_output('python3 -c %s %s %s', PROBE, address, str(port))


def test_rules_are_persisted_and_hold_the_hook_rule(host):
    assert host.service('netfilter-persistent').is_enabled
    rules = host.file('/etc/iptables/rules.v4')
    assert rules.contains('--dport 8080') and rules.contains('webapp')


def test_webapp_runs(host):
    assert host.service('webapp').is_running
    assert host.socket('tcp://:::8080').is_listening


def test_packets(host):
    address = host.check_output('hostname -I').split()[0]         # the first IPv4 address
    assert probe(address, 8080) == 'open'        # opened by the webapp role through the hook
    assert probe(address, 22) == 'open'          # single_host_tcp_ports
    assert probe(address, 9) == 'refused'        # everything else: the REJECT tail of INPUT
