"""Fixtures and helpers for integration tests against the test bed (tests/testbed/).

Fixtures (registered by tests/integration/conftest.py):

``testbed`` (session): takes the test bed's session lock (one pytest session at a time drives
the shared fleet; a second one waits and says so), runs ``tests/testbed/testbed install`` and
``up`` once (idempotent, seconds when already up), then yields a ``testbed_lib.Testbed``:

    testbed.inventory            path of the inventory (groups: alation, plain, all + localhost)
    testbed.hosts                ['alation1', 'alation2', 'alation3']   Alation hosts
    testbed.plain_hosts          ['plain1']                             SSH+sudo, not Alation
    testbed.ca_path              test CA (PEM) that signed every server certificate
    testbed.address(host)        '127.0.10.N'
    testbed.scim_base_url(host)  'https://127.0.10.N:8443/scim/v2/'
    testbed.knob(host, **knobs)  e.g. knob('alation1', expiry_type='naive', startup_delay=3);
                                 knob value None = back to default. Knobs: expiry_type
                                 (aware|naive|date|iso), set_returns_token, shell_noise,
                                 interactive_console, startup_delay (s), functions_missing,
                                 db_error, hang, old_exec, garbage, token_months
    testbed.reset(host)          default knobs, fresh token valid 180 days, rotations/launches = 0
    testbed.expire_in(host, d)   token expires in d days (float, negative = expired)
    testbed.clear_token(host)    no token configured
    testbed.seed_token(host, days=180)
    testbed.current_token(host)  raw token or None (compare/scan only, NEVER print it)
    testbed.token_fingerprint(host), testbed.expires_at(host) (aware datetime or None)
    testbed.rotations(host)      set_scim_bearer_token() calls since reset
    testbed.launches(host)       alation_django_shell launches since reset
    testbed.scim_get(host, token, path='Users') -> HTTP status (CA verified)
    testbed.scim_request(host, token, path, method='GET', body=None) -> (status, json)
    testbed.ssh(host, command, input=None, timeout=60) -> CompletedProcess (ssh as deploy)
    testbed.django_shells(host) / testbed.kill_django_shells(host)   stray manage.py shells
    testbed.entra                dict with tenant_id, client_id, client_secret, url, ca_path,
                                 admin_url, and per host service_principal_id / job_id
                                 (None if the Entra simulator is not installed)

``run_playbook`` (function fixture, session-wide config):

    r = run_playbook(playbook, limit=None, extra_vars=None, check=False, diff=False,
                     verbosity=0, env=None, timeout=600, tags=None, leak_scanner=None, inventories=())
    playbook: a path, or YAML text (written to a temp file).
    r.rc, r.stdout, r.stderr, r.log (text of ANSIBLE_LOG_PATH), r.log_path,
    r.stats = {'alation1': {'ok': 3, 'changed': 1, 'unreachable': 0, 'failed': 0,
                            'skipped': 0, 'rescued': 0, 'ignored': 0}, ...}  (PLAY RECAP)
    r.cmd (argv list), r.duration (s)
    extra_vars go through a 0600 temp file (-e @file) so they never sit in an argv.
    With leak_scanner=..., processes are sampled every 50 ms during the run and stdout,
    stderr and the log are scanned afterwards (call scanner.assert_clean() yourself).

``LeakScanner(tokens)``: collects where any of the given secret values show up, never the
values themselves.

    s = LeakScanner([old_token])      # starts remembering /var/log/syslog's size now
    s.add(new_token)                  # more secrets any time before scanning
    s.scan_text(name, text); s.scan_files(paths); s.scan_syslog()
    s.scan_host_logs(testbed)     site/logs of every Alation host
    s.scan_host_files(testbed)    + hosts' /tmp, chroot /tmp and alation's home, ~/.ansible dirs
    with s.sample_processes(): ...    # background thread reading /proc/*/cmdline+environ
    s.findings -> ['stdout: secret #1', ...];  s.assert_clean()

IdP simulator helpers (plain functions, so each test module keeps its own fixtures):

    fp(token)                          fingerprint, or None without a token (safe to print)
    Secrets(dict)                      settings whose repr names the keys only (pytest tracebacks)
    launch_simulator(launch, testbed)  Secrets of `<idp>_sim/launch.py` up() for every Alation host
    fresh_simulator(client)            the admin client, without a fault and reset
    sp_of(testbed, host)               the host's Entra service principal id
"""

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import syslog
import tempfile
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTBED_DIR = os.path.join(REPO_ROOT, "tests", "testbed")
TESTBED_CMD = os.path.join(TESTBED_DIR, "testbed")
sys.path.insert(0, TESTBED_DIR)

