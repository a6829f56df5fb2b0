"""The payload, exec'd in-process the way Django runs stdin, against fake Alation functions."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

import fake_alation
from fake_alation import FakeAlation, run_line
from ansible_collections.alation.scim.plugins.module_utils import _alation_shell as shell
from ansible_collections.alation.scim.plugins.module_utils._token_state import threshold_epoch

NOW = time.time()
DAY = 86400
THRESHOLD = threshold_epoch(NOW, 30)


@pytest.fixture(autouse=True)
def _clean_modules():
    yield
    fake_alation.uninstall()


def run(fake, mode='info', force=False, return_token=False, allow_write=False):
    fake.install()
    nonce = shell.new_nonce()
    params = {'nonce': nonce, 'mode': mode, 'threshold_epoch': THRESHOLD, 'force': force,
              'return_token': return_token, 'allow_write': allow_write}
    out = run_line(shell.payload_line(params))
    result = shell.parse_output(out, nonce)
    assert result is not None, 'no marked result in payload output'
    return result, out


EXPIRY_TYPES = [
    ('aware', 'datetime-aware'),
    ('aware+2', 'datetime-aware'),
    ('naive', 'datetime-naive'),
    ('date', 'date'),
    ('iso', 'str'),
    ('iso-space-offset', 'str'),
    ('iso-date', 'str'),
    ('iso-bytes', 'str'),
]


@pytest.mark.parametrize('given,kind', EXPIRY_TYPES)
def test_every_expiry_type_normalises_to_the_same_utc_epoch(given, kind):
    expires = float(int(NOW) + 100 * DAY)
    result, _out = run(FakeAlation(expires, given))
    assert result['ok'] is True
    before = result['before']
    assert before['expiry_type'] == kind
    assert before['present'] is True
    if given in ('date', 'iso-date'):
        assert before['expires_epoch'] == expires - expires % DAY  # midnight UTC of that day
    else:
        assert before['expires_epoch'] == expires
    assert before['due'] is False


def test_none_expiry_means_no_token_and_due():
    result, _out = run(FakeAlation(None))
    assert result['before'] == {'present': False, 'expiry_type': 'none', 'expires_epoch': None, 'due': True}


def test_bad_expiry_string_is_a_typed_error():
    fake = FakeAlation(NOW + 100 * DAY)
    fake.get_scim_bearer_token_expiry_date = lambda: 'next tuesday'
    result, _out = run(fake)
    assert result['ok'] is False
    assert result['error']['kind'] == 'bad_expiry'
    assert 'next tuesday' in result['error']['message']


def test_info_never_reads_or_returns_the_token():
    fake = FakeAlation(NOW + 100 * DAY)
    result, out = run(fake)
    assert 'token' not in result and fake.token not in out
    assert fake.calls == ['get_expiry']


@pytest.mark.parametrize('days_left,force,reason,rotates', [
    (100, False, 'not_due', False),
    (30.5, False, 'not_due', False),
    (29.5, False, 'due', True),
    (-5, False, 'due', True),
    (100, True, 'force', True),
])
def test_rotate_decision(days_left, force, reason, rotates):
    fake = FakeAlation(NOW + days_left * DAY)
    old = fake.token
    result, _out = run(fake, mode='rotate', force=force, allow_write=True)
    assert result['decision'] == {'rotate': rotates, 'reason': reason}
    assert result['rotated'] is rotates
    assert fake.rotations == (1 if rotates else 0)
    assert (fake.token != old) is rotates
    if rotates:
        assert result['after']['present'] and result['after']['due'] is False
    else:
        assert 'after' not in result


def test_rotate_creates_a_missing_token():
    fake = FakeAlation(None)
    result, _out = run(fake, mode='rotate', allow_write=True, return_token=True)
    assert result['decision']['reason'] == 'absent' and result['rotated'] is True
    assert result['token'] == fake.token
    assert 'previous_token' not in result  # there was none


def test_read_only_launch_decides_but_never_rotates():
    fake = FakeAlation(NOW - DAY)
    result, _out = run(fake, mode='rotate', force=True, allow_write=False)
    assert result['decision'] == {'rotate': True, 'reason': 'force'}
    assert result['rotated'] is False and fake.rotations == 0
    assert 'set' not in fake.calls


@pytest.mark.parametrize('set_returns_token', [True, False])
def test_token_is_read_back_after_set_even_when_set_returns_none(set_returns_token):
    fake = FakeAlation(NOW + DAY, set_returns_token=set_returns_token)
    old = fake.token
    result, _out = run(fake, mode='rotate', allow_write=True, return_token=True)
    assert result['rotated'] is True
    assert result['previous_token'] == old
    assert result['token'] == fake.token and result['token'] != old
    assert fake.calls == ['get_expiry', 'get', 'set', 'get_expiry', 'get']


def test_read_returns_current_token():
    fake = FakeAlation(NOW + 100 * DAY)
    result, _out = run(fake, return_token=True)
    assert result['token'] == fake.token and 'previous_token' not in result


@pytest.mark.parametrize('missing', [
    ('get_scim_bearer_token_expiry_date', 'set_scim_bearer_token', 'get_scim_bearer_token'),
    ('set_scim_bearer_token',),
])
def test_missing_functions(missing):
    fake = FakeAlation(NOW + DAY, missing=missing)
    result, _out = run(fake, mode='rotate', allow_write=True)
    assert result['ok'] is False and result['error']['kind'] == 'functions_missing'
    for name in missing:
        assert name in result['error']['message']
    assert fake.rotations == 0


def test_missing_module_is_functions_missing():
    fake_alation.uninstall()
    nonce = shell.new_nonce()
    params = {'nonce': nonce, 'mode': 'info', 'threshold_epoch': THRESHOLD, 'force': False,
              'return_token': False, 'allow_write': False}
    result = shell.parse_output(run_line(shell.payload_line(params)), nonce)
    assert result['error']['kind'] == 'functions_missing'
    assert 'configuration_utils' in result['error']['message']


@pytest.mark.parametrize('fail_in', ['get_expiry', 'get', 'set'])
def test_exception_in_django_is_reported_with_class_and_redacted_message(fail_in):
    fake = FakeAlation(NOW + DAY, fail_in=fail_in, error_leaks_token=True)
    old = fake.token
    result, out = run(fake, mode='rotate', allow_write=True, return_token=True)
    error = result['error']
    assert result['ok'] is False and error['kind'] == 'exception'
    assert error['class'].endswith('DatabaseError')
    assert 'could not read configuration table' in error['message']
    if fail_in != 'get':  # the payload knows the value only when it could read it
        assert old not in error['message'] and '<redacted>' in error['message']
    assert 'token' not in result and 'previous_token' not in result
    assert fake.rotations == 0
    # What the user sees: the module's error, redacted either way.
    failure = shell.payload_error({}, result)
    assert old not in failure.message and '<redacted>' in failure.message, 'token not redacted'
    assert 'DatabaseError' in failure.message and 'Nothing was changed' in failure.message


def test_failure_after_rotation_says_so():
    fake = FakeAlation(NOW + DAY)
    calls = {'n': 0}
    real = fake.get_scim_bearer_token_expiry_date

    def expiry_fails_second_time():
        calls['n'] += 1
        if calls['n'] == 2:
            raise fake_alation.DatabaseError('connection lost')
        return real()
    fake.get_scim_bearer_token_expiry_date = expiry_fails_second_time
    result, out = run(fake, mode='rotate', allow_write=True, return_token=True)
    assert result['ok'] is False and result['rotated'] is True
    assert 'token' not in result and 'previous_token' not in result
    error = shell.payload_error({}, result)
    assert 'WAS rotated' in error.message


def test_payload_line_is_one_line_without_markers_or_params_in_clear():
    nonce = shell.new_nonce()
    params = {'nonce': nonce, 'mode': 'info', 'threshold_epoch': THRESHOLD, 'force': False,
              'return_token': False, 'allow_write': False}
    line = shell.payload_line(params)
    assert '\n' not in line
    assert nonce not in line and 'ALATION_SCIM' not in line
    assert line.startswith("exec(__import__('base64').b64decode(")


def test_payload_survives_interactive_console():
    """The interactive console runs each line as it comes; one line is one statement."""
    import code
    fake = FakeAlation(NOW + 100 * DAY)
    fake.install()
    nonce = shell.new_nonce()
    params = {'nonce': nonce, 'mode': 'info', 'threshold_epoch': THRESHOLD, 'force': False,
              'return_token': False, 'allow_write': False}
    console = code.InteractiveConsole({})
    capture = fake_alation._Capture()
    import sys
    saved, sys.stdout = sys.stdout, capture
    try:
        more = console.push(shell.payload_line(params))
    finally:
        sys.stdout = saved
    assert more is False
    result = shell.parse_output('>>> ' + ''.join(capture.parts) + '>>> ', nonce)
    assert result['ok'] is True and result['before']['present'] is True
