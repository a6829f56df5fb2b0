# -*- coding: utf-8 -*-
# Copyright: (c) 2026, alation.scim maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report of alation.scim (private): the whole fleet_report task, for its module and its action plugin.

fleet_report() is the task; the action plugin runs it in the controller's process, the module
(kept for direct use and for ansible-doc) in its own. The rest are pure functions, records in,
text out; the only I/O is read_reports() (the reports of other runs to merge: the slices of
an AWX sliced job) and write_if_changed(), with the paths the task was given.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import errno
import io
import json
import os
import re
import tempfile
import time
from collections import OrderedDict

# six, not the standard library: this code also runs on Python 2.7 Alation hosts.
from ansible.module_utils.six import binary_type, integer_types, string_types, text_type  # pylint: disable=ansible-bad-import-from
from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit

from ansible_collections.alation.scim.plugins.module_utils._token_state import make_directory

# Severity order: the fleet verdict is the worst status seen.
STATUSES = ('ok', 'warning', 'critical', 'failed', 'unreachable')
UNHEALTHY = frozenset(('critical', 'failed', 'unreachable'))
# none: nothing changed; rotated (and pushed, or handed off); would_rotate / would_push: check mode;
# pushed: the IdP did not hold the current token and got it; push_completed: the push owed by an
# earlier rotation; failed.
ACTIONS = ('none', 'rotated', 'would_rotate', 'pushed', 'would_push', 'push_completed', 'failed')

# The only keys ever written, in output order (the report fact of docs/architecture.md).
# Anything else a record carries (a registered result, a token) is dropped, never written.
RECORD_KEYS = ('host', 'status', 'base_url', 'idp', 'token_present', 'expires_at',
               'days_remaining', 'previous_expires_at', 'rotation_due', 'rotated',
               'pushed', 'verified', 'action', 'message', 'ha_role')
_BOOL_KEYS = ('token_present', 'rotation_due', 'rotated', 'pushed', 'verified')
_TIME_KEYS = ('expires_at', 'previous_expires_at')
_TEXT_KEYS = ('host', 'base_url', 'idp', 'message')

REDACTED = '[redacted: looked like a secret]'
MESSAGE_MAX = 2000

_ISO_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|\+00:?00)$')
_WORD_RE = re.compile(r'^[a-z][a-z0-9_]{0,31}$')
# Runs of characters a bearer token (base64, base64url, hex, JWT) can be made of.
_SECRETISH_RUN_RE = re.compile(r'[A-Za-z0-9+/=_~.\-]{16,}')
_SPLIT_RE = re.compile(r'[/.]')
# Entra object, tenant and request ids: identifiers a reader needs, not credentials.
_UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
# XML 1.0 forbids most control characters even when escaped.
_XML_BAD_RE = re.compile(u'[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')
_CTRL_RE = re.compile(u'[\x00-\x08\x0b-\x1f\x7f]')


# The options of fleet_report: one spec for the module and the action plugin.
ARGUMENT_SPEC = dict(
    records=dict(type='list', elements='dict', default=[]),
    reports=dict(type='list', elements='path', default=[]),
    hosts_all=dict(type='list', elements='str', default=[]),
    failures=dict(type='dict', default={}),
    warning_days=dict(type='int', default=30),
    critical_days=dict(type='int', default=7),
    json_path=dict(type='path'),
    markdown_path=dict(type='path'),
    junit_path=dict(type='path'),
    prometheus_path=dict(type='path'),
)


class ReportError(Exception):
    """A report could not be built or written; the message says what and how to fix it."""


class FleetReportError(ReportError):
    """fleet_report() failed; result holds the keys to return along with the message."""

    def __init__(self, message, result):
        super(FleetReportError, self).__init__(message)
        self.result = result


def _char_class(ch):
    if ch.isdigit():
        return 'd'
    if ch.isupper():
        return 'u'
    return 'l'


