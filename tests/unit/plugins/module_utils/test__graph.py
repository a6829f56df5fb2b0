"""_graph.py / _http.py with a fake HTTP layer: retry decisions, Retry-After, error mapping, JWT."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import json
import subprocess

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _graph, _http
from ansible_collections.alation.scim.plugins.module_utils._graph import EntraError, GraphClient

SP = "40f4d2b2-5abd-42c0-a6bd-9f481b62cc55"
JOB = "scim.16b36a5a97b34f3a9cc954f7c81a68e0.e5d0de4715f7455180f9c01127b7a4b9"
TOKEN_OK = (200, {}, {"access_token": "graph-access-token", "expires_in": 3599, "token_type": "Bearer"})


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict((k, v.get("default")) for k, v in _graph.entra_argument_spec().items())
        self.params.update({"tenant_id": "tenant-1", "client_id": "client-1", "client_secret": "s3cr3t-value"})
        self.params.update(params)
        self.check_mode = False
        self.commands = []

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, args, data=None, binary_data=False, encoding="utf-8"):
        self.commands.append((args, data))
        p = subprocess.run(args, input=data, capture_output=True, check=False)
        return p.returncode, p.stdout, p.stderr


class Clock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


class FakeTransport(object):
    """Answers from a script: list of (status, headers, body) or exceptions, per call."""

    def __init__(self, graph=(), token=(TOKEN_OK,)):
        self.graph = list(graph)
        self.token = list(token)
        self.calls = []

    def __call__(self, method, url, headers=None, data=None, validate_certs=True, ca_path=None, timeout=30):
        self.calls.append((method, url, headers, data))
        queue = self.token if "/oauth2/v2.0/token" in url else self.graph
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        status, hdrs, body = item
        return _http.Response(status, hdrs, json.dumps(body).encode() if body is not None else b"")

    def graph_calls(self):
        return [c for c in self.calls if "/v1.0/" in c[1]]


def client(transport, **params):
    clock = Clock()
    return GraphClient(FakeModule(**params), transport=transport, sleep=clock.sleep, clock=clock), clock


def gerr(status, code, message="msg"):
    return (status, {}, {"error": {"code": code, "message": message,
                                   "innerError": {"date": "2026-01-01T00:00:00", "request-id": "rid-1"}}})


JOBS = (200, {}, {"value": [{"id": JOB, "templateId": "scim", "status": {"code": "Active"}}]})


# ---- _http pure functions ------------------------------------------------------------------
def test_parse_retry_after():
    assert _http.parse_retry_after("7") == 7.0
    assert _http.parse_retry_after(" 2.5 ") == 2.5
    assert _http.parse_retry_after(None) is None
    assert _http.parse_retry_after("soon") is None
    assert _http.parse_retry_after("-3") == 0.0
    assert _http.parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480) == 30.0
    assert _http.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480) == 0.0


def test_backoff_grows_and_is_capped():
    assert 0.5 <= _http.backoff_delay(0, rand=lambda: 0.0) <= 1.0
    assert _http.backoff_delay(3, rand=lambda: 1.0) == 8.0
    assert _http.backoff_delay(3, rand=lambda: 0.0) == 4.0
    assert _http.backoff_delay(20, rand=lambda: 1.0) == 30.0


def test_retry_budget():
    clock = Clock()
    b = _http.RetryBudget(10, clock=clock, sleep=clock.sleep)
    assert b.wait(6) and not b.wait(6) and b.wait(4)
    assert clock.sleeps == [6, 4] and b.attempts == 2


# ---- retries -------------------------------------------------------------------------------
def test_429_honours_retry_after():
    t = FakeTransport([(429, {"Retry-After": "3"}, None), (429, {"retry-after": "5"}, None), JOBS])
    c, clock = client(t)
    assert c.list_jobs(SP)[0]["id"] == JOB
    assert clock.sleeps == [3.0, 5.0]


def test_429_without_retry_after_backs_off_exponentially():
    t = FakeTransport([(429, {}, None)] * 3 + [JOBS])
    c, clock = client(t)
    c.list_jobs(SP)
    assert len(clock.sleeps) == 3
    assert 0.5 <= clock.sleeps[0] <= 1 and 1 <= clock.sleeps[1] <= 2 and 2 <= clock.sleeps[2] <= 4


@pytest.mark.parametrize("status", [403, 409, 500, 502, 503, 504])
def test_replication_delay_and_server_errors_are_retried(status):
    t = FakeTransport([gerr(status, "X"), gerr(status, "X"), JOBS])
    c, clock = client(t)
    assert c.list_jobs(SP)
    assert len(t.graph_calls()) == 3


def test_retry_after_beyond_budget_gives_up_at_once():
    t = FakeTransport([(429, {"Retry-After": "300"}, {"error": {"code": "TooManyRequests", "message": "slow"}})])
    c, clock = client(t, retry_budget=20)
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert clock.sleeps == []
    assert "429" in e.value.message and "longer than the remaining retry_budget" in e.value.message
    assert SP in e.value.message and "read the synchronization jobs" in e.value.message


def test_budget_spent_on_403_explains_permission_or_replication():
    t = FakeTransport([gerr(403, "Authorization_RequestDenied", "Insufficient privileges")])
    c, clock = client(t, retry_budget=10)
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert sum(clock.sleeps) <= 10 and len(clock.sleeps) >= 3
    msg = e.value.message
    assert "Authorization_RequestDenied" in msg and "Retried" in msg and "replicated" in msg
    assert "Synchronization.ReadWrite.All" in msg


def test_404_is_not_retried_and_names_the_service_principal():
    t = FakeTransport([gerr(404, "Request_ResourceNotFound", "Resource does not exist")])
    c, clock = client(t)
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert len(t.graph_calls()) == 1 and clock.sleeps == []
    assert "Service principal '%s' not found in tenant tenant-1" % SP in e.value.message
    assert "Object ID" in e.value.message


def test_404_on_a_job_names_the_job():
    t = FakeTransport([gerr(404, "Request_ResourceNotFound"), (403, {}, None)])
    c = client(t, retry_budget=0)[0]
    with pytest.raises(EntraError) as e:
        c.get_job(SP, "scim.nope")
    assert "'scim.nope' does not exist" in e.value.message and SP in e.value.message


def test_401_on_synchronization_means_missing_permission():
    t = FakeTransport([gerr(401, "Unauthorized", "Insufficient privileges"), (403, {}, None)])
    c = client(t, retry_budget=0)[0]
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    msg = e.value.message
    assert "HTTP 401" in msg and "Synchronization.ReadWrite.All" in msg and "Application.ReadWrite.OwnedBy" in msg
    assert "client_id client-1" in msg


def test_expired_access_token_is_renewed_once():
    t = FakeTransport([gerr(401, "InvalidAuthenticationToken", "expired"), JOBS])
    c = client(t)[0]
    assert c.list_jobs(SP)
    assert len([x for x in t.calls if "/token" in x[1]]) == 2


def test_display_name_in_messages_when_readable():
    t = FakeTransport([gerr(401, "Unauthorized"), (200, {}, {"id": SP, "displayName": "Alation alation1"})])
    c = client(t)[0]
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert "service principal 'Alation alation1' (%s)" % SP in e.value.message


def test_transport_errors_retried_then_explained():
    t = FakeTransport([_http.TransportError("Connection refused")])
    c, clock = client(t, retry_budget=5)
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert "no answer" in e.value.message and "Connection refused" in e.value.message
    assert len(clock.sleeps) >= 2


def test_tls_failure_is_not_retried_and_points_at_ca_path():
    t = FakeTransport(token=[_http.TransportError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed", tls=True)])
    c, clock = client(t)
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert clock.sleeps == [] and "TLS certificate verification failed" in e.value.message
    assert "ca_path" in e.value.message


def test_describe_transport_error_detects_tls():
    text, tls = _http.describe_transport_error(Exception("<urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] x>"))
    assert tls
    assert not _http.describe_transport_error(Exception("Connection refused"))[1]


# ---- token endpoint ------------------------------------------------------------------------
def aad(status, code, error="invalid_client"):
    return (status, {}, {"error": error, "error_description": "AADSTS%d: text.\r\nTrace ID: x" % code,
                         "error_codes": [code]})


@pytest.mark.parametrize("answer, expected", [
    (aad(401, 7000215), "client secret is wrong"),
    (aad(400, 90002, "invalid_request"), "tenant was not found"),
    (aad(400, 700016, "unauthorized_client"), "was not found in this tenant"),
    (aad(401, 700027), "does not match a certificate"),
    (aad(400, 123456, "odd"), "odd: AADSTS123456: text."),
])
def test_token_errors_are_explained(answer, expected):
    t = FakeTransport(token=[answer])
    c = client(t)[0]
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    msg = e.value.message
    assert expected in msg and "client_id client-1 in tenant tenant-1" in msg
    assert "to read the synchronization jobs for service principal %s" % SP in msg
    assert "s3cr3t-value" not in msg


def test_token_request_form():
    t = FakeTransport([JOBS])
    c = client(t, graph_url="https://graph.microsoft.us/", authority_url="login.microsoftonline.us")[0]
    c.list_jobs(SP)
    method, url, headers, data = t.calls[0]
    assert url == "https://login.microsoftonline.us/tenant-1/oauth2/v2.0/token"
    form = dict(p.split("=", 1) for p in data.split("&"))
    assert form["grant_type"] == "client_credentials" and form["client_secret"] == "s3cr3t-value"
    assert form["scope"] == "https%3A%2F%2Fgraph.microsoft.us%2F.default"
    assert t.calls[1][1] == "https://graph.microsoft.us/v1.0/servicePrincipals/%s/synchronization/jobs" % SP
    assert t.calls[1][2]["Authorization"] == "Bearer graph-access-token"


def test_missing_ids_and_credentials():
    with pytest.raises(EntraError) as e:
        GraphClient(FakeModule(tenant_id=None))
    assert "AZURE_TENANT_ID" in e.value.message
    with pytest.raises(EntraError) as e:
        GraphClient(FakeModule(client_secret=None))
    assert "client_certificate_path" in e.value.message


# ---- JWT client assertion ------------------------------------------------------------------
def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_certificate_assertion_is_signed_with_the_key_file(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    import hashlib
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=t"], check=True, capture_output=True)
    t = FakeTransport([JOBS])
    c, clock = client(t, client_secret="ignored-secret", client_certificate_path=str(cert),
                      client_private_key_path=str(key))
    c.list_jobs(SP)
    form = dict(p.split("=", 1) for p in t.calls[0][3].split("&"))
    assert "client_secret" not in form
    assert form["client_assertion_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    jwt = form["client_assertion"]
    head, body, sig = jwt.split(".")
    header, claims = json.loads(b64d(head)), json.loads(b64d(body))
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert header["alg"] == "RS256" and b64d(header["x5t#S256"]) == hashlib.sha256(der).digest()
    assert claims["aud"] == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    assert claims["iss"] == claims["sub"] == "client-1" and claims["exp"] - claims["nbf"] == 600
    assert claims["nbf"] == int(clock.now)
    certificate.public_key().verify(b64d(sig), ("%s.%s" % (head, body)).encode(), padding.PKCS1v15(),
                                    hashes.SHA256())


def test_certificate_assertion_without_cryptography_signs_with_openssl(tmp_path, monkeypatch):
    """A module run by an interpreter without `cryptography` signs the same way with the openssl CLI."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from ansible_collections.alation.scim.plugins.module_utils import _jwt
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=t"], check=True, capture_output=True)

    def no_cryptography(path, data):
        raise ImportError("no cryptography here")
    monkeypatch.setattr(_jwt, "_sign_with_cryptography", no_cryptography)
    t = FakeTransport([JOBS])
    c = client(t, client_certificate_path=str(cert), client_private_key_path=str(key))[0]
    c.list_jobs(SP)
    head, body, sig = dict(p.split("=", 1) for p in t.calls[0][3].split("&"))["client_assertion"].split(".")
    x509.load_pem_x509_certificate(cert.read_bytes()).public_key().verify(
        b64d(sig), ("%s.%s" % (head, body)).encode(), padding.PKCS1v15(), hashes.SHA256())


