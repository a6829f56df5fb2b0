# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the IdP simulators (Entra, Okta, PingOne, PingFederate, SailPoint) share: an HTTPS JSON server on loopback,
server certificates from the test bed CA (or a throwaway CA), a SCIM client that calls the
simulated Alation hosts the way an IdP's provisioning engine does (CA verified), and the
launcher / command line plumbing of the Okta and PingOne simulators."""

import argparse
import base64
import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


TESTBED_CA_DIR = "/var/lib/alation-scim-testbed/ca"
# Code every simulator runs besides its own server.py.
SHARED_CODE = tuple(os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
                    for name in ("simbase.py", "scim_cycles.py"))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(ts=None):
    return (ts or utcnow()).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def b64url_decode(text):
    text += "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode("ascii"))


def parse_iso(text):
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError("no zone")
    return dt


class SimError(Exception):
    """An HTTP error answer: status, JSON body, extra headers."""

    def __init__(self, status, body, headers=None):
        Exception.__init__(self, status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def split_jwt(assertion):
    """(signing input, header, claims, signature) of a compact JWS; ValueError (or another
    exception) when it is not one. The caller answers in its IdP's words."""
    head_b64, body_b64, sig_b64 = assertion.split(".")
    header = json.loads(b64url_decode(head_b64))
    claims = json.loads(b64url_decode(body_b64))
    return (head_b64 + "." + body_b64).encode("ascii"), header, claims, b64url_decode(sig_b64)


class SimApp(object):
    """State of a simulator, guarded by one lock; reset() (re)reads the config file.
    Faults here are the counted kind (`count` answers, None = until changed)."""
    fault_modes = ("none", "throttle", "down")

    def __init__(self, config_path, ca_path=None):
        self.config_path = config_path
        self.ca_path = ca_path  # verifies the SCIM endpoints the simulator calls
        self.lock = threading.RLock()
        self.background_running = 0  # work started after an answer, still running (state: "background")
        self.reset()

    def in_background(self, work):
        """Run work() after the answer, as the real service does; counted until it ends, so that a
        benchmark can wait for a quiet machine between measurements (AdminClient.wait_idle)."""
        def run():
            try:
                work()
            finally:
                with self.lock:
                    self.background_running -= 1
        with self.lock:
            self.background_running += 1
        threading.Thread(target=run, daemon=True).start()

    def reset(self):
        raise NotImplementedError

    def fault_options(self, spec):
        """The simulator's own fault parameters taken from a POST /_sim/faults body."""
        return {}

    def set_fault(self, spec):
        mode = spec.get("mode", "none")
        if mode not in self.fault_modes:
            raise SimError(400, {"error": "unknown fault mode %r" % mode})
        with self.lock:
            self.fault = dict(self.fault_options(spec), mode=mode, count=spec.get("count"))
            return dict(self.fault)

    def take_fault(self, mode):
        """The fault's settings when `mode` is on (one of its `count` used up), else None."""
        with self.lock:
            f = self.fault
            if f["mode"] != mode:
                return None
            if f.get("count") is not None:
                if f["count"] <= 0:
                    self.fault = {"mode": "none"}
                    return None
                f["count"] -= 1
            return dict(f)