def _is_secretish(piece):
    """True for a piece of text shaped like a random credential.

    Random strings switch between lower case, upper case and digits far more often
    than words, paths, host names or version numbers do; hex strings of 32+ digits
    are treated as secrets too (hyphenated UUIDs are ids and are kept, see redact_secrets). Measured: ~0.1% of random 22-64 character
    tokens slip through, so this backs up the key allow-list, it does not replace it.
    False positives only cost a redaction.
    """
    alnum = [c for c in piece if c.isalnum() and ord(c) < 128]
    if len(alnum) < 16:
        return False
    classes = [_char_class(c) for c in alnum]
    has_digit = 'd' in classes
    if len(alnum) >= 32 and has_digit and all(c in '0123456789abcdefABCDEF' for c in alnum):
        return True
    if not has_digit and 'u' not in classes:
        return False
    if not has_digit and all(nxt == 'l' for cur, nxt in zip(classes, classes[1:] + ['l']) if cur == 'u'):
        return False  # CamelCase identifier: every capital starts a lower-case word
    switches = sum(1 for a, b in zip(classes, classes[1:]) if a != b)
    return switches >= 0.3 * (len(alnum) - 1)


def redact_secrets(text):
    """Replace every run of text that looks like a token; returns (text, redacted?)."""
    found = [False]

    def _sub(match):
        run = match.group(0)
        if _UUID_RE.match(run):
            return run
        if _is_secretish(run) or any(_is_secretish(p) for p in _SPLIT_RE.split(run)):
            found[0] = True
            return REDACTED
        return run

    return _SECRETISH_RUN_RE.sub(_sub, text), found[0]


def _to_text(value):
    if isinstance(value, binary_type):
        return value.decode('utf-8', 'replace')
    if isinstance(value, text_type):
        return value
    return text_type(value)


def _clean_text(value, limit=MESSAGE_MAX):
    if value is None:
        return None
    text = _CTRL_RE.sub(u' ', _to_text(value)).strip()
    text, dummy = redact_secrets(text)
    if len(text) > limit:
        text = text[:limit - 3] + u'...'
    return text or None


def _clean_bool(value):
    if isinstance(value, bool) or value is None:
        return value
    lowered = _to_text(value).strip().lower()
    if lowered in ('true', 'yes', '1', 'on'):
        return True
    if lowered in ('false', 'no', '0', 'off'):
        return False
    return None


def _clean_int(value):
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, integer_types):
        return int(value)
    try:
        return int(float(_to_text(value)))
    except (TypeError, ValueError):
        return None


def _clean_time(value):
    """Keep only ISO 8601 UTC timestamps, normalised to ...Z."""
    if not isinstance(value, string_types):
        return None
    match = _ISO_RE.match(value.strip())
    if not match:
        return None
    return u'%s-%s-%sT%s:%s:%sZ' % match.groups()


def iso_to_epoch(value):
    match = _ISO_RE.match(value or '')
    if not match:
        return None
    return calendar.timegm(tuple(int(x) for x in match.groups()) + (0, 0, 0))


def _clean_url(value):
    """Keep scheme, host, port and path: never user info, query or fragment."""
    if not isinstance(value, string_types) or not value.strip():
        return None
    try:
        parts = urlsplit(value.strip())
        netloc = parts.netloc.rpartition('@')[2]
        url = urlunsplit((parts.scheme, netloc, parts.path, '', ''))
    except ValueError:
        return None
    return _clean_text(url, limit=512)


def classify(days_remaining, token_present, warning_days, critical_days):
    """Status implied by the expiry alone (None when it says nothing)."""
    if token_present is False:
        return 'critical'
    if days_remaining is None:
        return None
    if days_remaining < critical_days:
        return 'critical'
    if days_remaining < warning_days:
        return 'warning'
    return 'ok'


def _default_message(record, warning_days, critical_days):
    status = record['status']
    days = record['days_remaining']
    if status == 'ok':
        return None
    if status == 'unreachable':
        return u'host was unreachable'
    if status == 'failed':
        return u'no report from this host: it failed before recording one'
    if record['token_present'] is False:
        return u'no SCIM token is configured on this host'
    if days is not None and days < 0:
        return u'the SCIM token expired %d day(s) ago' % (-days)
    if days is not None and status == 'critical':
        return u'the SCIM token expires in %d day(s) (critical below %d)' % (days, critical_days)
    if days is not None and status == 'warning':
        return u'the SCIM token expires in %d day(s) (warning below %d)' % (days, warning_days)
    return None


