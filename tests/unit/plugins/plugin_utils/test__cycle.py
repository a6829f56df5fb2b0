"""The rotation cycle's decisions (plugins/plugin_utils/_cycle.py), over a host and an IdP that keep state.

FakeHost plays token_rotate / token_info / token_read as they behave on a real host (decide in the
launch, rotate when due, mark the push owed in the expiry record, keep the record's push state);
FakeDriver is an IdP that stores what it is pushed.  The same paths run for real, over SSH against the
test bed and the simulators, in tests/integration/test_driver_matrix.py; here each branch is pinned down.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading

import pytest

from ansible_collections.alation.scim.plugins.module_utils import _http
from ansible_collections.alation.scim.plugins.module_utils._token_state import (
    expiry_record, host_key, iso_utc, record_push, with_push)
from ansible_collections.alation.scim.plugins.plugin_utils._cycle import Cycle, HostError, HostSide, run_cycle
from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverContext, DriverError

NOW = 1767225600.0
DAY = 86400
RECORD = '/var/lib/alation_scim/expiry.h1.json'
SCIM = 'https://h1.example:8443/scim/v2/'


class Clock(object):
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeHost(HostSide):
    """An Alation host: its token, expiry, expiry record; counts launches and rotations."""

    def __init__(self, days=100, record=True, fail=None):
        self.serial = 1
        self.token = 'tok-%02d-' % self.serial + 'x' * 30
        self.expires = NOW + days * DAY
        self.files = {}
        self.launches = []
        self.rotations = 0
        self.commands = []
        self.fail = fail  # None | 'before' (nothing changed) | 'after' (died after rotating)
        if record:
            self.files[RECORD] = expiry_record({'present': True, 'expires_epoch': self.expires}, NOW - DAY,
                                               host_key(PARAMS))

    def state(self):
        return {'present': True, 'expires_epoch': self.expires}

    def describe(self, rotate_before_days):
        days = int((self.expires - NOW) // DAY)
        return {'token_present': True, 'expires_at': iso_utc(self.expires), 'days_remaining': days,
                'expired': days < 0, 'rotation_due': self.expires <= NOW + rotate_before_days * DAY}

    def launch(self, module, args):
        self.launches.append(module)
        old = self.files.get(RECORD)
        push = dict(record_push(old))
        if self.fail == 'before':
            return {'failed': True, 'msg': 'su to user alation failed. Fix: set alation_user', 'nothing_changed': True}
        if self.fail == 'unreachable':
            return {'unreachable': True, 'msg': 'ssh: connect to host h1 port 22: Connection refused'}
        before = self.describe(args['rotate_before_days'])
        result = dict(before, changed=False)
        if module.endswith('token_rotate'):
            rotate = args.get('force') or before['rotation_due']
            result.update(rotated=bool(rotate), rotation_reason='due' if rotate else 'not_due',
                          previous_expires_at=before['expires_at'])
            if rotate and not CHECK['mode']:
                previous = self.token
                self.serial += 1
                self.rotations += 1
                self.token = 'tok-%02d-' % self.serial + 'x' * 30
                self.expires = NOW + 180 * DAY
                push.update(pending=True, rotated_epoch=int(NOW))
                if self.fail == 'after':
                    self.files[RECORD] = with_push(old, push)
                    return {'failed': True, 'msg': 'the Django shell died', 'nothing_changed': False}
                result.update(self.describe(args['rotate_before_days']), previous_token=previous, changed=True)
            result['token'] = self.token
        elif module.endswith('token_read'):
            result['token'] = self.token
        text = expiry_record(self.state(), NOW, host_key(args), push)
        if not CHECK['mode']:
            self.files[RECORD] = text
        result['expiry_record'] = json.loads(text)
        return result

    def command(self, command):
        self.commands.append(command)
        return ''

    def read_record(self, path):
        self.commands.append('read')
        return self.files.get(path, '')

    def write_record(self, path, text):
        self.commands.append('write')
        self.files[path] = text

    def push_state(self):
        return record_push(self.files.get(RECORD))


class FakeDriver(Driver):
    """An IdP that stores the token pushed to it, and can be asked whether it holds one."""

    name = 'fake'
    label = 'Fake IdP'
    var_prefix = 'fake'

    def __init__(self, host, prepares=True, can_tell=True, fail=None, operator=False, yaml=False, delivers=True):
        super(FakeDriver, self).__init__({}, DriverContext('h1', SCIM))
        self.host = host
        self.stored = host.token  # in sync at the start
        self.prepares, self.can_tell, self.fail = prepares, can_tell, fail
        self.needs_operator, self._yaml, self.delivers = operator, yaml, delivers
        self.push_when_unknown = not operator and not yaml
        self.calls = []
        self.paused = False

    @property
    def yaml_push(self):
        return self._yaml

    def target(self):
        return 'fake/app-1'

    def check_settings(self):
        self.calls.append('check_settings')
        if self.fail == 'settings':
            raise DriverError('Reading app-1 failed: HTTP 401', fix='check the client secret')

    def prepare_plan(self):
        return {'paused_job': 'job-1'} if self.prepares else None

    def prepare(self, plan):
        assert 'paused_job' in json.dumps(record_push(self.host.files.get(RECORD)).get('plan')), \
            'the plan must be on the host before the IdP is prepared'
        self.calls.append('prepare')
        self.paused = True

    def resume(self, plan):
        self.calls.append('resume')
        was, self.paused = self.paused, False
        return 'started the job again' if was else None

    def holds(self, token):
        self.calls.append('holds')
        return (self.stored == token) if self.can_tell else None

    def push(self, token):
        self.calls.append('push')
        if self.fail == 'push':
            raise DriverError('Saving the token failed: HTTP 503', fix='retry later')
        self.stored = token
        return 'stored in app-1'

    def verify(self, token):
        self.calls.append('verify')
        if self.stored != token:
            raise DriverError('the IdP holds another token')
        return 'app-1 tested the connection'

    def operator_steps(self, where=None):
        return ['paste it']


CHECK = {'mode': False}
PARAMS = dict(rotate_before_days=30, force=False, force_push=False, operator_present=False, scim_url=SCIM,
              base_url='https://h1.example:8443', verify=True, verify_path='Users', validate_certs=True, ca_path=None,
              verify_retries=0, verify_delay=0, warning_days=30, critical_days=7, expiry_record_path=RECORD,
              alation_root='/opt/alation/alation', alation_user='alation', entry='chroot',
              init_script='/etc/init.d/alation', timeout=120, django_shell_command='alation_django_shell')


@pytest.fixture(autouse=True, params=[False, True], ids=['host-after-idp', 'host-read-meanwhile'])
def reads_meanwhile(request, monkeypatch):
    """Every test twice: the host read after the IdP's, and while it (the action's ssh connection)."""
    monkeypatch.setattr(FakeHost, 'concurrent_reads', request.param)
    return request.param


def run(host, driver, mode='rotate', stage='all', check_mode=False, scim=None, **params):
    CHECK['mode'] = check_mode
    clock = Clock()
    seen = []

    def send(method, url, headers=None, **kwargs):
        token = headers['Authorization'].split(' ', 1)[1]
        seen.append(token)
        status = (scim or {}).get(token) or (200 if token == host.token else 401)
        return _http.Response(status, {}, b'')

    p = dict(PARAMS, host=host, **params)
    cycle = Cycle(driver, 'h1', p, check_mode=check_mode, clock=clock, sleep=clock.sleep, http=send)
    out = run_cycle(cycle, mode, stage, params.get('rotation'), params.get('push_error'))
    public = dict((k, v) for k, v in out.items() if k not in ('token', 'rotation'))
    text = json.dumps(public, default=str) + ''.join(host.files.values())
    for secret in ('tok-%02d-' % n for n in range(1, host.serial + 2)):
        assert secret not in text, 'a token reached the result or a file'
    return out


# ---------------------------------------------------------------- the whole cycle
def test_due_host_is_prepared_rotated_pushed_resumed_and_verified_in_one_launch():
    host = FakeHost(days=5)
    driver = FakeDriver(host)
    out = run(host, driver)
    assert host.launches == ['alation.scim.token_rotate'] and host.rotations == 1
    assert driver.calls == ['check_settings', 'prepare', 'push', 'verify', 'resume']
    assert driver.stored == host.token
    assert out['changed'] and out['rotated'] and out['pushed'] and out['verified']
    assert out['report']['action'] == 'rotated' and out['report']['status'] == 'ok'
    assert 'pushed to Fake IdP (stored in app-1)' in out['msg'] and 'verified' in out['msg']
    push = host.push_state()
    assert push['pending'] is False and push['driver'] == 'fake' and len(push['fingerprint']) == 32
    assert 'plan' not in push, 'the plan is removed once resumed'
    assert host.commands == ['read', 'write', 'write'], 'one read, plan saved, one final write'


class ProbingDriver(FakeDriver):
    """Prepares with a write that changes nothing (PingFederate, SailPoint: probe_write): nothing to undo."""

    resume = Driver.resume

    def prepare_plan(self):
        return {'probe_write': True}

    def prepare(self, plan):
        self.calls.append('prepare')


def test_a_plan_nothing_undoes_is_not_saved_on_the_host_first():
    host = FakeHost(days=5)
    driver = ProbingDriver(host)
    out = run(host, driver)
    assert driver.calls == ['check_settings', 'prepare', 'push', 'verify'] and out['rotated'] and out['verified']
    assert host.commands == ['read', 'write'], 'one read, no plan to save, one final write'
    push = host.push_state()
    assert push['pending'] is False and 'plan' not in push and out.get('prepared') is True


class SlowIdP(FakeDriver):
    """An IdP read that takes until the host was reached (or gives up after `patience` seconds)."""

    def __init__(self, host, patience=5, **kwargs):
        super(SlowIdP, self).__init__(host, **kwargs)
        self.patience = patience
        self.record_read = threading.Event()
        original = host.read_record

        def read_record(path):
            self.reader = threading.current_thread()
            try:
                return original(path)
            finally:
                self.record_read.set()
        host.read_record = read_record
        host.connect = lambda: (setattr(self, 'reader', threading.current_thread()), self.record_read.set())

    def check_settings(self):
        self.overlapped = self.record_read.wait(self.patience)
        super(SlowIdP, self).check_settings()


class SlowIdPThatNeverPrepares(SlowIdP):
    prepare_plan = Driver.prepare_plan  # PingOne: nothing to read on the host before the launch


@pytest.mark.parametrize('driver_class', [SlowIdP, SlowIdPThatNeverPrepares])
def test_the_host_is_reached_while_the_idp_is_read(reads_meanwhile, driver_class):
    host = FakeHost(days=5)
    driver = driver_class(host, patience=5 if reads_meanwhile else 0.2)
    out = run(host, driver)
    assert out['rotated'] and out['verified'] and host.launches == ['alation.scim.token_rotate']
    assert ('read' in host.commands) == (driver_class is SlowIdP), 'the record is read only to prepare'
    if reads_meanwhile:
        # the record read (or, with nothing to read, the connection) while the IdP was read, in another thread
        assert driver.overlapped and driver.reader is not threading.current_thread()
    else:
        assert not driver.overlapped


def test_idp_settings_that_fail_while_the_record_is_read_still_change_nothing(reads_meanwhile):
    host = FakeHost(days=5)
    driver = SlowIdP(host, fail='settings', patience=5 if reads_meanwhile else 0.2)
    out = run(host, driver)
    assert host.rotations == 0 and host.launches == ['alation.scim.token_info']
    assert out['report']['status'] == 'failed' and driver.calls == ['check_settings']
    assert host.commands == (['read'] if reads_meanwhile else [])


class PushThatWaitsForTheHostCheck(FakeDriver):
    """A push that takes until the SCIM endpoint was asked about the new token (or 5 s)."""

    def __init__(self, host, **kwargs):
        super(PushThatWaitsForTheHostCheck, self).__init__(host, **kwargs)
        self.asked = threading.Event()

    def push(self, token):
        self.overlapped = self.asked.wait(5)
        return super(PushThatWaitsForTheHostCheck, self).push(token)


def test_the_scim_endpoint_is_asked_while_the_push_goes_out():
    host = FakeHost(days=5)
    driver = PushThatWaitsForTheHostCheck(host)
    statuses = {}

    class Scim(dict):
        def __bool__(self):
            return True

        def get(self, token, default=None):
            driver.asked.set()
            statuses[token] = 200 if token == host.token else 401
            return statuses[token]
    out = run(host, driver, scim=Scim())
    assert driver.overlapped and out['verified'] and out['report']['status'] == 'ok'
    assert sorted(statuses.values()) == [200, 401], 'the new token and the revoked one, both asked'
    assert driver.calls == ['check_settings', 'prepare', 'push', 'verify', 'resume'], 'the IdP verifies after both'


def test_a_scim_endpoint_that_keeps_the_revoked_token_fails_even_though_the_push_went_out():
    host = FakeHost(days=5)
    driver = FakeDriver(host)
    out = run(host, driver, scim={'tok-01-' + 'x' * 30: 200})
    assert out['failed'] and out['failed_stage'] == 'verify' and 'verify' not in driver.calls
    assert 'the revoked token is rejected' in out['msg'] and 'resume' not in driver.calls, 'the IdP stays prepared'


def test_a_new_token_shorter_than_the_rotation_window_is_warned_about():
    host = FakeHost(days=5)
    out = run(host, FakeDriver(host), rotate_before_days=200)  # a 6-month token is due at once again
    assert out['rotated'] and any('every run would rotate it again' in w for w in out['warnings'])
    host = FakeHost(days=5)
    assert 'warnings' not in run(host, FakeDriver(host))


class _Event(object):
    def __init__(self, msg):
        self.msg = msg


class _WarningSummary(object):
    """What ansible-core 2.19's _execute_module hands back for each module warning."""

    def __init__(self, msg):
        self.event = _Event(msg)


