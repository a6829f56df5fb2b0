#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, alation.scim maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: fleet_report
short_description: Write the fleet report of Alation SCIM token checks and rotations
version_added: 0.1.0
description:
  - Turns the per-host C(alation_scim_report) facts left by the
    R(alation.scim.token_rotation role,ansible_collections.alation.scim.token_rotation_role),
    plus the hosts that failed or were unreachable, into a JSON report, a Markdown table (fit for
    C($GITHUB_STEP_SUMMARY)), a JUnit XML file (one test case per host) and a Prometheus
    textfile-collector file.
  - Meant to run once (C(run_once)) after the hosts have been checked or rotated. It runs as an
    action plugin in the controller's own process and writes the reports on the controller (see the
    notes).
  - Only the known report keys are written; any other key a record carries is dropped, and text
    that looks like a credential is redacted, so no token can reach a report.
  - A file is rewritten (atomically) only when its content changes, so the module is idempotent.
author:
  - alation.scim maintainers (@alation-scim)
attributes:
  action:
    support: full
    description: Runs as an action plugin in the controller's process, whatever the task's host.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Reports which files would change without writing them.
  diff_mode:
    support: none
    description: No diff is returned.
  platform:
    support: full
    platforms: posix
    description: Writes the reports on the controller.
options:
  records:
    description:
      - The per-host report facts (C(ansible_facts.alation_scim_report)), one dictionary per host with the keys
        C(host), C(base_url), C(idp), C(token_present), C(previous_expires_at), C(expires_at),
        C(days_remaining), C(rotation_due), C(rotated), C(pushed), C(verified), C(action),
        C(status) and C(message).
      - Records for hosts that failed or were unreachable may be given as
        C({host, status=failed|unreachable, message}).
      - Unknown keys are dropped.
    type: list
    elements: dict
    default: []
  reports:
    description:
      - JSON reports written by other runs (O(json_path) of this module, as C(check_scim_expiry.yml) and
        C(scheduled_rotation.yml) write it), whose hosts join O(records). This is how to report on a
        fleet that several runs covered, such as the slices of an AWX / Automation Platform sliced job
        (each slice writes its own report, one more task merges them). The outputs are those one run over
        all the hosts would have written.
      - Each host must be in exactly one report (and not in O(records)), and every report must have
        been written with this task's O(warning_days) and O(critical_days); otherwise the task fails
        and names the host or the report.
      - A report that does not exist or is not a JSON fleet report fails the task. To report the hosts
        of a slice that wrote nothing, leave its path out and list every host in O(hosts_all).
    type: list
    elements: path
    default: []
  hosts_all:
    description:
      - Every host the run was meant to cover. A host listed here without a record is reported as
        failed (or unreachable), with the reason found in O(failures).
    type: list
    elements: str
    default: []
  failures:
    description:
      - Reasons for hosts in O(hosts_all) that have no record, keyed by host name. A value is
        either a message or a dictionary C({status=failed|unreachable, message}).
    type: dict
    default: {}
  warning_days:
    description:
      - A host whose token expires in fewer days than this is reported as C(warning).
    type: int
    default: 30
  critical_days:
    description:
      - A host whose token expires in fewer days than this (or has expired, or has no token) is
        reported as C(critical). It must not be greater than O(warning_days).
    type: int
    default: 7
  json_path:
    description: Where to write the JSON report. Not written when omitted.
    type: path
  markdown_path:
    description: Where to write the Markdown report. Not written when omitted.
    type: path
  junit_path:
    description: Where to write the JUnit XML report. Not written when omitted.
    type: path
  prometheus_path:
    description:
      - Where to write the Prometheus textfile-collector file (name it C(*.prom) in the node
        exporter's C(--collector.textfile.directory)). Not written when omitted.
      - "Gauges, labelled C(host) per host: C(alation_scim_token_expiry_timestamp_seconds),
        C(alation_scim_token_rotated) (1 when this run rotated the token), C(alation_scim_host_healthy);
        and for the run: C(alation_scim_threshold_seconds) (labelled C(level=warning|critical)),
        C(alation_scim_last_run_success), C(alation_scim_last_run_timestamp_seconds)."
      - The run's timestamp is the only sample that changes between two runs that find the same
        fleet; it does not count as a change, but the file is rewritten so that the timestamp moves.
        The alert rules and the Grafana dashboard in the collection's C(examples/monitoring/) use
        these metrics.
    type: path
notes:
  - The reports are always written on the controller, even when the task is not delegated to
    C(localhost) or uses another connection; C(delegate_to=localhost) is still a good habit, so that
    the task reads as what it does. They are written as the user running C(ansible-playbook)
    (C(become) does not apply) and relative paths are relative to its working directory.
  - A new report file gets mode C(0644); an existing one keeps its mode.
  - A host's status is the worse of the status in its record and the status its days remaining
    imply under O(warning_days) and O(critical_days).
  - The fleet is healthy when at least one host was reported and no host is C(critical),
    C(failed) or C(unreachable).
'''

EXAMPLES = r'''
- name: Write the fleet report from every host's report fact
  alation.scim.fleet_report:
    records: "{{ ansible_play_hosts_all | map('extract', hostvars, ['ansible_facts', 'alation_scim_report']) | select('defined') | list }}"
    hosts_all: "{{ ansible_play_hosts_all }}"
    json_path: reports/scim.json
    markdown_path: reports/scim.md
    junit_path: reports/scim-junit.xml
    prometheus_path: /var/lib/node_exporter/textfile/alation_scim.prom
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Merge the reports of the two slices of a sliced job into one fleet report
  alation.scim.fleet_report:
    reports:
      - /shared/alation-scim/run-42/slice-1.json
      - /shared/alation-scim/run-42/slice-2.json
    hosts_all: "{{ query('inventory_hostnames', 'alation_servers') }}"
    json_path: /shared/alation-scim/run-42/alation-scim-report.json
    markdown_path: /shared/alation-scim/run-42/alation-scim-report.md
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Fail the run when a host needs attention
  ansible.builtin.assert:
    that: fleet.healthy
    fail_msg: "{{ fleet.verdict }}: {{ fleet.problems | join('; ') }}"
  run_once: true
'''

RETURN = r'''
healthy:
  description: Whether every host is ok or warning (and at least one host was reported).
  returned: always
  type: bool
  sample: false
verdict:
  description: One line saying whether the fleet is healthy and why.
  returned: always
  type: str
  sample: "NOT HEALTHY: 1 of 5 host(s) need attention (4 ok, 1 unreachable)"
summary:
  description: Host counts per status, and how many hosts were rotated and pushed.
  returned: always
  type: dict
  sample: {"total": 5, "ok": 4, "warning": 0, "critical": 0, "failed": 0, "unreachable": 1,
           "rotated": 2, "pushed": 2}
problems:
  description: One line per host that is critical, failed or unreachable, with the reason.
  returned: always
  type: list
  elements: str
  sample: ["alation5: unreachable - Failed to connect to the host via ssh"]
table:
  description: The Markdown report (verdict and one table row per host).
  returned: always
  type: str
records:
  description: The records as written to the reports, sorted by host, with only the known keys.
  returned: always
  type: list
  elements: dict
files:
  description: For each report path given, whether that file changed.
  returned: always
  type: dict
  sample: {"reports/scim.json": true, "reports/scim.md": false}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.alation.scim.plugins.module_utils import _report


def main():
    # Playbooks reach the action plugin of the same name (plugins/action/fleet_report.py), which runs
    # the same _report.fleet_report() in the controller's process; this entry point serves direct use.
    module = AnsibleModule(
        argument_spec=_report.ARGUMENT_SPEC,
        supports_check_mode=True,
        # Records are free-form dictionaries: keep them out of the controller's syslog, since a
        # careless play could pass a registered result that holds a token.
        no_log=True,
    )
    try:
        result = _report.fleet_report(module.params, module.check_mode, module.warn)
    except _report.FleetReportError as exc:
        module.fail_json(msg=to_native(exc), **exc.result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
