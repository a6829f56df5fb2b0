"""Python API over the simulated Alation fleet (the CLI `tests/testbed/testbed` wraps it).

Helper API (pure state manipulation, runs as root on the machine hosting the test bed):

    tb = Testbed()                  # default state dir /var/lib/alation-scim-testbed
    tb.hosts                        # ['alation1', 'alation2', 'alation3'] (Alation hosts)
    tb.plain_hosts                  # ['plain1'] (SSH + sudo but not Alation hosts)
    tb.inventory, tb.ca_path        # paths
    tb.address(host)                # '127.0.10.N'
    tb.knob(host, expiry_type='naive', hang=True)   # merge knobs; value None = back to default
    tb.knobs(host)                  # current knobs (defaults merged)
    tb.reset(host)                  # default knobs, fresh token valid 180 days, counters to 0
    tb.expire_in(host, days)        # current token expires now+days (negative = expired)
    tb.clear_token(host)            # no token configured yet
    tb.seed_token(host, days=180)   # new token (not counted as a rotation)
    tb.current_token(host)          # raw token value or None: tests only, never print it
    tb.token_fingerprint(host)      # 'sha256:<12 hex>' or None
    tb.expires_at(host)             # aware UTC datetime or None
    tb.rotations(host)              # calls of set_scim_bearer_token() since the last reset
    tb.launches(host)               # alation_django_shell launches since the last reset
    tb.scim_get(host, token, path='Users')  # HTTP status over HTTPS, CA verified
    tb.ssh(host, command, input=None, timeout=60)  # CompletedProcess (text) of ssh as deploy
    tb.django_shells(host)          # pids of manage.py shell processes running on the host
    tb.kill_django_shells(host)     # SIGKILL them (clean-up after a `hang` test); returns count

Token storage is the host's own Django SQLite DB (the system under simulation): table
rosemeta_scimbearertoken (one row at most) and rosemeta_scimbearertokenrotation (history,
token only as sha256).
"""

import datetime
import glob
import sys
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import sqlite3
import ssl
import subprocess
import time

STATE_DIR = os.environ.get("ALATION_SCIM_TESTBED_STATE", "/var/lib/alation-scim-testbed")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # ha_pair, next to this file
ALATION_VERSION = "2023.3.2.1"
# The collection's expiry record of a host (role default path; the test bed's hosts share /var/lib).
EXPIRY_RECORDS = "/var/lib/alation_scim/expiry.%s.json"
EXPIRY_RECORDS_NESTED = "/var/lib/alation_scim/*/expiry.%s.json"


def _load_knob_defaults():
    """The knobs' defaults live in the simulated Alation's own code (one place)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alation_django", "rosemeta", "knobs.py")
    spec = importlib.util.spec_from_file_location("_alation_testbed_knobs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULTS, module.CHOICES, module.HOST_KNOBS


DEFAULT_KNOBS, KNOB_CHOICES, HOST_KNOBS = _load_knob_defaults()
# The chroot and the test bed's sudoers file as a host's own mount namespace sees them.
CHROOT_IN_HOST = "/opt/alation/alation-" + ALATION_VERSION
SUDOERS_FILE = "/etc/sudoers.d/alation-scim-testbed"
# Where alation's home would be on a machine that had its own `alation` user (issue 12): not in the chroot.
MISSING_HOME = "/home/alation"

TOKEN_TABLE = "rosemeta_scimbearertoken"
HISTORY_TABLE = "rosemeta_scimbearertokenrotation"
VIA_DJANGO = "set_scim_bearer_token"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def db_datetime(dt):
    """Django's SQLite text form for a DateTimeField with USE_TZ=True (naive UTC)."""
    return dt.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat(" ")


def parse_db_datetime(text):
    if text is None:
        return None
    dt = datetime.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt


def new_token_value():
    return secrets.token_hex(24)