class WarningHost(FakeHost):
    def launch(self, module, args):
        result = super(WarningHost, self).launch(module, args)
        result['warnings'] = [_WarningSummary('su warned that /opt/alation does not exist'), 'a plain warning']
        return result


def test_host_module_warnings_come_back_as_text_whatever_ansible_core_made_of_them():
    # ansible-core 2.19 gives the action WarningSummary objects: a result holding one cannot be
    # serialised, so the host failed with "Object of type WarningSummary is not JSON serializable".
    for mode in ('rotate', 'check'):
        host = WarningHost(days=5)
        out = run(host, FakeDriver(host), mode=mode)
        assert out['warnings'][:2] == ['su warned that /opt/alation does not exist', 'a plain warning']
        json.dumps(out)


def test_not_due_by_its_record_asks_the_idp_and_writes_nothing():
    host = FakeHost(days=100)
    driver = FakeDriver(host)
    out = run(host, driver)
    assert driver.calls == ['check_settings', 'holds'] and not out['changed']
    assert host.launches == ['alation.scim.token_rotate'] and host.rotations == 0
    assert host.commands == ['read'], 'nothing written'
    assert out['report']['action'] == 'none' and out['report']['message'].startswith('On h1 the SCIM token expires')


def test_without_a_record_it_leaves_the_idp_alone_and_still_launches_once():
    host = FakeHost(days=100, record=False)
    driver = FakeDriver(host)
    out = run(host, driver)
    assert driver.calls == ['check_settings', 'holds'] and host.launches == ['alation.scim.token_rotate']
    assert not out['changed']
    host = FakeHost(days=5, record=False)
    driver = FakeDriver(host)
    out = run(host, driver)
    assert driver.calls == ['check_settings', 'push', 'verify'], 'due without a record: pushed at once, no prepare'
    assert host.launches == ['alation.scim.token_rotate'] and out['rotated'] and driver.stored == host.token


