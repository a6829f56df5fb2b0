# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only code that talks to Microsoft Entra ID: its token endpoint and Microsoft Graph.

Private to the collection.  Facts it builds on: shared/reference/idp-apis.md (paths, bodies,
status codes, quirks).  Every failure becomes an EntraError whose message says what was being
done, for which service principal, what Graph said, and how to fix it.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import time
import uuid

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode

from ansible_collections.alation.scim.plugins.module_utils import _http, _jwt

JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
PERMISSION_HINT = ('the Microsoft Graph application permission Synchronization.ReadWrite.All '
                   '(or Application.ReadWrite.OwnedBy, with the app an owner of this service principal), '
                   'granted with admin consent in App registrations > API permissions')
# Retried within retry_budget: throttling, replication delay (403/409, as Terraform's azuread
# provider does for these resources) and server errors.
GRAPH_RETRY_STATUSES = (403, 409, 429, 500, 502, 503, 504)
TOKEN_RETRY_STATUSES = (429, 500, 502, 503, 504)
# Lifting quarantine is all a rotation needs: resetting the watermark as well would make the next
# cycle an initial one (every user and group re-read), which a large directory pays for in hours.
QUARANTINE_RESET_SCOPE = 'QuarantineState'
# Answers of GET .../synchronization/secrets that mean "this tenant does not offer it" (the call
# is not in Graph's v1.0 metadata): then only validateCredentials tells what is saved.
SECRETS_UNAVAILABLE_STATUSES = (400, 404, 405)

AADSTS_HINTS = {
    7000215: 'the client secret is wrong: use the secret\'s Value (not its Secret ID) from App registrations > '
             'Certificates & secrets (option client_secret or AZURE_CLIENT_SECRET)',
    7000222: 'the client secret has expired: create a new one in App registrations > Certificates & secrets',
    7000218: 'no client credential was sent: set client_secret, client_assertion or '
             'client_certificate_path + client_private_key_path',
    90002: 'the tenant was not found: check tenant_id (or AZURE_TENANT_ID) and authority_url '
           '(national clouds have their own authority)',
    900023: 'tenant_id is not a valid tenant: use the directory (tenant) ID GUID or a verified domain',
    700016: 'the application (client_id) was not found in this tenant: check client_id (or AZURE_CLIENT_ID) is the '
            'Application (client) ID of an app registered in tenant_id',
    700027: 'the client assertion\'s signature does not match a certificate registered for the app: upload the '
            'certificate (client_certificate_path) to the app registration, or sign with its private key',
    700024: 'the client assertion is outside its validity period: check the controller\'s clock',
    700021: 'the client assertion\'s audience does not match the token endpoint: check authority_url and tenant_id',
    700023: 'the client assertion\'s issuer/subject must be the client_id',
    50027: 'the client assertion is not a well-formed JWT',
    70011: 'the requested scope is invalid: check graph_url',
}


def entra_argument_spec():
    """Options shared by the Entra modules (documented in doc fragment alation.scim.entra_auth)."""
    return dict(
        tenant_id=dict(type='str', fallback=(env_fallback, ['AZURE_TENANT_ID'])),
        client_id=dict(type='str', fallback=(env_fallback, ['AZURE_CLIENT_ID'])),
        client_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['AZURE_CLIENT_SECRET'])),
        client_assertion=dict(type='str', no_log=True),
        client_certificate_path=dict(type='path', no_log=False),
        client_private_key_path=dict(type='path', no_log=False),
        authority_url=dict(type='str', default='https://login.microsoftonline.com',
                           fallback=(env_fallback, ['AZURE_AUTHORITY_HOST'])),
        graph_url=dict(type='str', default='https://graph.microsoft.com'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='int', default=30),
        retry_budget=dict(type='int', default=120),
    )


ENTRA_REQUIRED_TOGETHER = [('client_certificate_path', 'client_private_key_path')]


class EntraError(_http.ApiError):
    """A failed Entra ID / Microsoft Graph call (message with the fix)."""