class StandardFaults(object):
    """The fault switches of the PingFederate, SailPoint and IdentityIQ simulators (mix into a
    SimApp before it). POST /_sim/faults {mode, count, methods, retry_after, status, delay}:
    `down` drops the connection, `slow` answers `delay` s late, the others answer in the IdP's
    own words (its `errors` table); `methods` limits a fault to e.g. ["PUT"] (the push only)."""
    fault_modes = ("none", "down", "slow", "unauthorized", "forbidden", "not_found", "throttle", "server_error")

    def fault_options(self, spec):
        return {"retry_after": spec.get("retry_after"), "status": int(spec.get("status") or 503),
                "delay": float(spec.get("delay", 3)), "methods": [m.upper() for m in spec.get("methods") or []]}

    def apply_fault(self, method, errors):
        """Called before an API request: True = drop the connection; raises the fault's SimError
        (errors: {mode: callable(fault) -> SimError}); sleeps for `slow`; else None."""
        with self.lock:
            mode, methods = self.fault.get("mode", "none"), self.fault.get("methods") or []
        if mode == "none" or (methods and method not in methods):
            return None
        fault = self.take_fault(mode)
        if fault is None:
            return None
        if mode == "down":
            return True
        if mode == "slow":
            time.sleep(fault["delay"])
            return None
        raise errors[mode](fault)

    def handle(self, method, path, query, headers, raw):
        """/_sim/ to admin(); any other request: the fault switch, a line in `requests`
        (request_record(headers) adds what the simulator wants to show), then api(...)."""
        if path.startswith("/_sim/"):
            return self.admin(method, path, raw)
        if self.apply_fault(method, self.fault_errors):
            return None, None, None
        with self.lock:
            self.requests.append(dict(self.request_record(headers), time=iso(), method=method, path=path))
        return self.api(method, path, query, headers, raw)

    def request_record(self, headers):
        return {"content_type": headers.get("Content-Type")}

    def admin(self, method, path, raw):
        """/_sim/ calls: state, faults and reset here, the simulator's own in own_admin(method,
        path, data) -> (status, body, headers)."""
        data = parse_json(raw, SimError(400, {"error": "body is not JSON"}))
        if path == "/_sim/state" and method == "GET":
            return 200, self.state(), {}
        if path == "/_sim/faults" and method == "POST":
            return 200, self.set_fault(data), {}
        if path == "/_sim/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}, {}
        return self.own_admin(method, path, data)


def client_credentials(headers, form):
    """(client_id, client_secret) of an OAuth client_credentials token request: HTTP Basic
    (client_secret_basic) or the form (client_secret_post); 400 unsupported_grant_type otherwise."""
    def one(name):
        v = form.get(name)
        return v[0] if v else None
    if one("grant_type") != "client_credentials":
        raise SimError(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"})
    cid, secret = basic_credentials(headers.get("Authorization"), unquote=True)
    if cid is None:
        cid, secret = one("client_id"), one("client_secret")
    return cid, secret


def basic_credentials(header, unquote=False):
    """(user, password) of an `Authorization: Basic` header, (None, None) otherwise. With
    `unquote` both are percent-decoded (OAuth client_secret_basic, RFC 6749 2.3.1)."""
    if not (header or "").startswith("Basic "):
        return None, None
    try:
        user, sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except Exception:
        return None, None
    if not sep:
        return None, None
    if unquote:
        user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
    return user, password


class AdminClient(object):
    """Admin API (/_sim/) of the Okta or PingOne simulator, for tests (CA verified)."""
    name = "simulator"

    def __init__(self, url, ca_path):
        self.url = url
        self.ca_path = ca_path

    def _call(self, method, path, body=None, ok=(200,)):
        status, data = admin_call(self.url, self.ca_path, method, path, body)
        if status not in ok:
            raise RuntimeError("%s %s %s -> %s %s" % (self.name, method, path, status, data))
        return data

    def state(self):
        return self._call("GET", "/_sim/state")

    def reset(self):
        return self._call("POST", "/_sim/reset", {})

    def fault(self, mode, **kw):
        return self._call("POST", "/_sim/faults", dict(kw, mode=mode))

    def wait_idle(self, timeout=300):
        """Until the simulator's background work (SimApp.in_background) has ended; False on timeout."""
        deadline = time.time() + timeout
        while self.state().get("background", 0) > 0:
            if time.time() > deadline:
                return False
            time.sleep(0.1)
        return True

    def wait_for(self, items, n=1, timeout=15):
        """items(state) -> list; waits (for a simulator's background threads) until it has n."""
        deadline = time.time() + timeout
        while True:
            found = items(self.state())
            if len(found) >= n or time.time() > deadline:
                return found
            time.sleep(0.1)


def loopback_only(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def scim_call(base, token, method, rel, body=None, ca_path=None, timeout=15):
    """(status, parsed body or None, error text or None) of one SCIM call with a bearer token."""
    if not loopback_only(base):
        return None, None, "refused: the simulator only calls loopback SCIM endpoints"
    url = base.rstrip("/") + "/" + rel.lstrip("/")
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/scim+json")
    if data is not None:
        req.add_header("Content-Type", "application/scim+json")
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    ctx = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    except (urllib.error.URLError, OSError, ssl.SSLError) as e:
        return None, None, "connection failed: %s" % (getattr(e, "reason", None) or e)
    except ValueError:
        # e.g. a token with a newline is refused as a header value; the message would quote it
        return None, None, "request refused by the HTTP client (invalid header value)"
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        parsed = None
    return status, parsed, None


# ---------------------------------------------------------------- certificates
def _openssl(*args):
    subprocess.run(("openssl",) + args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ensure_ca(directory):
    """A throwaway CA in `directory` (for development without the test bed); (pem, key)."""
    pem, key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    if not (os.path.exists(pem) and os.path.exists(key)):
        os.makedirs(directory, exist_ok=True)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem, "-days", "30",
                 "-subj", "/CN=alation-scim simulator throwaway CA")
        os.chmod(key, 0o600)
    return pem, key


def ensure_server_cert(directory, ip, ca_pem, ca_key, name="server"):
    """A certificate for `ip` signed by the CA; reissued when the CA changed. (cert, key)."""
    return _ensure_cert(directory, name, ip, "subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n" % ip, ca_pem,
                        ca_key)


def ensure_client_cert(directory, common_name, ca_pem, ca_key, name="client"):
    """A TLS client certificate (CN=common_name) signed by the CA, for mutual TLS. (cert, key)."""
    return _ensure_cert(directory, name, common_name, "extendedKeyUsage=clientAuth\n", ca_pem, ca_key)


def _ensure_cert(directory, name, common_name, extensions, ca_pem, ca_key):
    os.makedirs(directory, exist_ok=True)
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    stamp = os.path.join(directory, name + ".ca")
    with open(ca_pem) as f:
        ca_text = f.read()
    try:
        with open(stamp) as f:
            fresh = f.read() == ca_text and os.path.exists(cert) and os.path.exists(key)
    except OSError:
        fresh = False
    if not fresh:
        csr, ext = os.path.join(directory, name + ".csr"), os.path.join(directory, name + ".ext")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + common_name)
        os.chmod(key, 0o600)
        with open(ext, "w") as f:
            f.write(extensions)
        _openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
                 "-CAserial", os.path.join(directory, "ca.srl"), "-out", cert, "-days", "30", "-extfile", ext)
        with open(stamp, "w") as f:
            f.write(ca_text)
    return cert, key


