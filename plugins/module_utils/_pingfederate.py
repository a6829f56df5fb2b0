# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to the PingFederate administrative API (private to the collection).

PingFederate keeps the SCIM provisioner's settings in the SP connection's
``outboundProvision.targetSettings``: a list of config fields ``{name, value, encryptedValue}``.
For an encrypted field a GET never returns ``value``, only ``encryptedValue``; a PUT sets a new
secret with ``value`` and keeps one unchanged when its ``encryptedValue`` is passed back as read.
So the token is pushed by reading the whole connection, setting ``value`` of the token field
(without its ``encryptedValue``), keeping every other field exactly as read, and PUTting the
whole connection back (``GET``/``PUT /pf-admin-api/v1/idp/spConnections/{id}``).  PingFederate
validates the whole object and answers 422 with its ``validationErrors``.  In a cluster the
change reaches the engines by ``POST /pf-admin-api/v1/cluster/replicate``.

Every request carries ``X-XSRF-Header: PingFederate``.  Authentication: basic (a native or LDAP
admin account), an OAuth2 bearer token from client credentials (when the admin API is set to
OAuth2), or a client certificate (mutual TLS, through ApiClient's client_cert / client_key).

The token field's name: PingFederate names plugin config fields by their labels (e.g. the HTML
Form adapter's "Challenge Retries"), and the SCIM provisioner's settings reference calls the
token field "Access Token" (under "OAuth 2 Bearer Token"), hence the default.  Not confirmed
against a live server: it is an option, and a connection without it fails naming the fields it
has.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import copy
import re

from ansible.module_utils.six.moves.urllib.parse import quote, urlencode, urlsplit

from ansible_collections.alation.scim.plugins.module_utils._http import ApiClient, ApiError, http_argument_spec

API_PATH = '/pf-admin-api/v1'
XSRF_HEADER = {'X-XSRF-Header': 'PingFederate'}
DEFAULT_TOKEN_FIELD = 'Access Token'
AUTH_METHODS = ('basic', 'oauth2', 'client_certificate')
# fields never shown even when PingFederate returns them unencrypted
_SECRET_NAME_RE = re.compile(r'(password|secret|token|key)', re.I)
# options each authentication method needs (checked before any request)
AUTH_NEEDS = {
    'basic': ('username', 'password'),
    'oauth2': ('client_id', 'client_secret', 'token_url'),
    'client_certificate': ('client_cert_path', 'client_key_path'),
}
# the same as AnsibleModule / ArgumentSpecValidator required_if rules
AUTH_REQUIRED_IF = tuple(('auth', method, AUTH_NEEDS[method]) for method in AUTH_METHODS)

STATUS_FIXES = {
    401: {
        'basic': ('check username / password of the PingFederate administrator account, and that the admin API '
                  'accepts basic authentication (System > Administrative Accounts; Admin API authentication)'),
        'oauth2': ('the admin API refused the access token: check that the admin API is set to OAuth2 '
                   '(System > Admin API > Authentication) and that the client is allowed as an administrator'),
        'client_certificate': ('the admin API refused the client certificate: check that certificate '
                               'authentication is on and that the certificate is mapped to an administrator'),
    },
    403: ('the account lacks the Administrator role that SP connection changes need (an Auditor or User '
          'Administrator may read but not write): give it the Administrator role in System > Administrative '
          'Accounts, or use another account'),
}


# ------------------------------------------------------------------ pure helpers
def admin_api_url(base_url):
    """The admin API base (``https://host:9999/pf-admin-api/v1``) from the console URL or the API URL."""
    url = (base_url or '').strip().rstrip('/')
    parts = urlsplit(url)
    if parts.scheme != 'https' or not parts.netloc:
        raise ApiError('PingFederate base_url must be an https:// URL (got %r)' % (base_url,),
                       fix='set base_url to the admin console, e.g. https://pingfederate.example.com:9999')
    if url.endswith(API_PATH):
        return url
    return url + API_PATH


def check_auth_options(params):
    """Raise ApiError unless the options of the chosen authentication method are all set."""
    auth = params.get('auth') or 'basic'
    if auth not in AUTH_NEEDS:
        raise ApiError('PingFederate auth must be one of %s (got %r)' % (', '.join(AUTH_METHODS), auth))
    missing = [name for name in AUTH_NEEDS[auth] if not params.get(name)]
    if missing:
        raise ApiError('PingFederate auth=%s needs %s, which %s not set' % (
            auth, ' and '.join(missing), 'is' if len(missing) == 1 else 'are'),
            fix='set %s (or the PINGFEDERATE_* environment variables), or choose another auth' % ', '.join(missing))


def target_settings(connection):
    """The connection's outboundProvision.targetSettings list (empty when it has none)."""
    provision = (connection or {}).get('outboundProvision')
    if not isinstance(provision, dict):
        return []
    fields = provision.get('targetSettings')
    return fields if isinstance(fields, list) else []


def field_names(connection):
    return [f.get('name') for f in target_settings(connection) if isinstance(f, dict)]


def token_field(connection, field_name, connection_id):
    """The token field of the connection; ApiError naming the fields it does have otherwise."""
    if not isinstance((connection or {}).get('outboundProvision'), dict):
        raise ApiError('SP connection %s has no outbound provisioning (outboundProvision is missing)' % connection_id,
                       fix=('check connection_id, or set up outbound provisioning with the SCIM connector on '
                            'that connection (Connection Type: Outbound Provisioning)'))
    for field in target_settings(connection):
        if isinstance(field, dict) and field.get('name') == field_name:
            return field
    names = field_names(connection)
    raise ApiError('SP connection %s has no target setting named %r; its outbound provisioning (type %s) has: %s' % (
        connection_id, field_name, connection['outboundProvision'].get('type'),
        ', '.join(repr(n) for n in names) or 'no target settings'),
        fix='set token_field to the name of the field that holds the bearer token (one of those listed)')


def field_is_set(field):
    return bool(field.get('encryptedValue') or field.get('value'))


def updated_connection(connection, field_name, token, connection_id):
    """The connection to PUT: the token field's ``value`` set (its encryptedValue dropped), every
    other field and attribute exactly as read (encrypted ones keep their encryptedValue)."""
    token_field(connection, field_name, connection_id)
    new = copy.deepcopy(connection)
    for field in target_settings(new):
        if isinstance(field, dict) and field.get('name') == field_name:
            field.pop('encryptedValue', None)
            field['value'] = token
    return new


def provisioning_state(connection, field_name):
    """What may be shown of a connection's provisioning: names, states, non-secret values; never a
    secret (encrypted fields show only whether they are set)."""
    connection = connection or {}
    provision = connection.get('outboundProvision') if isinstance(connection.get('outboundProvision'), dict) else {}
    fields = []
    for field in target_settings(connection):
        if not isinstance(field, dict):
            continue
        encrypted = any(('encryptedValue' in field, field.get('name') == field_name,
                         bool(_SECRET_NAME_RE.search(field.get('name') or ''))))
        item = {'name': field.get('name'), 'encrypted': encrypted, 'set': field_is_set(field)}
        if not encrypted:
            item['value'] = field.get('value')
        fields.append(item)
    token = [f for f in fields if f['name'] == field_name]
    return {
        'id': connection.get('id'), 'name': connection.get('name'), 'entity_id': connection.get('entityId'),
        'active': connection.get('active'), 'provisioning_type': provision.get('type'),
        'target_settings': fields,
        'channels': [{'name': c.get('name'), 'active': c.get('active')}
                     for c in provision.get('channels') or [] if isinstance(c, dict)],
        'token_field': field_name, 'token_field_present': bool(token), 'token_field_set': bool(token and token[0]['set']),
    }


def validation_errors(body):
    """'fieldPath: message' lines of a PingFederate ApiResult (422)."""
    lines = []
    for err in (body or {}).get('validationErrors') or []:
        if isinstance(err, dict):
            text = err.get('message') or err.get('errorId') or ''
            lines.append('%s: %s' % (err['fieldPath'], text) if err.get('fieldPath') else text)
    return lines


def describe_error(status, body, doing, auth, connection_id=None):
    """(reason, code, fix) for a PingFederate answer that is not accepted."""
    body = body if isinstance(body, dict) else {}
    code = body.get('resultId')
    text = '%s: PingFederate answered HTTP %s' % (doing, status)
    if body.get('message'):
        text += ' (%s%s)' % ('%s: ' % code if code else '', body['message'])
    fix = None
    if status == 401:
        fix = STATUS_FIXES[401].get(auth)
    elif status == 403:
        fix = STATUS_FIXES[403]
    elif status == 404 and connection_id:
        fix = ('check connection_id: the SP connection\'s ID is shown in SP Connections > the connection, or listed '
               'by GET /pf-admin-api/v1/idp/spConnections')
    elif status == 422:
        errors = validation_errors(body)
        if errors:
            text += ': ' + '; '.join(errors)
        fix = 'correct the SP connection in PingFederate so that it validates, then re-run'
    return text, code, fix


# ------------------------------------------------------------------ the client
class PingFederateClient(ApiClient):
    service = 'PingFederate'
    url_fix = 'check base_url (the admin console, port 9999 by default) and the network path from the controller'

    def __init__(self, base_url, auth='basic', username=None, password=None, client_id=None, client_secret=None,
                 token_url=None, scope=None, client_cert_path=None, client_key_path=None, **http_options):
        check_auth_options(dict(auth=auth, username=username, password=password, client_id=client_id,
                                client_secret=client_secret, token_url=token_url, client_cert_path=client_cert_path,
                                client_key_path=client_key_path))
        if auth == 'client_certificate':
            http_options.update(client_cert=client_cert_path, client_key=client_key_path)
        super(PingFederateClient, self).__init__(**http_options)
        self.api_url = admin_api_url(base_url)
        self.auth = auth
        self.username = username
        self.password = password
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.scope = scope
        self._token = None
        self._expires = 0

    # ---- authentication
    def auth_headers(self, doing):
        headers = dict(XSRF_HEADER)
        if self.auth == 'basic':
            pair = ('%s:%s' % (self.username, self.password)).encode('utf-8')
            headers['Authorization'] = 'Basic ' + base64.b64encode(pair).decode('ascii')
        elif self.auth == 'oauth2':
            headers['Authorization'] = 'Bearer ' + self.access_token()
        return headers

    def refresh_auth(self, resp):
        if self.auth != 'oauth2':
            return False
        self._token = None
        return True

    def access_token(self):
        if self._token and self.clock() < self._expires - 30:
            return self._token
        doing = 'Getting an access token for the PingFederate admin API (client %s) from %s' % (
            self.client_id, self.token_url.split('?')[0])
        form = [('grant_type', 'client_credentials')]
        if self.scope:
            form.append(('scope', self.scope))
        pair = ('%s:%s' % (quote(self.client_id, safe=''), quote(self.client_secret, safe=''))).encode('utf-8')
        headers = {'Content-Type': 'application/x-www-form-urlencoded',
                   'Authorization': 'Basic ' + base64.b64encode(pair).decode('ascii')}
        body = self.request('POST', self.token_url, doing, headers=headers, data=urlencode(form), auth=False,
                            describe=self._describe_token_error).json() or {}
        if not body.get('access_token'):
            raise ApiError(doing + ': the answer carried no access_token',
                           fix='check that token_url is the token endpoint of the OAuth server the admin API trusts')
        self._token = body['access_token']
        self._expires = self.clock() + int(body.get('expires_in') or 300)
        return self._token

    @staticmethod
    def _describe_token_error(resp, doing):
        body = resp.json() if isinstance(resp.json(), dict) else {}
        error = body.get('error')
        text = '%s: the token endpoint answered HTTP %s%s' % (
            doing, resp.status, ' %s: %s' % (error, body.get('error_description') or '') if error else '')
        fix = None
        if error in ('invalid_client', 'unauthorized_client') or resp.status == 401:
            fix = ('check client_id / client_secret, and that the client may use the client_credentials grant '
                   '(its scope must be one the admin API accepts)')
        elif resp.status == 404:
            fix = 'check token_url (PingFederate: https://<runtime host>:9031/as/token.oauth2)'
        return text, error, fix

    # ---- requests
    def call(self, method, path, doing, body=None, connection_id=None, accept=None):
        url = self.api_url + path
        return self.request(method, url, doing, body=body, accept=accept,
                            describe=lambda resp, what: describe_error(resp.status, resp.json(), what, self.auth,
                                                                       connection_id))

    def get_connection(self, connection_id):
        return self.call('GET', '/idp/spConnections/%s' % quote(connection_id, safe=''),
                         'Reading SP connection %s from PingFederate at %s' % (connection_id, self.api_url),
                         connection_id=connection_id).json() or {}

    def put_connection(self, connection_id, connection, doing=None):
        return self.call('PUT', '/idp/spConnections/%s' % quote(connection_id, safe=''),
                         doing or 'Saving the new token in SP connection %s of PingFederate at %s' % (
                             connection_id, self.api_url),
                         body=connection, connection_id=connection_id).json() or {}

    def replicate(self):
        """POST /cluster/replicate: push the admin node's configuration to the engines."""
        return self.call('POST', '/cluster/replicate',
                         'Replicating the configuration to the cluster\'s engine nodes (%s)' % self.api_url).json()


def pingfederate_argument_spec():
    """Connection options of the PingFederate module and driver (doc fragment alation.scim.pingfederate)."""
    from ansible.module_utils.basic import env_fallback
    spec = http_argument_spec()
    spec.update(
        base_url=dict(type='str', required=True, fallback=(env_fallback, ['PINGFEDERATE_ADMIN_URL'])),
        auth=dict(type='str', default='basic', choices=list(AUTH_METHODS), fallback=(env_fallback, ['PINGFEDERATE_AUTH'])),
        username=dict(type='str', fallback=(env_fallback, ['PINGFEDERATE_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['PINGFEDERATE_PASSWORD'])),
        client_id=dict(type='str', fallback=(env_fallback, ['PINGFEDERATE_CLIENT_ID'])),
        client_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['PINGFEDERATE_CLIENT_SECRET'])),
        token_url=dict(type='str', no_log=False, fallback=(env_fallback, ['PINGFEDERATE_TOKEN_URL'])),
        scope=dict(type='str'),
        client_cert_path=dict(type='path', fallback=(env_fallback, ['PINGFEDERATE_CLIENT_CERT'])),
        client_key_path=dict(type='path', no_log=False, fallback=(env_fallback, ['PINGFEDERATE_CLIENT_KEY'])),
        connection_id=dict(type='str', required=True),
        token_field=dict(type='str', default=DEFAULT_TOKEN_FIELD, no_log=False),
        replicate=dict(type='bool', default=False),
    )
    spec['ca_path']['fallback'] = (env_fallback, ['PINGFEDERATE_CA_PATH'])
    return spec


def client_from_params(params, **overrides):
    """A PingFederateClient from the options of pingfederate_argument_spec(); ApiError on bad options."""
    p = params
    kw = dict(validate_certs=p['validate_certs'], ca_path=p.get('ca_path'), timeout=p['timeout'],
              retry_budget=p['retry_budget'])
    kw.update(overrides)
    return PingFederateClient(p['base_url'], auth=p.get('auth') or 'basic', username=p.get('username'),
                              password=p.get('password'), client_id=p.get('client_id'),
                              client_secret=p.get('client_secret'), token_url=p.get('token_url'), scope=p.get('scope'),
                              client_cert_path=p.get('client_cert_path'), client_key_path=p.get('client_key_path'),
                              **kw)


def connection_target(params):
    """Stable, non-secret name of the connection (recorded with the push fingerprint)."""
    return '%s#spConnection=%s' % (admin_api_url(params['base_url']), params['connection_id'])
