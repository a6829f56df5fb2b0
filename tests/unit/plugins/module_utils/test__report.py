"""Unit tests for plugins/module_utils/_report.py (fleet report rendering)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import secrets
import stat
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _report

TOKEN = 'Zk3q9XvB2mLw8RtY7uNc4PaE6sDj1HgK0oFi5bQz'  # shaped like a real bearer token


def fact(host, **kw):
    """A report fact as the role leaves it (docs/architecture.md)."""
    rec = dict(host=host, base_url='https://%s.example.com' % host, idp='entra', token_present=True,
               previous_expires_at=None, expires_at='2027-05-01T00:00:00Z', days_remaining=154,
               rotation_due=False, rotated=False, pushed=False, verified=True, action='none',
               status='ok', message=None)
    rec.update(kw)
    return rec


FLEET = [
    fact('alation1'),
    fact('alation2', days_remaining=12, status='warning', message='the SCIM token expires in 12 day(s)'),
    fact('alation3', days_remaining=182, previous_expires_at='2026-12-01T00:00:00Z', rotated=True,
         pushed=True, verified=True, action='rotated', rotation_due=True),
    fact('alation10', days_remaining=-3, status='critical', expires_at='2026-11-25T00:00:00Z',
         message='the SCIM token expired 3 day(s) ago'),
    {'host': 'alation5', 'status': 'unreachable',
     'message': 'Failed to connect to the host via ssh: connect to host 127.0.10.250 port 2222: Connection refused'},
    {'host': 'alation6', 'status': 'failed', 'message': 'Graph PUT synchronization/secrets answered 401'},
]


def build(records=None, **kw):
    if records is None:
        records = FLEET
    records, warnings = _report.build_records(records, **kw)
    return records


def by_host(records):
    return dict((r['host'], r) for r in records)


# ------------------------------------------------------------------ records
def test_records_keep_only_known_keys_in_fixed_order():
    raw = fact('alation1', token=TOKEN, previous_token=TOKEN[::-1], stdout='x', extra={'a': 1})
    rec = build([raw])[0]
    assert list(rec) == list(_report.RECORD_KEYS)
    dumped = json.dumps(rec)
    leaked = TOKEN in dumped or TOKEN[::-1] in dumped  # a bool, so a failure never prints the token
    assert not leaked, 'an unknown key leaked into the record'


def test_records_sorted_naturally_and_statuses_kept():
    records = build()
    assert [r['host'] for r in records] == ['alation1', 'alation2', 'alation3', 'alation5', 'alation6', 'alation10']
    statuses = dict((r['host'], r['status']) for r in records)
    assert statuses == {'alation1': 'ok', 'alation2': 'warning', 'alation3': 'ok', 'alation5': 'unreachable',
                        'alation6': 'failed', 'alation10': 'critical'}


@pytest.mark.parametrize('days,present,expected', [
    (30, True, 'ok'), (29, True, 'warning'), (7, True, 'warning'), (6, True, 'critical'),
    (0, True, 'critical'), (-1, True, 'critical'), (None, False, 'critical'), (None, None, None),
])
def test_classify_thresholds(days, present, expected):
    assert _report.classify(days, present, 30, 7) == expected


def test_status_is_worse_of_record_and_thresholds():
    # A record that says ok with 3 days left is not reported as ok.
    rec = build([fact('a', days_remaining=3, status='ok')], critical_days=7)[0]
    assert rec['status'] == 'critical'
    assert rec['message'] == 'the SCIM token expires in 3 day(s) (critical below 7)'
    # ... but thresholds never make a failed host look better.
    rec = build([fact('b', days_remaining=150, status='failed', message='push failed')])[0]
    assert rec['status'] == 'failed' and rec['message'] == 'push failed'


def test_missing_status_is_derived_and_unknown_status_fails():
    assert build([{'host': 'a', 'days_remaining': 20, 'token_present': True}])[0]['status'] == 'warning'
    assert build([{'host': 'a', 'token_present': False}])[0]['message'] == 'no SCIM token is configured on this host'
    rec = build([{'host': 'a', 'status': 'great', 'days_remaining': 100}])[0]
    assert rec['status'] == 'failed' and 'unknown status' in rec['message']


def test_hosts_without_record_take_reason_from_failures():
    records = build([fact('alation1')], hosts_all=['alation1', 'alation2', 'alation3', 'alation4'],
                    failures={'alation2': {'status': 'unreachable', 'msg': 'ssh: Connection refused'},
                              'alation3': 'Timeout waiting for privilege escalation prompt'})
    hosts = by_host(records)
    assert hosts['alation1']['status'] == 'ok'
    assert (hosts['alation2']['status'], hosts['alation2']['message']) == ('unreachable', 'ssh: Connection refused')
    assert (hosts['alation3']['status'], hosts['alation3']['message']) == (
        'failed', 'Timeout waiting for privilege escalation prompt')
    assert hosts['alation4']['status'] == 'failed'
    assert hosts['alation4']['message'].startswith('no report from this host')
    assert hosts['alation4']['action'] == 'failed'


def test_bad_records_are_reported_not_fatal():
    records, warnings = _report.build_records(['nope', {'status': 'ok'}, fact('a')])
    assert [r['host'] for r in records] == ['a']
    assert warnings == ['records[0] is not a dictionary; it was ignored', 'records[1] has no host; it was ignored']


def test_field_types_are_enforced():
    rec = build([fact('a', days_remaining='12', rotated='yes', pushed='maybe', expires_at='next tuesday',
                      previous_expires_at='2026-06-01T10:00:00+00:00', action='drop table')])[0]
    assert rec['days_remaining'] == 12
    assert rec['rotated'] is True and rec['pushed'] is None
    assert rec['expires_at'] is None
    assert rec['previous_expires_at'] == '2026-06-01T10:00:00Z'
    assert rec['action'] is None


# ------------------------------------------------------------------ secrets
@pytest.mark.parametrize('make', [
    lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(20), lambda: secrets.token_urlsafe(16),
    lambda: TOKEN,
])
def test_token_in_message_or_url_is_redacted(make):
    token = make()
    rec = build([fact('a', status='failed', message='SCIM GET with %s answered 401' % token,
                      base_url='https://u:%s@a.example.com/x?token=%s' % (token, token))])[0]
    leaked = token in rec['message'] or token in rec['base_url']
    assert not leaked, 'token survived in message or base_url'
    assert _report.REDACTED in rec['message'] and rec['message'].startswith('SCIM GET with ')
    assert rec['base_url'] == 'https://a.example.com/x'


@pytest.mark.parametrize('text', [
    'Failed to connect to the host via ssh: ssh: connect to host 127.0.10.5 port 2222: Connection refused',
    '/var/lib/alation-scim-testbed/hosts/alation1/site/knobs.json',
    'EncounteredQuarantineException: the job is in quarantine',
    'rosemeta.utils.users_and_groups.configuration_utils has no set_scim_bearer_token',
    'https://127.0.10.1:8443/scim/v2/ answered 200; expires 2027-05-28T09:32:28Z',
    'service principal 40f4d2b2-5abd-42c0-a6bd-9f481b62cc55 not found (request-id 9F481B62-5ABD-42C0-A6BD-40F4D2B2CC55)',
])
def test_ordinary_messages_are_not_redacted(text):
    assert _report.redact_secrets(text) == (text, False)


def test_every_renderer_is_free_of_secrets():
    token = secrets.token_urlsafe(32)
    records = build([fact('a', token=token, status='failed', message='bad %s' % token)] + FLEET)
    for text in (_report.render_json(records, 30, 7), _report.render_markdown(records),
                 _report.render_junit(records), _report.render_prometheus(records, 30, 7)):
        leaked = token in text
        assert not leaked, 'token written to a report'


# ------------------------------------------------------------------ verdict
def test_summary_and_health():
    records = build()
    summary = _report.summarize(records)
    assert dict(summary) == {'total': 6, 'ok': 2, 'warning': 1, 'critical': 1, 'failed': 1, 'unreachable': 1,
                             'rotated': 1, 'pushed': 1}
    assert _report.is_healthy(records) is False
    assert _report.verdict(records) == ('NOT HEALTHY: 3 of 6 host(s) need attention '
                                        '(2 ok, 1 warning, 1 critical, 1 failed, 1 unreachable); 1 rotated')
    assert _report.problems(records) == [
        'alation5: unreachable - Failed to connect to the host via ssh: connect to host 127.0.10.250 port 2222: '
        'Connection refused',
        'alation6: failed - Graph PUT synchronization/secrets answered 401',
        'alation10: critical - the SCIM token expired 3 day(s) ago',
    ]
    healthy = build(FLEET[:3])
    assert _report.is_healthy(healthy) is True
    assert _report.verdict(healthy) == 'HEALTHY: 3 host(s) (2 ok, 1 warning); 1 rotated'
    assert _report.is_healthy([]) is False


# ------------------------------------------------------------------ renderers
def test_json_report():
    doc = json.loads(_report.render_json(build(), 30, 7))
    assert doc['healthy'] is False
    assert doc['thresholds'] == {'warning_days': 30, 'critical_days': 7}
    assert doc['summary']['total'] == 6
    hosts = by_host(doc['hosts'])
    assert set(hosts) == {'alation1', 'alation2', 'alation3', 'alation5', 'alation6', 'alation10'}
    assert hosts['alation3']['action'] == 'rotated' and hosts['alation3']['pushed'] is True
    assert hosts['alation3']['previous_expires_at'] == '2026-12-01T00:00:00Z'
    assert hosts['alation10']['days_remaining'] == -3
    assert hosts['alation5']['expires_at'] is None
    for rec in doc['hosts']:
        assert list(rec) == list(_report.RECORD_KEYS)


def test_markdown_table():
    records = build([fact('a|b', message='pipe | and\nnewline')] + FLEET)
    text = _report.render_markdown(records)
    lines = text.splitlines()
    assert lines[0] == '## Alation SCIM token report'
    assert lines[2] == '**%s**' % _report.verdict(records)
    table = [line for line in lines if line.startswith('|')]
    assert len(table) == 2 + len(records)
    header_cells = table[0].count(' | ') + 1
    for row in table[2:]:
        # Escaped pipes do not split cells, so every row has as many cells as the header.
        assert row.replace('\\|', '').count(' | ') + 1 == header_cells
    assert '| a\\|b | ok |' in text and 'pipe \\| and newline' in text
    assert '| alation10 | CRITICAL | 2026-11-25T00:00:00Z | -3 | none | no | yes |' in text
    assert '| alation5 | UNREACHABLE | - | - | - | - | - |' in text


def test_junit_parses_with_right_counts_and_failures():
    records = build([fact('x<&"y>')] + FLEET)
    root = ET.fromstring(_report.render_junit(records).encode('utf-8'))
    assert root.tag == 'testsuites'
    suites = root.findall('testsuite')
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall('testcase')
    assert len(cases) == 7
    for element in (root, suite):
        assert element.get('tests') == '7' and element.get('failures') == '3'
        assert element.get('errors') == '0' and element.get('skipped') == '0'
    failed = dict((c.get('name'), c.find('failure')) for c in cases if c.find('failure') is not None)
    assert sorted(failed) == ['alation10', 'alation5', 'alation6']
    assert failed['alation5'].get('type') == 'unreachable'
    assert failed['alation5'].get('message').startswith('unreachable: Failed to connect to the host via ssh')
    assert failed['alation10'].get('message') == 'critical: the SCIM token expired 3 day(s) ago'
    names = [c.get('name') for c in cases]
    assert 'x<&"y>' in names
    for case in cases:
        assert case.get('classname') and case.get('time') == '0'
        assert case.find('system-out') is not None


def test_junit_survives_control_characters():
    records = build([fact('a', status='failed', message='bad\x00byte\x1b[31m')])
    case = ET.fromstring(_report.render_junit(records).encode('utf-8')).find('testsuite/testcase')
    assert case.find('failure').get('message') == 'failed: bad byte [31m'


def test_junit_is_what_elementtree_writes_and_reads_back_exactly():
    records = build([fact(u'h\u00f6st <&> "q"', message=u'caf\u00e9 & <b>')] + FLEET)
    text = _report.render_junit(records)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    root = ET.fromstring(text.encode('utf-8'))
    (case,) = [c for c in root.iter('testcase') if c.get('name') == u'h\u00f6st <&> "q"']
    assert case.find('system-out').text.startswith(u'message: caf\u00e9 & <b>\nstatus: ok\n')
    # Non-ASCII characters travel as character references, so the file is plain ASCII.
    text.encode('ascii')


def prometheus_samples(text):
    return dict(line.rsplit(' ', 1) for line in text.splitlines() if not line.startswith('#'))


def test_prometheus_textfile():
    text = _report.render_prometheus(build([fact('we"ird')] + FLEET), 30, 7, now=1800000000.7)
    lines = text.splitlines()
    names = [name for name, dummy in _report.PROM_METRICS]
    assert names == ['alation_scim_token_expiry_timestamp_seconds',
                     'alation_scim_token_rotated', 'alation_scim_host_healthy', 'alation_scim_threshold_seconds',
                     'alation_scim_last_run_success', 'alation_scim_last_run_timestamp_seconds']
    for name in names:
        assert '# TYPE %s gauge' % name in lines
        assert any(line.startswith('# HELP %s ' % name) for line in lines)
    samples = prometheus_samples(text)
    assert samples['alation_scim_token_expiry_timestamp_seconds{host="alation1"}'] == '1809129600'
    assert samples['alation_scim_token_expiry_timestamp_seconds{host="alation10"}'] == '1795564800'
    assert samples['alation_scim_host_healthy{host="alation5"}'] == '0'
    assert samples['alation_scim_host_healthy{host="alation2"}'] == '1'
    assert samples['alation_scim_token_expiry_timestamp_seconds{host="we\\"ird"}'] == '1809129600'
    assert not any('host="alation5"' in line for line in lines if line.startswith('alation_scim_token_expiry'))
    # Every host says whether this run rotated its token, also the ones without a report.
    rotated = dict((key, value) for key, value in samples.items() if key.startswith('alation_scim_token_rotated'))
    assert rotated == {'alation_scim_token_rotated{host="%s"}' % h: ('1' if h == 'alation3' else '0')
                       for h in ('we\\"ird', 'alation1', 'alation2', 'alation3', 'alation5', 'alation6', 'alation10')}
    assert samples['alation_scim_threshold_seconds{level="warning"}'] == str(30 * 86400)
    assert samples['alation_scim_threshold_seconds{level="critical"}'] == str(7 * 86400)
    assert samples['alation_scim_last_run_success'] == '0'
    assert samples['alation_scim_last_run_timestamp_seconds'] == '1800000000'
    assert prometheus_samples(_report.render_prometheus(build(FLEET[:2]), 30, 7))['alation_scim_last_run_success'] == '1'
    # Exposition format: every sample line is "<name>{labels} <number>" or "<name> <number>".
    for line in lines:
        if not line.startswith('#'):
            int(line.rsplit(' ', 1)[1])


def test_prometheus_run_timestamp_defaults_to_now():
    before = int(time.time())
    stamp = int(prometheus_samples(_report.render_prometheus(build(), 30, 7))['alation_scim_last_run_timestamp_seconds'])
    assert before <= stamp <= time.time()


def test_iso_to_epoch():
    assert _report.iso_to_epoch('1970-01-02T00:00:00Z') == 86400
    assert _report.iso_to_epoch('garbage') is None


# ------------------------------------------------------------------ writing
def test_write_if_changed_is_idempotent_and_atomic(tmp_path):
    path = str(tmp_path / 'sub' / 'report.json')
    assert _report.write_if_changed(path, u'one\n', check_mode=True) is True
    assert not os.path.exists(path)
    assert _report.write_if_changed(path, u'one\n') is True
    assert open(path).read() == 'one\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    inode = os.stat(path).st_ino
    assert _report.write_if_changed(path, u'one\n') is False
    assert os.stat(path).st_ino == inode
    os.chmod(path, 0o640)
    assert _report.write_if_changed(path, u'two \u2713\n') is True
    assert os.stat(path).st_ino != inode, 'file was rewritten in place, not replaced'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert open(path, 'rb').read() == u'two \u2713\n'.encode('utf-8')
    assert sorted(os.listdir(str(tmp_path / 'sub'))) == ['report.json']


def test_write_if_changed_can_leave_lines_out_of_the_comparison(tmp_path):
    path = str(tmp_path / 'alation_scim.prom')
    ignore = _report.PROM_IGNORED_IN_COMPARISON
    first = u'a 1\nalation_scim_last_run_timestamp_seconds 100\n'
    assert _report.write_if_changed(path, first, ignore=ignore) is True
    later = first.replace(u'100', u'200')
    # Only the run's timestamp differs: no change, nothing written in check mode, written otherwise.
    assert _report.write_if_changed(path, later, check_mode=True, ignore=ignore) is False
    assert open(path).read() == first
    assert _report.write_if_changed(path, later, ignore=ignore) is False
    assert open(path).read() == later
    # Anything else still counts, and the ignored line is only the whole-line sample.
    assert _report.write_if_changed(path, later.replace(u'a 1', u'a 2'), ignore=ignore) is True
    assert _report.write_if_changed(path, u'a 2\nalation_scim_last_run_timestamp_seconds_x 1\n', ignore=ignore) is True


def test_fleet_report_prometheus_file_is_idempotent_across_runs(tmp_path, monkeypatch):
    prom = str(tmp_path / 'alation_scim.prom')
    params = task_params(records=FLEET, prometheus_path=prom, json_path=str(tmp_path / 'r.json'))
    monkeypatch.setattr(_report.time, 'time', lambda: 1800000000.0)
    assert _report.fleet_report(params, False, [].append)['changed'] is True
    monkeypatch.setattr(_report.time, 'time', lambda: 1800086400.0)
    again = _report.fleet_report(params, False, [].append)
    assert again['changed'] is False and again['files'] == {prom: False, str(tmp_path / 'r.json'): False}
    # ... while the file says when the run was, for the "last run too old" alert.
    assert prometheus_samples(open(prom).read())['alation_scim_last_run_timestamp_seconds'] == '1800086400'
    # Thresholds are part of what the file says.
    changed = _report.fleet_report(dict(params, warning_days=40), False, [].append)
    assert changed['files'][prom] is True


def test_write_failure_says_what_and_how(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(_report.ReportError) as err:
        _report.write_if_changed(str(blocker / 'report.json'), u'x')
    assert 'Could not write the report' in str(err.value) and 'writable' in str(err.value)


# ------------------------------------------------------------------ the task (module and action plugin)
def task_params(**kw):
    params = dict((name, spec.get('default')) for name, spec in _report.ARGUMENT_SPEC.items())
    params.update(kw)
    return params


def test_fleet_report_sends_warnings_to_warn_and_returns_the_result_keys(tmp_path):
    warned = []
    result = _report.fleet_report(task_params(records=[{'status': 'ok'}] + FLEET, json_path=str(tmp_path / 'r.json')),
                                  False, warned.append)
    assert warned == ['records[0] has no host; it was ignored']
    assert sorted(result) == ['changed', 'files', 'healthy', 'invocation', 'problems', 'records', 'summary',
                              'table', 'verdict']
    assert result['files'] == {str(tmp_path / 'r.json'): True} and result['changed'] is True
    assert json.load(open(str(tmp_path / 'r.json')))['summary'] == result['summary']


def test_fleet_report_error_carries_what_to_fail_with(tmp_path):
    (tmp_path / 'blocker').write_text('x')
    params = task_params(records=FLEET, json_path=str(tmp_path / 'blocker' / 'r.json'))
    with pytest.raises(_report.FleetReportError) as caught:
        _report.fleet_report(params, False, [].append)
    assert str(caught.value).startswith('Writing the json report failed: Could not write the report ')
    assert caught.value.result['files'] == {}
    assert [r['host'] for r in caught.value.result['invocation']['module_args']['records']][:2] == ['alation1', 'alation2']
