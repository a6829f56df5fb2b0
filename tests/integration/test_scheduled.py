"""The expiry check and the scheduled rotation against a mixed fleet, over real SSH + sudo.

Fleet: four test-bed Alation hosts (fresh, due, expired, no token yet) plus `alation-offline`,
an inventory host at a loopback address where nothing listens. The Entra ID simulator stands in
for the IdP. Reports are compared host by host with the hosts' real state; tokens are compared
by fingerprint and scanned for, never printed.
"""

import calendar
import json
import math
import os
import re
import socket
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from entra_sim.client import EntraSim  # noqa: E402
import testbed_fixtures  # noqa: E402  (a module: pytest would collect a bare testbed_cli as a test)
from testbed_fixtures import LeakScanner, cleanup_runner, fp, fresh_simulator, make_runner, sp_of  # noqa: E402

CHECK = os.path.join(REPO, "playbooks", "check_scim_expiry.yml")
SCHEDULED = os.path.join(REPO, "playbooks", "scheduled_rotation.yml")
ALATION = ["alation1", "alation2", "alation3", "alation4"]
OFFLINE = "alation-offline"
OFFLINE_ADDRESS = ("127.0.10.250", 2222)
EVERY = ALATION + [OFFLINE]
REPORTS = {"json": "alation-scim-report.json", "markdown": "alation-scim-report.md",
           "junit": "alation-scim-junit.xml"}


# ---------------------------------------------------------------- fleet
@pytest.fixture(scope="module")
def fleet(testbed, tmp_path_factory):
    """Four Alation hosts for this module (the session's test bed has three), plus an
    inventory host nobody answers for; back to the default size afterwards."""
    testbed_fixtures.testbed_cli("up", "--hosts", str(len(ALATION)), "--plain-hosts", "1", "--controller-python", sys.executable)
    probe = socket.socket()
    probe.settimeout(2)
    try:
        assert probe.connect_ex(OFFLINE_ADDRESS) != 0, "something listens on %s:%d" % OFFLINE_ADDRESS
    finally:
        probe.close()
    with open(testbed.inventory) as f:
        inventory = yaml.safe_load(f)
    hosts = inventory["all"]["children"]["alation"]["hosts"]
    assert sorted(hosts) == ALATION
    hosts[OFFLINE] = dict(hosts["alation1"], ansible_host=OFFLINE_ADDRESS[0])
    path = str(tmp_path_factory.mktemp("fleet") / "inventory.yml")
    with open(path, "w") as f:
        yaml.safe_dump(inventory, f)
    runner, workdir = make_runner(path)
    yield runner
    cleanup_runner(workdir)
    for h in ALATION:
        testbed.reset(h)
    testbed_fixtures.testbed_cli("up", "--controller-python", sys.executable)


@pytest.fixture
def sim(testbed, fleet):
    client = fresh_simulator(EntraSim(testbed.entra["url"], testbed.ca_path))
    yield client
    client.fault("none")


