#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PingOne simulator for the alation.scim test bed (HTTPS on loopback, default 127.0.40.1:8443).

Plays both hosts PingOne splits its API over (shared/reference/idp-apis.md):
- auth: POST /{envID}/as/token, client_credentials, worker app secret by HTTP Basic
  (client_secret_basic) or in the form (client_secret_post), per the app's configured method;
  errors as OAuth bodies ({"error", "error_description"}).
- platform API /v1/environments/{envID}/propagation/stores/{storeID} (GET, PUT) and
  /propagation/revisions (POST), with PingOne error bodies {id, code, message, details}:
  401 INVALID_TOKEN, 403 ACCESS_FAILED (worker app without Environment Admin on that
  environment), 404 NOT_FOUND, 400 INVALID_DATA (required SCIM configuration missing), 429
  REQUEST_LIMITED with Retry-After (fault switch).
- Quirks kept: PUT replaces the whole store, so a key left out is gone; read-only fields sent
  back are ignored; a change reaches provisioning only when a revision is created, which also
  starts a resync.
- Unknown real behaviour, every variant playable (settings `read_back`, `put_secrets`): how GET
  (and the PUT's answer) shows secret configuration fields (keys matching PASSWORD|SECRET|TOKEN):
  `clear` (as PingOne's own example shows), `masked` (as `mask`, "********"), `omitted` (left
  out); and what a PUT does with a secret field it leaves out or sends as a mask: `clear` (the
  whole store is replaced: a field left out is gone, a mask is stored as the secret's value) or
  `keep` (the stored value stays, as a console that shows masks must do).  State records every
  mask a PUT sent (`masks_received`), every secret a PUT cleared (`cleared_by_put`) and every
  secret whose stored value is now a mask (`overwritten_by_mask`).
- Unknown real behaviour, both variants playable (setting `resync`): what a revision made while an
  earlier revision's resync still runs starts: `each` (every revision resyncs every store of the
  environment, alongside the resyncs still running) or `coalesced` (one resync of the environment
  at a time; the revisions made meanwhile are owed one more, with the latest applied configuration).
- Propagation (after a revision, or POST /_sim/sync/{storeID}): with the *applied* configuration,
  provision a new user to SCIM_URL (GET Users?filter=..., then POST Users) with
  `Authorization: Bearer <OAUTH_ACCESS_TOKEN>` over real HTTPS (test CA verified), and record the
  outcome in the store's syncStatus and in /_sim/state.

Admin API (no auth, loopback): GET /_sim/state (secrets as fingerprints, never values), POST
/_sim/sync/{storeID}, POST /_sim/faults {mode: none|throttle|down, count, retry_after, methods}, POST
/_sim/config {read_back, mask, put_secrets, resync}, POST /_sim/stores/{storeID} {configuration: {key:
value, null deletes}, apply} (a change made in the console; `apply` as if a revision followed),
POST /_sim/workers/{clientID} {roles: [...]}, POST /_sim/reset (config file values again).
"""

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import SimApp, SimError, iso, parse_json, scim_call, serve_main  # noqa: E402

REQUIRED_SCIM_KEYS = ("SCIM_URL", "SCIM_VERSION", "AUTHENTICATION_METHOD", "AUTHORIZATION_TYPE",
                      "USERS_RESOURCE", "USER_FILTER", "UNIQUE_USER_IDENTIFIER")
READ_ONLY = ("id", "environment", "createdAt", "updatedAt", "_links", "syncStatus")
SECRET_RE = re.compile(r"(PASSWORD|SECRET|TOKEN)", re.I)
ENV_ADMIN = "Environment Admin"
# What a client may send back for a secret it read masked: the configured mask, or a run of mask characters.
MASK_RE = re.compile(u"^[*\u2022]{3,}$")
SETTINGS = {"read_back": ("clear", "masked", "omitted"), "put_secrets": ("clear", "keep"),
            "resync": ("each", "coalesced")}
DEFAULT_SETTINGS = {"read_back": "clear", "mask": "********", "put_secrets": "clear", "resync": "each"}


def fingerprint(token):
    return None if not token else "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def p1_error(status, code, message, details=(), headers=None):
    return SimError(status, {"id": str(uuid.uuid4()), "code": code, "message": message,
                             "details": list(details)}, headers)


def oauth_error(status, error, description):
    return SimError(status, {"error": error, "error_description": description})


class PingOne(SimApp):
    def reset(self):
        with self.lock:
            with open(self.config_path) as f:
                cfg = json.load(f)
            self.workers = copy.deepcopy(cfg.get("workers", {}))  # client_id -> {secret, env, method, roles}
            self.stores = {}
            self.applied = {}
            for store_id, spec in cfg.get("stores", {}).items():
                env = spec["environment"]
                now = iso()
                store = {
                    "id": store_id, "environment": {"id": env}, "createdAt": now, "updatedAt": now,
                    "image": {}, "description": spec.get("description", "Alation SCIM"), "type": "scim",
                    "status": "ACTIVE", "name": spec.get("name", "Alation"), "managed": False,
                    "configuration": copy.deepcopy(spec["configuration"]),
                }
                self.stores[store_id] = store
                self.applied[store_id] = copy.deepcopy(store["configuration"])
            self.settings = dict(DEFAULT_SETTINGS)
            self.configure(cfg)
            self.masks_received = {}  # store id -> [secret keys a PUT sent a mask for]
            self.cleared_by_put = {}  # store id -> [secret keys a PUT left out, so cleared]
            self.tokens = {}
            self.fault = {"mode": "none"}
            self.revisions = []
            self.runs = []
            self.requests = []
            self.resyncing = {}  # resync "coalesced": environment -> another resync owed after the running one

    def configure(self, data):
        """Settings from the config file or POST /_sim/config; unknown values answer 400."""
        for key, choices in SETTINGS.items():
            if key in data and data[key] not in choices:
                raise SimError(400, {"error": "%s must be one of %s, got %r" % (key, choices, data[key])})
        if "mask" in data and not (isinstance(data["mask"], str) and data["mask"]):
            raise SimError(400, {"error": "mask must be a non-empty string"})
        with self.lock:
            self.settings.update((k, data[k]) for k in DEFAULT_SETTINGS if k in data)
            return dict(self.settings)

    def is_mask(self, value):
        return isinstance(value, str) and (value == self.settings["mask"] or bool(MASK_RE.match(value)))

    # ---- faults
    def fault_options(self, spec):
        # methods: only requests with these methods meet the fault (e.g. ["PUT"]: the push, not the reads)
        return {"retry_after": spec.get("retry_after"), "methods": [m.upper() for m in spec.get("methods") or []]}

    def faulted(self, method, mode):
        methods = self.fault.get("methods") or []
        return None if methods and method not in methods else self.take_fault(mode)

    # ---- auth
    def issue_token(self, env_id, headers, form):
        def one(name):
            v = form.get(name)
            return v[0] if v else None
        if one("grant_type") != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", "The request contains an unsupported grant type.")
        auth = headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                cid, _sep, secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
                cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
            except Exception:
                raise oauth_error(401, "invalid_client", "Request denied: Invalid client credentials")
            method = "client_secret_basic"
        else:
            cid, secret, method = one("client_id"), one("client_secret"), "client_secret_post"
        worker = self.workers.get(cid)
        if worker is None or worker.get("environment") != env_id or worker.get("secret") != secret:
            raise oauth_error(401, "invalid_client", "Request denied: Invalid client credentials")
        if worker.get("token_auth_method", "client_secret_basic") != method:
            raise oauth_error(401, "invalid_client", "Request denied: Unsupported authentication method")
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = {"client_id": cid, "environment": env_id, "expires": time.time() + 3600}
        return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def authorize(self, header, env_id):
        info = None
        if (header or "").startswith("Bearer "):
            with self.lock:
                info = self.tokens.get(header[7:].strip())
        if info is None or info["expires"] < time.time():
            raise p1_error(401, "INVALID_TOKEN", "The request could not be completed. The access token is invalid "
                           "or expired.")
        worker = self.workers.get(info["client_id"], {})
        roles = worker.get("roles", {})
        if ENV_ADMIN not in roles.get(env_id, []):
            raise p1_error(403, "ACCESS_FAILED", "The request could not be completed. You do not have access to "
                           "this resource.")

    # ---- stores
    def store_view(self, store_id, base):
        store = copy.deepcopy(self.stores[store_id])
        conf, read_back = store["configuration"], self.settings["read_back"]
        for key in [k for k in conf if SECRET_RE.search(k) and conf[k]]:
            if read_back == "masked":
                conf[key] = self.settings["mask"]
            elif read_back == "omitted":
                del conf[key]
        env = store["environment"]["id"]
        store["_links"] = {"self": {"href": "%s/v1/environments/%s/propagation/stores/%s" % (base, env, store_id)},
                           "environment": {"href": "%s/v1/environments/%s" % (base, env)}}
        return store

    def find_store(self, env_id, store_id):
        store = self.stores.get(store_id)
        if store is None or store["environment"]["id"] != env_id:
            raise p1_error(404, "NOT_FOUND", "Unable to find propagation store with id: '%s'" % store_id)
        return store

    def put_store(self, env_id, store_id, body, base):
        with self.lock:
            store = self.find_store(env_id, store_id)
            if not isinstance(body, dict) or not isinstance(body.get("configuration"), dict):
                raise p1_error(400, "INVALID_DATA", "The request could not be completed. One or more validation "
                               "errors were in the request.",
                               [{"code": "REQUIRED_VALUE", "target": "configuration",
                                 "message": "configuration is required"}])
            missing = [k for k in REQUIRED_SCIM_KEYS if body["configuration"].get(k) in (None, "")]
            if body.get("type", "").lower() != "scim":
                missing.append("type")
            if missing:
                raise p1_error(400, "INVALID_DATA", "The request could not be completed. One or more validation "
                               "errors were in the request.",
                               [{"code": "REQUIRED_VALUE", "target": k, "message": "%s is required" % k}
                                for k in missing])
            conf = self.secrets_put(store_id, store["configuration"], copy.deepcopy(body["configuration"]))
            for key in list(store):
                if key not in READ_ONLY:
                    del store[key]
            for key, value in body.items():
                if key not in READ_ONLY:
                    store[key] = copy.deepcopy(value)
            store["configuration"] = conf
            store["updatedAt"] = iso()
            return self.store_view(store_id, base)

    def secrets_put(self, store_id, stored, conf):
        """The configuration a PUT leaves: secret fields left out or sent as a mask are kept
        (`put_secrets: keep`) or not (`clear`: gone, or the mask stored as the value); each case recorded."""
        keep = self.settings["put_secrets"] == "keep"
        for key in [k for k in stored if SECRET_RE.search(k) and stored[k]]:
            if key not in conf:
                if keep:
                    conf[key] = stored[key]
                else:
                    self.cleared_by_put.setdefault(store_id, []).append(key)
        for key in [k for k in conf if SECRET_RE.search(k) and self.is_mask(conf[k])]:
            self.masks_received.setdefault(store_id, []).append(key)
            if keep and key in stored:
                conf[key] = stored[key]
        return conf

    def edit_store(self, store_id, data):
        """A change made in the PingOne console: configuration keys set (null deletes), applied at once
        when `apply` (as if a revision had followed)."""
        with self.lock:
            store = self.stores.get(store_id)
            if store is None:
                raise SimError(404, {"error": "no store %s" % store_id})
            for key, value in (data.get("configuration") or {}).items():
                if value is None:
                    store["configuration"].pop(key, None)
                else:
                    store["configuration"][key] = value
            store["updatedAt"] = iso()
            if data.get("apply"):
                self.applied[store_id] = copy.deepcopy(store["configuration"])
            return self.store_state(store_id)

    def create_revision(self, env_id, base):
        with self.lock:
            rev = {"id": str(uuid.uuid4()), "environment": {"id": env_id}, "createdAt": iso(),
                   "_links": {"self": {"href": base}}}
            store_ids = [s for s, st in self.stores.items() if st["environment"]["id"] == env_id]
            for s in store_ids:
                self.applied[s] = copy.deepcopy(self.stores[s]["configuration"])
                self.stores[s]["syncStatus"] = {"status": "SYNCING", "lastSyncAt": None}
            self.revisions.append({"id": rev["id"], "environment": env_id, "createdAt": rev["createdAt"]})
            coalesced = self.settings["resync"] == "coalesced"
            start = not coalesced or env_id not in self.resyncing
            if coalesced:
                # While one runs, any number of revisions owe one more resync, not one each.
                self.resyncing[env_id] = not start
        # The resync runs after the answer, as in PingOne.
        if not coalesced:
            self.in_background(lambda: [self.propagate(s, "revision") for s in store_ids])
        elif start:
            self.in_background(lambda: self.resync_coalesced(env_id))
        rev["_links"]["self"]["href"] = "%s/v1/environments/%s/propagation/revisions/%s" % (base, env_id, rev["id"])
        return rev

    def resync_coalesced(self, env_id):
        """One resync of the environment at a time: revisions made meanwhile are owed one more, which
        syncs each store with the configuration the latest revision applied."""
        while True:
            with self.lock:
                self.resyncing[env_id] = False
                store_ids = [s for s, st in self.stores.items() if st["environment"]["id"] == env_id]
            for s in store_ids:
                self.propagate(s, "revision")
            with self.lock:
                if not self.resyncing.get(env_id):
                    self.resyncing.pop(env_id, None)
                    return

    def propagate(self, store_id, trigger):
        with self.lock:
            conf = copy.deepcopy(self.applied.get(store_id) or {})
            n = len(self.runs) + 1
        token = conf.get("OAUTH_ACCESS_TOKEN") if conf.get("AUTHENTICATION_METHOD") == "OAuth 2 Bearer Token" else None
        base = conf.get("SCIM_URL", "")
        user = "pingone-sim-%s-%d@example.com" % (secrets.token_hex(3), n)
        status, body, err = scim_call(base, token, "GET", "Users?filter=" + urllib.parse.quote(
            'userName eq "%s"' % user), ca_path=self.ca_path)
        step = "GET Users"
        if status == 200:
            step = "POST Users"
            status, body, err = scim_call(base, token, "POST", "Users", {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user,
                "name": {"givenName": "PingOne", "familyName": "Sim"}, "active": True}, ca_path=self.ca_path)
        ok = status in (200, 201)
        run = {"store": store_id, "trigger": trigger, "time": iso(), "result": "SUCCESS" if ok else "FAILED",
               "step": step, "status": status, "error": err, "userName": user,
               "token_fingerprint": fingerprint(token)}
        with self.lock:
            self.runs.append(run)
            if store_id in self.stores:
                self.stores[store_id]["syncStatus"] = {
                    "status": run["result"], "lastSyncAt": run["time"],
                    "details": None if ok else "%s answered %s" % (step, err or "HTTP %s" % status)}
        return run

    def store_state(self, s):
        st, conf = self.stores[s], self.stores[s]["configuration"]
        return {
            "environment": st["environment"]["id"],
            "configuration_keys": sorted(conf),
            "scim_url": conf.get("SCIM_URL"),
            "authentication_method": conf.get("AUTHENTICATION_METHOD"),
            "token_fingerprint": fingerprint(conf.get("OAUTH_ACCESS_TOKEN")),
            "applied_token_fingerprint": fingerprint((self.applied.get(s) or {}).get("OAUTH_ACCESS_TOKEN")),
            "secrets": {k: fingerprint(v) for k, v in conf.items() if SECRET_RE.search(k) and isinstance(v, str)},
            "overwritten_by_mask": sorted(k for k, v in conf.items() if SECRET_RE.search(k) and self.is_mask(v)),
            "masks_received": list(self.masks_received.get(s, [])),
            "cleared_by_put": list(self.cleared_by_put.get(s, [])),
            "syncStatus": st.get("syncStatus"),
            "updatedAt": st["updatedAt"],
            "other": {k: v for k, v in st.items() if k not in ("configuration", "syncStatus")},
        }

    def state(self):
        with self.lock:
            stores = {s: self.store_state(s) for s in self.stores}
            return {"stores": stores, "revisions": list(self.revisions), "runs": list(self.runs),
                    "background": self.background_running,
                    "fault": dict(self.fault), "settings": dict(self.settings),
                    "requests": list(self.requests[-200:])}

    # ---- dispatch
    def handle(self, method, path, query, headers, raw):
        if path.startswith("/_sim/"):
            return self.admin(method, path, raw)
        if self.faulted(method, "down"):
            return None, None, None
        base = "https://%s" % headers.get("Host", "127.0.40.1:8443")
        with self.lock:
            self.requests.append({"time": iso(), "method": method, "path": path})
        fault = self.faulted(method, "throttle")
        if fault:
            ra = fault.get("retry_after")
            raise p1_error(429, "REQUEST_LIMITED", "The request was rate limited.",
                           headers={"Retry-After": ra} if ra is not None else {})
        m = re.match(r"^/([0-9a-fA-F-]{36})/as/token$", path)
        if m and method == "POST":
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return 200, self.issue_token(m.group(1), headers, form), {"Cache-Control": "no-store"}
        m = re.match(r"^/v1/environments/([^/]+)/propagation/(stores/([^/]+)|revisions)$", path)
        if not m:
            raise p1_error(404, "NOT_FOUND", "The requested resource was not found.")
        env_id = m.group(1)
        self.authorize(headers.get("Authorization"), env_id)
        body = parse_json(raw, p1_error(400, "INVALID_DATA", "The request could not be completed. The request "
                                        "body is not valid JSON."))
        if m.group(3):
            store_id = m.group(3)
            if method == "GET":
                with self.lock:
                    self.find_store(env_id, store_id)
                    return 200, self.store_view(store_id, base), {}
            if method == "PUT":
                return 200, self.put_store(env_id, store_id, body, base), {}
        elif method == "POST":
            return 201, self.create_revision(env_id, base), {}
        raise p1_error(405, "METHOD_NOT_ALLOWED", "The method is not allowed for this resource.")

    def admin(self, method, path, raw):
        data = parse_json(raw, SimError(400, {"error": "body is not JSON"}))
        if path == "/_sim/state" and method == "GET":
            return 200, self.state(), {}
        m = re.match(r"^/_sim/sync/([^/]+)$", path)
        if m and method == "POST":
            if m.group(1) not in self.stores:
                raise SimError(404, {"error": "no store %s" % m.group(1)})
            return 200, self.propagate(m.group(1), "admin"), {}
        m = re.match(r"^/_sim/workers/([^/]+)$", path)
        if m and method == "POST":
            with self.lock:
                worker = self.workers.get(m.group(1))
                if worker is None:
                    raise SimError(404, {"error": "no worker %s" % m.group(1)})
                worker.update({k: v for k, v in data.items() if k in ("roles", "token_auth_method")})
                return 200, {"client_id": m.group(1), "roles": worker.get("roles")}, {}
        if path == "/_sim/faults" and method == "POST":
            return 200, self.set_fault(data), {}
        if path == "/_sim/config" and method == "POST":
            return 200, self.configure(data), {}
        m = re.match(r"^/_sim/stores/([^/]+)$", path)
        if m and method == "POST":
            return 200, self.edit_store(m.group(1), data), {}
        if path == "/_sim/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}, {}
        raise SimError(404, {"error": "unknown admin path %s %s" % (method, path)})


def main(argv=None):
    serve_main(argv, __doc__.split("\n", maxsplit=1)[0], "127.0.40.1", "pingone", PingOne)


if __name__ == "__main__":
    main()
