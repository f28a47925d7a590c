# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make this checkout importable as ansible_collections.rampart.firewall for the unit tests.

A temporary directory <tmp>/ansible_collections/rampart/ gets a symlink ``firewall`` to the
collection root (found relative to this file) and <tmp> goes first on sys.path, before any
collection import. ansible_collections is a namespace package (the ``ansible`` distribution
installs one in site-packages too), so both portions are searched, ours first.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _install():
    try:
        import ansible_collections.rampart.firewall as fw  # noqa: F401
        if os.path.realpath(fw.__path__[0]) == os.path.realpath(_ROOT):
            return
    except ImportError:
        pass
    tmp = tempfile.mkdtemp(prefix='rampart-firewall-tests-')
    atexit.register(shutil.rmtree, tmp, True)
    ns = os.path.join(tmp, 'ansible_collections', 'rampart')
    os.makedirs(ns)
    os.symlink(_ROOT, os.path.join(ns, 'firewall'))
    sys.path.insert(0, tmp)
    for name in list(sys.modules):
        if name == 'ansible_collections.rampart' or name.startswith('ansible_collections.rampart.'):
            del sys.modules[name]
    import importlib
    importlib.invalidate_caches()
    if 'ansible_collections' in sys.modules:
        pkg = sys.modules['ansible_collections']
        path = getattr(pkg, '__path__', None)
        if path is not None and hasattr(path, '_recalculate'):
            path._recalculate()


_install()


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_ssh_session(monkeypatch):
    """The tests may run inside an SSH session: the modules' lockout check must not find and
    protect that one (it looks in the environment and in the parent processes). A test that
    wants the check gives ssh_connection."""
    from ansible_collections.rampart.firewall.plugins.module_utils import iptables_applier
    monkeypatch.delenv('SSH_CONNECTION', raising=False)
    monkeypatch.setattr(iptables_applier, 'session_ssh_connection', lambda: '')


@pytest.fixture(autouse=True)
def _record_dir(monkeypatch, tmp_path_factory):
    """The record of what iptables_ruleset applied (iptables_outputs.RECORD_DIR) goes to a directory of
    the test, never to /var/lib/rampart-firewall of the machine running the tests."""
    from ansible_collections.rampart.firewall.plugins.module_utils import iptables_outputs
    monkeypatch.setattr(iptables_outputs, 'RECORD_DIR', str(tmp_path_factory.mktemp('record') / 'state'))
