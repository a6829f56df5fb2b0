# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to SailPoint's APIs (private to the collection).

Identity Security Cloud (ISC, formerly IdentityNow), ``SailPointClient``:
- OAuth2 client credentials at ``https://{tenant}.api.identitynow.com/oauth/token`` (a personal
  access token or an API client of the tenant); the API base is settable for other domains.
- A SCIM 2.0 source keeps its settings in ``connectorAttributes``: read with
  ``GET /v3/sources/{id}`` (secrets come back only as cipher text), changed with
  ``PATCH /v3/sources/{id}`` in ``application/json-patch+json``
  (``[{"op": "replace", "path": "/connectorAttributes/<key>", "value": "<token>"}]``; the value is
  sent in clear and encrypted on receipt).  Scopes: ``idn:sources:read`` / ``idn:sources:manage``.
- ``POST /v2025/sources/{id}/connector/check-connection`` makes ISC test the stored credentials
  against Alation; the answer is a StatusResponse (``status`` SUCCESS | FAILURE, ``details``).
  Scope ``idn:source-connector:manage``.
- Errors: ErrorResponseDto ``{detailCode, trackingId, messages: [{text}], causes}``; 401
  ``{error}``; 429 with ``Retry-After`` (ridden out by ApiClient).
- The connectorAttributes key of the SCIM 2.0 connector's API token is not documented where we
  looked: ``apiToken`` is an assumption (camelCase like the connector's other keys, "API Token"
  in its configuration reference).  It is an option, and a source without it fails before
  anything changes, naming the keys it has.

IdentityIQ (on premises), ``IdentityIqClient``: no supported API sets an application's
credential, but the SCIM API launches workflows: ``POST /identityiq/scim/v2/LaunchedWorkflows``
(basic auth) with ``workflowName`` and ``input`` [{key, value, type}].  The answer carries the
workflow's TaskResult (``completionStatus`` Success | Warning | Error | Terminated | TempError,
``messages``, the workflow's ``output``); it also echoes the inputs, so it never leaves this file
unfiltered.  ``GET .../Workflows`` and ``.../Applications`` prove, read-only, that the workflow is
deployed and the application exists.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import re

from ansible.module_utils.six.moves.urllib.parse import quote, urlencode, urlsplit

from ansible_collections.alation.scim.plugins.module_utils._http import ApiClient, ApiError, http_argument_spec

DEFAULT_TOKEN_KEY = 'apiToken'
DEFAULT_DOMAIN = 'api.identitynow.com'
JSON_PATCH = 'application/json-patch+json'
SCIM_JSON = 'application/scim+json'
LAUNCHED_WORKFLOW_SCHEMA = 'urn:ietf:params:scim:schemas:sailpoint:1.0:LaunchedWorkflow'
TASK_RESULT_SCHEMA = 'urn:ietf:params:scim:schemas:sailpoint:1.0:TaskResult'
_SECRET_KEY_RE = re.compile(r'(password|secret|token|key|credential)', re.I)
REDACTED = '********'

SCOPE_FIXES = {
    'GET': 'idn:sources:read',
    'PATCH': 'idn:sources:manage',
    'POST': 'idn:source-connector:manage',
}


# ------------------------------------------------------------------ ISC: pure helpers
def https_url(url, what, fix):
    """url without a trailing slash; ApiError unless it is https:// with a host."""
    cleaned = (url or '').strip().rstrip('/')
    parts = urlsplit(cleaned)
    if parts.scheme != 'https' or not parts.netloc:
        raise ApiError('%s must be an https:// URL (got %r)' % (what, url), fix=fix)
    return cleaned


def isc_api_url(tenant=None, base_url=None):
    """The ISC API base (``https://{tenant}.api.identitynow.com``); base_url wins over tenant."""
    if base_url:
        url = https_url(base_url, 'SailPoint base_url',
                        'set base_url to the API base, e.g. https://acme.api.identitynow.com, or set tenant')
        for suffix in ('/v3', '/v2025', '/beta'):
            if url.endswith(suffix):
                url = url[:-len(suffix)]
        return url
    if not tenant or not re.match(r'^[A-Za-z0-9][A-Za-z0-9-]*$', tenant):
        raise ApiError('SailPoint tenant %r is not a tenant name' % (tenant,),
                       fix='set tenant to the first label of https://<tenant>.identitynow.com, or set base_url')
    return 'https://%s.%s' % (tenant, DEFAULT_DOMAIN)


def connector_attributes(source):
    attrs = (source or {}).get('connectorAttributes')
    return attrs if isinstance(attrs, dict) else {}


