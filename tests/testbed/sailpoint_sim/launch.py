# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start / stop the SailPoint Identity Security Cloud simulator for the test bed: one SCIM 2.0
source per Alation host (API token auth, holding no valid token yet), an API client with the
scopes the driver needs and one that may only read sources. `up()` returns the settings tests
and inventories need (base_url stands for https://{tenant}.api.identitynow.com).

    python3 launch.py up --hosts alation1=https://127.0.10.1:8443/scim/v2/ ...   # settings JSON (no secrets)
    python3 launch.py down
"""

import os
import secrets
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from simbase import TESTBED_CA_DIR as CA_DIR, launch, launch_main, load_or_create_settings, stop_process  # noqa: E402

STATE_DIR = "/var/lib/alation-scim-testbed/sailpoint"
HOST, PORT = "127.0.60.1", 8443
TENANT = "alation-sim"
SCOPES = ["idn:sources:read", "idn:sources:manage", "idn:source-connector:manage"]


def source_id(host):
    # ISC ids are 32 hex characters
    return uuid.uuid5(uuid.NAMESPACE_URL, "alation-scim-testbed/sailpoint/source/" + host).hex


def up(hosts, state_dir=STATE_DIR, ca_dir=CA_DIR, python=sys.executable):
    """hosts: {inventory name: SCIM base URL}. Returns the settings (secrets included: never print them)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    s = load_or_create_settings(os.path.join(state_dir, "secrets.json"), lambda: {
        "client_id": uuid.uuid4().hex, "client_secret": secrets.token_hex(32),
        "read_only_client_id": uuid.uuid4().hex, "read_only_client_secret": secrets.token_hex(32)})
    config = {
        "tenant": TENANT,
        "clients": {s["client_id"]: {"secret": s["client_secret"], "scopes": SCOPES},
                    s["read_only_client_id"]: {"secret": s["read_only_client_secret"], "scopes": ["idn:sources:read"]}},
        "sources": {source_id(h): {"name": "Alation (%s)" % h, "scim_url": url} for h, url in sorted(hosts.items())},
    }
    url, ca_pem, pid = launch(os.path.join(HERE, "server.py"), HOST, PORT, state_dir, ca_dir, config, python)
    return dict(s, url=url, base_url=url, ca_path=ca_pem, pid=pid, tenant=TENANT,
                sources={h: source_id(h) for h in hosts})


def down(state_dir=STATE_DIR):
    return stop_process(state_dir)


def main(argv=None):
    launch_main(argv, __doc__.split("\n", maxsplit=1)[0], up, down, STATE_DIR, "secret")


if __name__ == "__main__":
    main()
