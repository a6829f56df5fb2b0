#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: token_rotate
short_description: Rotate Alation's SCIM bearer token when it is due
version_added: 0.1.0
description:
  - Creates a new SCIM bearer token on a self-hosted Alation server when the current one expires within
    O(rotate_before_days) days, when there is none, or always with O(force=true).
    Alation revokes the old token at once, so push the new one to the identity provider right after.
  - Query, decision, rotation and read happen in one launch of Alation's Django shell.
  - Holds an exclusive lock on C(/var/lock/alation_scim_token.lock) on the host while it runs, so two rotations at
    once rotate once; the second one sees the fresh expiry and does nothing.
  - On the secondary of an HA pair (PostgreSQL a hot standby) it never rotates and, by default, fails; see
    O(on_secondary). RV(ha_role) tells primary, secondary and standalone apart.
  - With O(return_token=true) the result carries the token, and the action plugin hides the whole result from
    output even when the task lacks C(no_log); the registered variable still holds it.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.alation_host
  - alation.scim.alation_host.rotation
attributes:
  check_mode:
    support: full
    description: Reports whether it would rotate (and why) from a read-only launch; changes nothing.
  diff_mode:
    support: full
    description: >-
      Shows the token expiry before and after, never the token. With O(return_token=true) the whole result is hidden,
      the diff included.
  platform:
    support: full
    platforms: posix
    description: Runs on the Alation host (Linux).
options:
  return_token:
    description:
      - Return the token in RV(token) (the new one after a rotation, else the current one) and, after a rotation,
        the replaced one in RV(previous_token), read in the same shell launch.
    type: bool
    default: false
  on_secondary:
    description:
      - What to do on the secondary of an HA pair (RV(ha_role=secondary)), where PostgreSQL is a read-only hot standby
        and the token arrives by replication from the primary. The token is never rotated there, whatever O(force) says.
      - V(fail) fails the task ("this is the HA secondary; rotate on the primary") with C(error_kind=ha_secondary),
        C(nothing_changed=true), C(ha_role) and the standby's expiry keys.
      - V(report) returns the standby's current expiry as a normal result with RV(rotated=false),
        RV(rotation_reason=ha_secondary) and RV(ha_role=secondary), so a caller rotating a pair can check the secondary.
    type: str
    choices: [fail, report]
    default: fail
'''

EXAMPLES = r'''
- name: Rotate on an HA pair's hosts; the secondary reports its replicated expiry instead of failing
  alation.scim.token_rotate:
    on_secondary: report
  become: true
  register: rotation

- name: Rotate the SCIM token when it expires within 30 days
  alation.scim.token_rotate:
    rotate_before_days: 30
  become: true
  register: rotation

- name: Rotate now and get the new token for the identity provider
  alation.scim.token_rotate:
    force: true
    return_token: true
  become: true
  register: rotation

- name: Prove Alation accepts the new token (tasks that use it need no_log themselves)
  ansible.builtin.uri:
    url: https://alation.example.com/scim/v2/ServiceProviderConfig
    headers:
      Authorization: "Bearer {{ rotation.token }}"
  no_log: true
  when: rotation.rotated
'''

RETURN = r'''
ha_role:
  description:
    - Role of this host in an Alation HA pair, asked of Django's database connection in the same launch; how each
      value is told apart is described in M(alation.scim.token_info).
  returned: success
  type: str
  choices: [standalone, primary, secondary, unknown]
  sample: primary
ha:
  description: What RV(ha_role) was decided from (keys as in M(alation.scim.token_info)).
  returned: success
  type: dict
  sample: {vendor: postgresql, in_recovery: false}
rotated:
  description: Whether the token was rotated (in check mode, whether it would be).
  returned: success
  type: bool
  sample: true
rotation_reason:
  description: >-
    Why it rotated or not: V(force), V(absent) (there was no token), V(due) (expires within O(rotate_before_days)
    days), V(not_due), or V(ha_secondary) (an HA secondary with O(on_secondary=report); never rotated there).
  returned: success
  type: str
  sample: due
previous_expires_at:
  description: Expiry of the token found before this run (ISO 8601 UTC, C(Z)); null when there was none.
  returned: success
  type: str
  sample: '2026-12-01T09:30:00Z'
expires_at:
  description: Expiry of the token after this run (ISO 8601 UTC, C(Z)); in check mode the current expiry.
  returned: success
  type: str
  sample: '2027-05-28T09:30:00Z'
days_remaining:
  description: Whole days until RV(expires_at), rounded down; negative once expired; null when there is no token.
  returned: success
  type: int
  sample: 181
expired:
  description: Whether the token after this run has expired.
  returned: success
  type: bool
  sample: false
token_present:
  description: Whether Alation has a token after this run.
  returned: success
  type: bool
  sample: true
rotation_due:
  description: Whether the token after this run is missing or expires within O(rotate_before_days) days.
  returned: success
  type: bool
  sample: false
token:
  description: The new token after a rotation, else the current one. Hidden from output by the action plugin.
  returned: when O(return_token=true)
  type: str
  sample: '(hidden)'
expiry_record:
  description:
    - The expiry record as this run left it (O(expiry_record_path)); under C(push), what the rotation cycle
      (M(alation.scim.token_rotation_cycle)) recorded about its pushes to the IdP. C(push.pending) is true once a
      rotation happened (or may have) until the cycle recorded a push. Never a token (C(fingerprint) is a keyed
      hash).
  returned: when O(expiry_record_path) is set
  type: dict
  sample: {"version": 3, "token_present": true, "expires_epoch": 1782000000, "push": {"pending": true,
           "rotated_epoch": 1767225600}}
previous_token:
  description: >-
    The token this run replaced (now revoked), to prove it is rejected. Hidden from output by the action plugin.
  returned: when O(return_token=true) and a token was rotated (not in check mode)
  type: str
  sample: '(hidden)'
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.alation.scim.plugins.module_utils._host_modules import token_rotate
from ansible_collections.alation.scim.plugins.module_utils._token_state import host_module_argument_spec


def main():
    token_rotate(AnsibleModule(argument_spec=host_module_argument_spec('token_rotate'), supports_check_mode=True))


if __name__ == '__main__':
    main()
