# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start / stop the PingFederate simulator for the test bed: one SP connection with SCIM outbound
provisioning per Alation host (its "Access Token" holding no valid token yet), an Administrator
and an Auditor account, an OAuth client mapped to the Administrator, and a client certificate
(test CA) mapped to it too. `up()` returns the settings tests and inventories need.

    python3 launch.py up --hosts alation1=https://127.0.10.1:8443/scim/v2/ ...   # settings JSON (no secrets)
    python3 launch.py down
"""

import os
import secrets
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from simbase import (  # noqa: E402
    TESTBED_CA_DIR as CA_DIR, ensure_client_cert, launch, launch_main, load_or_create_settings, pick_ca,
    stop_process,
)

STATE_DIR = "/var/lib/alation-scim-testbed/pingfederate"
HOST, PORT = "127.0.50.1", 8443
CERT_CN = "alation-scim-automation"


def connection_id(host):
    # PingFederate connection ids are short opaque strings
    return "alation-" + uuid.uuid5(uuid.NAMESPACE_URL, "alation-scim-testbed/pingfederate/" + host).hex[:10]


def up(hosts, state_dir=STATE_DIR, ca_dir=CA_DIR, python=sys.executable):
    """hosts: {inventory name: SCIM base URL}. Returns the settings (secrets included: never print them)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    s = load_or_create_settings(os.path.join(state_dir, "secrets.json"), lambda: {
        "username": "alation-scim", "password": secrets.token_urlsafe(24),
        "auditor_username": "alation-auditor", "auditor_password": secrets.token_urlsafe(24),
        "client_id": "alation-scim-admin-api", "client_secret": secrets.token_urlsafe(32)})
    ca_pem, ca_key = pick_ca(ca_dir, state_dir)
    cert, key = ensure_client_cert(os.path.join(state_dir, "client"), CERT_CN, ca_pem, ca_key, name="admin-client")
    config = {
        "admins": {s["username"]: {"password": s["password"], "roles": ["ADMINISTRATOR"]},
                   s["auditor_username"]: {"password": s["auditor_password"], "roles": ["AUDITOR"]}},
        "oauth_clients": {s["client_id"]: {"secret": s["client_secret"], "admin": s["username"]}},
        "cert_admins": {CERT_CN: s["username"]},
        "connections": {connection_id(h): {"name": "Alation (%s)" % h, "entity_id": "alation:%s" % h,
                                           "scim_url": url} for h, url in sorted(hosts.items())},
    }
    url, ca_pem, pid = launch(os.path.join(HERE, "server.py"), HOST, PORT, state_dir, ca_dir, config, python)
    return dict(s, url=url, ca_path=ca_pem, pid=pid, token_url=url + "/as/token.oauth2", client_cert_path=cert,
                client_key_path=key, connections={h: connection_id(h) for h in hosts})


def down(state_dir=STATE_DIR):
    return stop_process(state_dir)


def main(argv=None):
    launch_main(argv, __doc__.split("\n", maxsplit=1)[0], up, down, STATE_DIR, ("password", "secret"))


if __name__ == "__main__":
    main()
