# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render roles/firewall_base/templates/rules.j2 without a host, as the roles do.

firewall_base_vars(role, user_vars) maps a role's variables onto firewall_base's the way the
role's tasks/main.yml does (the ``vars`` of its include of firewall_base, evaluated over the
role's defaults, its vars/main.yml and the user's variables); render(fb_vars, family) renders
the template with Jinja2 and Ansible's filters and tests; ruleset(...) parses the result with the
collection's model.
"""

from __future__ import annotations

import os
import re

import jinja2
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.mathstuff import FilterModule as MathFilters
from ansible.plugins.test.core import TestModule as CoreTests

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = ('single_host', 'masquerading_router', 'bastion')
_WHOLE = re.compile(r'^\s*\{\{(.*)\}\}\s*$', re.S)


def load_yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return yaml.safe_load(f) or {}


def _env():
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             extensions=['jinja2.ext.loopcontrols', 'jinja2.ext.do'])
    # Ansible's filters and tests that Jinja2 lacks (Jinja2's own, such as default, stay: Ansible
    # 2.19's default wants its own Undefined)
    for name, fn in list(CoreFilters().filters().items()) + list(MathFilters().filters().items()):
        env.filters.setdefault(name, fn)
    for name, fn in CoreTests().tests().items():
        env.tests.setdefault(name, fn)
    return env


ENV = _env()
with open(os.path.join(ROOT, 'roles', 'firewall_base', 'templates', 'rules.j2')) as _f:
    TEMPLATE = ENV.from_string(_f.read())


class _Lazy(dict):
    """Variables whose templated values are evaluated when a template asks for them."""

    def __init__(self, layers):
        dict.__init__(self)
        self._raw = {}
        for layer in layers:
            self._raw.update(layer)
        self._done = {}

    def __contains__(self, key):
        return key in self._raw

    def __getitem__(self, key):
        if key not in self._done:
            self._done[key] = self.template(self._raw[key])
        return self._done[key]

    def template(self, value):
        if isinstance(value, dict):
            return dict((k, self.template(v)) for k, v in value.items())
        if isinstance(value, list):
            return [self.template(v) for v in value]
        if not isinstance(value, str) or '{{' not in value and '{%' not in value:
            return value
        m = _WHOLE.match(value)
        if m and '}}' not in m.group(1):
            t = ENV.from_string('{% set __result = (' + m.group(1) + ') %}')
            ctx = t.new_context(self, shared=True)
            for dummy in t.root_render_func(ctx):
                pass
            return ctx.vars['__result']
        t = ENV.from_string(value)
        return ''.join(t.root_render_func(t.new_context(self, shared=True)))


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
    """The firewall_base variables a role hands over for these user variables."""
    user_vars = dict(user_vars or {})
    if role == 'firewall_base':
        out = base_defaults()
        out.update(user_vars)
        return out
    lazy = _Lazy([base_defaults(), load_yaml('roles', role, 'defaults', 'main.yml'),
                  load_yaml('roles', role, 'vars', 'main.yml'), user_vars])
    out = base_defaults()
    for name, value in include_vars(role).items():
        out[name] = lazy.template(value)
    return out


def render(fb_vars, family, engine=False, hooks=(), families=None):
    """The rules file of one family (text) for firewall_base variables; with families, the files of
    those families in one render, as tasks/main.yml renders them (separated by FAMILY_SEPARATOR)."""
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
        '__firewall_base_engine': engine,
        '__firewall_base_extra_rules': extra,
    })
    if families is not None:
        variables['__firewall_base_render_families'] = list(families)
    return TEMPLATE.render(variables)


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
