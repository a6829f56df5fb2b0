"""Hand-off drivers (okta / onelogin / manual) end to end: rotate_scim.yml over real SSH + sudo
against the test bed, the token handed off in an Ansible Vault file (or a 0600 file) on the
controller, the Okta simulator (127.0.30.1:8443, test CA) for the paste and the System Log that
the `confirm` entry point reads.

Tokens are compared and scanned, never printed: assertion messages carry fingerprints at most.
"""

import calendar
import json
import os
import stat
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from okta_sim import launch as okta_launch  # noqa: E402
from okta_sim.client import OktaSim  # noqa: E402
from testbed_fixtures import fp, fresh_simulator, launch_simulator  # noqa: E402

PLAYBOOK = os.path.join(REPO, "playbooks", "rotate_scim.yml")
SCHEDULED = os.path.join(REPO, "playbooks", "scheduled_rotation.yml")
MARKER = "/var/lib/alation_scim/it-{{ inventory_hostname }}/pending_push.json"
HOST = "alation3"
CONFIRM = """
- hosts: %s
  gather_facts: false
  tasks:
    - name: Confirm the paste
      ansible.builtin.include_role:
        name: alation.scim.token_rotation
        tasks_from: confirm
"""
VAULT_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-vault")


@pytest.fixture(scope="module")
def okta_settings(testbed):
    return launch_simulator(okta_launch, testbed)


@pytest.fixture
def okta(okta_settings):
    return fresh_simulator(OktaSim(okta_settings["url"], okta_settings["ca_path"]))


@pytest.fixture
def handoff(tmp_path):
    """Hand-off dir (not created: the role makes it 0700) and a vault password file."""
    pw = tmp_path / "vault-password"
    pw.write_text("it-vault-password-%s\n" % os.getpid())
    pw.chmod(0o600)
    return {"dir": str(tmp_path / "handoff"), "password_file": str(pw)}


def run(run_playbook, okta_settings, handoff, idp="okta", playbook=PLAYBOOK, limit=HOST, operator=True,
        leak_scanner=None, verbosity=0, check=False, **extra):
    extra_vars = {
        "alation_scim_hosts": "alation", "alation_scim_idp": idp, "alation_scim_verify_delay": 1,
        "alation_scim_pending_marker": MARKER, "alation_scim_handoff_dir": handoff["dir"],
        "alation_scim_okta_org_url": okta_settings["url"], "alation_scim_okta_ca_path": okta_settings["ca_path"],
        "alation_scim_okta_api_token": okta_settings["api_token"],
        "alation_scim_okta_app_id": okta_settings["apps"][HOST],
    }
    if operator:
        extra_vars["alation_scim_operator_present"] = True
    extra_vars.update(extra)
    env = {"ANSIBLE_VAULT_PASSWORD_FILE": handoff["password_file"]} if handoff.get("password_file") else {}
    return run_playbook(playbook, limit=limit, extra_vars=extra_vars, check=check, verbosity=verbosity,
                        leak_scanner=leak_scanner, env=env)


def vault_view(path, password_file):
    proc = subprocess.run([VAULT_BIN, "view", path, "--vault-password-file", password_file],
                          check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=dict(os.environ, PAGER="cat"))
    assert proc.returncode == 0, "ansible-vault view failed: %s" % proc.stderr[-500:]
    # `view` ends what it shows with a newline of its own
    return proc.stdout[:-1] if proc.stdout.endswith("\n") else proc.stdout


def vault_file(handoff, host=HOST):
    return os.path.join(handoff["dir"], host + ".scim-token.vault")


def record(handoff, host=HOST):
    with open(os.path.join(handoff["dir"], host + ".handoff.json")) as f:
        return json.load(f)


def output(result):
    return result.stdout + result.stderr