def graph_error_text(resp):
    """'HTTP 404 Request_ResourceNotFound: <message> (request-id ..., date ...)' from a Graph answer."""
    body = resp.json()
    err = body.get('error') if isinstance(body, dict) else None
    if isinstance(err, dict):
        inner = err.get('innerError') or err.get('innererror') or {}
        extra = ''
        if inner.get('request-id'):
            extra = ' (request-id %s, date %s)' % (inner.get('request-id'), inner.get('date'))
        return 'HTTP %d %s: %s%s' % (resp.status, err.get('code'), err.get('message'), extra), err.get('code')
    raw = resp.body.decode('utf-8', 'replace') if isinstance(resp.body, bytes) else str(resp.body)
    return 'HTTP %d: %s' % (resp.status, raw[:300].strip() or '(empty body)'), None


def aadsts_text(resp):
    """(explanation, AADSTS code) from a token endpoint error answer."""
    body = resp.json()
    if not isinstance(body, dict):
        raw = resp.body.decode('utf-8', 'replace') if isinstance(resp.body, bytes) else str(resp.body)
        return 'HTTP %d: %s' % (resp.status, raw[:300].strip() or '(empty body)'), None
    codes = body.get('error_codes') or []
    desc = (body.get('error_description') or '').splitlines()
    first = desc[0].strip() if desc else ''
    code = codes[0] if codes else None
    if code is None:
        m = re.match(r'AADSTS(\d+)', first)
        code = int(m.group(1)) if m else None
    hint = AADSTS_HINTS.get(code)
    said = '%s: %s' % (body.get('error'), first)
    return ('%s [%s]' % (hint, said) if hint else said), code


def _upper_first(text):
    return text[:1].upper() + text[1:]


def job_summary(job):
    status = job.get('status') or {}
    quarantine = status.get('quarantine') or {}
    last = status.get('lastExecution') or {}
    return {
        'id': job.get('id'),
        'template_id': job.get('templateId'),
        'status_code': status.get('code'),
        'schedule_state': (job.get('schedule') or {}).get('state'),
        'quarantine_reason': quarantine.get('reason'),
        'last_execution_state': last.get('state'),
    }


