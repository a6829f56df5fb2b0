# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""For tests of the Okta / PingOne simulators and clients without the test bed: a throwaway CA,
a small SCIM endpoint that accepts only its current bearer token (as Alation does), and a
way to run any simulator app in a thread over real HTTPS."""

import importlib.util
import json
import os
import re
import socket
import threading
import urllib.parse
import uuid

from simbase import SimError, TLSServer, ensure_ca, ensure_server_cert, serve_in_thread


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


def run_app(app, ip, pki_dir, name):
    """Serve `app` on ip:<free port> with a certificate from the throwaway CA in pki_dir."""
    ca_pem, ca_key = ensure_ca(pki_dir)
    cert, key = ensure_server_cert(os.path.join(pki_dir, name), ip, ca_pem, ca_key, name=name)
    port = free_port(ip)
    server = TLSServer((ip, port), app, cert, key)
    serve_in_thread(server)
    return Running(server, ip, port)