def test_force_prepares_whatever_the_record_says():
    host = FakeHost(days=100)
    driver = FakeDriver(host)
    out = run(host, driver, force=True)
    assert host.rotations == 1 and driver.calls[:2] == ['check_settings', 'prepare'] and out['rotated']


def test_idp_prepared_by_someone_else_is_left_as_it_is():
    host = FakeHost(days=5)
    driver = FakeDriver(host, prepares=False)
    run(host, driver)
    assert 'prepare' not in driver.calls and 'resume' not in driver.calls


# ---------------------------------------------------------------- failures
def test_wrong_idp_settings_fail_before_anything_changes_and_the_report_still_reads_the_host():
    host = FakeHost(days=-3)
    driver = FakeDriver(host, fail='settings')
    out = run(host, driver)
    assert host.rotations == 0 and host.launches == ['alation.scim.token_info'], 'read-only, for the report'
    rep = out['report']
    assert out['failed'] and rep['status'] == 'failed' and rep['action'] == 'failed'
    assert rep['days_remaining'] == -3 and rep['rotation_due'] is True, 'unknown is never passed off as healthy'
    assert rep['message'].startswith('Nothing was rotated on h1: "Read Fake IdP (settings and permissions)" failed')
    assert 'Fix: check the client secret' in rep['message'] and '--limit h1' in rep['message']


