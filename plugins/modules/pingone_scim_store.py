#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pingone_scim_store
short_description: Put Alation's SCIM token into a PingOne SCIM propagation store and apply it
version_added: 0.1.0
description:
  - Reads the PingOne propagation store (C(GET .../propagation/stores/<store_id>)), replaces
    C(configuration.OAUTH_ACCESS_TOKEN) with O(token), and writes the whole object back as read (C(PUT)), since PingOne
    replaces the store with what it is sent.
  - Then creates a propagation revision (C(POST .../propagation/revisions)) so that provisioning uses the new token;
    PingOne starts a resync with it.
  - The store must be of type SCIM with the authentication method C(OAuth 2 Bearer Token).
  - When the store already holds the token, nothing is changed (PingOne returns stored secrets when read).
  - Runs on the controller (C(delegate_to) V(localhost)).
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.pingone_auth
  - alation.scim.idp_http
attributes:
  check_mode:
    support: full
    description: Reads the store and reports whether it would change; writes nothing and creates no revision.
  diff_mode:
    support: none
    description: A diff would show the token.
options:
  store_id:
    description:
      - ID of the SCIM propagation store (the outbound provisioning connection to Alation).
    type: str
    required: true
  token:
    description:
      - Alation's SCIM bearer token.
    type: str
    required: true
  apply:
    description:
      - Create a propagation revision after saving, so that the change reaches provisioning.
    type: bool
    default: true
  force:
    description:
      - Save and apply even when the store already holds O(token).
    type: bool
    default: false
notes:
  - The worker app needs the Environment Admin role on O(environment_id).
'''

EXAMPLES = r'''
- name: Give PingOne the new Alation SCIM token
  alation.scim.pingone_scim_store:
    environment_id: 7b0b5a1e-0000-4000-8000-000000000001
    store_id: 2f1c6d3a-0000-4000-8000-000000000002
    client_id: "{{ lookup('ansible.builtin.env', 'PINGONE_CLIENT_ID') }}"
    client_secret: "{{ lookup('ansible.builtin.env', 'PINGONE_CLIENT_SECRET') }}"
    region: EU
    token: "{{ new_token }}"
  delegate_to: localhost
  no_log: true
'''

RETURN = r'''
store:
  description: The store after the change (as read when nothing changed), secrets masked.
  returned: success
  type: dict
revision:
  description: The propagation revision created (id, createdAt ...); null when none was created.
  returned: success
  type: dict
scim_url:
  description: C(configuration.SCIM_URL) of the store.
  returned: success
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alation.scim.plugins.module_utils._pingone import (
    PingOneError,
    client_from_module,
    pingone_argument_spec,
    redact_store,
    secret_values,
    updated_store,
)


def main():
    argument_spec = pingone_argument_spec()
    argument_spec.update(
        store_id=dict(type='str', required=True),
        token=dict(type='str', required=True, no_log=True),
        apply=dict(type='bool', default=True),
        force=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = client_from_module(module)
    store_id = p['store_id']
    try:
        store = client.get_store(store_id)
        new, changed = updated_store(store, p['token'], store_id)
        # Other secrets read back in clear (a client secret, a password) must not reach any output either.
        for value in secret_values(store):
            module.no_log_values.add(value)
        changed = changed or p['force']
        revision = None
        if changed and not module.check_mode:
            saved = client.put_store(store_id, new)
            if saved:
                new = saved
            if p['apply']:
                try:
                    revision = client.create_revision(store_id)
                except PingOneError as e:
                    # The store holds the token now, so a plain re-run would see nothing to do.
                    e.message += ('. The token IS saved in store %s but not applied yet: re-run with force=true, or '
                                  'create a revision in PingOne.' % store_id)
                    raise
    except PingOneError as e:
        module.fail_json(msg=e.message, status=e.status, error_code=e.code)
    module.exit_json(changed=changed, store=redact_store(new if changed else store), revision=revision,
                     scim_url=(store.get('configuration') or {}).get('SCIM_URL'))


if __name__ == '__main__':
    main()
