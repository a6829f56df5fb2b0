"""The rotation cycle's launch without AnsiballZ: the program the controller sends to the host's
Python, run for real under this Python and the oldest ones a host may have (2.7, 3.6), and the
answer read back the way the action plugin reads it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zlib

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _host_modules, _token_state
from ansible_collections.alation.scim.plugins.plugin_utils import _host_script

# The host's Pythons: this one, and the oldest that ansible-core 2.16 accepts on a target
# (scripts/test.sh puts pyenv's on PATH; a missing one fails here, it is not skipped).
HOST_PYTHONS = [sys.executable, 'python2.7', 'python3.6']


def run_on_host(python, name, params, check_mode=False):
    """The script on `python`'s stdin, as the pipelined connection sends it; the action's reading of it."""
    path = shutil.which(python) or python
    assert os.path.exists(path), '%s is not installed: scripts/test.sh links pyenv\'s interpreters' % python
    program = _host_script.script(name, params, check_mode, False)
    proc = subprocess.run([path], input=program.encode('utf-8'), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    return proc, _host_script.result_of(dict(rc=proc.returncode, stdout=proc.stdout.decode('utf-8'),
                                             stderr=proc.stderr.decode('utf-8')))


def test_the_bundle_holds_the_host_code_and_its_packages_and_nothing_else():
    entries = json.loads(zlib.decompress(base64.b64decode(_host_script.host_code_bundle())).decode('utf-8'))
    names = [name for name, _package, _source in entries]
    assert names == ['ansible_collections', 'ansible_collections.alation', 'ansible_collections.alation.scim',
                     'ansible_collections.alation.scim.plugins', 'ansible_collections.alation.scim.plugins.module_utils',
                     'ansible_collections.alation.scim.plugins.module_utils._token_state',
                     'ansible_collections.alation.scim.plugins.module_utils._alation_shell',
                     'ansible_collections.alation.scim.plugins.module_utils._host_modules']
    sources = dict((name, source) for name, _package, source in entries)
    with open(_host_modules.__file__.replace('.pyc', '.py')) as f:
        assert sources['ansible_collections.alation.scim.plugins.module_utils._host_modules'] == f.read()
    # Host code imports nothing of Ansible's: that is the point of sending it this way.
    for name, _package, source in entries:
        imports = [line for line in source.splitlines() if re.match(r'\s*(from|import) +ansible\.', line)]
        assert imports == [], name


@pytest.mark.parametrize('python', HOST_PYTHONS)
def test_the_host_code_runs_and_answers_on_every_host_python(python):
    """A launch refused before anything runs (timeout 0) comes back as the module would say it."""
    params = _host_script.validated_params('token_info', dict(timeout=0))
    proc, result = run_on_host(python, 'token_info', params)
    assert proc.returncode == 1, proc.stderr
    assert result['failed'] is True and result['error_kind'] == 'bad_option'
    assert result['msg'].startswith('timeout must be at least 1 second, got 0. Fix: ')
    assert result['nothing_changed'] is True


@pytest.mark.parametrize('python', HOST_PYTHONS)
def test_paths_are_expanded_on_the_host_not_on_the_controller(python, monkeypatch):
    """~ in a path option is the host user's home, as AnsibleModule makes it there."""
    params = _host_script.validated_params('token_rotate', dict(alation_root='~/no-alation', init_script='$HOME/no-init'))
    assert params['alation_root'] == '~/no-alation'  # not expanded here
    monkeypatch.setenv('HOME', '/nonexistent-home')
    proc, result = run_on_host(python, 'token_rotate', params)
    assert result['failed'] is True, proc.stderr
    if os.geteuid() == 0:
        assert result['error_kind'] == 'not_alation_host'
        assert '/nonexistent-home/no-alation' in result['msg'] and '/nonexistent-home/no-init' in result['msg']
    else:
        assert result['error_kind'] == 'not_root'


def test_a_banner_before_the_result_is_not_taken_for_it():
    out = 'Welcome to the Alation host\n%s{"changed": false, "token_present": true}\n' % _token_state.SCRIPT_RESULT_MARKER
    assert _host_script.result_of(dict(rc=0, stdout=out, stderr='')) == {'changed': False, 'token_present': True}


def test_no_result_says_what_the_host_printed_on_stderr_and_keeps_stdout_out():
    res = dict(rc=1, stdout='something the shell printed', stderr='sudo: sorry, you must have a tty to run sudo\n')
    result = _host_script.result_of(res)
    assert result['failed'] is True and result['rc'] == 1
    assert result['msg'].startswith('The launch gave no result (rc=1)')
    assert result['module_stderr'].startswith('sudo: sorry')
    assert 'something the shell printed' not in json.dumps(result)


