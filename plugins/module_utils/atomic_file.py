# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one atomic file writer of the collection.

Every file the collection writes (persisted rules, copies, the local fact, sysctl.d files, the
revert timer's state files) goes through write_atomic(): a temporary file created exclusively
in the target's directory (tempfile.mkstemp: O_EXCL, mode 0600, never following a symlink),
written, flushed and fsynced, given its mode, then renamed over the target. A reader sees the
old file or the new one, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile

__metaclass__ = type


def write_atomic(path, data, mode, move=None):
    """Write DATA (str or bytes) to PATH atomically and give it MODE.

    move(tmp, path) does the final rename: os.rename by default (the revert timer, which runs
    without a module), module.atomic_move in modules (it keeps an existing file's owner, mode
    and SELinux context). A new file always ends with MODE. Raises OSError; the temporary file
    is removed when anything fails, the rename included.
    """
    directory = os.path.dirname(path) or '.'
    creating = not os.path.exists(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data.encode('utf-8', 'surrogateescape') if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        (move or os.rename)(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    if creating:
        # atomic_move gives a new file the default mode (0666 & ~umask).
        os.chmod(path, mode)
