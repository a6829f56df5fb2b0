"""`testbed install` owns its accounts (tests/testbed/accounts.py): the decision logic, then real
useradd / usermod runs on throw-away accounts (never the test bed's own `alation` / `deploy`,
which the shared fleet is using), removed again afterwards. Needs root; no test bed lock."""

import os
import pwd
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testbed"))
import accounts  # noqa: E402

ALATION = accounts.TESTBED_ACCOUNTS[0]
DEPLOY = accounts.TESTBED_ACCOUNTS[1]


def entry(name="alation", uid=1234, home="/opt/alation", shell="/bin/bash"):
    return pwd.struct_passwd((name, "x", uid, uid, "", home, shell))


# ------------------------------------------------------------------ decisions
def test_missing_accounts_are_made():
    assert accounts.plan(ALATION, None, None, False, []) == [
        ["useradd", "--home-dir", "/opt/alation", "--shell", "/bin/bash", "--system", "--no-create-home",
         "--user-group", "alation"]]
    steps = accounts.plan(DEPLOY, None, None, True, [])
    assert steps == [["useradd", "--home-dir", "/home/deploy", "--shell", "/bin/bash", "--create-home",
                      "--gid", "deploy", "deploy"], ["usermod", "-p", "*", "deploy"]]


def test_a_right_account_is_left_alone():
    assert accounts.plan(ALATION, entry(), "!", True, [(1, "gunicorn")]) == []
    assert accounts.plan(DEPLOY, entry("deploy", home="/home/deploy"), "*", True, []) == []


def test_another_home_or_shell_is_repaired():
    steps = accounts.plan(ALATION, entry(home="/home/alation", shell="/bin/sh"), "!", False, [])
    assert steps == [["groupadd", "alation"], ["usermod", "--home", "/opt/alation", "--shell", "/bin/bash", "alation"]]
    # a locked deploy cannot log in with its key: unlocked ('*' = no password)
    assert accounts.plan(DEPLOY, entry("deploy", home="/home/deploy"), "!$6$x", True, []) == [
        ["usermod", "-p", "*", "deploy"]]


def test_an_account_in_use_elsewhere_is_refused_with_what_to_do():
    with pytest.raises(accounts.Refused) as e:
        accounts.plan(ALATION, entry(home="/home/alation", uid=1001), "!", True, [(4242, "/usr/bin/python3 app.py")])
    msg = str(e.value)
    assert "user alation (uid 1001) exists with home /home/alation" in msg
    assert "needs home /opt/alation" in msg and "process 4242 (/usr/bin/python3 app.py)" in msg
    assert "userdel alation" in msg and "usermod --home /opt/alation alation" in msg
    assert "testbed install" in msg


def test_stale_owners_are_the_ids_that_changed():
    uids, gids = accounts.stale_owners({"alation": [1001, 1001], "deploy": [1002, 1002]},
                                       {"alation": [998, 1001], "deploy": [1002, 1002]})
    assert (uids, gids) == ({1001: 998}, {})


# ------------------------------------------------------------------ real runs on throw-away accounts
def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture
def throwaway(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("creates accounts: run as root")
    names = []

    def make(**kw):
        name = "tbx%s" % uuid.uuid4().hex[:8]
        names.append(name)
        return accounts.Account(name, kw.get("home", str(tmp_path / ("home-" + name))), "/bin/bash",
                                system=kw.get("system", True), create_home=kw.get("create_home", False),
                                key_login=kw.get("key_login", False))
    yield make
    for name in names:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", name], check=False, stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", name], check=False, stderr=subprocess.DEVNULL)


def ensure(accts, state_dir, stops=None):
    logs, stops = [], [] if stops is None else stops
    accounts.ensure(accts, str(state_dir), set(), accounts.run_checked, logs.append, lambda: stops.append(1))
    return logs


def test_real_repair_and_stale_files_handed_over(throwaway, tmp_path):
    acct = throwaway(key_login=True, create_home=True, system=False)
    state = tmp_path / "state"
    state.mkdir()
    # someone else's account of that name: other home, other shell, locked password
    sh("useradd", "--home-dir", "/nonexistent-" + acct.name, "--shell", "/bin/sh", "--user-group", acct.name)
    logs = ensure([acct], state)
    got = pwd.getpwnam(acct.name)
    assert (got.pw_dir, got.pw_shell) == (acct.home, "/bin/bash"), logs
    assert accounts._password_hash(acct.name) == "*"
    assert os.stat(acct.home).st_uid == got.pw_uid
    assert ensure([acct], state) == []  # nothing left to do

    # the account is deleted and made again (new uid): files the old one left are handed over
    old = got.pw_uid
    stale = state / "hosts" / "h1" / "site" / "logs"
    stale.mkdir(parents=True)
    (stale / "django.log").write_text("x")
    for p in (stale, stale / "django.log"):
        os.chown(p, old, got.pw_gid)
    sh("userdel", acct.name)
    sh("useradd", "--uid", str(old + 1), "--home-dir", acct.home, "--shell", "/bin/bash", "--no-user-group",
       acct.name)
    stops = []
    logs = ensure([acct], state, stops)
    new = pwd.getpwnam(acct.name)
    assert new.pw_uid == old + 1
    assert os.stat(stale / "django.log").st_uid == new.pw_uid and os.stat(stale).st_uid == new.pw_uid
    assert stops, "the hosts must restart after their files changed owner"
    assert any("handed to the current ones: 2" in line for line in logs), logs


def test_real_refusal_changes_nothing(throwaway, tmp_path):
    acct = throwaway()
    sh("useradd", "--system", "--home-dir", "/srv/" + acct.name, "--shell", "/bin/sh", "--user-group", acct.name)
    proc = subprocess.Popen(["runuser", "-u", acct.name, "--", "sleep", "60"])
    try:
        for _attempt in range(50):
            if accounts.processes_of(pwd.getpwnam(acct.name).pw_uid, set()):
                break
            time.sleep(0.1)
        with pytest.raises(accounts.Refused) as e:
            ensure([acct], tmp_path)
        assert "in use by process" in str(e.value) and "sleep 60" in str(e.value)
        got = pwd.getpwnam(acct.name)
        assert (got.pw_dir, got.pw_shell) == ("/srv/" + acct.name, "/bin/sh")
    finally:
        subprocess.run(["pkill", "-KILL", "-u", acct.name], check=False)  # runuser's child too
        proc.wait()
    ensure([acct], tmp_path)  # once the process is gone, the same run repairs it
    assert pwd.getpwnam(acct.name).pw_shell == "/bin/bash"
