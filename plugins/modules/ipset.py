#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ipset
short_description: Manage an ipset address set and its complete member list, replaced atomically
version_added: 0.1.0
author: rampart.firewall developers (@rampart)
description:
  - Declares one ipset set (type V(hash:net), V(hash:ip) or V(hash:ip,port), family V(inet) or V(inet6)) and its
    B(complete) member list, given inline (O(members)) or as a file on the target (O(src)). A list on the controller
    is passed with a lookup, see the examples.
  - Members are compared canonically with the live set (C(ipset save NAME)), so V(10.0.0.1/32) and V(10.0.0.1) are the
    same member, and the module reports C(changed) only when a member or a creation option differs (or the persisted
    file does).
  - A changed set is replaced B(atomically) in one C(ipset restore) - a temporary set is created and filled, then
    C(swap)ped with the live one and destroyed - so a packet matched by a rule that uses the set sees either the old
    or the new members, never a half-filled set. Rules keep referencing the set across the swap.
  - Every change, a new set and a type change included, is built in a temporary set first (named V(rft_) and 16 hex
    digits, a name no live set has); a member or a O(hashsize) the kernel refuses stops the restore before the set is
    touched, the half-made temporary set (this run's) is destroyed, and the task B(fails) with the set, its members and
    the persisted file as they were. A live set that happens to have a temporary name is never touched.
  - Every member is checked before anything runs; a bad entry fails the task naming the entry (escaped and
    shortened) and its position, and nothing is changed.
  - To change a set together with the rules that use it (checked by the lockout preflight, reverted with them by the
    confirm-or-revert window), give it to M(rampart.firewall.iptables_ruleset) as a managed set (its option
    O(rampart.firewall.iptables_ruleset#module:ipsets)) instead; the roles do.
  - O(state=absent) destroys the set, but refuses while an iptables or ip6tables rule (live, or in the persisted
    rules file) uses it - a C(-m set --match-set NAME) match or a C(SET) target - naming the rule. It also refuses
    when the persisted rules file cannot be checked (a symlink, not a regular file, larger than 64 MiB).
  - With O(persist=true) (the default), the set is written to the file the distribution's boot service loads B(before)
    the iptables rules that reference it. Only the managed set's lines are replaced in that file; the other sets in
    it are kept as they are.
extends_documentation_fragment:
  - rampart.firewall._attributes
  - rampart.firewall._attributes.platform
attributes:
  check_mode:
    support: full
    details:
      - Reads the live set and the persisted file and reports what would change; runs no C(ipset restore) and writes
        nothing.
  diff_mode:
    support: full
    details:
      - The create line of the set before and after, and a sample of at most 10 removed and 10 added members (the
        counts are in RV(added) and RV(removed)).
  platform:
    support: full
    platforms: linux
options:
  name:
    description:
      - The name of the set, 1 to 31 characters of ASCII letters, digits, V(_), V(.), V(:) and V(-), not starting
        with V(-), and not starting with V(rft_) (reserved for the temporary sets).
    type: str
    required: true
  state:
    description:
      - V(present) creates the set or makes its members and options those given.
      - V(absent) destroys the set and removes it from the persisted file. Refused while a rule uses it.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - The set type. V(hash:net) holds networks and addresses (V(10.0.0.0/8), V(192.0.2.7), a range
        V(192.0.2.1-192.0.2.9), an exception V(10.1.0.0/16 nomatch)); V(hash:ip) single addresses; V(hash:ip,port)
        V(ADDRESS,PROTO:PORT) with PROTO one of V(tcp), V(udp), V(sctp), V(udplite) (V(ADDRESS,PORT) means tcp).
      - Changing the type (or O(family)) of an existing set builds the new set in a temporary set, then destroys the
        old one and renames the new one (ipset cannot swap sets of two types); refused, naming the set and the rules,
        while a rule or another kernel component uses the set.
    type: str
    choices: ['hash:net', 'hash:ip', 'hash:ip,port']
    default: 'hash:net'
  family:
    description: V(inet) for IPv4 members (used by C(iptables) rules), V(inet6) for IPv6 members (C(ip6tables)).
    type: str
    choices: [inet, inet6]
    default: inet
  members:
    description:
      - The complete member list. Members not listed are removed.
      - Text after V(#) is a comment; blank items are skipped, so
        V(lookup('ansible.builtin.file', 'blocklist.txt'\).splitlines(\)) of a commented file on the controller works.
      - A network must be written with its network address (V(10.0.0.0/8), not V(10.0.0.5/8)). A V(/0) network
        is refused, written V(0.0.0.0/0) or as the range V(0.0.0.0-255.255.255.255) (a hash:net set cannot hold it).
        The unspecified address (V(0.0.0.0), V(::)) is refused in a C(hash:ip) or C(hash:ip,port) set (ipset cannot
        store it there); a C(hash:net) set holds it as a single address.
      - Mutually exclusive with O(src); one of them is required with O(state=present) (V([]) is an empty set).
      - Every item must be a string; a V(null) item is refused (it is not a blank item).
    type: list
    elements: raw
  src:
    description:
      - A file on the target with one member per line (V(#) comments and blank lines allowed), read instead of
        O(members). It must be a regular file of at most 64 MiB.
    type: path
  hashsize:
    description:
      - The initial hash size of a new set (the kernel rounds it up to a power of two and grows it as the set fills).
        It is not compared, so changing it alone changes nothing.
      - From V(64) to V(134217728) (2^27, the largest hash table the kernel allocates).
    type: int
  maxelem:
    description:
      - The maximum number of members. More members than this is an error before anything changes.
      - From V(1) to V(4294967295).
    type: int
    default: 65536
  timeout:
    description:
      - Create the set with timeout support and this default timeout in seconds for its members (V(0) means members
        never expire). Members that expired are added again on the next run. Omit for a set without timeouts.
      - At most V(2147483) seconds (what ipset and the kernel take).
    type: int
  counters:
    description: Create the set with packet and byte counters per member.
    type: bool
    default: false
  comment:
    description: Create the set with comment support (member comments are not managed).
    type: bool
    default: false
  persist:
    description:
      - Write the set to the file the boot service restores before the iptables rules (Debian and Ubuntu
        C(/etc/iptables/ipsets), loaded by the netfilter-persistent plugin of the package C(ipset-persistent); RHEL
        family C(/etc/sysconfig/ipset) with C(ipset.service) of C(ipset-service); Arch C(/etc/ipset.conf) with
        C(ipset.service)), and enable that service.
      - Only this set's lines in the file are replaced (or removed with O(state=absent)); other sets are kept.
      - A warning names the package when the plugin or service is not installed.
    type: bool
    default: true
  persist_path:
    description:
      - The persisted file to write instead of the distribution's. An absolute, normalised path; if it exists, a
        regular file.
    type: path
  wait:
    description:
      - Seconds to wait for another rampart.firewall apply on the same host (the lock in C(/run/rampart-firewall)),
        0 to 300.
    type: int
    default: 10
notes:
  - The module needs root (or C(CAP_NET_ADMIN)) and the C(ipset) binary on the target (Debian package C(ipset)).
  - Persisted rules that use a set are loaded at boot only if the set is loaded first, so persist the sets that
    persisted rules use. On Debian install C(ipset-persistent); C(netfilter-persistent save) overwrites
    C(/etc/iptables/ipsets) with every live set.
  - On Debian the plugin C(10-ipset) of netfilter-persistent runs C(ipset restore -exist) on the file before the
    plugins that load the rules, so at boot the sets exist before the rules that use them. On a running host a
    C(systemctl restart netfilter-persistent) adds the file's members to the live sets but removes none; the next
    run of this module makes the set exact again.
  - A persisted file is replaced by writing a temporary file in the same directory and renaming it; an existing file
    keeps its owner and mode.
  - RHEL-family and Arch persistence is mapped but not tested.
seealso:
  - module: rampart.firewall.iptables_ruleset
  - module: rampart.firewall.iptables_rule
'''

EXAMPLES = r'''
- name: Block an abuse list kept on the controller (one network per line, '#' comments allowed)
  rampart.firewall.ipset:
    name: abuse
    type: hash:net
    members: "{{ lookup('ansible.builtin.file', 'files/abuse-v4.txt').splitlines() }}"
    maxelem: 262144

- name: Drop what is in the set (one rule, however many members)
  rampart.firewall.iptables_rule:
    chain: INPUT
    position: prepend
    match_args: -m set --match-set abuse src
    jump: DROP

- name: SSH allow list from the addresses of an inventory group (IPv4 and IPv6 sets)
  rampart.firewall.ipset:
    name: "{{ item.name }}"
    family: "{{ item.family }}"
    members: "{{ addresses | reject('search', ':') | list if item.family == 'inet'
                 else addresses | select('search', ':') | list }}"
  vars:
    addresses: "{{ groups['monitoring'] | map('extract', hostvars, 'ansible_host') | map('string') | list }}"
  loop:
    - {name: ssh_allow, family: inet}
    - {name: ssh_allow6, family: inet6}

- name: A list that is already on the target
  rampart.firewall.ipset:
    name: blocklist
    src: /etc/rampart/blocklist.txt

- name: Ports per address
  rampart.firewall.ipset:
    name: backends
    type: hash:ip,port
    members:
      - 192.0.2.10,tcp:5432
      - 192.0.2.11,udp:53

- name: Remove a set (fails while a rule still uses it)
  rampart.firewall.ipset:
    name: oldlist
    state: absent
'''

RETURN = r'''
name:
  description: The set name.
  returned: always
  type: str
  sample: abuse
state:
  description: The state asked for.
  returned: always
  type: str
  sample: present
before:
  description: The live set before the task (C(null) when it did not exist).
  returned: always
  type: dict
  contains:
    options:
      description: Type, family and creation options.
      type: dict
    count:
      description: The number of members.
      type: int
  sample: {"options": {"type": "hash:net", "family": "inet", "hashsize": 1024, "maxelem": 65536, "timeout": null,
           "counters": false, "comment": false, "other_options": []}, "count": 50000}
after:
  description: The set as the task leaves it (predicted in check mode; C(null) after O(state=absent)).
  returned: always
  type: dict
  sample: {"options": {"type": "hash:net", "family": "inet", "hashsize": 1024, "maxelem": 65536, "timeout": null,
           "counters": false, "comment": false, "other_options": []}, "count": 50000}
added:
  description: The number of members added.
  returned: always
  type: int
  sample: 500
removed:
  description: The number of members removed.
  returned: always
  type: int
  sample: 500
added_sample:
  description: At most 10 of the added members, in ipset spelling.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.0/8", "192.0.2.7"]
removed_sample:
  description: At most 10 of the removed members.
  returned: always
  type: list
  elements: str
  sample: ["198.51.100.0/24"]
options_changed:
  description: Whether a creation option (type, family, maxelem, timeout, counters, comment) differs.
  returned: always
  type: bool
  sample: false
method:
  description:
    - How the live set was (or would be) changed. V(none); V(create), a new set (built as a temporary set, then
      renamed); V(swap), a temporary set swapped in; V(recreate), the type or family changed, so the new set was built
      as a temporary set, the old one destroyed and the new one renamed; V(destroy).
  returned: always
  type: str
  sample: swap
payload:
  description:
    - The C(ipset restore) payload applied (or that would be), with the C(add) lines after the first 10 replaced by a
      line counting them. Empty when the live set did not change.
  returned: always
  type: list
  elements: str
  sample: ["create rft_3f2a... hash:net family inet hashsize 1024 maxelem 65536", "add rft_3f2a... 10.0.0.0/8",
           "# ... 49990 more add lines", "swap rft_3f2a... abuse", "destroy rft_3f2a..."]
persist_path:
  description: The persisted file (C(null) with O(persist=false)).
  returned: always
  type: str
  sample: /etc/iptables/ipsets
persist_changed:
  description: Whether the persisted file was (or would be) rewritten.
  returned: always
  type: bool
  sample: true
services_enabled:
  description: The boot services enabled by the task.
  returned: always
  type: list
  elements: str
  sample: []
references:
  description: The rules that use the set (with O(state=absent) the reason for a refusal).
  returned: always
  type: list
  elements: str
  sample: ["ipv4 table filter: -A INPUT -m set --match-set abuse src -j DROP"]
'''

import json
import os

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.rampart.firewall.plugins.module_utils.errors import FirewallError
from ansible_collections.rampart.firewall.plugins.module_utils import ipset_model as model
from ansible_collections.rampart.firewall.plugins.module_utils.ipset_host import (
    IpsetCommands,
    SetChange,
    persist_finish,
    persist_plan,
    plan_change,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_host import (
    ApplyLock,
    DigestLoggingModule,
    HostError,
    check_file_path,
    digest,
    os_release,
    read_regular_file,
    write_atomic,
)
from ansible_collections.rampart.firewall.plugins.module_utils.iptables_persist import (
    OS_RELEASE_PATHS,
    persist_target,
)

_C = {'LANG': 'C', 'LC_ALL': 'C'}
MAX_WAIT = 300


class IpsetModule:

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params['name']
        self.ipset = None
        self.live_spec = None
        self.applied = False
        self.cmds = None
        self.change = None
        self.result = {'changed': False, 'name': self.name, 'state': self.params['state'], 'before': None,
                       'after': None, 'added': 0, 'removed': 0, 'added_sample': [], 'removed_sample': [],
                       'options_changed': False, 'method': 'none', 'payload': [], 'persist_path': None,
                       'persist_changed': False, 'services_enabled': [], 'references': []}

    # ------------------------------------------------------------------ commands

    def live_names(self):
        return self.cmds.names()

    def live_set(self, names):
        live, _text = self.cmds.live(self.name, names)
        return live

    def kernel_references(self):
        return self.cmds.kernel_references(self.name)

    def rule_references(self):
        """Rules that use the set: live iptables/ip6tables and the persisted rules files."""
        found = []
        os_release = self.os_release()
        for family, binary in (('ipv4', 'iptables-save'), ('ipv6', 'ip6tables-save')):
            path = self.module.get_bin_path(binary)
            if path:
                rc, out, _err = self.module.run_command([path], environ_update=dict(_C))
                if rc == 0:
                    found += ['%s %s' % (family, ref) for ref in model.references(out, self.name)]
            try:
                rules_file = persist_target(os_release, family).path
            except ValueError:
                continue
            if not os.path.lexists(rules_file):
                continue
            # The boot service reads this file whatever it is: one that cannot be read here (a symlink,
            # a FIFO, larger than the read limit) cannot be proven not to use the set.
            if os.path.islink(rules_file) or not os.path.isfile(rules_file):
                raise FirewallError('refusing to change the set %s: the persisted rules file %s, which the boot service '
                                    'loads, is %s, so whether its rules use the set cannot be checked; make it a '
                                    'regular file (or remove the rules that use the set from it) first'
                                    % (self.name, rules_file, 'a symlink' if os.path.islink(rules_file) else
                                       'not a regular file'))
            try:
                text = to_text(read_regular_file('the persisted rules file', rules_file), errors='surrogate_or_replace')
            except HostError as exc:
                raise FirewallError('refusing to change the set %s: whether the persisted rules file %s uses it cannot '
                                    'be checked: %s' % (self.name, rules_file, exc.msg))
            found += ['%s %s (persisted in %s)' % (family, ref, rules_file) for ref in model.references(text, self.name)]
        return found

    # ------------------------------------------------------------------ input

    def spec(self):
        """The SetSpec of the options (their bounds checked, whatever the state). Raises FirewallError."""
        p = self.params
        try:
            return model.SetSpec(p['type'], p['family'], p['hashsize'], p['maxelem'], p['timeout'],
                                 p['counters'], p['comment'])
        except model.IpsetError as exc:
            raise FirewallError(str(exc))

    def desired(self):
        p = self.params
        spec = self.spec()
        try:
            if p['src'] is not None:
                problem = check_file_path('src', p['src'])
                if problem:
                    raise FirewallError(problem)
                try:
                    data = read_regular_file('src', p['src'])
                except HostError as exc:
                    raise FirewallError(exc.msg)
                try:
                    text = data.decode('utf-8')
                except UnicodeDecodeError as exc:
                    raise FirewallError('src %s is not UTF-8 text (byte %d)' % (model.excerpt(p['src']), exc.start))
                keys = model.parse_members(text.splitlines(), spec, origin='src %s' % model.excerpt(p['src']))
            else:
                keys = model.parse_members(p['members'], spec)
        except model.IpsetError as exc:
            raise FirewallError(str(exc))
        return spec, keys

    def os_release(self):
        return os_release(OS_RELEASE_PATHS)

    def persist_plan(self, spec=None, keys=None):
        """ipset_host.persist_plan of this set (removed when SPEC is None), or None with persist=false."""
        if not self.params['persist']:
            return None
        return persist_plan(self.os_release(), self.params['persist_path'],
                            {self.name: (spec, keys) if spec is not None else None})

    # ------------------------------------------------------------------ states

    def main(self):
        if self.params['state'] == 'present':
            spec, keys = self.desired()
        else:
            self.spec()
            spec, keys = None, None
        self.cmds = IpsetCommands(self.module)
        self.ipset = self.cmds.binary
        with ApplyLock(self.params['wait']):
            names = self.live_names()
            live = self.live_set(names)
            if live is not None:
                self.live_spec = live.spec
                self.result['before'] = {'options': live.spec.as_dict(), 'count': len(live.keys)}
            if spec is None:
                return self.absent(live)
            return self.present(spec, keys, live, names)

    def present(self, spec, keys, live, names):
        before = live.keys if live is not None else set()
        added, removed = model.diff(before, keys)
        options_changed = live is not None and live.spec.key() != spec.key()
        r = self.result
        r.update(added=len(added), removed=len(removed), added_sample=model.sample(added, spec.set_type),
                 removed_sample=model.sample(removed, live.spec.set_type if live is not None else spec.set_type),
                 options_changed=options_changed,
                 after={'options': spec.as_dict(), 'count': len(keys)})
        in_use = False
        if options_changed and not live.spec.swappable(spec):
            refs = self.rule_references()
            r['references'] = refs
            in_use = '; '.join(refs[:5]) if refs else (self.kernel_references() and 'a kernel component')
        # every method builds the new content in a temporary set first (ipset_host.plan_change)
        change = plan_change(self.name, spec, keys, live, names, in_use)
        r['method'] = {'rebuild': 'recreate'}.get(change.method, change.method)
        self.change = change
        payload = change.payload
        plan = self.persist_plan(spec, keys)
        self.finish(payload, plan, spec, keys)
        return r

    def absent(self, live):
        r = self.result
        plan = self.persist_plan()
        in_file = plan is not None and plan['old'] is not None and model.persisted_set(plan['old'], self.name) is not None
        if live is None and not in_file:
            return r
        refs = self.rule_references()
        r['references'] = refs
        if refs:
            raise FirewallError('refusing to destroy the set %s: %d rule(s) use it: %s%s'
                                % (self.name, len(refs), '; '.join(refs[:5]), ' ...' if len(refs) > 5 else ''))
        payload = ''
        if live is not None:
            kernel = self.kernel_references()
            if kernel:
                raise FirewallError('refusing to destroy the set %s: it has %d reference(s) in the kernel that are not '
                                    'iptables rules (a list:set set, nftables?)' % (self.name, kernel))
            r['method'] = 'destroy'
            r['removed'] = len(live.keys)
            r['removed_sample'] = model.sample(model.sorted_keys(live.keys), live.spec.set_type)
            payload = 'destroy %s\n' % self.name
            self.change = SetChange(self.name, 'destroy', payload)
        self.finish(payload, plan, None, None)
        return r

    def finish(self, payload, plan, spec, keys):
        r = self.result
        r['payload'] = model.payload_excerpt(payload) if payload else []
        if plan is not None:
            r['persist_path'] = plan['path']
            r['persist_changed'] = not plan['same']
        r['changed'] = bool(payload) or r['persist_changed']
        if self.module._diff:
            r['diff'] = self.diff(spec)
        if self.module.check_mode:
            if plan is not None:
                self.persist_checks(plan)
            return
        if payload:
            # a refused member or hashsize stops the restore before the live set is touched; the
            # temporary set (this run's) is destroyed and the task fails (changed false)
            self.cmds.apply(self.change)
            self.applied = True
            if spec is not None:
                self.verify(spec, keys)
        if plan is not None:
            if not plan['same']:
                try:
                    write_atomic(self.module, plan['path'], plan['new'], plan['mode'])
                except HostError as exc:
                    raise FirewallError(exc.msg, **exc.extra)
            self.persist_checks(plan)

    def persist_checks(self, plan):
        self.result['services_enabled'] = persist_finish(self.module, plan)

    def verify(self, spec, keys):
        live = self.live_set(self.live_names())
        if live is None or live.keys != keys or live.spec.key() != spec.key():
            raise FirewallError('after ipset restore the set %s is not what was applied (%s members, %d wanted)'
                                % (self.name, 'no' if live is None else len(live.keys), len(keys)))

    def diff(self, spec):
        r = self.result
        before = after = ''
        if self.live_spec is not None:
            before = self.live_spec.create_line(self.name) + '\n'
            before += ''.join('add %s %s\n' % (self.name, m) for m in r['removed_sample'])
            if r['removed'] > len(r['removed_sample']):
                before += '# ... %d more removed\n' % (r['removed'] - len(r['removed_sample']))
        if spec is not None:
            after = spec.create_line(self.name) + '\n'
            after += ''.join('add %s %s\n' % (self.name, m) for m in r['added_sample'])
            if r['added'] > len(r['added_sample']):
                after += '# ... %d more added\n' % (r['added'] - len(r['added_sample']))
        return {'before_header': 'ipset %s (live)' % self.name, 'after_header': 'ipset %s (desired)' % self.name,
                'before': before, 'after': after}


class IpsetAnsibleModule(DigestLoggingModule):
    """Logs a long member list to the target's journal as a size and digest, not 50,000 lines."""

    def _log_invocation(self):
        real = self.params
        self.params = dict((key, digest(json.dumps(value)) if isinstance(value, list) and len(value) > 20 else value)
                           for key, value in real.items())
        try:
            super()._log_invocation()
        finally:
            self.params = real


def argument_spec():
    return dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        type=dict(type='str', default='hash:net', choices=list(model.TYPES)),
        family=dict(type='str', default='inet', choices=list(model.FAMILIES)),
        # raw: ansible-core would turn a null entry into '' (a blank item, skipped); the model refuses non-strings
        members=dict(type='list', elements='raw'),
        src=dict(type='path'),
        hashsize=dict(type='int'),
        maxelem=dict(type='int', default=model.DEFAULT_MAXELEM),
        timeout=dict(type='int'),
        counters=dict(type='bool', default=False),
        comment=dict(type='bool', default=False),
        persist=dict(type='bool', default=True),
        persist_path=dict(type='path'),
        wait=dict(type='int', default=10),
    )


def main():
    module = IpsetAnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('members', 'src')],
        required_if=[('state', 'present', ('members', 'src'), True)],
        supports_check_mode=True,
    )
    worker = IpsetModule(module)
    try:
        model.check_name(module.params['name'])
        if not 0 <= module.params['wait'] <= MAX_WAIT:
            raise FirewallError('wait must be between 0 and %d seconds, not %d' % (MAX_WAIT, module.params['wait']))
        try:
            result = worker.main()
        except HostError as exc:
            raise FirewallError(exc.msg, **exc.extra)
    except (FirewallError, model.IpsetError) as exc:
        failed = dict(worker.result)
        failed.pop('diff', None)
        failed.update(getattr(exc, 'extra', {}))
        failed['changed'] = worker.applied
        module.fail_json(msg=getattr(exc, 'msg', None) or to_native(exc), **failed)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
