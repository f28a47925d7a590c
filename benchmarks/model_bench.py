# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of plugins/module_utils/iptables_model.py on a generated 10,000-rule ruleset.

Usage: python benchmarks/model_bench.py [--rules N] [--repeat R] [--seed S]

Prints, in seconds (best of R runs): parse of the user-spelled file, parse of its canonical
render, render, diff of two equal rulesets, diff with one rule changed, and the total of
parse + canonicalise + diff (the figure that must stay well under 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_model():
    tmp = tempfile.mkdtemp(prefix='rampart-bench-')
    ns = os.path.join(tmp, 'ansible_collections', 'rampart')
    os.makedirs(ns)
    os.symlink(ROOT, os.path.join(ns, 'firewall'))
    sys.path.insert(0, tmp)
    from ansible_collections.rampart.firewall.plugins.module_utils import iptables_model
    return iptables_model, tmp


def _addr(rnd):
    return '%d.%d.%d.%d' % (rnd.choice((10, 172, 192, 198)), rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))


def _rule(rnd, chains):
    """One rule, written the way people write them (not iptables-save spelling)."""
    kind = rnd.randrange(12)
    port = rnd.randrange(1, 65535)
    if kind == 0:
        return '-s %s -p tcp --dport %d -m conntrack --ctstate NEW -j ACCEPT' % (_addr(rnd), port)
    if kind == 1:
        return '-s %s/24 -d %s -p udp --dport %d -j ACCEPT' % (_addr(rnd), _addr(rnd), port)
    if kind == 2:
        return '-p tcp -m multiport --dports %d,%d,%d:%d -j %s' % (
            port, rnd.randrange(1, 1000), 2000, 2000 + rnd.randrange(100), rnd.choice(chains))
    if kind == 3:
        return '-p icmp --icmp-type echo-request -m limit --limit %d/s -j ACCEPT' % rnd.randrange(1, 50)
    if kind == 4:
        return '-m state --state ESTABLISHED,RELATED -s %s -j ACCEPT' % _addr(rnd)
    if kind == 5:
        return '-p tcp --syn --dport %d -m recent --set --name r%d -j LOG --log-prefix "new %d: "' % (
            port, rnd.randrange(100), port)
    if kind == 6:
        return '-s %s -m comment --comment "host %d" -j DROP' % (_addr(rnd), rnd.randrange(10000))
    if kind == 7:
        return '! -s %s/16 -p tcp --sport 1024: -j REJECT --reject-with tcp-reset' % _addr(rnd)
    if kind == 8:
        return '-p tcp --dport %d -m hashlimit --hashlimit 10/m --hashlimit-name h%d --hashlimit-mode srcip -j ACCEPT' % (
            port, rnd.randrange(1000))
    if kind == 9:
        return '-d %s -p udp -m udp --sport 53 -j ACCEPT' % _addr(rnd)
    if kind == 10:
        return '-m addrtype --dst-type LOCAL -p tcp --dport %d -j %s' % (port, rnd.choice(chains))
    return '-s %s -j REJECT' % _addr(rnd)


def generate(n, seed=1):
    rnd = random.Random(seed)
    chains = ['svc%d' % i for i in range(20)]
    lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]']
    lines.extend(':%s - [0:0]' % c for c in chains)
    per_chain = {'INPUT': [], 'FORWARD': [], 'OUTPUT': []}
    for c in chains:
        per_chain[c] = []
    names = list(per_chain)
    for i in range(n):
        chain = names[i % len(names)] if i % 3 else 'INPUT'
        if chain == 'FORWARD':
            targets = ['ACCEPT']
        elif chain in chains:
            targets = [c for c in chains if c > chain] or ['ACCEPT']
        else:
            targets = chains
        per_chain[chain].append('-A %s %s' % (chain, _rule(rnd, targets)))
    for c in names:
        lines.extend(per_chain[c])
    lines.append('COMMIT')
    return '\n'.join(lines) + '\n'


def best(fn, repeat):
    t = None
    out = None
    for _i in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        d = time.perf_counter() - t0
        t = d if t is None or d < t else t
    return t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    ap.add_argument('--rules', type=int, default=10000)
    ap.add_argument('--repeat', type=int, default=5)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    model, tmp = _import_model()
    try:
        text = generate(a.rules, a.seed)
        # warm caches of earlier runs out: use a fresh seed-independent copy per measurement
        t_parse, rs = best(lambda: model.parse(text), a.repeat)
        t_render, canon = best(lambda: model.render(rs), a.repeat)
        t_parse_canon, rs2 = best(lambda: model.parse(canon), a.repeat)
        assert rs == rs2
        t_diff_eq, d = best(lambda: model.diff(rs, rs2), a.repeat)
        assert d == ''
        lines = canon.split('\n')
        idx = len(lines) // 2
        while not lines[idx].startswith('-A '):
            idx += 1
        lines[idx] = lines[idx].replace(' -j ', ' -m comment --comment changed -j ', 1)
        rs3 = model.parse('\n'.join(lines))
        t_diff_one, d1 = best(lambda: model.diff(rs, rs3), a.repeat)
        assert d1.count('\n+-A') == 1, d1
        nrules = sum(len(c.rules) for c in rs.tables['filter'].chains.values())
        rows = [
            ('parse (user spelling)', t_parse),
            ('parse (canonical render)', t_parse_canon),
            ('render', t_render),
            ('diff, equal rulesets', t_diff_eq),
            ('diff, one rule changed', t_diff_one),
            ('parse + diff (one changed)', t_parse + t_diff_one),
        ]
        print('iptables_model benchmark: %d rules, %d lines, Python %s, best of %d' % (
            nrules, text.count('\n'), sys.version.split()[0], a.repeat))
        print('%-30s %10s' % ('step', 'seconds'))
        for name, t in rows:
            print('%-30s %10.4f' % (name, t))
    finally:
        shutil.rmtree(tmp, True)


if __name__ == '__main__':
    main()