def expiry_phrase(expiry):
    """'the SCIM token expires 2027-05-28T09:30:00Z (181 days left)', '... expired 3 days ago (...)',
    'no SCIM token is configured' or 'the expiry is unknown', from a token_info-shaped dict or None."""
    if not expiry or expiry.get('token_present') is None:
        return u'the expiry is unknown'
    if not expiry['token_present']:
        return u'no SCIM token is configured'
    days = expiry.get('days_remaining')
    if days is not None and days < 0:
        return u'the SCIM token expired %d day(s) ago (%s)' % (-days, expiry.get('expires_at'))
    return u'the SCIM token expires %s (%s days left)' % (expiry.get('expires_at'), days)


def host_record(host, idp, expiry, action, warning_days, critical_days, base_url=None, previous_expires_at=None,
                rotation_due=None, rotated=False, pushed=False, verified=False, failure=None, detail=None,
                ha_role=None):
    """The one report record of a host after a rotation cycle or an expiry check (never a token).

    `expiry` is the token's state after the run (token_info's keys) or None when the host was not
    read; then the expiry fields stay null and `rotation_due` unknown, never false.  `detail` ends
    the message of a healthy run (where the token went).
    """
    expiry = expiry or {}
    known = expiry.get('token_present') is not None
    record = {
        'host': host, 'base_url': base_url, 'idp': idp,
        'token_present': expiry.get('token_present'), 'expires_at': expiry.get('expires_at'),
        'days_remaining': expiry.get('days_remaining'), 'previous_expires_at': previous_expires_at,
        'rotation_due': rotation_due if known or rotation_due else None,
        'rotated': bool(rotated), 'pushed': bool(pushed), 'verified': bool(verified), 'action': action,
        'ha_role': ha_role,
    }
    phrase = expiry_phrase(expiry)
    if failure:
        record['status'], record['message'] = 'failed', failure
    else:
        record['status'] = classify(record['days_remaining'], record['token_present'], warning_days,
                                    critical_days) or 'failed'
        head = {
            'rotated': u'Rotated on %s: %s' % (host, phrase),
            'would_rotate': u'Would rotate on %s (check mode): %s' % (host, phrase),
            'would_push': u'Would push the current token on %s (check mode; the IdP does not hold it): %s'
                          % (host, phrase),
            'pushed': u'Pushed the current token on %s (the IdP did not hold it): %s' % (host, phrase),
            'push_completed': u'Finished the push of an earlier rotation on %s: %s' % (host, phrase),
        }.get(action, u'On %s %s' % (host, phrase))
        record['message'] = head + (u'; %s' % detail if detail else u'') + u'.'
    return record


def sanitize_record(raw, warning_days, critical_days):
    """One clean record with exactly RECORD_KEYS; unknown keys are dropped."""
    rec = OrderedDict((key, None) for key in RECORD_KEYS)
    rec['host'] = _clean_text(raw.get('host'), limit=255)
    rec['base_url'] = _clean_url(raw.get('base_url'))
    rec['idp'] = _clean_text(raw.get('idp'), limit=64)
    rec['message'] = _clean_text(raw.get('message'))
    for key in _BOOL_KEYS:
        rec[key] = _clean_bool(raw.get(key))
    for key in _TIME_KEYS:
        rec[key] = _clean_time(raw.get(key))
    rec['days_remaining'] = _clean_int(raw.get('days_remaining'))
    action = raw.get('action')
    rec['action'] = action if isinstance(action, string_types) and _WORD_RE.match(action) else None
    ha_role = raw.get('ha_role')
    rec['ha_role'] = ha_role if ha_role in ('standalone', 'primary', 'secondary', 'unknown') else None

    given = raw.get('status')
    derived = None
    if given not in ('failed', 'unreachable'):
        derived = classify(rec['days_remaining'], rec['token_present'], warning_days, critical_days)
    if given not in STATUSES:
        if given is not None:
            rec['message'] = rec['message'] or u'record carried an unknown status'
            given = 'failed'
        else:
            given = derived or 'failed'
    candidates = [s for s in (given, derived) if s]
    rec['status'] = max(candidates, key=STATUSES.index)
    if rec['message'] is None:
        rec['message'] = _default_message(rec, warning_days, critical_days)
    return rec


