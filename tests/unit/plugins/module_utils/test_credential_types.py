# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX / Automation Platform credential types of PingFederate and SailPoint inject exactly the
environment variables the argument specs fall back to, secrets from secret fields."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.alation.scim.plugins.module_utils._pingfederate import pingfederate_argument_spec
from ansible_collections.alation.scim.plugins.module_utils._sailpoint import iiq_argument_spec, sailpoint_argument_spec

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
AWX = os.path.join(REPO, "examples", "ci", "awx")


def fallbacks(*specs):
    """{environment variable: (option, no_log)} of the argument specs."""
    out = {}
    for spec in specs:
        for name, option in spec.items():
            for var in (option.get("fallback") or (None, []))[1]:
                out[var] = (name, option.get("no_log", False))
    return out


@pytest.mark.parametrize("path,specs,not_injected", [
    ("credential_type_pingfederate.yml", (pingfederate_argument_spec(),), {"PINGFEDERATE_CA_PATH"}),
    ("credential_type_sailpoint.yml", (sailpoint_argument_spec(), iiq_argument_spec()),
     {"SAILPOINT_TOKEN_URL", "SAILPOINT_CA_PATH", "SAILPOINT_IIQ_CA_PATH"}),
])
def test_credential_type_injects_what_the_options_fall_back_to(path, specs, not_injected):
    with open(os.path.join(AWX, path)) as f:
        ct = yaml.safe_load(f)
    assert ct["kind"] == "cloud"
    fields = {f["id"]: f for f in ct["inputs"]["fields"]}
    known = fallbacks(*specs)
    env = ct["injectors"]["env"]
    assert set(env) <= set(known), set(env) - set(known)
    assert set(known) - set(env) == not_injected   # non-secret settings that belong in the inventory
    for var, template in env.items():
        field = template.strip("{} ").split(".")[-1]
        assert field in fields, (var, template)
        option, no_log = known[var]
        assert bool(fields[field].get("secret")) == bool(no_log) or field == "client_key", (var, option)
    assert fields.get("client_key", {}).get("secret", True) is True
    assert set(ct["inputs"].get("required", [])) <= set(fields)
