from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.alation.scim.plugins.module_utils._token_state import (
    days_remaining, describe, iso_utc, threshold_epoch)

NOW = 1800000000.0  # 2027-01-15T08:00:00Z
DAY = 86400


def test_threshold_is_now_plus_whole_days():
    assert threshold_epoch(NOW, 30) == NOW + 30 * DAY
    assert threshold_epoch(NOW, 0) == NOW


@pytest.mark.parametrize('epoch,text', [
    (0, '1970-01-01T00:00:00Z'),
    (NOW, '2027-01-15T08:00:00Z'),
    (NOW + 0.999, '2027-01-15T08:00:00Z'),  # whole seconds, never rounded up
    (None, None),
])
def test_iso_utc(epoch, text):
    assert iso_utc(epoch) == text


@pytest.mark.parametrize('expires,days', [
    (NOW + 180 * DAY, 180),
    (NOW + 180 * DAY - 1, 179),  # floor
    (NOW + 1, 0),                # last day
    (NOW, 0),
    (NOW - 1, -1),               # expired a second ago
    (NOW - 3 * DAY, -3),
    (None, None),
])
def test_days_remaining_floors(expires, days):
    assert days_remaining(expires, NOW) == days


def test_describe_present_token():
    out = describe({'present': True, 'expires_epoch': NOW + 10 * DAY, 'due': True}, NOW)
    assert out == {'token_present': True, 'expires_at': '2027-01-25T08:00:00Z', 'days_remaining': 10,
                   'expired': False, 'rotation_due': True}


def test_describe_expired_exactly_at_expiry():
    assert describe({'present': True, 'expires_epoch': NOW, 'due': True}, NOW)['expired'] is True
    assert describe({'present': True, 'expires_epoch': NOW + 1, 'due': True}, NOW)['expired'] is False


def test_describe_missing_token_is_not_expired_but_due():
    out = describe({'present': False, 'expires_epoch': None, 'due': True}, NOW)
    assert out == {'token_present': False, 'expires_at': None, 'days_remaining': None,
                   'expired': False, 'rotation_due': True}


def test_describe_takes_due_from_payload():
    assert describe({'present': True, 'expires_epoch': NOW + 100 * DAY, 'due': False}, NOW)['rotation_due'] is False


KEY = 'k' * 16


def test_expiry_record_round_trip_decides_like_the_payload():
    from ansible_collections.alation.scim.plugins.module_utils._token_state import expiry_record, recorded_due
    far = expiry_record({'present': True, 'expires_epoch': NOW + 40 * DAY}, NOW, KEY)
    assert recorded_due(far, NOW, 30, KEY) is False
    assert recorded_due(far, NOW, 40, KEY) is True          # at the threshold counts as due, as in the payload
    assert recorded_due(far, NOW + 11 * DAY, 30, KEY) is True  # the record ages: due later without a new launch
    assert recorded_due(expiry_record({'present': False, 'expires_epoch': None}, NOW, KEY), NOW, 30, KEY) is True


def test_a_record_made_with_other_host_options_says_nothing():
    from ansible_collections.alation.scim.plugins.module_utils._token_state import (
        expiry_record, host_key, recorded_due)
    options = {'alation_root': '/opt/alation/alation', 'alation_user': 'alation', 'entry': 'chroot',
               'init_script': '/etc/init.d/alation', 'django_shell_command': 'alation_django_shell', 'timeout': 120}
    key = host_key(options)
    assert host_key(dict(options, timeout=5)) == key  # only the options that pick the Alation count
    record = expiry_record({'present': True, 'expires_epoch': NOW + 90 * DAY}, NOW, key)
    assert recorded_due(record, NOW, 30, key) is False
    for name, value in (('alation_root', '/srv/alation'), ('alation_user', 'other'), ('entry', 'init_script')):
        assert recorded_due(record, NOW, 30, host_key(dict(options, **{name: value}))) is None, name


@pytest.mark.parametrize('text', [None, '', 'garbage', '[]', '{"version": 1, "expires_epoch": 9999999999}',
                                  '{"version": 2, "host_key": "kkkkkkkkkkkkkkkk"}',
                                  '{"version": 2, "host_key": "kkkkkkkkkkkkkkkk", "expires_epoch": "soon"}'])
def test_missing_or_foreign_records_say_nothing(text):
    from ansible_collections.alation.scim.plugins.module_utils._token_state import recorded_due
    assert recorded_due(text, NOW, 30, KEY) is None
