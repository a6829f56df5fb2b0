"""Reliability suite: the cross-cutting sweep over every shipped playbook, with figures.

Four parts, each a set of cases that can fail, each feeding one figure of the summary table that
ends the session (printed, and written to reports/reliability.md):
  - leaks: every playbook / role path at -vvvv with ANSIBLE_LOG_PATH and a jsonfile fact cache;
    every place a token could land is scanned for every token value that existed.
  - faults: the IdP failing at one step (token, validate, PUT: down, slow, throttled, flapping,
    injected by reliability_faultproxy.FaultProxy), SSH dropped and the host killed during the
    rotation, a hanging Django shell, two runs at once. After each: no token lost, a re-run
    converges with exactly one rotation, Entra holds the current token and provisioning works.
  - bad input: wrong variables, paths, users, hosts, Alation versions, IdP settings, TLS: a clear
    error naming the cause, and nothing changed on the host or at the IdP.
  - idempotence and check mode for each playbook.
Per-module behaviour is tested elsewhere (test_host_modules.py, test_rotate_scim.py,
test_scheduled.py); this file sweeps across them. Tokens are compared and scanned, never printed.
"""

import os
import re
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from entra_sim.client import EntraSim  # noqa: E402
import fleet as testbed_fleet  # noqa: E402
import testbed_fixtures  # noqa: E402
import testbed_lib  # noqa: E402
from reliability_faultproxy import FaultProxy  # noqa: E402
from testbed_fixtures import LeakScanner, cleanup_runner, make_runner  # noqa: E402

ROTATE = os.path.join(REPO, "playbooks", "rotate_scim.yml")
CHECK = os.path.join(REPO, "playbooks", "check_scim_expiry.yml")
SCHEDULED = os.path.join(REPO, "playbooks", "scheduled_rotation.yml")
PLAYBOOKS = {"rotate_scim": ROTATE, "check_scim_expiry": CHECK, "scheduled_rotation": SCHEDULED}
REPORT = os.path.join(REPO, "reports", "reliability.md")
WRITE_SUFFIXES = ("/pause", "/start", "/restart")


# ---------------------------------------------------------------- figures
class Figures:
    """What the suite tried and how it went; rendered at the end of the session."""

    def __init__(self):
        self.started = time.time()
        self.rows = {"leaks": [], "faults": [], "bad_input": [], "idempotence": []}
        self.places = 0
        self.leaks = 0

    def add(self, part, case, ok, detail=""):
        self.rows[part].append((case, ok, detail))

    def table(self):
        def frac(part):
            rows = self.rows[part]
            return "%d / %d" % (sum(1 for r in rows if r[1]), len(rows))

        lines = [
            "# Reliability suite (tests/integration/test_reliability.py)",
            "",
            "Run %s, %.0f s." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.started)),
                                 time.time() - self.started),
            "",
            "| figure | value |",
            "|---|---|",
            "| leaks found / places scanned | %d / %d |" % (self.leaks, self.places),
            "| faults survived / tried | %s |" % frac("faults"),
            "| bad inputs with a clear error and an unchanged system / tried | %s |" % frac("bad_input"),
            "| playbooks idempotent and check-mode clean / tried | %s |" % frac("idempotence"),
            "",
        ]
        for part, title in (("leaks", "Leak sweep (runs at -vvvv)"), ("faults", "Faults"),
                            ("bad_input", "Bad input"), ("idempotence", "Idempotence and check mode")):
            lines += ["## " + title, "", "| case | result | detail |", "|---|---|---|"]
            for case, ok, detail in self.rows[part]:
                lines.append("| %s | %s | %s |" % (case, "ok" if ok else "FAILED", detail.replace("|", "/")))
            lines.append("")
        return "\n".join(lines)


FIGURES = Figures()


class _SummaryPlugin:
    """Registered by the module fixture: prints the table at the end of the session."""

    def pytest_terminal_summary(self, terminalreporter):
        text = FIGURES.table()
        terminalreporter.write_sep("=", "alation.scim reliability figures")
        terminalreporter.write_line(text)


