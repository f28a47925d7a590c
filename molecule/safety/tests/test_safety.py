"""Confirm-or-revert and the lockout preflight over real SSH (Debian 12 and 13).

The cases run in order on both containers at once; each applies a ruleset over SSH with
molecule/safety/apply.yml (cases 5 to 7: both families in one call, option rulesets, with
apply_families.yml) and then reads the outcome and the host's state through podman.
"""
import json
import re
import time

import pytest

import rampart_fleet as fleet

NAMES = [p['name'] for p in fleet.platforms()]
COUNTERS = re.compile(r'\[\d+:\d+\]')


def live(name):
    out = fleet.host(name).check_output('iptables-save -t filter')
    return '\n'.join(COUNTERS.sub('', line) for line in out.splitlines() if not line.startswith('#'))


def persisted(name):
    return fleet.host(name).file('/etc/iptables/rules.v4').content_string


def both(name):
    """Live filter tables and persisted files of both families (None: no file)."""
    six = fleet.host(name).file('/etc/iptables/rules.v6')
    live6 = fleet.host(name).check_output('ip6tables-save -t filter')
    return (live(name), persisted(name),
            '\n'.join(COUNTERS.sub('', line) for line in live6.splitlines() if not line.startswith('#')),
            six.content_string if six.exists else None)


def apply(rules, playbook='apply.yml', **extra):
    start = time.time()
    fleet.playbook(playbook, extra_vars=dict(rules=rules, **extra))
    took = time.time() - start
    results = {}
    for name in NAMES:
        with open('/tmp/rampart-safety-%s.json' % name) as handle:
            results[name] = json.load(handle)
    return results, took


@pytest.fixture(scope='module')
def baseline():
    return {name: (live(name), persisted(name)) for name in NAMES}


def test_1_preflight_refuses_a_ruleset_without_ssh(baseline):
    results, took = apply('cutoff.v4')
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert 'refusing to apply' in res['msg']
        assert 'INPUT' in res['msg'] and 'policy' in res['msg'].lower(), res['msg']
        assert res['lockout']['safe'] is False
        assert 'rollback' not in res, 'no timer is armed when nothing is applied'
        assert (live(name), persisted(name)) == baseline[name]


def test_2_lockout_check_false_cuts_the_connection_and_the_host_reverts(baseline):
    results, took = apply('cutoff.v4', lockout_check=False, window=10)
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert res['confirmed'] == 'reverted', res
        assert 'restored the previous ruleset' in res['msg']
        assert res['revert']['tables'] == ['filter']
        # measured: from the apply to the host being reachable again (confirm round trip included)
        print('%s: lockout -> reachable again in %.1f s (window 10 s, %s attempts)'
              % (name, res['confirm_seconds'], res['confirm_attempts']))
        assert res['confirm_seconds'] < 10 + 45
        assert (live(name), persisted(name)) == baseline[name], 'live rules and persisted file as before'
    print('playbook wall time with the lockout: %.1f s' % took)


def test_3_good_ruleset_is_confirmed_and_persisted(baseline):
    results, took = apply('good2.v4')
    for name, res in results.items():
        assert res.get('failed') is not True, (res.get('msg'), res.get('confirmed'), res.get('lockout'), res)
        assert res['changed'] is True
        assert res['confirmed'] == 'confirmed'
        assert res['lockout']['status'] == 'safe'
        assert 'safety case 3' in live(name)
        assert 'safety case 3' in persisted(name)
        assert res['persisted'] == '/etc/iptables/rules.v4'
    # the port it opened answers from the other container
    server, client = NAMES
    fleet.listen(server, 8080)
    assert fleet.connect(client, fleet.address(fleet.platforms()[0]), 8080) == 'open'


def test_4_undecidable_block_is_reverted_by_the_timer():
    before = {name: (live(name), persisted(name)) for name in NAMES}
    results, took = apply('recent.v4', window=10)
    for name, res in results.items():
        assert res['lockout']['status'] == 'undecided', res['lockout']
        assert any('recent' in u.get('rule', '') + u.get('reason', '') for u in res['lockout']['undecidable'])
        assert res.get('failed') is True, res
        assert res['confirmed'] == 'reverted'
        assert (live(name), persisted(name)) == before[name]


# Cases 5 to 7: both families in one call (option rulesets, what the roles use), one window.
def apply_families(rules4, rules6, **extra):
    return apply(None, playbook='apply_families.yml', rules4=rules4, rules6=rules6, **extra)


def test_5_rulesets_preflight_refuses_and_touches_neither_family():
    before = {name: both(name) for name in NAMES}
    results, took = apply_families('cutoff.v4', 'good.v6')
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert 'refusing to apply' in res['msg'], res['msg']
        assert res['lockout']['safe'] is False
        assert 'rollback' not in res, 'no timer is armed when nothing is applied'
        assert both(name) == before[name], 'the IPv6 ruleset, fine on its own, was not applied either'


