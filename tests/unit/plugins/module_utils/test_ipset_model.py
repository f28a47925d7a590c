# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of plugins/module_utils/ipset_model.py on captured `ipset save` text (ipset 7.17, Debian 12)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as m

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'ipset')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def keys(items, set_type='hash:net', family='inet', **kw):
    return m.parse_members(items, m.SetSpec(set_type, family, **kw))


def texts(keyset, set_type='hash:net'):
    return [m.member_text(k, set_type) for k in m.sorted_keys(keyset)]


# ---- names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['abuse', 'a', 'ssh_allow6', 'x.y:z-1', 'A' * 31])
def test_good_names(name):
    assert m.check_name(name) == name


@pytest.mark.parametrize('name', ['', '-exist', 'a b', 'a/b', '../etc', 'A' * 32, 'caf\u00e9', 'x\n', 'a;b', None, 7])
def test_bad_names_are_refused_escaped(name):
    with pytest.raises(m.IpsetError) as info:
        m.check_name(name)
    assert 'name must be 1 to 31 characters' in str(info.value)
    assert '\n' not in str(info.value)


def test_temp_name_is_a_valid_distinct_name():
    tmp = m.temp_name('A' * 31)
    assert tmp.startswith(m.TEMP_PREFIX) and len(tmp) <= 31
    with pytest.raises(m.IpsetError, match="must not start with 'rft_'"):
        m.check_name(tmp)       # reserved: no user set is ever named like a temporary one
    assert m.temp_name('a', [m.temp_name('a')]) not in (m.temp_name('a'), m.temp_name('b'))
    assert m.temp_name('a') != m.temp_name('b')


# ---- parse_save on captured text ------------------------------------------------------------------

def test_parse_captured_save():
    sets = m.parse_save(fixture('save-v7.17.txt'))
    assert list(sets) == ['nets', 'ips', 'ipport', 'nets6', 'ipport6', 'empty']
    assert texts(sets['nets'].keys) == ['10.0.0.0/8', '172.16.5.0/24', '192.168.1.1']
    assert sets['nets'].spec.key() == ('hash:net', 'inet', 65536, None, False, False, ())
    ips = sets['ips']
    # entry timeouts, counters and comments are state, not membership
    assert texts(ips.keys, 'hash:ip') == ['10.1.1.1', '10.1.1.2']
    assert (ips.spec.timeout, ips.spec.counters, ips.spec.comment) == (600, True, True)
    assert texts(sets['ipport'].keys, 'hash:ip,port') == ['10.2.2.2,tcp:22', '10.2.2.3,udp:53', '10.2.2.4,tcp:80']
    assert texts(sets['nets6'].keys) == ['2001:db8::/32', '2001:db8:1::1', 'fd00::1']
    assert sets['nets6'].spec.maxelem == 1000 and sets['nets6'].spec.family == 'inet6'
    assert texts(sets['ipport6'].keys, 'hash:ip,port') == ['2001:db8::5,tcp:443']
    assert sets['empty'].keys == set()
    # list -output save prints the same
    assert m.parse_save(fixture('save-v7.17.txt'), only='ips').keys() == {'ips'}


def test_parse_captured_range_and_nomatch():
    live = m.parse_save(fixture('save-nomatch-range.txt'))['nets']
    # ipset splits 192.0.2.1-192.0.2.6 into CIDRs the same way the model does
    assert live.keys == keys(['10.0.0.0/8', '10.1.0.0/16 nomatch', '192.0.2.1-192.0.2.6'])
    assert '10.1.0.0/16 nomatch' in texts(live.keys)


def test_live_set_of_another_type_is_reported():
    with pytest.raises(m.IpsetError) as info:
        m.parse_save('create l list:set size 8\n')
    assert 'type list:set' in str(info.value)


def test_unknown_create_option_counts_as_a_difference():
    live = m.parse_save('create n hash:net family inet hashsize 1024 maxelem 65536 forceadd bucketsize 12\n')['n']
    assert live.spec.key() != m.SetSpec().key()
    assert m.parse_save('create n hash:net family inet hashsize 4096 maxelem 65536 bucketsize 12 '
                        'initval 0x1\n')['n'].spec.key() == m.SetSpec(hashsize=64).key()