def write_report():
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        f.write(FIGURES.table() + "\n")


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def rel(testbed, request):
    """Everything the suite shares: runner, simulator client, fault proxy, hosts in sync."""
    if not testbed.entra:
        pytest.fail("the test bed has no Entra simulator (run `tests/testbed/testbed up` with Entra)")
    if not request.config.pluginmanager.has_plugin("alation_scim_reliability"):
        request.config.pluginmanager.register(_SummaryPlugin(), "alation_scim_reliability")
    FIGURES.started = time.time()
    runner, workdir = make_runner(testbed.inventory)
    sim = EntraSim(testbed.entra["url"], testbed.ca_path)
    sim.fault("none")
    sim.config(cycle_interval=0)
    sim.reset()
    proxy = FaultProxy(testbed).start()
    ctx = Ctx(testbed, runner, sim, proxy, workdir)
    for h in testbed.hosts:
        testbed.reset(h)
    r = ctx.play(ROTATE)
    assert r.rc == 0, "baseline run failed: %r" % r
    ctx.assert_converged(testbed.hosts)
    yield ctx
    proxy.stop()
    sim.fault("none")
    for h in testbed.hosts:
        testbed.kill_django_shells(h)
        testbed.reset(h)
    cleanup_runner(workdir)
    write_report()


def fp(token):
    return testbed_lib.fingerprint(token) if token else None


class Ctx:
    def __init__(self, testbed, runner, sim, proxy, workdir):
        self.tb, self.runner, self.sim, self.proxy, self.workdir = testbed, runner, sim, proxy, workdir

    def sp(self, host):
        return self.tb.entra["hosts"][host]["service_principal_id"]

    def play(self, playbook=ROTATE, limit=None, check=False, verbosity=0, env=None, scanner=None,
             runner=None, via_proxy=False, **extra):
        r = self._play(playbook, limit, check, verbosity, env, scanner, runner, via_proxy, **extra)
        dump(r)
        return r

    def _play(self, playbook, limit, check, verbosity, env, scanner, runner, via_proxy, **extra):
        extra_vars = {"alation_scim_hosts": "alation", "alation_scim_idp": "entra",
                      "alation_scim_verify_delay": 1, "alation_scim_entra_retry_budget": 8}
        if via_proxy:
            extra_vars["alation_scim_entra_authority_url"] = self.proxy.url
            extra_vars["alation_scim_entra_graph_url"] = self.proxy.url
        extra_vars.update(extra)
        return (runner or self.runner)(playbook, limit=limit, extra_vars=extra_vars, check=check,
                                       verbosity=verbosity, env=env, leak_scanner=scanner)

    def activate(self, host):
        """Job Active, as between rotations: each fault case starts clean, whatever the last left."""
        self.sim.set_job(self.sp(host), self.tb.entra["hosts"][host]["job_id"], "Active")

    def host_state(self, hosts):
        return {h: (self.tb.rotations(h), fp(self.tb.current_token(h)), self.tb.expires_at(h)) for h in hosts}

    def sim_snapshot(self):
        out = {}
        for sp, data in self.sim.state()["service_principals"].items():
            out[sp] = ({k: fp(v) for k, v in sorted(data["secrets"].items())},
                       [(j["id"], j["status"]["code"], j["schedule"]["state"]) for j in data["jobs"]])
        return out

    def sim_writes(self, since):
        return [(r["method"], r["path"]) for r in self.sim.requests(since)
                if r["method"] in ("PUT", "PATCH", "DELETE")
                or (r["method"] == "POST" and r["path"].endswith(WRITE_SUFFIXES))]

    def converged(self, hosts):
        """Problems (empty = fine): a valid token on each host, Entra holding it, job active, a
        provisioning cycle that works."""
        problems = []
        for h in hosts:
            token = self.tb.current_token(h)
            if token is None or self.tb.scim_get(h, token) != 200:
                problems.append("%s: no valid token on the host" % h)
                continue
            sp = self.sp(h)
            if fp(self.sim.stored_token(sp)) != fp(token):
                problems.append("%s: Entra does not hold the current token" % h)
            job = self.sim.job(sp)
            if job["schedule"]["state"] != "Active":
                problems.append("%s: job schedule %s" % (h, job["schedule"]["state"]))
            cycle = self.sim.cycle(sp)
            if not cycle.get("ok"):
                problems.append("%s: provisioning cycle failed (%s)" % (h, cycle.get("error")))
        return problems

    def assert_converged(self, hosts):
        problems = self.converged(hosts)
        assert not problems, "; ".join(problems)


