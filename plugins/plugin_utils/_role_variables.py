# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role alation.scim.token_rotation's variables, validated inside its first task and taken as its options.

Ansible validates a role's variables with a task of its own: a worker per host, about 25 ms of
controller CPU each, 0.3-0.6 s of a 20-host run on two cores. The rotation cycle runs first on every
host anyway, so with ``role_entry_point`` it validates the same spec (the role's
meta/argument_specs.yml) the same way (ansible.builtin.validate_argument_spec: the variables the
entry point declares, templated, through ArgumentSpecValidator) in its own worker. The collection's
playbooks then turn Ansible's task off (``rolespec_validate: false``); a playbook that keeps it
validates twice, at no extra task.

The same templated values are then the task's options (OPTION_VARIABLES): the role's tasks name no
option that a variable sets. Ansible templates every argument of a task in the worker, compiling each
Jinja expression afresh (about 20 ms per host for the cycle's 23 arguments), and the validation has
templated the variables already.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLE = 'alation.scim.token_rotation'
SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, 'roles', 'token_rotation',
                         'meta', 'argument_specs.yml')
_SPECS = {}  # per worker process: parsed once (about 5 ms with libyaml)


def entry_points():
    """The role's entry points that have an argument spec: {name: spec}."""
    if not _SPECS:
        loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
        with open(SPEC_PATH) as f:
            _SPECS.update(yaml.load(f, Loader=loader)['argument_specs'])
    return _SPECS


# The cycle's options that the role's variables set: {option: variable}. An entry point passes those its
# spec declares; the task's own arguments win.
OPTION_VARIABLES = {
    'idp': 'alation_scim_idp',
    'rotate_before_days': 'alation_scim_rotate_before_days',
    'force': 'alation_scim_force_rotation',
    'force_push': 'alation_scim_force_push',
    'operator_present': 'alation_scim_operator_present',
    'base_url': 'alation_scim_base_url',
    'scim_url': 'alation_scim_scim_url',
    'verify': 'alation_scim_verify',
    'verify_path': 'alation_scim_verify_path',
    'validate_certs': 'alation_scim_validate_certs',
    'ca_path': 'alation_scim_ca_path',
    'verify_retries': 'alation_scim_verify_retries',
    'verify_delay': 'alation_scim_verify_delay',
    'warning_days': 'alation_scim_warning_days',
    'critical_days': 'alation_scim_critical_days',
    'alation_root': 'alation_scim_alation_root',
    'alation_user': 'alation_scim_alation_user',
    'entry': 'alation_scim_entry',
    'init_script': 'alation_scim_init_script',
    'timeout': 'alation_scim_shell_timeout',
    'django_shell_command': 'alation_scim_django_shell_command',
    'expiry_record_path': 'alation_scim_expiry_record',
}


def validate(entry_point, task_vars, template):
    """(errors, values) of the role variables of `entry_point`: the validation errors (an empty list when
    valid) and the variables it declares, templated and type-checked (None where unset).

    `template` renders a value as the task would see it (the action's templar)."""
    options = entry_points()[entry_point].get('options') or {}
    given = template(dict((name, task_vars[name]) for name in options if name in task_vars))
    checked = ArgumentSpecValidator(options).validate(given)
    return list(checked.error_messages), checked.validated_parameters


def task_options(entry_point, values, args):
    """The cycle task's options: its own arguments, and each option they leave out that a variable of
    the entry point sets (values: validate()'s)."""
    declared = entry_points()[entry_point].get('options') or {}
    options = dict(args)
    for option, variable in OPTION_VARIABLES.items():
        if option not in options and variable in declared and values.get(variable) is not None:
            options[option] = values[variable]
    return options


def message(entry_point, problems, host):
    return ('Invalid variables for the role %s (entry point %s): %s. Nothing was read or changed on %s. Fix: set them '
            'as ansible-doc -t role %s describes.' % (ROLE, entry_point, '; '.join(problems), host, ROLE))
