"""Every playbook x every driver x (--check, real run, second run), on the test bed over SSH.

One Alation host per driver case (the fleet grows to 3 + len(CASES) hosts for this module and
shrinks back after it), each with its own IdP simulator object (Entra service principal, PingOne
store, PingFederate connection, SailPoint source, IdentityIQ application) or hand-off directory.
The cases run in two plays per playbook run, split by what a scheduled run may do with them:
`api` (pushes by itself) and `handoff` (needs a person: never rotated unattended).

Every run starts from the same fleet state: each token due (10 days left, inside the warning
threshold but not the critical one) and every IdP holding that token. Each case asserts the exit
status, the recap's changed count, the host (rotations, token) and the IdP (what it holds) before and
after, and the fields of the host's record in the JSON report the run wrote.

Tokens are compared and fingerprinted, never printed.
"""

import hashlib
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from entra_sim.client import EntraSim  # noqa: E402
from iiq_sim import launch as iiq_launch  # noqa: E402
from iiq_sim.client import IdentityIqSim  # noqa: E402
from pingfederate_sim import launch as pf_launch  # noqa: E402
from pingfederate_sim.client import PingFederateSim  # noqa: E402
from pingone_sim import launch as pingone_launch  # noqa: E402
from pingone_sim.client import PingOneSim  # noqa: E402
from sailpoint_sim import launch as isc_launch  # noqa: E402
from sailpoint_sim.client import SailPointSim  # noqa: E402
from testbed_fixtures import Secrets, fp, reports_in  # noqa: E402
from testbed_fixtures import testbed_cli as cli  # noqa: E402  (a name pytest does not collect)

# case -> (driver, group)
CASES = {
    "entra": ("entra", "api"),
    "pingone": ("pingone", "api"),
    "pingfederate": ("pingfederate", "api"),
    "sailpoint": ("sailpoint", "api"),
    "sailpoint_iiq_workflow": ("sailpoint_iiq", "api"),
    "custom": ("custom", "api"),
    "none": ("none", "api"),
    "okta": ("okta", "handoff"),
    "onelogin": ("onelogin", "handoff"),
    "manual": ("manual", "handoff"),
    "sailpoint_iiq_handoff": ("sailpoint_iiq", "handoff"),
}
BASE_HOSTS = 3
HOSTS = dict((case, "alation%d" % (BASE_HOSTS + 1 + i)) for i, case in enumerate(CASES))
PLAYBOOKS = ("rotate_scim", "check_scim_expiry", "scheduled_rotation")
MODES = ("check", "real", "second")
DUE_DAYS = 10
VAULT_PASSWORD = "matrix-vault-password-" + "7" * 12

CUSTOM_TASKS = """---
- name: Keep a digest of the token where the test can compare it (never the token)
  ansible.builtin.copy:
    content: "{{{{ alation_scim_token | hash('sha256') }}}}"
    dest: "{dest}/{{{{ inventory_hostname }}}}.digest"
    mode: "0600"
  delegate_to: localhost
"""


def group_hosts(group):
    return [HOSTS[c] for c, (d, g) in CASES.items() if g == group]


@pytest.fixture(scope="module")
def fleet(testbed, tmp_path_factory):
    """The grown fleet, every simulator up for its hosts, an inventory of the matrix hosts."""
    total = BASE_HOSTS + len(CASES)
    try:
        yield matrix_fleet(testbed, tmp_path_factory, total)
    finally:  # back to the default fleet, even when the set-up failed half way
        cli("up", "--hosts", str(BASE_HOSTS), "--plain-hosts", "1", "--controller-python", sys.executable)


