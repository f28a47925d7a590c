# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the sysctl profiles and the sysctl.d machinery (pure functions)."""

from __future__ import annotations

import ast
import os

import pytest
import yaml

from ansible_collections.rampart.firewall.plugins.module_utils import sysctl_profiles as sp
from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import (
    COMMON,
    PROFILES,
    SettingsError,
    apply_order,
    boot_position,
    find_overrides,
    is_forwarding_key,
    load_order,
    merge_settings,
    normalize_value,
    parse_sysctl_conf,
    readonly_mount,
    render,
    sysctl_path,
    validate_key,
    values_equal,
)

MODULE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules', 'sysctl_hardening.py')


# ---- profiles --------------------------------------------------------------------------------

def test_profiles_hold_the_hardening_keys_of_the_seed_documents():
    for profile in ('host', 'router'):
        settings = PROFILES[profile]
        for key, value in (('net.ipv4.conf.all.rp_filter', '1'), ('net.ipv4.conf.default.rp_filter', '1'),
                           ('net.ipv4.tcp_syncookies', '1'),
                           ('net.ipv4.icmp_echo_ignore_broadcasts', '1'), ('net.ipv4.icmp_ignore_bogus_error_responses', '1')):
            assert settings[key] == value
        for scope in ('all', 'default'):
            for family in ('ipv4', 'ipv6'):
                assert settings['net.%s.conf.%s.accept_redirects' % (family, scope)] == '0'
                assert settings['net.%s.conf.%s.accept_source_route' % (family, scope)] == '0'
            assert settings['net.ipv4.conf.%s.secure_redirects' % scope] == '0'
            assert settings['net.ipv4.conf.%s.send_redirects' % scope] == '0'
            assert settings['net.ipv4.conf.%s.log_martians' % scope] == '1'
    assert PROFILES['host']['net.ipv4.ip_forward'] == '0'
    assert PROFILES['host']['net.ipv6.conf.all.forwarding'] == '0'
    assert PROFILES['router']['net.ipv4.ip_forward'] == '1'
    assert PROFILES['router']['net.ipv6.conf.all.forwarding'] == '1'
    # the two profiles differ in forwarding only, and neither touches accept_ra (see the docs)
    assert set(PROFILES['host']) == set(PROFILES['router']) == set(COMMON) | {'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'}
    assert not any('accept_ra' in k for p in PROFILES.values() for k in p)


def test_profile_values_are_strings_and_keys_valid():
    for settings in PROFILES.values():
        for key, value in settings.items():
            assert validate_key(key) == key
            assert isinstance(value, str) and normalize_value(key, value) == value


def _documentation():
    with open(MODULE) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == 'DOCUMENTATION':
            return yaml.safe_load(node.value.value)
    raise AssertionError('no DOCUMENTATION')


def test_module_documentation_lists_every_profile_setting():
    doc = _documentation()
    text = '\n'.join(doc['description'])
    for key, value in COMMON.items():
        assert 'C(%s=%s)' % (key, value) in text, key
    host = [line for line in doc['description'] if line.startswith('Profile V(host)')]
    router = [line for line in doc['description'] if line.startswith('Profile V(router)')]
    assert len(host) == len(router) == 1
    for key in set(PROFILES['host']) - set(COMMON):
        assert 'C(%s=%s)' % (key, PROFILES['host'][key]) in host[0]
        assert 'C(%s=%s)' % (key, PROFILES['router'][key]) in router[0]
    assert doc['options']['profile']['choices'] == sorted(PROFILES)


# ---- merge and validation ----------------------------------------------------------------------

