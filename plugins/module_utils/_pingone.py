# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to the PingOne platform API (private to the collection).

A PingOne SCIM propagation store (outbound provisioning connection) keeps Alation's token in
``configuration.OAUTH_ACCESS_TOKEN`` (authentication method "OAuth 2 Bearer Token").  PingOne
replaces the whole store on ``PUT``, so the store is read, only that key is replaced and the
object is written back as read; changes reach provisioning when a propagation revision is
created (``POST .../propagation/revisions``, which also starts a resync).  Needs a worker
app with the Environment Admin role (client credentials at ``{auth}/{envID}/as/token``).

The store read back can carry secrets in clear (PingOne's own example shows
BASIC_AUTH_PASSWORD), so anything returned passes through redact_store() first.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import copy
import re

from ansible.module_utils.six import string_types  # pylint: disable=ansible-bad-import-from  # Python 2.7 hosts
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode, urlsplit

from ansible_collections.alation.scim.plugins.module_utils._http import ApiClient, ApiError, http_argument_spec

# Region code -> top-level domain of api.pingone.<tld> / auth.pingone.<tld>
REGIONS = {'NA': 'com', 'EU': 'eu', 'AP': 'asia', 'CA': 'ca', 'AU': 'com.au'}
TOKEN_KEY = 'OAUTH_ACCESS_TOKEN'
BEARER_METHOD = 'OAuth 2 Bearer Token'
REDACTED = '********'
_SECRET_KEY_RE = re.compile(r'(PASSWORD|SECRET|TOKEN)', re.I)
# What a masked read-back may look like (PingOne's behaviour is not documented): the key left out,
# null, empty, or a run of mask characters.
_MASK_RE = re.compile(u'^[*\u2022xX#]{3,}$')

STATUS_HINTS = {
    401: ('PingOne refused the access token: check client_id / client_secret of the worker app and that it '
          'belongs to auth_environment_id.'),
    403: ('the worker app lacks the Environment Admin role on environment %(env)s: assign it in PingOne '
          '(Applications > the worker app > Roles > Environment Admin for %(env)s).'),
    404: ('no propagation store %(store)s in environment %(env)s: check store_id (Integrations > Provisioning > '
          'the connection) and environment_id.'),
}
TOKEN_HINTS = {
    'invalid_client': ('check client_id / client_secret of the worker app, and token_auth_method (the app\'s Token '
                       'Endpoint Authentication Method: client_secret_basic or client_secret_post).'),
    'unauthorized_client': 'the app must be a Worker app allowed the client_credentials grant.',
}


class PingOneError(ApiError):
    """A failed PingOne call; the message says what was being done and what to do."""


# ------------------------------------------------------------------ pure helpers
def base_urls(region='NA', api_url=None, auth_url=None):
    """(api base, auth base) without trailing slashes; explicit URLs win over the region."""
    if region not in REGIONS:
        raise PingOneError('region must be one of %s (got %r).' % (', '.join(sorted(REGIONS)), region))
    tld = REGIONS[region]
    api = (api_url or 'https://api.pingone.%s' % tld).rstrip('/')
    auth = (auth_url or 'https://auth.pingone.%s' % tld).rstrip('/')
    for name, url in (('api_url', api), ('auth_url', auth)):
        if urlsplit(url).scheme != 'https' or not urlsplit(url).netloc:
            raise PingOneError('%s must be an https:// URL (got %r).' % (name, url))
    if api.endswith('/v1'):
        api = api[:-3]
    return api, auth


def redact_store(store):
    """A copy of the store fit to print: every secret-looking configuration value masked."""
    out = copy.deepcopy(store or {})
    conf = out.get('configuration')
    if isinstance(conf, dict):
        for key in list(conf):
            if _SECRET_KEY_RE.search(key) and conf[key] not in (None, ''):
                conf[key] = REDACTED
    return out


def secret_values(store):
    """Secret-looking configuration values of a store as read (to keep them out of any output)."""
    conf = (store or {}).get('configuration') or {}
    return [v for k, v in conf.items() if _SECRET_KEY_RE.search(k) and isinstance(v, string_types) and not is_masked(v)]


def is_masked(value):
    """True when a secret read back is not the value itself (absent, empty or masked)."""
    return value is None or not isinstance(value, string_types) or not value.strip() or bool(_MASK_RE.match(value))


