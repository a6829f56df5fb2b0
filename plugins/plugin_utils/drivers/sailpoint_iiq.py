# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``sailpoint_iiq``: SailPoint IdentityIQ (on premises).

IdentityIQ has no supported API that sets an application's credential, so:

- without ``workflow_name`` the driver is a hand-off, like Okta (``handoff.HandoffDriver``: an
  Ansible Vault or 0600 file for the person who pastes the token into the application in the
  IdentityIQ console, the console steps); the host is never rotated unattended.
- with ``workflow_name`` (a workflow the customer deployed once, e.g.
  ``examples/sailpoint_iiq/alation-scim-token-workflow.xml``) it is an API driver: check_settings
  looks up the workflow and the application (read only), push launches the workflow through
  IdentityIQ's SCIM API (``POST /identityiq/scim/v2/LaunchedWorkflows``, basic auth) with the
  token as an input, waits for its TaskResult and fails unless it completed with Success (and,
  when the workflow reports one, a passing connection test).  holds: None (IdentityIQ stores
  the token encrypted and no API reads it).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.module_utils._sailpoint import (
    iiq_argument_spec,
    iiq_client_from_params,
    iiq_scim_url,
)
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverError, without_secrets
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.handoff import HandoffDriver

# output variable of the example workflow: "Success", or "Failed: <why>"
TEST_OUTPUT = 'testResult'


class SailPointIiqDriver(HandoffDriver):
    name = 'sailpoint_iiq'
    label = 'SailPoint IdentityIQ'
    console_name = 'IdentityIQ'
    var_prefix = 'sailpoint_iiq'
    HANDOFF_OPTIONS = tuple(HandoffDriver.argument_spec())

    def __init__(self, options, context):
        super(SailPointIiqDriver, self).__init__(options, context)
        self._client = None
        self._outcome = None

    @staticmethod
    def argument_spec():
        spec = HandoffDriver.argument_spec()
        spec.update(iiq_argument_spec())
        return spec

    @classmethod
    def variable_name(cls, option):
        """The hand-off options are the hand-off drivers' (alation_scim_handoff_*); the rest are IIQ's."""
        if option in cls.HANDOFF_OPTIONS:
            return HandoffDriver.variable_name.__func__(HandoffDriver, option)
        return 'alation_scim_%s_%s' % (cls.var_prefix, option)

    @property
    def yaml_push(self):
        return not self.workflow and self.options['channel'] == 'custom'

    @property
    def workflow(self):
        return self.options.get('workflow_name')

    @property
    def needs_operator(self):
        """A person pastes the token unless a deployed workflow takes it."""
        return not self.workflow

    @property
    def push_when_unknown(self):
        return bool(self.workflow)

    @property
    def application(self):
        return self.options.get('application_name')

    @property
    def client(self):
        if self._client is None:
            self._client = iiq_client_from_params(self.options)
        return self._client

    def target(self):
        if not self.workflow:
            return super(SailPointIiqDriver, self).target()
        if self.options.get('url'):
            where = iiq_scim_url(self.options['url'])
        else:
            where = 'identityiq'
        return '%s#application=%s' % (where, self.application or '(unnamed)')

    def check_settings(self):
        if not self.workflow:
            return super(SailPointIiqDriver, self).check_settings()
        missing = [name for name in ('url', 'username', 'password', 'application_name') if not self.options.get(name)]
        if missing:
            raise DriverError('sailpoint_iiq with workflow_name %r needs %s' % (self.workflow, ', '.join(missing)),
                              fix='set them (alation_scim_sailpoint_iiq_<option>, or the SAILPOINT_IIQ_* environment '
                                  'variables), or unset workflow_name for the console hand-off')
        self.client.check_launch_rights()
        if self.client.find_workflow(self.workflow) is None:
            raise DriverError('IdentityIQ at %s has no workflow named %r' % (self.client.scim_url, self.workflow),
                              fix='import the workflow (examples/sailpoint_iiq/alation-scim-token-workflow.xml: Global '
                                  'Settings > Import from File), or set workflow_name to the deployed one')
        if self.client.find_application(self.application) is None:
            raise DriverError('IdentityIQ at %s has no application named %r' % (self.client.scim_url, self.application),
                              fix='set application_name to the IdentityIQ application that connects to Alation '
                                  '(Applications > Application Definition)')

    def holds(self, token):
        return None

    def push(self, token):
        if not self.workflow:
            return super(SailPointIiqDriver, self).push(token)
        inputs = [('applicationName', self.application), ('tokenAttribute', self.options['token_attribute']),
                  ('token', token)]
        try:
            outcome = self.client.run_workflow(self.workflow, inputs, timeout=self.options['workflow_timeout'])
        except ApiError as e:
            raise without_secrets(e, [token])
        self._outcome = outcome
        status = outcome.get('completion_status')
        said = '; '.join(outcome['messages'])
        if status not in ('Success', 'Warning'):
            raise DriverError('IdentityIQ workflow %r (TaskResult %s) ended %s: %s' % (
                self.workflow, outcome.get('id'), status or 'without a completion status', said or 'no messages'),
                fix='read the TaskResult in IdentityIQ (Setup > Tasks > Task Results), correct the workflow or the '
                    'application, and re-run')
        if status == 'Warning':
            self.context.warn('IdentityIQ workflow %r completed with warnings: %s' % (self.workflow, said))
        test = outcome['outputs'].get(TEST_OUTPUT)
        if test is not None and test.strip().lower() != 'success':
            raise DriverError('IdentityIQ workflow %r stored the token in application %r, but its connection test '
                              'says: %s' % (self.workflow, self.application, test),
                              fix='test the application\'s connection in IdentityIQ (Applications > the application > '
                                  'Test Connection), then re-run')
        return 'IdentityIQ workflow %r stored the new token in application %r (TaskResult %s).' % (
            self.workflow, self.application, outcome.get('id'))

    def verify(self, token):
        test = ((self._outcome or {}).get('outputs') or {}).get(TEST_OUTPUT)
        if test is None:
            return None
        return 'IdentityIQ tested the connection of application %r to Alation after storing the token: %s.' % (
            self.application, test)

    def console_steps(self):
        where = self.where
        app = ('application %r' % self.application) if self.application else 'the application that provisions to Alation'
        return [
            'Sign in to the IdentityIQ console as an administrator.',
            'Applications > Application Definition: open %s.' % app,
            'Configuration > Settings: with Authentication Type "API Token", replace the API Token with the new token '
            'from %s.' % where,
            'Click "Test Connection": it must succeed (IdentityIQ calls %s with the new token).'
            % (self.context.scim_url or 'Alation\'s SCIM endpoint'),
            'Save the application.',
        ]

    def summary(self):
        outcome = self._outcome or {}
        return {'mode': 'workflow' if self.workflow else 'handoff', 'workflow_name': self.workflow,
                'application_name': self.application, 'task_result_id': outcome.get('id'),
                'completion_status': outcome.get('completion_status'),
                'connection_test': (outcome.get('outputs') or {}).get(TEST_OUTPUT)}
