"""Launch failures: the cause that stopped the launch decides, su's warnings ride along.

The texts are what the real programs print (util-linux su on Debian 12 / RHEL 7+, coreutils su on
RHEL 6, shadow-utils su, bash 5 and 4, dash), recorded by hand or read from their sources.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _alation_shell as shell

NONCE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
OPTIONS = {'alation_root': '/opt/alation/alation', 'alation_user': 'alation', 'entry': 'chroot',
           'init_script': '/etc/init.d/alation', 'timeout': 120, 'django_shell_command': 'alation_django_shell'}
INIT = dict(OPTIONS, entry='init_script')

HOME = 'su: warning: cannot change directory to /home/alation: No such file or directory\n'
NOT_FOUND_BASH5 = '-bash: line 1: alation_django_shell: command not found\n'
NOT_FOUND_BASH4 = '-bash: alation_django_shell: command not found\n'
NOT_FOUND_DASH = 'sh: 1: alation_django_shell: not found\n'
NOT_EXEC = '-bash: line 1: /opt/alation/bin/alation_django_shell: Permission denied\n'
NO_USER_UTIL = 'su: user alation does not exist or the user entry does not contain all the required fields\n'
NO_USER_COREUTILS = 'su: user alation does not exist\n'
NO_USER_SHADOW = "No passwd entry for user 'alation'\n"
AUTH = 'su: Authentication failure\n'
EXPIRED = 'Your account has expired; please contact your system administrator.\n' + AUTH
NOLOGIN = 'This account is currently not available.\n'
NO_SHELL = 'su: failed to execute /bin/bash: No such file or directory\n'
NO_SHELL_SHADOW = 'Cannot execute /bin/bash\n'
# What the init script entry prints after the command is missing: bash goes on with the payload line.
INIT_SYNTAX = "-bash: line 2: syntax error near unexpected token `__import__'\n"


def diagnose(stderr, rc, options=None, stdout=''):
    return shell.diagnose(options or OPTIONS, rc, stdout, stderr, NONCE, False)


@pytest.mark.parametrize('stderr', [NOT_FOUND_BASH5, NOT_FOUND_BASH4, NOT_FOUND_DASH])
def test_127_is_the_shell_command_not_on_path(stderr):
    error = diagnose(stderr, 127)
    assert error.kind == 'shell_command_missing'
    assert 'alation_django_shell was not found on the PATH' in error.message and 'exit status 127' in error.message
    assert 'django_shell_command' in error.fix and error.nothing_changed is True
    assert error.warnings == []


def test_127_without_a_message_still_names_the_command():
    """A localised shell says it in another language; 127 from `su -c` is still "not found"."""
    assert diagnose('-bash: Zeile 1: alation_django_shell: Kommando nicht gefunden.\n', 127).kind == 'shell_command_missing'


def test_missing_home_and_missing_command_blames_the_command_and_warns_about_the_home():
    """The issue's case: su's warning came first and got the blame; the exit status is what stopped it."""
    error = diagnose(HOME + NOT_FOUND_BASH5, 127)
    assert error.kind == 'shell_command_missing'
    assert 'django_shell_command' in error.fix and 'alation_user' not in error.fix
    assert 'login profile was not read' in error.fix  # why the command is not on PATH
    assert 'Also: su warned that /home/alation of user alation does not exist inside /opt/alation/alation' in error.message
    assert len(error.warnings) == 1 and 'usermod -d' in error.warnings[0]
    assert error.nothing_changed is True


@pytest.mark.parametrize('stderr', [NOT_EXEC, HOME + NOT_EXEC, 'sh: 1: alation_django_shell: Permission denied\n'])
def test_126_is_the_shell_command_not_executable(stderr):
    error = diagnose(stderr, 126)
    assert error.kind == 'shell_command_not_executable'
    assert 'could not be executed' in error.message and 'exit status 126' in error.message
    assert 'chmod 755' in error.fix and error.nothing_changed is True
    assert bool(error.warnings) == stderr.startswith('su: warning')


@pytest.mark.parametrize('stderr', [NO_USER_UTIL, NO_USER_COREUTILS, NO_USER_SHADOW])
def test_chroot_without_the_user(stderr):
    error = diagnose(stderr, 1)
    assert error.kind == 'user_missing'
    assert 'User alation does not exist inside /opt/alation/alation' in error.message
    assert 'Set alation_user' in error.fix and '/opt/alation/alation/etc/passwd' in error.fix
    assert error.nothing_changed is True


@pytest.mark.parametrize('stderr,said', [
    (AUTH, 'Authentication failure'),
    ('Password: ' + AUTH, 'Authentication failure'),  # pam_rootok missing: su asked for a password first
    (EXPIRED, 'Your account has expired'),
    ('su: incorrect password\n', 'incorrect password'),
    ('su: Permission denied\n', 'Permission denied'),
    ('You are not authorized to su alation\n', 'not authorized'),
])
def test_su_authentication_failure(stderr, said):
    error = diagnose(stderr, 1)
    assert error.kind == 'su_auth_failed'
    assert 'su to user alation inside /opt/alation/alation was refused' in error.message and said in error.message
    assert 'pam_rootok' in error.fix and 'chage -l alation' in error.fix
    assert error.nothing_changed is True


@pytest.mark.parametrize('stderr,rc', [(NO_SHELL, 127), (NO_SHELL_SHADOW, 127), (NOLOGIN, 1)])
def test_user_without_a_working_login_shell_is_not_blamed_on_the_command(stderr, rc):
    error = diagnose(stderr, rc)
    assert error.kind == 'user_shell_unusable'
    assert 'could not start the login shell of user alation' in error.message and 'usermod -s' in error.fix


@pytest.mark.parametrize('refusal,kind', [(NO_USER_UTIL, 'user_missing'), (AUTH, 'su_auth_failed')])
def test_refusal_with_a_home_warning_names_the_refusal(refusal, kind):
    error = diagnose(HOME + refusal, 1)
    assert error.kind == kind and len(error.warnings) == 1


def test_home_warning_with_an_unrelated_failure_is_no_result_with_the_warning():
    stderr = HOME + 'Traceback (most recent call last):\nImportError: libpq.so.5: cannot open shared object file\n'
    error = diagnose(stderr, 1)
    assert error.kind == 'no_result' and 'exited with status 1' in error.message and 'libpq' in error.message
    assert 'Set alation_user' not in error.fix and len(error.warnings) == 1


def test_127_of_something_the_command_runs_is_not_the_command():
    """alation_django_shell itself ran and could not find its Python: not django_shell_command's fault."""
    error = diagnose('/opt/alation/bin/alation_django_shell: line 14: /opt/alation/env/bin/python: No such file or directory\n', 127)
    assert error.kind == 'no_result' and '127: a command the shell ran was not found' in error.message
    error = diagnose('/opt/alation/bin/alation_django_shell: line 3: python3: command not found\n', 127)
    assert error.kind == 'no_result'


