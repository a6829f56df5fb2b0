# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SailPoint Identity Security Cloud simulator on its own: throwaway CA, a small SCIM endpoint
standing in for Alation, raw HTTPS requests (not the collection's client)."""

import json
import os
import sys
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from testkit import SimWorld, check_standard_faults, https_call, load_server  # noqa: E402

server = load_server("sailpoint_sim")
SRC = "2c9180835d191a86015d28455b4a2329"
TOKEN = "alation-token-" + "6e" * 12
SCOPES = ["idn:sources:read", "idn:sources:manage", "idn:source-connector:manage"]


def isc_config(scim_url):
    return {"clients": {"full": {"secret": "full-secret-123", "scopes": SCOPES},
                        "all": {"secret": "all-secret-123", "scopes": ["sp:scopes:all"]},
                        "reader": {"secret": "reader-secret-123", "scopes": ["idn:sources:read"]}},
            "sources": {SRC: {"name": "Alation", "scim_url": scim_url}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = SimWorld(str(tmp_path_factory.mktemp("sailpoint")), "sailpoint_sim", "SailPoint", "127.0.60.1", isc_config,
                 TOKEN)
    yield w
    w.stop()


@pytest.fixture
def isc(world):
    return world.fresh()


def token(w, client="full", secret=None):
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client,
                                   "client_secret": secret or client + "-secret-123"}).encode()
    return https_call(w.url, w.ca, "POST", "/oauth/token", data=form,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})


def call(w, method, path, body=None, client="full", content_type=None):
    headers = {"Authorization": "Bearer " + token(w, client)[2]["access_token"]}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type or "application/json-patch+json"
    return https_call(w.url, w.ca, method, path, data=data, headers=headers)


def patch_token(w, value, **kw):
    return call(w, "PATCH", "/v3/sources/" + SRC,
                [{"op": "replace", "path": "/connectorAttributes/apiToken", "value": value}], **kw)


def check(w, **kw):
    return call(w, "POST", "/v2025/sources/%s/connector/check-connection" % SRC, **kw)


def test_token_endpoint(isc):
    status, _h, body = token(isc)
    assert status == 200 and body["access_token"] and body["expires_in"] > 0
    status, _h, body = token(isc, secret="wrong")
    assert status == 401 and body["error"] == "invalid_client"
    assert call(isc, "GET", "/v3/sources/" + SRC)[0] == 200
    assert https_call(isc.url, isc.ca, "GET", "/v3/sources/" + SRC,
                      headers={"Authorization": "Bearer nope"})[0] == 401


def test_secrets_only_as_cipher_text(isc):
    _s, _h, src = call(isc, "GET", "/v3/sources/" + SRC)
    attrs = src["connectorAttributes"]
    assert attrs["apiToken"].startswith("2:") and "not-yet-set" not in json.dumps(src)
    assert set(attrs["encrypted"].split(",")) >= {"apiToken", "clientSecret"}
    status, _h, after = patch_token(isc, TOKEN)
    assert status == 200 and TOKEN not in json.dumps(after)
    assert after["connectorAttributes"]["apiToken"] != attrs["apiToken"]
    assert isc.app.state()["sources"][SRC]["token_fingerprint"] == server.fingerprint(TOKEN)


def test_patch_needs_the_json_patch_content_type(isc):
    status, _h, body = patch_token(isc, TOKEN, content_type="application/json")
    assert status == 415 and body["detailCode"].startswith("415")
    assert isc.app.state()["sources"][SRC]["token_fingerprint"] != server.fingerprint(TOKEN)


@pytest.mark.parametrize("ops,text", [
    ([{"op": "replace", "path": "/connector", "value": "x"}], "cannot be modified"),
    ([{"op": "replace", "path": "/connectorAttributes/noSuchKey", "value": "x"}], "does not exist"),
    ([{"op": "test", "path": "/name", "value": "other"}], "Test operation failed"),
    ([], "non-empty"),
])
def test_bad_patches_are_refused_and_change_nothing(isc, ops, text):
    before = isc.app.state()["sources"][SRC]
    status, _h, body = call(isc, "PATCH", "/v3/sources/" + SRC, ops)
    assert status == 400 and text in body["messages"][0]["text"]
    assert isc.app.state()["sources"][SRC]["modified"] == before["modified"]


def test_scopes(isc):
    assert call(isc, "GET", "/v3/sources/" + SRC, client="reader")[0] == 200
    status, _h, body = patch_token(isc, TOKEN, client="reader")
    assert status == 403 and body["detailCode"] == "403 Forbidden"
    assert check(isc, client="reader")[0] == 403
    assert patch_token(isc, TOKEN, client="all")[0] == 200


def test_check_connection_calls_the_scim_endpoint_with_the_stored_token(isc):
    status, _h, body = check(isc)
    assert status == 200 and body["status"] == "FAILURE" and "401" in body["details"]["error"]
    patch_token(isc, TOKEN)
    status, _h, body = check(isc)
    assert status == 200 and body["status"] == "SUCCESS" and body["id"] == SRC
    assert ("GET", "/scim/v2/Users") in isc.scim.calls
    assert isc.app.state()["checks"][-1]["token_fingerprint"] == server.fingerprint(TOKEN)


def test_unknown_source_and_renamed_key(isc):
    status, _h, body = call(isc, "GET", "/v3/sources/nope")
    assert status == 404 and body["detailCode"] == "404 Not found"
    isc.app.handle("POST", "/_sim/config", "", {}, json.dumps({"token_key": "token"}).encode())
    _s, _h, src = call(isc, "GET", "/v3/sources/" + SRC)
    assert "token" in src["connectorAttributes"] and "apiToken" not in src["connectorAttributes"]
    assert "token" in src["connectorAttributes"]["encrypted"].split(",")


def test_fault_switches(isc):
    bearer = "Bearer " + token(isc)[2]["access_token"]

    def looks_like_isc(status, body):
        assert body.get("detailCode") or body.get("error") or body.get("message")

    def read():
        return https_call(isc.url, isc.ca, "GET", "/v3/sources/" + SRC, headers={"Authorization": bearer})
    check_standard_faults(isc.app, read, looks_like_isc)
