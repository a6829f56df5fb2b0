"""The one-step Entra rotation's decisions, with the host and Graph replaced by fakes that keep state.

The same paths run for real in tests/integration/test_rotate_scim.py; here each branch (pause or
not, failure before / after the rotation, check mode) is pinned down quickly.
"""

from __future__ import absolute_import, division, print_function

import json
import time
from unittest import mock

import pytest

from ansible_collections.alation.scim.plugins.action import entra_token_rotation as action_mod
from ansible_collections.alation.scim.plugins.module_utils import _http
from ansible_collections.alation.scim.plugins.module_utils._graph import EntraError
from ansible_collections.alation.scim.plugins.module_utils._alation_shell import host_argument_spec
from ansible_collections.alation.scim.plugins.module_utils._token_state import expiry_record, host_key

SP, JOB = 'sp-1', 'scim.1'
BASE = 'https://alation1.example:8443/scim/v2/'
NEW, OLD = 'n3w-t0ken-' + 'x' * 30, '0ld-t0ken-' + 'y' * 30
DAY = 86400
ARGS = {'service_principal_id': SP, 'base_address': BASE, 'tenant_id': 't', 'client_id': 'c', 'client_secret': 'cs',
        'expiry_record_path': '/var/lib/alation_scim/expiry.json', 'verify_delay': 0, 'verify_retries': 0}


class Context(object):
    no_log = False


class FakeGraph(object):
    """Entra as state: the saved token, the job's status; every write is recorded."""

    def __init__(self, saved=OLD, paused=False, fail_on=None):
        self.saved, self.paused, self.fail_on, self.writes = saved, paused, fail_on, []

    def _job(self):
        return {'id': JOB, 'templateId': 'scim', 'schedule': {'state': 'Paused' if self.paused else 'Active'},
                'status': {'code': 'Paused' if self.paused else 'Active'}}

    def pick_job(self, sp_id, job_id=None):
        return self._job()

    def get_job(self, sp_id, job_id):
        return self._job()

    def get_secrets(self, sp_id):
        return {'BaseAddress': '*', 'SecretToken': '*'}

    def validate_credentials(self, sp_id, job_id, credentials=None):
        token = self.saved if credentials is None else dict(credentials)['SecretToken']
        return (True, None) if token == HOST['token'] else (False, 'HTTP 400: HTTP/401 from the SCIM endpoint')

    def put_secrets(self, sp_id, items):
        if self.fail_on == 'put':
            raise EntraError('Could not save the synchronization secrets: HTTP 503')
        self.writes.append('put')
        self.saved = dict(items)['SecretToken']

    def job_action(self, sp_id, job_id, action, body=None):
        self.writes.append(action)
        self.paused = action == 'pause'

    def sp_label(self, sp_id):
        return sp_id


HOST = {}


def make(graph, record, module_result, check_mode=False, note=False, info_result=None, **args):
    """An action over fakes: `record` is the expiry record's text on the host (None: no record)."""
    HOST.clear()
    HOST.update(token=module_result.get('token'), note=note, commands=[])
    task_args = dict(ARGS, **args)
    task = mock.MagicMock(args=task_args, async_val=0, no_log=False, check_mode=check_mode, diff=False)
    connection = mock.MagicMock(has_native_async=False)
    connection._play_context = Context()
    action = action_mod.ActionModule(task, connection, Context(), loader=None, templar=None, shared_loader_obj=None)

    def low_level(command, sudoable=True):
        HOST['commands'].append(command)
        if command.startswith('cat ') or command.startswith('true'):
            out = (record or '') + '\n' + ('@@ALATION_SCIM_PAUSE_NOTE@@\n' if HOST['note'] else '')
            return {'rc': 0, 'stdout': out, 'stderr': ''}
        if 'printf' in command:
            HOST['note'] = True
        if command.startswith('rm -f'):
            HOST['note'] = False
        return {'rc': 0, 'stdout': '', 'stderr': ''}

    action._low_level_execute_command = mock.MagicMock(side_effect=low_level)
    info = info_result or {'changed': False, 'rotation_due': False}

    def execute(module_name, module_args, task_vars):
        return dict(info) if module_name == 'alation.scim.token_info' else dict(module_result)
    action._execute_module = mock.MagicMock(side_effect=execute)
    return action


