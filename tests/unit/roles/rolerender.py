# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render roles/firewall_base/templates/rules.j2 without a host, through ansible-core's own templating.

firewall_base_vars(role, user_vars) maps a role's variables onto firewall_base's the way the
role's tasks/main.yml does (the ``vars`` of its include of firewall_base, templated by Ansible's
Templar over the role's defaults, its vars/main.yml and the user's variables); render(fb_vars,
family) renders the template with the ``ansible.builtin.template`` lookup, exactly as
roles/firewall_base/tasks/main.yml does; ruleset(...) parses the result with the collection's
model. Whatever the installed ansible-core refuses (2.19's stricter rules on None, undefined
values, untrusted templates) fails here as it fails in a play: the `matrix` gate runs these
tests on every ansible-core of the support range.
"""

from __future__ import annotations

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

try:  # ansible-core 2.19+: only trusted strings are templates (role files and inventory are)
    from ansible.template import trust_as_template
except ImportError:  # 2.17, 2.18: every string is
    def trust_as_template(value):
        return value

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = ('single_host', 'masquerading_router', 'bastion')
TEMPLATE_PATH = os.path.join(ROOT, 'roles', 'firewall_base', 'templates', 'rules.j2')
_LOADER = DataLoader()


def load_yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return yaml.safe_load(f) or {}


def trusted(value):
    """Strings marked as templates, the way Ansible marks what it reads from role files and inventory."""
    if isinstance(value, dict):
        return dict((k, trusted(v)) for k, v in value.items())
    if isinstance(value, list):
        return [trusted(v) for v in value]
    if isinstance(value, str):
        return trust_as_template(value)
    return value


def templar(variables):
    return Templar(loader=_LOADER, variables=variables)


def include_vars(role):
    """The vars of the role's include of firewall_base (the task without tasks_from)."""
    for task in load_yaml('roles', role, 'tasks', 'main.yml'):
        inc = task.get('ansible.builtin.include_role')
        if inc and inc.get('name') == 'rampart.firewall.firewall_base' and not inc.get('tasks_from'):
            return dict(task['vars'])
    raise AssertionError('%s: no include of firewall_base' % role)


def base_defaults():
    return load_yaml('roles', 'firewall_base', 'defaults', 'main.yml')


def firewall_base_vars(role, user_vars=None):
    """The firewall_base variables a role hands over for these user variables (templated by Ansible)."""
    user_vars = dict(user_vars or {})
    if role == 'firewall_base':
        out = base_defaults()
        out.update(user_vars)
        return out
    layers = {}
    for layer in (base_defaults(), load_yaml('roles', role, 'defaults', 'main.yml'),
                  load_yaml('roles', role, 'vars', 'main.yml'), user_vars):
        layers.update(trusted(layer))
    out = base_defaults()
    out.update(templar(layers).template(trusted(include_vars(role))))
    return out


def render(fb_vars, family, docker_live=None, hooks=(), families=None):
    """The rules file of one family (text) for firewall_base variables; with families, the files of
    those families in one render, as tasks/main.yml renders them (separated by FAMILY_SEPARATOR).
    docker_live: what tasks/main.yml read of the live FORWARD with state absent ({family: a rule jumping
    into Docker's chains, or ''})."""
    base = load_yaml('roles', 'firewall_base', 'vars', 'main.yml')
    variables = dict(fb_vars)
    extra = list(variables.get('firewall_base_extra_rules') or [])
    for hook in hooks:
        extra.extend(hook)
    variables.update({
        'ansible_managed': 'Ansible managed',
        '__firewall_base_family': family,
        '__firewall_base_builtin': base['__firewall_base_builtin'],
        '__firewall_base_table_order': base['__firewall_base_table_order'],
        '__firewall_base_engine_bridges': base['__firewall_base_engine_bridges'],
        '__firewall_base_extra_rules': extra,
    })
    if families is None:
        families = [family]
    lookup = lookup_loader.get('template', loader=_LOADER, templar=templar(variables))
    text = lookup.run([TEMPLATE_PATH], variables,
                      template_vars={'__firewall_base_render_families': list(families),
                                     '__firewall_base_docker_live': dict(docker_live or {})})[0]
    return str(text)


# The line between the families' files of one render (tasks/main.yml splits on it).
FAMILY_SEPARATOR = '#@@rampart-family@@\n'


def ruleset(fb_vars, family, **kw):
    """The parsed Ruleset of one family."""
    text = render(fb_vars, family, **kw)
    try:
        return iptables_model.parse(text, family)
    except iptables_model.ParseError as e:
        raise AssertionError('%s\n---\n%s' % (e, text)) from None


def role_ruleset(role, user_vars, family, **kw):
    return ruleset(firewall_base_vars(role, user_vars), family, **kw)
