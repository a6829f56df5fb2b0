# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action base for host modules whose result may carry the SCIM token.

A module cannot hide its own result (Ansible strips the _ansible_* keys it
returns); only an action plugin can, the way include_vars does.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.plugins.action import ActionBase

SECRET_KEYS = ('token', 'previous_token')


class TokenActionBase(ActionBase):
    """Run the module of the same name and hide any result that carries a token."""

    MODULE = None  # FQCN of the module, set by subclasses

    def run(self, tmp=None, task_vars=None):
        result = super(TokenActionBase, self).run(tmp, task_vars)
        del tmp  # tmp is unused since ansible-core 2.5
        # At -vvv the connection prints the module's raw output (token included)
        # unless its play context says no_log; both contexts are per-task copies.
        was = self._play_context.no_log
        self._play_context.no_log = True
        self._connection._play_context.no_log = True
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        if any(key in result for key in SECRET_KEYS):
            result['_ansible_no_log'] = True
        else:
            # No token in it (a failure, a read without return_token): let the task show why.
            self._play_context.no_log = was
        return result
