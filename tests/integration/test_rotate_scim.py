"""End to end: playbooks/rotate_scim.yml (role alation.scim.token_rotation) over real SSH + sudo
against the test bed's Alation hosts and the Entra ID simulator, HTTPS verified with the test CA.

Tokens are compared and scanned, never printed: assertion messages carry fingerprints at most.
"""

import json
import os
import re
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from entra_sim.client import EntraSim  # noqa: E402
from testbed_fixtures import fp, fresh_simulator, sp_of  # noqa: E402

PLAYBOOK = os.path.join(REPO, "playbooks", "rotate_scim.yml")
# The collection form, as users run it: resolves alation.scim.rotate_scim through the collection path.
FQCN_PLAYBOOK = "- ansible.builtin.import_playbook: alation.scim.rotate_scim\n"
MARKER = "/var/lib/alation_scim/it-{{ inventory_hostname }}/pending_push.json"

WRITE_SUFFIXES = ("/pause", "/start", "/restart")


# ---------------------------------------------------------------- helpers
@pytest.fixture
def sim(testbed):
    if not testbed.entra:
        pytest.fail("the test bed has no Entra simulator (run `tests/testbed/testbed up` with Entra)")
    client = fresh_simulator(EntraSim(testbed.entra["url"], testbed.ca_path))
    yield client
    client.fault("none")


def host_state(testbed, hosts):
    return {h: (testbed.rotations(h), fp(testbed.current_token(h))) for h in hosts}


def sim_snapshot(sim):
    """What the simulator holds: secrets (as fingerprints) and job states, per service principal."""
    out = {}
    for sp, data in sim.state()["service_principals"].items():
        out[sp] = (
            {k: fp(v) for k, v in sorted(data["secrets"].items())},
            [(j["id"], j["status"]["code"], j["schedule"]["state"]) for j in data["jobs"]],
        )
    return out


def sim_writes(sim, since):
    return [(r["method"], r["path"]) for r in sim.requests(since)
            if r["method"] in ("PUT", "PATCH", "DELETE")
            or (r["method"] == "POST" and r["path"].endswith(WRITE_SUFFIXES))]


def rotate(run_playbook, idp="entra", limit=None, check=False, verbosity=0, leak_scanner=None,
           playbook=PLAYBOOK, **extra):
    extra_vars = {"alation_scim_hosts": "alation", "alation_scim_idp": idp,
                  "alation_scim_verify_delay": 1, "alation_scim_pending_marker": MARKER}
    extra_vars.update(extra)
    result = run_playbook(playbook, limit=limit, extra_vars=extra_vars, check=check,
                          verbosity=verbosity, leak_scanner=leak_scanner)
    dump(result, "%s-%03d" % (os.environ.get("PYTEST_CURRENT_TEST", "run").split("::")[-1].split(" ")[0],
                              run_playbook.counter))
    return result


def dump(result, name):
    """Keep a run's output for a person to read after a failure (it is checked to hold no token)."""
    path = os.path.join(os.environ.get("ALATION_SCIM_IT_OUT", "/tmp/alation-scim-it-out"), name + ".txt")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(result.stdout + "\n--- stderr\n" + result.stderr)


def says(text, *phrases):
    """Assert that text holds each phrase; on failure name the phrase, never echo the text."""
    for phrase in phrases:
        ok = phrase in text
        assert ok, "the output does not say: %s" % phrase


def output(result):
    return result.stdout + result.stderr


def summary_row(result, host):
    """The summary table's row of a host: host old new rotated pushed verified action status."""
    rows = re.findall(r'"(%s\s+\S+\s+\S+\s+(?:yes|no|-)\s+(?:yes|no|-)\s+(?:yes|no|-)\s+\S+\s+\S+)"' % re.escape(host),
                      result.stdout)
    assert rows, "no summary row for %s" % host
    return rows[-1].split()


