# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client under every IdP API (private to the collection).

``ApiClient`` owns what every IdP client needs and none should write again: TLS options
(validate_certs, ca_path, a client certificate), the timeout, retries of throttling and server
errors within a retry budget (``Retry-After`` honoured, exponential backoff with jitter
otherwise), one fresh credential after a 401, and the error shape: ``ApiError`` says what was
being done, what the API answered, and ``Fix:`` what to do.  Each IdP's file (``_graph.py``,
``_pingone.py``, ``_okta.py`` ...) subclasses it and adds only its authentication, its error
body and its hints.

Pure functions (Retry-After parsing, backoff, the budget) are apart from the one function that
does I/O (``send``), so the retry decisions are unit tested with a fake transport and clock.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import email.utils
import json
import os
import random
import select
import socket
import threading
import time

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible.module_utils.six.moves.urllib.request import getproxies, proxy_bypass


class TransportError(Exception):
    """No HTTP answer at all (refused, closed, timed out, TLS failure)."""

    def __init__(self, message, tls=False):
        super(TransportError, self).__init__(message)
        self.message = message
        self.tls = tls


class ApiError(Exception):
    """A failed API call.  ``message`` is the whole text a person reads (what was being done,
    what the API said, ``Fix: ...``); ``reason`` and ``fix`` are its two halves."""

    def __init__(self, reason, fix=None, status=None, code=None):
        reason = reason.strip()
        if fix and not reason.endswith(('.', '!', '?', ')')):
            reason += '.'
        message = '%s Fix: %s' % (reason, fix) if fix else reason
        super(ApiError, self).__init__(message)
        self.message = message
        self.reason = reason
        self.fix = fix
        self.status = status
        self.code = code


class Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        # header names are case-insensitive; keep them lower-cased
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.body = body or b''
        self.attempts = 1
        self.waited = 0.0

    def json(self):
        try:
            text = self.body.decode('utf-8') if isinstance(self.body, bytes) else self.body
            return json.loads(text) if text else None
        except (ValueError, UnicodeDecodeError):
            return None

    def text(self, limit=300):
        raw = self.body.decode('utf-8', 'replace') if isinstance(self.body, bytes) else '%s' % (self.body,)
        return raw[:limit].strip()


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

    def spent(self):
        return self.clock() - self.started

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
    lowered = text.lower()
    tls = any(('CERTIFICATE_VERIFY_FAILED' in text, 'SSLValidationError' in type(exc).__name__,
               'certificate verify failed' in lowered, 'hostname' in lowered and 'match' in lowered))
    return text, tls


# One SSLContext per set of TLS options and process (see tls_context), and whether a Request class
# takes one (asked once per class, not per request).
_TLS_CONTEXTS = {}
_TAKES_CONTEXT = {}


def _request_takes_context(request_class):
    """Whether this ansible-core's Request.open takes a ready SSLContext (2.17 and later; 2.16 builds its own)."""
    takes = _TAKES_CONTEXT.get(request_class)
    if takes is None:
        code = getattr(getattr(request_class.open, '__func__', request_class.open), '__code__', None)
        takes = _TAKES_CONTEXT[request_class] = code is not None and 'context' in code.co_varnames[:code.co_argcount]
    return takes


def tls_context(validate_certs=True, ca_path=None, client_cert=None, client_key=None):
    """The SSLContext that ansible's open_url builds for these options, built once per process.

    open_url builds it again for every request, and without ca_path that means reading the whole
    system CA store twice (ssl's default paths, then every bundle ansible finds): about 25 ms of
    controller CPU per request with a distribution's bundle, and a rotation makes up to 10 requests
    per host (the IdP's, then the two SCIM checks). The rotation cycle's action plugin builds the
    system one in the controller's main process, so every worker inherits it. Returns None where
    Request.open cannot take a context (2.16).
    """
    from ansible.module_utils.urls import Request, make_context
    if not _request_takes_context(Request):
        return None
    key = (bool(validate_certs), ca_path, client_cert, client_key)
    context = _TLS_CONTEXTS.get(key)
    if context is None:
        context = _TLS_CONTEXTS[key] = make_context(cafile=ca_path, validate_certs=validate_certs,
                                                    client_cert=client_cert, client_key=client_key)
    return context