def test_merge_adds_overrides_and_removes():
    merged = merge_settings('router', {'net.ipv4.conf.all.rp_filter': 2, 'net.ipv4.tcp_rmem': '4096\t131072   6291456',
                                       'net.ipv4.conf.all.log_martians': None, 'net.ipv6.conf.eth0.accept_ra': '2'})
    assert merged['net.ipv4.conf.all.rp_filter'] == '2'
    assert merged['net.ipv4.tcp_rmem'] == '4096 131072 6291456'
    assert 'net.ipv4.conf.all.log_martians' not in merged
    assert merged['net.ipv6.conf.eth0.accept_ra'] == '2'
    assert merged['net.ipv4.ip_forward'] == '1'
    assert list(merged) == sorted(merged)
    # the profile data is not modified
    assert PROFILES['router']['net.ipv4.conf.all.rp_filter'] == '1'
    assert merge_settings('host') == dict(sorted(PROFILES['host'].items()))


def test_removing_a_key_that_is_not_there_is_fine():
    assert merge_settings('host', {'kernel.nothing_here': None}) == merge_settings('host')


@pytest.mark.parametrize('key', [
    'ip_forward', 'Net.ipv4.ip_forward', 'net..ipv4', 'net.ipv4.', '.net.ipv4', 'net/ipv4/ip_forward',
    'net.ipv4.ip forward', 'net.ipv4.ip_forward\n', 'net.ipv4.conf.eth0/100.rp_filter', '', 'net.ipv4.*.rp_filter', 5,
])
def test_bad_keys_are_named(key):
    with pytest.raises(SettingsError) as info:
        merge_settings('host', {key: '1'})
    assert repr(key) in str(info.value)
    assert 'Nothing was changed' in str(info.value)


@pytest.mark.parametrize('value,words', [
    ('1\nkernel.panic = 1', ['newline', 'net.ipv4.ip_forward']),
    ('1\r', ['carriage return']),
    ('1\0', ['NUL']),
    ('', ['empty']),
    ('   ', ['empty']),
    (True, ['bool', '0 or 1']),
    (1.5, ['float']),
    ([1, 2], ['list']),
    ({'a': 1}, ['dict']),
])
def test_bad_values_are_named(value, words):
    with pytest.raises(SettingsError) as info:
        merge_settings('host', {'net.ipv4.ip_forward': value})
    for word in words:
        assert word in str(info.value)


def test_key_with_dash_and_uppercase_after_first_part():
    assert merge_settings('host', {'net.bridge.bridge-nf-call-iptables': 1, 'net.ipv4.conf.eNp3s0.rp_filter': 2})[
        'net.bridge.bridge-nf-call-iptables'] == '1'


def test_unknown_profile():
    with pytest.raises(SettingsError) as info:
        merge_settings('laptop')
    assert 'laptop' in str(info.value) and 'host, router' in str(info.value)


# ---- render ------------------------------------------------------------------------------------

def test_render_header_sorted_lines_forwarding_first_and_optional_keys():
    text = render({'net.ipv4.ip_forward': '1', 'kernel.x': '2', 'net.b': '3 4', 'net.ipv4.conf.all.accept_redirects': '0',
                   'net.ipv6.conf.all.forwarding': '1'}, 'router', optional=['net.b'])
    lines = text.splitlines()
    assert lines[0].startswith('# Managed by rampart.firewall')
    assert 'profile router' in lines[0]
    assert lines[1].startswith('#')
    assert lines[2:] == ['net.ipv4.ip_forward = 1', 'net.ipv6.conf.all.forwarding = 1',
                         'kernel.x = 2', '-net.b = 3 4', 'net.ipv4.conf.all.accept_redirects = 0']
    assert text.endswith('\n')


def test_render_round_trips_through_the_parser():
    settings = merge_settings('router', {'net.ipv4.tcp_rmem': '4096 131072 6291456'})
    parsed = parse_sysctl_conf(render(settings, 'router'))
    assert dict((p['key'], p['value']) for p in parsed) == settings
    assert not any(p['ignore_errors'] for p in parsed)


# ---- sysctl.conf syntax ----------------------------------------------------------------------

