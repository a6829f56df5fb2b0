"""Scale-out through AWX job slicing: the scheduled rotation run by ansible-runner (the engine AWX
runs jobs with) as two slices of the test-bed fleet at once, then the merge of their reports, as
workflow_job_template.yml of examples/ci/awx/ does it; the merged reports must be what one run over
the whole fleet writes.

A slice is what AWX gives a slice job: an inventory with only every N-th host (sorted by name,
hosts[k::N]) and the awx_job_id extra variable; the merge job gets the slices' set_stats artifacts as
extra variables, as AWX hands artifacts to the next workflow node. Both the whole run and the sliced
one start from the same fleet state (mixed: fresh, due, expired, no token, and an unreachable host),
rotate over real SSH and push to the Entra ID simulator. Tokens are compared by fingerprint and
scanned for in everything the jobs left, never printed.
"""

import calendar
import copy
import os
import re
import sys
import time

import ansible_runner
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

from entra_sim.client import EntraSim  # noqa: E402
import testbed_fixtures  # noqa: E402
from testbed_fixtures import LeakScanner, fp, fresh_simulator, sp_of  # noqa: E402
import test_scheduled  # noqa: E402
from test_scheduled import ALATION, OFFLINE, REPORTS, mixed_states  # noqa: E402

# The fixture: four Alation hosts plus an inventory host nobody answers for, back to the default size afterwards.
fleet = test_scheduled.fleet
AWX = os.path.join(REPO, "examples", "ci", "awx")
SCHEDULED = os.path.join(REPO, "playbooks", "scheduled_rotation.yml")
OUTPUTS = dict(REPORTS, prometheus="alation_scim.prom")
SLICES = 2
EXTRA = {"alation_scim_hosts": "alation", "alation_scim_idp": "entra", "alation_scim_verify_delay": 1}


def awx_slice(inventory, number, count):
    """The inventory AWX gives slice `number` (1-based) of `count`: hosts sorted by name, every
    count-th from number-1, in the groups they belong to (localhost stays: AWX's implicit one)."""
    names = set()

    def collect(group):
        names.update(group.get("hosts") or {})
        for child in (group.get("children") or {}).values():
            collect(child)
    collect(inventory["all"])
    keep = set(sorted(names - {"localhost"})[number - 1::count]) | {"localhost"}

    def prune(group):
        if group.get("hosts"):
            group["hosts"] = dict((h, v) for h, v in group["hosts"].items() if h in keep)
        for child in (group.get("children") or {}).values():
            prune(child)
    sliced = copy.deepcopy(inventory)
    prune(sliced["all"])
    return sliced


