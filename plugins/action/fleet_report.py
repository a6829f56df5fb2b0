# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the fleet report in the controller's own process (docs in plugins/modules/fleet_report.py).

The module does the same work, but as a module every run paid for a Python start and an AnsiballZ
payload (0.6-1 s on a small controller) for a few milliseconds of rendering. Both run
_report.fleet_report(), so the results are the same; this one always writes on the controller,
whatever host the task runs for.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.alation.scim.plugins.module_utils import _report


def _plain(data):
    """The data as a module's JSON output would give it: plain dicts and lists (ansible-core 2.19
    warns about, and converts, the OrderedDicts that keep the report's key order)."""
    return json.loads(json.dumps(data))


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        try:
            dummy, params = self.validate_argument_spec(argument_spec=_report.ARGUMENT_SPEC)
        except AnsibleError as exc:
            # The message names this plugin by its Python path; the task already says which one it is.
            reason = to_text(exc.message).replace(' for (%s) module' % getattr(self, '_load_name', None), '')
            result.update(failed=True, msg='Invalid options for alation.scim.fleet_report: %s. Fix: give only the '
                                           'options of ansible-doc alation.scim.fleet_report, with their types.'
                                           % reason.rstrip('.'))
            return result
        warnings = []
        try:
            result.update(_plain(_report.fleet_report(params, self._task.check_mode, warnings.append)))
        except _report.FleetReportError as exc:
            result.update(_plain(exc.result), failed=True, msg=to_text(exc))
        if warnings:
            result['warnings'] = warnings
        return result
