# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft Entra ID: the token goes into the enterprise app's provisioning secrets over Graph.

Settings are proven by reading the app's synchronization job.  Around a due rotation the job is
paused (no provisioning cycle against a revoked token, which would quarantine it) and started
again after the push.  "Holds the token" = Entra validates its saved credentials against Alation
(the saved token itself is never readable); a quarantined job counts as not holding it, so that a
push lifts the quarantine.  Verify = the same validation, after the push.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.module_utils._graph import (
    ENTRA_REQUIRED_TOGETHER, GraphClient, entra_argument_spec, job_summary, lift_quarantine_if_needed,
    needs_job_action, save_credentials, saved_credentials_current)
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverError


class _Params(object):
    """What GraphClient reads of a module: its parameters."""

    def __init__(self, params):
        self.params = params


class EntraDriver(Driver):
    name = 'entra'
    label = 'Microsoft Entra ID'
    var_prefix = 'entra'
    holds_proves_chain = True  # Entra validates its saved credentials by calling Alation's SCIM endpoint
    required_together = ENTRA_REQUIRED_TOGETHER

    @staticmethod
    def argument_spec():
        spec = entra_argument_spec()
        spec.update(
            service_principal_id=dict(type='str', required=True),
            job_id=dict(type='str'),
            validate_before_save=dict(type='bool', default=True),
            lift_quarantine=dict(type='bool', default=True),
            wait_healthy_timeout=dict(type='int', default=60),
            pause_job=dict(type='bool', default=True),
        )
        return spec

    def __init__(self, options, context, transport=None, sleep=None, clock=None):
        super(EntraDriver, self).__init__(options, context)
        extra = dict((k, v) for k, v in (('transport', transport), ('sleep', sleep), ('clock', clock)) if v)
        self.client = GraphClient(_Params(options), **extra)
        self.sp_id = options['service_principal_id']
        self.job = None
        self.facts = {}

    def target(self):
        return '%s/%s' % (self.options['tenant_id'], self.sp_id)

    @property
    def job_id(self):
        return self.job['id']

    def check_settings(self):
        # Reading the job proves the credentials, the permissions and the ids before anything changes.
        self.job = self.client.pick_job(self.sp_id, self.options['job_id'])
        self.facts['job'] = job_summary(self.job)

    def prepare_plan(self):
        if not self.options['pause_job'] or needs_job_action('paused', job_summary(self.job)) is None:
            return None  # not asked, or paused by someone else: it stays as they left it
        return {'paused_job': self.job_id}

    def prepare(self, plan):
        self.client.job_action(self.sp_id, plan['paused_job'], 'pause')
        self.facts['job_paused'] = True

    def resume(self, plan):
        job_id = plan.get('paused_job')
        if not job_id:
            return None
        job = self.client.get_job(self.sp_id, job_id)
        if needs_job_action('started', job_summary(job)) is None:
            return None
        self.client.job_action(self.sp_id, job_id, 'start')
        self.facts['job_started'] = True
        return 'started the provisioning job again'

    def holds(self, token):
        if job_summary(self.job)['status_code'] == 'Quarantine' and self.options['lift_quarantine']:
            return False  # a push lifts the quarantine
        ok, why = saved_credentials_current(self.client, self.sp_id, self.job_id, self.context.scim_url)
        if not ok:
            self.facts['saved_credentials_error'] = why
        return ok

    def push(self, token):
        o = self.options
        # Right after a rotation the saved token is revoked already: validating the new one first would
        # only lengthen the outage (Entra calls Alation once more); the verification right after does it.
        just_rotated = (getattr(self.context, 'rotation', None) or {}).get('reason') == 'rotated'
        save_credentials(self.client, self.sp_id, self.job_id, self.context.scim_url, token,
                         o['validate_before_save'] and not just_rotated)
        done = ['saved BaseAddress and SecretToken']
        self.job, lifted = lift_quarantine_if_needed(self.client, self.sp_id, self.job, o['lift_quarantine'],
                                                     o['wait_healthy_timeout'], warn=self.context.warn)
        if lifted:
            done.append(lifted)
            self.facts['quarantine_lifted'] = True
        return ', '.join(done)

    def verify(self, token):
        # A cycle that ran in the second between the rotation and the push (no pause: the record could
        # not tell that a rotation was due) may have quarantined the job: lift it now.
        self.job, lifted = lift_quarantine_if_needed(self.client, self.sp_id,
                                                     self.client.get_job(self.sp_id, self.job_id),
                                                     self.options['lift_quarantine'], self.options['wait_healthy_timeout'],
                                                     warn=self.context.warn)
        if lifted:
            self.facts['quarantine_lifted'] = True
        ok, why = self.client.validate_credentials(self.sp_id, self.job_id)
        if not ok:
            raise DriverError("Entra ID's saved credentials for %s do not work against %s: %s"
                              % (self.client.sp_label(self.sp_id), self.context.scim_url, why),
                              fix='look at the Provisioning logs of the enterprise app; re-run to push again')
        return 'Entra ID validated its saved credentials against Alation'

    def confirm(self):
        ok, why = self.client.validate_credentials(self.sp_id, self.job_id)
        if ok:
            return True, 'Entra ID validated its saved credentials against %s.' % self.context.scim_url
        return False, "Entra ID's saved credentials do not work against %s: %s" % (self.context.scim_url, why)

    def summary(self):
        out = dict(self.facts)
        if self.job:
            out['job'] = job_summary(self.job)
        return out