def test_6_rulesets_that_cut_the_session_are_reverted_per_family():
    before = {name: both(name) for name in NAMES}
    results, took = apply_families('cutoff.v4', 'good.v6', lockout_check=False, window=10)
    for name, res in results.items():
        assert res.get('failed') is True, res
        # the answer of the whole call: not confirmed (what each family's timer did is below)
        assert res['confirmed'] != 'confirmed', res
        assert 'restored the previous ruleset' in res['msg'], res['msg']
        # one window, one token and one revert per family
        assert sorted(res['rollback']['families']) == ['ipv4', 'ipv6'], res['rollback']
        assert len(set(res['rollback']['tokens'])) == 2
        for family in ('ipv4', 'ipv6'):
            entry = res['families'][family]
            assert entry['confirmed'] == 'reverted', (family, entry)
            assert entry['revert']['tables'] == ['filter'], (family, entry)
            assert entry['persist_changed'] is False and entry['persisted'] is None
        print('%s: rulesets lockout -> reachable again in %.1f s (window 10 s, %s attempts)'
              % (name, res['confirm_seconds'], res['confirm_attempts']))
        assert res['confirm_seconds'] < 10 + 45
        assert both(name) == before[name], 'live rules and persisted files of both families as before'


def test_7_good_rulesets_are_confirmed_and_persisted_per_family():
    results, took = apply_families('good3.v4', 'good.v6')
    for name, res in results.items():
        assert res.get('failed') is not True, (res.get('msg'), res.get('confirmed'), res)
        assert res['changed'] is True
        assert res['confirmed'] == 'confirmed'
        assert sorted(res['rollback']['families']) == ['ipv4', 'ipv6']
        assert res['families']['ipv4']['lockout']['status'] == 'safe'
        assert res['families']['ipv6']['lockout']['status'] == 'skipped', 'the SSH session runs over IPv4'
        for family, path in (('ipv4', '/etc/iptables/rules.v4'), ('ipv6', '/etc/iptables/rules.v6')):
            entry = res['families'][family]
            assert entry['confirmed'] == 'confirmed', (family, entry)
            assert entry['persisted'] == path
        live4, file4, live6, file6 = both(name)
        assert 'safety case 7' in live4 and 'safety case 7' in file4
        assert 'safety case 7' in live6 and 'safety case 7' in (file6 or '')
    server, client = NAMES
    fleet.listen(server, 8080)
    assert fleet.connect(client, fleet.address(fleet.platforms()[0]), 8080) == 'open'
    # a re-run of the same rulesets changes nothing and arms no window
    results, took = apply_families('good3.v4', 'good.v6')
    for name, res in results.items():
        assert res.get('failed') is not True, res
        assert res['changed'] is False, res
        assert 'rollback' not in res


# Case 8: the task runs through "su -l", which clears the environment as sudo does: the module finds
# SSH_CONNECTION in a parent process (no extra command on the target) and still refuses.
def test_8_preflight_finds_the_session_behind_su(baseline):
    before = {name: (live(name), persisted(name)) for name in NAMES}
    results, took = apply('cutoff.v4', become_su=True)
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert 'refusing to apply' in res['msg'], res['msg']
        assert res['lockout']['safe'] is False
        assert res['lockout']['session']['server_port'] == 22
        assert (live(name), persisted(name)) == before[name]


# Case 9: a granular module (iptables_policy) runs the same preflight: OUTPUT DROP with no rule for
# the session's answers is refused and nothing changes; the policy ACCEPT it already has is no change.
def test_9_granular_policy_that_cuts_the_session_is_refused():
    before = {name: both(name) for name in NAMES}
    results, took = apply(None, playbook='granular.yml', policy='DROP')
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert res['msg'].startswith('refusing to apply'), res['msg']
        assert res['lockout']['safe'] is False and res['changed'] is False
        assert both(name) == before[name]
    results, took = apply(None, playbook='granular.yml', policy='ACCEPT')
    for name, res in results.items():
        assert res.get('failed') is not True and res['changed'] is False, res


# Cases 21 to 24: address sets in the transaction of the rules (issue 22). single_host with SSH open
# only to {set: admins}, built from the inventory group admins (role_sets.yml); the sets go into the
# role's one iptables_ruleset call.
SET_FILES = ('/etc/iptables/rules.v4', '/etc/iptables/rules.v6', '/etc/iptables/ipsets',
             '/etc/rampart-firewall/rules.v4', '/etc/rampart-firewall/rules.v6')


def host_state(name):
    """Everything a refused or reverted run must leave as it was: ipset save (byte for byte),
    iptables-save and ip6tables-save of every table (counters and comment lines left out), and the
    persisted files."""
    host = fleet.host(name)

    def saved(cmd):
        return '\n'.join(COUNTERS.sub('', line) for line in host.check_output(cmd).splitlines() if not line.startswith('#'))
    files = {}
    for path in SET_FILES:
        handle = host.file(path)
        files[path] = handle.content_string if handle.exists else None
    return host.check_output('ipset save'), saved('iptables-save'), saved('ip6tables-save'), files


def role_sets(**extra):
    return apply(None, playbook='role_sets.yml', **extra)


