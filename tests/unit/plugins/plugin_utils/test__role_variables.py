"""The role's variables validated inside the cycle task (role_entry_point): the role's own spec, the
same verdicts as Ansible's validation task, every place that turns Ansible's task off has the
cycle validating instead, and the validated variables are the task's options."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.alation.scim.plugins.action.token_rotation_cycle import argument_spec
from ansible_collections.alation.scim.plugins.plugin_utils import _role_variables

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE_TASKS = os.path.join(REPO, "roles", "token_rotation", "tasks")
VALID = {"alation_scim_idp": "entra", "alation_scim_base_url": "https://alation.example.com",
         "alation_scim_warning_days": 30, "alation_scim_shell_timeout": 120}


def identity(value):
    return value


def errors(entry_point, variables, template):
    return _role_variables.validate(entry_point, variables, template)[0]


def test_the_spec_is_the_roles_own_file():
    with open(os.path.join(REPO, "roles", "token_rotation", "meta", "argument_specs.yml")) as f:
        assert _role_variables.entry_points() == yaml.safe_load(f)["argument_specs"]
    assert argument_spec()["role_entry_point"]["choices"] == sorted(_role_variables.entry_points())


@pytest.mark.parametrize("entry_point", ["check", "main"])
def test_valid_variables_pass(entry_point):
    assert errors(entry_point, dict(VALID, unrelated_variable=object()), identity) == []


@pytest.mark.parametrize("entry_point, bad, named", [
    ("main", {"alation_scim_idp": "entraid"}, ["alation_scim_idp", "entraid"]),
    ("check", {"alation_scim_idp": "entraid"}, ["alation_scim_idp", "entraid"]),
    ("main", {"alation_scim_rotate_before_days": "soon"}, ["alation_scim_rotate_before_days"]),
    ("check", {"alation_scim_shell_timeout": "slow"}, ["alation_scim_shell_timeout", "slow"]),
    ("main", {"alation_scim_summary": "perhaps"}, ["alation_scim_summary"]),  # a variable the cycle never gets
])
def test_invalid_variables_are_named(entry_point, bad, named):
    problems = errors(entry_point, dict(VALID, **bad), identity)
    assert problems
    text = _role_variables.message(entry_point, problems, "alation7")
    for word in named:
        assert word in text
    assert text.startswith("Invalid variables for the role alation.scim.token_rotation (entry point %s): " % entry_point)
    assert "Nothing was read or changed on alation7" in text


def test_a_required_variable_that_is_missing_is_named():
    variables = dict(VALID)
    del variables["alation_scim_idp"]
    assert errors("main", variables, identity) == ["missing required arguments: alation_scim_idp"]


def test_values_are_templated_before_they_are_checked():
    seen = []

    def template(value):
        seen.append(value)
        return dict(value, alation_scim_warning_days=7)
    assert errors("check", dict(VALID, alation_scim_warning_days="{{ days }}"), template) == []
    assert seen[0]["alation_scim_warning_days"] == "{{ days }}"
    assert "unrelated" not in seen[0]


@pytest.mark.parametrize("entry_point", ["check", "main"])
@pytest.mark.parametrize("variables", [VALID, dict(VALID, alation_scim_idp="entraid"),
                                       dict(VALID, alation_scim_warning_days="soon"),
                                       dict((k, v) for k, v in VALID.items() if k != "alation_scim_base_url")])
def test_same_verdict_as_ansibles_own_validation_task(entry_point, variables):
    """What ansible.builtin.validate_argument_spec decides for the same variables (its validator, its call)."""
    options = _role_variables.entry_points()[entry_point]["options"]
    given = dict((name, variables[name]) for name in options if name in variables)
    ansible_says = ArgumentSpecValidator(options).validate(given, validate_role_argument_spec=True).error_messages
    assert errors(entry_point, variables, identity) == list(ansible_says)


def tasks_of(path):
    with open(path) as f:
        return yaml.safe_load(f) or []


def flattened(tasks):
    """Every task of a task list, those in blocks and in the role's static imports included, in order."""
    found = []
    for task in tasks:
        for key in ("block", "rescue", "always"):
            found.extend(flattened(task.get(key) or []))
        imported = task.get("ansible.builtin.import_tasks")
        if imported and "{{" not in imported and os.path.exists(os.path.join(ROLE_TASKS, imported)):
            found.extend(flattened(tasks_of(os.path.join(ROLE_TASKS, imported))))
        found.append(task)
    return found


