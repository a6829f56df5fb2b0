# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP transport and retry arithmetic shared by the IdP clients (Graph today).

Private to the collection.  Pure functions (Retry-After parsing, backoff, the retry budget) are
separate from the one function that does I/O (`send`), so the retry decisions can be unit tested
with a fake transport.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import email.utils
import json
import random
import socket
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

try:
    from http.client import HTTPException
except ImportError:  # Python 2
    from httplib import HTTPException


class TransportError(Exception):
    """No HTTP answer at all (refused, closed, timed out, TLS failure)."""

    def __init__(self, message, tls=False):
        super(TransportError, self).__init__(message)
        self.message = message
        self.tls = tls


class Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        # header names are case-insensitive; keep them lower-cased
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.body = body or b''

    def json(self):
        try:
            text = self.body.decode('utf-8') if isinstance(self.body, bytes) else self.body
            return json.loads(text) if text else None
        except (ValueError, UnicodeDecodeError):
            return None


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    when = calendar.timegm(parsed[:9]) - (parsed[9] or 0)
    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(attempt, base=1.0, cap=30.0, rand=random.random):
    """Exponential backoff with jitter (half to full step), attempt counted from 0."""
    step = min(cap, base * (2 ** attempt))
    return step * (0.5 + rand() / 2.0)


class RetryBudget(object):
    """Total seconds a call may spend waiting between retries."""

    def __init__(self, seconds, clock=time.time, sleep=time.sleep):
        self.seconds = float(seconds)
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.attempts = 0

    def remaining(self):
        return self.seconds - (self.clock() - self.started)

    def wait(self, delay):
        """Sleep `delay` s if the budget allows it; False (no sleep) when it would overrun."""
        if delay > self.remaining():
            return False
        self.attempts += 1
        self.sleep(delay)
        return True


def describe_transport_error(exc):
    """One line for an error raised before any HTTP answer; tls=True for certificate failures."""
    reason = getattr(exc, 'reason', None) or exc
    text = str(reason)
    tls = ('CERTIFICATE_VERIFY_FAILED' in text or 'SSLValidationError' in type(exc).__name__
           or 'certificate verify failed' in text.lower() or "hostname" in text.lower() and 'match' in text.lower())
    return text, tls


def send(method, url, headers=None, data=None, validate_certs=True, ca_path=None, timeout=30):
    """One HTTP request; returns Response for any HTTP status, raises TransportError otherwise."""
    try:
        resp = open_url(url, data=data, headers=headers or {}, method=method, validate_certs=validate_certs,
                        ca_path=ca_path, timeout=timeout, follow_redirects='none', use_netrc=False)
        return Response(resp.getcode(), dict(resp.headers.items()), resp.read())
    except HTTPError as e:
        try:
            body = e.read()
        except Exception:
            body = b''
        return Response(e.code, dict(e.headers.items()) if e.headers else {}, body)
    except (URLError, socket.error, socket.timeout, HTTPException, ValueError) as e:
        text, tls = describe_transport_error(e)
        raise TransportError(text or type(e).__name__, tls=tls)
    except Exception as e:
        # ansible's own SSLValidationError and friends
        text, tls = describe_transport_error(e)
        raise TransportError('%s: %s' % (type(e).__name__, text), tls=tls)