def test_garbage_save_line_is_an_error():
    with pytest.raises(m.IpsetError) as info:
        m.parse_save('create n hash:net\nflush n\n')
    assert 'line 2' in str(info.value)
    with pytest.raises(m.IpsetError):
        m.parse_save('add n 1.2.3.4\n')


# ---- members --------------------------------------------------------------------------------------

def test_canonical_members():
    assert keys(['10.0.0.1/32']) == keys(['10.0.0.1'])
    assert keys(['2001:DB8::1/128'], family='inet6') == keys(['2001:db8:0::1'], family='inet6')
    assert keys(['10.0.0.1', '10.0.0.1/32', ' 10.0.0.1 ']) == keys(['10.0.0.1'])
    assert keys(['192.0.2.7/32'], 'hash:ip') == keys(['192.0.2.7'], 'hash:ip')
    assert keys(['192.0.2.7,22'], 'hash:ip,port') == keys(['192.0.2.7,TCP:22'], 'hash:ip,port')
    assert keys(['10.0.0.0/8 # office', '# comment', '', '   ']) == keys(['10.0.0.0/8'])


@pytest.mark.parametrize('set_type,family,item,needle', [
    ('hash:net', 'inet', '10.0.0.300', "members[0]: '10.0.0.300' is not an IPv4 address"),
    ('hash:net', 'inet', '10.0.0.5/8', 'has host bits set: write the network address (10.0.0.0/8)'),
    ('hash:net', 'inet', '0.0.0.0/0', 'cannot hold a /0 network'),
    ('hash:net', 'inet', '10.0.0.0/33', 'is not an IPv4 network'),
    ('hash:net', 'inet', '10.0.0.0/+8', 'bad prefix length'),
    ('hash:net', 'inet', '2001:db8::1', 'is an IPv6 address, but the set has family inet'),
    ('hash:net', 'inet6', '10.0.0.1', 'is an IPv4 address, but the set has family inet6'),
    ('hash:net', 'inet', '10.0.0.9-10.0.0.1', 'ends before it starts'),
    ('hash:net', 'inet', '10.0.0.1 timeout 5', 'one address or network'),
    ('hash:net', 'inet', '10.0.0.1\x1b[31m', "'10.0.0.1\\x1b[31m' is not a member"),
    ('hash:net', 'inet', 'x' * 500, 'is not a member'),
    ('hash:ip', 'inet', '10.0.0.0/24', 'a hash:ip set holds single addresses'),
    ('hash:ip,port', 'inet', '10.0.0.1', 'is not ADDRESS,PROTO:PORT'),
    ('hash:ip,port', 'inet', '10.0.0.1,tcp:ssh', 'the port must be a number'),
    ('hash:ip,port', 'inet', '10.0.0.1,tcp:70000', 'the port must be a number'),
    ('hash:ip,port', 'inet', '10.0.0.1,tcp:80-90', 'no names or ranges'),
    ('hash:ip,port', 'inet', '10.0.0.1,gre:1', 'the protocol must be one of'),
    # ipset refuses the unspecified address in hash:ip and hash:ip,port ("Null-valued element")
    ('hash:ip', 'inet', '0.0.0.0', "members[0]: '0.0.0.0' is the unspecified address 0.0.0.0: a hash:ip set cannot hold it"),
    ('hash:ip', 'inet', '0.0.0.0/32', 'is the unspecified address 0.0.0.0: a hash:ip set cannot hold it'),
    ('hash:ip', 'inet6', '::', "'::' is the unspecified address ::: a hash:ip set cannot hold it"),
    ('hash:ip', 'inet6', '0::0/128', 'is the unspecified address ::'),
    ('hash:ip,port', 'inet', '0.0.0.0,tcp:22', 'is the unspecified address 0.0.0.0: a hash:ip,port set cannot hold it'),
    ('hash:ip,port', 'inet6', '::,udp:53', 'is the unspecified address ::: a hash:ip,port set cannot hold it'),
])
def test_bad_members_name_the_entry(set_type, family, item, needle):
    with pytest.raises(m.IpsetError) as info:
        keys([item], set_type, family)
    assert needle in str(info.value)
    assert len(str(info.value)) < 300