def in_sync(run_playbook, testbed, sim, hosts):
    """Fresh tokens on `hosts` and Entra holding each one: the state a fleet is in between rotations."""
    for h in hosts:
        testbed.reset(h)
    r = rotate(run_playbook, limit=hosts)
    assert r.rc == 0, "baseline run failed: %r" % r
    for h in hosts:
        assert fp(sim.stored_token(sp_of(testbed, h))) == fp(testbed.current_token(h)), "baseline push missing for %s" % h
        assert testbed.rotations(h) == 0
    return r


def assert_pushed_and_working(testbed, sim, host, old_token):
    new = testbed.current_token(host)
    assert new is not None and fp(new) != fp(old_token), "%s was not rotated" % host
    sp = sp_of(testbed, host)
    assert fp(sim.stored_token(sp)) == fp(new), "Entra does not hold the new token of %s" % host
    assert testbed.scim_get(host, new) == 200
    assert testbed.scim_get(host, old_token) == 401, "old token of %s still accepted" % host
    cycle = sim.cycle(sp)
    assert cycle.get("ok"), "provisioning cycle of %s failed: %s" % (host, cycle.get("error"))


# ---------------------------------------------------------------- tests
def test_rotates_due_hosts_pushes_verifies_and_leaks_nothing(testbed, sim, run_playbook, leak_scanner):
    hosts = testbed.hosts
    in_sync(run_playbook, testbed, sim, hosts)
    due, fresh = hosts[:2], hosts[2:]
    testbed.expire_in(due[0], 5)
    testbed.expire_in(due[1], -2)  # already expired: provisioning is down until the push
    old = {h: testbed.current_token(h) for h in hosts}
    before = host_state(testbed, hosts)
    for token in old.values():
        leak_scanner.add(token)
    leak_scanner.add(testbed.entra["client_secret"])

    started = time.time()
    r = rotate(run_playbook, verbosity=4, leak_scanner=leak_scanner, playbook=FQCN_PLAYBOOK)
    assert r.rc == 0, "rotation run failed: %r" % r

    for h in due:
        assert testbed.rotations(h) == 1
        assert_pushed_and_working(testbed, sim, h, old[h])
        row = summary_row(r, h)
        assert row[3:7] == ["yes", "yes", "yes", "rotated"], row
        assert row[1] != row[2]
    for h in fresh:
        assert host_state(testbed, [h]) == {h: before[h]}, "%s was not due and must be untouched" % h
        assert r.stats[h]["changed"] == 0
        assert summary_row(r, h)[3:7] == ["no", "no", "yes", "none"]
    # The jobs were paused around the rotation and run again afterwards.
    paths = [p for _m, p in sim_writes(sim, started)]
    for h in due:
        sp = sp_of(testbed, h)
        assert [p.rsplit("/", 1)[-1] for p in paths if sp in p and p.endswith(WRITE_SUFFIXES)][:1] == ["pause"]
        assert sim.job(sp)["status"]["code"] == "Active"
        assert sim.job(sp)["schedule"]["state"] == "Active"

    # The new tokens must not show up anywhere either: stdout/stderr/log at -vvvv, syslog, argv/env.
    for h in due:
        leak_scanner.add(testbed.current_token(h))
    leak_scanner.scan_run(r)
    leak_scanner.scan_process_samples()
    leak_scanner.scan_syslog()
    leak_scanner.scan_host_logs(testbed)
    leak_scanner.assert_clean()

    # A second run changes nothing anywhere.
    state = host_state(testbed, hosts)
    snap = sim_snapshot(sim)
    since = time.time()
    r2 = rotate(run_playbook)
    assert r2.rc == 0, "second run failed: %r" % r2
    assert all(r2.stats[h]["changed"] == 0 for h in hosts), r2.stats
    assert host_state(testbed, hosts) == state
    assert sim_snapshot(sim) == snap
    assert sim_writes(sim, since) == []


def writes_of(sim, sp, since):
    return [p.rsplit("/", 1)[-1] for _m, p in sim_writes(sim, since) if sp in p]