def test_a_broken_result_line_is_no_result():
    res = dict(rc=0, stdout='%s{"changed": fal' % _token_state.SCRIPT_RESULT_MARKER, stderr='')
    assert _host_script.result_of(res)['failed'] is True


def test_parameters_are_checked_against_the_modules_own_spec_with_its_defaults():
    params = _host_script.validated_params('token_rotate', dict(force=True, return_token=True, on_secondary='report'))
    assert params == dict(alation_root='/opt/alation/alation', alation_user='alation', entry='chroot',
                          init_script='/etc/init.d/alation', timeout=120, django_shell_command='alation_django_shell',
                          expiry_record_path=None, rotate_before_days=30, force=True, return_token=True,
                          on_secondary='report')
    with pytest.raises(ValueError, match='Invalid options for alation.scim.token_info: .*force'):
        _host_script.validated_params('token_info', dict(force=True))
    with pytest.raises(ValueError, match='entry'):
        _host_script.validated_params('token_info', dict(entry='ssh'))


def test_the_script_module_answers_once_with_its_warnings():
    out = io.StringIO()
    module = _host_modules.ScriptModule('token_info', dict(expiry_record_path='~/r.json'), check_mode=True, out=out)
    assert module.check_mode is True and module.params['expiry_record_path'] == os.path.expanduser('~/r.json')
    module.warn('su warned')
    with pytest.raises(SystemExit) as stopped:
        module.exit_json(changed=False, token_present=False)
    assert stopped.value.code == 0
    assert _host_script.result_of(dict(rc=0, stdout=out.getvalue(), stderr='')) == dict(
        changed=False, token_present=False, warnings=['su warned'])


class FakeAction(object):
    """What interpreter_line uses of an action plugin; _configure_module as ansible-core 2.16 (4-tuple) or
    2.19+ (module bits, path) returns it."""

    def __init__(self, task_vars, new_style=True):
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar
        self._templar = Templar(loader=DataLoader(), variables=task_vars)
        self._connection = object()
        self.configured = []
        self.new_style = new_style

    def _configure_module(self, module_name, module_args, task_vars):
        self.configured.append(module_name)
        if self.new_style:
            class Bits(object):
                shebang = '#!/opt/discovered/python3'
            return Bits(), '/path/to/module'
        return 'new', '#!/opt/discovered/python3', b'data', '/path/to/module'


def test_the_interpreter_comes_from_the_inventory_without_building_the_module():
    action = FakeAction({'ansible_python_interpreter': '/usr/libexec/platform-python'})
    assert _host_script.interpreter_line(action, 'token_info', {}, {'ansible_python_interpreter': '/usr/libexec/platform-python'}) \
        == '#!/usr/libexec/platform-python'
    assert action.configured == []


def test_an_interpreter_discovered_earlier_is_used():
    task_vars = {'ansible_facts': {'discovered_interpreter_python': '/usr/bin/python3.6'}}
    action = FakeAction(task_vars)
    assert _host_script.interpreter_line(action, 'token_info', {}, task_vars) == '#!/usr/bin/python3.6'
    assert action.configured == []


@pytest.mark.parametrize('new_style', [True, False], ids=['ansible-core 2.19+', 'ansible-core 2.16-2.18'])
def test_an_undiscovered_interpreter_is_discovered_as_for_any_module(new_style):
    action = FakeAction({}, new_style=new_style)
    assert _host_script.interpreter_line(action, 'token_rotate', {}, {}) == '#!/opt/discovered/python3'
    assert action.configured == ['alation.scim.token_rotate']


def test_it_applies_over_a_pipelined_connection_with_ansibles_own_module_execution():
    from ansible.plugins.action import ActionBase

    class Action(ActionBase):
        def __init__(self, pipelined):  # pylint: disable=super-init-not-called
            self.pipelined = pipelined

        def _is_pipelining_enabled(self, module_style, wrap_async=False):
            return self.pipelined and module_style == 'new'

        def run(self, tmp=None, task_vars=None):
            return {}

    class MitogenLikeAction(Action):
        """Mitogen mixes in its own _execute_module and asserts that _is_pipelining_enabled is never called."""

        def _execute_module(self, *args, **kwargs):
            raise AssertionError('not called here')

        def _is_pipelining_enabled(self, module_style, wrap_async=False):
            raise AssertionError('_is_pipelining_enabled() should never be called.')

    assert _host_script.applies(Action(True)) is True
    assert _host_script.applies(Action(False)) is False
    assert _host_script.applies(MitogenLikeAction(True)) is False
