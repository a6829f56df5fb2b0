# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host modules token_info, token_read and token_rotate do, written once for two callers.

- The modules (plugins/modules/token_*.py) hand it an AnsibleModule.
- The rotation cycle's launch (plugins/plugin_utils/_host_script.py) runs the same functions on
  the host without AnsiballZ and without ansible.module_utils.basic, whose import alone costs a
  host about 0.1 CPU second per launch: it hands them a ScriptModule, the few AnsibleModule
  members the host code uses, with parameters the controller already validated against the same
  argument spec (_token_state.host_module_argument_spec).

Host code: Python 2.7 and 3.6+, standard library only (run under 2.7 and 3.6 by
tests/unit/plugins/plugin_utils/test__host_script.py; compiled for them by ansible-test sanity).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys
import time

from ansible_collections.alation.scim.plugins.module_utils._alation_shell import (
    fail_module, ha_keys, record_expiry, run_module_payload, secondary_error)
from ansible_collections.alation.scim.plugins.module_utils._token_state import (
    SCRIPT_RESULT_MARKER, describe, host_module_argument_spec, threshold_epoch)


def _read_only(module, return_token):
    now = time.time()
    result = run_module_payload(module, 'info', threshold_epoch(now, module.params['rotate_before_days']),
                                return_token=return_token)
    ha = ha_keys(module, result)
    record = record_expiry(module, result['before'], now, ha_role=ha['ha_role'])
    output = dict(describe(result['before'], now), **ha)
    if module.params['expiry_record_path']:
        output['expiry_record'] = record
    if return_token:
        output['token'] = result.get('token')
    module.exit_json(changed=False, **output)


def token_info(module):
    _read_only(module, return_token=False)


def token_read(module):
    _read_only(module, return_token=True)


def token_rotate(module):
    params = module.params
    now = time.time()

    def may_have_rotated(error):
        if not error.nothing_changed and not module.check_mode:
            record_expiry(module, None, now, pending=True)  # it may have rotated: the next run pushes
    result = run_module_payload(module, 'rotate', threshold_epoch(now, params['rotate_before_days']),
                                force=params['force'], return_token=params['return_token'],
                                allow_write=not module.check_mode, on_error=may_have_rotated)
    decision = result['decision']
    before = describe(result['before'], now)
    if decision['reason'] == 'ha_secondary' and params['on_secondary'] == 'fail':
        fail_module(module, secondary_error(before))
    final = describe(result['after'], now) if result['rotated'] else before
    ha = ha_keys(module, result)
    record = record_expiry(module, result['after'] if result['rotated'] else result['before'], now,
                           pending=result['rotated'], ha_role=ha['ha_role'])
    rotated = result['rotated'] or (module.check_mode and decision['rotate'])
    output = dict(final, changed=rotated, rotated=rotated, rotation_reason=decision['reason'],
                  previous_expires_at=before['expires_at'], **ha)
    if params['expiry_record_path']:
        output['expiry_record'] = record
    if params['return_token']:
        output['token'] = result.get('token')
        if 'previous_token' in result:
            output['previous_token'] = result['previous_token']
    if module._diff:
        after = final['expires_at'] if result['rotated'] else (
            '(new token; Alation sets the expiry)' if rotated else before['expires_at'])
        output['diff'] = {'before_header': 'SCIM token expiry', 'after_header': 'SCIM token expiry',
                          'before': 'expires_at: %s\n' % before['expires_at'], 'after': 'expires_at: %s\n' % after}
    module.exit_json(**output)


HOST_MODULES = {'token_info': token_info, 'token_read': token_read, 'token_rotate': token_rotate}


class _Answered(SystemExit):
    """What AnsibleModule's sys.exit is to the host code (nothing catches it on the way out);
    run_script turns it into the exit status."""


class ScriptModule(object):
    """The part of AnsibleModule the host code uses, for parameters validated on the controller.
    Options of type path arrive as given and are expanded here, on the host, as AnsibleModule
    would (~ is the host user's home, not the controller's)."""

    def __init__(self, name, params, check_mode=False, diff=False, out=None):
        self.params = dict(params)
        for option, spec in host_module_argument_spec(name).items():
            if spec.get('type') == 'path' and self.params.get(option) is not None:
                self.params[option] = os.path.expanduser(os.path.expandvars(self.params[option]))
        self.check_mode = check_mode
        self._diff = diff
        self._warnings = []
        self._out = out or sys.stdout

    def warn(self, warning):
        self._warnings.append(warning)

    def _finish(self, result, status):
        if self._warnings:
            result['warnings'] = self._warnings
        self._out.write('\n%s%s\n' % (SCRIPT_RESULT_MARKER, json.dumps(result)))
        self._out.flush()
        raise _Answered(status)

    def exit_json(self, **result):
        self._finish(result, 0)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        self._finish(result, 1)


def run_script(name, params, check_mode=False, diff=False):
    """The host side of a launch without AnsiballZ: run host module `name`, print its result; the
    process's exit status (1 if it ended without one)."""
    try:
        HOST_MODULES[name](ScriptModule(name, params, check_mode=check_mode, diff=diff))
    except _Answered as answered:
        return answered.code
    return 1