def test_one_launch_per_host_and_the_job_paused_only_where_a_rotation_is_due(testbed, sim, run_playbook):
    """Issue #6: a rotation run launches Django exactly once per host; the expiry record written by
    the previous launch tells which jobs to pause, so a host that is not due sees no Entra write."""
    hosts = testbed.hosts
    in_sync(run_playbook, testbed, sim, hosts)
    due, fresh = hosts[0], hosts[1:]
    testbed.expire_in(due, 3)
    launches = {h: testbed.launches(h) for h in hosts}
    since = time.time()
    r = rotate(run_playbook)
    assert r.rc == 0, "rotation run failed: %r" % r
    assert {h: testbed.launches(h) - launches[h] for h in hosts} == {h: 1 for h in hosts}
    assert writes_of(sim, sp_of(testbed, due), since) == ["pause", "secrets", "start"]
    for h in fresh:
        assert writes_of(sim, sp_of(testbed, h), since) == [], "%s is not due: nothing to pause or push" % h
        assert r.stats[h]["changed"] == 0


def test_a_record_that_is_behind_the_database_still_rotates_in_the_one_launch(testbed, sim, run_playbook):
    """The token's expiry changed behind the collection's back (a restored database): the record says
    not due, so no pause, but token_rotate decides in its launch and rotates; the push follows at once."""
    host = testbed.hosts[0]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 3, move_record=False)
    old = testbed.current_token(host)
    sp = sp_of(testbed, host)
    since = time.time()
    r = rotate(run_playbook, limit=host)
    assert r.rc == 0, "rotation run failed: %r" % r
    assert testbed.rotations(host) == 1
    assert_pushed_and_working(testbed, sim, host, old)
    assert writes_of(sim, sp, since) == ["secrets"], "not paused: the record said not due"
    assert sim.job(sp)["status"]["code"] == "Active"
    record = json.loads(testbed.ssh(host, "sudo cat /var/lib/alation_scim/it-%s/expiry.%s.json" % (host, host)).stdout)
    assert abs(record["expires_epoch"] - testbed.expires_at(host).timestamp()) < 2, "the record follows the rotation"


def test_without_a_record_one_launch_decides_and_the_job_is_left_alone(testbed, sim, run_playbook):
    """First run on a host (or other host options): no record to trust, so the job is left as it is
    (no second, read-only launch, no pause before the host has answered); a due token is rotated and
    pushed in the same second; the next run has the record."""
    host = testbed.hosts[2]
    in_sync(run_playbook, testbed, sim, [host])
    record = "/var/lib/alation_scim/it-%s/expiry.%s.json" % (host, host)
    assert testbed.ssh(host, "sudo rm %s" % record).returncode == 0
    sp = sp_of(testbed, host)
    state = host_state(testbed, [host])
    launches, since = testbed.launches(host), time.time()
    r = rotate(run_playbook, limit=host)
    assert r.rc == 0, "run failed: %r" % r
    assert host_state(testbed, [host]) == state and r.stats[host]["changed"] == 0
    assert writes_of(sim, sp, since) == [] and testbed.launches(host) - launches == 1
    assert sim.job(sp)["status"]["code"] == "Active"
    assert testbed.ssh(host, "sudo test -s %s" % record).returncode == 0, "the launch wrote the record"
    launches, since = testbed.launches(host), time.time()
    r2 = rotate(run_playbook, limit=host)
    assert r2.rc == 0 and r2.stats[host]["changed"] == 0
    assert writes_of(sim, sp, since) == [] and testbed.launches(host) - launches == 1
    # Due without a record: rotated in the one launch and pushed right after it, without a pause.
    testbed.ssh(host, "sudo rm %s" % record)
    testbed.expire_in(host, 4)
    old = testbed.current_token(host)
    launches, since = testbed.launches(host), time.time()
    r3 = rotate(run_playbook, limit=host)
    assert r3.rc == 0, "run failed: %r" % r3
    assert writes_of(sim, sp, since) == ["secrets"] and testbed.launches(host) - launches == 1
    assert_pushed_and_working(testbed, sim, host, old)


