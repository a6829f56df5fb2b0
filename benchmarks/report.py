#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tables, plot and docs/benchmarks.md from a benchmark result (benchmarks/results/latest.json).

    .venv/bin/python benchmarks/report.py      # regenerate latest.md, cost_curve.png, docs/benchmarks.md

The page also takes benchmarks/results/cpu_split.md as it is (benchmarks/cpu_split.py writes it).

benchmarks/run.py calls write_all() at the end of a run. The page's text around the figures is
benchmarks/doc_template.md; every figure comes from the result, so a re-run rewrites the page.
"""

import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
PLOT = os.path.join(RESULTS, "cost_curve.png")
TEMPLATE = os.path.join(HERE, "doc_template.md")
CPU_SPLIT = os.path.join(RESULTS, "cpu_split.md")  # benchmarks/cpu_split.py
DOC = os.path.join(REPO, "docs", "benchmarks.md")
TARGET = 1.3  # issue "Fleet speed close to this machine's floor": within 1.3x the floor
TARGET_HOSTS = (1, 20)
# issue "One rotation cycle for every IdP": at 20 hosts PingOne's median outage window within 0.2 s
# of Entra's, both under 1.5 s
OUTAGE_HOSTS, OUTAGE_TARGET, OUTAGE_PAIR, OUTAGE_SPREAD = 20, 1.5, ("entra", "pingone"), 0.2


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pick(res, **match):
    return [r for r in res["runs"] if all(r.get(k) == v for k, v in match.items())]


def series(res):
    """[(kind, driver, title)] in the order of the tables and the plot."""
    out = [("check", None, "check run (check_scim_expiry.yml)")]
    out += [("rotate", d, "rotation run (rotate_scim.yml), driver %s" % d) for d in res["settings"]["drivers"]]
    return out


def point(res, n, kind, driver):
    """Medians of one fleet size's playbook runs and floors, or None when not measured."""
    runs, floors = pick(res, hosts=n, kind=kind, driver=driver, what="playbook"), \
        pick(res, hosts=n, kind=kind, driver=driver, what="floor")
    if not runs:
        return None
    p = dict(runs=len(runs), wall=med(r["wall_s"] for r in runs), cpu=med(r["controller_cpu_s"] for r in runs),
             machine=med(r["machine_cpu_s"] for r in runs), floor=med(r["wall_s"] for r in floors),
             floor_cpu=med(r["controller_cpu_s"] for r in floors),
             floor_machine=med(r.get("machine_cpu_s") for r in floors),
             scim=med(r.get("scim_cpu_s") for r in runs), floor_scim=med(r.get("scim_cpu_s") for r in floors),
             settled=med(r.get("settled_s") for r in runs), floor_settled=med(r.get("settled_s") for r in floors),
             launches=sorted(set(x for r in runs for x in r.get("launches", []))),
             rotations=sorted(set(x for r in runs for x in r.get("rotations", []))),
             profile=runs[-1].get("profile") or [])
    for prefix, key, among in (("outage", "outage_s", runs), ("proven", "proven_s", runs),
                               ("floor_outage", "outage_s", floors)):
        got = [r[key] for r in among if r.get(key)]
        p[prefix + "_median"] = med(x["median"] for x in got)
        p[prefix + "_max"] = max([x["max"] for x in got if x["max"] is not None] or [None])
        p[prefix + "_missing"] = sum(x["missing"] for x in got)
    p["ratio"] = p["wall"] / p["floor"] if p["floor"] else None
    return p


def sizes(res):
    return sorted(set(r["hosts"] for r in res["runs"]))


def fmt(value, pattern="%.1f"):
    return "-" if value is None else pattern % value


