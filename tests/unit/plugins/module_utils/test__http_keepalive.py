"""_http.send over kept-alive connections, against a real HTTPS server on loopback (real TLS with a
throwaway CA, certificate checks on): what is reused, what is not, and that nothing is sent twice."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import http.server
import json
import os
import ssl
import sys
import threading
import time

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _http

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "testbed"))
from simbase import ensure_ca, ensure_server_cert  # noqa: E402  (the simulators' throwaway CA)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca_pem, ca_key = ensure_ca(str(d))
    ensure_server_cert(str(d), "127.0.0.1", ca_pem, ca_key)
    return d


class Handler(http.server.BaseHTTPRequestHandler):
    """/ok answers and keeps the connection; /close answers with Connection: close; /drop answers, then
    closes the connection without saying so (as a server's idle timeout does later); /slow answers
    after 1.5 s."""
    protocol_version = "HTTP/1.1"

    def setup(self):
        http.server.BaseHTTPRequestHandler.setup(self)
        with self.server.lock:
            self.server.connections += 1
            self.number = self.server.connections

    def log_message(self, fmt, *args):
        pass

    def _any(self):
        if self.path == "/slow":
            time.sleep(1.5)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with self.server.lock:
            self.server.seen.append(dict(method=self.command, path=self.path, connection=self.number, body=body,
                                         headers=dict(self.headers.items())))
        data = json.dumps({"connection": self.number}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if self.path in ("/close", "/drop"):
            self.close_connection = True

    do_GET = do_POST = do_PUT = _any


@pytest.fixture
def server(pki):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.lock, srv.connections, srv.seen = threading.Lock(), 0, []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*ensure_server_cert(str(pki), "127.0.0.1", str(pki / "ca.pem"), str(pki / "ca.key")))
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.url = "https://127.0.0.1:%d" % srv.server_address[1]
    _http.POOL.close()
    yield srv
    _http.POOL.close()
    srv.shutdown()
    srv.server_close()


def get(server, pki, path="/ok", method="GET", data=None, **kw):
    resp = _http.send(method, server.url + path, headers={"Accept": "application/json"}, data=data,
                      ca_path=str(pki / "ca.pem"), **kw)
    assert resp.status == 200
    return resp.json()["connection"]


def kept_alive(pki):
    """False on ansible-core 2.16, whose open_url cannot take our SSLContext: a connection per request."""
    return _http.tls_context(True, str(pki / "ca.pem")) is not None


def test_calls_to_one_server_share_one_connection(server, pki):
    numbers = [get(server, pki) for dummy in range(4)] + [get(server, pki, method="POST", data='{"a": 1}')]
    if kept_alive(pki):
        assert numbers == [1] * 5 and server.connections == 1
        assert all(seen["headers"].get("Connection") != "close" for seen in server.seen)
    else:
        assert numbers == [1, 2, 3, 4, 5]
    assert server.seen[-1]["body"] == b'{"a": 1}'
    assert server.seen[-1]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"  # as open_url
    assert server.seen[0]["headers"]["User-Agent"] == "ansible-httpget"


@pytest.fixture
def sends(monkeypatch):
    """Every request written to a connection, answered or not."""
    written, real = [], _http.http_client.HTTPSConnection.request

    def request(self, method, url, *args, **kwargs):
        written.append(method)
        return real(self, method, url, *args, **kwargs)
    monkeypatch.setattr(_http.http_client.HTTPSConnection, "request", request)
    return written


def test_a_connection_the_server_closes_is_not_reused(server, pki, sends):
    assert get(server, pki, "/close") == 1
    assert not any(_http.POOL.idle.values()), "a connection that said Connection: close is not kept"
    assert get(server, pki) == 2
    assert get(server, pki, "/drop") == 2
    assert get(server, pki, method="POST", data="x") == 3  # closed without a word: seen before the send
    assert [s["method"] for s in server.seen] == ["GET", "GET", "GET", "POST"], "nothing sent twice"
    if kept_alive(pki):
        assert sends == ["GET", "GET", "GET", "POST"], "no request went onto a closed connection"


def test_closed_between_the_check_and_the_send_goes_again_once_on_a_new_connection(server, pki, monkeypatch, sends):
    if not kept_alive(pki):
        return  # open_url: no reuse, nothing to go stale
    assert get(server, pki, "/drop") == 1
    monkeypatch.setattr(_http, "still_open", lambda conn: True)  # the server's close races the check
    assert get(server, pki, "/ok", method="PUT", data="y") == 2
    assert [(s["method"], s["connection"]) for s in server.seen] == [("GET", 1), ("PUT", 2)]
    assert sends == ["GET", "PUT", "PUT"]


def test_a_timeout_is_not_sent_again(server, pki):
    """The server may be working on a call that timed out: it is not sent again on a new connection."""
    assert get(server, pki) == 1
    with pytest.raises(_http.TransportError):
        _http.send("POST", server.url + "/slow", data="z", ca_path=str(pki / "ca.pem"), timeout=1)
    time.sleep(1)
    assert [s["path"] for s in server.seen] == ["/ok", "/slow"]


def test_threads_take_connections_of_their_own(server, pki):
    barrier, numbers = threading.Barrier(3), []

    def call():
        barrier.wait()
        numbers.append(get(server, pki))
    threads = [threading.Thread(target=call) for dummy in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(numbers) == 3
    later = get(server, pki)
    if kept_alive(pki):
        assert later in numbers and server.connections <= 3
    else:
        assert server.connections == 4


def test_no_connection_crosses_tls_options_or_a_fork(server, pki):
    assert get(server, pki) == 1
    # Without ca_path (the system store, which does not trust this CA) the kept connection is not used.
    with pytest.raises(_http.TransportError) as e:
        _http.send("GET", server.url + "/ok", ca_path=None)
    assert e.value.tls
    if kept_alive(pki):
        pid = os.fork()
        if pid == 0:  # the child must not write into the parent's TLS session
            os._exit(0 if _http.POOL.take(next(iter(_http.POOL.idle), None)) is None else 1)
        assert os.waitpid(pid, 0)[1] == 0
        assert get(server, pki) == 1, "the parent's connection is still its own"


def test_a_proxy_in_the_environment_is_honoured(server, pki, monkeypatch):
    # A proxy that refuses: the call must go to it (as open_url's would), not straight to the server.
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(_http.TransportError):
        get(server, pki)
    assert server.seen == []
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert get(server, pki) == 1
