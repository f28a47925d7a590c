# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""parse(text, known=ruleset): the fast path that takes a line equal to a known rule's canonical
line from that rule instead of parsing it. Whatever the text, the result (or the error) must be
exactly the one parse(text) gives: on the captured iptables-save text of both backends, on
generated rulesets and on generated mutations of them (lines moved, dropped, declarations
missing, jumps resolving differently)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import parse_or_empty
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_model import ParseError, Ruleset, parse, render

from test_iptables_model_props import ruleset_text  # noqa: F401 pylint: disable=unused-import

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures')
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding='utf-8') as handle:
        return handle.read()


def _pairs():
    """(source dir, name, backend) of every fixture with a captured iptables-save text."""
    out = []
    for sub in ('corpus', 'extra'):
        for name in sorted(os.listdir(os.path.join(FIXTURES, sub))):
            if name.endswith(('.v4', '.v6')):
                for backend in ('nft', 'legacy'):
                    if os.path.exists(os.path.join(FIXTURES, 'saved', backend, name)):
                        out.append((sub, name, backend))
    return out


PAIRS = _pairs()


def shape(ruleset):
    """Everything parse() decides, table by table, chain by chain, rule by rule."""
    return [(name, table.lineno, [(chain.name, chain.policy, chain.lineno,
                                   [(rule.chain, rule.key, rule.text, rule.target, rule.goto, rule.lineno, rule.jumps)
                                    for rule in chain.rules])
                                  for chain in table.chains.values()])
            for name, table in ruleset.tables.items()]


def outcome(text, family, known=None):
    """shape() of the result, or the error as the user sees it."""
    try:
        return 'ok', shape(parse(text, family, known=known))
    except ParseError as exc:
        return 'error', (str(exc), exc.lineno, exc.field, exc.value)


@pytest.fixture
def counted(monkeypatch):
    """The number of rule bodies parse() really parses."""
    calls = []
    real = iptables_model._parse_rule_body

    def counting(*args):
        calls.append(args[5])
        return real(*args)

    monkeypatch.setattr(iptables_model, '_parse_rule_body', counting)
    return calls


def test_pairs_found():
    assert len(PAIRS) >= 20
    assert set(backend for dummy, dummy2, backend in PAIRS) == {'nft', 'legacy'}


@pytest.mark.parametrize('sub,name,backend', PAIRS)
def test_saved_text_with_known_desired_is_the_same(sub, name, backend):
    """The live text (iptables-save of the applied fixture) parsed with the desired ruleset as known
    gives exactly what the slow path gives."""
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    desired = parse(_read(sub, name), family)
    saved = _read('saved', backend, name)
    assert outcome(saved, family, known=desired) == outcome(saved, family)
    assert parse(saved, family, known=desired) == desired


@pytest.mark.parametrize('sub,name,backend', PAIRS)
def test_rendered_text_with_known_is_the_same_and_not_parsed_again(sub, name, backend, counted):
    """A file render() wrote from a ruleset (the persisted file, the record) is taken whole from it."""
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    live = parse(_read('saved', backend, name), family)
    text = render(live)
    slow = outcome(text, family)
    del counted[:]
    assert outcome(text, family, known=live) == slow
    assert counted == []


def test_fast_path_is_taken_for_live_text(counted):
    """Most lines of an nft iptables-save text are found in the desired ruleset (the rest are
    spelled differently by the backend and are parsed)."""
    desired = parse(_read('corpus', '001-centos-vps-web.v4'), 'ipv4')
    saved = _read('saved', 'nft', '001-centos-vps-web.v4')
    rules = sum(len(table.rules()) for table in desired.tables.values())
    del counted[:]
    parse(saved, 'ipv4', known=desired)
    assert len(counted) < rules / 2