def encrypted_keys(source):
    """Keys ISC lists as encrypted (connectorAttributes.encrypted, comma separated), if any."""
    listed = connector_attributes(source).get('encrypted')
    if isinstance(listed, list):
        return set(str(k).strip() for k in listed)
    return set(k.strip() for k in str(listed or '').split(',') if k.strip())


def is_secret_key(source, key):
    return key in encrypted_keys(source) or bool(_SECRET_KEY_RE.search(key))


def require_token_key(source, token_key, source_id):
    """Raise ApiError (naming the keys the source has) unless connectorAttributes has token_key."""
    attrs = connector_attributes(source)
    if token_key in attrs:
        return
    raise ApiError('SailPoint source %s (%s, connector %s) has no connectorAttributes key %r; it has: %s' % (
        source_id, (source or {}).get('name'), (source or {}).get('connectorName') or (source or {}).get('type'),
        token_key, ', '.join(sorted(attrs)) or 'no connector attributes'),
        fix='set token_key to the key that holds the SCIM API token (one of those listed), and check that the '
            'source authenticates with an API token')


def token_patch(token_key, token):
    return [{'op': 'replace', 'path': '/connectorAttributes/%s' % token_key.replace('~', '~0').replace('/', '~1'),
             'value': token}]


def redact_source(source):
    """The source fit to show: secret connector attributes masked, everything else as read."""
    out = dict(source or {})
    attrs = dict(connector_attributes(source))
    for key in list(attrs):
        if key != 'encrypted' and is_secret_key(source, key) and attrs[key] not in (None, ''):
            attrs[key] = REDACTED
    if 'connectorAttributes' in out:
        out['connectorAttributes'] = attrs
    return out


def source_summary(source, token_key):
    """Non-secret facts about a source (ids, connector, which keys it has, whether the token key is set)."""
    source = source or {}
    attrs = connector_attributes(source)
    return {'id': source.get('id'), 'name': source.get('name'),
            'connector': source.get('connectorName') or source.get('connector') or source.get('type'),
            'connector_attribute_keys': sorted(attrs), 'token_key': token_key,
            'token_key_present': token_key in attrs, 'token_key_set': bool(attrs.get(token_key)),
            'healthy': source.get('healthy'), 'status': source.get('status')}


def connection_outcome(status_response, source_id):
    """(ok, sentence) of a check-connection StatusResponse."""
    body = status_response if isinstance(status_response, dict) else {}
    status = body.get('status')
    took = body.get('elapsedMillis')
    where = 'SailPoint source %s%s' % (source_id, ' (%s)' % body['name'] if body.get('name') else '')
    if status == 'SUCCESS':
        return True, '%s passed its connection test%s.' % (where, ' in %s ms' % took if took is not None else '')
    details = body.get('details')
    if isinstance(details, dict):
        details = '; '.join('%s: %s' % (k, details[k]) for k in sorted(details))
    details = ('%s' % (details or 'no details'))[:400].rstrip('.')
    return False, '%s failed its connection test (status %s): %s.' % (where, status, details)


def isc_error_text(body):
    """The readable part of an ISC error body (ErrorResponseDto, 401 {error}, 429 {message})."""
    if not isinstance(body, dict):
        return ''
    parts = []
    if body.get('detailCode'):
        parts.append(str(body['detailCode']))
    for group in ('messages', 'causes'):
        for item in body.get(group) or []:
            text = item.get('text') if isinstance(item, dict) else item
            if text and text not in parts:
                parts.append(str(text))
    for key in ('error', 'message', 'error_description'):
        if body.get(key) and body[key] not in parts:
            parts.append(str(body[key]).strip())
    if body.get('trackingId'):
        parts.append('trackingId %s' % body['trackingId'])
    return '; '.join(parts)