def matrix_fleet(testbed, tmp_path_factory, total):
    cli("up", "--hosts", str(total), "--plain-hosts", "1", "--controller-python", sys.executable)
    work = tmp_path_factory.mktemp("matrix")
    urls = dict((h, testbed.scim_base_url(h)) for h in HOSTS.values())
    sims = {
        "pingone": Secrets(pingone_launch.up(urls)), "pingfederate": Secrets(pf_launch.up(urls)),
        "sailpoint": Secrets(isc_launch.up(urls)), "iiq": Secrets(iiq_launch.up(urls)),
    }
    clients = {
        "entra": EntraSim(testbed.entra["url"], testbed.ca_path),
        "pingone": PingOneSim(sims["pingone"]["url"], sims["pingone"]["ca_path"]),
        "pingfederate": PingFederateSim(sims["pingfederate"]["url"], sims["pingfederate"]["ca_path"]),
        "sailpoint": SailPointSim(sims["sailpoint"]["url"], sims["sailpoint"]["ca_path"]),
        "iiq": IdentityIqSim(sims["iiq"]["admin_url"], sims["iiq"]["ca_path"]),
    }
    for c in clients.values():
        c.fault("none")
    vault_file = work / "vault-password"
    vault_file.write_text(VAULT_PASSWORD)
    vault_file.chmod(0o600)
    (work / "custom.yml").write_text(CUSTOM_TASKS.format(dest=work))
    inventory = {"all": {"children": {"matrix": {"children": {}}}}}
    for group in ("api", "handoff"):
        inventory["all"]["children"]["matrix"]["children"]["matrix_" + group] = {
            "hosts": dict((h, host_vars(case, h, sims, work)) for case, h in HOSTS.items() if CASES[case][1] == group)}
    path = work / "matrix.yml"
    path.write_text(yaml.safe_dump(inventory))
    path.chmod(0o600)
    return {"testbed": testbed, "sims": sims, "clients": clients, "inventory": str(path), "work": work,
            "vault_file": str(vault_file)}


def host_vars(case, host, sims, work):
    driver = CASES[case][0]
    v = {"alation_scim_idp": driver, "alation_scim_verify_delay": 1,
         "alation_scim_pending_marker": "/var/lib/alation_scim/matrix/pending_push.json"}
    if driver == "pingone":
        s = sims["pingone"]
        v.update(alation_scim_pingone_environment_id=s["environment_id"], alation_scim_pingone_client_id=s["client_id"],
                 alation_scim_pingone_client_secret=s["client_secret"], alation_scim_pingone_api_url=s["url"],
                 alation_scim_pingone_auth_url=s["url"], alation_scim_pingone_ca_path=s["ca_path"],
                 alation_scim_pingone_store_id=s["stores"][host])
    elif driver == "pingfederate":
        s = sims["pingfederate"]
        v.update(alation_scim_pingfederate_base_url=s["url"], alation_scim_pingfederate_username=s["username"],
                 alation_scim_pingfederate_password=s["password"], alation_scim_pingfederate_ca_path=s["ca_path"],
                 alation_scim_pingfederate_connection_id=s["connections"][host])
    elif driver == "sailpoint":
        s = sims["sailpoint"]
        v.update(alation_scim_sailpoint_base_url=s["base_url"], alation_scim_sailpoint_client_id=s["client_id"],
                 alation_scim_sailpoint_client_secret=s["client_secret"], alation_scim_sailpoint_ca_path=s["ca_path"],
                 alation_scim_sailpoint_source_id=s["sources"][host])
    elif driver == "sailpoint_iiq":
        s = sims["iiq"]
        v.update(alation_scim_sailpoint_iiq_application_name=s["applications"][host])
        if case == "sailpoint_iiq_workflow":
            v.update(alation_scim_sailpoint_iiq_url=s["url"], alation_scim_sailpoint_iiq_username=s["username"],
                     alation_scim_sailpoint_iiq_password=s["password"], alation_scim_sailpoint_iiq_ca_path=s["ca_path"],
                     alation_scim_sailpoint_iiq_workflow_name=s["workflow_name"])
    elif driver == "custom":
        v["alation_scim_custom_tasks"] = str(work / "custom.yml")
    if CASES[case][1] == "handoff":
        # Both channels: the Ansible Vault file for Okta, 0600 files for the others.
        v.update(alation_scim_handoff_dir=str(work / "handoff" / host),
                 alation_scim_handoff_channel="vault_file" if driver == "okta" else "file_0600")
    return v


def held_by_idp(fleet, case):
    """Fingerprint of what the case's IdP holds (None for `none`: there is no IdP)."""
    tb, c, s, host = fleet["testbed"], fleet["clients"], fleet["sims"], HOSTS[case]
    driver = CASES[case][0]
    if driver == "entra":
        return fp(c["entra"].stored_token(tb.entra["hosts"][host]["service_principal_id"]))
    if driver == "pingone":
        return c["pingone"].store(s["pingone"]["stores"][host])["token_fingerprint"]
    if driver == "pingfederate":
        return c["pingfederate"].connection(s["pingfederate"]["connections"][host])["token_fingerprint"]
    if driver == "sailpoint":
        return c["sailpoint"].source(s["sailpoint"]["sources"][host])["token_fingerprint"]
    if case == "sailpoint_iiq_workflow":
        return c["iiq"].application(s["iiq"]["applications"][host])["secret_fingerprints"].get("apiToken")
    if driver == "custom":
        digest = fleet["work"] / ("%s.digest" % host)
        return ("sha256-digest:" + digest.read_text()) if digest.exists() else None
    if CASES[case][1] == "handoff":
        return handed_off(fleet, case)
    return None