def table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def curve_tables(res):
    out = []
    for kind, driver, title in series(res):
        rows = []
        for n in sizes(res):
            p = point(res, n, kind, driver)
            if p is None:
                continue
            row = [n, fmt(p["wall"]), fmt(p["floor"]), fmt(p["ratio"], "%.2fx"), fmt(p["cpu"]), fmt(p["cpu"] / n, "%.2f"),
                   fmt(p["floor_cpu"] / n if p["floor_cpu"] is not None else None, "%.2f"), fmt(p["machine"]),
                   ",".join(map(str, p["launches"])), p["runs"]]
            if kind == "rotate":
                row[-1:-1] = [window(p, "outage"), window(p, "floor_outage")]
            rows.append(row)
        headers = ["hosts", "wall s", "floor s", "/ floor", "ctrl CPU s", "ctrl CPU s/host", "floor CPU s/host",
                   "machine CPU s", "launches/host", "runs"]
        if kind == "rotate":
            headers[-1:-1] = ["outage median / max s", "floor outage median / max s"]
        out.append("**%s**\n\n%s" % (title[0].upper() + title[1:], table(headers, rows)))
    return "\n\n".join(out)


def window(p, prefix):
    """'median / max' of an outage-like figure of a point, with hosts where it was not seen."""
    missing = p[prefix + "_missing"]
    return "%s / %s%s" % (fmt(p[prefix + "_median"], "%.2f"), fmt(p[prefix + "_max"], "%.2f"),
                          " (%d not seen)" % missing if missing else "")


def host_words(n):
    return "1 host" if n == 1 else "%d hosts" % n


def loop_lines(res):
    """The vendor loop against the playbooks, where it was measured."""
    lines = []
    for r in pick(res, what="loop"):
        p = point(res, r["hosts"], r["kind"], r["driver"])
        what = "check" if r["kind"] == "check" else "rotation"
        figures = (what, host_words(r["hosts"]), r["measured_hosts"], r["wall_s"], r["wall_s"] / p["wall"], p["wall"],
                   r["wall_s"] / p["floor"], fmt(p["floor"]))
        lines.append("- The vendor's manual loop, %s of %s (%d measured, scaled): %.1f s, %.1fx the playbook's %.1f s "
                     "and %.1fx the floor's %s s." % figures)
    return "\n".join(lines)


def targets(res):
    rows = []
    for kind, driver, title in series(res):
        for n in TARGET_HOSTS:
            p = point(res, n, kind, driver)
            if p is None or p["ratio"] is None:
                rows.append(["%s, %s" % (host_words(n), title), "-", "<= %.1fx" % TARGET, "not measured"])
                continue
            ok = p["ratio"] <= TARGET
            verdict = "met" if ok else "MISSED by %.2fx (%.1f s over)" % (p["ratio"] - TARGET, p["wall"] - TARGET * p["floor"])
            rows.append(["%s, %s" % (host_words(n), title), "%.2fx" % p["ratio"], "<= %.1fx" % TARGET, verdict])
    rows += outage_targets(res)
    parts = (table(["target", "measured", "target", "verdict"], rows), fixed_cost(res), loop_lines(res))
    return "\n\n".join(x for x in parts if x)


def fixed_cost(res):
    """Each 1.3x target against what any ansible-playbook run costs here: an empty play over the same
    hosts (benchmarks/empty_play.yml: start-up, inventory, playbook, a play with no task, exit). What
    is left of the target's allowance above the floor is what the collection's tasks may take."""
    rows, empties = [], {}
    for n in TARGET_HOSTS:
        empties[n] = med(r["wall_s"] for r in pick(res, hosts=n, kind="empty", what="empty_play"))
    for kind, driver, title in series(res):
        for n in TARGET_HOSTS:
            p, empty = point(res, n, kind, driver), empties[n]
            if p is None or p["floor"] is None or empty is None:
                continue
            allowed = (TARGET - 1) * p["floor"]
            rows.append(["%s, %s" % (host_words(n), title), fmt(p["floor"]), fmt(p["wall"]),
                         "%.2f" % (p["wall"] - p["floor"]), "%.2f" % allowed, "%.2f" % empty,
                         "%.2f" % (p["wall"] - p["floor"] - empty), "%.2f" % (allowed - empty)])
    if not rows:
        return ""
    return ("Each target against ansible-playbook's own fixed cost on this machine: an empty play over the same hosts "
            "(`benchmarks/empty_play.yml`: Python and Ansible's start-up, the inventory, the playbook, a play with no "
            "task, the exit; it reaches no host), timed in the same run (%s). What the run takes above the floor is "
            "that fixed cost plus what the collection's tasks add; the target allows %.0f%% of the floor above it, "
            "and what the empty play leaves of that is what the collection's tasks may add.\n\n"
            % (", ".join("%s s at %s" % (fmt(empties[n], "%.2f"), host_words(n)) for n in TARGET_HOSTS
                         if empties[n] is not None), 100 * (TARGET - 1))
            + table(["run", "floor s", "run s", "run - floor s", "allowed above the floor s", "empty play s",
                     "the collection's tasks s", "left for them s"], rows))


