#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark of alation.scim on the test bed (run as root; NOT part of the test run).

    .venv/bin/python benchmarks/run.py                       # 20 hosts, 3 s Django start-up
    .venv/bin/python benchmarks/run.py --hosts 50 --startup-delay 3 --repeat 2

Measured side by side in one run, on one fleet, with the shipped playbooks and the settings of
examples/ansible.cfg (each playbook run gets a fresh SSH control dir: cold connections):
  1. Django shell launches per host for a check run and a rotation run (target: 1 each).
  2. One host, rotate_scim.yml end to end, vs its floor: a plain script doing one SSH round
     trip (rotate + read in one Django launch) plus the IdP calls (token, validate, PUT).
  3. The fleet: check_scim_expiry.yml and rotate_scim.yml vs vendor_loop.sh (the vendor's manual
     procedure over SSH, host after host, one function per launch), and the fleet's floor on this
     machine: every host's floor at once, without Ansible (the simulated hosts share its cores).
  4. Outage window per host (rotation in the host's DB -> Entra holds and validated the new
     token, from the simulator's request log), and failed provisioning cycles during a fleet
     rotation with the job paused around it (and, for comparison, without the pause).
Prints a table and writes benchmarks/results/latest.md and latest.json. Takes the test bed's
session lock (pytest sessions wait), grows the fleet to --hosts and shrinks it back afterwards.
"""

import argparse
import configparser
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

import testbed_fixtures as tf  # noqa: E402
import testbed_lib  # noqa: E402
from entra_sim.client import EntraSim  # noqa: E402

import idp_push  # noqa: E402  (benchmarks/, next to this file)

ROTATE = os.path.join(REPO, "playbooks", "rotate_scim.yml")
CHECK = os.path.join(REPO, "playbooks", "check_scim_expiry.yml")
EXAMPLE_CFG = os.path.join(REPO, "examples", "ansible.cfg")
LOOP = os.path.join(HERE, "vendor_loop.sh")
RESULTS = os.path.join(HERE, "results")
CU = "rosemeta.utils.users_and_groups.configuration_utils"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# ---------------------------------------------------------------- memory
class MemorySampler:
    """Peak used memory (MemTotal - MemAvailable) of the machine, per phase."""

    def __init__(self):
        self.phase = "start"
        self.peaks = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    @staticmethod
    def used_mib():
        info = {}
        with open("/proc/meminfo") as f:
            for line in f:
                k, v = line.split(":", 1)
                info[k] = int(v.split()[0])
        return (info["MemTotal"] - info["MemAvailable"]) / 1024.0

    def loop(self):
        while not self.stop.wait(0.25):
            used = self.used_mib()
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), used)

    def __enter__(self):
        self.baseline = self.used_mib()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# ---------------------------------------------------------------- runners
def make_runner(tb, workdir, forks):
    runner = tf.PlaybookRunner(tb.inventory, workdir)
    shipped = configparser.ConfigParser(interpolation=None)
    shipped.read(EXAMPLE_CFG)
    shipped["defaults"]["inventory"] = tb.inventory
    shipped["defaults"]["collections_path"] = runner.collections_path
    shipped["defaults"]["collections_scan_sys_path"] = "False"
    if forks:
        shipped["defaults"]["forks"] = str(forks)
    with open(runner.config, "w") as f:
        shipped.write(f)
    runner.shipped = {s: dict(shipped[s]) for s in shipped.sections()}
    return runner


def play(runner, playbook, limit=None, **extra):
    """One timed ansible-playbook run with cold SSH connections (fresh control path dir)."""
    extra_vars = {"alation_scim_hosts": "alation", "alation_scim_idp": "entra"}
    extra_vars.update(extra)
    cp = tempfile.mkdtemp(prefix="cp-", dir=runner.workdir)
    cpu = busy_cpu_s()
    r = runner(playbook, limit=limit, extra_vars=extra_vars, env={"ANSIBLE_SSH_CONTROL_PATH_DIR": cp}, timeout=3600)
    r.cpu_s = busy_cpu_s() - cpu
    if r.rc != 0:
        tail = "\n".join(r.stdout.splitlines()[-40:])
        raise RuntimeError("%s failed (rc=%d, %r):\n%s" % (os.path.basename(playbook), r.rc, r.stats, tail))
    return r


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy (user + nice + system + irq + softirq + steal)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + sum(fields[5:8])
    return busy / float(os.sysconf("SC_CLK_TCK"))


TASK_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?\| (TASK \[(.*?)\]|PLAY RECAP)")


def task_profile(log_text):
    """Seconds per task name (summed) from ANSIBLE_LOG_PATH's timestamps: where a run's time goes."""
    marks = []
    for line in log_text.splitlines():
        m = TASK_LINE.match(line)
        if m:
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            marks.append((t, m.group(3) or "PLAY RECAP"))
    spent = {}
    for (t, name), (t2, _next) in zip(marks, marks[1:]):
        spent[name] = spent.get(name, 0.0) + (t2 - t)
    return sorted(((round(v, 2), k) for k, v in spent.items()), reverse=True)


def floor_rotation(tb, host):
    """The least work a rotation needs: one SSH session running the vendor's functions in one
    Django launch (rotate, read), then the IdP calls. Returns seconds; the token stays in memory."""
    started = time.time()
    code = ("from %s import set_scim_bearer_token as s, get_scim_bearer_token as g\n"
            "s(); print('@@' + g() + '@@')\n" % CU)
    proc = subprocess.run(tb.ssh_argv(host) + ["-o", "ControlMaster=no", "-o", "ControlPath=none",
                                               "sudo chroot /opt/alation/alation /bin/su - alation -c alation_django_shell"],
                          input=code, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=300)
    token = None
    for line in proc.stdout.splitlines():
        if line.startswith("@@") and line.endswith("@@") and len(line) > 4:
            token = line[2:-2]
    if proc.returncode != 0 or not token:
        raise RuntimeError("floor: the Django session on %s failed (rc=%d)" % (host, proc.returncode))
    steps = idp_push.push(tb, host, token)
    if steps[-1] != ("put", 204) and steps[-1] != ("put", 200):
        raise RuntimeError("floor: IdP push for %s failed: %s" % (host, steps))
    return time.time() - started


def floor_check(tb, host):
    """The least work a check needs: one SSH session, one Django launch reading the expiry."""
    code = "from %s import get_scim_bearer_token_expiry_date as f\nprint('@@%%s@@' %% (f(),))\n" % CU
    proc = subprocess.run(tb.ssh_argv(host) + ["-o", "ControlMaster=no", "-o", "ControlPath=none",
                                               "sudo chroot /opt/alation/alation /bin/su - alation -c alation_django_shell"],
                          input=code, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=300)
    if proc.returncode != 0 or "@@" not in proc.stdout:
        raise RuntimeError("floor: the Django session on %s failed (rc=%d)" % (host, proc.returncode))


def parallel_floor(tb, hosts, one):
    """Wall time of `one(tb, host)` for every host at once, no Ansible: the fleet floor of this
    machine, where the simulated hosts' SSH and Django start-ups share the controller's cores."""
    started = time.time()
    errors = []

    def work(h):
        try:
            one(tb, h)
        except Exception as e:  # collected and raised below, with the host
            errors.append("%s: %s" % (h, e))
    threads = [threading.Thread(target=work, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("parallel floor failed: %s" % "; ".join(errors))
    return time.time() - started


def vendor_loop(mode, hosts):
    started = time.time()
    proc = subprocess.run(["bash", LOOP, mode] + hosts, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=dict(os.environ, BENCH_PYTHON=sys.executable), timeout=7200)
    if proc.returncode != 0:
        raise RuntimeError("vendor loop (%s) failed: %s" % (mode, proc.stderr[-2000:]))
    return time.time() - started


# ---------------------------------------------------------------- outage window
def last_rotation_epoch(tb, host):
    with tb._db(host) as conn:
        row = conn.execute("SELECT created_at FROM %s WHERE via = ? ORDER BY id DESC LIMIT 1"
                           % testbed_lib.HISTORY_TABLE, (testbed_lib.VIA_DJANGO,)).fetchone()
    return testbed_lib.parse_db_datetime(row[0]).timestamp() if row else None


def outage_windows(tb, sim, hosts, since):
    """Per host: seconds from the rotation (the old token is revoked at once) until Entra holds the
    new token and has validated it: the later of the first successful PUT secrets and the first
    successful validateCredentials after the rotation."""
    requests = sim.requests(since)
    out = {}
    for h in hosts:
        revoked = last_rotation_epoch(tb, h)
        sp = tb.entra["hosts"][h]["service_principal_id"]
        mine = [r for r in requests if "/servicePrincipals/%s/" % sp in r["path"] and revoked and r["epoch"] >= revoked]
        put = next((r["epoch"] for r in mine if r["method"] == "PUT" and r["path"].endswith("/secrets")
                    and r["status"] in (200, 204)), None)
        val = next((r["epoch"] for r in mine if r["path"].endswith("/validateCredentials")
                    and r["status"] in (200, 204)), None)
        out[h] = None if (revoked is None or put is None or val is None) else max(put, val) - revoked
    return out


def failed_cycles(sim, hosts, tb, since_iso):
    """Provisioning cycles run by the simulator's schedule since `since_iso`: (ran, failed)."""
    state = sim.state()["service_principals"]
    ran = failed = 0
    for h in hosts:
        for c in state[tb.entra["hosts"][h]["service_principal_id"]]["cycles"]:
            if c["started"] < since_iso or c.get("skipped"):
                continue
            ran += 1
            failed += 0 if c.get("ok") else 1
    return ran, failed


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def launches(tb, hosts):
    return {h: tb.launches(h) for h in hosts}


def per_host_launches(before, after):
    return sorted(set(after[h] - before[h] for h in before))


def assert_in_sync(tb, sim, hosts):
    bad = [h for h in hosts
           if testbed_lib.fingerprint(sim.stored_token(tb.entra["hosts"][h]["service_principal_id"]))
           != tb.token_fingerprint(h)]
    if bad:
        raise RuntimeError("Entra does not hold the current token of %s" % ", ".join(bad))


# ---------------------------------------------------------------- the run
def run(args):
    res = {"started": iso_now(), "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
           "settings": {"hosts": args.hosts, "startup_delay_s": args.startup_delay, "repeat": args.repeat}}
    tf.testbed_cli("install")
    t = time.time()
    tf.testbed_cli("up", "--hosts", str(args.hosts), "--plain-hosts", "1", "--controller-python", sys.executable,
                   timeout=1800)
    res["testbed_up_s"] = time.time() - t
    tb = testbed_lib.Testbed()
    hosts = tb.hosts
    assert len(hosts) == args.hosts, hosts
    sim = EntraSim(tb.entra["url"], tb.ca_path)
    sim.fault("none")
    sim.config(cycle_interval=0)
    sim.reset()
    workdir = tempfile.mkdtemp(prefix="alation-scim-bench-")
    runner = make_runner(tb, workdir, args.forks)
    res["ansible_cfg"] = runner.shipped
    single = hosts[0]
    with MemorySampler() as mem:
        res["memory_mib"] = {"before_runs": round(mem.baseline)}
        for h in hosts:
            tb.reset(h)
            tb.knob(h, startup_delay=args.startup_delay)
        log("sync run: Entra takes every host's current token (not measured)")
        mem.phase = "sync"
        play(runner, ROTATE)
        assert_in_sync(tb, sim, hosts)

        # 1 + 3: fleet check run
        log("fleet check run (%d hosts)" % len(hosts))
        mem.phase = "fleet_check"
        before = launches(tb, hosts)
        r = play(runner, CHECK)
        res["fleet_check_s"] = r.duration
        res["fleet_check_cpu_s"] = round(r.cpu_s, 1)
        res["fleet_check_profile"] = task_profile(r.log)
        res["launches_check"] = per_host_launches(before, launches(tb, hosts))

        # 1 + 3 + 4: fleet rotation with the job paused around it, cycles running
        for h in hosts:
            tb.expire_in(h, 5)
        sim.config(cycle_interval=args.cycle_interval)
        time.sleep(max(1.0, args.cycle_interval * 2))  # let the schedule run against the old tokens first
        log("fleet rotation run (%d hosts, pause on, provisioning cycles every %.1f s)" % (len(hosts), args.cycle_interval))
        mem.phase = "fleet_rotate"
        before = launches(tb, hosts)
        rot_before = {h: tb.rotations(h) for h in hosts}
        since, since_iso = time.time(), iso_now()
        r = play(runner, ROTATE)
        res["fleet_rotate_s"] = r.duration
        res["fleet_rotate_cpu_s"] = round(r.cpu_s, 1)
        res["fleet_rotate_profile"] = task_profile(r.log)
        time.sleep(max(1.0, args.cycle_interval * 2))  # cycles right after the run count too
        sim.config(cycle_interval=0)
        res["launches_rotate"] = per_host_launches(before, launches(tb, hosts))
        res["rotations_per_host"] = sorted(set(tb.rotations(h) - rot_before[h] for h in hosts))
        assert_in_sync(tb, sim, hosts)
        windows = outage_windows(tb, sim, hosts, since)
        res["outage_s"] = {h: (round(v, 3) if v is not None else None) for h, v in windows.items()}
        res["cycles_paused"] = dict(zip(("ran", "failed"), failed_cycles(sim, hosts, tb, since_iso)))

        if args.compare_no_pause:
            # Same again without pausing the job: what the pause saves.
            for h in hosts:
                tb.expire_in(h, 5)
            sim.config(cycle_interval=args.cycle_interval)
            time.sleep(max(1.0, args.cycle_interval * 2))
            log("fleet rotation run without the pause (comparison)")
            mem.phase = "fleet_rotate_nopause"
            since, since_iso = time.time(), iso_now()
            r = play(runner, ROTATE, alation_scim_entra_pause_job=False)
            res["fleet_rotate_nopause_s"] = r.duration
            time.sleep(max(1.0, args.cycle_interval * 2))
            sim.config(cycle_interval=0)
            assert_in_sync(tb, sim, hosts)
            w2 = outage_windows(tb, sim, hosts, since)
            res["outage_nopause_s"] = {h: (round(v, 3) if v is not None else None) for h, v in w2.items()}
            res["cycles_nopause"] = dict(zip(("ran", "failed"), failed_cycles(sim, hosts, tb, since_iso)))

        # 2: one host vs its floor; and the single-host check run for the fleet ratio
        mem.phase = "single"
        res["single_rotate_s"], res["floor_s"], res["single_check_s"], res["floor_check_s"] = [], [], [], []
        for i in range(args.repeat):
            log("single host (%s): check, rotation, floor (%d/%d)" % (single, i + 1, args.repeat))
            res["single_check_s"].append(play(runner, CHECK, limit=single).duration)
            t = time.time()
            floor_check(tb, single)
            res["floor_check_s"].append(time.time() - t)
            tb.expire_in(single, 5)
            r = play(runner, ROTATE, limit=single)
            res["single_rotate_s"].append(r.duration)
            res["single_rotate_profile"] = task_profile(r.log)
            res["floor_s"].append(floor_rotation(tb, single))
            assert_in_sync(tb, sim, [single])

        # 3: the fleet's floor on this machine: every host's floor at once, no Ansible
        mem.phase = "parallel_floor"
        log("parallel floors, no Ansible (%d hosts): check, rotation" % len(hosts))
        res["parallel_floor_check_s"] = parallel_floor(tb, hosts, floor_check)
        for h in hosts:
            tb.expire_in(h, 5)
        res["parallel_floor_rotate_s"] = parallel_floor(tb, hosts, floor_rotation)
        assert_in_sync(tb, sim, hosts)

        # 3: the vendor's procedure, host after host
        if not args.skip_loop:
            loop_hosts = hosts[:args.loop_hosts] if args.loop_hosts else hosts
            mem.phase = "loop"
            log("vendor loop, check (%d hosts)" % len(loop_hosts))
            t = vendor_loop("check", loop_hosts)
            res["loop_check_s"] = t * len(hosts) / len(loop_hosts)
            log("vendor loop, rotation (%d hosts)" % len(loop_hosts))
            t = vendor_loop("rotate", loop_hosts)
            res["loop_rotate_s"] = t * len(hosts) / len(loop_hosts)
            res["loop_hosts_measured"] = len(loop_hosts)
            assert_in_sync(tb, sim, loop_hosts)
        mem.phase = "end"
    res["memory_mib"].update({k: round(v) for k, v in mem.peaks.items()})
    res["finished"] = iso_now()
    if not args.keep_fleet:
        for h in hosts:
            tb.reset(h)
        sim.reset()
        tf.testbed_cli("up", "--controller-python", sys.executable)
    tf.cleanup_runner(workdir)
    return res


# ---------------------------------------------------------------- report
def verdict(ok):
    return "met" if ok else "MISSED"


def table(res):
    med = statistics.median
    rows = []

    def row(what, value, target, ok):
        rows.append((what, value, target, verdict(ok) if ok is not None else "-"))

    n = res["settings"]["hosts"]
    row("Django launches per host, check run", ",".join(map(str, res["launches_check"])), "1",
        res["launches_check"] == [1])
    row("Django launches per host, rotation run", ",".join(map(str, res["launches_rotate"])), "1",
        res["launches_rotate"] == [1])
    single, floor = med(res["single_rotate_s"]), med(res["floor_s"])
    row("1 host rotation (rotate_scim.yml)", "%.1f s" % single, "", None)
    row("1 host floor (1 SSH + 1 launch + IdP calls)", "%.1f s" % floor, "", None)
    row("1 host rotation / floor", "%.2fx" % (single / floor), "<= 1.5x", single / floor <= 1.5)
    row("1 host check (check_scim_expiry.yml)", "%.1f s" % med(res["single_check_s"]), "", None)
    for kind in ("check", "rotate"):
        fleet = res["fleet_%s_s" % kind]
        one = med(res["single_%s_s" % kind])
        row("%d hosts %s run (playbook)" % (n, kind), "%.1f s" % fleet, "", None)
        if "fleet_%s_cpu_s" % kind in res:
            row("  machine CPU busy during it (%d cores)" % res["machine"]["cores"],
                "%.1f s" % res["fleet_%s_cpu_s" % kind], "", None)
        if "loop_%s_s" % kind in res:
            loop = res["loop_%s_s" % kind]
            est = "" if res["loop_hosts_measured"] == n else " (%d measured, scaled)" % res["loop_hosts_measured"]
            row("%d hosts %s, vendor loop%s" % (n, kind, est), "%.1f s" % loop, "", None)
            row("%d hosts %s: loop / playbook" % (n, kind), "%.1fx" % (loop / fleet), ">= 10x", loop / fleet >= 10)
            if "parallel_floor_%s_s" % kind in res:
                pf = res["parallel_floor_%s_s" % kind]
                row("  %d hosts %s floor, all at once, no Ansible" % (n, kind), "%.1f s" % pf, "", None)
                row("  loop / that floor: the most this machine allows", "%.1fx" % (loop / pf), "", None)
        row("%d hosts %s / 1 host %s" % (n, kind, kind), "%.2fx" % (fleet / one), "<= 2x", fleet / one <= 2)
        single_floor = res.get("floor_check_s" if kind == "check" else "floor_s")
        if single_floor and "parallel_floor_%s_s" % kind in res:
            row("  the same for the floors: the least this machine allows",
                "%.2fx" % (res["parallel_floor_%s_s" % kind] / med(single_floor)), "", None)
    w = [v for v in res["outage_s"].values() if v is not None]
    missing = sum(1 for v in res["outage_s"].values() if v is None)
    row("outage window median (pause on)", "%.2f s" % med(w) if w else "n/a", "< 2 s", bool(w) and med(w) < 2 and not missing)
    row("outage window max (pause on)", "%.2f s" % max(w) if w else "n/a", "", None)
    cp = res["cycles_paused"]
    row("failed provisioning cycles, pause on", "%d of %d run" % (cp["failed"], cp["ran"]), "0", cp["failed"] == 0)
    if "cycles_nopause" in res:
        w2 = [v for v in res["outage_nopause_s"].values() if v is not None]
        c2 = res["cycles_nopause"]
        row("outage window median / max, pause off", "%.2f / %.2f s" % (med(w2), max(w2)) if w2 else "n/a", "", None)
        row("failed provisioning cycles, pause off", "%d of %d run" % (c2["failed"], c2["ran"]), "", None)
    mem = res["memory_mib"]
    peak = max(v for k, v in mem.items() if k != "before_runs")
    row("machine memory used: before runs / peak", "%d / %d MiB" % (mem["before_runs"], peak), "", None)
    row("testbed up --hosts %d" % n, "%.1f s" % res["testbed_up_s"], "", None)
    return rows


def render(res, rows):
    w = [max(len(str(r[i])) for r in rows + [("measure", "value", "target", "")]) for i in range(4)]
    lines = ["| %s | %s | %s | %s |" % tuple(h.ljust(w[i]) for i, h in enumerate(("measure", "value", "target", "")))]
    lines.append("|%s|" % "|".join("-" * (x + 2) for x in w))
    for r in rows:
        lines.append("| %s | %s | %s | %s |" % tuple(str(c).ljust(w[i]) for i, c in enumerate(r)))
    s = res["settings"]
    head = ("alation.scim benchmark, %s: %d Alation hosts on the test bed, Django start-up +%.1f s, %d cores, "
            "ansible.cfg = examples/ansible.cfg (forks %s)"
            % (res["started"], s["hosts"], s["startup_delay_s"], res["machine"]["cores"],
               res["ansible_cfg"]["defaults"].get("forks")))
    tail = ""
    for key, what in (("single_rotate_profile", "the 1-host rotation run"),
                      ("fleet_check_profile", "the %d-host check run" % s["hosts"]),
                      ("fleet_rotate_profile", "the %d-host rotation run" % s["hosts"])):
        prof = res.get(key) or []
        if prof:
            tail += ("\nWhere %s spends its time (ANSIBLE_LOG_PATH timestamps, top 12 of %d tasks, %.1f s in all):\n\n"
                     % (what, len(prof), sum(p[0] for p in prof)))
            tail += "\n".join("    %6.2f s  %s" % tuple(p) for p in prof[:12]) + "\n"
    return head + "\n\n" + "\n".join(lines) + "\n" + tail


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hosts", type=int, default=20, help="fleet size (default 20)")
    p.add_argument("--startup-delay", type=float, default=3.0, help="extra Django start-up per launch, s (default 3)")
    p.add_argument("--repeat", type=int, default=2, help="single-host runs and floors to take the median of")
    p.add_argument("--cycle-interval", type=float, default=0.5, help="simulator provisioning cycle interval, s")
    p.add_argument("--forks", type=int, default=None, help="override forks (default: examples/ansible.cfg)")
    p.add_argument("--loop-hosts", type=int, default=0, help="run the vendor loop on this many hosts and scale")
    p.add_argument("--skip-loop", action="store_true")
    p.add_argument("--no-compare-no-pause", dest="compare_no_pause", action="store_false")
    p.add_argument("--keep-fleet", action="store_true", help="leave the fleet at --hosts afterwards")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        p.error("run as root (the test bed needs it)")
    with tf.session_lock():
        res = run(args)
    rows = table(res)
    text = render(res, rows)
    res["table"] = [dict(zip(("measure", "value", "target", "verdict"), r)) for r in rows]
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "latest.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
