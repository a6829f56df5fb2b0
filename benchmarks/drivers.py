# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IdP drivers the benchmark rotates with, each against its simulator on the test bed.

A driver says how to point the role at its IdP (inventory variables per host, extra variables for
the run), how to push by hand for the floor (benchmarks/idp_push.py) and when the IdP started to
hold a host's new token (for the outage window: the old token is revoked at the rotation, so
provisioning is broken from then until that moment). To measure another driver, write its class
and add it to DRIVERS: one line.
"""

import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "testbed"))

import collection_link  # noqa: E402
import idp_push  # noqa: E402
import testbed_lib  # noqa: E402
from entra_sim.client import EntraSim  # noqa: E402
from pingone_sim import launch as pingone_launch  # noqa: E402
from pingone_sim.client import PingOneSim  # noqa: E402


def iso_epoch(text):
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class Driver:
    name = None

    def __init__(self, tb):
        self.tb = tb

    def prepare(self, hosts):
        """Start or reset the simulator for these hosts (after the fleet changed size)."""

    def host_vars(self, host):
        return {}

    def extra_vars(self):
        return {"alation_scim_idp": self.name}

    def push(self, host, token):
        """The floor's IdP half: True when the IdP took the token."""
        raise NotImplementedError

    def holds_since(self, revoked):
        """{host: epoch at which the IdP first held (and applied) the host's current token after
        revoked[host], the rotation's epoch; None when it did not}."""
        raise NotImplementedError

    def proven_since(self, revoked):
        """Like holds_since, for the IdP's own proof that the token works, where it has one after
        it holds the token (None: no such proof)."""
        return None

    def settle(self):
        """Wait until the simulator's work after its answers has ended (PingOne's resync after every
        revision, PingFederate's provisioning after every save): one measurement's tail must not
        run into the next one's."""
        sim = getattr(self, "sim", None)
        if sim is not None and hasattr(sim, "wait_idle") and not sim.wait_idle():
            raise RuntimeError("the %s simulator was still busy after 300 s" % self.name)

    def in_sync(self, hosts):
        """Hosts whose current token the IdP does not hold."""
        raise NotImplementedError

    def use(self):
        """Before a measurement of this driver, once the simulators settled: its simulator settings."""


class Entra(Driver):
    """Entra ID: holds the token once PUT secrets saved it (its provisioning uses the saved secrets);
    validateCredentials afterwards (Entra calling Alation with it) is the proof."""
    name = "entra"

    def prepare(self, hosts):
        self.sim = EntraSim(self.tb.entra["url"], self.tb.ca_path)
        self.sim.fault("none")
        self.sim.config(cycle_interval=0)
        self.sim.reset()

    def sp(self, host):
        return self.tb.entra["hosts"][host]["service_principal_id"]

    def push(self, host, token):
        return idp_push.ok_steps(idp_push.push(self.tb, host, token)) == ["token", "put", "validate"]

    def saved_and_validated(self, revoked):
        """{host: (first successful PUT secrets after the rotation, first successful
        validateCredentials after that PUT)}, None where not seen."""
        requests = self.sim.requests(min(revoked.values()))
        out = {}
        for h, since in revoked.items():
            mine = [r for r in requests if "/servicePrincipals/%s/" % self.sp(h) in r["path"] and r["status"] in (200, 204)
                    and r["epoch"] >= since]
            put = next((r["epoch"] for r in mine if r["method"] == "PUT" and r["path"].endswith("/secrets")), None)
            val = None if put is None else next(
                (r["epoch"] for r in mine if r["path"].endswith("/validateCredentials") and r["epoch"] >= put), None)
            out[h] = (put, val)
        return out

    def holds_since(self, revoked):
        return dict((h, put) for h, (put, val) in self.saved_and_validated(revoked).items())

    def proven_since(self, revoked):
        return dict((h, val) for h, (put, val) in self.saved_and_validated(revoked).items())

    def in_sync(self, hosts):
        return [h for h in hosts if testbed_lib.fingerprint(self.sim.stored_token(self.sp(h))) != self.tb.token_fingerprint(h)]