def test_a_host_that_cannot_be_read_leaves_the_report_unknown_not_false():
    host = FakeHost(days=5, fail='before')
    out = run(host, FakeDriver(host, fail='settings'))
    rep = out['report']
    assert rep['token_present'] is None and rep['rotation_due'] is None and rep['status'] == 'failed'


def test_a_launch_that_changed_nothing_resumes_the_idp_and_says_nothing_was_rotated():
    host = FakeHost(days=5, fail='before')
    driver = FakeDriver(host)
    out = run(host, driver)
    assert driver.calls == ['check_settings', 'prepare', 'resume'] and host.rotations == 0
    assert out['failed_stage'] == 'launch' and out['msg'].startswith('Nothing was rotated on h1')
    assert 'plan' not in host.push_state()


def test_an_unreachable_host_is_reported_unreachable_and_nothing_changes():
    host = FakeHost(days=100, fail='unreachable')

    def unreachable(path):
        raise HostError('the host is unreachable: refused', unreachable=True)
    host.read_record = unreachable
    driver = FakeDriver(host)
    out = run(host, driver)
    rep = out['report']
    assert rep['status'] == 'unreachable' and rep['message'].startswith('h1 was unreachable: the host is unreachable')
    assert driver.calls == ['check_settings'] and host.rotations == 0
    out = run(FakeHost(days=100, fail='unreachable'), FakeDriver(FakeHost(), prepares=False))
    assert out['report']['status'] == 'unreachable' and 'Connection refused' in out['report']['message']