def fingerprint(token):
    if token is None:
        return None
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def coerce_knob(name, value):
    """Turn CLI strings / Python values into the knob's type; raise ValueError if invalid."""
    if name not in DEFAULT_KNOBS:
        raise ValueError("unknown knob %r (known: %s)" % (name, ", ".join(sorted(DEFAULT_KNOBS))))
    default = DEFAULT_KNOBS[name]
    if value is None:
        return default
    if isinstance(default, bool):
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("knob %s wants true/false, got %r" % (name, value))
        return bool(value)
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        num = float(value)
        return int(num) if num == int(num) else num
    if name in KNOB_CHOICES and value not in KNOB_CHOICES[name]:
        raise ValueError("knob %s must be one of %s" % (name, "|".join(KNOB_CHOICES[name])))
    return value


class _PairCursor:
    def __init__(self, rows, rowcount):
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self):
        return self.rows[0] if self.rows else None


class _PairConnection:
    """The sqlite3 calls Testbed makes, against an HA pair host's PostgreSQL (psql, SQL on stdin).

    Reads ask the host's own cluster (on the secondary: what replication brought); writes go to the
    pair's primary and return once the standby has replayed them."""

    def __init__(self, host):
        import ha_pair
        self.pair = ha_pair
        self.host = host
        self.wrote = False

    @staticmethod
    def _literal(value):
        if value is None:
            return "NULL"
        if isinstance(value, (int, float)):
            return repr(value)
        return "'" + str(value).replace("'", "''") + "'"

    def execute(self, sql, params=()):
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError("placeholders and parameters differ: %s" % sql)
        text = parts[0] + "".join(self._literal(p) + rest for p, rest in zip(params, parts[1:]))
        select = text.lstrip().upper().startswith("SELECT")
        target = self.host
        if not select:
            target = self.pair.state()["primary"]
            self.wrote = True
        else:
            text = "SELECT row_to_json(r) FROM (%s) r" % text
        lines = self.pair.psql(target, "SET TimeZone = 'UTC';\n%s;\n" % text, db=self.pair.DB_NAME)
        if select:
            return _PairCursor([tuple(json.loads(line).values()) for line in lines if line.startswith("{")], None)
        tag = lines[-1].split() if lines else []
        return _PairCursor([], int(tag[-1]) if tag and tag[-1].isdigit() else 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.wrote:
            self.pair.wait_replicated()
            self.wrote = False


class Testbed:
    """State of the test bed as seen from the machine that hosts it (root namespace)."""

    def __init__(self, state_dir=STATE_DIR):
        self.state_dir = state_dir
        self.hosts_dir = os.path.join(state_dir, "hosts")
        self.ca_path = os.path.join(state_dir, "ca", "ca.pem")
        self.inventory = os.path.join(state_dir, "inventory.yml")
        self.ssh_key = os.path.join(state_dir, "ssh", "deploy_ed25519")
        self.known_hosts = os.path.join(state_dir, "ssh", "known_hosts")
        self.fleet_file = os.path.join(state_dir, "fleet.json")

    # ---- fleet layout -------------------------------------------------
    def fleet(self):
        """{'alation': [...], 'plain': [...], 'entra': {...}} as written by `up`."""
        try:
            with open(self.fleet_file) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"alation": [], "plain": [], "entra": None}

    @property
    def hosts(self):
        return list(self.fleet()["alation"])

    @property
    def plain_hosts(self):
        return list(self.fleet()["plain"])

    @property
    def entra(self):
        """Entra simulator settings written by `up` (see inventory), or None."""
        return self.fleet().get("entra")

    @property
    def ha_hosts(self):
        """The HA pair's hosts (['alationha1', 'alationha2']) when `up --ha-pair` brought it up, else []."""
        return list((self.fleet().get("ha") or {}).get("hosts", []))

    @staticmethod
    def address(host):
        if host.startswith("alationha"):
            return "127.0.12.%d" % int(host[len("alationha"):])
        if host.startswith("alation"):
            return "127.0.10.%d" % int(host[len("alation"):])
        if host.startswith("plain"):
            return "127.0.11.%d" % int(host[len("plain"):])
        raise ValueError("not a test bed host name: %r" % host)

    def scim_base_url(self, host):
        return "https://%s:8443/scim/v2/" % self.address(host)

    def host_dir(self, host):
        return os.path.join(self.hosts_dir, host)

    def site_dir(self, host):
        return os.path.join(self.host_dir(host), "site")

    def _check_alation(self, host):
        if not os.path.isdir(self.site_dir(host)):
            raise ValueError("%s is not an Alation host of this test bed" % host)

    # ---- knobs ----------------------------------------------------------
    def knobs_path(self, host):
        return os.path.join(self.site_dir(host), "knobs.json")

    def knobs(self, host):
        self._check_alation(host)
        merged = dict(DEFAULT_KNOBS)
        try:
            with open(self.knobs_path(host)) as f:
                merged.update(json.load(f))
        except FileNotFoundError:
            pass
        return merged

    def knob(self, host, **knobs):
        self._check_alation(host)
        try:
            with open(self.knobs_path(host)) as f:
                current = json.load(f)
        except FileNotFoundError:
            current = {}
        for name, value in knobs.items():
            value = coerce_knob(name, value)
            if value == DEFAULT_KNOBS[name]:
                current.pop(name, None)
            else:
                current[name] = value
        self._write_json(self.knobs_path(host), current)
        if set(knobs) & set(HOST_KNOBS):
            self.apply_host_knobs(host)
        return self.knobs(host)

    # ---- host knobs: faults of the host itself, applied in its mount namespace ------------------
    def _sshd_pid(self, host):
        try:
            with open(os.path.join(self.host_dir(host), "run", "sshd.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    @staticmethod
    def _mounted(pid, target):
        with open("/proc/%d/mountinfo" % pid) as f:
            points = [line.split()[4].encode().decode("unicode_escape") for line in f]
        return target in points

    @staticmethod
    def _in_ns(pid, *argv):
        subprocess.run(["nsenter", "--mount=/proc/%d/ns/mnt" % pid, "--"] + list(argv), check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)

    def _override(self, host, pid, name, target, content, mode, group="root"):
        """Bind a file with `content` over `target` inside the host's namespace (None: the real one)."""
        while self._mounted(pid, target):
            self._in_ns(pid, "umount", target)
        src = os.path.join(self.host_dir(host), "overrides", name)
        if content is None:
            if os.path.exists(src):
                os.unlink(src)
            return
        os.makedirs(os.path.dirname(src), exist_ok=True)
        with open(src + ".tmp", "w") as f:
            f.write(content)
        os.chmod(src + ".tmp", mode)
        shutil.chown(src + ".tmp", "root", group)
        os.replace(src + ".tmp", src)
        self._in_ns(pid, "mount", "--bind", src, target)

    def apply_host_knobs(self, host):
        """Make the host match its host knobs (see knobs.py). The chroot shares the machine's /etc
        read-only, so a fault there is a file bound over one of its files in this host's namespace only."""
        knobs = self.knobs(host)
        pid = self._sshd_pid(host)
        if pid is None:
            return  # `up` applies them once the host runs
        with open("/etc/passwd") as f:
            passwd = f.read().splitlines(True)
        with open("/etc/shadow") as f:
            shadow = f.read().splitlines(True)
        with open("/etc/pam.d/su") as f:
            pam_su = f.read().splitlines(True)
        with open(SUDOERS_FILE) as f:
            sudoers = f.read()

        def edit(lines, user, field, value):
            out = []
            for line in lines:
                parts = line.rstrip("\n").split(":")
                if parts[0] == user:
                    parts[field] = value
                    line = ":".join(parts) + "\n"
                out.append(line)
            return "".join(out)

        passwd_text = None
        if knobs["chroot_user"] == "missing":
            passwd_text = "".join(line for line in passwd if not line.startswith("alation:"))
        elif knobs["alation_home"] == "missing":
            passwd_text = edit(passwd, "alation", 5, MISSING_HOME)
        root = CHROOT_IN_HOST
        self._override(host, pid, "passwd", root + "/etc/passwd", passwd_text, 0o644)
        self._override(host, pid, "shadow", root + "/etc/shadow",
                       edit(shadow, "alation", 7, "1") if knobs["su_auth"] == "account_expired" else None,
                       0o640, group="shadow")
        # Without pam_rootok, root is asked for alation's password like anyone else.
        self._override(host, pid, "pam.d-su", root + "/etc/pam.d/su",
                       "".join(line for line in pam_su if "pam_rootok" not in line)
                       if knobs["su_auth"] == "password_required" else None, 0o644)
        self._override(host, pid, "sudoers", SUDOERS_FILE,
                       sudoers + "Defaults:deploy requiretty\n" if knobs["sudo_requiretty"] else None, 0o440)
        shell = os.path.join(self.host_dir(host), "bin", "alation_django_shell")
        hidden = os.path.join(self.host_dir(host), "bin", ".alation_django_shell.hidden")
        if os.path.exists(hidden):
            if os.path.exists(shell):
                os.unlink(hidden)
            else:
                os.rename(hidden, shell)
        os.chmod(shell, 0o644 if knobs["shell_command"] == "not_executable" else 0o755)
        if knobs["shell_command"] == "missing":
            os.rename(shell, hidden)

    @staticmethod
    def _write_json(path, data):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # readers never see a half-written file

    # ---- token state (the host's own DB) --------------------------------
    def _db(self, host):
        self._check_alation(host)
        if os.path.exists(os.path.join(self.site_dir(host), "database.json")):
            return _PairConnection(host)
        conn = sqlite3.connect(os.path.join(self.site_dir(host), "db.sqlite3"), timeout=30)
        return conn

    # ---- the HA pair (tests/testbed/ha_pair.py) -------------------------------------------------
    def ha_pair(self):
        """{'name', 'hosts', 'primary', 'secondary', 'roles': {host: primary|standby|stopped}} or None."""
        import ha_pair
        return ha_pair.status() if self.ha_hosts else None

    def ha_failover(self, rebuild=True):
        """Promote the standby; the old primary is stopped and, with rebuild, becomes the new standby."""
        import ha_pair
        return ha_pair.failover(rebuild=rebuild)

    def ha_wait_replicated(self, timeout=30):
        """Wait until the standby has replayed everything written on the primary so far."""
        import ha_pair
        ha_pair.wait_replicated(timeout)

    def ha_reset(self):
        """The pair as `up` made it: alationha1 primary streaming to alationha2, both reset (knobs, a
        fresh 180-day token, counters at 0), the standby caught up."""
        import ha_pair
        st = ha_pair.state()
        if st["primary"] != ha_pair.HOSTS[0]:
            if ha_pair.in_recovery(st["secondary"]) is not True:
                ha_pair.create_standby(st["secondary"], st["primary"])
            ha_pair.failover(rebuild=True)
        elif ha_pair.in_recovery(st["secondary"]) is not True:
            ha_pair.create_standby(st["secondary"], st["primary"])
        for host in ha_pair.HOSTS:
            self.reset(host)
        ha_pair.wait_replicated()

    def current_token(self, host):
        with self._db(host) as conn:
            row = conn.execute("SELECT value FROM %s ORDER BY id DESC LIMIT 1" % TOKEN_TABLE).fetchone()
        return row[0] if row else None

    def token_fingerprint(self, host):
        return fingerprint(self.current_token(host))

    def expires_at(self, host):
        with self._db(host) as conn:
            row = conn.execute("SELECT expires_at FROM %s ORDER BY id DESC LIMIT 1" % TOKEN_TABLE).fetchone()
        return parse_db_datetime(row[0]) if row else None

    def clear_token(self, host):
        conn = self._db(host)
        with conn:
            conn.execute("DELETE FROM %s" % TOKEN_TABLE)
        conn.close()

    def seed_token(self, host, days=180):
        """A new token valid `days` days, put there by the test bed (not a rotation)."""
        now = utcnow()
        token = new_token_value()
        conn = self._db(host)
        with conn:
            conn.execute("DELETE FROM %s" % TOKEN_TABLE)
            conn.execute(
                "INSERT INTO %s (value, created_at, expires_at) VALUES (?, ?, ?)" % TOKEN_TABLE,
                (token, db_datetime(now), db_datetime(now + datetime.timedelta(days=days))),
            )
        conn.close()
        return fingerprint(token)

    def expire_in(self, host, days, move_record=True):
        """Move the current token's expiry to now + days (float; negative = already expired).

        This stands for time passing, so the collection's expiry record of the host (what its last
        launch saw) moves along when there is one; move_record=False instead plays a token whose
        expiry changed behind the collection's back (a restored database, a hand-made token)."""
        expires = utcnow() + datetime.timedelta(days=days)
        conn = self._db(host)
        with conn:
            cur = conn.execute("UPDATE %s SET expires_at = ?" % TOKEN_TABLE, (db_datetime(expires),))
            if cur.rowcount == 0:
                raise ValueError("%s has no token: seed_token() first" % host)
        conn.close()
        if move_record:
            self._move_expiry_record(host, expires)

    def expiry_records(self, host):
        """The collection's expiry records of `host`: the role's default path, or in a directory of
        its own (tests point alation_scim_pending_marker, and so the record, into one)."""
        return sorted(set(glob.glob(EXPIRY_RECORDS % host) + glob.glob(EXPIRY_RECORDS_NESTED % host)))

    def _move_expiry_record(self, host, expires):
        for path in self.expiry_records(host):
            try:
                with open(path) as f:
                    record = json.load(f)
            except (OSError, ValueError):
                continue
            record["expires_epoch"] = expires.timestamp()
            tmp = path + ".testbed"
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                json.dump(record, f)
            os.replace(tmp, path)

    def rotations(self, host):
        with self._db(host) as conn:
            row = conn.execute("SELECT COUNT(*) FROM %s WHERE via = ?" % HISTORY_TABLE, (VIA_DJANGO,)).fetchone()
        return row[0]

    def launches_path(self, host):
        return os.path.join(self.site_dir(host), "launches.log")

    def launches(self, host):
        self._check_alation(host)
        try:
            with open(self.launches_path(host)) as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    def reset(self, host):
        """Back to a healthy host: default knobs, fresh 180-day token, counters at 0."""
        self._check_alation(host)
        self._write_json(self.knobs_path(host), {})
        self.apply_host_knobs(host)
        conn = self._db(host)
        with conn:
            conn.execute("DELETE FROM %s" % HISTORY_TABLE)
        conn.close()
        self.seed_token(host, days=180)
        # Truncate rather than delete: the file belongs to user alation inside the chroot.
        if os.path.exists(self.launches_path(host)):
            open(self.launches_path(host), "w").close()

    # ---- SCIM endpoint ---------------------------------------------------
    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_path)

    def scim_request(self, host, token, path="Users", method="GET", body=None, timeout=10):
        """(status, parsed JSON body or None) of one SCIM call with `Authorization: Bearer token`."""
        conn = http.client.HTTPSConnection(self.address(host), 8443, context=self.ssl_context(), timeout=timeout)
        headers = {"Accept": "application/scim+json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/scim+json"
        try:
            conn.request(method, "/scim/v2/" + path.lstrip("/"), body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            parsed = None
        return resp.status, parsed

    def scim_get(self, host, token, path="Users"):
        return self.scim_request(host, token, path)[0]

    # ---- SSH and processes ---------------------------------------------------
    def ssh_argv(self, host):
        return ["ssh", "-i", self.ssh_key, "-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-p", "2222", "deploy@" + self.address(host)]

    def ssh(self, host, command, input=None, timeout=60):
        """Run `command` on `host` as deploy over real SSH (stdin = input)."""
        return subprocess.run(self.ssh_argv(host) + [command], input=input, check=False, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)

    def _host_ns(self, host):
        try:
            with open(os.path.join(self.host_dir(host), "run", "ns")) as f:
                return f.read().strip()
        except OSError:
            return None

    def django_shells(self, host):
        ns = self._host_ns(host)
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/ns/mnt" % pid) != ns:
                    continue
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"manage.py" in argv and b"shell" in argv:
                pids.append(int(pid))
        return pids

    def kill_django_shells(self, host):
        pids = self.django_shells(host)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 5
        while time.time() < deadline and self.django_shells(host):
            time.sleep(0.05)
        return len(pids)
