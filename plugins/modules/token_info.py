#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: token_info
short_description: Report the expiry of Alation's SCIM bearer token
version_added: 0.1.0
description:
  - Reads the expiry of the SCIM bearer token on a self-hosted Alation server through Alation's Django shell,
    in one launch of the shell.
  - Never returns the token and never changes anything.
  - Use M(alation.scim.token_rotate) to rotate the token and M(alation.scim.token_read) to read it.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.alation_host
attributes:
  check_mode:
    support: full
    description: Can run in check mode; it changes nothing in any mode.
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
- name: Read the SCIM token expiry
  alation.scim.token_info:
    rotate_before_days: 30
  become: true
  register: scim_token

- name: Warn when the token is due
  ansible.builtin.debug:
    msg: "SCIM token expires {{ scim_token.expires_at }} ({{ scim_token.days_remaining }} days)"
  when: scim_token.rotation_due

- name: Enter the Alation shell the way the vendor documents it
  alation.scim.token_info:
    entry: init_script
    timeout: 300
  become: true
'''

RETURN = r'''
ha_role:
  description:
    - Role of this host in an Alation HA pair, asked of Django's own database connection in the same launch.
    - V(secondary) when PostgreSQL is a hot standby (C(pg_is_in_recovery()) is true).
    - V(primary) when it is not and replicates to a standby (a connected standby in C(pg_stat_replication), a physical
      replication slot, or C(synchronous_standby_names) set). A primary whose standby is disconnected and uses no slot
      shows as V(standalone); a warning says when a primary has no standby connected.
    - V(standalone) for any other PostgreSQL and for any other database (SQLite...).
    - V(unknown) when C(pg_is_in_recovery()) itself failed (see C(error) in RV(ha)); M(alation.scim.token_rotate) then fails
      and changes nothing.
  returned: success
  type: str
  choices: [standalone, primary, secondary, unknown]
  sample: primary
ha:
  description:
    - What the role was decided from. Keys present when known.
    - C(vendor) (Django's database vendor), C(in_recovery), C(standbys) (rows of C(pg_stat_replication)),
      C(replication_slots) (physical slots), C(synchronous_standby_names), C(archive_mode), C(signal_errors)
      (query name to exception class, for the checks that failed) and C(error) (C(class), C(message)) when the
      role could not be told.
  returned: success
  type: dict
  sample: {vendor: postgresql, in_recovery: false, standbys: 1, replication_slots: 1,
           synchronous_standby_names: '', archive_mode: 'off'}
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
expiry_record:
  description:
    - The expiry record as this run left it (O(expiry_record_path)); under C(push), what the rotation cycle
      (M(alation.scim.token_rotation_cycle)) recorded about its pushes to the IdP. Never a token (C(fingerprint) is
      a keyed hash).
  returned: when O(expiry_record_path) is set
  type: dict
  sample: {"version": 3, "token_present": true, "expires_epoch": 1782000000, "push": {"driver": "pingone",
           "pending": false, "pushed_epoch": 1767225600}}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.alation.scim.plugins.module_utils._host_modules import token_info
from ansible_collections.alation.scim.plugins.module_utils._token_state import host_module_argument_spec


def main():
    token_info(AnsibleModule(argument_spec=host_module_argument_spec('token_info'), supports_check_mode=True))


if __name__ == '__main__':
    main()