def test_bad_members_are_all_counted_and_positioned():
    with pytest.raises(m.IpsetError) as info:
        keys(['10.0.0.1', 'a', 'b', 'c', 'd', 'e', 'f', 'g'])
    msg = str(info.value)
    assert msg.startswith("members[1]: 'a' is not an IPv4 address")
    assert '(and 2 more bad entries)' in msg
    with pytest.raises(m.IpsetError) as info:
        m.parse_members(['10.0.0.1', 'oops'], m.SetSpec(), origin='src /etc/list')
    # a file's content is never quoted (src may be any file root can read): the line and the reason
    assert "src /etc/list line 2: the entry is not an IPv4 address" in str(info.value)
    assert 'oops' not in str(info.value)
    with pytest.raises(m.IpsetError) as info:
        keys([7])
    assert 'members[0] must be a string' in str(info.value)


def test_maxelem():
    with pytest.raises(m.IpsetError) as info:
        keys(['10.0.0.1', '10.0.0.2', '10.0.0.3'], maxelem=2)
    assert '3 members, more than maxelem 2' in str(info.value)


def test_spec_validation():
    with pytest.raises(m.IpsetError):
        m.SetSpec('list:set')
    with pytest.raises(m.IpsetError):
        m.SetSpec(timeout=-1)
    with pytest.raises(m.IpsetError):
        m.SetSpec(maxelem=True)
    assert m.SetSpec(timeout=60, counters=True, comment=True).create_line('x') == (
        'create x hash:net family inet hashsize 1024 maxelem 65536 timeout 60 counters comment')


# ---- diff and payloads ----------------------------------------------------------------------------

def test_diff_and_sample():
    before = keys(['10.0.0.0/8', '192.0.2.1'])
    after = keys(['10.0.0.0/8', '198.51.100.0/24'])
    added, removed = m.diff(before, after)
    assert m.sample(added, 'hash:net') == ['198.51.100.0/24']
    assert m.sample(removed, 'hash:net') == ['192.0.2.1']
    many = keys(['10.0.%d.0/24' % i for i in range(50)])
    added, removed = m.diff(set(), many)
    assert len(added) == 50 and len(m.sample(added, 'hash:net')) == 10 and removed == []


def test_render_swap_builds_a_temporary_set_and_swaps_it_in():
    spec = m.SetSpec(maxelem=100)
    payload = m.render_swap('abuse', spec, keys(['192.0.2.0/24', '10.0.0.1']), tmp='rft_x')
    assert payload == ('create rft_x hash:net family inet hashsize 1024 maxelem 100\n'
                       'add rft_x 10.0.0.1\nadd rft_x 192.0.2.0/24\n'
                       'swap rft_x abuse\ndestroy rft_x\n')
    assert m.render_create('abuse', spec, keys(['10.0.0.1']), tmp='rft_x') == (
        'create rft_x hash:net family inet hashsize 1024 maxelem 100\nadd rft_x 10.0.0.1\nrename rft_x abuse\n')
    assert m.render_rebuild('abuse', spec, set(), 'rft_x').endswith('destroy abuse\nrename rft_x abuse\n')
    previous = 'create abuse hash:net family inet hashsize 64 maxelem 5 bucketsize 12 initval 0x25fc214c\nadd abuse 10.0.0.0/8\n'
    assert m.render_restore_previous('abuse', previous, 'rft_x') == (
        'create rft_x hash:net family inet hashsize 64 maxelem 5 bucketsize 12 initval 0x25fc214c\nadd rft_x 10.0.0.0/8\n'
        'swap rft_x abuse\ndestroy rft_x\n')
    assert m.render_create('abuse', spec, set()) == 'create abuse hash:net family inet hashsize 1024 maxelem 100\n'


def test_payload_round_trips_through_parse_save():
    spec = m.SetSpec('hash:ip,port', 'inet6')
    want = keys(['2001:db8::1,udp:53', '2001:db8::2,tcp:22'], 'hash:ip,port', 'inet6')
    live = m.parse_save(m.render_create('p', spec, want))['p']
    assert live.keys == want and live.spec.key() == spec.key()


