# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one place that reaches Alation's Django shell on an Alation host.

Contract: docs/architecture.md, "How a host module reaches Django".
Everything here runs on the Alation host (Python 2.7 and 3.6+), as root.
The token only ever travels inside the base64 result between the markers;
it is never an argument, never written to a file and never put in a message.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import binascii
import errno
import fcntl
import json
import os
import re
import select
import signal
import subprocess
import time

from ansible_collections.alation.scim.plugins.module_utils._token_state import (
    expiry_record, host_key, make_directory, record_push, redact, with_push)

LOCK_PATH = '/var/lock/alation_scim_token.lock'
OUTPUT_EXCERPT_LIMIT = 2000
KILL_GRACE_SECONDS = 3.0

# The payload runs inside Alation's Django shell (Python 2 or 3, whatever
# Alation ships). It is exec'd with a fresh globals dict, so its functions see
# its imports even where Django itself runs stdin with a bare exec(code).
# _PARAMS (a JSON string) is prepended by payload_source().
PAYLOAD_BODY = r'''
import base64
import datetime
import json
import re
import sys

_MODULE = 'rosemeta.utils.users_and_groups.configuration_utils'
_GET_EXPIRY = 'get_scim_bearer_token_expiry_date'
_SET = 'set_scim_bearer_token'
_GET = 'get_scim_bearer_token'
try:
    _TEXT = (unicode, str)  # noqa: F821 (Python 2)
except NameError:
    _TEXT = (str,)
_ISO = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})'
    r'(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?'
    r'\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$', re.IGNORECASE)


class _BadExpiry(Exception):
    pass


def _text(value):
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    try:
        return u'%s' % (value,)
    except Exception:
        return repr(value)


def _epoch(naive_utc):
    return (naive_utc - datetime.datetime(1970, 1, 1)).total_seconds()


def _parse_iso(text):
    m = _ISO.match(text.strip())
    if not m:
        raise _BadExpiry('unrecognised expiry string %r' % (text[:60],))
    year, month, day, hour, minute, second, frac, zone = m.groups()
    moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0),
                               int(minute or 0), int(second or 0))
    seconds = _epoch(moment) + (float('0.' + frac) if frac else 0.0)
    if zone and zone.upper() not in ('Z', 'UTC'):
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        offset = int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) > 2 else 0)
        seconds -= sign * offset
    return seconds


def _state(value, params):
    """Normalise what Alation returned for the expiry, and decide "due"."""
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    if isinstance(value, _TEXT) and not value.strip():
        value = None
    if value is None:
        kind, epoch = 'none', None
    elif isinstance(value, datetime.datetime):
        offset = value.utcoffset()
        if offset is None:
            kind, epoch = 'datetime-naive', _epoch(value)
        else:
            kind, epoch = 'datetime-aware', _epoch(value.replace(tzinfo=None) - offset)
    elif isinstance(value, datetime.date):
        kind = 'date'
        epoch = _epoch(datetime.datetime(value.year, value.month, value.day))
    elif isinstance(value, _TEXT):
        kind, epoch = 'str', _parse_iso(value)
    else:
        raise _BadExpiry('unexpected expiry type %s' % type(value).__name__)
    return {'present': epoch is not None, 'expiry_type': kind, 'expires_epoch': epoch,
            'due': epoch is None or epoch <= params['threshold_epoch']}


def _token(value):
    if value is None:
        return None
    return _text(value)


def _redact(message, known):
    for secret in known:
        if secret and len(secret) >= 4:
            message = message.replace(secret, '<redacted>')
    return message


def _class_name(exc):
    cls = type(exc)
    module = getattr(cls, '__module__', '')
    if module in ('builtins', 'exceptions', '__builtin__', ''):
        return cls.__name__
    return '%s.%s' % (module, cls.__name__)


def _load():
    import importlib
    mod = importlib.import_module(_MODULE)
    missing = [n for n in (_GET_EXPIRY, _SET, _GET) if not callable(getattr(mod, n, None))]
    return mod, missing


# Primary or hot standby, asked of Django's own connection (the one the token functions use).
# pg_is_in_recovery() true = a standby (secondary). Otherwise a primary shows itself by a
# connected standby (pg_stat_replication), a physical replication slot kept for one, or
# synchronous_standby_names; none of these = standalone. Every query may fail on its own.
_HA_SIGNALS = (
    ('standbys', 'SELECT count(*) FROM pg_stat_replication'),
    ('replication_slots', "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'physical'"),
    ('synchronous_standby_names', "SELECT current_setting('synchronous_standby_names')"),
    ('archive_mode', "SELECT current_setting('archive_mode')"),
)


def _query_one(connection, sql):
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def _error_of(exc, known):
    return {'class': _class_name(exc), 'message': _redact(_text(exc), known)[:500]}


def _ha_state(known):
    ha = {'role': 'unknown', 'vendor': None}
    try:
        from django.db import connection
        ha['vendor'] = _text(getattr(connection, 'vendor', 'unknown'))
        if ha['vendor'] != 'postgresql':
            ha['role'] = 'standalone'
            return ha
        ha['in_recovery'] = bool(_query_one(connection, 'SELECT pg_is_in_recovery()'))
    except Exception as exc:
        ha['error'] = _error_of(exc, known)
        return ha
    if ha['in_recovery']:
        ha['role'] = 'secondary'
        return ha
    replicating = False
    for name, sql in _HA_SIGNALS:
        try:
            value = _query_one(connection, sql)
        except Exception as exc:
            ha.setdefault('signal_errors', {})[name] = _error_of(exc, known)['class']
            continue
        ha[name] = int(value) if name in ('standbys', 'replication_slots') else _text(value)
        if name in ('standbys', 'replication_slots', 'synchronous_standby_names') and ha[name]:
            replicating = True
    ha['role'] = 'primary' if replicating else 'standalone'
    return ha


def _run(params):
    result = {'v': 1, 'ok': False, 'rotated': False}
    known = []
    mod = None
    try:
        try:
            mod, missing = _load()
        except ImportError as exc:
            missing, detail = [_MODULE], _text(exc)
        else:
            detail = ''
        if missing:
            result['error'] = {'kind': 'functions_missing', 'class': 'ImportError',
                               'message': _redact(('missing: %s %s' % (', '.join(missing), detail)).strip(), known)[:1000]}
            return result
        ha = _ha_state(known)
        result['ha'] = ha
        if ha['role'] == 'unknown' and params['mode'] == 'rotate':
            # Cannot tell a standby from a primary: change nothing.
            result['error'] = dict(ha['error'], kind='ha_role_unknown')
            return result
        before = _state(getattr(mod, _GET_EXPIRY)(), params)
        result['before'] = before
        rotate = False
        if params['mode'] == 'rotate':
            if ha['role'] == 'secondary':
                reason = 'ha_secondary'  # a hot standby is read-only; the primary's token replicates here
            elif params.get('force'):
                reason = 'force'
            elif not before['present']:
                reason = 'absent'
            elif before['due']:
                reason = 'due'
            else:
                reason = 'not_due'
            rotate = reason not in ('not_due', 'ha_secondary')
            result['decision'] = {'rotate': rotate, 'reason': reason}
        if rotate and params.get('allow_write'):
            previous = None
            if params.get('return_token') and before['present']:
                previous = _token(getattr(mod, _GET)())
                known.append(previous)
            returned = getattr(mod, _SET)()
            result['rotated'] = True
            if isinstance(returned, _TEXT + (bytes,)):
                known.append(_token(returned))
            result['after'] = _state(getattr(mod, _GET_EXPIRY)(), params)
            if previous is not None:
                result['previous_token'] = previous
        if params.get('return_token'):
            current = _token(getattr(mod, _GET)())
            known.append(current)
            result['token'] = current
        result['ok'] = True
    except Exception as exc:
        if mod is not None:
            try:
                known.append(_token(getattr(mod, _GET)()))
            except Exception:
                pass
        kind = 'bad_expiry' if isinstance(exc, _BadExpiry) else 'exception'
        result['error'] = {'kind': kind, 'class': _class_name(exc),
                           'message': _redact(_text(exc), known)[:1000]}
        result.pop('token', None)
        result.pop('previous_token', None)
    return result


def _emit(result, nonce):
    data = base64.b64encode(json.dumps(result, sort_keys=True).encode('utf-8')).decode('ascii')
    sys.stdout.write('@@ALATION_SCIM_BEGIN_%s@@%s@@ALATION_SCIM_END_%s@@\n' % (nonce, data, nonce))
    sys.stdout.flush()


_P = json.loads(_PARAMS)
_emit(_run(_P), _P['nonce'])
'''


