#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin of the same name (plugins/action/).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: entra_token_rotation
short_description: Rotate the Alation SCIM token when due and hand it to Microsoft Entra ID, in one step
version_added: 0.1.0
deprecated:
  removed_in: 2.0.0
  why: Every IdP now goes through one rotation cycle.
  alternative: Use M(alation.scim.token_rotation_cycle) with O(alation.scim.token_rotation_cycle#module:idp=entra).
description:
  - One task per Alation host for the whole rotation with Microsoft Entra ID, so that provisioning is broken for as
    short a time as possible (rotating revokes the old token at once).
  - Reads the provisioning job first, so that wrong Entra settings or permissions fail before anything changes.
  - Reads the host's expiry record (O(expiry_record_path), written by every launch of the host modules) and, when it
    says a rotation is due (or O(force)), pauses the Entra ID provisioning job, leaving a note on the host
    (O(pause_note_path)) so that a run that dies cannot leave the job paused for good. Without a record it can trust
    (the first run on a host, or one made with other host options), a read-only M(alation.scim.token_info) launch
    decides instead, and writes the record for the next run.
  - Runs M(alation.scim.token_rotate) on the host, one Django shell launch that rotates only when due (or
    O(force)) and reads the current token.
  - Right after, from the controller, pushes the token as M(alation.scim.entra_scim_credentials) does (when the
    token was rotated, without first validating the saved credentials, which hold the revoked token), starts the
    job again when this run or an earlier one paused it, and verifies the chain (O(verify)).
  - Idempotent, and the way to finish an interrupted rotation. A re-run rotates only what is due and pushes the
    current token when Entra's saved credentials do not validate.
  - The token stays in the controller process's memory; it is never in the result, an argument list, or a file.
  - Now a thin layer over M(alation.scim.token_rotation_cycle) with C(idp=entra), which the role uses; the pause
    plan lives in the expiry record (O(expiry_record_path), by default beside O(pause_note_path)).
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.alation_host
  - alation.scim.alation_host.rotation
  - alation.scim.entra_auth
  - alation.scim.entra_auth.job
attributes:
  action:
    support: full
    description: An action plugin; the Django shell runs on the task's host, the Graph calls on the controller.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: >-
      Reports whether it would rotate; pauses nothing, and compares the saved credentials only when nothing is due.
  diff_mode:
    support: none
    description: No diff.
  platform:
    support: full
    platforms: posix
    description: The Django shell runs on the Alation host (Linux); the Graph calls run on the controller.
options:
  base_address:
    description:
      - Alation's SCIM endpoint, C(https://<alation>/scim/v2/), saved as C(BaseAddress) and used by O(verify).
    type: str
    required: true
  validate_before_save:
    description:
      - Ask Entra to validate the new credentials against Alation before saving them, and refuse to save
        credentials that Alation rejects.
    type: bool
    default: true
  lift_quarantine:
    description:
      - Restart the job when it is in quarantine after the push, as M(alation.scim.entra_scim_credentials) does.
    type: bool
    default: true
  wait_healthy_timeout:
    description:
      - Seconds to wait for the job to leave quarantine after lifting it; V(0) does not wait.
    type: int
    default: 60
  force_push:
    description:
      - Push the token even when Entra's saved credentials validate.
    type: bool
    default: false
  pause_job:
    description:
      - Pause the provisioning job while the token is rotated, so that no provisioning cycle runs against the revoked
        token. Paused only when a rotation is due (or O(force)); a job that was already paused by someone else is
        left paused.
    type: bool
    default: true
  pause_note_path:
    description:
      - Names the directory of the expiry record when O(expiry_record_path) is unset (C(<its directory>/expiry.json));
        the pause plan is kept in that record, the file itself is no longer written.
    type: path
    default: /var/lib/alation_scim/entra_job_paused.json
  http_timeout:
    description:
      - Seconds to wait for each HTTP answer, from Microsoft Graph and (during O(verify)) from the SCIM endpoint.
    type: int
    default: 30
  verify:
    description:
      - After the push, check that the SCIM endpoint accepts the current token (HTTP 200), rejects the revoked one
        (HTTP 401), and that Entra validates its saved credentials. Not in check mode.
    type: bool
    default: true
  verify_path:
    description:
      - SCIM path, relative to O(base_address), used by O(verify).
    type: str
    default: Users?startIndex=1&count=1
  verify_validate_certs:
    description:
      - Check the Alation server's TLS certificate during O(verify).
    type: bool
    default: true
  verify_ca_path:
    description:
      - CA bundle for the Alation server's certificate during O(verify).
    type: path
  verify_retries:
    description:
      - Extra attempts of each O(verify) check (Alation may take a moment to accept a new token).
    type: int
    default: 5
  verify_delay:
    description:
      - Seconds between O(verify) attempts.
    type: int
    default: 3
notes:
  - Needs C(become=true) for the host side (the Django shell and the two files run as root).
  - C(module_defaults) for C(group/alation.scim.entra) do not reach this action plugin; pass the Entra options on
    the task (or use the role, which does).
seealso:
  - module: alation.scim.token_rotate
  - module: alation.scim.entra_scim_credentials
  - module: alation.scim.entra_sync_job
'''

EXAMPLES = r'''
- name: Rotate the SCIM token when due and push it to Entra ID
  alation.scim.entra_token_rotation:
    rotate_before_days: 30
    expiry_record_path: /var/lib/alation_scim/expiry.json
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ entra_client_secret }}"
    service_principal_id: "{{ entra_service_principal_id }}"
    base_address: "https://{{ inventory_hostname }}/scim/v2/"
  become: true
  register: rotation