def test_a_host_that_broke_after_a_good_launch_only_pauses_and_resumes_the_job(testbed, sim, run_playbook):
    """The record (from a launch that worked) says due, so the job is paused before the one launch;
    the launch fails without changing anything, and the job runs again: the cost of launching once."""
    host = testbed.hosts[1]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 4)
    sp = sp_of(testbed, host)
    state, snap, since = host_state(testbed, [host]), sim_snapshot(sim), time.time()
    testbed.knob(host, functions_missing=True)
    try:
        r = rotate(run_playbook, limit=host)
    finally:
        testbed.knob(host, functions_missing=None)
    assert r.rc != 0
    says(output(r), "Nothing was rotated on %s" % host, "older than 2021.4")
    assert host_state(testbed, [host]) == state and sim_snapshot(sim) == snap
    assert writes_of(sim, sp, since) == ["pause", "start"]
    assert sim.job(sp)["status"]["code"] == "Active"


def test_check_mode_changes_nothing(testbed, sim, run_playbook):
    hosts = testbed.hosts
    in_sync(run_playbook, testbed, sim, hosts)
    testbed.expire_in(hosts[0], 3)
    testbed.clear_token(hosts[1])
    state = host_state(testbed, hosts)
    snap = sim_snapshot(sim)
    since = time.time()
    r = rotate(run_playbook, check=True)
    assert r.rc == 0, "check-mode run failed: %r" % r
    assert host_state(testbed, hosts) == state
    assert sim_snapshot(sim) == snap
    assert sim_writes(sim, since) == []
    assert summary_row(r, hosts[0])[6] == "would_rotate"
    assert summary_row(r, hosts[1])[6] == "would_rotate"
    assert summary_row(r, hosts[2])[6] == "none"
    for h in hosts:
        assert testbed.ssh(h, "sudo test -e /var/lib/alation_scim/it-%s/pending_push.json" % h).returncode == 1


def test_idp_down_after_rotation_then_rerun_finishes_with_one_rotation(testbed, sim, run_playbook, leak_scanner):
    host = testbed.hosts[0]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 4)
    old = testbed.current_token(host)
    leak_scanner.add(old)
    # Before the rotation the run gets a Graph token and reads the job (2 requests; no pause here):
    # Entra goes down right after, so the push meets it down.
    sim.fault("down", skip=2)
    r = rotate(run_playbook, limit=host, alation_scim_entra_pause_job=False, alation_scim_entra_retry_budget=5)
    assert r.rc != 0
    assert r.stats[host]["failed"] == 1
    assert testbed.rotations(host) == 1
    new = testbed.current_token(host)
    assert new is not None and fp(new) != fp(old)
    text = output(r)
    expires = testbed.expires_at(host).strftime("%Y-%m-%dT%H:%M")
    says(text, "WAS ROTATED at", expires, "Push the SCIM token to Microsoft Entra ID",
         "re-run the same playbook with the same inventory and variables", "--limit %s" % host,
         "will not rotate again")
    leak_scanner.add(new)
    leak_scanner.scan_text("stdout", r.stdout)
    leak_scanner.assert_clean()

    sim.fault("none")
    r2 = rotate(run_playbook, limit=host)
    assert r2.rc == 0, "re-run failed: %r" % r2
    assert testbed.rotations(host) == 1, "the re-run rotated again"
    assert fp(testbed.current_token(host)) == fp(new)
    assert_pushed_and_working(testbed, sim, host, old)
    assert summary_row(r2, host)[3:7] == ["no", "yes", "yes", "push_completed"]

    r3 = rotate(run_playbook, limit=host)
    assert r3.rc == 0 and r3.stats[host]["changed"] == 0
    assert testbed.rotations(host) == 1