def outage_targets(res):
    """The outage-window targets: both drivers' medians under OUTAGE_TARGET, within OUTAGE_SPREAD."""
    a, b = (point(res, OUTAGE_HOSTS, "rotate", d) for d in OUTAGE_PAIR)
    rows = []
    for name, p in zip(OUTAGE_PAIR, (a, b)):
        what = "%s, outage window median, driver %s" % (host_words(OUTAGE_HOSTS), name)
        got = p and p["outage_median"]
        rows.append([what, fmt(got, "%.2f s"), "< %.1f s" % OUTAGE_TARGET,
                     "not measured" if got is None else "met" if got < OUTAGE_TARGET
                     else "MISSED by %.2f s" % (got - OUTAGE_TARGET)])
    what = "%s, outage median of %s within %.1f s of %s" % (
        host_words(OUTAGE_HOSTS), OUTAGE_PAIR[1], OUTAGE_SPREAD, OUTAGE_PAIR[0])
    if a and b and a["outage_median"] is not None and b["outage_median"] is not None:
        gap = abs(b["outage_median"] - a["outage_median"])
        rows.append([what, "%.2f s apart" % gap, "<= %.1f s" % OUTAGE_SPREAD,
                     "met" if gap <= OUTAGE_SPREAD else "MISSED by %.2f s" % (gap - OUTAGE_SPREAD)])
    else:
        rows.append([what, "-", "<= %.1f s" % OUTAGE_SPREAD, "not measured"])
    return rows


def growth(res):
    """How cost grows: per series, wall time and controller CPU of the largest size against one host."""
    lines = []
    for kind, driver, title in series(res):
        ns = [n for n in sizes(res) if point(res, n, kind, driver)]
        if len(ns) < 2 or ns[0] != 1:
            continue
        one, big = point(res, 1, kind, driver), point(res, ns[-1], kind, driver)
        cpu_per_host = [point(res, n, kind, driver)["cpu"] / n for n in ns]
        busy = big["machine"] / (big["wall"] * res["machine"]["cores"])
        lines.append("- %s: %d hosts take %.1fx the wall time of one (the floors: %s), and %.2f controller CPU s per "
                     "host against %.2f for one host (from %.2f to %.2f over the sizes measured); during the %d-host "
                     "run the machine's %d cores were %.0f%% busy."
                     % (title[0].upper() + title[1:], ns[-1], big["wall"] / one["wall"],
                        fmt(big["floor"] / one["floor"] if big["floor"] and one["floor"] else None, "%.1fx"),
                        big["cpu"] / ns[-1], one["cpu"], min(cpu_per_host), max(cpu_per_host), ns[-1],
                        res["machine"]["cores"], 100 * busy))
        if kind == "rotate":
            for prefix, what in (("outage", "Outage window"), ("floor_outage", "The floor's outage window"),
                                 ("proven", "Until %s also proved the new token, after holding it" % driver)):
                if any(point(res, n, kind, driver)[prefix + "_median"] is not None for n in ns):
                    lines.append("  %s (median / max): %s." % (what, ", ".join(
                        "%s s at %s" % (window(point(res, n, kind, driver), prefix), host_words(n)) for n in ns)))
    return "\n".join(lines)


