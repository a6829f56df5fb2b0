# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SailPoint IdentityIQ simulator on its own: throwaway CA, a small SCIM endpoint standing in
for Alation, raw HTTPS requests (not the collection's client)."""

import base64
import json
import os
import sys
import time
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from testkit import SimWorld, check_standard_faults, https_call, load_server  # noqa: E402

server = load_server("iiq_sim")
BASE = "/identityiq/scim/v2"
WF, APP = "Alation SCIM Token Update", "Alation SCIM (alation1)"
TOKEN = "alation-token-" + "8f" * 12
USER, NO_RIGHTS = ("svc", "svc-pass-123"), ("viewer", "viewer-pass-123")


def iiq_config(scim_url):
    return {"users": {USER[0]: {"password": USER[1], "rights": ["SCIM Executor"]},
                      NO_RIGHTS[0]: {"password": NO_RIGHTS[1], "rights": []}},
            "workflows": {WF: {}}, "applications": {APP: {"scim_url": scim_url}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = SimWorld(str(tmp_path_factory.mktemp("iiq")), "iiq_sim", "IdentityIq", "127.0.70.1", iiq_config, TOKEN)
    yield w
    w.stop()


@pytest.fixture
def iiq(world):
    return world.fresh()


def call(w, method, path, body=None, user=USER):
    headers = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % user).encode()).decode()}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/scim+json"
    return https_call(w.url, w.ca, method, BASE + path, data=data, headers=headers)


def inputs(token=TOKEN, app=APP):
    return [{"key": "applicationName", "value": app}, {"key": "tokenAttribute", "value": "apiToken"},
            {"key": "token", "value": token}]


def launch(w, form="extension", name=WF, **kw):
    body = {"schemas": [server.LW, server.TR]}
    if form in ("extension", "both"):
        body[server.LW] = {"workflowName": name, "input": kw.pop("input", None) or inputs()}
    if form in ("top_level", "both"):
        body.update(workflowName=name, input=inputs())
    return call(w, "POST", "/LaunchedWorkflows", body, **kw)


def test_auth_and_rights(iiq):
    assert call(iiq, "GET", "/Workflows", user=(USER[0], "wrong"))[0] == 401
    assert call(iiq, "GET", "/Workflows", user=NO_RIGHTS)[0] == 200
    status, _h, body = launch(iiq, user=NO_RIGHTS)
    assert status == 403 and "SCIM Executor" in body["detail"]
    assert call(iiq, "GET", "/LaunchedWorkflows?count=1", user=NO_RIGHTS)[0] == 403
    assert call(iiq, "GET", "/LaunchedWorkflows?count=1")[0] == 200


def test_lookups_by_name(iiq):
    q = urllib.parse.urlencode({"filter": 'name eq "%s"' % WF})
    _s, _h, body = call(iiq, "GET", "/Workflows?" + q)
    assert [r["name"] for r in body["Resources"]] == [WF]
    q = urllib.parse.urlencode({"filter": 'name eq "nope"'})
    assert call(iiq, "GET", "/Applications?" + q)[2]["totalResults"] == 0


def test_workflow_stores_the_token_and_tests_the_connection(iiq):
    status, _h, body = launch(iiq)
    assert status == 201 and body["completionStatus"] == "Success" and body["completed"]
    outputs = {o["key"]: o["value"] for o in body[server.LW]["output"]}
    assert outputs == {"testResult": "Success"}
    assert TOKEN in json.dumps(body[server.LW]["input"])  # the quirk: inputs are echoed
    app = iiq.app.state()["applications"][APP]
    assert app["secret_fingerprints"] == {"apiToken": server.fingerprint(TOKEN)}
    assert ("GET", "/scim/v2/Users") in iiq.scim.calls
    assert TOKEN not in json.dumps(iiq.app.state())


def test_failed_connection_test_and_unknown_names(iiq):
    iiq.scim.token = "something-else-entirely"
    _s, _h, body = launch(iiq)
    assert body["completionStatus"] == "Error" and "Test connection failed" in body["messages"][0]["message"]
    assert {o["key"]: o["value"] for o in body[server.LW]["output"]}["testResult"].startswith("Failed: HTTP 401")
    _s, _h, body = launch(iiq, input=inputs(app="No such app"))
    assert body["completionStatus"] == "Error" and "not found" in body["messages"][0]["message"]
    status, _h, body = launch(iiq, name="Not deployed")
    assert status == 404 and "Not deployed" in body["detail"]


@pytest.mark.parametrize("server_form,sent,ok", [
    ("both", "extension", True), ("both", "top_level", True), ("extension", "extension", True),
    ("extension", "top_level", False), ("top_level", "top_level", True), ("top_level", "extension", False),
    ("top_level", "both", True), ("extension", "both", True),
])
def test_body_forms(iiq, server_form, sent, ok):
    iiq.app.settings["body_form"] = server_form
    status, _h, body = launch(iiq, form=sent)
    assert (status == 201) == ok, (status, body)


def test_async_result_is_followed_by_its_location(iiq):
    iiq.app.settings.update(mode="async", async_delay=0.5)
    status, _h, body = launch(iiq)
    assert status == 201 and not body["completed"] and body["completionStatus"] is None
    location = body["meta"]["location"]
    assert location.endswith("/TaskResults/" + body["id"])
    path = urllib.parse.urlsplit(location).path[len(BASE):]
    deadline = time.time() + 10
    while time.time() < deadline:
        _s, _h, result = call(iiq, "GET", path)
        if result["completionStatus"]:
            break
        time.sleep(0.1)
    assert result["completionStatus"] == "Success"
    assert call(iiq, "GET", "/LaunchedWorkflows/" + body["id"])[2]["completionStatus"] == "Success"


def test_fault_switches(iiq):
    def looks_like_scim_error(status, body):
        assert body["schemas"] == [server.ERROR_SCHEMA] and body["status"] == str(status)
    check_standard_faults(iiq.app, lambda: call(iiq, "GET", "/Workflows"), looks_like_scim_error)


def test_the_example_workflow_is_what_the_stand_in_plays():
    """examples/sailpoint_iiq: same workflow name, inputs and output as the simulator and the driver."""
    import xml.etree.ElementTree as ET
    repo = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    from iiq_sim import launch as iiq_launch
    root = ET.parse(os.path.join(repo, "examples", "sailpoint_iiq", "alation-scim-token-workflow.xml")).getroot()
    variables = {v.get("name"): v.attrib for v in root.iter("Variable")}
    assert root.get("name") == iiq_launch.WORKFLOW == WF
    assert {n for n, a in variables.items() if a.get("input") == "true"} == {"applicationName", "tokenAttribute", "token"}
    assert variables["token"].get("transient") == "true", "the token must not be persisted by IdentityIQ"
    assert variables["tokenAttribute"].get("initializer") == "apiToken"
    assert {n for n, a in variables.items() if a.get("output") == "true"} == {"testResult"}
    script = "".join(s.text or "" for s in root.iter("Source"))
    assert "context.encrypt(token)" in script and "testConfiguration()" in script
