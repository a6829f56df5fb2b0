"""Launch failures on a real host, alone and combined: each names the cause and the fix, and changes nothing.

The faults are the host's own (test bed host knobs, tests/testbed/README.md): a passwd without the
alation user or with a home that is not in the chroot, su's PAM stack without pam_rootok, an
expired account, alation_django_shell missing or not executable. The modules run over real SSH +
sudo through the chroot and su, as in production.
"""

import pytest

from test_host_modules import playbook, results, tail

HOST = "alation2"

HOME_WARNING = "su warned that /home/alation of user alation does not exist inside /opt/alation/alation"

# id, host knobs, module args, error_kind, message part, fix part, home warning expected
CASES = [
    ("command-missing", {"shell_command": "missing"}, {}, "shell_command_missing",
     "The command alation_django_shell was not found on the PATH", "Set django_shell_command", False),
    ("command-not-executable", {"shell_command": "not_executable"}, {}, "shell_command_not_executable",
     "could not be executed: Permission denied (exit status 126)", "chmod 755", False),
    ("user-missing", {"chroot_user": "missing"}, {}, "user_missing",
     "User alation does not exist inside /opt/alation/alation", "Set alation_user", False),
    ("su-password-required", {"su_auth": "password_required"}, {}, "su_auth_failed",
     "su to user alation inside /opt/alation/alation was refused", "pam_rootok", False),
    ("su-account-expired", {"su_auth": "account_expired"}, {}, "su_auth_failed",
     "Your account has expired", "chage -l alation", False),
    # The case: home missing, so the profile is not read and the command is not on PATH.
    ("home-missing+command-not-on-path", {"alation_home": "missing"}, {}, "shell_command_missing",
     "The command alation_django_shell was not found on the PATH", "login profile was not read", True),
    ("home-missing+command-not-executable", {"alation_home": "missing", "shell_command": "not_executable"},
     {"django_shell_command": "/opt/alation/bin/alation_django_shell"}, "shell_command_not_executable",
     "Permission denied (exit status 126)", "chmod 755", True),
    ("home-missing+account-expired", {"alation_home": "missing", "su_auth": "account_expired"}, {},
     "su_auth_failed", "Your account has expired", "pam_rootok", False),
    ("init-script+command-missing", {"shell_command": "missing"}, {"entry": "init_script"},
     "shell_command_missing", "The command alation_django_shell was not found", "Set django_shell_command", False),
    ("init-script+user-missing", {"chroot_user": "missing"}, {"entry": "init_script"}, "user_missing",
     "The user /etc/init.d/alation switches to does not exist inside", "entry: chroot", False),
]


@pytest.fixture
def host(testbed):
    testbed.reset(HOST)
    yield HOST
    testbed.reset(HOST)


def _module_cases():
    """Every case through token_rotate; through token_info the single faults and the combination
    the issue names (the other combinations test the same diagnosis code a second time)."""
    for case in CASES:
        name = case[0]
        yield pytest.param("alation.scim.token_rotate", case, id="%s-alation.scim.token_rotate" % name)
        if "+" not in name or name.startswith("home-missing+command"):
            yield pytest.param("alation.scim.token_info", case, id="%s-alation.scim.token_info" % name)


@pytest.mark.parametrize("module,case", list(_module_cases()))
def test_launch_failure_names_cause_and_fix(testbed, host, run_playbook, leak_scanner, module, case):
    name, knobs, args, kind, message, fix, home_warning = case
    testbed.expire_in(host, 2)  # due: anything that got through would rotate
    testbed.knob(host, **knobs)
    leak_scanner.add(testbed.current_token(host))
    before, expiry, launches = testbed.token_fingerprint(host), testbed.expires_at(host), testbed.launches(host)
    margs = dict(args, force=True, return_token=True) if module.endswith("rotate") else dict(args)
    run = run_playbook(playbook([(module, margs)], host=host), verbosity=1, leak_scanner=leak_scanner)
    assert run.rc == 2 and run.stats[host]["failed"] == 1, tail(run.stdout)
    assert '"error_kind": "%s"' % kind in run.stdout, tail(run.stdout)
    assert message in run.stdout and fix in run.stdout, tail(run.stdout)
    assert '"nothing_changed": true' in run.stdout
    assert (HOME_WARNING in run.stdout) is home_warning, tail(run.stdout)
    if home_warning:
        assert "[WARNING]: su warned that /home/alation" in run.stdout + run.stderr  # its own warning too
    assert testbed.token_fingerprint(host) == before and testbed.expires_at(host) == expiry
    assert testbed.rotations(host) == 0
    assert testbed.launches(host) == launches  # alation_django_shell never started
    leak_scanner.assert_clean()


def test_missing_home_alone_is_a_warning_and_the_launch_works(testbed, host, run_playbook):
    """With the command given by its full path the launch works: the missing home only warns."""
    testbed.knob(host, alation_home="missing")
    args = {"django_shell_command": "/opt/alation/bin/alation_django_shell"}
    run = run_playbook(playbook([("alation.scim.token_info", args),
                                 ("alation.scim.token_rotate", dict(args, force=True))], host=host))
    assert run.rc == 0, tail(run.stdout)
    info, rotate = results(run)
    assert info["token_present"] is True and rotate["rotated"] is True
    assert testbed.rotations(host) == 1
    assert "[WARNING]: su warned that /home/alation of user alation" in run.stdout + run.stderr
    for res in (info, rotate):  # each launch warned (Ansible prints a repeated warning once)
        assert [w for w in res.get("warnings", []) if w.startswith("su warned that /home/alation")], res.get("warnings")


def test_a_launch_warning_passes_through_the_rotation_cycle_as_text(testbed, host, run_playbook):
    """The role's one task (alation.scim.token_rotation_cycle) passes the host module's warnings on:
    ansible-core 2.19 hands them to the action as objects json cannot serialise, and the task failed
    with "Object of type WarningSummary is not JSON serializable" (after rotating, for a rotation)."""
    testbed.knob(host, alation_home="missing")
    args = {"django_shell_command": "/opt/alation/bin/alation_django_shell"}
    run = run_playbook(playbook([("alation.scim.token_rotation_cycle", dict(args, mode="check")),
                                 ("alation.scim.token_rotation_cycle", dict(args, idp="none", force=True, verify=False,
                                                                            base_url="{{ alation_scim_base_url }}"))],
                                host=host))
    assert run.rc == 0, tail(run.stdout)
    check, rotation = results(run)
    assert check["report"]["status"] == "ok" and rotation["rotated"] is True, tail(run.stdout)
    assert testbed.rotations(host) == 1
    for res in (check, rotation):
        assert [w for w in res.get("warnings", []) if w.startswith("su warned that /home/alation")], res.get("warnings")
    assert "JSON serializable" not in run.stdout + run.stderr


def test_knobs_are_undone_by_reset(testbed, host, run_playbook):
    testbed.knob(host, chroot_user="missing", shell_command="missing", su_auth="account_expired")
    testbed.reset(host)
    run = run_playbook(playbook([("alation.scim.token_info", {})], host=host))
    assert run.rc == 0, tail(run.stdout)
    assert "WARNING" not in run.stdout + run.stderr