class GraphClient(_http.ApiClient):
    """Token + Graph calls for one module run (or one action step); `transport` fakes HTTP in tests."""

    service = 'Microsoft Graph'
    error_class = EntraError
    retry_statuses = GRAPH_RETRY_STATUSES
    max_attempts = 50  # Graph calls are bounded by retry_budget alone
    url_fix = 'check that the host is reachable from the controller (proxy, firewall)'

    def __init__(self, module, transport=None, sleep=time.sleep, clock=time.time):
        p = module.params
        super(GraphClient, self).__init__(validate_certs=p['validate_certs'], ca_path=p.get('ca_path'),
                                          timeout=p['timeout'], retry_budget=p['retry_budget'],
                                          transport=transport, clock=clock, sleep=sleep)
        self.module = module
        for name, env in (('tenant_id', 'AZURE_TENANT_ID'), ('client_id', 'AZURE_CLIENT_ID')):
            if not p.get(name):
                raise EntraError('%s is required' % name, fix='set the option or the %s environment variable' % env)
        self.tenant_id = p['tenant_id']
        self.client_id = p['client_id']
        self.authority = p['authority_url'].rstrip('/')
        if '://' not in self.authority:  # AZURE_AUTHORITY_HOST may be a bare host name
            self.authority = 'https://' + self.authority
        self.graph_url = p['graph_url'].rstrip('/')
        if p.get('client_assertion'):
            self.credential = 'client_assertion'
        elif p.get('client_certificate_path'):
            self.credential = 'certificate'
        elif p.get('client_secret'):
            self.credential = 'client_secret'
        else:
            raise EntraError('No Entra app credential',
                             fix='set client_secret (or AZURE_CLIENT_SECRET), client_assertion, or '
                                 'client_certificate_path + client_private_key_path')
        self.token_url = '%s/%s/oauth2/v2.0/token' % (self.authority, quote(self.tenant_id, safe=''))
        self._token = None
        self._token_expires = 0
        self._labels = {}
        self._doing = None

    # ---- token ------------------------------------------------------------------------
    def _assertion(self):
        p = self.module.params
        if self.credential == 'client_assertion':
            return p['client_assertion']
        try:
            with open(p['client_certificate_path']) as f:
                der = _jwt.pem_certificate_der(f.read())
        except (IOError, OSError, ValueError) as e:
            raise EntraError('Could not read the certificate client_certificate_path=%s: %s'
                             % (p['client_certificate_path'], e),
                             fix='give the PEM certificate registered for the app')
        sign = _jwt.key_file_signer(p['client_private_key_path'], 'the Entra client assertion')
        try:
            return _jwt.client_assertion(self.client_id, self.token_url, sign, certificate_der=der, now=self.clock(),
                                         lifetime=600)
        except _jwt.SigningError as e:
            raise EntraError('%s (client_private_key_path)' % e)

    def _describe_token(self, resp, doing):
        text = aadsts_text(resp)[0] if resp.status != 200 else 'answer without access_token'
        return '%s from %s: %s' % (doing, self.token_url, text), None, None

    def token(self, doing):
        if self._token and self.clock() < self._token_expires - 60:
            return self._token
        form = {'grant_type': 'client_credentials', 'client_id': self.client_id,
                'scope': self.graph_url + '/.default'}
        if self.credential == 'client_secret':
            form['client_secret'] = self.module.params['client_secret']
        else:
            form['client_assertion_type'] = JWT_BEARER
            form['client_assertion'] = self._assertion()
        what = 'Could not get a Microsoft Graph token for client_id %s in tenant %s (to %s)' % (
            self.client_id, self.tenant_id, self._doing or doing)
        resp = self.request('POST', self.token_url, what, auth=False, data=urlencode(form),
                            headers={'Content-Type': 'application/x-www-form-urlencoded'},
                            accept=(200,), retry_statuses=TOKEN_RETRY_STATUSES, describe=self._describe_token)
        body = resp.json()
        if not (isinstance(body, dict) and body.get('access_token')):
            raise EntraError('%s from %s: answer without access_token' % (what, self.token_url))
        self._token = body['access_token']
        self._token_expires = self.clock() + int(body.get('expires_in') or 300)
        return self._token

    def auth_headers(self, doing):
        return {'Authorization': 'Bearer ' + self.token(doing), 'client-request-id': str(uuid.uuid4())}

    def _token_purpose(self, doing, sp_id):
        self._doing = '%s for service principal %s' % (doing, sp_id)

    def refresh_auth(self, resp):
        body = resp.json()
        code = ((body or {}).get('error') or {}).get('code') if isinstance(body, dict) else None
        if code != 'InvalidAuthenticationToken':
            return False
        self._token = None  # expired or revoked access token: one fresh token, then give up
        return True

    # ---- Graph calls ------------------------------------------------------------------
    def sp_label(self, sp_id):
        """'Alation alation1' (id) when the app may read the service principal, else the id (no retries)."""
        if sp_id not in self._labels:
            self._labels[sp_id] = 'service principal %s' % sp_id
            try:
                resp = self.exchange('GET', '%s/v1.0/servicePrincipals/%s?$select=id,displayName'
                                     % (self.graph_url, quote(sp_id, safe='')),
                                     {'Authorization': 'Bearer ' + (self._token or ''), 'Accept': 'application/json'})
                body = resp.json() if resp.status == 200 else None
                if isinstance(body, dict) and body.get('displayName'):
                    self._labels[sp_id] = "service principal '%s' (%s)" % (body['displayName'], sp_id)
            except _http.TransportError:
                pass
        return self._labels[sp_id]

    def call(self, method, path, doing, sp_id, job_id=None, body=None, accept=(200, 201, 204)):
        """One Graph v1.0 call; returns the Response when its status is in `accept`."""
        def describe(resp, what):
            return self._explain(resp, doing, sp_id, job_id, '/synchronization' in path), graph_error_text(resp)[1], None
        self._token_purpose(doing, sp_id)
        return self.request(method, self.graph_url + '/v1.0' + path,
                            'Could not %s for service principal %s (%s %s)' % (doing, sp_id, method, path),
                            body=body, accept=accept, describe=describe)

    def _explain(self, resp, doing, sp_id, job_id, sync):
        status = resp.status
        text = graph_error_text(resp)[0]
        label = 'service principal %s' % sp_id if status == 404 and not job_id else self.sp_label(sp_id)
        head = 'Could not %s for %s: %s.' % (doing, label, text)
        retried = ' Retried %d time(s) over %ds (retry_budget %ss).' % (resp.attempts - 1, resp.waited,
                                                                        self.retry_budget) \
            if resp.attempts > 1 else ''
        if status == 401 and sync:
            fix = (' Graph answers 401 on synchronization endpoints when the app lacks a permission: give the app '
                   '(client_id %s) %s.' % (self.client_id, PERMISSION_HINT))
        elif status == 401:
            fix = ' The access token was rejected; check tenant_id and graph_url belong to the same cloud.'
        elif status == 403:
            fix = (' Either the app (client_id %s) lacks %s, or a new app/permission had not replicated yet '
                   '(raise retry_budget).' % (self.client_id, PERMISSION_HINT))
        elif status == 404 and job_id:
            fix = (" The synchronization job '%s' does not exist on this service principal: leave job_id unset to "
                   "use its only job, or read the jobs with alation.scim.entra_sync_job." % job_id)
        elif status == 404:
            fix = (" Service principal '%s' not found in tenant %s: service_principal_id must be the Object ID of the "
                   "Enterprise application (Enterprise applications > Properties), not the Application (client) "
                   "ID nor the app registration's object ID." % (sp_id, self.tenant_id))
        elif status == 429:
            fix = ' Microsoft Graph kept throttling; raise retry_budget or run fewer hosts at once (forks/serial).'
            if getattr(resp, 'retry_refused', False):
                fix = ' Graph asked to wait longer than the remaining retry_budget; raise retry_budget.'
        elif status == 409:
            fix = ' The conflict persisted (replication delay or a concurrent change); retry later.'
        elif status >= 500:
            fix = ' Microsoft Graph kept failing; retry later (status: https://status.cloud.microsoft).'
        else:
            fix = ''
        return head + retried + fix

    # ---- synchronization API ----------------------------------------------------------
    @staticmethod
    def sync_path(sp_id, rest=''):
        return '/servicePrincipals/%s/synchronization%s' % (quote(sp_id, safe=''), rest)

    def list_jobs(self, sp_id):
        resp = self.call('GET', self.sync_path(sp_id, '/jobs'), 'read the synchronization jobs', sp_id)
        body = resp.json() or {}
        return body.get('value') or []

    def get_job(self, sp_id, job_id):
        return self.call('GET', self.sync_path(sp_id, '/jobs/%s' % quote(job_id, safe='')),
                         "read synchronization job '%s'" % job_id, sp_id, job_id).json() or {}

    def pick_job(self, sp_id, job_id=None):
        """The job to work on: `job_id`, or the service principal's only job."""
        jobs = self.list_jobs(sp_id)
        listing = ', '.join('%s (%s)' % (j.get('id'), j.get('templateId')) for j in jobs) or 'none'
        if job_id:
            for job in jobs:
                if job.get('id') == job_id:
                    return job
            raise EntraError("Synchronization job '%s' not found on %s; its jobs: %s"
                             % (job_id, self.sp_label(sp_id), listing))
        if len(jobs) == 1:
            return jobs[0]
        if not jobs:
            raise EntraError('%s has no synchronization job: set up provisioning (Provisioning > Get started) '
                             'for the enterprise application first' % _upper_first(self.sp_label(sp_id)))
        raise EntraError('%s has %d synchronization jobs, set job_id to one of: %s'
                         % (_upper_first(self.sp_label(sp_id)), len(jobs), listing))

    def get_secrets(self, sp_id):
        """The saved keys and values (secret values masked as "*"), or None where the tenant does not
        offer this read (it is not in Graph's v1.0 metadata)."""
        try:
            body = self.call('GET', self.sync_path(sp_id, '/secrets'), 'read the synchronization secrets',
                             sp_id).json() or {}
        except EntraError as e:
            if e.status in SECRETS_UNAVAILABLE_STATUSES:
                return None
            raise
        return dict((s.get('key'), s.get('value')) for s in body.get('value') or [])

    def put_secrets(self, sp_id, items):
        # Key names are case-sensitive (BaseAddress, SecretToken); Graph answers a wrong case with 500.
        self.call('PUT', self.sync_path(sp_id, '/secrets'), 'save the synchronization secrets', sp_id,
                  body={'value': [{'key': k, 'value': v} for k, v in items]})

    def validate_credentials(self, sp_id, job_id, credentials=None):
        """(True, None) when Entra could use the credentials against the app, else (False, reason)."""
        body = {'useSavedCredentials': True} if credentials is None else \
            {'credentials': [{'key': k, 'value': v} for k, v in credentials]}
        what = 'validate the %s credentials of job %s' % ('saved' if credentials is None else 'proposed', job_id)
        resp = self.call('POST', self.sync_path(sp_id, '/jobs/%s/validateCredentials' % quote(job_id, safe='')),
                         what, sp_id, job_id, body=body, accept=(204, 200, 400))
        if resp.status == 400:
            return False, graph_error_text(resp)[0]
        return True, None

    def job_action(self, sp_id, job_id, action, body=None):
        doing = "%s synchronization job '%s'" % (action, job_id)
        self.call('POST', self.sync_path(sp_id, '/jobs/%s/%s' % (quote(job_id, safe=''), action)), doing, sp_id,
                  job_id, body=body if body is not None else {})

    def lift_quarantine(self, sp_id, job_id):
        self.job_action(sp_id, job_id, 'restart', {'criteria': {'resetScope': QUARANTINE_RESET_SCOPE}})

    def wait_job(self, sp_id, job_id, done, timeout, interval=3):
        """Poll the job until done(job) or timeout seconds; returns the last job read."""
        deadline = self.clock() + timeout
        while True:
            job = self.get_job(sp_id, job_id)
            if done(job) or self.clock() >= deadline:
                return job
            self.sleep(min(interval, max(0.1, deadline - self.clock())))