'''

RETURN = r'''
rotated:
  description: Whether the token was rotated by this run.
  returned: always
  type: bool
rotated_at:
  description: When the rotation happened (controller clock, ISO 8601 UTC), or null.
  returned: always
  type: str
due:
  description: Whether the token was due (or forced); in check mode, whether it would have been rotated.
  returned: when the host was reached
  type: bool
expires_at:
  description: Expiry of the host's current token (ISO 8601 UTC).
  returned: when the host was reached
  type: str
previous_expires_at:
  description: Expiry of the token before this run.
  returned: when the host was reached
  type: str
days_remaining:
  description: Whole days until RV(expires_at).
  returned: when the host was reached
  type: int
expired:
  description: Whether the current token has expired.
  returned: when the host was reached
  type: bool
token_present:
  description: Whether Alation has a token.
  returned: when the host was reached
  type: bool
rotation_due:
  description: Whether the current token is due (missing, or expires within O(rotate_before_days)).
  returned: when the host was reached
  type: bool
rotation_reason:
  description: Why the token was or was not rotated.
  returned: when the host was reached
  type: str
pushed:
  description: Whether new credentials were saved in Entra ID.
  returned: always
  type: bool
validated:
  description: Whether Entra validated the credentials it holds during the push.
  returned: always
  type: bool
quarantine_lifted:
  description: Whether the job was restarted out of quarantine.
  returned: always
  type: bool
job_paused:
  description: Whether this run paused the provisioning job.
  returned: always
  type: bool
job_started:
  description: Whether this run started the job again.
  returned: always
  type: bool
job:
  description: Summary of the synchronization job (id, status_code, schedule_state, quarantine_reason).
  returned: when Entra was reached
  type: dict
verified:
  description: Whether the chain was verified (O(verify)).
  returned: always
  type: bool
timings:
  description: Seconds spent in each step (entra, host_state, expiry, pause, rotate, push, start, verify).
  returned: always
  type: dict
failed_step:
  description: The step that failed, in words.
  returned: on failure
  type: str
failed_stage:
  description: >-
    The step that failed, one of C(settings), C(entra) (reading the job: credentials, permissions, IDs),
    C(host_state), C(expiry) (the read-only launch without a usable record), C(pause), C(launch) (the host
    module failed and changed nothing), C(rotate) (it failed and may have rotated), C(push), C(start),
    C(verify).
  returned: on failure
  type: str
error:
  description: The error of the failed step, without the text this module adds around it.
  returned: on failure
  type: str
msg:
  description: What was done, or what failed and how to finish.
  returned: always
  type: str
'''
