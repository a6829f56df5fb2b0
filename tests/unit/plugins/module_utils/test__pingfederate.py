# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_pingfederate: the pure helpers, then the client over a fake transport (what it sends, how it
reads PingFederate's answers). The driver against the simulator: tests/unit/plugins/plugin_utils/drivers."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import copy
import json

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.alation.scim.plugins.module_utils import _pingfederate as pf
from ansible_collections.alation.scim.plugins.module_utils._http import ApiError, TransportError
from fake_http import Transport, answer as ok  # tests/unit (conftest puts it on the path)

TOKEN = "new-alation-token-" + "7c" * 12
OLD_CIPHER = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0..old-access-token"
CLIENT_SECRET_CIPHER = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0..client-secret"


def connection():
    return {
        "id": "conn1", "type": "SP", "name": "Alation", "entityId": "alation:1", "active": True,
        "outboundProvision": {
            "type": "SCIM",
            "targetSettings": [
                {"name": "SCIM URL", "value": "https://alation.example.com/scim/v2/"},
                {"name": "Authentication Method", "value": "OAuth 2 Bearer Token"},
                {"name": "Access Token", "encryptedValue": OLD_CIPHER},
                {"name": "Client Secret", "encryptedValue": CLIENT_SECRET_CIPHER},
                {"name": "Basic Authentication Password"},
                {"name": "Scope", "value": ""},
            ],
            "channels": [{"name": "Alation users", "active": True, "attributeMapping": []}],
        },
    }


# ---------------------------------------------------------------- pure helpers
def test_admin_api_url():
    assert pf.admin_api_url("https://pf:9999") == "https://pf:9999/pf-admin-api/v1"
    assert pf.admin_api_url("https://pf:9999/pf-admin-api/v1/") == "https://pf:9999/pf-admin-api/v1"
    for bad in ("http://pf:9999", "pf:9999", "", None):
        with pytest.raises(ApiError) as e:
            pf.admin_api_url(bad)
        assert "base_url" in e.value.message and "Fix:" in e.value.message


@pytest.mark.parametrize("auth,given,missing", [
    ("basic", {"username": "a"}, "password"),
    ("oauth2", {"client_id": "c", "client_secret": "s"}, "token_url"),
    ("client_certificate", {"client_cert_path": "/c.pem"}, "client_key_path"),
])
def test_auth_options_are_checked_before_any_request(auth, given, missing):
    with pytest.raises(ApiError) as e:
        pf.check_auth_options(dict(given, auth=auth))
    assert missing in e.value.message and "auth=%s" % auth in e.value.message
    with pytest.raises(ApiError):
        pf.check_auth_options({"auth": "kerberos"})


def test_token_field_found_or_named_with_the_fields_there_are():
    assert pf.token_field(connection(), "Access Token", "conn1")["encryptedValue"] == OLD_CIPHER
    with pytest.raises(ApiError) as e:
        pf.token_field(connection(), "Bearer Token", "conn1")
    msg = e.value.message
    assert "'Bearer Token'" in msg and "'Access Token'" in msg and "'SCIM URL'" in msg and "token_field" in msg
    assert OLD_CIPHER not in msg
    with pytest.raises(ApiError) as e:
        pf.token_field({"id": "c2", "name": "SSO only"}, "Access Token", "c2")
    assert "no outbound provisioning" in e.value.message and "connection_id" in e.value.message


def test_updated_connection_sets_only_the_token_value():
    before = connection()
    new = pf.updated_connection(before, "Access Token", TOKEN, "conn1")
    assert before == connection(), "the connection as read must stay untouched"
    fields = {f["name"]: f for f in new["outboundProvision"]["targetSettings"]}
    assert fields["Access Token"] == {"name": "Access Token", "value": TOKEN}
    expected = connection()
    for f in expected["outboundProvision"]["targetSettings"]:
        if f["name"] == "Access Token":
            f.clear()
            f.update({"name": "Access Token", "value": TOKEN})
    assert new == expected  # every other field (encryptedValue of Client Secret too) and attribute as read


def test_provisioning_state_never_carries_a_secret():
    conn = connection()
    conn["outboundProvision"]["targetSettings"].append({"name": "Proxy Password", "value": "clear-pass-123456"})
    state = pf.provisioning_state(conn, "Access Token")
    text = json.dumps(state)
    assert OLD_CIPHER not in text and CLIENT_SECRET_CIPHER not in text and "clear-pass-123456" not in text
    assert state["token_field_present"] and state["token_field_set"]
    by_name = {f["name"]: f for f in state["target_settings"]}
    assert by_name["SCIM URL"]["value"] == "https://alation.example.com/scim/v2/"
    unset = {"name": "Basic Authentication Password", "encrypted": True, "set": False}
    assert by_name["Basic Authentication Password"] == unset
    assert state["channels"] == [{"name": "Alation users", "active": True}]
    assert not pf.provisioning_state({"id": "x"}, "Access Token")["token_field_present"]


