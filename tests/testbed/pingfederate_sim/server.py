#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PingFederate simulator for the alation.scim test bed (HTTPS on loopback, default 127.0.50.1:8443).

Plays the PingFederate administrative API for SP connections with outbound provisioning through
the SCIM connector (facts: shared/reference/idp-apis.md, pingfederate-go-client docs):

- GET / PUT /pf-admin-api/v1/idp/spConnections/{id}; POST /pf-admin-api/v1/cluster/replicate.
- Every admin API request must carry `X-XSRF-Header: PingFederate` (else 403); a request body
  must be sent as JSON (else 415).
- Auth: HTTP Basic (admin accounts with roles ADMINISTRATOR / AUDITOR), a Bearer token from
  this simulator's own OAuth token endpoint (POST /as/token.oauth2, client_credentials,
  client_secret_basic or _post), or a client certificate signed by the test CA whose CN is
  mapped to an account (mutual TLS). 401 without valid credentials, 403 without the
  ADMINISTRATOR role for a write.
- Quirks kept: a GET never returns the value of an encrypted config field, only its
  `encryptedValue` (an opaque string this simulator issued; a new one after each change of the
  value). A PUT replaces the whole connection and is validated as a whole: every field of the
  connector's descriptor must be there and no other, an encrypted field keeps its value only
  when its encryptedValue is the one issued for it (any other -> 422), a new `value` replaces
  it; top-level required attributes must be there. Errors are ApiResult bodies
  {resultId, message, validationErrors: [{errorId, fieldPath, message}]}.
- Standalone (default): a saved change is live at once; `clustered`: engines keep provisioning
  with the last replicated configuration until POST /cluster/replicate (standalone: 422).
- Provisioning: after a change goes live (save / replicate), an engine thread provisions with it:
  GET Users on the connection's SCIM URL with `Authorization: Bearer <Access Token>` over real
  HTTPS (test CA verified); outcome in /_sim/state `runs`.

Admin API (no auth, loopback): GET /_sim/state (fingerprints, never tokens), POST /_sim/reset,
POST /_sim/faults {mode: none|down|slow|unauthorized|forbidden|not_found|throttle|server_error,
count, methods, retry_after, status, delay}, POST /_sim/config {clustered, token_field},
POST /_sim/provision/{id} (an engine run now).
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import (  # noqa: E402
    PeerCertHandler, SimApp, SimError, StandardFaults, basic_credentials, client_credentials, iso, parse_json, scim_call, serve_main,
)

API = "/pf-admin-api/v1"
TOKEN_FIELD = "Access Token"
ADMIN_ROLE, AUDITOR_ROLE = "ADMINISTRATOR", "AUDITOR"
READ_ONLY = ("id",)
REQUIRED = ("name", "entityId", "type")
# The SCIM connector's target settings: (name, encrypted). PingFederate names config fields by
# their labels (docs.pingidentity.com, SCIM provisioner settings reference).
DESCRIPTOR = (
    ("SCIM URL", False), ("SCIM Version", False), ("Authentication Method", False),
    ("Basic Authentication Username", False), ("Basic Authentication Password", True),
    (TOKEN_FIELD, True), ("Token Request Endpoint", False), ("Client ID", False), ("Client Secret", True),
    ("Scope", False), ("Unique User Identifier", False), ("Filter Expression", False),
    ("Authorization Header Type", False),
)


def fingerprint(token):
    return None if not token else "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def api_result(status, result_id, message, errors=(), headers=None):
    body = {"resultId": result_id, "message": message}
    if errors:
        body["validationErrors"] = [dict(e) for e in errors]
    return SimError(status, body, headers)


def invalid(errors):
    return api_result(422, "validation_error", "Validation error(s) occurred. Please review the error(s) and "
                      "address accordingly.", errors)


def field_error(path, message, error_id="invalid_field"):
    return {"errorId": error_id, "fieldPath": path, "message": message}


