"""Entra ID tenants that refuse `GET .../synchronization/secrets` (not in Graph's v1.0 metadata):
playbooks/rotate_scim.yml with alation_scim_idp=entra over real SSH + sudo against the test bed,
the Entra simulator answering that read with 400, 404 or 405 (knob `secrets_read`). The cycle
must then let `validateCredentials` (Entra calling Alation with its saved credentials) decide
whether Entra holds the current token, and never fail because of the refused read.

Tokens are compared, never printed: assertion messages carry fingerprints at most.
"""

import os
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from testbed_fixtures import fp, sp_of  # noqa: E402
from test_rotate_scim import (  # noqa: E402
    assert_pushed_and_working, host_state, in_sync, output, rotate, says, sim_snapshot, sim_writes, summary_row)
# sim is a fixture: pytest finds it by name in this module.
from test_rotate_scim import sim  # noqa: E402,F401  pylint: disable=unused-import


@pytest.fixture(params=[400, 404, 405])
def secrets_read(request, sim):  # noqa: F811
    """The simulator refuses GET .../synchronization/secrets with this status for the whole test."""
    sim.config(secrets_read=request.param)
    yield request.param
    sim.config(secrets_read="masked")


def secrets_reads(sim, sp, since):  # noqa: F811
    """Statuses of the GET .../synchronization/secrets of `sp` since `since`."""
    return [r["status"] for r in sim.requests(since)
            if r["method"] == "GET" and sp in r["path"] and r["path"].endswith("/synchronization/secrets")]


def validations(sim, sp, since):  # noqa: F811
    return [r["status"] for r in sim.requests(since) if sp in r["path"] and r["path"].endswith("/validateCredentials")]


def test_due_host_rotates_pushes_and_verifies(testbed, sim, run_playbook, secrets_read):  # noqa: F811
    host = testbed.hosts[0]
    sp = sp_of(testbed, host)
    since = time.time()
    # The baseline already needs the fallback: the host got a fresh token, Entra's saved one is
    # stale, and only validateCredentials can tell (then the push).
    in_sync(run_playbook, testbed, sim, [host])
    assert secrets_reads(sim, sp, since) and set(secrets_reads(sim, sp, since)) == {secrets_read}
    testbed.expire_in(host, 4)
    old = testbed.current_token(host)
    r = rotate(run_playbook, limit=host)
    assert r.rc == 0, "rotation run failed: %r" % r
    assert testbed.rotations(host) == 1
    assert_pushed_and_working(testbed, sim, host, old)
    assert summary_row(r, host)[3:7] == ["yes", "yes", "yes", "rotated"]
    assert sim.job(sp)["status"]["code"] == "Active"


def test_second_run_changes_nothing(testbed, sim, run_playbook, secrets_read):  # noqa: F811
    host = testbed.hosts[0]
    sp = sp_of(testbed, host)
    in_sync(run_playbook, testbed, sim, [host])
    state, snap, since = host_state(testbed, [host]), sim_snapshot(sim), time.time()
    r = rotate(run_playbook, limit=host)
    assert r.rc == 0, "second run failed: %r" % r
    assert r.stats[host]["changed"] == 0, r.stats
    assert host_state(testbed, [host]) == state and sim_snapshot(sim) == snap
    assert sim_writes(sim, since) == []
    # decided by Entra validating its saved credentials, the read of them being refused
    assert secrets_reads(sim, sp, since) == [secrets_read]
    assert validations(sim, sp, since) == [204]


def test_a_push_that_failed_after_the_rotation_is_finished_by_the_rerun(
        testbed, sim, run_playbook, secrets_read):  # noqa: F811
    host = testbed.hosts[0]
    sp = sp_of(testbed, host)
    in_sync(run_playbook, testbed, sim, [host])
    testbed.expire_in(host, 4)
    old = testbed.current_token(host)
    # The run gets a Graph token and reads the job (2 requests; no pause): Entra goes down right
    # after, so the push meets it down.
    sim.fault("down", skip=2)
    r = rotate(run_playbook, limit=host, alation_scim_entra_pause_job=False, alation_scim_entra_retry_budget=5)
    assert r.rc != 0 and r.stats[host]["failed"] == 1
    assert testbed.rotations(host) == 1
    new = testbed.current_token(host)
    assert new is not None and fp(new) != fp(old)
    says(output(r), "WAS ROTATED at", "Push the SCIM token to Microsoft Entra ID", "will not rotate again")
    sim.fault("none")
    r2 = rotate(run_playbook, limit=host)
    assert (r2.rc, testbed.rotations(host), fp(testbed.current_token(host))) == (0, 1, fp(new)), \
        "the re-run must push without rotating again: %r" % r2
    assert_pushed_and_working(testbed, sim, host, old)
    assert summary_row(r2, host)[3:7] == ["no", "yes", "yes", "push_completed"]
    since = time.time()
    r3 = rotate(run_playbook, limit=host)
    assert r3.rc == 0 and r3.stats[host]["changed"] == 0
    assert testbed.rotations(host) == 1 and sim_writes(sim, since) == []
    assert secrets_reads(sim, sp, since) == [secrets_read] and validations(sim, sp, since) == [204]
