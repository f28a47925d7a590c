# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cases of the fuzz suite (tests/fuzz/run.py): data, hand-written and generated.

cases() returns a list of dicts:

id        unique name, "module/family/what"
module    the module the case runs (short name)
args      its parameters (ANSIBLE_MODULE_ARGS); "{{ pre0.rollback.token }}" takes a value of an earlier result
expect    invalid | valid | unchanged | either (see run.py)
fields    invalid: the msg names one of these (the option; for ruleset text also the iptables option)
value     invalid: the msg shows this value (as is or escaped); leave it out when the value is not shown
msg_re    invalid: the msg also matches this regular expression
finding   the number of the finding of issue 10 the case is about (None: a general family)
family    a label for the kind of input
setup     files and the like to create in the namespace first (see Inner.apply_op)
pre       module runs that must succeed before the case ({module, args})
after_pre setup done after the pre runs
absent    paths that must not exist afterwards
leak      [{text, max, what}]: the result (without invocation) holds no run longer than max of text
no_log    texts that must not reach syslog
max_log   the longest syslog message allowed (bytes)
lock_private  the apply lock must not be openable by other users after the run
idempotent    valid: run twice, the second run reports changed=false (default true)
check_mode    run in check mode
env       extra environment variables for the module
backends  ['nft'] (default) or ['nft', 'legacy']
needs_ipset   the case needs the ipset tool (setup ops 'ipset', or the module uses sets)

