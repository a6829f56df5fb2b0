#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: token_read
short_description: Read Alation's current SCIM bearer token and its expiry
version_added: 0.1.0
description:
  - Reads the current SCIM bearer token and its expiry on a self-hosted Alation server through Alation's Django shell,
    in one launch of the shell. Changes nothing.
  - The result carries the token, so the action plugin hides the whole result from output even when the task lacks
    C(no_log); the registered variable still holds it. Keep it out of files and messages.
  - Use M(alation.scim.token_info) when the expiry is all you need.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.alation_host
attributes:
  check_mode:
    support: full
    description: Reading changes nothing, so check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the Alation host (Linux).
options:
  rotate_before_days:
    description:
      - The token counts as due for rotation (RV(rotation_due)) when it expires within this many days, or is missing.
    type: int
    default: 30
'''

EXAMPLES = r'''
- name: Read the SCIM token to hand it to the identity provider
  alation.scim.token_read:
  become: true
  register: scim_token

- name: Use it without printing it
  ansible.builtin.uri:
    url: https://alation.example.com/scim/v2/ServiceProviderConfig
    headers:
      Authorization: "Bearer {{ scim_token.token }}"
  no_log: true
'''

RETURN = r'''
expiry_record:
  description:
    - The expiry record as this run left it (O(expiry_record_path)); under C(push), what the rotation cycle
      (M(alation.scim.token_rotation_cycle)) recorded about its pushes to the IdP. Never a token.
  returned: when O(expiry_record_path) is set
  type: dict
  sample: {"version": 3, "token_present": true, "expires_epoch": 1782000000}
ha_role:
  description:
    - Role of this host in an Alation HA pair, asked of Django's database connection in the same launch; how each
      value is told apart is described in M(alation.scim.token_info).
  returned: success
  type: str
  choices: [standalone, primary, secondary, unknown]
  sample: secondary
ha:
  description: What RV(ha_role) was decided from (keys as in M(alation.scim.token_info)).
  returned: success
  type: dict
  sample: {vendor: postgresql, in_recovery: true}
token:
  description: The current SCIM bearer token; null when there is none. Hidden from output by the action plugin.
  returned: success
  type: str
  sample: '(hidden)'
expires_at:
  description: Expiry of the current token, ISO 8601 in UTC with a C(Z) suffix; null when there is no token.
  returned: success
  type: str
  sample: '2027-05-28T09:30:00Z'
days_remaining:
  description: Whole days until expiry, rounded down; 0 on the last day, negative once expired; null when there is no token.
  returned: success
  type: int
  sample: 181
expired:
  description: Whether the token has expired (false when there is no token).
  returned: success
  type: bool
  sample: false
token_present:
  description: Whether Alation has a SCIM token at all.
  returned: success
  type: bool
  sample: true
rotation_due:
  description: Whether the token is missing or expires within O(rotate_before_days) days.
  returned: success
  type: bool
  sample: false
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.alation.scim.plugins.module_utils._host_modules import token_read
from ansible_collections.alation.scim.plugins.module_utils._token_state import host_module_argument_spec


def main():
    token_read(AnsibleModule(argument_spec=host_module_argument_spec('token_read'), supports_check_mode=True))


if __name__ == '__main__':
    main()