def handed_off(fleet, case):
    host = HOSTS[case]
    folder = fleet["work"] / "handoff" / host
    if CASES[case][0] == "okta":
        path = folder / ("%s.scim-token.vault" % host)
        if not path.exists():
            return None
        from ansible.parsing.vault import VaultLib, VaultSecret
        token = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).decrypt(path.read_bytes()).decode()
    else:
        path = folder / ("%s.scim-token" % host)
        if not path.exists():
            return None
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        token = path.read_text()
    return fp(token)


def as_held(case, token):
    """What the case's IdP holds when it holds `token`."""
    if CASES[case][0] == "custom":
        return "sha256-digest:" + hashlib.sha256(token.encode()).hexdigest()
    if CASES[case][0] == "none":
        return None
    return fp(token)


def put_in_sync(fleet, run_playbook, group):
    """Every host of the group with a fresh token that its IdP holds (pushed by the collection
    itself, with force_push), then due in DUE_DAYS days: a fleet between two rotations."""
    tb = fleet["testbed"]
    hosts = group_hosts(group)
    for host in hosts:
        tb.reset(host)
        tb.ssh(host, "sudo rm -rf /var/lib/alation_scim/matrix")
    r = run_playbook(os.path.join(REPO, "playbooks", "rotate_scim.yml"), inventories=[fleet["inventory"]],
                     env={"ANSIBLE_VAULT_PASSWORD_FILE": fleet["vault_file"]},
                     extra_vars={"alation_scim_hosts": "matrix_" + group, "alation_scim_force_push": True,
                                 "alation_scim_operator_present": True})
    assert r.rc == 0, "could not put the %s group in sync: %r" % (group, r)
    for case in CASES:
        if CASES[case][1] == group:
            assert held_by_idp(fleet, case) == as_held(case, tb.current_token(HOSTS[case])), case
    for host in hosts:
        tb.expire_in(host, DUE_DAYS)


def snapshot(fleet):
    """{case: (rotations, token fingerprint, what the IdP holds, what it holds when it holds the host's
    token, Django launches so far)}."""
    tb = fleet["testbed"]
    out = {}
    for case, h in HOSTS.items():
        token = tb.current_token(h)
        out[case] = (tb.rotations(h), fp(token), held_by_idp(fleet, case), as_held(case, token), tb.launches(h))
    return out


def run_matrix(fleet, run_playbook, playbook, group, mode, ansible_bin=None):
    extra = {"alation_scim_hosts": "matrix_" + group}
    if playbook == "rotate_scim":
        extra["alation_scim_operator_present"] = True  # a person is there (scheduled runs force it off)
    path = os.path.join(REPO, "playbooks", playbook + ".yml")
    env = {"ANSIBLE_VAULT_PASSWORD_FILE": fleet["vault_file"]}
    r = run_playbook(path, extra_vars=extra, check=(mode == "check"), env=env, verbosity=1,
                     inventories=[fleet["inventory"]], ansible_bin=ansible_bin)
    r.report = reports_in(r.stdout)
    return r


@pytest.fixture(scope="module")
def results(fleet, _playbook_runner):
    """Runs the whole matrix once: {(playbook, group, mode): (result, before, after)}."""
    run_playbook = _playbook_runner
    out = {}
    for playbook in PLAYBOOKS:
        for group in ("api", "handoff"):
            put_in_sync(fleet, run_playbook, group)
            for mode in MODES:
                before = snapshot(fleet)
                r = run_matrix(fleet, run_playbook, playbook, group, mode)
                out[(playbook, group, mode)] = (r, before, snapshot(fleet))
    return out


def expected(playbook, case, mode):
    """(rc == 0, changed, rotated this run, report action, report status) for a due host."""
    kind = CASES[case][1]
    if playbook == "check_scim_expiry":
        return True, 0, False, "none", "warning"
    if playbook == "scheduled_rotation" and kind == "handoff":
        return False, 0, False, "failed", "failed"  # never rotated unattended
    if mode == "check":
        return True, 1, False, "would_rotate", "warning"
    if mode == "real":
        return True, 1, True, "rotated", "ok"
    return True, 0, False, "none", "ok"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_matrix(results, playbook, case, mode):
    group = CASES[case][1]
    r, before, after = results[(playbook, group, mode)]
    assert_case(r, before, after, playbook, case, mode)