BASE = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j web
-A web -s 10.0.0.0/8 -j ACCEPT
COMMIT
'''


def known_base():
    return parse(BASE, 'ipv4')


@pytest.mark.parametrize('text', [
    # the jump target is not declared in the text: the slow path's error
    BASE.replace(':web - [0:0]\n', '').replace('-A web -s 10.0.0.0/8 -j ACCEPT\n', ''),
    # the chain of a known rule is not declared
    BASE.replace(':web - [0:0]\n', ''),
    # the same line in another table
    BASE.replace('*filter', '*mangle').replace(':INPUT DROP', ':INPUT ACCEPT').replace(':FORWARD DROP', ':FORWARD ACCEPT'),
    # one byte different: parsed
    BASE.replace('--dport 22 -j ACCEPT', '--dport 22  -j ACCEPT'),
    BASE.replace('--dport 22 -j ACCEPT', '--dport 22 -j ACCEPT '),
    BASE.replace('--dport 22 -j ACCEPT', '--dport 22 -j ACCEPT\x00'),
    BASE.replace('--dport 22 -j ACCEPT', '--dport 22 -j ACCEPT\t# no'),
    # a rule before its table, after COMMIT
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n' + BASE,
    BASE + '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n',
    # a jump that makes a loop with a known line
    BASE.replace('COMMIT', '-A web -p tcp -m tcp --dport 80 -j web\nCOMMIT'),
    # a target that is a user chain in the text: a jump there, not the known extension
    BASE.replace(':web - [0:0]', ':web - [0:0]\n:ACCEPTED - [0:0]'),
    # -I before a known line, and counters
    BASE.replace('-A web -s', '-I INPUT 1 -j web\n-A web -s'),
    BASE.replace('-A web -s', '[1:2] -A web -s'),
    # the other family
    BASE.replace('10.0.0.0/8', '::/0'),
])
def test_texts_around_known_lines(text):
    assert outcome(text, 'ipv4', known=known_base()) == outcome(text, 'ipv4')
    assert outcome(text, 'ipv6', known=known_base()) == outcome(text, 'ipv6')


def test_known_of_another_family_is_ignored(counted):
    text = BASE.replace('-s 10.0.0.0/8 ', '')
    known = known_base()
    del counted[:]
    parse(text, 'ipv6', known=known)
    assert len(counted) == 3


def test_target_now_a_user_chain():
    """A known rule whose target was an opaque extension or a verdict is parsed again when the text
    declares a user chain of that name (the slow path decides what the name is)."""
    known = parse('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j CT --notrack\nCOMMIT\n'.replace('filter', 'raw')
                  .replace(':INPUT', ':PREROUTING').replace('-A INPUT', '-A PREROUTING'), 'ipv4')
    text = '*raw\n:PREROUTING ACCEPT [0:0]\n:CT - [0:0]\n-A PREROUTING -j CT --notrack\nCOMMIT\n'
    assert outcome(text, 'ipv4', known=known) == outcome(text, 'ipv4')


def test_line_numbers_are_those_of_the_text():
    text = '# header\n\n' + BASE
    rules = parse(text, 'ipv4', known=known_base()).tables['filter'].rules()
    assert [rule.lineno for rule in rules] == [8, 9, 10]


def test_parse_or_empty_passes_known(counted):
    known = known_base()
    del counted[:]
    assert parse_or_empty(BASE, 'ipv4', known=known) == known
    assert counted == []
    assert parse_or_empty('# nothing\n', 'ipv4', known=known_base()) == Ruleset('ipv4', {})


@SETTINGS
@given(ruleset_text())
def test_generated_render_with_known(data):
    family, text = data
    ruleset = parse(text, family)
    out = render(ruleset)
    assert outcome(out, family, known=ruleset) == outcome(out, family)


@st.composite
def mutated(draw):
    """A generated ruleset and a mutation of its rendered text: lines dropped, duplicated or moved
    (declarations, rules, table lines), so that known lines meet every context."""
    family, text = draw(ruleset_text())
    ruleset = parse(text, family)
    lines = render(ruleset).split('\n')
    for dummy in range(draw(st.integers(1, 4))):
        if not lines:
            break
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(lines) - 1))
        if op == 0:
            del lines[pos]
        elif op == 1:
            lines.insert(pos, lines[pos])
        elif op == 2:
            line = lines.pop(pos)
            lines.insert(draw(st.integers(0, len(lines))), line)
        else:
            lines[pos] = lines[pos].replace('-A ', '-I ', 1)
    return family, ruleset, '\n'.join(lines)


@SETTINGS
@given(mutated())
def test_mutated_text_with_known(data):
    family, ruleset, text = data
    assert outcome(text, family, known=ruleset) == outcome(text, family)


@pytest.mark.parametrize('sub,name', sorted(set((sub, name) for sub, name, dummy in PAIRS)))
def test_record_read_with_the_desired_known(sub, name, counted):
    """The ownership record is rendered from the desired ruleset: read back with it known, nothing is
    parsed again and the result is the one of a plain parse."""
    from ansible_collections.rampart.firewall.plugins.module_utils.ownership import parse_record, record_text
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    desired = parse(_read(sub, name), family)
    text = record_text(family, None, desired, list(desired.tables))
    slow = shape(parse_record(text, family))
    del counted[:]
    assert shape(parse_record(text, family, known=desired)) == slow
    assert counted == []


@pytest.mark.parametrize('sub,name,backend', PAIRS)
def test_persisted_file_of_another_writer_is_compared_without_parsing_again(sub, name, backend, counted):
    """A persisted file that is not our text byte for byte (an older header, or iptables-save's own
    output) is still compared canonically: the same answer as the slow parse, and the lines that are
    canonical already are taken from the ruleset to persist."""
    from ansible_collections.rampart.firewall.plugins.module_utils import iptables_persist
    from ansible_collections.rampart.firewall.plugins.module_utils.iptables_engine import (
        DEFAULT_PRESERVE, DEFAULT_PRESERVE_INTERFACES, DEFAULT_PRESERVE_SETS, plan)
    family = 'ipv6' if name.endswith('.v6') else 'ipv4'
    desired = parse(_read(sub, name), family)
    saved = _read('saved', backend, name)
    live = parse(saved, family)
    result = plan(desired, live)
    args = (live, result, DEFAULT_PRESERVE, DEFAULT_PRESERVE_INTERFACES, DEFAULT_PRESERVE_SETS)
    content, same = iptables_persist.persisted_form(None, *args)
    for old in (content.replace('# Written by', '# Written long ago by'), saved):
        del counted[:]
        fast = iptables_persist.persisted_form(old, *args)
        fast_calls = len(counted)
        known_parse = iptables_persist._parse_persisted
        iptables_persist._parse_persisted = lambda text, fam, known=None: known_parse(text, fam)
        try:
            del counted[:]
            slow = iptables_persist.persisted_form(old, *args)
        finally:
            iptables_persist._parse_persisted = known_parse
        assert fast == slow
        assert fast_calls <= len(counted)
    del counted[:]
    assert iptables_persist.persisted_form(content.replace('# Written by', '# Written long ago by'), *args) == (content, True)
    assert counted == []