def pick_ca(testbed_ca_dir, state_dir):
    """The test bed CA when present (its key too), else a throwaway one in state_dir."""
    pem, key = os.path.join(testbed_ca_dir, "ca.pem"), os.path.join(testbed_ca_dir, "ca.key")
    if os.path.exists(pem) and os.path.exists(key):
        return pem, key
    return ensure_ca(os.path.join(state_dir, "throwaway-ca"))


# ---------------------------------------------------------------- HTTP plumbing
class Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to server.app.handle(method, path, query, headers, raw) ->
    (status, JSON body, headers); status None drops the connection without an answer.
    A simulator whose IdP answers differently subclasses it (content_type, extra_headers)."""
    protocol_version = "HTTP/1.1"
    content_type = "application/json"

    def extra_headers(self):
        return {}

    def setup(self):
        http.server.BaseHTTPRequestHandler.setup(self)
        self.connection.settimeout(30)
        # An answer goes out as headers, then body: without TCP_NODELAY (which real HTTPS front ends set)
        # the body waits for the client's delayed ACK, about 40 ms added to every answer on Linux.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection.do_handshake()

    def log_message(self, fmt, *args):
        # Access log without query strings (they can hold filters) or bodies.
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(),
                                      (fmt % args).split("?")[0]))

    def _any(self):
        split = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            status, body, headers = self.server.app.handle(self.command, split.path, split.query, self.headers, raw)
        except SimError as e:
            status, body, headers = e.status, e.body, e.headers
        except Exception as e:  # a simulator bug: answer 500; the type only, a message could quote a secret
            sys.stderr.write("simulator error: %s\n" % type(e).__name__)
            status, body, headers = 500, {"error": "simulator error"}, {}
        if status is None:  # fault "down": drop the connection without an answer
            self.close_connection = True
            return
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if body is not None:
            self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in self.extra_headers().items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


class PeerCertHandler(Handler):
    """Handler that tells the app the verified client certificate's subject CN (mutual TLS) in
    the X-Sim-Peer-CN header; a client-sent header of that name is dropped first."""
    PEER_HEADER = "X-Sim-Peer-CN"

    def _any(self):
        del self.headers[self.PEER_HEADER]
        cert = self.connection.getpeercert() or {}
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    self.headers[self.PEER_HEADER] = value
        return Handler._any(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app, cert, key, handler=Handler):
        if not address[0].startswith("127."):
            raise ValueError("simulators listen on loopback (127.0.0.0/8) only")
        http.server.ThreadingHTTPServer.__init__(self, address, handler)
        self.app = app
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.load_cert_chain(cert, key)

    def accept_client_certs(self, ca_pem):
        """Ask for client certificates (optional) and verify them against ca_pem (mutual TLS)."""
        self.ssl_context.verify_mode = ssl.CERT_OPTIONAL
        self.ssl_context.load_verify_locations(ca_pem)

    def get_request(self):
        # handshake in the handler thread: one stuck client cannot block accept()
        sock, addr = self.socket.accept()
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        sys.stderr.write("connection from %s failed: %r\n" % (client_address[0], sys.exc_info()[1]))


def serve_in_thread(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t


def parse_json(raw, error):
    try:
        return json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        raise error


# ---------------------------------------------------------------- process management (test bed)
def admin_call(base_url, ca_path, method, path, body=None, timeout=30):
    """(status, JSON) of a simulator admin call, CA verified."""
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    ctx = ssl.create_default_context(cafile=ca_path)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read().decode("utf-8") or "null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw.decode("utf-8"))
        except ValueError:
            return e.code, None


def _identity(pid):
    """'<pid> <start time> <boot id>': names one process for good. A bare pid does not: after a
    reboot (a machine made from a disk image, a CI runner) a pid file names whatever got that pid."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            started = f.read().rsplit(")", 1)[1].split()[19]
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except (OSError, IndexError):
        return None
    return "%d %s %s" % (pid, started, boot)


