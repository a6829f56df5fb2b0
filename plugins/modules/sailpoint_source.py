#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: sailpoint_source
short_description: Read a SailPoint Identity Security Cloud SCIM source, give it Alation's SCIM token, test its connection
version_added: 1.0.0
description:
  - Reads the source (C(GET /v3/sources/<source_id>)) and checks that its C(connectorAttributes) have the token key
    (O(token_key)); returns the source's SCIM settings with every secret masked.
  - With O(token), saves it in C(connectorAttributes.<token_key>) with a JSON Patch (C(PATCH /v3/sources/<source_id>),
    C(application/json-patch+json)); Identity Security Cloud encrypts it on receipt.
  - With O(check_connection), then asks Identity Security Cloud to test the source's stored credentials against
    Alation (C(POST /v2025/sources/<source_id>/connector/check-connection)) and fails when the test fails.
  - Identity Security Cloud returns secrets only as cipher text, so whether it already holds O(token) cannot be told;
    with O(token) the module always saves and reports C(changed).
  - Runs on the controller (C(delegate_to) V(localhost)). The role C(alation.scim.token_rotation) does the same
    through its C(sailpoint) driver, right after the rotation.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.sailpoint
  - alation.scim.idp_http
attributes:
  check_mode:
    support: full
    description: Reads the source (and, without O(token), tests its connection when asked); saves nothing.
  diff_mode:
    support: full
    description: Shows the token key before and after as set / replaced, never a value.
options:
  token:
    description:
      - Alation's SCIM bearer token to save in O(token_key). Without it the module only reads (and tests).
    type: str
  check_connection:
    description:
      - Test the source's connection after saving (or, without O(token), as it is). Needs the scope
        C(idn:source-connector:manage). Skipped in check mode when O(token) is set (it would test the old token).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Read the SCIM settings of the source and test its connection (SAILPOINT_* environment variables)
  alation.scim.sailpoint_source:
    tenant: acme
    source_id: 2c9180835d191a86015d28455b4a2329
    check_connection: true
  delegate_to: localhost

- name: Give SailPoint the new Alation SCIM token and prove that it works
  alation.scim.sailpoint_source:
    tenant: acme
    source_id: 2c9180835d191a86015d28455b4a2329
    token: "{{ new_token }}"
    check_connection: true
  delegate_to: localhost
  no_log: true
'''

RETURN = r'''
source:
  description: The source's non-secret facts.
  returned: success
  type: dict
  contains:
    id:
      description: Source ID.
      type: str
    name:
      description: Source name.
      type: str
    connector:
      description: Connector name (e.g. C(SCIM 2.0)).
      type: str
    connector_attribute_keys:
      description: The keys of C(connectorAttributes), sorted.
      type: list
      elements: str
    token_key:
      description: O(token_key).
      type: str
    token_key_present:
      description: Whether C(connectorAttributes) has O(token_key).
      type: bool
    token_key_set:
      description: Whether O(token_key) holds a value.
      type: bool
    healthy:
      description: The source's C(healthy) flag as read.
      type: bool
    status:
      description: The source's C(status) as read.
      type: str
connector_attributes:
  description: C(connectorAttributes) as read, every secret (encrypted or secret-looking keys) masked as C(********).
  returned: success
  type: dict
connection_test:
  description: The connection test's outcome; null when none was run.
  returned: success
  type: dict
  contains:
    passed:
      description: Whether Identity Security Cloud's test passed.
      type: bool
    message:
      description: What the test said.
      type: str
saved:
  description: Whether O(token) was saved (false in check mode).
  returned: success
  type: bool
msg:
  description: What was done.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.module_utils._sailpoint import (
    connection_outcome,
    isc_client_from_params,
    redact_source,
    require_token_key,
    sailpoint_argument_spec,
    source_summary,
    token_patch,
)


def main():
    argument_spec = sailpoint_argument_spec()
    argument_spec.update(token=dict(type='str', no_log=True), check_connection=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[('tenant', 'base_url')])
    p = module.params
    sid, key = p['source_id'], p['token_key']
    changed = p['token'] is not None
    saved = False
    test = None
    try:
        client = isc_client_from_params(p)
        source = client.get_source(sid)
        require_token_key(source, key, sid)
        was_set = source_summary(source, key)['token_key_set']
        if changed and not module.check_mode:
            source = client.patch_source(sid, token_patch(key, p['token'])) or source
            saved = True
        if p['check_connection'] and not (changed and module.check_mode):
            passed, message = connection_outcome(client.check_connection(sid), sid)
            test = dict(passed=passed, message=message)
    except ApiError as e:
        module.fail_json(msg=e.message, status=e.status, error_code=e.code)
    if not changed:
        msg = 'Read SailPoint source %s: connectorAttributes.%s is %s.' % (sid, key, 'set' if was_set else 'empty')
    elif module.check_mode:
        msg = 'Would save the token in connectorAttributes.%s of SailPoint source %s.' % (key, sid)
    else:
        msg = 'Saved the token in connectorAttributes.%s of SailPoint source %s.' % (key, sid)
    result = dict(changed=changed, saved=saved, connection_test=test, source=source_summary(source, key),
                  connector_attributes=redact_source(source).get('connectorAttributes') or {}, msg=msg)
    if changed and module._diff:
        result['diff'] = {'before': {key: 'set (encrypted)' if was_set else 'empty'},
                          'after': {key: 'replaced (encrypted)'}}
    if test is not None and not test['passed']:
        result['msg'] = '%s %s Fix: look at the source in SailPoint (Admin > Connections > Sources > Test Connection).' % (
            msg, test['message'])
        module.fail_json(**result)
    if test is not None:
        result['msg'] = '%s %s' % (msg, test['message'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
