# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start / stop the PingOne simulator for the test bed: one environment, one SCIM propagation
store per Alation host (OAuth 2 Bearer Token, holding no valid token yet), a worker app with
Environment Admin and one without. `up()` returns the settings tests and inventories need.

    python3 launch.py up --hosts alation1=https://127.0.10.1:8443/scim/v2/ ...
    python3 launch.py down
"""

import os
import secrets
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from simbase import TESTBED_CA_DIR as CA_DIR, launch, launch_main, load_or_create_settings, stop_process  # noqa: E402

STATE_DIR = "/var/lib/alation-scim-testbed/pingone"
HOST, PORT = "127.0.40.1", 8443


def store_id(host):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "alation-scim-testbed/pingone/store/" + host))


def store_configuration(scim_url):
    return {"SCIM_URL": scim_url, "SCIM_VERSION": "2.0", "AUTHENTICATION_METHOD": "OAuth 2 Bearer Token",
            "AUTHORIZATION_TYPE": "Bearer", "OAUTH_ACCESS_TOKEN": "not-yet-set",
            "USERS_RESOURCE": "/Users", "GROUPS_RESOURCE": "/Groups", "USER_FILTER": 'userName Eq "%s"',
            "UNIQUE_USER_IDENTIFIER": "userName", "CREATE_USERS": True, "UPDATE_USERS": True,
            "DISABLE_USERS": True, "REMOVE_ACTION": "Disable", "GROUP_MEMBERSHIP_HANDLING": "MERGE",
            "GROUP_NAME_SOURCE": "commonName"}


def up(hosts, state_dir=STATE_DIR, ca_dir=CA_DIR, python=sys.executable):
    """hosts: {inventory name: SCIM base URL}. Returns the settings (secrets included: never print them)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    s = load_or_create_settings(os.path.join(state_dir, "secrets.json"), lambda: {
        "environment_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()), "client_secret": secrets.token_urlsafe(36),
        "weak_client_id": str(uuid.uuid4()), "weak_client_secret": secrets.token_urlsafe(36)})
    env = s["environment_id"]
    config = {
        "workers": {s["client_id"]: {"secret": s["client_secret"], "environment": env,
                                     "roles": {env: ["Environment Admin"]}},
                    s["weak_client_id"]: {"secret": s["weak_client_secret"], "environment": env,
                                          "roles": {env: ["Identity Data Admin"]}}},
        "stores": {store_id(h): {"environment": env, "name": "Alation (%s)" % h,
                                 "configuration": store_configuration(url)} for h, url in sorted(hosts.items())},
    }
    url, ca_pem, pid = launch(os.path.join(HERE, "server.py"), HOST, PORT, state_dir, ca_dir, config, python)
    return dict(s, url=url, ca_path=ca_pem, pid=pid, stores={h: store_id(h) for h in hosts})


def down(state_dir=STATE_DIR):
    return stop_process(state_dir)


def main(argv=None):
    launch_main(argv, __doc__.split("\n", maxsplit=1)[0], up, down, STATE_DIR, "secret")


if __name__ == "__main__":
    main()
