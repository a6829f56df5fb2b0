# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Okta and PingOne clients share (private to the collection): their error type, the
HTTP settings they call with, and the options every such module takes (doc fragment
``alation.scim.idp_http``).

No I/O here: the transport and the retry arithmetic are in ``_http.py``; each IdP's API is
still driven from its own file (``_okta.py``, ``_pingone.py``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

from ansible_collections.alation.scim.plugins.module_utils._http import send


class IdpError(Exception):
    """A failed IdP call; the message says what was being done and what to do."""

    def __init__(self, message, status=None, code=None):
        super(IdpError, self).__init__(message)
        self.message = message
        self.status = status
        self.code = code


class IdpHttpClient(object):
    """TLS, timeout and wait budget of an IdP client; transport, clock and sleep are injectable
    so that the retry logic can be tested without a network or real waits."""

    def __init__(self, validate_certs=True, ca_path=None, timeout=30, max_wait=120, retries=5,
                 transport=send, clock=time.time, sleep=time.sleep):
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.max_wait = max_wait
        self.retries = retries
        self.transport = transport
        self.clock = clock
        self.sleep = sleep

    def exchange(self, method, url, headers, data=None):
        """One HTTP exchange (no retry): a _http.Response, or _http.TransportError."""
        return self.transport(method, url, headers=headers, data=data, validate_certs=self.validate_certs,
                              ca_path=self.ca_path, timeout=self.timeout)


def idp_http_argument_spec():
    """TLS, timeout and wait budget options (doc fragment alation.scim.idp_http)."""
    return dict(
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='int', default=30),
        max_wait=dict(type='int', default=120),
    )
