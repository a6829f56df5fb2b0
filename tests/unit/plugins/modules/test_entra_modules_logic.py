"""Decision logic of entra_scim_credentials / entra_sync_job over a fake Graph client."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.alation.scim.plugins.module_utils._graph import (
    EntraError, needs_job_action, push_credentials, set_job_state)

SP, JOB = "sp-1", "scim.1"
BASE = "https://127.0.10.1:8443/scim/v2/"


class FakeModule(object):
    def __init__(self, check_mode=False, **params):
        self.params = {"service_principal_id": SP, "job_id": None, "base_address": BASE, "secret_token": "tok",
                       "validate_before_save": True, "lift_quarantine": True, "wait_healthy_timeout": 60,
                       "force": False, "state": "present", "check_saved_credentials": False}
        self.params.update(params)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


class FakeClient(object):
    """Graph as state: saved secrets, what validates, job status; records writes."""

    def __init__(self, saved=None, valid_token="tok", code="Active", schedule="Active", mask=True):
        self.saved = dict(saved or {})
        self.valid_token = valid_token
        self.code, self.schedule, self.mask = code, schedule, mask
        self.writes = []
        self.validations = []

    def job(self):
        return {"id": JOB, "templateId": "scim", "schedule": {"state": self.schedule},
                "status": {"code": self.code,
                           "quarantine": {"reason": "EncounteredQuarantineException"}
                           if self.code == "Quarantine" else None}}

    def pick_job(self, sp_id, job_id=None):
        return self.job()

    def get_job(self, sp_id, job_id):
        return self.job()

    def get_secrets(self, sp_id):
        return dict((k, v if (k == "BaseAddress" and not self.mask) else "*") for k, v in self.saved.items())

    def validate_credentials(self, sp_id, job_id, credentials=None):
        creds = self.saved if credentials is None else dict(credentials)
        self.validations.append("saved" if credentials is None else "proposed")
        ok = creds.get("SecretToken") == self.valid_token and creds.get("BaseAddress") == BASE
        return (True, None) if ok else (False, "HTTP 400 CredentialValidationUnavailable: HTTP/401")

    def put_secrets(self, sp_id, items):
        self.writes.append("put")
        self.saved = dict(items)

    def lift_quarantine(self, sp_id, job_id):
        self.writes.append("restart")
        self.code = "Active"

    def job_action(self, sp_id, job_id, action):
        self.writes.append(action)
        self.schedule = self.code = {"pause": "Paused", "start": "Active"}[action]

    def wait_job(self, sp_id, job_id, done, timeout):
        return self.job()

    def sp_label(self, sp_id):
        return "service principal %s" % sp_id


def push(client, **params):
    module = FakeModule(**params)
    result = {"changed": False, "pushed": False, "validated": False, "saved_credentials_valid": None,
              "quarantine_lifted": False}
    push_credentials(module, client, result)
    return result


def test_first_push_validates_then_saves():
    c = FakeClient()
    r = push(c)
    assert r["changed"] and r["pushed"] and r["validated"]
    assert c.validations == ["proposed"] and c.writes == ["put"]


def test_second_push_changes_nothing():
    c = FakeClient(saved={"BaseAddress": BASE, "SecretToken": "tok"})
    r = push(c)
    assert not r["changed"] and not r["pushed"] and r["validated"] and r["saved_credentials_valid"]
    assert c.writes == [] and c.validations == ["saved"]


def test_saved_token_revoked_is_replaced():
    c = FakeClient(saved={"BaseAddress": BASE, "SecretToken": "old"})
    r = push(c)
    assert r["pushed"] and r["saved_credentials_valid"] is False and "HTTP/401" in r["saved_credentials_error"]


def test_readable_base_address_that_differs_is_pushed_without_checking_saved():
    c = FakeClient(saved={"BaseAddress": "https://old/scim/v2/", "SecretToken": "tok"}, mask=False)
    r = push(c)
    assert r["pushed"] and c.validations == ["proposed"]


def test_force_pushes_even_when_valid():
    c = FakeClient(saved={"BaseAddress": BASE, "SecretToken": "tok"})
    assert push(c, force=True)["pushed"]


def test_rejected_token_is_not_saved():
    c = FakeClient(valid_token="the-real-one")
    with pytest.raises(EntraError) as e:
        push(c)
    assert "refused them" in e.value.message and "Nothing was saved" in e.value.message and c.writes == []


def test_without_validation_saves_blindly():
    c = FakeClient(valid_token="the-real-one")
    r = push(c, validate_before_save=False)
    assert r["pushed"] and not r["validated"]


def test_check_mode_only_reads_and_validates():
    c = FakeClient(code="Quarantine")
    r = push(c, check_mode=True)
    assert r["changed"] and not r["pushed"] and not r["quarantine_lifted"] and c.writes == []
    assert "would save" in r["msg"] and "would lift" in r["msg"]


def test_quarantine_is_lifted():
    c = FakeClient(saved={"BaseAddress": BASE, "SecretToken": "tok"}, code="Quarantine")
    r = push(c)
    assert r["changed"] and not r["pushed"] and r["quarantine_lifted"] and c.writes == ["restart"]
    assert r["job"]["status_code"] == "Active"


def test_quarantine_left_alone_when_asked():
    c = FakeClient(saved={"BaseAddress": BASE, "SecretToken": "tok"}, code="Quarantine")
    module = FakeModule(lift_quarantine=False)
    result = {"changed": False}
    push_credentials(module, c, result)
    assert not result["changed"] and module.warnings and c.writes == []


def test_still_quarantined_after_wait_fails():
    class Stuck(FakeClient):
        def lift_quarantine(self, sp_id, job_id):
            self.writes.append("restart")
    c = Stuck(saved={"BaseAddress": BASE, "SecretToken": "tok"}, code="Quarantine")
    with pytest.raises(EntraError) as e:
        push(c, wait_healthy_timeout=5)
    assert "still in quarantine" in e.value.message


@pytest.mark.parametrize("state, code, schedule, action", [
    ("paused", "Active", "Active", "pause"),
    ("paused", "Paused", "Paused", None),
    ("paused", "Quarantine", "Paused", None),
    ("started", "Paused", "Paused", "start"),
    ("started", "Active", "Active", None),
    ("started", "NotRun", "Disabled", "start"),
    ("restarted", "Active", "Active", "restart"),
    ("present", "Paused", "Paused", None),
])
def test_sync_job_needs_action(state, code, schedule, action):
    assert needs_job_action(state, {"status_code": code, "schedule_state": schedule}) == action


def test_sync_job_idempotent_and_check_mode():
    c = FakeClient()
    result = {"changed": False}
    set_job_state(FakeModule(state="paused", check_mode=True), c, result)
    assert result["changed"] and c.writes == []
    result = {"changed": False}
    set_job_state(FakeModule(state="paused", check_saved_credentials=True), c, result)
    assert result["changed"] and c.writes == ["pause"] and result["job"]["status_code"] == "Paused"
    assert result["saved_credentials_valid"] is False
    result = {"changed": False}
    set_job_state(FakeModule(state="paused"), c, result)
    assert not result["changed"] and c.writes == ["pause"]
