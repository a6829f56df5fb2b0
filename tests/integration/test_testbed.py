"""The test bed itself behaves like a self-hosted Alation (shared/reference/alation.md).

Everything goes over real SSH as `deploy` with sudo, the way an admin follows the vendor's
manual procedure. Token values are compared as fingerprints only, never printed.
"""

import datetime
import os
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import testbed_fixtures
import testbed_lib
from testbed_fixtures import LeakScanner

CU = "rosemeta.utils.users_and_groups.configuration_utils"
RESULT_RE = re.compile(r"@@(.*?)@@")


def admin_session(testbed, host, python, timeout=60):
    """`sudo /etc/init.d/alation shell`, then `alation_django_shell`, then one line of Python."""
    started = time.time()
    proc = testbed.ssh(host, "sudo /etc/init.d/alation shell",
                       input="alation_django_shell\n%s\n" % python, timeout=timeout)
    proc.elapsed = time.time() - started
    return proc


def results(proc):
    return RESULT_RE.findall(proc.stdout)


def call(fn, wrap="repr(r)"):
    """One line: import fn, call it, print its result between markers."""
    return "from %s import %s as f; r = f(); print('@@' + %s + '@@')" % (CU, fn, wrap)


FP = "('sha256:' + __import__('hashlib').sha256(r.encode()).hexdigest()[:12] if r else repr(r))"


@pytest.fixture
def host(testbed):
    h = testbed.hosts[0]
    testbed.reset(h)
    yield h
    testbed.kill_django_shells(h)
    testbed.reset(h)


def test_fleet_is_up(testbed):
    assert testbed.hosts == ["alation1", "alation2", "alation3"]
    assert testbed.plain_hosts == ["plain1"]
    for h in testbed.hosts + testbed.plain_hosts:
        r = testbed.ssh(h, "sudo -n id -un")
        assert (r.returncode, r.stdout.strip()) == (0, "root"), (h, r.stderr)


def test_host_layout_seen_from_a_session(testbed, host):
    r = testbed.ssh(host, "readlink /opt/alation/alation; test -x /etc/init.d/alation && echo init-ok; "
                          "sudo /etc/init.d/alation status; echo rc=$?")
    assert r.stdout.splitlines()[:2] == ["alation-2023.3.2.1", "init-ok"], r.stdout + r.stderr
    assert "alation is running" in r.stdout and "rc=0" in r.stdout
    # Inside the chroot: the documented paths, user alation, virtualenv on PATH.
    r = testbed.ssh(host, "sudo chroot /opt/alation/alation /bin/su - alation -c "
                          "'whoami; command -v alation_django_shell; command -v python; ls /opt/alation/django/manage.py'")
    assert r.stdout.split() == ["alation", "/opt/alation/bin/alation_django_shell", "/opt/alation/env/bin/python",
                                "/opt/alation/django/manage.py"], r.stdout + r.stderr


def test_init_script_stop_start(testbed, host):
    r = testbed.ssh(host, "sudo /etc/init.d/alation stop; sudo /etc/init.d/alation status; echo rc=$?")
    assert "alation is not running" in r.stdout and "rc=3" in r.stdout, r.stdout + r.stderr
    with pytest.raises(OSError):
        testbed.scim_get(host, testbed.current_token(host))
    r = testbed.ssh(host, "sudo /etc/init.d/alation start; sudo /etc/init.d/alation status; echo rc=$?")
    assert "alation is running" in r.stdout and "rc=0" in r.stdout, r.stdout + r.stderr
    assert testbed.scim_get(host, testbed.current_token(host)) == 200


def test_each_host_has_its_own_alation(testbed):
    for h in testbed.hosts:
        testbed.reset(h)
    fps = set()
    for h in testbed.hosts:
        r = admin_session(testbed, h, call("get_scim_bearer_token", FP))
        assert results(r) == [testbed.token_fingerprint(h)], r.stderr
        fps.add(results(r)[0])
    assert len(fps) == len(testbed.hosts)


def test_manual_procedure_expiry_and_token(testbed, host):
    testbed.expire_in(host, 42)
    r = admin_session(testbed, host, call("get_scim_bearer_token_expiry_date"))
    assert r.returncode == 0, r.stderr
    [value] = results(r)
    assert value.startswith("datetime.datetime(") and "tzinfo=datetime.timezone.utc" in value
    exp = testbed.expires_at(host)
    assert "datetime.datetime(%d, %d, %d, %d, %d" % (exp.year, exp.month, exp.day, exp.hour, exp.minute) in value
    r = admin_session(testbed, host, call("get_scim_bearer_token", FP))
    assert results(r) == [testbed.token_fingerprint(host)]
    assert testbed.launches(host) == 2
    assert testbed.rotations(host) == 0