def _natural_key(host):
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', host or u'')]


def build_records(records, hosts_all=None, failures=None, warning_days=30, critical_days=7):
    """Merge report facts, hosts without one and their failure reasons.

    Returns (records sorted by host, warnings). A host listed in hosts_all without a
    record gets status failed (or unreachable) and the reason found in failures.
    """
    warnings = []
    by_host = OrderedDict()
    for index, raw in enumerate(records or []):
        if not isinstance(raw, dict):
            warnings.append('records[%d] is not a dictionary; it was ignored' % index)
            continue
        rec = sanitize_record(raw, warning_days, critical_days)
        if not rec['host']:
            warnings.append('records[%d] has no host; it was ignored' % index)
            continue
        by_host[rec['host']] = rec
    failures = failures or {}
    for host in hosts_all or []:
        host = _to_text(host)
        if host in by_host:
            continue
        reason = failures.get(host)
        raw = {'host': host, 'status': 'failed', 'action': 'failed'}
        if isinstance(reason, dict):
            raw['status'] = reason.get('status') if reason.get('status') in ('failed', 'unreachable') else 'failed'
            raw['message'] = reason.get('message') or reason.get('msg')
        elif reason is not None:
            raw['message'] = reason
        else:
            raw['message'] = (u'no report from this host: it failed or was unreachable '
                              u'before recording one (see the play output for this host)')
        by_host[host] = sanitize_record(raw, warning_days, critical_days)
    ordered = sorted(by_host.values(), key=lambda r: _natural_key(r['host']))
    return ordered, warnings


def summarize(records):
    counts = OrderedDict((status, 0) for status in STATUSES)
    for rec in records:
        counts[rec['status']] += 1
    summary = OrderedDict([('total', len(records))])
    summary.update(counts)
    summary['rotated'] = sum(1 for r in records if r['rotated'])
    summary['pushed'] = sum(1 for r in records if r['pushed'])
    return summary


def is_healthy(records):
    """Healthy: at least one host, and none failed, unreachable or critical."""
    return bool(records) and not any(r['status'] in UNHEALTHY for r in records)


def verdict(records):
    summary = summarize(records)
    if not records:
        return u'NOT HEALTHY: no hosts were checked (does the host pattern match the inventory?)'
    parts = u', '.join(u'%d %s' % (summary[s], s) for s in STATUSES if summary[s])
    bad = sum(summary[s] for s in UNHEALTHY)
    rotated = u'; %d rotated' % summary['rotated'] if summary['rotated'] else u''
    if bad:
        return u'NOT HEALTHY: %d of %d host(s) need attention (%s)%s' % (bad, summary['total'], parts, rotated)
    return u'HEALTHY: %d host(s) (%s)%s' % (summary['total'], parts, rotated)


def problems(records):
    """One readable line per unhealthy host, for a final fail message."""
    return [u'%s: %s - %s' % (r['host'], r['status'], r['message'] or u'no details')
            for r in records if r['status'] in UNHEALTHY]


def render_json(records, warning_days, critical_days):
    doc = OrderedDict()
    doc['healthy'] = is_healthy(records)
    doc['verdict'] = verdict(records)
    doc['thresholds'] = OrderedDict([('warning_days', warning_days), ('critical_days', critical_days)])
    doc['summary'] = summarize(records)
    doc['hosts'] = records
    return json.dumps(doc, indent=2, separators=(',', ': ')) + u'\n'


def _md_cell(value):
    if value is None:
        return u'-'
    if value is True:
        return u'yes'
    if value is False:
        return u'no'
    text = _to_text(value).replace(u'\\', u'\\\\').replace(u'|', u'\\|')
    return u' '.join(text.split()) or u'-'


MD_COLUMNS = (('Host', 'host'), ('Status', 'status'), ('Expires (UTC)', 'expires_at'),
              ('Days left', 'days_remaining'), ('Action', 'action'), ('Pushed', 'pushed'),
              ('Verified', 'verified'), ('Message', 'message'))


