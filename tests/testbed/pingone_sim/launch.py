# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start / stop the PingOne simulator for the test bed: one environment, one SCIM propagation
store per Alation host (OAuth 2 Bearer Token, holding no valid token yet), a worker app with
Environment Admin and one without. `up()` returns the settings tests and inventories need.

    python3 launch.py up --hosts alation1=https://127.0.10.1:8443/scim/v2/ ...
    python3 launch.py down
"""

import argparse
import json
import os
import secrets
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "okta_sim"))
from simbase import ensure_process, load_or_create_settings, pick_ca, stop_process  # noqa: E402

STATE_DIR = "/var/lib/alation-scim-testbed/pingone"
CA_DIR = "/var/lib/alation-scim-testbed/ca"
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
    config_path = os.path.join(state_dir, "config.json")
    text = json.dumps(config, indent=1, sort_keys=True)
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    ca_pem, _ca_key = pick_ca(ca_dir, state_dir)
    url = "https://%s:%d" % (HOST, PORT)
    argv = [python, os.path.join(HERE, "server.py"), "--host", HOST, "--port", str(PORT), "--config", config_path,
            "--state-dir", state_dir, "--ca-dir", ca_dir]
    pid = ensure_process(state_dir, argv, url, ca_pem, text)
    return dict(s, url=url, ca_path=ca_pem, pid=pid, stores={h: store_id(h) for h in hosts})


def down(state_dir=STATE_DIR):
    return stop_process(state_dir)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    p.add_argument("action", choices=["up", "down"])
    p.add_argument("--hosts", nargs="*", default=[], help="name=SCIM base URL")
    p.add_argument("--state-dir", default=STATE_DIR)
    p.add_argument("--ca-dir", default=CA_DIR)
    a = p.parse_args(argv)
    if a.action == "down":
        down(a.state_dir)
        return
    settings = up(dict(h.split("=", 1) for h in a.hosts), a.state_dir, a.ca_dir)
    print(json.dumps({k: v for k, v in settings.items() if "secret" not in k}, indent=1))


if __name__ == "__main__":
    main()
