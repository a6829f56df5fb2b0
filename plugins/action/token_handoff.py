# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deliver a rotated SCIM token to the person who pastes it into the IdP, on the controller.

An action plugin, not a module: it has to run on the controller whatever the task's host, it
needs the vault secrets Ansible already loaded (--vault-password-file, --ask-vault-pass,
vault identities), and only an action plugin can hide its own result (_ansible_no_log).
The writing itself is plugins/plugin_utils/_handoff.py, shared with the hand-off drivers.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.alation.scim.plugins.plugin_utils._handoff import CHANNELS, HandoffError, deliver

ARGUMENT_SPEC = dict(
    token=dict(type='str', required=True, no_log=True),
    dest=dict(type='path', required=True),
    channel=dict(type='str', default='vault_file', choices=list(CHANNELS)),
    vault_id=dict(type='str'),
    vault_password_file=dict(type='path', no_log=False),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Hidden whatever the task says: the arguments carry the token.
        result['_ansible_no_log'] = True
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleError as e:
            result.update(failed=True, msg='Invalid options for token_handoff: %s' % to_native(e))
            return result
        dest = os.path.abspath(os.path.expanduser(args['dest']))
        result.update(dest=dest, channel=args['channel'], changed=False)
        try:
            result['changed'], vault_id = deliver(args['token'], dest, args['channel'], self._loader,
                                                  args.get('vault_id'), args.get('vault_password_file'),
                                                  self._task.check_mode)
            if vault_id:
                result['vault_id'] = vault_id
        except HandoffError as e:
            result.update(failed=True, msg=to_text(e))
        return result