def test_parse_sysctl_conf_syntax():
    text = '\n'.join([
        '# comment',
        '   ; another comment',
        '',
        'net.ipv4.ip_forward=1',
        '  net.ipv4.conf.all.rp_filter   =   2  ',
        '-net.ipv4.conf.all.log_martians = 0',
        '- net.ipv4.tcp_syncookies = 0',
        'kernel/domainname = example.com',
        'net.ipv4.conf.enp3s0/200.forwarding = 1',
        'net.ipv4.conf.*.rp_filter = 2',
        '-net.ipv4.conf.all.accept_redirects',
        'not an assignment',
        'net.ipv4.tcp_rmem = 4096\t87380 6291456',
        'kernel.core_pattern = |/bin/x # not a comment',
        'key.empty =',
        ' = 5',
    ])
    parsed = parse_sysctl_conf(text)
    got = [(p['key'], p['path'], p['value'], p['ignore_errors'], p['glob'], p['lineno']) for p in parsed]
    assert got == [
        ('net.ipv4.ip_forward', 'net/ipv4/ip_forward', '1', False, False, 4),
        ('net.ipv4.conf.all.rp_filter', 'net/ipv4/conf/all/rp_filter', '2', False, False, 5),
        ('net.ipv4.conf.all.log_martians', 'net/ipv4/conf/all/log_martians', '0', True, False, 6),
        ('net.ipv4.tcp_syncookies', 'net/ipv4/tcp_syncookies', '0', True, False, 7),
        ('kernel/domainname', 'kernel/domainname', 'example.com', False, False, 8),
        ('net.ipv4.conf.enp3s0/200.forwarding', 'net/ipv4/conf/enp3s0.200/forwarding', '1', False, False, 9),
        ('net.ipv4.conf.*.rp_filter', 'net/ipv4/conf/*/rp_filter', '2', False, True, 10),
        ('net.ipv4.conf.all.accept_redirects', 'net/ipv4/conf/all/accept_redirects', None, True, False, 11),
        ('net.ipv4.tcp_rmem', 'net/ipv4/tcp_rmem', '4096\t87380 6291456', False, False, 13),
        ('kernel.core_pattern', 'kernel/core_pattern', '|/bin/x # not a comment', False, False, 14),
        ('key.empty', 'key/empty', '', False, False, 15),
    ]


@pytest.mark.parametrize('key,path', [
    ('net.ipv4.ip_forward', 'net/ipv4/ip_forward'),
    ('net/ipv4/ip_forward', 'net/ipv4/ip_forward'),
    ('net/ipv4/conf/eth0.100/rp_filter', 'net/ipv4/conf/eth0.100/rp_filter'),
    ('net.ipv4.conf.eth0/100.rp_filter', 'net/ipv4/conf/eth0.100/rp_filter'),
    ('/net//ipv4/ip_forward/', 'net/ipv4/ip_forward'),
    ('kernel', 'kernel'),
])
def test_sysctl_path(key, path):
    assert sysctl_path(key) == path


# ---- load order ----------------------------------------------------------------------------------

def test_load_order_sorts_by_name_and_etc_masks():
    entries = [
        ('/usr/lib/sysctl.d', '50-default.conf'),
        ('/usr/lib/sysctl.d', '99-protect-links.conf'),
        ('/etc/sysctl.d', '99-sysctl.conf'),
        ('/etc/sysctl.d', '50-default.conf'),          # masks /usr/lib's
        ('/run/sysctl.d', '50-default.conf'),
        ('/run/sysctl.d', '10-run.conf'),
        ('/usr/local/lib/sysctl.d', '10-run.conf'),     # masked by /run
        ('/lib/sysctl.d', '05-lib.conf'),
        ('/etc/sysctl.d', 'README.sysctl'),             # not *.conf
        ('/etc', 'sysctl.conf'),
        ('/opt/sysctl.d', '00-elsewhere.conf'),         # not a directory read at boot
    ]
    assert load_order(entries) == [
        '/lib/sysctl.d/05-lib.conf',
        '/run/sysctl.d/10-run.conf',
        '/etc/sysctl.d/50-default.conf',
        '/usr/lib/sysctl.d/99-protect-links.conf',
        '/etc/sysctl.d/99-sysctl.conf',
        '/etc/sysctl.conf',
    ]