def cycle_tasks(tasks):
    return [task for task in flattened(tasks) if "alation.scim.token_rotation_cycle" in task]


@pytest.mark.parametrize("entry_point, tasks_file", [("check", "read_expiry.yml"), ("main", "main.yml"),
                                                     ("main", "main_alone.yml")])
def test_the_roles_first_cycle_task_validates_its_entry_point(entry_point, tasks_file):
    first = cycle_tasks(tasks_of(os.path.join(ROLE_TASKS, tasks_file)))[0]
    assert first["alation.scim.token_rotation_cycle"]["role_entry_point"] == entry_point


def imports_of_the_role(tasks):
    return [(task.get("ansible.builtin.import_role") or task.get("ansible.builtin.include_role"), task.get("vars") or {})
            for task in flattened(tasks)
            if task.get("ansible.builtin.import_role") or task.get("ansible.builtin.include_role")]


def test_every_playbook_that_turns_ansibles_validation_off_runs_a_validating_entry_point():
    """rolespec_validate: false only where the role's first task is a cycle task with role_entry_point."""
    validating = {"main": "main", "main_alone": "main", "read_expiry": "check"}
    found = 0
    for folder in ("playbooks", os.path.join("playbooks", "tasks")):
        for name in sorted(os.listdir(os.path.join(REPO, folder))):
            if not name.endswith(".yml"):
                continue
            for play in tasks_of(os.path.join(REPO, folder, name)):
                for spec, variables in imports_of_the_role(play.get("tasks", [play]) if isinstance(play, dict) else []):
                    if spec.get("rolespec_validate", True) is not False:
                        continue
                    found += 1
                    tasks_from = spec.get("tasks_from", "main")
                    entries = [tasks_from]
                    if "{{" in tasks_from:  # fleet_host.yml: the entry point comes from the fleet playbooks
                        entries = sorted(set(re.findall(r"alation_scim_entry_point: (\w+)", "".join(
                            open(os.path.join(REPO, "playbooks", p)).read() for p in os.listdir(
                                os.path.join(REPO, "playbooks")) if p.endswith(".yml")))))
                    assert entries and all(e in validating for e in entries), (name, entries)
    assert found >= 2


def test_every_option_variable_is_declared_by_the_main_entry_point_and_names_a_cycle_option():
    declared = _role_variables.entry_points()["main"]["options"]
    spec = argument_spec()
    for option, variable in _role_variables.OPTION_VARIABLES.items():
        assert variable in declared, variable
        assert option in spec, option


@pytest.mark.parametrize("entry_point", ["check", "main"])
def test_the_validated_variables_become_the_options_the_task_leaves_out(entry_point):
    variables = dict(VALID, alation_scim_rotate_before_days="45", alation_scim_force_rotation="yes",
                     alation_scim_verify_path="Users?count=1")
    problems, values = _role_variables.validate(entry_point, variables, identity)
    assert problems == []
    options = _role_variables.task_options(entry_point, values, {"role_entry_point": entry_point, "warning_days": 3})
    assert options["warning_days"] == 3, "the task's own argument wins"
    assert options["idp"] == "entra" and options["base_url"] == "https://alation.example.com"
    assert options["rotate_before_days"] == 45 and options["timeout"] == 120, "typed by the role's spec"
    assert "alation_root" not in options, "a variable that is not set sets nothing"
    if entry_point == "main":
        assert options["force"] is True and options["verify_path"] == "Users?count=1"
    else:  # the check entry point declares neither: the cycle's defaults stay
        assert "force" not in options and "verify_path" not in options


@pytest.mark.parametrize("entry_point, tasks_file", [("check", "read_expiry.yml"), ("main", "main.yml"),
                                                     ("main", "main_alone.yml")])
def test_the_roles_cycle_tasks_name_no_option_a_variable_sets(entry_point, tasks_file):
    """Every argument Ansible templates costs the worker a Jinja compile: the variables come through role_entry_point."""
    first = cycle_tasks(tasks_of(os.path.join(ROLE_TASKS, tasks_file)))[0]["alation.scim.token_rotation_cycle"]
    assert sorted(set(first) & set(_role_variables.OPTION_VARIABLES)) == []
    assert not [value for value in first.values() if "{{" in str(value)]