# ---------------------------------------------------------------- hand-off
def test_handoff_writes_vault_file_with_the_new_token_and_nowhere_else(testbed, run_playbook, okta_settings, okta,
                                                                       handoff, leak_scanner):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    old = testbed.current_token(HOST)
    leak_scanner.add(old)
    r = run(run_playbook, okta_settings, handoff, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0, "hand-off run failed: %r" % r
    new = testbed.current_token(HOST)
    leak_scanner.add(new)
    assert testbed.rotations(HOST) == 1
    assert fp(new) != fp(old)
    path = vault_file(handoff)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(handoff["dir"]).st_mode) == 0o700
    with open(path) as f:
        assert f.read().startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert fp(vault_view(path, handoff["password_file"])) == fp(new), "the vault file does not hold the new token"
    # the admin-console steps, with this host's SCIM URL filled in
    out = r.stdout
    for words in ("Provisioning tab > Integration > Edit", "Test API Credentials", "Save",
                  testbed.scim_base_url(HOST), "ansible-vault view " + path):
        assert words in out, "missing in the printed steps: %s" % words
    rec = record(handoff)
    assert rec["state"] == "handed_off" and rec["idp"] == "okta" and rec["rotated_at"]
    # nowhere else: run output (checked by the runner), syslog, host logs, files around, the simulator's log
    leak_scanner.scan_syslog()
    leak_scanner.scan_host_logs(testbed)
    leak_scanner.scan_files([handoff["dir"], "/var/lib/alation_scim", os.path.expanduser("~/.ansible/tmp"),
                             os.path.join(okta_launch.STATE_DIR, "server.log")])
    leak_scanner.assert_clean()
    assert testbed.scim_get(HOST, new) == 200 and testbed.scim_get(HOST, old) == 401


