"""The fleet_report action plugin (in the controller's process) gives what the module (its own process) gives:
the same result, the same files with the same modes, for the same arguments and starting files."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re
import os
import secrets
import shutil
import stat

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _report
from fleet_report_harness import fact, paths, run_action, run_module


def normalized(result):
    """A result as a playbook sees it: warnings as text (ansible-core 2.19 modules send structures)."""
    result = json.loads(json.dumps(result))
    result['warnings'] = [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings', [])]
    return result


def snapshot(root):
    """Every file under root (relative path -> (mode, content)), args files aside, each but for the moment
    it was written (the Prometheus run timestamp: the module and the action may run a second apart)."""
    found = {}
    for directory, dummy, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, 'rb') as handle:
                content = re.sub(br'(?m)^%s \d+$' % _report.PROM_RUN_TIMESTAMP.encode('ascii'), b'', handle.read())
            found[os.path.relpath(path, str(root))] = (stat.S_IMODE(os.stat(path).st_mode), content)
    return found


def both(tmp_path, prepare=None, check_mode=False, **args):
    """Run the module, then the action plugin from the same starting files; returns both results and files."""
    work = tmp_path / 'work'
    outcomes = []
    for run in (run_module, run_action):
        if work.exists():
            shutil.rmtree(str(work))
        work.mkdir()
        if prepare:
            prepare(work)
        result = run(work, check_mode=check_mode, **args)
        if run is run_action:
            result, connection = result
            assert connection.mock_calls == [], 'the action plugin used the task connection'
        outcomes.append((normalized(result), snapshot(work)))
    return outcomes


FLEET = dict(
    records=[fact('alation1'), fact('alation2', days_remaining=10, status='warning'),
             fact('alation4', days_remaining=-2, expires_at='2026-11-26T00:00:00Z', status=None),
             fact('alation5', token_present=False, expires_at=None, days_remaining=None, status='ok'),
             fact('alation6', rotated=True, pushed=True, action='rotated', previous_expires_at='2026-12-01T00:00:00Z')],
    hosts_all=['alation1', 'alation2', 'alation3', 'alation4', 'alation5', 'alation6', 'alation7'],
    failures={'alation3': {'status': 'unreachable', 'message': 'Failed to connect to the host via ssh: refused'}},
)


def stale_prometheus_0600(work):
    (work / 'prom').mkdir()
    (work / 'prom' / 'scim.prom').write_text('stale\n')
    os.chmod(str(work / 'prom' / 'scim.prom'), 0o600)


@pytest.mark.parametrize('case', ['fleet_with_files', 'check_mode_with_files', 'relative_paths_and_string_thresholds',
                                  'no_paths_no_token', 'record_without_host', 'critical_above_warning',
                                  'unwritable_path', 'merged_slices', 'merge_of_a_missing_report', 'empty'])
def test_action_result_and_files_equal_the_module(tmp_path, case):
    prepare, check_mode = None, False
    if case == 'fleet_with_files':
        args, prepare = dict(FLEET, **paths(tmp_path / 'work')), stale_prometheus_0600
    elif case == 'check_mode_with_files':
        args, prepare, check_mode = dict(FLEET, **paths(tmp_path / 'work')), stale_prometheus_0600, True
    elif case == 'relative_paths_and_string_thresholds':
        args = dict(FLEET, json_path='out/scim.json', junit_path='junit.xml', warning_days='200', critical_days='160')
    elif case == 'no_paths_no_token':
        args = dict(records=[fact('a'), fact('b', token_present=False, expires_at=None, days_remaining=None)])
    elif case == 'record_without_host':
        args = dict(records=[{'status': 'ok'}, fact('a')], failures={'x': 'never listed'})
    elif case == 'critical_above_warning':
        args = dict(records=[fact('a')], warning_days=5, critical_days=10, json_path=str(tmp_path / 'work' / 'x.json'))
    elif case == 'unwritable_path':
        def prepare(work):
            (work / 'blocker').write_text('x')
        args = dict(records=[fact('a')], markdown_path=str(tmp_path / 'work' / 'ok.md'),
                    json_path=str(tmp_path / 'work' / 'blocker' / 'x.json'))
    elif case == 'merged_slices':
        def prepare(work):
            write_slices(work, FLEET['records'])
        args = dict(reports=['slices/1.json', 'slices/2.json'], hosts_all=FLEET['hosts_all'],
                    failures=FLEET['failures'], json_path='merged.json')
    elif case == 'merge_of_a_missing_report':
        args = dict(reports=['slices/1.json'], json_path='merged.json')
    else:
        args = {}

    (module_result, module_files), (action_result, action_files) = both(tmp_path, prepare, check_mode, **args)
    assert action_result == module_result
    assert action_files == module_files

    # What each case is about, so that "equal" cannot mean "equally empty".
    if case == 'fleet_with_files':
        assert module_result['summary'] == {'total': 7, 'ok': 2, 'warning': 1, 'critical': 2, 'failed': 1,
                                            'unreachable': 1, 'rotated': 1, 'pushed': 1}
        assert module_result['changed'] is True and all(module_result['files'].values())
        assert sorted(module_files) == ['prom/scim.prom', 'r/junit.xml', 'r/scim.json', 'r/scim.md']
        assert module_files['prom/scim.prom'][0] == 0o600 and module_files['r/scim.md'][0] == 0o644
    elif case == 'check_mode_with_files':
        assert module_result['changed'] is True and all(module_result['files'].values())
        assert module_files == {'prom/scim.prom': (0o600, b'stale\n')}
    elif case == 'relative_paths_and_string_thresholds':
        assert sorted(module_files) == ['junit.xml', 'out/scim.json']
        assert json.loads(module_files['out/scim.json'][1])['thresholds'] == {'warning_days': 200, 'critical_days': 160}
    elif case == 'no_paths_no_token':
        assert module_result['files'] == {} and module_result['problems'] == [
            'b: critical - no SCIM token is configured on this host']
    elif case == 'record_without_host':
        assert module_result['warnings'] == ['records[0] has no host; it was ignored']
        assert [r['host'] for r in module_result['records']] == ['a']
    elif case == 'critical_above_warning':
        assert module_result['failed'] is True and module_files == {}
        assert module_result['msg'].startswith('critical_days (10) is greater than warning_days (5)')
    elif case == 'unwritable_path':
        assert module_result['failed'] is True
        assert module_result['msg'].startswith('Writing the json report failed: Could not write the report')
        assert sorted(module_files) == ['blocker']  # json is written before markdown: nothing was written
    elif case == 'merged_slices':
        (tmp_path / 'one-run').mkdir()
        one_run, dummy = run_action(tmp_path / 'one-run', **dict(FLEET, json_path='merged.json'))
        assert module_result['records'] == one_run['records'] and module_result['summary']['total'] == 7
        assert module_files['merged.json'][1] == open(str(tmp_path / 'one-run' / 'merged.json'), 'rb').read()
    elif case == 'merge_of_a_missing_report':
        assert module_result['failed'] is True and module_files == {}
        assert module_result['msg'].startswith('Merging the reports failed: the report slices/1.json does not exist')
    else:
        assert module_result['healthy'] is False and module_result['records'] == []


def write_slices(work, records):
    """Two slices' JSON reports (records[k::2], as AWX slices an inventory) under work/slices/."""
    (work / 'slices').mkdir()
    for k in (0, 1):
        built, dummy = _report.build_records(records[k::2])
        (work / 'slices' / ('%d.json' % (k + 1))).write_text(_report.render_json(built, 30, 7))


