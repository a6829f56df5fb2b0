# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""benchmarks/cpu_split.py's naming of processes and its table, on the processes a test-bed run has
(command lines as /proc showed them during a 20-host SailPoint rotation)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cpu_split  # noqa: E402

ME = 4242
CASES = [
    # (comm, parent comm, command line) -> kind
    (("ansible-playboo", "python", "/work/main/.venv/bin/python3.11 /work/main/.venv/bin/ansible-playbook -i inv.yml"), cpu_split.MAIN),
    (("ansible-playboo", "ansible-playboo", "/work/main/.venv/bin/python3.11 /work/main/.venv/bin/ansible-playbook -i x"), cpu_split.WORKERS),
    (("ssh", "ansible-playboo", "ssh -o ControlMaster=auto -o ControlPersist=120s -o Port=2222"), cpu_split.SSH),
    (("python", "python", "/work/main/.venv/bin/python benchmarks/cputree.py tree.json -- ansible-playbook"), cpu_split.BENCHMARK),
    (("sshd", "sshd", "sshd: deploy@notty"), cpu_split.HOST_SHELLS),
    (("run-parts", "sh", "run-parts --lsbsysinit /etc/update-motd.d"), cpu_split.HOST_SHELLS),
    (("sudo", "sh", "sudo -H -S -n -u root /bin/sh -c echo BECOME-SUCCESS-x ; cat /var/lib/alation_scim/x"), cpu_split.SUDO),
    (("python3", "sh", "/usr/bin/python3"), cpu_split.HOST_CODE),
    (("su", "python3", "/bin/su - alation -c alation_django_shell"), cpu_split.DJANGO),
    (("python", "su", "/opt/alation/env/bin/python manage.py shell"), cpu_split.DJANGO),
    (("python", "bash", "/opt/alation/env/bin/python /opt/alation/django/rosemeta/knobs.py shell_noise"), cpu_split.DJANGO),
    (("python", "python", "/opt/alation/env/bin/python -m gunicorn -c /opt/alation/django/alation_site/gunicorn_conf.py"), cpu_split.SCIM),
    (("python", "python", "/work/main/.venv/bin/python tests/testbed/sailpoint_sim/server.py --host 127.0.0.1"), cpu_split.IDP),
    (("rs:main Q:Reg", "systemd", ""), cpu_split.SYSLOG),
    (("kworker/u8:2-wr", "kthreadd", ""), cpu_split.OTHER),
    (("python", "", ""), cpu_split.OTHER),  # a python seen only by perf: not guessed
]


@pytest.mark.parametrize("process,kind", CASES, ids=[c[0][0] + ":" + c[0][2][:30] for c in CASES])
def test_each_process_gets_its_kind(process, kind):
    comm, parent, cmdline = process
    assert cpu_split.classify(1000, comm, parent, cmdline, me=ME) == kind


def test_this_process_is_the_benchmark_whatever_it_runs():
    assert cpu_split.classify(ME, "python", "bash", "benchmarks/cpu_split.py", me=ME) == cpu_split.BENCHMARK


def test_samples_add_up_per_kind_and_idle_is_left_out():
    names = {1: "ssh", 2: "sudo", 3: "rs:main Q:Reg"}

    def kind(pid, comm):
        assert names[pid] == comm  # the comm with spaces arrives whole
        return cpu_split.classify(pid, comm, "", "", me=ME)
    text = "\n".join(["        swapper     0"] * 50 + ["            ssh     1"] * cpu_split.HZ
                     + ["           sudo     2"] * (cpu_split.HZ // 2) + ["  rs:main Q:Reg     3"] * 2)
    seconds = cpu_split.cpu_by_kind(text, kind)
    assert seconds[cpu_split.SSH] == pytest.approx(1.0)
    assert seconds[cpu_split.SUDO] == pytest.approx(0.5, abs=0.01)
    assert seconds[cpu_split.SYSLOG] == pytest.approx(2.0 / cpu_split.HZ)
    assert sum(seconds.values()) == pytest.approx(1.0 + (cpu_split.HZ // 2 + 2.0) / cpu_split.HZ)


def test_the_table_shows_run_floor_and_difference_per_driver():
    def row(wall, **cpu):
        split = dict((k, 0.0) for k, _where in cpu_split.KINDS)
        for index, value in cpu.items():
            split[cpu_split.KINDS[int(index[1:])][0]] = value
        return {"wall_s": wall, "cpu_s": split}
    res = {"started": "2026-12-06T20:51:00Z", "commit": "abc1234", "hosts": 20, "rounds": 3, "hz": cpu_split.HZ,
           "drivers": {"sailpoint": {"run": [row(10.0, k0=1.0, k6=1.5), row(12.0, k0=3.0, k6=1.4), row(11.0, k0=2.0, k6=1.6)],
                                     "floor": [row(8.0, k7=7.0), row(8.2, k7=7.4), row(7.9, k7=7.2)]}}}
    text = cpu_split.table(res)
    assert "| process kind | where | sailpoint run / floor / + |" in text
    assert "| ansible-playbook, main process | controller | 2.00 / 0.00 / +2.00 |" in text
    assert "| the collection's host code (/usr/bin/python3) | host | 1.50 / 0.00 / +1.50 |" in text
    assert "| su + Django shell (+ the test bed's knob readers) | host | 0.00 / 7.20 / -7.20 |" in text
    assert "| **all** | | 3.50 / 7.20 / -3.70 |" in text
    assert "| wall s (under perf) | | 11.00 / 8.00 |" in text
    assert "commit abc1234" in text and "--hosts 20 --rounds 3" in text


def test_the_table_keeps_the_order_the_drivers_ran_in_after_a_round_trip_through_the_json():
    row = {"wall_s": 1.0, "cpu_s": dict((k, 0.0) for k, _where in cpu_split.KINDS)}
    res = {"started": "2026-12-06T20:51:00Z", "commit": "abc1234", "hosts": 2, "rounds": 1, "hz": cpu_split.HZ,
           "order": ["sailpoint", "entra"],
           "drivers": dict((d, {"run": [row], "floor": [row]}) for d in ("sailpoint", "entra"))}
    text = cpu_split.table(json.loads(json.dumps(res, sort_keys=True)))
    assert "| process kind | where | sailpoint run / floor / + | entra run / floor / + |" in text
    del res["order"]  # results written before the order was kept: alphabetical, as they were
    assert "| entra run / floor / + | sailpoint run / floor / + |" in cpu_split.table(res)
