"""sudo with `requiretty` (older RHEL/CentOS): rotate_scim.yml with pipelining off rotates, pushes to
Entra and leaks the token nowhere; with pipelining on, sudo refuses and nothing is rotated.

The test bed knob `sudo_requiretty` adds `Defaults:deploy requiretty` to the host's sudoers (inside
that host's namespace only). Without pipelining Ansible copies each module to the host and runs it
over `ssh -tt`, so sudo gets its tty; the module files it copies must not hold a token, on either side,
even for the moment they exist: a sampler reads every file under the temp directories every 20 ms.
"""

import contextlib
import os
import subprocess
import threading

import pytest

from test_rotate_scim import MARKER, assert_pushed_and_working, dump, summary_row
# sim is a fixture: pytest finds it by name in this module.
from test_rotate_scim import sim  # noqa: F401  pylint: disable=unused-import
from testbed_fixtures import fp

HOST = "alation1"
PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "playbooks", "rotate_scim.yml")
NO_TTY = "sorry, you must have a tty to run sudo"


@pytest.fixture
def host(testbed):
    testbed.reset(HOST)
    testbed.knob(HOST, sudo_requiretty=True)
    yield HOST
    testbed.reset(HOST)


def rotate(run_playbook, pipelining, **kwargs):
    extra_vars = {"alation_scim_hosts": "alation", "alation_scim_idp": "entra", "alation_scim_verify_delay": 1,
                  "alation_scim_pending_marker": MARKER}
    return run_playbook(PLAYBOOK, limit=HOST, extra_vars=extra_vars,
                        env={"ANSIBLE_PIPELINING": "True" if pipelining else "False"}, **kwargs)


class FileSampler:
    """Keeps every version of every file that shows up under `roots` while it runs (scanned later)."""

    def __init__(self, roots):
        self.roots = roots
        self.seen = {}

    def _once(self):
        for root in self.roots:
            for directory, _dirs, files in os.walk(root):
                for name in files:
                    path = os.path.join(directory, name)
                    try:
                        with open(path, "rb") as f:
                            data = f.read(5 * 1024 * 1024)
                    except OSError:
                        continue
                    self.seen.setdefault(path, set()).add(data)

    @contextlib.contextmanager
    def running(self, interval=0.02):
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                self._once()
                stop.wait(interval)
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    def scan(self, scanner):
        for path, versions in self.seen.items():
            for data in versions:
                scanner.scan_text("file (sampled while it existed) %s" % path, data)


def test_the_knob_really_requires_a_tty(testbed, host):
    r = testbed.ssh(host, "sudo -n true")
    assert r.returncode != 0 and NO_TTY in r.stderr
    argv = testbed.ssh_argv(host)
    tty = subprocess.run(argv[:-1] + ["-tt", argv[-1], "sudo -n true; echo rc=$?"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60,
                         check=False)
    assert "rc=0" in tty.stdout, tty.stdout[-500:]


def test_pipelining_off_rotates_pushes_and_leaks_nothing(testbed, sim, host, run_playbook, leak_scanner):  # noqa: F811
    sp = testbed.entra["hosts"][host]["service_principal_id"]
    baseline = rotate(run_playbook, pipelining=False)  # puts the current token into Entra
    assert baseline.rc == 0, "baseline run failed: %r" % baseline
    assert fp(sim.stored_token(sp)) == fp(testbed.current_token(host))
    testbed.expire_in(host, 5)
    old = testbed.current_token(host)
    leak_scanner.add(old)
    leak_scanner.add(testbed.entra["client_secret"])
    sampler = FileSampler(["/root/.ansible", "/home/deploy/.ansible", os.path.join(testbed.host_dir(host), "tmp"),
                           run_playbook.workdir])
    with sampler.running():
        r = rotate(run_playbook, pipelining=False, verbosity=4, leak_scanner=leak_scanner)
    assert r.rc == 0, "rotation run failed: %r" % r
    assert "PUT " in r.stdout and "AnsiballZ_" in r.stdout, "modules were not copied: pipelining was not off"
    assert "-tt" in r.stdout  # ssh asked for a tty, which is what satisfies requiretty
    assert testbed.rotations(host) == 1
    assert_pushed_and_working(testbed, sim, host, old)
    assert summary_row(r, host)[3:7] == ["yes", "yes", "yes", "rotated"]
    new = testbed.current_token(host)
    leak_scanner.add(new)
    for name, text in (("stdout", r.stdout), ("stderr", r.stderr), ("log", r.log)):
        leak_scanner.scan_text(name, text)
    leak_scanner.scan_process_samples()
    leak_scanner.scan_syslog()
    leak_scanner.scan_host_logs(testbed)
    leak_scanner.scan_host_files(testbed)
    sampler.scan(leak_scanner)
    assert sampler.seen, "the sampler saw no file at all: it watched the wrong places"
    leak_scanner.assert_clean()


def test_pipelining_on_a_host_module_fails_with_sudos_message(testbed, host, run_playbook):
    """What Ansible itself shows (ansible-core 2.19): "Module result deserialization failed: No start of json
    char found", with sudo's refusal in module_stderr."""
    from test_host_modules import playbook
    before = testbed.token_fingerprint(host)
    r = run_playbook(playbook([("alation.scim.token_info", {})], host=host),
                     env={"ANSIBLE_PIPELINING": "True"})
    assert r.rc == 2 and r.stats[host]["failed"] == 1
    assert "Module result deserialization failed" in r.stdout
    assert '"module_stderr": "sudo: %s' % NO_TTY in r.stdout
    assert testbed.token_fingerprint(host) == before and testbed.rotations(host) == 0 and testbed.launches(host) == 0


def test_pipelining_on_the_playbook_fails_before_the_rotation(testbed, sim, host, run_playbook):  # noqa: F811
    testbed.expire_in(host, 5)
    before = testbed.token_fingerprint(host)
    r = rotate(run_playbook, pipelining=True)
    dump(r, "requiretty-pipelining-on")
    # The message depends on whether an expiry record let the action skip its read-only launch
    # ("Nothing was rotated" / "The rotation step ... failed"); both say the launch gave no result
    # and quote sudo (the cycle sends its host code on stdin, as pipelining does: _host_script.py).
    assert r.rc == 2 and "The launch gave no result (rc=1)" in r.stdout and NO_TTY in r.stdout
    assert testbed.token_fingerprint(host) == before and testbed.rotations(host) == 0 and testbed.launches(host) == 0


def test_pipelining_on_the_playbook_says_sudo_wants_a_tty(testbed, sim, host, run_playbook):  # noqa: F811
    testbed.expire_in(host, 5)
    before = testbed.rotations(host)
    r = rotate(run_playbook, pipelining=True)
    assert r.rc == 2 and NO_TTY in r.stdout + r.stderr
    assert "turn pipelining off" in r.stdout and testbed.rotations(host) == before