class PingOne(Driver):
    """PingOne: holds the token once a revision applied the store's new OAUTH_ACCESS_TOKEN.

    Whether a revision made while an earlier one's resync runs starts a resync of its own or is folded
    into one more is not known (the simulator's setting `resync`): this class measures the first, the
    costlier here (n revisions, n x n store syncs on this machine's cores); PingOneCoalesced the second."""
    name = "pingone"
    resync = "each"

    def prepare(self, hosts):
        self.settings = pingone_launch.up(dict((h, self.tb.scim_base_url(h)) for h in hosts))
        self.sim = PingOneSim(self.settings["url"], self.settings["ca_path"])
        self.sim.fault("none")
        self.sim.reset()

    def host_vars(self, host):
        return {"alation_scim_pingone_store_id": self.settings["stores"][host]}

    def use(self):
        # Both variants share the one simulator.
        self.sim.config(resync=self.resync)

    def extra_vars(self):
        s = self.settings
        return {"alation_scim_idp": "pingone", "alation_scim_pingone_environment_id": s["environment_id"],
                "alation_scim_pingone_client_id": s["client_id"], "alation_scim_pingone_client_secret": s["client_secret"],
                "alation_scim_pingone_api_url": s["url"], "alation_scim_pingone_auth_url": s["url"],
                "alation_scim_pingone_ca_path": s["ca_path"]}

    def push(self, host, token):
        return idp_push.push_pingone(self.settings, host, token)[-1] == ("revision", 201)

    def holds_since(self, revoked):
        state = self.sim.state()
        revisions = sorted(iso_epoch(r["createdAt"]) for r in state["revisions"])
        out = {}
        for h, since in revoked.items():
            store = state["stores"][self.settings["stores"][h]]
            if store["applied_token_fingerprint"] != self.tb.token_fingerprint(h):
                out[h] = None
                continue
            updated = iso_epoch(store["updatedAt"])
            out[h] = next((t for t in revisions if t >= updated and t >= since), None)
        return out

    def in_sync(self, hosts):
        stores = self.sim.state()["stores"]
        return [h for h in hosts
                if stores[self.settings["stores"][h]]["applied_token_fingerprint"] != self.tb.token_fingerprint(h)]


class PingOneCoalesced(PingOne):
    """PingOne, the revisions made during a running resync folded into one more resync."""
    name = "pingone-coalesced"
    resync = "coalesced"


def _collection_drivers():
    """The collection's own driver classes (plugins/plugin_utils/drivers), importable from this checkout."""
    if "ansible_collections.alation.scim" not in sys.modules:
        sys.path.insert(0, collection_link.new_collections_path("alation-scim-bench-"))
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.alation.scim.plugins.plugin_utils.drivers import driver_class
    from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverContext
    return ArgumentSpecValidator, driver_class, DriverContext


class _SimDriver(Driver):
    """A driver whose floor push is the collection's own driver step (check_settings + push, no Ansible)."""
    launch = None
    key = None  # settings key of the per-host id (connections / sources)

    def prepare(self, hosts):
        self.settings = self.launch.up(dict((h, self.tb.scim_base_url(h)) for h in hosts))
        self.sim = self.client(self.settings["url"], self.settings["ca_path"])
        self.sim.fault("none")
        self.sim.reset()

    def extra_vars(self):
        out = dict(("alation_scim_%s_%s" % (self.name, k), v) for k, v in self.options().items())
        out["alation_scim_idp"] = self.name
        return out

    def host_vars(self, host):
        return {"alation_scim_%s_%s" % (self.name, self.id_option): self.settings[self.key][host]}

    def push(self, host, token):
        validator_cls, driver_class, context_cls = _collection_drivers()
        cls = driver_class(self.name)
        options = dict(self.options(), **{self.id_option: self.settings[self.key][host]})
        checked = validator_cls(cls.argument_spec()).validate(options)
        driver = cls(checked.validated_parameters, context_cls(host, self.tb.scim_base_url(host)))
        driver.check_settings()
        driver.push(token)
        return True

    def holds_since(self, revoked):
        events = self.sim.state()[self.events]
        out = {}
        for h, since in revoked.items():
            mine = [iso_epoch(e["time"]) for e in events if e[self.event_key] == self.settings[self.key][h]
                    and e["token_fingerprint"] == self.tb.token_fingerprint(h)]
            out[h] = next((t for t in sorted(mine) if t >= since), None)
        return out

    def in_sync(self, hosts):
        return [h for h in hosts if self.held(self.settings[self.key][h]) != self.tb.token_fingerprint(h)]


class PingFederate(_SimDriver):
    """PingFederate: holds the token once the SP connection's PUT was saved with it."""
    name, key, id_option, events, event_key = "pingfederate", "connections", "connection_id", "saves", "connection"

    @property
    def launch(self):
        from pingfederate_sim import launch
        return launch

    @property
    def client(self):
        from pingfederate_sim.client import PingFederateSim
        return PingFederateSim

    def options(self):
        s = self.settings
        return {"base_url": s["url"], "username": s["username"], "password": s["password"], "ca_path": s["ca_path"]}

    def held(self, cid):
        return self.sim.connection(cid)["token_fingerprint"]


class SailPoint(_SimDriver):
    """SailPoint ISC: holds the token once the source's PATCH stored it."""
    name, key, id_option, events, event_key = "sailpoint", "sources", "source_id", "patches", "source"

    @property
    def launch(self):
        from sailpoint_sim import launch
        return launch

    @property
    def client(self):
        from sailpoint_sim.client import SailPointSim
        return SailPointSim

    def options(self):
        s = self.settings
        return {"base_url": s["base_url"], "client_id": s["client_id"], "client_secret": s["client_secret"],
                "ca_path": s["ca_path"]}

    def held(self, sid):
        return self.sim.source(sid)["token_fingerprint"]


DRIVERS = dict((d.name, d) for d in (Entra, PingOne, PingOneCoalesced, PingFederate, SailPoint))
