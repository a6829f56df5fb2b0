"""The test bed's own accounts (`alation`, `deploy`): made, repaired or refused, and files that a
former account with the same name left in the state directory handed to the current one.

A machine may already have an `alation` user (home /home/alation, another shell) or a `deploy`
user; the test bed needs its own setup for them (`su - alation` inside the chroot starts in
/opt/alation; sshd refuses key logins to a locked `deploy`). `plan()` decides from the account
as found, without side effects (unit-tested); `ensure()` carries the plan out with useradd /
usermod, or raises Refused with what to do.
"""

import collections
import grp
import json
import os
import pwd
import subprocess

Account = collections.namedtuple("Account", "name home shell system create_home key_login")

TESTBED_ACCOUNTS = (
    Account("alation", "/opt/alation", "/bin/bash", system=True, create_home=False, key_login=False),
    Account("deploy", "/home/deploy", "/bin/bash", system=False, create_home=True, key_login=True),
)
RECORD = "accounts.json"  # {name: [uid, gid]} as the test bed last set them up, in the state dir


class Refused(RuntimeError):
    pass


def plan(account, entry, password_hash, group_exists, foreign_processes):
    """The commands that give `account` the test bed's setup, or Refused.

    entry: pwd entry or None; password_hash: its /etc/shadow field (None if unknown);
    group_exists: a group named like the account exists; foreign_processes: [(pid, command)]
    running as the account outside the test bed's own hosts.
    """
    name = account.name
    if entry is None:
        cmd = ["useradd", "--home-dir", account.home, "--shell", account.shell]
        cmd += ["--system"] if account.system else []
        cmd += ["--create-home"] if account.create_home else ["--no-create-home"]
        cmd += ["--user-group"] if not group_exists else ["--gid", name]
        steps = [cmd + [name]]
        if account.key_login:
            # '*' = no password, but not locked (sshd refuses key logins to locked accounts)
            steps.append(["usermod", "-p", "*", name])
        return steps
    changes = []
    if entry.pw_dir != account.home:
        changes.append(("home", entry.pw_dir, account.home, ["--home", account.home]))
    if entry.pw_shell != account.shell:
        changes.append(("shell", entry.pw_shell, account.shell, ["--shell", account.shell]))
    steps = [] if group_exists else [["groupadd", name]]
    if changes and foreign_processes:
        pid, command = foreign_processes[0]
        raise Refused(
            "user %s (uid %d) exists with %s, but the test bed needs %s; it is in use by process %d "
            "(%s), outside the test bed, so it was left as it is. Fix: stop that process, or remove the "
            "account (userdel %s) or give it that setup yourself (usermod%s %s), then run `testbed install` "
            "again." % (
                name, entry.pw_uid, " and ".join("%s %s" % (what, old) for what, old, _new, _opt in changes),
                " and ".join("%s %s" % (what, new) for what, _old, new, _opt in changes),
                pid, command[:80], name, "".join(" " + " ".join(opt) for _w, _o, _n, opt in changes), name))
    if changes:
        steps.append(["usermod"] + [o for _w, _o, _n, opt in changes for o in opt] + [name])
    if account.key_login and (password_hash or "").startswith("!"):
        steps.append(["usermod", "-p", "*", name])
    return steps


def describe(steps):
    return "; ".join(" ".join(s) for s in steps)


def stale_owners(record, current):
    """({old uid: new uid}, {old gid: new gid}) for accounts the record knew under other ids
    (deleted and made again). record, current: {name: [uid, gid]}."""
    uids, gids = {}, {}
    for name, (uid, gid) in record.items():
        if name in current:
            new_uid, new_gid = current[name]
            if uid != new_uid:
                uids[uid] = new_uid
            if gid != new_gid:
                gids[gid] = new_gid
    return uids, gids


