# -*- coding: utf-8 -*-
# Copyright (c) 2025, rampart.firewall developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error type of the collection's modules.

Whatever stops a module (bad input, a plan that cannot be made, a side effect that failed)
raises a FirewallError or a subclass: msg is the message for fail_json, extra the keys it
adds to the failure result (field and value for bad input; cmd, rc, stdout, stderr for a
command). A module catches FirewallError once and calls fail_json(msg=exc.msg, **exc.extra).
The model's ParseError (iptables_model) and the runner's IptablesCommandError carry more
structure (line numbers, the command) and are converted where they are caught.

The hierarchy (each class name defined once, here or where noted):
  FirewallError
    SpecError (also a ValueError)   bad input of a module option (field, value, rule)
      PlanError                     a change that cannot be planned on the live tables
    HostError (iptables_host)       a side effect on the host failed
"""

from __future__ import annotations

__metaclass__ = type


class FirewallError(Exception):
    """msg for fail_json plus extra result keys."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


class SpecError(FirewallError, ValueError):
    """Wrong input or an impossible change. field names the module option, value the bad value,
    rule the rule text the model rejected; those that are given are the extra result keys."""

    def __init__(self, msg, field=None, value=None, rule=None):
        given = (('field', field), ('value', value), ('rule', rule))
        FirewallError.__init__(self, msg, **dict((k, v) for k, v in given if v is not None))
        self.field = field
        self.value = value
        self.rule = rule


class PlanError(SpecError):
    """A change cannot be planned against the live tables: the desired ruleset cannot be combined
    with the live one (iptables_engine), or a granular edit cannot be made on the live table
    (iptables_planner). The one class of that name."""
