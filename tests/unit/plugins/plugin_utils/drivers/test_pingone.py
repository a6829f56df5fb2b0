# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pingone driver, step by step as the rotation cycle calls it, against the PingOne simulator
over real HTTPS (throwaway CA) with a SCIM endpoint standing in for Alation, in every read-back
variant the simulator plays (secrets in clear, masked, left out) and both ways a PUT may treat a
secret it does not get back (keep it, clear it)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from conftest import OLD_TOKEN, TOKEN, fp
from testkit import SimWorld  # noqa: E402  (tests/testbed, put on the path by conftest)

ENV = "7b0b5a1e-0000-4000-8000-0000000000e1"
STORE = "2f1c6d3a-0000-4000-8000-0000000000e2"
WORKER, SECRET = "pingone-driver-worker", "worker-secret-" + "w" * 20
BASIC_PASSWORD = "basic-password-" + "b" * 16
CLIENT_SECRET = "oauth-client-secret-" + "c" * 16
OTHER_SECRETS = ("BASIC_AUTH_PASSWORD", "OAUTH_CLIENT_SECRET")
READ_BACKS = ("clear", "masked", "omitted")


def p1_config(scim_url):
    return {"workers": {WORKER: {"secret": SECRET, "environment": ENV, "roles": {ENV: ["Environment Admin"]}}},
            "stores": {STORE: {"environment": ENV, "name": "Alation (alation1)", "configuration": {
                "SCIM_URL": scim_url, "SCIM_VERSION": "2.0", "AUTHENTICATION_METHOD": "OAuth 2 Bearer Token",
                "AUTHORIZATION_TYPE": "Bearer", "OAUTH_ACCESS_TOKEN": OLD_TOKEN, "USERS_RESOURCE": "/Users",
                "USER_FILTER": 'userName Eq "%s"', "UNIQUE_USER_IDENTIFIER": "userName", "CREATE_USERS": True,
                # left over from the connection's earlier authentication methods
                "BASIC_AUTH_USER": "alation", "BASIC_AUTH_PASSWORD": BASIC_PASSWORD,
                "OAUTH_CLIENT_ID": "alation-client", "OAUTH_CLIENT_SECRET": CLIENT_SECRET}}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = SimWorld(str(tmp_path_factory.mktemp("pingone-driver")), "pingone_sim", "PingOne", "127.0.40.2", p1_config,
                 TOKEN)
    yield w
    w.stop()


@pytest.fixture
def p1(world):
    return world.fresh()


@pytest.fixture
def driver(p1, make_driver):
    def make(**kw):
        options = dict(environment_id=ENV, client_id=WORKER, client_secret=SECRET, api_url=p1.url, auth_url=p1.url,
                       ca_path=p1.ca, store_id=STORE, retry_budget=5)
        options.update(kw)
        return make_driver("pingone", scim_url=p1.scim_url, **options)
    return make


def store_state(p1):
    return p1.app.state()["stores"][STORE]


def writes(p1):
    return [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in p1.app.state()["requests"]
            if r["method"] in ("PUT", "POST") and "/v1/" in r["path"]]


@pytest.mark.parametrize("read_back", READ_BACKS)
def test_settings_say_how_the_store_reads_back_and_holds_answers_only_from_a_clear_read(p1, driver, read_back):
    p1.app.configure({"read_back": read_back})
    d = driver()
    d.check_settings()
    assert d.summary()["token_read_back"] == read_back
    expected = {"clear": (False, True), "masked": (None, None), "omitted": (None, None)}[read_back]
    assert (d.holds(TOKEN), d.holds(OLD_TOKEN)) == expected


@pytest.mark.parametrize("put_secrets", ("keep", "clear"))
@pytest.mark.parametrize("read_back", READ_BACKS)
def test_push_never_writes_a_mask_into_a_secret(p1, driver, read_back, put_secrets):
    p1.app.configure({"read_back": read_back, "put_secrets": put_secrets})
    before = store_state(p1)
    d = driver()
    d.check_settings()
    said = d.push(TOKEN)
    after = store_state(p1)
    assert after["token_fingerprint"] == after["applied_token_fingerprint"] == fp(TOKEN)
    assert "revision" in said and writes(p1) == [("PUT", STORE), ("POST", "revisions")]
    assert after["masks_received"] == [] and after["overwritten_by_mask"] == []
    for key in ("SCIM_URL", "BASIC_AUTH_USER", "OAUTH_CLIENT_ID", "CREATE_USERS"):
        assert key in after["configuration_keys"]
    lost = read_back != "clear" and put_secrets == "clear"
    if lost:
        # PingOne masked (or hid) them and replaces the whole store: nothing could send them back.
        assert after["cleared_by_put"] == list(OTHER_SECRETS)
        assert not set(OTHER_SECRETS) & set(after["secrets"])
    else:
        assert after["cleared_by_put"] == []
        assert {k: after["secrets"][k] for k in OTHER_SECRETS} == {k: before["secrets"][k] for k in OTHER_SECRETS}
    # Where PingOne showed the secrets (masked) the driver can tell that they are gone, and says so.
    told = [w for w in d.warnings if "PingOne cleared" in w]
    if lost and read_back == "masked":
        assert len(told) == 1 and all(k in told[0] for k in OTHER_SECRETS) and STORE in told[0]
        assert d.summary()["secrets_cleared"] == list(OTHER_SECRETS)
    else:
        assert told == [] and "secrets_cleared" not in d.summary()
    text = json.dumps(d.summary()) + " ".join(d.warnings) + said
    for secret in (TOKEN, OLD_TOKEN, BASIC_PASSWORD, CLIENT_SECRET):
        assert secret not in text


def test_the_resync_provisions_with_the_pushed_token_when_secrets_are_masked(p1, driver):
    p1.app.configure({"read_back": "masked", "put_secrets": "keep"})
    d = driver()
    d.check_settings()
    d.push(TOKEN)
    run = p1.app.propagate(STORE, "test")
    assert run["result"] == "SUCCESS" and run["token_fingerprint"] == fp(TOKEN)
