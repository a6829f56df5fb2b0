"""The role on an HA pair (real PostgreSQL streaming replication, tests/testbed/ha_pair.py): the
pair is rotated once, on the primary; the secondary changes nothing and shows the new token by
replication; both are reported; the IdP (one Entra app for the pair) holds the primary's token.
Then the failover drill: the standby is promoted, and the next run rotates on the new primary.
"""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from entra_sim.client import EntraSim  # noqa: E402
# fixtures: the pair up, reset around each test
from test_ha_pair import ha, pair  # noqa: E402,F401 pylint: disable=unused-import
from testbed_fixtures import fp, reports_in  # noqa: E402

PLAYBOOK = os.path.join(REPO, "playbooks", "rotate_scim.yml")
PAIR = ("alationha1", "alationha2")


@pytest.fixture
def entra(ha):
    sim = EntraSim(ha.entra["url"], ha.ca_path)
    sim.fault("none")
    return sim


def sp(tb):
    return tb.entra["hosts"][tb.ha_pair()["name"]]["service_principal_id"]


def rotate(run_playbook, tmp_path, name, check=False):
    r = run_playbook(PLAYBOOK, check=check, verbosity=1, extra_vars={
        "alation_scim_hosts": "alation_ha", "alation_scim_idp": "entra", "alation_scim_verify_delay": 1,
        "alation_scim_pending_marker": "/var/lib/alation_scim/it-ha/pending_push.json"})
    dump = tmp_path / (name + ".out")
    dump.write_text(r.stdout)
    r.report = reports_in(r.stdout)
    return r


def state(tb):
    return dict((h, (tb.token_fingerprint(h), tb.expires_at(h))) for h in PAIR)


def assert_rotated_on(tb, entra, r, primary, secondary, before):
    assert r.rc == 0, "run failed: %r" % r
    assert r.stats[primary]["changed"] >= 1 and r.stats[secondary]["changed"] == 0, r.stats
    tb.ha_wait_replicated()
    after = state(tb)
    assert after[primary][0] != before[primary][0], "the primary was not rotated"
    assert after[secondary] == after[primary], "the secondary does not show the primary's new token"
    assert fp(entra.stored_token(sp(tb))) == tb.token_fingerprint(primary), "the IdP does not hold the new token"
    p, s = r.report[primary], r.report[secondary]
    assert (p["ha_role"], p["action"], p["rotated"], p["pushed"], p["verified"]) == ("primary", "rotated", True, True, True)
    assert (s["ha_role"], s["action"], s["rotated"], s["pushed"]) == ("secondary", "none", False, False)
    assert s["expires_at"] == p["expires_at"] and "arrived by replication" in s["message"]
    assert s["status"] == p["status"] == "ok"


def test_a_pair_rotates_once_on_the_primary_and_both_are_reported(ha, entra, run_playbook, tmp_path):
    ha.expire_in("alationha1", 5)
    ha.ha_wait_replicated()
    before = state(ha)
    r = rotate(run_playbook, tmp_path, "check", check=True)
    assert state(ha) == before and r.stats["alationha1"]["changed"] == 1 and r.stats["alationha2"]["changed"] == 0
    assert r.report["alationha2"]["ha_role"] == "secondary" and r.report["alationha1"]["action"] == "would_rotate"
    r = rotate(run_playbook, tmp_path, "real")
    assert_rotated_on(ha, entra, r, "alationha1", "alationha2", before)
    again = state(ha)
    r = rotate(run_playbook, tmp_path, "second")
    assert r.rc == 0 and all(r.stats[h]["changed"] == 0 for h in PAIR), r.stats
    assert state(ha) == again


def test_failover_drill_then_the_next_run_rotates_on_the_new_primary(ha, entra, run_playbook, tmp_path):
    rotate(run_playbook, tmp_path, "in-sync")  # the IdP holds the pair's token
    pair_state = ha.ha_failover(rebuild=True)
    assert pair_state["primary"] == "alationha2"
    ha.expire_in("alationha2", 5)
    ha.ha_wait_replicated()
    before = state(ha)
    r = rotate(run_playbook, tmp_path, "after-failover")
    assert_rotated_on(ha, entra, r, "alationha2", "alationha1", before)