# ---- operations shared by the Entra modules and the entra_token_rotation action ---------
def needs_job_action(state, summary):
    """The Graph action (pause/start/restart) that `state` needs, or None when already there."""
    if state == 'paused':
        return None if 'Paused' in (summary['status_code'], summary['schedule_state']) else 'pause'
    if state == 'started':
        return None if summary['schedule_state'] == 'Active' and summary['status_code'] != 'Paused' else 'start'
    if state == 'restarted':
        return 'restart'
    return None


def set_job_state(module, client, result):
    """entra_sync_job: bring the job to params['state'], optionally validating the saved credentials."""
    p = module.params
    sp_id = p['service_principal_id']
    job = client.pick_job(sp_id, p['job_id'])
    job_id = job['id']
    action = needs_job_action(p['state'], job_summary(job))
    if action:
        result['changed'] = True
        if module.check_mode:
            result['msg'] = 'would %s job %s' % (action, job_id)
        else:
            if action == 'restart':
                client.lift_quarantine(sp_id, job_id)
            else:
                client.job_action(sp_id, job_id, action)
            job = client.get_job(sp_id, job_id)
            result['msg'] = '%s job %s' % ({'pause': 'paused', 'start': 'started', 'restart': 'restarted'}[action],
                                           job_id)
    else:
        result['msg'] = 'job %s is %s, nothing to change' % (job_id, job_summary(job)['status_code'])
    if p['check_saved_credentials']:
        ok, why = client.validate_credentials(sp_id, job_id)
        result['saved_credentials_valid'] = ok
        if not ok:
            result['saved_credentials_error'] = why
    result['job'] = job_summary(job)


