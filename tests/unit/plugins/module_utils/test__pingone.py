# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_pingone: pure parts, then the client against the PingOne simulator over real HTTPS (throwaway
CA) with a small SCIM endpoint standing in for Alation."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys
import time

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _pingone
from ansible_collections.alation.scim.plugins.module_utils._http import Response

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))
from testkit import FakeScim, load_server, run_app  # noqa: E402

pingone_server = load_server("pingone_sim")

ENV = "7b0b5a1e-0000-4000-8000-000000000001"
OTHER_ENV = "7b0b5a1e-0000-4000-8000-000000000009"
STORE = "2f1c6d3a-0000-4000-8000-000000000002"
BASIC_STORE = "2f1c6d3a-0000-4000-8000-000000000003"
WORKER, SECRET = "5c2d-worker", "worker-secret-" + "s" * 20
OLD_TOKEN = "old-alation-token-" + "0f" * 12
NEW_TOKEN = "new-alation-token-" + "9e" * 12


def scim_conf(url, method="OAuth 2 Bearer Token", token=OLD_TOKEN):
    conf = {"SCIM_URL": url, "SCIM_VERSION": "2.0", "AUTHENTICATION_METHOD": method,
            "AUTHORIZATION_TYPE": "Bearer", "USERS_RESOURCE": "/Users", "USER_FILTER": 'userName Eq "%s"',
            "UNIQUE_USER_IDENTIFIER": "userName", "CREATE_USERS": True, "UPDATE_USERS": True,
            "DISABLE_USERS": False, "REMOVE_ACTION": "Disable", "GROUP_MEMBERSHIP_HANDLING": "MERGE"}
    if method == "OAuth 2 Bearer Token":
        conf["OAUTH_ACCESS_TOKEN"] = token
    else:
        conf.update(BASIC_AUTH_USER="alation", BASIC_AUTH_PASSWORD="basic-pass-" + "p" * 12)
    return conf


# ---------------------------------------------------------------- pure parts
def test_region_urls():
    assert _pingone.base_urls("EU") == ("https://api.pingone.eu", "https://auth.pingone.eu")
    assert _pingone.base_urls("AU") == ("https://api.pingone.com.au", "https://auth.pingone.com.au")
    assert _pingone.base_urls("NA", api_url="https://x/v1/", auth_url="https://y/")[0] == "https://x"
    with pytest.raises(_pingone.PingOneError):
        _pingone.base_urls("XX")
    with pytest.raises(_pingone.PingOneError):
        _pingone.base_urls("NA", api_url="http://x")


def test_updated_store_replaces_only_the_token():
    store = {"id": STORE, "type": "scim", "name": "A", "_links": {"self": {}},
             "configuration": scim_conf("https://a/scim/v2/")}
    new, changed = _pingone.updated_store(store, NEW_TOKEN, STORE)
    assert changed
    assert new["configuration"].pop("OAUTH_ACCESS_TOKEN") == NEW_TOKEN
    expected = json.loads(json.dumps(store))
    del expected["configuration"]["OAUTH_ACCESS_TOKEN"]
    assert new == expected
    assert store["configuration"]["OAUTH_ACCESS_TOKEN"] == OLD_TOKEN  # input untouched
    assert _pingone.updated_store(store, OLD_TOKEN, STORE)[1] is False


def test_updated_store_refuses_basic_auth_and_non_scim():
    with pytest.raises(_pingone.PingOneError) as e:
        _pingone.updated_store({"type": "scim", "configuration": scim_conf("u", "Basic Authentication")}, "t", STORE)
    assert "OAuth 2 Bearer Token" in e.value.message
    with pytest.raises(_pingone.PingOneError):
        _pingone.updated_store({"type": "PingOne", "configuration": {}}, "t", STORE)


def test_redact_store_masks_every_secret():
    store = {"configuration": dict(scim_conf("u"), OAUTH_CLIENT_SECRET="cs-" + "c" * 20)}
    red = _pingone.redact_store(store)
    text = json.dumps(red)
    assert OLD_TOKEN not in text and "cs-" not in text
    assert red["configuration"]["OAUTH_ACCESS_TOKEN"] == "********"
    assert red["configuration"]["SCIM_URL"] == "u"
    assert sorted(_pingone.secret_values(store)) == sorted([OLD_TOKEN, "cs-" + "c" * 20])


def test_describe_error_hints():
    body = {"id": "x", "code": "ACCESS_FAILED", "message": "no access", "details": []}
    text, code, fix = _pingone.describe_error(403, body, "Reading", ENV, STORE)
    assert code == "ACCESS_FAILED" and "Environment Admin" in fix and ENV in fix and "no access" in text
    text, _code, fix = _pingone.describe_error(404, {"code": "NOT_FOUND", "message": "m"}, "Reading", ENV, STORE)
    assert STORE in fix and "store_id" in fix
    text, code, fix = _pingone.describe_error(401, {"error": "invalid_client", "error_description": "d"}, "Tok", ENV)
    assert code == "invalid_client" and "token_auth_method" in fix


