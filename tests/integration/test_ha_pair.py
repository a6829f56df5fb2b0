"""An Alation HA pair on real PostgreSQL: alationha1's cluster streams to a hot standby that
alationha2's Django uses (tests/testbed/ha_pair.py). The host modules run over real SSH + sudo
through the chroot and su, as everywhere else; roles come from pg_is_in_recovery() on Django's
own connection, the secondary's data only by replication.
"""

import json
import re
import sys

import pytest

from test_host_modules import sha, tail
from testbed_fixtures import testbed_cli as cli  # (a name pytest does not collect)

REPORT = (
    "RESULT {{ r | dict2items | rejectattr('key', 'in', ['token', 'previous_token']) | items2dict"
    " | combine({'host': inventory_hostname,"
    " 'token_sha': ((r.token | default(none)) or '') | hash('sha256')}) | to_json }}"
)


@pytest.fixture(scope="module")
def pair(testbed):
    """The pair up (it is off unless asked: `testbed up --ha-pair`), reset before and after."""
    cli("up", "--hosts", str(len(testbed.hosts)), "--plain-hosts", str(len(testbed.plain_hosts)),
        "--ha-pair", "--controller-python", sys.executable)
    assert testbed.ha_hosts == ["alationha1", "alationha2"]
    yield testbed
    testbed.ha_reset()


@pytest.fixture
def ha(pair):
    pair.ha_reset()
    yield pair
    pair.ha_reset()


def play(hosts, module, args=None, ignore_errors=False):
    task = {"name": "run %s" % module, module: args or {}, "register": "r"}
    if ignore_errors:
        task["ignore_errors"] = True
    return json.dumps([{"hosts": hosts, "become": True, "gather_facts": False,
                        "tasks": [task, {"name": "report", "ansible.builtin.debug": {"msg": REPORT}}]}])


def by_host(run):
    found = {}
    for line in run.stdout.splitlines():
        m = re.match(r'^\s*"msg": ("RESULT .*")$', line)
        if m:
            res = json.loads(json.loads(m.group(1))[len("RESULT "):])
            found[res["host"]] = res
    return found


def state(tb):
    return {h: (tb.token_fingerprint(h), tb.expires_at(h), tb.rotations(h)) for h in tb.ha_hosts}


def test_roles_and_the_replicated_expiry(ha, run_playbook):
    assert ha.ha_pair()["roles"] == {"alationha1": "primary", "alationha2": "standby"}
    run = run_playbook(play("alation_ha", "alation.scim.token_info"))
    assert run.rc == 0, tail(run.stdout)
    res = by_host(run)
    assert res["alationha1"]["ha_role"] == "primary" and res["alationha2"]["ha_role"] == "secondary"
    assert res["alationha1"]["ha"]["vendor"] == "postgresql" and res["alationha1"]["ha"]["standbys"] == 1
    assert res["alationha2"]["ha"]["in_recovery"] is True
    assert res["alationha1"]["expires_at"] is not None
    assert res["alationha1"]["expires_at"] == res["alationha2"]["expires_at"]
    assert ha.token_fingerprint("alationha1") == ha.token_fingerprint("alationha2")  # one token, replicated


def test_a_django_write_on_the_secondary_fails_as_read_only(ha):
    code = ("from rosemeta.utils.users_and_groups.configuration_utils import set_scim_bearer_token\n"
            "try:\n    set_scim_bearer_token()\nexcept Exception as e:\n    print('REFUSED', type(e).__name__, e)\n")
    r = ha.ssh("alationha2", "sudo chroot /opt/alation/alation /bin/su - alation -c alation_django_shell", input=code)
    assert "REFUSED InternalError cannot execute" in r.stdout and "read-only transaction" in r.stdout, r.stdout[-500:]
    assert ha.rotations("alationha1") == 0


def test_rotate_on_the_secondary_is_refused_and_changes_nothing(ha, run_playbook, leak_scanner):
    ha.expire_in("alationha1", 5)  # due, so anything that got through would rotate
    before = state(ha)
    leak_scanner.add(ha.current_token("alationha1"))
    run = run_playbook(play("alationha2", "alation.scim.token_rotate", {"force": True, "return_token": True}),
                       verbosity=1, leak_scanner=leak_scanner)
    assert run.rc == 2 and run.stats["alationha2"]["failed"] == 1
    assert '"error_kind": "ha_secondary"' in run.stdout and '"nothing_changed": true' in run.stdout
    assert "This is the HA secondary" in run.stdout
    assert "Rotate on the primary; the secondary gets the token by replication" in run.stdout
    ha.ha_wait_replicated()
    assert state(ha) == before
    assert ha.rotations("alationha1") == ha.rotations("alationha2") == 0
    leak_scanner.assert_clean()


