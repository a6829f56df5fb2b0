"""Builds, starts and stops the simulated Alation fleet (used by the `testbed` CLI; run as root).

Layout under STATE_DIR (/var/lib/alation-scim-testbed):
  env/                 the simulated Alation's Django venv (Debian's /usr/bin/python3)
  django/              copy of tests/testbed/alation_django (bind-mounted ro into every chroot)
  ca/                  test CA; ssh/ deploy key + known_hosts; entra/ simulator cert, config, log
  hosts/<host>/        initd/ opt/ site/ bin/ ssh/ run/ tmp/ lock/ log
  fleet.json           which hosts and simulator settings are up; inventory.yml
"""

import datetime
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import secrets

import accounts
import ha_pair
import simbase
import testbed_lib
from testbed_lib import ALATION_VERSION, STATE_DIR, Testbed

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")
DJANGO_SRC = os.path.join(HERE, "alation_django")
ENTRA_SERVER = os.path.join(HERE, "entra_sim", "server.py")
ALATION_REQS = os.path.join(HERE, "requirements-alation.txt")

APT_PACKAGES = ["openssh-server", "openssh-client", "sudo", "rsyslog", "iproute2", "procps",
                "openssl", "util-linux", "python3-venv", "postgresql"]
ENV_DIR = os.path.join(STATE_DIR, "env")
DJANGO_DIR = os.path.join(STATE_DIR, "django")
ENTRA_ADDRESS = "127.0.20.1"
SSH_PORT = 2222
SCIM_PORT = 8443


def log(msg):
    print("testbed: " + msg, flush=True)


def run(cmd, **kw):
    check = kw.pop("check", True)
    return subprocess.run(cmd, check=check, **kw)


def quiet(cmd, **kw):
    """Run, and on failure raise with the command's output (kept out of the way otherwise)."""
    proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (rc=%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stdout[-3000:]))
    return proc.stdout


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def template(name, **values):
    with open(os.path.join(FILES, name)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    return text


pid_alive = simbase.running  # alive and not a zombie


def process_name(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def port_open(addr, port, timeout=0.2):
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))


# ------------------------------------------------------------------ install
def dpkg_missing(packages):
    missing = []
    for p in packages:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], check=False, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout
        if "install ok installed" not in out:
            missing.append(p)
    return missing


