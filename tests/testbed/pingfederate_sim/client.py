# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admin API of the PingFederate simulator, for tests (CA verified)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import AdminClient  # noqa: E402


class PingFederateSim(AdminClient):
    name = "pingfederate sim"

    def connection(self, connection_id):
        return self.state()["connections"][connection_id]

    def config(self, **settings):
        """clustered=True|False, token_field='...' (renames the token field everywhere)."""
        return self._call("POST", "/_sim/config", settings)

    def provision(self, connection_id):
        return self._call("POST", "/_sim/provision/" + connection_id, {})

    def wait_runs(self, connection_id, n=1, timeout=15):
        """The engine runs of one connection since the last reset (waits for the background ones)."""
        return self.wait_for(lambda st: [r for r in st["runs"] if r["connection"] == connection_id], n, timeout)