def test_on_secondary_report_returns_the_standby_expiry(ha, run_playbook):
    ha.expire_in("alationha1", 5)
    before = state(ha)
    run = run_playbook(play("alationha2", "alation.scim.token_rotate", {"on_secondary": "report"}))
    assert run.rc == 0, tail(run.stdout)
    res = by_host(run)["alationha2"]
    assert (res["changed"], res["rotated"], res["rotation_reason"], res["ha_role"]) == (False, False, "ha_secondary",
                                                                                        "secondary")
    assert res["rotation_due"] is True and res["days_remaining"] == 4
    assert state(ha) == before


def test_rotate_on_the_primary_once_and_the_secondary_gets_it_by_replication(ha, run_playbook, leak_scanner):
    old = ha.current_token("alationha1")
    leak_scanner.add(old)
    ha.expire_in("alationha1", 5)
    run = run_playbook(play("alation_ha", "alation.scim.token_rotate", {"return_token": True, "on_secondary": "report"}),
                       verbosity=1, leak_scanner=leak_scanner)
    assert run.rc == 0, tail(run.stdout)
    res = by_host(run)
    assert (res["alationha1"]["rotated"], res["alationha1"]["ha_role"]) == (True, "primary")
    assert (res["alationha2"]["rotated"], res["alationha2"]["rotation_reason"]) == (False, "ha_secondary")
    ha.ha_wait_replicated()
    new = ha.current_token("alationha1")
    leak_scanner.add(new)
    assert new != old and ha.current_token("alationha2") == new
    assert ha.rotations("alationha1") == ha.rotations("alationha2") == 1
    assert res["alationha1"]["token_sha"] == sha(new)
    # The secondary reads the new token and expiry through replication, and its SCIM endpoint agrees.
    info = by_host(run_playbook(play("alation_ha", "alation.scim.token_read")))
    assert info["alationha2"]["token_sha"] == sha(new)
    assert info["alationha2"]["expires_at"] == info["alationha1"]["expires_at"] == res["alationha1"]["expires_at"]
    for h in ha.ha_hosts:
        assert ha.scim_get(h, new) == 200 and ha.scim_get(h, old) == 401
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr), ("log", run.log)):
        leak_scanner.scan_text(name, text)
    leak_scanner.scan_process_samples()
    leak_scanner.scan_syslog()
    leak_scanner.assert_clean()


def test_failover_drill_then_rotate_on_the_new_primary(ha, run_playbook):
    pair = ha.ha_failover(rebuild=True)
    assert (pair["primary"], pair["secondary"]) == ("alationha2", "alationha1")
    assert ha.ha_pair()["roles"] == {"alationha1": "standby", "alationha2": "primary"}
    roles = by_host(run_playbook(play("alation_ha", "alation.scim.token_info")))
    assert (roles["alationha1"]["ha_role"], roles["alationha2"]["ha_role"]) == ("secondary", "primary")
    before = state(ha)
    refused = run_playbook(play("alationha1", "alation.scim.token_rotate", {"force": True}))
    assert refused.rc == 2 and '"error_kind": "ha_secondary"' in refused.stdout
    assert state(ha) == before
    run = run_playbook(play("alationha2", "alation.scim.token_rotate", {"force": True}))
    assert run.rc == 0, tail(run.stdout)
    assert by_host(run)["alationha2"]["rotated"] is True
    ha.ha_wait_replicated()
    assert ha.rotations("alationha2") == ha.rotations("alationha1") == 1
    assert ha.current_token("alationha2") is not None
    assert ha.current_token("alationha1") == ha.current_token("alationha2")


def test_failover_without_rebuild_leaves_the_old_primary_down_with_a_clear_error(ha, run_playbook):
    ha.ha_failover(rebuild=False)
    assert ha.ha_pair()["roles"] == {"alationha1": "stopped", "alationha2": "primary"}
    run = run_playbook(play("alationha1", "alation.scim.token_rotate", {"force": True}))
    assert run.rc == 2 and '"error_kind": "ha_role_unknown"' in run.stdout, tail(run.stdout)
    assert "Could not tell whether this host's PostgreSQL is the HA primary or a hot standby" in run.stdout
    assert "Connection refused" in run.stdout and '"nothing_changed": true' in run.stdout
    run = run_playbook(play("alationha2", "alation.scim.token_rotate", {"force": True}))
    assert run.rc == 0 and by_host(run)["alationha2"]["ha_role"] == "standalone"  # nobody streams from it now
    assert ha.rotations("alationha2") == 1
