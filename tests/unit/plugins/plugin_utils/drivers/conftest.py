# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drivers against the real simulators (tests/testbed/*_sim, in threads, throwaway CA) with a small
SCIM endpoint standing in for Alation: `make_driver(name, **options)` validates the options the way
the rotation cycle does (the driver's argument_spec and its required_* rules) and returns the
driver for host alation1."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import os
import sys

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.alation.scim.plugins.plugin_utils.drivers import driver_class
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverContext

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

TOKEN = "current-alation-token-" + "3a" * 14
OLD_TOKEN = "previous-alation-token-" + "c5" * 14


def fp(token):
    """The simulators' fingerprint of a token (what their state shows instead of it)."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def validated(cls, options):
    validator = ArgumentSpecValidator(
        cls.argument_spec(), mutually_exclusive=list(cls.mutually_exclusive) or None,
        required_together=list(cls.required_together) or None, required_one_of=list(cls.required_one_of) or None,
        required_if=list(getattr(cls, "required_if", ())) or None)
    result = validator.validate(options)
    if result.error_messages:
        raise ValueError("; ".join(result.error_messages))
    return result.validated_parameters


@pytest.fixture
def make_driver():
    def make(name, scim_url="https://alation1.example:8443/scim/v2/", check_mode=False, **options):
        cls = driver_class(name)
        warnings = []
        driver = cls(validated(cls, options), DriverContext("alation1", scim_url, check_mode=check_mode,
                                                            warn=warnings.append))
        driver.warnings = warnings
        return driver
    return make
