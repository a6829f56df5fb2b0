# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PingOne simulator on its own: a throwaway CA, a small SCIM endpoint standing in for Alation,
raw HTTPS requests (not the collection's client, so that the double and the client cannot drift
together). Here: the two resync variants (setting `resync`) of revisions made while a resync runs; the
settings' checks and the PingOne client against it: tests/unit/plugins/module_utils/test__pingone.py."""

import base64
import os
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from testkit import SimWorld, https_call  # noqa: E402

ENV = "6f1c2b7e-0000-4000-8000-00000000e0e0"
CLIENT, SECRET = "6f1c2b7e-0000-4000-8000-0000000c11e0", "worker-secret-123"
STORES = ["6f1c2b7e-0000-4000-8000-0000000000a%d" % i for i in range(3)]
TOKEN = "alation-token-" + "5c" * 12


def p1_config(scim_url):
    conf = {"SCIM_URL": scim_url, "SCIM_VERSION": "2.0", "AUTHENTICATION_METHOD": "OAuth 2 Bearer Token",
            "AUTHORIZATION_TYPE": "Bearer", "OAUTH_ACCESS_TOKEN": TOKEN, "USERS_RESOURCE": "/Users",
            "USER_FILTER": 'userName Eq "%s"', "UNIQUE_USER_IDENTIFIER": "userName"}
    return {"workers": {CLIENT: {"secret": SECRET, "environment": ENV, "roles": {ENV: ["Environment Admin"]}}},
            "stores": {s: {"environment": ENV, "configuration": dict(conf)} for s in STORES}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = SimWorld(str(tmp_path_factory.mktemp("pingone")), "pingone_sim", "PingOne", "127.0.40.7", p1_config, TOKEN)
    yield w
    w.stop()


@pytest.fixture
def p1(world):
    return world.fresh()


def bearer(w):
    basic = base64.b64encode(("%s:%s" % (CLIENT, SECRET)).encode()).decode()
    status, _h, body = https_call(w.url, w.ca, "POST", "/%s/as/token" % ENV, data=b"grant_type=client_credentials",
                                  headers={"Authorization": "Basic " + basic,
                                           "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    return {"Authorization": "Bearer " + body["access_token"]}


def revision(w, auth):
    status, _h, body = https_call(w.url, w.ca, "POST", "/v1/environments/%s/propagation/revisions" % ENV, data=b"",
                                  headers=auth)
    assert status == 201, body
    return body


def idle(app, timeout=30):
    deadline = time.time() + timeout
    while app.background_running:
        assert time.time() < deadline, "the resyncs did not end"
        time.sleep(0.05)


def held_scim(w):
    """Alation's SCIM endpoint held until the returned event is set: the first resync stays running."""
    gate, real = threading.Event(), w.scim.handle

    def handle(*args):
        gate.wait(20)
        return real(*args)
    w.scim.handle = handle
    return gate, lambda: setattr(w.scim, "handle", real)


@pytest.mark.parametrize("resync, resyncs", [("each", 3), ("coalesced", 2)])
def test_revisions_made_while_a_resync_runs(p1, resync, resyncs):
    """Three revisions, the second and third while the first one's resync runs: `each` resyncs every
    store three times; `coalesced` twice, the second time with what the last revision applied."""
    p1.app.configure({"resync": resync})
    auth = bearer(p1)
    gate, restore = held_scim(p1)
    try:
        revision(p1, auth)
        revision(p1, auth)
        new = "alation-token-" + "7d" * 12
        p1.app.edit_store(STORES[0], {"configuration": {"OAUTH_ACCESS_TOKEN": new}})  # not applied yet
        revision(p1, auth)
        p1.scim.token = new if resync == "coalesced" else p1.scim.token
        gate.set()
        idle(p1.app)
    finally:
        restore()
    runs = p1.app.state()["runs"]
    assert len(runs) == resyncs * len(STORES)
    assert sorted(r["store"] for r in runs) == sorted(STORES * resyncs)
    if resync == "coalesced":
        last = [r for r in runs if r["store"] == STORES[0]][-1]
        assert last["token_fingerprint"] == p1.app.store_state(STORES[0])["applied_token_fingerprint"]
        assert last["result"] == "SUCCESS"
    assert len(p1.app.state()["revisions"]) == 3 and p1.app.background_running == 0