def test_unreadable_key_is_explained(tmp_path):
    cert = tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=t"], check=True, capture_output=True)
    c = client(FakeTransport([JOBS]), client_certificate_path=str(cert),
               client_private_key_path=str(tmp_path / "missing.key"))[0]
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    # (the tmp path holds the test's name: check the key's file name and the advice, not a word of the path)
    assert "missing.key" in e.value.message and "No such file" in e.value.message
    assert "unencrypted PEM RSA private key" in e.value.message and "client_private_key_path" in e.value.message


def test_given_assertion_is_sent_as_is():
    t = FakeTransport([JOBS])
    c = client(t, client_assertion="a.b.c")[0]
    c.list_jobs(SP)
    form = dict(p.split("=", 1) for p in t.calls[0][3].split("&"))
    assert form["client_assertion"] == "a.b.c" and "client_secret" not in form


# ---- synchronization helpers ---------------------------------------------------------------
def test_pick_job():
    two = (200, {}, {"value": [{"id": "scim.a", "templateId": "scim"}, {"id": "scim.b", "templateId": "x"}]})
    denied = (403, {}, None)  # the display-name lookup for the message
    c = client(FakeTransport([two, denied]))[0]
    with pytest.raises(EntraError) as e:
        c.pick_job(SP)
    assert "2 synchronization jobs" in e.value.message and "scim.a (scim), scim.b (x)" in e.value.message
    c = client(FakeTransport([two]))[0]
    assert c.pick_job(SP, "scim.b")["id"] == "scim.b"
    c = client(FakeTransport([two, denied]))[0]
    with pytest.raises(EntraError) as e:
        c.pick_job(SP, "scim.c")
    assert "'scim.c' not found" in e.value.message and "its jobs: scim.a" in e.value.message
    c = client(FakeTransport([(200, {}, {"value": []}), denied]))[0]
    with pytest.raises(EntraError) as e:
        c.pick_job(SP)
    assert e.value.message.startswith("Service principal %s has no synchronization job" % SP)