def test_429_honours_retry_after():
    slept = []
    calls = []
    responses = [Response(200, {}, json.dumps({"access_token": "a", "expires_in": 3600}).encode()),
                 Response(429, {"Retry-After": "3"}, b'{"code": "REQUEST_LIMITED"}'),
                 Response(200, {}, b'{"id": "s"}')]

    def transport(method, url, **kw):
        calls.append(url)
        return responses.pop(0)
    c = _pingone.PingOneClient(ENV, WORKER, SECRET, transport=transport, sleep=slept.append)
    assert c.get_store(STORE) == {"id": "s"}
    assert slept == [3.0]


# ---------------------------------------------------------------- against the simulator
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("pingone")
    pki = str(d / "pki")
    scim_app = FakeScim(OLD_TOKEN)
    scim = run_app(scim_app, "127.0.40.9", pki, "scim")
    config = {
        "workers": {WORKER: {"secret": SECRET, "environment": ENV, "roles": {ENV: ["Environment Admin"]}},
                    "post-worker": {"secret": SECRET, "environment": ENV, "token_auth_method": "client_secret_post",
                                    "roles": {ENV: ["Environment Admin"]}},
                    "weak-worker": {"secret": SECRET, "environment": ENV, "roles": {ENV: ["Identity Data Admin"]}}},
        "stores": {STORE: {"environment": ENV, "configuration": scim_conf(scim.url + "/scim/v2/")},
                   BASIC_STORE: {"environment": ENV, "configuration": scim_conf(scim.url + "/scim/v2/", "Basic")}},
    }
    cfg = d / "pingone.json"
    cfg.write_text(json.dumps(config))
    p1 = pingone_server.PingOne(str(cfg), os.path.join(pki, "ca.pem"))
    srv = run_app(p1, "127.0.40.1", pki, "pingone")
    yield {"p1": p1, "url": srv.url, "ca": os.path.join(pki, "ca.pem"), "scim": scim_app}
    srv.stop()
    scim.stop()


@pytest.fixture
def p1(world):
    world["p1"].reset()
    world["scim"].token = OLD_TOKEN
    return world["p1"]


def client(world, worker=WORKER, **kw):
    return _pingone.PingOneClient(ENV, worker, kw.pop("secret", SECRET), api_url=world["url"], auth_url=world["url"],
                                  ca_path=world["ca"], **kw)