class Job:
    """One AWX-like job: ansible-runner in its own private data dir, started in a thread."""

    def __init__(self, fleet, jobs_dir, ident, playbook, inventory, extravars):
        """fleet: test_scheduled's PlaybookRunner, for its ansible.cfg and collections path."""
        self.dir = str(jobs_dir / ident)
        os.makedirs(self.dir)
        inventory_path = os.path.join(self.dir, "inventory.yml")
        with open(inventory_path, "w") as f:
            yaml.safe_dump(inventory, f)
        env = {"ANSIBLE_CONFIG": fleet.config, "ANSIBLE_COLLECTIONS_PATH": fleet.collections_path,
               "PATH": testbed_fixtures.VENV_BIN + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")}
        self.thread, self.runner = ansible_runner.run_async(
            private_data_dir=self.dir, ident=ident, playbook=playbook, inventory=inventory_path,
            extravars=extravars, envvars=env, quiet=True)
        self.started = time.time()

    def wait(self, timeout=600):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "ansible-runner job %s did not finish" % self.dir
        self.ended = time.time()
        return self

    @property
    def artifacts(self):
        """What set_stats left (AWX's job artifacts), from the playbook_on_stats event."""
        stats = [e for e in self.runner.events if e.get("event") == "playbook_on_stats"]
        assert len(stats) == 1, "no playbook_on_stats event in %s" % self.dir
        return stats[0]["event_data"].get("artifact_data") or {}

    def __repr__(self):  # no stdout: assertion messages may print this
        return "Job(%s, status=%s, rc=%s)" % (os.path.basename(self.dir), self.runner.status, self.runner.rc)


def inventory(fleet):
    with open(fleet.inventory) as f:
        return yaml.safe_load(f)


def in_sync(fleet, testbed, sim, jobs_dir, name):
    """Fresh tokens on every host and Entra holding each one, then the mixed states."""
    for h in ALATION:
        testbed.reset(h)
    job = Job(fleet, jobs_dir, name, SCHEDULED, inventory(fleet),
              dict(EXTRA, alation_scim_hosts="alation:!%s" % OFFLINE)).wait()
    assert job.runner.rc == 0, job
    for h in ALATION:
        assert fp(sim.stored_token(sp_of(testbed, h))) == fp(testbed.current_token(h)), "no baseline push for %s" % h
    mixed_states(testbed)


# ISO 8601 moments (JSON, Markdown, JUnit) and epoch seconds (Prometheus), however precise.
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?|(?<![\w.])\d{10}(?:\.\d+)?(?![\w.])")


def apart(text):
    """(text with every timestamp replaced, the timestamps as epoch seconds)."""
    stamps = []
    for match in TIME_RE.findall(text):
        stamps.append(float(match) if "T" not in match else calendar.timegm(time.strptime(match[:19], "%Y-%m-%dT%H:%M:%S")))
    return TIME_RE.sub("<time>", text), stamps


def outputs(directory):
    found = {}
    for kind, name in OUTPUTS.items():
        with open(os.path.join(directory, name)) as f:
            found[kind] = f.read()
    return found


def test_two_slices_merged_report_what_one_run_reports(fleet, testbed, tmp_path):
    sim = fresh_simulator(EntraSim(testbed.entra["url"], testbed.ca_path))
    jobs, shared = tmp_path / "jobs", tmp_path / "shared"
    scanner = LeakScanner([testbed.entra["client_secret"]])

    # The whole fleet in one job, as an unsliced job template runs it.
    in_sync(fleet, testbed, sim, jobs, "sync-whole")
    whole_started = time.time()
    whole = Job(fleet, jobs, "whole", os.path.join(AWX, "scheduled_rotation.yml"), inventory(fleet),
                dict(EXTRA, alation_scim_report_dir=str(shared / "whole"), awx_job_id=100,
                     alation_scim_report_prometheus_path=str(shared / "whole" / "job-100" / OUTPUTS["prometheus"]))).wait()
    assert (whole.runner.status, whole.runner.rc) == ("failed", 2), whole  # the unreachable host
    whole_rotations = dict((h, testbed.rotations(h)) for h in ALATION)
    for h in ALATION:
        scanner.add(testbed.current_token(h))

    # The same fleet state, two slices at once (AWX jobs 101 and 102), then the merge job.
    in_sync(fleet, testbed, sim, jobs, "sync-sliced")
    old = dict((h, testbed.current_token(h)) for h in ALATION)
    for token in old.values():
        scanner.add(token)
    slices = [Job(fleet, jobs, "slice%d" % k, os.path.join(AWX, "scheduled_rotation.yml"),
                  awx_slice(inventory(fleet), k, SLICES),
                  dict(EXTRA, alation_scim_report_dir=str(shared / "sliced"), awx_job_id=100 + k))
              for k in range(1, SLICES + 1)]
    for job in slices:
        job.wait()
    assert max(j.started for j in slices) < min(j.ended for j in slices), "the slices did not run at the same time"
    # AWX hands the next workflow node every slice's artifacts, merged into one dict.
    artifacts = {}
    for job in slices:
        artifacts.update(job.artifacts)
    assert artifacts == dict(("alation_scim_slice_report_%d" % (100 + k),
                              str(shared / "sliced" / ("job-%d" % (100 + k)) / OUTPUTS["json"]))
                             for k in range(1, SLICES + 1))
    merged_dir = shared / "sliced" / "fleet"
    merge = Job(fleet, jobs, "merge", os.path.join(AWX, "merge_reports.yml"), inventory(fleet),
                dict(artifacts, alation_scim_hosts="alation", alation_scim_report_dir=str(merged_dir),
                     alation_scim_report_prometheus_path=str(merged_dir / OUTPUTS["prometheus"]))).wait()
    sliced_ended = time.time()

    # Each slice did its part: slice 1 has alation-offline, alation2 and alation4, slice 2
    # alation1, alation3 (and plain1, which is not in the alation group).
    assert [sorted(h for h in s.runner.stats["processed"] if h != "localhost") for s in slices] == [
        [OFFLINE, "alation2", "alation4"], ["alation1", "alation3"]]
    assert [(s.runner.status, s.runner.rc) for s in slices] == [("failed", 2), ("successful", 0)]
    assert (merge.runner.status, merge.runner.rc) == (whole.runner.status, whole.runner.rc)
    assert dict((h, testbed.rotations(h)) for h in ALATION) == whole_rotations == {
        "alation1": 0, "alation2": 1, "alation3": 1, "alation4": 1}
    for h in ALATION:
        token = testbed.current_token(h)
        scanner.add(token)
        assert fp(sim.stored_token(sp_of(testbed, h))) == fp(token), "Entra does not hold the token of %s" % h
    for h in ("alation2", "alation3"):
        assert testbed.scim_get(h, old[h]) == 401, "old token of %s still accepted" % h

    # The merged reports are the whole run's, up to the moments the two runs happened at.
    want, got = outputs(str(shared / "whole" / "job-100")), outputs(str(merged_dir))
    for kind in OUTPUTS:
        (want_text, want_times), (got_text, got_times) = apart(want[kind]), apart(got[kind])
        assert got_text == want_text, kind
        assert len(got_times) == len(want_times)
        for before, after in zip(want_times, got_times):
            assert 0 <= after - before <= sliced_ended - whole_started + 2, (kind, before, after)
    assert '"verdict": "NOT HEALTHY: 1 of 5 host(s) need attention (4 ok, 1 unreachable); 3 rotated"' in got["json"]
    assert "alation_scim_last_run_success 0" in got["prometheus"]

    # Everything the jobs left (AWX keeps the artifacts: stdout and every event) and the reports;
    # not the inventories, which hold the Entra client secret by design.
    scanner.scan_files([os.path.join(str(jobs), j, d) for j in os.listdir(str(jobs)) for d in ("artifacts", "env")]
                       + [str(shared)])
    scanner.scan_syslog()
    scanner.assert_clean()