def test_paused_job_is_started_again_by_the_rerun(testbed, sim, run_playbook):
    """A push that does not work after the rotation (wrong SCIM URL: the verification fails): the job
    stays paused, so no cycle runs against a broken token; the re-run with the fixed setting pushes,
    verifies and starts the job."""
    host = testbed.hosts[1]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 4)
    old = testbed.current_token(host)
    sp = sp_of(testbed, host)
    wrong = testbed.scim_base_url(host).replace("/scim/v2/", "/not-scim/v2/")
    r = rotate(run_playbook, limit=host, alation_scim_scim_url=wrong)
    assert r.rc != 0
    assert testbed.rotations(host) == 1
    text = output(r)
    says(text, "WAS ROTATED at", "expected HTTP 200")
    assert sim.job(sp)["status"]["code"] == "Paused", "the job must stay paused while Entra holds a revoked token"

    r2 = rotate(run_playbook, limit=host)
    assert r2.rc == 0, "re-run failed: %r" % r2
    assert testbed.rotations(host) == 1, "the re-run rotated again"
    assert sim.job(sp)["schedule"]["state"] == "Active"
    assert_pushed_and_working(testbed, sim, host, old)


def test_throttling_and_replication_delay_are_ridden_out(testbed, sim, run_playbook):
    host = testbed.hosts[2]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 2)
    old = testbed.current_token(host)
    sim.fault("throttle", count=3, retry_after=1)
    r = rotate(run_playbook, limit=host)
    assert r.rc == 0, "run under throttling failed: %r" % r
    assert any(x["status"] == 429 for x in sim.requests(0)), "the simulator did not throttle"
    assert testbed.rotations(host) == 1
    assert_pushed_and_working(testbed, sim, host, old)

    testbed.expire_in(host, 2)
    old = testbed.current_token(host)
    sim.fault("replication_delay", count=3, status=409)
    r = rotate(run_playbook, limit=host)
    assert r.rc == 0, "run under replication delay failed: %r" % r
    assert testbed.rotations(host) == 2
    assert_pushed_and_working(testbed, sim, host, old)


@pytest.mark.parametrize("case", ["bad_secret", "unknown_sp", "wrong_permissions"])
def test_bad_entra_settings_give_clear_messages(testbed, sim, run_playbook, case, leak_scanner):
    host = testbed.hosts[0]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 4)
    leak_scanner.add(testbed.current_token(host))
    extra = {"alation_scim_entra_retry_budget": 5}
    if case == "bad_secret":
        extra["alation_scim_entra_client_secret"] = "not-the-secret-0123456789"
        expected = [testbed.entra["client_id"]]
    elif case == "unknown_sp":
        extra["alation_scim_entra_service_principal_id"] = "00000000-0000-4000-8000-00000000dead"
        expected = ["00000000-0000-4000-8000-00000000dead"]
    else:
        sim.fault("wrong_permissions")
        expected = ["Synchronization.ReadWrite.All"]
    r = rotate(run_playbook, limit=host, **extra)
    text = output(r)
    assert r.rc != 0
    says(text, *expected)
    # The pause step fails first, so nothing was rotated and the message says so.
    says(text, "Nothing was rotated on %s" % host)
    assert testbed.rotations(host) == 0
    leak_scanner.scan_text("stdout", r.stdout)
    leak_scanner.assert_clean()


def test_driver_none_rotates_and_verifies_without_an_idp(testbed, sim, run_playbook):
    host = testbed.hosts[1]
    testbed.reset(host)
    testbed.expire_in(host, 1)
    old = testbed.current_token(host)
    since = time.time()
    r = rotate(run_playbook, idp="none", limit=host)
    assert r.rc == 0, "run failed: %r" % r
    assert testbed.rotations(host) == 1
    new = testbed.current_token(host)
    assert fp(new) != fp(old)
    assert testbed.scim_get(host, new) == 200 and testbed.scim_get(host, old) == 401
    assert summary_row(r, host)[3:7] == ["yes", "no", "yes", "rotated"]
    says(r.stdout, "put the new token into the IdP by hand")
    assert sim.requests(since) == [], "driver none must not talk to Entra"
    r2 = rotate(run_playbook, idp="none", limit=host)
    assert r2.rc == 0 and r2.stats[host]["changed"] == 0
    assert testbed.rotations(host) == 1


