"""token_info / token_rotate / token_read driven by ansible-playbook over real SSH + sudo.

Every test starts from testbed.reset(HOST): default knobs, a fresh 180-day token, counters at 0.
Results come back through a debug task that prints the registered result without the token
keys, plus SHA-256 digests of the tokens, so a test can compare tokens without printing them.
"""

import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HOST = "alation3"
DAY = 86400

REPORT = (
    "RESULT {{ r | dict2items | rejectattr('key', 'in', ['token', 'previous_token']) | items2dict"
    " | combine({'result_keys': r.keys() | list | sort,"
    " 'token_sha': ((r.token | default(none)) or '') | hash('sha256'),"
    " 'previous_token_sha': ((r.previous_token | default(none)) or '') | hash('sha256')}) | to_json }}"
)


def sha(token):
    return hashlib.sha256((token or "").encode("utf-8")).hexdigest()


def playbook(steps, host=HOST, become=True):
    """steps: [(module, args)]; each result is registered and reported (tokens as digests)."""
    tasks = []
    for module, args in steps:
        tasks.append({"name": "run %s" % module, module: args or {}, "register": "r"})
        tasks.append({"name": "report", "ansible.builtin.debug": {"msg": REPORT}})
    return json.dumps([{"hosts": host, "become": become, "gather_facts": False, "tasks": tasks}], indent=1)


def results(run):
    found = []
    for line in run.stdout.splitlines():
        m = re.match(r'^\s*"msg": ("RESULT .*")$', line)
        if m:
            found.append(json.loads(json.loads(m.group(1))[len("RESULT "):]))
    return found


def tail(text):
    """The end of a run's output for an assertion message, with anything token-shaped blanked."""
    return re.sub(r"[A-Za-z0-9_+=-]{20,}", "<long>", text[-3000:])


