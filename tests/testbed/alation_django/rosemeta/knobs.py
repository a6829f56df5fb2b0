"""Fault knobs of a simulated Alation host, read from <site>/knobs.json at every use.

Plain Python with no Django import: the test bed's own tooling loads this file too, so the
defaults live in exactly one place.
"""
import json
import os

SITE_DIR = os.environ.get("ALATION_SITE_DIR", "/opt/alation/site")

DEFAULTS = {
    # what get_scim_bearer_token_expiry_date() returns: aware datetime | naive UTC datetime |
    # date | ISO 8601 string (None whenever no token exists)
    "expiry_type": "aware",
    # set_scim_bearer_token() returns the new token (True) or None (False)
    "set_returns_token": True,
    # .profile prints a banner; Django prints "Error decrypting value..." lines on stdout
    "shell_noise": False,
    # manage.py shell ignores piped stdin and runs the interactive console (prompts on stdout)
    "interactive_console": False,
    # seconds of extra Django start-up time
    "startup_delay": 0,
    # Alation < 2021.4: configuration_utils exists but the three functions do not
    "functions_missing": False,
    # the three functions raise django.db.utils.OperationalError
    "db_error": False,
    # the Django shell never returns
    "hang": False,
    # seconds the Django shell takes to exit after it ran its input (Django's teardown, a
    # non-daemon thread, an atexit hook); -1: it never exits
    "exit_delay": 0,
    # old Django: exec(stdin) with no globals dict (functions can't see top-level imports)
    "old_exec": False,
    # alation_django_shell prints junk and exits 0 without running its input
    "garbage": False,
    # lifetime in months that set_scim_bearer_token() gives a new token (2023.3.2+: 1..6)
    "token_months": 6,
    # Host knobs: the test bed applies these to the host itself (mounts in its namespace, files),
    # at `knob`/`reset`/`up` time, not at launch (testbed_lib.Testbed.apply_host_knobs).
    # alation's home inside the chroot: present | missing (passwd says /home/alation, not there)
    "alation_home": "present",
    # the alation user inside the chroot: present | missing (not in the chroot's /etc/passwd)
    "chroot_user": "present",
    # root's su to alation inside the chroot: ok | password_required (pam.d/su without pam_rootok)
    # | account_expired (the account's expiry date is past)
    "su_auth": "ok",
    # alation_django_shell in /opt/alation/bin: ok | missing | not_executable
    "shell_command": "ok",
    # sudo on the host requires a tty for deploy (Defaults:deploy requiretty, older RHEL/CentOS)
    "sudo_requiretty": False,
}
CHOICES = {"expiry_type": ("aware", "naive", "date", "iso"), "alation_home": ("present", "missing"),
           "chroot_user": ("present", "missing"), "su_auth": ("ok", "password_required", "account_expired"),
           "shell_command": ("ok", "missing", "not_executable")}
HOST_KNOBS = ("alation_home", "chroot_user", "su_auth", "shell_command", "sudo_requiretty")


def load(site_dir=None):
    knobs = dict(DEFAULTS)
    try:
        with open(os.path.join(site_dir or SITE_DIR, "knobs.json")) as f:
            knobs.update(json.load(f))
    except (IOError, OSError):
        pass
    return knobs


if __name__ == "__main__":
    # `knobs.py NAME` prints one knob as shell-friendly text (true/false/value).
    import sys

    value = load()[sys.argv[1]]
    print(str(value).lower() if isinstance(value, bool) else value)
