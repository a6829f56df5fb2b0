# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation cycle's host launch without AnsiballZ (docs/architecture.md, "One launch per host").

A host module run the usual way imports ``ansible.module_utils.basic`` on the host before any of
its own code runs: about 0.1 CPU second per launch, as much again as the Django shell's own work
in the test bed, paid by every host of a fleet run at once.  The host code needs none of it (it is
standard library only), so over a pipelined connection the cycle sends that code itself on the
interpreter's stdin: the collection's host module_utils, registered under their usual names, and
one call of ``_host_modules.run_script`` with parameters validated here against the module's own
argument spec.  Same code, same result keys, same become and interpreter as the module would get
(the interpreter line as Ansible's module builder computes it, discovery included).

Without pipelining (hosts whose sudo wants a tty) there is no stdin to send code on, and a strategy
that runs modules its own way (Mitogen) keeps its way: there the caller runs the module as usual
(``applies``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import json
import os
import zlib

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.module_utils.common.text.converters import to_text

# Not _host_modules: the worker of every host and task imports this file, the shell engine it needs not.
from ansible_collections.alation.scim.plugins.module_utils import _token_state

PACKAGE = 'ansible_collections.alation.scim.plugins.module_utils'
HOST_CODE = ('_token_state', '_alation_shell', '_host_modules')  # in the order they import each other

# Runs on the host under any Python from 2.7 (tests/unit/plugins/plugin_utils/test__host_script.py runs it
# under 3.11, 2.7 and 3.6).
BOOTSTRAP = u'''\
import base64, json, sys, types, zlib


def _alation_scim_host_code(bundle):
    for name, is_package, source in json.loads(zlib.decompress(base64.b64decode(bundle)).decode('utf-8')):
        module = types.ModuleType(str(name))
        module.__file__ = '<alation.scim %%s>' %% name
        if is_package:
            module.__path__ = []
        sys.modules[str(name)] = module
        if source:
            if sys.version_info[0] == 2:
                source = source.encode('utf-8')  # Python 2 refuses a unicode source with a coding line
            exec(compile(source, module.__file__, 'exec', 0, True), module.__dict__)


_alation_scim_host_code(%(bundle)s)
from ansible_collections.alation.scim.plugins.module_utils._host_modules import run_script
sys.exit(run_script(%(name)s, json.loads(%(params)s), check_mode=%(check_mode)s, diff=%(diff)s))
'''

_bundle = []  # the encoded host code, made once per process


def host_code_bundle():
    """The host module_utils and their parent packages, as [name, is_package, source] (zlib, base64)."""
    if not _bundle:
        directory = os.path.dirname(os.path.abspath(_token_state.__file__))
        parts = PACKAGE.split('.')
        entries = [['.'.join(parts[:i]), True, ''] for i in range(1, len(parts) + 1)]
        for name in HOST_CODE:
            with open(os.path.join(directory, name + '.py'), 'rb') as handle:
                entries.append(['%s.%s' % (PACKAGE, name), False, handle.read().decode('utf-8')])
        _bundle.append(base64.b64encode(zlib.compress(json.dumps(entries).encode('utf-8'), 9)).decode('ascii'))
    return _bundle[0]


def validated_params(name, args):
    """args checked against host module `name`'s argument spec, defaults filled in.  Paths stay as
    given: the host expands them (ScriptModule), since ~ means the host user's home."""
    spec = dict((option, dict(settings, type='str') if settings.get('type') == 'path' else settings)
                for option, settings in _token_state.host_module_argument_spec(name).items())
    checked = ArgumentSpecValidator(spec).validate(dict(args))
    if checked.error_messages:
        raise ValueError('Invalid options for alation.scim.%s: %s' % (name, '; '.join(checked.error_messages)))
    return checked.validated_parameters


def script(name, params, check_mode, diff):
    """The program the host's Python reads on stdin."""
    return BOOTSTRAP % dict(bundle=json.dumps(host_code_bundle()), name=json.dumps(name),
                            params=json.dumps(json.dumps(params)), check_mode=bool(check_mode), diff=bool(diff))


def result_of(res):
    """The host's answer from a low-level command result: its result line, or a failure that keeps
    what the host printed on stderr (never stdout: it could hold part of a result)."""
    stdout = to_text(res.get('stdout') or '')
    for line in reversed(stdout.splitlines()):
        if line.startswith(_token_state.SCRIPT_RESULT_MARKER):
            try:
                return json.loads(line[len(_token_state.SCRIPT_RESULT_MARKER):])
            except ValueError:
                break
    return dict(failed=True, rc=res.get('rc'), module_stderr=to_text(res.get('stderr') or ''),
                msg='The launch gave no result (rc=%s): the host\'s Python did not run it, or stopped before it '
                    'answered' % res.get('rc'))


def ansible_runs_modules(action):
    """Whether ansible-core's own module execution drives the action's connection (a strategy that runs
    modules its own way, as Mitogen's replaces _execute_module, keeps its connection to itself)."""
    return getattr(type(action), '_execute_module', None) is ActionBase._execute_module


def applies(action):
    """Whether the launch can go this way: a pipelined connection (stdin to send the code on) and
    Ansible's own module execution (Mitogen's also refuses _is_pipelining_enabled)."""
    return ansible_runs_modules(action) and action._is_pipelining_enabled('new')


def interpreter_line(action, name, args, task_vars):
    """The interpreter line the module would run under (ansible_python_interpreter, interpreter_python,
    or the host's discovered interpreter), without building the module: the first AnsiballZ build of a
    run costs a worker about 0.2 CPU s, and every other host's launch waits for it on a lock."""
    try:
        from ansible.executor.module_common import InterpreterDiscoveryRequiredError, _get_shebang
    except ImportError:  # a later ansible-core without it: build the module as _execute_module does
        InterpreterDiscoveryRequiredError, _get_shebang = None, None
    if _get_shebang is not None:
        try:
            return _get_shebang(u'/usr/bin/python', task_vars, action._templar,
                                remote_is_local=getattr(action._connection, '_remote_is_local', False))[0]
        except InterpreterDiscoveryRequiredError:
            pass  # not discovered on this host yet: _configure_module discovers it, as for any module
    # ansible-core 2.16 - 2.18 return (style, shebang, data, path), 2.19 and later (module bits, path).
    configured = action._configure_module(module_name='alation.scim.' + name, module_args=dict(args),
                                          task_vars=task_vars)
    return configured[1] if len(configured) == 4 else configured[0].shebang


def run(action, name, args, task_vars):
    """Run host module `name` (token_info, token_read, token_rotate) through the action's pipelined,
    become-wrapped connection; its result dict, as _execute_module would return it."""
    try:
        params = validated_params(name, args)
    except ValueError as e:
        return dict(failed=True, msg=to_text(e))
    shebang = interpreter_line(action, name, args, task_vars)
    command = action._connection._shell.build_module_command(action._compute_environment_string(), shebang, '')
    res = action._low_level_execute_command(command.strip(), sudoable=True,
                                            in_data=script(name, params, action._task.check_mode, action._task.diff))
    result = result_of(res)
    if action._discovered_interpreter_key:
        result.setdefault('ansible_facts', {})[action._discovered_interpreter_key] = action._discovered_interpreter
    return result
