#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SailPoint Identity Security Cloud simulator for the alation.scim test bed (HTTPS on loopback,
default 127.0.60.1:8443). Plays the tenant's API host (https://{tenant}.api.identitynow.com):

- POST /oauth/token: client_credentials (client_id / client_secret in the form or HTTP Basic),
  {access_token, token_type, expires_in, scope}; 401 {error: invalid_client} otherwise.
- GET /v3/sources/{id}; PATCH /v3/sources/{id} (JSON Patch: add / replace / remove / test on
  /name, /description, /connectorAttributes/<key>); POST /v2025/sources/{id}/connector/check-connection.
- Scopes: a token carries its client's scopes; `sp:scopes:all` grants all; GET needs
  idn:sources:read (or :manage), PATCH idn:sources:manage, check-connection
  idn:source-connector:manage. Missing scope -> 403.
- Errors as ISC words them: ErrorResponseDto {detailCode, trackingId, messages: [{locale,
  localeOrigin, text}]} (400, 403, 404, 415, 500), 401 {error}, 429 {message} with Retry-After.
- Quirks kept: a PATCH without `Content-Type: application/json-patch+json` is refused (415);
  immutable fields (id, type, connector ...) cannot be patched (400); secrets (the keys listed in
  connectorAttributes.encrypted) are taken in clear and only ever returned as cipher text (a new
  cipher text at each change); check-connection really calls the source's SCIM endpoint
  (GET Users?count=1 with `Authorization: Bearer <stored token>`, real HTTPS, test CA verified)
  and answers 200 with a StatusResponse {id, name, status SUCCESS|FAILURE, elapsedMillis, details}.

Admin API (no auth, loopback): GET /_sim/state (fingerprints, never tokens), POST /_sim/reset,
POST /_sim/faults {mode: none|down|slow|unauthorized|forbidden|not_found|throttle|server_error,
count, methods, retry_after, status, delay}, POST /_sim/config {token_key} (renames the token key of
every source: plays a connector whose key is not the default), POST /_sim/clients/{id} {scopes}.
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
from simbase import (  # noqa: E402
    SimApp, SimError, StandardFaults, client_credentials, iso, parse_json, scim_call, serve_main,
)

JSON_PATCH = "application/json-patch+json"
IMMUTABLE = ("id", "type", "authoritative", "created", "modified", "connector", "connectorClass", "passwordPolicies")
URL_KEY = "baseUrl"
DEFAULT_TOKEN_KEY = "apiToken"
ALL = "sp:scopes:all"


def fingerprint(token):
    return None if not token else "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def isc_error(status, detail_code, text, headers=None):
    return SimError(status, {"detailCode": detail_code, "trackingId": uuid.uuid4().hex,
                             "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": text}],
                             "causes": []}, headers)


def forbidden():
    return isc_error(403, "403 Forbidden", "The server understood the request but refuses to authorize it.")


def not_found():
    return isc_error(404, "404 Not found", "The server did not find a current representation for the target "
                     "resource.")


def bad_request(text):
    return isc_error(400, "400.1 Bad Request Content", text)


FAULT_ERRORS = {
    "unauthorized": lambda f: SimError(401, {"error": "JWT validation failed: JWT is expired"}),
    "forbidden": lambda f: forbidden(),
    "not_found": lambda f: not_found(),
    "throttle": lambda f: SimError(429, {"message": " Rate Limit Exceeded "},
                                   {"Retry-After": f["retry_after"]} if f.get("retry_after") is not None else {}),
    "server_error": lambda f: isc_error(f["status"], "500.0 Internal Fault", "An internal fault occurred."),
}


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