def run(action, graph, scim=None):
    scim = scim or {NEW: 200, OLD: 401}

    def send(method, url, headers=None, **kwargs):
        return _http.Response(scim[headers['Authorization'].split(' ', 1)[1]], {}, b'')

    with mock.patch('ansible.plugins.action.ActionBase.run', return_value={}), \
            mock.patch.object(action_mod, 'GraphClient', return_value=graph), \
            mock.patch.object(action_mod._http, 'send', side_effect=send):
        result = action.run(task_vars={})
    assert NEW not in json.dumps(result) and OLD not in json.dumps(result), 'a token reached the result'
    return result


def rotated_result():
    return {'changed': True, 'rotated': True, 'rotation_reason': 'due', 'token': NEW, 'previous_token': OLD,
            'expires_at': '2027-06-01T00:00:00Z', 'previous_expires_at': '2026-12-03T00:00:00Z',
            'days_remaining': 180, 'expired': False, 'token_present': True, 'rotation_due': False}


def kept_result():
    return {'changed': False, 'rotated': False, 'rotation_reason': 'not_due', 'token': OLD,
            'expires_at': '2027-05-01T00:00:00Z', 'previous_expires_at': '2027-05-01T00:00:00Z',
            'days_remaining': 150, 'expired': False, 'token_present': True, 'rotation_due': False}


KEY = host_key(dict((k, v.get('default')) for k, v in host_argument_spec().items()))  # the defaults' host
DUE_RECORD = expiry_record({'present': True, 'expires_epoch': time.time() + 5 * DAY}, time.time(), KEY)
FAR_RECORD = expiry_record({'present': True, 'expires_epoch': time.time() + 150 * DAY}, time.time(), KEY)


def test_due_host_is_paused_rotated_pushed_started_and_verified():
    graph = FakeGraph()
    action = make(graph, DUE_RECORD, rotated_result())
    result = run(action, graph)
    assert graph.writes == ['pause', 'put', 'start'] and graph.saved == NEW and not graph.paused
    assert (result['changed'], result['rotated'], result['pushed'], result['verified']) == (True, True, True, True)
    assert result['job_paused'] and result['job_started'] and not HOST['note']
    assert launched(action) == ['token_rotate']  # one Django launch
    args = action._execute_module.call_args.kwargs['module_args']
    assert args['return_token'] is True and args['expiry_record_path'] == ARGS['expiry_record_path']
    assert 'client_secret' not in args and 'service_principal_id' not in args
    assert action._play_context.no_log is True
    assert set(result['timings']) == {'entra', 'host_state', 'pause', 'rotate', 'push', 'start', 'verify'}


def test_force_pauses_without_asking_the_host_first():
    graph = FakeGraph()
    action = make(graph, None, rotated_result(), force=True)
    run(action, graph)
    assert launched(action) == ['token_rotate'] and graph.writes == ['pause', 'put', 'start']


def test_host_not_due_by_its_record_sees_no_entra_write():
    graph = FakeGraph(saved=OLD)
    result = run(make(graph, FAR_RECORD, kept_result()), graph, scim={OLD: 200})
    assert 'failed' not in result and graph.writes == [] and result['changed'] is False and result['verified'] is True
    assert result['push_msg'] == 'saved credentials already valid, nothing to change'


def launched(action):
    return [c.kwargs['module_name'].split('.')[-1] for c in action._execute_module.call_args_list]


@pytest.mark.parametrize('record', [None, 'garbage', FAR_RECORD.replace(KEY, 'f' * 16)])
def test_without_a_record_it_can_trust_a_read_only_launch_decides(record):
    graph = FakeGraph(saved=OLD)
    action = make(graph, record, kept_result(), info_result={'changed': False, 'rotation_due': False})
    result = run(action, graph, scim={OLD: 200})
    assert 'failed' not in result and result['verified'] and result['changed'] is False
    assert launched(action) == ['token_info', 'token_rotate'] and graph.writes == []
    graph = FakeGraph()
    action = make(graph, None, rotated_result(), info_result={'changed': False, 'rotation_due': True})
    result = run(action, graph)
    assert launched(action) == ['token_info', 'token_rotate'] and graph.writes == ['pause', 'put', 'start']
    assert action._execute_module.call_args_list[0].kwargs['module_args']['expiry_record_path'] == ARGS['expiry_record_path']


