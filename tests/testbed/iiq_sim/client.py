# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admin API of the SailPoint IdentityIQ simulator, for tests (CA verified)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import AdminClient  # noqa: E402


class IdentityIqSim(AdminClient):
    name = "identityiq sim"

    def application(self, name):
        return self.state()["applications"][name]

    def config(self, **settings):
        """body_form=both|extension|top_level, mode=sync|async, async_delay=seconds."""
        return self._call("POST", "/_sim/config", settings)

    def wait_runs(self, n=1, timeout=15):
        """The workflow runs since the last reset (async ones finish in the background)."""
        return self.wait_for(lambda st: st["runs"], n, timeout)
