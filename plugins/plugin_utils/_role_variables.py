# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role alation.scim.token_rotation's variables, validated inside its first task.

Ansible validates a role's variables with a task of its own: a worker per host, about 25 ms of
controller CPU each, 0.3-0.6 s of a 20-host run on two cores. The rotation cycle runs first on every
host anyway, so with ``role_entry_point`` it validates the same spec (the role's
meta/argument_specs.yml) the same way (ansible.builtin.validate_argument_spec: the variables the
entry point declares, templated, through ArgumentSpecValidator) in its own worker. The collection's
playbooks then turn Ansible's task off (``rolespec_validate: false``); a playbook that keeps it
validates twice, at no extra task.
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


def errors(entry_point, task_vars, template):
    """The validation errors of the role variables of `entry_point` (an empty list when valid).

    `template` renders a value as the task would see it (the action's templar)."""
    options = entry_points()[entry_point].get('options') or {}
    given = template(dict((name, task_vars[name]) for name in options if name in task_vars))
    return list(ArgumentSpecValidator(options).validate(given).error_messages)


def message(entry_point, problems, host):
    return ('Invalid variables for the role %s (entry point %s): %s. Nothing was read or changed on %s. Fix: set them '
            'as ansible-doc -t role %s describes.' % (ROLE, entry_point, '; '.join(problems), host, ROLE))