def test_load_order_without_sysctl_conf_and_order_of_entries_does_not_matter():
    entries = [('/usr/lib/sysctl.d/', 'a.conf'), ('/etc/sysctl.d', 'a.conf'), ('/run/sysctl.d', 'b.conf')]
    assert load_order(entries) == load_order(list(reversed(entries))) == ['/etc/sysctl.d/a.conf', '/run/sysctl.d/b.conf']


def test_load_order_names_sort_bytewise():
    entries = [('/etc/sysctl.d', n) for n in ('a.conf', 'B.conf', '10-x.conf', '9-y.conf', '99-zzz.conf', '90-rampart-firewall.conf')]
    assert [p.rsplit('/', 1)[1] for p in load_order(entries)] == [
        '10-x.conf', '9-y.conf', '90-rampart-firewall.conf', '99-zzz.conf', 'B.conf', 'a.conf']


def test_load_order_custom_dirs():
    entries = [('/tmp/x/etc', 'b.conf'), ('/tmp/x/usr', 'a.conf'), ('/tmp/x/usr', 'b.conf'), ('/tmp/x', 'sysctl.conf')]
    assert load_order(entries, ('/tmp/x/etc', '/tmp/x/usr'), '/tmp/x/sysctl.conf') == [
        '/tmp/x/usr/a.conf', '/tmp/x/etc/b.conf', '/tmp/x/sysctl.conf']


def test_boot_position_loaded_new_file():
    entries = [('/etc/sysctl.d', '99-sysctl.conf'), ('/usr/lib/sysctl.d', '50-pid-max.conf'), ('/etc', 'sysctl.conf')]
    state, other, later = boot_position('/etc/sysctl.d/90-rampart-firewall.conf', entries)
    assert (state, other) == ('loaded', None)
    assert later == ['/etc/sysctl.d/99-sysctl.conf', '/etc/sysctl.conf']


def test_boot_position_masked():
    entries = [('/etc/sysctl.d', '90-x.conf'), ('/usr/lib/sysctl.d', '95-y.conf')]
    state, other, later = boot_position('/run/sysctl.d/90-x.conf', entries)
    assert (state, other) == ('masked', '/etc/sysctl.d/90-x.conf')
    assert later == ['/etc/sysctl.d/90-x.conf', '/usr/lib/sysctl.d/95-y.conf']


@pytest.mark.parametrize('path', ['/etc/sysctl.d/90-x.txt', '/opt/sysctl/90-x.conf'])
def test_boot_position_ignored(path):
    entries = [('/usr/lib/sysctl.d', '10-a.conf')]
    assert boot_position(path, entries) == ('ignored', None, ['/usr/lib/sysctl.d/10-a.conf'])


def test_boot_position_of_sysctl_conf_itself_is_last():
    entries = [('/etc/sysctl.d', '99-zzz.conf'), ('/etc', 'sysctl.conf')]
    assert boot_position('/etc/sysctl.conf', entries) == ('loaded', None, [])


def test_boot_position_own_file_already_present():
    entries = [('/etc/sysctl.d', '90-rampart-firewall.conf'), ('/etc/sysctl.d', '99-zzz.conf'), ('/etc/sysctl.d', '10-a.conf')]
    assert boot_position('/etc/sysctl.d/90-rampart-firewall.conf', entries)[2] == ['/etc/sysctl.d/99-zzz.conf']


# ---- overrides -----------------------------------------------------------------------------------

def test_find_overrides_last_assignment_wins():
    desired = {'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.ip_forward': '1', 'net.ipv4.tcp_rmem': '4096 131072 6291456',
               'net.ipv4.conf.all.log_martians': '1', 'net.ipv4.conf.all.accept_redirects': '0'}
    later = [
        ('/etc/sysctl.d/95-a.conf', 'net.ipv4.conf.all.rp_filter = 0\nnet.ipv4.ip_forward = 0\n'),
        ('/etc/sysctl.d/99-b.conf', '# back to ours\nnet/ipv4/ip_forward = 01\nnet.ipv4.tcp_rmem = 4096\t131072  6291456\n'
                                    'net.ipv4.conf.*.log_martians = 0\n-net.ipv4.conf.all.accept_redirects\n'),
        ('/etc/sysctl.conf', '#net.ipv4.conf.all.rp_filter=1\n;net.ipv4.ip_forward=0\n'),
    ]
    assert find_overrides(desired, later) == [
        {'key': 'net.ipv4.conf.all.accept_redirects', 'ours': '0', 'theirs': None, 'file': '/etc/sysctl.d/99-b.conf'},
        {'key': 'net.ipv4.conf.all.rp_filter', 'ours': '1', 'theirs': '0', 'file': '/etc/sysctl.d/95-a.conf'},
    ]