def test_set_token_revokes_old_one_at_once(testbed, host):
    old = testbed.current_token(host)
    assert testbed.scim_get(host, old) == 200
    r = admin_session(testbed, host, call("set_scim_bearer_token", FP))
    [returned_fp] = results(r)
    new = testbed.current_token(host)
    assert new is not None and testbed.token_fingerprint(host) == returned_fp
    assert testbed.token_fingerprint(host) != testbed_lib.fingerprint(old)
    assert testbed.scim_get(host, old) == 401
    assert testbed.scim_get(host, new) == 200
    assert testbed.rotations(host) == 1
    # 6-month lifetime by default.
    days = (testbed.expires_at(host) - datetime.datetime.now(datetime.timezone.utc)).days
    assert 180 <= days <= 184, days


def test_scim_auth_rules(testbed, host):
    token = testbed.current_token(host)
    assert testbed.scim_get(host, token, "ServiceProviderConfig") == 200
    assert testbed.scim_get(host, None) == 401
    assert testbed.scim_get(host, token + "x") == 401
    status, body = testbed.scim_request(host, "wrong")
    assert status == 401 and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    testbed.expire_in(host, -0.01)
    status, body = testbed.scim_request(host, token)
    assert status == 401 and "expired" in body["detail"]
    testbed.clear_token(host)
    assert testbed.scim_get(host, token) == 401