def assert_case(r, before, after, playbook, case, mode):
    """What one case's host, IdP and report record must show after a run of playbook in mode."""
    group = CASES[case][1]
    host = HOSTS[case]
    ok, changed, rotated, action, status = expected(playbook, case, mode)
    group_ok = all(expected(playbook, c, mode)[0] for c in CASES if CASES[c][1] == group)
    assert (r.rc == 0) == group_ok, "exit status %s of %s/%s/%s" % (r.rc, playbook, group, mode)
    assert (r.stats[host]["changed"] > 0) == bool(changed), "recap of %s: %r" % (host, r.stats[host])
    assert (r.stats[host]["failed"] > 0) == (not ok), "recap of %s: %r" % (host, r.stats[host])
    rot0, tok0, idp0, dummy, launches0 = before[case]
    rot1, tok1, idp1, current, launches1 = after[case]
    assert launches1 - launches0 == 1, "%d Django launches on %s: every run launches once" % (launches1 - launches0, host)
    rec = r.report[host]
    assert rec["action"] == action and rec["status"] == status, rec["message"]
    assert rec["idp"] == CASES[case][0] and rec["rotated"] is rotated
    if rotated:
        assert rot1 == rot0 + 1 and tok1 != tok0, "rotated once"
        assert idp1 == current, "the IdP does not hold the new token"
        assert rec["days_remaining"] >= 179 and rec["previous_expires_at"] != rec["expires_at"]
        assert rec["verified"] is True
        assert rec["pushed"] is (CASES[case][1] == "api" and CASES[case][0] != "none")
    else:
        assert (rot1, tok1, idp1) == (rot0, tok0, idp0), "nothing may change on the host or at the IdP"
    if playbook == "check_scim_expiry" or mode == "check" or not rotated and mode != "second":
        assert rec["rotation_due"] is True and DUE_DAYS - 1 <= rec["days_remaining"] <= DUE_DAYS
    if playbook == "scheduled_rotation" and group == "handoff":
        assert "Nothing was rotated" in rec["message"] and "alation_scim_operator_present=true" in rec["message"]


# The ends of the supported range (README): the same playbooks, drivers and assertions, run by the
# oldest and the newest ansible-core (scripts/test.sh makes both venvs; the rest of this suite runs 2.19).
ANSIBLE_RANGE = {
    "2.16": os.environ.get("ALATION_SCIM_VENV_OLDEST", os.path.join(REPO, ".venv-ansible-2.16")),
    "2.21": os.environ.get("ALATION_SCIM_VENV_NEWEST", os.path.join(REPO, ".venv-ansible-2.21")),
}


@pytest.fixture(scope="module")
def range_results(fleet, _playbook_runner):
    """Every playbook, real run, each group, by each end of the range: {(version, playbook, group): (result, before, after)}."""
    out = {}
    for version, venv in sorted(ANSIBLE_RANGE.items()):
        bin_dir = os.path.join(venv, "bin")
        assert os.path.exists(os.path.join(bin_dir, "ansible-playbook")), (
            "no ansible-core %s in %s: scripts/test.sh integration installs it" % (version, venv))
        said = subprocess.run([os.path.join(bin_dir, "ansible-playbook"), "--version"], stdout=subprocess.PIPE,
                              universal_newlines=True, check=True).stdout
        assert said.startswith("ansible-playbook [core %s." % version), said
        for playbook in PLAYBOOKS:
            for group in ("api", "handoff"):
                put_in_sync(fleet, _playbook_runner, group)
                before = snapshot(fleet)
                r = run_matrix(fleet, _playbook_runner, playbook, group, "real", ansible_bin=bin_dir)
                out[(version, playbook, group)] = (r, before, snapshot(fleet))
    return out


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("playbook", PLAYBOOKS)
@pytest.mark.parametrize("version", sorted(ANSIBLE_RANGE))
def test_matrix_at_the_ends_of_the_supported_range(range_results, version, playbook, case):
    r, before, after = range_results[(version, playbook, CASES[case][1])]
    # Nothing the collection does may be deprecated at either end (2.21 deprecates facts read as variables).
    for text in (r.stdout, r.stderr):
        assert "DEPRECATION WARNING" not in text, text[text.index("DEPRECATION WARNING"):][:600]
    assert_case(r, before, after, playbook, case, "real")