def kill_strays(server_py, host):
    """Kill every simulator process running `server_py` (its folder/name) on `host`, whatever its
    pid file says: one left without a trusted pid file (an older format, a lost file) still holds
    the address, and the next start would find its port taken. Returns how many."""
    tail = os.path.join(os.path.basename(os.path.dirname(server_py)), os.path.basename(server_py)).encode()

    def strays():
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if any(a.endswith(tail) for a in argv) and b"--host" in argv and host.encode() in argv:
                found.append(int(entry))
        return found

    return terminate(strays)


def terminate(find_pids):
    """SIGTERM what find_pids() returns, wait up to 5 s, then SIGKILL what is left; how many were found."""
    first = None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [pid for pid in find_pids() if running(pid)]
        first = len(pids) if first is None else first
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.time() + 5
        while time.time() < deadline and any(running(pid) for pid in pids):
            time.sleep(0.05)
    return first


def running(pid):
    """Alive and not a zombie (a zombie has let go of its sockets)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def write_pid_file(path, pid):
    with open(path, "w") as f:
        f.write((_identity(pid) or str(pid)) + "\n")


def read_pid_file(path):
    """The pid a pid file written by write_pid_file names, if that very process still runs; else None."""
    try:
        with open(path) as f:
            recorded = f.read().strip()
        pid = int(recorded.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _identity(pid) == recorded else None


def ensure_process(state_dir, argv, base_url, ca_path, config_text, wait=20):
    """Run the simulator `argv` (pid in state_dir/server.pid) unless the same config already runs."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    pid_file = os.path.join(state_dir, "server.pid")
    hash_file = os.path.join(state_dir, "running.hash")
    digest = hashlib.sha256((config_text + "\0" + " ".join(argv)).encode("utf-8"))
    for path in [a for a in argv if a.endswith(".py")] + list(SHARED_CODE):
        with open(path, "rb") as f:  # new simulator code restarts the simulator
            digest.update(f.read())
    digest = digest.hexdigest()
    pid = read_pid_file(pid_file)
    try:
        with open(hash_file) as f:
            same = f.read().strip() == digest
    except OSError:
        same = False
    if pid:
        if same:
            try:
                if admin_call(base_url, ca_path, "GET", "/_sim/state", timeout=5)[0] == 200:
                    return pid
            except Exception:
                pass
        stop_process(state_dir)
    scripts = [a for a in argv if a.endswith(".py")]
    if scripts and "--host" in argv:
        kill_strays(scripts[0], argv[argv.index("--host") + 1])
    log = open(os.path.join(state_dir, "server.log"), "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    write_pid_file(pid_file, proc.pid)
    deadline = time.time() + wait
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("simulator exited (rc=%s); see %s/server.log" % (proc.returncode, state_dir))
        try:
            if admin_call(base_url, ca_path, "GET", "/_sim/state", timeout=2)[0] == 200:
                with open(hash_file, "w") as f:
                    f.write(digest)
                return proc.pid
        except Exception:
            pass
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGTERM)
    raise RuntimeError("simulator did not answer at %s within %ss; see %s/server.log" % (base_url, wait, state_dir))


