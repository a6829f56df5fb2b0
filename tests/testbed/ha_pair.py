"""One Alation HA pair on real PostgreSQL (Debian's `postgresql`): a primary streaming to a hot standby.

Hosts `alationha1` (127.0.12.1) and `alationha2` (127.0.12.2) are Alation hosts like the others
(SSH, chroot, su, Django shell, SCIM over TLS); each host's Django uses the PostgreSQL cluster on its
own address (`site/database.json`), so the host whose cluster is the standby is the HA secondary:
`pg_is_in_recovery()` is true there and a Django write fails ("cannot execute ... in a read-only
transaction"), as on a real secondary. Clusters live in `hosts/<host>/pg` (run as user postgres,
sockets in `hosts/<host>/pg-run`, log `hosts/<host>/pg.log`), physical replication slot per standby.
Pair state (which host is primary) in `STATE_DIR/ha/pair.json`; DB passwords in `ha/secrets.json`.
"""

import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import time

from testbed_lib import STATE_DIR

PAIR = "ha1"
HOSTS = ("alationha1", "alationha2")
PORT = 5432
DB_NAME = DB_USER = "alation"
REPL_USER = "replicator"
HA_DIR = os.path.join(STATE_DIR, "ha")
PAIR_FILE = os.path.join(HA_DIR, "pair.json")
SECRETS_FILE = os.path.join(HA_DIR, "secrets.json")
ENV_PYTHON = os.path.join(STATE_DIR, "env", "bin", "python")
DJANGO_DIR = os.path.join(STATE_DIR, "django")

# Small and quick: this is a test bed (fsync off), but replication is the real thing.
SERVER_CONF = """# alation.scim test bed (ha_pair.py)
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
wal_keep_size = 64MB
shared_buffers = 16MB
max_connections = 40
fsync = off
synchronous_commit = on
full_page_writes = on
log_min_messages = warning
"""
HBA = """# alation.scim test bed: superuser over the socket only; Django and replication over TCP with passwords.
local   all          postgres                  trust
host    %(db)s       %(user)s     127.0.0.0/8    scram-sha-256
host    replication  %(repl)s     127.0.0.0/8    scram-sha-256
""" % {"db": DB_NAME, "user": DB_USER, "repl": REPL_USER}


class PairError(RuntimeError):
    pass


def address(host):
    return "127.0.12.%d" % (HOSTS.index(host) + 1)


def other(host):
    return HOSTS[1 - HOSTS.index(host)]


def pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PairError("PostgreSQL is not installed (no %s): run `testbed install`" % name)
    return found[-1]


def host_dir(host):
    return os.path.join(STATE_DIR, "hosts", host)


def data_dir(host):
    return os.path.join(host_dir(host), "pg")


def socket_dir(host):
    return os.path.join(host_dir(host), "pg-run")


def _run(argv, env=None, input=None, as_postgres=True, check=True):
    if as_postgres:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    proc = subprocess.run(argv, input=input, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd="/")
    if check and proc.returncode != 0:
        raise PairError("%s failed (rc=%d): %s" % (" ".join(argv), proc.returncode, proc.stdout[-2000:]))
    return proc


