# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rotate the SCIM token on an Alation host and hand it to Microsoft Entra ID, in one task.

Why one action plugin: rotating revokes the old token at once, so Entra's provisioning fails
until it holds the new one. As separate tasks, a host waits for every other host of the play
between its rotation and its push, and each controller-side step is its own module run. Here
the push follows the rotation within the same worker, the Graph calls run in this process (the
token never leaves its memory: no module arguments, no temp file), and the host sees exactly one
Django launch (alation.scim.token_rotate decides and rotates in it).

Steps: read the job (proves the Entra settings) -> read the host's expiry record and pause note ->
pause the job when the record says a rotation is due (note first; without a record it can trust,
a read-only token_info launch decides and writes one) -> token_rotate -> push
(entra_scim_credentials logic) -> start the job we paused -> verify (SCIM 200 with the new token,
401 with the old one, Entra validates its saved credentials).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import time

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves import shlex_quote
from ansible.plugins.action import ActionBase

from ansible_collections.alation.scim.plugins.module_utils import _http
from ansible_collections.alation.scim.plugins.module_utils._alation_shell import host_argument_spec
from ansible_collections.alation.scim.plugins.module_utils._graph import (
    ENTRA_REQUIRED_TOGETHER, EntraError, GraphClient, entra_argument_spec, job_summary, needs_job_action,
    push_credentials, set_job_state)
from ansible_collections.alation.scim.plugins.module_utils._token_state import host_key, iso_utc, recorded_due
from ansible_collections.alation.scim.plugins.plugin_utils._controller_module import ControllerModule

HOST_OPTIONS = tuple(host_argument_spec())
NOTE_MARK = '@@ALATION_SCIM_PAUSE_NOTE@@'
ROTATION_KEYS = ('expires_at', 'days_remaining', 'expired', 'token_present', 'rotation_due', 'rotation_reason',
                 'previous_expires_at')
STEP_NAMES = {
    'settings': 'Check the settings',
    'entra': 'Read the Entra ID provisioning job (settings and permissions)',
    'host_state': 'Read the expiry record and pause note on the host',
    'expiry': 'Read the SCIM token expiry on the Alation host (no usable expiry record)',
    'pause': 'Pause the Entra ID provisioning job before the rotation',
    'launch': 'Rotate the SCIM token if it is due, and read the current token (one launch)',
    'rotate': 'Rotate the SCIM token if it is due, and read the current token (one launch)',
    'push': 'Push the SCIM token to the Entra ID provisioning app',
    'start': 'Start the Entra ID provisioning job again',
    'verify': 'Verify the token end to end',
}


def argument_spec():
    spec = host_argument_spec(
        rotate_before_days=dict(type='int', default=30),
        force=dict(type='bool', default=False),
    )
    graph = entra_argument_spec()
    # `timeout` is the Django shell's here (alation_host); the Graph client's is http_timeout.
    graph['http_timeout'] = graph.pop('timeout')
    spec.update(graph)
    spec.update(
        service_principal_id=dict(type='str', required=True),
        job_id=dict(type='str'),
        base_address=dict(type='str', required=True),
        validate_before_save=dict(type='bool', default=True),
        lift_quarantine=dict(type='bool', default=True),
        wait_healthy_timeout=dict(type='int', default=60),
        force_push=dict(type='bool', default=False),
        pause_job=dict(type='bool', default=True),
        pause_note_path=dict(type='path', default='/var/lib/alation_scim/entra_job_paused.json'),
        verify=dict(type='bool', default=True),
        verify_path=dict(type='str', default='Users?startIndex=1&count=1'),
        verify_validate_certs=dict(type='bool', default=True),
        verify_ca_path=dict(type='path'),
        verify_retries=dict(type='int', default=5),
        verify_delay=dict(type='int', default=3),
    )
    return spec