# ------------------------------------------------------------------ ISC: the client
class SailPointClient(ApiClient):
    service = 'SailPoint Identity Security Cloud'
    url_fix = 'check tenant / base_url and the network path from the controller to the tenant'

    def __init__(self, client_id, client_secret, tenant=None, base_url=None, token_url=None, **http_options):
        if not client_id or not client_secret:
            raise ApiError('SailPoint client_id and client_secret are both needed',
                           fix='set client_id / client_secret (or SAILPOINT_CLIENT_ID / SAILPOINT_CLIENT_SECRET): a '
                               'personal access token or an API client of the tenant')
        super(SailPointClient, self).__init__(**http_options)
        self.api_url = isc_api_url(tenant, base_url)
        self.token_url = token_url or self.api_url + '/oauth/token'
        self.client_id = client_id
        self.client_secret = client_secret
        self._token = None
        self._expires = 0

    def auth_headers(self, doing):
        return {'Authorization': 'Bearer ' + self.access_token()}

    def refresh_auth(self, resp):
        self._token = None
        return True

    def access_token(self):
        if self._token and self.clock() < self._expires - 60:
            return self._token
        doing = 'Getting a SailPoint access token for client %s from %s' % (self.client_id, self.token_url)
        form = urlencode([('grant_type', 'client_credentials'), ('client_id', self.client_id),
                          ('client_secret', self.client_secret)])
        body = self.request('POST', self.token_url, doing, data=form, auth=False,
                            headers={'Content-Type': 'application/x-www-form-urlencoded'},
                            describe=self._describe_token_error).json() or {}
        if not body.get('access_token'):
            raise ApiError(doing + ': the answer carried no access_token', fix='check token_url / base_url')
        self._token = body['access_token']
        self._expires = self.clock() + int(body.get('expires_in') or 600)
        return self._token

    @staticmethod
    def _describe_token_error(resp, doing):
        body = resp.json()
        code = body.get('error') if isinstance(body, dict) else None
        text = '%s: SailPoint answered HTTP %s%s' % (doing, resp.status, ': ' + isc_error_text(body) if body else '')
        fix = None
        if resp.status in (400, 401) or code in ('invalid_client', 'unauthorized_client'):
            fix = ('check client_id / client_secret (Preferences > Personal Access Tokens, or the API client), and '
                   'that they belong to this tenant')
        elif resp.status == 404:
            fix = 'check tenant / base_url / token_url'
        return text, code, fix

    def describe_call(self, method, source_id):
        def describe(resp, doing):
            body = resp.json()
            text = '%s: SailPoint answered HTTP %s' % (doing, resp.status)
            detail = isc_error_text(body)
            if detail:
                text += ' (%s)' % detail
            fix = None
            if resp.status == 401:
                fix = 'check client_id / client_secret and that the token is not revoked or expired'
            elif resp.status == 403:
                fix = ('the token lacks scope %s (or its identity lacks the Source Admin or Admin user level): grant '
                       'it to the personal access token / API client' % SCOPE_FIXES.get(method, 'for this call'))
            elif resp.status == 404:
                fix = ('check source_id: it is the id in the source\'s URL in Admin > Connections > Sources, or '
                       'listed by GET /v3/sources')
            elif resp.status == 415:
                fix = 'this client sent the wrong content type: report it as a bug of alation.scim'
            return text, body.get('detailCode') if isinstance(body, dict) else None, fix
        return describe

    def get_source(self, source_id):
        return self.request('GET', '%s/v3/sources/%s' % (self.api_url, quote(source_id, safe='')),
                            'Reading SailPoint source %s' % source_id,
                            describe=self.describe_call('GET', source_id)).json() or {}

    def patch_source(self, source_id, operations, doing=None):
        return self.request('PATCH', '%s/v3/sources/%s' % (self.api_url, quote(source_id, safe='')),
                            doing or 'Saving the new token in SailPoint source %s' % source_id,
                            headers={'Content-Type': JSON_PATCH}, body=operations,
                            describe=self.describe_call('PATCH', source_id)).json() or {}

    def check_connection(self, source_id):
        return self.request('POST', '%s/v2025/sources/%s/connector/check-connection' % (
            self.api_url, quote(source_id, safe='')),
            'Testing the connection of SailPoint source %s' % source_id,
            describe=self.describe_call('POST', source_id)).json() or {}


def sailpoint_argument_spec():
    """Connection options of the ISC module and driver (doc fragment alation.scim.sailpoint)."""
    from ansible.module_utils.basic import env_fallback
    spec = http_argument_spec()
    spec.update(
        tenant=dict(type='str', fallback=(env_fallback, ['SAILPOINT_TENANT'])),
        base_url=dict(type='str', fallback=(env_fallback, ['SAILPOINT_BASE_URL'])),
        token_url=dict(type='str', no_log=False, fallback=(env_fallback, ['SAILPOINT_TOKEN_URL'])),
        client_id=dict(type='str', required=True, fallback=(env_fallback, ['SAILPOINT_CLIENT_ID'])),
        client_secret=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['SAILPOINT_CLIENT_SECRET'])),
        source_id=dict(type='str', required=True),
        token_key=dict(type='str', default=DEFAULT_TOKEN_KEY, no_log=False),
    )
    spec['ca_path']['fallback'] = (env_fallback, ['SAILPOINT_CA_PATH'])
    return spec