CUSTOM_TASKS = """---
- name: Refuse when the test says the target is down
  ansible.builtin.stat:
    path: "{flag}"
  delegate_to: localhost
  register: target_down

- name: Target down
  ansible.builtin.fail:
    msg: the custom target is unreachable
  when: target_down.stat.exists

- name: Store a fingerprint of the token (the test compares it; the token itself goes nowhere)
  ansible.builtin.copy:
    content: "{{{{ alation_scim_token | hash('sha256') }}}} {{{{ alation_scim_push_reason }}}} {{{{ alation_scim_scim_url }}}}"
    dest: "{out}"
    mode: "0600"
  delegate_to: localhost
"""


def test_driver_custom_with_pending_marker(testbed, run_playbook, tmp_path, leak_scanner):
    import hashlib
    host = testbed.hosts[2]
    testbed.reset(host)
    testbed.expire_in(host, 6)
    old = testbed.current_token(host)
    leak_scanner.add(old)
    flag, out = tmp_path / "down", tmp_path / "pushed.txt"
    tasks = tmp_path / "custom.yml"
    tasks.write_text(CUSTOM_TASKS.format(flag=flag, out=out))
    flag.write_text("")
    record = "/var/lib/alation_scim/it-%s/expiry.%s.json" % (host, host)

    r = rotate(run_playbook, idp="custom", limit=host, alation_scim_custom_tasks=str(tasks))
    assert r.rc != 0
    assert testbed.rotations(host) == 1
    new = testbed.current_token(host)
    leak_scanner.add(new)
    text = output(r)
    says(text, "WAS ROTATED at", "the custom target is unreachable", "re-run the same playbook")
    meta = testbed.ssh(host, "sudo stat -c '%%a %%U' %s && sudo cat %s" % (record, record))
    assert meta.returncode == 0, "no expiry record on the host"
    perms, body = meta.stdout.split("\n", 1)
    assert perms.strip() == "600 root"
    push = json.loads(body)["push"]
    assert push["pending"] is True, "the record must say that a push is owed"
    assert abs(push["rotated_epoch"] - time.time()) < 600
    assert abs(json.loads(body)["expires_epoch"] - testbed.expires_at(host).timestamp()) < 2
    clean = new not in body and old not in body
    assert clean, "the record must not hold a token"
    assert not out.exists()

    flag.unlink()
    r2 = rotate(run_playbook, idp="custom", limit=host, alation_scim_custom_tasks=str(tasks))
    assert r2.rc == 0, "re-run failed: %r" % r2
    assert testbed.rotations(host) == 1, "the re-run rotated again"
    digest, reason, url = out.read_text().split()
    assert digest == hashlib.sha256(new.encode()).hexdigest(), "the custom tasks got another token"
    assert reason == "pending"
    assert url == testbed.scim_base_url(host)
    body = testbed.ssh(host, "sudo cat %s" % record).stdout
    push = json.loads(body)["push"]
    assert push["pending"] is False and push["driver"] == "custom" and len(push["fingerprint"]) == 32
    assert new not in body and old not in body
    assert summary_row(r2, host)[3:7] == ["no", "yes", "yes", "push_completed"]

    out.unlink()
    r3 = rotate(run_playbook, idp="custom", limit=host, alation_scim_custom_tasks=str(tasks))
    assert r3.rc == 0 and r3.stats[host]["changed"] == 0
    assert not out.exists(), "nothing pending: the custom tasks must not run"
    for res in (r, r2, r3):
        leak_scanner.scan_text("stdout", res.stdout)
        leak_scanner.scan_text("log", res.log)
    leak_scanner.assert_clean()