def saved_credentials_current(client, sp_id, job_id, base):
    """(True, None) when Entra's saved credentials work against Alation with `base` as BaseAddress,
    else (False, why).  Validating is what decides: the saved token is never readable."""
    saved = client.get_secrets(sp_id)  # None: not offered by this tenant, validation alone decides
    if saved is not None:
        if 'SecretToken' not in saved:
            return False, 'no SecretToken saved yet'
        saved_base = saved.get('BaseAddress')
        if saved_base not in (None, '*') and saved_base != base:
            return False, 'the saved BaseAddress is %s, not %s' % (saved_base, base)
    return client.validate_credentials(sp_id, job_id)


def save_credentials(client, sp_id, job_id, base, token, validate_before_save=True, check_mode=False):
    """Validate the proposed BaseAddress + SecretToken (Entra calls Alation with them), then save them.

    Proposed credentials Entra rejects are never saved: the error says what Alation answered."""
    if validate_before_save:
        ok, why = client.validate_credentials(sp_id, job_id, [('BaseAddress', base), ('SecretToken', token)])
        if not ok:
            raise EntraError(
                "Refusing to save credentials for %s, job %s: Entra validated them against Alation and the "
                "Alation SCIM endpoint %s refused them (%s). Nothing was saved" % (client.sp_label(sp_id), job_id, base, why),
                fix="check base_address and that secret_token is Alation's current token (rotating revokes the "
                    "previous one)")
    if not check_mode:
        client.put_secrets(sp_id, [('BaseAddress', base), ('SecretToken', token)])