def render_markdown(records, title=u'Alation SCIM token report'):
    lines = [u'## %s' % title, u'', u'**%s**' % verdict(records), u'']
    lines.append(u'| ' + u' | '.join(c[0] for c in MD_COLUMNS) + u' |')
    lines.append(u'|' + u'|'.join(u'---' for dummy in MD_COLUMNS) + u'|')
    for rec in records:
        cells = []
        for dummy, key in MD_COLUMNS:
            value = rec[key]
            if key == 'status':
                value = value.upper() if value in UNHEALTHY else value
            cells.append(_md_cell(value))
        lines.append(u'| ' + u' | '.join(cells) + u' |')
    return u'\n'.join(lines) + u'\n'


def _xml_text(value):
    """Text that XML 1.0 can carry: ElementTree escapes markup but writes control characters as they are."""
    return _XML_BAD_RE.sub(u'?', _to_text(value))


def _xml_indent(element, level=0):
    """Indent child elements for people reading the file (ElementTree.indent needs Python 3.9)."""
    pad = u'\n' + u'  ' * (level + 1)
    if len(element):
        if not (element.text or u'').strip():
            element.text = pad
        for child in element:
            _xml_indent(child, level + 1)
            child.tail = pad
        element[-1].tail = pad[:-2]


def _describe(rec):
    fields = [(key, rec[key]) for key in RECORD_KEYS if key not in ('host', 'message')]
    return u'\n'.join(u'%s: %s' % (key, _md_cell(value)) for key, value in fields)


def render_junit(records, suite=u'alation.scim.token'):
    """JUnit XML: one testcase per host; failed, unreachable and critical hosts fail."""
    # Imported here: every worker of the rotation cycle loads this file for the report record only.
    import xml.etree.ElementTree as ET
    head = OrderedDict([('name', _xml_text(suite)), ('tests', str(len(records))),
                        ('failures', str(sum(1 for r in records if r['status'] in UNHEALTHY))),
                        ('errors', '0'), ('skipped', '0'), ('time', '0')])
    root = ET.Element('testsuites', head)
    testsuite = ET.SubElement(root, 'testsuite', head)
    for rec in records:
        case = ET.SubElement(testsuite, 'testcase', OrderedDict([
            ('classname', _xml_text(suite)), ('name', _xml_text(rec['host'])), ('time', '0')]))
        text = _describe(rec)
        if rec['status'] in UNHEALTHY:
            message = u'%s: %s' % (rec['status'], rec['message'] or u'no details')
            failure = ET.SubElement(case, 'failure', dict(message=_xml_text(message), type=rec['status']))
            failure.text = _xml_text(text)
        elif rec['message']:
            text = u'message: %s\n%s' % (rec['message'], text)
        ET.SubElement(case, 'system-out').text = _xml_text(text)
    _xml_indent(root)
    # ASCII with character references: the same bytes, and no XML declaration, on Python 2.7 and 3.
    return u'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root).decode('ascii') + u'\n'


def _prom_label(value):
    return _to_text(value).replace(u'\\', u'\\\\').replace(u'"', u'\\"').replace(u'\n', u'\\n')


# The label naming the Alation host. Not `instance`: Prometheus gives every scraped sample an
# `instance` of its own (the node exporter's address) and, with the default honor_labels: false,
# renames a textfile's `instance` to `exported_instance`.
PROM_HOST_LABEL = 'host'
PROM_RUN_TIMESTAMP = 'alation_scim_last_run_timestamp_seconds'

PROM_METRICS = (
    ('alation_scim_token_expiry_timestamp_seconds',
     'Expiry of the Alation SCIM bearer token, seconds since the Unix epoch (UTC).'),
    ('alation_scim_token_rotated',
     '1 when the last run rotated the Alation SCIM token of this host, else 0.'),
    ('alation_scim_host_healthy',
     '1 when the host is ok or warning, 0 when critical, failed or unreachable.'),
    ('alation_scim_threshold_seconds',
     'Thresholds of the last run, as token lifetime left: a host is warning below level="warning", critical below level="critical".'),
    ('alation_scim_last_run_success',
     '1 when the last fleet run left every host healthy, else 0.'),
    (PROM_RUN_TIMESTAMP,
     'When the last fleet run wrote this file, seconds since the Unix epoch.'),
)

