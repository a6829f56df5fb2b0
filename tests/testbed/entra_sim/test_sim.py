# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Light tests of the Entra simulator: its own throwaway CA, a tiny SCIM endpoint standing in for
Alation, and real HTTPS calls with certificate verification."""

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from client import EntraSim  # noqa: E402
from testkit import FakeScim, run_app  # noqa: E402

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SP = "0f0e0d0c-0000-4000-8000-000000000001"
JOB = "scim.%s.%s" % ("a" * 32, "b" * 32)
SECRET = "sim-client-secret-value"
SCIM_TOKEN = "good-scim-token-" + uuid.uuid4().hex


def openssl(*args, **kw):
    subprocess.run(("openssl",) + args, check=True, capture_output=True, **kw)


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
            "-days", "2", "-subj", "/CN=entra-sim test CA")
    for name, ip in (("sim", "127.0.20.1"), ("scim", "127.0.20.2")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / (name + ".key")), "-out",
                str(d / (name + ".csr")), "-subj", "/CN=" + ip)
        (d / (name + ".ext")).write_text("subjectAltName=IP:%s\n" % ip)
        openssl("x509", "-req", "-in", str(d / (name + ".csr")), "-CA", str(d / "ca.pem"), "-CAkey",
                str(d / "ca.key"), "-CAcreateserial", "-out", str(d / (name + ".pem")), "-days", "2",
                "-extfile", str(d / (name + ".ext")))
    # the app's certificate credential
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "app.key"), "-out",
            str(d / "app.pem"), "-days", "2", "-subj", "/CN=alation-scim-app")
    return d


@pytest.fixture(scope="module")
def scim(pki):
    """Alation's SCIM endpoint stand-in (testkit.FakeScim), certificate from this test's CA."""
    running = run_app(FakeScim(SCIM_TOKEN), "127.0.20.2", str(pki), "scim")
    yield running.url + "/scim/v2/"
    running.stop()


@pytest.fixture(scope="module")
def sim_proc(pki, scim):
    cfg = {"tenants": {TENANT: {"apps": {CLIENT: {
        "secret": SECRET, "permissions": ["Synchronization.ReadWrite.All"],
        "certificates": [(pki / "app.pem").read_text()]}}}},
        "service_principals": {SP: {"tenant": TENANT, "display_name": "Alation alation1",
                                    "jobs": [{"id": JOB, "templateId": "scim", "status": "Active"}]}}}
    (pki / "config.json").write_text(json.dumps(cfg))
    port = free_port("127.0.20.1")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "--host", "127.0.20.1", "--port",
                             str(port), "--cert", str(pki / "sim.pem"), "--key", str(pki / "sim.key"),
                             "--ca", str(pki / "ca.pem"), "--config", str(pki / "config.json")],
                            stderr=subprocess.PIPE)
    base = "https://127.0.20.1:%d" % port
    for _i in range(100):
        try:
            socket.create_connection(("127.0.20.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def sim(sim_proc, pki):
    s = EntraSim(sim_proc, str(pki / "ca.pem"))
    s.reset()
    return s


def call(sim, method, path, body=None, form=None, token=None):
    data = None
    req_headers = {}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        req_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        req_headers["Content-Type"] = "application/json"
    if token:
        req_headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(sim.base_url + path, data=data, method=method, headers=req_headers)
    try:
        with urllib.request.urlopen(req, context=sim.ctx, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None, r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None, e.headers


def get_token(sim, **over):
    form = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET,
            "scope": "https://graph.microsoft.com/.default"}
    form.update(over)
    return call(sim, "POST", "/%s/oauth2/v2.0/token" % over.pop("tenant", TENANT), form=form)


def token(sim):
    status, body, _headers = get_token(sim)
    assert status == 200
    return body["access_token"]


SYNC = "/v1.0/servicePrincipals/%s/synchronization" % SP


def put_creds(sim, tok, base, secret):
    return call(sim, "PUT", SYNC + "/secrets", {"value": [
        {"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": secret}]}, token=tok)


def test_tls_needs_the_ca(sim_proc):
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(sim_proc + "/_sim/state", context=ssl.create_default_context(), timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in str(e.value)


def test_token_errors(sim):
    status, body, _headers = get_token(sim, client_secret="wrong")
    assert status == 401 and body["error_codes"] == [7000215] and body["error"] == "invalid_client"
    status, body, _headers = get_token(sim, client_id="00000000-0000-0000-0000-000000000000")
    assert status == 400 and body["error_codes"] == [700016]
    status, body, _headers = call(sim, "POST", "/nope/oauth2/v2.0/token", form={"grant_type": "client_credentials"})
    assert status == 400 and body["error_codes"] == [90002]


def jwt(pki, aud, key="app.key", cert="app.pem", exp_delta=600):
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    pem = (pki / cert).read_text()
    der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    head = {"alg": "RS256", "typ": "JWT", "x5t#S256": b64(hashlib.sha256(der).digest())}
    now = int(time.time())
    claims = {"aud": aud, "iss": CLIENT, "sub": CLIENT, "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
              "exp": now + exp_delta}
    signing = "%s.%s" % (b64(json.dumps(head).encode()), b64(json.dumps(claims).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(pki / key)], input=signing.encode(),
                         capture_output=True, check=True).stdout
    return signing + "." + b64(sig)


def test_client_assertion(sim, pki):
    aud = "%s/%s/oauth2/v2.0/token" % (sim.base_url, TENANT)
    form = {"client_secret": None}
    status, body, _headers = call(sim, "POST", "/%s/oauth2/v2.0/token" % TENANT, form={
        "grant_type": "client_credentials", "client_id": CLIENT, "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": jwt(pki, aud)})
    assert status == 200 and body["access_token"], body
    # signed with another key but claiming the registered certificate
    status, body, _headers = call(sim, "POST", "/%s/oauth2/v2.0/token" % TENANT, form={
        "grant_type": "client_credentials", "client_id": CLIENT, "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": jwt(pki, aud, key="sim.key")})
    assert status == 401 and body["error_codes"] == [700027]
    assert form


def test_secrets_masked_and_case_sensitive(sim, scim):
    tok = token(sim)
    assert put_creds(sim, tok, scim, SCIM_TOKEN)[0] == 204
    status, body, _headers = call(sim, "GET", SYNC + "/secrets", token=tok)
    assert status == 200 and {s["value"] for s in body["value"]} == {"*"}
    sim.config(mask_base_address=False)
    status, body, _headers = call(sim, "GET", SYNC + "/secrets", token=tok)
    assert {"key": "BaseAddress", "value": scim} in body["value"]
    assert {"key": "SecretToken", "value": "*"} in body["value"]
    wrong_case = {"value": [{"key": "baseAddress", "value": scim}]}
    status, body, _headers = call(sim, "PUT", SYNC + "/secrets", wrong_case, token=tok)
    assert status == 500 and body["error"]["code"] and "innerError" in body["error"]
    assert sim.stored_token(SP) == SCIM_TOKEN


def test_graph_auth_and_not_found(sim):
    status, body, _headers = call(sim, "GET", SYNC + "/jobs", token="bogus")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"
    tok = token(sim)
    status, body, _headers = call(sim, "GET", "/v1.0/servicePrincipals/%s/synchronization/jobs" % uuid.uuid4(), token=tok)
    assert status == 404 and body["error"]["code"] == "Request_ResourceNotFound"
    status, body, _headers = call(sim, "GET", SYNC + "/jobs/scim.nope", token=tok)
    assert status == 404 and "scim.nope" in body["error"]["message"]
    sim.config(token_lifetime=-1)
    expired = token(sim)
    status, body, _headers = call(sim, "GET", SYNC + "/jobs", token=expired)
    assert status == 401 and "expired" in body["error"]["message"]


def test_validate_really_calls_the_endpoint(sim, scim):
    tok = token(sim)
    path = SYNC + "/jobs/%s/validateCredentials" % JOB
    good = {"credentials": [{"key": "BaseAddress", "value": scim}, {"key": "SecretToken", "value": SCIM_TOKEN}]}
    assert call(sim, "POST", path, good, token=tok)[0] == 204
    bad = {"credentials": [{"key": "BaseAddress", "value": scim}, {"key": "SecretToken", "value": "old"}]}
    status, body, _headers = call(sim, "POST", path, bad, token=tok)
    assert status == 400 and "401" in body["error"]["message"] and "old" not in body["error"]["message"]
    assert call(sim, "POST", path, {"useSavedCredentials": True}, token=tok)[0] == 400  # nothing saved
    put_creds(sim, tok, scim, SCIM_TOKEN)
    assert call(sim, "POST", path, {"useSavedCredentials": True}, token=tok)[0] == 204


def test_cycle_quarantine_and_restart(sim, scim):
    tok = token(sim)
    put_creds(sim, tok, scim, SCIM_TOKEN)
    out = sim.cycle(SP)
    entra_forms = ["rename_group", "add_member", "remove_member", "disable_user", "delete_user", "delete_manager"]
    first = ["create_user", "find_user", "update_user", "create_manager", "add_manager", "create_group"]
    assert out["ok"] and [s["op"] for s in out["steps"]] == first + entra_forms, out
    out = sim.cycle(SP)  # the group is found again by its displayName
    assert out["ok"] and [s["op"] for s in out["steps"]] == first[:-1] + ["find_group"] + entra_forms, out
    put_creds(sim, tok, scim, "revoked-token")
    out = sim.cycle(SP)
    assert not out["ok"] and out["job_status"] == "Quarantine"
    job = sim.job(SP)
    assert job["status"]["quarantine"]["reason"] == "EncounteredQuarantineException"
    put_creds(sim, tok, scim, SCIM_TOKEN)
    assert call(sim, "POST", SYNC + "/jobs/%s/restart" % JOB,
                {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}, token=tok)[0] == 204
    assert sim.job(SP)["status"]["code"] == "Active"
    assert call(sim, "POST", SYNC + "/jobs/%s/pause" % JOB, {}, token=tok)[0] == 204
    assert sim.job(SP)["status"]["code"] == "Paused"
    assert sim.cycle(SP)["skipped"]
    assert call(sim, "POST", SYNC + "/jobs/%s/start" % JOB, {}, token=tok)[0] == 204
    assert sim.job(SP)["status"]["code"] == "Active"


def test_scheduled_cycles(sim, scim):
    tok = token(sim)
    put_creds(sim, tok, scim, SCIM_TOKEN)
    sim.config(cycle_interval=0.5)
    time.sleep(2.2)
    sim.config(cycle_interval=0)
    cycles = sim.sp(SP)["cycles"]
    assert len(cycles) >= 2 and all(c["trigger"] == "schedule" and c["ok"] for c in cycles)


def test_faults(sim):
    tok = token(sim)
    sim.fault("throttle", count=2, retry_after=3)
    for _i in range(2):
        status, body, headers = call(sim, "GET", SYNC + "/jobs", token=tok)
        assert status == 429 and headers["Retry-After"] == "3"
    assert call(sim, "GET", SYNC + "/jobs", token=tok)[0] == 200
    sim.fault("wrong_permissions")
    assert call(sim, "GET", SYNC + "/jobs", token=tok)[0] == 401
    sim.fault("replication_delay", count=1, status=409)
    assert call(sim, "GET", SYNC + "/jobs", token=tok)[0] == 409
    assert call(sim, "GET", SYNC + "/jobs", token=tok)[0] == 200
    sim.fault("down", count=1)
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        call(sim, "GET", SYNC + "/jobs", token=tok)
    assert call(sim, "GET", SYNC + "/jobs", token=tok)[0] == 200
    log = sim.state()["requests"]
    assert {"method", "path", "status", "time"} <= set(log[-1]) and "body" not in log[-1]
    assert [r["status"] for r in log[-3:]] == [200, "connection-closed", 200]
    sim.fault("down", skip=2)  # the first two requests go through, then the simulator is down
    assert [call(sim, "GET", SYNC + "/jobs", token=tok)[0] for _i in range(2)] == [200, 200]
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        call(sim, "GET", SYNC + "/jobs", token=tok)
    sim.fault("none")


def test_missing_permission_answers_401(sim):
    sim.set_app(TENANT, CLIENT, permissions=["User.Read.All"])
    tok = token(sim)
    status, body, _headers = call(sim, "GET", SYNC + "/jobs", token=tok)
    assert status == 401 and body["error"]["code"] == "Unauthorized"
    status, body, _headers = call(sim, "GET", "/v1.0/servicePrincipals/%s" % SP, token=tok)
    assert status == 403  # reading the service principal itself is a plain 403
    sim.reset()
    assert call(sim, "GET", SYNC + "/jobs", token=token(sim))[0] == 200


def test_slow_and_flapping(sim):
    tok = token(sim)
    sim.fault("slow", count=1, delay=1.0)
    started = time.time()
    assert call(sim, "GET", SYNC + "/jobs", token=tok)[0] == 200
    assert time.time() - started >= 1.0
    sim.fault("flapping", count=4)
    assert [call(sim, "GET", SYNC + "/jobs", token=tok)[0] for _i in range(5)] == [503, 200, 503, 200, 200]


def test_oidc_discovery_points_at_the_simulator(sim):
    status, doc, _headers = call(sim, "GET", "/%s/v2.0/.well-known/openid-configuration" % TENANT)
    assert status == 200 and doc["token_endpoint"] == "%s/%s/oauth2/v2.0/token" % (sim.base_url, TENANT)
    assert doc["issuer"] == "%s/%s/v2.0" % (sim.base_url, TENANT) and doc["authorization_endpoint"]
    status, body, _headers = call(sim, "GET", "/%s/v2.0/.well-known/openid-configuration" % uuid.uuid4())
    assert status == 400 and body["error_codes"] == [90002]


def test_get_synchronization_masks_secrets(sim, scim):
    tok = token(sim)
    put_creds(sim, tok, scim, SCIM_TOKEN)
    status, body, _headers = call(sim, "GET", SYNC, token=tok)
    assert status == 200 and body["id"] == SP
    assert sorted(s["key"] for s in body["secrets"]) == ["BaseAddress", "SecretToken"]
    assert {s["value"] for s in body["secrets"]} == {"*"}


@pytest.mark.parametrize("criteria, lifted", [
    ({}, True),  # empty criteria: the portal's Restart
    ({"criteria": {}}, True),
    ({"criteria": {"resetScope": "QuarantineState"}}, True),
    ({"criteria": {"resetScope": "Watermark, Escrows"}}, False),
    ({"criteria": {"resetScope": "None"}}, False),  # "DO NOT USE, use Start instead"
])
def test_restart_criteria(sim, scim, criteria, lifted):
    tok = token(sim)
    put_creds(sim, tok, scim, SCIM_TOKEN)
    sim.set_job(SP, JOB, "Quarantine")
    assert call(sim, "POST", SYNC + "/jobs/%s/restart" % JOB, criteria, token=tok)[0] == 204
    job = sim.job(SP)
    assert (job["status"]["code"], job["status"]["quarantine"] is None) == (
        ("Active", True) if lifted else ("Quarantine", False))
    assert job["schedule"]["state"] == "Active"
    status, body, _headers = call(sim, "POST", SYNC + "/jobs/%s/restart" % JOB,
                                  {"criteria": {"resetScope": "Watermark, Bogus"}}, token=tok)
    assert status == 400 and "Bogus" in body["error"]["message"]


@pytest.mark.parametrize("answer", [400, 404, 405])
def test_secrets_read_knob(sim, scim, answer):
    tok = token(sim)
    put_creds(sim, tok, scim, SCIM_TOKEN)
    sim.config(secrets_read=answer)
    status, body, _headers = call(sim, "GET", SYNC + "/secrets", token=tok)
    assert status == answer and body["error"]["code"] and "innerError" in body["error"]
    assert put_creds(sim, tok, scim, SCIM_TOKEN)[0] == 204  # only the read-back is unavailable
    with pytest.raises(urllib.error.HTTPError) as e:
        sim.config(secrets_read=500)
    assert e.value.code == 400