DUMPS = {"n": 0}


def dump(result):
    """Keep a run's output for a person to read after a failure (runs at -vvvv are leak-scanned;
    the others print no more than those)."""
    DUMPS["n"] += 1
    out_dir = os.environ.get("ALATION_SCIM_IT_OUT", "/tmp/alation-scim-it-out")
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    name = "reliability-%s-%03d.txt" % (
        re.sub(r"[^\w.-]+", "_", os.environ.get("PYTEST_CURRENT_TEST", "run").split("::")[-1].split(" ")[0]), DUMPS["n"])
    with os.fdopen(os.open(os.path.join(out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(result.stdout + "\n--- stderr\n" + result.stderr)


def text(r):
    return r.stdout + "\n" + r.stderr


# ---------------------------------------------------------------- leaks
def new_files(roots, marker_time, skip=()):
    """Files under `roots` modified after marker_time (the run's start), minus `skip` paths."""
    found = []
    for root in roots:
        if not os.path.exists(root):
            continue
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not any(os.path.join(d, x).startswith(s) for s in skip)]
            for f in files:
                p = os.path.join(d, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if os.path.isfile(p) and not os.path.islink(p) and max(st.st_mtime, st.st_ctime) >= marker_time:
                    found.append(p)
    return found


def scan_roots(tb, workdir, cache_dir):
    roots = [workdir, cache_dir, "/tmp", "/var/tmp", "/root/.ansible", "/home/deploy", "/var/lib/alation_scim"]
    for h in tb.hosts + tb.plain_hosts:
        roots.append(os.path.join(tb.host_dir(h), "tmp"))
    for h in tb.hosts:
        chroot = os.path.join(tb.host_dir(h), "opt", "alation-" + testbed_lib.ALATION_VERSION)
        roots += [os.path.join(chroot, "tmp"), os.path.join(chroot, "var", "tmp"), os.path.join(chroot, "opt", "alation"),
                  tb.site_dir(h)]
    return roots


def not_the_db(path):
    # The Alation DB (and SQLite's journal next to it) is the system of record.
    return "/site/db.sqlite3" not in path


class AuthLog:
    def __init__(self, path="/var/log/auth.log"):
        self.path = path
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0

    def read(self):
        if not os.path.exists(self.path):
            return None
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read()


LEAK_PATHS = ["check", "rotate", "push", "failure_after_rotation", "recovery", "check_mode", "scheduled", "driver_none"]


@pytest.fixture(scope="module")
def leak_tokens(rel):
    """Every token value that existed during the sweep (grows as runs rotate)."""
    return set()


@pytest.mark.parametrize("path", LEAK_PATHS)
def test_leak_sweep(rel, path, leak_tokens, tmp_path):
    tb, sim = rel.tb, rel.sim
    h1, h2 = tb.hosts[0], tb.hosts[1]
    playbook, limit, extra, check, expect_rc = ROTATE, None, {}, False, 0
    if path == "check":
        playbook = CHECK
    elif path == "rotate":
        tb.expire_in(h1, 5)
    elif path == "push":
        extra = {"alation_scim_force_push": True}
        limit = h1
    elif path == "failure_after_rotation":
        tb.expire_in(h2, 5)
        rel.proxy.set_fault("put", "down")
        extra, limit, expect_rc = {"via_proxy": True, "alation_scim_entra_retry_budget": 3}, h2, 2
    elif path == "recovery":
        limit = h2
    elif path == "check_mode":
        tb.expire_in(h1, 5)
        check = True
    elif path == "scheduled":
        tb.expire_in(h1, 5)
        playbook = SCHEDULED
        extra = {"alation_scim_report_dir": str(tmp_path / "reports")}
    elif path == "driver_none":
        tb.expire_in(h1, 5)
        limit, extra = h1, {"alation_scim_idp": "none"}

    cache = str(tmp_path / "factcache")
    env = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": cache,
           "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "3600", "ANSIBLE_GATHERING": "smart"}
    for h in tb.hosts:
        leak_tokens.add(tb.current_token(h))
    leak_tokens.add(tb.entra["client_secret"])
    scanner = LeakScanner(sorted(t for t in leak_tokens if t))
    authlog = AuthLog()
    marker = time.time() - 1
    time.sleep(1.1)  # mtimes are compared against the marker second
    via_proxy = extra.pop("via_proxy", False)
    try:
        r = rel.play(playbook, limit=limit, check=check, verbosity=4, env=env, scanner=scanner,
                     via_proxy=via_proxy, **extra)
    finally:
        rel.proxy.clear()
    # Tokens that came to exist during the run count too: rescan what the runner scanned.
    for h in tb.hosts:
        leak_tokens.add(tb.current_token(h))
    for t in leak_tokens:
        scanner.add(t)
    places = 0
    for name, content in (("stdout", r.stdout), ("stderr", r.stderr), ("ANSIBLE_LOG_PATH", r.log)):
        scanner.scan_text(name, content)
        places += 1
    places += 1 if scanner.scan_syslog() is not None else 0
    auth = authlog.read()
    if auth is not None:
        scanner.scan_text("auth.log", auth)
        places += 1
    scanner.scan_process_samples()
    places += len(scanner._samples)
    files = [p for p in new_files(scan_roots(tb, rel.workdir, cache), marker) if not_the_db(p)]
    scanner.scan_files(files)
    places += len(files)
    FIGURES.places += places
    FIGURES.leaks += len(set(scanner.findings))
    ok_rc = (r.rc == 0) if expect_rc == 0 else (r.rc != 0)
    FIGURES.add("leaks", path, not scanner.findings and ok_rc,
                "rc=%d, %d places (%d files written, %d process samples), %d secrets"
                % (r.rc, places, len(files), len(scanner._samples), len(scanner.tokens)))
    assert "ESTABLISH SSH CONNECTION" in r.stdout or "<127.0.10." in r.stdout, "not really -vvvv"
    assert ok_rc, "run %s: unexpected rc %d (%r)" % (path, r.rc, r)
    scanner.assert_clean()
    if path == "failure_after_rotation":
        assert "WAS ROTATED at" in text(r) and tb.rotations(h2) >= 1
    if path in ("recovery", "rotate", "scheduled"):
        rel.assert_converged([h1, h2] if path != "recovery" else [h2])


# ---------------------------------------------------------------- faults
IDP_FAULTS = [(step, mode) for step in ("token", "validate", "put") for mode in ("down", "slow", "throttle", "flapping")]


def fault_outcome(rel, host, run, rotations_before):
    """After a fault run: re-run, then check the invariants. Returns (ok, detail)."""
    tb = rel.tb
    mid_token = tb.current_token(host)
    lost = mid_token is None or tb.scim_get(host, mid_token) != 200
    r2 = rel.play(limit=host)
    total = tb.rotations(host) - rotations_before
    problems = rel.converged([host])
    ok = not lost and r2.rc == 0 and total == 1 and not problems
    detail = "first run rc=%d; token on host %s; re-run rc=%d; rotations %d; %s" % (
        run.rc, "LOST" if lost else "valid", r2.rc, total, "; ".join(problems) or "Entra holds it, cycle ok")
    return ok, detail


@pytest.mark.parametrize("step,mode", IDP_FAULTS, ids=["%s-%s" % c for c in IDP_FAULTS])
def test_idp_fault_at_each_step(rel, step, mode):
    tb = rel.tb
    host = tb.hosts[2]
    rel.activate(host)
    tb.expire_in(host, 5)
    before = tb.rotations(host)
    # The Graph token is fetched once, before the rotation (reading the job proves the settings),
    # and kept for the push: a fault at `token` hits the run before anything changes.
    count = {"down": None, "slow": None, "throttle": 2, "flapping": 3}[mode]
    rel.proxy.set_fault(step, mode, count=count, delay=1.5, retry_after=1)
    try:
        r = rel.play(limit=host, via_proxy=True, alation_scim_entra_retry_budget=6 if mode == "down" else 30)
    finally:
        hits = rel.proxy.hits
        rel.proxy.clear()
    ok, detail = fault_outcome(rel, host, r, before)
    if mode == "down" and step == "token":
        # No Graph token: the run fails before the rotation, says so, and the re-run rotates once.
        expected = r.rc != 0 and "Nothing was rotated" in text(r) and "re-run the same playbook" in text(r)
    elif mode == "down":
        # A dead IdP after the rotation: the run must fail and say how to finish.
        expected = r.rc != 0 and "WAS ROTATED at" in text(r) and "re-run the same playbook" in text(r)
    else:
        expected = r.rc == 0  # transient trouble is ridden out
    FIGURES.add("faults", "IdP %s at %s" % (mode, step), ok and expected and hits > 0,
                "fault hit %d request(s); %s" % (hits, detail))
    assert hits > 0, "the fault was never applied: the step was not reached"
    assert expected, "unexpected outcome of the run with the IdP %s at %s: rc=%d" % (mode, step, r.rc)
    assert ok, detail


def wait_for_rotate_launch(tb, host, launches_before, timeout=120):
    """Block until the run's one Django launch on the host (token_rotate) is running."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if tb.launches(host) >= launches_before + 1 and tb.django_shells(host):
            return True
        time.sleep(0.05)
    return False


def kill_ssh_sessions(tb, host):
    """SIGKILL the host's sshd session processes (the listener stays): the connection drops."""
    ns = tb._host_ns(host)
    killed = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/ns/mnt" % pid) != ns:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read()
        except OSError:
            continue
        if argv.startswith(b"sshd: deploy"):
            try:
                os.kill(int(pid), 9)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def run_in_thread(fn):
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", fn()), daemon=True)
    t.start()
    return t, box


@pytest.mark.parametrize("fault", ["ssh_dropped", "host_killed", "shell_hangs", "two_runs_at_once"])
def test_host_faults(rel, fault):
    tb = rel.tb
    host = tb.hosts[2]
    rel.activate(host)
    tb.expire_in(host, 5)
    before = tb.rotations(host)
    detail_extra = ""
    if fault in ("ssh_dropped", "host_killed"):
        tb.knob(host, startup_delay=3)  # a window in which the rotation is under way
        launches = tb.launches(host)
        t, box = run_in_thread(lambda: rel.play(limit=host))
        reached = wait_for_rotate_launch(tb, host, launches)
        if fault == "ssh_dropped":
            time.sleep(1)
            n = kill_ssh_sessions(tb, host)
            detail_extra = "killed %d sshd session process(es); " % n
        else:
            time.sleep(1)
            testbed_fleet.stop_host(tb, host)
        t.join(600)
        r = box["r"]
        if fault == "host_killed":
            testbed_fixtures.testbed_cli("up", "--hosts", str(len(tb.hosts)), "--plain-hosts",
                                         str(len(tb.plain_hosts)), "--controller-python", sys.executable)
            detail_extra = "host stopped during the rotation and started again; "
        tb.knob(host, startup_delay=None)
        assert reached, "the rotation's Django launch never started"
        expected = r.rc != 0  # the run cannot succeed for that host
    elif fault == "shell_hangs":
        tb.knob(host, hang=True)
        started = time.time()
        r = rel.play(limit=host, alation_scim_shell_timeout=5)
        took = time.time() - started
        tb.knob(host, hang=None)
        leftovers = tb.django_shells(host)
        tb.kill_django_shells(host)
        text_ok = "did not finish within 5 seconds" in text(r)
        expected = r.rc != 0 and text_ok and not leftovers and tb.rotations(host) == before
        detail_extra = "failed after %.0f s, message names the timeout: %s, stray shells: %d; " % (
            took, text_ok, len(leftovers))
    else:
        tb.knob(host, startup_delay=1)
        due_at = tb.expires_at(host)
        assert due_at is not None and (due_at - testbed_lib.utcnow()).days < 30, \
            "precondition: %s must be due before the two runs (expires %s)" % (host, due_at)
        other, other_dir = make_runner(tb.inventory)
        try:
            t1, b1 = run_in_thread(lambda: rel.play(limit=host))
            t2, b2 = run_in_thread(lambda: rel.play(limit=host, runner=other))
            t1.join(600)
            t2.join(600)
        finally:
            cleanup_runner(other_dir)
        tb.knob(host, startup_delay=None)
        r = b1["r"]
        rcs = (b1["r"].rc, b2["r"].rc)
        expected = tb.rotations(host) - before == 1
        detail_extra = "run rcs %s, rotations after both: %d; " % (rcs, tb.rotations(host) - before)
    ok, detail = fault_outcome(rel, host, r, before)
    FIGURES.add("faults", fault.replace("_", " "), ok and expected, detail_extra + detail)
    assert expected, detail_extra + "run rc=%d" % r.rc
    assert ok, detail


# ---------------------------------------------------------------- bad input
OTHER_CA = "/etc/ssl/certs/ca-certificates.crt"  # a real trust store that did not sign the test bed


def bad_input_cases(tb):
    e = tb.entra
    h = tb.hosts[0]
    return {
        # case: (limit, extra vars, expected words in the output)
        "idp missing": (h, {"alation_scim_idp": None}, ["alation_scim_idp"]),
        "idp not a choice": (h, {"alation_scim_idp": "entraid"}, ["alation_scim_idp", "entraid"]),
        "rotate_before_days not an int": (h, {"alation_scim_rotate_before_days": "soon"}, ["alation_scim_rotate_before_days"]),
        "base_url missing": (h, {"alation_scim_base_url": ""}, ["alation_scim_base_url"]),
        "wrong alation_root": (h, {"alation_scim_alation_root": "/opt/alation/nope"}, ["/opt/alation/nope"]),
        "wrong alation_user": (h, {"alation_scim_alation_user": "nosuchuser"}, ["nosuchuser"]),
        "not an Alation host": ("plain1", {"alation_scim_hosts": "plain"}, ["not an Alation host"]),
        "Alation older than 2021.4": (h, {"knob": {"functions_missing": True}}, ["older than 2021.4"]),
        "garbage shell output": (h, {"knob": {"garbage": True}}, ["without printing a result"]),
        "wrong client secret": (h, {"alation_scim_entra_client_secret": "not-the-secret-0123456789"}, [e["client_id"]]),
        "wrong tenant id": (h, {"alation_scim_entra_tenant_id": "00000000-0000-4000-8000-00000000beef"},
                            ["00000000-0000-4000-8000-00000000beef"]),
        "unknown service principal": (h, {"alation_scim_entra_service_principal_id": "00000000-0000-4000-8000-00000000dead"},
                                      ["00000000-0000-4000-8000-00000000dead"]),
        "unknown job id": (h, {"alation_scim_entra_job_id": "scim.nosuchjob"}, ["scim.nosuchjob"]),
        "Graph URL nobody answers": (h, {"alation_scim_entra_graph_url": "https://127.0.20.9:8443",
                                         "alation_scim_entra_authority_url": "https://127.0.20.9:8443"},
                                     ["127.0.20.9"]),
        "Entra TLS: wrong CA": (h, {"alation_scim_entra_ca_path": OTHER_CA}, ["TLS certificate verification failed", "ca_path"]),
    }


BAD_INPUT_NAMES = ["idp missing", "idp not a choice", "rotate_before_days not an int", "base_url missing",
                   "wrong alation_root", "wrong alation_user", "not an Alation host", "Alation older than 2021.4",
                   "garbage shell output", "wrong client secret", "wrong tenant id", "unknown service principal",
                   "unknown job id", "Graph URL nobody answers", "Entra TLS: wrong CA"]


def normalise(s):
    # "CERTIFICATE_VERIFY_FAILED" and "certificate verify failed" name the same cause.
    return s.lower().replace("_", " ")


def bad_inventory(tb, workdir):
    """The test bed's inventory with the Entra settings of plain1 too (it is not an Alation host)."""
    import yaml

    with open(tb.inventory) as f:
        inv = yaml.safe_load(f)
    alation = inv["all"]["children"]["alation"]
    plain = inv["all"]["children"]["plain"]["hosts"]["plain1"]
    for k, v in alation["hosts"][tb.hosts[0]].items():
        if k.startswith("alation_scim_"):
            plain.setdefault(k, v)
    plain.update(alation.get("vars", {}))
    path = os.path.join(workdir, "inventory-bad-input.yml")
    with open(path, "w") as f:
        yaml.safe_dump(inv, f)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("case", BAD_INPUT_NAMES)
def test_bad_input(rel, case):
    tb = rel.tb
    limit, extra, words = bad_input_cases(tb)[case]
    extra = dict(extra)
    knobs = extra.pop("knob", {})
    hosts = tb.hosts
    for h in hosts:
        tb.knob(h, **{k: None for k in testbed_lib.DEFAULT_KNOBS})
    if limit in hosts:
        tb.expire_in(limit, 5)  # due: anything that got through would rotate
        tb.knob(limit, **knobs)
        if knobs:
            # An Alation that is too old or whose shell prints garbage never answered a launch, so it
            # has no expiry record (a host that breaks after one: test_rotate_scim's broken-since test).
            for record in tb.expiry_records(limit):
                os.unlink(record)
    state, snap, since = rel.host_state(hosts), rel.sim_snapshot(), time.time()
    runner = rel.runner
    play_extra = {k: v for k, v in extra.items() if v is not None}
    if limit == "plain1":
        runner, other_dir = make_runner(bad_inventory(tb, rel.workdir))
    else:
        other_dir = None
    try:
        if case == "idp missing":
            # No alation_scim_idp anywhere: run the role itself, not through rotate_scim's defaults.
            r = runner(ROTATE, limit=limit, extra_vars={"alation_scim_hosts": "alation", "alation_scim_verify_delay": 1})
        else:
            r = rel.play(limit=limit, runner=runner, **play_extra)
        out = normalise(text(r))
        named = all(normalise(w) in out for w in words)
        unchanged = rel.host_state(hosts) == state and rel.sim_snapshot() == snap and rel.sim_writes(since) == []
    finally:
        if other_dir:
            cleanup_runner(other_dir)
        if limit in hosts:  # healthy again for the next case (after the comparison above)
            tb.knob(limit, **{k: None for k in knobs})
            tb.expire_in(limit, 150)
    ok = r.rc != 0 and named and unchanged
    FIGURES.add("bad_input", case, ok, "rc=%d; message names %s: %s; system unchanged: %s"
                % (r.rc, ", ".join(words), named, unchanged))
    assert r.rc != 0, "bad input %r was accepted" % case
    assert named, "the error for %r does not name %s" % (case, words)
    assert unchanged, "bad input %r changed the host or the IdP" % case


# ---------------------------------------------------------------- idempotence and check mode
@pytest.mark.parametrize("name", sorted(PLAYBOOKS))
def test_idempotent_and_check_mode(rel, name, tmp_path):
    tb = rel.tb
    playbook = PLAYBOOKS[name]
    hosts = tb.hosts
    due = hosts[1]
    extra = {}
    for h in hosts:
        tb.knob(h, **{k: None for k in testbed_lib.DEFAULT_KNOBS})
        tb.expire_in(h, 150)  # same token, Entra holds it: healthy, nothing due
    # 20 days: due for rotation (30) and only a warning for the check (critical is 7).
    tb.expire_in(due, 20)
    r1 = rel.play(playbook, **extra)
    state, snap, since = rel.host_state(hosts), rel.sim_snapshot(), time.time()
    r2 = rel.play(playbook, **extra)
    second_clean = r2.rc == 0 and all(r2.stats.get(h, {}).get("changed", 1) == 0 for h in hosts) \
        and rel.host_state(hosts) == state and rel.sim_snapshot() == snap and rel.sim_writes(since) == []
    tb.expire_in(due, 20)
    state, snap, since = rel.host_state(hosts), rel.sim_snapshot(), time.time()
    r3 = rel.play(playbook, check=True, **extra)
    check_clean = r3.rc == 0 and rel.host_state(hosts) == state and rel.sim_snapshot() == snap \
        and rel.sim_writes(since) == []
    changed2 = {h: r2.stats.get(h, {}).get("changed") for h in hosts}
    FIGURES.add("idempotence", name, r1.rc == 0 and second_clean and check_clean,
                "first rc=%d; second run changed=%s rc=%d; check mode rc=%d unchanged=%s"
                % (r1.rc, changed2, r2.rc, r3.rc, check_clean))
    assert r1.rc == 0, "first run of %s failed: %r" % (name, r1)
    assert second_clean, "second run of %s changed something: %s" % (name, changed2)
    assert check_clean, "check mode of %s changed something or failed (rc=%d)" % (name, r3.rc)
