#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command and measure the CPU time of its whole process tree (the benchmark's controller CPU).

    cputree.py RESULT_FILE -- ansible-playbook ...

The command's exit status is this script's; RESULT_FILE gets {"rc", "wall_s", "cpu_s", "user_s", "system_s"}:
wall_s is the command's own, from its start to its exit, without this script's start-up and the
ending of what it left behind.
This process is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): every descendant that outlives its
parent, such as the SSH ControlPersist masters ansible-playbook leaves behind (they do the SSH crypto
of every task), is re-parented here instead of to init. When the command exits, those are ended
(SIGTERM, then SIGKILL after 5 s) and reaped, so the CPU of every process the command started on the
controller is in RUSAGE_CHILDREN, and nothing else is: the simulated hosts' sshd, sudo and Django
processes are children of the hosts' own sshd, not of this tree.
"""

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children():
    me = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            found.append(int(pid))
    return found


def reap_all(deadline):
    """End and reap every remaining child; SIGKILL what is still alive at the deadline."""
    for pid in children():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.time() > deadline:
                for left in children():
                    os.kill(left, signal.SIGKILL)
            time.sleep(0.05)


def main(argv):
    result_file, sep, command = argv[0], argv[1], argv[2:]
    if sep != "--" or not command:
        sys.stderr.write(__doc__)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    started = time.time()
    rc = subprocess.call(command)
    wall = time.time() - started  # the command's own: what its user waits for, not the masters' ending
    reap_all(time.time() + 5)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(result_file, "w") as f:
        json.dump({"rc": rc, "wall_s": wall, "user_s": usage.ru_utime, "system_s": usage.ru_stime,
                   "cpu_s": usage.ru_utime + usage.ru_stime}, f)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