def test_payload_excerpt():
    payload = m.render_swap('n', m.SetSpec(), keys(['10.0.%d.0/24' % i for i in range(30)]), tmp='t')
    lines = m.payload_excerpt(payload)
    assert lines[0].startswith('create t ')
    assert sum(1 for line in lines if line.startswith('add ')) == 10
    assert lines[-3:] == ['# ... 20 more add lines', 'swap t n', 'destroy t']


def test_restore_error_line():
    assert m.restore_error_line('ipset v7.17: Error in line 3: Syntax error: cannot parse bogus') == 3
    assert m.restore_error_line('something else') is None


# ---- persisted file -------------------------------------------------------------------------------

def test_merge_persisted_replaces_only_the_managed_set():
    other = fixture('save-v7.17.txt')
    block = m.render_block('nets', m.SetSpec(), keys(['203.0.113.0/24']))
    merged = m.merge_persisted(other, 'nets', block)
    sets = m.parse_save(merged)
    assert list(sets) == ['nets', 'ips', 'ipport', 'nets6', 'ipport6', 'empty']   # order kept
    assert texts(sets['nets'].keys) == ['203.0.113.0/24']
    assert sets['ips'].keys == m.parse_save(other)['ips'].keys
    assert m.merge_persisted(merged, 'nets', block) == merged                       # idempotent
    removed = m.merge_persisted(merged, 'nets', None)
    assert 'nets' not in m.parse_save(removed) and 'ips' in m.parse_save(removed)
    new = m.render_block('new', m.SetSpec(), keys(['203.0.113.0/24']))
    assert m.merge_persisted('', 'new', new).startswith('create new ')
    assert m.merge_persisted(m.merge_persisted('', 'new', new), 'new', None) == ''
    assert m.merge_persisted(other, 'new', new).endswith('add new 203.0.113.0/24\n')
    assert m.persisted_set(merged, 'nets').keys == keys(['203.0.113.0/24'])
    assert m.persisted_set(merged, 'absent') is None


# ---- references -----------------------------------------------------------------------------------

def test_references_in_captured_iptables_save():
    refs = m.references(fixture('iptables-save-refs.v4'), 'nets')
    assert refs == [
        'table mangle: -A PREROUTING -j SET --del-set nets dst',
        'table filter: -A INPUT -m set --match-set nets src -j DROP',
        'table filter: -A INPUT -p tcp -m set ! --match-set nets src,dst -m comment --comment "--match-set nets" -j ACCEPT',
        'table filter: -A FORWARD -j SET --add-set nets src --exist',
    ]
    assert m.references(fixture('iptables-save-refs.v4'), 'net') == []
    # a comment that mentions the set is not a reference
    assert m.references('*filter\n-A INPUT -m comment --comment "--match-set x" -j ACCEPT\n', 'x') == []


def test_lockout_networks_feed_the_preflight():
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_lockout import preflight
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse
    sets = m.parse_save(fixture('save-v7.17.txt'))
    assert sorted(str(n) for n in m.lockout_networks(sets['nets'])) == ['10.0.0.0/8', '172.16.5.0/24', '192.168.1.1/32']
    assert m.lockout_networks(sets['ipport']) is None
    assert m.lockout_networks(m.parse_save(fixture('save-nomatch-range.txt'))['nets']) is None   # nomatch entries
    rules = parse('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n'
                  '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n'
                  '-A INPUT -p tcp -m set --match-set nets src -m tcp --dport 22 -j ACCEPT\nCOMMIT\n', 'ipv4')
    given = {'nets': m.lockout_networks(sets['nets'])}
    assert preflight(rules, '10.9.9.9 50000 10.0.0.1 22', sets=given)['safe'] is True
    assert preflight(rules, '192.0.2.9 50000 10.0.0.1 22', sets=given)['safe'] is False
    assert preflight(rules, '192.0.2.9 50000 10.0.0.1 22')['safe'] is None


def test_the_unspecified_address_is_a_member_of_hash_net_only():
    # ipset stores 0.0.0.0 in a hash:net set (as 0.0.0.0/32) and refuses it in hash:ip: so does the model
    assert keys(['0.0.0.0']) == {(4, 0, 32, False)}
    assert keys(['::'], family='inet6') == {(6, 0, 128, False)}
    assert keys(['0.0.0.1'], 'hash:ip') == {(4, 1)}