def test_a_broken_host_without_a_record_fails_before_entra_is_touched():
    graph = FakeGraph()
    action = make(graph, None, rotated_result(),
                  info_result={'failed': True, 'msg': 'su to user alation inside /opt/alation/alation failed.'})
    result = run(action, graph)
    assert result['failed_stage'] == 'expiry' and 'su to user' in result['msg']
    assert launched(action) == ['token_info'] and graph.writes == []


def test_job_paused_by_someone_else_stays_paused():
    graph = FakeGraph(paused=True)
    result = run(make(graph, DUE_RECORD, rotated_result()), graph)
    assert 'failed' not in result and graph.writes == ['put'] and graph.paused and result['job_paused'] is False and not HOST['note']


def test_rotation_failure_starts_the_job_it_paused_and_says_what_failed():
    graph = FakeGraph()
    action = make(graph, DUE_RECORD, {'failed': True, 'msg': 'The Django shell did not finish within 120 s.'})
    result = run(action, graph)
    assert result['failed'] and result['failed_stage'] == 'rotate' and result['rotated'] is False
    assert result['msg'].startswith('Rotate the SCIM token if it is due') and 'did not finish' in result['msg']
    assert graph.writes == ['pause', 'start'] and not HOST['note']


def test_a_failure_that_changed_nothing_on_the_host_is_told_apart():
    graph = FakeGraph()
    action = make(graph, DUE_RECORD, {'failed': True, 'nothing_changed': True, 'error_kind': 'functions_missing',
                                      'msg': 'This Alation has no SCIM token functions. Nothing was changed.'})
    result = run(action, graph)
    assert result['failed_stage'] == 'launch' and graph.writes == ['pause', 'start']


def test_wrong_entra_settings_fail_before_the_host_is_touched():
    graph = FakeGraph()
    graph.pick_job = mock.MagicMock(side_effect=EntraError('Could not read the synchronization jobs: HTTP 403'))
    action = make(graph, FAR_RECORD, kept_result())
    result = run(action, graph)
    assert result['failed_stage'] == 'entra' and 'HTTP 403' in result['msg']
    assert action._execute_module.call_count == 0 and HOST['commands'] == []


def test_push_failure_after_the_rotation_keeps_the_job_paused_and_the_note_for_the_rerun():
    graph = FakeGraph(fail_on='put')
    result = run(make(graph, DUE_RECORD, rotated_result()), graph)
    assert result['failed'] and result['failed_stage'] == 'push' and result['rotated'] is True
    assert 'failed after the token was rotated at' in result['msg'] and 'Re-run to finish' in result['msg']
    assert graph.writes == ['pause'] and graph.paused and HOST['note']
    # The re-run: not due any more, the note says we paused it; the push finishes and the job runs again.
    graph.fail_on = None
    rerun = run(make(graph, FAR_RECORD, dict(kept_result(), token=NEW), note=True), graph)
    assert graph.writes == ['pause', 'put', 'start'] and not graph.paused and not HOST['note']
    assert rerun['changed'] and rerun['pushed'] and rerun['job_started'] and not rerun['rotated']


def test_verify_fails_when_the_revoked_token_still_works():
    graph = FakeGraph()
    result = run(make(graph, DUE_RECORD, rotated_result()), graph, scim={NEW: 200, OLD: 200})
    assert result['failed'] and result['failed_stage'] == 'verify' and 'expected HTTP 401' in result['error']


def test_check_mode_pauses_nothing_pushes_nothing_and_says_it_would_rotate():
    graph = FakeGraph()
    check = dict(rotated_result(), token=OLD, expires_at='2026-12-03T00:00:00Z')
    check.pop('previous_token')
    result = run(make(graph, DUE_RECORD, check, check_mode=True), graph)
    assert graph.writes == [] and result['due'] is True and result['rotated'] is False
    assert result['msg'].startswith('would rotate') and not any('printf' in c for c in HOST['commands'])


def test_missing_setting_fails_before_anything_happens():
    graph = FakeGraph()
    action = make(graph, DUE_RECORD, rotated_result())
    del action._task.args['service_principal_id']
    result = run(action, graph)
    assert result['failed'] and result['failed_stage'] == 'settings' and 'service_principal_id' in result['msg']
    assert graph.writes == [] and action._execute_module.call_count == 0