def stored_token_matches(store, token):
    """True / False when the store reads back its token in clear, None when PingOne masks it."""
    value = ((store or {}).get('configuration') or {}).get(TOKEN_KEY)
    if is_masked(value):
        return None
    return value == token


def updated_store(store, token, store_id):
    """(store to PUT, changed): the store as read with only configuration.OAUTH_ACCESS_TOKEN replaced.

    A secret field read back masked is left out of the PUT rather than written back as its mask
    (which would overwrite the real value).  ``changed`` is True when the stored token differs or
    cannot be read.  Raises PingOneError when the store is not a SCIM store using the bearer token
    method.
    """
    if not isinstance(store, dict) or not isinstance(store.get('configuration'), dict):
        raise PingOneError('Propagation store %s has no configuration object: it is not a SCIM store.' % store_id)
    kind = str(store.get('type', '')).lower()
    if kind != 'scim':
        raise PingOneError('Propagation store %s is of type %r, not SCIM: check store_id.' % (store_id, store.get('type')))
    method = store['configuration'].get('AUTHENTICATION_METHOD')
    if method != BEARER_METHOD:
        raise PingOneError('Propagation store %s authenticates with %r, not %r: switch the connection to "OAuth 2 '
                           'Bearer Token" in PingOne first, so that it sends Alation\'s token as a bearer token.'
                           % (store_id, method, BEARER_METHOD))
    new = copy.deepcopy(store)
    conf = new['configuration']
    for key in list(conf):
        if key != TOKEN_KEY and _SECRET_KEY_RE.search(key) and isinstance(conf[key], string_types) \
                and is_masked(conf[key]) and conf[key].strip():
            del conf[key]
    changed = stored_token_matches(store, token) is not True
    conf[TOKEN_KEY] = token
    return new, changed


def read_back(store):
    """How the store shows its token: 'clear', 'masked' (a mask, null or empty) or 'omitted' (no key)."""
    conf = (store or {}).get('configuration') or {}
    if TOKEN_KEY not in conf:
        return 'omitted'
    return 'masked' if is_masked(conf[TOKEN_KEY]) else 'clear'


def secrets_cleared(before, after):
    """Secret fields other than the token that the store showed before a PUT (in clear or masked)
    and that the store PingOne answered the PUT with no longer has: PingOne dropped what could not
    be sent back.  [] when the answer carries no configuration (nothing to tell from)."""
    conf_after = (after or {}).get('configuration') if isinstance(after, dict) else None
    if not isinstance(conf_after, dict):
        return []
    conf_before = (before or {}).get('configuration') or {}

    def was_set(key, value):
        return key != TOKEN_KEY and _SECRET_KEY_RE.search(key) and isinstance(value, string_types) and value.strip()
    return sorted(key for key, value in conf_before.items() if was_set(key, value) and conf_after.get(key) in (None, ''))


def describe_error(status, body, doing, env_id, store_id=None):
    """(reason, code, fix) for a PingOne error answer (platform API or its token endpoint)."""
    if isinstance(body, dict) and body.get('error'):
        code = body.get('error')
        return ('%s: PingOne answered HTTP %s %s: %s' % (doing, status, code, body.get('error_description') or ''),
                code, TOKEN_HINTS.get(code))
    code = body.get('code') if isinstance(body, dict) else None
    text = '%s: PingOne answered HTTP %s' % (doing, status)
    if code:
        text += ' %s: %s' % (code, body.get('message') or '')
        details = [d.get('message') or d.get('code') for d in body.get('details') or [] if isinstance(d, dict)]
        if details:
            text += ' (%s)' % '; '.join(str(d) for d in details if d)
    hint = STATUS_HINTS.get(status)
    if hint and not (status == 404 and store_id is None):
        return text, code, hint % {'env': env_id, 'store': store_id}
    return text, code, None