# Failures after which the token may have been rotated: the shell was cut off, or died, or raised
# while handling it (the payload then says which). Every other kind happens before any change.
MAYBE_CHANGED_KINDS = ('timeout', 'no_result', 'exception', 'bad_expiry')


class AlationShellError(Exception):
    """Every failure to reach or use the Django shell: what happened + the fix."""

    def __init__(self, kind, message, fix, nothing_changed=None):
        super(AlationShellError, self).__init__(message)
        self.kind = kind
        self.message = message
        self.fix = fix
        self.nothing_changed = kind not in MAYBE_CHANGED_KINDS if nothing_changed is None else nothing_changed
        self.warnings = []  # what did not stop the launch but is worth fixing (module.warn each)
        self.details = {}  # extra result keys of the failure (e.g. ha_role and the expiry it saw)


def markers(nonce):
    return ('@@ALATION_SCIM_BEGIN_%s@@' % nonce, '@@ALATION_SCIM_END_%s@@' % nonce)


def new_nonce():
    return binascii.hexlify(os.urandom(16)).decode('ascii')


def payload_source(params):
    # json.dumps of a JSON text is a valid Python 2 and 3 string literal.
    return '_PARAMS = %s\n%s' % (json.dumps(json.dumps(params, sort_keys=True)), PAYLOAD_BODY)


