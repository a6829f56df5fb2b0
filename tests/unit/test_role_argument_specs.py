"""The role's argument specs say what the code does: one list of drivers for every entry point, and
every driver option documented under its role variable, with the driver's type (and nothing the
drivers do not know under a driver's prefix)."""

import os

import pytest
import yaml

from ansible_collections.alation.scim.plugins.plugin_utils.drivers import DRIVER_NAMES, DRIVERS, driver_class

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS = yaml.safe_load(open(os.path.join(REPO, "roles", "token_rotation", "meta", "argument_specs.yml")))["argument_specs"]
GENERIC_PREFIXES = ("alation_scim_idp", "alation_scim_base_url", "alation_scim_scim_url", "alation_scim_ca_path",
                    "alation_scim_validate_certs", "alation_scim_rotate_before_days", "alation_scim_force_",
                    "alation_scim_operator_present", "alation_scim_warning_days", "alation_scim_critical_days",
                    "alation_scim_verify", "alation_scim_alation_", "alation_scim_entry", "alation_scim_init_script",
                    "alation_scim_shell_timeout", "alation_scim_django_shell_command", "alation_scim_pending_marker",
                    "alation_scim_expiry_record", "alation_scim_summary", "alation_scim_ha_pair")


@pytest.mark.parametrize("entry_point", sorted(SPECS))
def test_every_entry_point_accepts_every_driver(entry_point):
    assert sorted(SPECS[entry_point]["options"]["alation_scim_idp"]["choices"]) == sorted(DRIVER_NAMES)


def driver_variables():
    for name in sorted(DRIVERS):
        cls = driver_class(name)
        for option, spec in cls.argument_spec().items():
            yield name, cls.variable_name(option), spec


@pytest.mark.parametrize("entry_point", ["main", "confirm"])
@pytest.mark.parametrize("driver, variable, spec", list(driver_variables()))
def test_every_driver_option_has_its_variable(entry_point, driver, variable, spec):
    documented = SPECS[entry_point]["options"].get(variable)
    assert documented, "%s (option of the %s driver) is not in the %s entry point" % (variable, driver, entry_point)
    assert documented.get("type", "str") == spec.get("type", "str"), variable
    if "choices" in spec:
        assert sorted(documented.get("choices") or []) == sorted(spec["choices"]), variable
    assert bool(documented.get("no_log")) == bool(spec.get("no_log")), variable


def test_no_documented_driver_variable_is_unknown_to_the_drivers():
    known = set(variable for dummy, variable, dummy in driver_variables())
    for entry_point, spec in SPECS.items():
        for variable in spec["options"]:
            if variable.startswith(GENERIC_PREFIXES):
                continue
            assert variable in known, "%s (%s) is documented but no driver reads it" % (variable, entry_point)
