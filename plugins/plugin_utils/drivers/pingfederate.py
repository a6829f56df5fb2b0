# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``pingfederate``: the token goes into the SCIM provisioner's "Access Token" field of a
PingFederate SP connection (admin API; ``plugins/module_utils/_pingfederate.py``).

- check_settings: GET the connection; its outbound provisioning must have the token field.
- prepare (a rotation is due, option ``probe_write``): PUT the connection back exactly as read.
  That changes nothing, but proves before Alation's token is revoked what only a write can prove:
  that the account may save SP connections (an Auditor can read them) and that PingFederate
  validates the connection as it stands (it validates the whole object on every PUT).
- holds: None.  PingFederate never returns the value of an encrypted field, only its
  ``encryptedValue``, which changes with each save; the cycle decides from the fingerprint it
  recorded on the host after its last push.
- push: PUT the connection as read with the token field's ``value`` set; with ``replicate``,
  ``POST /cluster/replicate`` so that the engines provision with it at once.
- verify: re-read the connection; the token field must be there and set.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.module_utils._pingfederate import (
    AUTH_REQUIRED_IF,
    client_from_params,
    connection_target,
    field_is_set,
    pingfederate_argument_spec,
    token_field,
    updated_connection,
)
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverError, without_secrets


class PingFederateDriver(Driver):
    name = 'pingfederate'
    label = 'PingFederate'
    var_prefix = 'pingfederate'
    required_if = AUTH_REQUIRED_IF

    def __init__(self, options, context):
        super(PingFederateDriver, self).__init__(options, context)
        self._client = None
        self._connection = None     # as read (or saved) last; never shown, it holds encryptedValues
        self._replicated = None

    @staticmethod
    def argument_spec():
        spec = pingfederate_argument_spec()
        spec['probe_write'] = dict(type='bool', default=True)
        return spec

    @property
    def client(self):
        if self._client is None:
            self._client = client_from_params(self.options)
        return self._client

    @property
    def connection_id(self):
        return self.options['connection_id']

    @property
    def field_name(self):
        return self.options['token_field']

    def target(self):
        return connection_target(self.options)

    def _read(self):
        connection = self.client.get_connection(self.connection_id)
        token_field(connection, self.field_name, self.connection_id)
        self._connection = connection
        return connection

    def check_settings(self):
        self._read()

    def prepare_plan(self):
        return {'probe_write': True} if self.options['probe_write'] else None

    def prepare(self, plan):
        if not (plan or {}).get('probe_write'):
            return
        connection = self._connection or self._read()
        saved = self.client.put_connection(
            self.connection_id, connection,
            doing=('Saving SP connection %s back unchanged, to prove before the rotation that the account may save '
                   'it and that PingFederate accepts it' % self.connection_id))
        if saved:
            self._connection = saved

    def holds(self, token):
        return None

    def push(self, token):
        connection = self._connection or self._read()
        try:
            saved = self.client.put_connection(self.connection_id,
                                               updated_connection(connection, self.field_name, token,
                                                                  self.connection_id))
        except ApiError as e:
            raise without_secrets(e, [token])
        self._connection = saved or None
        done = 'PingFederate SP connection %s%s holds the new token in %r' % (
            self.connection_id, ' (%s)' % connection['name'] if connection.get('name') else '', self.field_name)
        if self.options['replicate']:
            try:
                self.client.replicate()
            except ApiError as e:
                raise DriverError('%s, but the engines do not have it yet: %s' % (done, e.reason),
                                  fix=e.fix or 'replicate in PingFederate (System > Cluster Management), or re-run',
                                  status=e.status, code=e.code)
            self._replicated = True
            return done + ' and the cluster replicated it to its engines.'
        return done + '.'

    def verify(self, token):
        connection = self.client.get_connection(self.connection_id)
        field = token_field(connection, self.field_name, self.connection_id)
        if not field_is_set(field):
            raise DriverError('PingFederate SP connection %s has %r empty after the push' % (
                self.connection_id, self.field_name),
                fix='check the connection in PingFederate (Outbound Provisioning > Target) and re-run')
        return ('PingFederate SP connection %s has %r set (PingFederate never shows its value).'
                % (self.connection_id, self.field_name))

    def summary(self):
        connection = self._connection or {}
        return {'connection_id': self.connection_id, 'connection_name': connection.get('name'),
                'token_field': self.field_name, 'replicated': self._replicated}
