# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PingOne: the token goes into a SCIM propagation store (``OAUTH_ACCESS_TOKEN``), applied by a
propagation revision.

Settings are proven by reading the store (a SCIM store with the bearer-token method).  Whether
PingOne reads secrets back in clear is not documented: when it does, "holds the token" is a
comparison; when it masks them or leaves them out, the cycle decides from the fingerprint it
recorded after its last push.  A PUT never writes a masked value back into a secret field (see
_pingone.updated_store); where PingOne then drops such a field (a PUT replaces the whole store),
the push says which, since nothing here can put its value back.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.module_utils._pingone import (
    PingOneClient, pingone_argument_spec, read_back, secrets_cleared, stored_token_matches, updated_store)
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver


class PingOneDriver(Driver):
    name = 'pingone'
    label = 'PingOne'
    var_prefix = 'pingone'

    @staticmethod
    def argument_spec():
        spec = pingone_argument_spec()
        spec.update(store_id=dict(type='str', required=True))
        return spec

    def __init__(self, options, context, transport=None):
        super(PingOneDriver, self).__init__(options, context)
        o = options
        self.client = PingOneClient(o['environment_id'], o['client_id'], o['client_secret'], region=o['region'],
                                    api_url=o.get('api_url'), auth_url=o.get('auth_url'),
                                    auth_environment_id=o.get('auth_environment_id'),
                                    token_auth_method=o['token_auth_method'], validate_certs=o['validate_certs'],
                                    ca_path=o.get('ca_path'), timeout=o['timeout'], retry_budget=o['retry_budget'],
                                    transport=transport)
        self.store_id = o['store_id']
        self.store = None
        self.facts = {}

    def target(self):
        return '%s/%s' % (self.options['environment_id'], self.store_id)

    def check_settings(self):
        self.store = self.client.get_store(self.store_id)
        updated_store(self.store, '', self.store_id)  # raises unless a SCIM store with the bearer method
        scim_url = (self.store.get('configuration') or {}).get('SCIM_URL') or ''
        if scim_url.rstrip('/') != self.context.scim_url.rstrip('/'):
            self.context.warn('PingOne store %s calls %s, not %s: check its SCIM_URL.'
                              % (self.store_id, scim_url or '(no SCIM_URL)', self.context.scim_url))
        self.facts['token_read_back'] = read_back(self.store)

    def holds(self, token):
        return stored_token_matches(self.store, token)

    def push(self, token):
        new, dummy = updated_store(self.store, token, self.store_id)
        saved = self.client.put_store(self.store_id, new)
        cleared = secrets_cleared(self.store, saved)
        if cleared:
            self.facts['secrets_cleared'] = cleared
            self.context.warn(
                'PingOne cleared %s of propagation store %s when the new token was saved: it reads these secrets '
                'back masked, so they could not be sent back with the store, and its PUT replaces the whole store. '
                'The store authenticates with the bearer token, so provisioning is not affected; re-enter them in '
                'PingOne (Integrations > Provisioning > the connection) if anything else needs them.'
                % (', '.join(cleared), self.store_id))
        revision = self.client.create_revision(self.store_id) or {}
        self.facts['revision'] = revision.get('id')
        return 'saved in propagation store %s and applied with revision %s' % (self.store_id, revision.get('id') or '-')

    def summary(self):
        return dict(self.facts, store_id=self.store_id)
