# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one atomic writer: new files get their mode, nothing is left behind on failure."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.rampart.firewall.plugins.module_utils.atomic_file import write_atomic


def test_new_file_gets_its_mode_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / 'rules.v4'
        write_atomic(str(target), '*filter\nCOMMIT\n', 0o600)
    finally:
        os.umask(old)
    assert target.read_text() == '*filter\nCOMMIT\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rules.v4']


def test_bytes_and_replacing_an_existing_file(tmp_path):
    target = tmp_path / 'x.conf'
    target.write_text('old\n')
    write_atomic(str(target), b'new\n', 0o644)
    assert target.read_bytes() == b'new\n'


def test_the_move_function_is_used(tmp_path):
    moves = []

    def move(src, dst):
        moves.append((os.path.dirname(src), dst))
        os.rename(src, dst)

    target = tmp_path / 'y'
    write_atomic(str(target), 'y', 0o600, move)
    assert moves == [(str(tmp_path), str(target))]


def test_a_failed_move_leaves_the_old_file(tmp_path):
    target = tmp_path / 'z'
    target.write_text('old')

    def move(src, dst):
        raise OSError('no space left')

    with pytest.raises(OSError):
        write_atomic(str(target), 'new', 0o600, move)
    assert target.read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['z']


def test_a_symlinked_temporary_name_is_never_followed(tmp_path):
    """The temporary file is created exclusively: a planted symlink cannot redirect the write."""
    victim = tmp_path / 'victim'
    victim.write_text('keep')
    target = tmp_path / 'state'
    for i in range(50):
        os.symlink(str(victim), str(tmp_path / ('.state.%d.tmp' % i)))
    write_atomic(str(target), 'data', 0o600)
    assert victim.read_text() == 'keep'
    assert target.read_text() == 'data'
