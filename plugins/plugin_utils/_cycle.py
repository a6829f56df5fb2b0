# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation cycle, written once for every IdP (docs/architecture.md, "The rotation cycle").

Per host, in the controller's worker process:

1. read the IdP side first (``driver.check_settings``): settings and permissions proven before
   anything changes;
2. when the driver prepares (Entra pauses its job): read the host's expiry record and prepare
   when it says a rotation is due (a record it cannot trust says nothing: the IdP is left as it
   is), the plan saved on the host first;
3. one Django launch (``token_rotate``): decides, rotates when due, reads the token; a hand-off
   host without an operator gets a read-only launch instead and is never rotated;
4. push through the driver at once when the token was rotated, when an earlier rotation's push is
   owed (the record says so), or when the IdP does not hold the current token;
5. verify: the new token gets 200 from the host's SCIM endpoint and the old one 401, plus the
   driver's own check (a push that fails it keeps the IdP prepared and stays owed);
6. resume the IdP (undo the preparation, also one an earlier run left behind);
7. one report record.

The token stays in this process's memory: no module argument, no temp file, in a result only for
the ``rotate`` stage of YAML-pushed drivers (``custom``), and then hidden by the action plugin.
Nothing here knows Ansible: the action plugin lends the host (``HostSide``) and the clock.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import threading
import time

from shlex import quote as shlex_quote

from ansible_collections.alation.scim.plugins.module_utils import _http, _report
from ansible_collections.alation.scim.plugins.module_utils._token_state import (
    host_key, iso_utc, new_salt, parse_record, pushed_current, record_push, recorded_due, redact, token_fingerprint,
    with_push)
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, without_secrets

HOST_OPTIONS = ('alation_root', 'alation_user', 'entry', 'init_script', 'timeout', 'django_shell_command',
                'expiry_record_path')
EXPIRY_KEYS = ('token_present', 'expires_at', 'days_remaining', 'expired', 'rotation_due')
# What each step is called in messages; {idp} is the driver's label.
STEP_NAMES = {
    'settings': 'Check the settings',
    'idp': 'Read {idp} (settings and permissions)',
    'host_state': 'Read the expiry record on the host',
    'prepare': 'Prepare {idp} before the rotation',
    'gate': 'Refuse to rotate without an operator',
    'launch': 'Rotate the SCIM token if it is due, and read the current token (one launch)',
    'rotate': 'Rotate the SCIM token if it is due, and read the current token (one launch)',
    'idp_read': 'Ask {idp} whether it holds the current token',
    'push': 'Push the SCIM token to {idp}',
    'record': 'Record the push on the host',
    'resume': 'Resume {idp} after the rotation',
    'verify': 'Verify the token end to end',
    'replication': 'Check that the HA secondary got the token by replication',
    'unreachable': 'Reach the host',
}


def warning_text(warning):
    """A host module's warning as text: ansible-core 2.19 hands them to the action as WarningSummary
    objects (the text in .event.msg), which json cannot serialise; older versions as strings."""
    event = getattr(warning, 'event', None)
    return u'%s' % (getattr(event, 'msg', None) or warning)


class HostError(Exception):
    """A command on the host failed (the message says which and what it printed)."""

    def __init__(self, message, unreachable=False):
        super(HostError, self).__init__(message)
        self.message = message
        self.unreachable = unreachable


class HostSide(object):
    """What the cycle needs of the host; the action plugin implements it over the task's connection."""

    # Whether one read-only command may run in another thread while this one talks to the IdP (the
    # connection is used by one thread at a time either way: the cycle waits for it before the next).
    concurrent_reads = False

    def launch(self, module, args):
        """Run a host module (alation.scim.token_rotate, ...) with args; its result dict."""
        raise NotImplementedError

    def command(self, command):
        """Run a shell command as root; its stdout, or HostError."""
        raise NotImplementedError

    def read_record(self, path):
        """The record's text ('' when there is none), in one round trip."""
        return self.command('cat %s 2>/dev/null || true' % shlex_quote(path))

    def connect(self):
        """Open the connection to the host (an SSH master), so that the launch does not wait for it."""

    def write_record(self, path, text):
        """Replace the record atomically (mode 0600, root), in one round trip."""
        directory = path.rsplit('/', 1)[0] or '/'
        self.command("umask 077 && mkdir -p %s && printf '%%s\\n' %s > %s.tmp && mv -f %s.tmp %s" % (
            shlex_quote(directory), shlex_quote(text), shlex_quote(path), shlex_quote(path), shlex_quote(path)))


