# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start / stop the SailPoint IdentityIQ simulator for the test bed: one SCIM 2.0 application per
Alation host, the example workflow deployed (a stand-in that does what
examples/sailpoint_iiq/alation-scim-token-workflow.xml does), an account with the SCIM rights and
one without. `up()` returns the settings tests and inventories need.

    python3 launch.py up --hosts alation1=https://127.0.10.1:8443/scim/v2/ ...   # settings JSON (no secrets)
    python3 launch.py down
"""

import os
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from simbase import TESTBED_CA_DIR as CA_DIR, launch, launch_main, load_or_create_settings, stop_process  # noqa: E402

STATE_DIR = "/var/lib/alation-scim-testbed/iiq"
HOST, PORT = "127.0.70.1", 8443
WORKFLOW = "Alation SCIM Token Update"


def application_name(host):
    return "Alation SCIM (%s)" % host


def up(hosts, state_dir=STATE_DIR, ca_dir=CA_DIR, python=sys.executable):
    """hosts: {inventory name: SCIM base URL}. Returns the settings (secrets included: never print them)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    s = load_or_create_settings(os.path.join(state_dir, "secrets.json"), lambda: {
        "username": "alation-scim", "password": secrets.token_urlsafe(24),
        "no_rights_username": "alation-viewer", "no_rights_password": secrets.token_urlsafe(24)})
    config = {
        "users": {s["username"]: {"password": s["password"], "rights": ["SCIM Executor"]},
                  s["no_rights_username"]: {"password": s["no_rights_password"], "rights": []}},
        "workflows": {WORKFLOW: {}},
        "applications": {application_name(h): {"scim_url": url} for h, url in sorted(hosts.items())},
    }
    url, ca_pem, pid = launch(os.path.join(HERE, "server.py"), HOST, PORT, state_dir, ca_dir, config, python)
    return dict(s, url=url + "/identityiq", ca_path=ca_pem, pid=pid, admin_url=url, workflow_name=WORKFLOW,
                applications={h: application_name(h) for h in hosts})


def down(state_dir=STATE_DIR):
    return stop_process(state_dir)


def main(argv=None):
    launch_main(argv, __doc__.split("\n", maxsplit=1)[0], up, down, STATE_DIR, "password")


if __name__ == "__main__":
    main()
