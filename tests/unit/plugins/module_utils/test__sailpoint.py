# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sailpoint: Identity Security Cloud and IdentityIQ clients, pure helpers and a fake transport.
The drivers against the simulators: tests/unit/plugins/plugin_utils/drivers."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.alation.scim.plugins.module_utils import _sailpoint as sp
from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from fake_http import Transport, answer as ok  # tests/unit (conftest puts it on the path)

TOKEN = "new-alation-token-" + "5d" * 12
CIPHER = "2:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


def source(**attrs):
    connector_attrs = {"baseUrl": "https://alation.example.com/scim/v2/", "authenticationType": "API Token",
                       "apiToken": CIPHER, "clientSecret": "2:c2VjcmV0", "encrypted": "apiToken,clientSecret,password",
                       "pageSize": "100"}
    connector_attrs.update(attrs)
    return {"id": "src1", "name": "Alation", "description": "Alation SCIM", "connectorName": "SCIM 2.0",
            "connectorAttributes": connector_attrs}


TOKEN_ANSWER = ("POST", "/oauth/token", ok({"access_token": "at-1", "token_type": "bearer", "expires_in": 749}))


def isc(transport, sleeps=None, **kw):
    return sp.SailPointClient("api-client", "api-secret-123", tenant="acme", transport=transport,
                              sleep=sleeps.append if sleeps is not None else (lambda s: None), **kw)


# ---------------------------------------------------------------- ISC pure helpers
def test_isc_api_url():
    assert sp.isc_api_url("acme") == "https://acme.api.identitynow.com"
    assert sp.isc_api_url(base_url="https://acme.api.identitynow.de/v3/") == "https://acme.api.identitynow.de"
    assert sp.isc_api_url("ignored", "https://127.0.60.1:8443") == "https://127.0.60.1:8443"
    for tenant, base in (("acme.identitynow.com", None), (None, None), (None, "http://acme")):
        with pytest.raises(ApiError) as e:
            sp.isc_api_url(tenant, base)
        assert "Fix:" in e.value.message


def test_missing_token_key_names_the_keys_never_the_values():
    sp.require_token_key(source(), "apiToken", "src1")
    with pytest.raises(ApiError) as e:
        sp.require_token_key(source(), "token", "src1")
    msg = e.value.message
    assert "'token'" in msg and "apiToken, authenticationType, baseUrl" in msg and "token_key" in msg
    assert CIPHER not in msg and "alation.example.com" not in msg


def test_token_patch_escapes_the_json_pointer():
    assert sp.token_patch("apiToken", TOKEN) == [{"op": "replace", "path": "/connectorAttributes/apiToken",
                                                  "value": TOKEN}]
    assert sp.token_patch("a/b~c", "t")[0]["path"] == "/connectorAttributes/a~1b~0c"


def test_redact_source_masks_encrypted_and_secret_looking_keys():
    red = sp.redact_source(source(proxyPassword="clear-proxy-pass"))
    attrs = red["connectorAttributes"]
    assert attrs["apiToken"] == attrs["clientSecret"] == attrs["proxyPassword"] == "********"
    assert attrs["baseUrl"] == "https://alation.example.com/scim/v2/" and attrs["encrypted"].startswith("apiToken")
    assert source()["connectorAttributes"]["apiToken"] == CIPHER
    summary = sp.source_summary(source(), "apiToken")
    assert summary["token_key_present"] and summary["token_key_set"] and CIPHER not in json.dumps(summary)


def test_connection_outcome():
    assert sp.connection_outcome({"status": "SUCCESS", "elapsedMillis": 812, "name": "Alation"}, "src1") == (
        True, "SailPoint source src1 (Alation) passed its connection test in 812 ms.")
    ok_, text = sp.connection_outcome({"status": "FAILURE", "details": {"error": "HTTP 401 from Users"}}, "src1")
    assert not ok_ and "HTTP 401 from Users" in text and "FAILURE" in text
    assert sp.connection_outcome({}, "src1")[0] is False


def test_isc_error_text():
    body = {"detailCode": "403 Forbidden", "trackingId": "t1",
            "messages": [{"locale": "en-US", "text": "refuses to authorize it"}], "causes": []}
    assert sp.isc_error_text(body) == "403 Forbidden; refuses to authorize it; trackingId t1"
    assert sp.isc_error_text({"message": " Rate Limit Exceeded "}) == "Rate Limit Exceeded"