def iso(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def host(testbed):
    testbed.reset(HOST)
    yield HOST
    testbed.reset(HOST)


@pytest.fixture
def scanner(leak_scanner, testbed, host):
    """A leak scanner that already knows the host's current token."""
    leak_scanner.add(testbed.current_token(host))
    return leak_scanner


def rescan(scanner, run):
    """Scan a finished run again, after tokens it created were added to the scanner."""
    scanner.scan_run(run)
    scanner.scan_process_samples()


# ---------------------------------------------------------------- token_info

def test_info_reports_expiry_and_changes_nothing(testbed, host, run_playbook, scanner):
    testbed.expire_in(host, 10.5)
    before = testbed.token_fingerprint(host)
    run = run_playbook(playbook([("alation.scim.token_info", {})]), leak_scanner=scanner)
    assert run.rc == 0, tail(run.stdout)
    (res,) = results(run)
    assert res["changed"] is False
    assert res["expires_at"] == iso(testbed.expires_at(host))
    assert res["days_remaining"] == 10
    assert (res["expired"], res["token_present"], res["rotation_due"]) == (False, True, True)
    assert "token" not in res["result_keys"]
    assert testbed.token_fingerprint(host) == before and testbed.rotations(host) == 0
    assert testbed.launches(host) == 1
    scanner.assert_clean()


@pytest.mark.parametrize("days,rotate_before,due,expired,remaining", [
    (100.5, 30, False, False, 100),
    (100.5, 120, True, False, 100),
    (-2.5, 30, True, True, -3),
])
def test_info_due_and_expired(testbed, host, run_playbook, days, rotate_before, due, expired, remaining):
    testbed.expire_in(host, days)
    run = run_playbook(playbook([("alation.scim.token_info", {"rotate_before_days": rotate_before})]))
    (res,) = results(run)
    assert (res["rotation_due"], res["expired"], res["days_remaining"]) == (due, expired, remaining)


def test_info_without_token(testbed, host, run_playbook):
    testbed.clear_token(host)
    (res,) = results(run_playbook(playbook([("alation.scim.token_info", {})])))
    assert res["token_present"] is False and res["rotation_due"] is True
    assert res["expires_at"] is None and res["days_remaining"] is None and res["expired"] is False


def test_info_check_mode(testbed, host, run_playbook):
    testbed.expire_in(host, 5)
    run = run_playbook(playbook([("alation.scim.token_info", {})]), check=True)
    (res,) = results(run)
    assert res["rotation_due"] is True and testbed.rotations(host) == 0


# ---------------------------------------------------------------- token_rotate

def test_rotate_when_due_then_second_run_changes_nothing(testbed, host, run_playbook, scanner):
    testbed.expire_in(host, 10)
    old_expiry = testbed.expires_at(host)
    old = testbed.current_token(host)
    steps = [("alation.scim.token_rotate", {"return_token": True})] * 2
    run = run_playbook(playbook(steps), leak_scanner=scanner)
    assert run.rc == 0, tail(run.stdout)
    first, second = results(run)
    new = testbed.current_token(host)
    scanner.add(new)
    assert new != old and testbed.rotations(host) == 1
    assert (first["changed"], first["rotated"], first["rotation_reason"]) == (True, True, "due")
    assert first["previous_expires_at"] == iso(old_expiry)
    assert first["expires_at"] == iso(testbed.expires_at(host))
    assert 180 <= first["days_remaining"] <= 184  # six months
    assert (first["rotation_due"], first["expired"], first["token_present"]) == (False, False, True)
    assert first["token_sha"] == sha(new) and first["previous_token_sha"] == sha(old)
    assert (second["changed"], second["rotated"], second["rotation_reason"]) == (False, False, "not_due")
    assert second["token_sha"] == sha(new) and "previous_token" not in second["result_keys"]
    assert run.stats[host]["changed"] == 1
    assert testbed.launches(host) == 2  # one Django launch per module call
    # Alation revoked the old token at once; the IdP must use the new one.
    assert testbed.scim_get(host, new) == 200
    assert testbed.scim_get(host, old) == 401
    rescan(scanner, run)
    scanner.scan_syslog()
    scanner.scan_host_logs(testbed)
    scanner.scan_host_files(testbed)
    scanner.assert_clean()


def test_rotate_not_due_changes_nothing(testbed, host, run_playbook):
    before = testbed.token_fingerprint(host)
    run = run_playbook(playbook([("alation.scim.token_rotate", {"rotate_before_days": 30})]))
    (res,) = results(run)
    assert (res["changed"], res["rotated"], res["rotation_reason"]) == (False, False, "not_due")
    assert "token" not in res["result_keys"]
    assert res["previous_expires_at"] == res["expires_at"] == iso(testbed.expires_at(host))
    assert testbed.token_fingerprint(host) == before and testbed.rotations(host) == 0


def test_rotate_force_rotates_a_fresh_token(testbed, host, run_playbook):
    old = testbed.current_token(host)
    run = run_playbook(playbook([("alation.scim.token_rotate", {"force": True, "return_token": True})]))
    (res,) = results(run)
    assert (res["changed"], res["rotated"], res["rotation_reason"]) == (True, True, "force")
    assert testbed.rotations(host) == 1 and testbed.current_token(host) != old
    assert res["token_sha"] == sha(testbed.current_token(host)) and res["previous_token_sha"] == sha(old)


def test_rotate_creates_missing_token(testbed, host, run_playbook):
    testbed.clear_token(host)
    run = run_playbook(playbook([("alation.scim.token_rotate", {"return_token": True})]))
    (res,) = results(run)
    assert (res["rotated"], res["rotation_reason"], res["previous_expires_at"]) == (True, "absent", None)
    assert res["token_present"] is True and res["token_sha"] == sha(testbed.current_token(host))
    assert "previous_token" not in res["result_keys"]


def test_rotate_check_mode_changes_nothing(testbed, host, run_playbook):
    testbed.expire_in(host, 3)
    before, expiry = testbed.token_fingerprint(host), testbed.expires_at(host)
    run = run_playbook(playbook([("alation.scim.token_rotate", {"return_token": True})]), check=True)
    assert run.rc == 0, tail(run.stdout)
    (res,) = results(run)
    assert (res["changed"], res["rotated"], res["rotation_reason"]) == (True, True, "due")
    assert res["expires_at"] == res["previous_expires_at"] == iso(expiry)
    assert res["token_sha"] == sha(testbed.current_token(host)) and "previous_token" not in res["result_keys"]
    assert testbed.token_fingerprint(host) == before and testbed.expires_at(host) == expiry
    assert testbed.rotations(host) == 0 and testbed.launches(host) == 1


def test_rotate_diff_shows_expiry_before_and_after(testbed, host, run_playbook):
    testbed.expire_in(host, 3)
    old_expiry = iso(testbed.expires_at(host))
    run = run_playbook(playbook([("alation.scim.token_rotate", {})]), check=True, diff=True)
    assert "-expires_at: %s" % old_expiry in run.stdout
    assert "+expires_at: (new token; Alation sets the expiry)" in run.stdout
    assert testbed.rotations(host) == 0
    run = run_playbook(playbook([("alation.scim.token_rotate", {})]), diff=True)
    assert "-expires_at: %s" % old_expiry in run.stdout
    assert "+expires_at: %s" % iso(testbed.expires_at(host)) in run.stdout
    assert testbed.rotations(host) == 1


def test_rotate_with_token_hides_the_diff_too(testbed, host, run_playbook, scanner):
    testbed.expire_in(host, 3)
    run = run_playbook(playbook([("alation.scim.token_rotate", {"return_token": True})]), diff=True,
                       verbosity=1, leak_scanner=scanner)
    scanner.add(testbed.current_token(host))
    assert testbed.rotations(host) == 1
    assert "censored" in run.stdout and "+expires_at" not in run.stdout
    rescan(scanner, run)
    scanner.assert_clean()


def test_concurrent_rotations_rotate_once(testbed, host, run_playbook):
    testbed.expire_in(host, 5)
    # A slow start-up makes the two launches overlap; without the host lock both would rotate.
    testbed.knob(host, startup_delay=3)
    pb = playbook([("alation.scim.token_rotate", {})])
    runs = []

    def go():
        runs.append(run_playbook(pb))
    threads = [threading.Thread(target=go), threading.Thread(target=go)]
    for t in threads:
        t.start()
        time.sleep(0.5)  # run_playbook numbers its work dirs; start both well inside each other's run
    for t in threads:
        t.join()
    assert [r.rc for r in runs] == [0, 0]
    changed = sorted(results(r)[0]["changed"] for r in runs)
    assert changed == [False, True]
    assert testbed.rotations(host) == 1 and testbed.launches(host) == 2
    assert min(r.duration for r in runs) > 3  # both really ran the slow shell


# ---------------------------------------------------------------- token_read

def test_read_returns_token_hidden_from_output(testbed, host, run_playbook, scanner):
    token = testbed.current_token(host)
    run = run_playbook(playbook([("alation.scim.token_read", {})]), verbosity=2, leak_scanner=scanner)
    assert run.rc == 0, tail(run.stdout)
    (res,) = results(run)
    assert res["token_sha"] == sha(token) and res["changed"] is False
    assert res["expires_at"] == iso(testbed.expires_at(host)) and res["token_present"] is True
    assert "censored" in run.stdout  # the action plugin hid the result without task no_log
    assert testbed.rotations(host) == 0 and testbed.launches(host) == 1
    scanner.assert_clean()


# ---------------------------------------------------------------- knob variants

def expected_expiry(testbed, host, expiry_type):
    dt = testbed.expires_at(host).astimezone(datetime.timezone.utc)
    if expiry_type == "date":
        dt = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    return iso(dt)


@pytest.mark.parametrize("knobs", [
    {"expiry_type": "aware"},
    {"expiry_type": "naive"},
    {"expiry_type": "date"},
    {"expiry_type": "iso"},
    {"shell_noise": True},
    {"interactive_console": True},
    {"interactive_console": True, "shell_noise": True},
    {"startup_delay": 3},
    {"set_returns_token": False},
    {"old_exec": True},
    {"token_months": 1},
    {"token_months": 2},
    {"token_months": 3},
    {"token_months": 6},
], ids=lambda k: ",".join("%s=%s" % i for i in sorted(k.items())))
def test_every_knob_variant(testbed, host, run_playbook, scanner, knobs):
    testbed.knob(host, **knobs)
    expiry_type = knobs.get("expiry_type", "aware")
    old = testbed.current_token(host)
    old_expiry = expected_expiry(testbed, host, expiry_type)
    steps = [("alation.scim.token_info", {}), ("alation.scim.token_rotate", {"force": True, "return_token": True}),
             ("alation.scim.token_read", {})]
    run = run_playbook(playbook(steps), leak_scanner=scanner)
    assert run.rc == 0, tail(run.stdout)
    new = testbed.current_token(host)
    scanner.add(new)
    info, rotate, read = results(run)
    assert info["expires_at"] == old_expiry and info["token_present"] is True
    assert rotate["rotated"] is True and rotate["previous_expires_at"] == old_expiry
    assert rotate["expires_at"] == expected_expiry(testbed, host, expiry_type)
    assert rotate["token_sha"] == sha(new) and rotate["previous_token_sha"] == sha(old) and new != old
    assert read["token_sha"] == sha(new) and read["expires_at"] == rotate["expires_at"]
    if "token_months" in knobs:  # 2023.3.2+: a lifetime of 1 to 6 months, reported as it is
        months = knobs["token_months"]
        assert 28 * months - 1 <= rotate["days_remaining"] <= 31 * months
    assert testbed.rotations(host) == 1
    assert testbed.launches(host) == 3
    assert testbed.scim_get(host, new) == 200 and testbed.scim_get(host, old) == 401
    rescan(scanner, run)
    scanner.scan_host_files(testbed)  # e.g. the interactive console's history file
    scanner.assert_clean()


@pytest.mark.parametrize("knobs", [{}, {"shell_noise": True, "interactive_console": True}])
def test_entry_init_script(testbed, host, run_playbook, knobs):
    testbed.knob(host, **knobs)
    old = testbed.current_token(host)
    args = {"entry": "init_script", "init_script": "/etc/init.d/alation"}
    steps = [("alation.scim.token_info", args),
             ("alation.scim.token_rotate", dict(args, force=True, return_token=True))]
    run = run_playbook(playbook(steps))
    assert run.rc == 0, tail(run.stdout)
    info, rotate = results(run)
    assert info["token_present"] is True and rotate["rotated"] is True
    assert rotate["token_sha"] == sha(testbed.current_token(host)) and rotate["previous_token_sha"] == sha(old)
    assert testbed.rotations(host) == 1 and testbed.launches(host) == 2


# ---------------------------------------------------------------- errors

ERRORS = [
    # error_kind, knobs, module args, play options, message part, fix part
    ("not_root", {}, {}, {"become": False}, "needs root", "Use become: true"),
    ("chroot_missing", {}, {"alation_root": "/opt/alation/nope"}, {},
     "The Alation chroot /opt/alation/nope does not exist", "Set alation_root"),
    ("init_script_missing", {}, {"entry": "init_script", "init_script": "/etc/init.d/nope"}, {},
     "The init script /etc/init.d/nope does not exist", "Set init_script"),
    ("user_missing", {}, {"alation_user": "nosuch"}, {}, "User nosuch does not exist inside /opt/alation/alation",
     "Set alation_user"),
    ("shell_command_missing", {}, {"django_shell_command": "alation_nope_shell"}, {},
     "The command alation_nope_shell was not found", "Set django_shell_command"),
    ("functions_missing", {"functions_missing": True}, {}, {}, "so it is older than 2021.4",
     "Upgrade Alation to 2021.4 or later"),
    ("exception", {"db_error": True}, {}, {}, "raised django.db.utils.OperationalError: database is locked",
     "Fix the cause inside Alation"),
    ("timeout", {"hang": True}, {"timeout": 5}, {}, "did not finish within 5 seconds; its whole process group was killed",
     "Raise timeout"),
    ("no_result", {"garbage": True}, {}, {}, "exited with status 0 without printing a result",
     "Run alation_django_shell by hand"),
]


# Every error through token_rotate (force, so anything that got through would rotate), and the
# ones that differ by module through token_read and token_info as well.
ERROR_RUNS = [("alation.scim.token_rotate", case) for case in ERRORS] + [
    (module, case) for module in ("alation.scim.token_read", "alation.scim.token_info")
    for case in ERRORS if case[0] in ("not_root", "functions_missing", "exception", "no_result")]


@pytest.mark.parametrize("module,case", ERROR_RUNS, ids=["%s-%s" % (m.split(".")[-1], c[0]) for m, c in ERROR_RUNS])
def test_errors_say_what_and_fix_and_change_nothing(testbed, host, run_playbook, scanner, module, case):
    kind, knobs, args, play, message, fix = case
    testbed.expire_in(host, 2)  # due, so a rotation would happen if anything went through
    testbed.knob(host, **knobs)
    before, expiry = testbed.token_fingerprint(host), testbed.expires_at(host)
    margs = dict(args, return_token=True, force=True) if module.endswith("rotate") else dict(args)
    run = run_playbook(playbook([(module, margs)], **play), verbosity=1, leak_scanner=scanner)
    assert run.rc == 2 and run.stats[host]["failed"] == 1
    assert message in run.stdout, "expected %r in the failure" % message
    assert fix in run.stdout and '"error_kind": "%s"' % kind in run.stdout
    assert testbed.token_fingerprint(host) == before and testbed.expires_at(host) == expiry
    assert testbed.rotations(host) == 0
    if kind == "timeout":
        assert testbed.django_shells(host) == [], "the hung Django shell survived the timeout"
    scanner.scan_syslog()
    scanner.assert_clean()


@pytest.mark.parametrize("module", ["alation.scim.token_rotate", "alation.scim.token_info"])
def test_a_shell_slow_to_exit_is_not_waited_for(testbed, host, run_playbook, scanner, module):
    """The module answers once the shell printed its result: after a rotation the shell's exit
    (Django's teardown, su's session close) would be part of the outage. A shell that never exits
    is still ended at the launch's timeout, by the module's detached watcher."""
    timeout = 15
    testbed.expire_in(host, 2)
    testbed.knob(host, exit_delay=-1)
    started = time.time()
    args = {"timeout": timeout, "return_token": True} if module.endswith("rotate") else {"timeout": timeout}
    run = run_playbook(playbook([(module, args)]), leak_scanner=scanner)
    took = time.time() - started
    assert run.rc == 0, tail(run.stdout)
    assert took < timeout, "the run waited %.1f s for a shell that had printed its result" % took
    assert testbed.rotations(host) == (1 if module.endswith("rotate") else 0)
    if module.endswith("rotate"):
        assert results(run)[0]["token_sha"] == sha(testbed.current_token(host))
    assert testbed.django_shells(host), "the shell should still be lingering right after the run"
    deadline = started + timeout + 3 + 5  # the timeout, the TERM-to-KILL grace (3 s), slack
    while time.time() < deadline and testbed.django_shells(host):
        time.sleep(0.5)
    assert testbed.django_shells(host) == [], "the lingering shell outlived the launch's timeout"
    scanner.scan_syslog()
    scanner.assert_clean()


def test_not_an_alation_host(testbed, run_playbook):
    run = run_playbook(playbook([("alation.scim.token_info", {})], host="plain1"))
    assert run.rc == 2
    assert "This is not an Alation host: neither the init script /etc/init.d/alation nor the Alation chroot" \
        in run.stdout
    assert '"error_kind": "not_alation_host"' in run.stdout


# ---------------------------------------------------------------- secrecy

def test_token_never_leaks_at_vvvv(testbed, host, run_playbook, scanner):
    testbed.expire_in(host, 1)
    steps = [("alation.scim.token_read", {}), ("alation.scim.token_rotate", {"return_token": True}),
             ("alation.scim.token_read", {}), ("alation.scim.token_info", {})]
    run = run_playbook(playbook(steps), verbosity=4, diff=True, leak_scanner=scanner)
    assert run.rc == 0, tail(run.stdout)
    scanner.add(testbed.current_token(host))
    assert len(scanner.tokens) == 2 and testbed.rotations(host) == 1
    assert "ESTABLISH SSH CONNECTION" in run.stdout  # really -vvvv
    assert len(results(run)) == 4
    rescan(scanner, run)
    scanner.scan_syslog()
    scanner.scan_host_logs(testbed)
    scanner.scan_host_files(testbed)
    scanner.assert_clean()


# ---------------------------------------------------------------- oldest supported host Pythons

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The same venv scripts/test.sh uses for sanity on the oldest ansible-core (2.16), the last one
# that still drives Python 2.7 and 3.6 targets.
VENV_OLDEST = os.environ.get("ALATION_SCIM_VENV_OLDEST", os.path.join(REPO_ROOT, ".venv-ansible-2.16"))
OLD_PYTHONS = {"2.7": "/root/.pyenv/versions/2.7.18/bin/python2", "3.6": "/root/.pyenv/versions/3.6.15/bin/python3"}


@pytest.fixture(scope="session")
def ansible_playbook_216():
    exe = os.path.join(VENV_OLDEST, "bin", "ansible-playbook")
    if not os.path.exists(exe):
        subprocess.run([sys.executable, "-m", "venv", VENV_OLDEST], check=True)
        subprocess.run([os.path.join(VENV_OLDEST, "bin", "pip"), "install", "--disable-pip-version-check", "-q",
                        "ansible-core>=2.16,<2.17"], check=True)
    return exe


@pytest.mark.parametrize("version", sorted(OLD_PYTHONS))
def test_modules_on_old_host_python(testbed, host, run_playbook, ansible_playbook_216, version, scanner):
    python = OLD_PYTHONS[version]
    assert os.path.exists(python), "pyenv Python %s is part of the machine set-up" % version
    old = testbed.current_token(host)
    steps = [("alation.scim.token_info", {}), ("alation.scim.token_rotate", {"force": True, "return_token": True}),
             ("alation.scim.token_read", {})]
    plays = json.loads(playbook(steps))
    plays[0]["vars"] = {"ansible_python_interpreter": python}
    env = dict(os.environ, ANSIBLE_CONFIG=run_playbook.config, ANSIBLE_COLLECTIONS_PATH=run_playbook.collections_path,
               ANSIBLE_NOCOLOR="1")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "playbook.yml")
        with open(path, "w") as f:
            json.dump(plays, f)
        with scanner.sample_processes():
            proc = subprocess.run([ansible_playbook_216, "-i", run_playbook.inventory, path], env=env, cwd=tmp, check=False,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    assert proc.returncode == 0, tail(proc.stdout)
    version = subprocess.run([ansible_playbook_216, "--version"], stdout=subprocess.PIPE, universal_newlines=True,
                             check=True).stdout
    assert "ansible-playbook [core 2.16" in version
    new = testbed.current_token(host)
    scanner.add(new)
    info, rotate, read = results(proc)
    assert info["token_present"] is True and rotate["rotated"] is True
    assert rotate["token_sha"] == sha(new) and rotate["previous_token_sha"] == sha(old) and new != old
    assert read["token_sha"] == sha(new) and read["expires_at"] == rotate["expires_at"]
    assert testbed.rotations(host) == 1 and testbed.launches(host) == 3
    scanner.scan_text("ansible-playbook 2.16 stdout", proc.stdout)
    scanner.scan_text("ansible-playbook 2.16 stderr", proc.stderr)
    scanner.scan_process_samples()
    scanner.assert_clean()
