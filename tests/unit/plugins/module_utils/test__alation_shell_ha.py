"""HA pairs: the payload tells a primary from a hot standby on Django's own connection, before any change."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

import fake_alation
from fake_alation import DatabaseError, FakeAlation, FakeDatabase, run_line
from ansible_collections.alation.scim.plugins.module_utils import _alation_shell as shell
from ansible_collections.alation.scim.plugins.module_utils._token_state import describe, threshold_epoch

NOW = time.time()
DAY = 86400


@pytest.fixture(autouse=True)
def _clean_modules():
    yield
    fake_alation.uninstall()


def run(fake, mode='rotate', force=False, return_token=False, allow_write=True, days=100):
    fake.install()
    nonce = shell.new_nonce()
    params = {'nonce': nonce, 'mode': mode, 'threshold_epoch': threshold_epoch(NOW, 30), 'force': force,
              'return_token': return_token, 'allow_write': allow_write}
    result = shell.parse_output(run_line(shell.payload_line(params)), nonce)
    assert result is not None
    return result


def alation(days=100, **database):
    return FakeAlation(NOW + days * DAY, database=FakeDatabase(**database) if database else None)


@pytest.mark.parametrize('database,role', [
    ({}, 'standalone'),                                              # SQLite (the default fake)
    ({'vendor': 'mysql'}, 'standalone'),
    ({'vendor': 'postgresql'}, 'standalone'),                        # Postgres without replication
    ({'vendor': 'postgresql', 'standbys': 1, 'replication_slots': 1}, 'primary'),
    ({'vendor': 'postgresql', 'standbys': 0, 'replication_slots': 1}, 'primary'),   # standby disconnected
    ({'vendor': 'postgresql', 'standbys': 2}, 'primary'),            # streaming without slots
    ({'vendor': 'postgresql', 'synchronous_standby_names': 'alationha2'}, 'primary'),
    ({'vendor': 'postgresql', 'archive_mode': 'on'}, 'standalone'),  # archiving alone is backups, not a pair
    ({'vendor': 'postgresql', 'in_recovery': True}, 'secondary'),
])
def test_role(database, role):
    result = run(alation(**database), mode='info', allow_write=False)
    assert result['ok'] is True and result['ha']['role'] == role


def test_sqlite_asks_no_query():
    fake = alation()
    run(fake, mode='info', allow_write=False)
    assert fake.database.queries == []


def test_replication_checks_that_fail_leave_the_others():
    fake = alation(vendor='postgresql', standbys=DatabaseError('permission denied for view pg_stat_replication'),
                   replication_slots=1)
    result = run(fake, mode='info', allow_write=False)
    assert result['ha']['role'] == 'primary'
    assert result['ha']['signal_errors'] == {'standbys': 'fake_alation.DatabaseError'}
    assert fake.database.closed_cursors == len(fake.database.queries)  # every cursor closed, failures too


def test_all_replication_checks_failing_is_standalone_with_the_errors():
    errors = dict((name, DatabaseError('nope')) for name in
                  ('standbys', 'replication_slots', 'synchronous_standby_names', 'archive_mode'))
    result = run(alation(vendor='postgresql', errors=errors), mode='info', allow_write=False)
    assert result['ha']['role'] == 'standalone' and len(result['ha']['signal_errors']) == 4


@pytest.mark.parametrize('force,days', [(False, 5), (True, 100), (False, -3)])
def test_secondary_never_rotates(force, days):
    fake = alation(days=days, vendor='postgresql', in_recovery=True)
    old = fake.token
    result = run(fake, force=force, return_token=True)
    assert result['ok'] is True and result['rotated'] is False
    assert result['decision'] == {'rotate': False, 'reason': 'ha_secondary'}
    assert 'set' not in fake.calls and fake.token == old and 'after' not in result
    assert result['before']['present'] is True  # the replicated expiry, read on the standby
    assert result['token'] == old  # asked for: the current (replicated) one
    assert 'previous_token' not in result


def test_secondary_role_is_decided_before_the_expiry_is_read():
    fake = alation(vendor='postgresql', in_recovery=True)
    run(fake)
    assert fake.database.queries == ['SELECT pg_is_in_recovery()']
    assert fake.calls == ['get_expiry']


@pytest.mark.parametrize('role_db', [{'vendor': 'postgresql'}, {'vendor': 'postgresql', 'standbys': 1}, {}])
def test_primary_and_standalone_rotate(role_db):
    fake = alation(days=5, **role_db)
    result = run(fake)
    assert result['rotated'] is True and fake.rotations == 1


STANDBY_DOWN = DatabaseError('connection to server at "127.0.12.2", port 5432 failed: FATAL:  the database system '
                             'is not accepting connections\nDETAIL:  Hot standby mode is disabled.')


@pytest.mark.parametrize('errors', [{'in_recovery': STANDBY_DOWN}, {'cursor': STANDBY_DOWN}])
def test_role_unknown_refuses_to_rotate_and_changes_nothing(errors):
    fake = alation(days=-1, vendor='postgresql', errors=errors)
    result = run(fake, force=True, return_token=True)
    assert result['ok'] is False and result['rotated'] is False
    assert result['error']['kind'] == 'ha_role_unknown' and 'Hot standby mode is disabled' in result['error']['message']
    assert fake.calls == [] and 'token' not in result
    error = shell.payload_error({}, result)
    assert error.kind == 'ha_role_unknown' and error.nothing_changed is True
    assert 'looks like an HA secondary' in error.message and 'Nothing was changed' in error.message
    assert 'rotate on the primary' in error.fix


def test_role_unknown_in_info_mode_still_reads_the_expiry():
    fake = alation(vendor='postgresql', errors={'in_recovery': DatabaseError('function pg_is_in_recovery() does not exist')})
    result = run(fake, mode='info', allow_write=False)
    assert result['ok'] is True and result['ha']['role'] == 'unknown'
    assert result['ha']['error']['class'].endswith('DatabaseError')
    assert result['before']['present'] is True


def test_standby_refusing_queries_is_hinted_when_the_token_read_fails_too():
    fake = alation(vendor='postgresql', errors={'cursor': STANDBY_DOWN})
    fake.fail_in = 'get_expiry'
    result = run(fake, mode='info', allow_write=False)
    error = shell.payload_error({}, result)
    assert error.kind == 'exception' and 'looks like an HA secondary' in error.message
    assert 'The HA role check failed too: fake_alation.DatabaseError: connection to server' in error.message


def test_role_error_message_is_redacted_of_known_tokens():
    fake = alation(vendor='postgresql')
    fake.database.errors = {'in_recovery': DatabaseError('boom ' + fake.token)}
    result = run(fake, mode='info', allow_write=False, return_token=True)
    # The role check runs before the token is read, so the payload cannot know it yet: the module's
    # pattern redaction catches it (token-shaped), as for every error text.
    assert fake.token not in shell.redact(result['ha']['error']['message'])


class Module(object):
    def __init__(self):
        self.warned = []

    def warn(self, text):
        self.warned.append(text)


def test_ha_keys_and_the_lonely_primary_warning():
    module = Module()
    keys = shell.ha_keys(module, {'ha': {'role': 'primary', 'vendor': 'postgresql', 'standbys': 0, 'replication_slots': 1}})
    assert keys == {'ha_role': 'primary', 'ha': {'vendor': 'postgresql', 'standbys': 0, 'replication_slots': 1}}
    assert len(module.warned) == 1 and 'no standby is connected' in module.warned[0]
    module = Module()
    assert shell.ha_keys(module, {'ha': {'role': 'secondary', 'in_recovery': True}})['ha_role'] == 'secondary'
    assert shell.ha_keys(module, {})['ha_role'] == 'unknown' and module.warned == []


def test_secondary_error_carries_the_standby_expiry():
    described = describe({'present': True, 'expires_epoch': NOW + 90 * DAY}, NOW)
    error = shell.secondary_error(described)
    assert error.kind == 'ha_secondary' and error.nothing_changed is True
    assert error.message.startswith('This is the HA secondary') and 'Nothing was changed' in error.message
    assert error.fix.startswith('Rotate on the primary; the secondary gets the token by replication')
    assert error.details['ha_role'] == 'secondary' and error.details['days_remaining'] in (89, 90)


def test_fail_module_adds_the_details():
    class Failing(Module):
        def fail_json(self, **kwargs):
            self.failed = kwargs
            raise SystemExit(1)
    module = Failing()
    with pytest.raises(SystemExit):
        shell.fail_module(module, shell.secondary_error({'expires_at': 'x', 'days_remaining': 3}))
    assert module.failed['error_kind'] == 'ha_secondary' and module.failed['ha_role'] == 'secondary'
    assert module.failed['expires_at'] == 'x' and module.failed['nothing_changed'] is True
