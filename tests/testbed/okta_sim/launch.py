# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start / stop the Okta simulator for the test bed: one Okta app per Alation host, an SSWS API
token, a token without System Log rights, and an OAuth service app (private_key_jwt) whose RSA
key lives in the state dir. `up()` returns the settings tests and inventories need.

    python3 launch.py up --hosts alation1=https://127.0.10.1:8443/scim/v2/ ...   (prints settings JSON)
    python3 launch.py down
"""

import os
import secrets
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from simbase import TESTBED_CA_DIR as CA_DIR, launch, launch_main, load_or_create_settings, stop_process  # noqa: E402

STATE_DIR = "/var/lib/alation-scim-testbed/okta"
HOST, PORT = "127.0.30.1", 8443


def app_id(host):
    # Okta app ids look like 0oa + 17 characters
    return "0oa" + ("alation" + host).ljust(17, "x")[:17]


def _settings(state_dir):
    def make():
        return {"api_token": "00" + secrets.token_urlsafe(30),
                "no_logs_api_token": "00" + secrets.token_urlsafe(30),
                "client_id": "0oa" + secrets.token_hex(9)[:17]}
    settings = load_or_create_settings(os.path.join(state_dir, "secrets.json"), make)
    key = os.path.join(state_dir, "service-app.key")
    if not os.path.exists(key):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                       check=True, capture_output=True)
        os.chmod(key, 0o600)
    pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], check=True, capture_output=True).stdout.decode()
    return settings, key, pub


def up(hosts, state_dir=STATE_DIR, ca_dir=CA_DIR, python=sys.executable):
    """hosts: {inventory name: SCIM base URL}. Returns the settings (secrets included: never print them)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    settings, key, pub = _settings(state_dir)
    config = {
        "api_tokens": {settings["api_token"]: {}, settings["no_logs_api_token"]: {"scopes": []}},
        "service_apps": {settings["client_id"]: {"public_key_pem": pub, "scopes": ["okta.logs.read"]}},
        "apps": {app_id(h): {"label": "Alation (%s)" % h, "base_url": url} for h, url in sorted(hosts.items())},
    }
    url, ca_pem, pid = launch(os.path.join(HERE, "server.py"), HOST, PORT, state_dir, ca_dir, config, python)
    return {"url": url, "ca_path": ca_pem, "pid": pid, "api_token": settings["api_token"],
            "no_logs_api_token": settings["no_logs_api_token"], "client_id": settings["client_id"],
            "private_key_path": key, "apps": {h: app_id(h) for h in hosts}}


def down(state_dir=STATE_DIR):
    return stop_process(state_dir)


def main(argv=None):
    launch_main(argv, __doc__.split("\n", maxsplit=1)[0], up, down, STATE_DIR, "token")


if __name__ == "__main__":
    main()