# write_if_changed() leaves the run's timestamp out of its comparison: a rerun that finds the same
# fleet reports no change, yet moves the timestamp that "last run too old" alerts watch.
PROM_IGNORED_IN_COMPARISON = re.compile(br'^' + PROM_RUN_TIMESTAMP.encode('ascii') + br' .*$', re.M)


def render_prometheus(records, warning_days, critical_days, now=None):
    """Prometheus textfile-collector exposition (no sample timestamps); `now` defaults to the current time.

    Every sample but PROM_RUN_TIMESTAMP depends only on the records and the thresholds. Time is in
    seconds, as Prometheus wants base units: days left is expiry minus time() in a query.
    """
    samples = dict((name, []) for name, dummy in PROM_METRICS)
    for rec in records:
        label = u'{%s="%s"}' % (PROM_HOST_LABEL, _prom_label(rec['host']))
        epoch = iso_to_epoch(rec['expires_at'])
        if epoch is not None:
            samples['alation_scim_token_expiry_timestamp_seconds'].append((label, epoch))
        samples['alation_scim_token_rotated'].append((label, 1 if rec['rotated'] else 0))
        samples['alation_scim_host_healthy'].append((label, 0 if rec['status'] in UNHEALTHY else 1))
    samples['alation_scim_threshold_seconds'] = [(u'{level="warning"}', warning_days * 86400),
                                                 (u'{level="critical"}', critical_days * 86400)]
    samples['alation_scim_last_run_success'] = [(u'', 1 if is_healthy(records) else 0)]
    samples[PROM_RUN_TIMESTAMP] = [(u'', int(time.time() if now is None else now))]
    lines = []
    for name, help_text in PROM_METRICS:
        lines.append(u'# HELP %s %s' % (name, help_text))
        lines.append(u'# TYPE %s gauge' % name)
        for label, value in samples[name]:
            lines.append(u'%s%s %d' % (name, label, value))
    return u'\n'.join(lines) + u'\n'


