# -*- coding: utf-8 -*-
# Copyright (c) 2026, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fuzz suite of the modules: every case runs the module directly against a real iptables, in a
throwaway network + mount + pid namespace.

    python tests/fuzz/run.py                 # every case (needs root)
    python tests/fuzz/run.py -k token        # the cases whose id contains "token"
    python tests/fuzz/run.py --list          # list the cases, run nothing
    python tests/fuzz/run.py --jobs 3 --timeout 20 --backend nft

Stdlib only; run it with the project's .venv python (the modules need ansible-core).

Each case gets its own ``unshare --net --mount --pid --fork --mount-proc`` in which this file runs
again (``--inner CASEDIR``) and, before the module runs:

* /etc is an overlay (lower: the host's /etc, upper: a tmpfs), so any write to /etc lands in the
  tmpfs and is detected; /etc/iptables, /etc/sysconfig, /etc/sysctl.d, /etc/ansible/facts.d, /run, /var/backups,
  /var/lib (the ownership record), /tmp, and /var/tmp are fresh tmpfs (HOME is /var/tmp/home; the case directory, the collection and the
  python are bound back when they live below one of them, so the suite runs from a checkout anywhere);
  /dev is a tmpfs with its own null, zero, urandom... nodes and a /dev/log socket that records what the module sends to syslog; the rest of / is read-only;
  /proc/sys outside net is read-only; nothing of the host changes;
* the backend (nft, or legacy: the /etc/alternatives links of the overlay point to the legacy
  binaries) gets a realistic ruleset: filter + nat, Docker's and fail2ban's chains, a user chain,
  both families, and /etc/iptables/rules.v4|v6 are persisted.

The namespace dies with its PID 1 (the inner runner), and with it every process the case left
(revert timers included). Per case: no traceback, JSON result, no hang (timeout), no write outside
the sandboxed directories, no device replaced, no leftover temporary file, no marker file of an
injection; then per expectation kind (see cases.py):

* ``invalid``: failed=true, the msg names the option and a recognisable (escaped) form of the
  value, and the live rulesets (both families, both backends, counters stripped), every file of
  the sandboxed directories and the net sysctls are byte-identical after the run;
* ``valid``: success, and a second run reports changed=false and changes nothing;
* ``unchanged``: success and nothing changed (check mode, gathered);
* ``either``: valid or invalid, whichever the module chooses, with the checks of that kind.

The host's /etc/iptables, /etc/sysconfig, /etc/sysctl.d (and a few more) are hashed before and
after the whole suite. The last line reads ``fuzz: N cases: P passed, F failed in Ts``.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import ctypes
import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODULE_PKG = 'ansible_collections.rampart.firewall.plugins.modules.'
PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# The sandboxed directories: tmpfs in every case namespace, compared file by file.
# (/root stays the host's, read-only: python may live there, e.g. pyenv)
# /var/lib whole (the record of iptables_ruleset is /var/lib/rampart-firewall): a tmpfs on a directory that does not
# exist would first create it on the host
TMPFS_DIRS = ('/etc/iptables', '/etc/sysconfig', '/etc/sysctl.d', '/etc/ansible/facts.d', '/run', '/var/backups', '/var/lib',
              '/tmp', '/var/tmp')
HOME = '/var/tmp/home'
SNAPSHOT_ROOTS = TMPFS_DIRS
CWD = '/tmp/cwd'
MEMORY_LIMIT = 1 << 30
MARKERS = ('/tmp/pwned', '/tmp/cwd/pwned', '/root/pwned', '/run/pwned', '/var/tmp/pwned', '/pwned')
# Paths an apply may create even when it refuses: the apply lock (and its directory).
LOCK_RE = re.compile(r'^/run/(xtables\.lock|rampart-firewall[^/]*\.lock|rampart-firewall[^/]*(/[^/]*lock[^/]*)?)$')
IGNORED_RE = re.compile(r'^/var/tmp/home/\.ansible(/|$)')
TEMP_RE = re.compile(r'(^\..*\.tmp\d*$|\.tmp\d*$|^tmp[A-Za-z0-9_]{6,}$|^\.ansible_tmp|^ansible-moduletmp)')
NET_SYSCTLS = (
    'net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/default/rp_filter',
    'net/ipv4/tcp_syncookies', 'net/ipv4/conf/all/accept_redirects', 'net/ipv4/conf/default/accept_redirects',
    'net/ipv6/conf/all/accept_redirects', 'net/ipv6/conf/default/accept_redirects', 'net/ipv4/conf/all/secure_redirects',
    'net/ipv4/conf/all/send_redirects', 'net/ipv4/conf/all/accept_source_route', 'net/ipv6/conf/all/accept_source_route',
    'net/ipv4/conf/all/log_martians', 'net/ipv4/icmp_echo_ignore_broadcasts', 'net/ipv4/icmp_ignore_bogus_error_responses',
    'net/ipv4/tcp_timestamps', 'net/ipv4/ip_default_ttl', 'net/ipv6/conf/lo/disable_ipv6', 'net/ipv4/conf/lo/accept_local',
)
BACKENDS = {
    'nft': 'nft',
    'legacy': 'legacy',
}
ALTERNATIVES = ('iptables', 'iptables-restore', 'iptables-save', 'ip6tables', 'ip6tables-restore', 'ip6tables-save')
# Host paths hashed before and after the whole suite (they must never change).
HOST_PATHS = ('/etc/iptables', '/etc/sysconfig', '/etc/sysctl.d', '/etc/sysctl.conf', '/etc/passwd', '/etc/shadow', '/etc/group',
              '/etc/cron.d', '/etc/os-release', '/etc/hostname', '/var/backups/rampart-firewall', '/var/lib/rampart-firewall',
              '/run/rampart-firewall',
              '/run/rampart-firewall.lock') + tuple('/etc/alternatives/' + name for name in ALTERNATIVES) + MARKERS


def load_cases():
    spec = importlib.util.spec_from_file_location('rampart_fuzz_cases', os.path.join(HERE, 'cases.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------------------------
# helpers shared by both sides

def sh(cmd, data=None, check=True):
    proc = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          env={'PATH': PATH, 'LANG': 'C', 'LC_ALL': 'C'})
    if check and proc.returncode != 0:
        raise RuntimeError('%s failed (rc=%s): %s' % (' '.join(cmd), proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()))
    return proc


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while True:
            block = handle.read(1 << 20)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def describe_path(path):
    """(kind, details) of one path, without following symlinks; None when it does not exist."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    meta = 'mode=%04o uid=%d gid=%d' % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISLNK(st.st_mode):
        return 'link -> %s %s' % (os.readlink(path), meta)
    if stat.S_ISDIR(st.st_mode):
        return 'dir %s' % meta
    if stat.S_ISREG(st.st_mode):
        try:
            return 'file size=%d sha256=%s %s' % (st.st_size, sha256_file(path), meta)
        except OSError as exc:
            return 'file size=%d unreadable(%s) %s' % (st.st_size, exc.strerror, meta)
    if stat.S_ISFIFO(st.st_mode):
        return 'fifo %s' % meta
    if stat.S_ISSOCK(st.st_mode):
        return 'socket %s' % meta
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return '%s %d:%d %s' % ('chr' if stat.S_ISCHR(st.st_mode) else 'blk', os.major(st.st_rdev), os.minor(st.st_rdev), meta)
    return 'other %s' % meta


def tree(root, prefix=None, skip=()):
    """{path: description} of every entry below root (root included), symlinks not followed;
    the paths in skip (the harness's own directories bound back into a tmpfs) are left out."""
    out = {}
    if describe_path(root) is None:
        return out
    shown = prefix if prefix is not None else root
    out[shown] = describe_path(root)
    for base, dirs, files in os.walk(root):
        rel = os.path.relpath(base, root)
        dirs[:] = [name for name in dirs if os.path.join(base, name) not in skip]
        for name in dirs + files:
            path = os.path.join(base, name)
            if path in skip:
                continue
            key = os.path.normpath(os.path.join(shown, rel, name))
            out[key] = describe_path(path)
    return out


def under(path, root):
    return path == root or path.startswith(root.rstrip('/') + '/')


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384


def bind_fd(fd, target, recursive=False, readonly=False):
    """Bind-mount the directory open as FD (O_PATH) on TARGET: reaches a directory a tmpfs now hides
    (the harness's case directory, the checkout, the venv when they live under /tmp or /var/tmp)."""
    libc = ctypes.CDLL(None, use_errno=True)
    source = ('/proc/self/fd/%d' % fd).encode()
    if libc.mount(source, target.encode(), None, MS_BIND | (MS_REC if recursive else 0), None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'bind mount of %s: %s' % (target, os.strerror(err)))
    if readonly and libc.mount(None, target.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'read-only remount of %s: %s' % (target, os.strerror(err)))


# ---------------------------------------------------------------------------------------------
# inner side: runs as PID 1 of the case's namespaces

SEED_V4 = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
:f2b-sshd - [0:0]
:web-in - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j web-in
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-USER -j RETURN
-A f2b-sshd -s 203.0.113.5/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
-A web-in -p tcp -m tcp --dport 80 -m comment --comment "web server" -j ACCEPT
COMMIT
'''

SEED_V6 = '''*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s fd00:dead:beef::/48 ! -o docker0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
-A f2b-sshd -s 2001:db8::5/128 -j REJECT --reject-with icmp6-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
'''

PERSISTED_V4 = '''# Generated by iptables-save v1.8.9 on Mon Jan  5 10:00:00 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web-in - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j web-in
-A web-in -p tcp -m tcp --dport 80 -m comment --comment "web server" -j ACCEPT
COMMIT
'''

PERSISTED_V6 = '''# Generated by ip6tables-save v1.8.9 on Mon Jan  5 10:00:00 2026
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
'''


class Inner:
    """Set up the namespace of one case, run its steps, check them; write result.json."""

    def __init__(self, casedir):
        self.casedir = casedir
        with open(os.path.join(casedir, 'case.json')) as handle:
            self.case = json.load(handle)
        self.ovl = os.path.join(casedir, 'ovl')
        # host directories the module run needs, bound back when a tmpfs of TMPFS_DIRS covers them:
        # (path, recursive, read-only); the case directory is writable (results), the rest read-only
        self.keep = [(casedir, True, False)] + [(path, False, True) for path in self.case.get('keep', [])]
        self.kept = set()
        self.problems = []
        self.steps = []
        self.log = None
        self.nstep = 0
        self.results = {}
        self.outcome = None

    # -- namespace --------------------------------------------------------------------------
    def mount(self, *args):
        sh(['mount'] + list(args))

    def setup_namespace(self):
        self.mount('--make-rprivate', '/')
        self.mount('--bind', self.casedir, self.casedir)
        os.makedirs(self.ovl, exist_ok=True)
        self.mount('-t', 'tmpfs', '-o', 'mode=0700', 'tmpfs', self.ovl)
        os.makedirs(os.path.join(self.ovl, 'upper'))
        os.makedirs(os.path.join(self.ovl, 'work'))
        self.mount('-t', 'overlay', 'overlay', '-o',
                   'lowerdir=/etc,upperdir=%s/upper,workdir=%s/work' % (self.ovl, self.ovl), '/etc')
        for path in TMPFS_DIRS:
            os.makedirs(path, exist_ok=True)
            mode = '1777' if path in ('/tmp', '/var/tmp') else '0755'
            covered = [(keep, os.open(keep, os.O_PATH | os.O_CLOEXEC), recursive, readonly)
                       for keep, recursive, readonly in sorted(self.keep, key=lambda item: len(item[0]))
                       if under(keep, path) and os.path.isdir(keep)]
            self.mount('-t', 'tmpfs', '-o', 'mode=%s,size=512m' % mode, 'tmpfs', path)
            for keep, fd, recursive, readonly in covered:
                os.makedirs(keep, exist_ok=True)
                bind_fd(fd, keep, recursive, readonly)
                os.close(fd)
                self.kept.add(keep)
        # /dev: private nodes, so that a module replacing /dev/null replaces ours
        self.mount('-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'tmpfs', '/dev')
        for name, major, minor in (('null', 1, 3), ('zero', 1, 5), ('full', 1, 7), ('random', 1, 8), ('urandom', 1, 9), ('tty', 5, 0)):
            os.mknod('/dev/' + name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            os.chmod('/dev/' + name, 0o666)
        for name, target in (('fd', '/proc/self/fd'), ('stdin', '/proc/self/fd/0'), ('stdout', '/proc/self/fd/1'), ('stderr', '/proc/self/fd/2')):
            os.symlink(target, '/dev/' + name)
        os.mkdir('/dev/shm', 0o1777)
        self.mount('-t', 'tmpfs', '-o', 'mode=1777,size=16m', 'tmpfs', '/dev/shm')
        self.log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.log.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        self.log.bind('/dev/log')
        os.chmod('/dev/log', 0o666)
        self.log.setblocking(False)
        # /proc/sys: only the namespace's net keys stay writable
        for name in sorted(os.listdir('/proc/sys')):
            path = '/proc/sys/' + name
            if name != 'net' and os.path.isdir(path):
                self.mount('--bind', path, path)
                self.mount('-o', 'remount,bind,ro', path)
        self.mount('-o', 'remount,bind,ro', '/sys')
        self.mount('-o', 'remount,bind,ro', '/')
        os.makedirs(CWD, exist_ok=True)
        os.makedirs(HOME, mode=0o700, exist_ok=True)
        if self.case['backend'] == 'legacy':
            for name in ALTERNATIVES:
                link = '/etc/alternatives/' + name
                os.unlink(link)
                os.symlink('/usr/sbin/%s' % name.replace('tables', 'tables-legacy', 1), link)
        sh(['iptables-restore'], data=SEED_V4.encode())
        sh(['ip6tables-restore'], data=SEED_V6.encode())
        for path, text in (('/etc/iptables/rules.v4', PERSISTED_V4), ('/etc/iptables/rules.v6', PERSISTED_V6)):
            with open(path, 'w') as handle:
                handle.write(text)
            os.chmod(path, 0o640)

    # -- case setup -------------------------------------------------------------------------
    def apply_op(self, op):
        kind = op['op']
        path = op.get('path')
        if kind in ('file', 'bytes'):
            parent = os.path.dirname(path)
            os.makedirs(parent, exist_ok=True)
            data = op['text'].encode('utf-8') if kind == 'file' else bytes.fromhex(op['hex'])
            with open(path, 'wb') as handle:
                handle.write(data)
            os.chmod(path, op.get('mode', 0o600))
        elif kind == 'sparse':
            with open(path, 'wb') as handle:
                handle.truncate(op['size'])
        elif kind == 'fifo':
            os.mkfifo(path, 0o600)
        elif kind == 'dir':
            os.makedirs(path, exist_ok=True)
            os.chmod(path, op.get('mode', 0o755))
        elif kind == 'symlink':
            os.symlink(op['target'], path)
        elif kind == 'json':
            with open(path, 'w') as handle:
                json.dump(op['data'], handle)
            os.chmod(path, op.get('mode', 0o600))
        elif kind == 'chown':
            os.lchown(path, op['uid'], op['gid'])
        elif kind == 'chmod':
            os.chmod(path, op['mode'])
        elif kind == 'hold_lock':
            self.hold_lock(op['paths'])
        elif kind == 'sleep':
            time.sleep(op['seconds'])
        elif kind == 'unlink':
            os.unlink(path)
        elif kind == 'ipset':
            sh(['ipset', 'restore'], data=op['text'].encode())
        elif kind == 'iptables':
            sh(['iptables-restore' if op.get('family', 'ipv4') == 'ipv4' else 'ip6tables-restore', '--noflush'],
               data=op['text'].encode())
        else:
            raise ValueError('unknown setup op %r' % kind)

    @staticmethod
    def hold_lock(paths):
        """As user nobody, open the first lock path it can (read-only) and flock it, forever."""
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(ready_r)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                held = 'none'
                for path in paths:
                    try:
                        handle = open(path, 'r')  # pylint: disable=consider-using-with
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                        held = path
                        break
                    except (IOError, OSError):
                        continue
                os.write(ready_w, held.encode())
                os.close(ready_w)
                while True:
                    time.sleep(60)
            finally:
                os._exit(0)  # pylint: disable=protected-access
        os.close(ready_w)
        with os.fdopen(ready_r) as handle:
            return handle.read()

    # -- snapshots --------------------------------------------------------------------------
    def snapshot(self):
        snap = {'files': {}, 'rules': {}, 'sysctl': {}, 'dev': {}, 'etc': {}}
        for root in SNAPSHOT_ROOTS:
            snap['files'].update(tree(root, skip=self.kept))
        for key in list(snap['files']):
            if IGNORED_RE.match(key):
                del snap['files'][key]
        upper = os.path.join(self.ovl, 'upper')
        snap['etc'] = tree(upper, prefix='/etc')
        snap['dev'] = dict((p, describe_path(p)) for p in ('/dev/' + n for n in sorted(os.listdir('/dev'))) if p != '/dev/log')
        for cmd in ('iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save'):
            proc = sh(['/usr/sbin/' + cmd], check=False)
            text = proc.stdout.decode('utf-8', 'replace')
            lines = [re.sub(r'\[\d+:\d+\]', '', line) for line in text.splitlines() if not line.startswith('#')]
            snap['rules'][cmd] = '\n'.join(lines) if proc.returncode == 0 else 'rc=%d %s' % (proc.returncode, proc.stderr[-200:])
        # the ipset sets of the namespace (members and options; a swap with the same members is no change)
        if shutil.which('ipset', path=PATH):
            proc = sh(['ipset', 'save'], check=False)
            # entry state that runs on by itself (a timeout counting down, counters) is not a change
            lines = sorted(re.sub(r' (timeout|packets|bytes) \d+', '', line) if line.startswith('add ') else line
                           for line in proc.stdout.decode('utf-8', 'replace').splitlines())
            snap['rules']['ipset'] = '\n'.join(lines) if proc.returncode == 0 else 'rc=%d %s' % (proc.returncode, proc.stderr[-200:])
        for key in NET_SYSCTLS:
            try:
                with open('/proc/sys/' + key) as handle:
                    snap['sysctl'][key] = handle.read().strip()
            except OSError:
                snap['sysctl'][key] = None
        return snap

    @staticmethod
    def diff(before, after, allow_locks=True):
        """The differences as short strings (allowed: lock files under /run)."""
        out = []
        for section in ('files', 'etc', 'dev', 'sysctl'):
            old, new = before[section], after[section]
            for key in sorted(set(old) | set(new)):
                if old.get(key) == new.get(key):
                    continue
                if allow_locks and section == 'files' and key not in old and LOCK_RE.match(key):
                    continue
                if key not in old:
                    out.append('%s created (%s)' % (key, new[key]))
                elif key not in new:
                    out.append('%s removed' % key)
                else:
                    out.append('%s changed (%s -> %s)' % (key, old[key], new[key]))
        for cmd in sorted(before['rules']):
            if before['rules'][cmd] != after['rules'].get(cmd):
                out.append('live sets changed (ipset save)' if cmd == 'ipset' else 'live ruleset changed (%s)' % cmd)
        return out

    # -- module runs ------------------------------------------------------------------------
    def read_syslog(self):
        out = []
        while True:
            try:
                out.append(self.log.recv(1 << 20).decode('utf-8', 'replace'))
            except BlockingIOError:
                return out

    def run_module(self, name, args, timeout, env=None):
        self.nstep += 1
        argsfile = os.path.join(self.casedir, 'args-%d.json' % self.nstep)
        with open(argsfile, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
        environ = {'PATH': PATH, 'HOME': HOME, 'LANG': 'C.UTF-8', 'PYTHONPATH': self.case['collections'],
                   'PYTHONDONTWRITEBYTECODE': '1'}
        environ.update(env or {})
        cmd = ['prlimit', '--as=%d' % MEMORY_LIMIT, '--', self.case['python'], '-m', MODULE_PKG + name, argsfile]
        self.read_syslog()
        started = time.time()
        proc = subprocess.Popen(cmd, cwd=CWD, env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.PIPE, start_new_session=True)
        hung = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        took = time.time() - started
        out = out.decode('utf-8', 'replace')
        err = err.decode('utf-8', 'replace')
        result = None
        try:
            result = json.loads(out)
            if not isinstance(result, dict):
                result = None
        except ValueError:
            result = None
        step = {'module': name, 'rc': proc.returncode, 'hung': hung, 'took': round(took, 2), 'stdout': out[-4000:],
                'stderr': err[-4000:], 'result': result, 'syslog': self.read_syslog(), 'raw': out}
        return step

    @staticmethod
    def basic_problems(step, timeout):
        out = []
        if step['hung']:
            out.append('hang: no answer in %d s (killed)' % timeout)
            return out
        if 'Traceback (most recent call last)' in step['stderr'] or 'Traceback (most recent call last)' in step['stdout']:
            tail = [line for line in step['stderr'].splitlines() if line.strip()][-1:] or ['']
            out.append('traceback: %s' % tail[0][:200])
        if step['result'] is None:
            text = (step['stderr'] or step['stdout']).strip().splitlines()
            out.append('no JSON result (rc=%s): %s' % (step['rc'], (text[-1] if text else '')[:200]))
        elif 'Traceback' in str(step['result'].get('msg', '')) or 'Traceback' in str(step['result'].get('exception', '')):
            out.append('traceback in the result: %s' % str(step['result'].get('msg'))[:200])
        return out

    # -- substitution of earlier results into args -----------------------------------------
    def substitute(self, value):
        if isinstance(value, str):
            match = re.match(r'^\{\{\s*([A-Za-z0-9_.]+)\s*\}\}$', value)
            if match:
                cur = self.results
                for part in match.group(1).split('.'):
                    cur = cur[part] if isinstance(cur, dict) else None
                return cur
            return value
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return dict((k, self.substitute(v)) for k, v in value.items())
        return value

    @staticmethod
    def wait_window_applied(result, seconds=8.0):
        token = ((result or {}).get('rollback') or {}).get('token')
        if not token:
            return
        end = time.time() + seconds
        state_dir = (result.get('rollback') or {}).get('state_dir') or '/run/rampart-firewall'
        while time.time() < end:
            names = os.listdir(state_dir) if os.path.isdir(state_dir) else []
            if any(n.startswith(token + '.') and n.split('.', 1)[1] in ('applied', 'apply-failed', 'reverted', 'failed') for n in names):
                time.sleep(0.2)
                return
            time.sleep(0.1)

    # -- the case ---------------------------------------------------------------------------
    def run(self):
        case = self.case
        timeout = case['timeout']
        for op in case.get('setup', []):
            self.apply_op(op)
        for index, pre in enumerate(case.get('pre', [])):
            step = self.run_module(pre['module'], self.substitute(pre['args']), timeout, case.get('env'))
            self.steps.append(self.public(step, 'pre%d' % index))
            problems = self.basic_problems(step, timeout)
            res = step['result'] or {}
            if problems or res.get('failed'):
                self.problems.append('harness: pre step %d failed: %s' % (index, problems or str(res.get('msg'))[:300]))
                return
            self.results['pre%d' % index] = res
            self.wait_window_applied(res)
        for op in case.get('after_pre', []):
            self.apply_op(op)
        before = self.snapshot()
        args = self.substitute(case['args'])
        if case.get('check_mode'):
            args['_ansible_check_mode'] = True
        step = self.run_module(case['module'], args, timeout, case.get('env'))
        self.steps.append(self.public(step, 'main'))
        after = self.snapshot()
        problems = self.basic_problems(step, timeout)
        self.problems.extend(problems)
        self.problems.extend(self.invariants(before, after, step))
        if problems:
            self.outcome = 'broken'
            return
        res = step['result']
        failed = bool(res.get('failed'))
        self.outcome = 'failed' if failed else ('changed' if res.get('changed') else 'ok')
        kind = case['expect']
        if kind == 'either':
            kind = 'invalid' if failed else 'valid'
        if kind == 'invalid':
            self.check_invalid(res, before, after)
        elif kind == 'unchanged':
            if failed:
                self.problems.append('expected success (nothing changed), got failed: %s' % short(res.get('msg')))
            self.problems.extend('changed although it must not: %s' % d for d in self.diff(before, after)[:6])
        elif kind == 'valid':
            if failed:
                self.problems.append('expected success, got failed: %s' % short(res.get('msg')))
            elif case.get('idempotent', True):
                self.check_idempotent(case, args, after)
        self.extra_checks(step, res)

    def check_invalid(self, res, before, after):
        case = self.case
        if not res.get('failed'):
            self.problems.append('expected a refusal (failed=true), got success (changed=%s)' % res.get('changed'))
        else:
            msg = str(res.get('msg', ''))
            fields = case.get('fields') or []
            if fields and not any(names_field(msg, f) for f in fields):
                self.problems.append('msg does not name %s: %s' % (' or '.join(fields), short(msg)))
            if case.get('has_value'):
                if not names_value(msg, case.get('value')):
                    self.problems.append('msg does not show the value %s: %s' % (short(json.dumps(case.get('value'), ensure_ascii=True), 60), short(msg)))
            if case.get('msg_re') and not re.search(case['msg_re'], msg):
                self.problems.append('msg does not match /%s/: %s' % (case['msg_re'], short(msg)))
            raw = [c for c in '\x00\x1b\r' if c in msg]
            if raw:
                self.problems.append('msg holds raw control characters %r' % raw)
        changes = self.diff(before, after)
        if changes:
            self.problems.append('refused input changed state: %s' % '; '.join(changes[:5]))

    def check_idempotent(self, case, args, after):
        step = self.run_module(case['module'], args, case['timeout'], case.get('env'))
        self.steps.append(self.public(step, 'again'))
        again = self.snapshot()
        problems = self.basic_problems(step, case['timeout'])
        if problems:
            self.problems.extend('second run: %s' % p for p in problems)
            return
        res = step['result']
        if res.get('failed'):
            self.problems.append('second run failed: %s' % short(res.get('msg')))
        elif res.get('changed'):
            self.problems.append('not idempotent: second run reported changed=true')
        changes = self.diff(after, again)
        if changes:
            self.problems.append('second run changed state: %s' % '; '.join(changes[:5]))

    def invariants(self, before, after, step):
        out = []
        for key in sorted(set(after['etc']) - set(before['etc'])) + sorted(k for k in before['etc'] if after['etc'].get(k) != before['etc'][k]):
            out.append('wrote outside the sandboxed directories: %s' % key)
        for key in sorted(set(before['dev']) | set(after['dev'])):
            if before['dev'].get(key) != after['dev'].get(key):
                out.append('device node changed: %s (%s -> %s)' % (key, before['dev'].get(key), after['dev'].get(key)))
        for path in MARKERS + tuple(self.case.get('absent', ())):
            if os.path.lexists(path):
                out.append('injection marker or forbidden path exists: %s' % path)
        for key in sorted(set(after['files']) - set(before['files'])):
            if TEMP_RE.search(os.path.basename(key)) and not LOCK_RE.match(key):
                out.append('leftover temporary file: %s' % key)
        if step['result'] is not None:
            warnings = ' '.join(str(w) for w in step['result'].get('warnings') or [])
            if 'Traceback' in warnings:
                out.append('traceback in a warning')
        return out

    def extra_checks(self, step, res):
        case = self.case
        visible = json.dumps(dict((k, v) for k, v in res.items() if k != 'invocation'), ensure_ascii=False)
        for leak in case.get('leak', []):
            run = longest_common_run(visible, leak['text'])
            if run > leak['max']:
                self.problems.append('leaks %d characters of %s in the result (at most %d allowed)' % (run, leak['what'], leak['max']))
        logged = '\n'.join(step['syslog'])
        for marker in case.get('no_log', []):
            if marker in logged:
                self.problems.append('syslog holds %r (the module logged the ruleset)' % marker[:40])
        if case.get('max_log') is not None and max([len(m) for m in step['syslog']] or [0]) > case['max_log']:
            self.problems.append('syslog message of %d bytes (at most %d)' % (max(len(m) for m in step['syslog']), case['max_log']))
        if case.get('lock_private'):
            self.problems.extend(lock_problems())

    @staticmethod
    def public(step, label):
        res = step['result']
        if res is not None:
            res = dict(res)
            res.pop('invocation', None)
            for key in ('before', 'after', 'payload', 'diff', 'gathered', 'rendered'):
                if key in res:
                    res[key] = short(json.dumps(res[key]), 300)
        return {'label': label, 'module': step['module'], 'rc': step['rc'], 'hung': step['hung'], 'took': step['took'],
                'msg': short(str((res or {}).get('msg', '')), 600), 'result': res, 'stderr': step['stderr'][-1500:],
                'syslog_bytes': sum(len(m) for m in step['syslog'])}


def lock_problems():
    """The apply lock must not be openable by other users (finding 2)."""
    out = []
    candidates = ['/run/rampart-firewall.lock']
    if os.path.isdir('/run/rampart-firewall'):
        candidates += ['/run/rampart-firewall/' + n for n in os.listdir('/run/rampart-firewall') if 'lock' in n]
    found = False
    for path in candidates:
        if not os.path.lexists(path):
            continue
        found = True
        st = os.lstat(path)
        parent = os.stat(os.path.dirname(path))
        if st.st_uid != 0 or parent.st_uid != 0:
            out.append('lock %s (or its directory) is not owned by root' % path)
        if stat.S_ISLNK(st.st_mode):
            out.append('lock %s is a symlink' % path)
        elif (st.st_mode & 0o044) and (parent.st_mode & 0o011):
            out.append('lock %s is readable by other users (mode %04o in a directory of mode %04o): any local user can flock it'
                       % (path, stat.S_IMODE(st.st_mode), stat.S_IMODE(parent.st_mode)))
    if not found:
        out.append('no apply lock found under /run')
    return out


def short(text, limit=240):
    text = '' if text is None else str(text)
    text = text.replace('\n', '\\n')
    return text if len(text) <= limit else text[:limit] + '...(%d chars)' % len(text)


def names_field(msg, field):
    if re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', field):
        return re.search(r'(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])' % re.escape(field), msg, re.IGNORECASE) is not None
    return field.lower() in msg.lower()


def value_forms(value):
    """Recognisable spellings of VALUE in a message: as is (printable), or escaped."""
    text = value if isinstance(value, str) else json.dumps(value)
    forms = set()
    if text.isprintable() or not any(ord(c) < 32 or ord(c) == 127 for c in text):
        forms.add(text)
    forms.add(repr(text)[1:-1])
    forms.add(json.dumps(text)[1:-1])
    forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    forms.add(text.encode('unicode_escape').decode('ascii'))
    forms.add(text.encode('utf-8', 'surrogateescape').decode('ascii', 'backslashreplace'))
    for style in ('\\x%02x', '\\x%02X', '\\u%04x', '\\u%04X', '\\%03o', '<%02x>', '^%s', '?', '\ufffd'):
        def rep(char, style=style):
            if ord(char) >= 32 and ord(char) != 127:
                return char
            if style == '^%s':
                return '^' + chr((ord(char) + 64) % 128)
            return style % ord(char) if '%' in style else style
        forms.add(''.join(rep(c) for c in text))
    forms.add(text.replace('\x00', '\\0'))
    return forms


def names_value(msg, value):
    text = value if isinstance(value, str) else json.dumps(value)
    forms = value_forms(value)
    if len(text) > 120:
        # a long value: a recognisable start of it is enough
        return any(form[:24] in msg for form in forms if len(form) >= 24)
    return any(form in msg for form in forms if form)


def longest_common_run(haystack, needle):
    """Length of the longest substring of NEEDLE found in HAYSTACK (binary search on the length)."""
    low, high = 0, len(needle)
    while low < high:
        mid = (low + high + 1) // 2
        if any(needle[i:i + mid] in haystack for i in range(0, len(needle) - mid + 1)):
            low = mid
        else:
            high = mid - 1
    return low


def inner_main(casedir):
    inner = Inner(casedir)
    try:
        inner.setup_namespace()
        inner.run()
    except Exception:  # pylint: disable=broad-exception-caught
        inner.problems.append('harness error: %s' % traceback.format_exc().strip().splitlines()[-1])
        inner.outcome = inner.outcome or 'harness-error'
        sys.stderr.write(traceback.format_exc())
    with open(os.path.join(casedir, 'result.json'), 'w') as handle:
        json.dump({'id': inner.case['id'], 'problems': inner.problems, 'outcome': inner.outcome, 'steps': inner.steps}, handle)
    return 0


# ---------------------------------------------------------------------------------------------
# outer side

def host_state():
    out = {}
    for path in HOST_PATHS:
        if os.path.isdir(path) and not os.path.islink(path):
            out.update(tree(path))
        else:
            out[path] = describe_path(path)
    out['/dev/null'] = describe_path('/dev/null')
    return out


def host_rules():
    out = {}
    for cmd in ('iptables-save', 'ip6tables-save'):
        proc = sh([cmd], check=False)
        out[cmd] = '\n'.join(re.sub(r'\[\d+:\d+\]', '', line) for line in proc.stdout.decode('utf-8', 'replace').splitlines()
                             if not line.startswith('#'))
    return out


def run_case(case, work, python, collections_dir, timeout, keep=()):
    casedir = os.path.join(work, case['uid'])
    os.makedirs(os.path.join(casedir, 'ovl'))
    data = dict(case, python=python, collections=collections_dir, timeout=timeout, keep=list(keep))
    with open(os.path.join(casedir, 'case.json'), 'w') as handle:
        json.dump(data, handle)
    steps = 1 + len(case.get('pre', [])) + (1 if case['expect'] in ('valid', 'either') else 0)
    limit = timeout * steps + 30
    cmd = ['unshare', '--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
           python, os.path.abspath(__file__), '--inner', casedir]
    started = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,  # pylint: disable=consider-using-with
                            env={'PATH': PATH, 'LANG': 'C.UTF-8', 'PYTHONDONTWRITEBYTECODE': '1'})
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    took = time.time() - started
    try:
        with open(os.path.join(casedir, 'result.json')) as handle:
            result = json.load(handle)
    except (IOError, OSError, ValueError):
        tail = (err or out).decode('utf-8', 'replace').strip().splitlines()[-3:]
        result = {'problems': ['harness error: no result from the namespace (rc=%s): %s' % (proc.returncode, ' | '.join(tail))],
                  'outcome': 'harness-error', 'steps': []}
    result['took'] = round(took, 2)
    return result


def expand(cases, backends, selector):
    out = []
    seen = set()
    for case in cases:
        if case['id'] in seen:
            raise SystemExit('fuzz: duplicate case id %s' % case['id'])
        seen.add(case['id'])
        for backend in case.get('backends', ['nft']):
            if backend not in backends:
                continue
            item = dict(case, backend=backend)
            item['label'] = '%s [%s]' % (case['id'], backend)
            item['uid'] = '%04d-%s' % (len(out), backend)
            if selector and not any(s in item['label'] for s in selector):
                continue
            out.append(item)
    return out


def keep_paths(python, collection, collections_dir):
    """The host directories a case needs inside its namespace (bound back when a tmpfs of TMPFS_DIRS
    covers them, e.g. a checkout under /tmp): the collection, its link directory, the python's
    installation (a venv in the checkout) and the directory of the python executable."""
    proc = subprocess.run([python, '-c', 'import sys; print(sys.prefix); print(sys.base_prefix)'], stdout=subprocess.PIPE,
                          check=False)
    paths = [collections_dir, os.path.realpath(collection), os.path.dirname(os.path.abspath(python))]
    paths += [line for line in proc.stdout.decode().splitlines() if line.strip()]
    out = []
    for path in paths:
        path = os.path.realpath(path) if path != collections_dir else path
        if path not in out and os.path.isdir(path) and any(under(path, d) for d in TMPFS_DIRS):
            out.append(path)
    return out


def ensure_ipset(install=True):
    """The ipset cases need ipset (Debian package ipset); installed with apt-get when missing, as
    scripts/setup.sh installs the other gates' packages. Returns an error message or None."""
    if shutil.which('ipset', path=PATH):
        return None
    if not install or shutil.which('apt-get', path=PATH) is None:
        return 'ipset is missing: install it (apt-get install ipset)'
    print('fuzz: apt-get install ipset')
    sys.stdout.flush()
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive', PATH=PATH)
    for cmd in (['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'ipset']):
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False)
        if proc.returncode != 0:
            return '%s failed (rc=%d): %s' % (' '.join(cmd), proc.returncode, proc.stdout.decode('utf-8', 'replace')[-300:])
    return None if shutil.which('ipset', path=PATH) else 'ipset is still missing after apt-get install ipset'


def legacy_available():
    return all(os.path.exists('/usr/sbin/%s' % n.replace('tables', 'tables-legacy', 1)) for n in ALTERNATIVES)


def outer_main(opts):
    if os.geteuid() != 0:
        print('fuzz: needs root (unshare of network, mount and pid namespaces, iptables); run it as root, the CI machine is root',
              file=sys.stderr)
        return 2
    for tool in ('unshare', 'prlimit', 'mount', 'iptables-restore', 'ip6tables-restore'):
        if shutil.which(tool, path=PATH) is None:
            print('fuzz: %s is missing' % tool, file=sys.stderr)
            return 2
    mod = load_cases()
    backends = list(opts.backend or ['nft', 'legacy'])
    if 'legacy' in backends and not legacy_available():
        print('fuzz: iptables-legacy is not installed: the legacy backend is skipped')
        backends.remove('legacy')
    cases = expand(mod.cases(), backends, opts.k)
    if opts.list:
        for case in cases:
            print('%-70s %-18s %-9s finding=%s' % (case['label'], case['module'], case['expect'], case.get('finding') or '-'))
        print('fuzz: %d cases' % len(cases))
        return 0
    if not cases:
        print('fuzz: no case selected')
        return 2
    needs = any(c['module'] == 'ipset' or c.get('needs_ipset') or any(op.get('op') == 'ipset' for op in c.get('setup', []))
                for c in cases)
    problem = ensure_ipset(not opts.no_install) if needs else None
    if problem:
        print('fuzz: %s' % problem, file=sys.stderr)
        return 2
    python = opts.python or sys.executable
    # not below a directory the namespaces cover with a tmpfs
    os.makedirs(os.path.join(ROOT, '.cache'), exist_ok=True)
    work = tempfile.mkdtemp(prefix='fuzz.', dir=os.path.join(ROOT, '.cache'))
    collections_dir = os.path.join(work, 'collections')
    os.makedirs(os.path.join(collections_dir, 'ansible_collections', 'rampart'))
    os.symlink(os.path.realpath(opts.collection), os.path.join(collections_dir, 'ansible_collections', 'rampart', 'firewall'))
    keep = keep_paths(python, opts.collection, collections_dir)
    host_before, rules_before = host_state(), host_rules()
    started = time.time()
    print('fuzz: %d cases, backends %s, %d workers, timeout %d s per module run' % (len(cases), ', '.join(backends), opts.jobs, opts.timeout))
    sys.stdout.flush()
    results = {}
    done = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            futures = dict((pool.submit(run_case, case, work, python, collections_dir, opts.timeout, keep), case) for case in cases)
            for future in concurrent.futures.as_completed(futures):
                case = futures[future]
                result = future.result()
                results[case['uid']] = result
                done += 1
                if result['problems']:
                    print('  FAIL %s: %s' % (case['label'], short(result['problems'][0], 200)))
                elif opts.verbose:
                    print('  ok   %s (%.1fs)' % (case['label'], result['took']))
                if done % 50 == 0:
                    print('  ... %d/%d cases, %.0f s' % (done, len(cases), time.time() - started))
                sys.stdout.flush()
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    took = time.time() - started
    host_after, rules_after = host_state(), host_rules()
    host_problems = ['%s: %s -> %s' % (k, host_before.get(k), host_after.get(k))
                     for k in sorted(set(host_before) | set(host_after)) if host_before.get(k) != host_after.get(k)]
    return report(cases, results, took, host_problems, rules_before != rules_after, opts)


def report(cases, results, took, host_problems, host_rules_changed, opts):
    by_module = collections.OrderedDict()
    by_kind = collections.OrderedDict()
    by_finding = collections.defaultdict(list)
    failing = []
    outcomes = collections.Counter()
    for case in cases:
        result = results.get(case['uid'], {'problems': ['not run'], 'outcome': None})
        ok = not result['problems']
        row = by_module.setdefault(case['module'], [0, 0])
        row[0 if ok else 1] += 1
        kind = by_kind.setdefault(case['expect'], [0, 0])
        kind[0 if ok else 1] += 1
        outcomes[result.get('outcome') or 'none'] += 1
        if not ok:
            failing.append((case, result))
            by_finding[case.get('finding') or 0].append(case)
    print()
    print('%-20s %7s %7s' % ('module', 'passed', 'failed'))
    for name, (ok, bad) in by_module.items():
        print('%-20s %7d %7d' % (name, ok, bad))
    print('%-20s %7s %7s' % ('expectation', 'passed', 'failed'))
    for name, (ok, bad) in by_kind.items():
        print('%-20s %7d %7d' % (name, ok, bad))
    print('%-20s %7s %7s' % ('finding of issue 10', 'passed', 'failed'))
    for finding in sorted(set(c.get('finding') or 0 for c in cases)):
        group = [c for c in cases if (c.get('finding') or 0) == finding]
        bad = sum(1 for c in group if results.get(c['uid'], {}).get('problems', ['not run']))
        print('%-20s %7d %7d' % ('#%d' % finding if finding else 'general', len(group) - bad, bad))
    print('module outcomes (first run): %s' % ', '.join('%s %d' % item for item in sorted(outcomes.items())))
    if failing:
        print()
        print('failing cases, by finding of issue 10 (0: none of the numbered findings):')
        for finding in sorted(by_finding):
            print('  finding %s: %d case(s)' % (finding or '-', len(by_finding[finding])))
            for case, result in failing:
                if (case.get('finding') or 0) == finding:
                    print('    %s: %s' % (case['label'], short('; '.join(result['problems']), 400)))
    if host_problems:
        print()
        print('THE HOST CHANGED during the suite:')
        for line in host_problems:
            print('  ' + line)
    if host_rules_changed:
        print('note: the host\'s own live ruleset changed during the suite (another program, e.g. podman, may have changed it)')
    os.makedirs(os.path.dirname(opts.report), exist_ok=True)
    with open(opts.report, 'w') as handle:
        json.dump({'took': took, 'host_problems': host_problems,
                   'cases': [dict(results.get(c['uid'], {}), id=c['id'], backend=c['backend'], module=c['module'], expect=c['expect'],
                                  finding=c.get('finding'), family=c.get('family')) for c in cases]}, handle, indent=1)
    passed = sum(ok for ok, _bad in by_module.values())
    failed = len(cases) - passed + (1 if host_problems else 0)
    print('report: %s' % os.path.relpath(opts.report, ROOT))
    print('fuzz: %d cases: %d passed, %d failed in %.1fs' % (len(cases), passed, len(cases) - passed, took))
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description='Fuzz suite of rampart.firewall (needs root).')
    parser.add_argument('--inner', help=argparse.SUPPRESS)
    parser.add_argument('-k', action='append', help='run only the cases whose id contains this text (repeatable)')
    parser.add_argument('--list', action='store_true', help='list the cases and exit')
    parser.add_argument('--jobs', type=int, default=max(2, min(4, (os.cpu_count() or 2) + 1)), help='cases run at once')
    parser.add_argument('--timeout', type=int, default=20, help='seconds per module run before it counts as a hang')
    parser.add_argument('--backend', action='append', choices=sorted(BACKENDS), help='only this backend (repeatable)')
    parser.add_argument('--python', help='python with ansible-core for the modules (default: this one)')
    parser.add_argument('--collection', default=ROOT, help='the collection tree to test (default: this checkout)')
    parser.add_argument('--report', default=os.path.join(ROOT, 'tests', 'output', 'fuzz', 'report.json'), help='JSON report')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (case files and results)')
    parser.add_argument('--no-install', action='store_true', help='do not apt-get install ipset when it is missing')
    parser.add_argument('-v', '--verbose', action='store_true')
    opts = parser.parse_args(argv)
    if opts.inner:
        return inner_main(opts.inner)
    return outer_main(opts)


if __name__ == '__main__':
    sys.exit(main())
