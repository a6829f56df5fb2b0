# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one JWT client-assertion builder (RFC 7523, RS256), for every IdP that takes one.

Entra ID (certificate credentials: ``x5t`` / ``x5t#S256`` from the certificate) and Okta
(``private_key_jwt``: ``kid``) differ only in the header, so both come from ``client_assertion``.
Signing: in the controller's process with ``cryptography`` (an ansible-core dependency); where
that library is missing (a module started by another interpreter), with the ``openssl`` CLI, the
data on stdin and the key read by openssl from its file.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import hashlib
import json
import re
import subprocess
import time
import uuid


class SigningError(Exception):
    """Reading or using a key or certificate failed; the message names the file and the fix."""


def b64url(data):
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _compact(obj):
    return b64url(json.dumps(obj, sort_keys=True, separators=(',', ':')))


def pem_certificate_der(pem_text):
    """DER bytes of the first CERTIFICATE block of a PEM text."""
    m = re.search(r'-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----', pem_text, re.S)
    if not m:
        raise ValueError('no "BEGIN CERTIFICATE" block')
    return base64.b64decode(re.sub(r'\s+', '', m.group(1)))


def assertion_header(key_id=None, certificate_der=None):
    header = {'alg': 'RS256', 'typ': 'JWT'}
    if key_id:
        header['kid'] = key_id
    if certificate_der is not None:
        header['x5t#S256'] = b64url(hashlib.sha256(certificate_der).digest())
        # x5t (SHA-1) too: older Entra endpoints only look at it
        header['x5t'] = b64url(hashlib.sha1(certificate_der).digest())
    return header


def assertion_claims(client_id, audience, now, lifetime=300, jti=None):
    now = int(now)
    return {'aud': audience, 'iss': client_id, 'sub': client_id, 'jti': jti or str(uuid.uuid4()),
            'nbf': now, 'iat': now, 'exp': now + int(lifetime)}


def signing_input(header, claims):
    return '%s.%s' % (_compact(header), _compact(claims))


def client_assertion(client_id, audience, sign, key_id=None, certificate_der=None, now=None, lifetime=300,
                     jti=None):
    """A signed client assertion; ``sign(bytes) -> signature bytes`` (RS256)."""
    data = signing_input(assertion_header(key_id, certificate_der),
                         assertion_claims(client_id, audience, time.time() if now is None else now, lifetime, jti))
    return data + '.' + b64url(sign(data.encode('ascii')))


def _sign_with_cryptography(key_path, data):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    with open(key_path, 'rb') as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _sign_with_openssl(key_path, data, openssl):
    # No AnsibleModule here (the signer also runs in the controller's process), so no run_command.
    proc = subprocess.Popen([openssl, 'dgst', '-sha256', '-sign', key_path, '-passin', 'pass:'],  # pylint: disable=ansible-bad-function
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(data)
    if proc.returncode != 0 or not out:
        raise ValueError('openssl rc=%s: %s' % (proc.returncode, err.decode('utf-8', 'replace').strip()[:300]))
    return out


def key_file_signer(key_path, what='the client assertion', openssl='openssl'):
    """sign(bytes) -> RS256 signature with the unencrypted PEM RSA key at key_path."""
    def sign(data):
        try:
            try:
                return _sign_with_cryptography(key_path, data)
            except ImportError:
                return _sign_with_openssl(key_path, data, openssl)
        except (IOError, OSError, ValueError, TypeError) as e:
            raise SigningError('Could not sign %s with the private key %s: %s. The key must be an unencrypted PEM RSA '
                               'private key (matching the certificate registered for the app).' % (what, key_path, e))
    return sign
