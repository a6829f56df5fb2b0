# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IdPs whose API cannot take a custom SCIM app's token (Okta, OneLogin, any other): a hand-off.

The token goes to the person who pastes it: an Ansible Vault file (the run's vault secrets, or a
password file), a 0600 file, or (channel ``custom``) the user's tasks file, always on the
controller.  A record beside it (``<dir>/<host>.handoff.json``, no token) says when the token was
rotated and where it went; the ``confirm`` entry point reads it.  These hosts are never rotated
unattended: the cycle refuses a due rotation without ``operator_present``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.alation.scim.plugins.module_utils._okta import (
    DEFAULT_SCOPES, OktaClient, OktaError, PrivateKeyJwtAuth, SswsAuth, after_the_second_of, key_signer,
    provisioning_verdict)
from ansible_collections.alation.scim.plugins.module_utils._token_state import iso_utc
from ansible_collections.alation.scim.plugins.plugin_utils._handoff import HandoffError, deliver, write_atomically
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverError

CHANNELS = ('vault_file', 'file_0600', 'custom')


class HandoffDriver(Driver):
    var_prefix = 'handoff'
    needs_operator = True
    push_when_unknown = False
    console_name = 'the IdP'
    # options whose role variable is alation_scim_<option> (not alation_scim_handoff_<option>)
    unprefixed = ('confirm_since', 'confirm_retries', 'confirm_delay')

    @classmethod
    def variable_name(cls, option):
        if option in cls.unprefixed:
            return 'alation_scim_' + option
        return super(HandoffDriver, cls).variable_name(option)

    @staticmethod
    def argument_spec():
        return dict(
            channel=dict(type='str', default='vault_file', choices=list(CHANNELS)),
            dir=dict(type='path', default='~/alation_scim_handoff'),
            dest=dict(type='path'),
            app_name=dict(type='str', default='Alation'),
            vault_id=dict(type='str'),
            vault_password_file=dict(type='path', no_log=False),
            custom_tasks=dict(type='path'),
            confirm_since=dict(type='str'),
            confirm_retries=dict(type='int', default=0),
            confirm_delay=dict(type='int', default=15),
        )

    def __init__(self, options, context):
        super(HandoffDriver, self).__init__(options, context)
        self.dir = os.path.abspath(os.path.expanduser(options['dir']))
        suffix = '.vault' if options['channel'] == 'vault_file' else ''
        self.dest = os.path.abspath(os.path.expanduser(
            options['dest'] or os.path.join(self.dir, '%s.scim-token%s' % (context.host, suffix))))
        self.record_path = os.path.join(self.dir, '%s.handoff.json' % context.host)

    @property
    def yaml_push(self):
        return self.options['channel'] == 'custom'

    def target(self):
        return '%s:%s' % (self.name, self.options['app_name'])

    def check_settings(self):
        if self.yaml_push and not self.options['custom_tasks']:
            raise DriverError('The hand-off channel is custom but no tasks file is set',
                              fix='set alation_scim_handoff_custom_tasks to the tasks file that stores the token')

    @property
    def where(self):
        o = self.options
        if o['channel'] == 'vault_file':
            return 'the Ansible Vault file %s (ansible-vault view %s, same vault password as this run)' % (
                self.dest, self.dest)
        if o['channel'] == 'file_0600':
            return 'the file %s (mode 0600)' % self.dest
        return 'the secret store written by %s' % o['custom_tasks']

    def push(self, token):
        """Deliver the token (custom channel: the role's YAML already did) and write the record."""
        o = self.options
        if not self.yaml_push:
            try:
                deliver(token, self.dest, o['channel'], self.context.loader, o['vault_id'], o['vault_password_file'])
            except HandoffError as e:
                raise DriverError(str(e))
        rotation = getattr(self.context, 'rotation', None) or {}
        record = {'host': self.context.host, 'idp': self.name, 'scim_url': self.context.scim_url,
                  'channel': o['channel'], 'dest': o['custom_tasks'] if self.yaml_push else self.dest,
                  'rotated_at': rotation.get('rotated_at'), 'expires_at': rotation.get('expires_at'),
                  'handed_off_at': iso_utc(time.time()), 'state': 'handed_off'}
        self._write_record(record)
        return 'handed off to %s' % self.where

    def _write_record(self, record):
        try:
            write_atomically(self.record_path, (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8'))
        except HandoffError as e:
            raise DriverError(str(e), fix='choose a writable alation_scim_handoff_dir')

    def read_record(self):
        try:
            with open(self.record_path) as handle:
                return json.load(handle)
        except (IOError, OSError, ValueError):
            return None

    def console_steps(self):
        app, url = self.options['app_name'], self.context.scim_url
        return ["1. Open the SCIM provisioning settings of '%s' in your identity provider." % app,
                "2. SCIM base URL must be %s ; authentication: bearer token (HTTP header)." % url,
                "3. Replace the token with the new one, test the connection if the console offers it, and save."]

    def operator_steps(self, where=None):
        steps = ['The new SCIM token of %s is in %s. It was not printed anywhere.' % (self.context.host, self.where),
                 '%s cannot take it by API: paste it by hand now (provisioning fails until you do).'
                 % (self.console_name[:1].upper() + self.console_name[1:])]
        steps += self.console_steps()
        if not self.yaml_push:
            steps.append('Then delete the hand-off file (%s).' % self.dest)
        steps.append('Check the paste: run the role\'s confirm entry point for this host (tasks_from: confirm)%s.'
                     % (' once Okta has provisioned at least once (assign a test user or push a profile change)'
                        if self.name == 'okta' else ' (for %s it can only tell you what to check by hand)'
                        % self.console_name))
        return steps


class OktaDriver(HandoffDriver):
    name = 'okta'
    label = 'Okta (hand-off)'
    console_name = 'Okta'
    unprefixed = HandoffDriver.unprefixed + ('okta_app_id', 'okta_org_url', 'okta_api_token', 'okta_client_id',
                                             'okta_private_key_path', 'okta_key_id', 'okta_validate_certs',
                                             'okta_ca_path')

    @staticmethod
    def argument_spec():
        spec = HandoffDriver.argument_spec()
        spec.update(
            okta_app_id=dict(type='str'),
            okta_org_url=dict(type='str', fallback=(env_fallback, ['OKTA_ORG_URL'])),
            okta_api_token=dict(type='str', no_log=True, fallback=(env_fallback, ['OKTA_API_TOKEN'])),
            okta_client_id=dict(type='str', fallback=(env_fallback, ['OKTA_CLIENT_ID'])),
            okta_private_key_path=dict(type='path', no_log=False, fallback=(env_fallback, ['OKTA_PRIVATE_KEY_PATH'])),
            okta_key_id=dict(type='str', no_log=False),
            okta_validate_certs=dict(type='bool', default=True),
            okta_ca_path=dict(type='path'),
        )
        return spec

    def console_steps(self):
        o, url = self.options, self.context.scim_url
        app_id = ' (app id %s)' % o['okta_app_id'] if o['okta_app_id'] else ''
        return ["1. Okta Admin Console > Applications > Applications > open '%s'%s." % (o['app_name'], app_id),
                "2. Provisioning tab > Integration > Edit.",
                "3. SCIM connector base URL must be %s ; Authentication Mode: HTTP Header." % url,
                "4. Authorization (API Token) field under HTTP Header: replace the value with the new token.",
                "5. Click Test API Credentials; it must report success. Then click Save."]

    def _client(self):
        o = self.options
        if o['okta_api_token']:
            auth = SswsAuth(o['okta_api_token'])
        elif o['okta_client_id'] and o['okta_private_key_path']:
            auth = PrivateKeyJwtAuth(o['okta_client_id'], key_signer(o['okta_private_key_path']), scopes=DEFAULT_SCOPES,
                                     key_id=o['okta_key_id'])
        else:
            raise DriverError('No Okta credentials to read the System Log with',
                              fix='set alation_scim_okta_api_token (or OKTA_API_TOKEN), or alation_scim_okta_client_id '
                                  'and alation_scim_okta_private_key_path (or OKTA_CLIENT_ID, OKTA_PRIVATE_KEY_PATH)')
        if not o['okta_org_url']:
            raise DriverError('No Okta org URL', fix='set alation_scim_okta_org_url (or OKTA_ORG_URL)')
        return OktaClient(o['okta_org_url'], auth, validate_certs=o['okta_validate_certs'], ca_path=o['okta_ca_path'])

    def confirm(self):
        """Okta's System Log: did provisioning to the app succeed since the rotation?"""
        o = self.options
        record = self.read_record() or {}
        # From the record: not the rotation's own second (after_the_second_of); a time the user gives: as given.
        since = o['confirm_since'] or after_the_second_of(record.get('rotated_at'))
        if not o['okta_app_id']:
            raise DriverError('Cannot confirm %s: alation_scim_okta_app_id (the Okta app id of Alation) is not set'
                              % self.context.host, fix='set alation_scim_okta_app_id')
        if not since:
            raise DriverError('Cannot confirm %s: no hand-off record at %s and alation_scim_confirm_since is not set'
                              % (self.context.host, self.record_path),
                              fix='set alation_scim_confirm_since to the rotation time (ISO 8601, e.g. '
                                  '2026-01-31T12:00:00Z)')
        client = self._client()
        for attempt in range(o['confirm_retries'] + 1):
            try:
                verdict = provisioning_verdict(client.provisioning_events(o['okta_app_id'], since), o['okta_app_id'],
                                               since)
            except OktaError as e:
                raise DriverError(e.reason, fix=e.fix)
            if verdict['succeeded'] or attempt == o['confirm_retries']:
                break
            time.sleep(o['confirm_delay'])
        if verdict['succeeded'] and record:
            record.update(state='confirmed', confirmed_at=iso_utc(time.time()),
                          confirmed_by_event=(verdict.get('last_event') or {}).get('uuid'))
            self._write_record(record)
        return verdict['succeeded'], verdict['message']


class OneLoginDriver(HandoffDriver):
    name = 'onelogin'
    label = 'OneLogin (hand-off)'
    console_name = 'OneLogin'

    def console_steps(self):
        app, url = self.options['app_name'], self.context.scim_url
        return ["1. OneLogin Administration > Applications > Applications > open '%s'." % app,
                "2. Configuration tab: SCIM Base URL must be %s ." % url,
                "3. SCIM Bearer Token field: replace the value with the new token.",
                "4. Click Save (top right); then on the Provisioning tab make sure provisioning is enabled."]

    def confirm(self):
        return False, ("Cannot confirm %s: OneLogin offers no API that reports whether provisioning with the pasted "
                       "token works, so nothing was checked and this step does not pass. Check it by hand: provision "
                       "a test user to '%s' and look for it in Alation (Admin Settings > Users), or look at the app's "
                       "Provisioning tab in OneLogin for errors." % (self.context.host, self.options['app_name']))


class ManualDriver(HandoffDriver):
    name = 'manual'
    label = 'the operator (hand-off)'
