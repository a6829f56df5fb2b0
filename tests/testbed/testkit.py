# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""For tests of the IdP simulators and clients without the test bed: a throwaway CA, a small SCIM
endpoint that accepts only its current bearer token (as Alation does), a way to run any
simulator app in a thread over real HTTPS, raw HTTPS calls and the common fault switch check."""

import http.client
import importlib.util
import json
import os
import re
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

from simbase import Handler, SimError, TLSServer, ensure_ca, ensure_server_cert, serve_in_thread


HERE = os.path.dirname(os.path.abspath(__file__))
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def load_server(sim):
    """`<sim>/server.py` as module `<sim>_server`: loaded by path, since every simulator has a server.py."""
    spec = importlib.util.spec_from_file_location(sim + "_server", os.path.join(HERE, sim, "server.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class FakeScim(object):
    """SCIM 2.0 Users/Groups with one accepted bearer token (401 otherwise), enough for the
    simulators' provisioning cycles (scim_cycles): create, read, `eq` filters, PUT, DELETE.
    PATCH answers 204 No Content (RFC 7644 3.5.2 allows it), so the cycle cannot check the
    change here; the test bed's django-scim2 hosts answer 200 with the resource."""

    def __init__(self, token):
        self.token = token
        self.users = {}
        self.groups = {}
        self.lock = threading.Lock()
        self.calls = []

    def handle(self, method, path, query, headers, raw):
        self.calls.append((method, path))
        if headers.get("Authorization") != "Bearer %s" % self.token:
            raise SimError(401, {"schemas": [ERROR], "status": "401",
                                 "detail": "Authentication credentials were not provided or are invalid."})
        m = re.match(r"^.*/(Users|Groups)(?:/([^/]+))?$", path)
        if not m:
            raise SimError(404, {"schemas": [ERROR], "status": "404", "detail": "not found"})
        kind, rid = m.groups()
        store = self.users if kind == "Users" else self.groups
        with self.lock:
            if rid is None and method == "GET":
                wanted = re.match(r'^(\w+) eq "(.*)"$', dict(urllib.parse.parse_qsl(query)).get("filter", ""))
                found = [dict(r, id=k) for k, r in store.items()
                         if not wanted or r.get(wanted.group(1)) == wanted.group(2)]
                return 200, {"schemas": [LIST], "totalResults": len(found), "startIndex": 1,
                             "itemsPerPage": len(found), "Resources": found}, {}
            if rid is None and method == "POST":
                rid = str(uuid.uuid4())
                store[rid] = json.loads(raw.decode("utf-8"))
                return 201, dict(store[rid], id=rid), {}
            if rid not in store:
                raise SimError(404, {"schemas": [ERROR], "status": "404", "detail": "Resource %s not found" % rid})
            if method == "GET":
                return 200, dict(store[rid], id=rid), {}
            if method == "PUT":
                store[rid] = json.loads(raw.decode("utf-8"))
                return 200, dict(store[rid], id=rid), {}
            if method == "PATCH":
                return 204, None, {}
            if method == "DELETE":
                del store[rid]
                return 204, None, {}
        raise SimError(405, {"schemas": [ERROR], "status": "405", "detail": "method not allowed"})


class Running(object):
    def __init__(self, server, ip, port):
        self.server = server
        self.url = "https://%s:%d" % (ip, port)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def run_app(app, ip, pki_dir, name, handler=Handler, client_certs=False):
    """Serve `app` on ip:<free port> with a certificate from the throwaway CA in pki_dir
    (client_certs: ask for optional client certificates from that CA, as simbase.serve_main does)."""
    ca_pem, ca_key = ensure_ca(pki_dir)
    cert, key = ensure_server_cert(os.path.join(pki_dir, name), ip, ca_pem, ca_key, name=name)
    port = free_port(ip)
    server = TLSServer((ip, port), app, cert, key, handler=handler)
    if client_certs:
        server.accept_client_certs(ca_pem)
    serve_in_thread(server)
    return Running(server, ip, port)


def https_call(base, ca_path, method, path, body=None, headers=None, data=None, cert=None, timeout=15):
    """(status, headers, parsed JSON or None) of one raw HTTPS request, CA verified; `body` is sent
    as JSON, `data` as it is; `cert` = (cert file, key file) for mutual TLS. Raises OSError (and
    subclasses) when no HTTP answer comes: tests of a simulator use it instead of the clients
    under test, so that a test double and its client cannot drift together."""
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method, headers=headers)
    ctx = ssl.create_default_context(cafile=ca_path)
    if cert:
        ctx.load_cert_chain(*cert)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
            status, got, raw = resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        status, got, raw = e.code, dict(e.headers.items()), e.read()
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        parsed = None
    return status, got, parsed


def check_standard_faults(app, request, errors_look_like):
    """Every fault switch of simbase.StandardFaults on `app`, through `request()` -> (status,
    headers, body): each answers as configured once (count=1), then the API answers normally;
    `methods` limits a fault; errors_look_like(status, body) checks the IdP's error shape."""
    import time
    ok_status = request()[0]
    for mode, status in (("unauthorized", 401), ("forbidden", 403), ("not_found", 404), ("throttle", 429),
                         ("server_error", 502)):
        app.set_fault({"mode": mode, "count": 1, "retry_after": 7, "status": 502})
        got, headers, body = request()
        assert got == status, (mode, got)
        errors_look_like(got, body)
        if mode == "throttle":
            assert headers.get("Retry-After") == "7"
        assert request()[0] == ok_status, "fault %s outlived its count" % mode
    app.set_fault({"mode": "down", "count": 1})
    try:
        request()
        raise AssertionError("fault down answered")
    except (OSError, http.client.HTTPException):
        pass
    assert request()[0] == ok_status
    app.set_fault({"mode": "slow", "count": 1, "delay": 1.0})
    started = time.time()
    assert request()[0] == ok_status and time.time() - started >= 1.0
    app.set_fault({"mode": "server_error", "methods": ["PUT", "PATCH", "DELETE"], "status": 500})
    assert request()[0] == ok_status, "a fault limited to writes hit a read"
    app.set_fault({"mode": "none"})


class SimWorld(object):
    """A simulator app and a FakeScim standing in for Alation, both over HTTPS in threads, with one
    throwaway CA: `app`, `url`, `ca` (PEM path), `ca_key`, `scim` (the FakeScim), `scim_url`."""

    def __init__(self, directory, sim, cls, ip, config, token, handler=Handler, client_certs=False):
        pki = os.path.join(directory, "pki")
        self.ca, self.ca_key = ensure_ca(pki)
        self.scim = FakeScim(token)
        last = ip.rsplit(".", 1)[0] + ".9"
        self._scim_server = run_app(self.scim, last, pki, "scim")
        self.scim_url = self._scim_server.url + "/scim/v2/"
        path = os.path.join(directory, sim + ".json")
        with open(path, "w") as f:
            json.dump(config(self.scim_url), f)
        self.app = getattr(load_server(sim), cls)(path, self.ca)
        self._server = run_app(self.app, ip, pki, sim, handler=handler, client_certs=client_certs)
        self.url = self._server.url
        self.token = token

    def fresh(self):
        """As each test starts from: config re-read, no fault, Alation accepting `token`."""
        self.app.reset()
        self.app.set_fault({"mode": "none"})
        self.scim.token = self.token
        return self

    def stop(self):
        self._server.stop()
        self._scim_server.stop()