def test_21_role_with_an_inventory_group_set_is_applied_confirmed_and_persisted():
    results, took = role_sets(controller_in=True)
    for name, res in results.items():
        assert res.get('failed') is not True, (res.get('msg'), res)
        families = res.get('families') or {}
        assert families['ipv4']['ipsets']['admins']['method'] in ('create', 'swap', 'none'), families['ipv4']
        controller = fleet.host(name).check_output('ipset save admins')
        assert 'add admins 192.0.2.99' in controller
        assert '--match-set admins src' in fleet.host(name).check_output('iptables-save -t filter')
        assert 'add admins 192.0.2.99' in fleet.host(name).file('/etc/iptables/ipsets').content_string
    again, took = role_sets(controller_in=True)
    for name, res in again.items():
        assert res.get('failed') is not True and res['changed'] is False, res


def test_22_controller_leaving_the_group_is_refused_by_the_preflight():
    before = {name: host_state(name) for name in NAMES}
    results, took = role_sets(controller_in=False)
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert 'refusing to apply' in res['msg'], res['msg']
        assert 'rollback' not in res, 'nothing applied, no window armed'
        assert host_state(name) == before[name], 'sets, rules and files as before'


def test_23_preflight_bypassed_the_window_reverts_sets_and_rules_byte_for_byte():
    before = {name: host_state(name) for name in NAMES}
    results, took = role_sets(controller_in=False, lockout_check=False, window=10)
    for name, res in results.items():
        assert res.get('failed') is True, res
        assert res.get('confirmed') == 'reverted', res
        assert host_state(name) == before[name], 'ipset save, iptables-save and the persisted files as before'
    print('sets in the window: lockout -> reverted, playbook wall time %.1f s' % took)
    # a new connection gets in again: the next run confirms over one
    results, took = role_sets(controller_in=True)
    for name, res in results.items():
        assert res.get('failed') is not True and res['changed'] is False, res


def test_24_set_change_failing_half_way_leaves_every_set_rule_and_file():
    results, took = apply(None, playbook='apply_sets.yml', bad=False)
    for name, res in results.items():
        assert res.get('failed') is not True, (res.get('msg'), res)
    before = {name: host_state(name) for name in NAMES}
    results, took = apply(None, playbook='apply_sets.yml', bad=True)
    for name, res in results.items():
        assert res.get('failed') is True and res['changed'] is False, res
        assert 'Cannot allocate memory' in res['msg'] and 'payload line' in res['msg'], res['msg']
        assert 'the sets were given back their previous content, the rules were not changed' in res['msg'], res['msg']
        assert host_state(name) == before[name], 'every set (ipset save), rule and file as it was'


def test_25_rerun_during_an_open_window_keeps_the_new_ruleset_after_the_deadline():
    """Issue 22, the Ctrl-C case: a run is killed while its window waits for the confirmation; the re-run
    (same ruleset) confirms that window over a new connection, then finds nothing to change; after the first
    window's deadline the new ruleset is still live and persisted, and nothing was reverted."""
    import os
    import signal
    import subprocess
    for name in NAMES:
        try:
            os.unlink('/tmp/rampart-safety-%s.json' % name)
        except OSError:
            pass
    scenario = os.environ['MOLECULE_SCENARIO_DIRECTORY']
    cmd = ['ansible-playbook', '-i', os.environ['MOLECULE_INVENTORY_FILE'], os.path.join(scenario, 'interrupted.yml'),
           '-e', json.dumps({'rules': 'interrupted.v4', 'window': 60})]
    proc = subprocess.Popen(cmd, cwd=scenario, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.time() + 180
        while not all(os.path.exists('/tmp/rampart-safety-%s.json' % name) for name in NAMES):
            assert proc.poll() is None and time.time() < end, 'the interrupted run did not reach its held window'
            time.sleep(0.5)
        time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)     # Ctrl-C: the play ends before any confirmation
        proc.wait()
    first = {}
    for name in NAMES:
        with open('/tmp/rampart-safety-%s.json' % name) as handle:
            res = json.load(handle)
        assert res['confirmed'] == 'held', res
        first[name] = res['rollback']
        assert 'safety case 25' in live(name), 'applied inside the held window'
        assert 'safety case 25' not in persisted(name), 'not persisted before a confirmation'
        assert fleet.host(name).run('test -e /run/rampart-firewall/%s.pending' % res['rollback']['token']).rc == 0
    results, took = apply('interrupted.v4', window=10)
    for name, res in results.items():
        assert res.get('failed') is not True, (res.get('msg'), res)
        assert res.get('earlier_window'), res
        assert 'safety case 25' in persisted(name)
    time.sleep(max(window['deadline'] for window in first.values()) - time.time() + 5)
    for name in NAMES:
        token = first[name]['token']
        assert 'safety case 25' in live(name), 'still live after the first window\'s deadline'
        assert 'safety case 25' in persisted(name)
        host = fleet.host(name)
        assert host.run('test -e /run/rampart-firewall/%s.confirmed' % token).rc == 0
        for state in ('pending', 'reverted', 'reverting', 'failed'):
            assert host.run('test -e /run/rampart-firewall/%s.%s' % (token, state)).rc != 0, (token, state)
