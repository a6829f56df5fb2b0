"""A fault-injecting HTTPS reverse proxy in front of the Entra simulator, for the reliability suite.

The simulator's own fault switches hit whatever request comes next; the suite needs a fault at one
step of the push (the Graph token, validateCredentials, PUT secrets) and, for the token, at the
call after the rotation rather than the one of the pause step. The role is pointed at this proxy
(authority and Graph URL); it forwards everything else unchanged to the simulator, over TLS
verified with the test CA, and serves a certificate from the same CA for 127.0.20.2.

    proxy = FaultProxy(testbed); proxy.start()
    proxy.set_fault("put", "down")                       # every PUT secrets: connection dropped
    proxy.set_fault("token", "down", skip=1)             # let the first token call through
    proxy.set_fault("validate", "throttle", count=2)     # 429 + Retry-After: 1, twice
    proxy.set_fault("put", "slow", delay=3) ; proxy.set_fault("token", "flapping", count=4)
    proxy.hits -> number of requests the fault was applied to; proxy.clear(); proxy.stop()

Bodies pass through in memory only; the proxy logs nothing but step names and statuses.
"""

import http.client
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "testbed"))

import fleet  # noqa: E402  (the test bed's CA helper)
import testbed_lib  # noqa: E402

PROXY_ADDRESS = "127.0.20.2"
PROXY_PORT = 8443
STEPS = ("token", "validate", "put")
MODES = ("down", "slow", "throttle", "flapping")


def step_of(method, path):
    if path.endswith("/oauth2/v2.0/token"):
        return "token"
    if path.endswith("/validateCredentials"):
        return "validate"
    if method == "PUT" and path.endswith("/synchronization/secrets"):
        return "put"
    return "other"


class FaultProxy:
    def __init__(self, testbed, address=PROXY_ADDRESS, port=PROXY_PORT):
        self.testbed = testbed
        self.address, self.port = address, port
        self.url = "https://%s:%d" % (address, port)
        upstream = urllib.parse.urlsplit(testbed.entra["url"])
        self.upstream = (upstream.hostname, upstream.port)
        self.upstream_url = "https://%s:%d" % self.upstream
        self.lock = threading.Lock()
        self.fault = None
        self.hits = 0
        self.log = []  # (step, method, status) only

    def set_fault(self, step, mode, count=None, skip=0, delay=3.0, retry_after=1):
        assert step in STEPS and mode in MODES, (step, mode)
        with self.lock:
            self.fault = {"step": step, "mode": mode, "count": count, "skip": skip, "delay": delay,
                          "retry_after": retry_after, "seen": 0}
            self.hits = 0

    def clear(self):
        with self.lock:
            self.fault = None

    def _take(self, step):
        """The fault to apply to this request, or None (and counts it)."""
        with self.lock:
            f = self.fault
            if not f or f["step"] != step:
                return None
            f["seen"] += 1
            if f["seen"] <= f["skip"]:
                return None
            n = f["seen"] - f["skip"]  # 1-based among the requests the fault covers
            if f["count"] is not None and n > f["count"]:
                return None
            if f["mode"] == "flapping" and n % 2 == 0:
                return None  # every other request goes through
            self.hits += 1
            return dict(f)

    # ---------------------------------------------------------------- server
    def start(self):
        crt, key = fleet.issue_cert("entra-fault-proxy", self.address,
                                    os.path.join(testbed_lib.STATE_DIR, "entra-fault-proxy"))
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_PUT(self):
                self.handle_any("PUT")

            def do_PATCH(self):
                self.handle_any("PATCH")

            def do_DELETE(self):
                self.handle_any("DELETE")

            def handle_any(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urllib.parse.urlsplit(self.path).path
                step = step_of(method, path)
                fault = proxy._take(step)
                if fault and fault["mode"] == "down":
                    proxy.log.append((step, method, "dropped"))
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault and fault["mode"] == "slow":
                    time.sleep(fault["delay"])
                if fault and fault["mode"] in ("throttle", "flapping"):
                    status = 429 if fault["mode"] == "throttle" else 503
                    headers = {"Retry-After": str(fault["retry_after"])} if status == 429 else {}
                    code = "TooManyRequests" if status == 429 else "serviceNotAvailable"
                    payload = {"error": {"code": code, "message": "Injected by the reliability suite.",
                                         "innerError": {"request-id": "fault-proxy"}}}
                    if step == "token":
                        payload = {"error": "temporarily_unavailable", "error_description":
                                   "AADSTS50196: The server is temporarily unavailable (injected).",
                                   "error_codes": [50196]}
                    return self.reply(step, method, status, json.dumps(payload).encode(), headers)
                if step == "token":
                    # The module asks for <graph_url>/.default; the simulator knows only its own URL.
                    body = body.replace(urllib.parse.quote(proxy.url, safe="").encode(),
                                        urllib.parse.quote(proxy.upstream_url, safe="").encode())
                    body = body.replace(proxy.url.encode(), proxy.upstream_url.encode())
                try:
                    status, rbody, rheaders = proxy.forward(method, self.path, body, self.headers)
                except OSError:
                    proxy.log.append((step, method, "upstream-error"))
                    self.close_connection = True
                    return
                self.reply(step, method, status, rbody, rheaders)

            def reply(self, step, method, status, body, headers):
                proxy.log.append((step, method, status))
                self.send_response(status)
                self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
                for k in ("Retry-After", "Cache-Control", "request-id", "client-request-id"):
                    if k in headers:
                        self.send_header(k, headers[k])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer((self.address, self.port), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def forward(self, method, path, body, headers):
        ctx = ssl.create_default_context(cafile=self.testbed.ca_path)
        conn = http.client.HTTPSConnection(self.upstream[0], self.upstream[1], context=ctx, timeout=120)
        fwd = {k: v for k, v in headers.items()
               if k.lower() in ("authorization", "content-type", "accept", "client-request-id")}
        try:
            conn.request(method, path, body=body or None, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data, dict(resp.getheaders())
        finally:
            conn.close()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
