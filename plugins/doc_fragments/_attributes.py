# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Private documentation fragments describing module attributes.

    Use C(rampart.firewall._attributes) for check_mode and diff_mode, and add the
    named fragments (C(rampart.firewall._attributes.platform), ...) as needed.
    Each module then sets C(support) (and C(platforms)) in its own C(attributes) block.
    """

    # Standard fragment: check mode and diff mode.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
'''

    # Target platforms.
    PLATFORM = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
'''