def isc_client_from_params(params):
    p = params
    if not p.get('tenant') and not p.get('base_url'):
        raise ApiError('SailPoint needs tenant or base_url, and neither is set',
                       fix='set tenant (SAILPOINT_TENANT) or base_url (SAILPOINT_BASE_URL)')
    return SailPointClient(p['client_id'], p['client_secret'], tenant=p.get('tenant'), base_url=p.get('base_url'),
                           token_url=p.get('token_url'), validate_certs=p['validate_certs'], ca_path=p.get('ca_path'),
                           timeout=p['timeout'], retry_budget=p['retry_budget'])


def isc_target(params):
    base = isc_api_url(params.get('tenant'), params.get('base_url'))
    return '%s#source=%s' % (base, params['source_id'])


# ------------------------------------------------------------------ IdentityIQ
def iiq_scim_url(base_url):
    """``https://host/identityiq/scim/v2`` from the IIQ URL (with or without /scim/v2)."""
    url = https_url(base_url, 'IdentityIQ url',
                    'set url to the IdentityIQ application, e.g. https://iiq.example.com/identityiq')
    return url if url.endswith('/scim/v2') else url + '/scim/v2'


def scim_filter_eq(attribute, value):
    return '%s eq "%s"' % (attribute, value.replace('\\', '\\\\').replace('"', '\\"'))


def launch_body(workflow_name, inputs):
    """The LaunchedWorkflows body: workflowName and input in the LaunchedWorkflow extension (the
    SCIM way) and at the top level (as SailPoint's API reference shows): servers read one or the other."""
    items = [{'key': k, 'value': v, 'type': 'string'} for k, v in inputs]
    return {'schemas': [LAUNCHED_WORKFLOW_SCHEMA, TASK_RESULT_SCHEMA],
            LAUNCHED_WORKFLOW_SCHEMA: {'workflowName': workflow_name, 'input': items},
            'workflowName': workflow_name, 'input': items}


def workflow_outcome(result, secrets=()):
    """The non-secret part of a LaunchedWorkflow / TaskResult answer: id, completed, completionStatus,
    messages and the workflow's outputs; `secrets` are scrubbed from every text."""
    result = result if isinstance(result, dict) else {}
    ext = result.get(LAUNCHED_WORKFLOW_SCHEMA) if isinstance(result.get(LAUNCHED_WORKFLOW_SCHEMA), dict) else {}

    def scrub(text):
        text = '%s' % (text,)
        for secret in secrets:
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    outputs = {}
    for item in ext.get('output') or result.get('output') or []:
        if isinstance(item, dict) and item.get('key') and not _SECRET_KEY_RE.search(item['key']):
            outputs[item['key']] = scrub(item.get('value'))
    messages = []
    for m in result.get('messages') or []:
        messages.append(scrub(m.get('message') or m.get('text') or m if isinstance(m, dict) else m))
    meta = result.get('meta')
    if isinstance(meta, list):
        meta = meta[0] if meta and isinstance(meta[0], dict) else {}
    return {'id': result.get('id'), 'name': result.get('name'), 'completed': result.get('completed'),
            'completion_status': result.get('completionStatus'), 'messages': messages, 'outputs': outputs,
            'location': (meta or {}).get('location'), 'workflow_case_id': ext.get('workflowCaseId')}