class SailPoint(StandardFaults, SimApp):
    fault_errors = FAULT_ERRORS

    def reset(self):
        with self.lock:
            with open(self.config_path) as f:
                cfg = json.load(f)
            self.tenant = cfg.get("tenant", "alation-sim")
            self.clients = copy.deepcopy(cfg.get("clients", {}))     # client_id -> {secret, scopes}
            self.settings = {"token_key": cfg.get("token_key", DEFAULT_TOKEN_KEY)}
            self.fault = {"mode": "none"}
            self.tokens = {}
            self.sources = {}
            self.plain = {}      # source id -> {encrypted key: plaintext}
            for sid, spec in sorted(cfg.get("sources", {}).items()):
                self._create(sid, spec)
            self.checks = []
            self.requests = []
            self.patches = []

    def _create(self, sid, spec):
        key = self.settings["token_key"]
        now = iso()
        self.sources[sid] = {
            "id": sid, "name": spec.get("name", "Alation"), "description": spec.get("description", "Alation SCIM"),
            "owner": {"type": "IDENTITY", "id": "2c9180a46faadee4016fb4e018c20639", "name": "alation.admin"},
            "cluster": {"type": "CLUSTER", "id": "2c9180866166b5b0016167c32ef31a66", "name": "Corporate VA"},
            "type": "SCIM 2.0", "connector": "scim2", "connectorClass": "sailpoint.connector.SCIM2Connector",
            "connectorName": "SCIM 2.0", "authoritative": False, "healthy": True, "status": "SOURCE_STATE_HEALTHY",
            "features": ["PROVISIONING", "ENABLE", "AUTHENTICATE"], "created": now, "modified": now,
            "connectorAttributes": {
                URL_KEY: spec["scim_url"], "authenticationType": "API Token", "pageSize": "100",
                "user": "", "password": None, "clientSecret": None,
                key: None, "encrypted": ",".join(sorted({key, "password", "clientSecret"})),
            },
        }
        self.plain[sid] = {}
        self._set_secret(sid, key, spec.get("initial_token", "not-yet-set"))
        self._set_secret(sid, "clientSecret", spec.get("client_secret", "sim-unused-client-secret"))

    def encrypted(self, sid):
        listed = self.sources[sid]["connectorAttributes"].get("encrypted") or ""
        return set(k.strip() for k in listed.split(",") if k.strip())

    def _set_secret(self, sid, key, value):
        self.plain[sid][key] = value
        cipher = ("2:" + base64.b64encode(secrets.token_bytes(36)).decode("ascii")) if value else None
        self.sources[sid]["connectorAttributes"][key] = cipher

    def find(self, sid):
        if sid not in self.sources:
            raise not_found()
        return self.sources[sid]

    # ---- auth
    def issue_token(self, headers, form):
        cid, secret = client_credentials(headers, form)
        client = self.clients.get(cid)
        if client is None or client.get("secret") != secret:
            raise SimError(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        token = "eyJ" + secrets.token_urlsafe(40)
        with self.lock:
            self.tokens[token] = {"client_id": cid, "expires": time.time() + 749}
        return {"access_token": token, "token_type": "bearer", "expires_in": 749,
                "scope": " ".join(client.get("scopes", [])), "tenant_id": self.tenant, "internal": True}

    def authorize(self, header, scope_needed):
        info = None
        if (header or "").startswith("Bearer "):
            with self.lock:
                info = self.tokens.get(header[7:].strip())
        if info is None or info["expires"] < time.time():
            raise SimError(401, {"error": "JWT validation failed: JWT is expired"})
        scopes = set(self.clients.get(info["client_id"], {}).get("scopes", []))
        if ALL not in scopes and not scopes.intersection(scope_needed):
            raise forbidden()
        return info["client_id"]

    # ---- sources
    def view(self, sid):
        return copy.deepcopy(self.sources[sid])

    def patch(self, sid, ops, who):
        with self.lock:
            source = self.find(sid)
            if not isinstance(ops, list) or not ops:
                raise bad_request("The request body must be a non-empty JSON Patch array.")
            work = copy.deepcopy(source)
            secret_changes = {}
            for op in ops:
                if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove", "test"):
                    raise bad_request("Unsupported patch operation %r." % (op.get("op") if isinstance(op, dict) else op))
                parts = [unescape(p) for p in str(op.get("path", "")).split("/")[1:]]
                if not parts or parts[0] in IMMUTABLE:
                    raise bad_request("The field %r cannot be modified." % "/".join(parts))
                if len(parts) == 1:
                    container, key = work, parts[0]
                elif len(parts) == 2 and parts[0] == "connectorAttributes":
                    container, key = work["connectorAttributes"], parts[1]
                else:
                    raise bad_request("Invalid patch path %r." % op.get("path"))
                exists = key in container
                if op["op"] == "test":
                    if container.get(key) != op.get("value"):
                        raise bad_request("Test operation failed for path %r." % op.get("path"))
                    continue
                if op["op"] in ("replace", "remove") and not exists:
                    raise bad_request("The path %r does not exist." % op.get("path"))
                if op["op"] == "remove":
                    del container[key]
                    continue
                if "value" not in op:
                    raise bad_request("A value is required for %r." % op.get("path"))
                if container is work["connectorAttributes"] and key in self.encrypted(sid):
                    secret_changes[key] = op["value"]
                else:
                    container[key] = op["value"]
            work["modified"] = iso()
            self.sources[sid] = work
            for key, value in secret_changes.items():
                self._set_secret(sid, key, value)
            self.patches.append({"time": iso(), "source": sid, "by": who, "paths": [o.get("path") for o in ops],
                                 "token_fingerprint": fingerprint(self.plain[sid].get(self.settings["token_key"]))})
            return self.view(sid)

    def check_connection(self, sid):
        with self.lock:
            source = self.find(sid)
            url = source["connectorAttributes"].get(URL_KEY) or ""
            token = self.plain[sid].get(self.settings["token_key"])
            name = source["name"]
        started = time.time()
        status, _body, err = scim_call(url, token, "GET", "Users?count=1", ca_path=self.ca_path)
        elapsed = int((time.time() - started) * 1000)
        ok = status == 200
        details = {"message": "Test connection succeeded"} if ok else {
            "error": "SCIM 2.0 connector: %s" % (err or "HTTP %s from %sUsers" % (status, url))}
        check = {"time": iso(), "source": sid, "status": "SUCCESS" if ok else "FAILURE", "http_status": status,
                 "error": err, "token_fingerprint": fingerprint(token)}
        with self.lock:
            self.checks.append(check)
            source["healthy"] = ok
            source["status"] = "SOURCE_STATE_HEALTHY" if ok else "SOURCE_STATE_ERROR_ACCOUNT_FILE_IMPORT"
        return {"id": sid, "name": name, "status": check["status"], "elapsedMillis": elapsed, "details": details}

    # ---- dispatch
    def api(self, method, path, query, headers, raw):
        if path == "/oauth/token" and method == "POST":
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            form.update(urllib.parse.parse_qs(query, keep_blank_values=True))
            return 200, self.issue_token(headers, form), {"Cache-Control": "no-store"}
        m = re.match(r"^/v3/sources/([^/]+)$", path)
        if m:
            sid = urllib.parse.unquote(m.group(1))
            if method == "GET":
                self.authorize(headers.get("Authorization"), {"idn:sources:read", "idn:sources:manage"})
                with self.lock:
                    self.find(sid)
                    return 200, self.view(sid), {}
            if method == "PATCH":
                who = self.authorize(headers.get("Authorization"), {"idn:sources:manage"})
                if (headers.get("Content-Type") or "").split(";")[0].strip() != JSON_PATCH:
                    raise isc_error(415, "415 Unsupported Media Type", "Content type %r is not supported; use %s."
                                    % (headers.get("Content-Type"), JSON_PATCH))
                ops = parse_json(raw, bad_request("The request body is not valid JSON."))
                return 200, self.patch(sid, ops, who), {}
            raise isc_error(405, "405 Method Not Allowed", "Method not allowed.")
        m = re.match(r"^/v2025/sources/([^/]+)/connector/check-connection$", path)
        if m and method == "POST":
            self.authorize(headers.get("Authorization"), {"idn:source-connector:manage"})
            return 200, self.check_connection(urllib.parse.unquote(m.group(1))), {}
        raise not_found()

    def state(self):
        with self.lock:
            key = self.settings["token_key"]
            sources = {}
            for sid, src in self.sources.items():
                sources[sid] = {
                    "name": src["name"], "description": src.get("description"), "modified": src["modified"],
                    "connector_attribute_keys": sorted(src["connectorAttributes"]),
                    "token_key": key, "token_fingerprint": fingerprint(self.plain[sid].get(key)),
                    "token_cipher_fingerprint": fingerprint(src["connectorAttributes"].get(key)),
                    "secret_fingerprints": {k: fingerprint(v) for k, v in self.plain[sid].items()},
                    "scim_url": src["connectorAttributes"].get(URL_KEY), "healthy": src.get("healthy"),
                }
            return {"sources": sources, "checks": list(self.checks), "patches": list(self.patches),
                    "fault": dict(self.fault), "settings": dict(self.settings),
                    "requests": list(self.requests[-200:])}

    def own_admin(self, method, path, data):
        if path == "/_sim/config" and method == "POST":
            with self.lock:
                new = data.get("token_key")
                if new and new != self.settings["token_key"]:
                    old = self.settings["token_key"]
                    self.settings["token_key"] = new
                    for sid, src in self.sources.items():
                        attrs = src["connectorAttributes"]
                        attrs[new] = attrs.pop(old, None)
                        attrs["encrypted"] = ",".join(sorted((self.encrypted(sid) - {old}) | {new}))
                        self.plain[sid][new] = self.plain[sid].pop(old, None)
                return 200, dict(self.settings), {}
        m = re.match(r"^/_sim/clients/([^/]+)$", path)
        if m and method == "POST":
            with self.lock:
                client = self.clients.get(m.group(1))
                if client is None:
                    raise SimError(404, {"error": "no client %s" % m.group(1)})
                if "scopes" in data:
                    client["scopes"] = list(data["scopes"])
                return 200, {"client_id": m.group(1), "scopes": client["scopes"]}, {}
        raise SimError(404, {"error": "unknown admin path %s %s" % (method, path)})


def main(argv=None):
    serve_main(argv, __doc__.split("\n", maxsplit=1)[0], "127.0.60.1", "sailpoint", SailPoint)


if __name__ == "__main__":
    main()