def test_a_launch_that_may_have_rotated_says_so_and_the_rerun_pushes():
    host = FakeHost(days=5, fail='after')
    driver = FakeDriver(host)
    out = run(host, driver)
    assert out['failed_stage'] == 'rotate' and 'If Alation rotated the token before the failure' in out['msg']
    assert host.push_state()['pending'] is True
    host.fail = None
    out = run(host, driver)
    assert host.rotations == 1 and out['push_reason'] == 'pending' and driver.stored == host.token
    assert out['report']['action'] == 'push_completed' and host.push_state()['pending'] is False


def test_push_failure_after_the_rotation_keeps_the_idp_prepared_and_the_rerun_finishes_without_rotating():
    host = FakeHost(days=5)
    driver = FakeDriver(host, fail='push')
    out = run(host, driver)
    assert out['failed'] and out['rotated'] and host.rotations == 1
    assert 'WAS ROTATED at %s' % iso_utc(NOW) in out['msg'] and 'The re-run will not rotate again' in out['msg']
    assert '"Push the SCIM token to Fake IdP" failed: Saving the token failed: HTTP 503. Fix: retry later' in out['msg']
    assert driver.paused, 'no provisioning cycle against a revoked token'
    push = host.push_state()
    assert push['pending'] is True and push['plan'] == {'paused_job': 'job-1'}
    driver.fail = None
    out = run(host, driver)
    assert host.rotations == 1 and out['push_reason'] == 'pending' and not driver.paused
    assert driver.calls[-3:] == ['push', 'verify', 'resume'] and out['report']['action'] == 'push_completed'
    assert 'plan' not in host.push_state() and host.push_state()['pending'] is False
    out = run(host, driver)
    assert not out['changed'], 'third run: nothing to do'


def test_verify_fails_when_the_revoked_token_still_works():
    host = FakeHost(days=5)
    old = host.token
    out = run(host, FakeDriver(host), scim={old: 200})
    assert out['failed_stage'] == 'verify' and 'expected HTTP 401' in out['msg'] and 'WAS ROTATED' in out['msg']


def test_a_push_that_fails_its_verification_keeps_the_idp_prepared_and_stays_owed():
    host = FakeHost(days=5)
    old = host.token
    driver = FakeDriver(host)
    out = run(host, driver, scim={old: 200})  # the revoked token still works: not verified
    assert out['failed_stage'] == 'verify' and driver.paused and 'resume' not in driver.calls
    assert host.push_state()['pending'] is True and host.push_state()['plan'] == {'paused_job': 'job-1'}
    out = run(host, driver)
    assert out['push_reason'] == 'pending' and not driver.paused and host.push_state()['pending'] is False


def test_the_drivers_own_check_failing_fails_the_run():
    host = FakeHost(days=5)
    driver = FakeDriver(host)

    def rejects(token):
        raise DriverError('app-1 rejects the token', fix='look at app-1')
    driver.verify = rejects
    out = run(host, driver)
    assert out['failed_stage'] == 'verify' and 'app-1 rejects the token' in out['msg']


