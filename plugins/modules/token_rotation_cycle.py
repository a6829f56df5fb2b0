#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin of the same name (plugins/action/).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: token_rotation_cycle
short_description: Rotate the Alation SCIM token when due and put it into the identity provider, in one step
version_added: 1.0.0
description:
  - The whole rotation of one Alation host, for every identity provider (IdP) driver, as one task, so that the
    IdP holds the new token a second or two after Alation revoked the old one.
  - In order, per host. Read the IdP side first (credentials, permissions, the object that holds the token, the
    field the token goes into), so that wrong settings fail before anything changes.
  - When the driver prepares the IdP (V(entra) pauses its provisioning job) and the host's expiry record
    (O(expiry_record_path)) says a rotation is due, prepare it (without a record the IdP is left alone); the plan is saved in
    the record first, so that a run that dies cannot leave the IdP prepared for good.
  - One Django shell launch (M(alation.scim.token_rotate)) that decides, rotates when due (or O(force)) and reads
    the token. A hand-off driver (V(okta), V(onelogin), V(manual)) without O(operator_present) gets a read-only
    launch instead and fails a due host with what to do, since such hosts are never rotated unattended.
  - Push through the driver at once, from the controller, when the token was rotated, when an earlier rotation's
    push is still owed (the record says so), or when the IdP does not hold the current token (asked where the IdP
    can tell; else the keyed fingerprint recorded after the last push decides). Then verify that the
    current token gets HTTP 200 from Alation's SCIM endpoint, the revoked one 401, and the driver's own check
    passes where the IdP has one, and only then resume the IdP (a push that fails its verification keeps the IdP
    prepared and stays owed for the re-run).
  - One report record per host (RV(report)), also set as the host fact C(alation_scim_report) (read it as
    C(ansible_facts.alation_scim_report), since ansible-core 2.21 deprecates facts read as top-level variables).
  - The token stays in the controller process's memory. It is never a module argument, never in a file, never in the
    result (except in stage V(rotate), hidden).
  - Used by the C(alation.scim.token_rotation) role for every driver; the role reads the driver's options from its
    C(alation_scim_<driver>_*) variables.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.alation_host
  - alation.scim.alation_host.rotation
attributes:
  action:
    support: full
    description: An action plugin; the Django shell runs on the task's host, the IdP calls on the controller.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: >-
      Changes nothing on the host or at the IdP; C(changed) says what a real run would change (a due host, a host
      whose IdP does not hold the current token).
  diff_mode:
    support: none
    description: No diff.
  platform:
    support: full
    platforms: posix
    description: The Django shell runs on the Alation host (Linux); the IdP calls run on the controller.
