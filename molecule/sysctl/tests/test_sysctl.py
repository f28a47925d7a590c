"""rampart.firewall.sysctl_hardening on real kernels (Debian 12 and 13).

The expected values come from the module_utils profiles (loaded from the checkout) and
vars.yml, the settings the converge used."""
import ast
import importlib.util
import json
import os
import time

import pytest
import yaml

import rampart_fleet as fleet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..', '..')
PATH = '/etc/sysctl.d/90-rampart-firewall.conf'
ZZZ = '/etc/sysctl.d/99-zzz.conf'


def _profiles():
    spec = importlib.util.spec_from_file_location(
        'sysctl_profiles', os.path.join(ROOT, 'plugins', 'module_utils', 'sysctl_profiles.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROFILES = _profiles()
with open(os.path.join(HERE, '..', 'vars', 'sysctl.yml')) as handle:
    VARS = yaml.safe_load(handle)
EXPECTED = PROFILES.merge_settings(VARS['sysctl_profile'], VARS['sysctl_settings'])
NAMES = sorted(p['name'] for p in fleet.platforms())


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def live(host, key):
    return ' '.join(host.file('/proc/sys/' + key.replace('.', '/')).content_string.split())


def live_values(host):
    return dict((key, live(host, key)) for key in EXPECTED)


def converge(name):
    fleet.playbook('converge.yml', limit=name)


def test_expected_settings_are_what_the_scenario_means():
    assert EXPECTED['net.ipv4.ip_forward'] == '1'
    assert EXPECTED['net.ipv4.conf.all.rp_filter'] == '2'
    assert EXPECTED['net.ipv4.tcp_rmem'] == '4096 131072 6291456'
    assert EXPECTED['net.ipv6.conf.eth0.accept_ra'] == '2'
    assert 'net.ipv4.icmp_ignore_bogus_error_responses' not in EXPECTED


def test_file_content(name):
    host = fleet.host(name)
    f = host.file(PATH)
    assert f.is_file
    assert f.mode == 0o644
    assert f.user == 'root'
    content = f.content_string
    assert content == PROFILES.render(EXPECTED, 'router')
    lines = content.splitlines()
    assert lines[0].startswith('# Managed by rampart.firewall')
    body = [line for line in lines if not line.startswith('#')]
    assert body[:2] == ['net.ipv4.ip_forward = 1', 'net.ipv6.conf.all.forwarding = 1']
    assert body[2:] == sorted(body[2:])
    assert len(body) == len(EXPECTED)
    # no temporary files were left behind
    assert [n for n in host.check_output('ls -A /etc/sysctl.d').split() if n.startswith('.')] == []


def test_live_values(name):
    assert live_values(fleet.host(name)) == EXPECTED


def test_check_mode_predicts_and_changes_nothing(name):
    host = fleet.host(name)
    host.check_output('echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter')
    try:
        proc = fleet.playbook('converge.yml', '--check', '--diff', limit=name)
        assert 'changed=1' in proc.stdout
        assert '-net.ipv4.conf.all.rp_filter = 0' in proc.stdout
        assert '+net.ipv4.conf.all.rp_filter = 2' in proc.stdout
        assert live(host, 'net.ipv4.conf.all.rp_filter') == '0'
    finally:
        converge(name)
    assert live_values(host) == EXPECTED


def test_later_file_override_is_reported_and_refused_with_on_override_fail(name):
    host = fleet.host(name)
    host.check_output("printf '# a later file\\nnet.ipv4.conf.all.log_martians = 0\\n' > %s" % ZZZ)
    try:
        proc = fleet.playbook('override.yml', limit=name, extra_vars={'zzz_file': ZZZ})
        out = ' '.join((proc.stdout + proc.stderr).split())
        assert 'win at the next boot' in out and ZZZ in out, out[-3000:]
    finally:
        host.check_output('rm -f %s' % ZZZ)
        converge(name)
    assert live_values(host) == EXPECTED


def test_bad_input_fails_and_changes_nothing(name):
    host = fleet.host(name)
    before = host.file(PATH).sha256sum
    # a live value off: a bad input that went ahead would put it back
    host.check_output('echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter')
    try:
        fleet.playbook('bad_inputs.yml', limit=name)
        assert host.file(PATH).sha256sum == before
        assert live(host, 'net.ipv4.conf.all.rp_filter') == '0'
        after = live_values(host)
        assert after == dict(EXPECTED, **{'net.ipv4.conf.all.rp_filter': '0'})
    finally:
        converge(name)
    assert live_values(host) == EXPECTED


def test_read_only_proc_sys_fails_clearly_and_changes_nothing(name):
    host = fleet.host(name)
    before = host.file(PATH).sha256sum
    host.check_output('echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter')
    host.check_output('mount --bind -o ro /proc/sys /proc/sys')
    try:
        try:
            assert host.run('echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter').rc != 0
            fleet.playbook('readonly.yml', limit=name)
        finally:
            host.check_output('umount /proc/sys')
        assert host.file(PATH).sha256sum == before
        assert live(host, 'net.ipv4.conf.all.rp_filter') == '0'
    finally:
        converge(name)
    assert live_values(host) == EXPECTED


def test_check_and_idempotence_after_all_that(name):
    proc = fleet.playbook('converge.yml', limit=name)
    assert 'changed=0' in proc.stdout
    proc = fleet.playbook('converge.yml', '--check', limit=name)
    assert 'changed=0' in proc.stdout


def test_module_examples_work(name, tmp_path):
    source = open(os.path.join(ROOT, 'plugins', 'modules', 'sysctl_hardening.py')).read()
    tree = ast.parse(source)
    examples = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'EXAMPLES'][0]
    tasks = tmp_path / 'examples.yml'
    tasks.write_text(examples)
    try:
        proc = fleet.playbook('examples.yml', limit=name, extra_vars={'examples_file': str(tasks)})
        assert 'failed=0' in proc.stdout
        assert proc.stdout.count('TASK [') == len(yaml.safe_load(examples)) + 1      # + the include_tasks
    finally:
        converge(name)
    assert live_values(fleet.host(name)) == EXPECTED


WINDOW_FILE = '/etc/sysctl.d/91-window.conf'
FORWARDING = ('net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding')


def window_run(name, **extra_vars):
    fleet.playbook('window.yml', limit=name, extra_vars=extra_vars)
    with open('/tmp/rampart-sysctl-window-%s.json' % name) as handle:
        return json.load(handle)


def forward_policies(host):
    return [host.check_output('%s -S FORWARD | head -1' % cmd) for cmd in ('iptables', 'ip6tables')]


def test_kernel_settings_inside_the_window_revert_then_confirm(name):
    """iptables_ruleset option sysctl (issue 22): forwarding goes on inside the window, after the new FORWARD
    rules; left unconfirmed, the timer switches it off again (before the rules come back) and the sysctl.d file
    is not written; the confirmed run writes it; the re-run changes nothing; a change of only a kernel setting
    still goes through a window (and is reverted the same way)."""
    host = fleet.host(name)
    for key in FORWARDING:
        host.check_output('echo 0 > /proc/sys/%s' % key.replace('.', '/'))
    host.check_output('rm -f %s; iptables -P FORWARD ACCEPT; ip6tables -P FORWARD ACCEPT; iptables -F FORWARD; '
                      'ip6tables -F FORWARD' % WINDOW_FILE)
    try:
        # 1. held, never confirmed: applied inside the window, then reverted by the timer
        res = window_run(name, hold=True, window=6)
        assert res['confirmed'] == 'held', res
        assert res['sysctl']['pending'] and not res['sysctl']['live_skipped'], res['sysctl']
        assert [live(host, key) for key in FORWARDING] == ['1', '1']          # on inside the window
        assert forward_policies(host) == ['-P FORWARD DROP'] * 2
        assert not host.file(WINDOW_FILE).exists                              # written only after a confirmation
        time.sleep(res['rollback']['deadline'] - time.time() + 4)
        assert [live(host, key) for key in FORWARDING] == ['0', '0']          # off again
        assert forward_policies(host) == ['-P FORWARD ACCEPT'] * 2
        assert not host.file(WINDOW_FILE).exists
        # 2. confirmed: live, and the file written after the confirmation
        res = window_run(name, window=30)
        assert res['confirmed'] == 'confirmed', res
        assert [live(host, key) for key in FORWARDING] == ['1', '1']
        assert live_values(host) == EXPECTED
        assert host.file(WINDOW_FILE).content_string == PROFILES.render(EXPECTED, VARS['sysctl_profile'])
        assert host.file(WINDOW_FILE).mode == 0o644
        # 3. re-run: nothing to change, no window
        res = window_run(name, window=30)
        assert not res['changed'] and 'rollback' not in res, res
        # 4. only a kernel setting changes (the rules are the same): still a window, reverted unconfirmed
        host.check_output('echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter')
        res = window_run(name, hold=True, window=6)
        assert res['confirmed'] == 'held' and res['sysctl']['live_changed'] == [
            {'key': 'net.ipv4.conf.all.rp_filter', 'before': '0', 'after': '2'}], res
        assert live(host, 'net.ipv4.conf.all.rp_filter') == '2'
        time.sleep(res['rollback']['deadline'] - time.time() + 4)
        assert live(host, 'net.ipv4.conf.all.rp_filter') == '0'
    finally:
        host.check_output('rm -f %s; iptables -P FORWARD ACCEPT; ip6tables -P FORWARD ACCEPT; iptables -F FORWARD; '
                          'ip6tables -F FORWARD' % WINDOW_FILE)
        converge(name)
    assert live_values(host) == EXPECTED


STANDALONE_FILE = '/etc/sysctl.d/92-standalone.conf'
STANDALONE_BEFORE = '# not ours yet\nnet.ipv4.ip_forward = 0\n'


def standalone_run(name, **extra_vars):
    fleet.playbook('standalone_window.yml', limit=name, extra_vars=extra_vars)
    with open('/tmp/rampart-sysctl-standalone-%s.json' % name) as handle:
        return json.load(handle)


def raw_values(host):
    """The bytes of every /proc/sys file of EXPECTED, in one command."""
    paths = ' '.join('/proc/sys/' + key.replace('.', '/') for key in sorted(EXPECTED))
    return host.run('for f in %s; do printf "%%s=" "$f"; cat "$f"; done' % paths).stdout


def test_standalone_module_window_reverts_unconfirmed_then_confirms(name):
    """sysctl_hardening's own window (issue 22): held and never confirmed, its timers restore every previous live
    value (byte for byte) and leave the sysctl.d file as it was (byte for byte); confirmed, the file is written."""
    host = fleet.host(name)
    host.check_output("printf '%s' > %s; chmod 0644 %s" % (STANDALONE_BEFORE.replace('\n', '\\n'), STANDALONE_FILE,
                                                           STANDALONE_FILE))
    for key in FORWARDING + ('net.ipv4.conf.all.rp_filter',):
        host.check_output('echo 0 > /proc/sys/%s' % key.replace('.', '/'))
    before = raw_values(host)
    file_before = host.file(STANDALONE_FILE).content
    try:
        # 1. held, never confirmed: the values change inside the window, then come back; the file is not written
        res = standalone_run(name, hold=True, window=5)
        assert res['confirmed'] == 'held' and res['file_pending'] is True, res
        assert res['rollback']['families'] == ['ipv4', 'ipv6'] and len(res['rollback']['tokens']) == 2, res
        assert [live(host, key) for key in FORWARDING] == ['1', '1']            # on inside the window
        assert live(host, 'net.ipv4.conf.all.rp_filter') == '2'
        assert host.file(STANDALONE_FILE).content == file_before
        time.sleep(res['rollback']['deadline'] - time.time() + 3)
        assert raw_values(host) == before                                       # every value back, byte for byte
        assert host.file(STANDALONE_FILE).content == file_before                # the file as it was
        # 2. confirmed: live, and the file written after the confirmation
        res = standalone_run(name, window=30)
        assert res['confirmed'] == 'confirmed' and res['file_changed'] is True and not res['file_pending'], res
        assert live_values(host) == EXPECTED
        assert host.file(STANDALONE_FILE).content_string == PROFILES.render(EXPECTED, VARS['sysctl_profile'])
        assert host.file(STANDALONE_FILE).mode == 0o644
        # 3. re-run: nothing to change, no window
        res = standalone_run(name, window=30)
        assert not res['changed'] and 'rollback' not in res, res
    finally:
        host.check_output('rm -f %s' % STANDALONE_FILE)
        converge(name)
    assert live_values(host) == EXPECTED


# Last: a restart is a reboot for the container (a new network namespace with default values).
def test_values_are_back_after_podman_restart(name):
    host = fleet.host(name)
    fleet.restart(name)
    host = fleet.host(name)
    assert host.run('systemctl is-active systemd-sysctl').stdout.strip() == 'active'
    assert live_values(host) == EXPECTED
    # the boot applied our file, and nothing is left to change
    proc = fleet.playbook('converge.yml', limit=name)
    assert 'changed=0' in proc.stdout