def run(fleet, playbook, report_dir=None, hosts="alation", check=False, scanner=None, **extra):
    extra_vars = {"alation_scim_hosts": hosts, "alation_scim_idp": "entra", "alation_scim_verify_delay": 1}
    if report_dir:
        extra_vars["alation_scim_report_dir"] = str(report_dir)
    extra_vars.update(extra)
    result = fleet(playbook, extra_vars=extra_vars, check=check, leak_scanner=scanner)
    # Kept for a person to read after a failure; it is scanned for tokens like stdout itself.
    out_dir = os.environ.get("ALATION_SCIM_IT_OUT", "/tmp/alation-scim-it-out")
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    name = "scheduled-%s-%03d.txt" % (os.environ.get("PYTEST_CURRENT_TEST", "run").split("::")[-1].split(" ")[0],
                                      fleet.counter)
    with os.fdopen(os.open(os.path.join(out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(result.stdout + "\n--- stderr\n" + result.stderr)
    return result


def changes(result):
    """(task, host) of every "changed:" line, in order."""
    task, found = None, []
    for line in result.stdout.splitlines():
        m = re.match(r"^TASK \[(?:[^:\]]+ : )?(.*?)\] \*+$", line)
        if m:
            task = m.group(1)
        m = re.match(r"^changed: \[([^\]]+)\]", line)
        if m:
            found.append((task, m.group(1)))
    return found


def verdicts(result):
    """{host: message} of the playbooks' final "Fail each host that needs attention" task."""
    found = {}
    for host, payload in re.findall(r"^fatal: \[(\S+)\]: FAILED! => (\{.*\})$", result.stdout, re.M):
        msg = json.loads(payload).get("msg")
        if isinstance(msg, str) and re.match(r"(CRITICAL|FAILED|UNREACHABLE): ", msg):
            found[host] = msg
    return found


REPORT_TASK = "Write the fleet report"


def host_changes(result):
    """Changes other than the report files (written on the controller, on some host's turn)."""
    return [c for c in changes(result) if c[0] != REPORT_TASK]


def report_changed(result):
    written = [c for c in changes(result) if c[0] == REPORT_TASK]
    assert all(c[1].endswith(" -> localhost") for c in written) and len(written) <= 1, written
    return bool(written)


def reports(report_dir):
    with open(os.path.join(str(report_dir), REPORTS["json"])) as f:
        doc = json.load(f)
    with open(os.path.join(str(report_dir), REPORTS["markdown"])) as f:
        markdown = f.read()
    junit = ET.parse(os.path.join(str(report_dir), REPORTS["junit"])).getroot()
    return doc, dict((r["host"], r) for r in doc["hosts"]), markdown, junit


def junit_failures(junit):
    suite = junit.find("testsuite")
    cases = suite.findall("testcase")
    failed = dict((c.get("name"), c.find("failure").get("type")) for c in cases if c.find("failure") is not None)
    assert suite.get("tests") == str(len(cases)) and suite.get("failures") == str(len(failed))
    return sorted(c.get("name") for c in cases), failed


def markdown_status(markdown):
    rows = [line.split(" | ") for line in markdown.splitlines() if line.startswith("| ") and " | " in line]
    return dict((row[0][2:], row[1]) for row in rows[1:])


def iso(value):
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")) if value else None


def epoch(dt):
    return dt.timestamp() if dt else None


def expected_days(expires, started, ended):
    """days_remaining is the floor of whole days left, taken at some moment of the run."""
    return {int(math.floor((epoch(expires) - t) / 86400.0)) for t in (started, ended)}


def assert_expiry(record, testbed, host):
    actual = testbed.expires_at(host)
    assert record["expires_at"] is not None and abs(iso(record["expires_at"]) - epoch(actual)) < 1.5, \
        "%s: report says %s, host has %s" % (host, record["expires_at"], actual)


def mixed_states(testbed):
    """alation1 fresh, alation2 due (20 days: warning), alation3 expired 2 days ago, alation4 no token."""
    testbed.expire_in("alation2", 20)
    testbed.expire_in("alation3", -2)
    testbed.clear_token("alation4")


def scanner_for(testbed):
    scanner = LeakScanner([testbed.current_token(h) for h in ALATION])
    scanner.add(testbed.entra["client_secret"])
    return scanner


def scan_everything(scanner, testbed, report_dir):
    for h in ALATION:
        scanner.add(testbed.current_token(h))
    scanner.scan_files([str(report_dir)])
    scanner.scan_syslog()
    scanner.scan_host_logs(testbed)
    scanner.assert_clean()


def in_sync(fleet, testbed, sim):
    """Fresh tokens everywhere and Entra holding each one: a fleet between rotations."""
    for h in ALATION:
        testbed.reset(h)
    r = run(fleet, SCHEDULED, hosts="alation:!%s" % OFFLINE)
    assert r.rc == 0, "baseline run failed: %r" % r
    for h in ALATION:
        assert fp(sim.stored_token(sp_of(testbed, h))) == fp(testbed.current_token(h)), "no baseline push for %s" % h
        assert testbed.rotations(h) == 0


# ---------------------------------------------------------------- the check
def test_check_passes_warns_and_fails_the_right_hosts_and_never_changes(fleet, testbed, tmp_path):
    for h in ALATION:
        testbed.reset(h)
    mixed_states(testbed)
    before = dict((h, (testbed.rotations(h), fp(testbed.current_token(h)), testbed.expires_at(h))) for h in ALATION)
    scanner = scanner_for(testbed)
    report_dir = tmp_path / "reports"

    started = time.time()
    first = run(fleet, CHECK, report_dir, scanner=scanner)
    second = run(fleet, CHECK, report_dir, scanner=scanner)
    dry = run(fleet, CHECK, tmp_path / "dry", check=True, scanner=scanner)
    ended = time.time()

    for result in (first, second, dry):
        assert result.rc == 2, result
        # Nothing changes on any host; only the report files on the controller (first run).
        assert host_changes(result) == [], result
        # No host fails before the report (the fleet check runs the role's check without its own fail: one
        # task per host), so none is rescued; the verdict comes once, after the report (below) ...
        assert [h for h in EVERY if result.stats[h]["rescued"]] == []
        # ... warns the one under the warning threshold (an Ansible warning: on stderr).
        assert sorted(set(re.findall(r"\[WARNING\]: The Alation SCIM token on (\S+) expires",
                                     result.stdout + result.stderr))) == ["alation2"]
        # ... the offline host is reported by the cycle's one connection attempt, never dropped.
        assert result.stats[OFFLINE]["unreachable"] == 0
        assert "NOT HEALTHY: 3 of 5 host(s) need attention (1 ok, 1 warning, 2 critical, 1 unreachable)" \
            in result.stdout
        assert "TASK [Fail each host that needs attention]" in result.stdout
        # At the end exactly the hosts that need attention fail, each with its reason.
        assert dict((h, s["failed"]) for h, s in result.stats.items()) == {
            "alation1": 0, "alation2": 0, "alation3": 1, "alation4": 1, OFFLINE: 1}
        reasons = verdicts(result)
        assert sorted(reasons) == sorted(["alation3", "alation4", OFFLINE])
        assert reasons["alation3"].startswith("CRITICAL: ") and "alation3" in reasons["alation3"]
        assert reasons["alation4"].startswith("CRITICAL: ") and "no SCIM token" in reasons["alation4"]
        assert reasons[OFFLINE].startswith("UNREACHABLE: ") and "Connection refused" in reasons[OFFLINE]
    # The reports: written once, then left alone (same content); never in check mode.
    assert (report_changed(first), report_changed(second), report_changed(dry)) == (True, False, True)
    assert not os.path.exists(str(tmp_path / "dry"))
    assert dict((h, (testbed.rotations(h), fp(testbed.current_token(h)), testbed.expires_at(h)))
                for h in ALATION) == before, "the check changed a token"

    doc, by_host, markdown, junit = reports(report_dir)
    assert doc["healthy"] is False and sorted(by_host) == sorted(EVERY)
    assert dict((h, r["status"]) for h, r in by_host.items()) == {
        "alation1": "ok", "alation2": "warning", "alation3": "critical", "alation4": "critical", OFFLINE: "unreachable"}
    for h in ALATION:
        record = by_host[h]
        assert (record["action"], record["rotated"], record["pushed"]) == ("none", False, False), h
    for h in ("alation1", "alation2", "alation3"):
        assert_expiry(by_host[h], testbed, h)
        assert by_host[h]["token_present"] is True
        assert by_host[h]["days_remaining"] in expected_days(testbed.expires_at(h), started, ended), h
    assert by_host["alation3"]["days_remaining"] < 0
    assert by_host["alation4"]["token_present"] is False and by_host["alation4"]["expires_at"] is None
    assert "no SCIM token" in by_host["alation4"]["message"]
    # Each failing host's reason is its report's message.
    assert verdicts(second) == dict((h, "%s: %s" % (by_host[h]["status"].upper(), by_host[h]["message"]))
                                    for h in ("alation3", "alation4", OFFLINE))
    assert "Connection refused" in by_host[OFFLINE]["message"] or OFFLINE_ADDRESS[0] in by_host[OFFLINE]["message"]
    assert markdown_status(markdown) == {
        "alation1": "ok", "alation2": "warning", "alation3": "CRITICAL", "alation4": "CRITICAL", OFFLINE: "UNREACHABLE"}
    names, failed = junit_failures(junit)
    assert names == sorted(EVERY)
    assert failed == {"alation3": "critical", "alation4": "critical", OFFLINE: "unreachable"}

    scan_everything(scanner, testbed, report_dir)


def test_check_with_an_invalid_role_variable_fails_every_host_naming_it_and_reads_nothing(fleet, testbed, tmp_path):
    """The fleet check turns Ansible's role validation task off (a worker per host): the cycle task validates
    the same spec. A bad variable still fails every host with its name, before any host is touched."""
    for h in ALATION:
        testbed.reset(h)
    launches = dict((h, testbed.launches(h)) for h in ALATION)
    report_dir = tmp_path / "reports"
    result = run(fleet, CHECK, report_dir, alation_scim_shell_timeout="soon")
    assert result.rc == 2, result
    reasons = verdicts(result)
    assert sorted(reasons) == sorted(EVERY), result
    for h, reason in reasons.items():
        assert reason.startswith("FAILED: Invalid variables for the role alation.scim.token_rotation (entry point "
                                 "check): ") and "alation_scim_shell_timeout" in reason and "soon" in reason, reason
        assert "Nothing was read or changed on %s" % h in reason
    assert dict((h, testbed.launches(h)) for h in ALATION) == launches, "a host was read despite the bad variable"
    doc, by_host, markdown, junit = reports(report_dir)
    assert dict((h, r["status"]) for h, r in by_host.items()) == dict((h, "failed") for h in EVERY)
    assert all("alation_scim_shell_timeout" in r["message"] for r in by_host.values())


# ---------------------------------------------------------------- the scheduled rotation
def test_scheduled_rotation_of_a_healthy_fleet_exits_zero(fleet, testbed, sim, tmp_path):
    for h in ALATION:
        testbed.reset(h)
    scanner = scanner_for(testbed)
    report_dir = tmp_path / "reports"
    result = run(fleet, SCHEDULED, report_dir, hosts="alation:!%s" % OFFLINE, scanner=scanner)
    assert result.rc == 0, result
    assert "HEALTHY: 4 host(s) (4 ok)" in result.stdout and verdicts(result) == {}
    # A healthy fleet ends the play before the per-host verdict (a worker per host for nothing).
    assert "TASK [Fail each host that needs attention]" not in result.stdout
    doc, by_host, markdown, junit = reports(report_dir)
    assert doc["healthy"] is True and sorted(by_host) == ALATION
    for h in ALATION:
        record = by_host[h]
        assert testbed.rotations(h) == 0
        assert (record["status"], record["rotated"]) == ("ok", False), h
        assert_expiry(record, testbed, h)
        # Entra held nothing after its reset: the report says the token was pushed, and it was.
        assert fp(sim.stored_token(sp_of(testbed, h))) == fp(testbed.current_token(h)), h
        assert record["pushed"] is True and record["verified"] is True, h
    assert junit_failures(junit) == (ALATION, {})
    assert set(markdown_status(markdown).values()) == {"ok"}
    scan_everything(scanner, testbed, report_dir)


def test_scheduled_rotation_rotates_only_what_is_due_and_reports_every_host(fleet, testbed, sim, tmp_path):
    in_sync(fleet, testbed, sim)
    mixed_states(testbed)
    old = dict((h, (testbed.current_token(h), testbed.expires_at(h))) for h in ALATION)
    scanner = scanner_for(testbed)
    report_dir = tmp_path / "reports"

    prom = tmp_path / "textfile" / "alation_scim.prom"
    started = time.time()
    result = run(fleet, SCHEDULED, report_dir, scanner=scanner, alation_scim_report_prometheus_path=str(prom))
    ended = time.time()

    # Non-zero because one host is unreachable; every other host was done regardless.
    assert result.rc == 2, result
    assert "NOT HEALTHY: 1 of 5 host(s) need attention (4 ok, 1 unreachable); 3 rotated" in result.stdout
    assert list(verdicts(result)) == [OFFLINE] and "Connection refused" in verdicts(result)[OFFLINE]
    assert result.stats[OFFLINE]["unreachable"] == 0 and result.stats[OFFLINE]["failed"] == 1
    for h in ALATION:
        assert result.stats[h]["failed"] == 0 and result.stats[h]["rescued"] == 0, (h, result)
    # The fresh host changes nothing.
    assert [c for c in host_changes(result) if c[1].split()[0] == "alation1"] == []
    assert report_changed(result)

    assert dict((h, testbed.rotations(h)) for h in ALATION) == {
        "alation1": 0, "alation2": 1, "alation3": 1, "alation4": 1}
    assert fp(testbed.current_token("alation1")) == fp(old["alation1"][0])
    for h in ALATION:
        token = testbed.current_token(h)
        assert fp(sim.stored_token(sp_of(testbed, h))) == fp(token), "Entra does not hold the token of %s" % h
        assert testbed.scim_get(h, token) == 200, h
    for h in ("alation2", "alation3"):
        assert testbed.scim_get(h, old[h][0]) == 401, "old token of %s still accepted" % h

    doc, by_host, markdown, junit = reports(report_dir)
    assert doc["healthy"] is False and sorted(by_host) == sorted(EVERY)
    assert doc["summary"] == {"total": 5, "ok": 4, "warning": 0, "critical": 0, "failed": 0, "unreachable": 1,
                              "rotated": 3, "pushed": 3}
    fresh = by_host["alation1"]
    assert (fresh["status"], fresh["action"], fresh["rotated"], fresh["pushed"]) == ("ok", "none", False, False)
    assert_expiry(fresh, testbed, "alation1")
    for h in ("alation2", "alation3", "alation4"):
        record = by_host[h]
        assert (record["status"], record["action"], record["rotated"], record["pushed"], record["verified"]) == (
            "ok", "rotated", True, True, True), h
        assert record["token_present"] is True and record["rotation_due"] is True, h
        assert_expiry(record, testbed, h)
        assert record["days_remaining"] in expected_days(testbed.expires_at(h), started, ended), h
    for h in ("alation2", "alation3"):
        previous = by_host[h]["previous_expires_at"]
        assert previous and abs(iso(previous) - epoch(old[h][1])) < 1.5, h
    assert by_host["alation4"]["previous_expires_at"] is None
    assert by_host[OFFLINE]["status"] == "unreachable"
    assert "Connection refused" in by_host[OFFLINE]["message"] or OFFLINE_ADDRESS[0] in by_host[OFFLINE]["message"]
    assert markdown_status(markdown) == dict([(h, "ok") for h in ALATION] + [(OFFLINE, "UNREACHABLE")])
    assert "| alation2 | ok | %s |" % by_host["alation2"]["expires_at"] in markdown
    names, failed = junit_failures(junit)
    assert names == sorted(EVERY) and failed == {OFFLINE: "unreachable"}

    samples = dict(line.rsplit(" ", 1) for line in prom.read_text().splitlines() if not line.startswith("#"))
    for h in ALATION:
        stamp = int(samples['alation_scim_token_expiry_timestamp_seconds{host="%s"}' % h])
        assert abs(stamp - epoch(testbed.expires_at(h))) < 1.5, h
        assert samples['alation_scim_host_healthy{host="%s"}' % h] == "1"
        assert samples['alation_scim_token_rotated{host="%s"}' % h] == ("0" if h == "alation1" else "1"), h
    assert samples['alation_scim_host_healthy{host="%s"}' % OFFLINE] == "0"
    assert samples['alation_scim_token_rotated{host="%s"}' % OFFLINE] == "0"
    assert 'alation_scim_token_expiry_timestamp_seconds{host="%s"}' % OFFLINE not in samples
    assert samples["alation_scim_last_run_success"] == "0"
    assert int(started) <= int(samples["alation_scim_last_run_timestamp_seconds"]) <= ended
    assert (samples['alation_scim_threshold_seconds{level="warning"}'],
            samples['alation_scim_threshold_seconds{level="critical"}']) == (str(30 * 86400), str(7 * 86400))

    for h in ALATION:
        scanner.add(old[h][0])
    scanner.scan_files([str(prom)])
    scan_everything(scanner, testbed, report_dir)


def test_scheduled_rotation_with_a_failing_host_exits_nonzero_and_finishes_the_others(fleet, testbed, sim,
                                                                                      tmp_path):
    for h in ("alation1", "alation2"):
        testbed.reset(h)
    testbed.expire_in("alation2", 3)
    testbed.knob("alation1", functions_missing=True)
    scanner = scanner_for(testbed)
    report_dir = tmp_path / "reports"
    try:
        result = run(fleet, SCHEDULED, report_dir, hosts="alation1:alation2", scanner=scanner)
    finally:
        testbed.knob("alation1", functions_missing=None)

    assert result.rc == 2, result
    # alation1 fails (the role records why), is rescued so that alation2 goes on, and fails at the end.
    assert result.stats["alation1"]["rescued"] >= 1 and result.stats["alation1"]["failed"] == 1
    assert result.stats["alation2"]["failed"] == 0 and result.stats["alation2"]["rescued"] == 0
    assert "NOT HEALTHY: 1 of 2 host(s) need attention (1 ok, 1 failed); 1 rotated" in result.stdout
    assert list(verdicts(result)) == ["alation1"]
    assert verdicts(result)["alation1"].startswith("FAILED: Nothing was rotated on alation1")
    assert (testbed.rotations("alation1"), testbed.rotations("alation2")) == (0, 1)
    doc, by_host, markdown, junit = reports(report_dir)
    assert sorted(by_host) == ["alation1", "alation2"]
    assert (by_host["alation1"]["status"], by_host["alation1"]["action"]) == ("failed", "failed")
    assert "Nothing was rotated on alation1" in by_host["alation1"]["message"]
    assert (by_host["alation2"]["status"], by_host["alation2"]["action"], by_host["alation2"]["pushed"]) == (
        "ok", "rotated", True)
    assert fp(sim.stored_token(sp_of(testbed, "alation2"))) == fp(testbed.current_token("alation2"))
    assert junit_failures(junit) == (["alation1", "alation2"], {"alation1": "failed"})
    assert markdown_status(markdown) == {"alation1": "FAILED", "alation2": "ok"}
    scan_everything(scanner, testbed, report_dir)
