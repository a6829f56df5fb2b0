# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sailpoint_iiq driver: a console hand-off without a workflow, an API driver with one,
against the IdentityIQ simulator (its stand-in workflow stores the token and tests the connection
against a SCIM endpoint standing in for Alation)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverError

from conftest import OLD_TOKEN, TOKEN, fp
from testkit import SimWorld  # noqa: E402  (tests/testbed, put on the path by conftest)

WF, APP = "Alation SCIM Token Update", "Alation SCIM (alation1)"
USER = ("iiq-svc", "iiq-svc-pass-1")
VIEWER = ("iiq-viewer", "iiq-viewer-pass-1")


def iiq_config(scim_url):
    return {"users": {USER[0]: {"password": USER[1], "rights": ["SCIM Executor"]},
                      VIEWER[0]: {"password": VIEWER[1], "rights": []}},
            "workflows": {WF: {}}, "applications": {APP: {"scim_url": scim_url}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = SimWorld(str(tmp_path_factory.mktemp("iiq-driver")), "iiq_sim", "IdentityIq", "127.0.70.1", iiq_config, TOKEN)
    yield w
    w.stop()


@pytest.fixture
def iiq(world):
    return world.fresh()


@pytest.fixture
def driver(iiq, make_driver):
    def make(**kw):
        options = dict(url=iiq.url + "/identityiq", username=USER[0], password=USER[1], workflow_name=WF,
                       application_name=APP, ca_path=iiq.ca, retry_budget=5)
        options.update(kw)
        return make_driver("sailpoint_iiq", scim_url=iiq.scim_url, **options)
    return make


def app_state(iiq):
    return iiq.app.state()["applications"][APP]


def test_without_a_workflow_it_is_a_console_hand_off(make_driver, tmp_path):
    d = make_driver("sailpoint_iiq", application_name=APP, channel="file_0600", dir=str(tmp_path))
    assert d.needs_operator is True and d.push_when_unknown is False and d.holds(TOKEN) is None
    d.check_settings()   # nothing to read: no API
    assert "handed off to the file %s" % (tmp_path / "alation1.scim-token") in d.push(TOKEN)
    token_file = tmp_path / "alation1.scim-token"
    assert token_file.read_text() == TOKEN and oct(token_file.stat().st_mode & 0o777) == "0o600"
    record = json.loads((tmp_path / "alation1.handoff.json").read_text())
    assert record["idp"] == "sailpoint_iiq" and TOKEN not in json.dumps(record)
    steps = d.operator_steps()
    assert any(str(token_file) in s for s in steps)
    assert any(APP in s for s in steps) and any("Test Connection" in s for s in steps)
    assert any("https://alation1.example:8443/scim/v2/" in s for s in steps)
    assert d.summary()["mode"] == "handoff"
    assert d.target() == "sailpoint_iiq:Alation"
    assert d.variable_name("channel") == "alation_scim_handoff_channel"
    assert d.variable_name("workflow_name") == "alation_scim_sailpoint_iiq_workflow_name"


@pytest.mark.parametrize("mode,body_form", [("sync", "both"), ("sync", "extension"), ("sync", "top_level"),
                                            ("async", "both")])
def test_with_a_workflow_it_pushes_and_reports_the_workflow_result(iiq, driver, mode, body_form):
    iiq.app.settings.update(mode=mode, body_form=body_form, async_delay=0.5)
    d = driver()
    assert d.needs_operator is False and d.push_when_unknown is True and d.holds(TOKEN) is None
    d.check_settings()
    assert d.prepare_plan() is None
    said = d.push(TOKEN)
    assert WF in said and APP in said
    assert app_state(iiq)["secret_fingerprints"] == {"apiToken": fp(TOKEN)}
    assert "Success" in d.verify(TOKEN)
    summary = d.summary()
    assert summary["completion_status"] == "Success" and summary["connection_test"] == "Success"
    assert TOKEN not in json.dumps(summary) and TOKEN not in said
    assert d.target() == iiq.url + "/identityiq/scim/v2#application=" + APP


def test_a_failed_connection_test_fails_the_push(iiq, driver):
    d = driver()
    d.check_settings()
    with pytest.raises(DriverError) as e:
        d.push(OLD_TOKEN)   # not what Alation accepts
    msg = e.value.message
    assert "ended Error" in msg and "Test connection failed" in msg and "401" in msg and OLD_TOKEN not in msg
    assert "Task Results" in msg


def test_check_settings_finds_every_bad_setting_before_anything_changes(iiq, driver, make_driver):
    with pytest.raises(DriverError) as e:
        make_driver("sailpoint_iiq", workflow_name=WF).check_settings()
    assert "url" in e.value.message and "username" in e.value.message and "application_name" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(password="wrong").check_settings()
    assert e.value.status == 401 and "username / password" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(username=VIEWER[0], password=VIEWER[1]).check_settings()
    assert e.value.status == 403 and "SCIM Executor" in e.value.message
    with pytest.raises(DriverError) as e:
        driver(workflow_name="Not Deployed").check_settings()
    assert "no workflow named 'Not Deployed'" in e.value.message and "Import" in e.value.message
    with pytest.raises(DriverError) as e:
        driver(application_name="Other App").check_settings()
    assert "no application named 'Other App'" in e.value.message and "application_name" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(url="http://127.0.70.1/identityiq").check_settings()
    assert "https://" in e.value.message
    with pytest.raises(ApiError) as e:
        driver(ca_path=None).check_settings()
    assert "ca_path" in e.value.message
    assert iiq.app.state()["runs"] == [], "a check launched a workflow"


def test_slow_workflow_times_out_with_a_clear_message(iiq, driver):
    iiq.app.settings.update(mode="async", async_delay=5)
    d = driver(workflow_timeout=1)
    d.check_settings()
    with pytest.raises(ApiError) as e:
        d.push(TOKEN)
    assert "did not complete within workflow_timeout 1 s" in e.value.message


def test_server_errors_are_ridden_out_and_failures_scrubbed(iiq, driver):
    d = driver(retry_budget=10)
    d.check_settings()
    iiq.app.set_fault({"mode": "server_error", "status": 503, "count": 1, "methods": ["POST"]})
    d.push(TOKEN)
    iiq.app.set_fault({"mode": "server_error", "status": 500, "methods": ["POST"]})
    with pytest.raises(ApiError) as e:
        driver(retry_budget=1).push(TOKEN)
    assert "Launching IdentityIQ workflow" in e.value.message and TOKEN not in e.value.message