def settings_table(res):
    out = []
    for n in sorted(set(r["hosts"] for r in res["settings_runs"])):
        runs = [r for r in res["settings_runs"] if r["hosts"] == n]
        base = dict((r["kind"], r) for r in runs if r["setting"] == "shipped" and "error" not in r)
        rows = []
        for name in [r["setting"] for r in runs if r["kind"] == "check"]:
            row = [name]
            for kind in ("check", "rotate"):
                r = next(x for x in runs if x["setting"] == name and x["kind"] == kind)
                if "error" in r:
                    row += ["failed: %s" % first_line(r["error"]), "", ""]
                    continue
                vs = "%+.0f%%" % (100.0 * (r["wall_s"] / base[kind]["wall_s"] - 1)) if kind in base else "-"
                row += ["%.1f" % r["wall_s"], "%.1f" % r["controller_cpu_s"], vs]
            rows.append(row)
        headers = ["setting", "check wall s", "check ctrl CPU s", "check vs shipped", "rotation wall s",
                   "rotation ctrl CPU s", "rotation vs shipped"]
        out.append("**%d hosts**\n\n%s" % (n, table(headers, rows)))
    return "\n\n".join(out) or "Not measured in this run."


def first_line(error):
    """The line of an error that says most: Ansible's own error or fatal line, else the first."""
    lines = [x.strip() for x in error.splitlines() if x.strip()]
    for marker in ("[ERROR]", "fatal:", "ERROR!", "Error"):
        for x in lines:
            if marker in x:
                return x[:300].replace("|", "\\|")
    return (lines[0] if lines else "unknown")[:300].replace("|", "\\|")


def decomposition(res):
    """The check at the targets' sizes in three steps: the floor, the launch task alone (Ansible and
    the host code, benchmarks/one_task_check.yml), the check run as shipped."""
    rows, lines = [], []
    for n in TARGET_HOSTS:
        p = point(res, n, "check", None)
        one = pick(res, hosts=n, kind="check", what="one_task")
        floors = [r for r in pick(res, hosts=n, kind="check", what="floor") if r.get("machine_cpu_s") is not None]
        if p is None or not one or not floors:
            continue
        one_wall, one_cpu = med(r["wall_s"] for r in one), med(r["controller_cpu_s"] for r in one)
        host_side = dict(floor=med(r["machine_cpu_s"] - r["controller_cpu_s"] for r in floors),
                         one=med(r["machine_cpu_s"] - r["controller_cpu_s"] for r in one),
                         run=p["machine"] - p["cpu"])
        rows.append([str(n), fmt(p["floor"]), "%.1f (%.2fx)" % (one_wall, one_wall / p["floor"]),
                     "%.1f (%.2fx)" % (p["wall"], p["ratio"]),
                     "%.2f / %.2f / %.2f" % (p["floor_cpu"] / n, one_cpu / n, p["cpu"] / n),
                     "%+.2f / %+.2f" % ((host_side["one"] - host_side["floor"]) / n, (host_side["run"] - host_side["floor"]) / n)])
        lines.append("- %s: the launch task alone is %.2fx the floor (%.1f s over it: Ansible and the host code); "
                     "the check run's other tasks add %.1f s (%.2f controller CPU s per host)."
                     % (host_words(n), one_wall / p["floor"], one_wall - p["floor"], p["wall"] - one_wall,
                        (p["cpu"] - one_cpu) / n))
    if not rows:
        return ""
    return ("The check in three steps: the floor, the check's launch task alone (`benchmarks/one_task_check.yml`: "
            "the least any playbook that runs the collection's host code needs), and the check run as shipped. "
            "Host-side CPU is the machine's busy CPU less the controller's (the simulated hosts' sshd, sudo, the "
            "host code's Python and Django, plus whatever else the machine ran), per host above the floor's.\n\n"
            + table(["hosts", "floor s", "launch task alone s", "check run s",
                     "ctrl CPU s/host: floor / task alone / run", "host-side CPU s/host over the floor: task alone / run"],
                    rows) + "\n\n" + "\n".join(lines))