def test_scim_provisioning_cycle(testbed, host):
    t = testbed.current_token(host)
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "cycle-%d@example.com" % time.time(),
            "name": {"givenName": "Ann", "familyName": "Lee"}, "active": True,
            "emails": [{"value": "ann@example.com", "primary": True}]}
    status, u = testbed.scim_request(host, t, "Users", "POST", user)
    assert status == 201, u
    status, g = testbed.scim_request(host, t, "Groups", "POST", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g-%s" % u["id"]})
    assert status == 201, g
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    status, g2 = testbed.scim_request(host, t, "Groups/" + g["id"], "PATCH", dict(
        patch, Operations=[{"op": "add", "path": "members", "value": [{"value": u["id"]}]}]))
    assert status == 200 and [m["value"] for m in g2["members"]] == [u["id"]]
    status, u2 = testbed.scim_request(host, t, "Users/" + u["id"], "PATCH", dict(
        patch, Operations=[{"op": "replace", "value": {"active": False}}]))
    assert status == 200 and u2["active"] is False
    status, lst = testbed.scim_request(
        host, t, "Users?filter=" + urllib.parse.quote('userName eq "%s"' % user["userName"]))
    assert status == 200 and lst["totalResults"] == 1


@pytest.mark.parametrize("kind, expect", [
    ("aware", r"^datetime\.datetime\(.*tzinfo=datetime\.timezone\.utc\)$"),
    ("naive", r"^datetime\.datetime\(\d+, \d+, \d+, \d+, \d+, \d+(, \d+)?\)$"),
    ("date", r"^datetime\.date\(\d+, \d+, \d+\)$"),
    ("iso", r"^'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00'$"),
])
def test_knob_expiry_type(testbed, host, kind, expect):
    testbed.knob(host, expiry_type=kind)
    [value] = results(admin_session(testbed, host, call("get_scim_bearer_token_expiry_date")))
    assert re.match(expect, value), value
    testbed.clear_token(host)
    assert results(admin_session(testbed, host, call("get_scim_bearer_token_expiry_date"))) == ["None"]


def test_knob_set_returns_token(testbed, host):
    testbed.knob(host, set_returns_token=False)
    assert results(admin_session(testbed, host, call("set_scim_bearer_token"))) == ["None"]
    assert testbed.rotations(host) == 1
    testbed.knob(host, set_returns_token=True)
    [fp] = results(admin_session(testbed, host, call("set_scim_bearer_token", FP)))
    assert fp == testbed.token_fingerprint(host)
    assert testbed.rotations(host) == 2


def test_knob_token_months(testbed, host):
    testbed.knob(host, token_months=1)
    admin_session(testbed, host, call("set_scim_bearer_token", "'ok'"))
    assert 27 <= (testbed.expires_at(host) - datetime.datetime.now(datetime.timezone.utc)).days <= 31


def test_knob_shell_noise(testbed, host):
    r = admin_session(testbed, host, call("get_scim_bearer_token_expiry_date"))
    assert "Error decrypting" not in r.stdout and "Alation shell" not in r.stdout
    testbed.knob(host, shell_noise=True)
    r = admin_session(testbed, host, call("get_scim_bearer_token_expiry_date"))
    assert "Error decrypting value, details: Unknown prefix" in r.stdout
    assert "inside the Alation shell" in r.stdout
    assert len(results(r)) == 1


def test_knob_interactive_console(testbed, host):
    line = call("get_scim_bearer_token_expiry_date")
    r = admin_session(testbed, host, line)
    assert ">>> " not in r.stdout
    testbed.knob(host, interactive_console=True)
    r = admin_session(testbed, host, line)
    assert r.stdout.startswith(">>> @@datetime.datetime("), r.stdout
    # A two-line payload gets continuation prompts and is executed line by line.
    r = admin_session(testbed, host, "if True:\n    print('@@a@@')\n\nprint('@@b@@')")
    assert "... " in r.stdout and results(r) == ["a", "b"]


def test_knob_startup_delay(testbed, host):
    testbed.knob(host, startup_delay=3)
    r = admin_session(testbed, host, call("get_scim_bearer_token_expiry_date"))
    assert r.elapsed >= 3 and len(results(r)) == 1


def test_knob_functions_missing(testbed, host):
    testbed.knob(host, functions_missing=True)
    r = admin_session(testbed, host, "import %s as m; print('@@' + repr(sorted(n for n in dir(m) if 'scim' in n)) + '@@')" % CU)
    assert results(r) == ["[]"]
    r = admin_session(testbed, host, call("set_scim_bearer_token"))
    assert "ImportError: cannot import name 'set_scim_bearer_token'" in r.stderr
    assert testbed.rotations(host) == 0


def test_knob_db_error(testbed, host):
    testbed.knob(host, db_error=True)
    for fn in ("get_scim_bearer_token_expiry_date", "set_scim_bearer_token", "get_scim_bearer_token"):
        r = admin_session(testbed, host, call(fn))
        assert "django.db.utils.OperationalError" in r.stderr and results(r) == []
    assert testbed.rotations(host) == 0


def test_knob_hang(testbed, host):
    testbed.knob(host, hang=True)
    with pytest.raises(Exception) as exc:
        admin_session(testbed, host, call("get_scim_bearer_token_expiry_date"), timeout=5)
    assert "timed out" in str(exc.value).lower()
    assert testbed.django_shells(host), "the hung Django shell should still be running"
    assert testbed.kill_django_shells(host) >= 1
    assert testbed.django_shells(host) == []


def test_knob_old_exec(testbed, host):
    code = "import json\ndef f():\n    return json.dumps(1)\nprint('@@' + f() + '@@')"
    assert results(admin_session(testbed, host, code)) == ["1"]
    testbed.knob(host, old_exec=True)
    r = admin_session(testbed, host, code)
    assert "NameError: name 'json' is not defined" in r.stderr and results(r) == []
    # Single-line payloads with their own globals are immune.
    r = admin_session(testbed, host, "exec(\"import json\\ndef f():\\n    return json.dumps(2)\\nprint('@@' + f() + '@@')\", {})")
    assert results(r) == ["2"]


def test_knob_garbage(testbed, host):
    testbed.knob(host, garbage=True)
    r = admin_session(testbed, host, call("set_scim_bearer_token"))
    assert results(r) == [] and "}{" in r.stdout
    # The input it ignored is left to the admin's bash, which then fails on Python syntax.
    assert "syntax error" in r.stderr
    assert testbed.launches(host) == 1 and testbed.rotations(host) == 0


def test_knobs_reject_bad_values(testbed, host):
    with pytest.raises(ValueError):
        testbed.knob(host, expiry_type="epoch")
    with pytest.raises(ValueError):
        testbed.knob(host, no_such_knob=True)


def test_plain_host_is_not_alation(testbed):
    h = testbed.plain_hosts[0]
    r = testbed.ssh(h, "sudo -n ls /etc/init.d/alation /opt/alation/alation; echo rc=$?")
    assert "rc=2" in r.stdout, r.stdout + r.stderr
    assert "No such file" in r.stderr


def test_sessions_log_to_syslog(testbed, host):
    scanner = LeakScanner(["deploy : PWD="])
    testbed.ssh(host, "sudo -n true")
    time.sleep(0.5)
    # sudo's own audit line lands in /var/log/syslog: the place leak tests look at.
    assert scanner.scan_syslog(), "sudo did not log to /var/log/syslog"


def test_leak_scanner_finds_processes_and_files(tmp_path):
    secret = "leak-canary-%d-xyzzy" % time.time()
    scanner = LeakScanner([secret])
    with scanner.sample_processes():
        p = subprocess.Popen(["sleep", "0.5"], env={"CANARY": secret})
        p.wait()
    f = tmp_path / "x.log"
    f.write_text("prefix %s suffix" % secret)
    scanner.scan_files([str(tmp_path)])
    text = "; ".join(scanner.findings)
    assert "process environ" in text and "file %s" % f in text
    assert LeakScanner([secret]).scan_files([str(tmp_path / "nonexistent")]) == []
    assert secret not in text
    with pytest.raises(AssertionError) as exc:
        scanner.assert_clean()
    assert secret not in str(exc.value)


def test_run_playbook_reaches_every_host(testbed, run_playbook):
    r = run_playbook("""
- hosts: all
  gather_facts: false
  become: true
  tasks:
    - ansible.builtin.command: test -x /etc/init.d/alation
      register: init
      failed_when: false
      changed_when: false
    - ansible.builtin.assert:
        that: (init.rc == 0) == (inventory_hostname in groups['alation'])
""", limit="alation,plain")
    assert r.rc == 0, r.stdout[-3000:]
    assert sorted(r.stats) == ["alation1", "alation2", "alation3", "plain1"]
    assert all(s["failed"] == 0 and s["unreachable"] == 0 and s["ok"] == 2 for s in r.stats.values())
    assert "PLAY RECAP" in r.log


def test_entra_simulator_matches_inventory(testbed):
    e = testbed.entra
    assert e is not None, "Entra simulator not started"
    with urllib.request.urlopen(e["admin_url"] + "state", context=testbed.ssl_context(), timeout=10) as resp:
        state = json.load(resp)
    text = json.dumps(state)
    for h in testbed.hosts:
        assert e["hosts"][h]["service_principal_id"] in text
        assert e["hosts"][h]["job_id"] in text


def test_run_playbook_extra_vars_stay_out_of_argv(testbed, run_playbook):
    secret = "canary-%d-plugh" % time.time()
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ %s }}"
"""
    scanner = LeakScanner([secret])
    r = run_playbook(play % "canary | length", extra_vars={"canary": secret}, leak_scanner=scanner)
    assert r.rc == 0 and r.stats["localhost"]["ok"] == 1, r.stdout[-2000:]
    assert '"msg": %d' % len(secret) in r.stdout
    scanner.assert_clean()
    # The same scanner does see a value the playbook prints, in stdout and in the log file.
    r = run_playbook(play % "canary", extra_vars={"canary": secret}, leak_scanner=scanner, check=True, diff=True,
                     verbosity=1)
    assert r.rc == 0
    places = " ".join(scanner.findings)
    assert "ansible-playbook stdout" in places and "ANSIBLE_LOG_PATH" in places
    assert not os.path.exists(os.path.join(os.path.dirname(r.log_path), "extra_vars.json"))


def test_run_playbook_reports_failures_per_host(testbed, run_playbook):
    r = run_playbook("""