def file_hash(*paths):
    h = hashlib.sha256()
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in sorted(os.walk(path)):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for f in sorted(files):
                    if f.endswith(".pyc"):
                        continue
                    p = os.path.join(root, f)
                    h.update(os.path.relpath(p, path).encode())
                    with open(p, "rb") as fh:
                        h.update(fh.read())
        else:
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def install():
    missing = dpkg_missing(APT_PACKAGES)
    if missing:
        log("apt-get install " + " ".join(missing))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        res = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing, env=env,
                             check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if res.returncode != 0:
            # A stale package list is the usual cause on a fresh machine.
            quiet(["apt-get", "update"], env=env)
            quiet(["apt-get", "install", "-y", "--no-install-recommends"] + missing, env=env)
    os.makedirs(STATE_DIR, exist_ok=True)
    os.chmod(STATE_DIR, 0o755)
    marker = os.path.join(ENV_DIR, ".testbed-requirements")
    want = file_hash(ALATION_REQS)
    try:
        with open(marker) as f:
            have = f.read().strip()
    except OSError:
        have = None
    if have != want:
        log("building the simulated Alation's venv at %s" % ENV_DIR)
        if not os.path.exists(os.path.join(ENV_DIR, "bin", "python")):
            quiet(["/usr/bin/python3", "-m", "venv", ENV_DIR])
        quiet([os.path.join(ENV_DIR, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
               "-r", ALATION_REQS])
        write(marker, want + "\n")
    ensure_rsyslog()
    ensure_users()
    log("install: done")


RSYSLOG_CONF = """# rsyslogd of the alation.scim test bed: everything (auth and user included) to
# /var/log/syslog, which the leak tests read. No imklog: no kernel log in a container.
module(load="imuxsock")
$FileCreateMode 0640
*.* /var/log/syslog
"""


def ensure_rsyslog():
    conf = os.path.join(STATE_DIR, "rsyslog.conf")
    pidfile = os.path.join(STATE_DIR, "rsyslogd.pid")
    pid = read_pid(pidfile)
    if pid and pid_alive(pid) and process_name(pid) == "rsyslogd" and os.path.exists("/dev/log"):
        return  # (the name check: after a reboot the pid file may name another process)
    others = subprocess.run(["pgrep", "-x", "rsyslogd"], check=False, stdout=subprocess.PIPE, universal_newlines=True).stdout.split()
    if others and os.path.exists("/dev/log"):
        log("a syslog daemon not started by the test bed is running (pid %s); using it" % ",".join(others))
        return
    write(conf, RSYSLOG_CONF)
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    quiet(["/usr/sbin/rsyslogd", "-f", conf, "-i", pidfile])
    wait_for(lambda: os.path.exists("/dev/log") and read_pid(pidfile), 10, "rsyslogd's /dev/log")
    log("rsyslogd started (pid %s)" % read_pid(pidfile))


# ------------------------------------------------------------------ shared pieces
def ensure_users():
    """The accounts `alation` and `deploy` as the test bed needs them (made, repaired, or refused
    with what to do: accounts.py), then deploy's sudo rule and SSH key."""
    tb = Testbed()
    hosts = os.listdir(tb.hosts_dir) if os.path.isdir(tb.hosts_dir) else []
    own = set()
    for h in hosts:
        ns_file = os.path.join(tb.host_dir(h), "run", "ns")
        if os.path.exists(ns_file):
            own.add(open(ns_file).read().strip())

    def stop_hosts():
        log("stopping the test bed's hosts (they use an account being changed)")
        for h in sorted(hosts):
            stop_host(tb, h)

    try:
        accounts.ensure(accounts.TESTBED_ACCOUNTS, STATE_DIR, own, accounts.run_checked, log, stop_hosts)
    except accounts.Refused as exc:
        raise RuntimeError(str(exc))
    os.makedirs("/opt/alation", exist_ok=True)
    sudoers = "/etc/sudoers.d/alation-scim-testbed"
    write(sudoers, "# alation.scim test bed: the Ansible login user\ndeploy ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440)
    quiet(["visudo", "-cf", sudoers])

    key = os.path.join(STATE_DIR, "ssh", "deploy_ed25519")
    os.makedirs(os.path.dirname(key), exist_ok=True)
    if not os.path.exists(key):
        quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy@alation-scim-testbed", "-f", key])
    with open(key + ".pub") as f:
        pub = f.read()
    ssh_dir = "/home/deploy/.ssh"
    os.makedirs(ssh_dir, exist_ok=True)
    write(os.path.join(ssh_dir, "authorized_keys"), pub, 0o600)
    shutil.chown(ssh_dir, "deploy", "deploy")
    os.chmod(ssh_dir, 0o700)
    shutil.chown(os.path.join(ssh_dir, "authorized_keys"), "deploy", "deploy")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def _trustme():
    try:
        import trustme
    except ImportError:
        raise RuntimeError("the test bed makes its CA and certificates with trustme, which %s lacks: run it with the "
                           "project venv's python (.venv/bin/python tests/testbed/testbed ...; scripts/test.sh makes "
                           "the venv), or pip install -r tests/requirements.txt" % sys.executable)
    return trustme


def _write_pem(path, blob, mode):
    """Write a trustme PEM blob; a private key is never readable by others, not even for a moment."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(blob.bytes())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def ensure_ca():
    """The test CA (ca.pem, ca.key: PEM, EC P-256), made once by trustme and kept."""
    ca_dir = os.path.join(STATE_DIR, "ca")
    os.makedirs(ca_dir, exist_ok=True)
    ca_key, ca_pem = os.path.join(ca_dir, "ca.key"), os.path.join(ca_dir, "ca.pem")
    if not (os.path.exists(ca_key) and os.path.exists(ca_pem)):
        ca = _trustme().CA(organization_name="alation.scim test bed")
        _write_pem(ca_key, ca.private_key_pem, 0o600)
        _write_pem(ca_pem, ca.cert_pem, 0o644)
    return ca_pem, ca_key


def issue_cert(name, ip, out_dir, owner=None):
    """server.pem/server.key for `ip` (and DNS `name`) signed by the test CA (kept if still for the same IP)."""
    ca_pem, ca_key = ensure_ca()
    os.makedirs(out_dir, exist_ok=True)
    crt, key = os.path.join(out_dir, "server.pem"), os.path.join(out_dir, "server.key")
    stamp = os.path.join(out_dir, "issued-for")
    want = "%s %s %s\n" % (name, ip, file_hash(ca_pem))
    if os.path.exists(crt) and os.path.exists(key) and os.path.exists(stamp) and open(stamp).read() == want:
        return crt, key
    with open(ca_pem, "rb") as f_pem, open(ca_key, "rb") as f_key:
        ca = _trustme().CA.from_pem(f_pem.read(), f_key.read())
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = ca.issue_cert(ip, name, common_name=name, not_before=now - datetime.timedelta(hours=1),
                         not_after=now + datetime.timedelta(days=825))
    _write_pem(key, leaf.private_key_pem, 0o600)
    _write_pem(crt, leaf.cert_chain_pems[0], 0o644)
    if owner:
        shutil.chown(key, owner, owner)
        shutil.chown(crt, owner, owner)
    write(stamp, want)
    return crt, key


def sync_django():
    """Copy the Django project into the state dir; True if it changed (hosts need a restart)."""
    want = file_hash(DJANGO_SRC)
    stamp = os.path.join(STATE_DIR, "django.hash")
    have = open(stamp).read().strip() if os.path.exists(stamp) else None
    if have == want and os.path.isdir(DJANGO_DIR):
        return False
    shutil.rmtree(DJANGO_DIR, ignore_errors=True)
    shutil.copytree(DJANGO_SRC, DJANGO_DIR, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for root, dirs, files in os.walk(DJANGO_DIR):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    write(stamp, want + "\n")
    return True


def template_db():
    """A migrated, empty Django DB to copy into new hosts (faster than migrating each)."""
    path = os.path.join(STATE_DIR, "template.sqlite3")
    stamp = path + ".hash"
    want = file_hash(DJANGO_DIR)
    if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read().strip() == want:
        return path
    tmp_site = os.path.join(STATE_DIR, "template-site")
    shutil.rmtree(tmp_site, ignore_errors=True)
    os.makedirs(os.path.join(tmp_site, "logs"))
    env = dict(os.environ, ALATION_SITE_DIR=tmp_site, PYTHONDONTWRITEBYTECODE="1")
    quiet([os.path.join(ENV_DIR, "bin", "python"), "manage.py", "migrate", "--noinput"], cwd=DJANGO_DIR, env=env)
    shutil.move(os.path.join(tmp_site, "db.sqlite3"), path)
    shutil.rmtree(tmp_site)
    write(stamp, want + "\n")
    return path


# ------------------------------------------------------------------ hosts
def migrate_host_db(site, fresh):
    """Bring an existing host's DB to the Django project's migrations (its token stays); a fresh
    copy of the template DB already is."""
    stamp = os.path.join(site, "db.migrated")
    want = file_hash(DJANGO_DIR)
    if fresh or (os.path.exists(stamp) and open(stamp).read().strip() == want):
        write(stamp, want + "\n")
        return
    env = dict(os.environ, ALATION_SITE_DIR=site, PYTHONDONTWRITEBYTECODE="1")
    # as alation: files Django creates in the site dir (its log) must stay writable by gunicorn
    quiet(["runuser", "-u", "alation", "--", os.path.join(ENV_DIR, "bin", "python"), "manage.py", "migrate",
           "--noinput"], cwd=DJANGO_DIR, env=env)
    write(stamp, want + "\n")


def host_names(n_alation, n_plain):
    return ["alation%d" % i for i in range(1, n_alation + 1)], ["plain%d" % i for i in range(1, n_plain + 1)]


def prepare_host(tb, host, kind, database=None):
    """Write the host's directories and files; returns a hash of its configuration."""
    hd = tb.host_dir(host)
    addr = tb.address(host)
    for d in ("initd", "opt", "ssh", "run", "lock"):
        os.makedirs(os.path.join(hd, d), exist_ok=True)
    os.makedirs(os.path.join(hd, "tmp"), exist_ok=True)
    os.chmod(os.path.join(hd, "tmp"), 0o1777)
    os.chmod(os.path.join(hd, "lock"), 0o1777)
    hostkey = os.path.join(hd, "ssh", "ssh_host_ed25519_key")
    if not os.path.exists(hostkey):
        quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@" + host, "-f", hostkey])
    write(os.path.join(hd, "ssh", "sshd_config"), template("sshd_config", HOST=host, ADDRESS=addr, HOST_DIR=hd))
    if kind == "alation":
        prepare_alation(tb, host, database)
    return file_hash(os.path.join(hd, "ssh", "sshd_config"), os.path.join(FILES))


def prepare_alation(tb, host, database=None):
    """database: Django's DATABASES entry for a PostgreSQL host (the HA pair); None = SQLite in the site dir."""
    hd = tb.host_dir(host)
    addr = tb.address(host)
    write(os.path.join(hd, "initd", "alation"), template("init.d-alation"), 0o755)
    opt = os.path.join(hd, "opt")
    root = os.path.join(opt, "alation-" + ALATION_VERSION)
    link = os.path.join(opt, "alation")
    if not os.path.islink(link):
        os.symlink("alation-" + ALATION_VERSION, link)
    # The chroot: mount points, usr-merge symlinks, its own /tmp, /var, /run.
    for d in ("usr", "etc", "dev", "proc", "var/tmp", "var/log", "run", "home",
              "opt/alation/django", "opt/alation/env", "opt/alation/site", "opt/alation/bin"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for d in ("tmp", "var/tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, d), 0o1777)
    for name in ("bin", "lib", "lib64", "sbin"):
        p = os.path.join(root, name)
        if not os.path.islink(p) and os.path.lexists("/" + name):
            os.symlink("usr/" + name, p)
    home = os.path.join(root, "opt", "alation")
    write(os.path.join(home, ".profile"), template("profile", VERSION=ALATION_VERSION))
    shutil.chown(home, "alation", "alation")
    shutil.chown(os.path.join(home, ".profile"), "alation", "alation")
    # bin: alation_django_shell
    bindir = os.path.join(hd, "bin")
    os.makedirs(bindir, exist_ok=True)
    write(os.path.join(bindir, "alation_django_shell"), template("alation_django_shell"), 0o755)
    # site: this host's data
    site = tb.site_dir(host)
    for d in ("", "logs", "run", "tls"):
        os.makedirs(os.path.join(site, d), exist_ok=True)
        shutil.chown(os.path.join(site, d), "alation", "alation")
    write(os.path.join(site, "host.json"), json.dumps({"name": host, "address": addr, "port": SCIM_PORT}) + "\n")
    issue_cert(host, addr, os.path.join(site, "tls"), owner="alation")
    if database:
        write(os.path.join(site, "database.json"), json.dumps(database) + "\n", 0o600)
        shutil.chown(os.path.join(site, "database.json"), "alation", "alation")
    db = os.path.join(site, "db.sqlite3")
    fresh = not database and not os.path.exists(db)
    if fresh:
        shutil.copy(template_db(), db)
        shutil.chown(db, "alation", "alation")
        os.chmod(db, 0o640)
    if not database:
        migrate_host_db(site, fresh)  # a pair host's schema is the pair's (ha_pair.ensure migrates its primary)
    if not os.path.exists(tb.knobs_path(host)):
        tb._write_json(tb.knobs_path(host), {})
    for f in ("launches.log",):
        p = os.path.join(site, f)
        if not os.path.exists(p):
            open(p, "w").close()
        shutil.chown(p, "alation", "alation")
    if fresh:
        tb.seed_token(host, days=180)


ns_of = accounts.mount_ns


def in_host_namespace(pid, host):
    """Whether process `pid` runs in `host`'s mount namespace: there, the host's own directories are
    bound in (hostns.sh: /tmp, /etc/init.d, and inside the chroot the site). A namespace id alone is
    not enough: ids are reused, and a record left from before a reboot (or from a host that died)
    may name another host's namespace. A chrooted process (gunicorn) sees only the mounts under its
    root, hence any of the host's binds, not one mount point."""
    own = "/hosts/%s/" % host
    try:
        with open("/proc/%d/mountinfo" % pid) as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and own in fields[3] + "/":
                    return True
    except OSError:
        pass
    return False


def host_running(tb, host):
    pid = read_pid(os.path.join(tb.host_dir(host), "run", "sshd.pid"))
    return bool(pid and pid_alive(pid) and in_host_namespace(pid, host) and port_open(tb.address(host), SSH_PORT))


def stop_host(tb, host):
    """Kill every process in the host's mount namespace (sshd, sessions, gunicorn)."""
    hd = tb.host_dir(host)
    ns_file = os.path.join(hd, "run", "ns")
    ns = open(ns_file).read().strip() if os.path.exists(ns_file) else None
    sshd_pid = read_pid(os.path.join(hd, "run", "sshd.pid"))
    if ns is None and sshd_pid and pid_alive(sshd_pid):
        ns = ns_of(sshd_pid)
    if not ns or ns == ns_of(1) or ns == ns_of(os.getpid()):
        return
    simbase.terminate(lambda: [int(p) for p in os.listdir("/proc")
                               if p.isdigit() and ns_of(int(p)) == ns and in_host_namespace(int(p), host)])
    for f in ("ns", "sshd.pid"):
        try:
            os.unlink(os.path.join(hd, "run", f))
        except FileNotFoundError:
            pass
    gpid = os.path.join(tb.site_dir(host), "run", "gunicorn.pid")
    if os.path.exists(gpid):
        os.unlink(gpid)


def start_host(tb, host, kind):
    hd = tb.host_dir(host)
    logf = open(os.path.join(hd, "host.log"), "ab")
    offset = logf.tell()
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", os.path.join(FILES, "hostns.sh"),
         hd, kind, STATE_DIR, ALATION_VERSION],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
    )
    logf.close()
    proc.log_offset = offset  # host.log keeps every start: an error shows this one's part only
    return proc


def wait_host(tb, host, kind, proc, timeout=60):
    addr = tb.address(host)

    def ready():
        if proc.poll() is not None:
            with open(os.path.join(tb.host_dir(host), "host.log"), "rb") as f:
                f.seek(getattr(proc, "log_offset", 0))
                tail = f.read().decode(errors="replace")[-2000:] or "(empty)"
            raise RuntimeError("%s exited during start-up (rc=%s); host.log:\n%s" % (host, proc.returncode, tail))
        if not port_open(addr, SSH_PORT):
            return False
        return kind != "alation" or port_open(addr, SCIM_PORT)

    wait_for(ready, timeout, "%s (ssh %s:%d%s)" % (host, addr, SSH_PORT, ", scim :8443" if kind == "alation" else ""))
    write(os.path.join(tb.host_dir(host), "run", "ns"), ns_of(proc.pid) + "\n")


def known_hosts_line(tb, host):
    with open(os.path.join(tb.host_dir(host), "ssh", "ssh_host_ed25519_key.pub")) as f:
        keytype, key = f.read().split()[:2]
    return "[%s]:%d %s %s\n" % (tb.address(host), SSH_PORT, keytype, key)


# ------------------------------------------------------------------ Entra simulator
def entra_config(tb, hosts):
    """Stable ids and secret per host set; config.json in the simulator's format."""
    d = os.path.join(STATE_DIR, "entra")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.json")
    meta_path = os.path.join(d, "testbed.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    if "tenant_id" not in meta:
        meta = {"tenant_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()),
                "client_secret": secrets.token_urlsafe(30), "hosts": {}}
    for h in hosts:
        meta["hosts"].setdefault(h, {
            "service_principal_id": str(uuid.uuid4()),
            "job_id": "scim.%s.%s" % (uuid.uuid4().hex, uuid.uuid4().hex),
        })
    write(meta_path, json.dumps(meta, indent=1, sort_keys=True) + "\n", 0o600)
    config = {
        "tenants": {meta["tenant_id"]: {"apps": {meta["client_id"]: {
            "secret": meta["client_secret"], "permissions": ["Synchronization.ReadWrite.All"]}}}},
        "service_principals": {
            meta["hosts"][h]["service_principal_id"]: {
                "tenant": meta["tenant_id"], "display_name": "Alation %s" % h,
                "jobs": [{"id": meta["hosts"][h]["job_id"], "templateId": "scim", "status": "Active"}],
            } for h in hosts
        },
    }
    write(path, json.dumps(config, indent=1, sort_keys=True) + "\n", 0o600)
    url = "https://%s:%d" % (ENTRA_ADDRESS, SCIM_PORT)
    return {
        "url": url, "authority_url": url, "graph_url": url, "admin_url": url + "/_sim/",
        "ca_path": tb.ca_path, "config": path,
        "tenant_id": meta["tenant_id"], "client_id": meta["client_id"], "client_secret": meta["client_secret"],
        "hosts": {h: meta["hosts"][h] for h in hosts},
    }


def stop_entra():
    pidfile = os.path.join(STATE_DIR, "entra", "server.pid")
    pid = simbase.read_pid_file(pidfile)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 5
        while time.time() < deadline and pid_alive(pid):
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    simbase.kill_strays(ENTRA_SERVER, ENTRA_ADDRESS)  # and any the pid file does not name
    if os.path.exists(pidfile):
        os.unlink(pidfile)


def entra_answers(base_url, ca_path):
    # Not up yet shows in many ways (refused, reset, TLS EOF, timeout): any of them means "not yet".
    try:
        return simbase.admin_call(base_url, ca_path, "GET", "/_sim/state", timeout=2)[0] == 200
    except Exception:  # pylint: disable=broad-except
        return False


def start_entra(tb, hosts, python):
    if not os.path.exists(ENTRA_SERVER):
        log("Entra simulator %s not found: not starting it (inventory has no Entra values)" % ENTRA_SERVER)
        return None
    d = os.path.join(STATE_DIR, "entra")
    info = entra_config(tb, hosts)
    crt, key = issue_cert("entra-sim", ENTRA_ADDRESS, d)
    pidfile = os.path.join(d, "server.pid")
    stamp = os.path.join(d, "running.hash")
    # The interpreter is not part of the stamp: restarting under a running session hurts more.
    want = file_hash(ENTRA_SERVER, *simbase.SHARED_CODE, info["config"], crt)
    pid = simbase.read_pid_file(pidfile)
    if pid and os.path.exists(stamp) and open(stamp).read().strip() == want \
            and port_open(ENTRA_ADDRESS, SCIM_PORT):
        return info
    stop_entra()
    logf = open(os.path.join(d, "server.log"), "ab")
    proc = subprocess.Popen(
        [python, ENTRA_SERVER, "--host", ENTRA_ADDRESS, "--port", str(SCIM_PORT), "--cert", crt, "--key", key,
         "--ca", tb.ca_path, "--config", info["config"]],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
    )
    logf.close()
    # Ready = it answers its admin API over TLS (a bare TCP connect could be met by another
    # listener), and it is still running afterwards.
    base_url = "https://%s:%d" % (ENTRA_ADDRESS, SCIM_PORT)
    try:
        wait_for(lambda: proc.poll() is not None or entra_answers(base_url, tb.ca_path),
                 30, "Entra simulator on %s:%d" % (ENTRA_ADDRESS, SCIM_PORT))
    except RuntimeError:
        proc.kill()
        raise
    if proc.poll() is not None:
        tail = open(os.path.join(d, "server.log"), errors="replace").read()[-2000:]
        raise RuntimeError("Entra simulator exited (rc=%s):\n%s" % (proc.returncode, tail))
    simbase.write_pid_file(pidfile, proc.pid)
    write(stamp, want + "\n")
    log("Entra simulator up at https://%s:%d (pid %d)" % (ENTRA_ADDRESS, SCIM_PORT, proc.pid))
    return info


# ------------------------------------------------------------------ inventory
def y(value):
    """A YAML scalar: JSON strings are valid YAML double-quoted scalars."""
    return json.dumps(value)


def write_inventory(tb, controller_python):
    fleet = tb.fleet()
    common = {
        "ansible_port": SSH_PORT,
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": tb.ssh_key,
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                                   % tb.known_hosts,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    entra = fleet.get("entra")
    ha = fleet.get("ha") or {}
    lines = ["# Written by tests/testbed/testbed (alation.scim test bed). Do not edit.", "all:", "  hosts:",
             "    localhost:", "      ansible_connection: local",
             "      ansible_python_interpreter: %s" % y(controller_python), "  children:"]
    # alation_ha: the HA pair, declared by alation_scim_ha_pair (same value on both hosts); it is not in
    # `alation`, so a play against `alation` never reaches a secondary by accident.
    groups = (("alation", fleet["alation"]), ("alation_ha", ha.get("hosts", [])), ("plain", fleet["plain"]))
    for group, hosts in groups:
        if group == "alation_ha" and not hosts:
            continue
        lines += ["    %s:" % group, "      hosts:" if hosts else "      hosts: {}"]
        for h in hosts:
            lines.append("        %s:" % h)
            hv = {"ansible_host": tb.address(h)}
            hv.update(common)
            if group != "plain":
                hv["alation_scim_base_url"] = tb.scim_base_url(h)
                hv["alation_scim_ca_path"] = tb.ca_path
                idp_target = ha["name"] if group == "alation_ha" else h
                if group == "alation_ha":
                    hv["alation_scim_ha_pair"] = ha["name"]
                if entra and idp_target in entra["hosts"]:
                    hv["alation_scim_entra_service_principal_id"] = entra["hosts"][idp_target]["service_principal_id"]
                    hv["alation_scim_entra_job_id"] = entra["hosts"][idp_target]["job_id"]
            lines += ["          %s: %s" % (k, y(v)) for k, v in hv.items()]
        if group != "plain" and entra:
            gv = {
                "alation_scim_entra_tenant_id": entra["tenant_id"],
                "alation_scim_entra_client_id": entra["client_id"],
                "alation_scim_entra_client_secret": entra["client_secret"],
                "alation_scim_entra_authority_url": entra["authority_url"],
                "alation_scim_entra_graph_url": entra["graph_url"],
                "alation_scim_entra_ca_path": entra["ca_path"],
            }
            lines += ["      vars:"] + ["        %s: %s" % (k, y(v)) for k, v in gv.items()]
    write(tb.inventory, "\n".join(lines) + "\n", 0o600)
    return tb.inventory


# ------------------------------------------------------------------ up / down / status
def up(n_alation=3, n_plain=1, controller_python=None, entra=True, ha=False):
    controller_python = controller_python or sys.executable
    started = time.time()
    if not os.path.exists(os.path.join(ENV_DIR, "bin", "python")):
        raise RuntimeError("run `testbed install` first (no venv at %s)" % ENV_DIR)
    ensure_rsyslog()
    ensure_users()
    ensure_ca()
    tb = Testbed()
    django_changed = sync_django()
    alation, plain = host_names(n_alation, n_plain)
    ha_hosts = list(ha_pair.HOSTS) if ha else []
    wanted = [(h, "alation") for h in alation + ha_hosts] + [(h, "plain") for h in plain]
    # Hosts from an earlier, larger `up` go away (the HA pair too, when not asked for): every host
    # directory, not only what fleet.json lists, since an `up` from another checkout may have rewritten it.
    known = sorted(os.listdir(tb.hosts_dir)) if os.path.isdir(tb.hosts_dir) else []
    for h in known:
        if h not in alation + plain + ha_hosts:
            stop_host(tb, h)
    if not ha:
        ha_pair.stop_all()
    pending = []
    for host, kind in wanted:
        database = ha_pair.database_settings(host) if host in ha_hosts else None
        cfg = prepare_host(tb, host, kind, database)
        stamp = os.path.join(tb.host_dir(host), "run", "config.hash")
        same = os.path.exists(stamp) and open(stamp).read().strip() == cfg
        if host_running(tb, host) and same and not django_changed:
            continue
        stop_host(tb, host)
        pending.append((host, kind, start_host(tb, host, kind)))
        write(stamp, cfg + "\n")
    for host, kind, proc in pending:
        wait_host(tb, host, kind, proc)
    ha_info = None
    if ha:
        pair_started = time.time()
        pair, fresh = ha_pair.ensure(tb.site_dir, file_hash(DJANGO_DIR))
        ha_info = {"name": ha_pair.PAIR, "hosts": ha_hosts}
        if fresh:
            tb.seed_token(pair["primary"], days=180)
        log("HA pair %s: %s primary, %s hot standby (%s in %.1fs)" % (
            ha_pair.PAIR, pair["primary"], pair["secondary"], "built" if fresh else "up", time.time() - pair_started))
    for host in alation + ha_hosts:
        tb.apply_host_knobs(host)  # a restarted host lost its mounts; `up` also rewrote its files
    write(tb.known_hosts, "".join(known_hosts_line(tb, h) for h, _kind in wanted))
    fleet = {"alation": alation, "plain": plain, "entra": None, "ha": ha_info}
    write(tb.fleet_file, json.dumps(fleet, indent=1) + "\n")
    if entra:
        # The pair is one SCIM app in the IdP (its users reach the pair's shared address); registered
        # whether or not the pair is up, so bringing it up does not restart the simulator.
        info = start_entra(tb, alation + [ha_pair.PAIR], controller_python)
        if info:
            fleet["entra"] = {k: v for k, v in info.items() if k != "config"}
            write(tb.fleet_file, json.dumps(fleet, indent=1) + "\n", 0o600)
    write_inventory(tb, controller_python)
    log("up: %d Alation + %d plain hosts%s (%d (re)started) in %.1fs; inventory %s"
        % (len(alation), len(plain), " + HA pair %s" % ha_pair.PAIR if ha else "", len(pending),
           time.time() - started, tb.inventory))


def down():
    tb = Testbed()
    names = os.listdir(tb.hosts_dir) if os.path.isdir(tb.hosts_dir) else []
    for h in sorted(names):
        stop_host(tb, h)
    ha_pair.stop_all()
    stop_entra()
    # Other IdP simulators own their launchers (`<name>_sim/launch.py down`): ask each.
    others = []
    for name in sorted(os.listdir(HERE)):
        launcher = os.path.join(HERE, name, "launch.py")
        if name.endswith("_sim") and os.path.exists(launcher):
            subprocess.run([sys.executable, launcher, "down"], stdout=subprocess.DEVNULL, check=False)
            others.append(name)
    log("down: stopped %d hosts, the Entra simulator%s" % (len(names), "".join(", " + o for o in others)))


def status():
    tb = Testbed()
    fleet = tb.fleet()
    ok = True
    rs = read_pid(os.path.join(STATE_DIR, "rsyslogd.pid"))
    print("rsyslogd: %s" % ("running (pid %d)" % rs if rs and pid_alive(rs) else "not started by the test bed"))
    roles = (ha_pair.status() or {}).get("roles", {}) if fleet.get("ha") else {}
    for h in fleet["alation"] + (fleet.get("ha") or {}).get("hosts", []) + fleet["plain"]:
        ssh = host_running(tb, h)
        line = "%-10s %-11s ssh:%s" % (h, tb.address(h), "up" if ssh else "DOWN")
        ok &= ssh
        if h in roles:
            line += " postgres:%s" % roles[h]
            ok &= roles[h] != "stopped"
        if h not in fleet["plain"]:
            scim = port_open(tb.address(h), SCIM_PORT)
            ok &= scim
            exp = tb.expires_at(h)
            line += " scim:%s token:%s expires:%s knobs:%s" % (
                "up" if scim else "DOWN", tb.token_fingerprint(h) or "none",
                exp.strftime("%Y-%m-%dT%H:%M:%SZ") if exp else "-",
                json.dumps({k: v for k, v in tb.knobs(h).items() if v != testbed_lib.DEFAULT_KNOBS[k]}))
        print(line)
    if fleet.get("entra"):
        e = port_open(ENTRA_ADDRESS, SCIM_PORT)
        ok &= e
        print("entra-sim  %s:%d %s" % (ENTRA_ADDRESS, SCIM_PORT, "up" if e else "DOWN"))
    if not fleet["alation"] and not fleet["plain"]:
        print("no hosts (run `testbed up`)")
        ok = False
    return ok