def hand_over(root, uids, gids):
    """Give every file under `root` owned by an old uid / gid to the new one; how many changed."""
    changed = 0
    for dirpath, dirnames, filenames in os.walk(root):
        # a directory is handled as its own dirpath; symlinks to directories are handled here
        names = filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for path in [dirpath] + [os.path.join(dirpath, n) for n in names]:
            st = os.lstat(path)
            uid, gid = uids.get(st.st_uid, -1), gids.get(st.st_gid, -1)
            if uid != -1 or gid != -1:
                os.lchown(path, uid, gid)
                changed += 1
    return changed


# ------------------------------------------------------------------ reading the machine
def _entry(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _password_hash(name):
    try:
        with open("/etc/shadow") as f:
            for line in f:
                fields = line.split(":")
                if fields[0] == name:
                    return fields[1]
    except OSError:
        pass
    return None


def mount_ns(pid):
    try:
        return os.readlink("/proc/%s/ns/mnt" % pid)
    except OSError:
        return None


def processes_of(uid, own_namespaces):
    """[(pid, command)] running as uid outside the mount namespaces in own_namespaces."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat("/proc/" + pid).st_uid != uid:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                command = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if mount_ns(pid) not in own_namespaces:
            out.append((int(pid), command or "?"))
    return out


def ensure(accounts, state_dir, own_namespaces, run, log, stop_hosts):
    """Set each account up (plan + run), then hand files of re-made accounts to their new ids.
    stop_hosts() stops the test bed's hosts: before usermod on an account they use, and when
    files changed owner (`up` restarts them)."""
    for account in accounts:
        entry = _entry(account.name)
        foreign = processes_of(entry.pw_uid, own_namespaces) if entry else []
        steps = plan(account, entry, _password_hash(account.name), _group_exists(account.name), foreign)
        if steps:
            log("account %s: %s" % (account.name, describe(steps)))
        if entry and any(s[0] == "usermod" for s in steps) and processes_of(entry.pw_uid, ()):
            stop_hosts()  # usermod refuses an account in use; only the test bed's own use it here
        for step in steps:
            run(step)
        if account.create_home and not os.path.isdir(account.home):
            # a repaired home that did not exist yet (Ansible writes ~/.ansible there)
            os.makedirs(account.home, mode=0o750)
            os.chown(account.home, pwd.getpwnam(account.name).pw_uid, grp.getgrnam(account.name).gr_gid)
    record_path = os.path.join(state_dir, RECORD)
    try:
        with open(record_path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        record = {}
    current = dict((a.name, [pwd.getpwnam(a.name).pw_uid, grp.getgrnam(a.name).gr_gid]) for a in accounts)
    uids, gids = stale_owners(record, current)
    if not record:
        # No record yet (a state dir from before this one was kept): files of a deleted account
        # are the former alation's, the only account owning files there besides root.
        uids.update((uid, current["alation"][0]) for uid in orphan_uids(state_dir) if "alation" in current)
    moved = 0
    if uids or gids:
        moved = hand_over(state_dir, uids, gids)
        log("files of former accounts (uid %s, gid %s) handed to the current ones: %d" % (
            ", ".join("%d->%d" % kv for kv in sorted(uids.items())) or "-",
            ", ".join("%d->%d" % kv for kv in sorted(gids.items())) or "-", moved))
    if moved:
        stop_hosts()
    if record != current:
        os.makedirs(state_dir, exist_ok=True)
        with open(record_path, "w") as f:
            json.dump(current, f)


def orphan_uids(root):
    """uids owning files under root that no account has."""
    found = set()
    for dirpath, _dirnames, filenames in os.walk(root):
        for path in [dirpath] + [os.path.join(dirpath, n) for n in filenames]:
            uid = os.lstat(path).st_uid
            if uid not in found:
                try:
                    pwd.getpwuid(uid)
                except KeyError:
                    found.add(uid)
    return found


def run_checked(cmd):
    proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise Refused("%s failed (rc=%d): %s" % (" ".join(cmd), proc.returncode, proc.stdout.strip()[-500:]))