class Meanwhile(object):
    """A read-only host call run in a thread; result() waits for it and returns or raises what it did."""

    def __init__(self, func, *args):
        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(func,) + args)
        self._thread.daemon = True
        self._thread.start()

    def _run(self, func, *args):
        try:
            self._value = func(*args)
        except Exception as e:  # raised again in the cycle's thread, by result()
            self._error = e

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self):
        self._thread.join()


def settle(calls):
    """Wait for calls started meanwhile whose answers nobody needs any more (a step failed)."""
    for call in calls:
        call.wait()


class StepFailed(Exception):
    def __init__(self, step, error):
        super(StepFailed, self).__init__(error)
        self.step = step
        self.error = error


def _overrides(driver, method):
    return getattr(type(driver), method) is not getattr(Driver, method)


class Cycle(object):
    """One host's rotation cycle.  ``params``: the options of alation.scim.token_rotation_cycle."""

    def __init__(self, driver, host, params, check_mode=False, warn=None, clock=time.time, sleep=time.sleep,
                 http=_http.send):
        self.driver = driver
        self.host = host
        self.p = params
        self.check_mode = check_mode
        self.warnings = []
        self.warn = warn or self.warnings.append
        self.clock = clock
        self.sleep = sleep
        self.http = http
        self.timings = {}
        self.expiry = None          # token_info-shaped state after the run (None: host not read)
        self.previous_expires_at = None
        self.rotation_due = None
        self.record_path = params.get('expiry_record_path')
        self.out = dict(changed=False, rotated=False, rotated_at=None, pushed=False, verified=False, idp=driver.name,
                        push_reason=None)

    # ---- plumbing ---------------------------------------------------------------------------
    def step(self, name, func, *args, **kwargs):
        started = self.clock()
        try:
            return func(*args, **kwargs)
        except StepFailed:
            raise
        except HostError as e:
            raise StepFailed('unreachable' if e.unreachable else name, e.message)
        except _http.ApiError as e:
            raise StepFailed(name, e.message)
        finally:
            self.timings[name] = round(self.timings.get(name, 0) + self.clock() - started, 3)

    def launch_args(self, **extra):
        args = dict((k, self.p[k]) for k in HOST_OPTIONS if self.p.get(k) is not None)
        args['rotate_before_days'] = self.p['rotate_before_days']
        args.update(extra)
        return args

    def launch(self, module, **extra):
        res = self.p['host'].launch(module, self.launch_args(**extra))
        if res.get('unreachable'):
            raise StepFailed('unreachable', res.get('msg') or 'unreachable')
        if res.get('failed') or 'token_present' not in res:
            msg = res.get('msg') or 'no result'
            stderr = redact(res.get('module_stderr') or '').strip()
            if stderr and 'token_present' not in res:
                # The module never answered (sudo refused, no interpreter ...): what it printed says why.
                msg = '%s. The host said: %s' % (msg.rstrip('.'), stderr[:400])
                if 'tty' in stderr and 'sudo' in stderr:
                    msg += (' Fix: sudo on this host requires a terminal (Defaults requiretty): turn pipelining off '
                            'for it (ansible_pipelining: false, or ANSIBLE_PIPELINING=False), or drop requiretty '
                            'for the Ansible user.')
            stage = 'launch' if res.get('nothing_changed', True) or module != 'alation.scim.token_rotate' else 'rotate'
            res.clear()
            raise StepFailed(stage, msg)
        return res

    def absorb(self, res):
        self.expiry = dict((k, res.get(k)) for k in EXPIRY_KEYS)
        # token_rotate says what the token expired before it; the read-only launches, the current expiry
        self.previous_expires_at = res.get('previous_expires_at', res.get('expires_at'))
        self._record_text = json.dumps(res['expiry_record']) if res.get('expiry_record') else None
        for key in ('rotation_reason', 'ha_role'):
            if res.get(key) is not None:
                self.out[key] = res[key]
        for w in res.get('warnings') or []:
            self.warn(warning_text(w))

    # ---- mode rotate ------------------------------------------------------------------------
    def rotate(self, stop_before_yaml_push=False):
        """The whole cycle; with stop_before_yaml_push (YAML-pushed drivers) the result of a run that
        must push carries the token under `token` (hidden by the action) and `rotation` to finish with."""
        driver, p = self.driver, self.p
        prepares = _overrides(driver, 'prepare_plan') and not self.check_mode and self.record_path
        meanwhile = None
        if p['host'].concurrent_reads:
            # While the IdP is read (a second or more at fleet scale), the host is reached: its record read
            # (both are read-only), or just its connection, which the launch would otherwise wait for.
            meanwhile = Meanwhile(p['host'].read_record, self.record_path) if prepares else Meanwhile(p['host'].connect)
        try:
            self.step('idp', driver.check_settings)
        except StepFailed as failure:
            if meanwhile:
                meanwhile.wait()  # the host's connection serves one thread at a time
            self.read_for_report()
            return self.failed(failure)
        plans = []
        try:
            if prepares:
                plans = self.prepare(meanwhile)
            elif meanwhile:
                meanwhile.wait()  # its failure, if any, is the launch's to report
            # A hand-off host is never rotated unattended; check mode says so too (a real run would refuse).
            gate = driver.needs_operator and not p['operator_present']
            if gate:
                res = self.step('launch', self.launch, 'alation.scim.token_read')
                res['rotated'] = False
            else:
                res = self.step('rotate', self.launch, 'alation.scim.token_rotate', force=p['force'],
                                return_token=True, on_secondary='report')
            self.absorb(res)
            token, previous = res.pop('token', None), res.pop('previous_token', None)
            push_state = (res.get('expiry_record') or {}).get('push') or {}
            rotated = bool(res.get('rotated')) and not self.check_mode
            would_rotate = bool(res.get('rotated')) and self.check_mode
            self.rotation_due = bool(res.get('rotation_due')) or rotated or would_rotate or bool(p['force'])
            if rotated:
                self.out.update(rotated=True, changed=True, rotated_at=iso_utc(self.clock()))
                if self.expiry.get('rotation_due'):
                    # Alation 2023.3.2+ may issue tokens of 1 to 6 months: one shorter than the rotation
                    # window would be rotated again by every run.
                    self.warn('The new SCIM token of %s expires %s, within alation_scim_rotate_before_days (%s days): '
                              'every run would rotate it again. Set alation_scim_rotate_before_days below the '
                              "token's lifetime (Admin Settings > Authentication > SCIM Token)."
                              % (self.host, self.expiry.get('expires_at'), p['rotate_before_days']))
            elif would_rotate:
                self.out.update(changed=True, would='rotate')
            if res.get('ha_role') == 'secondary':
                self.resume(plans)
                return self.finish_report(detail='HA secondary: the primary rotates and pushes; the token '
                                                 'reaches this host by replication')
            if gate and (self.rotation_due or p['force']):
                raise StepFailed('gate', self.gate_message())
            reason = None if would_rotate else self.push_reason(token, rotated, push_state)
            self.out['push_reason'] = reason
            if reason and self.check_mode:
                self.out.update(changed=True, would='push')
            elif reason and driver.yaml_push and stop_before_yaml_push:
                self.out.update(token=token, rotation=dict(
                    token=token, previous_token=previous, rotated=rotated, rotated_at=self.out['rotated_at'],
                    push_reason=reason, plans=plans, push_state=push_state, expiry=self.expiry,
                    previous_expires_at=self.previous_expires_at, rotation_due=self.rotation_due,
                    rotation_reason=self.out.get('rotation_reason')), push_needed=True)
                return self.out
            elif reason:
                if gate:
                    self.warn('%s: a hand-off owed by an earlier rotation is delivered now, but nobody is there to '
                              'paste it (alation_scim_operator_present is false): %s keeps failing to provision '
                              'until someone does.' % (self.host, driver.label))
                host_checks = self.start_host_checks(token, previous) if self.verifies() else []
                try:
                    self.step('push', self.push, token, reason, rotated)
                except StepFailed:
                    settle(host_checks)
                    raise
                self.record_push(push_state, token)
                return self.complete(token, previous, plans, host_checks)
            return self.complete(token, previous, plans)
        except StepFailed as failure:
            if not self.out['rotated'] and not self.out['pushed']:
                self.resume_quietly(plans)  # nothing was rotated: no reason to keep the IdP prepared
            return self.failed(failure)

    def finish(self, rotation, push_error=None):
        """After the role's YAML pushed (or failed to): record, resume, verify, report."""
        self.out.update(rotated=rotation['rotated'], rotated_at=rotation['rotated_at'],
                        changed=bool(rotation['rotated']), push_reason=rotation['push_reason'],
                        rotation_reason=rotation.get('rotation_reason'))
        self.expiry = rotation['expiry']
        self.previous_expires_at = rotation['previous_expires_at']
        self.rotation_due = rotation['rotation_due']
        token = rotation['token']
        try:
            if push_error:
                # The user's tasks may have put a token into their message: never repeat it.
                for secret in (token, rotation.get('previous_token')):
                    if secret:
                        push_error = push_error.replace(secret, '********')
                raise StepFailed('push', push_error)
            self.step('push', self.push, token, rotation['push_reason'], rotation['rotated'])
            self.record_push(rotation['push_state'] or {}, token)
            return self.complete(token, rotation['previous_token'], rotation['plans'])
        except StepFailed as failure:
            return self.failed(failure)

    def prepare(self, reading=None):
        """Read the record (or take the reading started meanwhile); when a rotation is (or may be) due,
        save the plan there and prepare."""
        driver, p = self.driver, self.p
        if reading is not None:
            text = self.step('host_state', reading.result)
        else:
            text = self.step('host_state', p['host'].read_record, self.record_path)
        push = record_push(text)
        plans = []
        if (parse_record(text) or {}).get('ha_role') == 'secondary':
            return plans  # an HA secondary never rotates: its primary prepares the IdP they share
        left = push.get('plan')
        if left and push.get('plan_driver') == driver.name and push.get('plan_target') == driver.target():
            plans.append(left)  # an earlier run prepared and did not resume: this run finishes it
        # No record this run can trust (a host's first run, other host options) says nothing: then the
        # IdP is left as it is (the one launch decides, and a rotation is pushed a second later). Preparing
        # "to be safe" would touch the IdP before the host has answered once, even for a broken host.
        due = p['force'] or recorded_due(text, self.clock(), p['rotate_before_days'], host_key(p))
        plan = driver.prepare_plan() if due else None
        if plan and plan not in plans:
            if _overrides(driver, 'resume'):
                # Saved first: a run that dies right after preparing leaves the plan for the next one. A plan
                # nothing undoes (a probe write that changes nothing) leaves nothing to finish: no round trip.
                new = dict(push, plan=plan, plan_driver=driver.name, plan_target=driver.target())
                self.step('prepare', p['host'].write_record, self.record_path, with_push(text, new))
            self.step('prepare', driver.prepare, plan)
            plans.append(plan)
            self.out['prepared'] = True
        return plans

    def push_reason(self, token, rotated, push_state):
        """Why the token must be pushed now, or None."""
        driver = self.driver
        if rotated:
            return 'rotated'
        if not driver.delivers:
            return None  # nothing to deliver to (a pending mark stays for a driver that will)
        if self.p['force_push']:
            return 'forced'
        if push_state.get('pending'):
            return 'pending'
        held = self.step('idp_read', driver.holds, token)
        if held is True and driver.holds_proves_chain:
            self.out['verified'] = True
        if held is None:
            if not driver.push_when_unknown:
                return None  # hand-off, custom: only a rotation (or a push it still owes) is delivered
            # The IdP cannot tell (masked read-back): the fingerprint of the last push decides, and
            # without one the current token is pushed once.
            held = bool(pushed_current(push_state, driver.name, driver.target(), token))
        return None if held else 'not_held'

    def push(self, token, reason, rotated):
        self.driver.context.rotation = {'rotated_at': self.out['rotated_at'], 'expires_at': self.expiry['expires_at'],
                                        'reason': reason}
        try:
            text = self.driver.push(token)
        except _http.ApiError as e:
            raise without_secrets(e, [token])  # an IdP may quote what it was sent
        self.out['pushed_at'] = iso_utc(self.clock())
        # A hand-off delivers to a person: the IdP does not hold the token yet.
        self.out['pushed'] = self.driver.delivers and not self.driver.needs_operator
        self.out['changed'] = True
        self.out['push_msg'] = text

    def record_push(self, push_state, token):
        """Record on the host what was pushed (a keyed fingerprint, never the token)."""
        if not self.record_path or not self.driver.delivers:
            return
        salt = push_state.get('salt') or new_salt()
        self._push_state = dict(push_state, driver=self.driver.name, target=self.driver.target(), salt=salt,
                                fingerprint=token_fingerprint(token, salt), pushed_epoch=int(self.clock()),
                                pending=False)

    def complete(self, token, previous, plans, host_checks=None):
        # Verified before the IdP is resumed and the push recorded: a push that does not work keeps the IdP
        # prepared (Entra's job paused, no cycle against a broken token) and stays owed for the re-run.
        if self.verifies() and (self.out['rotated'] or self.out['pushed']):
            self.step('verify', self.verify, token, previous, host_checks)
        else:
            settle(host_checks or [])
        resumed = self.resume(plans)
        self.write_push_state(resumed)
        return self.finish_report()

    def resume(self, plans):
        done = []
        for plan in plans:
            text = self.step('resume', self.driver.resume, plan)
            if text:
                done.append(text)
                if not self.out.get('prepared'):
                    self.out['changed'] = True  # undoing what an earlier run left is a change
        if done:
            self.out['resumed'] = '; '.join(done)
        return bool(plans)

    def resume_quietly(self, plans):
        try:
            self.resume(plans)
            self.write_push_state(bool(plans))
        except StepFailed as e:
            self.warn('Could not undo the IdP preparation of this run: %s' % e.error)

    def write_push_state(self, plans_resumed):
        """One write of the record after the push and the resume (none when nothing changed).

        The launch returned the record as it left it, so there is nothing to read first."""
        new = getattr(self, '_push_state', None)
        if new is None and not plans_resumed:
            return
        if not self.record_path or self.check_mode:
            return
        text = getattr(self, '_record_text', None)
        if text is None:  # no launch answered (a failure before it): read what is there
            text = self.step('record', self.p['host'].read_record, self.record_path)
        push = dict(new if new is not None else record_push(text))
        for key in ('plan', 'plan_driver', 'plan_target'):
            push.pop(key, None)
        self.step('record', self.p['host'].write_record, self.record_path, with_push(text, push))

    def verifies(self):
        return self.p['verify'] and not self.check_mode

    def start_host_checks(self, token, previous):
        """The SCIM endpoint's answers to the current token (200) and the revoked one (401), each in a thread:
        GETs of Alation itself, independent of the IdP, so they run while the push goes out; verify() waits
        for them, in this order, before it asks the IdP."""
        url = self.p['scim_url'].rstrip('/') + '/' + self.p['verify_path'].lstrip('/')
        checks = [Meanwhile(self.expect_scim, url, token, 200, 'the current token is accepted by the SCIM endpoint')]
        if previous:
            checks.append(Meanwhile(self.expect_scim, url, previous, 401,
                                    'the revoked token is rejected by the SCIM endpoint'))
        return checks

    def verify(self, token, previous, host_checks=None):
        checks = host_checks or self.start_host_checks(token, previous)
        settle(checks)
        for check in checks:
            check.result()  # the first failure, in order
        last = None
        for attempt in range(self.p['verify_retries'] + 1):
            try:
                text = self.driver.verify(token)
                if text:
                    self.out['idp_verified'] = text
                break
            except _http.ApiError as e:
                last = e
                if attempt < self.p['verify_retries']:
                    self.sleep(self.p['verify_delay'])
        else:
            raise last
        self.out['verified'] = True

    def expect_scim(self, url, token, expected, what):
        status, detail = None, ''
        for attempt in range(self.p['verify_retries'] + 1):
            try:
                status = self.http('GET', url, headers={'Authorization': 'Bearer ' + token,
                                                        'Accept': 'application/scim+json'},
                                   validate_certs=self.p['validate_certs'], ca_path=self.p['ca_path'],
                                   timeout=30).status
                detail = 'HTTP %s' % status
            except _http.TransportError as e:
                status, detail = None, e.message
                if e.tls:
                    break
            if status == expected:
                return
            if attempt < self.p['verify_retries']:
                self.sleep(self.p['verify_delay'])
        raise StepFailed('verify', 'expected HTTP %s from %s to prove that %s, got %s. Fix: check alation_scim_base_url '
                                   'and alation_scim_ca_path (the CA of the Alation server).'
                         % (expected, url.split('?')[0], what, detail))

    def gate_message(self):
        return ('The SCIM token of %s is due for rotation (%s), but alation_scim_idp=%s cannot take a new token by API: '
                'a person has to paste it. Nothing was rotated. Rotate it attended: ansible-playbook '
                'alation.scim.rotate_scim --limit %s -e alation_scim_operator_present=true (with your vault password '
                'for the hand-off file), paste the token following the printed steps, then run the confirm entry '
                'point.' % (self.host, _report.expiry_phrase(self.expiry), self.driver.name, self.host))

    # ---- mode check / confirm ------------------------------------------------------------------
    def check(self):
        """The expiry check: one read-only launch, never a change, never the IdP.  With
        `replicated_expires_at` (an HA secondary after its primary rotated), the expiry must arrive
        by replication: re-read up to verify_retries times."""
        expected = self.p.get('replicated_expires_at')
        try:
            for attempt in range(self.p['verify_retries'] + 1 if expected else 1):
                self.absorb(self.step('launch', self.launch, 'alation.scim.token_info'))
                if not expected or self.expiry['expires_at'] == expected:
                    break
                self.sleep(self.p['verify_delay'])
            else:
                raise StepFailed('replication', "the HA secondary %s shows a token expiring %s, not the primary's new one "
                                                "(expiring %s), after %d reads. Fix: check the pair's replication "
                                                "(Alation: /monitor/replication) and re-run." % (
                                                    self.host, self.expiry['expires_at'], expected,
                                                    self.p['verify_retries'] + 1))
        except StepFailed as failure:
            return self.failed(failure, before_anything=True)
        self.rotation_due = self.expiry['rotation_due']
        return self.finish_report(detail="HA secondary: the primary's new token arrived by replication"
                                  if expected else None)

    def confirm(self):
        try:
            self.step('idp', self.driver.check_settings)
            ok, text = self.step('verify', self.driver.confirm)
        except StepFailed as failure:
            self.out.update(failed=True, confirmed=False,
                            msg='%s failed: %s' % (self.step_name(failure.step), failure.error))
            return self.out
        self.out.update(confirmed=ok, msg=text, failed=not ok)
        return self.out

    def settings_failed(self, error):
        """The driver's settings are wrong (nothing ran): the report still gets the host's expiry."""
        self.read_for_report()
        return self.failed(StepFailed('settings', error))

    def read_for_report(self):
        """After a failure before the launch: the host's expiry, read-only, so the report does not
        pass "unknown" off as healthy (a failure here leaves the fields unknown)."""
        try:
            self.absorb(self.launch('alation.scim.token_info'))
            self.rotation_due = self.expiry['rotation_due']
        except StepFailed as e:
            if e.step == 'unreachable':
                self.unreachable = e.error
            self.warn('Could not read the expiry for the report either: %s' % e.error)

    # ---- results ----------------------------------------------------------------------------
    def action(self):
        o = self.out
        if o.get('failed'):
            return 'failed'
        if o['rotated']:
            return 'rotated'
        if o.get('would'):
            return 'would_' + o['would']
        if o['pushed'] or o.get('push_msg'):
            return 'push_completed' if o['push_reason'] == 'pending' else 'pushed'
        return 'none'

    def detail(self):
        o, driver = self.out, self.driver
        parts = []
        if o.get('push_msg'):
            delivered = driver.delivers and not driver.needs_operator
            parts.append('pushed to %s (%s)' % (driver.label, o['push_msg']) if delivered else o['push_msg'])
        if o.get('resumed'):
            parts.append(o['resumed'])
        if o['verified'] and (o['rotated'] or o['pushed']):
            parts.append('verified')
        return '; '.join(parts) or None

    def finish_report(self, detail=None):
        o = self.out
        o['due'] = self.rotation_due
        if self.expiry:
            o.update(self.expiry)
            o['rotation_due'] = self.rotation_due
        o['previous_expires_at'] = self.previous_expires_at
        if self.driver.needs_operator and o.get('push_msg'):
            o['operator_steps'] = self.driver.operator_steps()
        record = _report.host_record(
            self.host, self.driver.name, self.expiry, self.action(), self.p['warning_days'], self.p['critical_days'],
            base_url=self.p.get('base_url'), previous_expires_at=self.previous_expires_at,
            rotation_due=self.rotation_due, rotated=o['rotated'], pushed=o['pushed'], verified=o['verified'],
            failure=o.get('failure_message'), detail=detail or self.detail(), ha_role=o.get('ha_role'))
        if o.get('failed_stage') == 'unreachable':
            record['status'] = 'unreachable'  # worse than failed in the fleet report's order
        o['report'] = record
        o['msg'] = record['message']
        o['idp_state'] = self.driver.summary()
        o['timings'] = self.timings
        if self.warnings:
            o['warnings'] = list(self.warnings)
        return o

    def step_name(self, step):
        return STEP_NAMES.get(step, step).format(idp=self.driver.label or self.driver.name or 'the IdP')

    def failed(self, failure, before_anything=False):
        o = self.out
        step, error = failure.step, (failure.error or '').strip()
        error = error + ('' if error[-1:] in ('.', '!', '?') else '.')
        what = self.step_name(step)
        rerun = ('re-run the same playbook with the same inventory and variables (to finish only this host: --limit %s).'
                 % self.host)
        if o['rotated']:
            text = ('The Alation SCIM token on %s WAS ROTATED at %s (new token expires %s); the previous token is '
                    'revoked. Then "%s" failed: %s The new token is safe on the host (readable with '
                    'alation.scim.token_read). To finish the push to %s, fix the cause and %s The re-run will not '
                    'rotate again: it pushes the current token and verifies it.'
                    % (self.host, o['rotated_at'], (self.expiry or {}).get('expires_at'), what, error,
                       self.driver.label, rerun))
        elif step == 'rotate':
            text = ('The rotation step on %s failed: %s If Alation rotated the token before the failure, the new token '
                    'stays readable on the host and is not lost. Fix the cause and %s The re-run rotates only if the '
                    'token is still due, and pushes the current token either way.' % (self.host, error, rerun))
        elif step == 'gate':
            text = error
        elif self.expiry is not None and step not in ('settings', 'idp', 'host_state', 'prepare'):
            text = ('The SCIM token on %s was not rotated in this run (%s). "%s" failed: %s Fix the cause and %s'
                    % (self.host, _report.expiry_phrase(self.expiry), what, error, rerun))
        else:
            text = ('Nothing was rotated on %s: "%s" failed before the rotation: %s Fix the cause and %s'
                    % (self.host, what, error, rerun))
        if before_anything:
            text = '%s failed on %s: %s' % (what, self.host, error)
        if step == 'unreachable' and not o['rotated']:
            text = '%s was unreachable: %s Nothing was rotated. Fix the connection and %s' % (self.host, error, rerun)
        o.update(failed=True, failed_step=what, failed_stage=step, error=error, failure_message=text)
        return self.finish_report()


def run_cycle(cycle, mode, stage, rotation=None, push_error=None):
    """Dispatch one task: mode rotate (stage all / rotate / finish), check or confirm."""
    if mode == 'check':
        return cycle.check()
    if mode == 'confirm':
        return cycle.confirm()
    if stage == 'finish':
        return cycle.finish(rotation, push_error)
    return cycle.rotate(stop_before_yaml_push=(stage == 'rotate'))


def rotation_from_result(result):
    """The `rotation` of a stage-rotate result as the finish stage wants it (JSON-safe copy)."""
    return json.loads(json.dumps(result.get('rotation') or {}))
