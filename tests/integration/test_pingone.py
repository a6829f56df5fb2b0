"""PingOne driver end to end: rotate_scim.yml over real SSH + sudo against the test bed, the token
pushed into the PingOne simulator's SCIM propagation store (127.0.40.1:8443, test CA) with a PUT
of the whole store and a revision, and the simulator's propagation run proving that PingOne now
provisions to the Alation host with it.

Whether PingOne reads secrets back in clear is not confirmed, so the cycle's core paths run in each
read-back the simulator plays (`clear`, `masked`, `omitted`): without a clear read-back the cycle
decides "PingOne holds the current token" from the keyed fingerprint it keeps in the host's expiry
record (key `push`), and a PUT never writes a mask back into another secret field.

Tokens are compared and scanned, never printed: assertion messages carry fingerprints at most.
"""

import hashlib
import hmac
import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

import testbed_lib  # noqa: E402
from pingone_sim import launch as pingone_launch  # noqa: E402
from pingone_sim.client import PingOneSim  # noqa: E402
from testbed_fixtures import fp, fresh_simulator, launch_simulator  # noqa: E402
from test_rotate_scim import dump, output, says, summary_row  # noqa: E402

PLAYBOOK = os.path.join(REPO, "playbooks", "rotate_scim.yml")
MARKER = "/var/lib/alation_scim/it-{{ inventory_hostname }}/pending_push.json"
HOST = "alation2"
# The cycle's record of the host (the role's default: next to the pending marker); the test bed's
# hosts share the machine's /var/lib.
RECORD = "/var/lib/alation_scim/it-%s/expiry.%s.json" % (HOST, HOST)
READ_BACKS = ("clear", "masked", "omitted")
OTHER_SECRETS = ("BASIC_AUTH_PASSWORD", "OAUTH_CLIENT_SECRET")


@pytest.fixture(scope="module")
def p1_settings(testbed):
    return launch_simulator(pingone_launch, testbed)


@pytest.fixture
def p1(p1_settings):
    client = fresh_simulator(PingOneSim(p1_settings["url"], p1_settings["ca_path"]))
    yield client
    client.reset()  # knobs back to the config file's (secrets in clear, PUT replaces the store)


@pytest.fixture(params=READ_BACKS)
def read_back(request, p1):
    """How PingOne shows secret configuration fields in this test: in clear, masked, or not at all."""
    p1.config(read_back=request.param)
    return request.param


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
    result = run_playbook(PLAYBOOK, limit=HOST, extra_vars=extra_vars, check=check, verbosity=verbosity,
                          leak_scanner=leak_scanner, env={})
    dump(result, "%s-%03d" % (os.environ.get("PYTEST_CURRENT_TEST", "run").split("::")[-1].split(" ")[0],
                              run_playbook.counter))
    return result


def in_sync(testbed, run_playbook, p1_settings, p1):
    """Fresh token on the host and PingOne holding it (what a fleet looks like between rotations)."""
    testbed.reset(HOST)
    r = run(run_playbook, p1_settings, alation_scim_force_push=True)
    assert r.rc == 0, "baseline run failed: %r" % r
    st = p1.store(p1_settings["stores"][HOST])
    assert st["token_fingerprint"] == fp(testbed.current_token(HOST))
    return st


def writes(p1):
    return [(q["method"], q["path"].rsplit("/", 1)[-1]) for q in p1.state()["requests"]
            if q["method"] in ("PUT", "POST") and "/v1/" in q["path"]]


def record_text():
    with open(RECORD) as f:
        return f.read()


def recorded_push():
    return json.loads(record_text()).get("push") or {}