def wait_run(p1, n=1, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        runs = p1.state()["runs"]
        if len(runs) >= n:
            return runs[n - 1]
        time.sleep(0.05)
    raise AssertionError("no propagation run")


def test_put_keeps_every_field_and_revision_propagates_new_token(world, p1):
    c = client(world)
    before = c.get_store(STORE)
    assert before["configuration"]["OAUTH_ACCESS_TOKEN"] == OLD_TOKEN  # read back in clear: the quirk
    new, changed = _pingone.updated_store(before, NEW_TOKEN, STORE)
    c.put_store(STORE, new)
    after = c.get_store(STORE)
    assert after["configuration"].pop("OAUTH_ACCESS_TOKEN") == NEW_TOKEN
    before["configuration"].pop("OAUTH_ACCESS_TOKEN")
    assert after["configuration"] == before["configuration"]
    assert {k: v for k, v in after.items() if k not in ("configuration", "updatedAt")} == \
        {k: v for k, v in before.items() if k not in ("configuration", "updatedAt")}
    # not applied until a revision: Alation has the new token, PingOne still provisions with the old one
    world["scim"].token = NEW_TOKEN
    st = p1.state()["stores"][STORE]
    assert st["applied_token_fingerprint"] != st["token_fingerprint"]
    rev = c.create_revision(STORE)
    assert rev["id"]
    run = wait_run(p1)
    assert run["result"] == "SUCCESS" and run["trigger"] == "revision"
    assert p1.state()["stores"][STORE]["syncStatus"]["status"] == "SUCCESS"


def test_partial_put_wipes_the_store_or_is_refused(world, p1):
    c = client(world)
    with pytest.raises(_pingone.PingOneError) as e:
        c.put_store(STORE, {"type": "scim", "configuration": {"OAUTH_ACCESS_TOKEN": NEW_TOKEN}})
    assert e.value.status == 400 and "SCIM_URL" in e.value.message


def test_missing_environment_admin_role(world, p1):
    with pytest.raises(_pingone.PingOneError) as e:
        client(world, "weak-worker").get_store(STORE)
    assert e.value.status == 403 and "Environment Admin" in e.value.message


def test_unknown_store(world, p1):
    with pytest.raises(_pingone.PingOneError) as e:
        client(world).get_store("2f1c6d3a-0000-4000-8000-00000000dead")
    assert e.value.status == 404 and "store_id" in e.value.message


def test_wrong_secret_and_wrong_auth_method(world, p1):
    with pytest.raises(_pingone.PingOneError) as e:
        client(world, secret="nope-nope-nope").get_store(STORE)
    assert e.value.code == "invalid_client"
    with pytest.raises(_pingone.PingOneError):
        client(world, "post-worker").get_store(STORE)  # basic by default: refused
    assert client(world, "post-worker", token_auth_method="client_secret_post").get_store(STORE)["id"] == STORE


def test_throttling_is_ridden_out(world, p1):
    p1.set_fault({"mode": "throttle", "count": 2, "retry_after": 1})
    started = time.time()
    assert client(world).get_store(STORE)["id"] == STORE
    assert time.time() - started >= 2.0


def test_throttling_beyond_budget(world, p1):
    p1.set_fault({"mode": "throttle", "retry_after": 5})
    with pytest.raises(_pingone.PingOneError) as e:
        client(world, retry_budget=3).get_store(STORE)
    assert e.value.status == 429 and "retry_budget" in e.value.message


# ---------------------------------------------------------------- the simulator's secret knobs
def with_client_secret(p1):
    p1.edit_store(STORE, {"configuration": {"OAUTH_CLIENT_SECRET": "client-secret-" + "k" * 16}})


@pytest.mark.parametrize("read_back", ["masked", "omitted"])
def test_sim_read_back_masks_or_omits_every_secret(world, p1, read_back):
    with_client_secret(p1)
    p1.configure({"read_back": read_back})
    conf = client(world).get_store(STORE)["configuration"]
    for key in ("OAUTH_ACCESS_TOKEN", "OAUTH_CLIENT_SECRET"):
        assert conf.get(key, "absent") == ("********" if read_back == "masked" else "absent")
    assert conf["SCIM_URL"].endswith("/scim/v2/")
    assert _pingone.read_back({"configuration": conf}) == read_back
    assert _pingone.stored_token_matches({"configuration": conf}, OLD_TOKEN) is None


@pytest.mark.parametrize("put_secrets", ["clear", "keep"])
def test_sim_records_a_mask_written_back_in_either_mode(world, p1, put_secrets):
    """A client that PUTs the store as read when PingOne masks: the mask overwrites the secret
    (`clear`) or is ignored (`keep`); either way the simulator's state says a mask came in."""
    with_client_secret(p1)
    p1.configure({"read_back": "masked", "put_secrets": put_secrets})
    c = client(world)
    store = c.get_store(STORE)
    before = p1.state()["stores"][STORE]["secrets"]
    store["configuration"]["OAUTH_ACCESS_TOKEN"] = NEW_TOKEN
    c.put_store(STORE, store)  # OAUTH_CLIENT_SECRET still "********"
    st = p1.state()["stores"][STORE]
    assert st["masks_received"] == ["OAUTH_CLIENT_SECRET"]
    assert st["token_fingerprint"] == pingone_server.fingerprint(NEW_TOKEN)
    if put_secrets == "clear":
        assert st["overwritten_by_mask"] == ["OAUTH_CLIENT_SECRET"]
        assert st["secrets"]["OAUTH_CLIENT_SECRET"] == pingone_server.fingerprint("********")
    else:
        assert st["overwritten_by_mask"] == [] and st["secrets"] == dict(before, OAUTH_ACCESS_TOKEN=st["token_fingerprint"])


@pytest.mark.parametrize("put_secrets", ["clear", "keep"])
def test_sim_put_without_a_secret_clears_or_keeps_it(world, p1, put_secrets):
    with_client_secret(p1)
    p1.configure({"put_secrets": put_secrets})
    c = client(world)
    store = c.get_store(STORE)
    del store["configuration"]["OAUTH_CLIENT_SECRET"]
    c.put_store(STORE, store)
    st = p1.state()["stores"][STORE]
    assert ("OAUTH_CLIENT_SECRET" in st["secrets"]) is (put_secrets == "keep")
    assert st["cleared_by_put"] == ([] if put_secrets == "keep" else ["OAUTH_CLIENT_SECRET"])
    assert st["masks_received"] == [] and st["overwritten_by_mask"] == []


def test_sim_settings_are_checked_and_reset(world, p1):
    for bad in ({"read_back": "hidden"}, {"put_secrets": "merge"}, {"mask": ""}, {"resync": "sometimes"}):
        with pytest.raises(pingone_server.SimError) as e:
            p1.configure(bad)
        assert e.value.status == 400
    p1.configure({"read_back": "omitted", "put_secrets": "keep", "resync": "coalesced"})
    p1.reset()
    assert p1.state()["settings"] == {"read_back": "clear", "mask": "********", "put_secrets": "clear", "resync": "each"}


def test_secrets_cleared_names_only_what_the_answer_lost():
    before = {"configuration": {"OAUTH_ACCESS_TOKEN": "****", "BASIC_AUTH_PASSWORD": "****",
                                "OAUTH_CLIENT_SECRET": "****", "EMPTY_SECRET": "", "SCIM_URL": "u"}}
    after = {"configuration": {"OAUTH_ACCESS_TOKEN": "****", "OAUTH_CLIENT_SECRET": "****", "SCIM_URL": "u"}}
    assert _pingone.secrets_cleared(before, after) == ["BASIC_AUTH_PASSWORD"]
    assert _pingone.secrets_cleared(before, None) == [] and _pingone.secrets_cleared(before, {}) == []
