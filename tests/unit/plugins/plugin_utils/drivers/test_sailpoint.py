# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sailpoint (Identity Security Cloud) driver, step by step as the rotation cycle calls it,
against the ISC simulator over real HTTPS, whose check-connection calls a SCIM endpoint standing
in for Alation; bad settings each failing before anything changes, with the cause and the fix."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import socket

import pytest

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverError

from conftest import OLD_TOKEN, TOKEN, fp
from testkit import SimWorld  # noqa: E402  (tests/testbed, put on the path by conftest)

SRC = "0f3a9c2e8b7d4e1fa5c6b2d9e0f1a2b3"
SCOPES = ["idn:sources:read", "idn:sources:manage", "idn:source-connector:manage"]


def isc_config(scim_url):
    return {"clients": {"rotator": {"secret": "rotator-secret-1", "scopes": SCOPES},
                        "reader": {"secret": "reader-secret-1", "scopes": ["idn:sources:read"]},
                        "no-check": {"secret": "no-check-secret-1",
                                     "scopes": ["idn:sources:read", "idn:sources:manage"]}},
            "sources": {SRC: {"name": "Alation (alation1)", "scim_url": scim_url, "initial_token": OLD_TOKEN}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = SimWorld(str(tmp_path_factory.mktemp("isc-driver")), "sailpoint_sim", "SailPoint", "127.0.60.1", isc_config,
                 TOKEN)
    yield w
    w.stop()


@pytest.fixture
def isc(world):
    return world.fresh()


@pytest.fixture
def driver(isc, make_driver):
    def make(**kw):
        options = dict(base_url=isc.url, client_id="rotator", client_secret="rotator-secret-1", source_id=SRC,
                       ca_path=isc.ca, retry_budget=5)
        options.update(kw)
        return make_driver("sailpoint", scim_url=isc.scim_url, **options)
    return make


def src_state(isc):
    return isc.app.state()["sources"][SRC]


def test_rotation_patches_the_token_and_check_connection_proves_it(isc, driver):
    d = driver()
    d.check_settings()
    assert d.holds(OLD_TOKEN) is None, "a failing test is no proof that SailPoint lacks the token"
    assert d.warnings and "failed its connection test" in d.warnings[0]
    plan = d.prepare_plan()
    d.prepare(plan)
    said = d.push(TOKEN)
    d.resume(plan)
    verified = d.verify(TOKEN)
    st = src_state(isc)
    assert st["token_fingerprint"] == fp(TOKEN)
    assert "connectorAttributes.apiToken" in said and "Alation (alation1)" in said
    assert "passed its connection test" in verified
    checks = isc.app.state()["checks"]
    assert [c["status"] for c in checks] == ["FAILURE", "SUCCESS"] and checks[-1]["token_fingerprint"] == fp(TOKEN)
    patches = isc.app.state()["patches"]
    assert [p["paths"] for p in patches] == [["/description"], ["/connectorAttributes/apiToken"]]
    patch_requests = [r for r in isc.app.state()["requests"] if r["method"] == "PATCH"]
    assert all(r["content_type"] == "application/json-patch+json" for r in patch_requests)
    assert st["description"] == "Alation SCIM", "the probe changed the description"
    assert d.summary() == {"source_id": SRC, "source_name": "Alation (alation1)", "token_key": "apiToken",
                           "connection_test": "passed"}
    assert d.target() == isc.url + "#source=" + SRC
    assert TOKEN not in json.dumps(d.summary())


def test_holds_when_sailpoint_connects_with_the_current_token(isc, driver):
    d = driver()
    d.check_settings()
    d.push(TOKEN)
    assert d.holds(TOKEN) is True
    assert driver(check_connection=False).holds(TOKEN) is None


def test_verify_fails_when_alation_refuses_what_sailpoint_stored(isc, driver):
    d = driver()
    d.check_settings()
    d.push(OLD_TOKEN)   # not the token Alation accepts
    with pytest.raises(DriverError) as e:
        d.verify(TOKEN)
    assert "failed its connection test" in e.value.message and "401" in e.value.message
    assert "Test Connection" in e.value.message
    assert driver(check_connection=False).verify(TOKEN) is None


def test_read_only_token_is_stopped_by_the_probe(isc, driver):
    d = driver(client_id="reader", client_secret="reader-secret-1")
    d.check_settings()
    with pytest.raises(ApiError) as e:
        d.prepare(d.prepare_plan())
    assert e.value.status == 403 and "idn:sources:manage" in e.value.message and "before the rotation" in e.value.message
    assert src_state(isc)["token_fingerprint"] == fp(OLD_TOKEN)


def test_check_connection_without_its_scope(isc, driver):
    d = driver(client_id="no-check", client_secret="no-check-secret-1")
    d.check_settings()
    d.push(TOKEN)
    with pytest.raises(ApiError) as e:
        d.verify(TOKEN)
    assert e.value.status == 403 and "idn:source-connector:manage" in e.value.message


def test_wrong_secret_unknown_source_missing_key(isc, driver):
    with pytest.raises(ApiError) as e:
        driver(client_secret="wrong").check_settings()
    assert "invalid_client" in e.value.message and "client_id / client_secret" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(source_id="ffffffffffffffffffffffffffffffff").check_settings()
    assert e.value.status == 404 and "source_id" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(token_key="bearerToken").check_settings()
    assert "'bearerToken'" in e.value.message and "apiToken" in e.value.message and "token_key" in e.value.message


def test_a_connector_with_another_key(isc, driver):
    isc.app.handle("POST", "/_sim/config", "", {}, json.dumps({"token_key": "token"}).encode())
    with pytest.raises(ApiError):
        driver().check_settings()
    d = driver(token_key="token")
    d.check_settings()
    d.push(TOKEN)
    assert d.verify(TOKEN)


def test_tenant_or_base_url_is_required_and_checked(isc, make_driver, driver):
    with pytest.raises(ValueError) as e:
        make_driver("sailpoint", client_id="a", client_secret="b", source_id=SRC)
    assert "tenant" in str(e.value) and "base_url" in str(e.value)
    with pytest.raises(ApiError) as e:
        driver(base_url=None, tenant="not a tenant").check_settings()
    assert "tenant" in e.value.message


def test_unreachable_and_untrusted(isc, driver):
    with socket.socket() as s:
        s.bind(("127.0.60.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ApiError) as e:
        driver(base_url="https://127.0.60.1:%d" % port, retry_budget=1).check_settings()
    assert "no answer" in e.value.message and "tenant / base_url" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(ca_path=None).check_settings()
    assert "TLS certificate verification failed" in e.value.message and "ca_path" in e.value.message


def test_rate_limit_is_ridden_out(isc, driver):
    d = driver(retry_budget=10)
    d.check_settings()
    isc.app.set_fault({"mode": "throttle", "count": 2, "retry_after": 1, "methods": ["PATCH"]})
    d.push(TOKEN)
    assert src_state(isc)["token_fingerprint"] == fp(TOKEN)
    assert len([r for r in isc.app.state()["requests"] if r["method"] == "PATCH"]) == 1  # refused ones unlogged


def test_push_failure_names_what_was_done(isc, driver):
    d = driver(retry_budget=1)
    d.check_settings()
    isc.app.set_fault({"mode": "server_error", "status": 500, "methods": ["PATCH"]})
    with pytest.raises(ApiError) as e:
        d.push(TOKEN)
    assert "Saving the new token in SailPoint source %s" % SRC in e.value.message and TOKEN not in e.value.message