USER_PLAY = """
- hosts: alation
  gather_facts: false
  tasks:
    - name: Rotate with the role
      ansible.builtin.import_role:
        name: alation.scim.token_rotation
    - name: A task of the user's own after the role
      ansible.builtin.debug:
        msg: "after the role on {{ inventory_hostname }}"
"""


def task_section(stdout, task):
    """What a run printed under every banner of `task` (Ansible prints a meta task's once per host)."""
    parts = re.split(r"^(?=TASK \[|PLAY RECAP)", stdout, flags=re.M)
    return "".join(p for p in parts if p.startswith("TASK [") and task in p.split("\n", 1)[0])


def test_hosts_done_after_their_cycle_end_there_only_where_nothing_follows_the_role(testbed, sim, run_playbook):
    """rotate_scim.yml runs the entry point main_alone: a host that needs no follow-up ends its play right
    after its cycle (no worker for the include it would skip), the play's first host stays for the summary
    of all, and a failed host still fails with the way to finish. The entry point main (a play of the
    user's own, with a task after the role) ends no host."""
    first, done, broken = testbed.hosts
    in_sync(run_playbook, testbed, sim, testbed.hosts)
    for h in testbed.hosts:
        testbed.expire_in(h, 5)
    old = dict((h, testbed.current_token(h)) for h in testbed.hosts)
    testbed.knob(broken, functions_missing=True)
    try:
        r = rotate(run_playbook)
    finally:
        testbed.knob(broken, functions_missing=None)
    assert r.rc != 0 and r.stats[broken]["failed"] == 1, r.stats
    assert r.stats[first]["failed"] == 0 and r.stats[done]["failed"] == 0, r.stats
    for h in (first, done):
        assert_pushed_and_working(testbed, sim, h, old[h])
    assert testbed.rotations(broken) == 0 and fp(testbed.current_token(broken)) == fp(old[broken])
    ended = task_section(r.stdout, "End the play for the hosts that need nothing more")
    followups = task_section(r.stdout, "Finish the hosts that need more than the cycle")
    assert ended.count("TASK [") == 3, "one banner per host"
    assert "skipping: [%s]" % first in ended and "skipping: [%s]" % broken in ended and "[%s]" % done not in ended
    assert "skipping: [%s]" % first in followups and "followup.yml for %s" % broken in followups
    assert done not in followups
    says(task_section(r.stdout, "Fail this host with the way to finish"), "[%s]" % broken, "Nothing was rotated on %s" % broken)
    assert [summary_row(r, h)[3:7] for h in (first, done)] == [["yes", "yes", "yes", "rotated"]] * 2
    assert summary_row(r, broken)[-1] == "failed"

    r = rotate(run_playbook, playbook=USER_PLAY)
    assert r.rc == 0, "run of the user's play failed: %r" % r
    after = task_section(r.stdout, "A task of the user's own after the role")
    assert all('"after the role on %s"' % h in after for h in testbed.hosts), "the user's task did not run on every host"
    assert "End the play for the hosts that need nothing more" not in r.stdout
    assert all(summary_row(r, h)[-1] == "ok" for h in testbed.hosts)


CHECK_PLAYBOOK = """
- hosts: alation
  gather_facts: false
  tasks:
    - name: Check the SCIM token expiry
      ansible.builtin.include_role:
        name: alation.scim.token_rotation
        tasks_from: check
"""


@pytest.mark.parametrize("check_mode", [False, True])
def test_check_entry_point_warns_fails_and_changes_nothing(testbed, run_playbook, check_mode):
    warn, crit, fresh = testbed.hosts
    for h in testbed.hosts:
        testbed.reset(h)
    testbed.expire_in(warn, 20)
    testbed.expire_in(crit, 3)
    state = host_state(testbed, testbed.hosts)
    r = run_playbook(CHECK_PLAYBOOK, check=check_mode)
    dump(r, "check-entry-%s" % check_mode)
    assert r.rc != 0, "a critical host must fail the run"
    assert all(r.stats[h]["changed"] == 0 for h in testbed.hosts), r.stats
    assert r.stats[crit]["failed"] == 1
    assert r.stats[warn]["failed"] == 0 and r.stats[fresh]["failed"] == 0
    says(output(r), "[WARNING]: The Alation SCIM token on %s expires" % warn,
         "CRITICAL: On %s the SCIM token expires" % crit)
    assert host_state(testbed, testbed.hosts) == state
    assert all(testbed.launches(h) == 1 for h in testbed.hosts), "one Django shell launch per host"