def assert_recorded(token, s):
    """The host's record says the cycle last pushed `token` to this store (HMAC keyed with the
    record's salt, computed here independently of the collection's code)."""
    push = recorded_push()
    assert push.get("driver") == "pingone" and push.get("target") == "%s/%s" % (s["environment_id"], s["stores"][HOST])
    assert push.get("pending") is False, "the record still owes a push"
    mac = hmac.new(push["salt"].encode("ascii"), token.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    assert push.get("fingerprint") == mac, "the record's fingerprint is not that of the host's current token"


def forget_push():
    """The record without its push state (as after a first run, or a record from before the cycle)."""
    record = json.loads(record_text())
    record.pop("push", None)
    with os.fdopen(os.open(RECORD + ".test", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(record, f)
    os.replace(RECORD + ".test", RECORD)


def test_rotation_pushes_in_every_read_back(testbed, run_playbook, p1_settings, p1, read_back, leak_scanner):
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
    assert summary_row(r, HOST)[3:7] == ["yes", "yes", "yes", "rotated"]
    store_id = p1_settings["stores"][HOST]
    st = p1.store(store_id)
    assert st["token_fingerprint"] == fp(new), "PingOne does not hold the new token"
    assert st["applied_token_fingerprint"] == fp(new), "the change was not applied with a revision"
    assert len(p1.state()["revisions"]) == revisions + 1
    assert st["masks_received"] == [] and st["overwritten_by_mask"] == []
    # every other field kept as read
    assert st["configuration_keys"] == before["configuration_keys"]
    assert (st["scim_url"], st["authentication_method"], st["other"]["name"]) == \
        (before["scim_url"], before["authentication_method"], before["other"]["name"])
    assert_recorded(new, p1_settings)
    # the resync after the revision provisions to the Alation host with the new token
    runs = [x for x in p1.wait_runs(1) if x["token_fingerprint"] == fp(new)]
    assert runs and runs[-1]["result"] == "SUCCESS", "no successful propagation with the new token"
    assert testbed.scim_get(HOST, old) == 401
    leak_scanner.scan_syslog()
    leak_scanner.scan_host_logs(testbed)
    leak_scanner.scan_files(["/var/lib/alation_scim", os.path.join(pingone_launch.STATE_DIR, "server.log")])
    leak_scanner.assert_clean()


def test_rotation_reaches_provisioning_when_resyncs_coalesce(testbed, run_playbook, p1_settings, p1):
    """Whether PingOne runs a resync per revision or folds the revisions made during a running resync
    into one more is not known; the other tests run the first (the simulator's default), this one the
    second: the baseline's resync is still running when the rotation's revision comes."""
    p1.config(resync="coalesced")
    in_sync(testbed, run_playbook, p1_settings, p1)
    testbed.expire_in(HOST, 3)
    old = testbed.current_token(HOST)
    r = run(run_playbook, p1_settings)
    assert r.rc == 0, "rotation + push failed: %r" % r
    new = testbed.current_token(HOST)
    assert testbed.rotations(HOST) == 1 and fp(new) != fp(old)
    assert summary_row(r, HOST)[3:7] == ["yes", "yes", "yes", "rotated"]
    st = p1.store(p1_settings["stores"][HOST])
    assert st["token_fingerprint"] == st["applied_token_fingerprint"] == fp(new)
    assert p1.wait_idle(timeout=60), "the resyncs did not end"
    runs = [x for x in p1.state()["runs"] if x["store"] == p1_settings["stores"][HOST]]
    assert runs[-1]["token_fingerprint"] == fp(new) and runs[-1]["result"] == "SUCCESS", \
        "the last resync did not provision with the new token"
    assert_recorded(new, p1_settings)


def test_second_run_changes_nothing_and_the_fingerprint_is_what_decides(
        testbed, run_playbook, p1_settings, p1, read_back):
    in_sync(testbed, run_playbook, p1_settings, p1)
    assert_recorded(testbed.current_token(HOST), p1_settings)
    done = writes(p1)
    r = run(run_playbook, p1_settings)
    assert r.rc == 0, "second run failed: %r" % r
    assert r.stats[HOST]["changed"] == 0, "second run changed something: %r" % r.stats
    assert writes(p1) == done, "the second run wrote to PingOne"
    # Without the fingerprint, only a clear read-back can tell that PingOne holds the token; a
    # masked or missing one pushes the current token once (and records it), then rests again.
    forget_push()
    r = run(run_playbook, p1_settings)
    assert r.rc == 0, "run without a recorded push failed: %r" % r
    if read_back == "clear":
        assert writes(p1) == done and r.stats[HOST]["changed"] == 0
        assert recorded_push() == {}, "nothing was pushed, so nothing is recorded"
    else:
        assert writes(p1) == done + [("PUT", p1_settings["stores"][HOST]), ("POST", "revisions")]
        assert summary_row(r, HOST)[3:7] == ["no", "yes", "yes", "pushed"]
        assert_recorded(testbed.current_token(HOST), p1_settings)
    assert testbed.rotations(HOST) == 0
    done = writes(p1)
    r = run(run_playbook, p1_settings)
    assert r.rc == 0 and r.stats[HOST]["changed"] == 0 and writes(p1) == done


def test_a_token_changed_on_the_host_out_of_band_is_pushed_again(testbed, run_playbook, p1_settings, p1, read_back):
    """Someone replaced the host's token by hand (not due, nothing rotated by the collection): the
    record's fingerprint, or the clear read-back, no longer matches, so the next run pushes it."""
    in_sync(testbed, run_playbook, p1_settings, p1)
    testbed.seed_token(HOST, days=170)
    new = testbed.current_token(HOST)
    r = run(run_playbook, p1_settings)
    assert r.rc == 0, "run after the out-of-band change failed: %r" % r
    assert testbed.rotations(HOST) == 0 and fp(testbed.current_token(HOST)) == fp(new)
    st = p1.store(p1_settings["stores"][HOST])
    assert st["token_fingerprint"] == st["applied_token_fingerprint"] == fp(new), "PingOne did not get the new token"
    assert summary_row(r, HOST)[3:7] == ["no", "yes", "yes", "pushed"]
    assert_recorded(new, p1_settings)
    done = writes(p1)
    r = run(run_playbook, p1_settings)
    assert r.rc == 0 and r.stats[HOST]["changed"] == 0 and writes(p1) == done


@pytest.mark.parametrize("put_secrets", ["keep", "clear"])
def test_other_secrets_are_never_overwritten_by_their_mask(testbed, run_playbook, p1_settings, p1, read_back,
                                                           put_secrets, leak_scanner):
    """The store also holds secrets of other authentication methods. A rotation's PUT sends them back
    as read when PingOne shows them, and leaves them out when it masks or hides them: never a mask.
    Where PingOne then clears what it did not get (PUT replaces the store), the run names the fields."""
    in_sync(testbed, run_playbook, p1_settings, p1)
    store_id = p1_settings["stores"][HOST]
    others = {"BASIC_AUTH_PASSWORD": "basic-" + testbed_lib.new_token_value(),
              "OAUTH_CLIENT_SECRET": "client-" + testbed_lib.new_token_value()}
    for value in others.values():
        leak_scanner.add(value)
    before = p1.edit_store(store_id, **others)
    p1.config(put_secrets=put_secrets)
    testbed.expire_in(HOST, 3)
    r = run(run_playbook, p1_settings, leak_scanner=leak_scanner, verbosity=2)
    assert r.rc == 0, "rotation + push failed: %r" % r
    new = testbed.current_token(HOST)
    st = p1.store(store_id)
    assert testbed.rotations(HOST) == 1 and st["applied_token_fingerprint"] == fp(new)
    assert st["masks_received"] == [], "a mask was written back into %s" % st["masks_received"]
    assert st["overwritten_by_mask"] == []
    lost = read_back != "clear" and put_secrets == "clear"
    if lost:
        assert st["cleared_by_put"] == list(OTHER_SECRETS) and not set(OTHER_SECRETS) & set(st["secrets"])
    else:
        assert st["cleared_by_put"] == []
        assert {k: st["secrets"].get(k) for k in OTHER_SECRETS} == {k: fp(v) for k, v in others.items()}
        assert {k: before["secrets"][k] for k in OTHER_SECRETS} == {k: fp(v) for k, v in others.items()}
    told = "PingOne cleared BASIC_AUTH_PASSWORD, OAUTH_CLIENT_SECRET of propagation store %s" % store_id
    if lost and read_back == "masked":
        says(output(r), told)  # it saw them (masked) before the PUT and not after
    else:
        # omitted + clear loses them too, but PingOne never showed them: nothing can tell
        assert told not in output(r)
    leak_scanner.scan_text("stdout", r.stdout)
    leak_scanner.scan_text("stderr", r.stderr)
    leak_scanner.assert_clean()


def test_check_mode_changes_nothing(testbed, run_playbook, p1_settings, p1, read_back):
    st = in_sync(testbed, run_playbook, p1_settings, p1)
    testbed.expire_in(HOST, 3)  # moves the record's expiry along
    before, done, record = fp(testbed.current_token(HOST)), writes(p1), record_text()
    r = run(run_playbook, p1_settings, check=True)
    assert r.rc == 0, "check run failed: %r" % r
    assert summary_row(r, HOST)[6] == "would_rotate"
    assert testbed.rotations(HOST) == 0 and fp(testbed.current_token(HOST)) == before
    after = p1.store(p1_settings["stores"][HOST])
    assert after["token_fingerprint"] == st["token_fingerprint"] and after["updatedAt"] == st["updatedAt"]
    assert writes(p1) == done and record_text() == record
    # A token changed by hand: check mode says it would push, and pushes nothing.
    testbed.seed_token(HOST, days=170)
    r = run(run_playbook, p1_settings, check=True)
    assert r.rc == 0, "check run failed: %r" % r
    assert summary_row(r, HOST)[6] == "would_push"
    after = p1.store(p1_settings["stores"][HOST])
    assert after["token_fingerprint"] == st["token_fingerprint"] and after["updatedAt"] == st["updatedAt"]
    assert writes(p1) == done and record_text() == record


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
