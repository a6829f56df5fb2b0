"""Unit tests for merging fleet reports (fleet_report's `reports` option, _report.read_reports()):
the reports of the slices of a sliced job make the outputs one run over the whole fleet makes."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re
import os

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _report

from test__report import FLEET, TOKEN, task_params

OUTPUTS = ('json_path', 'markdown_path', 'junit_path', 'prometheus_path')


def outputs(directory):
    """Output paths of one report run, all four formats, under directory."""
    os.makedirs(str(directory))
    return dict((option, str(directory / option.replace('_path', ''))) for option in OUTPUTS)


def contents(paths):
    """The outputs, but for the moment each was written (a merge is a later run than its slices)."""
    return dict((option, re.sub(r'(?m)^alation_scim_last_run_timestamp_seconds .*$', '', open(path).read()))
                for option, path in paths.items())


def report(tmp_path, name, records, hosts_all=(), **kw):
    """One run's report: writes every output under tmp_path/name, returns (paths, task result)."""
    paths = outputs(tmp_path / name)
    params = task_params(records=list(records), hosts_all=list(hosts_all), **paths)
    params.update(kw)
    return paths, _report.fleet_report(params, False, [].append)


def slices(items, count):
    """Slice k of count as AWX cuts an inventory: items[k::count]."""
    return [items[k::count] for k in range(count)]


@pytest.mark.parametrize('count', [1, 2, 3, len(FLEET)])
def test_the_slices_merged_write_what_one_run_writes(tmp_path, count):
    whole, whole_result = report(tmp_path, 'whole', FLEET)
    parts = [report(tmp_path, 'slice%d' % k, part)[0]['json_path'] for k, part in enumerate(slices(FLEET, count))]
    merged, merged_result = report(tmp_path, 'merged', [], reports=parts)
    assert contents(merged) == contents(whole)
    for key in ('healthy', 'verdict', 'summary', 'problems', 'table', 'records'):
        assert merged_result[key] == whole_result[key], key


def test_hosts_without_any_report_are_failed_as_in_one_run(tmp_path):
    # One slice wrote nothing: its hosts are failed, with the message a run gives a host without a record.
    hosts = [r['host'] for r in FLEET]
    first, second = slices(FLEET, 2)
    whole, dummy = report(tmp_path, 'whole', first, hosts_all=hosts)
    part = report(tmp_path, 'slice0', first)[0]['json_path']
    merged, result = report(tmp_path, 'merged', [], hosts_all=hosts, reports=[part])
    assert contents(merged) == contents(whole)
    missing = dict((r['host'], r) for r in result['records'])
    for rec in second:
        assert (missing[rec['host']]['status'], missing[rec['host']]['action']) == ('failed', 'failed')
    assert result['healthy'] is False


def test_records_and_reports_merge(tmp_path):
    whole, dummy = report(tmp_path, 'whole', FLEET)
    part = report(tmp_path, 'slice', FLEET[2:])[0]['json_path']
    merged, dummy = report(tmp_path, 'merged', FLEET[:2], reports=[part])
    assert contents(merged) == contents(whole)


def test_a_merge_of_one_report_reads_only_the_known_keys(tmp_path):
    # A hand-edited report with extra keys and a token: the merge keeps what a report may hold.
    path = tmp_path / 'edited.json'
    doc = json.loads(_report.render_json(_report.build_records(FLEET)[0], 30, 7))
    doc['hosts'][0]['token'] = TOKEN
    doc['hosts'][1]['message'] = 'bearer %s rejected' % TOKEN
    path.write_text(json.dumps(doc))
    merged, result = report(tmp_path, 'merged', [], reports=[str(path)])
    for text in contents(merged).values():
        assert TOKEN not in text
    assert 'token' not in result['records'][0]


def test_merging_is_idempotent(tmp_path):
    part = report(tmp_path, 'slice', FLEET)[0]['json_path']
    paths = outputs(tmp_path / 'merged')
    params = task_params(reports=[part], **paths)
    assert _report.fleet_report(params, False, [].append)['changed'] is True
    assert _report.fleet_report(params, False, [].append)['changed'] is False


def failure(tmp_path, **kw):
    with pytest.raises(_report.FleetReportError) as caught:
        _report.fleet_report(task_params(**kw), False, [].append)
    assert str(caught.value).startswith('Merging the reports failed: ')
    assert 'invocation' in caught.value.result
    return str(caught.value)


def test_a_host_in_two_reports_fails_and_names_both(tmp_path):
    one = report(tmp_path, 'one', FLEET[:3])[0]['json_path']
    two = report(tmp_path, 'two', FLEET[2:])[0]['json_path']
    msg = failure(tmp_path, reports=[one, two])
    assert 'host alation3 is in %s and in %s' % (one, two) in msg and 'once' in msg
    # the same report twice is the same mistake
    assert 'host alation1 is in %s and in %s' % (one, one) in failure(tmp_path, reports=[one, one])
    # and so is a host given as a record too
    assert 'host alation1 is in records and in %s' % one in failure(tmp_path, records=FLEET[:1], reports=[one])


def test_reports_judged_with_other_thresholds_fail(tmp_path):
    part = report(tmp_path, 'slice', FLEET, warning_days=20, critical_days=5)[0]['json_path']
    msg = failure(tmp_path, reports=[part])
    assert 'warning_days=20 and critical_days=5' in msg and 'uses 30 and 7' in msg
    assert 'alation_scim_warning_days' in msg
    # the same thresholds as the slices: merged
    merged = _report.fleet_report(task_params(reports=[part], warning_days=20, critical_days=5), False, [].append)
    assert merged['summary']['total'] == len(FLEET)


def test_a_missing_report_fails_with_what_to_do(tmp_path):
    msg = failure(tmp_path, reports=[str(tmp_path / 'slice-3.json')])
    assert 'slice-3.json does not exist' in msg and 'Re-run that slice' in msg and 'hosts_all' in msg


@pytest.mark.parametrize('content, says', [
    ('## Alation SCIM token report\n', 'is not JSON'),
    ('[]', 'is not a JSON fleet report'),
    ('{"healthy": true}', 'is not a JSON fleet report'),
    ('{"thresholds": {"warning_days": 30, "critical_days": 7}, "hosts": [{"status": "ok"}]}',
     'is not a JSON fleet report'),
    ('\xff\xfe', 'is not JSON'),
])
def test_a_file_that_is_not_a_fleet_report_fails(tmp_path, content, says):
    path = tmp_path / 'slice.json'
    path.write_bytes(content.encode('latin-1'))
    msg = failure(tmp_path, reports=[str(path)])
    assert '%s %s' % (path, says) in msg


def test_an_unreadable_report_fails(tmp_path):
    msg = failure(tmp_path, reports=[str(tmp_path)])  # a directory: open() fails, not with ENOENT
    assert 'could not read the report %s' % tmp_path in msg


def test_nothing_is_written_when_the_merge_fails(tmp_path):
    paths = outputs(tmp_path / 'merged')
    failure(tmp_path, reports=[str(tmp_path / 'missing.json')], **paths)
    assert os.listdir(str(tmp_path / 'merged')) == []
