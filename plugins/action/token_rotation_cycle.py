# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation cycle for any IdP, as one task (docs in plugins/modules/token_rotation_cycle.py).

Why an action plugin: rotating revokes the old token at once, so the IdP must get the new one
seconds later.  Here the push follows the rotation in the same worker (no waiting for the other
hosts of the play), the IdP calls run in this process (the token never leaves its memory: no
module argument, no temp file), and the host sees exactly one Django launch.  The sequence itself
is plugins/plugin_utils/_cycle.py; this file is the Ansible side: options, the driver's options
(from `idp_options` or the role's variables), the host over the task's connection, the result.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.alation.scim.plugins.module_utils._token_state import host_argument_spec
from ansible_collections.alation.scim.plugins.module_utils._http import ApiError, tls_context
from ansible_collections.alation.scim.plugins.module_utils._report import host_record
from ansible_collections.alation.scim.plugins.plugin_utils import _host_script, _role_variables
from ansible_collections.alation.scim.plugins.plugin_utils._cycle import Cycle, HostError, HostSide, run_cycle
from ansible_collections.alation.scim.plugins.plugin_utils.drivers import DRIVER_NAMES, driver_class
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverContext

# Loaded here, once, in the controller's main process: the strategy imports this plugin there before it
# forks a worker per host, so every worker inherits them instead of loading them again (HTTP client,
# drivers, the role's spec, the host code's bundle, the ssh connection plugin: about 40 ms of CPU per
# host and launch; the TLS context of the system's CAs: about 25 ms per HTTPS request without ca_path;
# tests/unit/plugins/action/test_worker_imports.py).
from ansible.module_utils import urls as _urls  # noqa: F401  pylint: disable=unused-import
from ansible.plugins.connection import ssh as _ssh  # noqa: F401  pylint: disable=unused-import
for _name in DRIVER_NAMES:
    driver_class(_name)
_role_variables.entry_points()
_host_script.host_code_bundle()
try:
    tls_context()
except Exception:  # pylint: disable=broad-except
    pass  # a broken CA store is reported by the request that needs it


def argument_spec():
    spec = host_argument_spec(
        idp=dict(type='str', choices=list(DRIVER_NAMES)),
        idp_options=dict(type='dict', no_log=False),
        mode=dict(type='str', default='rotate', choices=['rotate', 'check', 'confirm']),
        stage=dict(type='str', default='all', choices=['all', 'rotate', 'finish']),
        rotation=dict(type='dict', no_log=True),
        push_error=dict(type='str'),
        rotate_before_days=dict(type='int', default=30),
        force=dict(type='bool', default=False),
        force_push=dict(type='bool', default=False),
        operator_present=dict(type='bool', default=False),
        base_url=dict(type='str'),
        scim_url=dict(type='str'),
        verify=dict(type='bool', default=True),
        verify_path=dict(type='str', default='Users?startIndex=1&count=1'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        verify_retries=dict(type='int', default=5),
        verify_delay=dict(type='int', default=3),
        replicated_expires_at=dict(type='str'),
        warning_days=dict(type='int', default=30),
        critical_days=dict(type='int', default=7),
        expiry_warning=dict(type='bool', default=False),
        role_entry_point=dict(type='str', choices=sorted(_role_variables.entry_points())),
    )
    return spec


def scim_url_of(base_url):
    """Alation's SCIM base URL from its base URL (either form given)."""
    base = re.sub(r'/+$', '', base_url or '')
    return re.sub(r'/scim/v2$', '', base) + '/scim/v2/'


class _Host(HostSide):
    def __init__(self, action, task_vars):
        self.action = action
        self.task_vars = task_vars
        # A read in a second thread only over ansible-core's own ssh connection, driven by ansible-core's
        # module execution (Mitogen's strategy keeps its connection to itself).
        over_ssh = getattr(action._connection, 'transport', None) == 'ssh'
        self.concurrent_reads = over_ssh and _host_script.ansible_runs_modules(action)

    def connect(self):
        self.action._low_level_execute_command('true', sudoable=False)

    def launch(self, module, args):
        try:
            if _host_script.applies(self.action):
                # The module's own code, without AnsiballZ and module_utils.basic on the host (_host_script).
                return _host_script.run(self.action, module.rsplit('.', 1)[-1], args, self.task_vars)
            return self.action._execute_module(module_name=module, module_args=args, task_vars=self.task_vars)
        except AnsibleConnectionFailure as e:
            # Reported as the host's status (the fleet playbooks need no reachability task of their own).
            return {'unreachable': True, 'msg': self.why_unreachable(e)}

    def command(self, command):
        try:
            res = self.action._low_level_execute_command(command, sudoable=True)
        except AnsibleConnectionFailure as e:
            raise HostError(self.why_unreachable(e), unreachable=True)
        if res.get('rc') != 0:
            raise HostError('the command on the host failed (rc=%s): %s' % (
                res.get('rc'), to_text(res.get('stderr') or res.get('stdout') or '').strip()[:500]))
        return to_text(res.get('stdout') or '')

    def why_unreachable(self, error):
        """The connection's own words: with no_log on (kept for the token's sake) ssh censors them, so
        once the host proved unreachable, one more attempt without it says why (no token is involved)."""
        text = to_text(getattr(error, 'message', error))
        if 'censored' not in text:
            return text
        connection = self.action._connection
        connection._play_context.no_log = False
        try:
            self.action._low_level_execute_command('true', sudoable=False)
            return text
        except AnsibleConnectionFailure as again:
            return to_text(getattr(again, 'message', again))
        finally:
            connection._play_context.no_log = True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_async = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        # token_rotate's raw output holds the token: keep the connection quiet about it at -vvv.
        self._play_context.no_log = True
        self._connection._play_context.no_log = True
        task_vars = task_vars or {}
        host = task_vars.get('inventory_hostname') or self._play_context.remote_addr
        entry_point, role_values = self._task.args.get('role_entry_point'), None
        if entry_point in _role_variables.entry_points():
            # Before this task's own options: they come from these variables, and the error should name them.
            problems, role_values = _role_variables.validate(entry_point, task_vars, self._templar.template)
            if problems:
                result.update(self._invalid_role_variables(entry_point, problems, task_vars, host))
                return result
            self._task.args = _role_variables.task_options(entry_point, role_values, self._task.args)
        try:
            dummy, params = self.validate_argument_spec(argument_spec(),
                                                        required_if=[('mode', 'rotate', ['idp']), ('mode', 'confirm', ['idp'])])
        except AnsibleError as e:
            result.update(failed=True, msg='Invalid options for alation.scim.token_rotation_cycle: %s'
                                           % to_native(getattr(e, 'message', e)))
            return result
        warnings = []
        if not params['scim_url']:
            params['scim_url'] = scim_url_of(params['base_url'])
        params['host'] = _Host(self, task_vars)
        check_mode = bool(self._task.check_mode)
        settings_error = None
        if params['mode'] == 'check':
            driver = self._stand_in(params, host, warnings)  # the expiry check never talks to the IdP
        elif not re.match(r'^https?://[^/]', params['scim_url'] or ''):
            settings_error = ('Alation\'s SCIM URL is not known: base_url (the role\'s alation_scim_base_url) is %r. '
                              'The IdP calls it and the verification reads it. Fix: set alation_scim_base_url to '
                              'this server\'s https:// base URL (or its SCIM URL .../scim/v2/).' % (params['base_url'] or ''))
            driver = self._stand_in(params, host, warnings)
        else:
            try:
                driver = self._driver(params, task_vars, host, warnings, role_values)
            except (ApiError, ValueError) as e:
                settings_error = to_text(getattr(e, 'message', None) or e)
                driver = self._stand_in(params, host, warnings)
        cycle = Cycle(driver, host, params, check_mode=check_mode, warn=warnings.append)
        if settings_error:
            # Nothing ran yet: still one report, with the host's expiry read (read-only), naming the cause.
            out = cycle.settings_failed(settings_error)
        else:
            out = run_cycle(cycle, params['mode'], params['stage'], params['rotation'], params['push_error'])
        out.pop('failure_message', None)
        report = out.get('report') or {}
        if params['mode'] == 'check' and params['expiry_warning'] and report.get('status') == 'warning':
            warnings.append('The Alation SCIM token on %s expires %s (%s days left, warning threshold %s days). Rotate it '
                            'with the alation.scim.rotate_scim playbook before it lapses.'
                            % (host, report.get('expires_at'), report.get('days_remaining'), params['warning_days']))
        if warnings:
            out['warnings'] = warnings
        result.update(json.loads(json.dumps(out)))
        if 'token' in result or 'rotation' in result:
            result['_ansible_no_log'] = True
        if 'report' in result:
            result['ansible_facts'] = {'alation_scim_report': result['report']}
        if self._discovered_interpreter_key:
            # The host's interpreter, discovered by this task's launch: kept as _execute_module keeps it,
            # so that the next task on the host does not discover it again.
            result.setdefault('ansible_facts', {})[self._discovered_interpreter_key] = self._discovered_interpreter
        return result

    def _invalid_role_variables(self, entry_point, problems, task_vars, host):
        """A failed result with its report (nothing ran): the role's variables do not pass its spec."""
        msg = _role_variables.message(entry_point, problems, host)
        idp = self._task.args.get('idp', task_vars.get(_role_variables.OPTION_VARIABLES['idp']))
        spec = argument_spec()  # the thresholds do not matter for a failed record: their defaults
        record = host_record(host, idp if idp in DRIVER_NAMES else None, None, 'failed', spec['warning_days']['default'],
                             spec['critical_days']['default'], failure=msg)
        return dict(failed=True, changed=False, msg=msg, report=record, ansible_facts={'alation_scim_report': record})

    def _driver(self, params, task_vars, host, warnings, role_values=None):
        """The driver, its options from idp_options or the role's variables (role_values: templated already)."""
        cls = driver_class(params['idp'])
        spec = cls.argument_spec()
        if params['idp_options'] is not None:
            given, source = dict(params['idp_options']), 'idp_options'
        else:
            given, source = {}, 'role variables'
            for option in spec:
                name = cls.variable_name(option)
                if role_values is not None and name in role_values:
                    value = role_values[name]
                elif name in task_vars:
                    value = self._templar.template(task_vars[name])
                else:
                    continue
                if value is not None and value != '':
                    given[option] = value
        validator = ArgumentSpecValidator(spec, mutually_exclusive=cls.mutually_exclusive or None,
                                          required_together=cls.required_together or None,
                                          required_one_of=cls.required_one_of or None,
                                          required_if=cls.required_if or None)
        checked = validator.validate(given)
        if checked.error_messages:
            names = '' if source == 'idp_options' else ' (role variables %s)' % ', '.join(
                sorted(set(cls.variable_name(o) for o in spec)))
            raise ValueError('Invalid settings for the %s driver in %s: %s%s. Nothing was rotated. Fix: set them as '
                             'ansible-doc -t role alation.scim.token_rotation describes.'
                             % (params['idp'], source, '; '.join(checked.error_messages), names))
        context = DriverContext(host, params['scim_url'], check_mode=bool(self._task.check_mode), warn=warnings.append,
                                loader=self._loader)
        return cls(checked.validated_parameters, context)

    def _stand_in(self, params, host, warnings):
        driver = Driver({}, DriverContext(host, params['scim_url'], warn=warnings.append))
        driver.name = driver.label = params['idp']  # the check copies it into the report; it may be unset
        return driver
