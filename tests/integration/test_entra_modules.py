"""entra_scim_credentials / entra_sync_job via ansible-playbook against the test bed's Entra simulator.

The token comes from the Alation host over SSH (token_read, become) and goes to the simulator from
the controller (delegate_to: localhost), as in production. Tokens are compared, never printed.
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "testbed", "entra_sim"))
from client import EntraSim  # noqa: E402

HOST = "alation1"
WRITES = ("PUT", "PATCH", "DELETE")
WRITE_ACTIONS = ("/pause", "/start", "/restart")


@pytest.fixture(scope="module")
def entra(testbed):
    if not testbed.entra:
        pytest.fail("the test bed runs without the Entra simulator")
    return testbed.entra


@pytest.fixture
def sim(entra, testbed):
    s = EntraSim(entra["url"], testbed.ca_path)
    s.reset()
    testbed.reset(HOST)
    yield s
    s.fault("none")
    s.reset()


def sp_of(entra, host=HOST):
    return entra["hosts"][host]["service_principal_id"]


def job_of(entra, host=HOST):
    return entra["hosts"][host]["job_id"]


def run_entra(run_playbook, tmp_path, module, args, read_token=False, check=False, leak_scanner=None,
              auth=None, verbosity=0):
    """Run one Entra module task for HOST (delegated to localhost); returns (playbook result, module result).

    `auth` overrides the connection options (value None = leave the option out)."""
    options = {
        "tenant_id": "{{ alation_scim_entra_tenant_id }}",
        "client_id": "{{ alation_scim_entra_client_id }}",
        "client_secret": "{{ alation_scim_entra_client_secret }}",
        "authority_url": "{{ alation_scim_entra_authority_url }}",
        "graph_url": "{{ alation_scim_entra_graph_url }}",
        "ca_path": "{{ alation_scim_entra_ca_path }}",
        "service_principal_id": "{{ alation_scim_entra_service_principal_id }}",
        "retry_budget": 30,
    }
    options.update(auth or {})
    options.update(args)
    options = dict((k, v) for k, v in options.items() if v is not None)
    out = tmp_path / ("result-%s.json" % uuid.uuid4().hex)
    tasks = []
    if read_token:
        tasks.append({"name": "read the SCIM token on the Alation host", "alation.scim.token_read": {},
                      "become": True, "register": "tok", "no_log": True})
    tasks += [
        # pipelining: the module's arguments (the token) reach it over stdin, never in a temp file
        {"name": "entra module", "alation.scim.%s" % module: options, "delegate_to": "localhost",
         "vars": {"ansible_pipelining": True}, "register": "res", "ignore_errors": True},
        {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ res | to_json }}", "dest": str(out)},
         "delegate_to": "localhost", "check_mode": False},
    ]
    play = [{"hosts": HOST, "gather_facts": False, "tasks": tasks}]
    r = run_playbook(json.dumps(play), check=check, leak_scanner=leak_scanner, verbosity=verbosity)
    assert r.rc == 0, r.stdout[-3000:] + r.stderr[-2000:]
    result = json.loads(out.read_text())
    out.unlink()
    return r, result


PUSH = {"base_address": "{{ alation_scim_base_url }}", "secret_token": "{{ tok.token }}"}


def push(run_playbook, tmp_path, **kw):
    args = dict(PUSH)
    args.update(kw.pop("args", {}))
    return run_entra(run_playbook, tmp_path, "entra_scim_credentials", args, read_token=True, **kw)


def write_calls(requests):
    return [r for r in requests if r["method"] in WRITES
            or (r["method"] == "POST" and r["path"].endswith(WRITE_ACTIONS))]


def test_push_then_cycle_succeeds_and_second_run_changes_nothing(
        sim, entra, testbed, run_playbook, tmp_path, leak_scanner):
    token = testbed.current_token(HOST)
    leak_scanner.add(token)
    leak_scanner.add(entra["client_secret"])  # the Entra app's secret must not leak either
    r, res = push(run_playbook, tmp_path, leak_scanner=leak_scanner, verbosity=4)
    assert not res.get("failed"), res.get("msg")
    assert res["changed"] and res["pushed"] and res["validated"]
    assert res["job"]["status_code"] == "Active" and res["job"]["id"] == job_of(entra)
    assert sim.stored_token(sp_of(entra)) == token, "Entra simulator does not hold the host's current token"
    assert sim.stored_secrets(sp_of(entra))["BaseAddress"] == testbed.scim_base_url(HOST)
    cycle = sim.cycle(sp_of(entra))
    assert cycle["ok"], cycle.get("error")
    assert [s["status"] for s in cycle["steps"]][:1] == [201]

    since = time.time()
    r, res = push(run_playbook, tmp_path, leak_scanner=leak_scanner)
    assert not res.get("failed"), res.get("msg")
    assert not res["changed"] and not res["pushed"] and res["validated"] and res["saved_credentials_valid"]
    assert write_calls(sim.requests(since)) == []
    leak_scanner.assert_clean()


def test_check_mode_writes_nothing(sim, entra, testbed, run_playbook, tmp_path):
    since = time.time()
    r, res = push(run_playbook, tmp_path, check=True)
    assert not res.get("failed"), res.get("msg")
    assert res["changed"] and not res["pushed"] and res["validated"]
    calls = sim.requests(since)
    assert any(c["path"].endswith("/validateCredentials") for c in calls)
    assert write_calls(calls) == []
    assert sim.stored_token(sp_of(entra)) is None


def test_rotated_token_quarantines_the_job_and_the_push_lifts_it(sim, entra, testbed, run_playbook, tmp_path):
    r, res = push(run_playbook, tmp_path)
    assert res["pushed"], res.get("msg")
    testbed.reset(HOST)  # a new token on the host revokes the one Entra holds
    cycle = sim.cycle(sp_of(entra))
    assert not cycle["ok"] and cycle["job_status"] == "Quarantine"
    assert sim.job(sp_of(entra))["status"]["quarantine"]["reason"] == "EncounteredQuarantineException"

    r, res = push(run_playbook, tmp_path)
    assert not res.get("failed"), res.get("msg")
    assert res["pushed"] and res["quarantine_lifted"] and res["saved_credentials_valid"] is False
    assert res["job"]["status_code"] == "Active" and res["job"]["quarantine_reason"] is None
    assert sim.cycle(sp_of(entra))["ok"]


def test_quarantine_lifted_when_credentials_already_current(sim, entra, testbed, run_playbook, tmp_path):
    push(run_playbook, tmp_path)
    sim.set_job(sp_of(entra), job_of(entra), "Quarantine")
    r, res = push(run_playbook, tmp_path, check=True)
    assert res["changed"] and not res["quarantine_lifted"]
    assert sim.job(sp_of(entra))["status"]["code"] == "Quarantine"
    r, res = push(run_playbook, tmp_path)
    assert res["changed"] and not res["pushed"] and res["quarantine_lifted"]
    assert sim.job(sp_of(entra))["status"]["code"] == "Active"


def test_throttling_with_retry_after_is_ridden_out(sim, entra, testbed, run_playbook, tmp_path):
    sim.fault("throttle", count=2, retry_after=2)
    since = time.time()
    r, res = push(run_playbook, tmp_path)
    assert not res.get("failed"), res.get("msg")
    assert res["pushed"]
    statuses = [c["status"] for c in sim.requests(since) if c["path"].startswith("/v1.0/")]
    assert statuses[:2] == [429, 429] and statuses[2] == 200
    throttled = [c["epoch"] for c in sim.requests(since) if c["path"].startswith("/v1.0/")][:3]
    assert throttled[2] - throttled[0] >= 3.5  # waited Retry-After twice


def test_throttling_without_retry_after_backs_off(sim, entra, testbed, run_playbook, tmp_path):
    sim.fault("throttle", count=2)
    r, res = push(run_playbook, tmp_path)
    assert not res.get("failed"), res.get("msg")
    assert res["pushed"]


@pytest.mark.parametrize("status", [403, 409])
def test_replication_delay_is_ridden_out(sim, entra, testbed, run_playbook, tmp_path, status):
    sim.fault("replication_delay", count=3, status=status)
    since = time.time()
    r, res = push(run_playbook, tmp_path)
    assert not res.get("failed"), res.get("msg")
    assert res["pushed"]
    assert [c["status"] for c in sim.requests(since) if c["path"].startswith("/v1.0/")][:3] == [status] * 3


def test_throttling_beyond_the_budget_fails_clearly(sim, entra, run_playbook, tmp_path):
    sim.fault("throttle", retry_after=60)
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"retry_budget": 5})
    assert res["failed"]
    assert "429" in res["msg"] and "retry_budget" in res["msg"] and sp_of(entra) in res["msg"]


def test_idp_down_fails_clearly(sim, entra, run_playbook, tmp_path):
    sim.fault("down")
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"retry_budget": 3})
    assert res["failed"]
    assert "no answer" in res["msg"] and "retry_budget" in res["msg"]


@pytest.mark.parametrize("case, override, expected", [
    ("wrong secret", {"client_secret": "not-the-secret"}, ["AADSTS7000215", "client secret is wrong"]),
    ("unknown tenant", {"tenant_id": "00000000-0000-4000-8000-000000000000"},
     ["AADSTS90002", "tenant was not found"]),
    ("unknown client", {"client_id": "00000000-0000-4000-8000-00000000c11e"},
     ["AADSTS700016", "client_id"]),
    ("unknown service principal", {"service_principal_id": "00000000-0000-4000-8000-0000000005b0"},
     ["00000000-0000-4000-8000-0000000005b0", "not found", "Object ID"]),
    ("unknown job", {"job_id": "scim.00000000000000000000000000000000.00000000000000000000000000000000"},
     ["scim.00000000000000000000000000000000", "not found", "its jobs: scim."]),
])
def test_bad_credentials_and_ids_give_clear_messages(sim, entra, run_playbook, tmp_path, case, override, expected):
    args = {"base_address": "https://127.0.10.1:8443/scim/v2/", "secret_token": "placeholder-not-a-token"}
    args.update(override)
    r, res = run_entra(run_playbook, tmp_path, "entra_scim_credentials", args)
    assert res["failed"], case
    for text in expected:
        assert text in res["msg"], (case, text, res["msg"])
    assert write_calls(sim.requests()) == []


def test_missing_permission_is_explained(sim, entra, run_playbook, tmp_path):
    sim.set_app(entra["tenant_id"], entra["client_id"], permissions=["User.Read.All"])
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {})
    assert res["failed"]
    for text in ("HTTP 401", "Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy", entra["client_id"],
                 sp_of(entra)):
        assert text in res["msg"], text


def test_wrong_base_address_is_refused_before_saving(sim, entra, testbed, run_playbook, tmp_path):
    r, res = push(run_playbook, tmp_path, args={"base_address": testbed.scim_base_url("alation2")})
    assert res["failed"] and "refused them" in res["msg"] and "HTTP/401" in res["msg"]
    assert sim.stored_token(sp_of(entra)) is None


def test_tls_is_verified(sim, entra, run_playbook, tmp_path):
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {}, auth={"ca_path": None})
    assert res["failed"]
    assert "TLS certificate verification failed" in res["msg"] and "ca_path" in res["msg"]
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {})
    assert not res.get("failed"), res.get("msg")


def test_sync_job_pause_start_restart(sim, entra, testbed, run_playbook, tmp_path):
    push(run_playbook, tmp_path)
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"state": "paused"})
    assert res["changed"] and res["job"]["status_code"] == "Paused", res.get("msg")
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"state": "paused"})
    assert not res["changed"]
    assert sim.cycle(sp_of(entra))["skipped"]
    since = time.time()
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"state": "started"}, check=True)
    assert res["changed"] and write_calls(sim.requests(since)) == []
    assert sim.job(sp_of(entra))["status"]["code"] == "Paused"
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job",
                       {"state": "started", "check_saved_credentials": True})
    assert res["changed"] and res["job"]["status_code"] == "Active" and res["saved_credentials_valid"]
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"state": "started"})
    assert not res["changed"]
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"state": "restarted"})
    assert res["changed"] and res["job"]["status_code"] == "Active"
    testbed.reset(HOST)
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {"check_saved_credentials": True})
    assert res["saved_credentials_valid"] is False and "401" in res["saved_credentials_error"]


def test_certificate_credential(sim, entra, run_playbook, tmp_path):
    key, cert = tmp_path / "app.key", tmp_path / "app.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=alation-scim-test-app"], check=True, capture_output=True)
    auth = {"client_secret": None, "client_certificate_path": str(cert), "client_private_key_path": str(key)}
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {}, auth=auth)
    assert res["failed"] and "AADSTS700027" in res["msg"]  # not registered yet
    sim.set_app(entra["tenant_id"], entra["client_id"], certificates=[cert.read_text()])
    r, res = run_entra(run_playbook, tmp_path, "entra_sync_job", {}, auth=auth)
    assert not res.get("failed"), res.get("msg")
    assert res["job"]["id"] == job_of(entra)
