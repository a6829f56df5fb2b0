"""PingOne driver end to end: rotate_scim.yml over real SSH + sudo against the test bed, the token
pushed into the PingOne simulator's SCIM propagation store (127.0.40.1:8443, test CA) with a PUT
of the whole store and a revision, and the simulator's propagation run proving that PingOne now
provisions to the Alation host with it.

Tokens are compared and scanned, never printed: assertion messages carry fingerprints at most.
"""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

import testbed_lib  # noqa: E402
from pingone_sim import launch as pingone_launch  # noqa: E402
from pingone_sim.client import PingOneSim  # noqa: E402
from testbed_fixtures import fp, fresh_simulator, launch_simulator  # noqa: E402

PLAYBOOK = os.path.join(REPO, "playbooks", "rotate_scim.yml")
MARKER = "/var/lib/alation_scim/it-{{ inventory_hostname }}/pending_push.json"
HOST = "alation2"


@pytest.fixture(scope="module")
def p1_settings(testbed):
    return launch_simulator(pingone_launch, testbed)


@pytest.fixture
def p1(p1_settings):
    return fresh_simulator(PingOneSim(p1_settings["url"], p1_settings["ca_path"]))


def run(run_playbook, s, check=False, leak_scanner=None, verbosity=0, **extra):
    extra_vars = {
        "alation_scim_hosts": "alation", "alation_scim_idp": "pingone", "alation_scim_verify_delay": 1,
        "alation_scim_pending_marker": MARKER,
        "alation_scim_pingone_environment_id": s["environment_id"],
        "alation_scim_pingone_client_id": s["client_id"], "alation_scim_pingone_client_secret": s["client_secret"],
        "alation_scim_pingone_api_url": s["url"], "alation_scim_pingone_auth_url": s["url"],
        "alation_scim_pingone_ca_path": s["ca_path"], "alation_scim_pingone_store_id": s["stores"][HOST],
    }
    extra_vars.update(extra)
    return run_playbook(PLAYBOOK, limit=HOST, extra_vars=extra_vars, check=check, verbosity=verbosity,
                        leak_scanner=leak_scanner, env={})


def in_sync(testbed, run_playbook, p1_settings, p1):
    """Fresh token on the host and PingOne holding it (what a fleet looks like between rotations)."""
    testbed.reset(HOST)
    r = run(run_playbook, p1_settings, alation_scim_force_push=True)
    assert r.rc == 0, "baseline run failed: %r" % r
    st = p1.store(p1_settings["stores"][HOST])
    assert st["token_fingerprint"] == fp(testbed.current_token(HOST))
    return st


