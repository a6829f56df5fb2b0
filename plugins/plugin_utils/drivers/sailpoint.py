# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``sailpoint``: the token goes into a SCIM 2.0 source of SailPoint Identity Security Cloud
(``PATCH /v3/sources/{id}``; ``plugins/module_utils/_sailpoint.py``).

- check_settings: GET the source; its connectorAttributes must have the token key.
- prepare (a rotation is due, option ``probe_write``): PATCH the source's description (or name)
  with the value it has.  Nothing changes, but a token without ``idn:sources:manage`` fails here,
  before Alation's token is revoked, instead of at the push.
- holds: ISC returns secrets only as cipher text, so the value cannot be compared.  With
  ``check_connection`` the driver asks ISC to test the stored credentials instead: Alation accepts
  exactly one token (the current one), so a passing test proves ISC holds it (True).  A failing
  test does not prove the opposite (the virtual appliance may not reach Alation, the source may be
  misconfigured otherwise), so it answers None and the cycle decides from the fingerprint it
  recorded after its last push.
- push: PATCH ``/connectorAttributes/<token_key>`` (JSON Patch, sent in clear, encrypted by ISC).
- verify: check-connection (``POST /v2025/sources/{id}/connector/check-connection``): ISC calls
  Alation's SCIM endpoint with what it stored.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.module_utils._sailpoint import (
    connection_outcome,
    isc_client_from_params,
    isc_target,
    require_token_key,
    sailpoint_argument_spec,
    token_patch,
)
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverError
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import without_secrets


class SailPointDriver(Driver):
    name = 'sailpoint'
    label = 'SailPoint Identity Security Cloud'
    var_prefix = 'sailpoint'
    required_one_of = (('tenant', 'base_url'),)

    def __init__(self, options, context):
        super(SailPointDriver, self).__init__(options, context)
        self._client = None
        self._source = None
        self._check = None

    @staticmethod
    def argument_spec():
        spec = sailpoint_argument_spec()
        spec.update(check_connection=dict(type='bool', default=True), probe_write=dict(type='bool', default=True))
        return spec

    @property
    def client(self):
        if self._client is None:
            self._client = isc_client_from_params(self.options)
        return self._client

    @property
    def source_id(self):
        return self.options['source_id']

    def target(self):
        return isc_target(self.options)

    def check_settings(self):
        source = self.client.get_source(self.source_id)
        require_token_key(source, self.options['token_key'], self.source_id)
        self._source = source

    def prepare_plan(self):
        return {'probe_write': True} if self.options['probe_write'] else None

    def prepare(self, plan):
        if not (plan or {}).get('probe_write'):
            return
        source = self._source or self.client.get_source(self.source_id)
        field = 'description' if source.get('description') is not None else 'name'
        self.client.patch_source(
            self.source_id, [{'op': 'replace', 'path': '/' + field, 'value': source.get(field)}],
            doing=('Writing the %s of SailPoint source %s back unchanged, to prove before the rotation that the token '
                   'may change the source' % (field, self.source_id)))

    def _test_connection(self):
        ok, sentence = connection_outcome(self.client.check_connection(self.source_id), self.source_id)
        self._check = 'passed' if ok else 'failed'
        return ok, sentence

    def holds(self, token):
        if not self.options['check_connection']:
            return None
        ok, sentence = self._test_connection()
        if not ok:
            self.context.warn(sentence + ' Whether it holds the current token is decided from the last push record.')
            return None
        return True

    def push(self, token):
        try:
            self.client.patch_source(self.source_id, token_patch(self.options['token_key'], token))
        except ApiError as e:
            raise without_secrets(e, [token])
        name = (self._source or {}).get('name')
        return 'SailPoint source %s%s holds the new token in connectorAttributes.%s.' % (
            self.source_id, ' (%s)' % name if name else '', self.options['token_key'])

    def verify(self, token):
        if not self.options['check_connection']:
            return None
        ok, sentence = self._test_connection()
        if not ok:
            raise DriverError(sentence, fix=('the token is saved in the source: look at the source\'s connection in '
                                             'SailPoint (Admin > Connections > Sources > Test Connection), then re-run'))
        return sentence

    def summary(self):
        source = self._source or {}
        return {'source_id': self.source_id, 'source_name': source.get('name'), 'token_key': self.options['token_key'],
                'connection_test': self._check}