class ConnectionPool(object):
    """Idle kept-alive connections of this process, per origin and SSLContext (the TLS options).

    A rotation makes several calls to one IdP within seconds (its token, the reads, the push, the
    proof): without keep-alive each one pays a TCP and a TLS handshake, a round trip or two to a
    cloud IdP and a few ms of CPU at both ends. A connection serves one request at a time (the
    cycle's threads take their own); one that the server closed while idle is not reused."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle = {}
        self.pid = os.getpid()

    def _own(self):
        if self.pid != os.getpid():  # inherited across a fork: those sockets are the parent's
            self.idle, self.pid = {}, os.getpid()

    def take(self, key):
        with self.lock:
            self._own()
            idle = self.idle.get(key) or []
            while idle:
                conn = idle.pop()
                if still_open(conn):
                    return conn
                conn.close()
        return None

    def give(self, key, conn):
        with self.lock:
            self._own()
            self.idle.setdefault(key, []).append(conn)

    def close(self):
        with self.lock:
            for idle in self.idle.values():
                for conn in idle:
                    conn.close()
            self.idle = {}


POOL = ConnectionPool()


def still_open(conn):
    """Whether an idle connection can take a request: readable means the server closed it (or
    sent what nobody asked for), and either way it is not reused."""
    sock = getattr(conn, 'sock', None)
    if sock is None:
        return False
    try:
        return not select.select([sock], [], [], 0)[0]
    except (ValueError, select.error, socket.error):
        return False


def proxied(parts):
    """Whether the environment sends this URL (urlsplit's parts) through a proxy (urllib's rules, as
    open_url has them)."""
    return parts.scheme in getproxies() and not proxy_bypass(parts.hostname or '')


def closed_while_idle(error):
    """Whether a request's error on a reused connection means the server closed it before it answered
    (not a timeout: the server may be working on it). The request then goes again, once, on a new
    connection; ApiClient.request sends again after any transport error anyway, after a backoff."""
    return isinstance(error, (http_client.BadStatusLine, socket.error)) and not isinstance(error, socket.timeout)


def _kept_alive(method, parts, headers, data, context, timeout):
    """One exchange over a pooled connection to urlsplit's parts: (status, headers, body)."""
    key = (parts.scheme, parts.hostname, parts.port, context)
    target = (parts.path or '/') + ('?' + parts.query if parts.query else '')
    headers = dict(headers)
    # What open_url would have sent, without its Connection: close.
    if not any(k.lower() == 'user-agent' for k in headers):
        headers['User-Agent'] = 'ansible-httpget'
    if data is not None and not any(k.lower() == 'content-type' for k in headers):
        headers['Content-Type'] = 'application/x-www-form-urlencoded'
    if data is not None and not isinstance(data, bytes):
        data = data.encode('utf-8')
    conn = POOL.take(key)
    while True:
        reused = conn is not None
        if conn is None:
            if parts.scheme == 'https':
                conn = http_client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
            else:
                conn = http_client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        try:
            conn.request(method, target, body=data, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except Exception as e:
            conn.close()
            if reused and closed_while_idle(e):
                conn = None
                continue
            raise
        if resp.will_close:
            conn.close()
        else:
            POOL.give(key, conn)
        return resp.status, dict(resp.getheaders()), body


def send(method, url, headers=None, data=None, validate_certs=True, ca_path=None, timeout=30, **tls):
    """One HTTP request; returns Response for any HTTP status, raises TransportError otherwise.

    ``tls`` may carry client_cert / client_key (mutual TLS). Over a kept-alive connection of the
    process's pool when the SSLContext is ours (ansible-core 2.17 and later) and no proxy applies;
    otherwise with ansible's open_url (``Request``), which honours the proxy environment."""
    try:
        from http.client import HTTPException
    except ImportError:  # Python 2
        from httplib import HTTPException
    try:
        context = tls_context(validate_certs, ca_path, tls.get('client_cert'), tls.get('client_key'))
        parts = urlsplit(url)
        if context is not None and parts.scheme in ('http', 'https') and not proxied(parts):
            return Response(*_kept_alive(method, parts, headers or {}, data, context, timeout))
        # Imported here, not with this file, which modules may use without HTTP; the rotation cycle's action
        # plugin preloads it in the controller's main process, so its workers inherit it.
        from ansible.module_utils.urls import Request
        options = dict(data=data, headers=headers or {}, validate_certs=validate_certs, ca_path=ca_path,
                       timeout=timeout, follow_redirects='none', use_netrc=False, **tls)
        if context is not None:
            options['context'] = context
        resp = Request().open(method, url, **options)
        return Response(resp.getcode(), dict(resp.headers.items()), resp.read())
    except HTTPError as e:
        try:
            body = e.read()
        except Exception:
            body = b''
        return Response(e.code, dict(e.headers.items()) if e.headers else {}, body)
    except (URLError, socket.error, socket.timeout, HTTPException, ValueError) as e:
        text, tls_failed = describe_transport_error(e)
        raise TransportError(text or type(e).__name__, tls=tls_failed)
    except Exception as e:
        # ansible's own SSLValidationError and friends
        text, tls_failed = describe_transport_error(e)
        raise TransportError('%s: %s' % (type(e).__name__, text), tls=tls_failed)


def http_argument_spec(retry_budget=120):
    """TLS, timeout and retry options every IdP client takes (doc fragment alation.scim.idp_http)."""
    return dict(
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='int', default=30),
        retry_budget=dict(type='int', default=retry_budget, aliases=['max_wait']),
    )