def test_push_end_to_end(testbed, run_playbook, p1_settings, p1, leak_scanner):
    before = in_sync(testbed, run_playbook, p1_settings, p1)
    revisions = len(p1.state()["revisions"])
    testbed.expire_in(HOST, 3)
    old = testbed.current_token(HOST)
    leak_scanner.add(old)
    leak_scanner.add(p1_settings["client_secret"])
    r = run(run_playbook, p1_settings, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0, "rotation + push failed: %r" % r
    new = testbed.current_token(HOST)
    leak_scanner.add(new)
    assert testbed.rotations(HOST) == 1 and fp(new) != fp(old)
    store_id = p1_settings["stores"][HOST]
    st = p1.store(store_id)
    assert st["token_fingerprint"] == fp(new), "PingOne does not hold the new token"
    assert st["applied_token_fingerprint"] == fp(new), "the change was not applied with a revision"
    assert len(p1.state()["revisions"]) == revisions + 1
    # every other field kept as read
    assert st["configuration_keys"] == before["configuration_keys"]
    assert (st["scim_url"], st["authentication_method"], st["other"]["name"]) == \
        (before["scim_url"], before["authentication_method"], before["other"]["name"])
    # the resync after the revision provisions to the Alation host with the new token
    runs = [x for x in p1.wait_runs(1) if x["token_fingerprint"] == fp(new)]
    assert runs and runs[-1]["result"] == "SUCCESS", "no successful propagation with the new token"
    assert testbed.scim_get(HOST, old) == 401
    leak_scanner.scan_syslog()
    leak_scanner.scan_host_logs(testbed)
    leak_scanner.scan_files(["/var/lib/alation_scim", os.path.join(pingone_launch.STATE_DIR, "server.log")])
    leak_scanner.assert_clean()


def test_second_run_changes_nothing(testbed, run_playbook, p1_settings, p1):
    in_sync(testbed, run_playbook, p1_settings, p1)
    writes = [q for q in p1.state()["requests"] if q["method"] in ("PUT", "POST") and "/v1/" in q["path"]]
    r = run(run_playbook, p1_settings)
    assert r.rc == 0, "second run failed: %r" % r
    assert r.stats[HOST]["changed"] == 0, "second run changed something: %r" % r.stats
    after = [q for q in p1.state()["requests"] if q["method"] in ("PUT", "POST") and "/v1/" in q["path"]]
    assert after == writes, "the second run wrote to PingOne"


def test_check_mode_changes_nothing(testbed, run_playbook, p1_settings, p1):
    st = in_sync(testbed, run_playbook, p1_settings, p1)
    testbed.expire_in(HOST, 3)
    before = fp(testbed.current_token(HOST))
    r = run(run_playbook, p1_settings, check=True)
    assert r.rc == 0, "check run failed: %r" % r
    assert testbed.rotations(HOST) == 0 and fp(testbed.current_token(HOST)) == before
    after = p1.store(p1_settings["stores"][HOST])
    assert after["token_fingerprint"] == st["token_fingerprint"] and after["updatedAt"] == st["updatedAt"]


def test_missing_environment_admin_fails_before_the_rotation_and_the_fixed_rerun_rotates_once(
        testbed, run_playbook, p1_settings, p1):
    """The store is read before anything changes: a worker app without Environment Admin is named
    and the host stays unrotated (its old token, which PingOne holds, keeps working)."""
    in_sync(testbed, run_playbook, p1_settings, p1)
    testbed.expire_in(HOST, 3)
    old = testbed.current_token(HOST)
    r = run(run_playbook, p1_settings, alation_scim_pingone_client_id=p1_settings["weak_client_id"],
            alation_scim_pingone_client_secret=p1_settings["weak_client_secret"])
    assert r.rc != 0
    assert testbed.rotations(HOST) == 0 and fp(testbed.current_token(HOST)) == fp(old)
    assert "Nothing was rotated" in r.stdout and "Environment Admin" in r.stdout
    assert p1.store(p1_settings["stores"][HOST])["token_fingerprint"] == fp(old)
    r = run(run_playbook, p1_settings)
    assert r.rc == 0, "re-run failed: %r" % r
    assert testbed.rotations(HOST) == 1, "the fixed re-run rotates once"
    assert p1.store(p1_settings["stores"][HOST])["applied_token_fingerprint"] == fp(testbed.current_token(HOST))


def test_unknown_store_is_named(testbed, run_playbook, p1_settings, p1):
    testbed.reset(HOST)
    r = run(run_playbook, p1_settings, alation_scim_force_push=True,
            alation_scim_pingone_store_id="00000000-0000-4000-8000-00000000dead")
    assert r.rc != 0 and "00000000-0000-4000-8000-00000000dead" in r.stdout and "store_id" in r.stdout


def test_wrong_client_secret(testbed, run_playbook, p1_settings, p1):
    testbed.reset(HOST)
    r = run(run_playbook, p1_settings, alation_scim_force_push=True, alation_scim_pingone_client_secret="wrong-secret-x")
    assert r.rc != 0 and "invalid_client" in r.stdout


def test_throttling_is_ridden_out(testbed, run_playbook, p1_settings, p1):
    testbed.reset(HOST)
    p1.fault("throttle", count=2, retry_after=1)
    r = run(run_playbook, p1_settings, alation_scim_force_push=True)
    assert r.rc == 0, "throttled push failed: %r" % r
    assert p1.store(p1_settings["stores"][HOST])["token_fingerprint"] == fp(testbed.current_token(HOST))


MODULE_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Push a token to the store
      alation.scim.pingone_scim_store:
        environment_id: "{{ env }}"
        client_id: "{{ cid }}"
        client_secret: "{{ secret }}"
        api_url: "{{ url }}"
        auth_url: "{{ url }}"
        ca_path: "{{ ca }}"
        store_id: "{{ store }}"
        token: "{{ new_token }}"
      register: pushed
    - name: Show what it returned (secrets masked by the module)
      ansible.builtin.debug:
        var: pushed
"""


def module_run(run_playbook, s, token, check=False, leak_scanner=None):
    return run_playbook(MODULE_PLAY, check=check, leak_scanner=leak_scanner, extra_vars={
        "env": s["environment_id"], "cid": s["client_id"], "secret": s["client_secret"], "url": s["url"],
        "ca": s["ca_path"], "store": s["stores"][HOST], "new_token": token})


def test_module_check_mode_reads_only_and_output_is_masked(testbed, run_playbook, p1_settings, p1, leak_scanner):
    store_id = p1_settings["stores"][HOST]
    before = p1.store(store_id)
    token = "pingone-module-test-" + testbed_lib.new_token_value()
    leak_scanner.add(token)
    leak_scanner.add(p1_settings["client_secret"])
    r = module_run(run_playbook, p1_settings, token, check=True, leak_scanner=leak_scanner)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 1, "check mode run: %r" % r
    after = p1.store(store_id)
    assert after["token_fingerprint"] == before["token_fingerprint"] and after["updatedAt"] == before["updatedAt"]
    assert not [q for q in p1.state()["requests"] if q["method"] != "GET" and "/v1/" in q["path"]]
    r = module_run(run_playbook, p1_settings, token, leak_scanner=leak_scanner)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 1
    assert p1.store(store_id)["applied_token_fingerprint"] == fp(token)
    assert '"OAUTH_ACCESS_TOKEN": "********"' in r.stdout  # the store is returned, its secrets masked
    r = module_run(run_playbook, p1_settings, token, leak_scanner=leak_scanner)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 0, "same token twice must not change the store"
    leak_scanner.assert_clean()
