# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""For tests of the Okta / PingOne simulators and clients without the test bed: a throwaway CA,
a small SCIM endpoint that accepts only its current bearer token (as Alation does), and a
way to run any simulator app in a thread over real HTTPS."""

import importlib.util
import json
import os
import socket
import threading
import uuid

from simbase import SimError, TLSServer, ensure_ca, ensure_server_cert, serve_in_thread


HERE = os.path.dirname(os.path.abspath(__file__))


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
    """SCIM 2.0 Users/Groups with one accepted bearer token; 401 otherwise."""

    def __init__(self, token):
        self.token = token
        self.users = {}
        self.lock = threading.Lock()
        self.calls = []

    def handle(self, method, path, query, headers, raw):
        self.calls.append((method, path))
        if headers.get("Authorization") != "Bearer %s" % self.token:
            raise SimError(401, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                                 "detail": "Authentication credentials were not provided or are invalid.",
                                 "status": "401"})
        if path.rstrip("/").endswith("/Users"):
            if method == "GET":
                return 200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                             "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}, {}
            if method == "POST":
                body = json.loads(raw.decode("utf-8"))
                uid = str(uuid.uuid4())
                with self.lock:
                    self.users[uid] = body
                return 201, dict(body, id=uid), {}
        raise SimError(404, {"detail": "not found"})


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
