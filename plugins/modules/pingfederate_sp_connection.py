#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pingfederate_sp_connection
short_description: Read a PingFederate SP connection's SCIM provisioning, or give it Alation's SCIM token
version_added: 1.0.0
description:
  - Reads the SP connection (C(GET /pf-admin-api/v1/idp/spConnections/<connection_id>)) and checks that its outbound
    provisioning has the token field (O(token_field)); returns the provisioning state without any secret.
  - With O(token), sets the new C(value) of the token field, keeps every other field exactly as read (encrypted
    ones by passing their C(encryptedValue) back) and saves the whole connection (C(PUT)); with O(replicate), then
    replicates the configuration to the cluster's engines.
  - 'Every request carries C(X-XSRF-Header: PingFederate).'
  - PingFederate never returns the value of an encrypted field, so whether it already holds O(token) cannot be
    told; with O(token) the module always saves and reports C(changed).
  - Runs on the controller (C(delegate_to) V(localhost)). The role C(alation.scim.token_rotation) does the same
    through its C(pingfederate) driver, right after the rotation.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.pingfederate
  - alation.scim.idp_http
attributes:
  check_mode:
    support: full
    description: Reads and checks the connection and reports that it would save O(token); writes nothing.
  diff_mode:
    support: full
    description: Shows the token field before and after as set / replaced, never a value.
options:
  token:
    description:
      - Alation's SCIM bearer token to save in O(token_field). Without it the module only reads.
    type: str
notes:
  - Saving needs an account with the Administrator role; an Auditor can read.
'''

EXAMPLES = r'''
- name: Read the provisioning state of the SP connection
  alation.scim.pingfederate_sp_connection:
    base_url: https://pingfederate.example.com:9999
    connection_id: alation-prod
    ca_path: /etc/pki/internal-ca.pem
  delegate_to: localhost
  register: pf

- name: Give PingFederate the new Alation SCIM token (credentials from PINGFEDERATE_USERNAME / _PASSWORD)
  alation.scim.pingfederate_sp_connection:
    base_url: https://pingfederate.example.com:9999
    connection_id: alation-prod
    token: "{{ new_token }}"
    replicate: true
  delegate_to: localhost
  no_log: true
'''

RETURN = r'''
connection:
  description:
    - The connection's provisioning state (after the save when one was made); secrets appear only as whether they
      are set.
  returned: success
  type: dict
  contains:
    id:
      description: Connection ID.
      type: str
    name:
      description: Connection name.
      type: str
    entity_id:
      description: The partner's entity ID.
      type: str
    active:
      description: Whether the connection is active.
      type: bool
    provisioning_type:
      description: C(outboundProvision.type).
      type: str
    target_settings:
      description: Each target setting as C({name, encrypted, set}), plus C(value) for fields that are not secret.
      type: list
      elements: dict
    channels:
      description: Provisioning channels as C({name, active}).
      type: list
      elements: dict
    token_field:
      description: O(token_field).
      type: str
    token_field_present:
      description: Whether the connection has O(token_field).
      type: bool
    token_field_set:
      description: Whether O(token_field) holds a value.
      type: bool
saved:
  description: Whether the connection was saved with O(token) (false in check mode).
  returned: success
  type: bool
replicated:
  description: Whether the configuration was replicated to the engines.
  returned: success
  type: bool
msg:
  description: What was done.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.module_utils._pingfederate import (
    AUTH_REQUIRED_IF,
    client_from_params,
    field_is_set,
    pingfederate_argument_spec,
    provisioning_state,
    token_field,
    updated_connection,
)


def main():
    argument_spec = pingfederate_argument_spec()
    argument_spec.update(token=dict(type='str', no_log=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[list(rule) for rule in AUTH_REQUIRED_IF])
    p = module.params
    cid, field = p['connection_id'], p['token_field']
    saved = replicated = False
    try:
        client = client_from_params(p)
        connection = client.get_connection(cid)
        was_set = field_is_set(token_field(connection, field, cid))
        changed = p['token'] is not None
        if changed and not module.check_mode:
            connection = client.put_connection(cid, updated_connection(connection, field, p['token'], cid)) or connection
            saved = True
            if p['replicate']:
                try:
                    client.replicate()
                except ApiError as e:
                    raise ApiError('The token IS saved in SP connection %s, but %s' % (cid, e.reason), fix=e.fix,
                                   status=e.status, code=e.code)
                replicated = True
    except ApiError as e:
        module.fail_json(msg=e.message, status=e.status, error_code=e.code)
    if not changed:
        msg = 'Read SP connection %s: %r is %s.' % (cid, field, 'set' if was_set else 'empty')
    elif module.check_mode:
        msg = 'Would save the token in %r of SP connection %s.' % (field, cid)
    else:
        msg = 'Saved the token in %r of SP connection %s%s.' % (field, cid, ' and replicated it' if replicated else '')
    result = dict(changed=changed, connection=provisioning_state(connection, field), saved=saved, replicated=replicated,
                  msg=msg)
    if changed and module._diff:
        result['diff'] = {'before': {field: 'set (encrypted)' if was_set else 'empty'},
                          'after': {field: 'replaced (encrypted)'}}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
