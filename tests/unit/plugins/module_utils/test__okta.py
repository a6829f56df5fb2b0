# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_okta: pure parts, then the client against the Okta simulator over real HTTPS (throwaway CA),
with a small SCIM endpoint standing in for Alation."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _okta
from ansible_collections.alation.scim.plugins.module_utils._http import Response, send

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))
from testkit import FakeScim, load_server, run_app  # noqa: E402

okta_server = load_server("okta_sim")

APP = "0oa1alationscim0001"
API_TOKEN = "00okta-sim-ssws-" + "x" * 24
CLIENT = "0oa1serviceapp0001"
SCIM_TOKEN = "alation-scim-token-" + "a1b2c3d4" * 4


# ---------------------------------------------------------------- pure parts
def test_filter_targets_app_and_provisioning_types():
    f = _okta.logs_filter(APP)
    assert f == ('target.id eq "%s" and (eventType sw "application.provision." or '
                 'eventType sw "app.user_management.push")' % APP)
    # and the simulator's parser (standing in for Okta's) reads it as meant
    pred = okta_server.parse_filter(f)
    ev = {"eventType": "application.provision.user.push", "target": [{"id": "00u1"}, {"id": APP}]}
    assert pred(ev)
    assert not pred(dict(ev, eventType="application.lifecycle.update"))
    assert not pred(dict(ev, target=[{"id": "0oaOTHER"}]))


def test_filter_quotes_values():
    assert _okta.quote_filter_value('a"b\\c') == '"a\\"b\\\\c"'


def test_next_link_picks_rel_next():
    h = '<https://o.okta.com/api/v1/logs?after=1>; rel="self", <https://o.okta.com/api/v1/logs?after=9>; rel="next"'
    assert _okta.next_link(h) == "https://o.okta.com/api/v1/logs?after=9"
    assert _okta.next_link('<https://x>; rel="self"') is None
    assert _okta.next_link(None) is None


@pytest.mark.parametrize("url", ["http://o.okta.com", "o.okta.com", "https://o.okta.com/api", ""])
def test_org_url_must_be_https_origin(url):
    with pytest.raises(_okta.OktaError) as e:
        _okta.normalize_org_url(url)
    assert "OKTA_ORG_URL" in e.value.message


def test_org_url_trailing_slash_dropped():
    assert _okta.normalize_org_url("https://o.okta.com/") == "https://o.okta.com"


@pytest.mark.parametrize("since", ["2026-01-01", "2026-01-01T00:00:00", "yesterday", None])
def test_since_needs_zone(since):
    with pytest.raises(_okta.OktaError):
        _okta.validate_since(since)


def test_describe_error_okta_body_with_hint():
    body = {"errorCode": "E0000011", "errorSummary": "Invalid token provided", "errorId": "oae1",
            "errorCauses": []}
    text, code, fix = _okta.describe_error(401, body, "Reading the log")
    assert code == "E0000011"
    assert text.startswith("Reading the log: Okta answered HTTP 401 E0000011: Invalid token provided")
    assert "Security > API > Tokens" in fix


def test_describe_error_oauth_body_with_hint():
    text, code, fix = _okta.describe_error(400, {"error": "invalid_scope", "error_description": "nope"}, "Token")
    assert code == "invalid_scope" and "nope" in text and "okta.logs.read" in fix


def test_describe_error_without_body():
    text, code, fix = _okta.describe_error(502, None, "Doing")
    assert code is None and "HTTP 502" in text and fix is None


def ev(result, published, reason=None):
    return {"result": result, "published": published, "event_type": "application.provision.user.push",
            "reason": reason}


def test_verdict_no_events_says_unknown():
    v = _okta.provisioning_verdict([], APP, "2026-01-01T00:00:00Z")
    assert v["verdict"] == "no_events" and not v["succeeded"]
    assert "not known" in v["message"]


def test_verdict_failure_then_success_is_success():
    v = _okta.provisioning_verdict([ev("FAILURE", "t1", "401"), ev("SUCCESS", "t2")], APP, "t0")
    assert v["verdict"] == "succeeded" and v["succeeded"] and v["last_event"]["published"] == "t2"
    assert v["counts"] == {"SUCCESS": 1, "FAILURE": 1, "other": 0}


