# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Expiry arithmetic for the SCIM token, on epoch seconds only (no I/O).

The payload inside Django turns whatever Alation returns into epoch seconds
and decides "due" against the threshold computed here; this file turns that
into the result keys every host module returns.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import hashlib
import json
import math

SECONDS_PER_DAY = 86400

_EPOCH = datetime.datetime(1970, 1, 1)


def threshold_epoch(now_epoch, rotate_before_days):
    """Epoch seconds at or before which an expiry counts as due for rotation."""
    return float(now_epoch) + int(rotate_before_days) * SECONDS_PER_DAY


def iso_utc(epoch):
    """ISO 8601 in UTC with a trailing Z, whole seconds (None stays None)."""
    if epoch is None:
        return None
    moment = _EPOCH + datetime.timedelta(seconds=int(math.floor(epoch)))
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def days_remaining(expires_epoch, now_epoch):
    """Whole days left, floored: 0 on the last day, negative once expired."""
    if expires_epoch is None:
        return None
    return int(math.floor((float(expires_epoch) - float(now_epoch)) / SECONDS_PER_DAY))


def describe(state, now_epoch):
    """Result keys for one payload state {"present", "expires_epoch", "due"}.

    "due" is decided by the payload (one place for that rule); a missing
    token is not "expired" since there is nothing to expire.
    """
    present = bool(state.get('present'))
    expires = state.get('expires_epoch') if present else None
    return {
        'token_present': present,
        'expires_at': iso_utc(expires),
        'days_remaining': days_remaining(expires, now_epoch),
        'expired': expires is not None and float(expires) <= float(now_epoch),
        'rotation_due': bool(state.get('due')),
    }


# The expiry record: what the host's last Django launch saw, kept on the host (no token in it) so
# that a rotation run can tell before its one launch whether to pause the IdP's provisioning job.
RECORD_VERSION = 2
# The options that say which Alation the launch reached; a record made with others says nothing.
HOST_KEY_OPTIONS = ('alation_root', 'alation_user', 'entry', 'init_script', 'django_shell_command')


def host_key(options):
    """Short fingerprint of the options that decide which Alation a launch reaches."""
    text = json.dumps([options.get(name) for name in HOST_KEY_OPTIONS])
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def expiry_record(state, now_epoch, key):
    """Text of the expiry record for one payload state, reached with the options of `key`."""
    present = bool(state.get('present'))
    return json.dumps({'version': RECORD_VERSION, 'host_key': key, 'token_present': present,
                       'expires_epoch': state.get('expires_epoch') if present else None,
                       'recorded_epoch': int(now_epoch)}, sort_keys=True)


def recorded_due(record_text, now_epoch, rotate_before_days, key):
    """What the record says: True (due), False (not due), or None when it cannot say.

    None for a missing, unreadable or foreign record, or one made with other host options:
    the caller then asks the host (one more launch) instead of guessing.
    """
    try:
        record = json.loads(record_text or '')
        if record.get('version') != RECORD_VERSION or record.get('host_key') != key:
            return None
        expires = record['expires_epoch']
        return expires is None or float(expires) <= threshold_epoch(now_epoch, rotate_before_days)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
