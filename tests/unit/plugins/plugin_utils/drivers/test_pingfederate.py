# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pingfederate driver, step by step as the rotation cycle calls it, against the PingFederate
simulator over real HTTPS (throwaway CA, mutual TLS too) with a SCIM endpoint standing in for
Alation; and each bad setting failing in check_settings / prepare with the cause and the fix."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import socket
import time

import pytest

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverError
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.pingfederate import without_secrets

from conftest import OLD_TOKEN, TOKEN, fp
from simbase import PeerCertHandler, ensure_client_cert  # noqa: E402  (tests/testbed, put on the path by conftest)
from testkit import SimWorld  # noqa: E402

CONN = "alation-conn-1"
ADMIN = ("pf-admin", "pf-admin-pass-1")
AUDITOR = ("pf-auditor", "pf-auditor-pass-1")


def pf_config(scim_url):
    return {"admins": {ADMIN[0]: {"password": ADMIN[1], "roles": ["ADMINISTRATOR"]},
                       AUDITOR[0]: {"password": AUDITOR[1], "roles": ["AUDITOR"]}},
            "oauth_clients": {"pf-api": {"secret": "pf-api-secret-1", "admin": ADMIN[0]}},
            "cert_admins": {"alation-automation": ADMIN[0]},
            "connections": {CONN: {"name": "Alation (alation1)", "scim_url": scim_url, "initial_token": OLD_TOKEN}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pf-driver"))
    w = SimWorld(d, "pingfederate_sim", "PingFederate", "127.0.50.1", pf_config, TOKEN, handler=PeerCertHandler,
                 client_certs=True)
    w.cert, w.key = ensure_client_cert(os.path.join(d, "certs"), "alation-automation", w.ca, w.ca_key)
    yield w
    w.stop()


@pytest.fixture
def pf(world):
    return world.fresh()


@pytest.fixture
def driver(pf, make_driver):
    def make(**kw):
        options = dict(base_url=pf.url, connection_id=CONN, username=ADMIN[0], password=ADMIN[1], ca_path=pf.ca,
                       retry_budget=5)
        options.update(kw)
        return make_driver("pingfederate", scim_url=pf.scim_url, **options)
    return make


def conn_state(pf):
    return pf.app.state()["connections"][CONN]


def engine_run_with(pf, token, wait=10):
    deadline = time.time() + wait
    while True:
        runs = [r for r in pf.app.state()["runs"] if r["token_fingerprint"] == fp(token)]
        if runs or time.time() > deadline:
            assert runs, "no provisioning run with that token within %s s" % wait
            return runs[-1]
        time.sleep(0.05)


def rotation(d):
    """What the cycle does on a due host: check, prepare, (rotate), push, resume, verify."""
    d.check_settings()
    plan = d.prepare_plan()
    d.prepare(plan)
    said = d.push(TOKEN)
    d.resume(plan)
    return said, d.verify(TOKEN)


def test_rotation_pushes_the_token_and_keeps_everything_else(pf, driver):
    before = conn_state(pf)
    d = driver()
    assert d.holds(TOKEN) is None and d.needs_operator is False
    said, verified = rotation(d)
    after = conn_state(pf)
    assert after["token_fingerprint"] == after["live_token_fingerprint"] == fp(TOKEN)
    assert before["token_fingerprint"] == fp(OLD_TOKEN)
    assert after["secret_fingerprints"]["Client Secret"] == before["secret_fingerprints"]["Client Secret"]
    assert after["plain_settings"] == before["plain_settings"] and after["other"] == before["other"]
    assert after["channels"] == before["channels"]
    assert "Alation (alation1)" in said and "'Access Token'" in said
    assert "has 'Access Token' set" in verified
    # probe + push: two saves, the probe changed no secret
    saves = pf.app.state()["saves"]
    assert [s["changed_secrets"] for s in saves] == [[], ["Access Token"]]
    # The engines provision after each save, in their own threads, so runs finish in any order
    # (the probe's run, with the old token, may end last): the push's run is the one with the new token.
    assert engine_run_with(pf, TOKEN)["result"] == "SUCCESS", "the engine did not provision with the new token"
    assert d.summary() == {"connection_id": CONN, "connection_name": "Alation (alation1)", "token_field": "Access Token",
                           "replicated": None}
    assert d.target() == pf.url + "/pf-admin-api/v1#spConnection=" + CONN
    assert TOKEN not in json.dumps(d.summary())


def test_every_request_carried_the_xsrf_header(pf, driver):
    rotation(driver())
    requests = [r for r in pf.app.state()["requests"] if r["path"].startswith("/pf-admin-api/")]
    assert requests and all(r["xsrf"] for r in requests)


@pytest.mark.parametrize("auth", ["oauth2", "client_certificate"])
def test_other_authentication_methods(pf, driver, auth):
    d = driver(auth=auth, username=None, password=None, client_id="pf-api", client_secret="pf-api-secret-1",
               token_url=pf.url + "/as/token.oauth2", client_cert_path=pf.cert, client_key_path=pf.key)
    rotation(d)
    assert conn_state(pf)["token_fingerprint"] == fp(TOKEN)
    assert pf.app.state()["saves"][-1]["by"].endswith("(%s)" % auth)


def test_cluster_replication(pf, driver):
    pf.app.settings["clustered"] = True
    d = driver(replicate=True)
    said, _v = rotation(d)
    st = conn_state(pf)
    assert st["live_token_fingerprint"] == st["token_fingerprint"] and "replicated it to its engines" in said
    assert d.summary()["replicated"] is True
    # without replicate the engines keep the old token: the option matters
    pf.fresh()
    pf.app.settings["clustered"] = True
    rotation(driver())
    st = conn_state(pf)
    assert st["live_token_fingerprint"] != st["token_fingerprint"]


def test_replicate_failure_says_the_token_is_saved(pf, driver):
    d = driver(replicate=True)   # the server is standalone: replicate answers 422
    d.check_settings()
    with pytest.raises(DriverError) as e:
        d.push(TOKEN)
    assert "holds the new token" in e.value.message and "engines do not have it yet" in e.value.message
    assert e.value.status == 422


def test_wrong_password_fails_in_check_settings(pf, driver):
    with pytest.raises(ApiError) as e:
        driver(password="not-the-password").check_settings()
    assert e.value.status == 401 and "username / password" in e.value.message and "Reading SP connection" in e.value.message


def test_auditor_is_stopped_by_the_probe_before_the_rotation(pf, driver):
    d = driver(username=AUDITOR[0], password=AUDITOR[1])
    d.check_settings()   # reading is allowed
    before = conn_state(pf)
    with pytest.raises(ApiError) as e:
        d.prepare(d.prepare_plan())
    assert e.value.status == 403 and "Administrator role" in e.value.message and "before the rotation" in e.value.message
    assert conn_state(pf)["secret_fingerprints"] == before["secret_fingerprints"] and not pf.app.state()["saves"]


def test_probe_can_be_turned_off(pf, driver):
    assert driver(probe_write=False).prepare_plan() is None


def test_unknown_connection_and_field(pf, driver):
    with pytest.raises(ApiError) as e:
        driver(connection_id="no-such-conn").check_settings()
    assert e.value.status == 404 and "connection_id" in e.value.message and "no-such-conn" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(token_field="OAuth Token").check_settings()
    assert "'OAuth Token'" in e.value.message and "'Access Token'" in e.value.message and "token_field" in e.value.message


def test_a_provisioner_that_names_the_field_otherwise(pf, driver):
    pf.app.rename_token_field("Bearer Token")
    with pytest.raises(ApiError):
        driver().check_settings()
    rotation(driver(token_field="Bearer Token"))
    assert conn_state(pf)["token_fingerprint"] == conn_state(pf)["live_token_fingerprint"] == fp(TOKEN)


def test_bad_urls_and_tls(pf, driver):
    with pytest.raises(ApiError) as e:
        driver(base_url="http://127.0.50.1:9999").check_settings()
    assert "https://" in e.value.message and "base_url" in e.value.message
    with socket.socket() as s:
        s.bind(("127.0.50.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ApiError) as e:
        driver(base_url="https://127.0.50.1:%d" % port, retry_budget=1).check_settings()
    assert "no answer" in e.value.message and "base_url" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(ca_path=None).check_settings()
    assert "TLS certificate verification failed" in e.value.message and "ca_path" in e.value.message


def test_missing_auth_options_are_refused_before_any_request(make_driver):
    with pytest.raises(ValueError) as e:
        make_driver("pingfederate", base_url="https://pf:9999", connection_id="c", auth="oauth2", client_id="x")
    assert "client_secret" in str(e.value) and "token_url" in str(e.value)


def test_throttling_and_server_errors_are_ridden_out(pf, driver):
    d = driver(retry_budget=10)
    pf.app.set_fault({"mode": "throttle", "count": 2, "retry_after": 1})
    d.check_settings()
    pf.app.set_fault({"mode": "server_error", "count": 1, "status": 503, "methods": ["PUT"]})
    d.push(TOKEN)
    assert conn_state(pf)["token_fingerprint"] == fp(TOKEN)


def test_push_failure_right_after_the_rotation_is_clear(pf, driver):
    d = driver(retry_budget=2)
    d.check_settings()
    pf.app.set_fault({"mode": "server_error", "status": 500, "methods": ["PUT"]})
    with pytest.raises(ApiError) as e:
        d.push(TOKEN)
    assert "Saving the new token in SP connection %s" % CONN in e.value.message and TOKEN not in e.value.message
    pf.app.set_fault({"mode": "down", "methods": ["PUT"]})
    with pytest.raises(ApiError) as e:
        d.push(TOKEN)
    assert "no answer" in e.value.message
    assert conn_state(pf)["token_fingerprint"] == fp(OLD_TOKEN)
    pf.app.set_fault({"mode": "none"})
    d.push(TOKEN)   # the re-run's push
    assert conn_state(pf)["token_fingerprint"] == fp(TOKEN)


def test_slow_answer_beyond_the_timeout(pf, driver):
    pf.app.set_fault({"mode": "slow", "delay": 3, "count": 1})
    with pytest.raises(ApiError) as e:
        driver(timeout=1, retry_budget=0).check_settings()
    assert "no answer" in e.value.message


def test_verify_fails_when_the_field_is_empty(pf, driver):
    d = driver()
    d.check_settings()
    d.push("")
    with pytest.raises(DriverError) as e:
        d.verify(TOKEN)
    assert "empty" in e.value.message


def test_errors_that_quote_the_token_are_scrubbed():
    e = without_secrets(ApiError("PUT failed: value %s is invalid" % TOKEN, fix="not %s" % TOKEN, status=422), [TOKEN])
    assert TOKEN not in e.message and "********" in e.message and e.status == 422
    plain = ApiError("nothing secret here")
    assert without_secrets(plain, [TOKEN]) is plain
