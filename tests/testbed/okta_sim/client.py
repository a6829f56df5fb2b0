# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admin API of the Okta simulator, for tests (CA verified)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import admin_call  # noqa: E402


class OktaSim(object):
    def __init__(self, url, ca_path):
        self.url = url
        self.ca_path = ca_path

    def _call(self, method, path, body=None, ok=(200,)):
        status, data = admin_call(self.url, self.ca_path, method, path, body)
        if status not in ok:
            raise RuntimeError("okta sim %s %s -> %s %s" % (method, path, status, data))
        return data

    def state(self):
        return self._call("GET", "/_sim/state")

    def reset(self):
        return self._call("POST", "/_sim/reset", {})

    def paste(self, app_id, token, test=True):
        """The admin pastes the token (Test API Credentials first unless test=False). (status, body)."""
        return admin_call(self.url, self.ca_path, "POST", "/_sim/paste",
                          {"app_id": app_id, "token": token, "test": test})

    def provision(self, app_id, user_name=None):
        return self._call("POST", "/_sim/provision/" + app_id, {"userName": user_name} if user_name else {})

    def fault(self, mode, **kw):
        return self._call("POST", "/_sim/faults", dict(kw, mode=mode))

    def token_fingerprint(self, app_id):
        return self.state()["apps"][app_id]["token_fingerprint"]
