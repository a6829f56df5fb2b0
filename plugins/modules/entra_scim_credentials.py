#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: entra_scim_credentials
short_description: Push Alation's SCIM base address and bearer token to a Microsoft Entra ID enterprise app
version_added: 0.1.0
description:
  - Keeps the provisioning credentials (C(BaseAddress) and C(SecretToken)) of one Microsoft Entra ID enterprise
    application in step with Alation's current SCIM bearer token, through Microsoft Graph.
  - Idempotent without reading the token back (Graph never returns it). When Entra validates its saved credentials
    against Alation, and the saved C(BaseAddress) equals O(base_address) (when Graph shows it), nothing is saved.
    Alation accepts only its current token, so saved credentials that validate hold that token.
  - Otherwise validates the proposed credentials with Entra first (Entra calls Alation with them), saves them, and
    lifts the provisioning job's quarantine with a restart, then waits until the job is out of quarantine.
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
    description: Reads and validates (C(validateCredentials) writes nothing) and reports what it would change.
  diff_mode:
    support: none
    description: Secrets are not shown, so there is no diff.
options:
  base_address:
    description:
      - Alation's SCIM endpoint, C(https://<alation>/scim/v2/), saved as C(BaseAddress).
    type: str
    required: true
  secret_token:
    description:
      - Alation's current SCIM bearer token, saved as C(SecretToken). Never logged or returned.
    type: str
    required: true
  validate_before_save:
    description:
      - Ask Entra to validate the proposed credentials against Alation before saving them, and refuse to save
        credentials that Alation rejects.
    type: bool
    default: true
  lift_quarantine:
    description:
      - When the provisioning job is in quarantine, restart it with reset scope C(Watermark, Escrows, QuarantineState).
    type: bool
    default: true
  wait_healthy_timeout:
    description:
      - Seconds to wait, after lifting quarantine, until the job is no longer quarantined. V(0) does not wait.
    type: int
    default: 60
  force:
    description:
      - Save the credentials even when Entra's saved ones already validate.
    type: bool
    default: false
notes:
  - Graph keeps the credentials per service principal, so every job of it uses what is saved.
seealso:
  - module: alation.scim.entra_sync_job
  - name: Microsoft Graph, add synchronization secrets
    description: The API call this module makes to save the credentials.
    link: https://learn.microsoft.com/graph/api/synchronization-serviceprincipal-put-synchronization
'''

EXAMPLES = r'''
- name: Push the new token to Entra ID
  alation.scim.entra_scim_credentials:
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ vault_entra_client_secret }}"
    service_principal_id: 6f7c2b1e-0000-4000-8000-1234567890ab
    base_address: https://alation.example.com/scim/v2/
    secret_token: "{{ alation_scim_token }}"
  delegate_to: localhost
  no_log: true

- name: Same, credentials from AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET, in check mode
  alation.scim.entra_scim_credentials:
    service_principal_id: 6f7c2b1e-0000-4000-8000-1234567890ab
    base_address: https://alation.example.com/scim/v2/
    secret_token: "{{ alation_scim_token }}"
  delegate_to: localhost
  check_mode: true

- name: With a certificate credential
  alation.scim.entra_scim_credentials:
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_certificate_path: /etc/alation-scim/entra-app.pem
    client_private_key_path: /etc/alation-scim/entra-app.key
    service_principal_id: 6f7c2b1e-0000-4000-8000-1234567890ab
    job_id: scim.4c1e1ffb5c3e4a8f8c9c4f6b1b5b4e2a.9e3b3c4d5e6f40718293a4b5c6d7e8f9
    base_address: https://alation.example.com/scim/v2/
    secret_token: "{{ alation_scim_token }}"
  delegate_to: localhost
'''

RETURN = r'''
pushed:
  description: Whether the credentials were saved in Entra (in check mode, always false).
  returned: always
  type: bool
validated:
  description:
    - Whether Entra validated credentials against Alation during this run (the saved ones when up to date,
      else the proposed ones before saving).
  returned: always
  type: bool
saved_credentials_valid:
  description: Whether the credentials Entra held before this run validated; null when not checked.
  returned: always
  type: bool
saved_credentials_error:
  description: Why Entra's saved credentials did not validate (the answer of the SCIM endpoint, never the token).
  returned: when RV(saved_credentials_valid) is false
  type: str
quarantine_lifted:
  description: Whether the job was restarted out of quarantine (in check mode, always false).
  returned: always
  type: bool
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
      sample: Active
    schedule_state:
      description: State of the job's schedule (C(Active), C(Disabled), C(Paused)).
      type: str
      sample: Active
    quarantine_reason:
      description: Why the job is in quarantine, for example C(EncounteredQuarantineException); null if it is not.
      type: str
      sample: null
    last_execution_state:
      description: State of the last provisioning cycle, when Graph reports it.
      type: str
      sample: Succeeded
msg:
  description: What was done or would be done.
  returned: always
  type: str
  sample: saved credentials already valid, nothing to change
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alation.scim.plugins.module_utils._graph import (
    ENTRA_REQUIRED_TOGETHER, EntraError, GraphClient, entra_argument_spec, push_credentials)


def main():
    argument_spec = entra_argument_spec()
    argument_spec.update(
        service_principal_id=dict(type='str', required=True),
        job_id=dict(type='str'),
        base_address=dict(type='str', required=True),
        secret_token=dict(type='str', required=True, no_log=True),
        validate_before_save=dict(type='bool', default=True),
        lift_quarantine=dict(type='bool', default=True),
        wait_healthy_timeout=dict(type='int', default=60),
        force=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=ENTRA_REQUIRED_TOGETHER)
    result = dict(changed=False, pushed=False, validated=False, saved_credentials_valid=None,
                  quarantine_lifted=False)
    try:
        push_credentials(module, GraphClient(module), result)
    except EntraError as e:
        module.fail_json(msg=e.message, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