class ApiClient(object):
    """TLS, timeout, retries and error wording for one API; subclasses add auth and hints.

    ``transport``, ``clock`` and ``sleep`` are injectable so that tests need no network and no
    real waits.  Subclass hooks: ``auth_headers(doing)``, ``refresh_auth()`` (True when a new
    credential is worth one more try after a 401), ``before_send(budget, doing)``,
    ``after_response(resp)``, ``retry_delay(resp, attempt)`` and ``describe(resp, doing)``.
    """

    service = 'the API'
    error_class = ApiError
    retry_statuses = (429, 500, 502, 503, 504)
    max_attempts = 8
    url_fix = 'check the URL options and the network path from the controller (proxy, firewall)'
    ca_fix = ('set ca_path to the PEM bundle of the CA that signed its certificate '
              '(validate_certs=false only for throw-away labs)')

    def __init__(self, validate_certs=True, ca_path=None, timeout=30, retry_budget=120, client_cert=None,
                 client_key=None, transport=None, clock=time.time, sleep=time.sleep):
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retry_budget = retry_budget
        self.tls = dict((k, v) for k, v in (('client_cert', client_cert), ('client_key', client_key)) if v)
        self.transport = transport or send
        self.clock = clock
        self.sleep = sleep

    # ---- hooks -----------------------------------------------------------------------------
    def auth_headers(self, doing):
        return {}

    def refresh_auth(self, resp):
        """After a 401: True when a fresh credential is worth one more try (it was dropped)."""
        return False

    def before_send(self, budget, doing):
        pass

    def after_response(self, resp):
        pass

    def retry_delay(self, resp, attempt):
        wait = parse_retry_after(resp.headers.get('retry-after')) if resp.status in (429, 503) else None
        return wait if wait is not None else backoff_delay(attempt)

    def describe(self, resp, doing):
        """(reason, code, fix) for an answer that was not accepted."""
        reason = '%s: %s answered HTTP %s: %s' % (doing, self.service, resp.status, resp.text() or '(empty body)')
        return reason + self.retry_note(resp), None, self.status_fix(resp)

    def retry_note(self, resp):
        if resp.attempts <= 1:
            return ''
        return ' (after %d attempts over %.0f s, retry_budget %s s)' % (resp.attempts, resp.waited, self.retry_budget)

    def status_fix(self, resp):
        if getattr(resp, 'retry_refused', False):
            return '%s asked to wait longer than the remaining retry_budget (%s s): raise retry_budget' % (
                self.service, self.retry_budget)
        if resp.status in self.retry_statuses:
            return '%s kept answering HTTP %s: retry later, or raise retry_budget' % (self.service, resp.status)
        return None

    # ---- the request -----------------------------------------------------------------------
    def exchange(self, method, url, headers, data=None):
        """One HTTP exchange, no retry: a Response, or TransportError."""
        return self.transport(method, url, headers=headers, data=data, validate_certs=self.validate_certs,
                              ca_path=self.ca_path, timeout=self.timeout, **self.tls)

    def request(self, method, url, doing, headers=None, data=None, body=None, accept=None, retry_statuses=None,
                auth=True, describe=None):
        """Send until an accepted answer (default: any 2xx), retrying within the budget.

        ``body`` is sent as JSON; ``data`` as it is.  Raises ``error_class`` (worded by
        ``describe``) for any other answer, and for no answer at all.
        """
        headers = dict(headers or {})
        headers.setdefault('Accept', 'application/json')
        if body is not None:
            data = json.dumps(body)
            headers.setdefault('Content-Type', 'application/json')
        retry_statuses = self.retry_statuses if retry_statuses is None else retry_statuses
        budget = RetryBudget(self.retry_budget, clock=self.clock, sleep=self.sleep)
        where = url.split('?')[0]
        attempt = 0
        refreshed = False
        while True:
            self.before_send(budget, doing)
            sent = dict(headers)
            if auth:
                sent.update(self.auth_headers(doing))
            try:
                resp = self.exchange(method, url, sent, data)
            except TransportError as e:
                if e.tls:
                    raise self.error_class('%s: TLS certificate verification failed for %s (%s).'
                                           % (doing, where, e.message), fix=self.ca_fix)
                if attempt + 1 >= self.max_attempts or not budget.wait(backoff_delay(attempt)):
                    raise self.error_class('%s: no answer from %s (%s); gave up after %d attempt(s) within '
                                           'retry_budget %s s.' % (doing, where, e.message, attempt + 1,
                                                                   self.retry_budget), fix=self.url_fix)
                attempt += 1
                continue
            resp.attempts, resp.waited = attempt + 1, budget.spent()
            self.after_response(resp)
            if (200 <= resp.status < 300) if accept is None else (resp.status in accept):
                return resp
            if resp.status == 401 and auth and not refreshed and self.refresh_auth(resp):
                refreshed = True
                continue
            if resp.status in retry_statuses and attempt + 1 < self.max_attempts:
                delay = self.retry_delay(resp, attempt)
                if budget.wait(delay):
                    attempt += 1
                    continue
                resp.retry_refused = delay > budget.remaining()
            reason, code, fix = (describe or self.describe)(resp, doing)
            raise self.error_class(reason, fix=fix, status=resp.status, code=code)

    def request_json(self, method, url, doing, **kw):
        return self.request(method, url, doing, **kw).json()
