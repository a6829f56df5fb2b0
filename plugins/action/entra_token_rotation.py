# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deprecated: alation.scim.token_rotation_cycle with idp=entra, under the options of 0.1.0.

Kept so that playbooks written for 0.1.0 keep working: the options are mapped onto the cycle's
(the Entra ones into idp_options) and the cycle does the work.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.alation.scim.plugins.action.token_rotation_cycle import ActionModule as CycleAction
from ansible_collections.alation.scim.plugins.module_utils._token_state import host_argument_spec
from ansible_collections.alation.scim.plugins.module_utils._graph import ENTRA_REQUIRED_TOGETHER, entra_argument_spec

ENTRA_OPTIONS = tuple(entra_argument_spec()) + (
    'service_principal_id', 'job_id', 'validate_before_save', 'lift_quarantine', 'wait_healthy_timeout', 'pause_job')
HOST_OPTIONS = tuple(host_argument_spec())


def argument_spec():
    spec = host_argument_spec(rotate_before_days=dict(type='int', default=30), force=dict(type='bool', default=False))
    graph = entra_argument_spec()
    graph['http_timeout'] = graph.pop('timeout')  # `timeout` is the Django shell's here
    spec.update(graph)
    spec.update(
        service_principal_id=dict(type='str', required=True),
        job_id=dict(type='str'),
        base_address=dict(type='str', required=True),
        validate_before_save=dict(type='bool', default=True),
        lift_quarantine=dict(type='bool', default=True),
        wait_healthy_timeout=dict(type='int', default=60),
        force_push=dict(type='bool', default=False),
        pause_job=dict(type='bool', default=True),
        pause_note_path=dict(type='path', default='/var/lib/alation_scim/entra_job_paused.json'),
        verify=dict(type='bool', default=True),
        verify_path=dict(type='str', default='Users?startIndex=1&count=1'),
        verify_validate_certs=dict(type='bool', default=True),
        verify_ca_path=dict(type='path'),
        verify_retries=dict(type='int', default=5),
        verify_delay=dict(type='int', default=3),
    )
    return spec


class ActionModule(CycleAction):

    def run(self, tmp=None, task_vars=None):
        try:
            dummy, p = self.validate_argument_spec(argument_spec(), required_together=ENTRA_REQUIRED_TOGETHER)
        except AnsibleError as e:
            return dict(failed=True, msg='Invalid options for alation.scim.entra_token_rotation: %s'
                                         % to_native(getattr(e, 'message', e)))
        idp_options = dict((k, p[k]) for k in ENTRA_OPTIONS if k in p and k != 'timeout')
        idp_options['timeout'] = p['http_timeout']
        args = dict((k, p[k]) for k in HOST_OPTIONS if p.get(k) is not None)
        if not args.get('expiry_record_path'):
            # The cycle keeps the pause plan in the expiry record; 0.1.0 kept a note beside it.
            args['expiry_record_path'] = os.path.join(os.path.dirname(p['pause_note_path']), 'expiry.json')
        args.update(idp='entra', idp_options=dict((k, v) for k, v in idp_options.items() if v is not None),
                    rotate_before_days=p['rotate_before_days'], force=p['force'], force_push=p['force_push'],
                    scim_url=p['base_address'], verify=p['verify'], verify_path=p['verify_path'],
                    validate_certs=p['verify_validate_certs'], verify_retries=p['verify_retries'],
                    verify_delay=p['verify_delay'])
        if p['verify_ca_path']:
            args['ca_path'] = p['verify_ca_path']
        self._task.args = args
        result = super(ActionModule, self).run(tmp, task_vars)
        result.pop('ansible_facts', None)  # 0.1.0 set no fact
        state = result.get('idp_state') or {}
        result.update(validated=bool(result.get('verified') or result.get('pushed')),
                      quarantine_lifted=bool(state.get('quarantine_lifted')), job=state.get('job'),
                      job_paused=bool(state.get('job_paused')), job_started=bool(state.get('job_started')))
        return result