def test_verdict_success_then_failure_is_failure_with_reason():
    v = _okta.provisioning_verdict([ev("SUCCESS", "t1"), ev("FAILURE", "t2", "Unauthorized (401)")], APP, "t0")
    assert v["verdict"] == "failed" and not v["succeeded"]
    assert "Unauthorized (401)" in v["message"]


def test_verdict_ignores_skipped():
    v = _okta.provisioning_verdict([ev("SKIPPED", "t1")], APP, "t0")
    assert v["verdict"] == "no_events" and v["counts"]["other"] == 1


def test_client_assertion_claims_and_signature_input():
    seen = []

    def signer(data):
        seen.append(data)
        return b"sig"
    jwt = _okta.build_client_assertion(CLIENT, "https://o/oauth2/v1/token", signer, key_id="k1", now=1000, jti="j")
    head, claims, sig = jwt.split(".")

    def pad(s):
        return s + "=" * (-len(s) % 4)

    assert json.loads(base64.urlsafe_b64decode(pad(head))) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    assert json.loads(base64.urlsafe_b64decode(pad(claims))) == {
        "iss": CLIENT, "sub": CLIENT, "aud": "https://o/oauth2/v1/token", "iat": 1000, "nbf": 1000, "exp": 1300,
        "jti": "j"}
    assert seen == [(head + "." + claims).encode("ascii")]
    assert base64.urlsafe_b64decode(pad(sig)) == b"sig"


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def time(self):
        return self.now

    def sleep(self, s):
        self.slept.append(s)
        self.now += s


def fake_transport(responses, calls):
    def transport(method, url, headers=None, data=None, **kw):
        calls.append((method, url, dict(headers or {})))
        return responses.pop(0)
    return transport


def test_429_waits_until_reset_then_succeeds():
    clock = FakeClock()
    calls = []
    rl = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1010"}
    responses = [Response(429, rl, json.dumps({"errorCode": "E0000047"}).encode()),
                 Response(200, {"X-Rate-Limit-Remaining": "5", "X-Rate-Limit-Reset": "1070"}, b"[]")]
    c = _okta.OktaClient("https://o.okta.com", _okta.SswsAuth("t"), transport=fake_transport(responses, calls),
                         clock=clock.time, sleep=clock.sleep, retry_budget=60)
    assert c.call_json("GET", "/api/v1/logs", "Reading") == []
    assert clock.slept == [11.0]  # until the reset, plus one second
    assert calls[0][2]["Authorization"] == "SSWS t"