# ---------------------------------------------------------------- idempotence and check mode
def test_idp_that_cannot_tell_is_judged_by_the_recorded_fingerprint():
    host = FakeHost(days=5)
    driver = FakeDriver(host, can_tell=False)
    assert run(host, driver)['pushed']
    out = run(host, driver)
    assert not out['changed'] and 'push' not in driver.calls[-2:], 'same token: the record says it is pushed'
    host.token = 'tok-09-' + 'x' * 30  # rotated by hand, outside the collection
    host.serial = 9
    out = run(host, driver)
    assert out['push_reason'] == 'not_held' and out['report']['action'] == 'pushed' and driver.stored == host.token


def test_idp_that_cannot_tell_and_no_record_pushes_once():
    host = FakeHost(days=100)
    driver = FakeDriver(host, can_tell=False)
    assert run(host, driver)['push_reason'] == 'not_held'
    assert not run(host, driver)['changed']


def test_check_mode_changes_nothing_and_says_what_a_real_run_would_change():
    host = FakeHost(days=5)
    before = dict(host.files)
    driver = FakeDriver(host)
    out = run(host, driver, check_mode=True)
    assert out['changed'] and not out['rotated'] and out['report']['action'] == 'would_rotate'
    assert host.files == before and host.rotations == 0 and driver.calls == ['check_settings']
    host = FakeHost(days=100)
    driver = FakeDriver(host)
    driver.stored = 'something else'
    out = run(host, driver, check_mode=True)
    assert out['changed'] and out['report']['action'] == 'would_push' and driver.stored == 'something else'


# ---------------------------------------------------------------- hand-off, none, YAML push, check
def test_handoff_without_an_operator_never_rotates_a_due_host():
    host = FakeHost(days=5)
    driver = FakeDriver(host, prepares=False, operator=True)
    out = run(host, driver)
    assert host.rotations == 0 and host.launches == ['alation.scim.token_read']
    assert out['failed_stage'] == 'gate' and 'Nothing was rotated' in out['msg']
    assert 'alation_scim_operator_present=true' in out['msg']
    out = run(host, driver, operator_present=True)
    assert host.rotations == 1 and out['operator_steps'] == ['paste it'] and out['rotated']


def test_driver_none_rotates_and_says_so_without_pushing_and_stays_quiet_afterwards():
    from ansible_collections.alation.scim.plugins.plugin_utils.drivers.simple import NoneDriver
    host = FakeHost(days=5)
    driver = NoneDriver({}, DriverContext('h1', SCIM))
    out = run(host, driver)
    assert out['rotated'] and not out['pushed'] and 'put the new token into the IdP by hand' in out['msg']
    out = run(host, driver)
    assert not out['changed'] and out['report']['action'] == 'none', 'the owed push of none is nobody\'s'


def test_yaml_push_stops_with_the_token_and_the_finish_stage_records_and_verifies():
    host = FakeHost(days=5)
    driver = FakeDriver(host, prepares=False, yaml=True)
    first = run(host, driver, stage='rotate')
    assert first['push_needed'] and first['token'] == host.token and first['rotation']['token'] == host.token
    assert 'report' not in first and host.push_state()['pending'] is True
    out = run(host, driver, stage='finish', rotation=first['rotation'])
    assert out['rotated'] and out['verified'] and host.push_state()['pending'] is False
    failed = run(FakeHost(days=5), FakeDriver(FakeHost(), prepares=False, yaml=True), stage='finish',
                 rotation=dict(first['rotation'], token=host.token),
                 push_error='task failed: could not write %s' % host.token)
    assert failed['failed'] and 'WAS ROTATED' in failed['msg'] and '********' in failed['msg']


def test_check_entry_point_reads_once_and_says_how_long_ago_a_token_expired():
    host = FakeHost(days=-3)
    out = run(host, Driver({}, DriverContext('h1', SCIM)), mode='check')
    assert host.launches == ['alation.scim.token_info'] and not out['changed']
    assert out['report']['status'] == 'critical'
    assert 'the SCIM token expired 3 day(s) ago' in out['report']['message']


@pytest.mark.parametrize('days, status', [(100, 'ok'), (20, 'warning'), (3, 'critical')])
def test_check_statuses(days, status):
    out = run(FakeHost(days=days), Driver({}, DriverContext('h1', SCIM)), mode='check')
    assert out['report']['status'] == status