All values are ASCII in this file: other characters are written as escapes.
"""

from __future__ import annotations

BOTH = ['nft', 'legacy']

# ---------------------------------------------------------------------------------------------
# rulesets

DESIRED_V4 = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
COMMIT
'''

DESIRED_V4_NAT = DESIRED_V4 + '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
'''

DESIRED_V6 = '''*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
'''

OTHER_V4 = DESIRED_V4.replace('80,443', '80,443,8443')

SSH = '198.51.100.7 50000 203.0.113.10 22'


def with_line(line, base=DESIRED_V4):
    """DESIRED_V4 with LINE added before its COMMIT."""
    return base.replace('COMMIT\n', line + '\nCOMMIT\n', 1)


def big_ruleset(rules, marker):
    lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', '-A INPUT -i lo -j ACCEPT']
    for i in range(rules):
        lines.append('-A INPUT -s 10.%d.%d.0/24 -p tcp --dport %d -m comment --comment "%s-%d" -j ACCEPT'
                     % (i // 250 % 250, i % 250, 1000 + i % 60000, marker, i))
    lines.append('COMMIT')
    return '\n'.join(lines) + '\n'


# Hostile strings.
NUL = 'a\x00b'
SHELL = ['tcp; id', '$(touch /tmp/pwned)', '`touch /tmp/pwned`', 'x && touch /tmp/pwned', 'x | touch /tmp/pwned',
         "x'; touch /tmp/pwned; '", 'x"; touch /tmp/pwned; "']
CONTROL = [('nul', 'a\x00b'), ('newline', 'a\nb'), ('cr', 'a\rb'), ('esc', 'a\x1b[31mb'), ('del', 'a\x7fb'),
           ('vt', 'a\x0bb'), ('fs', 'a\x1cb'), ('nel', 'a\x85b'), ('bell', 'a\x07b')]
INJECT_LINE = 'eth0\n-A INPUT -j ACCEPT'
FW2 = '\uff12\uff12'          # fullwidth "22"
FW_IP = '\uff11\uff10.0.0.1'  # fullwidth "10" .0.0.1
AR_DIGITS = '\u0662\u0662'    # Arabic-Indic "22"
SUPER2 = '\u00b2\u00b2'       # superscript two (isdigit() is true, int() refuses)
LONG = 'A' * 5000

# Secrets for the leak cases.
SECRET_HASH = ''.join('%02x' % ((i * 37 + 11) % 256) for i in range(43))[:86]
SECRET_LINE = 'root:$6$Zk3Qm9sPq2Lx7VbN$%s:19000:0:99999:7:::' % SECRET_HASH
SECRET_LINE2 = 'backup:$6$Hh8Jk2Lm4Nn6Pp8R$%s:19000:0:99999:7:::' % SECRET_HASH[::-1]
ENV_SECRET = 'fuzz-env-secret-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e'


# ---------------------------------------------------------------------------------------------
# builders

def case(cid, module, args, expect, **kw):
    out = dict(id=cid, module=module, args=args, expect=expect)
    out.update(kw)
    out['has_value'] = 'value' in kw
    return out


def invalid(cid, module, args, fields, value=None, **kw):
    if value is not None:
        kw['value'] = value
    return case(cid, module, args, 'invalid', fields=fields if isinstance(fields, list) else [fields], **kw)


def ruleset(**args):
    base = dict(content=DESIRED_V4, rollback_timeout=0, persist=False)
    base.update(args)
    return dict((k, v) for k, v in base.items() if v is not None)


RULE_BASE = dict(chain='INPUT', protocol='tcp', destination_port=443, jump='ACCEPT')


def rule(**args):
    base = dict(RULE_BASE)
    base.update(args)
    return dict((k, v) for k, v in base.items() if v is not None)


NAT_MASQ = dict(type='masquerade', out_interface='eth0')
NAT_FWD = dict(type='port_forward', in_interface='eth0', port=8080, to_destination='192.168.1.10:80')


def nat(base, **args):
    out = dict(base)
    out.update(args)
    return dict((k, v) for k, v in out.items() if v is not None)


# ---------------------------------------------------------------------------------------------
# valid cases: the harness accepts good input and sees idempotence

def valid_cases():
    out = []
    add = out.append
    add(case('ruleset/valid/content-v4', 'iptables_ruleset', ruleset(), 'valid', backends=BOTH))
    add(case('ruleset/valid/content-v4-nat-persist', 'iptables_ruleset', ruleset(content=DESIRED_V4_NAT, persist=True), 'valid',
             backends=BOTH))
    add(case('ruleset/valid/content-v6-persist', 'iptables_ruleset', ruleset(family='ipv6', content=DESIRED_V6, persist=True), 'valid',
             backends=BOTH))
    add(case('ruleset/valid/src-file', 'iptables_ruleset', ruleset(content=None, src='/var/tmp/rules.v4', persist=True), 'valid',
             setup=[dict(op='file', path='/var/tmp/rules.v4', text=DESIRED_V4)], backends=BOTH))
    add(case('ruleset/valid/persist-path', 'iptables_ruleset', ruleset(persist=True, persist_path='/etc/iptables/custom.v4'), 'valid'))
    add(case('ruleset/valid/backup', 'iptables_ruleset', ruleset(backup=True), 'valid'))
    add(case('ruleset/valid/own-every-chain', 'iptables_ruleset', ruleset(preserve_chains=[]), 'valid', backends=BOTH))
    add(case('ruleset/valid/ssh-connection-safe', 'iptables_ruleset', ruleset(ssh_connection=SSH), 'valid'))
    add(case('ruleset/valid/comment-shell-metachars', 'iptables_ruleset',
             ruleset(content=with_line('-A INPUT -p tcp --dport 8080 -m comment --comment "$(touch /tmp/pwned) `id`; x|y" -j ACCEPT')),
             'valid', backends=BOTH))
    add(case('ruleset/valid/comment-unicode-letters', 'iptables_ruleset',
             ruleset(content=with_line('-A INPUT -p tcp --dport 8081 -m comment --comment "caf\u00e9 \u2713" -j ACCEPT')), 'valid'))
    add(case('ruleset/valid/wait-300', 'iptables_ruleset', ruleset(wait=300), 'valid'))
    add(case('ruleset/valid/wait-0', 'iptables_ruleset', ruleset(wait=0), 'valid'))
    add(case('ruleset/valid/large-1MiB', 'iptables_ruleset', ruleset(content=big_ruleset(8000, 'bulk')), 'valid'))
    add(case('ruleset/unchanged/gathered', 'iptables_ruleset', dict(state='gathered'), 'unchanged', backends=BOTH))
    add(case('ruleset/unchanged/gathered-v6', 'iptables_ruleset', dict(state='gathered', family='ipv6'), 'unchanged'))
    add(case('ruleset/unchanged/check-mode', 'iptables_ruleset', ruleset(persist=True), 'unchanged', check_mode=True, backends=BOTH))
    add(case('ruleset/unchanged/check-mode-rollback-3600', 'iptables_ruleset', ruleset(rollback_timeout=3600), 'unchanged',
             check_mode=True, finding=5))
    # confirm-or-revert, the whole protocol: apply with a window, then confirm (twice)
    add(case('confirm/valid/window-then-confirm', 'iptables_confirm', {'token': '{{ pre0.rollback.token }}', 'wait_apply': 10}, 'valid',
             pre=[dict(module='iptables_ruleset', args=ruleset(rollback_timeout=60, persist=True))], backends=BOTH))
    add(case('confirm/valid/not-yet', 'iptables_confirm', {'token': '{{ pre0.rollback.token }}', 'wait_apply': 10, 'confirm': False},
             'valid', pre=[dict(module='iptables_ruleset', args=ruleset(rollback_timeout=60))]))
    add(case('ruleset/valid/rollback-window-300', 'iptables_ruleset', ruleset(rollback_timeout=300), 'valid', idempotent=False, finding=5))

    add(case('rule/valid/tcp-443', 'iptables_rule', rule(), 'valid', backends=BOTH))
    add(case('rule/valid/both-families', 'iptables_rule', rule(family='both', comment='https'), 'valid', backends=BOTH))
    add(case('rule/valid/position-1', 'iptables_rule', rule(position=1, source=['192.0.2.0/24']), 'valid'))
    add(case('rule/valid/multiport-list', 'iptables_rule', rule(destination_port=None, destination_ports=['80', '443', '8000:8010']),
             'valid'))
    add(case('rule/valid/ctstate', 'iptables_rule', dict(chain='INPUT', ctstate=['NEW', 'ESTABLISHED'], jump='ACCEPT'), 'valid'))
    add(case('rule/valid/absent-existing', 'iptables_rule', dict(chain='INPUT', protocol='tcp', destination_port=22, jump='ACCEPT',
                                                                 state='absent'), 'valid', backends=BOTH))
    add(case('rule/valid/rules-list', 'iptables_rule', dict(chain='web-in', rules=[
        dict(protocol='tcp', destination_port=443, jump='ACCEPT'), dict(protocol='udp', destination_port=53, jump='ACCEPT')]), 'valid'))
    add(case('rule/valid/comment-shell', 'iptables_rule', rule(comment='$(touch /tmp/pwned) `id` ; | &&'), 'valid'))
    add(case('rule/valid/log-prefix-shell', 'iptables_rule', rule(jump='LOG', log_prefix='$(id) `id`;|'), 'valid'))
    add(case('rule/unchanged/check-mode', 'iptables_rule', rule(), 'unchanged', check_mode=True))

    add(case('chain/valid/create', 'iptables_chain', dict(chain='fuzz-in'), 'valid', backends=BOTH))
    add(case('chain/valid/create-both', 'iptables_chain', dict(chain='fuzz-in', family='both'), 'valid'))
    add(case('chain/valid/flushed', 'iptables_chain', dict(chain='web-in', state='flushed'), 'valid'))
    add(case('chain/valid/absent-unreferenced', 'iptables_chain', dict(chain='fuzz-x', state='absent'), 'valid'))
    add(case('policy/valid/input-accept', 'iptables_policy', dict(chain='INPUT', policy='ACCEPT'), 'valid', backends=BOTH))
    add(case('policy/valid/both-forward', 'iptables_policy', dict(chain='FORWARD', policy='ACCEPT', family='both'), 'valid'))
    add(case('policy/valid/nat-postrouting', 'iptables_policy', dict(chain='POSTROUTING', policy='ACCEPT', table='nat'), 'valid'))
    add(case('nat/valid/masquerade', 'iptables_nat', nat(NAT_MASQ), 'valid', backends=BOTH))
    add(case('nat/valid/masquerade-source', 'iptables_nat', nat(NAT_MASQ, source=['192.168.1.0/24']), 'valid'))
    add(case('nat/valid/snat', 'iptables_nat', dict(type='snat', to_source='203.0.113.10', out_interface='eth0'), 'valid'))
    add(case('nat/valid/port-forward', 'iptables_nat', nat(NAT_FWD), 'valid', backends=BOTH))
    add(case('nat/valid/port-forward-v6', 'iptables_nat',
             dict(type='port_forward', family='ipv6', in_interface='eth0', port=8080, to_destination='[2001:db8::10]:80'), 'valid'))
    # sysctl_hardening alone (no action plugin to confirm a window): the direct path, rollback_timeout=0
    add(case('sysctl/valid/host', 'sysctl_hardening', dict(profile='host', rollback_timeout=0), 'valid'))
    add(case('sysctl/valid/router', 'sysctl_hardening', dict(profile='router', rollback_timeout=0), 'valid'))
    add(case('sysctl/valid/settings', 'sysctl_hardening', dict(profile='host', settings={'net.ipv4.tcp_timestamps': 0},
                                                               rollback_timeout=0), 'valid'))
    add(case('sysctl/valid/no-reload', 'sysctl_hardening', dict(profile='host', reload=False), 'valid'))
    add(case('sysctl/valid/run-sysctl-d', 'sysctl_hardening', dict(profile='host', path='/etc/sysctl.d/50-fuzz.conf',
                                                                   rollback_timeout=0), 'valid'))
    add(case('sysctl/unchanged/check-mode', 'sysctl_hardening', dict(profile='router'), 'unchanged', check_mode=True))
    for item in out:
        item.setdefault('family', 'valid')
    return out


# ---------------------------------------------------------------------------------------------
# finding 1: the confirm token

def token_cases():
    out = []
    planted_json = {'family': 'ipv4', 'deadline': 4102444800, 'timeout': 30, 'tables': ['filter'], 'armed': 1700000000,
                    'restore': ['/bin/sh', '-c', 'touch /tmp/pwned'],
                    'persist': {'path': '/etc/cron.d/rampart-evil', 'content': '* * * * * root touch /tmp/pwned\n', 'same': False,
                                'mode': 420, 'services': [], 'package': None}}
    # the state directory exists (an earlier apply made it): "../../tmp/..." then leads out of it
    plant = [dict(op='dir', path='/run/rampart-firewall', mode=0o700), dict(op='dir', path='/tmp/drop', mode=0o1777),
             dict(op='json', path='/tmp/drop/evil.json', data=planted_json, mode=0o666),
             dict(op='file', path='/tmp/drop/evil.pending', text='', mode=0o666),
             dict(op='file', path='/tmp/drop/evil.applied', text='{"at": 1}', mode=0o666),
             dict(op='file', path='/tmp/drop/evil.rules', text='*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', mode=0o666),
             dict(op='chown', path='/tmp/drop/evil.json', uid=65534, gid=65534)]
    out.append(invalid('confirm/token/traversal-planted-cron', 'iptables_confirm', {'token': '../../tmp/drop/evil', 'wait_apply': 0},
                       'token', '../../tmp/drop/evil', setup=plant, absent=['/etc/cron.d/rampart-evil']))
    out.append(invalid('confirm/token/absolute-planted-cron', 'iptables_confirm', {'token': '/tmp/drop/evil', 'wait_apply': 0},
                       'token', '/tmp/drop/evil', setup=plant, absent=['/etc/cron.d/rampart-evil']))
    tokens = [
        ('dotdot-x', '../../x'), ('dotdot-etc', '../../etc/cron.d/evil'), ('absolute-etc', '/etc/passwd'), ('absolute-tmp', '/tmp/evil'),
        ('nul', 'ipv4-1700000000-abcdef01\x00'), ('nul-middle', 'ipv4-17000\x0000000-abcdef01'), ('very-long', 'ipv4-1-' + 'a' * 5000),
        ('unicode-digits', 'ipv4-\uff11\uff17\uff10\uff10-abcdef01'), ('arabic-digits', 'ipv4-\u0661\u0662\u0663-abcdef01'),
        ('unicode-hex', 'ipv4-1700000000-abcdef0\uff11'), ('uppercase-hex', 'ipv4-1700000000-ABCDEF01'),
        ('short-hex', 'ipv4-1700000000-abcdef0'), ('long-hex', 'ipv4-1700000000-abcdef012'), ('family', 'ipv5-1700000000-abcdef01'),
        ('negative', 'ipv4--1700000000-abcdef01'), ('empty', ''), ('blank', ' '), ('newline', 'ipv4-1700000000-abcdef01\n'),
        ('suffix-path', 'ipv4-1700000000-abcdef01/../../x'), ('dot', '.'), ('dotdot', '..'), ('glob', 'ipv4-*'),
        ('shell', '$(touch /tmp/pwned)'), ('backtick', '`touch /tmp/pwned`'), ('esc', 'ipv4-1700000000-abcdef01\x1b[2J'),
        ('slash-only', '/'), ('tilde', '~root/x'), ('plus-sign', 'ipv4-+1700000000-abcdef01'), ('space-inside', 'ipv4-17000 00000-abcdef01'),
    ]
    for name, token in tokens:
        out.append(invalid('confirm/token/%s' % name, 'iptables_confirm', {'token': token, 'wait_apply': 0}, 'token',
                           token if token.strip() else None))
    # a well-formed token that names no window: a clear "unknown" refusal naming the token
    out.append(invalid('confirm/token/well-formed-unknown', 'iptables_confirm', {'token': 'ipv4-1700000000-abcdef01', 'wait_apply': 0},
                       'token'))
    out.append(invalid('confirm/token/wrong-type-list', 'iptables_confirm', {'token': ['a'], 'wait_apply': 0}, 'token'))
    out.append(invalid('confirm/token/missing', 'iptables_confirm', {'wait_apply': 0}, 'token'))
    out.append(invalid('confirm/unknown-option', 'iptables_confirm', {'token': 'ipv4-1700000000-abcdef01', 'state_dir': '/tmp'},
                       'state_dir'))
    for value in (-1, 301, 10 ** 12):
        out.append(invalid('confirm/wait-apply/%s' % value, 'iptables_confirm', {'token': 'ipv4-1700000000-abcdef01', 'wait_apply': value},
                           'wait_apply', value, finding=None, family='wait bounds'))
    for item in out:
        item.setdefault('finding', 1)
        item.setdefault('family', 'confirm token')
    return out


# ---------------------------------------------------------------------------------------------
# findings 2, 3, 4, 12c: lock, timer and state directory

def window_cases():
    out = []
    apply_v4 = dict(module='iptables_ruleset', args=ruleset())
    out.append(case('ruleset/lock/nobody-cannot-block', 'iptables_ruleset', ruleset(content=OTHER_V4, wait=1), 'valid',
                    pre=[apply_v4],
                    after_pre=[dict(op='hold_lock',
                                    paths=['/run/rampart-firewall.lock', '/run/rampart-firewall/apply.lock', '/run/rampart-firewall/lock'])],
                    finding=2, family='apply lock'))
    out.append(case('ruleset/lock/root-only', 'iptables_ruleset', ruleset(), 'valid', lock_private=True, finding=2, family='apply lock',
                    backends=BOTH))
    out.append(case('ruleset/timer/ipv6-during-ipv4-window', 'iptables_ruleset',
                    ruleset(family='ipv6', content=DESIRED_V6, wait=2), 'valid',
                    pre=[dict(module='iptables_ruleset', args=ruleset(rollback_timeout=60))], finding=3, family='revert timer',
                    backends=BOTH))
    out.append(invalid('ruleset/timer/second-apply-same-family', 'iptables_ruleset', ruleset(content=OTHER_V4, wait=2),
                       ['rollback_timeout', 'confirmation'], msg_re=r'waiting for its confirmation',
                       pre=[dict(module='iptables_ruleset', args=ruleset(rollback_timeout=60))], finding=12, family='unclear error'))
    out.append(invalid('ruleset/timer/second-window-same-family', 'iptables_ruleset', ruleset(content=OTHER_V4, wait=2, rollback_timeout=30),
                       ['rollback_timeout', 'confirmation'], msg_re=r'waiting for its confirmation',
                       pre=[dict(module='iptables_ruleset', args=ruleset(rollback_timeout=60))], finding=12, family='unclear error'))
    stale = {'family': 'ipv4', 'deadline': 1000000000, 'timeout': 30, 'tables': ['filter'], 'armed': 999999970,
             'restore': ['/bin/sh', '-c', 'touch /tmp/pwned-timer']}
    plant_root = [dict(op='dir', path='/run/rampart-firewall', mode=0o700),
                  dict(op='json', path='/run/rampart-firewall/ipv4-999999970-0badc0de.json', data=stale),
                  dict(op='file', path='/run/rampart-firewall/ipv4-999999970-0badc0de.pending', text=''),
                  dict(op='file', path='/run/rampart-firewall/ipv4-999999970-0badc0de.rules', text=DESIRED_V4)]
    out.append(case('ruleset/timer/stale-window-argv-not-run', 'iptables_ruleset', ruleset(rollback_timeout=30), 'either',
                    setup=plant_root, absent=['/tmp/pwned-timer'], idempotent=False, finding=4, family='state directory'))
    plant_open = [dict(op='dir', path='/run/rampart-firewall', mode=0o777),
                  dict(op='chown', path='/run/rampart-firewall', uid=65534, gid=65534),
                  dict(op='json', path='/run/rampart-firewall/ipv4-999999970-0badc0de.json', data=stale, mode=0o666),
                  dict(op='file', path='/run/rampart-firewall/ipv4-999999970-0badc0de.pending', text='', mode=0o666),
                  dict(op='file', path='/run/rampart-firewall/ipv4-999999970-0badc0de.rules', text=DESIRED_V4, mode=0o666),
                  dict(op='chown', path='/run/rampart-firewall/ipv4-999999970-0badc0de.json', uid=65534, gid=65534)]
    out.append(invalid('ruleset/timer/untrusted-state-dir', 'iptables_ruleset', ruleset(rollback_timeout=30), ['/run/rampart-firewall'],
                       setup=plant_open, absent=['/tmp/pwned-timer'], finding=4, family='state directory'))
    out.append(invalid('ruleset/timer/untrusted-state-dir-no-window', 'iptables_ruleset', ruleset(rollback_timeout=0),
                       ['/run/rampart-firewall'], setup=plant_open[:2], finding=4, family='state directory'))
    out.append(invalid('confirm/untrusted-state-dir', 'iptables_confirm', {'token': 'ipv4-999999970-0badc0de', 'wait_apply': 0},
                       ['/run/rampart-firewall'], setup=plant_open, absent=['/tmp/pwned-timer'], finding=4, family='state directory'))
    return out


# ---------------------------------------------------------------------------------------------
# findings 5, 6, 7, 13 and bounds: iptables_ruleset options

def ruleset_option_cases():
    out = []
    add = out.append
    # 5: rollback_timeout
    for value in (10 ** 12, 3601, 86400 * 365, 2 ** 63, -1, -(10 ** 12)):
        add(invalid('ruleset/rollback-timeout/%s' % value, 'iptables_ruleset', ruleset(rollback_timeout=value), 'rollback_timeout', value,
                    finding=5, family='rollback_timeout'))
    add(invalid('ruleset/rollback-timeout/huge-check-mode', 'iptables_ruleset', ruleset(rollback_timeout=10 ** 12), 'rollback_timeout',
                10 ** 12, check_mode=True, finding=5, family='rollback_timeout'))
    for value in ('30s', 'thirty', 1.5, [30], {'a': 1}):
        add(invalid('ruleset/rollback-timeout/type-%s' % type(value).__name__ + ('-' + value if isinstance(value, str) else ''),
                    'iptables_ruleset', ruleset(rollback_timeout=value), 'rollback_timeout', finding=None, family='wrong type'))
    # wait bounds (every module: 0..300)
    for module, args in (('iptables_ruleset', ruleset()), ('iptables_rule', rule()), ('iptables_chain', dict(chain='fuzz-w')),
                         ('iptables_policy', dict(chain='INPUT', policy='ACCEPT')), ('iptables_nat', nat(NAT_MASQ))):
        for value in (-1, 301, 10 ** 12, -(2 ** 63)):
            add(invalid('%s/wait/%s' % (module.replace('iptables_', ''), value), module, dict(args, wait=value), 'wait', value,
                        family='wait bounds'))
        add(invalid('%s/wait/type-str' % module.replace('iptables_', ''), module, dict(args, wait='10s'), 'wait', family='wrong type'))
    # 6: persist_path, validated before the live ruleset changes
    persist = [
        ('directory', '/etc/iptables', []), ('directory-slash', '/etc/iptables/', []), ('directory-var-backups', '/var/backups', []),
        ('relative', 'rules.v4', []), ('relative-dot', './rules.v4', []), ('relative-dotdot', '../rules.v4', []),
        ('nul', '/etc/iptables/rules\x00.v4', []), ('dev-null', '/dev/null', []), ('dev-zero', '/dev/zero', []),
        ('dev-full', '/dev/full', []), ('fifo', '/tmp/persist.fifo', [dict(op='fifo', path='/tmp/persist.fifo')]),
        ('symlink-to-dev-null', '/etc/iptables/null.v4', [dict(op='symlink', path='/etc/iptables/null.v4', target='/dev/null')]),
        ('symlink-to-dir', '/etc/iptables/dir.v4', [dict(op='symlink', path='/etc/iptables/dir.v4', target='/var/backups')]),
        ('empty', '', []), ('very-long', '/etc/iptables/' + 'a' * 5000, []), ('control-esc', '/etc/iptables/rules\x1b.v4', []),
        ('newline', '/etc/iptables/rules\n.v4', []), ('parent-is-file', '/etc/iptables/rules.v4/x', []),
    ]
    for name, path, setup in persist:
        add(invalid('ruleset/persist-path/%s' % name, 'iptables_ruleset', ruleset(persist=True, persist_path=path), 'persist_path',
                    path if path else None, setup=setup, finding=6, family='persist_path'))
    add(case('ruleset/persist-path/symlink-outside', 'iptables_ruleset', ruleset(persist=True, persist_path='/etc/iptables/link.v4'),
             'either', fields=['persist_path'], setup=[dict(op='symlink', path='/etc/iptables/link.v4', target='/etc/hostname')],
             finding=6, family='persist_path'))
    add(case('ruleset/persist-path/tilde', 'iptables_ruleset', ruleset(persist=True, persist_path='~/rules.v4'), 'either',
             fields=['persist_path'], finding=6, family='persist_path'))
    add(invalid('ruleset/persist-path/dev-null-check-mode', 'iptables_ruleset', ruleset(persist=True, persist_path='/dev/null'),
                'persist_path', '/dev/null', check_mode=True, finding=6, family='persist_path'))
    add(invalid('ruleset/persist-path/dev-null-window', 'iptables_ruleset',
                ruleset(persist=True, persist_path='/dev/null', rollback_timeout=30),
                'persist_path', '/dev/null', finding=6, family='persist_path'))
    # 7: src, a regular file of at most 64 MiB
    src = [
        ('fifo', '/tmp/rules.fifo', [dict(op='fifo', path='/tmp/rules.fifo')]),
        ('symlink-to-fifo', '/tmp/rules.link', [dict(op='fifo', path='/tmp/rules.fifo'),
                                                dict(op='symlink', path='/tmp/rules.link', target='/tmp/rules.fifo')]),
        ('dev-zero', '/dev/zero', []), ('dev-null', '/dev/null', []), ('dev-urandom', '/dev/urandom', []), ('directory', '/tmp', []),
        ('huge-64MiB-plus-1', '/tmp/huge.rules', [dict(op='sparse', path='/tmp/huge.rules', size=64 * 1024 * 1024 + 1)]),
        ('huge-1GiB', '/tmp/huge.rules', [dict(op='sparse', path='/tmp/huge.rules', size=1 << 30)]),
        ('missing', '/tmp/no-such-file', []), ('nul', '/tmp/rules\x00.v4', []), ('relative-missing', 'rules.v4', []),
        ('non-utf8', '/tmp/latin1.rules', [dict(op='bytes', path='/tmp/latin1.rules',
                                                hex=with_line('-A INPUT -m comment --comment "caf\u00e9" -j ACCEPT')
                                                .encode('latin-1').hex())]),
        ('empty-string', '', []), ('very-long', '/tmp/' + 'a' * 5000, []),
    ]
    for name, path, setup in src:
        add(invalid('ruleset/src/%s' % name, 'iptables_ruleset', ruleset(content=None, src=path), 'src', path if path else None,
                    setup=setup, finding=7, family='src'))
    add(invalid('ruleset/src/and-content', 'iptables_ruleset', ruleset(src='/var/tmp/rules.v4'), ['src', 'content'], finding=None,
                family='wrong type', setup=[dict(op='file', path='/var/tmp/rules.v4', text=DESIRED_V4)]))
    # 13: no ruleset in syslog, no leak of a secret file through src
    secret = [dict(op='file', path='/var/tmp/shadow-copy', text=SECRET_LINE + '\n' + SECRET_LINE2 + '\n', mode=0o600),
              dict(op='symlink', path='/tmp/rules.v4', target='/var/tmp/shadow-copy')]
    # a short excerpt (80 characters) of the bad line is fine, the rest of the file is not
    leak = [dict(text=SECRET_LINE, max=80, what='the secret line'), dict(text=SECRET_HASH[::-1], max=8, what='the second secret line')]
    add(invalid('ruleset/src/symlink-to-secret', 'iptables_ruleset', ruleset(content=None, src='/tmp/rules.v4'), ['src', 'line'],
                setup=secret, leak=leak, finding=13, family='leak'))
    add(invalid('ruleset/src/proc-environ', 'iptables_ruleset', ruleset(content=None, src='/proc/self/environ'), 'src',
                env={'FUZZ_SECRET': ENV_SECRET}, leak=[dict(text=ENV_SECRET, max=8, what='an environment variable')],
                finding=13, family='leak'))
    marker = 'syslog-marker-5d1f'
    add(case('ruleset/syslog/content-200KB', 'iptables_ruleset', ruleset(content=big_ruleset(1600, marker)), 'valid',
             no_log=[marker], max_log=4096, finding=13, family='leak'))
    add(case('ruleset/syslog/content-small', 'iptables_ruleset',
             ruleset(content=with_line('-A INPUT -p tcp --dport 2222 -m comment --comment "%s-small" -j ACCEPT' % marker)), 'valid',
             no_log=[marker + '-small'], finding=13, family='leak'))
    bad = 'z' * 20000 + 'ENDOFBADLINE'
    add(invalid('ruleset/content/huge-bad-line', 'iptables_ruleset', ruleset(content=with_line('-A INPUT -m comment --comment ' + bad)),
                ['content', '--comment', 'line'], leak=[dict(text=bad, max=200, what='the bad line')], no_log=['ENDOFBADLINE'],
                finding=13, family='leak'))
    # ssh_connection with control characters and junk
    for name, value in CONTROL[:5] + [('inject', SSH + '\n-A INPUT -j ACCEPT'), ('unicode-digits', '\uff11\uff19\uff18.51.100.7 1 2 22'),
                                      ('garbage', 'not an address'), ('long', LONG)]:
        text = value if name in ('inject', 'unicode-digits', 'garbage', 'long') else SSH.replace('50000', '5' + value + '0')
        add(invalid('ruleset/ssh-connection/%s' % name, 'iptables_ruleset', ruleset(ssh_connection=text), 'ssh_connection', text,
                    finding=8 if name in dict(CONTROL) or name == 'inject' else (10 if name == 'unicode-digits' else None),
                    family='control characters' if name in dict(CONTROL) or name == 'inject' else 'ssh_connection'))
    # other options
    add(invalid('ruleset/family/ipv5', 'iptables_ruleset', ruleset(family='ipv5'), 'family', family='wrong type'))
    add(invalid('ruleset/state/bogus', 'iptables_ruleset', ruleset(state='absent'), 'state', family='wrong type'))
    add(invalid('ruleset/unknown-option', 'iptables_ruleset', ruleset(flush_everything=True), 'flush_everything', family='unknown option'))
    add(invalid('ruleset/unknown-option-case', 'iptables_ruleset', ruleset(Content='x'), 'Content', family='unknown option'))
    add(invalid('ruleset/preserve-chains/dict', 'iptables_ruleset', ruleset(preserve_chains={'a': 1}), 'preserve_chains',
                family='wrong type'))
    add(invalid('ruleset/content/list', 'iptables_ruleset', ruleset(content=['*filter', 'COMMIT']), ['content'], family='wrong type'))
    add(invalid('ruleset/neither-content-nor-src', 'iptables_ruleset', ruleset(content=None), ['content', 'src'], family='wrong type'))
    add(case('ruleset/preserve-chains/control', 'iptables_ruleset', ruleset(preserve_chains=['DOCKER\x00*', 'f2b-*\n']), 'either',
             fields=['preserve_chains'], family='control characters'))
    return out


# ---------------------------------------------------------------------------------------------
# findings 8, 10, 12 in ruleset text

def content_cases():
    out = []
    add = out.append
    lines = [
        (8, 'comment-nul', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x00b" -j ACCEPT', 'a\x00b'),
        (8, 'comment-nul-unquoted', '-A INPUT -p tcp --dport 8080 -m comment --comment a\x00b -j ACCEPT', 'a\x00b'),
        (8, 'comment-esc', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x1b[31mb" -j ACCEPT', 'a\x1b[31mb'),
        (8, 'comment-cr', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\rb" -j ACCEPT', 'a\rb'),
        (8, 'comment-bell', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x07b" -j ACCEPT', 'a\x07b'),
        (8, 'comment-del', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x7fb" -j ACCEPT', 'a\x7fb'),
        (8, 'comment-vt', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x0bb" -j ACCEPT', None),
        (8, 'comment-formfeed', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x0cb" -j ACCEPT', None),
        (8, 'comment-file-separator', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x1c-A INPUT -j DROP" -j ACCEPT', None),
        (8, 'comment-nel', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\x85-A INPUT -j DROP" -j ACCEPT', None),
        (8, 'comment-line-separator', '-A INPUT -p tcp --dport 8080 -m comment --comment "a\u2028-A INPUT -j DROP" -j ACCEPT', None),
        (8, 'interface-nul', '-A INPUT -i eth\x000 -j ACCEPT', 'eth\x000'),
        (8, 'interface-esc', '-A INPUT -i eth\x1b0 -j ACCEPT', 'eth\x1b0'),
        (8, 'log-prefix-nul', '-A INPUT -j LOG --log-prefix "x\x00y"', 'x\x00y'),
        (8, 'log-prefix-esc', '-A INPUT -j LOG --log-prefix "x\x1b[2Jy"', 'x\x1b[2Jy'),
        (8, 'nul-end-of-rule', '-A INPUT -p tcp --dport 8080 -j ACCEPT\x00 -j DROP', None),
        (8, 'cr-end-of-rule', '-A INPUT -p tcp --dport 8080 -j ACCEPT\r', None),
        (12, 'chain-decl-nul', ':FUZZ\x00X - [0:0]', 'FUZZ\x00X'),
        (12, 'chain-decl-esc', ':FUZZ\x1bX - [0:0]', 'FUZZ\x1bX'),
        (12, 'jump-nul', '-A INPUT -j ACC\x00EPT', 'ACC\x00EPT'),
        (10, 'dport-fullwidth', '-A INPUT -p tcp --dport %s -j ACCEPT' % FW2, FW2),
        (10, 'dport-arabic', '-A INPUT -p tcp --dport %s -j ACCEPT' % AR_DIGITS, AR_DIGITS),
        (10, 'dport-superscript', '-A INPUT -p tcp --dport %s -j ACCEPT' % SUPER2, SUPER2),
        (10, 'dports-fullwidth', '-A INPUT -p tcp -m multiport --dports 80,%s -j ACCEPT' % FW2, FW2),
        (10, 'sport-range-fullwidth', '-A INPUT -p tcp --sport 1024:%s -j ACCEPT' % FW2, FW2),
        (10, 'source-fullwidth', '-A INPUT -s %s -j ACCEPT' % FW_IP, FW_IP),
        (10, 'source-prefix-fullwidth', '-A INPUT -s 10.0.0.0/\uff18 -j ACCEPT', '10.0.0.0/\uff18'),
        (10, 'destination-arabic', '-A INPUT -d \u0661\u0660.0.0.1 -j ACCEPT', '\u0661\u0660.0.0.1'),
        (10, 'protocol-number-fullwidth', '-A INPUT -p \uff16 -j ACCEPT', '\uff16'),
        (10, 'icmp-type-fullwidth', '-A INPUT -p icmp --icmp-type \uff18 -j ACCEPT', '\uff18'),
        (10, 'limit-fullwidth', '-A INPUT -m limit --limit \uff15/second -j ACCEPT', '\uff15/second'),
        (10, 'limit-burst-fullwidth', '-A INPUT -m limit --limit 5/second --limit-burst \uff15 -j ACCEPT', '\uff15'),
        (10, 'mark-fullwidth', '-A INPUT -m mark --mark \uff11 -j ACCEPT', '\uff11'),
        (10, 'ttl-fullwidth', '-A INPUT -m ttl --ttl-eq \uff16\uff14 -j ACCEPT', '\uff16\uff14'),
        (10, 'length-fullwidth', '-A INPUT -m length --length \uff11\uff10\uff10 -j ACCEPT', '\uff11\uff10\uff10'),
        (10, 'policy-counter-fullwidth', None, None),
        (12, 'protocol-shell', '-A INPUT -p "tcp; id" --dport 22 -j ACCEPT', 'tcp; id'),
        (None, 'dport-huge', '-A INPUT -p tcp --dport 1000000000000 -j ACCEPT', '1000000000000'),
        (None, 'dport-negative', '-A INPUT -p tcp --dport -1 -j ACCEPT', None),
        (None, 'comment-too-long', '-A INPUT -m comment --comment "%s" -j ACCEPT' % ('c' * 300), None),
        (None, 'chain-name-too-long', ':%s - [0:0]' % ('C' * 40), None),
        (None, 'shell-in-jump', '-A INPUT -j "$(touch /tmp/pwned)"', '$(touch /tmp/pwned)'),
        (None, 'backtick-interface', '-A INPUT -i `touch /tmp/pwned` -j ACCEPT', None),
    ]
    for finding, name, line, value in lines:
        if line is None:
            content = DESIRED_V4.replace(':INPUT DROP [0:0]', ':INPUT DROP [\uff10:0]')
            value = '[\uff10:0]'
        else:
            content = with_line(line)
        fields = ['content', 'line', '--comment', '--dport', '--dports', '--sport', '-s', '-d', '-p', '-i', '--log-prefix', '-j', 'chain',
                  'policy', '--icmp-type', '--limit', '--limit-burst', '--mark', '--ttl-eq', '--length', 'counters']
        item = invalid('ruleset/content/%s' % name, 'iptables_ruleset', ruleset(content=content), fields, value,
                       finding=finding, family='ruleset text', backends=BOTH if name in ('comment-nul', 'dport-fullwidth', 'chain-decl-nul')
                       else ['nft'])
        # CRLF line ends and U+2028 (not a control character) may be accepted, consistently
        if name in ('shell-in-jump', 'backtick-interface', 'cr-end-of-rule', 'comment-line-separator'):
            item['expect'] = 'either'
        out.append(item)
    # the same hostile ruleset through src
    add(invalid('ruleset/src/comment-nul', 'iptables_ruleset', ruleset(content=None, src='/var/tmp/nul.rules'), ['src', '--comment', 'line'],
                setup=[dict(op='file', path='/var/tmp/nul.rules', text=with_line('-A INPUT -m comment --comment "a\x00b" -j ACCEPT'))],
                finding=8, family='ruleset text'))
    add(invalid('ruleset/content/nul-v6', 'iptables_ruleset', ruleset(family='ipv6', content=DESIRED_V6.replace(
        'COMMIT', '-A INPUT -m comment --comment "a\x00b" -j ACCEPT\nCOMMIT')), ['content', '--comment', 'line'], 'a\x00b', finding=8,
        family='ruleset text'))
    add(invalid('ruleset/content/source-fullwidth-v6', 'iptables_ruleset', ruleset(family='ipv6', content=DESIRED_V6.replace(
        'COMMIT', '-A INPUT -s 2001:db8::\uff11 -j ACCEPT\nCOMMIT')), ['content', '-s', 'line'], '2001:db8::\uff11', finding=10,
        family='ruleset text'))
    return out


# ---------------------------------------------------------------------------------------------
# iptables_rule, iptables_nat, iptables_chain, iptables_policy: structured options

def structured_cases():
    out = []
    add = out.append
    # 9: empty lists widen rules
    for name, args in (('destination-ports', rule(destination_port=None, destination_ports=[])),
                       ('source-ports', rule(destination_port=None, source_ports=[])),
                       ('source', rule(source=[])), ('destination', rule(destination=[])),
                       ('ctstate', dict(chain='INPUT', ctstate=[], jump='ACCEPT')),
                       ('src-type', dict(chain='INPUT', src_type=[], jump='ACCEPT')),
                       ('dst-type', dict(chain='INPUT', dst_type=[], jump='ACCEPT')),
                       ('tcp-flags', rule(tcp_flags={'flags': [], 'flags_set': []})),
                       ('rules-item-source', dict(chain='INPUT', rules=[dict(protocol='tcp', destination_port=443, source=[],
                                                                             jump='ACCEPT')]))):
        option = {'destination-ports': 'destination_ports', 'source-ports': 'source_ports', 'src-type': 'src_type',
                  'dst-type': 'dst_type', 'tcp-flags': 'flags', 'rules-item-source': 'source'}.get(name, name)
        add(invalid('rule/empty-list/%s' % name, 'iptables_rule', args, option, finding=9, family='empty list',
                    backends=BOTH if name == 'destination-ports' else ['nft']))
    add(invalid('rule/empty-list/destination-ports-drop', 'iptables_rule', rule(destination_port=None, destination_ports=[], jump='DROP'),
                'destination_ports', finding=9, family='empty list'))
    add(invalid('rule/empty-list/ctstate-state-absent', 'iptables_rule', dict(chain='INPUT', ctstate=[], jump='ACCEPT', state='absent'),
                'ctstate', finding=9, family='empty list'))
    for name, args in (('source', nat(NAT_MASQ, source=[])), ('destination', nat(NAT_MASQ, destination=[])),
                       ('snat-source', dict(type='snat', to_source='203.0.113.10', out_interface='eth0', source=[])),
                       ('forward-source', nat(NAT_FWD, source=[])), ('forward-destination', nat(NAT_FWD, destination=[]))):
        add(invalid('nat/empty-list/%s' % name, 'iptables_nat', args, name.rsplit('-', maxsplit=1)[-1], finding=9, family='empty list',
                    backends=BOTH if name == 'source' else ['nft']))
    add(case('rule/empty-list/rules', 'iptables_rule', dict(chain='INPUT', rules=[]), 'either', fields=['rules'], finding=9,
             family='empty list'))
    # strings where lists belong (Ansible splits "80,443" into a list: either a clean refusal or the same rule)
    add(case('rule/string-for-list/dports-443', 'iptables_rule', rule(destination_port=None, destination_ports='443'), 'either',
             fields=['destination_ports'], family='string for list'))
    add(case('rule/string-for-list/dports-80-443', 'iptables_rule', rule(destination_port=None, destination_ports='80,443'), 'either',
             fields=['destination_ports'], family='string for list'))
    add(case('rule/string-for-list/source', 'iptables_rule', rule(source='192.0.2.1,192.0.2.2'), 'either', fields=['source'],
             family='string for list'))
    add(case('rule/string-for-list/ctstate', 'iptables_rule', dict(chain='INPUT', ctstate='NEW,ESTABLISHED', jump='ACCEPT'), 'either',
             fields=['ctstate'], family='string for list'))
    add(case('nat/string-for-list/source', 'iptables_nat', nat(NAT_MASQ, source='192.168.1.0/24'), 'either', fields=['source'],
             family='string for list'))
    # ansible-core's own message for a list of dicts does not name the option
    add(invalid('rule/string-for-list/rules', 'iptables_rule', dict(chain='INPUT', rules='tcp 443'), ['rules', 'dictionary requested'],
                family='string for list'))
    # 10: Unicode digits
    for name, args, option, value in (
            ('destination-port', rule(destination_port=FW2), 'destination_port', FW2),
            ('destination-port-arabic', rule(destination_port=AR_DIGITS), 'destination_port', AR_DIGITS),
            ('destination-port-superscript', rule(destination_port=SUPER2), 'destination_port', SUPER2),
            ('destination-port-range', rule(destination_port='1000:\uff12\uff10\uff10\uff10'), 'destination_port', '1000:\uff12\uff10\uff10\uff10'),
            ('source-port', rule(source_port=FW2), 'source_port', FW2),
            ('destination-ports', rule(destination_port=None, destination_ports=['80', FW2]), 'destination_ports', FW2),
            ('source', rule(source=[FW_IP]), 'source', FW_IP),
            ('source-prefix', rule(source=['10.0.0.0/\uff18']), 'source', '10.0.0.0/\uff18'),
            ('destination', rule(destination=['\u0661\u0660.0.0.1']), 'destination', '\u0661\u0660.0.0.1'),
            ('icmp-type', dict(chain='INPUT', protocol='icmp', icmp_type='\uff18', jump='ACCEPT'), 'icmp_type', '\uff18'),
            ('limit', rule(limit='\uff15/second'), 'limit', '\uff15/second'),
            ('position', rule(position='\uff11'), 'position', '\uff11'),
            ('protocol-number', dict(chain='INPUT', protocol='\uff16', jump='ACCEPT'), 'protocol', '\uff16'),
            ('to-ports', dict(chain='PREROUTING', table='nat', protocol='tcp', destination_port=80, jump='REDIRECT', to_ports='\uff18\uff10'),
             'to_ports', '\uff18\uff10'),
            ('hashlimit-upto', rule(hashlimit={'name': 'fz', 'upto': '\uff15/second'}), 'upto', '\uff15/second'),
            ('match-args', rule(match_args='-m ttl --ttl-eq \uff16\uff14'), 'match_args', '\uff16\uff14')):
        add(invalid('rule/unicode-digits/%s' % name, 'iptables_rule', args, option, value, finding=10, family='unicode digits',
                    backends=BOTH if name == 'destination-port' else ['nft']))
    for name, args, option, value in (
            ('port', nat(NAT_FWD, port='\uff18\uff10\uff18\uff10'), 'port', '\uff18\uff10\uff18\uff10'),
            ('to-destination', nat(NAT_FWD, to_destination='\uff11\uff19\uff12.168.1.10:80'), 'to_destination', '\uff11\uff19\uff12.168.1.10:80'),
            ('to-destination-port', nat(NAT_FWD, to_destination='192.168.1.10:\uff18\uff10'), 'to_destination', '192.168.1.10:\uff18\uff10'),
            ('to-source', dict(type='snat', out_interface='eth0', to_source='\uff12\uff10\uff13.0.113.10'), 'to_source',
             '\uff12\uff10\uff13.0.113.10'),
            ('source', nat(NAT_MASQ, source=[FW_IP]), 'source', FW_IP),
            ('to-ports', nat(NAT_MASQ, protocol='tcp', to_ports='\uff11\uff10\uff12\uff14-65535'), 'to_ports',
             '\uff11\uff10\uff12\uff14-65535'),
            ('position', nat(NAT_MASQ, position='\uff11'), 'position', '\uff11')):
        add(invalid('nat/unicode-digits/%s' % name, 'iptables_nat', args, option, value, finding=10, family='unicode digits'))
    # 8/12: control characters in names, interfaces, comments, prefixes
    targets = (
        ('rule', 'iptables_rule', 'comment', lambda v: rule(comment=v)),
        ('rule', 'iptables_rule', 'in_interface', lambda v: rule(in_interface=v)),
        ('rule', 'iptables_rule', 'out_interface', lambda v: dict(chain='OUTPUT', out_interface=v, jump='ACCEPT')),
        ('rule', 'iptables_rule', 'chain', lambda v: rule(chain=v)),
        ('rule', 'iptables_rule', 'log_prefix', lambda v: rule(jump='LOG', log_prefix=v)),
        ('rule', 'iptables_rule', 'jump', lambda v: rule(jump=v)),
        ('chain', 'iptables_chain', 'chain', lambda v: dict(chain=v)),
        ('policy', 'iptables_policy', 'chain', lambda v: dict(chain=v, policy='ACCEPT')),
        ('nat', 'iptables_nat', 'comment', lambda v: nat(NAT_MASQ, comment=v)),
        ('nat', 'iptables_nat', 'out_interface', lambda v: nat(NAT_MASQ, out_interface=v)),
        ('nat', 'iptables_nat', 'in_interface', lambda v: nat(NAT_FWD, in_interface=v)),
        ('nat', 'iptables_nat', 'filter_chain', lambda v: nat(NAT_FWD, filter_chain=v)),
    )
    for short, module, option, build in targets:
        for cname, text in CONTROL:
            value = text if option not in ('in_interface', 'out_interface') else 'eth' + text[1:2] + '0'
            if option == 'chain' and module != 'iptables_policy':
                value = 'fz' + text[1:2] + 'x'
            finding = 12 if option in ('chain', 'filter_chain') and cname == 'nul' else 8
            add(invalid('%s/control/%s-%s' % (short, option.replace('_', '-'), cname), module, build(value), option, value,
                        finding=finding, family='control characters',
                        backends=BOTH if (cname == 'nul' and option in ('comment', 'chain')) else ['nft']))
        add(invalid('%s/control/%s-line-injection' % (short, option.replace('_', '-')), module,
                    build(INJECT_LINE if 'interface' in option else 'x\n-A INPUT -j ACCEPT'), option,
                    INJECT_LINE if 'interface' in option else 'x\n-A INPUT -j ACCEPT', finding=8, family='control characters'))
    # 12: shell metacharacters: never run, and a clear error where the option cannot hold them
    for index, text in enumerate(SHELL):
        slug = '%d-%s' % (index, ''.join(c if c.isalnum() else '-' for c in text).strip('-')[:20])
        add(invalid('rule/shell/protocol-%s' % slug, 'iptables_rule', rule(protocol=text), 'protocol', text,
                    finding=12 if text == 'tcp; id' else None, family='shell metacharacters'))
        add(invalid('rule/shell/jump-%s' % slug, 'iptables_rule', rule(jump=text), 'jump', text, family='shell metacharacters'))
        add(case('rule/shell/comment-%s' % slug, 'iptables_rule', rule(comment=text), 'either', fields=['comment'], value=text,
                 family='shell metacharacters'))
        add(case('chain/shell/name-%s' % slug, 'iptables_chain', dict(chain=text[:28]), 'either', fields=['chain'], value=text[:28],
                 family='shell metacharacters'))
        add(invalid('nat/shell/to-destination-%s' % slug, 'iptables_nat', nat(NAT_FWD, to_destination=text), 'to_destination', text,
                    family='shell metacharacters'))
        add(case('rule/shell/in-interface-%s' % slug, 'iptables_rule', rule(in_interface=text[:15]), 'either', fields=['in_interface'],
                 value=text[:15], family='shell metacharacters'))
    add(invalid('rule/shell/protocol-tcp-id-with-port', 'iptables_rule',
                dict(chain='INPUT', protocol='tcp; id', destination_port=22, jump='ACCEPT'),
                'protocol', 'tcp; id', finding=12, family='unclear error', msg_re=r'(?i)protocol'))
    add(invalid('rule/shell/match-args', 'iptables_rule', rule(match_args='-m comment --comment x; touch /tmp/pwned'), 'match_args',
                family='shell metacharacters'))
    # huge numbers
    for name, args, option in (
            ('destination-port-70000', rule(destination_port=70000), 'destination_port'),
            ('destination-port-huge', rule(destination_port=10 ** 12), 'destination_port'),
            ('destination-port-negative', rule(destination_port=-1), 'destination_port'),
            ('destination-ports-huge', rule(destination_port=None, destination_ports=[10 ** 12]), 'destination_ports'),
            ('position-huge', rule(position=10 ** 12), 'position'),
            ('position-zero', rule(position=0), 'position'),
            ('position-negative', rule(position=-1), 'position'),
            ('limit-burst-huge', rule(limit='5/second', limit_burst=10 ** 12), 'limit_burst'),
            ('limit-huge', rule(limit='%d/second' % 10 ** 12), 'limit'),
            ('recent-seconds-huge', rule(recent={'command': 'rcheck', 'name': 'fz', 'seconds': 10 ** 12}), 'seconds'),
            ('hashlimit-htable-huge', rule(hashlimit={'name': 'fz', 'upto': '5/second', 'htable_size': 10 ** 12}), 'hashlimit'),
            ('icmp-type-huge', dict(chain='INPUT', protocol='icmp', icmp_type=str(10 ** 12), jump='ACCEPT'), 'icmp_type')):
        value = args.get(option)
        add(invalid('rule/huge/%s' % name, 'iptables_rule', args, option, value if isinstance(value, int) else None,
                    family='huge numbers'))
    for name, args, option in (('port-huge', nat(NAT_FWD, port=10 ** 12), 'port'),
                               ('position-huge', nat(NAT_MASQ, position=10 ** 12), 'position'),
                               ('filter-position-huge', nat(NAT_FWD, filter_position=10 ** 12), 'filter_position'),
                               ('to-destination-port-huge', nat(NAT_FWD, to_destination='192.168.1.10:70000'), 'to_destination')):
        add(invalid('nat/huge/%s' % name, 'iptables_nat', args, option, family='huge numbers'))
    # very long strings
    for short, module, option, build in targets[:7] + targets[8:10]:
        item = invalid('%s/long/%s' % (short, option.replace('_', '-')), module, build(LONG), option, LONG, family='very long')
        if option == 'log_prefix':
            item['expect'] = 'either'
        add(item)
    add(invalid('rule/long/comment-256', 'iptables_rule', rule(comment='c' * 256), 'comment', family='very long'))
    add(invalid('chain/long/name-29', 'iptables_chain', dict(chain='C' * 29), 'chain', 'C' * 29, family='very long'))
    # iptables cuts a long --log-prefix itself: a refusal or the cut prefix, idempotent
    add(case('rule/long/log-prefix-30', 'iptables_rule', rule(jump='LOG', log_prefix='p' * 30), 'either', fields=['log_prefix'],
             family='very long'))
    # wrong types and unknown options
    wrong = (
        ('rule', 'iptables_rule', rule(chain=['INPUT']), 'chain'),
        ('rule', 'iptables_rule', rule(source={'a': 1}), 'source'),
        ('rule', 'iptables_rule', rule(destination_port=[22]), 'destination_port'),
        ('rule', 'iptables_rule', rule(destination_port={'a': 1}), 'destination_port'),
        ('rule', 'iptables_rule', rule(destination_port=True), 'destination_port'),
        ('rule', 'iptables_rule', rule(destination_port=22.5), 'destination_port'),
        ('rule', 'iptables_rule', rule(ctstate=['BOGUS']), 'ctstate'),
        ('rule', 'iptables_rule', rule(family='ipv5'), 'family'),
        ('rule', 'iptables_rule', rule(table='nope'), 'table'),
        ('rule', 'iptables_rule', rule(state='gone'), 'state'),
        ('rule', 'iptables_rule', rule(jump='ACCEPT', goto='web-in'), 'goto'),
        ('rule', 'iptables_rule', rule(limit_burst='x'), 'limit_burst'),
        ('rule', 'iptables_rule', dict(chain='INPUT', rules=[{'protocol': 'tcp', 'bogus': 1}]), 'bogus'),
        ('rule', 'iptables_rule', rule(position='middle'), 'position'),
        ('rule', 'iptables_rule', rule(position=[1]), 'position'),
        ('rule', 'iptables_rule', rule(chain='NOSUCHCHAIN'), 'chain'),
        ('rule', 'iptables_rule', rule(bogus_option=1), 'bogus_option'),
        ('chain', 'iptables_chain', dict(chain='fuzz', state='deleted'), 'state'),
        ('chain', 'iptables_chain', dict(chain='fuzz', force='maybe'), 'force'),
        ('chain', 'iptables_chain', dict(chain={'a': 1}), 'chain'),
        ('chain', 'iptables_chain', dict(chain=''), 'chain'),
        ('chain', 'iptables_chain', dict(chain='INPUT', state='absent'), 'chain'),
        ('chain', 'iptables_chain', dict(chain='web-in', state='absent'), 'chain'),
        ('chain', 'iptables_chain', dict(chain='-j'), 'chain'),
        ('chain', 'iptables_chain', dict(chain='!bang'), 'chain'),
        ('chain', 'iptables_chain', dict(chain='fuzz', table='nope'), 'table'),
        ('chain', 'iptables_chain', dict(chain='fuzz', bogus=1), 'bogus'),
        ('policy', 'iptables_policy', dict(chain='INPUT', policy='REJECT'), 'policy'),
        ('policy', 'iptables_policy', dict(chain='web-in', policy='DROP'), 'chain'),
        ('policy', 'iptables_policy', dict(chain='PREROUTING', policy='DROP'), 'chain'),
        ('policy', 'iptables_policy', dict(chain='INPUT', policy='accept'), 'policy'),
        ('policy', 'iptables_policy', dict(chain='INPUT', policy=['DROP']), 'policy'),
        ('policy', 'iptables_policy', dict(chain='', policy='DROP'), 'chain'),
        ('policy', 'iptables_policy', dict(chain='INPUT', policy='DROP', bogus=1), 'bogus'),
        ('nat', 'iptables_nat', dict(type='masquerade'), 'out_interface'),
        ('nat', 'iptables_nat', dict(type='snat', out_interface='eth0'), 'to_source'),
        ('nat', 'iptables_nat', dict(type='port_forward', port=80), 'to_destination'),
        ('nat', 'iptables_nat', dict(type='dnat', out_interface='eth0'), 'type'),
        ('nat', 'iptables_nat', nat(NAT_MASQ, to_source='1.2.3.4'), 'to_source'),
        ('nat', 'iptables_nat', nat(NAT_MASQ, to_ports=1024), 'to_ports'),
        ('nat', 'iptables_nat', nat(NAT_FWD, protocol='icmp'), 'protocol'),
        ('nat', 'iptables_nat', nat(NAT_FWD, to_destination='not-an-ip'), 'to_destination'),
        ('nat', 'iptables_nat', nat(NAT_FWD, to_destination='2001:db8::1'), 'to_destination'),
        ('nat', 'iptables_nat', nat(NAT_FWD, filter_chain='NOSUCHCHAIN'), ['filter_chain', 'chain']),
        ('nat', 'iptables_nat', nat(NAT_MASQ, source=['300.1.1.1']), 'source'),
        ('nat', 'iptables_nat', nat(NAT_MASQ, source=['2001:db8::/64']), 'source'),
        ('nat', 'iptables_nat', nat(NAT_MASQ, bogus=1), 'bogus'),
    )
    for index, (short, module, args, option) in enumerate(wrong):
        name = (option if isinstance(option, str) else option[0]).replace('_', '-')
        add(invalid('%s/wrong/%02d-%s' % (short, index, name), module, args, option, family='wrong type'))
    return out


# ---------------------------------------------------------------------------------------------
# finding 11: sysctl_hardening

def sysctl_cases():
    out = []
    add = out.append
    paths = [
        ('dotdot-passwd', '/etc/sysctl.d/../passwd'), ('dotdot-shadow', '/etc/sysctl.d/../../etc/shadow'),
        ('passwd', '/etc/passwd'), ('nul', '/etc/sysctl.d/90-x\x00.conf'), ('relative', '90-rampart.conf'),
        ('relative-dotdot', '../etc/sysctl.d/90-x.conf'), ('dev-null', '/dev/null'), ('directory', '/etc/sysctl.d'),
        ('directory-slash', '/etc/sysctl.d/'), ('tmp', '/tmp/90-rampart.conf'), ('etc', '/etc/90-rampart.conf'),
        ('empty', ''), ('control-esc', '/etc/sysctl.d/9\x1b0.conf'), ('newline', '/etc/sysctl.d/9\n0.conf'),
        ('very-long', '/etc/sysctl.d/' + 'a' * 5000 + '.conf'), ('sysctl-conf', '/etc/sysctl.conf'),
        ('symlink-out', '/etc/sysctl.d/95-link.conf'), ('fifo', '/etc/sysctl.d/96-fifo.conf'),
        ('subdir', '/etc/sysctl.d/sub/90-x.conf'),
    ]
    setups = {
        'symlink-out': [dict(op='symlink', path='/etc/sysctl.d/95-link.conf', target='/etc/hostname')],
        'fifo': [dict(op='fifo', path='/etc/sysctl.d/96-fifo.conf')],
        'subdir': [dict(op='dir', path='/etc/sysctl.d/sub')],
    }
    for name, path in paths:
        add(invalid('sysctl/path/%s' % name, 'sysctl_hardening', dict(profile='host', path=path), 'path', path if path else None,
                    setup=setups.get(name, []), finding=11, family='sysctl path',
                    absent=['/etc/90-rampart.conf', '/tmp/90-rampart.conf']))
    add(invalid('sysctl/path/dotdot-passwd-check-mode', 'sysctl_hardening', dict(profile='host', path='/etc/sysctl.d/../passwd'), 'path',
                '/etc/sysctl.d/../passwd', check_mode=True, finding=11, family='sysctl path'))
    add(invalid('sysctl/path/dotdot-passwd-no-reload', 'sysctl_hardening',
                dict(profile='host', reload=False, path='/etc/sysctl.d/../passwd'), 'path',
                '/etc/sysctl.d/../passwd', finding=11, family='sysctl path'))
    add(case('sysctl/path/txt-in-sysctl-d', 'sysctl_hardening', dict(profile='host', path='/etc/sysctl.d/90-x.txt'), 'either',
             fields=['path'], finding=11, family='sysctl path'))
    settings = [
        ('key-nul', {'net.ipv4.ip_forward\x00': 1}, 'net.ipv4.ip_forward\x00'),
        ('key-dotdot', {'net.ipv4..ip_forward': 1}, 'net.ipv4..ip_forward'),
        ('key-slash', {'net/ipv4/ip_forward': 1}, 'net/ipv4/ip_forward'),
        ('key-traversal', {'net.ipv4.conf.all.../../../kernel.sysrq': 1}, None),
        ('key-kernel', {'kernel.sysrq': 1}, None),
        ('key-unknown', {'net.ipv4.no_such_key': 1}, 'net.ipv4.no_such_key'),
        ('key-unicode-digits', {'net.ipv\uff14.ip_forward': 1}, None),
        ('value-newline', {'net.ipv4.tcp_timestamps': '0\nkernel.sysrq = 1'}, None),
        ('value-nul', {'net.ipv4.tcp_timestamps': '0\x00'}, None),
        ('value-esc', {'net.ipv4.tcp_timestamps': '0\x1b'}, None),
        ('value-unicode-digit', {'net.ipv4.tcp_timestamps': '\uff10'}, '\uff10'),
        ('value-bool', {'net.ipv4.tcp_timestamps': True}, None),
        ('value-list', {'net.ipv4.tcp_timestamps': [0]}, None),
        ('value-huge', {'net.ipv4.ip_default_ttl': 10 ** 30}, None),
        ('value-shell', {'net.ipv4.tcp_timestamps': '$(touch /tmp/pwned)'}, None),
    ]
    for name, value, shown in settings:
        field = ['settings', 'net.ipv4.tcp_timestamps', 'net.ipv4.ip_default_ttl'] if name.startswith('value') else ['settings']
        if name in ('key-unknown', 'key-kernel', 'key-traversal'):
            field = ['settings', 'key', 'keys', 'kernel.sysrq', 'net.ipv4.no_such_key', 'net.ipv4.conf.all.../../../kernel.sysrq']
        text = ''.join('%s%s' % item for item in value.items()) if isinstance(value, dict) else str(value)
        finding = 8 if any(c in text for c in '\x00\x1b\n') else (10 if '\uff10' in text or '\uff14' in text else None)
        # rollback_timeout=0: a value the kernel refuses is refused by the module itself (with a window, by its timer,
        # which reverts at once: molecule/sysctl bad_inputs.yml)
        add(invalid('sysctl/settings/%s' % name, 'sysctl_hardening', dict(profile='host', settings=value, rollback_timeout=0),
                    field, shown, finding=finding, family='sysctl settings'))
    # the window (rollback_timeout > 0, issue 22): network keys only, the bounds of iptables_ruleset's options
    add(invalid('sysctl/window/key-kernel', 'sysctl_hardening', dict(profile='host', settings={'kernel.sysrq': 1}, rollback_timeout=30),
                ['settings', 'kernel.sysrq', 'rollback_timeout'], 'kernel.sysrq', family='sysctl window'))
    add(invalid('sysctl/window/key-kernel-check-mode', 'sysctl_hardening',
                dict(profile='host', settings={'vm.swappiness': 1}), ['settings', 'vm.swappiness'], 'vm.swappiness',
                check_mode=True, family='sysctl window'))
    for value in (-1, 3601, 10 ** 12):
        add(invalid('sysctl/window/rollback-timeout-%s' % value, 'sysctl_hardening', dict(profile='router', rollback_timeout=value),
                    'rollback_timeout', value, family='sysctl window'))
    add(invalid('sysctl/window/wait-301', 'sysctl_hardening', dict(profile='router', wait=301), 'wait', 301, family='sysctl window'))
    add(invalid('sysctl/window/hold-without-window', 'sysctl_hardening', dict(profile='router', rollback_timeout=0, hold_window=True),
                ['hold_window', 'rollback_timeout'], family='sysctl window'))
    add(invalid('sysctl/profile/bogus', 'sysctl_hardening', dict(profile='paranoid'), 'profile', family='wrong type'))
    add(invalid('sysctl/profile/missing', 'sysctl_hardening', dict(), 'profile', family='wrong type'))
    add(invalid('sysctl/settings/string', 'sysctl_hardening', dict(profile='host', settings='net.ipv4.tcp_timestamps'), 'settings',
                family='wrong type'))
    add(invalid('sysctl/unknown-option', 'sysctl_hardening', dict(profile='host', sysctl_file='/etc/x'), 'sysctl_file',
                family='unknown option'))
    add(invalid('sysctl/on-override/bogus', 'sysctl_hardening', dict(profile='host', on_override='explode'), 'on_override',
                family='wrong type'))
    add(invalid('sysctl/reload/bogus', 'sysctl_hardening', dict(profile='host', reload='sometimes'), 'reload', family='wrong type'))
    return out


# ---------------------------------------------------------------------------------------------
# issue 24: the ipset module and the options added since issue 10

SET_ABUSE = 'create fz-abuse hash:net family inet hashsize 1024 maxelem 65536\nadd fz-abuse 203.0.113.0/24\nadd fz-abuse 192.0.2.99\n'
SET_BOOT = 'create fz-boot hash:net family inet hashsize 1024 maxelem 65536\nadd fz-boot 192.0.2.0/24\n'
MAKE_ABUSE = dict(op='ipset', text=SET_ABUSE)
MAKE_BOOT = dict(op='ipset', text=SET_BOOT)
USE_ABUSE = dict(op='iptables', text='*filter\n-I INPUT 1 -m set --match-set fz-abuse src -j DROP\nCOMMIT\n')
DESIRED_SETS = with_line('-A INPUT -m set --match-set fz-abuse src -j DROP')
BOOT_RULES = ('*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n'
              '-A INPUT -m set --match-set fz-boot src -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n')
SSH_SUPER = '198.51.100.7 5555 203.0.113.10 ' + SUPER2
SSH_FW = '198.51.100.7 5555 203.0.113.10 ' + FW2
BIG_FACT = {'blob': 'x' * (1200 * 1000)}


def ipset(**args):
    base = dict(name='fz-set', members=['10.0.0.0/8', '192.0.2.1'])
    base.update(args)
    return dict((k, v) for k, v in base.items() if v is not None)


def ipset_cases():
    out = []
    add = out.append
    fam = 'ipset'
    add(case('ipset/valid/create', 'ipset', ipset(), 'valid', family=fam))
    add(case('ipset/valid/create-no-persist', 'ipset', ipset(persist=False), 'valid', family=fam))
    add(case('ipset/valid/hash-ip-inet6', 'ipset', ipset(type='hash:ip', family='inet6', members=['2001:db8::1', '2001:db8::2']), 'valid',
             family=fam))
    add(case('ipset/valid/hash-ip-port', 'ipset', ipset(type='hash:ip,port', members=['192.0.2.10,tcp:5432', '192.0.2.11,udp:53']),
             'valid', family=fam))
    add(case('ipset/valid/options', 'ipset', ipset(timeout=0, counters=True, comment=True, maxelem=1 << 20, hashsize=4096), 'valid',
             family=fam))
    add(case('ipset/valid/maxelem-u32', 'ipset', ipset(maxelem=(1 << 32) - 1), 'valid', family=fam))
    add(case('ipset/valid/timeout-max', 'ipset', ipset(timeout=2147483), 'valid', family=fam))
    add(case('ipset/valid/empty', 'ipset', ipset(members=[]), 'valid', family=fam))
    add(case('ipset/valid/comments-blank', 'ipset', ipset(members=['# list', '', '10.0.0.0/8  # net']), 'valid', family=fam))
    add(case('ipset/valid/src', 'ipset', ipset(members=None, src='/var/tmp/list.txt'), 'valid', family=fam,
             setup=[dict(op='file', path='/var/tmp/list.txt', text='# x\n10.0.0.0/8\n192.0.2.0/24\n')]))
    add(case('ipset/valid/swap-live-set', 'ipset', ipset(name='fz-abuse', members=['203.0.113.0/24']), 'valid', family=fam,
             setup=[MAKE_ABUSE, USE_ABUSE]))
    add(case('ipset/valid/absent-unused', 'ipset', dict(name='fz-abuse', state='absent'), 'valid', family=fam, setup=[MAKE_ABUSE]))
    add(case('ipset/valid/absent-missing', 'ipset', dict(name='fz-none', state='absent'), 'valid', family=fam))
    add(case('ipset/unchanged/check-mode', 'ipset', ipset(), 'unchanged', check_mode=True, family=fam))
    add(case('ipset/unchanged/check-mode-absent', 'ipset', dict(name='fz-abuse', state='absent'), 'unchanged', check_mode=True,
             family=fam, setup=[MAKE_ABUSE]))
    # names
    for name, value in [('dash', '-exist'), ('dotdot', '../x'), ('slash', 'a/b'), ('long', 'a' * 32), ('space', 'a b'),
                        ('empty', ''), ('nul', 'a\x00b'), ('newline', 'a\nb'), ('esc', 'a\x1b[31m'), ('shell', '$(touch /tmp/pwned)'),
                        ('fullwidth', 'fz' + FW2), ('very-long', LONG)]:
        add(invalid('ipset/name/%s' % name, 'ipset', ipset(name=value), 'name', value if value else None, family='ipset name'))
    # members, on a live set that must stay as it is
    bad_members = [
        ('null', [None], None), ('null-after', ['10.0.0.1', None], None), ('int', [5], None), ('list-in-list', [['10.0.0.1']], None),
        ('host-bits', ['10.0.0.5/8'], '10.0.0.5/8'), ('ipv6-in-inet', ['2001:db8::1'], '2001:db8::1'),
        ('octet-300', ['10.0.0.300'], '10.0.0.300'), ('fullwidth', [FW_IP], None), ('arabic', ['\u0661\u0660.0.0.1'], None),
        ('nul', ['10.0.0.1\x00'], None), ('newline-inject', ['10.0.0.1\nadd fz-abuse 0.0.0.1'], None),
        ('esc', ['10.0.0.1\x1b[2J'], None), ('shell', ['$(touch /tmp/pwned)'], '$(touch /tmp/pwned)'),
        ('restore-inject', ['10.0.0.1 -exist'], None), ('slash-zero', ['0.0.0.0/0'], '0.0.0.0/0'),
        ('range-backwards', ['10.0.0.9-10.0.0.1'], '10.0.0.9-10.0.0.1'), ('long', [LONG], None), ('percent', ['fe80::1%eth0'], None),
        ('nomatch-hash-ip', None, None),
    ]
    for name, members, shown in bad_members:
        args = ipset(name='fz-abuse', members=members)
        if name == 'nomatch-hash-ip':
            args = ipset(name='fz-ip', type='hash:ip', members=['10.0.0.1 nomatch'])
        add(invalid('ipset/members/%s' % name, 'ipset', args, 'members', shown, family='ipset members', setup=[MAKE_ABUSE, USE_ABUSE]))
    add(invalid('ipset/members/over-maxelem', 'ipset', ipset(name='fz-abuse', maxelem=1), 'maxelem', family='ipset members',
                setup=[MAKE_ABUSE]))
    add(invalid('ipset/members/and-src', 'ipset', ipset(src='/var/tmp/list.txt'), ['members', 'src'], family='ipset members'))
    add(invalid('ipset/members/neither', 'ipset', dict(name='fz-set'), ['members', 'src'], family='ipset members'))
    add(invalid('ipset/members/dict', 'ipset', ipset(members={'a': 1}), 'members', family='ipset members'))
    add(case('ipset/members/string-for-list', 'ipset', ipset(members='10.0.0.1'), 'either', fields=['members'], family='ipset members'))
    # the kernel's bounds
    for option, value in [('hashsize', (1 << 27) + 1), ('hashsize', 1 << 31), ('hashsize', 63), ('hashsize', -1), ('hashsize', 10 ** 12),
                          ('maxelem', 1 << 32), ('maxelem', 0), ('maxelem', -1), ('timeout', 2147484), ('timeout', -1),
                          ('timeout', 10 ** 12), ('wait', -1), ('wait', 301)]:
        add(invalid('ipset/bounds/%s-%s' % (option, value), 'ipset', ipset(name='fz-abuse', **{option: value}), option, value,
                    family='ipset bounds', setup=[MAKE_ABUSE]))
        if option != 'wait':
            add(invalid('ipset/bounds/%s-%s-absent' % (option, value), 'ipset', dict(name='fz-abuse', state='absent', **{option: value}),
                        option, value, family='ipset bounds', setup=[MAKE_ABUSE]))
    for option, value in [('hashsize', 'big'), ('hashsize', 1.5), ('maxelem', [1]), ('timeout', '1h'), ('type', 'hash:mac'),
                          ('type', 'list:set'), ('family', 'inet4'), ('state', 'flushed'), ('counters', 'maybe'), ('persist', 'maybe')]:
        add(invalid('ipset/wrong/%s-%s' % (option, value), 'ipset', ipset(**{option: value}), option, family='wrong type'))
    add(invalid('ipset/unknown-option', 'ipset', ipset(flush=True), 'flush', family='unknown option'))
    # src: a regular file; a bad line named by number, its content never quoted
    secret = [dict(op='file', path='/var/tmp/shadow-copy', text=SECRET_LINE + '\n' + SECRET_LINE2 + '\n', mode=0o600),
              dict(op='symlink', path='/tmp/list.link', target='/var/tmp/shadow-copy')]
    add(invalid('ipset/src/symlink-to-secret', 'ipset', ipset(members=None, src='/tmp/list.link'), ['src', 'line'], setup=secret,
                leak=[dict(text=SECRET_LINE, max=8, what='the secret line'), dict(text=SECRET_HASH[::-1], max=8, what='the second line')],
                family='leak'))
    add(invalid('ipset/src/proc-environ', 'ipset', ipset(members=None, src='/proc/self/environ'), 'src', env={'FUZZ_SECRET': ENV_SECRET},
                leak=[dict(text=ENV_SECRET, max=8, what='an environment variable')], family='leak'))
    for name, path, setup in [('fifo', '/tmp/list.fifo', [dict(op='fifo', path='/tmp/list.fifo')]), ('dev-zero', '/dev/zero', []),
                              ('directory', '/tmp', []), ('missing', '/tmp/no-such-list', []), ('relative', 'list.txt', []),
                              ('huge', '/tmp/huge.list', [dict(op='sparse', path='/tmp/huge.list', size=64 * 1024 * 1024 + 1)]),
                              ('non-utf8', '/tmp/latin1.list', [dict(op='bytes', path='/tmp/latin1.list', hex='31302e302e302e31e90a')])]:
        add(invalid('ipset/src/%s' % name, 'ipset', ipset(members=None, src=path), 'src', family='ipset src', setup=setup + [MAKE_ABUSE]))
    for name, path, setup in [('dev-null', '/dev/null', []), ('relative', 'ipsets', []), ('dotdot', '/etc/iptables/../ipsets', []),
                              ('directory', '/etc/iptables', []), ('nul', '/etc/iptables/ip\x00sets', []),
                              ('symlink', '/etc/iptables/link', [dict(op='symlink', path='/etc/iptables/link', target='/etc/hostname')])]:
        add(invalid('ipset/persist-path/%s' % name, 'ipset', ipset(persist_path=path), 'persist_path', family='ipset persist_path',
                    setup=setup))
    # state=absent: refused while a rule, live or persisted, uses the set, or when the boot file cannot be checked
    add(invalid('ipset/absent/live-rule', 'ipset', dict(name='fz-abuse', state='absent'), ['fz-abuse', 'rule'], family='ipset absent',
                setup=[MAKE_ABUSE, USE_ABUSE]))
    add(invalid('ipset/absent/persisted-rule', 'ipset', dict(name='fz-boot', state='absent'), ['rules.v4'], family='ipset absent',
                setup=[MAKE_BOOT, dict(op='file', path='/etc/iptables/rules.v4', text=BOOT_RULES, mode=0o640)]))
    add(invalid('ipset/absent/boot-file-symlink', 'ipset', dict(name='fz-boot', state='absent', persist=False), ['rules.v4'],
                msg_re='symlink', family='ipset absent',
                setup=[MAKE_BOOT, dict(op='file', path='/var/tmp/real.v4', text=BOOT_RULES, mode=0o640),
                       dict(op='unlink', path='/etc/iptables/rules.v4'),
                       dict(op='symlink', path='/etc/iptables/rules.v4', target='/var/tmp/real.v4')]))
    add(invalid('ipset/absent/boot-file-too-large', 'ipset', dict(name='fz-boot', state='absent'), ['rules.v4'], msg_re='limit',
                family='ipset absent', setup=[MAKE_BOOT, dict(op='sparse', path='/etc/iptables/rules.v4', size=64 * 1024 * 1024 + 1)]))
    add(invalid('ipset/absent/boot-file-fifo', 'ipset', dict(name='fz-boot', state='absent'), ['rules.v4'], family='ipset absent',
                setup=[MAKE_BOOT, dict(op='unlink', path='/etc/iptables/rules.v4'), dict(op='fifo', path='/etc/iptables/rules.v4')]))
    add(invalid('ipset/absent/check-mode-live-rule', 'ipset', dict(name='fz-abuse', state='absent'), ['fz-abuse', 'rule'],
                check_mode=True, family='ipset absent', setup=[MAKE_ABUSE, USE_ABUSE]))
    add(invalid('ipset/type-change/in-use', 'ipset', ipset(name='fz-abuse', type='hash:ip', members=['192.0.2.99']), ['fz-abuse'],
                family='ipset absent', setup=[MAKE_ABUSE, USE_ABUSE]))
    return out


def ruleset_round2_cases():
    out = []
    add = out.append
    both = {'ipv4': DESIRED_V4, 'ipv6': DESIRED_V6}
    # rulesets
    add(case('ruleset/rulesets/valid-both', 'iptables_ruleset', ruleset(content=None, rulesets=both), 'valid', backends=BOTH,
             family='rulesets'))
    add(case('ruleset/rulesets/valid-both-persist', 'iptables_ruleset', ruleset(content=None, rulesets=both, persist=True), 'valid',
             family='rulesets'))
    add(case('ruleset/rulesets/valid-ipv6-only', 'iptables_ruleset', ruleset(content=None, rulesets={'ipv6': DESIRED_V6}), 'valid',
             family='rulesets'))
    add(case('ruleset/rulesets/check-mode', 'iptables_ruleset', ruleset(content=None, rulesets=both), 'unchanged', check_mode=True,
             family='rulesets'))
    bad6 = DESIRED_V6.replace('COMMIT', '-A INPUT -m comment --comment "a\x00b" -j ACCEPT\nCOMMIT')
    for name, value, fields in [('string', 'ipv4', ['rulesets']), ('list', [DESIRED_V4], ['rulesets']), ('int', 5, ['rulesets']),
                                ('bool', True, ['rulesets']), ('empty', {}, ['rulesets']),
                                ('nulls', {'ipv4': None, 'ipv6': None}, ['rulesets']),
                                ('unknown-key', {'ipv4': DESIRED_V4, 'ipv5': 'x'}, ['ipv5']),
                                ('bad-ipv6-good-ipv4', {'ipv4': OTHER_V4, 'ipv6': bad6}, ['content', '--comment', 'line', 'rulesets']),
                                ('ipv4-in-ipv6', {'ipv4': OTHER_V4, 'ipv6': DESIRED_V4}, ['content', 'line', 'rulesets', '-p', 'icmp']),
                                ('list-value', {'ipv4': [DESIRED_V4]}, ['ipv4', 'rulesets'])]:
        add(invalid('ruleset/rulesets/%s' % name, 'iptables_ruleset', ruleset(content=None, rulesets=value), fields,
                    value if isinstance(value, str) else None, family='rulesets'))
    add(invalid('ruleset/rulesets/and-content', 'iptables_ruleset', ruleset(rulesets=both), ['rulesets', 'content'], family='rulesets'))
    add(invalid('ruleset/rulesets/and-family', 'iptables_ruleset', ruleset(content=None, rulesets=both, family='ipv6'),
                ['rulesets', 'family'], family='rulesets'))
    add(invalid('ruleset/rulesets/and-persist-path', 'iptables_ruleset',
                ruleset(content=None, rulesets=both, persist=True, persist_path='/etc/iptables/x.v4'), ['rulesets', 'persist_path'],
                family='rulesets'))
    # ipsets: the declared sets' members (the lockout check reads them)
    add(case('ruleset/ipsets/valid-declared-live', 'iptables_ruleset',
             ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets={'fz-abuse': ['203.0.113.0/24', '# x', '']}), 'valid',
             setup=[MAKE_ABUSE], family='ipsets'))
    add(case('ruleset/ipsets/valid-live-only', 'iptables_ruleset', ruleset(content=DESIRED_SETS, ssh_connection=SSH), 'valid',
             setup=[MAKE_ABUSE], family='ipsets'))
    add(case('ruleset/ipsets/check-mode-declared-missing', 'iptables_ruleset',
             ruleset(content=DESIRED_SETS, ipsets={'fz-abuse': []}), 'unchanged', check_mode=True, family='ipsets', needs_ipset=True))
    for name, value, shown in [('int', 5, 5), ('true', True, True), ('float', 1.5, 1.5), ('null', None, None),
                               ('string', '198.51.100.0/24', '198.51.100.0/24'), ('list-null', [None], None), ('list-int', [7], None),
                               ('list-list', [['10.0.0.1']], None), ('bad-address', ['not-an-address'], 'not-an-address'),
                               ('fullwidth', [FW_IP], None), ('nul', ['10.0.0.1\x00'], None), ('dict', {'a': 1}, None)]:
        for ssh in (True, False):
            args = ruleset(content=DESIRED_SETS, ipsets={'fz-abuse': value}, ssh_connection=SSH if ssh else None)
            add(invalid('ruleset/ipsets/%s%s' % (name, '-ssh' if ssh else ''), 'iptables_ruleset', args, 'ipsets', shown,
                        setup=[MAKE_ABUSE], family='ipsets'))
    for name, key in [('dash', '-exist'), ('long', 'k' * 40), ('nul', 'a\x00b'), ('slash', '../x')]:
        add(invalid('ruleset/ipsets/key-%s' % name, 'iptables_ruleset', ruleset(ipsets={key: []}), 'ipsets', key, family='ipsets'))
    for name, value in [('string', 'fz-abuse'), ('list', ['fz-abuse'])]:
        add(invalid('ruleset/ipsets/whole-%s' % name, 'iptables_ruleset', ruleset(ipsets=value), 'ipsets', family='ipsets'))
    add(invalid('ruleset/ipsets/missing-set', 'iptables_ruleset', ruleset(content=DESIRED_SETS.replace('fz-abuse', 'fz-none')),
                ['fz-none'], family='ipsets', needs_ipset=True))
    # copy_dir
    add(case('ruleset/copy-dir/valid', 'iptables_ruleset', ruleset(copy_dir='/var/backups/rampart-copy'), 'valid', family='copy_dir'))
    add(case('ruleset/copy-dir/valid-rulesets', 'iptables_ruleset', ruleset(content=None, rulesets=both, copy_dir='/var/backups/copy'),
             'valid', family='copy_dir'))
    for name, path, setup in [('relative', 'copies', []), ('dotdot', '/var/backups/../etc', []), ('root', '/', []),
                              ('dev-null', '/dev/null', []), ('file', '/etc/iptables/rules.v4', []),
                              ('symlink', '/var/tmp/copylink', [dict(op='symlink', path='/var/tmp/copylink', target='/var/backups')]),
                              ('esc', '/var/backups/c\x1bx', []), ('newline', '/var/backups/c\nx', []), ('nul', '/var/backups/c\x00x', []),
                              ('trailing-slash', '/var/backups/copy/', []), ('long', '/var/backups/' + 'c' * 5000, []),
                              ('parent-file', '/etc/iptables/rules.v4/copy', [])]:
        add(invalid('ruleset/copy-dir/%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, copy_dir=path), 'copy_dir',
                    path if path not in ('/',) else None, setup=setup, family='copy_dir'))
    # issue 22: the copy's "before" is never read through a link planted in copy_dir (kept with its owner, who may be
    # an unprivileged user): the module refuses, naming the path, and shows nothing of the link's target
    planted = [dict(op='file', path='/var/tmp/shadow-copy', text=SECRET_LINE + '\n' + SECRET_LINE2 + '\n', mode=0o600),
               dict(op='dir', path='/var/backups/fz-copy', mode=0o755), dict(op='chown', path='/var/backups/fz-copy', uid=65534, gid=65534),
               dict(op='symlink', path='/var/backups/fz-copy/rules.v4', target='/var/tmp/shadow-copy')]
    copy_leak = [dict(text=SECRET_LINE, max=8, what='the secret line'), dict(text=SECRET_HASH[::-1], max=8, what='the second secret line')]
    for name, args in [('symlinked-copy', ruleset(content=OTHER_V4, copy_dir='/var/backups/fz-copy')),
                       ('symlinked-copy-diff', dict(ruleset(content=OTHER_V4, copy_dir='/var/backups/fz-copy'), _ansible_diff=True)),
                       ('symlinked-copy-rulesets', ruleset(content=None, rulesets={'ipv4': OTHER_V4}, copy_dir='/var/backups/fz-copy')),
                       ('symlinked-copy-check-mode', ruleset(content=OTHER_V4, copy_dir='/var/backups/fz-copy', _ansible_diff=True))]:
        add(invalid('ruleset/copy-dir/%s' % name, 'iptables_ruleset', args, ['copy'], '/var/backups/fz-copy/rules.v4',
                    setup=planted, leak=copy_leak, check_mode=name.endswith('check-mode'), family='copy_dir',
                    msg_re='symlink'))
    # local_fact
    add(case('ruleset/local-fact/valid', 'iptables_ruleset', ruleset(local_fact={'name': 'rampart_fz', 'content': {'a': 1, 'b': [1, 2]}}),
             'valid', family='local_fact'))
    for name, value, shown in [('name-dotdot', {'name': '../x', 'content': {}}, '../x'), ('name-space', {'name': 'a b', 'content': {}}, 'a b'),
                               ('name-empty', {'name': '', 'content': {}}, None), ('name-long', {'name': 'f' * 65, 'content': {}}, None),
                               ('name-nul', {'name': 'a\x00b', 'content': {}}, None), ('name-fullwidth', {'name': 'f' + FW2, 'content': {}}, None),
                               ('too-large', {'name': 'rampart_fz', 'content': BIG_FACT}, None),
                               ('no-content', {'name': 'rampart_fz'}, None), ('content-string', {'name': 'x', 'content': 'abc'}, None),
                               ('unknown-key', {'name': 'x', 'content': {}, 'path': '/etc/passwd'}, None),
                               ('string', 'rampart_fz', 'rampart_fz'), ('list', ['rampart_fz'], None), ('int', 5, None)]:
        add(invalid('ruleset/local-fact/%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, local_fact=value),
                    ['local_fact', 'path', 'content'] if name in ('unknown-key', 'no-content', 'content-string') else 'local_fact', shown,
                    family='local_fact', absent=['/etc/ansible/facts.d/rampart_fz.fact']))
    # sysctl_check: read-only, never fails the task on settings; a bad shape is refused
    add(case('ruleset/sysctl-check/valid', 'iptables_ruleset', ruleset(sysctl_check={'profile': 'host'}), 'valid', family='sysctl_check'))
    add(case('ruleset/sysctl-check/bad-settings', 'iptables_ruleset',
             ruleset(sysctl_check={'profile': 'host', 'settings': {'kernel.sysrq': 1, 'net.ipv4.ip_forward\x00': 1}}), 'either',
             fields=['sysctl_check', 'settings'], family='sysctl_check'))
    add(case('ruleset/sysctl-check/path-passwd', 'iptables_ruleset',
             ruleset(sysctl_check={'profile': 'host', 'path': '/etc/sysctl.d/../passwd'}), 'either', fields=['sysctl_check', 'path'],
             family='sysctl_check'))
    for name, value in [('string', 'host'), ('list', ['host']), ('int', 1), ('profile-bogus', {'profile': 'paranoid'}),
                        ('no-profile', {}), ('unknown-key', {'profile': 'host', 'write': True})]:
        add(invalid('ruleset/sysctl-check/%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, sysctl_check=value),
                    ['sysctl_check', 'profile', 'write'], value if isinstance(value, str) else None, family='sysctl_check'))
    # sysctl: the kernel settings in the transaction (issue 22); bad input refused before anything changes
    for name, value, shown in [('non-net-key', {'profile': 'router', 'settings': {'kernel.core_pattern': '|/bin/sh'}}, 'kernel.core_pattern'),
                               ('unknown-key', {'profile': 'router', 'settings': {'net.ipv4.fz_nope': 1}}, 'net.ipv4.fz_nope'),
                               ('newline-value', {'profile': 'router', 'settings': {'net.ipv4.ip_forward': '1\nkernel.sysrq = 1'}}, None),
                               ('slash-key', {'profile': 'router', 'settings': {'net/ipv4/ip_forward': 1}}, None),
                               ('path-passwd', {'profile': 'router', 'path': '/etc/sysctl.d/../passwd'}, None),
                               ('path-cron', {'profile': 'router', 'path': '/etc/cron.d/fz.conf'}, '/etc/cron.d/fz.conf'),
                               ('string', 'router', 'router'), ('no-profile', {}, None), ('profile-bogus', {'profile': 'paranoid'}, None),
                               ('on-readonly-bogus', {'profile': 'router', 'on_readonly': 'ignore'}, None)]:
        add(invalid('ruleset/sysctl/%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, sysctl=value),
                    ['sysctl', 'profile', 'path', 'on_readonly'], shown, family='sysctl',
                    absent=['/etc/sysctl.d/90-rampart-firewall.conf', '/etc/cron.d/fz.conf']))
    add(invalid('ruleset/sysctl/with-sysctl-check', 'iptables_ruleset',
                ruleset(content=OTHER_V4, sysctl={'profile': 'host'}, sysctl_check={'profile': 'host'}), ['sysctl', 'sysctl_check'],
                family='sysctl'))
    # preserve_interfaces
    add(case('ruleset/preserve-interfaces/valid-empty', 'iptables_ruleset', ruleset(preserve_interfaces=[]), 'valid',
             family='preserve_interfaces'))
    for name, value in [('nul', ['docker\x000']), ('newline', ['docker0\n-A INPUT -j ACCEPT']), ('empty-string', ['']),
                        ('glob-all', ['*']), ('long', ['i' * 5000])]:
        add(case('ruleset/preserve-interfaces/%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, preserve_interfaces=value),
                 'either', fields=['preserve_interfaces'], family='preserve_interfaces'))
    add(invalid('ruleset/preserve-interfaces/dict', 'iptables_ruleset', ruleset(preserve_interfaces={'a': 1}), 'preserve_interfaces',
                family='preserve_interfaces'))
    # ssh_connection: one parser, ASCII digits, names the option and the value
    for name, value in [('superscript-port', SSH_SUPER), ('fullwidth-port', SSH_FW), ('three-fields', '198.51.100.7 5555 203.0.113.10'),
                        ('mixed-families', '198.51.100.7 5555 2001:db8::1 22'), ('port-70000', '198.51.100.7 5555 203.0.113.10 70000')]:
        add(invalid('ruleset/ssh-connection/%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, ssh_connection=value), 'ssh_connection',
                    value, family='ssh_connection'))
        add(invalid('ruleset/ssh-connection/%s-unchanged-rules' % name, 'iptables_ruleset', ruleset(ssh_connection=value), 'ssh_connection',
                    value, family='ssh_connection', pre=[dict(module='iptables_ruleset', args=ruleset())]))
    return out


def granular_round2_cases():
    out = []
    add = out.append
    targets = (('rule', 'iptables_rule', rule()), ('chain', 'iptables_chain', dict(chain='fuzz-in')),
               ('policy', 'iptables_policy', dict(chain='FORWARD', policy='ACCEPT')))
    for short, module, args in targets:
        add(case('%s/lockout/valid-ssh-connection' % short, module, dict(args, ssh_connection=SSH), 'valid', family='ssh_connection'))
        add(case('%s/lockout/valid-empty-ssh-connection' % short, module, dict(args, ssh_connection=''), 'valid', family='ssh_connection'))
        add(case('%s/lockout/valid-off' % short, module, dict(args, lockout_check=False, ssh_connection='garbage'), 'valid',
                 family='ssh_connection'))
        for name, value in [('superscript-port', SSH_SUPER), ('fullwidth-port', SSH_FW), ('arabic-port', SSH.replace('22', AR_DIGITS)),
                            ('fullwidth-address', '\uff11\uff19\uff18.51.100.7 1 203.0.113.10 22'), ('garbage', 'not an address'),
                            ('nul', SSH.replace('50000', '5\x000')), ('esc', SSH.replace('50000', '5\x1b0')), ('long', LONG),
                            ('negative-port', '198.51.100.7 -1 203.0.113.10 22')]:
            add(invalid('%s/lockout/ssh-connection-%s' % (short, name), module, dict(args, ssh_connection=value), 'ssh_connection', value,
                        family='ssh_connection'))
        add(invalid('%s/lockout/lockout-check-maybe' % short, module, dict(args, lockout_check='maybe'), 'lockout_check',
                    family='wrong type'))
        add(invalid('%s/lockout/ssh-connection-list' % short, module, dict(args, ssh_connection=[SSH]), 'ssh_connection',
                    family='wrong type'))
    # the policy that cuts the session: refused, nothing changed
    add(invalid('policy/lockout/cuts-the-session', 'iptables_policy',
                dict(chain='INPUT', policy='DROP', ssh_connection='198.51.100.7 50000 203.0.113.10 2222'),
                ['lockout_check', 'INPUT'], pre=[dict(module='iptables_policy', args=dict(chain='INPUT', policy='ACCEPT'))],
                family='ssh_connection'))
    # iptables_confirm tokens
    window = ruleset(content=None, rulesets={'ipv4': OTHER_V4, 'ipv6': DESIRED_V6}, rollback_timeout=60, persist=True)
    add(case('confirm/tokens/valid-rulesets-window', 'iptables_confirm', {'tokens': '{{ pre0.rollback.tokens }}', 'wait_apply': 10},
             'valid', pre=[dict(module='iptables_ruleset', args=window)], family='tokens'))
    for name, value in [('traversal', ['../../tmp/drop/evil']), ('absolute', ['/etc/passwd']), ('empty-item', ['']), ('null-item', [None]),
                        ('nul', ['ipv4-1700000000-abcdef01\x00']), ('two-of-a-family', ['ipv4-1700000000-abcdef01', 'ipv4-1700000001-abcdef02']),
                        ('unknown', ['ipv4-1700000000-abcdef01', 'ipv6-1700000000-abcdef01']), ('empty', []),
                        ('unicode-digits', ['ipv4-\uff11\uff17\uff10\uff10-abcdef01']), ('dict', {'a': 1}), ('long', ['ipv4-1-' + 'a' * 5000])]:
        add(invalid('confirm/tokens/%s' % name, 'iptables_confirm', {'tokens': value, 'wait_apply': 0}, ['tokens', 'token'],
                    family='tokens'))
    add(invalid('confirm/tokens/and-token', 'iptables_confirm', {'tokens': ['ipv4-1700000000-abcdef01'], 'token': 'ipv4-1700000000-abcdef01'},
                ['tokens', 'token'], family='tokens'))
    # sysctl_hardening on_readonly
    add(case('sysctl/on-readonly/skip', 'sysctl_hardening', dict(profile='host', on_readonly='skip', rollback_timeout=0), 'valid',
             family='on_readonly'))
    add(case('sysctl/on-readonly/file-only', 'sysctl_hardening', dict(profile='host', on_readonly='file_only', rollback_timeout=0), 'valid',
             family='on_readonly'))
    for name, value in [('bogus', 'explode'), ('list', ['skip']), ('nul', 'skip\x00'), ('case', 'SKIP'), ('empty', '')]:
        add(invalid('sysctl/on-readonly/%s' % name, 'sysctl_hardening', dict(profile='host', on_readonly=value), 'on_readonly',
                    family='on_readonly'))
    add(invalid('sysctl/on-readonly/kernel-key', 'sysctl_hardening',
                dict(profile='host', on_readonly='file_only', settings={'kernel.sysrq': 1}), ['settings', 'kernel.sysrq'],
                family='on_readonly'))
    return out


# ---------------------------------------------------------------------------------------------
# issue 22: every output path proven usable before anything changes (iptables_host.check_output_paths)

def output_path_cases():
    """Output paths in a symlinked directory, in /proc, /sys or /dev, a FIFO or a directory where a file
    goes, a symlinked copy: each fails cleanly naming the option, with the live rules and every file as
    they were (the harness compares them byte for byte)."""
    out = []
    add = out.append
    fam = 'output paths'
    fact = {'name': 'rampart_fz', 'content': {'a': 1}}
    no_fact = ['/etc/ansible/facts.d/rampart_fz.fact']
    real = dict(op='dir', path='/var/tmp/fz-real', mode=0o755)
    # the copy (copy_dir) and its files
    copies = [
        ('below-a-symlinked-dir', '/var/backups/fz-link/copies',
         [real, dict(op='symlink', path='/var/backups/fz-link', target='/var/tmp/fz-real')]),
        ('symlinked-dir-to-etc', '/var/backups/fz-etc', [dict(op='symlink', path='/var/backups/fz-etc', target='/etc/iptables')]),
        ('file-is-a-dir', '/var/backups/fz-c1', [dict(op='dir', path='/var/backups/fz-c1/rules.v4')]),
        ('file-is-a-fifo', '/var/backups/fz-c2', [dict(op='dir', path='/var/backups/fz-c2'), dict(op='fifo', path='/var/backups/fz-c2/rules.v4')]),
        ('file-is-a-symlink-to-dev-null', '/var/backups/fz-c3',
         [dict(op='dir', path='/var/backups/fz-c3'), dict(op='symlink', path='/var/backups/fz-c3/rules.v4', target='/dev/null')]),
        ('file-is-a-symlink-to-persisted', '/var/backups/fz-c4',
         [dict(op='dir', path='/var/backups/fz-c4'), dict(op='symlink', path='/var/backups/fz-c4/rules.v4', target='/etc/iptables/rules.v4')]),
        ('proc-self', '/proc/self/fz-copy', []), ('proc-sys-net', '/proc/sys/net/ipv4/conf', []), ('proc-sys-net-new', '/proc/sys/net/fz', []),
        ('sys', '/sys/fz-copy', []), ('sys-class-net', '/sys/class/net', []), ('dev-shm', '/dev/shm/fz-copy', []), ('dev', '/dev', []),
    ]
    for name, path, setup in copies:
        for label, args in (('', ruleset(content=OTHER_V4, copy_dir=path, local_fact=fact, persist=True)),
                            ('-window', ruleset(content=OTHER_V4, copy_dir=path, local_fact=fact, persist=True, rollback_timeout=30))):
            add(invalid('ruleset/output-paths/copy-dir-%s%s' % (name, label), 'iptables_ruleset', args, ['copy_dir'], path,
                        setup=setup, absent=no_fact, family=fam))
    add(invalid('ruleset/output-paths/copy-dir-rulesets-v6-fifo', 'iptables_ruleset',
                ruleset(content=None, rulesets={'ipv4': OTHER_V4, 'ipv6': DESIRED_V6}, copy_dir='/var/backups/fz-c6', rollback_timeout=30,
                        local_fact=fact),
                ['copy_dir'], '/var/backups/fz-c6/rules.v6', absent=no_fact, family=fam,
                setup=[dict(op='dir', path='/var/backups/fz-c6'), dict(op='fifo', path='/var/backups/fz-c6/rules.v6')]))
    add(invalid('ruleset/output-paths/copy-dir-check-mode-proc', 'iptables_ruleset', ruleset(content=OTHER_V4, copy_dir='/proc/self/fz'),
                ['copy_dir'], '/proc/self/fz', check_mode=True, family=fam))
    # the persisted file
    persisted = [
        ('proc-ip-forward', '/proc/sys/net/ipv4/ip_forward', []), ('proc-new', '/proc/sys/net/ipv4/fz.v4', []),
        ('proc-self-fd', '/proc/self/fd/1', []), ('sys', '/sys/kernel/fz.v4', []), ('dev-shm', '/dev/shm/rules.v4', []),
        ('below-a-symlinked-dir', '/var/backups/fz-link/rules.v4',
         [real, dict(op='symlink', path='/var/backups/fz-link', target='/var/tmp/fz-real')]),
        ('below-a-symlinked-dir-to-proc', '/var/backups/fz-proc/ip_forward',
         [dict(op='symlink', path='/var/backups/fz-proc', target='/proc/sys/net/ipv4')]),
        ('a-fifo', '/var/backups/fz.fifo', [dict(op='fifo', path='/var/backups/fz.fifo')]),
    ]
    for name, path, setup in persisted:
        add(invalid('ruleset/output-paths/persist-path-%s' % name, 'iptables_ruleset',
                    ruleset(content=OTHER_V4, persist=True, persist_path=path, local_fact=fact), ['persist_path'], path,
                    setup=setup, absent=no_fact, family=fam))
    # the local fact: its file a FIFO or a directory (the directory itself is a mount of the harness)
    for name, setup in (('fifo', [dict(op='fifo', path='/etc/ansible/facts.d/rampart_fz.fact')]),
                        ('dir', [dict(op='dir', path='/etc/ansible/facts.d/rampart_fz.fact')]),
                        ('symlink', [dict(op='symlink', path='/etc/ansible/facts.d/rampart_fz.fact', target='/etc/hostname')])):
        add(invalid('ruleset/output-paths/local-fact-%s' % name, 'iptables_ruleset', ruleset(content=OTHER_V4, local_fact=fact, persist=True),
                    ['local_fact'], '/etc/ansible/facts.d/rampart_fz.fact', setup=setup, family=fam))
    # the backup directory (/var/backups/rampart-firewall): a symlink or a file, refused before the local fact
    for name, setup in (('symlink', [real, dict(op='symlink', path='/var/backups/rampart-firewall', target='/var/tmp/fz-real')]),
                        ('file', [dict(op='file', path='/var/backups/rampart-firewall', text='x')]),
                        ('open-to-others', [dict(op='dir', path='/var/backups/rampart-firewall', mode=0o755)])):
        add(invalid('ruleset/output-paths/backup-dir-%s' % name, 'iptables_ruleset',
                    ruleset(content=OTHER_V4, backup=True, local_fact=fact, persist=True), ['backup'], None,
                    setup=setup, absent=no_fact, family=fam))
    # the ipset module's persist_path
    for name, path, setup in [('proc', '/proc/sys/net/ipv4/fz-ipsets', []), ('sys', '/sys/fz-ipsets', []), ('dev-shm', '/dev/shm/ipsets', []),
                              ('below-a-symlinked-dir', '/var/backups/fz-link/ipsets',
                               [real, dict(op='symlink', path='/var/backups/fz-link', target='/var/tmp/fz-real')]),
                              ('fifo', '/etc/iptables/ipsets.fifo', [dict(op='fifo', path='/etc/iptables/ipsets.fifo')])]:
        add(invalid('ipset/output-paths/persist-path-%s' % name, 'ipset', ipset(persist_path=path), 'persist_path', path,
                    setup=setup, family=fam))
    # sysctl_hardening: a symlinked sysctl.d directory
    add(invalid('sysctl/output-paths/symlinked-run-sysctl-d', 'sysctl_hardening', dict(profile='host', path='/run/sysctl.d/90-fz.conf'),
                'path', '/run/sysctl.d/90-fz.conf', family=fam,
                setup=[dict(op='dir', path='/var/tmp/fz-sysctl', mode=0o755), dict(op='symlink', path='/run/sysctl.d', target='/var/tmp/fz-sysctl')]))
    return out


def set_transaction_cases():
    """Issue 22: managed sets (ipsets values that are dictionaries) inside the transaction of iptables_ruleset."""
    out = []
    add = out.append
    managed = {'fz-abuse': {'members': ['203.0.113.0/24', '192.0.2.99']}}
    add(case('ruleset/set-tx/valid-create', 'iptables_ruleset', ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets=managed),
             'valid', family='set transaction', needs_ipset=True))
    add(case('ruleset/set-tx/valid-create-persist', 'iptables_ruleset',
             ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets=managed, persist=True), 'valid', family='set transaction',
             needs_ipset=True))
    add(case('ruleset/set-tx/valid-swap-live', 'iptables_ruleset',
             ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets={'fz-abuse': {'members': ['198.51.100.0/24']}}), 'valid',
             setup=[MAKE_ABUSE], family='set transaction'))
    add(case('ruleset/set-tx/valid-both-families', 'iptables_ruleset',
             ruleset(content=None, ssh_connection=SSH,
                     rulesets={'ipv4': DESIRED_SETS, 'ipv6': DESIRED_V6.replace('COMMIT', '-A INPUT -m set --match-set fz-abuse6 src -j DROP\nCOMMIT', 1)},
                     ipsets={'fz-abuse': {'members': ['203.0.113.0/24']},
                             'fz-abuse6': {'members': ['2001:db8::/32'], 'family': 'inet6'}}),
             'valid', family='set transaction', needs_ipset=True))
    add(case('ruleset/set-tx/check-mode-create', 'iptables_ruleset', ruleset(content=DESIRED_SETS, ipsets=managed), 'unchanged',
             check_mode=True, family='set transaction', needs_ipset=True))
    # refused before anything changes: every set (ipset save), rule and file byte-identical afterwards
    for name, value, fields, shown in [
            ('unknown-key', {'members': [], 'colour': 'red'}, ['ipsets', 'colour'], None),
            ('no-members', {'type': 'hash:net'}, ['ipsets', 'members'], None),
            ('bad-type', {'members': [], 'type': 'list:set'}, ['ipsets', 'type'], 'list:set'),
            ('bad-family', {'members': [], 'family': 'inet4'}, ['ipsets', 'family'], 'inet4'),
            ('hashsize-huge', {'members': [], 'hashsize': 1 << 31}, ['ipsets', 'hashsize'], None),
            ('maxelem-zero', {'members': [], 'maxelem': 0}, ['ipsets', 'maxelem'], None),
            ('maxelem-string', {'members': [], 'maxelem': '5'}, ['ipsets', 'maxelem'], None),
            ('range-slash-zero', {'members': ['0.0.0.0-255.255.255.255']}, ['ipsets', '/0'], '0.0.0.0-255.255.255.255'),
            ('slash-zero', {'members': ['0.0.0.0/0']}, ['ipsets', '/0'], '0.0.0.0/0'),
            ('v6-member-in-inet', {'members': ['2001:db8::1']}, ['ipsets', 'inet'], '2001:db8::1'),
            ('members-string', {'members': '10.0.0.1'}, ['ipsets'], '10.0.0.1'),
            ('member-null', {'members': [None]}, ['ipsets'], None),
            ('member-ctrl', {'members': ['10.0.0.1\x1b[31m']}, ['ipsets'], None),
            ('too-many', {'members': ['10.0.0.%d' % i for i in range(1, 4)], 'maxelem': 2}, ['ipsets', 'maxelem'], None)]:
        add(invalid('ruleset/set-tx/%s' % name, 'iptables_ruleset',
                    ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets={'fz-abuse': value}), fields, shown,
                    setup=[MAKE_ABUSE], family='set transaction'))
    add(invalid('ruleset/set-tx/reserved-name', 'iptables_ruleset',
                ruleset(ipsets={'rft_0123456789abcdef': {'members': []}}), ['ipsets', 'rft_'], 'rft_0123456789abcdef',
                family='set transaction'))
    add(invalid('ruleset/set-tx/type-change-in-use', 'iptables_ruleset',
                ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets={'fz-abuse': {'members': ['192.0.2.99'], 'type': 'hash:ip'}}),
                ['fz-abuse', 'type'], setup=[MAKE_ABUSE, USE_ABUSE], family='set transaction'))
    # the controller leaves the set that lets SSH in: refused by the lockout preflight (new members)
    ssh_rules = with_line('-A INPUT -p tcp -m set --match-set fz-abuse src -m tcp --dport 2222 -j ACCEPT').replace(
        '-A INPUT -p tcp --dport 22 -j ACCEPT\n', '')
    add(invalid('ruleset/set-tx/controller-leaves-the-set', 'iptables_ruleset',
                ruleset(content=ssh_rules, ssh_connection='198.51.100.7 50000 203.0.113.10 2222',
                        ipsets={'fz-abuse': {'members': ['192.0.2.1']}}), ['refusing to apply'], setup=[MAKE_ABUSE],
                family='set transaction'))
    # 0.0.0.0 in a hash:ip set, which ipset refuses ("Null-valued element"): refused by the model, naming the
    # set and the member, before anything changes (the other set stays as it was)
    add(invalid('ruleset/set-tx/null-member-refused', 'iptables_ruleset',
                ruleset(content=DESIRED_SETS, ssh_connection=SSH,
                        ipsets={'fz-abuse': {'members': ['198.51.100.0/24']}, 'fz-zz': {'members': ['0.0.0.0'], 'type': 'hash:ip'}}),
                ['ipsets[fz-zz]', 'unspecified address'], '0.0.0.0', setup=[MAKE_ABUSE], family='set transaction'))
    # the temporary prefix: a live set named like a temporary one is never touched
    add(case('ruleset/set-tx/leftover-temporary-set-kept', 'iptables_ruleset',
             ruleset(content=DESIRED_SETS, ssh_connection=SSH, ipsets={'fz-abuse': {'members': ['198.51.100.0/24']}}), 'valid',
             setup=[MAKE_ABUSE, dict(op='ipset', text='create rft_%s hash:net family inet\nadd rft_%s 192.0.2.1\n'
                                     % ('0' * 16, '0' * 16))], family='set transaction'))
    return out


def cases():
    out = valid_cases() + token_cases() + window_cases() + ruleset_option_cases() + content_cases() + structured_cases() + sysctl_cases()
    out += ipset_cases() + ruleset_round2_cases() + granular_round2_cases() + output_path_cases()
    out += set_transaction_cases()
    for item in out:
        item.setdefault('finding', None)
        item.setdefault('family', 'other')
        item.setdefault('backends', ['nft'])
    return out
