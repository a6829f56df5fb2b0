#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the machine's CPU goes in a rotation run and in its floor, process kind by process kind
(run as root; needs Linux perf: apt-get install linux-perf).

    .venv/bin/python benchmarks/cpu_split.py                     # 20 hosts, every API driver, 3 rounds
    .venv/bin/python benchmarks/cpu_split.py --hosts 5 --drivers entra --rounds 1

benchmarks/run.py measures the controller's CPU (the ansible-playbook process tree) and the
machine's; what the rest of the machine spends, the simulated hosts' sshd, sudo, the collection's
host code, the Django shells and the IdP simulators, it can only give as one figure. This samples
every CPU with `perf record -a` (499 Hz) during each rotation run and each floor, the same
measurements as benchmarks/run.py makes (benchmarks/run.py's Fleet), and names each sampled
process by its command line, read from /proc while it ran. The sampling is not free, so its runs
are not the benchmark's: the figures say where the CPU goes, not how fast a run is.

Writes benchmarks/results/cpu_split.{json,md}; benchmarks/report.py puts the table into
docs/benchmarks.md. Takes the test bed's session lock.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import run as bench  # benchmarks/run.py, next to this file
from drivers import DRIVERS

HZ = 499  # samples per second and CPU: each sample stands for 1/HZ CPU second
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# The process kinds, in the order of the table, and where each runs on a real fleet.
MAIN = "ansible-playbook, main process"
WORKERS = "ansible-playbook, workers (one per host and task)"
SSH = "ssh clients"
BENCHMARK = "this benchmark (the floor's threads, its cputree.py, the /proc poller)"
HOST_SHELLS = "sshd, login shells, motd, commands"
SUDO = "sudo"
HOST_CODE = "the collection's host code (/usr/bin/python3)"
DJANGO = "su + Django shell (+ the test bed's knob readers)"
SCIM = "SCIM endpoints (gunicorn + Django)"
IDP = "IdP simulator"
SYSLOG = "syslog"
OTHER = "kernel threads and the rest"
KINDS = [(MAIN, "controller"), (WORKERS, "controller"), (SSH, "controller"), (BENCHMARK, "controller"),
         (HOST_SHELLS, "host"), (SUDO, "host"), (HOST_CODE, "host"), (DJANGO, "host"), (SCIM, "host"),
         (IDP, "IdP"), (SYSLOG, "host"), (OTHER, "-")]
HOST_COMMANDS = {"sshd", "bash", "sh", "run-parts", "10-uname", "uname", "id", "date", "cat", "mv", "mkdir",
                 "sleep", "env", "chroot", "printf", "true"}


class ProcessNames:
    """(pid, comm) -> (parent pid, command line) of every process seen while it ran, polled from /proc
    every 0.1 s (a process that execs gets a new comm: it is seen again under it). A process too short
    to be seen is named by the comm perf recorded."""

    def __init__(self):
        self.seen = {}
        self.comms = {}  # pid -> the comm it had last
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/comm" % pid) as f:
                        comm = f.read().rstrip("\n")
                    if (int(pid), comm) in self.seen:
                        continue
                    with open("/proc/%s/stat" % pid) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
                except (OSError, ValueError, IndexError):
                    continue
                self.seen[(int(pid), comm)] = (ppid, cmdline)
                self.comms[int(pid)] = comm
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def kind(self, pid, comm):
        ppid, cmdline = self.seen.get((pid, comm), (None, ""))
        return classify(pid, comm, self.comms.get(ppid, ""), cmdline)


def classify(pid, comm, parent_comm, cmdline, me=None):
    """The KINDS name of one process, from its comm, its parent's comm and its command line."""
    me = os.getpid() if me is None else me
    if pid == me or "cputree.py" in cmdline:
        return BENCHMARK
    if "ansible-playbook" in cmdline or comm == "ansible-playboo":
        return WORKERS if parent_comm == "ansible-playboo" else MAIN
    if comm == "ssh":
        return SSH
    if comm == "sudo":
        return SUDO
    if comm == "python3" or cmdline.startswith("/usr/bin/python3"):
        return HOST_CODE
    if "gunicorn" in cmdline:
        return SCIM
    if "manage.py shell" in cmdline or "knobs.py" in cmdline or comm in ("su", "alation_django_"):
        return DJANGO
    if "_sim" in cmdline:
        return IDP
    if comm in HOST_COMMANDS:
        return HOST_SHELLS
    if comm in ("rsyslogd", "in:imuxsock", "rs:main Q:Reg", "systemd-journal"):
        return SYSLOG
    return OTHER


def perf_works():
    """None when `perf record -a` works here, else why not and the fix."""
    if not shutil.which("perf"):
        return "perf is not installed. Fix: apt-get install linux-perf"
    probe = subprocess.run(["perf", "record", "-a", "-F", str(HZ), "-o", "/dev/null", "--", "true"], check=False,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if probe.returncode != 0:
        return ("`perf record -a` fails here: %s. Fix: run as root, with kernel.perf_event_paranoid at 1 or lower"
                % probe.stdout.strip()[-300:])
    return None


def sampled(names, measure, data, before):
    """Run before(), then measure() under `perf record -a`: its result and the CPU seconds per process kind."""
    before()
    recorder = subprocess.Popen(["perf", "record", "-a", "-F", str(HZ), "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf is sampling before the measurement starts
    try:
        result = measure()
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, universal_newlines=True, check=True)
    os.unlink(data)
    return result, cpu_by_kind(script.stdout, names.kind)


def cpu_by_kind(perf_script, kind):
    """CPU seconds per KINDS name from `perf script -F comm,pid` lines ("<comm> <pid>", a comm may hold
    spaces); kind(pid, comm) names the process. pid 0 is the idle task."""
    seconds = dict((k, 0.0) for k, _where in KINDS)
    for line in perf_script.splitlines():
        comm, _sep, pid = line.strip().rpartition(" ")
        if pid.isdigit() and int(pid) != 0:
            seconds[kind(int(pid), comm.strip())] += 1.0 / HZ
    return seconds


def one_round(fleet, driver, workdir):
    """One rotation run and one floor of `driver`, each sampled: {"run": row, "floor": row}."""
    def ready(expire):
        if expire:
            fleet.expire_all()  # every token due, as in benchmarks/run.py (the floor rotates anyway)
        fleet.settle()
        fleet.drivers[driver].use()

    def play():
        r = fleet.play("rotate", driver)
        if r["rc"] != 0:
            raise RuntimeError("rotation run with %s failed:\n%s" % (driver, r["output"][-3000:]))
        fleet.settle()  # the IdP's work after its answers counts, as after the floor
        return r

    def floor():
        r = bench.parallel_floor(fleet.tb, fleet.hosts, bench.FLOORS["rotate"], fleet.drivers[driver])
        fleet.settle()
        return r
    out = {}
    with ProcessNames() as names:
        for what, func, expire in (("run", play, True), ("floor", floor, False)):
            r, seconds = sampled(names, func, os.path.join(workdir, "perf.data"), lambda: ready(expire))
            out[what] = dict(wall_s=r["wall_s"], cpu_s=dict((k, round(v, 2)) for k, v in seconds.items()))
    return out


def measure(args, measured, workdir):
    fleet = bench.Fleet(args.hosts, args, workdir)
    out = {"hosts": args.hosts, "rounds": args.rounds, "startup_delay_s": args.startup_delay,
           "commit": bench.commit(), "started": bench.iso_now(), "hz": HZ, "drivers": {},
           "order": list(measured)}  # the JSON is written with sorted keys: the table keeps the run's order
    for driver in measured:
        fleet.sync(driver)
        rows = {"run": [], "floor": []}
        for i in range(args.rounds):
            bench.log("%s: rotation run and floor under perf (%d/%d)" % (driver, i + 1, args.rounds))
            for what, row in one_round(fleet, driver, workdir).items():
                rows[what].append(row)
        out["drivers"][driver] = rows
    out["finished"] = bench.iso_now()
    return out


def median_split(rows):
    return dict((k, statistics.median(r["cpu_s"][k] for r in rows)) for k, _where in KINDS)


def table(res):
    """The Markdown section: per driver, CPU seconds per process kind, run / floor / difference."""
    lines = ["### Where the machine's CPU goes, process by process", "",
             "Measured %s, commit %s, `benchmarks/cpu_split.py --hosts %d --rounds %d` (`perf record -a` at %d Hz "
             "during a %d-host rotation run and its floor, medians of %d; the sampling slows both, so the "
             "walls here are not the benchmark's). CPU seconds of the whole machine; \"where\" is where that "
             "work runs on a real fleet." % (res["started"][:16].replace("T", " ") + " UTC", res["commit"],
                                             res["hosts"], res["rounds"], res["hz"], res["hosts"], res["rounds"]), ""]
    drivers = [d for d in res.get("order", sorted(res["drivers"])) if d in res["drivers"]]
    header = "| process kind | where | " + " | ".join("%s run / floor / +" % d for d in drivers) + " |"
    lines += [header, "|" + "---|" * (2 + len(drivers))]
    splits = dict((d, (median_split(res["drivers"][d]["run"]), median_split(res["drivers"][d]["floor"])))
                  for d in drivers)
    for kind, where in KINDS:
        cells = ["%.2f / %.2f / %+.2f" % (splits[d][0][kind], splits[d][1][kind], splits[d][0][kind] - splits[d][1][kind])
                 for d in drivers]
        lines.append("| %s | %s | %s |" % (kind, where, " | ".join(cells)))
    totals = ["%.2f / %.2f / %+.2f" % (sum(splits[d][0].values()), sum(splits[d][1].values()),
                                       sum(splits[d][0].values()) - sum(splits[d][1].values())) for d in drivers]
    walls = ["%.2f / %.2f" % (statistics.median(r["wall_s"] for r in res["drivers"][d]["run"]),
                              statistics.median(r["wall_s"] for r in res["drivers"][d]["floor"])) for d in drivers]
    lines.append("| **all** | | %s |" % " | ".join(totals))
    lines.append("| wall s (under perf) | | %s |" % " | ".join(walls))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hosts", type=int, default=20)
    p.add_argument("--drivers", default="entra,pingone,pingfederate,sailpoint")
    p.add_argument("--rounds", type=int, default=3, help="runs and floors per driver, medians (default %(default)s)")
    p.add_argument("--startup-delay", type=float, default=3.0, help="extra Django start-up per launch, s (default 3)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    args.drivers = [d for d in args.drivers.split(",") if d]
    unknown = [d for d in args.drivers if d not in DRIVERS]
    if unknown:
        p.error("--drivers: known drivers are %s" % ", ".join(DRIVERS))
    if os.geteuid() != 0:
        p.error("run as root (the test bed and perf need it)")
    why = perf_works()
    if why:
        p.error(why)
    measured = args.drivers
    # Fleet() always prepares entra: its check runs need it (benchmarks/run.py), the sync here does not.
    args.drivers, args.max_hosts_per_driver = sorted(set(measured) | {"entra"}), args.hosts
    with bench.tf.session_lock():
        workdir = tempfile.mkdtemp(prefix="alation-scim-cpu-split-")
        try:
            bench.tf.testbed_cli("install")
            res = measure(args, measured, workdir)
        finally:
            tb = bench.testbed_lib.Testbed()
            for h in tb.hosts:
                tb.reset(h)
            bench.tf.testbed_cli("up", "--controller-python", sys.executable)
            shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "cpu_split.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    text = table(res)
    with open(os.path.join(RESULTS, "cpu_split.md"), "w") as f:
        f.write(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
