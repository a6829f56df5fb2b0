# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to Okta's management API (private to the collection).

Okta cannot take the SCIM token of a custom app by API (shared/reference/idp-apis.md), so the
collection only *reads* from Okta: the System Log, to tell whether provisioning works again
after an operator pasted a rotated token.  Two ways to authenticate:

- ``SSWS <api token>`` (an admin's API token);
- an OAuth 2.0 service app with ``private_key_jwt``: a client assertion (``_jwt.py``) signed
  RS256 by a ``signer(bytes) -> signature bytes`` (``_jwt.key_file_signer``), exchanged at
  ``/oauth2/v1/token`` for a scoped access token (default scope ``okta.logs.read``).

Rate limits: ``X-Rate-Limit-Remaining`` / ``X-Rate-Limit-Reset`` (epoch seconds) are read from
every answer; when nothing remains the next call waits for the reset, and a 429 (``E0000047``)
waits until the reset, all within a total wait budget.

Pure parts (URL/filter building, error wording, the provisioning verdict) have no I/O so that
they can be unit tested.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import re
import time

from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit

from ansible_collections.alation.scim.plugins.module_utils import _jwt
from ansible_collections.alation.scim.plugins.module_utils._http import ApiClient, ApiError, backoff_delay, http_argument_spec

DEFAULT_SCOPES = ('okta.logs.read',)
JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
ASSERTION_LIFETIME = 300  # Okta accepts client assertions of at most one hour

# System Log event types that record provisioning to an app, by prefix.  Documented ones:
# application.provision.user.push / .push_profile / .deactivate / .reactivate,
# application.provision.group_push.* (group push) and the older app.user_management.push_*
# family (e.g. app.user_management.push_new_user_success).
DEFAULT_EVENT_TYPE_PREFIXES = ('application.provision.', 'app.user_management.push')

# What an Okta errorCode means for this collection, and what to do about it.
ERROR_HINTS = {
    'E0000004': 'Authentication failed.',
    'E0000005': 'The credentials are not valid for this request: check the API token or OAuth client.',
    'E0000006': ('The caller lacks permission: an API token must belong to an admin who can read the '
                 'System Log (Read-Only Administrator is enough); an OAuth service app needs the scope '
                 'okta.logs.read granted (Okta API Scopes tab) and an admin role assigned.'),
    'E0000011': ('The API token is wrong, expired or revoked: create a new one in Security > API > Tokens '
                 '(or use the OAuth service app) and set api_token / OKTA_API_TOKEN.'),
    'E0000007': 'Not found: check org_url and app_id.',
    'E0000015': 'This feature is not enabled for the org.',
    'E0000047': 'Okta rate limit exceeded and the wait budget ran out: retry later or raise retry_budget.',
    'E0000001': 'Okta rejected the request parameters.',
    'E0000030': 'Okta rejected a date parameter: since must be ISO 8601 (e.g. 2026-01-31T12:00:00Z).',
}
OAUTH_HINTS = {
    'invalid_client': ('the service app rejected the client assertion: check client_id, that the app uses '
                       'Public key / Private key client authentication, and that the public key registered '
                       'for it matches private_key_path (and key_id, if the app has several keys).'),
    'invalid_scope': ('the service app is not granted the requested scope: grant okta.logs.read on its '
                      'Okta API Scopes tab.'),
    'unauthorized_client': 'the app is not allowed the client_credentials grant: it must be an API Services app.',
    'invalid_dpop_proof': ('the service app requires DPoP (Demonstrating Proof of Possession), which this '
                           'collection does not send: clear "Require DPoP header in token requests" for it.'),
    'use_dpop_nonce': ('the service app requires DPoP (Demonstrating Proof of Possession), which this '
                       'collection does not send: clear "Require DPoP header in token requests" for it.'),
}

_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([^",;]+)"?')
_ISO_RE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$')


class OktaError(ApiError):
    """A failed Okta call; the message says what was being done and what to do."""


# ------------------------------------------------------------------ pure helpers
def normalize_org_url(org_url):
    """'https://example.okta.com' (no trailing slash); raise OktaError unless https://host."""
    url = (org_url or '').strip().rstrip('/')
    parts = urlsplit(url)
    if parts.scheme != 'https' or not parts.netloc or parts.path not in ('', '/'):
        raise OktaError('org_url must look like https://<your-org>.okta.com (got %r): set org_url '
                        'or OKTA_ORG_URL.' % (org_url,))
    return url


def after_the_second_of(stamp):
    """The next whole second after an ISO time that has whole seconds only (2026-01-31T12:00:00Z), else the time
    as it is. A hand-off's rotated_at has whole seconds, and a provisioning event published within that second
    may come before the rotation (with the token it revoked): it cannot prove the new one, so the System Log is
    read from the next second on."""
    match = re.match(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(Z|[+]00:00)$', stamp or '')
    if not match:
        return stamp
    epoch = calendar.timegm(time.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S')) + 1
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def validate_since(since):
    if not since or not _ISO_RE.match(since):
        raise OktaError('since must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z (got %r).'
                        % (since,))
    return since


def quote_filter_value(value):
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def logs_filter(app_id, prefixes=DEFAULT_EVENT_TYPE_PREFIXES):
    """System Log filter: events whose targets include the app, of a provisioning event type."""
    types = ' or '.join('eventType sw %s' % quote_filter_value(p) for p in prefixes)
    expr = 'target.id eq %s' % quote_filter_value(app_id)
    if types:
        expr += ' and (%s)' % types
    return expr


def logs_query(since, app_id, prefixes=DEFAULT_EVENT_TYPE_PREFIXES, limit=100):
    return urlencode([('since', since), ('filter', logs_filter(app_id, prefixes)),
                      ('sortOrder', 'ASCENDING'), ('limit', str(limit))])


def next_link(header):
    """The rel="next" URL of a Link header (several headers arrive comma-joined)."""
    for url, rel in _LINK_RE.findall(header or ''):
        if rel == 'next':
            return url
    return None


def build_client_assertion(client_id, audience, signer, key_id=None, now=None, jti=None):
    """A private_key_jwt client assertion (RFC 7523), RS256-signed by `signer`."""
    return _jwt.client_assertion(client_id, audience, signer, key_id=key_id, now=now, lifetime=ASSERTION_LIFETIME,
                                 jti=jti)


def describe_error(status, body, doing):
    """(reason, code, fix) for an Okta error answer: what was done, Okta's words, the fix."""
    if isinstance(body, dict) and body.get('errorCode'):
        code = body.get('errorCode')
        causes = [c.get('errorSummary') for c in body.get('errorCauses') or [] if isinstance(c, dict)]
        text = '%s: Okta answered HTTP %s %s: %s' % (doing, status, code, body.get('errorSummary') or '')
        if causes:
            text += ' (%s)' % '; '.join(c for c in causes if c)
        if body.get('errorId'):
            text += ' [errorId %s]' % body['errorId']
        return text, code, ERROR_HINTS.get(code)
    if isinstance(body, dict) and body.get('error'):
        code = body.get('error')
        text = '%s: Okta answered HTTP %s %s: %s' % (doing, status, code, body.get('error_description') or '')
        return text, code, OAUTH_HINTS.get(code)
    return '%s: Okta answered HTTP %s without an Okta error body.' % (doing, status), None, None


def summarize_event(event):
    """The parts of a LogEvent worth returning (no debug data: it can hold request details)."""
    outcome = event.get('outcome') or {}
    return {
        'uuid': event.get('uuid'),
        'published': event.get('published'),
        'event_type': event.get('eventType'),
        'display_message': event.get('displayMessage'),
        'result': outcome.get('result'),
        'reason': outcome.get('reason'),
        'targets': [dict((k, t.get(k)) for k in ('id', 'type', 'alternateId', 'displayName'))
                    for t in event.get('target') or [] if isinstance(t, dict)],
    }


def provisioning_verdict(events, app_id, since):
    """Decide from the app's provisioning events (ascending) whether provisioning works now.

    The latest SUCCESS/FAILURE event decides: failures right after the rotation (Okta still
    held the old token) followed by a success after the paste mean it works.  No event:
    the answer is unknown and said so, never guessed.
    """
    decisive = [e for e in events if e.get('result') in ('SUCCESS', 'FAILURE')]
    counts = {'SUCCESS': 0, 'FAILURE': 0, 'other': 0}
    for e in events:
        key = e.get('result') if e.get('result') in ('SUCCESS', 'FAILURE') else 'other'
        counts[key] += 1
    if not decisive:
        return {
            'verdict': 'no_events',
            'succeeded': False,
            'last_event': None,
            'counts': counts,
            'message': ('No provisioning event for Okta app %s since %s yet, so whether Okta holds the new token '
                        'is not known. Trigger provisioning (assign a test user to the app, or Provisioning > '
                        'To App > Push now / a profile change), wait a minute, then run confirm again.'
                        % (app_id, since)),
        }
    last = decisive[-1]
    if last.get('result') == 'SUCCESS':
        return {
            'verdict': 'succeeded',
            'succeeded': True,
            'last_event': last,
            'counts': counts,
            'message': ('Okta provisioned to app %s successfully at %s (%s) after the rotation at %s: '
                        'the new token is in place.'
                        % (app_id, last.get('published'), last.get('event_type'), since)),
        }
    return {
        'verdict': 'failed',
        'succeeded': False,
        'last_event': last,
        'counts': counts,
        'message': ('The latest provisioning to Okta app %s failed at %s (%s): %s. If that was before the paste, '
                    'trigger provisioning again and re-run confirm; otherwise paste the new token again '
                    '(Provisioning > Integration > Edit > API Token > Test API Credentials > Save).'
                    % (app_id, last.get('published'), last.get('event_type'),
                       last.get('reason') or 'no reason given')),
    }


# ------------------------------------------------------------------ the client
class SswsAuth(object):
    def __init__(self, api_token):
        self.api_token = api_token

    def header(self, client):
        return 'SSWS ' + self.api_token

    def invalidate(self):
        pass


class PrivateKeyJwtAuth(object):
    """OAuth 2.0 client credentials with private_key_jwt; the access token is cached."""

    def __init__(self, client_id, signer, scopes=DEFAULT_SCOPES, key_id=None, token_url=None):
        self.client_id = client_id
        self.signer = signer
        self.scopes = list(scopes)
        self.key_id = key_id
        self.token_url = token_url
        self._token = None
        self._expires = 0

    def invalidate(self):
        self._token = None

    def header(self, client):
        if self._token and time.time() < self._expires - 30:
            return 'Bearer ' + self._token
        url = self.token_url or client.org_url + '/oauth2/v1/token'
        assertion = build_client_assertion(self.client_id, url, self.signer, key_id=self.key_id)
        form = urlencode([('grant_type', 'client_credentials'), ('scope', ' '.join(self.scopes)),
                          ('client_assertion_type', JWT_BEARER), ('client_assertion', assertion)])
        doing = 'Getting an OAuth access token for service app %s from %s' % (self.client_id, url)
        body = client.call_json('POST', url, doing, data=form, auth=False,
                                headers={'Content-Type': 'application/x-www-form-urlencoded'})
        token_type = (body or {}).get('token_type', '')
        if token_type.lower() == 'dpop':
            raise OktaError(doing + ': the app issued a DPoP-bound token. Fix: ' + OAUTH_HINTS['use_dpop_nonce'])
        if not (body or {}).get('access_token'):
            raise OktaError(doing + ': the answer carried no access_token.')
        self._token = body['access_token']
        self._expires = time.time() + int(body.get('expires_in') or 3600)
        return 'Bearer ' + self._token


class OktaClient(ApiClient):
    """Okta's management API with its rate limits: X-Rate-Limit-Remaining / -Reset are read from
    every answer; when nothing remains the next call waits for the reset, and a 429 waits until
    the reset, all within retry_budget."""

    service = 'Okta'
    error_class = OktaError
    max_attempts = 6
    url_fix = 'check org_url and the network path to Okta'

    def __init__(self, org_url, auth, **http_options):
        super(OktaClient, self).__init__(**http_options)
        self.org_url = normalize_org_url(org_url)
        self.auth = auth
        self.rate_limit = {'limit': None, 'remaining': None, 'reset': None}
        self.waited = 0.0  # seconds slept for Okta (rate limits, backoff), reported by the module
        sleep = self.sleep

        def counted_sleep(seconds):
            self.waited += seconds
            sleep(seconds)
        self.sleep = counted_sleep

    def _until_reset(self):
        reset = self.rate_limit.get('reset')
        if reset is None:
            return None
        # +1 s: the reset is whole seconds and the window has to have really rolled over
        return reset - self.clock() + 1

    def before_send(self, budget, doing):
        if self.rate_limit.get('remaining') == 0:
            delay = self._until_reset()
            if delay and delay > 0:
                if not budget.wait(delay):
                    raise OktaError('%s: the Okta rate limit is used up until its reset, and waiting %.0f s more would '
                                    'exceed retry_budget (%s s)' % (doing, delay, self.retry_budget),
                                    fix='retry later, or raise retry_budget', status=429, code='E0000047')
            self.rate_limit['remaining'] = None

    def after_response(self, resp):
        for key in ('limit', 'remaining', 'reset'):
            value = resp.headers.get('x-rate-limit-' + key)
            if value is not None:
                try:
                    self.rate_limit[key] = int(value)
                except ValueError:
                    pass

    def retry_delay(self, resp, attempt):
        delay = self._until_reset() if resp.status == 429 else None
        return delay if delay is not None and delay > 0 else backoff_delay(attempt)

    def describe(self, resp, doing):
        reason, code, fix = describe_error(resp.status, resp.json(), doing)
        if resp.status == 429:
            code = code or 'E0000047'
            fix = ('Okta kept answering 429 E0000047 (rate limit exceeded) for longer than retry_budget (%s s): retry '
                   'later, or raise retry_budget' % self.retry_budget)
        return reason, code, fix

    def auth_headers(self, doing):
        return {'Authorization': self.auth.header(self)}

    def refresh_auth(self, resp):
        if not isinstance(self.auth, PrivateKeyJwtAuth):
            return False
        self.auth.invalidate()  # a cached access token may have expired early: get a fresh one once
        return True

    def call(self, method, url, doing, data=None, headers=None, auth=True):
        """One API call with rate-limit waits and bounded retries; (parsed JSON body or None, Response)."""
        if not url.startswith('https://'):
            url = self.org_url + url
        hdrs = {'User-Agent': 'alation.scim'}
        hdrs.update(headers or {})
        resp = self.request(method, url, doing, headers=hdrs, data=data, auth=auth)
        return resp.json(), resp

    def call_json(self, method, url, doing, **kw):
        return self.call(method, url, doing, **kw)[0]

    def provisioning_events(self, app_id, since, prefixes=DEFAULT_EVENT_TYPE_PREFIXES, max_events=1000, page_size=100):
        """The app's provisioning LogEvents since `since`, oldest first (summarized)."""
        validate_since(since)
        url = '%s/api/v1/logs?%s' % (self.org_url, logs_query(since, app_id, prefixes, page_size))
        doing = 'Reading the Okta System Log for provisioning events of app %s since %s' % (app_id, since)
        events = []
        while url and len(events) < max_events:
            page, resp = self.call('GET', url, doing)
            page = page or []
            if not isinstance(page, list):
                raise OktaError('%s: expected a list of events, got %s.' % (doing, type(page).__name__))
            # Without `until` the System Log is a poll: it always offers a next link, even
            # after the last event, so an empty page is the end.
            if not page:
                break
            for event in page:
                summary = summarize_event(event)
                # the filter is applied here too, in case an org ignores part of it
                if any(t.get('id') == app_id for t in summary['targets']) and (
                        not prefixes or any((summary['event_type'] or '').startswith(p) for p in prefixes)):
                    events.append(summary)
            url = next_link(resp.headers.get('link'))
        return events[:max_events]


# ------------------------------------------------------------------ module glue
def okta_argument_spec():
    """Connection and auth options shared by Okta modules (doc fragments alation.scim.okta_auth, idp_http)."""
    from ansible.module_utils.basic import env_fallback
    spec = http_argument_spec()
    spec.update(
        org_url=dict(type='str', required=True, fallback=(env_fallback, ['OKTA_ORG_URL'])),
        api_token=dict(type='str', no_log=True, fallback=(env_fallback, ['OKTA_API_TOKEN'])),
        client_id=dict(type='str', fallback=(env_fallback, ['OKTA_CLIENT_ID'])),
        private_key_path=dict(type='path', no_log=False, fallback=(env_fallback, ['OKTA_PRIVATE_KEY_PATH'])),
        key_id=dict(type='str', no_log=False),
        scopes=dict(type='list', elements='str', default=list(DEFAULT_SCOPES)),
        token_url=dict(type='str', no_log=False),
    )
    return spec


def key_signer(key_path):
    """signer(bytes) -> RS256 signature with the service app's key (errors become OktaError)."""
    sign = _jwt.key_file_signer(key_path, 'the Okta client assertion (private_key_path)')

    def signer(data):
        try:
            return sign(data)
        except _jwt.SigningError as e:
            raise OktaError(str(e), fix='give the PEM RSA private key of the service app')
    return signer


def client_from_module(module):
    """An OktaClient from the module's okta_argument_spec() parameters; fail_json on bad input."""
    p = module.params
    if p.get('api_token'):
        auth = SswsAuth(p['api_token'])
    elif p.get('client_id') and p.get('private_key_path'):
        auth = PrivateKeyJwtAuth(p['client_id'], key_signer(p['private_key_path']),
                                 scopes=p.get('scopes') or DEFAULT_SCOPES, key_id=p.get('key_id'),
                                 token_url=p.get('token_url'))
    else:
        module.fail_json(msg='No Okta credentials: set api_token (or OKTA_API_TOKEN) for SSWS, or client_id and '
                             'private_key_path (or OKTA_CLIENT_ID and OKTA_PRIVATE_KEY_PATH) for an OAuth service app.')
    try:
        return OktaClient(p['org_url'], auth, validate_certs=p.get('validate_certs', True), ca_path=p.get('ca_path'),
                          timeout=p.get('timeout') or 30, retry_budget=p.get('retry_budget') or 0)
    except OktaError as e:
        module.fail_json(msg=e.message)