def lift_quarantine_if_needed(client, sp_id, job, lift=True, wait_healthy_timeout=60, check_mode=False, warn=None):
    """Restart a quarantined job so that it leaves quarantine; returns (the job, what was done or None)."""
    summary = job_summary(job)
    if summary['status_code'] != 'Quarantine':
        return job, None
    if not lift:
        if warn:
            warn('Synchronization job %s is in quarantine (%s) and lift_quarantine is false'
                 % (summary['id'], summary['quarantine_reason']))
        return job, None
    if check_mode:
        return job, 'would lift the quarantine'
    client.lift_quarantine(sp_id, summary['id'])
    if wait_healthy_timeout > 0:
        job = client.wait_job(sp_id, summary['id'], lambda j: job_summary(j)['status_code'] != 'Quarantine',
                              wait_healthy_timeout)
        if job_summary(job)['status_code'] == 'Quarantine':
            raise EntraError('Synchronization job %s of %s is still in quarantine (%s) %ss after the restart'
                             % (summary['id'], client.sp_label(sp_id), job_summary(job)['quarantine_reason'],
                                wait_healthy_timeout),
                             fix='see the Provisioning logs of the enterprise app in the Entra admin center')
    return job, 'lifted the quarantine'


def push_credentials(module, client, result, job=None):
    """entra_scim_credentials: save BaseAddress + SecretToken unless the saved ones validate,
    then lift a quarantine.  `module` needs .params (that module's options), .check_mode, .warn()."""
    p = module.params
    sp_id, base = p['service_principal_id'], p['base_address']
    job = job or client.pick_job(sp_id, p['job_id'])
    job_id = job['id']
    done = []

    up_to_date = False
    if not p['force']:
        up_to_date, why = saved_credentials_current(client, sp_id, job_id, base)
        result['saved_credentials_valid'] = up_to_date
        if up_to_date:
            result['validated'] = True
        else:
            result['saved_credentials_error'] = why

    if not up_to_date:
        save_credentials(client, sp_id, job_id, base, p['secret_token'], p['validate_before_save'], module.check_mode)
        result['validated'] = result.get('validated') or p['validate_before_save']
        result['changed'] = True
        result['pushed'] = not module.check_mode
        done.append('would save BaseAddress and SecretToken' if module.check_mode else 'saved BaseAddress and SecretToken')
    else:
        done.append('saved credentials already valid')

    job, lifted = lift_quarantine_if_needed(client, sp_id, job, p['lift_quarantine'], p['wait_healthy_timeout'],
                                            module.check_mode, module.warn)
    if lifted:
        done.append(lifted)
        result['changed'] = True
        result['quarantine_lifted'] = not module.check_mode
    if result['changed'] and not module.check_mode and not result.get('quarantine_lifted'):
        job = client.get_job(sp_id, job_id)
    result['job'] = job_summary(job)
    result['msg'] = ', '.join(done) if result['changed'] else 'saved credentials already valid, nothing to change'
    return result
