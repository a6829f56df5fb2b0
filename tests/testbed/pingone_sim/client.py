# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admin API of the PingOne simulator, for tests (CA verified)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import AdminClient  # noqa: E402


class PingOneSim(AdminClient):
    name = "pingone sim"

    def store(self, store_id):
        return self.state()["stores"][store_id]

    def config(self, **settings):
        """read_back (clear|masked|omitted), mask (what masked secrets read as), put_secrets (clear|keep):
        until the next reset."""
        return self._call("POST", "/_sim/config", settings)

    def edit_store(self, store_id, apply=True, **configuration):
        """Set configuration keys of a store as an admin would in the console (None deletes one);
        `apply`: as if a revision followed. Returns the store's state."""
        return self._call("POST", "/_sim/stores/" + store_id, {"configuration": configuration, "apply": apply})

    def sync(self, store_id):
        return self._call("POST", "/_sim/sync/" + store_id, {})

    def wait_runs(self, n, timeout=15):
        """The first n propagation runs since the last reset (waits for the resync threads)."""
        deadline = time.time() + timeout
        while True:
            runs = self.state()["runs"]
            if len(runs) >= n or time.time() > deadline:
                return runs
            time.sleep(0.1)