def write_if_changed(path, content, check_mode=False, mode=0o644, ignore=None):
    """Write content (text) to path atomically unless it is already there.

    Returns True when the file changed (or would change in check mode). Lines matching the
    regular expression `ignore` (bytes) do not count as a change, but are still written when
    something else differs or when only they do (check mode writes nothing). Readers such as
    the node exporter never see a half-written file: a temporary file in the same
    directory is renamed over the target. An existing file keeps its permissions.
    """
    data = content.encode('utf-8')
    changed = True
    try:
        with open(path, 'rb') as handle:
            old = handle.read()
        if old == data:
            return False
        if ignore is not None:
            changed = ignore.sub(b'', old) != ignore.sub(b'', data)
        mode = os.stat(path).st_mode & 0o7777
    except IOError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise ReportError('Could not read %s to compare it with the new report: %s' % (path, exc))
    if check_mode:
        return changed
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        make_directory(directory)
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        with io.open(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
        tmp = None
    except (IOError, OSError) as exc:
        raise ReportError('Could not write the report %s: %s. Check that the directory is writable '
                          'by the user running the play, or set another path.' % (path, exc))
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return changed


def _load_report(path):
    """The JSON fleet report at path (as render_json() wrote it), checked for the keys a merge needs."""
    try:
        with io.open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            raise ReportError('the report %s does not exist: the run (or job slice) that should have written it '
                              'stopped before its report, or the path is wrong. Re-run that slice, or leave the '
                              'path out (its hosts are then reported as failed when hosts_all lists them).' % path)
        raise ReportError('could not read the report %s: %s. Check that it is readable by the user running the '
                          'play.' % (path, exc))
    try:
        doc = json.loads(data.decode('utf-8'))
    except ValueError as exc:
        raise ReportError('%s is not JSON (%s): give the JSON report of a run (alation_scim_report_json_path, or '
                          'alation-scim-report.json in alation_scim_report_dir), not its Markdown, JUnit or '
                          'Prometheus file.' % (path, exc))
    hosts = doc.get('hosts') if isinstance(doc, dict) else None
    thresholds = doc.get('thresholds') if isinstance(doc, dict) else None
    well_formed = isinstance(hosts, list) and all(
        isinstance(r, dict) and isinstance(r.get('host'), string_types) and r['host'] for r in hosts)
    if not (well_formed and isinstance(thresholds, dict)):
        raise ReportError('%s is not a JSON fleet report of alation.scim (it needs "thresholds" and "hosts", each '
                          'host with a name): give the JSON report a run of check_scim_expiry.yml or '
                          'scheduled_rotation.yml wrote.' % path)
    return hosts, thresholds


def read_reports(paths, warning_days, critical_days, records=()):
    """The host records of the JSON reports at paths, to report them as one run would (the slices of
    an AWX sliced job: each ran a part of the fleet and wrote its own report).

    Raises ReportError when a report is missing or not a fleet report, was judged with other
    thresholds, or names a host that another report (or records) already has: each host must come
    from exactly one run, or the merged report would say what no single run saw.
    """
    source = OrderedDict((_to_text(r['host']), u'records') for r in records or ()
                         if isinstance(r, dict) and r.get('host'))
    merged = []
    for path in paths or ():
        hosts, thresholds = _load_report(path)
        if (thresholds.get('warning_days'), thresholds.get('critical_days')) != (warning_days, critical_days):
            raise ReportError('%s was written with warning_days=%s and critical_days=%s, but this report uses %d and '
                              '%d. Give the merge the thresholds its slices ran with (alation_scim_warning_days, '
                              'alation_scim_critical_days), so every host is judged as in one run.'
                              % (path, thresholds.get('warning_days'), thresholds.get('critical_days'),
                                 warning_days, critical_days))
        for rec in hosts:
            host = _to_text(rec['host'])
            if host in source:
                raise ReportError('host %s is in %s and in %s: give each slice\'s report once, and only the '
                                  'reports of one run.' % (host, source[host], path))
            source[host] = path
            merged.append(rec)
    return merged


def fleet_report(params, check_mode, warn):
    """The fleet_report task: params (validated against ARGUMENT_SPEC) in, task result out.

    The hosts are those of records plus those of the JSON reports in reports (read_reports()).
    Each warning goes to warn(text); the result has no 'warnings' key. Raises FleetReportError
    (message with the fix, result with the keys to fail with) on bad thresholds, a report that
    cannot be merged or an unwritable path.
    """
    warning_days, critical_days = params['warning_days'], params['critical_days']
    given, merge_error = list(params['records']), None
    try:
        given += read_reports(params['reports'], warning_days, critical_days, params['records'])
    except ReportError as exc:
        merge_error = exc
    records, warnings = build_records(given, params['hosts_all'], params['failures'],
                                      warning_days, critical_days)
    # The default invocation echoes the raw records; show only what was kept of them.
    invocation = dict(module_args=dict(
        params, records=records,
        failures=dict((r['host'], r['message']) for r in records if r['host'] in params['failures'])))
    if critical_days > warning_days:
        raise FleetReportError('critical_days (%d) is greater than warning_days (%d); set critical_days '
                               'to at most warning_days.' % (critical_days, warning_days),
                               dict(invocation=invocation))
    if merge_error is not None:
        raise FleetReportError('Merging the reports failed: %s' % merge_error, dict(invocation=invocation))
    for warning in warnings:
        warn(warning)

    table = render_markdown(records)
    renderers = (
        ('json_path', lambda: render_json(records, warning_days, critical_days)),
        ('markdown_path', lambda: table),
        ('junit_path', lambda: render_junit(records)),
        ('prometheus_path', lambda: render_prometheus(records, warning_days, critical_days)),
    )
    files = {}
    for option, render in renderers:
        path = params[option]
        if not path:
            continue
        try:
            files[path] = write_if_changed(path, render(), check_mode=check_mode,
                                           ignore=PROM_IGNORED_IN_COMPARISON if option == 'prometheus_path' else None)
        except ReportError as exc:
            raise FleetReportError('Writing the %s report failed: %s' % (option[:-5], exc),
                                   dict(files=files, invocation=invocation))

    return dict(
        changed=any(files.values()),
        healthy=is_healthy(records),
        verdict=verdict(records),
        summary=summarize(records),
        problems=problems(records),
        table=table,
        records=records,
        files=files,
        invocation=invocation,
    )
