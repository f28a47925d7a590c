# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' rules next to Docker (issue 23), rendered through ansible-core's Templar (rolerender):

* the rules do not depend on whether a container engine is seen: no facts, no engine variable;
  DOCKER-USER is declared only with <role>_docker_published_sources;
* docker_published_sources restricts Docker's published ports only, in the chain published of
  mangle FORWARD (Docker never writes to mangle; in IPv6 Docker 20.10 inserts its ACCEPTs above
  FORWARD's jump to DOCKER-USER whenever it starts): the router's own port forwards are returned
  to FORWARD (fw-open, with their own sources) before the DNAT drop; DOCKER-USER is declared as
  Docker creates it (empty, jumped to first);
* state absent on a Docker host (docker_live, read on the target by tasks/main.yml): FORWARD keeps
  the policy DROP Docker sets, DOCKER-USER is an empty chain with FORWARD's jump to it; on any
  other host every policy is ACCEPT and nothing of Docker's is declared.
"""

from __future__ import annotations

import pytest
import yaml

import rolerender as rr
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import parse

ROUTER = {
    'masquerading_router_wan_interface': 'eth0',
    'masquerading_router_lan_interfaces': ['br-lan'],
    'masquerading_router_lan_networks': ['192.168.1.0/24', 'fd00:1::/64'],
    'masquerading_router_port_forwards': [
        {'port': 8080, 'to': '192.168.1.5', 'to_port': 80, 'sources': ['198.51.100.0/24']},
        {'port': 2222, 'to': '192.168.1.6', 'to_port': 22, 'proto': 'tcp'},
        {'port': 8443, 'to': 'fd00:1::5', 'to_port': 443},
    ],
    'masquerading_router_docker_published_sources': ['203.0.113.7', '2001:db8::7'],
}


def rules(text, chain, table='filter', family='ipv4'):
    return [r.text for r in parse(text, family=family).tables[table].chains[chain].rules]


@pytest.mark.parametrize('family', ['ipv4', 'ipv6'])
@pytest.mark.parametrize('role', rr.ROLES)
def test_no_docker_user_without_published_sources(role, family):
    """Without sources nothing of Docker's is declared, whatever the facts say: Docker's DOCKER-USER and the
    jump into it stay foreign (kept live by iptables_ruleset, never persisted)."""
    user = {'masquerading_router_wan_interface': 'eth0', 'masquerading_router_lan_interfaces': ['eth1'],
            'masquerading_router_lan_networks': ['192.168.1.0/24']} \
        if role == 'masquerading_router' else {}
    text = rr.render(rr.firewall_base_vars(role, user), family)
    assert 'DOCKER' not in text
    # the rendered rules are the same with the facts of a Docker host: the template reads none
    facts = dict(user, ansible_facts={'interfaces': ['lo', 'eth0', 'docker0', 'br-1234']})
    assert rr.render(rr.firewall_base_vars(role, facts), family) == text


def test_the_roles_do_not_read_container_facts():
    """No variable of firewall_base reads the interface facts (issue 23: facts are gathered before Docker
    starts in roles: [docker, single_host], or not at all)."""
    for path in (('roles', 'firewall_base', 'vars', 'main.yml'), ('roles', 'firewall_base', 'templates', 'rules.j2'),
                 ('roles', 'firewall_base', 'tasks', 'main.yml')):
        with open(rr.os.path.join(rr.ROOT, *path)) as handle:
            text = handle.read()
        assert 'ansible_facts.interfaces' not in text and '__firewall_base_engine ' not in text, path


@pytest.mark.parametrize('family', ['ipv4', 'ipv6'])
def test_published_sources_leave_the_routers_port_forwards_alone(family):
    text = rr.render(rr.firewall_base_vars('masquerading_router', ROUTER), family)
    user = rules(text, 'published', table='mangle', family=family)
    forwards = [r for r in user if ' -i eth0 -p ' in r]
    if family == 'ipv4':
        assert forwards == ['-d 192.168.1.5/32 -i eth0 -p tcp -m tcp --dport 80 -j RETURN',
                            '-d 192.168.1.6/32 -i eth0 -p tcp -m tcp --dport 22 -j RETURN']
        source = '-s 203.0.113.7/32 -j RETURN'
    else:
        assert forwards == ['-d fd00:1::5/128 -i eth0 -p tcp -m tcp --dport 443 -j RETURN']
        source = '-s 2001:db8::7/128 -j RETURN'
    drop = user.index('-j DROP')
    # mangle FORWARD sends only what was DNAT'd there
    assert rules(text, 'FORWARD', table='mangle', family=family) == ['-m conntrack --ctstate DNAT -j published']
    # the forwards are returned before the published-port sources and before the drop of every other DNAT
    assert all(user.index(r) < user.index(source) < drop for r in forwards), user
    # ... and decided in fw-open by their own sources: 8080 only from 198.51.100.0/24, 2222 from anyone
    fw_open = rules(text, 'fw-open', family=family)
    if family == 'ipv4':
        assert fw_open == [
            '-s 198.51.100.0/24 -d 192.168.1.5/32 -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT',
            '-d 192.168.1.6/32 -i eth0 -p tcp -m tcp --dport 22 -m conntrack --ctstate DNAT -j ACCEPT']
    # DOCKER-USER as Docker creates it: empty, FORWARD's jump to it first; the router's own rules follow
    forward = rules(text, 'FORWARD', family=family)
    assert forward[0] == '-j DOCKER-USER' and '-j fw-open' in forward
    assert rules(text, 'DOCKER-USER', family=family) == []


def test_a_forward_to_a_lan_bridge_named_like_docker_is_not_restricted():
    """br-lan matches the engines' bridge pattern br-+: the forward is returned by its destination, not its interface."""
    text = rr.render(rr.firewall_base_vars('masquerading_router', ROUTER), 'ipv4')
    user = rules(text, 'published', table='mangle')
    assert user.index('-d 192.168.1.5/32 -i eth0 -p tcp -m tcp --dport 80 -j RETURN') < user.index('-j DROP')


def test_single_host_published_sources_have_no_forward_returns():
    text = rr.render(rr.firewall_base_vars('single_host', {'single_host_docker_published_sources': ['203.0.113.7']}), 'ipv4')
    user = rules(text, 'published', table='mangle')
    assert user[0] == '-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN'
    assert not [r for r in user if ' -d ' in r]
    assert user[-2:] == ['-s 203.0.113.7/32 -j RETURN', '-j DROP']
    assert rules(text, 'DOCKER-USER') == []


def _policies(text, family):
    return dict((name, chain.policy) for name, chain in parse(text, family=family).tables['filter'].chains.items()
                if chain.policy)


@pytest.mark.parametrize('role', rr.ROLES)
def test_absent_on_a_docker_host_keeps_dockers_forward_policy_and_chain(role):
    user = dict(ROUTER) if role == 'masquerading_router' else {'%s_docker_published_sources' % role: ['203.0.113.7']}
    user['%s_state' % role] = 'absent'
    fb = rr.firewall_base_vars(role, user)
    live = {'ipv4': '-A FORWARD -j DOCKER-USER', 'ipv6': ''}
    v4 = rr.render(fb, 'ipv4', docker_live=live)
    assert _policies(v4, 'ipv4') == {'INPUT': 'ACCEPT', 'FORWARD': 'DROP', 'OUTPUT': 'ACCEPT'}
    filt = parse(v4, family='ipv4').tables['filter']
    assert sorted(filt.chains) == ['DOCKER-USER', 'FORWARD', 'INPUT', 'OUTPUT']
    assert rules(v4, 'DOCKER-USER') == [] and rules(v4, 'FORWARD') == ['-j DOCKER-USER']
    assert rules(v4, 'INPUT') == [] and rules(v4, 'OUTPUT') == []
    for table in ('raw', 'mangle', 'nat'):
        for chain in parse(v4, family='ipv4').tables.get(table, parse('*%s\nCOMMIT\n' % table).tables[table]).chains.values():
            assert chain.policy in (None, 'ACCEPT') and not chain.rules, (table, chain.name)
    # IPv6 without Docker's rules: everything open, nothing of Docker's
    v6 = rr.render(fb, 'ipv6', docker_live=live)
    assert set(_policies(v6, 'ipv6').values()) == {'ACCEPT'} and 'DOCKER' not in v6


@pytest.mark.parametrize('role', rr.ROLES)
def test_absent_without_docker_opens_everything(role):
    user = {'masquerading_router_wan_interface': 'eth0', 'masquerading_router_lan_interfaces': ['eth1'],
            'masquerading_router_lan_networks': ['192.168.1.0/24']} \
        if role == 'masquerading_router' else {}
    user['%s_state' % role] = 'absent'
    for live in (None, {'ipv4': '', 'ipv6': ''}):
        text = rr.render(rr.firewall_base_vars(role, user), 'ipv4', docker_live=live)
        assert set(_policies(text, 'ipv4').values()) == {'ACCEPT'} and 'DOCKER' not in text and '\n-A ' not in text


def _tasks():
    return rr.load_yaml('roles', 'firewall_base', 'tasks', 'main.yml')


def _task(name):
    for task in _tasks():
        for sub in [task] + list(task.get('block') or []):
            if sub.get('name') == name:
                return sub
    raise AssertionError(name)


def test_absent_reads_forward_only_then_and_read_only():
    look = _task("Look for Docker's rules in FORWARD (state absent)")
    assert look['when'] == "firewall_base_state == 'absent'"
    assert look['changed_when'] is False and look['check_mode'] is False
    assert look['ansible.builtin.command']['argv'][-2:] == ['-S', 'FORWARD']


def test_absent_leaves_sysctl_and_sets_alone():
    """The role docs: kernel settings and address sets are left as they are with state absent."""
    sets = [t for t in _tasks() if t.get('ansible.builtin.include_tasks') == 'ipsets.yml'][0]
    assert "firewall_base_state == 'present'" in sets['when']
    # the kernel settings ride in the apply's transaction (option sysctl): no task of their own
    flat = [sub for task in _tasks() for sub in [task] + list(task.get('block') or [])]
    assert not [t for t in flat if 'rampart.firewall.sysctl_hardening' in t]
    apply = [t for t in flat if 'rampart.firewall.iptables_ruleset' in t][0]['rampart.firewall.iptables_ruleset']
    assert "firewall_base_state == 'present'" in apply['ipsets'] and "firewall_base_state == 'present'" in apply['sysctl']


def test_the_docker_live_expression_reads_the_registered_output():
    """__firewall_base_docker_live, templated by Ansible over what the FORWARD read registers."""
    apply = _task('Apply the rules atomically, keep neighbour chains and rules, persist ours')
    expr = apply['vars']['__firewall_base_docker_live']
    registered = {'results': [
        {'item': 'ipv4', 'stdout': '-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1'},
        {'item': 'ipv6', 'stdout': '-P FORWARD DROP\n-A FORWARD -j DOCKER-USER'}]}   # the role's own DOCKER-USER only
    got = rr.templar({'firewall_base_forward_live': registered}).template(rr.trusted(expr))
    assert {k: bool(v) for k, v in yaml.safe_load(str(got)).items()} == {'ipv4': True, 'ipv6': False} \
        if isinstance(got, str) else {k: bool(v) for k, v in got.items()} == {'ipv4': True, 'ipv6': False}
    skipped = {'results': [{'item': 'ipv4', 'skipped': True}, {'item': 'ipv6', 'skipped': True}]}
    got = rr.templar({'firewall_base_forward_live': skipped}).template(rr.trusted(expr))
    assert not got or got == '{}'


@pytest.mark.parametrize('stop_firewalld, stop_ufw, refused', [
    (False, False, ['firewalld', 'nftables', 'ufw']),
    (True, False, ['nftables', 'ufw']),
    (False, True, ['firewalld', 'nftables']),
    (True, True, ['nftables']),
])
def test_the_apply_refuses_other_managers_unless_a_switch_stops_them(stop_firewalld, stop_ufw, refused):
    """Every run, in the apply's own call: firewalld, an enabled nftables.service and ufw are refused; the
    stop switches let the apply go on and stop_managers.yml stops what it reported."""
    expr = _task('Apply the rules atomically, keep neighbour chains and rules, persist ours')['rampart.firewall.iptables_ruleset']['refuse_managers']
    got = rr.templar({'firewall_base_stop_firewalld': stop_firewalld, 'firewall_base_stop_ufw': stop_ufw}).template(rr.trusted(expr))
    assert (yaml.safe_load(got) if isinstance(got, str) else list(got)) == refused
    stop = _task('Stop the other firewall managers the apply found (stop switches)')
    names = rr.templar({'firewall_base_applied': {'other_managers': [{'name': 'nftables'}, {'name': 'ufw'}]}})
    assert names.template(rr.trusted('{{ %s }}' % stop['when'].strip())) in (True, 'True')
    none = rr.templar({'firewall_base_applied': {'other_managers': [{'name': 'nftables'}]}})
    assert none.template(rr.trusted('{{ %s }}' % stop['when'].strip())) in (False, 'False')


@pytest.mark.parametrize('member, ok', [
    ({'group': 'web'}, True),
    ({'group': 'web', 'address_from': 'ansible_host'}, True),
    ({'group': 'web', 'address_from': {'fact': 'default_ipv4'}}, True),
    ({'group': 'web', 'address_from': {'var': 'public_ip'}}, True),
    ({'group': 'web', 'address_from': 'dns'}, False),
    ({'group': 'web', 'address_from': {'fact': 'a b'}}, False),
    ({'group': 'web', 'from': 'facts'}, False),
])
def test_the_role_checks_address_from(member, ok):
    """<role>_ipsets members with address_from pass the controller-side checks, a bad one is named (issue 23)."""
    from ansible_collections.rampart.firewall.plugins.filter.role_var_problems import role_var_problems
    problems = role_var_problems({'single_host_ipsets': [{'name': 'web', 'members': [member]}]}, 'single_host')
    assert (problems == []) == ok, problems
    if not ok:
        assert 'single_host_ipsets' in problems[0]


def test_upgrade_removes_the_old_restriction_from_docker_user_and_keeps_dockers_chain():
    """A host the role restricted in DOCKER-USER (before the chain published): the next run's plan empties
    DOCKER-USER (recorded ours), keeps it and FORWARD's jump first, keeps Docker's own chains and rules, and
    adds the check in mangle FORWARD."""
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import plan
    old_ours = ('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n'
                '-A FORWARD -j DOCKER-USER\n'
                '-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n'
                '-A DOCKER-USER -s 203.0.113.7/32 -m conntrack --ctstate DNAT -j RETURN\n'
                '-A DOCKER-USER -m conntrack --ctstate DNAT -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT\n')
    live = old_ours.replace(':DOCKER-USER - [0:0]\n', ':DOCKER-USER - [0:0]\n:DOCKER - [0:0]\n').replace(
        '-A FORWARD -j DOCKER-USER\n', '-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n'
        '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n')
    text = rr.render(rr.firewall_base_vars('single_host', {'single_host_docker_published_sources': ['203.0.113.7']}), 'ipv4')
    result = plan(parse(text), parse(live), recorded=parse(old_ours))
    after = parse(result.after)
    filt = after.tables['filter']
    assert [r.text for r in filt.chains['DOCKER-USER'].rules] == []
    assert [r.text for r in filt.chains['FORWARD'].rules][0] == '-j DOCKER-USER'
    assert '-o docker0 -j DOCKER' in [r.text for r in filt.chains['FORWARD'].rules]
    assert [r.text for r in filt.chains['DOCKER'].rules] == [
        '-d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT']
    assert [r.text for r in after.tables['mangle'].chains['FORWARD'].rules] == ['-m conntrack --ctstate DNAT -j published']
    assert result.changed