def payload_line(params):
    encoded = base64.b64encode(payload_source(params).encode('utf-8')).decode('ascii')
    return ("exec(__import__('base64').b64decode('%s').decode('utf-8'), "
            "{'__name__': '__alation_scim__'})" % encoded)


def output_excerpt(text, nonce, limit=OUTPUT_EXCERPT_LIMIT):
    """A bounded excerpt of shell output that can be shown to the user.

    Anything from a begin marker on could be part of a result, so it is
    withheld; token-like runs are redacted.
    """
    begin = markers(nonce)[0]
    cut = text.find(begin)
    if cut >= 0:
        text = text[:cut] + '<partial result withheld>'
    text = redact(text)
    if len(text) > limit:
        text = '...' + text[-(limit - 3):]
    return text


def parse_output(text, nonce):
    """The payload result between this call's markers, or None if absent/damaged."""
    begin, end = markers(nonce)
    match = re.search(re.escape(begin) + r'([A-Za-z0-9+/=\s]*)' + re.escape(end), text)
    if not match:
        return None
    try:
        data = base64.b64decode(''.join(match.group(1).split()).encode('ascii'))
        result = json.loads(data.decode('utf-8'))
    except (ValueError, TypeError, binascii.Error):
        return None
    if not isinstance(result, dict) or result.get('v') != 1:
        return None
    return result


# ---------------------------------------------------------------- processes

def _proc_table():
    """pid -> (state, ppid, session) from /proc; empty where there is no /proc."""
    table = {}
    try:
        names = os.listdir('/proc')
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as handle:
                data = handle.read()
        except (IOError, OSError):
            continue
        fields = data[data.rfind(')') + 2:].split()
        try:
            table[int(name)] = (fields[0], int(fields[1]), int(fields[3]))
        except (IndexError, ValueError):
            continue
    return table


def _tree(root_pid, sessions):
    """Live descendants of root_pid plus every process in their sessions.

    su -c puts the command in a session of its own, so the process group of
    the child is not enough; sessions also catch orphans reparented to init.
    """
    table = _proc_table()
    children = {}
    for pid, (state, ppid, sid) in table.items():
        children.setdefault(ppid, []).append(pid)
    found = set()
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    own_sid = os.getsid(0)
    for pid in found:
        if pid in table and table[pid][2] != own_sid:
            sessions.add(table[pid][2])
    for pid, (state, ppid, sid) in table.items():
        if sid in sessions:
            found.add(pid)
    return set(pid for pid in found if pid in table and table[pid][0] != 'Z')


def _signal_all(pids, pgid, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    try:
        os.killpg(pgid, signum)
    except OSError:
        pass


def _end_tree(root_pid, grace, root_done):
    """SIGTERM root_pid's group, descendants and sessions; SIGKILL what remains after grace
    seconds (sooner once nothing is left and root_done())."""
    sessions = set([root_pid])
    _signal_all(_tree(root_pid, sessions), root_pid, signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline:
        if not _tree(root_pid, sessions) and root_done():
            break
        time.sleep(0.1)
    _signal_all(_tree(root_pid, sessions), root_pid, signal.SIGKILL)


def kill_process_tree(proc, grace=KILL_GRACE_SECONDS):
    """SIGTERM the child's group, descendants and sessions; SIGKILL what remains."""
    _end_tree(proc.pid, grace, lambda: proc.poll() is not None)
    proc.wait()


def _read_available(fd):
    """What a pipe holds right now, without waiting for more."""
    chunks = []
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                break
            raise
        if not chunk:
            break
        chunks.append(chunk)
    return chunks


def _alive(pid):
    """Whether pid runs (a zombie does not), from /proc as _tree reads it."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError, IndexError):
        return False


def _descendants(pid, depth=4):
    """pid's descendants from /proc/<pid>/task/<pid>/children (Linux 3.5+; none where absent)."""
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
            children = [int(c) for c in handle.read().split()]
    except (IOError, OSError, ValueError):
        return []
    found = list(children)
    if depth > 1:
        for child in children:
            found.extend(_descendants(child, depth - 1))
    return found


def _yield_cpu(pid):
    """The lowest CPU priority for a shell that has only its teardown left, so that it does not slow
    what now matters on a busy host: this task's answer. Nice 19 (Python 3.3+: os.setpriority), and
    where the kernel groups CPU time by session (autogroup: the shell and su each run in a session
    of their own, so their nice alone would weigh nothing against other sessions), the nice of the
    shell's session groups too."""
    setpriority = getattr(os, 'setpriority', None)
    for target in [pid] + _descendants(pid):
        try:
            if setpriority is not None:
                setpriority(os.PRIO_PROCESS, target, 19)
            with open('/proc/%d/autogroup' % target, 'w') as handle:
                handle.write('19')
        except (IOError, OSError):
            pass  # gone already, or no autogroup


class _Watcher(object):
    """A child that can take over a shell which answered but lingers, and end it at the deadline.

    Forked before the shell starts, not when it is needed: until a new child has detached it holds
    the task's output (the SSH channel) open, and on a busy host a second can pass before it runs,
    a second the IdP would wait after a rotation.
    """

    def __init__(self):
        """Raises OSError where there is no pipe or fork (then the launch waits for the exit)."""
        read_end, self.write_end = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(self.write_end)
            raise
        if self.pid:
            os.close(read_end)
            return
        try:  # the watcher: nothing of the task survives in it (no output, no lock, no session)
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, read_end)
            os.closerange(read_end + 1, 65536)
            os.nice(19)
            order = b''
            while True:
                chunk = os.read(read_end, 256)
                if not chunk:
                    break
                order += chunk
            if order:  # "<pid> <deadline>": a shell to end at the deadline; nothing: the launch ended it
                pid_text, deadline_text = order.split()
                _end_at_deadline(int(pid_text), float(deadline_text))
        finally:
            os._exit(0)

    def hand_over(self, shell_pid, deadline):
        os.write(self.write_end, ('%d %r\n' % (shell_pid, deadline)).encode('ascii'))

    def release(self):
        """Let the watcher go (after a hand-over it goes on alone); it exits on its own."""
        os.close(self.write_end)
        try:
            os.waitpid(self.pid, os.WNOHANG)  # reaped here if it is done already, else by init after this module
        except OSError:
            pass


def _end_at_deadline(pid, deadline, grace=KILL_GRACE_SECONDS):
    """In the watcher: end the shell (pid: the chroot, then su) and what it runs at the deadline.

    Polls the one process, cheaply: a scan of all of /proc at every poll costs a busy host more CPU
    than the launch. su exits only after what it runs, so once su is gone the shell is; a shell that
    lingers keeps su there, and its tree findable."""
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.5)
    if _alive(pid):
        _end_tree(pid, grace, lambda: True)


