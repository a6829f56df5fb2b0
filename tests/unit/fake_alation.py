"""Fake Alation token functions and an in-process payload harness (stdlib only, Python 2.7/3.6+).

Shared by the pytest suite and old_python_check.py, so the payload is exercised the same way on
every interpreter. The fake behaves like the test bed's configuration_utils: set_scim_bearer_token()
replaces the token (revoking the old one) with a 180-day expiry.
"""

from __future__ import absolute_import, division, print_function

import datetime
import os
import sys
import types
import binascii

MODULE = 'rosemeta.utils.users_and_groups.configuration_utils'
EPOCH = datetime.datetime(1970, 1, 1)


class UTCOffset(datetime.tzinfo):
    """Fixed offset tzinfo (Python 2 has no datetime.timezone)."""

    def __init__(self, hours):
        self.offset = datetime.timedelta(hours=hours)

    def utcoffset(self, dt):
        return self.offset

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return 'UTC%+d' % (self.offset.total_seconds() // 3600)


def as_type(epoch, expiry_type):
    """The expiry of epoch in the shape Alation might return it."""
    if epoch is None:
        return None
    naive = EPOCH + datetime.timedelta(seconds=epoch)
    if expiry_type == 'aware':
        return naive.replace(tzinfo=UTCOffset(0))
    if expiry_type == 'aware+2':
        return (naive + datetime.timedelta(hours=2)).replace(tzinfo=UTCOffset(2))
    if expiry_type == 'naive':
        return naive
    if expiry_type == 'date':
        return naive.date()
    if expiry_type == 'iso':
        return naive.strftime('%Y-%m-%dT%H:%M:%SZ')
    if expiry_type == 'iso-space-offset':
        return (naive - datetime.timedelta(hours=5)).strftime('%Y-%m-%d %H:%M:%S-05:00')
    if expiry_type == 'iso-date':
        return naive.strftime('%Y-%m-%d')
    if expiry_type == 'iso-bytes':
        return naive.strftime('%Y-%m-%dT%H:%M:%S+0000').encode('ascii')
    raise ValueError(expiry_type)


def new_token():
    return binascii.hexlify(os.urandom(24)).decode('ascii')


class FakeCursor(object):
    def __init__(self, db):
        self.db = db
        self.row = None

    def execute(self, sql):
        self.db.queries.append(sql)
        for key, value in self.db.answers():
            if key in sql:
                if isinstance(value, Exception):
                    raise value
                self.row = (value,)
                return
        raise DatabaseError('unexpected query: %s' % sql)

    def fetchone(self):
        return self.row

    def close(self):
        self.db.closed_cursors += 1


class FakeDatabase(object):
    """django.db.connection as the payload uses it: vendor, cursor().execute/fetchone/close.

    vendor 'sqlite' (the default) answers no query; 'postgresql' answers the HA queries from the
    arguments, and raises `errors[name]` for a query named in errors (in_recovery, standbys,
    replication_slots, synchronous_standby_names, archive_mode, cursor)."""

    def __init__(self, vendor='sqlite', in_recovery=False, standbys=0, replication_slots=0,
                 synchronous_standby_names='', archive_mode='off', errors=None):
        self.vendor = vendor
        self.values = {'in_recovery': in_recovery, 'standbys': standbys, 'replication_slots': replication_slots,
                       'synchronous_standby_names': synchronous_standby_names, 'archive_mode': archive_mode}
        self.errors = errors or {}
        self.queries = []
        self.closed_cursors = 0

    def answers(self):
        keys = (('pg_is_in_recovery()', 'in_recovery'), ('pg_stat_replication', 'standbys'),
                ('pg_replication_slots', 'replication_slots'),
                ("current_setting('synchronous_standby_names')", 'synchronous_standby_names'),
                ("current_setting('archive_mode')", 'archive_mode'))
        if self.vendor != 'postgresql':
            return []
        return [(sql, self.errors.get(name, self.values[name])) for sql, name in keys]

    def cursor(self):
        if 'cursor' in self.errors:
            raise self.errors['cursor']
        return FakeCursor(self)


class FakeAlation(object):
    def __init__(self, expires_epoch, expiry_type='aware', set_returns_token=True, missing=(),
                 fail_in=None, error_leaks_token=False, now=None, database=None):
        self.database = database or FakeDatabase()
        self.expires_epoch = expires_epoch
        self.expiry_type = expiry_type
        self.token = new_token() if expires_epoch is not None else None
        self.set_returns_token = set_returns_token
        self.missing = missing
        self.fail_in = fail_in
        self.error_leaks_token = error_leaks_token
        self.now = now
        self.rotations = 0
        self.calls = []

    def _maybe_fail(self, name):
        self.calls.append(name)
        if self.fail_in == name:
            detail = ' (row token=%s)' % self.token if self.error_leaks_token else ''
            raise DatabaseError('could not read configuration table' + detail)

    def get_scim_bearer_token_expiry_date(self):
        self._maybe_fail('get_expiry')
        return as_type(self.expires_epoch, self.expiry_type)

    def set_scim_bearer_token(self):
        self._maybe_fail('set')
        if self.database.vendor == 'postgresql' and self.database.values['in_recovery'] is True:
            # What Django raises on a hot standby (psycopg2 ReadOnlySqlTransaction).
            raise DatabaseError('cannot execute INSERT in a read-only transaction')
        self.rotations += 1
        self.token = new_token()
        now = self.now if self.now is not None else (datetime.datetime.utcnow() - EPOCH).total_seconds()
        self.expires_epoch = float(int(now) + 180 * 86400)
        return self.token if self.set_returns_token else None

    def get_scim_bearer_token(self):
        self._maybe_fail('get')
        return self.token

    def install(self):
        """Put the fake configuration_utils (and its parents) into sys.modules."""
        names = MODULE.split('.')
        for i in range(1, len(names)):
            sys.modules.setdefault('.'.join(names[:i]), types.ModuleType('.'.join(names[:i])))
        mod = types.ModuleType(MODULE)
        for name in ('get_scim_bearer_token_expiry_date', 'set_scim_bearer_token', 'get_scim_bearer_token'):
            if name not in self.missing:
                setattr(mod, name, getattr(self, name))
        sys.modules[MODULE] = mod
        django = sys.modules.setdefault('django', types.ModuleType('django'))
        db = types.ModuleType('django.db')
        db.connection = self.database
        django.db = db
        sys.modules['django.db'] = db
        return mod


def uninstall():
    for name in list(sys.modules):
        if name in ('rosemeta', 'django') or name.startswith(('rosemeta.', 'django.')):
            del sys.modules[name]


class DatabaseError(Exception):
    pass


class _Capture(object):
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass


def run_line(line):
    """exec the one-line payload the way Django does (stdin text, bare exec); return stdout text."""
    capture = _Capture()
    saved = sys.stdout
    sys.stdout = capture
    try:
        exec(line, {})
    finally:
        sys.stdout = saved
    return ''.join(capture.parts)
