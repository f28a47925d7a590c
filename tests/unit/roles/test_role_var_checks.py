# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role variable checks of issue 25 (plugins/module_utils/role_vars.py): what the apply would
refuse or cut silently is refused on the controller, before any package or set is touched.

Byte lengths (log prefixes, composed "PREFIX:LABEL " included, comments, chains), port ranges of
port forwards, forwards hidden by an earlier one, undeclared set names, sets where the template
cannot match them, and unknown variables with a prefix close to a role's.
"""

from __future__ import annotations

import os

import pytest
import yaml
from jinja2 import Environment, nodes

from ansible_collections.rampart.firewall.plugins.filter.role_var_problems import FilterModule
from ansible_collections.rampart.firewall.plugins.module_utils import role_vars
from ansible_collections.rampart.firewall.plugins.module_utils.role_vars import LOG_LABELS, problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEMPLATE = os.path.join(ROOT, 'roles', 'firewall_base', 'templates', 'rules.j2')
ROUTER = {
    'masquerading_router_wan_interface': 'eth0',
    'masquerading_router_lan_interfaces': ['eth1'],
    'masquerading_router_lan_networks': ['192.168.1.0/24'],
}


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return yaml.safe_load(f)


def check(role, names=(), **variables):
    v = dict(_yaml('roles', role, 'defaults', 'main.yml'))
    if role == 'masquerading_router':
        v.update(ROUTER)
    v.update(variables)
    return problems(role, v, [], names) if names else problems(role, v, [])


def one(role, start, words, **variables):
    found = check(role, **variables)
    assert len(found) == 1, found
    assert found[0].startswith(start + ' '), found[0]
    for word in words:
        assert word in found[0], (word, found[0])
    return found[0]


def forwards(*items):
    return {'masquerading_router_port_forwards': list(items)}


# --------------------------------------------------------------------- 1. byte lengths, composed log prefixes

def test_log_prefixes_are_counted_in_bytes():
    # 27 characters, 31 bytes: the kernel would keep "pare-feu: entrée refusée é" and cut the rest
    one('single_host', 'single_host_log_prefixes:', ['INPUT: the prefix', '31 bytes', 'at most 29'],
        single_host_log_prefixes={'INPUT': 'pare-feu: entrée refusée éé'})


def test_a_composed_log_prefix_must_fit():
    # 14 bytes: "rampart-router:FORWARD-ACCEPT " has 30
    msg = one('masquerading_router', 'masquerading_router_log_prefix:',
              ['FORWARD-ACCEPT', '30 bytes', 'at most 13 bytes', 'masquerading_router_log_prefixes'],
              masquerading_router_log_prefix='rampart-router')
    assert '"rampart-router:FORWARD-ACCEPT "' in msg


def test_a_non_ascii_log_prefix_is_measured_in_utf8():
    # 13 characters, 14 bytes
    one('masquerading_router', 'masquerading_router_log_prefix:', ['FORWARD-ACCEPT', 'UTF-8', 'at most 13 bytes'],
        masquerading_router_log_prefix='pare-feu-hôte')


def test_a_composed_log_prefix_counts_the_labels_of_the_role_only():
    # single_host writes no FORWARD-ACCEPT: 14 bytes fit its longest label, OUTPUT-ACCEPT
    assert check('single_host', single_host_log_prefix='rampart-router') == []
    one('single_host', 'single_host_log_prefix:', ['label OUTPUT-ACCEPT', 'at most 14 bytes'],
        single_host_log_prefix='rampart-routers')
    one('bastion', 'bastion_log_prefix:', ['label OUTPUT-ACCEPT'], bastion_log_prefix='rampart-bastion')


def test_labels_with_a_prefix_of_their_own_do_not_count():
    own = {'FORWARD-ACCEPT': 'rtr fwd accept ', 'OUTPUT-ACCEPT': 'rtr out accept ', 'INPUT-ACCEPT': 'rtr in accept '}
    assert check('masquerading_router', masquerading_router_log_prefix='rampart-router',
                 masquerading_router_log_prefixes=own) == []
    # the next longest label, PUBLISHED (9), leaves 18 bytes
    assert check('masquerading_router', masquerading_router_log_prefix='eighteen-byte-pref',
                 masquerading_router_log_prefixes=own) == []
    one('masquerading_router', 'masquerading_router_log_prefix:', ['label PUBLISHED ', 'at most 18 bytes'],
        masquerading_router_log_prefix='nineteen-byte-prefi', masquerading_router_log_prefixes=own)


def test_comments_are_counted_in_bytes():
    one('single_host', 'single_host_tcp_ports[0].comment:', ['300 bytes', 'at most 255'],
        single_host_tcp_ports=[{'port': 22, 'comment': 'é' * 150}])
    assert check('single_host', single_host_tcp_ports=[{'port': 22, 'comment': 'é' * 127}]) == []


def _template_label_calls():
    """(label, the names of the variables of the if tests around the call) of every log rule of rules.j2.

    The macros that take a label are log_tail and every macro that hands one of its parameters on
    to such a macro as its label (drop, accept, trusted...).
    """
    with open(TEMPLATE) as f:
        tree = Environment().parse(f.read())
    macros = dict((m.name, m) for m in tree.find_all(nodes.Macro))
    label_arg = {'log_tail': 0}
    changed = True
    while changed:
        changed = False
        for name, macro in macros.items():
            params = [a.name for a in macro.args]
            for call in macro.find_all(nodes.Call):
                callee = call.node.name if isinstance(call.node, nodes.Name) else None
                idx = label_arg.get(callee)
                if name in label_arg or idx is None or idx >= len(call.args):
                    continue
                arg = call.args[idx]
                if isinstance(arg, nodes.Name) and arg.name in params:
                    label_arg[name] = params.index(arg.name)
                    changed = True
    params = set(a.name for m in macros.values() for a in m.args)
    found = []

    def walk(node, conds):
        if isinstance(node, nodes.If):
            walk(node.test, conds)
            tested = [node.test] + list(node.test.find_all(nodes.Name))  # find_all leaves the node itself out
            inner = conds | set(n.name for n in tested if isinstance(n, nodes.Name))
            for child in node.body:
                walk(child, inner)
            for child in node.elif_ + node.else_:
                walk(child, conds)
            return
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name in label_arg:
            arg = node.args[label_arg[node.node.name]]
            if isinstance(arg, nodes.Const):
                found.append((arg.value, conds))
            else:
                assert isinstance(arg, nodes.Name) and arg.name in params, \
                    'rules.j2: a log label that is not a literal: %s' % arg
        for child in node.iter_child_nodes():
            walk(child, conds)

    walk(tree, frozenset())
    return found


def test_the_log_labels_are_those_of_the_template():
    used = set(label for label, conds in _template_label_calls())
    assert used == set(LOG_LABELS)


def test_single_host_and_bastion_write_no_forwarding_label():
    """The labels left out for single_host and bastion are written only under firewall_base_forward or
    firewall_base_antispoof, which these roles leave at their default, false."""
    base = _yaml('roles', 'firewall_base', 'defaults', 'main.yml')
    assert base['firewall_base_forward'] is False and base['firewall_base_antispoof'] is False
    switches = {'firewall_base_forward', 'firewall_base_antispoof'}
    for role in ('single_host', 'bastion'):
        for task in _yaml('roles', role, 'tasks', 'main.yml'):
            assert not switches & set(task.get('vars', {})), role
        missing = set(LOG_LABELS) - set(role_vars.ROLE_LOG_LABELS[role])
        for label, conds in _template_label_calls():
            if label in missing:
                assert conds & switches, (role, label)
    assert set(role_vars.ROLE_LOG_LABELS['masquerading_router']) == set(LOG_LABELS)


# --------------------------------------------------------------------- 2. port ranges

RANGE = {'proto': 'udp', 'port': '27015:27030', 'to': '192.168.1.6'}


def test_a_forwarded_range_without_to_port_or_with_the_same_range_passes():
    assert check('masquerading_router', **forwards(RANGE)) == []
    assert check('masquerading_router', **forwards(dict(RANGE, to_port='27015:27030'))) == []
    assert check('masquerading_router', **forwards({'port': 8080, 'to': 'fd00::6', 'to_port': 80})) == []


@pytest.mark.parametrize('to_port', ['37015:37030', '27015', 27015, '27015:27020'])
def test_a_forwarded_range_takes_no_other_to_port(to_port):
    one('masquerading_router', 'masquerading_router_port_forwards[0].to_port:',
        ['"27015:27030"', 'leave to_port out or write the same range'],
        **forwards(dict(RANGE, to_port=to_port)))


def test_one_port_is_not_forwarded_to_a_range():
    one('masquerading_router', 'masquerading_router_port_forwards[0].to_port:', ['is a range', 'one port'],
        **forwards({'port': 80, 'to': '192.168.1.6', 'to_port': '8080:8090'}))


def test_a_forwarded_range_is_not_backwards():
    one('masquerading_router', 'masquerading_router_port_forwards[0].port:', ['backwards', '"27015:27030"'],
        **forwards(dict(RANGE, port='27030:27015')))


# --------------------------------------------------------------------- 3. forwards hidden by an earlier one

@pytest.mark.parametrize('first,second', [
    ({'port': 443, 'to': '192.168.1.6'}, {'port': 443, 'to': '192.168.1.7'}),
    ({'port': 443, 'to': '192.168.1.6'}, {'port': '400:500', 'to': '192.168.1.7'}),
    (RANGE, dict(RANGE, port=27020, to='192.168.1.7')),
    ({'port': 443, 'to': '192.168.1.6', 'sources': ['10.0.0.0/8', {'set': 'a'}]},
     {'port': 443, 'to': '192.168.1.7', 'sources': [{'set': 'a'}, '10.0.0.0/8']}),
    ({'port': 443, 'to': '192.168.1.6'}, {'port': 443, 'to': '192.168.1.7', 'sources': ['10.0.0.0/8']}),
    ({'port': 443, 'to': 'fd00::6'}, {'port': 443, 'to': 'fd00::7'}),
])
def test_a_forward_hidden_by_an_earlier_one_is_refused(first, second):
    one('masquerading_router', 'masquerading_router_port_forwards[1]:', ['forwarded already by item [0]', 'never match'],
        masquerading_router_ipsets=[{'name': 'a'}], **forwards(first, second))


@pytest.mark.parametrize('first,second', [
    ({'port': 443, 'to': '192.168.1.6'}, {'port': 443, 'to': 'fd00::6'}),                    # other family
    ({'port': 443, 'to': '192.168.1.6'}, {'port': 443, 'proto': 'udp', 'to': '192.168.1.6'}),  # other protocol
    ({'port': '400:442', 'to': '192.168.1.6'}, {'port': '443:500', 'to': '192.168.1.7'}),      # no overlap
    ({'port': 443, 'to': '192.168.1.6', 'sources': ['10.0.0.0/8']},
     {'port': 443, 'to': '192.168.1.7', 'sources': ['172.16.0.0/12']}),                       # other sources
    ({'port': 443, 'to': '192.168.1.6', 'sources': ['10.0.0.0/8']}, {'port': 443, 'to': '192.168.1.7'}),  # the rest
])
def test_forwards_that_can_both_match_pass(first, second):
    assert check('masquerading_router', **forwards(first, second)) == []


def test_firewall_base_forwards_are_checked_alike():
    found = problems('firewall_base', {'firewall_base_port_forwards': [
        {'port': 80, 'to': '192.168.1.6'}, {'port': 80, 'to': '192.168.1.7'}]})
    assert found and found[0].startswith('firewall_base_port_forwards[1]: '), found


# --------------------------------------------------------------------- 4. undeclared set names

ADMINS = [{'name': 'admins', 'members': ['192.0.2.10']}]


@pytest.mark.parametrize('role,variables,where', [
    ('single_host', {'single_host_tcp_ports': [22, {'port': 443, 'sources': [{'set': 'admin'}]}]},
     'single_host_tcp_ports[1].sources[0]'),
    ('single_host', {'single_host_udp_ports': [{'port': 53, 'sources': ['10.0.0.0/8', {'set': 'admin'}]}]},
     'single_host_udp_ports[0].sources[1]'),
    ('single_host', {'single_host_source_rules': [{'sources': [{'set': 'admin'}], 'action': 'drop'}]},
     'single_host_source_rules[0].sources[0]'),
    ('single_host', {'single_host_docker_published_sources': [{'set': 'admin'}]},
     'single_host_docker_published_sources[0]'),
    ('bastion', {'bastion_allowed_networks': ['198.51.100.0/24', {'set': 'admin'}]}, 'bastion_allowed_networks[1]'),
    ('masquerading_router', {'masquerading_router_port_forwards': [
        {'port': 443, 'to': '192.168.1.6', 'sources': [{'set': 'admin'}]}]},
     'masquerading_router_port_forwards[0].sources[0]'),
])
def test_a_set_that_is_not_declared_is_refused(role, variables, where):
    variables = dict(variables, **{role + '_ipsets': ADMINS})
    one(role, where + ':', ['the set "admin" is not declared in %s_ipsets' % role, 'did you mean "admins"?'],
        **variables)


def test_a_set_without_any_declared_set_is_refused():
    one('single_host', 'single_host_tcp_ports[0].sources[0]:', ['"admins"', 'no set is declared'],
        single_host_tcp_ports=[{'port': 22, 'sources': [{'set': 'admins'}]}])


def test_declared_sets_pass():
    assert check('bastion', bastion_allowed_networks=[{'set': 'admins'}], bastion_ipsets=ADMINS) == []


def test_the_sets_are_checked_before_packages_and_sets():
    """The roles' first task is firewall_base's validate (the packages and ipsets.yml come later), and
    firewall_base imports validate.yml first; the check runs in the filter that validate.yml calls."""
    for role in ('single_host', 'masquerading_router', 'bastion'):
        tasks = _yaml('roles', role, 'tasks', 'main.yml')
        assert tasks[0]['ansible.builtin.include_role']['tasks_from'] == 'validate', role
        later = [t['ansible.builtin.include_role'].get('tasks_from') for t in tasks[1:]]
        assert 'validate' not in later and 'packages' in later, role
    base = _yaml('roles', 'firewall_base', 'tasks', 'main.yml')
    assert base[0]['ansible.builtin.import_tasks'] == 'validate.yml'
    assert any(t.get('ansible.builtin.include_tasks') == 'ipsets.yml' for t in base[1:])
    validate = _yaml('roles', 'firewall_base', 'tasks', 'validate.yml')[0]
    assert '__firewall_base_problems' in validate['ansible.builtin.assert']['that'][0]
    assert 'rampart.firewall.role_var_problems' in _yaml('roles', 'firewall_base', 'vars', 'main.yml')['__firewall_base_problems']


# --------------------------------------------------------------------- 5. prefixes close to a role's

@pytest.mark.parametrize('role,name,meant', [
    ('single_host', 'single_hosts_tcp_ports', 'single_host_tcp_ports'),
    ('single_host', 'singlehost_udp_ports', 'single_host_udp_ports'),
    ('single_host', 'Single_Host_ssh_port', 'single_host_ssh_port'),
    ('single_host', 'singel_host_ssh_port', 'single_host_ssh_port'),
    ('single_host', 'single_hosts_tcp_port', 'single_host_tcp_ports'),
    ('bastion', 'bastions_allowed_networks', 'bastion_allowed_networks'),
    ('masquerading_router', 'masquerade_router_port_forwards', 'masquerading_router_port_forwards'),
    ('masquerading_router', 'masquerading_routers_lan_networks', 'masquerading_router_lan_networks'),
    ('firewall_base', 'firewall_bases_log', 'firewall_base_log'),
])
def test_a_prefix_close_to_the_role_s_is_flagged(role, name, meant):
    found = check(role, names=[name])
    assert found == ['%s: unknown variable, its prefix is close to the role %s\'s: did you mean %s? (the role reads '
                     'only %s_*, this one would be ignored)' % (name, role, meant, role)]
    # a name handed in with its value is caught as well
    assert check(role, **{name: [443]}) == found


@pytest.mark.parametrize('role,name', [
    ('single_host', 'single_hosts_owner'),             # the rest is no variable of the role
    ('single_host', 'bastion_host'),                   # another prefix altogether
    ('bastion', 'bastions_ssh_key'),
    ('single_host', '__single_host_tables'),           # internal variables
    ('single_host', 'my_single_host_tcp_ports'),       # 3 edits away
    ('single_host', 'single_hosts_rampart_firewall_extra_rules'),  # the hook
    ('single_host', 'firewall_base_tcp_ports'),        # another role's
    ('single_host', 'ansible_host'),
])
def test_other_variables_are_not_flagged(role, name):
    assert check(role, names=[name]) == []


def test_the_filter_takes_the_names():
    f = FilterModule().filters()['role_var_problems']
    assert f({}, 'single_host', names=['single_hosts_tcp_ports', 'inventory_hostname']) == [
        "single_hosts_tcp_ports: unknown variable, its prefix is close to the role single_host's: did you mean "
        "single_host_tcp_ports? (the role reads only single_host_*, this one would be ignored)"]


def test_validate_hands_every_variable_name_to_the_filter():
    validate = _yaml('roles', 'firewall_base', 'tasks', 'validate.yml')[0]
    assert '__firewall_base_problems | length == 0' in validate['ansible.builtin.assert']['that']
    problems = _yaml('roles', 'firewall_base', 'vars', 'main.yml')['__firewall_base_problems']
    assert "names=query('ansible.builtin.varnames', '.')" in problems


# --------------------------------------------------------------------- 6. the rest the apply would refuse or cut

@pytest.mark.parametrize('role,variables,start', [
    ('bastion', {'bastion_dns_servers': [{'set': 'admins'}]}, 'bastion_dns_servers[0]:'),
    ('bastion', {'bastion_internal_networks': ['10.0.0.0/8', {'set': 'admins'}]}, 'bastion_internal_networks[1]:'),
    ('masquerading_router', {'masquerading_router_antispoof_networks': [{'set': 'admins'}]},
     'masquerading_router_antispoof_networks[0]:'),
])
def test_sets_are_sources_only(role, variables, start):
    one(role, start, ['matches sources only'], **dict(variables, **{role + '_ipsets': ADMINS}))


def test_a_forward_with_sources_of_the_other_family_only_is_refused():
    one('masquerading_router', 'masquerading_router_port_forwards[0].sources:', ['IPv6', 'not be written'],
        **forwards({'port': 443, 'to': '192.168.1.6', 'sources': ['2001:db8::/32']}))
    assert check('masquerading_router', **forwards({'port': 443, 'to': '192.168.1.6',
                                                    'sources': ['2001:db8::/32', '198.51.100.0/24']})) == []


@pytest.mark.parametrize('chain,ok', [('A' * 28, True), ('A' * 29, False), ('é' * 14, True), ('é' * 15, False)])
def test_extra_rule_chains_have_at_most_28_bytes(chain, ok):
    found = check('single_host', single_host_extra_rules=[{'chain': chain}])
    assert (found == []) == ok, found
    if not ok:
        assert found[0].startswith('single_host_extra_rules[0].chain: ') and '1-28 bytes' in found[0]


def test_an_extra_rule_log_prefix_that_would_be_cut_is_refused():
    one('single_host', 'single_host_extra_rules[0].rule:', ['--log-prefix', '34 bytes', 'keeps 29'],
        single_host_extra_rules=[{'chain': 'INPUT', 'rule': '-j LOG --log-prefix "pare-feu: entrée refusée ééé "'}])
    assert check('single_host', single_host_extra_rules=[{'chain': 'INPUT', 'rule': '-j LOG --log-prefix "fw drop "'}]) == []


def test_two_sets_cannot_share_a_kernel_name():
    one('single_host', 'single_host_ipsets[1].name:', ['web6', 'item [0]'],
        single_host_ipsets=[{'name': 'web'}, {'name': 'web6'}])
    one('single_host', 'single_host_ipsets[1].name:', ['"web"', 'item [0]'],
        single_host_ipsets=[{'name': 'web'}, {'name': 'web'}])


def test_a_port_item_reject_type_fits_its_protocol():
    assert check('single_host', single_host_tcp_ports=[{'port': 113, 'action': 'reject', 'reject_with': 'tcp-reset'}]) == []
    one('single_host', 'single_host_udp_ports[0].reject_with:', ['TCP only'],
        single_host_udp_ports=[{'port': 113, 'action': 'reject', 'reject_with': 'tcp-reset'}])
    one('single_host', 'single_host_tcp_ports[0].reject_with:', ['needs action: reject'],
        single_host_tcp_ports=[{'port': 113, 'reject_with': 'tcp-reset'}])
