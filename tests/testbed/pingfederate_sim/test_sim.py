# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PingFederate simulator on its own: a throwaway CA, a small SCIM endpoint standing in for
Alation, raw HTTPS requests (not the collection's client, so that the double and the client
cannot drift together)."""

import base64
import json
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from simbase import PeerCertHandler, ensure_client_cert  # noqa: E402
from testkit import SimWorld, check_standard_faults, https_call, load_server  # noqa: E402

server = load_server("pingfederate_sim")
API = "/pf-admin-api/v1"
CONN = "alation-c0ffee"
TOKEN = "alation-token-" + "4b" * 12
ADMIN, AUDITOR = ("pf-admin", "admin-pass-123"), ("pf-auditor", "auditor-pass-123")


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def pf_config(scim_url):
    return {"admins": {ADMIN[0]: {"password": ADMIN[1], "roles": ["ADMINISTRATOR"]},
                       AUDITOR[0]: {"password": AUDITOR[1], "roles": ["AUDITOR"]}},
            "oauth_clients": {"pf-client": {"secret": "client-secret-123", "admin": ADMIN[0]}},
            "cert_admins": {"automation": ADMIN[0]},
            "connections": {CONN: {"name": "Alation", "entity_id": "alation:1", "scim_url": scim_url}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pingfederate"))
    w = SimWorld(d, "pingfederate_sim", "PingFederate", "127.0.50.1", pf_config, TOKEN, handler=PeerCertHandler,
                 client_certs=True)
    w.certs = {cn: ensure_client_cert(os.path.join(d, "certs"), cn, w.ca, w.ca_key, name=cn)
               for cn in ("automation", "stranger")}
    yield w
    w.stop()


@pytest.fixture
def pf(world):
    return world.fresh()


def call(w, method, path, body=None, auth=ADMIN, xsrf=True, headers=None, **kw):
    h = dict(headers or {})
    if xsrf:
        h["X-XSRF-Header"] = "PingFederate"
    if auth:
        h["Authorization"] = basic(*auth)
    return https_call(w.url, w.ca, method, path, body=body, headers=h, **kw)


def get(w, **kw):
    return call(w, "GET", "%s/idp/spConnections/%s" % (API, CONN), **kw)


def fields(conn):
    return {f["name"]: f for f in conn["outboundProvision"]["targetSettings"]}


def with_token(conn, token):
    conn = json.loads(json.dumps(conn))
    field = fields(conn)["Access Token"]
    field.pop("encryptedValue", None)
    field["value"] = token
    return conn


def test_xsrf_header_and_credentials_are_required(pf):
    status, _h, body = get(pf, xsrf=False)
    assert status == 403 and body["resultId"] == "xsrf_header_missing"
    assert get(pf, auth=None)[0] == 401
    assert get(pf, auth=(ADMIN[0], "wrong"))[0] == 401
    assert get(pf)[0] == 200


def test_encrypted_fields_never_come_back_in_clear(pf):
    _s, _h, conn = get(pf)
    f = fields(conn)
    assert "value" not in f["Access Token"] and f["Access Token"]["encryptedValue"]
    assert "value" not in f["Client Secret"] and f["Client Secret"]["encryptedValue"]
    assert f["Basic Authentication Password"] == {"name": "Basic Authentication Password"}  # not set
    assert f["SCIM URL"]["value"].endswith("/scim/v2/")
    assert "not-yet-set" not in json.dumps(conn)


def test_put_as_read_keeps_every_secret(pf):
    before = pf.app.state()["connections"][CONN]
    _s, _h, conn = get(pf)
    status, _h, saved = call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), conn)
    assert status == 200
    after = pf.app.state()["connections"][CONN]
    assert after["secret_fingerprints"] == before["secret_fingerprints"]
    assert fields(saved)["Access Token"]["encryptedValue"] == fields(conn)["Access Token"]["encryptedValue"]


def test_new_token_is_saved_and_the_engine_provisions_with_it(pf):
    before = pf.app.state()["connections"][CONN]
    _s, _h, conn = get(pf)
    status, _h, saved = call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), with_token(conn, TOKEN))
    assert status == 200 and TOKEN not in json.dumps(saved)
    after = pf.app.state()["connections"][CONN]
    assert after["token_fingerprint"] == server.fingerprint(TOKEN) == after["live_token_fingerprint"]
    assert after["secret_fingerprints"]["Client Secret"] == before["secret_fingerprints"]["Client Secret"]
    assert after["plain_settings"] == before["plain_settings"]
    # the old encryptedValue of the token is no longer one PingFederate accepts
    status, _h, body = call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), conn)
    assert status == 422 and any(e["errorId"] == "invalid_encrypted_value" for e in body["validationErrors"])
    # The provisioning run comes after the answer, counted as background work until it has ended.
    deadline = time.time() + 10
    while pf.app.state()["background"] and time.time() < deadline:
        time.sleep(0.05)
    assert pf.app.state()["background"] == 0
    run = pf.app.state()["runs"][-1]
    assert run["result"] == "SUCCESS" and run["token_fingerprint"] == server.fingerprint(TOKEN)


@pytest.mark.parametrize("damage,expect", [
    (lambda c: c["outboundProvision"]["targetSettings"].pop(0), "Field 'SCIM URL' is required."),
    (lambda c: fields(c)["Client Secret"].update(encryptedValue="forged"), "'Client Secret' is not valid"),
    (lambda c: c["outboundProvision"]["targetSettings"].append({"name": "Bogus", "value": "x"}),
     "'Bogus' is not a field"),
    (lambda c: fields(c)["SCIM URL"].update(encryptedValue="x"), "'SCIM URL' is not encrypted"),
    (lambda c: c.pop("name"), "name is required."),
    (lambda c: c["outboundProvision"].pop("channels"), "Channels are required."),
])
def test_put_is_validated_as_a_whole(pf, damage, expect):
    before = pf.app.state()["connections"][CONN]
    _s, _h, conn = get(pf)
    damage(conn)
    status, _h, body = call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), conn)
    assert status == 422 and body["resultId"] == "validation_error"
    assert any(expect in e["message"] for e in body["validationErrors"]), body
    assert pf.app.state()["connections"][CONN]["secret_fingerprints"] == before["secret_fingerprints"]


def test_roles_and_unknown_ids(pf):
    _s, _h, conn = get(pf, auth=AUDITOR)
    assert _s == 200
    status, _h, body = call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), conn, auth=AUDITOR)
    assert status == 403 and body["resultId"] == "insufficient_privileges"
    assert call(pf, "GET", "%s/idp/spConnections/nope" % API)[0] == 404
    assert call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), data=b"{}",
                headers={"Content-Type": "text/plain"})[0] == 415


def test_cluster_replication(pf):
    status, _h, body = call(pf, "POST", API + "/cluster/replicate")
    assert status == 422  # standalone
    pf.app.settings["clustered"] = True
    _s, _h, conn = get(pf)
    call(pf, "PUT", "%s/idp/spConnections/%s" % (API, CONN), with_token(conn, TOKEN))
    st = pf.app.state()["connections"][CONN]
    assert st["token_fingerprint"] == server.fingerprint(TOKEN) != st["live_token_fingerprint"]
    status, _h, body = call(pf, "POST", API + "/cluster/replicate")
    assert status == 200 and body["resultId"] == "success"
    assert pf.app.state()["connections"][CONN]["live_token_fingerprint"] == server.fingerprint(TOKEN)
    assert pf.app.state()["replications"]


def test_oauth2_bearer_and_client_certificate(pf):
    form = b"grant_type=client_credentials"
    status, _h, body = https_call(pf.url, pf.ca, "POST", "/as/token.oauth2", data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": basic("pf-client", "client-secret-123")})
    assert status == 200 and body["token_type"] == "Bearer"
    assert get(pf, auth=None, headers={"Authorization": "Bearer " + body["access_token"]})[0] == 200
    status, _h, body = https_call(pf.url, pf.ca, "POST", "/as/token.oauth2", data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": basic("pf-client", "nope")})
    assert status == 401 and body["error"] == "invalid_client"
    assert get(pf, auth=None, cert=pf.certs["automation"])[0] == 200
    assert get(pf, auth=None, cert=pf.certs["stranger"])[0] == 401
    # a client cannot claim a certificate by header
    assert get(pf, auth=None, headers={"X-Sim-Peer-CN": "automation"})[0] == 401


def test_token_field_can_be_named_otherwise(pf):
    pf.app.rename_token_field("Bearer Token")
    _s, _h, conn = get(pf)
    assert "Bearer Token" in fields(conn) and "Access Token" not in fields(conn)


def test_fault_switches(pf):
    def looks_like_pingfederate(status, body):
        assert body["resultId"] and body["message"]
    check_standard_faults(pf.app, lambda: get(pf), looks_like_pingfederate)
