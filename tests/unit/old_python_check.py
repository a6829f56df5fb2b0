"""Host code under the oldest Pythons an Alation host may have (2.7, 3.6): stdlib unittest only.

Run as: python2.7 tests/unit/old_python_check.py  (scripts/test.sh stage old-python does this).
Loads _alation_shell.py, _token_state.py and _report.py by path (no Ansible needed: a stand-in
gives _report.py the few six names it imports), runs the payload the way Django runs stdin against
fake Alation functions (tests/unit/fake_alation.py), parses the result, runs the process runner
with a deadline, and renders the fleet report's JUnit and Prometheus files.
"""

from __future__ import absolute_import, division, print_function

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'plugins', 'module_utils')
sys.path.insert(0, HERE)

import fake_alation  # noqa: E402
from fake_alation import FakeAlation, FakeDatabase, run_line  # noqa: E402


def load(name):
    path = os.path.join(MODULE_UTILS, name + '.py')
    if sys.version_info[0] == 2:
        import imp
        return imp.load_source('alation_scim_' + name, path)
    import importlib.util
    spec = importlib.util.spec_from_file_location('alation_scim_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def register(fullname, module):
    """Make `module` importable as `fullname` (the collection path the host code imports by)."""
    import types
    parts = fullname.split('.')
    for i in range(1, len(parts)):
        package = '.'.join(parts[:i])
        if package not in sys.modules:
            stub = types.ModuleType(package)
            stub.__path__ = []
            sys.modules[package] = stub
    sys.modules[fullname] = module


def register_six_stand_in():
    """ansible.module_utils.six as far as _report.py uses it, from this Python's standard library."""
    import types
    six = types.ModuleType('ansible.module_utils.six')
    six.text_type, six.binary_type = type(u''), type(b'')
    six.string_types = tuple(set([str, six.text_type]))  # str and unicode on Python 2
    six.integer_types = tuple(set([int, type(2 ** 64)]))  # int and long on Python 2
    try:
        from urllib import parse
    except ImportError:  # Python 2
        import urlparse as parse
    register('ansible.module_utils.six', six)
    register('ansible.module_utils.six.moves.urllib.parse', parse)


state = load('_token_state')
register('ansible_collections.alation.scim.plugins.module_utils._token_state', state)
shell = load('_alation_shell')
register_six_stand_in()
report = load('_report')
DAY = 86400


class PayloadTest(unittest.TestCase):
    def tearDown(self):
        fake_alation.uninstall()

    def run_payload(self, fake, mode='info', force=False, return_token=False, allow_write=False, now=None):
        now = time.time() if now is None else now
        fake.install()
        nonce = shell.new_nonce()
        params = {'nonce': nonce, 'mode': mode, 'threshold_epoch': state.threshold_epoch(now, 30), 'force': force,
                  'return_token': return_token, 'allow_write': allow_write}
        out = run_line(shell.payload_line(params))
        result = shell.parse_output('Error decrypting value, details: Unknown prefix\n>>> ' + out + '>>> ', nonce)
        self.assertTrue(result is not None, 'no marked result')
        return result

    def test_every_expiry_type(self):
        now = time.time()
        expires = float(int(now) + 100 * DAY)
        for given in ('aware', 'aware+2', 'naive', 'iso', 'iso-space-offset', 'iso-bytes'):
            result = self.run_payload(FakeAlation(expires, given), now=now)
            self.assertEqual(result['before']['expires_epoch'], expires, given)
            self.assertFalse(result['before']['due'])
            described = state.describe(result['before'], now)
            self.assertEqual(described['days_remaining'], 99 if expires - now < 100 * DAY else 100)
            self.assertTrue(described['expires_at'].endswith('Z'))
        for given in ('date', 'iso-date'):
            result = self.run_payload(FakeAlation(expires, given), now=now)
            self.assertEqual(result['before']['expires_epoch'], expires - expires % DAY, given)
        result = self.run_payload(FakeAlation(None), now=now)
        self.assertEqual(result['before'], {'present': False, 'expiry_type': 'none', 'expires_epoch': None, 'due': True})

    def test_rotate_when_due_and_read_back(self):
        for set_returns_token in (True, False):
            fake = FakeAlation(time.time() + 5 * DAY, 'naive', set_returns_token=set_returns_token)
            old = fake.token
            result = self.run_payload(fake, mode='rotate', return_token=True, allow_write=True)
            self.assertEqual(result['decision'], {'rotate': True, 'reason': 'due'})
            self.assertTrue(result['rotated'])
            self.assertEqual(fake.rotations, 1)
            self.assertTrue(result['previous_token'] == old and result['token'] == fake.token and old != fake.token)

    def test_not_due_and_read_only(self):
        fake = FakeAlation(time.time() + 100 * DAY)
        result = self.run_payload(fake, mode='rotate', allow_write=True)
        self.assertEqual(result['decision']['reason'], 'not_due')
        fake = FakeAlation(time.time() - DAY)
        result = self.run_payload(fake, mode='rotate', force=True, allow_write=False)
        self.assertFalse(result['rotated'])
        self.assertEqual(fake.rotations, 0)

    def test_errors(self):
        result = self.run_payload(FakeAlation(time.time(), missing=('set_scim_bearer_token',)), mode='rotate')
        self.assertEqual(result['error']['kind'], 'functions_missing')
        fake = FakeAlation(time.time() + DAY, fail_in='set', error_leaks_token=True)
        old = fake.token
        result = self.run_payload(fake, mode='rotate', allow_write=True, return_token=True)
        self.assertEqual(result['error']['kind'], 'exception')
        self.assertTrue(result['error']['class'].endswith('DatabaseError'))
        self.assertFalse(old in result['error']['message'], 'token not redacted')
        self.assertFalse('token' in result or 'previous_token' in result)
        error = shell.payload_error({}, result)
        self.assertTrue('DatabaseError' in error.message and 'Nothing was changed' in error.message)

    def test_ha_roles(self):
        now = time.time()
        for database, role in ((FakeDatabase(), 'standalone'), (FakeDatabase('postgresql'), 'standalone'),
                               (FakeDatabase('postgresql', standbys=1), 'primary'),
                               (FakeDatabase('postgresql', in_recovery=True), 'secondary')):
            fake = FakeAlation(now - DAY, database=database)
            result = self.run_payload(fake, mode='rotate', allow_write=True, now=now)
            self.assertEqual(result['ha']['role'], role)
            self.assertEqual(result['rotated'], role != 'secondary')
            self.assertEqual(fake.rotations, 0 if role == 'secondary' else 1)
        fake = FakeAlation(now - DAY, database=FakeDatabase('postgresql', errors={'in_recovery': ValueError('x')}))
        result = self.run_payload(fake, mode='rotate', allow_write=True, force=True, now=now)
        self.assertEqual((result['error']['kind'], fake.rotations), ('ha_role_unknown', 0))

    def test_diagnose_missing_home_and_command(self):
        options = {'alation_root': '/opt/alation/alation', 'alation_user': 'alation', 'entry': 'chroot',
                   'init_script': '/etc/init.d/alation', 'timeout': 120, 'django_shell_command': 'alation_django_shell'}
        stderr = ('su: warning: cannot change directory to /home/alation: No such file or directory\n'
                  '-bash: line 1: alation_django_shell: command not found\n')
        error = shell.diagnose(options, 127, '', stderr, 'n' * 32, False)
        self.assertEqual(error.kind, 'shell_command_missing')
        self.assertEqual(len(error.warnings), 1)
        self.assertEqual(shell.diagnose(options, 1, '', 'su: Authentication failure\n', 'n' * 32, False).kind,
                         'su_auth_failed')

    def test_truncated_output(self):
        nonce = shell.new_nonce()
        begin, end = shell.markers(nonce)
        self.assertTrue(shell.parse_output('>>> ' + begin + 'eyJ2Ij', nonce) is None)
        excerpt = shell.output_excerpt('noise\n' + begin + 'eyJ2IjogMSwgInRva2VuIjogInNlY3JldCJ9', nonce)
        self.assertTrue('noise' in excerpt and 'eyJ2' not in excerpt)


class ProcessTest(unittest.TestCase):
    def test_stdin_and_timeout(self):
        rc, out, err, timed_out = shell.run_process(['sh', '-c', 'wc -c'], 'z' * 100000, 10)
        self.assertEqual((rc, out.strip(), timed_out), (0, '100000', False))
        started = time.time()
        rc, out, err, timed_out = shell.run_process(['sh', '-c', 'echo $$; sleep 100 & sleep 100'], '', 1)
        self.assertTrue(timed_out)
        self.assertTrue(time.time() - started < 8)
        time.sleep(0.2)
        self.assertFalse(os.path.exists('/proc/%s/cmdline' % out.split()[0]) and
                         open('/proc/%s/stat' % out.split()[0]).read().rsplit(')', 1)[1].split()[0] != 'Z')

    def test_done_marker_returns_early_and_the_watcher_ends_the_shell(self):
        started = time.time()
        rc, out, err, timed_out = shell.run_process(['sh', '-c', 'echo $$; echo @@END@@; exec sleep 100'], '', 2,
                                                    done_marker=b'@@END@@')
        self.assertTrue(time.time() - started < 1.5 and rc is None and not timed_out)
        pid = int(out.split()[0])
        self.assertTrue(shell._alive(pid))
        while shell._alive(pid) and time.time() - started < 2 + shell.KILL_GRACE_SECONDS + 3:
            time.sleep(0.1)
        self.assertFalse(shell._alive(pid))


class ExpiryRecordTest(unittest.TestCase):
    """The record every launch writes (os.makedirs, os.fdopen, os.rename on the host's Python)."""

    def test_written_and_read_back(self):
        import shutil
        import stat
        import tempfile
        tmp = tempfile.mkdtemp()
        try:
            path = os.path.join(tmp, 'state', 'expiry.json')
            options = {'alation_root': '/opt/alation/alation', 'alation_user': 'alation', 'entry': 'chroot',
                       'init_script': '/etc/init.d/alation', 'django_shell_command': 'alation_django_shell',
                       'expiry_record_path': path}

            class Module(object):
                params = options
                check_mode = False
                warnings = []

                def warn(self, text):
                    self.warnings.append(text)
            now = time.time()
            module = Module()
            shell.record_expiry(module, {'present': True, 'expires_epoch': now + 90 * DAY}, now)
            self.assertEqual(module.warnings, [])
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as f:
                text = f.read()
            key = state.host_key(options)
            self.assertEqual(state.recorded_due(text, now, 30, key), False)
            self.assertEqual(state.recorded_due(text, now + 61 * DAY, 30, key), True)
            self.assertEqual(state.recorded_due(text, now, 30, state.host_key(dict(options, alation_user='x'))), None)
        finally:
            shutil.rmtree(tmp)

    def test_a_directory_made_meanwhile_by_another_launch_is_used(self):
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp()
        real_isdir = os.path.isdir
        calls = []

        def isdir_before_the_other_launch(path):
            calls.append(path)
            return len(calls) > 1 and real_isdir(path)  # the first look misses what the other launch made
        try:
            directory = os.path.join(tmp, 'state')
            os.mkdir(directory)
            os.path.isdir = isdir_before_the_other_launch
            try:
                state.make_directory(directory)  # makedirs fails with EEXIST: not an error
            finally:
                os.path.isdir = real_isdir
            self.assertEqual(len(calls), 2)
            blocker = os.path.join(tmp, 'file')
            open(blocker, 'w').close()
            self.assertRaises(OSError, state.make_directory, os.path.join(blocker, 'sub'))  # not EEXIST: raised
        finally:
            shutil.rmtree(tmp)


class ReportTest(unittest.TestCase):
    """The fleet report's JUnit (xml.etree) and Prometheus files, and the write that ignores the run's timestamp."""

    def records(self):
        raw = [dict(host=u'h\u00f6st <&> "q"', status='failed', message=u'caf\u00e9\x00 & <b>'),
               dict(host='alation1', token_present=True, expires_at='2027-05-01T00:00:00Z', days_remaining=154,
                    rotated=True, status='ok')]
        return report.build_records(raw)[0]

    def test_junit(self):
        import xml.etree.ElementTree as ET
        text = report.render_junit(self.records())
        root = ET.fromstring(text.encode('utf-8'))
        self.assertEqual((root.get('tests'), root.get('failures')), ('2', '1'))
        names = sorted(c.get('name') for c in root.iter('testcase'))
        self.assertEqual(names, ['alation1', u'h\u00f6st <&> "q"'])
        failure = [c for c in root.iter('testcase') if c.find('failure') is not None][0].find('failure')
        self.assertEqual(failure.get('message'), u'failed: caf\u00e9  & <b>')  # the NUL became a space
        text.encode('ascii')

    def test_prometheus_and_idempotent_write(self):
        import shutil
        import tempfile
        lines = report.render_prometheus(self.records(), 30, 7, now=100).splitlines()
        self.assertTrue('alation_scim_token_rotated{host="alation1"} 1' in lines)
        self.assertTrue('alation_scim_last_run_timestamp_seconds 100' in lines)
        tmp = tempfile.mkdtemp()
        try:
            path = os.path.join(tmp, 'alation_scim.prom')
            ignore = report.PROM_IGNORED_IN_COMPARISON
            self.assertTrue(report.write_if_changed(path, report.render_prometheus(self.records(), 30, 7, now=100),
                                                    ignore=ignore))
            later = report.render_prometheus(self.records(), 30, 7, now=200)
            self.assertFalse(report.write_if_changed(path, later, ignore=ignore))
            with open(path, 'rb') as f:
                self.assertEqual(f.read(), later.encode('utf-8'))
        finally:
            shutil.rmtree(tmp)


if __name__ == '__main__':
    print('Python %s' % sys.version.split()[0])
    unittest.main(verbosity=1)
