# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""benchmarks/report.py: each 1.3x target against ansible-playbook's fixed cost (an empty play)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402


def run(hosts, kind, what, wall, driver=None, **extra):
    return dict(extra, hosts=hosts, kind=kind, driver=driver, what=what, wall_s=wall, controller_cpu_s=1.0,
                machine_cpu_s=2.0)


def result(runs):
    return {"settings": {"drivers": ["sailpoint"]}, "machine": {"cores": 2}, "runs": runs}


def cells(text, first):
    """The figures of the table row whose first cell starts with `first`."""
    row = [line for line in text.splitlines() if line.startswith("| " + first)][0]
    return [c.strip() for c in row.strip("|").split("|")][1:]


def test_each_target_is_split_into_the_empty_play_and_what_the_collection_adds():
    res = result([
        run(1, "rotate", "playbook", 5.0, "sailpoint"), run(1, "rotate", "playbook", 5.2, "sailpoint"),
        run(1, "rotate", "floor", 3.6, "sailpoint"), run(1, "rotate", "floor", 3.8, "sailpoint"),
        run(1, "empty", "empty_play", 0.7), run(1, "empty", "empty_play", 0.9),
        run(1, "check", "playbook", 4.6), run(1, "check", "floor", 3.5),
    ])
    text = report.fixed_cost(res)
    assert "timed in the same run (0.80 s at 1 host)" in text
    # check: 4.6 - 3.5 = 1.1 over, 0.3 x 3.5 = 1.05 allowed, 1.1 - 0.8 = 0.3 the collection's, 1.05 - 0.8 = 0.25 left
    assert cells(text, "1 host, check run") == ["3.5", "4.6", "1.10", "1.05", "0.80", "0.30", "0.25"]
    # rotation, medians: run 5.1, floor 3.7; over 1.4, allowed 1.11, the collection's 0.6, left 0.31
    assert cells(text, "1 host, rotation run") == ["3.7", "5.1", "1.40", "1.11", "0.80", "0.60", "0.31"]
    assert "20 hosts" not in text  # not measured at 20: no row, no figure


def test_no_empty_play_measured_means_no_section():
    res = result([run(1, "check", "playbook", 4.6), run(1, "check", "floor", 3.5)])
    assert report.fixed_cost(res) == ""
    assert "ansible-playbook's own fixed cost" not in report.targets(res)