class IdentityIqClient(ApiClient):
    service = 'SailPoint IdentityIQ'
    url_fix = 'check url (https://<host>/identityiq) and the network path from the controller'

    def __init__(self, url, username, password, **http_options):
        if not username or not password:
            raise ApiError('IdentityIQ username and password are both needed',
                           fix='set username / password (or SAILPOINT_IIQ_USERNAME / SAILPOINT_IIQ_PASSWORD)')
        super(IdentityIqClient, self).__init__(**http_options)
        self.scim_url = iiq_scim_url(url)
        self.username = username
        self.password = password

    def auth_headers(self, doing):
        pair = ('%s:%s' % (self.username, self.password)).encode('utf-8')
        return {'Authorization': 'Basic ' + base64.b64encode(pair).decode('ascii')}

    def describe(self, resp, doing):
        body = resp.json()
        detail = ''
        if isinstance(body, dict):
            detail = body.get('detail') or body.get('message') or body.get('error') or ''
        text = '%s: IdentityIQ answered HTTP %s%s' % (doing, resp.status, ' (%s)' % detail if detail else '')
        fix = None
        if resp.status == 401:
            fix = 'check username / password of the IdentityIQ account used for its SCIM API'
        elif resp.status == 403:
            fix = ('the account lacks the rights to this SCIM endpoint: give it the SCIM capabilities '
                   '(e.g. the "SCIM Executor" right for LaunchedWorkflows, and read rights on Workflows / Applications)')
        elif resp.status == 404:
            fix = 'check url: the SCIM API is at https://<host>/identityiq/scim/v2'
        return text, None, fix

    def _find(self, resource, name, what):
        url = '%s/%s?%s' % (self.scim_url, resource, urlencode([('filter', scim_filter_eq('name', name))]))
        body = self.request('GET', url, 'Looking up %s %r in IdentityIQ' % (what, name),
                            headers={'Accept': SCIM_JSON + ', application/json'}).json() or {}
        for item in body.get('Resources') or []:
            if isinstance(item, dict) and item.get('name') == name:
                return item
        return None

    def find_workflow(self, name):
        return self._find('Workflows', name, 'workflow')

    def find_application(self, name):
        return self._find('Applications', name, 'application')

    def check_launch_rights(self):
        """GET LaunchedWorkflows (one item): the same rights as launching, proven read-only."""
        self.request('GET', '%s/LaunchedWorkflows?%s' % (self.scim_url, urlencode([('startIndex', 1), ('count', 1)])),
                     'Checking that the IdentityIQ account %s may use LaunchedWorkflows' % self.username,
                     headers={'Accept': SCIM_JSON + ', application/json'})

    def launch_workflow(self, workflow_name, inputs):
        body = launch_body(workflow_name, inputs)
        return self.request('POST', self.scim_url + '/LaunchedWorkflows',
                            'Launching IdentityIQ workflow %r' % workflow_name,
                            headers={'Content-Type': SCIM_JSON, 'Accept': SCIM_JSON + ', application/json'},
                            body=body).json() or {}

    def get_result(self, outcome):
        """The launched workflow's TaskResult again (its meta.location, else LaunchedWorkflows/{id})."""
        url = outcome.get('location') or '%s/LaunchedWorkflows/%s' % (self.scim_url, quote(outcome['id'], safe=''))
        return self.request('GET', url, 'Reading the result of IdentityIQ workflow run %s' % outcome.get('id'),
                            headers={'Accept': SCIM_JSON + ', application/json'}).json() or {}

    def run_workflow(self, workflow_name, inputs, timeout=120, interval=1.0):
        """Launch the workflow and wait (up to `timeout` s) until its TaskResult is complete; the
        outcome (workflow_outcome) without any input value in it."""
        secrets = [v for _k, v in inputs]
        outcome = workflow_outcome(self.launch_workflow(workflow_name, inputs), secrets)
        started = self.clock()
        while not (outcome.get('completed') or outcome.get('completion_status')):
            if not outcome.get('id') and not outcome.get('location'):
                raise ApiError('IdentityIQ launched workflow %r but its answer names no TaskResult to follow'
                               % workflow_name, fix='check the workflow in IdentityIQ (Task Results)')
            if self.clock() - started > timeout:
                raise ApiError('IdentityIQ workflow %r (TaskResult %s) did not complete within workflow_timeout %s s'
                               % (workflow_name, outcome.get('id'), timeout),
                               fix='look at the TaskResult in IdentityIQ (Setup > Tasks > Task Results); raise '
                                   'workflow_timeout if the workflow is slow')
            self.sleep(interval)
            latest = workflow_outcome(self.get_result(outcome), secrets)
            latest['id'] = latest.get('id') or outcome.get('id')
            latest['location'] = latest.get('location') or outcome.get('location')
            outcome = latest
        return outcome


def iiq_argument_spec():
    """Connection options of the IdentityIQ driver (doc fragment alation.scim.sailpoint, IIQ part)."""
    from ansible.module_utils.basic import env_fallback
    spec = http_argument_spec()
    spec.update(
        url=dict(type='str', fallback=(env_fallback, ['SAILPOINT_IIQ_URL'])),
        username=dict(type='str', fallback=(env_fallback, ['SAILPOINT_IIQ_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['SAILPOINT_IIQ_PASSWORD'])),
        workflow_name=dict(type='str'),
        application_name=dict(type='str'),
        token_attribute=dict(type='str', default=DEFAULT_TOKEN_KEY, no_log=False),
        workflow_timeout=dict(type='int', default=120),
    )
    spec['ca_path']['fallback'] = (env_fallback, ['SAILPOINT_IIQ_CA_PATH'])
    return spec


def iiq_client_from_params(params):
    p = params
    if not p.get('url'):
        raise ApiError('IdentityIQ url is not set', fix='set url (SAILPOINT_IIQ_URL), e.g. https://iiq.example.com/identityiq')
    return IdentityIqClient(p['url'], p.get('username'), p.get('password'), validate_certs=p['validate_certs'],
                            ca_path=p.get('ca_path'), timeout=p['timeout'], retry_budget=p['retry_budget'])