def test_describe_error_per_status():
    text, code, fix = pf.describe_error(401, {}, "Reading", "basic")
    assert "401" in text and "username / password" in fix
    assert "OAuth2" in pf.describe_error(401, {}, "Reading", "oauth2")[2]
    assert "certificate" in pf.describe_error(401, {}, "Reading", "client_certificate")[2]
    text, code, fix = pf.describe_error(403, {"resultId": "insufficient_privileges", "message": "no"}, "Saving", "basic")
    assert code == "insufficient_privileges" and "Administrator role" in fix
    assert "connection_id" in pf.describe_error(404, {}, "Reading", "basic", "conn9")[2]
    body = {"resultId": "validation_error", "message": "Validation error(s) occurred.",
            "validationErrors": [{"errorId": "required_field", "fieldPath": "outboundProvision.targetSettings",
                                  "message": "Field 'SCIM URL' is required."},
                                 {"errorId": "invalid_encrypted_value", "message": "bad encrypted value"}]}
    text, code, fix = pf.describe_error(422, body, "Saving", "basic", "conn1")
    assert "outboundProvision.targetSettings: Field 'SCIM URL' is required." in text
    assert "bad encrypted value" in text and fix


# ---------------------------------------------------------------- the client over a fake transport
def client(transport, sleeps=None, **kw):
    kw.setdefault("username", "admin")
    kw.setdefault("password", "admin-pass-1")
    return pf.PingFederateClient("https://pf.example.com:9999", transport=transport,
                                 sleep=(sleeps.append if sleeps is not None else lambda s: None), **kw)


def test_every_request_carries_the_xsrf_header_and_basic_auth():
    t = Transport([("GET", "/idp/spConnections/conn1", ok(connection())),
                   ("PUT", "/idp/spConnections/conn1", ok(connection())),
                   ("POST", "/cluster/replicate", ok({"resultId": "success"}))])
    c = client(t)
    conn = c.get_connection("conn1")
    c.put_connection("conn1", pf.updated_connection(conn, "Access Token", TOKEN, "conn1"))
    c.replicate()
    for sent in t.sent:
        assert sent["headers"]["X-XSRF-Header"] == "PingFederate"
        assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"admin:admin-pass-1").decode()
    assert t.sent[0]["url"] == "https://pf.example.com:9999/pf-admin-api/v1/idp/spConnections/conn1"
    put = t.sent[1]
    assert put["headers"]["Content-Type"] == "application/json"
    sent_fields = {f["name"]: f for f in json.loads(put["data"])["outboundProvision"]["targetSettings"]}
    assert sent_fields["Access Token"] == {"name": "Access Token", "value": TOKEN}
    assert sent_fields["Client Secret"] == {"name": "Client Secret", "encryptedValue": CLIENT_SECRET_CIPHER}


def test_connection_id_is_quoted_in_the_path():
    t = Transport([("GET", "/idp/spConnections/a%2Fb%20c", ok(connection()))])
    client(t).get_connection("a/b c")


def test_oauth2_token_cached_and_renewed_once_after_401():
    t = Transport([("POST", "/as/token.oauth2", ok({"access_token": "at-1", "expires_in": 600})),
                   ("GET", "/idp/spConnections/conn1", ok(connection())),
                   ("GET", "/idp/spConnections/conn1", ok({"resultId": "authentication_failed"}, 401)),
                   ("POST", "/as/token.oauth2", ok({"access_token": "at-2", "expires_in": 600})),
                   ("GET", "/idp/spConnections/conn1", ok(connection()))])
    c = client(t, auth="oauth2", client_id="pf-admin", client_secret="cs-123456789", token_url="https://pf:9031/as/token.oauth2",
               scope="admin")
    c.get_connection("conn1")
    c.get_connection("conn1")
    token_req = t.sent[0]
    assert "grant_type=client_credentials" in token_req["data"] and "scope=admin" in token_req["data"]
    assert token_req["headers"]["Authorization"] == "Basic " + base64.b64encode(b"pf-admin:cs-123456789").decode()
    assert "X-XSRF-Header" not in token_req["headers"]  # the OAuth server is not the admin API
    assert [s["headers"].get("Authorization") for s in t.sent[1:3]] == ["Bearer at-1", "Bearer at-1"]
    assert t.sent[4]["headers"]["Authorization"] == "Bearer at-2"


