"""Finding the marked result in whatever the shell printed, and errors built from bad output."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _alation_shell as shell

NONCE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
TOKEN = 'Zx9' + 'k' * 20 + '4Qp7m2'  # token-shaped


def marked(result, nonce=NONCE):
    begin, end = shell.markers(nonce)
    return begin + base64.b64encode(json.dumps(result).encode('utf-8')).decode('ascii') + end


RESULT = {'v': 1, 'ok': True, 'rotated': False,
          'before': {'present': True, 'expiry_type': 'datetime-aware', 'expires_epoch': 1.8e9, 'due': False}}


@pytest.mark.parametrize('wrap', [
    lambda m: m + '\n',
    lambda m: 'Error decrypting value, details: Unknown prefix\nWARNING something\n' + m + '\nbye\n',
    lambda m: 'Python 3.8.10 (default)\n[GCC 9.4.0] on linux\nType "help"\n(InteractiveConsole)\n>>> ' + m + '\n>>> \n',
    lambda m: '>>> ... ' + m + '>>> now exiting InteractiveConsole...\n',
    lambda m: 'noise' + m + 'more noise on the same line',
])
def test_result_found_among_noise_and_prompts(wrap):
    assert shell.parse_output(wrap(marked(RESULT)), NONCE) == RESULT


def test_result_with_another_nonce_is_ignored():
    assert shell.parse_output(marked(RESULT, nonce='f' * 32), NONCE) is None


@pytest.mark.parametrize('text', [
    '',
    'Traceback (most recent call last):\n  File "<string>", line 1\nNameError: x\n',
    marked(RESULT)[:40],                      # truncated inside the begin marker
    marked(RESULT)[:-10],                     # truncated before the end marker
    shell.markers(NONCE)[0] + '!!notbase64!!' + shell.markers(NONCE)[1],
    shell.markers(NONCE)[0] + base64.b64encode(b'{"v": 2}').decode('ascii') + shell.markers(NONCE)[1],
])
def test_missing_or_damaged_result_is_none(text):
    assert shell.parse_output(text, NONCE) is None


def test_excerpt_withholds_partial_result_and_redacts_token_like_runs():
    partial = marked(dict(RESULT, token=TOKEN))[:-20]
    text = 'Starting Django\nAPI key ' + TOKEN + ' loaded\n' + partial
    excerpt = shell.output_excerpt(text, NONCE)
    assert TOKEN not in excerpt
    assert 'Starting Django' in excerpt and '<partial result withheld>' in excerpt
    assert base64.b64encode(json.dumps(dict(RESULT, token=TOKEN)).encode('utf-8')).decode('ascii')[:30] not in excerpt


def test_excerpt_keeps_ordinary_text():
    text = 'File "/opt/alation/env/lib/python3.8/site-packages/django/core/management/commands/shell.py"'
    assert shell.output_excerpt(text, NONCE) == text


def test_excerpt_is_bounded_to_the_tail():
    text = 'x ' * 5000 + 'THE END'
    excerpt = shell.output_excerpt(text, NONCE)
    assert len(excerpt) <= shell.OUTPUT_EXCERPT_LIMIT
    assert excerpt.endswith('THE END') and excerpt.startswith('...')


OPTIONS = {'alation_root': '/opt/alation/alation', 'alation_user': 'alation', 'entry': 'chroot',
           'init_script': '/etc/init.d/alation', 'timeout': 120, 'django_shell_command': 'alation_django_shell'}


def test_diagnose_su_failure_names_the_user_option():
    err = shell.diagnose(dict(OPTIONS, alation_user='nosuch'), 1, '',
                         'su: user nosuch does not exist or the user entry does not contain all the required fields\n',
                         NONCE, False)
    assert err.kind == 'user_missing'
    assert 'nosuch' in err.message and 'exit status 1' in err.message and 'alation_user' in err.fix


def test_diagnose_missing_shell_command():
    err = shell.diagnose(OPTIONS, 127, '', '-bash: line 1: alation_django_shell: command not found\n', NONCE, False)
    assert err.kind == 'shell_command_missing' and 'django_shell_command' in err.fix


def test_diagnose_timeout():
    err = shell.diagnose(OPTIONS, -15, 'Loading...\n', '', NONCE, True)
    assert err.kind == 'timeout'
    assert '120 seconds' in err.message and 'process group was killed' in err.message
    assert 'Loading...' in err.message and 'timeout' in err.fix


def test_diagnose_no_markers_shows_status_and_redacted_excerpt():
    err = shell.diagnose(OPTIONS, 0, 'garbage ' + TOKEN + '\n' + 'y' * 3000, '', NONCE, False)
    assert err.kind == 'no_result'
    assert 'status 0' in err.message and TOKEN not in err.message
    assert len(err.message) < shell.OUTPUT_EXCERPT_LIMIT + 300


def test_payload_error_messages_name_the_fix():
    missing = shell.payload_error(OPTIONS, {'ok': False, 'rotated': False, 'error': {
        'kind': 'functions_missing', 'class': 'ImportError', 'message': 'missing: set_scim_bearer_token'}})
    assert missing.kind == 'functions_missing'
    assert '2021.4' in missing.message and '2021.4' in missing.fix and 'Nothing was changed' in missing.message
    exc = shell.payload_error(OPTIONS, {'ok': False, 'rotated': False, 'error': {
        'kind': 'exception', 'class': 'django.db.utils.OperationalError', 'message': 'database is locked'}})
    assert exc.kind == 'exception'
    assert 'django.db.utils.OperationalError: database is locked' in exc.message


class FakeModule(object):
    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise SystemExit(1)


def test_fail_module_carries_message_and_fix():
    module = FakeModule()
    with pytest.raises(SystemExit):
        shell.fail_module(module, shell.AlationShellError('not_root', 'needs root.', 'Use become: true.'))
    assert module.failed == {'msg': 'needs root. Fix: Use become: true.', 'fix': 'Use become: true.',
                             'error_kind': 'not_root', 'nothing_changed': True}


@pytest.mark.parametrize('kind,rotated,unchanged', [
    ('timeout', None, False), ('no_result', None, False), ('su_failed', None, True), ('lock_timeout', None, True),
    ('exception', False, True), ('exception', True, False), ('functions_missing', False, True)])
def test_errors_say_whether_the_token_may_have_changed(kind, rotated, unchanged):
    if rotated is None:
        error = shell.AlationShellError(kind, 'm', 'f')
    else:
        error = shell.payload_error(OPTIONS, {'ok': False, 'rotated': rotated,
                                              'error': {'kind': kind, 'class': 'E', 'message': 'boom'}})
        assert error.kind == kind
    assert error.nothing_changed is unchanged


def test_build_command_chroot_and_init_script():
    argv, stdin = shell.build_command(OPTIONS, 'LINE')
    assert argv[1:] == ['/opt/alation/alation', '/bin/su', '-', 'alation', '-c', 'alation_django_shell']
    assert argv[0].endswith('/chroot') and stdin == 'LINE\n'
    argv, stdin = shell.build_command(dict(OPTIONS, entry='init_script'), 'LINE')
    assert argv == ['/etc/init.d/alation', 'shell'] and stdin == 'alation_django_shell\nLINE\n'


def test_preflight_refuses_non_root(monkeypatch):
    monkeypatch.setattr(shell.os, 'geteuid', lambda: 1000)
    with pytest.raises(shell.AlationShellError) as info:
        shell.preflight(OPTIONS)
    assert info.value.kind == 'not_root' and 'become: true' in info.value.fix


@pytest.mark.parametrize('has_root,has_script,entry,kind', [
    (False, False, 'chroot', 'not_alation_host'),
    (False, False, 'init_script', 'not_alation_host'),
    (False, True, 'chroot', 'chroot_missing'),
    (True, False, 'init_script', 'init_script_missing'),
])
def test_preflight_host_checks(monkeypatch, tmp_path, has_root, has_script, entry, kind):
    monkeypatch.setattr(shell.os, 'geteuid', lambda: 0)
    root = tmp_path / 'alation'
    script = tmp_path / 'init.d-alation'
    if has_root:
        (root / 'bin').mkdir(parents=True)
        (root / 'bin' / 'su').write_text('')
    if has_script:
        script.write_text('')
    with pytest.raises(shell.AlationShellError) as info:
        shell.preflight(dict(OPTIONS, alation_root=str(root), init_script=str(script), entry=entry))
    assert info.value.kind == kind


def test_timeout_option_must_be_positive():
    with pytest.raises(shell.AlationShellError) as info:
        shell.check_options(dict(OPTIONS, timeout=0))
    assert info.value.kind == 'bad_option'


def test_entry_that_cannot_start_is_a_typed_error(monkeypatch, tmp_path):
    monkeypatch.setattr(shell.os, 'geteuid', lambda: 0)
    script = tmp_path / 'alation'
    script.write_text('#!/bin/sh\n')  # exists, but not executable
    with pytest.raises(shell.AlationShellError) as info:
        shell.run_payload(dict(OPTIONS, entry='init_script', init_script=str(script),
                               alation_root=str(tmp_path / 'none')), 'info', 0)
    assert info.value.kind == 'launch_failed'
    assert str(script) in info.value.message and 'Nothing was changed' in info.value.message
    assert 'executable' in info.value.fix