def test_find_overrides_later_file_resetting_to_ours_is_no_override():
    desired = {'net.ipv4.conf.all.rp_filter': '1'}
    later = [('/a.conf', 'net.ipv4.conf.all.rp_filter = 0\n'), ('/b.conf', '-net.ipv4.conf.all.rp_filter = 1\n')]
    assert find_overrides(desired, later) == []


def test_find_overrides_nothing_later():
    assert find_overrides({'net.ipv4.ip_forward': '1'}, []) == []


# ---- values ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('ours,theirs,equal', [
    ('1', '1\n', True),
    ('1', '01', True),
    ('1', '2', False),
    ('4096 131072 6291456', '4096\t131072\t6291456\n', True),
    ('4096 131072 6291456', '4096 131072', False),
    ('|/usr/lib/x %p', '|/usr/lib/x %p\n', True),
    ('abc', 'abd', False),
    ('-1', '-01', True),
    ('', '', True),
])
def test_values_equal(ours, theirs, equal):
    assert values_equal(ours, theirs) is equal


def test_apply_order_puts_forwarding_first():
    keys = ['net.ipv4.conf.all.accept_redirects', 'net.ipv6.conf.all.forwarding', 'net.ipv4.ip_forward', 'kernel.a',
            'net.ipv4.conf.eth0.forwarding', 'net.ipv4.conf.all.mc_forwarding']
    assert apply_order(keys) == ['net.ipv4.conf.eth0.forwarding', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding',
                                 'kernel.a', 'net.ipv4.conf.all.accept_redirects', 'net.ipv4.conf.all.mc_forwarding']
    assert is_forwarding_key('net.ipv4.ip_forward')
    assert not is_forwarding_key('net.ipv4.ip_forward_use_pmtu')


# ---- mount flags -----------------------------------------------------------------------------------

PRIVILEGED = '''76 75 0:43 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
54 76 0:55 / /proc/sys/fs/binfmt_misc rw,relatime - autofs systemd-1 rw,fd=35
'''
UNPRIVILEGED = '''70 69 0:50 / / rw,relatime - overlay overlay rw
76 70 0:43 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
53 76 0:43 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
'''
LXC = UNPRIVILEGED + '''90 53 0:43 /sys/net /proc/sys/net rw,nosuid,nodev,noexec,relatime - proc proc rw
'''
SHADOWED = UNPRIVILEGED + '''91 53 0:43 /sys /proc/sys rw,nosuid,nodev,noexec,relatime - proc proc rw
'''
SPACES = '''1 0 0:1 / / rw - ext4 /dev/sda rw
2 1 0:2 / /tmp/a\\040b ro - tmpfs tmpfs rw
'''


@pytest.mark.parametrize('mountinfo,path,expected', [
    (PRIVILEGED, '/proc/sys/net/ipv4/ip_forward', None),
    (UNPRIVILEGED, '/proc/sys/net/ipv4/ip_forward', '/proc/sys'),
    (UNPRIVILEGED, '/proc/sysfoo/x', None),
    (LXC, '/proc/sys/net/ipv4/ip_forward', None),
    (LXC, '/proc/sys/kernel/panic', '/proc/sys'),
    (SHADOWED, '/proc/sys/kernel/panic', None),
    (SPACES, '/tmp/a b/c', '/tmp/a b'),
    ('', '/proc/sys/x', None),
])
def test_readonly_mount(mountinfo, path, expected):
    assert readonly_mount(mountinfo, path) == expected