- hosts: alation
  gather_facts: false
  tasks:
    - ansible.builtin.fail:
        msg: boom
      when: inventory_hostname == 'alation2'
""", limit=["alation1", "alation2"])
    assert r.rc == 2
    assert r.stats["alation2"]["failed"] == 1 and r.stats["alation1"]["failed"] == 0
    assert sorted(r.stats) == ["alation1", "alation2"]


def test_up_after_processes_died_without_down(testbed):
    """A machine made from a disk image (a CI runner, a reboot) finds pid files and namespace records
    of processes that are gone, and pids and namespace ids get reused. Played here: alation2's
    processes die, its records then name alation1's live namespace and an unrelated process. `up`
    must bring alation2 back and touch neither alation1 nor the unrelated process."""
    decoy = subprocess.Popen(["sleep", "300"])
    a1, a2 = "alation1", "alation2"
    run1, run2 = (os.path.join(testbed.host_dir(h), "run") for h in (a1, a2))
    try:
        with open(os.path.join(run1, "sshd.pid")) as f:
            sshd1 = int(f.read())
        with open(os.path.join(run2, "ns")) as f:
            ns2 = f.read().strip()
        victims = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pid_ns(int(p)) == ns2]
        assert victims, "alation2 has no processes to kill"
        for pid in victims:
            os.kill(pid, 9)
        deadline = time.time() + 10
        while time.time() < deadline and any(_pid_ns(p) == ns2 for p in victims):
            time.sleep(0.05)
        with open(os.path.join(run2, "ns"), "w") as f:
            f.write(_pid_ns(sshd1) + "\n")  # a reused namespace id
        with open(os.path.join(run2, "sshd.pid"), "w") as f:
            f.write("%d\n" % decoy.pid)  # a reused pid

        out = testbed_fixtures.testbed_cli("up", "--hosts", "3", "--plain-hosts", "1",
                                           "--controller-python", sys.executable)

        assert "1 (re)started" in out, out[-2000:]
        assert decoy.poll() is None, "up killed a process that was not the test bed's"
        with open(os.path.join(run1, "sshd.pid")) as f:
            assert int(f.read()) == sshd1 and _pid_ns(sshd1), "up restarted or killed alation1"
        for h in (a1, a2):
            r = testbed.ssh(h, "sudo -n id -un")
            assert (r.returncode, r.stdout.strip()) == (0, "root"), (h, r.stderr)
            assert testbed.scim_get(h, testbed.current_token(h)) == 200, h
    finally:
        decoy.kill()
        decoy.wait()


def _pid_ns(pid):
    try:
        return os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return None