# ---------------------------------------------------------------- ISC client
def test_client_credentials_then_get_patch_and_check_connection():
    t = Transport([TOKEN_ANSWER, ("GET", "/v3/sources/src1", ok(source())),
                   ("PATCH", "/v3/sources/src1", ok(source())),
                   ("POST", "/v2025/sources/src1/connector/check-connection", ok({"status": "SUCCESS"}))])
    c = isc(t)
    c.get_source("src1")
    c.patch_source("src1", sp.token_patch("apiToken", TOKEN))
    assert c.check_connection("src1")["status"] == "SUCCESS"
    token_req = t.sent[0]
    assert token_req["url"] == "https://acme.api.identitynow.com/oauth/token"
    assert token_req["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert "grant_type=client_credentials" in token_req["data"] and "client_secret=api-secret-123" in token_req["data"]
    assert all(s["headers"]["Authorization"] == "Bearer at-1" for s in t.sent[1:])
    patch = t.sent[2]
    assert patch["headers"]["Content-Type"] == "application/json-patch+json"
    assert json.loads(patch["data"]) == sp.token_patch("apiToken", TOKEN)


def test_401_renews_the_token_once():
    t = Transport([TOKEN_ANSWER, ("GET", "/v3/sources/src1", ok({"error": "JWT validation failed"}, 401)),
                   ("POST", "/oauth/token", ok({"access_token": "at-2", "expires_in": 749})),
                   ("GET", "/v3/sources/src1", ok({"error": "JWT validation failed"}, 401))])
    with pytest.raises(ApiError) as e:
        isc(t).get_source("src1")
    assert e.value.status == 401 and "client_id / client_secret" in e.value.message
    assert t.sent[3]["headers"]["Authorization"] == "Bearer at-2" and not t.script


@pytest.mark.parametrize("method,call,scope", [
    ("GET", lambda c: c.get_source("src1"), "idn:sources:read"),
    ("PATCH", lambda c: c.patch_source("src1", []), "idn:sources:manage"),
    ("POST", lambda c: c.check_connection("src1"), "idn:source-connector:manage"),
])
def test_403_names_the_missing_scope(method, call, scope):
    suffix = {"GET": "/v3/sources/src1", "PATCH": "/v3/sources/src1",
              "POST": "/v2025/sources/src1/connector/check-connection"}[method]
    t = Transport([TOKEN_ANSWER, (method, suffix, ok({"detailCode": "403 Forbidden", "messages": []}, 403))])
    with pytest.raises(ApiError) as e:
        call(isc(t))
    assert e.value.status == 403 and scope in e.value.message


def test_404_names_source_id_and_bad_client_names_credentials():
    t = Transport([TOKEN_ANSWER, ("GET", "/v3/sources/nope", ok({"detailCode": "404 Not found"}, 404))])
    with pytest.raises(ApiError) as e:
        isc(t).get_source("nope")
    assert "source_id" in e.value.message and "404 Not found" in e.value.message
    t = Transport([("POST", "/oauth/token", ok({"error": "invalid_client", "error_description": "Bad"}, 401))])
    with pytest.raises(ApiError) as e:
        isc(t).get_source("src1")
    assert "invalid_client" in e.value.message and "client_id / client_secret" in e.value.message


def test_429_retry_after_is_honoured():
    sleeps = []
    t = Transport([TOKEN_ANSWER, ("PATCH", "/v3/sources/src1", ok({"message": "Rate Limit Exceeded"}, 429,
                                                                  {"Retry-After": "3"})),
                   ("PATCH", "/v3/sources/src1", ok(source()))])
    isc(t, sleeps).patch_source("src1", [])
    assert sleeps == [3.0]


def test_isc_argument_spec_and_environment(monkeypatch):
    spec = sp.sailpoint_argument_spec()
    assert spec["client_secret"]["no_log"] and spec["token_key"]["no_log"] is False
    monkeypatch.setenv("SAILPOINT_TENANT", "acme")
    monkeypatch.setenv("SAILPOINT_CLIENT_ID", "env-id")
    monkeypatch.setenv("SAILPOINT_CLIENT_SECRET", "env-secret")
    result = ArgumentSpecValidator(copy.deepcopy(spec)).validate({"source_id": "src1"})
    assert not result.error_messages
    p = result.validated_parameters
    got = (p["tenant"], p["client_id"], p["client_secret"], p["token_key"])
    assert got == ("acme", "env-id", "env-secret", "apiToken")
    assert sp.isc_target(p) == "https://acme.api.identitynow.com#source=src1"
    with pytest.raises(ApiError) as e:
        sp.isc_client_from_params(dict(p, tenant=None))
    assert "tenant or base_url" in e.value.message


# ---------------------------------------------------------------- IdentityIQ
def launched(status="Success", completed="2026-01-01T00:00:00Z", test="Success"):
    return {"id": "tr1", "name": "WF - 1", "completed": completed, "completionStatus": status,
            "messages": [] if status == "Success" else [{"type": "Error", "message": "Test connection failed: " + TOKEN}],
            sp.LAUNCHED_WORKFLOW_SCHEMA: {"workflowName": "WF", "workflowCaseId": "wc1",
                                          "input": [{"key": "token", "value": TOKEN}],
                                          "output": [{"key": "testResult", "value": test},
                                                     {"key": "tokenEcho", "value": TOKEN}]},
            "meta": {"location": "https://iiq/identityiq/scim/v2/TaskResults/tr1"}}


def iiq(transport, clock=None, sleeps=None):
    kw = {}
    if clock is not None:
        kw["clock"] = clock
    return sp.IdentityIqClient("https://iiq.example.com/identityiq", "svc", "svc-pass", transport=transport,
                               sleep=sleeps.append if sleeps is not None else (lambda s: None), **kw)


def test_launch_body_carries_both_forms():
    body = sp.launch_body("WF", [("applicationName", "App"), ("token", TOKEN)])
    ext = body[sp.LAUNCHED_WORKFLOW_SCHEMA]
    assert ext["workflowName"] == body["workflowName"] == "WF"
    assert ext["input"] == body["input"] == [{"key": "applicationName", "value": "App", "type": "string"},
                                             {"key": "token", "value": TOKEN, "type": "string"}]
    assert sp.LAUNCHED_WORKFLOW_SCHEMA in body["schemas"]


def test_workflow_outcome_keeps_nothing_secret():
    out = sp.workflow_outcome(launched("Error"), [TOKEN])
    text = json.dumps(out)
    assert TOKEN not in text
    assert out["completion_status"] == "Error" and out["outputs"] == {"testResult": "Success"}
    assert out["messages"] == ["Test connection failed: ********"]
    assert out["location"].endswith("/TaskResults/tr1")


def test_workflow_is_launched_with_scim_json_and_basic_auth():
    t = Transport([("POST", "/identityiq/scim/v2/LaunchedWorkflows", ok(launched(), 201))])
    out = iiq(t).run_workflow("WF", [("applicationName", "App"), ("token", TOKEN)])
    assert out["completion_status"] == "Success" and TOKEN not in json.dumps(out)
    sent = t.sent[0]
    assert sent["headers"]["Content-Type"] == "application/scim+json"
    assert sent["headers"]["Authorization"].startswith("Basic ")
    assert json.loads(sent["data"])["workflowName"] == "WF"


def test_a_workflow_still_running_is_followed_until_complete_or_timeout():
    now = [0.0]
    running = launched(status=None, completed=None)
    t = Transport([("POST", "/LaunchedWorkflows", ok(running, 201)),
                   ("GET", "/TaskResults/tr1", ok(running)),
                   ("GET", "/TaskResults/tr1", ok(launched()))])

    def sleep(s):
        now[0] += s
    c = sp.IdentityIqClient("https://iiq.example.com/identityiq", "svc", "svc-pass", transport=t,
                            clock=lambda: now[0], sleep=sleep)
    assert c.run_workflow("WF", [("token", TOKEN)], timeout=10)["completion_status"] == "Success"
    t = Transport([("POST", "/LaunchedWorkflows", ok(running, 201))] + [("GET", "/TaskResults/tr1", ok(running))] * 20)
    c = sp.IdentityIqClient("https://iiq.example.com/identityiq", "svc", "svc-pass", transport=t,
                            clock=lambda: now[0], sleep=sleep)
    with pytest.raises(ApiError) as e:
        c.run_workflow("WF", [("token", TOKEN)], timeout=3)
    assert "workflow_timeout 3" in e.value.message and "tr1" in e.value.message


def test_lookups_filter_by_name():
    listing = {"Resources": [{"name": "WF"}, {"name": "WF 2"}]}
    t = Transport([("GET", "/Workflows", ok(listing)), ("GET", "/Applications", ok({"Resources": []}))])
    c = iiq(t)
    assert c.find_workflow("WF") == {"name": "WF"}
    assert c.find_application('Alation "prod"') is None
    assert "filter=name+eq+%22WF%22" in t.sent[0]["url"]
    assert "Alation+%5C%22prod%5C%22" in t.sent[1]["url"]


def test_iiq_errors_say_what_to_fix():
    t = Transport([("GET", "/LaunchedWorkflows", ok({"detail": "Forbidden", "status": "403"}, 403))])
    with pytest.raises(ApiError) as e:
        iiq(t).check_launch_rights()
    assert "SCIM Executor" in e.value.message and "svc" in e.value.message
    t = Transport([("GET", "/Workflows", ok({"detail": "Authentication failed", "status": "401"}, 401))])
    with pytest.raises(ApiError) as e:
        iiq(t).find_workflow("WF")
    assert "username / password" in e.value.message
    with pytest.raises(ApiError):
        sp.iiq_scim_url("iiq.example.com/identityiq")
    assert sp.iiq_scim_url("https://iiq/identityiq/scim/v2/") == "https://iiq/identityiq/scim/v2"