def pair_secrets():
    os.makedirs(HA_DIR, exist_ok=True)
    try:
        with open(SECRETS_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    data = {"db_password": secrets.token_hex(16), "repl_password": secrets.token_hex(16)}
    with os.fdopen(os.open(SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(data, f)
    return data


def database_settings(host):
    """What the host's Django gets (site/database.json): its own cluster, on its own address."""
    return {"ENGINE": "django.db.backends.postgresql", "NAME": DB_NAME, "USER": DB_USER,
            "PASSWORD": pair_secrets()["db_password"], "HOST": address(host), "PORT": PORT}


# ---------------------------------------------------------------- pair state
def state():
    try:
        with open(PAIR_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_state(primary):
    os.makedirs(HA_DIR, exist_ok=True)
    data = {"name": PAIR, "hosts": list(HOSTS), "primary": primary, "secondary": other(primary)}
    with open(PAIR_FILE + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(PAIR_FILE + ".tmp", PAIR_FILE)
    return data


# ---------------------------------------------------------------- clusters
def running(host):
    if not os.path.exists(os.path.join(data_dir(host), "PG_VERSION")):
        return False
    return _run([pg_bin("pg_ctl"), "status", "-D", data_dir(host)], check=False).returncode == 0


def start(host):
    if running(host):
        return
    os.makedirs(socket_dir(host), exist_ok=True)
    shutil.chown(socket_dir(host), "postgres", "postgres")
    opts = "-c listen_addresses=%s -c port=%d -c unix_socket_directories=%s -c cluster_name=%s" % (
        address(host), PORT, socket_dir(host), host)
    log = os.path.join(host_dir(host), "pg.log")
    if not os.path.exists(log):
        open(log, "a").close()
    shutil.chown(log, "postgres", "postgres")
    _run([pg_bin("pg_ctl"), "start", "-D", data_dir(host), "-l", log, "-w", "-t", "60", "-o", opts])


def _postmasters(host):
    """pids of postmasters of this host's data dir (also one whose data dir was removed under it)."""
    want = ("-D", data_dir(host))
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0")]
        except OSError:
            continue
        if argv and argv[0].endswith("/postgres") and any(argv[i:i + 2] == list(want) for i in range(len(argv))):
            pids.append(int(pid))
    return pids


def stop(host):
    if running(host):
        _run([pg_bin("pg_ctl"), "stop", "-D", data_dir(host), "-m", "fast", "-w", "-t", "60"])
    for pid in _postmasters(host):
        os.kill(pid, signal.SIGINT)  # fast shutdown
    _wait(lambda: not _postmasters(host), 30, "the postmaster of %s to stop" % host)


def stop_all():
    for host in HOSTS:
        stop(host)


def psql(host, sql, db="postgres"):
    """Run SQL (stdin, never argv) as the superuser over the host's socket; stdout lines."""
    proc = _run([pg_bin("psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socket_dir(host), "-p", str(PORT),
                 "-U", "postgres", "-d", db], input=sql, as_postgres=False)
    return [line for line in proc.stdout.splitlines() if line]


def in_recovery(host):
    """True on a standby, False on a primary, None when the cluster is down."""
    if not running(host):
        return None
    return psql(host, "SELECT pg_is_in_recovery();")[-1] == "t"


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def _wait(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise PairError("timed out after %ss waiting for %s" % (timeout, what))


def fresh_data_dir(host):
    stop(host)
    shutil.rmtree(data_dir(host), ignore_errors=True)
    os.makedirs(data_dir(host), mode=0o700)
    shutil.chown(data_dir(host), "postgres", "postgres")


def create_primary(host):
    """A fresh primary: initdb, roles, the Django database, the standby's slot."""
    fresh_data_dir(host)
    _run([pg_bin("initdb"), "-D", data_dir(host), "-U", "postgres", "-E", "UTF8", "--no-locale",
          "--auth-local=trust", "--auth-host=scram-sha-256"])
    with open(os.path.join(data_dir(host), "postgresql.conf"), "a") as f:
        f.write("\n" + SERVER_CONF)
    with open(os.path.join(data_dir(host), "pg_hba.conf"), "w") as f:
        f.write(HBA)
    start(host)
    pw = pair_secrets()
    psql(host, "CREATE ROLE %s LOGIN PASSWORD %s;\nCREATE ROLE %s REPLICATION LOGIN PASSWORD %s;\n"
               "CREATE DATABASE %s OWNER %s;\n" % (DB_USER, _literal(pw["db_password"]), REPL_USER,
                                                   _literal(pw["repl_password"]), DB_NAME, DB_USER))
    ensure_slot(host, other(host))


def ensure_slot(primary, standby):
    psql(primary, "SELECT pg_create_physical_replication_slot(%s) WHERE NOT EXISTS "
                  "(SELECT 1 FROM pg_replication_slots WHERE slot_name = %s);" % (_literal(standby), _literal(standby)))


def create_standby(host, primary):
    """`host` becomes a hot standby of `primary`: base backup over the replication protocol, then streaming."""
    fresh_data_dir(host)
    ensure_slot(primary, host)
    pw = pair_secrets()["repl_password"]
    env = dict(os.environ, PGPASSWORD=pw)  # environment, not argv
    _run([pg_bin("pg_basebackup"), "-h", address(primary), "-p", str(PORT), "-U", REPL_USER, "-D", data_dir(host),
          "-X", "stream", "-c", "fast"], env=env)
    with open(os.path.join(data_dir(host), "postgresql.auto.conf"), "a") as f:
        f.write("primary_conninfo = %s\nprimary_slot_name = %s\n" % (
            _literal("host=%s port=%d user=%s password=%s application_name=%s"
                     % (address(primary), PORT, REPL_USER, pw, host)), _literal(host)))
    open(os.path.join(data_dir(host), "standby.signal"), "w").close()
    _run(["chown", "-R", "postgres:postgres", data_dir(host)], as_postgres=False)
    start(host)
    wait_streaming(primary, host)


def wait_streaming(primary, standby, timeout=60):
    _wait(lambda: psql(primary, "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
                                "AND state = 'streaming';" % _literal(standby))[-1] == "1",
          timeout, "%s to stream from %s" % (standby, primary))


def wait_replicated(timeout=30):
    """Wait until the running standby has replayed everything the primary has written so far."""
    st = state()
    if not st or not running(st["secondary"]) or not running(st["primary"]):
        return
    lsn = psql(st["primary"], "SELECT pg_current_wal_lsn();")[-1]
    _wait(lambda: psql(st["secondary"], "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn;" % _literal(lsn))[-1] == "t",
          timeout, "%s to replay up to %s" % (st["secondary"], lsn))


def migrate(primary, site_dir):
    """Django's migrations on the primary (the standby gets them by replication)."""
    env = dict(os.environ, ALATION_SITE_DIR=site_dir, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([ENV_PYTHON, "manage.py", "migrate", "--noinput"], cwd=DJANGO_DIR, env=env, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0:
        raise PairError("migrate on %s failed: %s" % (primary, proc.stdout[-2000:]))


def ensure(site_dir_of, django_hash):
    """Bring the pair's clusters up as they were left; build them when missing. Returns (state, fresh)."""
    st = state()
    complete = st and all(os.path.exists(os.path.join(data_dir(h), "PG_VERSION")) for h in HOSTS)
    fresh = not complete
    if fresh:
        create_primary(HOSTS[0])
        st = save_state(HOSTS[0])
        migrate(HOSTS[0], site_dir_of(HOSTS[0]))
        create_standby(HOSTS[1], HOSTS[0])
    else:
        start(st["primary"])
        start(st["secondary"])
        # The data dirs decide: a secondary left stopped or promoted by hand is rebuilt.
        if in_recovery(st["primary"]):
            raise PairError("%s is recorded as the primary but its cluster is in recovery" % st["primary"])
        if not in_recovery(st["secondary"]):
            create_standby(st["secondary"], st["primary"])
    stamp = os.path.join(HA_DIR, "django.hash")
    have = open(stamp).read().strip() if os.path.exists(stamp) else None
    if fresh or have != django_hash:
        migrate(st["primary"], site_dir_of(st["primary"]))
        with open(stamp, "w") as f:
            f.write(django_hash + "\n")
    wait_replicated()
    return st, fresh


def failover(rebuild=True):
    """Promote the standby; the old primary is stopped and, with rebuild, made a standby of the new one."""
    st = state()
    if st is None:
        raise PairError("no HA pair (run `testbed up --ha-pair`)")
    old, new = st["primary"], st["secondary"]
    if in_recovery(new) is not True:
        raise PairError("%s is not a running standby: nothing to promote" % new)
    stop(old)  # a real failover fences the old primary first
    _run([pg_bin("pg_ctl"), "promote", "-D", data_dir(new), "-w", "-t", "60"])
    _wait(lambda: in_recovery(new) is False, 60, "%s to leave recovery" % new)
    st = save_state(new)
    if rebuild:
        create_standby(old, new)
    return st


def status():
    st = state()
    if st is None:
        return None
    return dict(st, roles={h: {None: "stopped", True: "standby", False: "primary"}[in_recovery(h)] for h in HOSTS})
