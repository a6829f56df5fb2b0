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

import binascii
import errno
import datetime
import hashlib
import hmac
import json
import math
import os
import re

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
# that a rotation run can tell before its one launch whether to prepare the IdP (pause Entra's job),
# plus, under "push", what the rotation cycle last did with the IdP: the fingerprint of the token it
# pushed (never the token), whether a push is still owed, and an IdP preparation left to undo.
RECORD_VERSION = 3
READABLE_VERSIONS = (2, 3)
# The options that say which Alation the launch reached; a record made with others says nothing.
HOST_KEY_OPTIONS = ('alation_root', 'alation_user', 'entry', 'init_script', 'django_shell_command')


def host_key(options):
    """Short fingerprint of the options that decide which Alation a launch reaches."""
    text = json.dumps([options.get(name) for name in HOST_KEY_OPTIONS])
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def parse_record(record_text):
    """The record as a dict, or None when missing, unreadable or of an unknown version."""
    try:
        record = json.loads(record_text or '')
    except (ValueError, TypeError):
        return None
    if not isinstance(record, dict) or record.get('version') not in READABLE_VERSIONS:
        return None
    return record


def record_push(record_text):
    """The record's push state ({} when there is none)."""
    record = parse_record(record_text) or {}
    push = record.get('push')
    return push if isinstance(push, dict) else {}


def expiry_record(state, now_epoch, key, push=None, ha_role=None):
    """Text of the expiry record for one payload state, reached with the options of `key`.

    `ha_role` (standalone / primary / secondary) lets the next run skip preparing the IdP on an HA
    secondary, which never rotates."""
    present = bool(state.get('present'))
    record = {'version': RECORD_VERSION, 'host_key': key, 'token_present': present,
              'expires_epoch': state.get('expires_epoch') if present else None,
              'recorded_epoch': int(now_epoch)}
    if ha_role:
        record['ha_role'] = ha_role
    if push:
        record['push'] = push
    return json.dumps(record, sort_keys=True)


def with_push(record_text, push):
    """The record text with its push state replaced (the expiry part kept as it is)."""
    record = parse_record(record_text) or {'version': RECORD_VERSION}
    record['version'] = RECORD_VERSION
    if push:
        record['push'] = push
    else:
        record.pop('push', None)
    return json.dumps(record, sort_keys=True)


def recorded_due(record_text, now_epoch, rotate_before_days, key):
    """What the record says: True (due), False (not due), or None when it cannot say.

    None for a missing, unreadable or foreign record, or one made with other host options:
    the caller then acts as if a rotation may be due instead of guessing.
    """
    record = parse_record(record_text)
    try:
        if record is None or record.get('host_key') != key:
            return None
        expires = record['expires_epoch']
        return expires is None or float(expires) <= threshold_epoch(now_epoch, rotate_before_days)
    except (ValueError, TypeError, KeyError):
        return None


def new_salt():
    return binascii.hexlify(os.urandom(16)).decode('ascii')


def token_fingerprint(token, salt):
    """HMAC-SHA256 of the token keyed with a per-host random salt: tells "the same token" apart
    from "another one" without being a usable stand-in for the token (nothing to brute-force
    offline without the salt, and the token itself is a long random string)."""
    return hmac.new(salt.encode('ascii'), token.encode('utf-8'), hashlib.sha256).hexdigest()[:32]


def pushed_current(push, driver, target, token):
    """Whether the last push recorded for this driver and target was of `token`: True, False, or
    None when nothing was recorded for them."""
    if not push or push.get('driver') != driver or push.get('target') != target:
        return None
    if not push.get('fingerprint') or not push.get('salt'):
        return None
    same = getattr(hmac, 'compare_digest', None) or (lambda a, b: a == b)  # Python 2.7 < 2.7.7
    return same(token_fingerprint(token, push['salt']), push['fingerprint'])


# Shared by the host modules and the controller's action plugins, kept out of _alation_shell.py so
# that an Ansible worker running an action need not load (compile) the shell engine for them.
def host_argument_spec(**extra):
    """Options shared by the host modules (doc fragment alation.scim.alation_host)."""
    spec = dict(
        alation_root=dict(type='path', default='/opt/alation/alation'),
        alation_user=dict(type='str', default='alation'),
        entry=dict(type='str', default='chroot', choices=['chroot', 'init_script']),
        init_script=dict(type='path', default='/etc/init.d/alation'),
        timeout=dict(type='int', default=120),
        django_shell_command=dict(type='str', default='alation_django_shell'),
        expiry_record_path=dict(type='path', no_log=False),
    )
    spec.update(extra)
    return spec


def host_module_argument_spec(name):
    """The argument spec of host module `name` (token_info, token_read or token_rotate): the modules
    and the rotation cycle's launch without AnsiballZ (plugins/plugin_utils/_host_script.py) share it."""
    if name == 'token_rotate':
        return host_argument_spec(
            rotate_before_days=dict(type='int', default=30),
            force=dict(type='bool', default=False),
            return_token=dict(type='bool', default=False, no_log=False),
            on_secondary=dict(type='str', default='fail', choices=['fail', 'report']),
        )
    return host_argument_spec(rotate_before_days=dict(type='int', default=30))


# Where the result of a launch without AnsiballZ starts on stdout: whatever the host prints before
# it (a login banner, a profile script) is not taken for it.
SCRIPT_RESULT_MARKER = 'ALATION_SCIM_RESULT '


# Long runs of token-ish characters (with a digit and a letter): what a token,
# a base64 blob or a partial result looks like; paths and words rarely do.
_TOKENISH = re.compile(r'[A-Za-z0-9_+=-]{20,}')


def _redact_tokenish(match):
    text = match.group(0)
    if re.search(r'[0-9]', text) and re.search(r'[A-Za-z]', text):
        return '<redacted>'
    return text


def redact(text):
    """Replace token-like runs: the module never knows the token's value on an error path."""
    return _TOKENISH.sub(_redact_tokenish, text)


def make_directory(directory, mode=0o777):
    """os.makedirs(directory, mode) when it is missing, where another process may win the race
    (several launches at once on one host, hosts sharing the directory, workers writing hand-off
    files or reports side by side): Python 2.7 has no exist_ok."""
    if not directory or os.path.isdir(directory):
        return
    try:
        os.makedirs(directory, mode)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(directory):
            raise
