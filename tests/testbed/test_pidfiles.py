"""The test bed's pid files name one process for good (simbase.write_pid_file / read_pid_file).

A machine made from a disk image, or rebooted, keeps the state directory and loses the processes;
their pids then belong to anything. A pid file that named a process by its number alone would
have the launchers kill, or trust, whatever got that number. Run in the unit stage.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import simbase  # noqa: E402


def test_a_running_process_is_found(tmp_path):
    path = str(tmp_path / "server.pid")
    with subprocess.Popen(["sleep", "30"]) as proc:
        simbase.write_pid_file(path, proc.pid)
        assert simbase.read_pid_file(path) == proc.pid
        proc.kill()
        proc.wait()
        assert simbase.read_pid_file(path) is None, "a dead process is still trusted"


def test_another_process_with_the_recorded_pid_is_not_trusted(tmp_path):
    path = tmp_path / "server.pid"
    pid, started, boot = open_identity(os.getpid())
    pid = int(pid)
    for stale in ("%d\n" % pid,  # the format before identities: a bare pid
                  "%d %d %s\n" % (pid, int(started) + 1, boot),  # same pid, another start
                  "%d %s %s\n" % (pid, started, "another-boot")):  # same pid and start, before a reboot
        path.write_text(stale)
        assert simbase.read_pid_file(str(path)) is None, stale


def test_missing_or_garbled_files_name_nothing(tmp_path):
    assert simbase.read_pid_file(str(tmp_path / "absent.pid")) is None
    (tmp_path / "garbled.pid").write_text("not a pid\n")
    assert simbase.read_pid_file(str(tmp_path / "garbled.pid")) is None


def test_stop_process_leaves_a_stranger_alone(tmp_path):
    with subprocess.Popen(["sleep", "30"]) as stranger:
        (tmp_path / "server.pid").write_text("%d\n" % stranger.pid)
        simbase.stop_process(str(tmp_path))
        assert stranger.poll() is None, "stop_process killed a process it did not start"
        assert not (tmp_path / "server.pid").exists()
        stranger.kill()


def open_identity(pid):
    parts = simbase._identity(pid).split()  # pylint: disable=protected-access
    assert len(parts) == 3 and int(parts[0]) == pid
    return parts


def test_kill_strays_takes_the_simulator_on_that_address_only(tmp_path):
    script = tmp_path / "demo_sim" / "server.py"
    script.parent.mkdir()
    script.write_text("import time\ntime.sleep(30)\n")
    mine = subprocess.Popen([sys.executable, str(script), "--host", "127.0.99.1"])
    other = subprocess.Popen([sys.executable, str(script), "--host", "127.0.99.2"])
    try:
        assert simbase.kill_strays(str(script), "127.0.99.1") == 1
        assert mine.wait(timeout=5) is not None
        assert other.poll() is None, "a simulator on another address was killed"
    finally:
        for proc in (mine, other):
            proc.kill()
            proc.wait()