def test_second_run_changes_nothing_either_way(tmp_path):
    args = dict(FLEET, **paths(tmp_path))
    first, dummy = run_action(tmp_path, **args)
    assert first['changed'] is True
    before = snapshot(tmp_path)
    again, dummy = run_action(tmp_path, **args)
    assert again['changed'] is False and not any(again['files'].values())
    assert normalized(run_module(tmp_path, **args)) == normalized(again)
    # The run's own timestamp moves on (that is what 'last run too old' alerts read); nothing else.
    assert without_run_time(snapshot(tmp_path)) == without_run_time(before)


def without_run_time(files):
    return dict((name, (mode, re.sub(rb'(?m)^alation_scim_last_run_timestamp_seconds .*$', b'', content)))
                for name, (mode, content) in files.items())


def test_no_token_reaches_the_action_result(tmp_path):
    token = secrets.token_urlsafe(32)
    result, dummy = run_action(tmp_path, records=[fact('a', token=token, message='got %s back' % token)],
                               **paths(tmp_path))
    leaked = token in json.dumps(result) or any(token.encode() in content for dummy, content in snapshot(tmp_path).values())
    assert not leaked, 'token in the action result or a report file'  # a bool: a failure never prints the token
    assert result['records'][0]['message'].startswith('got [redacted')


@pytest.mark.parametrize('args,expected', [
    (dict(bogus=1), 'Unsupported parameters: bogus. Supported parameters include: critical_days, failures'),
    (dict(warning_days='soon'), "argument 'warning_days' is of type str and we were unable to convert to int"),
    (dict(records=[fact('a')], hosts_all='alation1', failures=['alation1']),
     "argument 'failures' is of type list and we were unable to convert to dict"),
])
def test_bad_arguments_fail_clearly_and_write_nothing(tmp_path, args, expected):
    args = dict(args, json_path=str(tmp_path / 'r.json'))
    result, connection = run_action(tmp_path, **args)
    assert result['failed'] is True
    assert result['msg'].startswith('Invalid options for alation.scim.fleet_report: ' + expected), result['msg']
    assert result['msg'].endswith('Fix: give only the options of ansible-doc alation.scim.fleet_report, with their types.')
    assert not os.path.exists(str(tmp_path / 'r.json'))
    assert connection.mock_calls == []
    # The module refuses the same arguments.
    assert run_module(tmp_path, **args)['failed'] is True