def test_second_run_changes_nothing(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    assert run(run_playbook, okta_settings, handoff).rc == 0
    with open(vault_file(handoff), "rb") as f:
        before = f.read()
    r = run(run_playbook, okta_settings, handoff)
    assert r.rc == 0, "second run failed: %r" % r
    assert r.stats[HOST]["changed"] == 0, "second run changed something: %r" % r.stats
    assert testbed.rotations(HOST) == 1
    with open(vault_file(handoff), "rb") as f:
        assert f.read() == before


def test_file_0600_channel(testbed, run_playbook, okta_settings, okta, handoff, leak_scanner):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    leak_scanner.add(testbed.current_token(HOST))
    r = run(run_playbook, okta_settings, handoff, alation_scim_handoff_channel="file_0600", leak_scanner=leak_scanner)
    assert r.rc == 0, "hand-off run failed: %r" % r
    new = testbed.current_token(HOST)
    leak_scanner.add(new)
    path = os.path.join(handoff["dir"], HOST + ".scim-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert fp(f.read()) == fp(new), "the 0600 file does not hold exactly the new token"
    leak_scanner.assert_clean()


def test_missing_vault_password_fails_with_the_fix_and_rerun_finishes_without_second_rotation(
        testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    no_pw = dict(handoff, password_file=None)
    r = run(run_playbook, okta_settings, no_pw)
    assert r.rc != 0
    assert testbed.rotations(HOST) == 1
    assert "WAS ROTATED" in r.stdout and "vault" in r.stdout.lower()
    assert not os.path.exists(vault_file(handoff))
    r = run(run_playbook, okta_settings, handoff)
    assert r.rc == 0, "re-run failed: %r" % r
    assert testbed.rotations(HOST) == 1, "the re-run rotated again"
    assert fp(vault_view(vault_file(handoff), handoff["password_file"])) == fp(testbed.current_token(HOST))


# ---------------------------------------------------------------- no rotation without an operator
def test_due_handoff_host_is_not_rotated_unattended(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    before = fp(testbed.current_token(HOST))
    r = run(run_playbook, okta_settings, handoff, operator=False)
    assert r.rc != 0
    assert testbed.rotations(HOST) == 0 and fp(testbed.current_token(HOST)) == before
    assert "Nothing was rotated" in r.stdout and "alation_scim_operator_present=true" in r.stdout
    assert not os.path.exists(handoff["dir"])


def test_scheduled_playbook_never_rotates_a_handoff_host_and_reports_it(testbed, run_playbook, okta_settings, okta,
                                                                        handoff, tmp_path):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    reports = tmp_path / "reports"
    # localhost writes the fleet report
    r = run(run_playbook, okta_settings, handoff, playbook=SCHEDULED, operator=False, limit=[HOST, "localhost"],
            alation_scim_report_dir=str(reports))
    assert testbed.rotations(HOST) == 0
    assert r.rc != 0, "a due hand-off host must make the scheduled run fail"
    with open(str(reports / "alation-scim-report.json")) as f:
        report = json.load(f)
    text = json.dumps(report)
    assert HOST in text and "alation_scim_operator_present=true" in text


def test_not_due_hands_nothing_off(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    r = run(run_playbook, okta_settings, handoff)
    assert r.rc == 0, "run failed: %r" % r
    assert testbed.rotations(HOST) == 0
    assert not os.path.exists(vault_file(handoff))


def test_check_mode_changes_nothing(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    before = fp(testbed.current_token(HOST))
    r = run(run_playbook, okta_settings, handoff, check=True)
    assert r.rc == 0, "check run failed: %r" % r
    assert testbed.rotations(HOST) == 0 and fp(testbed.current_token(HOST)) == before
    assert not os.path.exists(handoff["dir"])


# ---------------------------------------------------------------- confirm
def wait_past_the_rotation_second(handoff):
    """An operator pastes seconds after the rotation, never within its second: confirm does not count
    events from the rotation's own second (rotated_at has whole seconds; such an event may precede it)."""
    rotated = calendar.timegm(time.strptime(record(handoff)["rotated_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    time.sleep(max(0.0, rotated + 1.05 - time.time()))


def paste_and_provision(okta, okta_settings, token):
    status, body = okta.paste(okta_settings["apps"][HOST], token)
    assert status == 200, "paste refused: %s" % (body or {}).get("error", "")[:200]
    return okta.provision(okta_settings["apps"][HOST])


def test_confirm_fails_clearly_before_the_paste_and_passes_after(testbed, run_playbook, okta_settings, okta, handoff,
                                                                 leak_scanner):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    old = testbed.current_token(HOST)
    leak_scanner.add(old)
    # Okta holds the current token and provisions fine before the rotation (an event that must not count)
    assert paste_and_provision(okta, okta_settings, old)["outcome"]["result"] == "SUCCESS"
    assert run(run_playbook, okta_settings, handoff).rc == 0
    new = testbed.current_token(HOST)
    leak_scanner.add(new)

    r = run(run_playbook, okta_settings, handoff, playbook=CONFIRM % HOST)
    assert r.rc != 0 and "No provisioning event" in r.stdout and "not known" in r.stdout

    # Okta still sends the revoked token
    assert okta.provision(okta_settings["apps"][HOST])["outcome"]["result"] == "FAILURE"
    r = run(run_playbook, okta_settings, handoff, playbook=CONFIRM % HOST)
    assert r.rc != 0 and "failed" in r.stdout and "Unauthorized (401)" in r.stdout

    # the operator pastes what the vault file holds; Okta provisions with it
    pasted = vault_view(vault_file(handoff), handoff["password_file"])
    wait_past_the_rotation_second(handoff)
    assert paste_and_provision(okta, okta_settings, pasted)["outcome"]["result"] == "SUCCESS"
    r = run(run_playbook, okta_settings, handoff, playbook=CONFIRM % HOST, leak_scanner=leak_scanner)
    assert r.rc == 0, "confirm failed after the paste: %r" % r
    assert "Confirmed for %s" % HOST in r.stdout
    assert record(handoff)["state"] == "confirmed"
    leak_scanner.assert_clean()


def test_confirm_with_oauth_service_app(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    assert run(run_playbook, okta_settings, handoff).rc == 0
    wait_past_the_rotation_second(handoff)
    paste_and_provision(okta, okta_settings, vault_view(vault_file(handoff), handoff["password_file"]))
    r = run(run_playbook, okta_settings, handoff, playbook=CONFIRM % HOST, alation_scim_okta_api_token="",
            alation_scim_okta_client_id=okta_settings["client_id"],
            alation_scim_okta_private_key_path=okta_settings["private_key_path"])
    assert r.rc == 0, "confirm with private_key_jwt failed: %r" % r


def test_confirm_with_a_token_that_cannot_read_logs(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    r = run(run_playbook, okta_settings, handoff, playbook=CONFIRM % HOST,
            alation_scim_okta_api_token=okta_settings["no_logs_api_token"],
            alation_scim_confirm_since="2026-01-01T00:00:00Z")
    assert r.rc != 0 and "E0000006" in r.stdout and "okta.logs.read" in r.stdout


def test_confirm_rides_out_rate_limits(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    okta.fault("throttle", count=1, reset_in=2)
    r = run(run_playbook, okta_settings, handoff, playbook=CONFIRM % HOST,
            alation_scim_confirm_since="2026-01-01T00:00:00Z")
    # no provisioning event in the org: not confirmed, but not because of the 429
    assert r.rc != 0 and "No provisioning event" in r.stdout and "E0000047" not in r.stdout


@pytest.mark.parametrize("idp", ["onelogin", "manual"])
def test_confirm_says_plainly_when_the_idp_cannot_tell(testbed, run_playbook, okta_settings, okta, handoff, idp):
    r = run(run_playbook, okta_settings, handoff, idp=idp, playbook=CONFIRM % HOST)
    assert r.rc != 0
    assert "offers no API" in r.stdout and "nothing was checked" in r.stdout


def test_onelogin_handoff_prints_onelogin_steps(testbed, run_playbook, okta_settings, okta, handoff):
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    r = run(run_playbook, okta_settings, handoff, idp="onelogin")
    assert r.rc == 0, "onelogin hand-off failed: %r" % r
    assert "SCIM Bearer Token" in r.stdout and testbed.scim_base_url(HOST) in r.stdout
    assert fp(vault_view(vault_file(handoff), handoff["password_file"])) == fp(testbed.current_token(HOST))


def test_custom_channel_hands_the_token_to_a_tasks_file(testbed, run_playbook, okta_settings, okta, handoff, tmp_path,
                                                        leak_scanner):
    # stands in for a secret store (examples/custom/hashi_vault_kv.yml): the tasks file gets the token
    store = tmp_path / "store"
    tasks = tmp_path / "store_token.yml"
    tasks.write_text(
        "- name: Keep the token in the stand-in secret store\n"
        "  ansible.builtin.copy:\n"
        "    content: \"{{ alation_scim_token }}\"\n"
        "    dest: %s/{{ inventory_hostname }}\n"
        "    mode: '0600'\n"
        "  delegate_to: localhost\n" % store)
    store.mkdir(mode=0o700)
    testbed.reset(HOST)
    testbed.expire_in(HOST, 3)
    leak_scanner.add(testbed.current_token(HOST))
    r = run(run_playbook, okta_settings, handoff, leak_scanner=leak_scanner, verbosity=2,
            alation_scim_handoff_channel="custom", alation_scim_handoff_custom_tasks=str(tasks))
    assert r.rc == 0, "custom hand-off failed: %r" % r
    new = testbed.current_token(HOST)
    leak_scanner.add(new)
    with open(str(store / HOST)) as f:
        assert fp(f.read()) == fp(new), "the custom tasks file did not get the new token"
    assert "the secret store written by" in r.stdout
    assert record(handoff)["channel"] == "custom"
    leak_scanner.assert_clean()
