# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""token_handoff action plugin: the file helpers directly, the plugin through ansible-playbook on
localhost (it needs the vault secrets a real run loads). No test bed needed; it lives with the
integration tests because every case runs ansible-playbook."""

import json
import os
import stat
import subprocess
import sys

import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a collections root with this checkout as alation.scim, for ansible-playbook and for the import below
COLLECTIONS_ROOT = tempfile.mkdtemp(prefix="alation-scim-handoff-")
os.makedirs(os.path.join(COLLECTIONS_ROOT, "ansible_collections", "alation"))
os.symlink(REPO, os.path.join(COLLECTIONS_ROOT, "ansible_collections", "alation", "scim"))
sys.path.insert(0, COLLECTIONS_ROOT)

from ansible_collections.alation.scim.plugins.plugin_utils import _handoff as token_handoff  # noqa: E402

BIN = os.path.dirname(sys.executable)
TOKEN = "handoff-test-token-" + "7c" * 16


def test_write_atomically_makes_0600_file_and_0700_dir(tmp_path):
    path = str(tmp_path / "new" / "f")
    token_handoff.write_atomically(path, b"abc")
    assert open(path, "rb").read() == b"abc"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / "new")).st_mode) == 0o700
    token_handoff.write_atomically(path, b"xyz")
    assert open(path, "rb").read() == b"xyz"
    assert os.listdir(str(tmp_path / "new")) == ["f"]  # no temp file left behind


def test_read_existing(tmp_path):
    assert token_handoff.read_existing(str(tmp_path / "missing")) is None
    (tmp_path / "f").write_bytes(b"x")
    assert token_handoff.read_existing(str(tmp_path / "f")) == b"x"


@pytest.fixture
def play(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("unit-test-vault-pw\n")
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\ncollections_scan_sys_path = False\n" % COLLECTIONS_ROOT)

    def run(args, vault=True, check=False, verbosity=3):
        args = dict(args)
        secrets = tmp_path / "secrets.json"  # the token reaches the play as a variable, like in the role
        secrets.write_text(json.dumps({"handoff_token": args.pop("token")}))
        args["token"] = "{{ handoff_token }}"
        book = tmp_path / "play.yml"
        book.write_text(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
            "    - alation.scim.token_handoff: %s\n      register: r\n      ignore_errors: true\n"
            "    - ansible.builtin.copy: {content: '{{ r | to_json }}', dest: '%s'}\n      check_mode: false\n"
            % (json.dumps(args), tmp_path / "result.json"))
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book),
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % secrets]
        if vault:
            cmd += ["--vault-password-file", str(pw)]
        if check:
            cmd.append("--check")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ANSIBLE_NOCOLOR="1")
        env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
        proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env)
        result = None
        if os.path.exists(str(tmp_path / "result.json")):
            result = json.loads((tmp_path / "result.json").read_text())
            os.unlink(str(tmp_path / "result.json"))
        return proc, result
    return run, str(pw), tmp_path


def vault_view(path, pw):
    return subprocess.run([os.path.join(BIN, "ansible-vault"), "view", path, "--vault-password-file", pw],
                          check=False, stdout=subprocess.PIPE, universal_newlines=True, env=dict(os.environ, PAGER="cat")).stdout


def test_vault_file_written_once_then_unchanged(play):
    run, pw, d = play
    dest = str(d / "out" / "h.vault")
    proc, r = run({"token": TOKEN, "dest": dest})
    assert proc.returncode == 0 and not r.get("failed"), proc.stdout[-2000:].replace(TOKEN, "<token>")
    leaked = TOKEN in proc.stdout
    assert not leaked, "token in the output"
    assert r["changed"] and r["dest"] == dest and r["vault_id"] == "default"
    assert vault_view(dest, pw).rstrip("\n") == TOKEN, "vault file does not decrypt to the token"
    in_clear = TOKEN.encode() in open(dest, "rb").read()
    assert not in_clear, "token in clear in the vault file"
    proc, r = run({"token": TOKEN, "dest": dest})
    assert proc.returncode == 0 and not r["changed"]
    proc, r = run({"token": TOKEN + "2", "dest": dest})
    assert r["changed"] and vault_view(dest, pw).rstrip("\n") == TOKEN + "2"


def test_result_is_hidden_even_at_vvv(play):
    run, pw, d = play
    proc, r = run({"token": TOKEN, "dest": str(d / "h.vault")}, verbosity=3)
    leaked = TOKEN in proc.stdout
    assert "censored" in proc.stdout and not leaked


def test_check_mode_writes_nothing(play):
    run, pw, d = play
    dest = str(d / "h.vault")
    proc, r = run({"token": TOKEN, "dest": dest}, check=True)
    assert proc.returncode == 0 and r["changed"] and not os.path.exists(dest), proc.stdout[-1500:]


def test_file_0600(play):
    run, pw, d = play
    dest = str(d / "h.token")
    proc, r = run({"token": TOKEN, "dest": dest, "channel": "file_0600"})
    assert proc.returncode == 0 and r["changed"]
    assert open(dest).read() == TOKEN and stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    os.chmod(dest, 0o644)
    proc, r = run({"token": TOKEN, "dest": dest, "channel": "file_0600"})
    assert r["changed"] and stat.S_IMODE(os.stat(dest).st_mode) == 0o600


def test_without_vault_password_says_how_to_give_one(play):
    run, pw, d = play
    proc, r = run({"token": TOKEN, "dest": str(d / "h.vault")}, vault=False)
    assert r["failed"] and "--vault-password-file" in r["msg"] and "file_0600" in r["msg"]
    leaked = TOKEN in proc.stdout or TOKEN in r["msg"]
    assert not leaked, "token in the output"
    assert not os.path.exists(str(d / "h.vault"))


def test_unknown_vault_id(play):
    run, pw, d = play
    proc, r = run({"token": TOKEN, "dest": str(d / "h.vault"), "vault_id": "nosuch"})
    assert r["failed"] and "nosuch" in r["msg"]


def test_vault_password_file_option(play):
    run, pw, d = play
    dest = str(d / "h.vault")
    proc, r = run({"token": TOKEN, "dest": dest, "vault_password_file": pw, "vault_id": "handoff"}, vault=False)
    assert proc.returncode == 0 and r["vault_id"] == "handoff"
    assert open(dest).read().startswith("$ANSIBLE_VAULT;1.2;AES256;handoff")
    assert vault_view(dest, pw).rstrip("\n") == TOKEN