def test_entra_secret_from_the_environment(testbed, sim, run_playbook, leak_scanner):
    """The example inventory's pattern: no secret in the inventory, AZURE_* on the controller."""
    host = testbed.hosts[0]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 3)
    old = testbed.current_token(host)
    secret = testbed.entra["client_secret"]
    leak_scanner.add(secret)  # secret #0
    leak_scanner.add(old)
    extra = {"alation_scim_hosts": "alation", "alation_scim_idp": "entra", "alation_scim_verify_delay": 1,
             "alation_scim_entra_client_secret": "{{ lookup('ansible.builtin.env', 'AZURE_CLIENT_SECRET') }}"}
    r = run_playbook(PLAYBOOK, limit=host, extra_vars=extra, env={"AZURE_CLIENT_SECRET": secret},
                     leak_scanner=leak_scanner)
    dump(r, "env-secret")
    assert r.rc == 0, "run with the secret from AZURE_CLIENT_SECRET failed: %r" % r
    assert_pushed_and_working(testbed, sim, host, old)
    leak_scanner.add(testbed.current_token(host))
    leak_scanner.scan_process_samples()
    # The controller's own environment carries the secret here by design; argv never may.
    leak_scanner.findings = [f for f in leak_scanner.findings
                             if not (f.startswith("process environ") and ": secret #0 " in f)]
    leak_scanner.assert_clean()


def test_the_mitogen_strategy_keeps_its_own_module_execution(testbed, sim, run_playbook, leak_scanner):
    """Mitogen replaces Ansible's module execution (and refuses _is_pipelining_enabled): the cycle runs
    its host module Mitogen's way instead of sending its code on stdin, and checks, rotates, pushes and
    verifies as over ssh, with one Django launch per run and no leak."""
    import ansible_mitogen
    strategies = os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")
    env = {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_STRATEGY_PLUGINS": strategies}
    host = testbed.hosts[0]
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 3)
    old = testbed.current_token(host)
    leak_scanner.add(old)
    launches = testbed.launches(host)
    check = run_playbook(CHECK_PLAYBOOK, limit=host, env=env, leak_scanner=leak_scanner, verbosity=3)
    assert check.rc == 2 and "CRITICAL: On %s the SCIM token expires" % host in output(check), check
    # Mitogen ran it: a strategy from outside ansible.builtin, and Mitogen's connection instead of the ssh
    # plugin (which says ESTABLISH SSH CONNECTION at -vvv).
    assert "strategy plugins not included in ansible.builtin" in output(check)
    assert "ESTABLISH SSH CONNECTION" not in output(check), "the run did not use Mitogen's connection"
    assert testbed.launches(host) == launches + 1 and testbed.current_token(host) == old
    r = run_playbook(PLAYBOOK, limit=host, env=env, leak_scanner=leak_scanner,
                     extra_vars={"alation_scim_hosts": "alation", "alation_scim_idp": "entra",
                                 "alation_scim_verify_delay": 1, "alation_scim_pending_marker": MARKER})
    dump(r, "mitogen-rotation")
    assert r.rc == 0, "rotation with Mitogen failed: %r" % r
    assert testbed.launches(host) == launches + 2 and testbed.rotations(host) == 1
    assert_pushed_and_working(testbed, sim, host, old)
    assert summary_row(r, host)[3:7] == ["yes", "yes", "yes", "rotated"]
    leak_scanner.add(testbed.current_token(host))
    for result in (check, r):
        leak_scanner.scan_run(result)
    leak_scanner.assert_clean()