# ------------------------------------------------------------------ the client
class PingOneClient(ApiClient):
    service = 'PingOne'
    error_class = PingOneError
    max_attempts = 6
    url_fix = 'check region / api_url / auth_url and the network path to PingOne'

    def __init__(self, environment_id, client_id, client_secret, region='NA', api_url=None, auth_url=None,
                 auth_environment_id=None, token_auth_method='client_secret_basic', **http_options):
        super(PingOneClient, self).__init__(**http_options)
        self.env_id = environment_id
        self.auth_env_id = auth_environment_id or environment_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_url, self.auth_url = base_urls(region, api_url, auth_url)
        self.token_auth_method = token_auth_method
        self._token = None
        self._expires = 0
        self._store_id = None

    def describe(self, resp, doing):
        reason, code, fix = describe_error(resp.status, resp.json(), doing, self.env_id, self._store_id)
        if resp.status == 429:
            fix = 'PingOne kept throttling for longer than retry_budget (%s s): retry later.' % self.retry_budget
        return reason + self.retry_note(resp), code, fix or self.status_fix(resp)

    def access_token(self):
        if self._token and self.clock() < self._expires - 60:
            return self._token
        url = '%s/%s/as/token' % (self.auth_url, quote(self.auth_env_id, safe=''))
        doing = 'Getting a PingOne access token for worker app %s from %s' % (self.client_id, url)
        form = [('grant_type', 'client_credentials')]
        headers = {'Content-Type': 'application/x-www-form-urlencoded'}
        if self.token_auth_method == 'client_secret_post':
            form += [('client_id', self.client_id), ('client_secret', self.client_secret)]
        else:
            pair = ('%s:%s' % (quote(self.client_id, safe=''), quote(self.client_secret, safe=''))).encode('utf-8')
            headers['Authorization'] = 'Basic ' + base64.b64encode(pair).decode('ascii')
        body = self.request('POST', url, doing, headers=headers, data=urlencode(form), auth=False).json() or {}
        if not body.get('access_token'):
            raise PingOneError(doing + ': the answer carried no access_token.')
        self._token = body['access_token']
        self._expires = self.clock() + int(body.get('expires_in') or 3600)
        return self._token

    def auth_headers(self, doing):
        return {'Authorization': 'Bearer ' + self.access_token()}

    def refresh_auth(self, resp):
        self._token = None  # an access token revoked or expired early: one fresh one
        return True

    def call(self, method, path, doing, body=None, store_id=None):
        self._store_id = store_id
        url = '%s/v1/environments/%s%s' % (self.api_url, quote(self.env_id, safe=''), path)
        return self.request(method, url, doing, body=body).json()

    def get_store(self, store_id):
        return self.call('GET', '/propagation/stores/%s' % quote(store_id, safe=''),
                         'Reading propagation store %s of environment %s' % (store_id, self.env_id), store_id=store_id)

    def put_store(self, store_id, store):
        return self.call('PUT', '/propagation/stores/%s' % quote(store_id, safe=''),
                         'Saving the new token in propagation store %s of environment %s' % (store_id, self.env_id),
                         body=store, store_id=store_id)

    def create_revision(self, store_id):
        return self.call('POST', '/propagation/revisions',
                         'Applying the change of store %s with a propagation revision in environment %s'
                         % (store_id, self.env_id), body={}, store_id=store_id)


def pingone_argument_spec():
    """Connection options of PingOne modules (doc fragments alation.scim.pingone_auth, idp_http)."""
    from ansible.module_utils.basic import env_fallback
    spec = http_argument_spec()
    spec.update(
        environment_id=dict(type='str', required=True, fallback=(env_fallback, ['PINGONE_ENVIRONMENT_ID'])),
        auth_environment_id=dict(type='str'),
        client_id=dict(type='str', required=True, fallback=(env_fallback, ['PINGONE_CLIENT_ID'])),
        client_secret=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['PINGONE_CLIENT_SECRET'])),
        token_auth_method=dict(type='str', default='client_secret_basic',
                               choices=['client_secret_basic', 'client_secret_post']),
        region=dict(type='str', default='NA', choices=sorted(REGIONS),
                    fallback=(env_fallback, ['PINGONE_REGION_CODE'])),
        api_url=dict(type='str'),
        auth_url=dict(type='str'),
    )
    return spec


def client_from_module(module):
    p = module.params
    try:
        return PingOneClient(p['environment_id'], p['client_id'], p['client_secret'], region=p['region'],
                             api_url=p.get('api_url'), auth_url=p.get('auth_url'),
                             auth_environment_id=p.get('auth_environment_id'),
                             token_auth_method=p['token_auth_method'], validate_certs=p['validate_certs'],
                             ca_path=p.get('ca_path'), timeout=p['timeout'], retry_budget=p['retry_budget'])
    except PingOneError as e:
        module.fail_json(msg=e.message)