def _child_setup():
    os.setsid()
    # Python 2 leaves SIGPIPE ignored in children; shells expect the default.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def run_process(argv, stdin_text, timeout, env=None, exit_grace=2.0, done_marker=None):
    """Run argv in a new session, feed stdin, collect output, enforce a deadline.

    Python 2.7 has no communicate(timeout=...), hence the select loop that
    writes stdin and reads stdout/stderr against one deadline. Returns
    (returncode, stdout_text, stderr_text, timed_out); returncode is None when
    done_marker (bytes) showed up on stdout before the process exited: then
    the caller has what it came for and the process is left to exit on its
    own, at nice 19, still ended at the deadline (``_Watcher``).
    """
    # Leaving a shell that answered to exit on its own needs the watcher (none: wait for the exit).
    watcher = None
    if done_marker:
        try:
            watcher = _Watcher()
        except OSError:
            pass
    try:
        return _run_process(argv, stdin_text, timeout, env, exit_grace, watcher and done_marker, watcher)
    finally:
        if watcher:
            watcher.release()


def _run_process(argv, stdin_text, timeout, env, exit_grace, done_marker, watcher):
    # run_command cannot feed stdin against a deadline nor kill the sessions the shell opens.
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                            stderr=subprocess.PIPE, close_fds=True,
                            preexec_fn=_child_setup, env=env)
    pending = stdin_text.encode('utf-8')
    stdin_fd = proc.stdin.fileno()
    fcntl.fcntl(stdin_fd, fcntl.F_SETFL, fcntl.fcntl(stdin_fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    readers = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    open_readers = set(readers)
    writing = True
    deadline = time.time() + timeout
    exited_at = None
    timed_out = False
    if not pending:
        proc.stdin.close()
        writing = False
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    done = False
    while (open_readers or writing) and not done:
        now = time.time()
        if now >= deadline:
            timed_out = True
            break
        if exited_at is None and proc.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at > exit_grace:
            break  # something the shell left behind holds the pipes open
        writers = [stdin_fd] if writing else []
        try:
            ready_r, ready_w, dummy = select.select(list(open_readers), writers, [],
                                                    min(deadline - now, 0.5))
        except (select.error, OSError) as exc:
            if exc.args and exc.args[0] == errno.EINTR:
                continue
            raise
        if ready_w:
            try:
                written = os.write(stdin_fd, pending[:65536])
                pending = pending[written:]
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    pending = b''  # EPIPE: the shell stopped reading
            if not pending:
                try:
                    proc.stdin.close()
                except (IOError, OSError):
                    pass
                writing = False
        for fd in ready_r:
            chunk = os.read(fd, 65536)
            if chunk:
                readers[fd].append(chunk)
                if done_marker and fd == out_fd and done_marker in b''.join(readers[fd]):
                    done = True
            else:
                open_readers.discard(fd)
    if writing:
        try:
            proc.stdin.close()
        except (IOError, OSError):
            pass
    if done:
        if err_fd in open_readers:
            readers[err_fd].extend(_read_available(err_fd))  # what su warned before the shell ran
        if proc.poll() is None:
            _yield_cpu(proc.pid)
            watcher.hand_over(proc.pid, deadline)
    elif timed_out or proc.poll() is None or open_readers:
        kill_process_tree(proc)
    else:
        proc.wait()
    stdout = b''.join(readers[out_fd]).decode('utf-8', 'replace')
    stderr = b''.join(readers[err_fd]).decode('utf-8', 'replace')
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, stdout, stderr, timed_out


# ------------------------------------------------------------- host access

def _find_bin(name):
    for directory in os.environ.get('PATH', '').split(os.pathsep) + ['/usr/sbin', '/sbin', '/usr/bin', '/bin']:
        candidate = os.path.join(directory, name)
        if directory and os.access(candidate, os.X_OK):
            return candidate
    raise AlationShellError('not_alation_host', 'Cannot find the %s command on this host.' % name,
                            'Run the module on the Alation server itself, which has %s in /usr/sbin.' % name)


def check_options(options):
    if options['timeout'] < 1:
        raise AlationShellError('bad_option', 'timeout must be at least 1 second, got %d.' % options['timeout'],
                                'Set timeout to the number of seconds the Django shell may take (default 120).')


def preflight(options):
    """Refuse early, before anything runs, when this cannot be an Alation host."""
    check_options(options)
    if os.geteuid() != 0:
        raise AlationShellError('not_root', 'Reaching the Alation shell needs root (chroot and su), but the module runs as uid %d.' % os.geteuid(),
                                'Use become: true on the task or play.')
    root = options['alation_root']
    script = options['init_script']
    has_root = os.path.isdir(root)
    has_script = os.path.isfile(script)
    if not has_root and not has_script:
        raise AlationShellError('not_alation_host',
                                'This is not an Alation host: neither the init script %s nor the Alation chroot %s exists.' % (script, root),
                                'Run the task against the Alation server (check the inventory), or set init_script/alation_root if Alation lives elsewhere.')
    if options['entry'] == 'chroot':
        if not has_root:
            raise AlationShellError('chroot_missing', 'The Alation chroot %s does not exist (the init script %s does).' % (root, script),
                                    'Set alation_root to the chroot directory (usually /opt/alation/alation), or use entry: init_script.')
        if not os.path.exists(os.path.join(root, 'bin', 'su')):
            raise AlationShellError('chroot_missing', '%s is not an Alation chroot: it has no /bin/su.' % root,
                                    'Set alation_root to the chroot directory (usually /opt/alation/alation), or use entry: init_script.')
    elif not has_script:
        raise AlationShellError('init_script_missing', 'The init script %s does not exist (the chroot %s does).' % (script, root),
                                'Set init_script to Alation\'s init script (usually /etc/init.d/alation), or use entry: chroot.')


def build_command(options, line):
    """argv and stdin text for one launch of the Django shell."""
    shell = options['django_shell_command']
    if options['entry'] == 'chroot':
        argv = [_find_bin('chroot'), options['alation_root'], '/bin/su', '-', options['alation_user'], '-c', shell]
        return argv, line + '\n'
    # The vendor's way: the init script's shell enters the chroot as Alation's
    # user and reads commands from stdin; the Django shell gets the next line.
    return [options['init_script'], 'shell'], '%s\n%s\n' % (shell, line)


class _NoLock(object):
    """HostLock's stand-in for launches that change nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class HostLock:
    """Exclusive flock on the host (outside the chroot) around a rotation."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.time() >= deadline:
                os.close(self.fd)
                self.fd = None
                raise AlationShellError('lock_timeout',
                                        'Another token rotation held %s for more than %d seconds; nothing was changed.' % (self.path, self.timeout),
                                        'Wait for the other rotation to finish (or raise timeout), then run again.')
            time.sleep(0.2)

    def __exit__(self, *exc_info):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# What su prints, across util-linux su (Debian, RHEL 7+), coreutils su (RHEL 6) and shadow-utils su.
# A warning lets the launch go on; a refusal stops it before the shell runs.
# A prompt may come first on the line: "Password: su: Authentication failure".
_SU_LINE = re.compile(r'^(?:[^\s:]+:\s*)?(?:\S*/)?su: (.+)$', re.MULTILINE)
_HOME_MISSING = re.compile(r'^(?:\S*/)?su: warning: cannot change directory to (\S+?): (.+)$'
                           r'|^(No directory), logging in with HOME=/$', re.MULTILINE | re.IGNORECASE)
# su's refusals: (kind, pattern over su's own lines, pattern over whole lines it or PAM print unprefixed).
_SU_REFUSALS = (
    ('user_missing', re.compile(r'user \S+ does not exist.*', re.IGNORECASE),
     re.compile(r"^No passwd entry for user '[^']+'$", re.MULTILINE)),
    ('su_auth_failed', re.compile(r'(?:Authentication failure|incorrect password|Permission denied|'
                                  r'.*not authorized.*|.*expired.*)$', re.IGNORECASE),
     re.compile(r'^(?:Your account has expired.*|You are not authorized to su.*)$', re.MULTILINE | re.IGNORECASE)),
    ('user_shell_unusable', re.compile(r'failed to execute .*', re.IGNORECASE),
     re.compile(r'^(?:Cannot execute \S+|This account is currently not available\.?)$', re.MULTILINE)),
)
# bash: "-bash: line 1: NAME: command not found", "-bash: NAME: command not found";
# dash/sh: "sh: 1: NAME: not found"; not executable: "...: line 1: /path/NAME: Permission denied".
_NOT_FOUND = re.compile(r'(?:^|:\s)([^\s:]+): (?:(?:command )?not found|No such file or directory)\s*$', re.MULTILINE)
_NOT_EXECUTABLE = re.compile(r'(?:^|:\s)([^\s:]+): Permission denied\s*$', re.MULTILINE)


def launch_warnings(options, stderr):
    """Warnings about a launch (whatever its outcome): what su said that did not stop it."""
    warnings = []
    for match in _HOME_MISSING.finditer(stderr):
        home = match.group(1) or 'the home directory'
        user = options['alation_user'] if options['entry'] == 'chroot' else "Alation's user"
        warnings.append('su warned that %s of user %s does not exist inside %s (%s), so the login profile there '
                        '(which usually puts the Alation commands on PATH) was not read. Fix: give the user a home '
                        'that exists inside the chroot (usermod -d, or create the directory).'
                        % (home, user, options['alation_root'], (match.group(2) or 'no directory').strip()))
    return warnings


def _names_command(found, command):
    """Whether a shell's "NAME: not found" names the configured command (bare or as a path)."""
    return found == command or os.path.basename(found) == os.path.basename(command)


def _su_refusal(options, returncode, stderr, where):
    """The error for su refusing to start the shell, or None when su let it run."""
    if returncode == 0:
        return None
    su_lines = [m.group(1).strip() for m in _SU_LINE.finditer(stderr)
                if not m.group(1).lower().startswith('warning:')]
    chroot = options['entry'] == 'chroot'
    user = 'user %s' % options['alation_user'] if chroot else 'the user %s switches to' % options['init_script']
    # With entry=init_script the init script picks the user: alation_user changes nothing there.
    pick_user = ('Set alation_user to the account Alation runs as inside the chroot (usually alation)' if chroot else
                 'Check the user %s switches to, or use entry: chroot with alation_user' % options['init_script'])
    for kind, su_pattern, plain_pattern in _SU_REFUSALS:
        said = [line for line in su_lines if su_pattern.match(line)]
        plain = plain_pattern.search(stderr)
        if not said and not plain:
            continue
        said = redact('; '.join(said + ([plain.group(0).strip()] if plain else [])))[:300]
        if kind == 'user_missing':
            return AlationShellError(kind, '%s does not exist inside %s: su said "%s" (exit status %s).'
                                     % (user[0].upper() + user[1:], options['alation_root'], said, returncode),
                                     '%s; it must be in %s/etc/passwd.' % (pick_user, options['alation_root']))
        if kind == 'su_auth_failed':
            return AlationShellError(kind, 'su to %s inside %s was refused: "%s" (exit status %s).'
                                     % (user, options['alation_root'], said, returncode),
                                     'Root must be able to su to that user without a password inside the chroot: check that '
                                     '%s/etc/pam.d/su lets root through (pam_rootok) and that the account is not expired '
                                     '(chage -l %s).' % (options['alation_root'], options['alation_user']))
        return AlationShellError(kind, 'su could not start the login shell of %s inside %s: "%s" (exit status %s).'
                                 % (user, options['alation_root'], said, returncode),
                                 'Give the user a working login shell inside the chroot (usually /bin/bash; '
                                 'usermod -s), as Alation sets it up.')
    if su_lines:
        return AlationShellError('su_failed', 'su to %s in %s failed (exit status %s): %s'
                                 % (user, where, returncode, redact(su_lines[0])[:300]),
                                 '%s, and check that root can su to it there.' % pick_user)
    return None


def diagnose(options, returncode, stdout, stderr, nonce, timed_out):
    """The error for a launch that produced no (usable) result.

    What stopped the launch decides the kind: su's refusal, else the exit status of the shell
    command (127 not found, 126 not executable). su's warnings (a missing home) never decide it;
    they ride along in the message and in error.warnings.
    """
    text = stdout + ('\n' if stdout and stderr else '') + stderr
    excerpt = output_excerpt(text, nonce)
    warnings = launch_warnings(options, stderr)
    command = options['django_shell_command']
    where = ('chroot %s as %s' % (options['alation_root'], options['alation_user'])
             if options['entry'] == 'chroot' else '%s shell' % options['init_script'])
    if timed_out:
        error = AlationShellError('timeout', 'The Django shell (%s) did not finish within %d seconds; its whole process group was killed. Output so far: %s'
                                  % (where, options['timeout'], excerpt or '(none)'),
                                  'Raise timeout if the shell is only slow to start; otherwise run %s by hand on the host to see why it hangs.'
                                  % command)
    else:
        error = _su_refusal(options, returncode, stderr, where) or _shell_failure(options, returncode, text, excerpt, where, warnings)
    error.warnings = warnings
    if warnings and error.kind != 'timeout':
        error.message += ' Also: ' + ' '.join(w.split(' Fix: ')[0] + '.' for w in warnings)
    return error


def _shell_failure(options, returncode, text, excerpt, where, warnings):
    """The error once su let the shell run: the command's exit status and what the shell said."""
    command = options['django_shell_command']
    # The home warning explains a PATH without Alation's commands; the command is still what failed.
    profile_hint = (' (the missing home means the login profile was not read, which is the usual reason '
                    'the command is not on PATH: fix the home, or give the full path)' if warnings else None)
    missing = [m.group(1) for m in _NOT_FOUND.finditer(text) if _names_command(m.group(1), command)]
    if missing or (returncode == 127 and options['entry'] == 'chroot' and not _NOT_FOUND.search(text)):
        return AlationShellError('shell_command_missing', 'The command %s was not found on the PATH of the user in %s (exit status %s).'
                                 % (command, where, returncode),
                                 'Set django_shell_command to the Django shell command of this Alation version, or its '
                                 'full path inside the chroot (e.g. /opt/alation/bin/alation_django_shell)%s.'
                                 % (profile_hint or '; or check alation_user/alation_root'))
    denied = [m.group(1) for m in _NOT_EXECUTABLE.finditer(text) if _names_command(m.group(1), command)]
    if denied or (returncode == 126 and options['entry'] == 'chroot' and not _NOT_EXECUTABLE.search(text)):
        path = denied[0] if denied else command
        return AlationShellError('shell_command_not_executable', 'The command %s (%s) was found in %s but could not be executed: '
                                 'Permission denied (exit status %s).' % (command, path, where, returncode),
                                 'Make %s executable for the Alation user inside the chroot (chmod 755, and no noexec mount), '
                                 'or set django_shell_command to the command that starts the Django shell.' % path)
    meaning = {127: ' (127: a command the shell ran was not found)', 126: ' (126: a command the shell ran is not executable)'}
    return AlationShellError('no_result', 'The Django shell (%s) exited with status %s%s without printing a result. Output (excerpt): %s'
                             % (where, returncode, meaning.get(returncode, ''), excerpt or '(none)'),
                             'Run %s by hand on the host to check that it starts, and that it reads Python from standard input.'
                             % command)


def payload_error(options, result):
    """The error for a payload that ran but reported a failure."""
    error = result.get('error') or {}
    kind = error.get('kind')
    # The payload redacted the token values it knew; a value it could not read
    # (the read itself failed) is caught by the token-like pattern here.
    detail = redact('%s: %s' % (error.get('class'), error.get('message')))
    rotated = (' The token WAS rotated before the failure; run alation.scim.token_info to see its expiry.'
               if result.get('rotated') else ' Nothing was changed.')
    if kind == 'functions_missing':
        return AlationShellError('functions_missing', 'This Alation has no SCIM token functions in '
                                 'rosemeta.utils.users_and_groups.configuration_utils (%s), so it is older than 2021.4.%s'
                                 % (redact(error.get('message') or ''), rotated),
                                 'Upgrade Alation to 2021.4 or later: SCIM token authentication needs 2021.4+.')
    if kind == 'bad_expiry':
        return AlationShellError('bad_expiry', 'Alation returned a token expiry this module cannot read (%s).%s' % (detail, rotated),
                                 'Report the value type shown here; meanwhile check the expiry by hand in the Django shell.',
                                 nothing_changed=not result.get('rotated'))
    if kind == 'ha_role_unknown':
        return AlationShellError('ha_role_unknown', 'Could not tell whether this host\'s PostgreSQL is the HA primary or a hot '
                                 'standby: pg_is_in_recovery() on Django\'s connection raised %s.%s%s'
                                 % (detail, _standby_hint(detail), rotated),
                                 'If this is the HA secondary, rotate on the primary (the secondary gets the token by '
                                 'replication); otherwise fix Alation\'s database connection shown in the message, then run again.')
    ha_error = (result.get('ha') or {}).get('error')
    if ha_error:
        ha_detail = redact('%s: %s' % (ha_error.get('class'), ha_error.get('message')))
        detail += '. The HA role check failed too: %s.%s' % (ha_detail, _standby_hint(ha_detail))
    return AlationShellError('exception', 'Alation\'s Django shell raised %s while handling the SCIM token.%s'
                             % (detail, rotated),
                             'Fix the cause inside Alation (database, configuration) shown in the message, then run again.',
                             nothing_changed=not result.get('rotated'))


# What PostgreSQL says when a standby takes no queries (hot_standby off, still starting, recovering).
_STANDBY_REFUSAL = re.compile(r'starting up|not accepting connections|hot standby|in recovery|recovery is in progress',
                              re.IGNORECASE)


def _standby_hint(detail):
    if _STANDBY_REFUSAL.search(detail):
        return (' This looks like an HA secondary whose PostgreSQL takes no queries (a standby without hot_standby, '
                'or one still starting).')
    return ''


# Values of ha_role: what the payload's _ha_state() decided.
HA_ROLES = ('standalone', 'primary', 'secondary', 'unknown')


def ha_keys(module, result):
    """The ha_role / ha result keys of a launch, and a warning for a primary with no standby attached."""
    ha = dict(result.get('ha') or {'role': 'unknown'})
    role = ha.pop('role')
    if role == 'primary' and not ha.get('standbys'):
        module.warn('This is the HA primary, but no standby is connected to its PostgreSQL now: the secondary gets '
                    'the token only once replication resumes. Check the replication status (Alation: /monitor/replication).')
    return {'ha_role': role, 'ha': ha}


def secondary_error(described):
    """token_rotate on a hot standby with on_secondary=fail."""
    error = AlationShellError('ha_secondary', 'This is the HA secondary (its PostgreSQL is a hot standby: pg_is_in_recovery() '
                              'is true), so the SCIM token cannot be rotated here. Nothing was changed.',
                              'Rotate on the primary; the secondary gets the token by replication. '
                              '(on_secondary: report returns the secondary\'s expiry instead of failing.)')
    error.details = dict(described, ha_role='secondary')
    return error


def run_payload(options, mode, threshold_epoch, force=False, return_token=False, allow_write=False):
    """One launch of the Django shell; returns the payload's result dict.

    mode is 'info' (read expiry, optionally the token) or 'rotate' (decide and,
    with allow_write, rotate). Raises AlationShellError on every failure.
    """
    preflight(options)
    nonce = new_nonce()
    params = {'nonce': nonce, 'mode': mode, 'threshold_epoch': threshold_epoch, 'force': bool(force),
              'return_token': bool(return_token), 'allow_write': bool(allow_write)}
    argv, stdin_text = build_command(options, payload_line(params))
    env = dict(os.environ)
    env['PATH'] = env.get('PATH', '/usr/bin:/bin') + ':/usr/sbin:/sbin'
    done = markers(nonce)[1].encode('ascii')  # the result is complete: no need to wait for the shell's exit
    try:
        with (HostLock(LOCK_PATH, options['timeout']) if mode == 'rotate' and allow_write else _NoLock()):
            returncode, stdout, stderr, timed_out = run_process(argv, stdin_text, options['timeout'], env=env,
                                                                done_marker=done)
    except OSError as exc:
        # Could not start the entry command at all (e.g. an init script without the execute bit).
        raise AlationShellError('launch_failed', 'Could not start %s: %s. Nothing was changed.' % (argv[0], exc),
                                'Check that %s is executable by root on this host, or use the other entry.' % argv[0])
    result = None if timed_out else parse_output(stdout, nonce)
    if result is None:
        raise diagnose(options, returncode, stdout, stderr, nonce, timed_out)
    warnings = launch_warnings(options, stderr)
    if not result.get('ok'):
        error = payload_error(options, result)
        error.warnings = warnings
        raise error
    result['launch_warnings'] = warnings
    return result


def run_module_payload(module, mode, threshold_epoch, on_error=None, **kwargs):
    """run_payload for a module: fails the module on error (after on_error(error)), warns what su
    warned; returns the result."""
    try:
        result = run_payload(module.params, mode, threshold_epoch, **kwargs)
    except AlationShellError as error:
        if on_error:
            on_error(error)
        fail_module(module, error)
    for warning in result.pop('launch_warnings', []):
        module.warn(warning)
    return result


def fail_module(module, error):
    """fail_json with what happened and the fix (both built from redacted text only)."""
    for warning in error.warnings:
        module.warn(warning)
    module.fail_json(msg='%s Fix: %s' % (error.message, error.fix), fix=error.fix, error_kind=error.kind,
                     nothing_changed=error.nothing_changed, **error.details)


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def record_expiry(module, state, now, pending=False, ha_role=None):
    """Write the expiry record (no token) when asked and not in check mode, keeping the rotation
    cycle's push state in it; `pending` marks that a push is owed (this launch rotated, or may
    have).  `state` None keeps the recorded expiry (a launch that gave no answer).  Returns the
    record as written ({} without a path), which the cycle rewrites after a push without reading
    it first.  A failure only warns: without a record a rotation run does not prepare the IdP and
    pushes when unsure."""
    path = module.params.get('expiry_record_path')
    if not path:
        return {}
    old = _read_text(path)
    push = dict(record_push(old))
    if pending:
        push.update(pending=True, rotated_epoch=int(now))
    text = with_push(old, push) if state is None else expiry_record(state, now, host_key(module.params), push,
                                                                    ha_role)
    if module.check_mode or (state is None and not pending):
        return json.loads(text)
    tmp = '%s.%d.tmp' % (path, os.getpid())
    try:
        make_directory(os.path.dirname(path), 0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text + '\n')
        os.rename(tmp, path)
    except (IOError, OSError) as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        module.warn('Could not write the expiry record %s (%s); the next rotation run cannot tell whether a '
                    'push is owed or the IdP must be prepared. Check that the directory is writable by root.'
                    % (path, exc))
    return json.loads(text)