def test_module_utils_is_pure():
    with open(sp.__file__) as handle:
        source = handle.read()
    assert 'AnsibleModule' not in source.replace('no AnsibleModule', '')
    assert 'open(' not in source


# ---- the file the module may write (issue 10, finding 11) --------------------------------------------

@pytest.mark.parametrize('path', [
    '/etc/sysctl.d/90-rampart-firewall.conf',
    '/run/sysctl.d/90-rampart-firewall.conf',
    '/etc/sysctl.d/a.conf',
    '/etc/sysctl.d/60-x_y.z@eth0+1.conf',
])
def test_check_path_accepts(path):
    assert sp.check_path(path) is None


@pytest.mark.parametrize('path,words', [
    ('/etc/sysctl.d/../passwd', ['"/etc/sysctl.d/../passwd"', '..']),
    ('/etc/sysctl.d/../sysctl.d/x.conf', ['..']),
    ('/etc/sysctl.d/..', ['..']),
    ('/etc/sysctl.d/x\x00.conf', ['"/etc/sysctl.d/x\\x00.conf"', 'control']),
    ('/etc/sysctl.d/x\n.conf', ['\\n']),
    ('/etc/sysctl.d/x\x1b.conf', ['\\x1b']),
    ('/etc/sysctl.d/x\u2028.conf', ['\\u2028']),
    ('/etc/sysctl.d/x .conf', ['blank']),
    ('/usr/lib/sysctl.d/x.conf', ['is not a file of', '/etc/sysctl.d/NAME.conf']),
    ('/lib/sysctl.d/x.conf', ['is not a file of']),
    ('/etc/sysctl.conf', ['is not a file of']),
    ('/etc/passwd', ['is not a file of']),
    ('etc/sysctl.d/x.conf', ['is not a file of']),
    ('x.conf', ['is not a file of']),
    ('/etc/sysctl.d//x.conf', ['is not a file of']),
    ('/etc/sysctl.d/./x.conf', ['is not a file of']),
    ('/etc/sysctl.d/sub/x.conf', ['is not a file of']),
    ('/etc/sysctl.d/', ['must end in .conf']),
    ('/etc/sysctl.d/x.txt', ['must end in .conf']),
    ('/etc/sysctl.d/x.conf.bak', ['must end in .conf']),
    ('/etc/sysctl.d/.x.conf', ['must end in .conf']),
    ('/etc/sysctl.d/-x.conf', ['must end in .conf']),
    ('/etc/sysctl.d/.conf', ['must end in .conf']),
    ('/etc/sysctl.d/x;id.conf', ['must end in .conf']),
    ('/etc/sysctl.d/%s.conf' % ('x' * 251), ['at most 255']),
    ('', ['path must be']),
])
def test_check_path_refuses(path, words):
    msg = sp.check_path(path)
    assert msg and msg.startswith('path ')
    for word in words:
        assert word in msg, msg
    assert '\n' not in msg and '\x00' not in msg


def test_check_path_with_other_directories():
    assert sp.check_path('/srv/x/a.conf', dirs=('/srv/x',)) is None
    assert 'is not a file of' in sp.check_path('/etc/sysctl.d/a.conf', dirs=('/srv/x',))


def test_escape():
    assert sp.escape('a"b\\c') == '"a\\"b\\\\c"'
    assert sp.escape('x\x00\t\r\n\x7f\udcff') == '"x\\x00\\t\\r\\n\\x7f\\udcff"'
    assert sp.escape('ü') == '"ü"'


@pytest.mark.parametrize('value', ['0\x1b', '1\x7f', '\uff10', '0\x85'])
def test_values_with_control_or_non_ascii_characters_are_refused_escaped(value):
    from ansible_collections.rampart.firewall.plugins.module_utils.sysctl_profiles import SettingsError, normalize_value
    with pytest.raises(SettingsError) as err:
        normalize_value('net.ipv4.tcp_timestamps', value)
    assert 'net.ipv4.tcp_timestamps' in str(err.value)
    assert not any(ord(char) < 32 or ord(char) > 126 for char in str(err.value))


