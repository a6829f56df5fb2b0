# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admin API of the Okta simulator, for tests (CA verified)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import AdminClient, admin_call  # noqa: E402


class OktaSim(AdminClient):
    name = "okta sim"

    def paste(self, app_id, token, test=True):
        """The admin pastes the token (Test API Credentials first unless test=False). (status, body)."""
        return admin_call(self.url, self.ca_path, "POST", "/_sim/paste",
                          {"app_id": app_id, "token": token, "test": test})

    def provision(self, app_id, user_name=None):
        return self._call("POST", "/_sim/provision/" + app_id, {"userName": user_name} if user_name else {})

    def token_fingerprint(self, app_id):
        return self.state()["apps"][app_id]["token_fingerprint"]
