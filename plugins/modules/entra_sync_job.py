#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: entra_sync_job
short_description: Read, pause, start or restart a Microsoft Entra ID provisioning (synchronization) job
version_added: 0.1.0
description:
  - Reads the provisioning job of one Microsoft Entra ID enterprise application through Microsoft Graph, and pauses,
    starts or restarts it, for example to pause provisioning around an Alation token rotation.
  - Optionally asks Entra to validate its saved credentials against the application (Entra calls Alation's SCIM
    endpoint with them).
  - Runs where it is executed; use C(delegate_to=localhost).
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.entra_auth
  - alation.scim.entra_auth.module
  - alation.scim.entra_auth.job
attributes:
  check_mode:
    support: full
    description: Reads (and validates with O(check_saved_credentials)) only, and reports what it would change.
  diff_mode:
    support: none
    description: Secrets are not shown, so there is no diff.
options:
  state:
    description:
      - V(present) only reads the job.
      - V(paused) pauses it unless it is paused already.
      - V(started) starts (resumes) it unless its schedule is active already.
      - V(restarted) always restarts it with reset scope C(Watermark, Escrows, QuarantineState), which also lifts
        quarantine.
    type: str
    choices: [present, paused, started, restarted]
    default: present
  check_saved_credentials:
    description:
      - Ask Entra to validate its saved credentials (C(validateCredentials) with C(useSavedCredentials)) and return
        RV(saved_credentials_valid).
    type: bool
    default: false
seealso:
  - module: alation.scim.entra_scim_credentials
'''

EXAMPLES = r'''
- name: Pause provisioning before rotating the token
  alation.scim.entra_sync_job:
    service_principal_id: 6f7c2b1e-0000-4000-8000-1234567890ab
    state: paused
  delegate_to: localhost

- name: Start it again and check that Entra can use its saved credentials
  alation.scim.entra_sync_job:
    service_principal_id: 6f7c2b1e-0000-4000-8000-1234567890ab
    state: started
    check_saved_credentials: true
  delegate_to: localhost
  register: job
  failed_when: not job.saved_credentials_valid
'''

RETURN = r'''
job:
  description: The synchronization job after the run.
  returned: success
  type: dict
  contains:
    id:
      description: Job ID.
      type: str
      sample: scim.4c1e1ffb5c3e4a8f8c9c4f6b1b5b4e2a.9e3b3c4d5e6f40718293a4b5c6d7e8f9
    template_id:
      description: The job's template, C(scim) for a non-gallery SCIM app.
      type: str
      sample: scim
    status_code:
      description: C(NotConfigured), C(NotRun), C(Active), C(Paused) or C(Quarantine).
      type: str
      sample: Paused
    schedule_state:
      description: State of the job's schedule (C(Active), C(Disabled), C(Paused)).
      type: str
      sample: Paused
    quarantine_reason:
      description: Why the job is in quarantine, for example C(EncounteredQuarantineException); null if it is not.
      type: str
      sample: null
    last_execution_state:
      description: State of the last provisioning cycle, when Graph reports it.
      type: str
      sample: Succeeded
saved_credentials_valid:
  description: Whether Entra validated its saved credentials against the application.
  returned: when O(check_saved_credentials=true)
  type: bool
saved_credentials_error:
  description: Why the saved credentials did not validate (the application's answer, never the token).
  returned: when RV(saved_credentials_valid) is false
  type: str
msg:
  description: What was done or would be done.
  returned: always
  type: str
  sample: paused job scim.4c1e...
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alation.scim.plugins.module_utils._graph import (
    ENTRA_REQUIRED_TOGETHER, EntraError, GraphClient, entra_argument_spec, set_job_state)


def main():
    argument_spec = entra_argument_spec()
    argument_spec.update(
        service_principal_id=dict(type='str', required=True),
        job_id=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'paused', 'started', 'restarted']),
        check_saved_credentials=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=ENTRA_REQUIRED_TOGETHER)
    result = dict(changed=False)
    try:
        set_job_state(module, GraphClient(module), result)
    except EntraError as e:
        module.fail_json(msg=e.message, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
