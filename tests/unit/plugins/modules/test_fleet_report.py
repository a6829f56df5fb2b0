"""Unit tests for the fleet_report module: run it the way Ansible does (a process, JSON in, JSON out)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import secrets
import xml.etree.ElementTree as ET

from fleet_report_harness import fact, paths, run_module


def test_writes_all_reports_then_is_idempotent(tmp_path):
    files = paths(tmp_path)
    args = dict(records=[fact('alation1'), fact('alation2', days_remaining=10, status='warning')],
                hosts_all=['alation1', 'alation2', 'alation3'],
                failures={'alation3': {'status': 'unreachable', 'message': 'ssh: Connection refused'}}, **files)
    first = run_module(tmp_path, **args)
    assert first['changed'] is True, first.get('msg')
    assert first['files'] == dict((p, True) for p in files.values())
    assert first['healthy'] is False
    assert first['summary'] == {'total': 3, 'ok': 1, 'warning': 1, 'critical': 0, 'failed': 0, 'unreachable': 1,
                                'rotated': 0, 'pushed': 0}
    assert first['problems'] == ['alation3: unreachable - ssh: Connection refused']
    assert first['verdict'].startswith('NOT HEALTHY: 1 of 3 host(s)')
    assert first['table'] == open(files['markdown_path']).read()
    assert [r['host'] for r in json.load(open(files['json_path']))['hosts']] == ['alation1', 'alation2', 'alation3']
    suite = ET.parse(files['junit_path']).getroot().find('testsuite')
    assert (suite.get('tests'), suite.get('failures')) == ('3', '1')
    assert 'alation_scim_host_healthy{host="alation3"} 0' in open(files['prometheus_path']).read()

    second = run_module(tmp_path, **args)
    assert second['changed'] is False
    assert second['files'] == dict((p, False) for p in files.values())


def test_check_mode_reports_change_without_writing(tmp_path):
    files = paths(tmp_path)
    result = run_module(tmp_path, check_mode=True, records=[fact('alation1')], **files)
    assert result['changed'] is True and result['healthy'] is True
    assert not any(os.path.exists(p) for p in files.values())


def test_no_paths_still_returns_table_and_verdict(tmp_path):
    result = run_module(tmp_path, records=[fact('alation1'), fact('alation2', token_present=False,
                                                                  expires_at=None, days_remaining=None)])
    assert result['changed'] is False and result['files'] == {}
    assert result['healthy'] is False
    assert '| alation2 | CRITICAL |' in result['table']
    assert result['problems'] == ['alation2: critical - no SCIM token is configured on this host']


def test_thresholds_are_options(tmp_path):
    records = [fact('alation1', days_remaining=40, status=None)]
    assert run_module(tmp_path, records=records)['records'][0]['status'] == 'ok'
    result = run_module(tmp_path, records=records, warning_days=60, critical_days=45)
    assert result['records'][0]['status'] == 'critical' and result['healthy'] is False


def test_critical_above_warning_is_refused(tmp_path):
    result = run_module(tmp_path, records=[fact('a')], warning_days=5, critical_days=10)
    assert result['failed'] is True
    assert result['msg'] == ('critical_days (10) is greater than warning_days (5); set critical_days to at most '
                             'warning_days.')


def test_unwritable_path_fails_with_reason(tmp_path):
    (tmp_path / 'blocker').write_text('x')
    result = run_module(tmp_path, records=[fact('a')], json_path=str(tmp_path / 'blocker' / 'x.json'))
    assert result['failed'] is True
    assert result['msg'].startswith('Writing the json report failed: Could not write the report')


def test_no_token_reaches_output_or_files(tmp_path):
    token = secrets.token_urlsafe(32)
    files = paths(tmp_path)
    result = run_module(tmp_path, records=[fact('a', token=token, message='got %s back' % token,
                                                status='failed')], **files)
    leaked = token in json.dumps(result)  # a bool, so a failure never prints the token
    assert not leaked, 'token in the module result (invocation included)'
    assert result['invocation']['module_args']['records'][0]['message'].startswith('got [redacted')
    for path in files.values():
        leaked = token in open(path).read()
        assert not leaked, 'token in %s' % os.path.basename(path)


def test_record_without_host_warns(tmp_path):
    result = run_module(tmp_path, records=[{'status': 'ok'}, fact('a')])
    assert [r['host'] for r in result['records']] == ['a']
    # ansible-core 2.19 returns warnings as structures, older versions as strings.
    assert len(result['warnings']) == 1 and 'records[0] has no host; it was ignored' in json.dumps(result['warnings'])