def test_other_su_error_keeps_su_failed():
    error = diagnose('su: cannot set groups: Operation not permitted\n', 1)
    assert error.kind == 'su_failed' and 'cannot set groups' in error.message


def test_su_warning_alone_on_success_is_only_a_warning():
    assert shell.launch_warnings(OPTIONS, HOME)[0].startswith('su warned that /home/alation of user alation')
    assert shell.launch_warnings(OPTIONS, 'No directory, logging in with HOME=/\n')
    assert shell.launch_warnings(OPTIONS, NOT_FOUND_BASH5) == []


@pytest.mark.parametrize('stderr,kind', [
    (NOT_FOUND_BASH5 + INIT_SYNTAX, 'shell_command_missing'),
    (HOME + NOT_FOUND_BASH5 + INIT_SYNTAX, 'shell_command_missing'),
    (NO_USER_UTIL, 'user_missing'),
    (AUTH, 'su_auth_failed'),
])
def test_init_script_entry(stderr, kind):
    error = diagnose(stderr, 2 if INIT_SYNTAX in stderr else 1, options=INIT)
    assert error.kind == kind
    if kind == 'user_missing':
        assert 'The user /etc/init.d/alation switches to does not exist inside' in error.message
        assert 'entry: chroot' in error.fix


def test_custom_command_given_as_a_path():
    options = dict(OPTIONS, django_shell_command='/opt/alation/bin/my_shell')
    assert diagnose('-bash: line 1: /opt/alation/bin/my_shell: No such file or directory\n', 127, options).kind == \
        'shell_command_missing'
    assert diagnose('-bash: line 1: /opt/alation/bin/my_shell: Permission denied\n', 126, options).kind == \
        'shell_command_not_executable'


def test_redaction_applies_to_su_text():
    token = 'Zx9' + 'k' * 20 + '4Qp7m2'
    error = diagnose('su: cannot open session: ' + token + '\n', 1)
    assert token not in error.message


def test_fail_module_warns_each_warning_first():
    class Module(object):
        def __init__(self):
            self.warned = []

        def warn(self, text):
            self.warned.append(text)

        def fail_json(self, **kwargs):
            self.failed = kwargs
            raise SystemExit(1)

    module = Module()
    error = diagnose(HOME + NOT_FOUND_BASH5, 127)
    with pytest.raises(SystemExit):
        shell.fail_module(module, error)
    assert module.warned == error.warnings and module.failed['error_kind'] == 'shell_command_missing'