# ---- container engines: forwarding left as it is ------------------------------------------------

@pytest.mark.parametrize('names, found', [
    (['lo', 'eth0'], []),
    (['lo', 'eth0', 'docker0', 'veth1a2b'], ['docker0']),
    (['br-3f1c2d9e8a7b', 'docker_gwbridge'], ['br-3f1c2d9e8a7b', 'docker_gwbridge']),
    (['cni0', 'cni-podman0', 'podman0', 'virbr0'], ['cni-podman0', 'cni0', 'podman0', 'virbr0']),
    (['bridge0', 'br0', 'Docker0', 'virtbr0'], []),  # br0 is not br-*: a LAN bridge of the admin's
])
def test_detect_engine_from_interfaces(names, found):
    assert sp.detect_engine(names, []) == found


def test_detect_engine_from_sockets():
    assert sp.detect_engine(['lo'], ['/run/docker.sock']) == ['/run/docker.sock']
    assert sp.detect_engine([], ['/run/podman/podman.sock', '/run/containerd/containerd.sock']) == [
        '/run/containerd/containerd.sock', '/run/podman/podman.sock']
    assert sp.detect_engine([], ['/run/other.sock']) == []
    assert sp.detect_engine(['docker0'], ['/run/docker.sock']) == ['docker0', '/run/docker.sock']


def test_engine_bridges_are_the_engines_preserve_interfaces():
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import DEFAULT_PRESERVE_INTERFACES
    assert sp.ENGINE_BRIDGES == DEFAULT_PRESERVE_INTERFACES


@pytest.mark.parametrize('engine, evidence, left', [
    ('auto', ['docker0'], ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']),
    ('auto', [], []),
    ('present', [], ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']),
    ('absent', ['docker0'], []),
])
def test_engine_settings_host_profile(engine, evidence, left):
    settings, found = sp.engine_settings('host', {}, engine, evidence)
    assert found == left
    merged = sp.merge_settings('host', settings)
    for key in sp.FORWARDING_KEYS:
        assert (key in merged) is (key not in left)
    if not left:
        assert merged['net.ipv4.ip_forward'] == '0'


def test_engine_settings_keeps_what_the_user_set():
    settings, left = sp.engine_settings('host', {'net.ipv4.ip_forward': 1}, 'auto', ['docker0'])
    assert left == ['net.ipv6.conf.all.forwarding']
    merged = sp.merge_settings('host', settings)
    assert merged['net.ipv4.ip_forward'] == '1' and 'net.ipv6.conf.all.forwarding' not in merged
    settings, left = sp.engine_settings('host', {'net.ipv4.ip_forward': 0, 'net.ipv6.conf.all.forwarding': 0}, 'present')
    assert left == [] and sp.merge_settings('host', settings)['net.ipv4.ip_forward'] == '0'


def test_engine_settings_router_profile_is_untouched():
    settings, left = sp.engine_settings('router', {}, 'present', ['docker0'])
    assert left == [] and sp.merge_settings('router', settings)['net.ipv4.ip_forward'] == '1'


def test_engine_settings_refuses_an_unknown_mode_naming_it():
    with pytest.raises(SettingsError, match="container_engine must be one of auto, present, absent, got 'maybe'"):
        sp.engine_settings('host', {}, 'maybe')


def test_engine_needs_reading_only_when_it_can_matter():
    assert sp.engine_needs_reading('host', {}, 'auto') is True
    assert sp.engine_needs_reading('host', {'net.ipv4.ip_forward': 0}, 'auto') is True
    assert sp.engine_needs_reading('host', {'net.ipv4.ip_forward': 0, 'net.ipv6.conf.all.forwarding': None}, 'auto') is False
    assert sp.engine_needs_reading('router', {}, 'auto') is False
    assert sp.engine_needs_reading('host', {}, 'present') is False
    assert sp.engine_needs_reading('host', {}, 'absent') is False