def test_remaining_zero_waits_before_next_call():
    clock = FakeClock()
    calls = []
    responses = [Response(200, {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1005"}, b"[]"),
                 Response(200, {}, b"[]")]
    c = _okta.OktaClient("https://o.okta.com", _okta.SswsAuth("t"), transport=fake_transport(responses, calls),
                         clock=clock.time, sleep=clock.sleep)
    c.call_json("GET", "/a", "A")
    assert clock.slept == []
    c.call_json("GET", "/b", "B")
    assert clock.slept == [6.0]


def test_429_beyond_budget_fails_clearly():
    clock = FakeClock()
    responses = [Response(429, {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1500"}, b"{}")]
    c = _okta.OktaClient("https://o.okta.com", _okta.SswsAuth("t"), transport=fake_transport(responses, []),
                         clock=clock.time, sleep=clock.sleep, retry_budget=30)
    with pytest.raises(_okta.OktaError) as e:
        c.call_json("GET", "/a", "Reading the log")
    assert "retry_budget" in e.value.message and e.value.code == "E0000047"
    assert clock.slept == []


# ---------------------------------------------------------------- against the simulator
def openssl_signer(key_path):
    def sign(data):
        proc = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=data,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
        return proc.stdout
    return sign


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("okta")
    pki = str(d / "pki")
    scim_app = FakeScim(SCIM_TOKEN)
    scim = run_app(scim_app, "127.0.30.9", pki, "scim")
    key = str(d / "svc.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                   check=True, capture_output=True)
    pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], check=True, capture_output=True).stdout.decode()
    other = str(d / "other.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", other], check=True, capture_output=True)
    config = {
        "api_tokens": {API_TOKEN: {}, "no-logs-token-xxxxxxxx": {"scopes": []}},
        "service_apps": {CLIENT: {"public_key_pem": pub, "scopes": ["okta.logs.read"]},
                         "0oaDPOP": {"public_key_pem": pub, "scopes": ["okta.logs.read"], "dpop": True}},
        "apps": {APP: {"label": "Alation", "base_url": scim.url + "/scim/v2/"}},
    }
    cfg = d / "okta.json"
    cfg.write_text(json.dumps(config))
    org = okta_server.Org(str(cfg), os.path.join(pki, "ca.pem"))
    okta = run_app(org, "127.0.30.1", pki, "okta")
    yield {"org": org, "url": okta.url, "ca": os.path.join(pki, "ca.pem"), "key": key, "other_key": other,
           "scim": scim_app}
    okta.stop()
    scim.stop()


@pytest.fixture
def org(world):
    world["org"].reset()
    return world["org"]


def client(world, auth=None, **kw):
    return _okta.OktaClient(world["url"], auth or _okta.SswsAuth(API_TOKEN), ca_path=world["ca"], **kw)


def since_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))


def test_no_event_before_paste_then_failure_then_success(world, org):
    since = since_now()
    c = client(world)
    assert c.provisioning_events(APP, since) == []
    org.provision(APP, {})  # no token saved yet
    org.paste({"app_id": APP, "token": SCIM_TOKEN})  # the lifecycle event must not count
    org.provision(APP, {})
    events = c.provisioning_events(APP, since)
    assert [e["result"] for e in events] == ["FAILURE", "SUCCESS"]
    assert "no API token saved" in events[0]["reason"]
    v = _okta.provisioning_verdict(events, APP, since)
    assert v["verdict"] == "succeeded"
    assert c.rate_limit["remaining"] is not None and c.rate_limit["reset"] is not None


def test_paste_of_a_wrong_token_is_refused_by_the_console_test(world, org):
    with pytest.raises(okta_server.SimError) as e:
        org.paste({"app_id": APP, "token": "wrong-token-0000000000"})
    assert "401" in e.value.body["error"]
    org.paste({"app_id": APP, "token": "wrong-token-0000000000", "test": False})
    since = since_now()
    org.provision(APP, {})
    events = client(world).provisioning_events(APP, since)
    assert events[-1]["result"] == "FAILURE" and "Unauthorized (401)" in events[-1]["reason"]


def test_events_before_since_do_not_count(world, org):
    org.paste({"app_id": APP, "token": SCIM_TOKEN})
    org.provision(APP, {})
    time.sleep(1.1)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(0.05)
    assert client(world).provisioning_events(APP, since) == []


@pytest.mark.parametrize("stamp, expected", [
    ("2026-01-31T12:00:59Z", "2026-01-31T12:01:00Z"),
    ("2026-12-31T23:59:59+00:00", "2027-01-01T00:00:00Z"),
    ("2026-01-31T12:00:00.250Z", "2026-01-31T12:00:00.250Z"),  # sub-second: as it is
    (None, None),
])
def test_the_rotation_second_is_left_out(stamp, expected):
    assert _okta.after_the_second_of(stamp) == expected


def test_an_event_in_the_rotations_own_second_does_not_count(world, org):
    """A hand-off's rotated_at has whole seconds; an event published earlier in that second used the old token."""
    org.paste({"app_id": APP, "token": SCIM_TOKEN})
    org.provision(APP, {})
    rotated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # "rotated" right after, in the same second
    events = client(world).provisioning_events(APP, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1)))
    assert events, "the event before the rotation is there"
    assert client(world).provisioning_events(APP, _okta.after_the_second_of(rotated_at)) == []
    time.sleep(1.1)
    org.provision(APP, {})
    assert len(client(world).provisioning_events(APP, _okta.after_the_second_of(rotated_at))) == 1