def test_validate_and_put_bodies():
    t = FakeTransport([gerr(400, "CredentialValidationUnavailable", "HTTP/401 Unauthorized")])
    c = client(t)[0]
    ok, why = c.validate_credentials(SP, JOB, [("BaseAddress", "https://a/scim/v2/"), ("SecretToken", "tok")])
    assert not ok and "HTTP/401" in why and "tok" not in why.replace("CredentialValidation", "")
    body = json.loads(t.graph_calls()[0][3])
    assert body == {"credentials": [{"key": "BaseAddress", "value": "https://a/scim/v2/"},
                                    {"key": "SecretToken", "value": "tok"}]}
    t = FakeTransport([(204, {}, None)])
    c = client(t)[0]
    assert c.validate_credentials(SP, JOB) == (True, None)
    assert json.loads(t.graph_calls()[0][3]) == {"useSavedCredentials": True}
    c.put_secrets(SP, [("BaseAddress", "u"), ("SecretToken", "v")])
    method, url, _headers, data = t.graph_calls()[1]
    assert method == "PUT" and url.endswith("/synchronization/secrets")
    assert json.loads(data) == {"value": [{"key": "BaseAddress", "value": "u"}, {"key": "SecretToken", "value": "v"}]}
    c.lift_quarantine(SP, JOB)
    method, url, _headers, data = t.graph_calls()[2]
    assert url.endswith("/jobs/%s/restart" % JOB)
    # Only the quarantine is reset: a watermark reset would make the next cycle an initial one.
    assert json.loads(data) == {"criteria": {"resetScope": "QuarantineState"}}


def test_job_summary():
    job = {"id": "j", "templateId": "scim", "schedule": {"state": "Active"},
           "status": {"code": "Quarantine", "quarantine": {"reason": "EncounteredQuarantineException"},
                      "lastExecution": {"state": "Failed"}}}
    assert _graph.job_summary(job) == {"id": "j", "template_id": "scim", "status_code": "Quarantine",
                                       "schedule_state": "Active",
                                       "quarantine_reason": "EncounteredQuarantineException",
                                       "last_execution_state": "Failed"}
    assert _graph.job_summary({"id": "j", "status": {"code": "Active", "quarantine": None}})["quarantine_reason"] is None
