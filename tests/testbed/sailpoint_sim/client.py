# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admin API of the SailPoint Identity Security Cloud simulator, for tests (CA verified)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import AdminClient  # noqa: E402


class SailPointSim(AdminClient):
    name = "sailpoint sim"

    def source(self, source_id):
        return self.state()["sources"][source_id]

    def config(self, **settings):
        """token_key='...' renames the token key of every source."""
        return self._call("POST", "/_sim/config", settings)

    def scopes(self, client_id, scopes):
        return self._call("POST", "/_sim/clients/" + client_id, {"scopes": list(scopes)})