def cpu_split(res):
    """Where a run's CPU goes beyond its floor's, at the largest size up to 20: the controller (the
    ansible-playbook tree), the simulated Alation servers' SCIM endpoints (gunicorn + Django: the
    verification's calls and the IdP simulators' own calls to Alation), and the rest of the machine
    (the hosts' sshd, sudo, the host code and Django shells, the IdP simulators)."""
    ns = [n for n in sizes(res) if n <= 20]
    rows = []
    for n in ns[-1:]:
        for kind, driver, title in series(res):
            p = point(res, n, kind, driver)
            if not p or p["scim"] is None or p["floor_scim"] is None or p["floor_machine"] is None:
                continue
            rest, floor_rest = p["machine"] - p["cpu"] - p["scim"], p["floor_machine"] - p["floor_cpu"] - p["floor_scim"]
            extra = p["machine"] - p["floor_machine"]
            rows.append([title, "%d" % n, "%.1f / %.1f (%.2fx)" % (p["wall"], p["floor"], p["ratio"]),
                         "%.1f / %.1f" % (p["machine"], p["floor_machine"]),
                         "%+.1f" % (p["cpu"] - p["floor_cpu"]), "%+.1f" % (p["scim"] - p["floor_scim"]),
                         "%+.1f" % (rest - floor_rest), "%+.1f" % extra,
                         "-" if p["settled"] is None or p["floor_settled"] is None else "%.1f / %.1f (%.2fx)" % (
                             p["settled"], p["floor_settled"], p["settled"] / p["floor_settled"])])
    if not rows:
        return ""
    return ("Where the CPU goes beyond the floor's (CPU seconds of the whole run; the machine has 2 cores shared by "
            "the controller and the simulated hosts, so CPU beyond the floor's is wall time). SCIM endpoints: the "
            "simulated Alation servers' gunicorn + Django (django-scim2) processes, which answer the verification's "
            "calls (new token 200, revoked token 401) and the IdP simulators' own calls to Alation (Entra's "
            "validateCredentials, PingFederate's provisioning run after every save, its write probe's included); "
            "on a real fleet that CPU is the Alation servers', not the controller's. Rest: the hosts' sshd, sudo, "
            "the host code, the Django shells and the IdP simulators. Until the IdP settled: the wall time until "
            "the IdP simulator's work after its answers had ended too (PingOne's resync of every store after each "
            "revision, PingFederate's provisioning after each save), run and floor; a floor ends with its hosts' "
            "last answers, all at about the same time, and leaves more of that work after its end than a run, "
            "whose hosts answer over a longer time and whose last tasks share the cores with it.\n\n"
            + table(["run", "hosts", "wall s / floor", "machine CPU s / floor", "controller", "SCIM endpoints",
                     "rest of the machine", "total", "until the IdP settled s / floor"], rows))


def profiles(res):
    """Where the time goes: the task profile of the runs at 20 hosts (or the largest size up to 20)."""
    ns = [n for n in sizes(res) if n <= 20]
    if not ns:
        return ""
    n = ns[-1]
    out = []
    for kind, driver, title in series(res):
        p = point(res, n, kind, driver)
        if p and p["profile"]:
            out.append("Where the %d-host %s spends its time (ANSIBLE_LOG_PATH timestamps, top %d tasks):\n\n%s"
                       % (n, title, len(p["profile"]), "\n".join("    %6.2f s  %s" % tuple(t) for t in p["profile"])))
    return "\n\n".join(out)


def repeats(res):
    s = res["settings"]
    at = s.get("repeat_sizes")
    if at is None:  # results from before repeat_sizes was recorded
        return "%d below 10 hosts, 1 from 10 on" % s["repeat"]
    others = [n for n in s["sizes"] if n not in at]
    return "%d at %s host(s)%s" % (s["repeat"], ", ".join(map(str, at)),
                                   ", 1 at %s" % ", ".join(map(str, others)) if others else "")