def test_pagination_follows_next_until_empty(world, org):
    since = since_now()
    org.paste({"app_id": APP, "token": SCIM_TOKEN})
    for _cycle in range(5):
        org.provision(APP, {})
    calls = []

    def counting(*a, **kw):
        calls.append(a[1])
        return send(*a, **kw)
    events = client(world, transport=counting).provisioning_events(APP, since, page_size=2)
    assert len(events) == 5 and all(e["result"] == "SUCCESS" for e in events)
    assert len(calls) == 4  # 2 + 2 + 1 events, then the empty page that ends the poll


def test_bad_api_token_is_explained(world, org):
    with pytest.raises(_okta.OktaError) as e:
        client(world, _okta.SswsAuth("not-a-token-000000")).provisioning_events(APP, since_now())
    assert e.value.status == 401 and e.value.code == "E0000011" and "Security > API > Tokens" in e.value.message


def test_token_without_log_permission_is_explained(world, org):
    with pytest.raises(_okta.OktaError) as e:
        client(world, _okta.SswsAuth("no-logs-token-xxxxxxxx")).provisioning_events(APP, since_now())
    assert e.value.status == 403 and "okta.logs.read" in e.value.message


def test_private_key_jwt_gets_a_scoped_token_and_reads(world, org):
    auth = _okta.PrivateKeyJwtAuth(CLIENT, openssl_signer(world["key"]))
    c = client(world, auth)
    assert c.provisioning_events(APP, since_now()) == []
    assert auth._token  # cached for the next call
    assert c.provisioning_events(APP, since_now()) == []


def test_private_key_jwt_with_the_wrong_key(world, org):
    auth = _okta.PrivateKeyJwtAuth(CLIENT, openssl_signer(world["other_key"]))
    with pytest.raises(_okta.OktaError) as e:
        client(world, auth).provisioning_events(APP, since_now())
    assert "invalid_client" in e.value.message and "private_key_path" in e.value.message


def test_private_key_jwt_scope_not_granted(world, org):
    auth = _okta.PrivateKeyJwtAuth(CLIENT, openssl_signer(world["key"]), scopes=["okta.apps.manage"])
    with pytest.raises(_okta.OktaError) as e:
        client(world, auth).provisioning_events(APP, since_now())
    assert "invalid_scope" in e.value.message and "Okta API Scopes" in e.value.message


def test_dpop_app_is_explained(world, org):
    auth = _okta.PrivateKeyJwtAuth("0oaDPOP", openssl_signer(world["key"]))
    with pytest.raises(_okta.OktaError) as e:
        client(world, auth).provisioning_events(APP, since_now())
    assert "DPoP" in e.value.message


def test_throttle_fault_waits_for_reset(world, org):
    org.set_fault({"mode": "throttle", "count": 1, "reset_in": 1})
    c = client(world)
    started = time.time()
    assert c.provisioning_events(APP, since_now()) == []
    assert time.time() - started >= 1.0
    assert c.waited >= 1.0


def test_rate_limit_exhausted_gives_429_e0000047(world, org):
    org.set_fault({"mode": "throttle", "reset_in": 60})
    with pytest.raises(_okta.OktaError) as e:
        client(world, retry_budget=2).provisioning_events(APP, since_now())
    assert e.value.code == "E0000047" and "retry_budget" in e.value.message


def test_connections_api_quirk_for_custom_apps(world, org):
    c = client(world)
    body = c.call_json("POST", "/api/v1/apps/%s/connections/default?activate=true" % APP, "Setting the token",
                       data=json.dumps({"profile": {"authScheme": "TOKEN", "token": "x" * 20}}),
                       headers={"Content-Type": "application/json"})
    assert body["status"] == "UNKNOWN"
    assert org.state()["apps"][APP]["token_fingerprint"] is None  # nothing was stored


def test_tls_is_verified(world, org):
    c = _okta.OktaClient(world["url"], _okta.SswsAuth(API_TOKEN), retry_budget=0)  # system CAs only
    with pytest.raises(_okta.OktaError) as e:
        c.provisioning_events(APP, since_now())
    assert "ca_path" in e.value.message