options:
  idp:
    description:
      - The IdP driver of this host.
      - V(entra) (Microsoft Entra ID over Graph), V(pingone) (a PingOne SCIM propagation store), V(pingfederate)
        (the SP connection's outbound provisioning), V(sailpoint) (a SailPoint Identity Security Cloud source),
        V(sailpoint_iiq) (IdentityIQ, a hand-off unless a workflow is named).
      - V(okta), V(onelogin), V(manual) hand the token to a person (an Ansible Vault file or a 0600 file, and the
        console steps); V(custom) lets the role's YAML push (stages); V(none) only rotates.
      - Required with O(mode=rotate) and O(mode=confirm); the expiry check only copies it into the report.
    type: str
    choices: [custom, entra, manual, none, okta, onelogin, pingfederate, pingone, sailpoint, sailpoint_iiq]
  idp_options:
    description:
      - The driver's options, named as the role's variables without their C(alation_scim_<driver>_) prefix (for
        example C(tenant_id) for C(alation_scim_entra_tenant_id)); see C(ansible-doc -t role
        alation.scim.token_rotation).
      - Unset means the task's variables C(alation_scim_<driver>_*), as the role sets them.
    type: dict
  mode:
    description:
      - V(rotate) runs the cycle. V(check) is the expiry check (one read-only launch, never a change, never the
        IdP). V(confirm) asks the IdP whether it provisions with what it holds (where it can tell).
    type: str
    default: rotate
    choices: [rotate, check, confirm]
  stage:
    description:
      - V(all) for every driver that pushes by itself. For a driver whose push is the role's YAML (V(custom), or a
        hand-off with channel V(custom)), V(rotate) stops before the push and returns RV(token) (hidden) and
        RV(rotation) when a push is needed (RV(push_needed)); V(finish) then records, resumes, verifies and reports.
    type: str
    default: all
    choices: [all, rotate, finish]
  rotation:
    description:
      - With O(stage=finish), the RV(rotation) of the V(rotate) stage.
    type: dict
  push_error:
    description:
      - With O(stage=finish), why the YAML push failed (the cycle then reports the failure and how to finish).
    type: str
  force_push:
    description:
      - Push the current token even when nothing was rotated and the IdP seems to hold it.
    type: bool
    default: false
  operator_present:
    description:
      - For hand-off drivers, a person is there to paste the token, so a due token is rotated and handed off.
    type: bool
    default: false
  base_url:
    description:
      - Alation's base URL as the IdP reaches it (C(https://alation.example.com)), or its SCIM base URL.
    type: str
  scim_url:
    description:
      - Alation's SCIM base URL; unset means O(base_url) followed by C(/scim/v2/).
    type: str
  verify:
    description:
      - After a rotation or a push, prove the chain (SCIM 200 with the new token, 401 with the revoked one, the
        driver's own check). Not in check mode.
    type: bool
    default: true
  verify_path:
    description:
      - SCIM path, relative to O(scim_url), that O(verify) reads.
    type: str
    default: Users?startIndex=1&count=1
  validate_certs:
    description:
      - Check the Alation server's TLS certificate during O(verify).
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle of the Alation server's certificate, for O(verify).
    type: path
  verify_retries:
    description:
      - Extra attempts of each O(verify) check (an IdP may take a moment to use new credentials).
    type: int
    default: 5
  verify_delay:
    description:
      - Seconds between O(verify) attempts.
    type: int
    default: 3
  replicated_expires_at:
    description:
      - With O(mode=check) on an HA secondary, after its primary rotated, the primary's new expiry (ISO 8601 UTC), which
        the secondary must show by replication. The check re-reads up to O(verify_retries) times, O(verify_delay)
        seconds apart, and fails when it does not arrive.
    type: str
  warning_days:
    description:
      - The report's status is C(warning) when the token expires within this many days.
    type: int
    default: 30
  critical_days:
    description:
      - The report's status is C(critical) when the token expires within this many days, has expired or is missing.
    type: int
    default: 7
  expiry_warning:
    description:
      - With O(mode=check), give an Ansible warning (the task's C(warnings)) naming the host, the expiry and what to
        run when the report's status is C(warning), that is when the token expires within O(warning_days) days but
        not within O(critical_days). The role's C(check) entry point sets it.
    type: bool
    default: false
  role_entry_point:
    description:
      - Before anything else, validate the variables of this entry point of the role C(alation.scim.token_rotation)
        against the role's argument spec (its C(meta/argument_specs.yml)), as Ansible's own role validation does, in
        this task's worker. Invalid variables fail the task with the role variables named and a C(report) (status
        C(failed)); nothing is read or changed on the host or at the IdP.
      - Then every option the task does not set itself and a variable of the entry point sets is taken from that
        variable, templated and typed by the validation (O(idp) from C(alation_scim_idp), O(force) from
        C(alation_scim_force_rotation), O(timeout) from C(alation_scim_shell_timeout), O(expiry_record_path) from
        C(alation_scim_expiry_record), any other option C(x) from C(alation_scim_x)). The task's own arguments win.
      - The role's C(main) and C(check) entry points set it, so that a playbook can import the role with
        C(rolespec_validate=false) and save Ansible's separate validation task (a worker per host). The collection's
        playbooks do. Their cycle tasks name no option a variable sets (Ansible would template each argument again).
    type: str
    choices: [check, confirm, main]
notes:
  - Needs C(become=true) for the host side (the Django shell and the expiry record run as root).
  - Over a pipelined connection with ansible-core's own module execution (the shipped C(examples/ansible.cfg)),
    the launch sends the host modules' code on the interpreter's stdin instead of running the module through
    AnsiballZ, which would import C(ansible.module_utils.basic) on the host first (about 0.1 CPU second per host).
    Same code, result and interpreter. Without pipelining (C(sudo) with C(requiretty)), or under a strategy that
    runs modules its own way (Mitogen), the module runs as usual.
  - The expiry record (O(expiry_record_path)) is what makes a run resumable; the role sets it. Without it, a run
    that dies after preparing the IdP leaves it prepared, and a push that failed after a rotation is only retried
    where the IdP can tell it does not hold the token.
seealso:
  - module: alation.scim.token_rotate
  - module: alation.scim.token_info
'''

EXAMPLES = r'''
- name: Rotate when due and push to Entra ID (driver options given on the task)
  alation.scim.token_rotation_cycle:
    idp: entra
    idp_options:
      tenant_id: "{{ entra_tenant_id }}"
      client_id: "{{ entra_client_id }}"
      client_secret: "{{ entra_client_secret }}"
      service_principal_id: 40f4d2b2-5abd-42c0-a6bd-9f481b62cc55
    base_url: https://alation.example.com
    expiry_record_path: /var/lib/alation_scim/expiry.json
  become: true
  register: cycle

- name: The daily expiry check of any host, whatever its IdP
  alation.scim.token_rotation_cycle:
    idp: okta
    mode: check
    base_url: https://alation.example.com
  become: true
'''

RETURN = r'''
changed:
  description: Whether the token was rotated, pushed, or an IdP preparation an earlier run left was undone (check
    mode, whether it would be).
  returned: always
  type: bool
rotated:
  description: Whether the token was rotated in this run.
  returned: always
  type: bool
rotated_at:
  description: When, ISO 8601 UTC.
  returned: always
  type: str
pushed:
  description: Whether the IdP got the token in this run.
  returned: always
  type: bool
push_reason:
  description: >-
    Why it was (or would be) pushed: C(rotated), C(pending) (an earlier rotation's push), C(not_held) (the IdP did
    not hold the current token), C(forced); null when not.
  returned: always
  type: str
verified:
  description: Whether the chain was proven in this run (after a push; or, for Entra, by the IdP's own validation).
  returned: always
  type: bool
expires_at:
  description: Expiry of the current token (ISO 8601 UTC, C(Z)); null when unknown or absent.
  returned: when the host was read
  type: str
days_remaining:
  description: Whole days until RV(expires_at), negative once expired.
  returned: when the host was read
  type: int
token_present:
  description: Whether Alation has a token.
  returned: when the host was read
  type: bool
rotation_due:
  description: Whether a rotation was due (or forced); null when the host could not be read.
  returned: always
  type: bool
previous_expires_at:
  description: Expiry of the token before this run.
  returned: when the host was read
  type: str
report:
  description: The host's report record (host, status, base_url, idp, token_present, expires_at, days_remaining,
    previous_expires_at, rotation_due, rotated, pushed, verified, action, message, ha_role), also the fact
    C(alation_scim_report). Never a token.
  returned: always
  type: dict
operator_steps:
  description: For hand-off drivers after a hand-off, where the token is and the console steps to paste it.
  returned: when a token was handed off
  type: list
  elements: str
idp_state:
  description: What the driver read or did at the IdP (ids, job states, revision), never a secret.
  returned: always
  type: dict
push_needed:
  description: With O(stage=rotate), whether the role's YAML must push now.
  returned: with O(stage=rotate) when a push is needed
  type: bool
token:
  description: With O(stage=rotate) when a push is needed, the current token (the task's result is hidden).
  returned: with O(stage=rotate) when a push is needed
  type: str
rotation:
  description: With O(stage=rotate) when a push is needed, what O(stage=finish) needs (hidden; holds the token).
  returned: with O(stage=rotate) when a push is needed
  type: dict
confirmed:
  description: With O(mode=confirm), whether the IdP provisions with what it holds.
  returned: with O(mode=confirm)
  type: bool
timings:
  description: Seconds spent in each step.
  returned: always
  type: dict
failed_step:
  description: The step that failed, in words.
  returned: on failure
  type: str
failed_stage:
  description: >-
    The step that failed: C(settings), C(idp), C(host_state), C(prepare), C(gate), C(launch) (the host module failed
    and changed nothing), C(rotate) (it failed and may have rotated), C(idp_read), C(push), C(record), C(resume),
    C(verify).
  returned: on failure
  type: str
error:
  description: The error of the failed step, without the text around it.
  returned: on failure
  type: str
msg:
  description: What was done, or what failed and how to finish.
  returned: always
  type: str
'''
