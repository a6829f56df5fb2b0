"""The process runner: stdin feeding, output collection, deadline, killing a whole process tree."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time

from ansible_collections.alation.scim.plugins.module_utils import _alation_shell as shell


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            state = handle.read().rsplit(')', 1)[1].split()[0]
    except (IOError, OSError):
        return False
    return state != 'Z'


def nice(pid):
    with open('/proc/%d/stat' % pid) as handle:
        return int(handle.read().rsplit(')', 1)[1].split()[16])


def autogroups():
    try:
        with open('/proc/sys/kernel/sched_autogroup_enabled') as handle:
            return handle.read().strip() == '1'
    except (IOError, OSError):
        return False


def autogroup_nice(pid):
    with open('/proc/%d/autogroup' % pid) as handle:  # "/autogroup-123 nice 19"
        return int(handle.read().split()[-1])


def test_feeds_stdin_and_collects_both_streams():
    data = 'x' * 200000 + '\n'  # larger than a pipe buffer
    rc, out, err, timed_out = shell.run_process(['sh', '-c', 'wc -c; echo oops >&2; exit 3'], data, 10)
    assert (rc, out.strip(), err.strip(), timed_out) == (3, str(len(data)), 'oops', False)


def test_timeout_kills_the_whole_process_group():
    started = time.time()
    rc, out, err, timed_out = shell.run_process(['sh', '-c', 'echo $$; sleep 100 & echo $!; sleep 100'], '', 1)
    assert timed_out is True
    assert time.time() - started < 1 + shell.KILL_GRACE_SECONDS + 2
    pids = [int(p) for p in out.split()]
    assert len(pids) == 2
    time.sleep(0.2)
    assert not [p for p in pids if alive(p)], 'processes survived the timeout'


def test_timeout_also_kills_children_in_their_own_session():
    """su -c moves the command into a new session; killpg alone would miss it."""
    rc, out, err, timed_out = shell.run_process(
        ['sh', '-c', 'setsid sh -c "echo \\$\\$; exec sleep 100" & sleep 100'], '', 1)
    assert timed_out is True
    pid = int(out.split()[0])
    time.sleep(0.2)
    assert not alive(pid), 'the process in its own session survived'


def test_child_that_ignores_sigterm_gets_sigkill():
    rc, out, err, timed_out = shell.run_process(
        ['sh', '-c', 'trap "" TERM; echo $$; while :; do sleep 0.1; done'], '', 1)
    assert timed_out is True
    assert not alive(int(out.split()[0]))


def test_leftover_holding_the_pipe_does_not_wait_for_the_deadline():
    started = time.time()
    rc, out, err, timed_out = shell.run_process(['sh', '-c', 'sleep 100 & echo done'], '', 60)
    assert timed_out is False and rc == 0 and out.strip() == 'done'
    assert time.time() - started < 10


def test_stdin_not_read_is_not_an_error():
    rc, out, err, timed_out = shell.run_process(['sh', '-c', 'exec 0<&-; echo hi'], 'y' * 300000, 10)
    assert (rc, out.strip(), timed_out) == (0, 'hi', False)


def test_host_lock_excludes_a_second_holder(tmp_path):
    path = str(tmp_path / 'lock')
    with shell.HostLock(path, 5):
        started = time.time()
        try:
            with shell.HostLock(path, 1):
                raise AssertionError('second holder got the lock')
        except shell.AlationShellError as error:
            assert error.kind == 'lock_timeout' and 'nothing was changed' in error.message
        assert time.time() - started >= 1
    with shell.HostLock(path, 1):
        pass
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def test_returns_at_the_done_marker_and_ends_the_shell_at_the_deadline():
    """A shell that printed its result is not waited for (its teardown is part of the outage after a
    rotation); a detached watcher still ends it, and what it started, at the launch's deadline."""
    started = time.time()
    rc, out, err, timed_out = shell.run_process(
        ['sh', '-c', 'echo warned >&2; echo $$; setsid sh -c "echo \\$\\$; exec sleep 100" & sleep 0.3; '
                     'echo @@END@@; exec sleep 100'], '', 3, done_marker=b'@@END@@')
    took = time.time() - started
    assert (rc, timed_out, err.strip()) == (None, False, 'warned')
    assert took < 2, 'waited %.1f s for a shell that had printed its result' % took
    pids = [int(p) for p in out.split()[:2]]
    assert all(alive(p) for p in pids), 'the shell was killed right after its result'
    assert [nice(p) for p in pids] == [19, 19], 'the lingering shell keeps competing for the CPU'
    if autogroups():
        assert [autogroup_nice(p) for p in pids] == [19, 19], "the lingering shell's sessions keep their CPU share"
    deadline = started + 3 + shell.KILL_GRACE_SECONDS + 2
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    assert not [p for p in pids if alive(p)], 'the shell outlived its deadline'


def test_done_marker_split_across_reads_and_a_shell_that_exits_at_once():
    rc, out, err, timed_out = shell.run_process(
        ['sh', '-c', 'printf "@@EN"; sleep 0.2; printf "D@@\\n"; sleep 0.2'], '', 10, done_marker=b'@@END@@')
    assert out.strip() == '@@END@@' and timed_out is False
    rc, out, err, timed_out = shell.run_process(['sh', '-c', 'echo @@END@@; exit 4'], '', 10, done_marker=b'@@END@@')
    assert out.strip() == '@@END@@' and rc in (None, 4)