@pytest.mark.parametrize("group", ["api", "handoff"])
def test_no_secret_leaks_at_vvvv_for_any_driver(fleet, _playbook_runner, group):
    """A forced rotation of every driver case at -vvvv: no token (old or new) and no IdP secret in
    stdout, stderr, the log, syslog, process lists, or any file on the controller or the hosts
    (except where a hand-off is asked to put it: the Vault file, the 0600 file)."""
    from testbed_fixtures import LeakScanner
    tb, s = fleet["testbed"], fleet["sims"]
    hosts = group_hosts(group)
    scanner = LeakScanner()
    for host in hosts:
        scanner.add(tb.current_token(host))
    for secret in (s["pingone"]["client_secret"], s["pingfederate"]["password"], s["sailpoint"]["client_secret"],
                   s["iiq"]["password"], tb.entra["client_secret"]):
        scanner.add(secret)
    r = _playbook_runner(os.path.join(REPO, "playbooks", "rotate_scim.yml"), inventories=[fleet["inventory"]],
                         verbosity=4, leak_scanner=scanner,
                         env={"ANSIBLE_VAULT_PASSWORD_FILE": fleet["vault_file"]},
                         extra_vars={"alation_scim_hosts": "matrix_" + group, "alation_scim_force_rotation": True,
                                     "alation_scim_operator_present": True})
    assert r.rc == 0, "forced rotation failed: %r" % r
    for host in hosts:
        scanner.add(tb.current_token(host))
    scanner.scan_run(r)
    scanner.scan_syslog()
    scanner.scan_host_files(tb)
    # The test's own inputs (the inventory holds the IdP secrets) and the hand-off files (asked for)
    # are left out; everything else the run wrote next to them is scanned.
    inputs = ("matrix.yml", "vault-password", "custom.yml", "handoff")
    scanner.scan_files([os.path.join(str(fleet["work"]), name) for name in os.listdir(str(fleet["work"]))
                        if name not in inputs])
    scanner.assert_clean()


# case -> (simulator client, fault switch that fails the push only, the driver's write probe to turn off)
PUSH_FAULTS = {
    "pingone": ("pingone", {"mode": "down", "methods": ["PUT"]}, None),
    "pingfederate": ("pingfederate", {"mode": "down", "methods": ["PUT"]}, "alation_scim_pingfederate_probe_write"),
    "sailpoint": ("sailpoint", {"mode": "down", "methods": ["PATCH"]}, "alation_scim_sailpoint_probe_write"),
    "sailpoint_iiq_workflow": ("iiq", {"mode": "down", "methods": ["POST"]}, None),
}


@pytest.mark.parametrize("case", sorted(PUSH_FAULTS))
def test_idp_down_right_after_the_rotation_then_the_rerun_pushes_without_a_second_rotation(
        fleet, _playbook_runner, case):
    """The push fails after the rotation (the IdP down for writes only, so its settings read fine before):
    the host fails saying when the token was rotated and how to finish; the re-run pushes the current
    token and rotates nothing."""
    tb, host = fleet["testbed"], HOSTS[case]
    sim, fault, probe = PUSH_FAULTS[case]
    fault = dict(fault)
    put_in_sync(fleet, _playbook_runner, CASES[case][1])
    extra = {"alation_scim_hosts": host}
    if probe:
        extra[probe] = False  # the probe would meet the write fault before the rotation
    play = os.path.join(REPO, "playbooks", "rotate_scim.yml")
    fleet["clients"][sim].fault(fault.pop("mode"), **fault)
    try:
        r = _playbook_runner(play, inventories=[fleet["inventory"]], extra_vars=extra)
    finally:
        fleet["clients"][sim].fault("none")
    new = tb.current_token(host)
    assert r.rc != 0 and tb.rotations(host) == 1
    assert "WAS ROTATED at" in r.stdout and "The re-run will not rotate again" in r.stdout
    assert held_by_idp(fleet, case) != as_held(case, new)
    r = _playbook_runner(play, inventories=[fleet["inventory"]], extra_vars=extra, verbosity=1)
    assert r.rc == 0, "re-run failed: %r" % r
    assert tb.rotations(host) == 1, "the re-run rotated again"
    assert held_by_idp(fleet, case) == as_held(case, new), "the re-run did not push the current token"
    assert reports_in(r.stdout)[host]["action"] == "push_completed"