class StepFailed(Exception):
    def __init__(self, step, error):
        super(StepFailed, self).__init__(error)
        self.step = step
        self.error = error


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_async = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        # token_rotate's raw output holds the token: keep the connection quiet about it at -vvv.
        self._play_context.no_log = True
        self._connection._play_context.no_log = True
        self.task_vars = task_vars
        self.check_mode = bool(self._task.check_mode)
        self.warnings = []
        self.timings = {}
        self.out = dict(changed=False, rotated=False, rotated_at=None, due=None, pushed=False, validated=False,
                        quarantine_lifted=False, job_paused=False, job_started=False, verified=False)
        try:
            validation, self.p = self.validate_argument_spec(argument_spec(), required_together=ENTRA_REQUIRED_TOGETHER)
            self.client = GraphClient(self._graph_module(self.p))
            self._cycle()
        except StepFailed as failure:
            return self._failed(failure.step, failure.error)
        except EntraError as e:
            return self._failed('settings', e.message)
        except Exception as e:  # argument errors (AnsibleActionFail) and anything unexpected
            return self._failed('settings', to_native(getattr(e, 'message', None) or e))
        return self._finish()

    # ---- the cycle --------------------------------------------------------------------------
    def _cycle(self):
        p = self.p
        sp_id = p['service_principal_id']
        # Reading the job first proves the Entra settings and permissions before anything changes,
        # whatever the expiry record says.
        job = self._step('entra', self.client.pick_job, sp_id, p['job_id'])
        record, note_found = self._step('host_state', self._read_host_state)
        self.note_found = note_found
        self.paused_by_us = False
        if p['pause_job'] and not self.check_mode:
            due = p['force'] or recorded_due(record, time.time(), p['rotate_before_days'], host_key(p))
            if due is None:
                # No record this run can trust (first run, other host options): ask the host, in a
                # read-only launch that also writes the record for the next run.
                due = self._step('expiry', self._read_expiry)
            if due:
                self._step('pause', self._pause, job)

        secret = self._step('rotate', self._rotate)
        self.out['due'] = bool(secret.get('rotated'))
        rotated = self.out['due'] and not self.check_mode
        if rotated:
            self.out.update(rotated=True, changed=True, rotated_at=iso_utc(time.time()))
        for key in ROTATION_KEYS:
            self.out[key] = secret.get(key)
        if secret.get('warnings'):
            self.warnings.extend(secret['warnings'])

        if not (self.check_mode and self.out['due']):  # a check run did not rotate: nothing to compare
            self._step('push', self._push, secret['token'], rotated, job)
        if not self.check_mode and (self.paused_by_us or self.note_found or
                                    (p['pause_job'] and self.out['pushed'] and not self.out['due'])):
            self._step('start', self._start)
        if p['verify'] and not self.check_mode:
            self._step('verify', self._verify, secret['token'], secret.get('previous_token'), sp_id)
        secret.clear()

    def _step(self, name, func, *args):
        started = time.time()
        try:
            return func(*args)
        except StepFailed:
            raise
        except EntraError as e:
            raise StepFailed(name, e.message)
        except _http.TransportError as e:
            raise StepFailed(name, e.message)
        finally:
            self.timings[name] = round(self.timings.get(name, 0) + time.time() - started, 3)

    # ---- host side --------------------------------------------------------------------------
    def _host_command(self, what, command):
        res = self._low_level_execute_command(command, sudoable=True)
        if res.get('rc') != 0:
            raise StepFailed(what, 'the command on the host failed (rc=%s): %s'
                             % (res.get('rc'), to_text(res.get('stderr') or res.get('stdout') or '').strip()[:500]))
        return to_text(res.get('stdout') or '')

    def _read_host_state(self):
        """(expiry record text or '', whether our pause note exists), in one round trip."""
        record, note = self.p['expiry_record_path'], self.p['pause_note_path']
        command = "%s; echo; if [ -e %s ]; then echo %s; fi" % (
            ('cat %s 2>/dev/null' % shlex_quote(record)) if record else 'true', shlex_quote(note), NOTE_MARK)
        text = self._host_command('host_state', command)
        return text.replace(NOTE_MARK, '').strip(), NOTE_MARK in text

    def _host_module(self, name, **extra):
        args = dict((k, self.p[k]) for k in HOST_OPTIONS + ('rotate_before_days',) if self.p.get(k) is not None)
        args.update(extra)
        return self._execute_module(module_name=name, module_args=args, task_vars=self.task_vars)

    def _read_expiry(self):
        res = self._host_module('alation.scim.token_info')
        if res.get('failed') or res.get('unreachable'):
            raise StepFailed('expiry', res.get('msg') or 'no result')  # token_info never changes anything
        return bool(res.get('rotation_due'))

    def _rotate(self):
        res = self._host_module('alation.scim.token_rotate', force=self.p['force'], return_token=True)
        if res.get('failed') or res.get('unreachable') or 'token' not in res:
            msg = res.get('msg') or 'no result'
            # 'launch': the module knows nothing changed on the host; 'rotate': it may have rotated.
            stage = 'launch' if res.get('nothing_changed') else 'rotate'
            res.clear()
            raise StepFailed(stage, msg)
        return res

    def _write_note(self):
        note = self.p['pause_note_path']
        content = json.dumps({'paused_at': iso_utc(time.time())})
        self._host_command('pause', "umask 077 && mkdir -p %s && printf '%%s\\n' %s > %s" % (
            shlex_quote(note.rsplit('/', 1)[0] or '/'), shlex_quote(content), shlex_quote(note)))

    def _remove_note(self):
        self._host_command('start', 'rm -f %s' % shlex_quote(self.p['pause_note_path']))

    # ---- Entra side -------------------------------------------------------------------------
    def _graph_module(self, params, **extra):
        merged = dict(params, timeout=params['http_timeout'])
        merged.update(extra)
        return ControllerModule(merged, check_mode=self.check_mode, warnings=self.warnings)

    def _pause(self, job):
        if needs_job_action('paused', job_summary(job)) is None:
            return  # paused by someone else: it stays as they left it
        # Note first: a run that dies right after the pause leaves the note for the re-run.
        self._write_note()
        self.note_found = True
        self.client.job_action(self.p['service_principal_id'], job['id'], 'pause')
        self.paused_by_us = True
        self.out['job_paused'] = True

    def _push(self, token, rotated, job):
        # Saved credentials hold the token this run just revoked: no use validating them first.
        module = self._graph_module(self.p, secret_token=token, force=self.p['force_push'] or rotated)
        result = dict(changed=False, pushed=False, validated=False, saved_credentials_valid=None,
                      quarantine_lifted=False)
        try:
            push_credentials(module, self.client, result, job)
        finally:
            module.params['secret_token'] = None
        for key in ('pushed', 'validated', 'quarantine_lifted', 'job'):
            self.out[key] = result.get(key, self.out.get(key))
        self.out['push_msg'] = result.get('msg')
        self.out['changed'] = self.out['changed'] or result['changed']

    def _start(self):
        result = dict(changed=False)
        set_job_state(self._graph_module(self.p, state='started', check_saved_credentials=False), self.client, result)
        self.out['job'] = result.get('job')
        self.out['job_started'] = result['changed']
        # Undoing this run's own pause is no change; starting a job an earlier run left paused is.
        if not self.paused_by_us:
            self.out['changed'] = self.out['changed'] or result['changed']
        if self.note_found:
            self._remove_note()
            self.note_found = False

    def _verify(self, token, previous_token, sp_id):
        url = self.p['base_address'].rstrip('/') + '/' + self.p['verify_path'].lstrip('/')
        self._expect_scim(url, token, 200, 'the current token is accepted by the SCIM endpoint')
        if previous_token:
            self._expect_scim(url, previous_token, 401, 'the revoked token is rejected by the SCIM endpoint')
        job_id = (self.out.get('job') or {}).get('id') or self.client.pick_job(sp_id, self.p['job_id'])['id']
        why = None
        for attempt in range(self.p['verify_retries'] + 1):
            ok, why = self.client.validate_credentials(sp_id, job_id)
            if ok:
                break
            if attempt < self.p['verify_retries']:
                time.sleep(self.p['verify_delay'])
        else:
            raise StepFailed('verify', "Entra ID's stored credentials for service principal %s do not work against %s: %s"
                             % (sp_id, self.p['base_address'], why))
        self.out['verified'] = True

    def _expect_scim(self, url, token, expected, what):
        status, detail = None, ''
        for attempt in range(self.p['verify_retries'] + 1):
            try:
                status = _http.send('GET', url, headers={'Authorization': 'Bearer ' + token,
                                                         'Accept': 'application/scim+json'},
                                    validate_certs=self.p['verify_validate_certs'], ca_path=self.p['verify_ca_path'],
                                    timeout=self.p['http_timeout']).status
                detail = 'HTTP %s' % status
            except _http.TransportError as e:
                status, detail = None, e.message
                if e.tls:
                    break
            if status == expected:
                return
            if attempt < self.p['verify_retries']:
                time.sleep(self.p['verify_delay'])
        raise StepFailed('verify', 'expected HTTP %s from %s to prove that %s, got %s. Check base_address and '
                                   'verify_ca_path (the CA of the Alation server)' % (expected, url.split('?')[0], what, detail))

    # ---- results ----------------------------------------------------------------------------
    def _summary(self):
        o = self.out
        if o['rotated']:
            head = 'rotated the SCIM token (it expired %s; the new one expires %s)' % (
                o.get('previous_expires_at') or 'never', o.get('expires_at'))
        elif self.check_mode and o['due']:
            head = 'would rotate the SCIM token (it expires %s)' % o.get('expires_at')
        else:
            head = 'not rotated: the SCIM token expires %s (%s days left)' % (o.get('expires_at'), o.get('days_remaining'))
        parts = [head]
        if o.get('push_msg'):
            parts.append('Entra ID: %s' % o['push_msg'])
        job_steps = [word for word, done in (('paused', o['job_paused']), ('started again', o['job_started'])) if done]
        if job_steps:
            parts.append('job %s' % ', '.join(job_steps))
        if o['verified']:
            parts.append('verified')
        return '; '.join(parts) + '.'

    def _finish(self):
        if not self.out.get('failed'):
            self.out['msg'] = self._summary()
        self.out['timings'] = self.timings
        if self.warnings:
            self.out['warnings'] = self.warnings
        return self.out

    def _failed(self, step, error):
        """Fail with what was done so far; start the job again only when nothing was rotated."""
        if not self.out['rotated'] and getattr(self, 'paused_by_us', False):
            try:
                self._start()
            except (StepFailed, EntraError, _http.TransportError) as e:
                self.warnings.append('Could not start the Entra ID job this run paused: %s' % getattr(e, 'error', e))
        error = to_text(error).strip()
        self.out.update(failed=True, failed_step=STEP_NAMES[step], failed_stage=step, error=error)
        if self.out['rotated']:
            self.out['msg'] = ('%s failed after the token was rotated at %s: %s Re-run to finish: the re-run pushes '
                               'the current token without rotating again.' % (STEP_NAMES[step], self.out['rotated_at'], error))
        else:
            self.out['msg'] = '%s failed: %s' % (STEP_NAMES[step], error)
        return self._finish()