FAULT_ERRORS = {
    "unauthorized": lambda f: api_result(401, "authentication_failed", "Authentication failed."),
    "forbidden": lambda f: api_result(403, "insufficient_privileges",
                                      "You do not have the required privileges for this operation."),
    "not_found": lambda f: api_result(404, "resource_not_found", "Resource not found."),
    "throttle": lambda f: api_result(429, "too_many_requests", "Too many requests.",
                                     headers={"Retry-After": f["retry_after"]} if f.get("retry_after") is not None
                                     else {}),
    "server_error": lambda f: api_result(f["status"], "server_error", "An unexpected error occurred."),
}


class PingFederate(StandardFaults, SimApp):
    fault_errors = FAULT_ERRORS

    def reset(self):
        with self.lock:
            with open(self.config_path) as f:
                cfg = json.load(f)
            self.admins = copy.deepcopy(cfg.get("admins", {}))             # username -> {password, roles}
            self.oauth_clients = copy.deepcopy(cfg.get("oauth_clients", {}))  # client_id -> {secret, admin}
            self.cert_admins = copy.deepcopy(cfg.get("cert_admins", {}))   # certificate CN -> username
            self.settings = {"clustered": bool(cfg.get("clustered", False)),
                             "token_field": cfg.get("token_field", TOKEN_FIELD)}
            self.fault = {"mode": "none"}
            self.tokens = {}
            self.connections = {}
            self.secrets = {}       # connection id -> {field name: (plaintext, encryptedValue)}
            self.live = {}          # what the engines provision with: connection id -> {field: plaintext}
            for cid, spec in sorted(cfg.get("connections", {}).items()):
                self._create(cid, spec)
            self.runs = []
            self.requests = []
            self.replications = []
            self.saves = []
            # an engine run started before a reset must not show up after it
            self.generation = getattr(self, "generation", 0) + 1

    # ---- connections
    def descriptor(self):
        field = self.settings["token_field"]
        return [(field if name == TOKEN_FIELD else name, enc) for name, enc in DESCRIPTOR]

    def _create(self, cid, spec):
        plain = {
            "SCIM URL": spec["scim_url"], "SCIM Version": "2.0", "Authentication Method": "OAuth 2 Bearer Token",
            "Basic Authentication Username": "", "Basic Authentication Password": "",
            TOKEN_FIELD: spec.get("initial_token", "not-yet-set"), "Token Request Endpoint": "", "Client ID": "",
            "Client Secret": spec.get("client_secret", "sim-unused-client-secret-" + cid),
            "Scope": "", "Unique User Identifier": "userName", "Filter Expression": "",
            "Authorization Header Type": "Bearer",
        }
        plain[self.settings["token_field"]] = plain.pop(TOKEN_FIELD)
        fields = []
        self.secrets[cid] = {}
        for name, encrypted in self.descriptor():
            if encrypted:
                self._store_secret(cid, name, plain[name])
                fields.append({"name": name})
            else:
                fields.append({"name": name, "value": plain[name]})
        self.connections[cid] = {
            "id": cid, "type": "SP", "name": spec.get("name", "Alation"), "entityId": spec.get("entity_id", cid),
            "active": True, "baseUrl": spec["scim_url"].split("/scim/")[0], "loggingMode": "STANDARD",
            "contactInfo": {"company": "Alation test bed"}, "connectionTargetType": "STANDARD",
            "virtualEntityIds": [], "modificationDate": iso(),
            "outboundProvision": {
                "type": "SCIM", "targetSettings": fields,
                "channels": [{"name": "Alation users", "active": True, "maxThreads": 1, "timeout": 60,
                              "channelSource": {"baseDn": "ou=people,dc=example,dc=com",
                                                "dataSource": {"id": "LDAP-directory"},
                                                "guidAttributeName": "entryUUID", "guidBinary": False,
                                                "changeDetectionSettings": {
                                                    "userObjectClass": "inetOrgPerson",
                                                    "groupObjectClass": "groupOfUniqueNames",
                                                    "changedUsersAlgorithm": "TIMESTAMP_NO_NEGATION",
                                                    "timeStampAttributeName": "modifyTimestamp"},
                                                "accountManagementSettings": {
                                                    "accountStatusAttributeName": "nsaccountlock",
                                                    "accountStatusAlgorithm": "ACCOUNT_STATUS_ALGORITHM_FLAG",
                                                    "flagComparisonValue": "true", "flagComparisonStatus": True,
                                                    "defaultStatus": True},
                                                "groupMembershipDetection": {"memberOfGroupAttributeName": "memberOf"},
                                                "userSourceLocation": {"filter": "(objectClass=inetOrgPerson)"}},
                              "attributeMapping": [
                                  {"fieldName": "userName", "saasFieldInfo": {"attributeNames": ["uid"]}},
                                  {"fieldName": "email", "saasFieldInfo": {"attributeNames": ["mail"]}}]}],
            },
        }
        self.live[cid] = self.plaintext(cid)

    def _store_secret(self, cid, name, value):
        issued = base64.urlsafe_b64encode(b"pfsim" + secrets.token_bytes(24)).decode("ascii") if value else None
        self.secrets[cid][name] = (value, issued)

    def plaintext(self, cid):
        """Every target setting of a connection in clear (the engines' view)."""
        out = {}
        for field in self.connections[cid]["outboundProvision"]["targetSettings"]:
            if field["name"] in self.secrets[cid]:
                out[field["name"]] = self.secrets[cid][field["name"]][0]
            else:
                out[field["name"]] = field.get("value")
        return out

    def view(self, cid):
        conn = copy.deepcopy(self.connections[cid])
        for field in conn["outboundProvision"]["targetSettings"]:
            value, issued = self.secrets[cid].get(field["name"], (None, None))
            if field["name"] in self.secrets[cid]:
                field.pop("value", None)
                if issued:
                    field["encryptedValue"] = issued
        return conn

    def find(self, cid):
        if cid not in self.connections:
            raise api_result(404, "resource_not_found", "Resource not found.")
        return cid

    def validate_put(self, cid, body):
        errors = []
        if not isinstance(body, dict):
            raise invalid([field_error("", "The request body must be an SP connection.")])
        if body.get("id") not in (None, cid):
            errors.append(field_error("id", "The ID in the request body does not match the ID in the URL."))
        for key in REQUIRED:
            if body.get(key) in (None, ""):
                errors.append(field_error(key, "%s is required." % key, "required_field"))
        provision = body.get("outboundProvision")
        fields = provision.get("targetSettings") if isinstance(provision, dict) else None
        if not isinstance(fields, list):
            errors.append(field_error("outboundProvision.targetSettings", "Target settings are required.",
                                      "required_field"))
            raise invalid(errors)
        if not provision.get("type"):
            errors.append(field_error("outboundProvision.type", "The provisioning type is required.",
                                      "required_field"))
        if not isinstance(provision.get("channels"), list):
            errors.append(field_error("outboundProvision.channels", "Channels are required.", "required_field"))
        descriptor = dict(self.descriptor())
        seen = {}
        for i, field in enumerate(fields):
            path = "outboundProvision.targetSettings[%d]" % i
            name = field.get("name") if isinstance(field, dict) else None
            if name not in descriptor:
                errors.append(field_error(path + ".name", "'%s' is not a field of the SCIM connector." % name))
                continue
            if name in seen:
                errors.append(field_error(path + ".name", "Field '%s' appears more than once." % name))
            seen[name] = field
            if not descriptor[name] and "encryptedValue" in field:
                errors.append(field_error(path + ".encryptedValue", "Field '%s' is not encrypted." % name))
            if descriptor[name] and "value" not in field and field.get("encryptedValue") is not None:
                if field["encryptedValue"] != self.secrets[cid].get(name, (None, None))[1]:
                    errors.append(field_error(path + ".encryptedValue", "The encrypted value of field '%s' is not "
                                              "valid." % name, "invalid_encrypted_value"))
        for name in descriptor:
            if name not in seen:
                errors.append(field_error("outboundProvision.targetSettings", "Field '%s' is required." % name,
                                          "required_field"))
        if errors:
            raise invalid(errors)
        return seen

    def put(self, cid, body, who):
        with self.lock:
            self.find(cid)
            seen = self.validate_put(cid, body)
            changed = []
            for name, encrypted in self.descriptor():
                if not encrypted:
                    continue
                field = seen[name]
                if "value" in field:
                    if field["value"] != self.secrets[cid].get(name, (None, None))[0]:
                        changed.append(name)
                    self._store_secret(cid, name, field["value"] or "")
                elif field.get("encryptedValue") is None:
                    if self.secrets[cid].get(name, (None, None))[0]:
                        changed.append(name)
                    self._store_secret(cid, name, "")
            stored = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
            stored["id"] = cid
            stored["modificationDate"] = iso()
            for field in stored["outboundProvision"]["targetSettings"]:
                if field["name"] in self.secrets[cid]:
                    field.pop("value", None)
                    field.pop("encryptedValue", None)
            self.connections[cid] = stored
            self.saves.append({"time": iso(), "connection": cid, "by": who, "changed_secrets": changed,
                               "token_fingerprint": fingerprint(self.token_of(cid))})
            live_now = not self.settings["clustered"]
            if live_now:
                self.live[cid] = self.plaintext(cid)
            view = self.view(cid)
        if live_now:
            self.start_provisioning([cid], "save")
        return view

    def token_of(self, cid, live=False):
        field = self.settings["token_field"]
        if live:
            return (self.live.get(cid) or {}).get(field)
        return self.secrets[cid].get(field, (None, None))[0]

    def replicate(self, who):
        with self.lock:
            if not self.settings["clustered"]:
                raise api_result(422, "validation_error", "Replication is only available in a clustered "
                                 "deployment.", [field_error("", "This server is running in standalone mode.")])
            ids = list(self.connections)
            for cid in ids:
                self.live[cid] = self.plaintext(cid)
            self.replications.append({"time": iso(), "by": who})
        self.start_provisioning(ids, "replicate")
        return {"resultId": "success", "message": "Replication completed successfully."}

    # ---- the engines' provisioning
    def start_provisioning(self, ids, trigger):
        self.in_background(lambda: [self.provision(c, trigger) for c in ids])

    def provision(self, cid, trigger):
        with self.lock:
            conf = dict(self.live.get(cid) or {})
            generation = self.generation
        token = conf.get(self.settings["token_field"])
        status, _body, err = scim_call(conf.get("SCIM URL", ""), token, "GET", "Users?count=1", ca_path=self.ca_path)
        run = {"connection": cid, "trigger": trigger, "time": iso(), "status": status, "error": err,
               "result": "SUCCESS" if status == 200 else "FAILED", "token_fingerprint": fingerprint(token)}
        with self.lock:
            if generation == self.generation:
                self.runs.append(run)
        return run

    # ---- authentication
    def issue_token(self, headers, form):
        cid, secret = client_credentials(headers, form)
        client = self.oauth_clients.get(cid)
        if client is None or client.get("secret") != secret:
            raise SimError(401, {"error": "invalid_client", "error_description": "Invalid client or client "
                                 "credentials."})
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = {"admin": client["admin"], "expires": time.time() + 7200}
        return {"access_token": token, "token_type": "Bearer", "expires_in": 7200}

    def who(self, headers):
        """(account, how) of the request; 401 without valid credentials."""
        auth = headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            user, password = basic_credentials(auth)
            account = self.admins.get(user)
            if account is not None and account.get("password") == password:
                return user, "basic"
        elif auth.startswith("Bearer "):
            with self.lock:
                info = self.tokens.get(auth[7:].strip())
            if info and info["expires"] > time.time():
                return info["admin"], "oauth2"
        elif headers.get(PeerCertHandler.PEER_HEADER) in self.cert_admins:
            return self.cert_admins[headers[PeerCertHandler.PEER_HEADER]], "client_certificate"
        raise api_result(401, "authentication_failed", "Authentication failed.")

    def require_role(self, user, write):
        roles = self.admins.get(user, {}).get("roles", [])
        if ADMIN_ROLE in roles or (not write and AUDITOR_ROLE in roles):
            return
        raise api_result(403, "insufficient_privileges", "You do not have the required privileges for this "
                         "operation.")

    # ---- dispatch
    def request_record(self, headers):
        return {"content_type": headers.get("Content-Type"), "xsrf": headers.get("X-XSRF-Header") == "PingFederate"}

    def api(self, method, path, query, headers, raw):
        if path == "/as/token.oauth2" and method == "POST":
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return 200, self.issue_token(headers, form), {"Cache-Control": "no-store"}
        if not path.startswith(API + "/"):
            raise api_result(404, "resource_not_found", "Resource not found.")
        if headers.get("X-XSRF-Header") != "PingFederate":
            raise api_result(403, "xsrf_header_missing", "The X-XSRF-Header header is required for all requests.")
        user, how = self.who(headers)
        if raw and not (headers.get("Content-Type") or "").startswith("application/json"):
            raise api_result(415, "unsupported_media_type", "Content-Type must be application/json.")
        body = parse_json(raw, api_result(400, "invalid_json", "The request body is not valid JSON."))
        m = re.match(r"^%s/idp/spConnections/([^/]+)$" % API, path)
        if m:
            cid = urllib.parse.unquote(m.group(1))
            if method == "GET":
                self.require_role(user, write=False)
                with self.lock:
                    return 200, self.view(self.find(cid)), {}
            if method == "PUT":
                self.require_role(user, write=True)
                return 200, self.put(cid, body, "%s (%s)" % (user, how)), {}
            raise api_result(405, "method_not_allowed", "Method not allowed.")
        if path == API + "/cluster/replicate" and method == "POST":
            self.require_role(user, write=True)
            return 200, self.replicate("%s (%s)" % (user, how)), {}
        raise api_result(404, "resource_not_found", "Resource not found.")

    def state(self):
        with self.lock:
            conns = {}
            for cid, conn in self.connections.items():
                conns[cid] = {
                    "name": conn.get("name"), "entity_id": conn.get("entityId"),
                    "field_names": [f["name"] for f in conn["outboundProvision"]["targetSettings"]],
                    "token_fingerprint": fingerprint(self.token_of(cid)),
                    "live_token_fingerprint": fingerprint(self.token_of(cid, live=True)),
                    "secret_fingerprints": {k: fingerprint(v[0]) for k, v in self.secrets[cid].items()},
                    "plain_settings": {f["name"]: f.get("value") for f in conn["outboundProvision"]["targetSettings"]
                                       if f["name"] not in self.secrets[cid]},
                    "other": {k: v for k, v in conn.items() if k not in ("outboundProvision", "modificationDate")},
                    "channels": conn["outboundProvision"].get("channels"),
                    "modificationDate": conn.get("modificationDate"),
                }
            return {"connections": conns, "runs": list(self.runs), "saves": list(self.saves),
                    "background": self.background_running,
                    "replications": list(self.replications), "fault": dict(self.fault),
                    "settings": dict(self.settings), "requests": list(self.requests[-200:])}

    def own_admin(self, method, path, data):
        if path == "/_sim/config" and method == "POST":
            with self.lock:
                if "clustered" in data:
                    self.settings["clustered"] = bool(data["clustered"])
                if data.get("token_field") and data["token_field"] != self.settings["token_field"]:
                    self.rename_token_field(data["token_field"])
                return 200, dict(self.settings), {}
        m = re.match(r"^/_sim/provision/([^/]+)$", path)
        if m and method == "POST":
            if m.group(1) not in self.connections:
                raise SimError(404, {"error": "no connection %s" % m.group(1)})
            return 200, self.provision(m.group(1), "admin"), {}
        raise SimError(404, {"error": "unknown admin path %s %s" % (method, path)})

    def rename_token_field(self, new):
        """Play a provisioner whose token field has another name (the name is not confirmed)."""
        old = self.settings["token_field"]
        self.settings["token_field"] = new
        for cid, conn in self.connections.items():
            for field in conn["outboundProvision"]["targetSettings"]:
                if field["name"] == old:
                    field["name"] = new
            self.secrets[cid][new] = self.secrets[cid].pop(old)
            self.live[cid][new] = self.live[cid].pop(old, None)


def main(argv=None):
    serve_main(argv, __doc__.split("\n", maxsplit=1)[0], "127.0.50.1", "pingfederate", PingFederate,
               handler=PeerCertHandler, client_certs=True)


if __name__ == "__main__":
    main()
