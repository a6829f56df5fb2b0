"""The three host modules' result shaping, with the one Django launch replaced by a canned payload result."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.alation.scim.plugins.module_utils import _alation_shell as shell
from ansible_collections.alation.scim.plugins.modules import token_info, token_read, token_rotate

DAY = 86400
NOW = time.time()
OLD = {'present': True, 'expiry_type': 'datetime-aware', 'expires_epoch': float(int(NOW) + 10 * DAY), 'due': True}
NEW = {'present': True, 'expiry_type': 'datetime-aware', 'expires_epoch': float(int(NOW) + 181 * DAY), 'due': False}
TOKEN, PREVIOUS = 'n3w-t0ken-' + 'x' * 30, '0ld-t0ken-' + 'y' * 30


def run_module(module, args, payload, capsys, monkeypatch):
    calls = []

    def fake_run_payload(options, mode, threshold, **kwargs):
        calls.append(dict(kwargs, mode=mode, threshold=threshold))
        if isinstance(payload, Exception):
            raise payload
        return payload
    monkeypatch.setattr(shell, 'run_payload', fake_run_payload)  # what run_module_payload launches
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out), calls


def test_info_shapes_result_and_passes_threshold(capsys, monkeypatch):
    out, calls = run_module(token_info, {'rotate_before_days': 45}, {'ok': True, 'before': OLD}, capsys, monkeypatch)
    assert out['changed'] is False and out['rotation_due'] is True and out['days_remaining'] in (9, 10)
    assert 'token' not in out
    (call,) = calls
    assert call['mode'] == 'info' and not call.get('return_token') and not call.get('allow_write')
    assert abs(call['threshold'] - (NOW + 45 * DAY)) < 60


def test_read_returns_token(capsys, monkeypatch):
    out, calls = run_module(token_read, {}, {'ok': True, 'before': OLD, 'token': TOKEN}, capsys, monkeypatch)
    assert out['token'] == TOKEN and out['changed'] is False and out['token_present'] is True
    assert calls[0]['return_token'] is True and not calls[0].get('allow_write')


def test_rotate_after_rotation(capsys, monkeypatch):
    payload = {'ok': True, 'before': OLD, 'after': NEW, 'rotated': True, 'decision': {'rotate': True, 'reason': 'due'},
               'token': TOKEN, 'previous_token': PREVIOUS}
    out, calls = run_module(token_rotate, {'return_token': True, '_ansible_diff': True}, payload, capsys, monkeypatch)
    assert (out['changed'], out['rotated'], out['rotation_reason']) == (True, True, 'due')
    assert out['days_remaining'] in (180, 181) and out['rotation_due'] is False
    assert out['previous_expires_at'] != out['expires_at']
    assert out['token'] == TOKEN and out['previous_token'] == PREVIOUS
    assert TOKEN not in json.dumps(out['diff']) and out['expires_at'] in out['diff']['after']
    assert calls[0]['allow_write'] is True


def test_rotate_check_mode_launches_read_only_and_reports_would(capsys, monkeypatch):
    payload = {'ok': True, 'before': OLD, 'rotated': False, 'decision': {'rotate': True, 'reason': 'due'}}
    out, calls = run_module(token_rotate, {'_ansible_check_mode': True, '_ansible_diff': True}, payload, capsys, monkeypatch)
    assert calls[0]['allow_write'] is False
    assert (out['changed'], out['rotated']) == (True, True)
    assert out['expires_at'] == out['previous_expires_at']
    assert 'token' not in out and 'new token' in out['diff']['after']


def test_rotate_not_due(capsys, monkeypatch):
    payload = {'ok': True, 'before': NEW, 'rotated': False, 'decision': {'rotate': False, 'reason': 'not_due'}}
    out, calls = run_module(token_rotate, {}, payload, capsys, monkeypatch)
    assert (out['changed'], out['rotated'], out['rotation_reason']) == (False, False, 'not_due')
    assert 'diff' not in out and 'token' not in out


@pytest.mark.parametrize('module', [token_info, token_read, token_rotate])
def test_errors_become_fail_json_with_fix(capsys, monkeypatch, module):
    error = shell.AlationShellError('timeout', 'The Django shell did not finish.', 'Raise timeout.')
    out, calls = run_module(module, {}, error, capsys, monkeypatch)
    assert out['failed'] is True
    assert out['msg'] == 'The Django shell did not finish. Fix: Raise timeout.'
    assert (out['fix'], out['error_kind']) == ('Raise timeout.', 'timeout')


@pytest.mark.parametrize('module,payload,recorded', [
    (token_info, {'ok': True, 'before': OLD}, OLD),
    (token_read, {'ok': True, 'before': OLD, 'token': TOKEN}, OLD),
    (token_rotate, {'ok': True, 'before': OLD, 'after': NEW, 'rotated': True, 'decision': {'rotate': True, 'reason': 'due'},
                    'token': TOKEN, 'previous_token': PREVIOUS}, NEW),
    (token_rotate, {'ok': True, 'before': NEW, 'rotated': False, 'decision': {'rotate': False, 'reason': 'not_due'}}, NEW),
])
def test_expiry_record_holds_the_state_after_the_launch_and_never_the_token(
        capsys, monkeypatch, tmp_path, module, payload, recorded):
    path = tmp_path / 'state' / 'expiry.json'
    out, calls = run_module(module, {'expiry_record_path': str(path), 'return_token': True} if module is token_rotate
                            else {'expiry_record_path': str(path)}, payload, capsys, monkeypatch)
    text = path.read_text()
    record = json.loads(text)
    assert record['expires_epoch'] == recorded['expires_epoch'] and record['token_present'] is True
    assert TOKEN not in text and PREVIOUS not in text
    assert oct(path.stat().st_mode & 0o777) == '0o600' and oct(path.parent.stat().st_mode & 0o777) == '0o700'
    assert [p.name for p in path.parent.iterdir()] == ['expiry.json']  # no temp file left


def test_expiry_record_not_written_in_check_mode(capsys, monkeypatch, tmp_path):
    path = tmp_path / 'expiry.json'
    run_module(token_info, {'expiry_record_path': str(path), '_ansible_check_mode': True}, {'ok': True, 'before': OLD},
               capsys, monkeypatch)
    assert not path.exists()


def test_expiry_record_failure_only_warns(capsys, monkeypatch, tmp_path):
    from ansible.module_utils.basic import AnsibleModule
    seen = []
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, text: seen.append(text))
    blocker = tmp_path / 'file'
    blocker.write_text('')
    out, calls = run_module(token_info, {'expiry_record_path': str(blocker / 'expiry.json')}, {'ok': True, 'before': OLD},
                            capsys, monkeypatch)
    assert out.get('failed') is not True and out['rotation_due'] is True
    assert len(seen) == 1 and 'expiry record' in seen[0] and 'cannot tell whether a push is owed' in seen[0], seen


SECONDARY = {'role': 'secondary', 'vendor': 'postgresql', 'in_recovery': True}


@pytest.mark.parametrize('module', [token_info, token_read])
def test_reads_report_the_ha_role(capsys, monkeypatch, module):
    out, calls = run_module(module, {}, {'ok': True, 'before': OLD, 'ha': dict(SECONDARY), 'token': TOKEN},
                            capsys, monkeypatch)
    assert out['ha_role'] == 'secondary' and out['ha'] == {'vendor': 'postgresql', 'in_recovery': True}


def test_rotate_on_a_secondary_fails_by_default_with_the_standby_expiry(capsys, monkeypatch, tmp_path):
    path = tmp_path / 'expiry.json'
    payload = {'ok': True, 'before': OLD, 'rotated': False, 'ha': dict(SECONDARY),
               'decision': {'rotate': False, 'reason': 'ha_secondary'}, 'token': TOKEN}
    out, calls = run_module(token_rotate, {'force': True, 'return_token': True, 'expiry_record_path': str(path)},
                            payload, capsys, monkeypatch)
    assert out['failed'] is True and out['error_kind'] == 'ha_secondary' and out['nothing_changed'] is True
    assert out['msg'].startswith('This is the HA secondary') and 'the secondary gets the token by replication' in out['msg']
    assert out['ha_role'] == 'secondary' and out['days_remaining'] in (9, 10)
    assert TOKEN not in json.dumps(out) and not path.exists()


def test_rotate_on_a_secondary_reports_with_on_secondary_report(capsys, monkeypatch):
    payload = {'ok': True, 'before': OLD, 'rotated': False, 'ha': dict(SECONDARY),
               'decision': {'rotate': False, 'reason': 'ha_secondary'}}
    out, calls = run_module(token_rotate, {'on_secondary': 'report', '_ansible_diff': True}, payload, capsys, monkeypatch)
    assert (out['changed'], out['rotated'], out['rotation_reason'], out['ha_role']) == (False, False, 'ha_secondary',
                                                                                        'secondary')
    assert out['rotation_due'] is True and out['expires_at'] == out['previous_expires_at']
    assert 'failed' not in out


def test_launch_warnings_become_module_warnings(capsys, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule
    seen = []  # captured at warn(): where warnings go depends on what else the test process loaded
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, text: seen.append(text))
    payload = {'ok': True, 'before': OLD, 'ha': {'role': 'standalone', 'vendor': 'sqlite'},
               'launch_warnings': ['su warned that /home/alation of user alation does not exist']}
    out, calls = run_module(token_info, {}, payload, capsys, monkeypatch)
    assert seen == ['su warned that /home/alation of user alation does not exist']
    assert 'launch_warnings' not in out and out['ha_role'] == 'standalone'