import collection_link  # noqa: E402  (path set just above)
import testbed_lib  # noqa: E402

VENV_BIN = os.path.dirname(sys.executable)
DEFAULT_ALATION_HOSTS = 3
DEFAULT_PLAIN_HOSTS = 1

RECAP_RE = re.compile(r"^(\S+)\s*:\s*((?:\w+=\d+\s*)+)$")


def testbed_cli(*args, timeout=900):
    """Run the test bed CLI with this interpreter; raise with its output on failure."""
    proc = subprocess.run(
        [sys.executable, TESTBED_CMD] + list(args),
        check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError("testbed %s failed (rc=%d):\n%s" % (" ".join(args), proc.returncode, proc.stdout[-4000:]))
    return proc.stdout


@contextlib.contextmanager
def session_lock(path=os.path.join(testbed_lib.STATE_DIR, "pytest-session.lock")):
    """Serialise pytest sessions on this machine: they all share one fleet and its knobs."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 100, 0).decode(errors="replace").strip()
            sys.stderr.write("\ntestbed: waiting for the test session holding %s (%s)\n" % (path, holder))
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("pid %d: %s" % (os.getpid(), " ".join(sys.argv))).encode()[:200], 0)
        yield
    finally:
        os.close(fd)


def start_testbed(hosts=DEFAULT_ALATION_HOSTS, plain_hosts=DEFAULT_PLAIN_HOSTS):
    testbed_cli("install")
    testbed_cli("up", "--hosts", str(hosts), "--plain-hosts", str(plain_hosts),
                "--controller-python", sys.executable)
    tb = testbed_lib.Testbed()
    return tb


# ---------------------------------------------------------------- run_playbook
class PlaybookResult:
    def __init__(self, cmd, rc, stdout, stderr, log_path, duration):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.log_path = log_path
        self.duration = duration
        self.stats = parse_recap(stdout)

    @property
    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __repr__(self):
        # Deliberately no stdout here: assertion messages may print the repr.
        return "PlaybookResult(rc=%r, stats=%r)" % (self.rc, self.stats)


RESULT_RE = re.compile(r"^(?:ok|changed|failed|fatal): \[([^\]]+)\] => (\{.*\})$")


def reports_in(stdout):
    """{host: the last alation_scim_report its tasks set}, from -v output (every run prints its task
    results there; a check-mode run writes no report files)."""
    found = {}
    for line in stdout.splitlines():
        m = RESULT_RE.match(line.strip())
        if m:
            try:
                facts = json.loads(m.group(2)).get("ansible_facts") or {}
            except ValueError:
                continue
            if "alation_scim_report" in facts:
                found[m.group(1)] = facts["alation_scim_report"]
    return found


def parse_recap(stdout):
    stats = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap:
            m = RECAP_RE.match(line.strip())
            if m:
                stats[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return stats


class PlaybookRunner:
    """Writes an ansible.cfg + collections path once; each call runs ansible-playbook."""

    def __init__(self, inventory, workdir):
        self.inventory = inventory
        self.workdir = workdir
        self.collections_path = collection_link.link_into(os.path.join(workdir, "collections"))
        self.cp_dir = os.path.join(workdir, "cp")
        os.makedirs(self.cp_dir, exist_ok=True)
        self.config = os.path.join(workdir, "ansible.cfg")
        with open(self.config, "w") as f:
            f.write(
                "[defaults]\n"
                "inventory = %s\n"
                "collections_path = %s\n"
                "collections_scan_sys_path = False\n"
                "forks = 10\n"
                "gathering = explicit\n"
                "host_key_checking = True\n"
                "retry_files_enabled = False\n"
                "stdout_callback = default\n"
                "timeout = 30\n"
                "\n[ssh_connection]\n"
                "pipelining = True\n"
                "control_path_dir = %s\n" % (inventory, self.collections_path, self.cp_dir)
            )
        self.counter = 0

    def __call__(self, playbook, limit=None, extra_vars=None, check=False, diff=False,
                 verbosity=0, env=None, timeout=600, tags=None, leak_scanner=None, inventories=(), ansible_bin=None):
        """ansible_bin: the bin directory of another ansible-core (the ends of the supported range)."""
        bin_dir = ansible_bin or VENV_BIN
        self.counter += 1
        run_dir = os.path.join(self.workdir, "run%03d" % self.counter)
        os.makedirs(run_dir)
        if "\n" in playbook or not os.path.exists(playbook):
            path = os.path.join(run_dir, "playbook.yml")
            with open(path, "w") as f:
                f.write(playbook)
            playbook = path
        log_path = os.path.join(run_dir, "ansible.log")
        cmd = [os.path.join(bin_dir, "ansible-playbook"), "-i", self.inventory, playbook]
        for extra_inventory in inventories:  # more host variables (the test bed's inventory stays first)
            cmd += ["-i", extra_inventory]
        vars_file = None
        if extra_vars:
            vars_file = os.path.join(run_dir, "extra_vars.json")
            fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(extra_vars, f)
            cmd += ["-e", "@" + vars_file]
        if limit:
            cmd += ["--limit", limit if isinstance(limit, str) else ",".join(limit)]
        if tags:
            cmd += ["--tags", tags if isinstance(tags, str) else ",".join(tags)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_CONFIG": self.config,
            "ANSIBLE_COLLECTIONS_PATH": self.collections_path,
            "ANSIBLE_LOG_PATH": log_path,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": bin_dir + os.pathsep + run_env.get("PATH", "/usr/bin:/bin"),
            "PYTHONUNBUFFERED": "1",
        })
        if env:
            run_env.update(env)
        started = time.time()
        sampler = leak_scanner.sample_processes() if leak_scanner is not None else contextlib.nullcontext()
        try:
            with sampler:
                proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=run_env,
                                      universal_newlines=True, timeout=timeout, cwd=run_dir)
        finally:
            if vars_file:
                os.unlink(vars_file)
        result = PlaybookResult(cmd, proc.returncode, proc.stdout, proc.stderr, log_path, time.time() - started)
        if leak_scanner is not None:
            leak_scanner.scan_run(result)
        return result


# ---------------------------------------------------------------- leak scanning
class LeakScanner:
    """Finds secret values in texts, files, syslog and live processes; reports places only."""

    SYSLOG = "/var/log/syslog"

    def __init__(self, tokens=(), syslog_path=SYSLOG):
        self.tokens = []
        for t in tokens:
            self.add(t)
        self.findings = []
        self.syslog_path = syslog_path
        try:
            self.syslog_offset = os.path.getsize(syslog_path)
        except OSError:
            self.syslog_offset = 0
        self._samples = set()
        self._lock = threading.Lock()

    def add(self, token):
        # Short values would match by accident; tokens here are long random strings.
        if token and len(token) >= 8 and token not in self.tokens:
            self.tokens.append(token)

    def _check(self, where, text):
        found = []
        for i, tok in enumerate(self.tokens):
            if tok in text:
                found.append("%s: secret #%d (%s)" % (where, i, testbed_lib.fingerprint(tok)))
        self.findings.extend(found)
        return found

    def scan_text(self, name, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return self._check(name, text or "")

    def scan_run(self, result):
        """A playbook run's stdout, stderr and ANSIBLE_LOG_PATH (a PlaybookResult)."""
        self.scan_text("ansible-playbook stdout", result.stdout)
        self.scan_text("ansible-playbook stderr", result.stderr)
        self.scan_text("ANSIBLE_LOG_PATH", result.log)

    def scan_files(self, paths):
        found = []
        for path in paths:
            if os.path.isdir(path):
                for root, _dirs, files in os.walk(path):
                    found += self.scan_files(os.path.join(root, f) for f in files)
                continue
            try:
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                with open(path, "rb") as f:
                    data = f.read(50 * 1024 * 1024)
            except OSError:
                continue
            found += self.scan_text("file %s" % path, data)
        return found

    def _syslog_barrier(self, timeout=5.0):
        """Log a marker and wait for it: everything logged before it is then in the file."""
        marker = "alation-scim-leakscan-barrier-%d-%f" % (os.getpid(), time.time())
        syslog.openlog("leakscanner", 0, syslog.LOG_USER)
        syslog.syslog(syslog.LOG_INFO, marker)
        syslog.closelog()
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(self.syslog_path, "rb") as f:
                    f.seek(self.syslog_offset)
                    if marker.encode() in f.read():
                        return
            except OSError:
                pass
            time.sleep(0.05)

    def scan_syslog(self):
        self._syslog_barrier()
        try:
            with open(self.syslog_path, "rb") as f:
                f.seek(self.syslog_offset)
                data = f.read()
        except OSError:
            return []
        return self.scan_text("syslog %s (new lines)" % self.syslog_path, data)

    def scan_host_logs(self, testbed):
        """Alation-side logs of every host (site/logs): the app's own log files, not its DB."""
        paths = [os.path.join(testbed.site_dir(h), "logs") for h in testbed.hosts]
        return self.scan_files(paths)

    def scan_host_files(self, testbed):
        """Every place a run could leave files, except the Alation DB (the system itself):
        site/logs, each host's /tmp, the chroot's /tmp, /var/tmp and alation's home (e.g.
        .python_history), deploy's and root's ~/.ansible."""
        paths = ["/home/deploy", "/root/.ansible/tmp"]
        for h in testbed.hosts + testbed.plain_hosts:
            paths.append(os.path.join(testbed.host_dir(h), "tmp"))
        for h in testbed.hosts:
            chroot = os.path.join(testbed.host_dir(h), "opt", "alation-" + testbed_lib.ALATION_VERSION)
            paths += [os.path.join(testbed.site_dir(h), "logs"), os.path.join(chroot, "tmp"),
                      os.path.join(chroot, "var", "tmp"), os.path.join(chroot, "opt", "alation")]
        return self.scan_files(paths)

    def _sample_once(self):
        me = os.getpid()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == me:
                continue
            for what in ("cmdline", "environ"):
                try:
                    with open("/proc/%s/%s" % (pid, what), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if data:
                    with self._lock:
                        self._samples.add((what, data))

    @contextlib.contextmanager
    def sample_processes(self, interval=0.05):
        """Sample every process's argv and environment while the block runs, scan at exit."""
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                self._sample_once()
                stop.wait(interval)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self._sample_once()
            self.scan_process_samples()

    def scan_process_samples(self):
        found = []
        with self._lock:
            samples = list(self._samples)
        for what, data in samples:
            found += self.scan_text("process %s" % what, data.replace(b"\0", b" "))
        return found

    def assert_clean(self):
        assert not self.findings, "secret found in: " + "; ".join(sorted(set(self.findings)))


def make_runner(inventory):
    workdir = tempfile.mkdtemp(prefix="alation-scim-it-")
    return PlaybookRunner(inventory, workdir), workdir


def cleanup_runner(workdir):
    shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- IdP simulators
def fp(token):
    """Fingerprint of a token (or None): what assertion messages may show."""
    return testbed_lib.fingerprint(token) if token else None


class Secrets(dict):
    """Simulator settings whose repr (shown in pytest tracebacks) names the keys only."""

    def __repr__(self):
        return "Secrets(%s)" % ", ".join(sorted(self))


def launch_simulator(launch, testbed):
    """Start (or keep) a simulator with `launch.up()` for every Alation host of the test bed."""
    return Secrets(launch.up({h: testbed.scim_base_url(h) for h in testbed.hosts}))


def fresh_simulator(client):
    """A simulator's admin client as each test starts from: no fault, state reset to its config."""
    client.fault("none")
    client.reset()
    return client


def sp_of(testbed, host):
    return testbed.entra["hosts"][host]["service_principal_id"]