def stop_process(state_dir):
    """Stop the simulator whose pid this state dir recorded (and only that one)."""
    pid_file = os.path.join(state_dir, "server.pid")
    if not os.path.exists(pid_file):
        return False
    pid = read_pid_file(pid_file)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(50):
            if not running(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    for name in ("server.pid", "running.hash"):
        try:
            os.unlink(os.path.join(state_dir, name))
        except OSError:
            pass
    return True


def load_or_create_settings(path, factory):
    """Secrets of a simulator's tenant, made once (0600) so restarts keep them."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        data = factory()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        return data


# ---------------------------------------------------------------- Okta / PingOne command lines
def serve_main(argv, description, default_host, name, make_app, handler=Handler, client_certs=False):
    """A simulator's `server.py` main: certificate from the CA, then serve make_app(config, ca_pem).
    client_certs: ask for (optional) client certificates signed by the CA (PeerCertHandler)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default=default_host)
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--config", required=True)
    p.add_argument("--state-dir", required=True, help="where the server certificate is kept")
    p.add_argument("--ca-dir", default=TESTBED_CA_DIR,
                   help="CA (ca.pem + ca.key) that signs the server certificate and verifies SCIM endpoints; "
                        "a throwaway CA in --state-dir is made when absent")
    args = p.parse_args(argv)
    ca_pem, ca_key = pick_ca(args.ca_dir, args.state_dir)
    cert, key = ensure_server_cert(args.state_dir, args.host, ca_pem, ca_key, name=name + "-sim")
    server = TLSServer((args.host, args.port), make_app(args.config, ca_pem), cert, key, handler=handler)
    if client_certs:
        server.accept_client_certs(ca_pem)
    sys.stderr.write("%s simulator on https://%s:%d (CA %s)\n" % (name, args.host, args.port, ca_pem))
    server.serve_forever()


def launch(server_py, host, port, state_dir, ca_dir, config, python):
    """Write `config` (0600, it holds secrets) and run `server_py` on host:port unless the same
    config already runs there. (url, CA path, pid)."""
    config_path = os.path.join(state_dir, "config.json")
    text = json.dumps(config, indent=1, sort_keys=True)
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    ca_pem, _ca_key = pick_ca(ca_dir, state_dir)
    url = "https://%s:%d" % (host, port)
    argv = [python, server_py, "--host", host, "--port", str(port), "--config", config_path,
            "--state-dir", state_dir, "--ca-dir", ca_dir]
    return url, ca_pem, ensure_process(state_dir, argv, url, ca_pem, text)


def launch_main(argv, description, up, down, state_dir, secret_word):
    """`launch.py up|down`; up prints the settings without the keys containing `secret_word`
    (a word or a tuple of words)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("action", choices=["up", "down"])
    p.add_argument("--hosts", nargs="*", default=[], help="name=SCIM base URL")
    p.add_argument("--state-dir", default=state_dir)
    p.add_argument("--ca-dir", default=TESTBED_CA_DIR)
    a = p.parse_args(argv)
    if a.action == "down":
        down(a.state_dir)
        return
    settings = up(dict(h.split("=", 1) for h in a.hosts), a.state_dir, a.ca_dir)
    words = (secret_word,) if isinstance(secret_word, str) else tuple(secret_word)
    print(json.dumps({k: v for k, v in settings.items() if not any(w in k for w in words)}, indent=1))