def head(res):
    s = res["settings"]
    skipped = "".join("\n- %s hosts: NOT MEASURED, %s" % (n, why) for n, why in sorted(res["skipped"].items()))
    notes = "".join("\n- %s" % x for x in res["notes"])
    mem = ", ".join("%s hosts %s MiB" % (k, v) for k, v in sorted(res["memory_mib"].items(), key=lambda kv: (
        kv[0] != "before", int(kv[0]) if kv[0].isdigit() else 0)))
    return ("Measured %s, commit %s, `%s` (%d s holding the test bed's lock), on %d cores and %d MiB; Django start-up +%.1f s per "
            "launch; Mitogen %s. Fleet sizes %s, settings at %s; runs per measurement: %s (medians). Machine memory used "
            "at peak: %s.%s%s"
            % (res["started"][:16].replace("T", " ") + " UTC", res["commit"], res["command"], res["duration_s"],
               res["machine"]["cores"], res["machine"]["mem_total_mib"], s["startup_delay_s"], res["mitogen"] or "-",
               ", ".join(map(str, s["sizes"])), ", ".join(map(str, s["settings_sizes"])) or "-", repeats(res), mem,
               skipped, notes))


def text(res):
    return "\n\n".join(x for x in ("## Results\n\n" + head(res), "### Against the floor: the targets\n\n" + targets(res),
                                   "### The cost curve\n\n" + growth(res) + "\n\n![cost curve](../benchmarks/results/"
                                   "cost_curve.png)\n\n" + curve_tables(res),
                                   "### Settings, each changed alone\n\n" + settings_table(res),
                                   "### Where the time goes\n\n" + "\n\n".join(
                                       x for x in (decomposition(res), cpu_split(res), profiles(res)) if x)) if x) + "\n"


def plot(res, path=PLOT):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (wall, cpu) = plt.subplots(1, 2, figsize=(12, 4.8))
    for kind, driver, title in series(res):
        ns = [n for n in sizes(res) if point(res, n, kind, driver)]
        if not ns:
            continue
        pts = [point(res, n, kind, driver) for n in ns]
        label = "check" if kind == "check" else "rotation (%s)" % driver
        line, = wall.plot(ns, [p["wall"] for p in pts], marker="o", label=label)
        wall.plot(ns, [p["floor"] for p in pts], linestyle="--", color=line.get_color(), label=label + ", floor")
        cpu.plot(ns, [p["cpu"] / n for p, n in zip(pts, ns)], marker="o", color=line.get_color(), label=label)
        cpu.plot(ns, [p["floor_cpu"] / n for p, n in zip(pts, ns)], linestyle="--", color=line.get_color(),
                 label=label + ", floor")
    wall.set(title="Wall time per run", xlabel="Alation hosts", ylabel="seconds")
    cpu.set(title="Controller CPU per host (ansible-playbook tree)", xlabel="Alation hosts", ylabel="CPU seconds / host")
    for ax in (wall, cpu):
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    fig.suptitle("alation.scim on the test bed, %d cores, commit %s" % (res["machine"]["cores"], res["commit"]))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_all(res, doc=True):
    os.makedirs(RESULTS, exist_ok=True)
    body = text(res)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(body.replace("../benchmarks/results/", ""))
    plot(res)
    if doc:
        with open(TEMPLATE) as f:
            template = f.read()
        try:
            with open(CPU_SPLIT) as f:
                split = f.read()
        except FileNotFoundError:
            split = "Not measured yet: run `benchmarks/cpu_split.py`.\n"
        with open(DOC, "w") as f:
            f.write(template.replace("{{ results }}", body.rstrip("\n")).replace("{{ cpu_split }}", split.rstrip("\n")))
    return body


def main():
    with open(os.path.join(RESULTS, "latest.json")) as f:
        res = json.load(f)
    print(write_all(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