def test_oauth2_bad_client_names_the_credentials():
    t = Transport([("POST", "/as/token.oauth2", ok({"error": "invalid_client", "error_description": "bad"}, 401))])
    with pytest.raises(ApiError) as e:
        client(t, auth="oauth2", client_id="pf-admin", client_secret="cs", token_url="https://pf:9031/as/token.oauth2"
               ).get_connection("conn1")
    assert "invalid_client" in e.value.message and "client_id / client_secret" in e.value.message


def test_client_certificate_goes_to_the_tls_layer_without_an_authorization_header():
    t = Transport([("GET", "/idp/spConnections/conn1", ok(connection()))])
    client(t, auth="client_certificate", username=None, password=None, client_cert_path="/etc/pf/c.pem",
           client_key_path="/etc/pf/c.key").get_connection("conn1")
    sent = t.sent[0]
    assert "Authorization" not in sent["headers"] and sent["headers"]["X-XSRF-Header"] == "PingFederate"
    assert sent["kw"]["client_cert"] == "/etc/pf/c.pem" and sent["kw"]["client_key"] == "/etc/pf/c.key"


def test_basic_401_is_not_retried_and_says_what_to_fix():
    t = Transport([("GET", "/idp/spConnections/conn1", ok({"resultId": "authentication_failed"}, 401))])
    with pytest.raises(ApiError) as e:
        client(t).get_connection("conn1")
    assert e.value.status == 401 and "username / password" in e.value.message and len(t.sent) == 1


def test_422_lists_the_validation_errors():
    body = {"resultId": "validation_error", "message": "Validation error(s) occurred.",
            "validationErrors": [{"fieldPath": "outboundProvision.targetSettings[2].encryptedValue",
                                  "message": "The encrypted value of field 'Client Secret' is not valid."}]}
    t = Transport([("PUT", "/idp/spConnections/conn1", ok(body, 422))])
    with pytest.raises(ApiError) as e:
        client(t).put_connection("conn1", connection())
    assert e.value.status == 422 and "targetSettings[2].encryptedValue" in e.value.message
    assert "Saving the new token in SP connection conn1" in e.value.message


def test_throttling_honours_retry_after_within_the_budget():
    sleeps = []
    t = Transport([("GET", "/idp/spConnections/conn1", ok({}, 429, {"Retry-After": "2"})),
                   ("GET", "/idp/spConnections/conn1", ok({}, 503, {"Retry-After": "1"})),
                   ("GET", "/idp/spConnections/conn1", ok(connection()))])
    assert client(t, sleeps).get_connection("conn1")["id"] == "conn1"
    assert sleeps == [2.0, 1.0]


def test_tls_failure_names_ca_path():
    t = Transport([("GET", "/idp/spConnections/conn1",
                    TransportError("certificate verify failed: self-signed certificate", tls=True))])
    with pytest.raises(ApiError) as e:
        client(t).get_connection("conn1")
    assert "TLS certificate verification failed" in e.value.message and "ca_path" in e.value.message


def test_argument_spec_secrets_and_environment(monkeypatch):
    spec = pf.pingfederate_argument_spec()
    assert spec["password"]["no_log"] and spec["client_secret"]["no_log"]
    for name in ("token_field", "token_url", "client_key_path"):
        assert spec[name]["no_log"] is False
    monkeypatch.setenv("PINGFEDERATE_ADMIN_URL", "https://pf-env:9999")
    monkeypatch.setenv("PINGFEDERATE_USERNAME", "env-admin")
    monkeypatch.setenv("PINGFEDERATE_PASSWORD", "env-pass")
    monkeypatch.setenv("PINGFEDERATE_CA_PATH", "/etc/pf/ca.pem")
    result = ArgumentSpecValidator(copy.deepcopy(spec)).validate({"connection_id": "conn1"})
    assert not result.error_messages
    p = result.validated_parameters
    assert (p["base_url"], p["username"], p["password"], p["ca_path"]) == (
        "https://pf-env:9999", "env-admin", "env-pass", "/etc/pf/ca.pem")
    assert p["token_field"] == "Access Token" and p["auth"] == "basic" and p["replicate"] is False
    assert pf.connection_target(p) == "https://pf-env:9999/pf-admin-api/v1#spConnection=conn1"
