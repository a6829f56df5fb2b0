from __future__ import absolute_import, division, print_function

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


def test_expiry_record_round_trip_decides_like_the_payload():
    from ansible_collections.alation.scim.plugins.module_utils._token_state import expiry_record, may_be_due
    far = expiry_record({'present': True, 'expires_epoch': NOW + 40 * DAY}, NOW)
    assert may_be_due(far, NOW, 30) is False
    assert may_be_due(far, NOW, 40) is True          # at the threshold counts as due, as in the payload
    assert may_be_due(far, NOW + 11 * DAY, 30) is True  # the record ages: due later without a new launch
    assert may_be_due(expiry_record({'present': False, 'expires_epoch': None}, NOW), NOW, 30) is True


@pytest.mark.parametrize('text', [None, '', 'garbage', '[]', '{"version": 2, "expires_epoch": 9999999999}',
                                  '{"version": 1}', '{"version": 1, "expires_epoch": "soon"}'])
def test_missing_or_foreign_records_count_as_due(text):
    from ansible_collections.alation.scim.plugins.module_utils._token_state import may_be_due
    assert may_be_due(text, NOW, 30) is True
