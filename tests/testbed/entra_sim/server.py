# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft Entra ID simulator for the alation.scim test bed.

Plays the Entra token endpoint and the Microsoft Graph v1.0 synchronization paths that
alation.scim uses, with the status codes, error bodies and quirks described in
shared/reference/idp-apis.md, plus a provisioning engine that really calls the simulated
Alation SCIM endpoints with the stored credentials.  Admin API under /_sim/ (no auth; the
server only ever listens on loopback).

Decisions where the real behaviour is unconfirmed (documented in README.md):
- GET .../synchronization/secrets masks every value, BaseAddress included, by default
  (`mask_base_address: true`); POST /_sim/config {"mask_base_address": false} shows it.
- PUT .../synchronization/secrets replaces the whole stored set.
- A quarantined job runs only when a cycle is requested through /_sim/cycle (standing in
  for Entra's slowed-down quarantine retries); a successful cycle leaves quarantine.
- GET .../synchronization/secrets is not in Graph's v1.0 metadata: knob `secrets_read`
  plays a tenant that answers it (masked) or refuses it with 400, 404 or 405.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import secrets as _secrets
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import scim_cycles  # noqa: E402
import simbase  # noqa: E402
from simbase import SimError, iso, parse_json, split_jwt, utcnow  # noqa: E402

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SYNC_PERMISSIONS = ("Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy",
                    "Application.ReadWrite.All")
SP_READ_PERMISSIONS = ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Application.Read.All",
                       "Directory.Read.All")
# Keys Entra accepts in synchronization secrets (case-sensitive; anything else -> 500).
KNOWN_SECRET_KEYS = ("BaseAddress", "SecretToken", "ClientIdentifier", "ClientSecret",
                     "SyncNotificationSettings", "SyncAll", "Domain", "UserName",
                     "Password", "Server", "TenantUrl", "AppKey")
RESET_SCOPES = ("Watermark", "Escrows", "QuarantineState", "Full", "ForceDeletes",
                "ConnectorDataStore", "None")
# What GET .../synchronization/secrets answers (not in Graph's v1.0 metadata, reported to work
# and to mask values): "masked", or a tenant where it is unavailable: 400, 404 or 405.
SECRETS_READ = ("masked", 400, 404, 405)
DEFAULT_SETTINGS = {"cycle_interval": 0, "mask_base_address": True, "token_lifetime": 3599,
                    "secrets_read": "masked"}
FAULT_MODES = ("none", "down", "slow", "throttle", "wrong_permissions",
               "replication_delay", "flapping")
MAX_LOG = 2000


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def graph_error(status, code, message, client_request_id=None, headers=None):
    return SimError(status, {"error": {
        "code": code,
        "message": message,
        "innerError": {
            "date": utcnow().strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": str(uuid.uuid4()),
            "client-request-id": client_request_id or str(uuid.uuid4()),
        }}}, headers)


def aad_error(status, error, code, description):
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    return SimError(status, {
        "error": error,
        "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
            code, description, trace, corr, utcnow().strftime("%Y-%m-%d %H:%M:%SZ")),
        "error_codes": [code],
        "timestamp": utcnow().strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    })


class Sim(object):
    """All simulator state, guarded by one lock."""

    def __init__(self, config_path, ca_path=None):
        self.config_path = config_path
        self.ca_path = ca_path
        self.base_url = None  # https://host:port, set by main() once the server is bound
        self.lock = threading.RLock()
        self.reset()

    # ---- state -------------------------------------------------------------------------
    def load_config(self):
        with open(self.config_path) as f:
            return json.load(f)

    def reset(self):
        with self.lock:
            cfg = self.load_config()
            self.settings = dict(DEFAULT_SETTINGS)
            self.tenants = json.loads(json.dumps(cfg.get("tenants", {})))
            self.configure(cfg)
            self.sps = {}
            for sp_id, sp in cfg.get("service_principals", {}).items():
                jobs = {}
                for job in sp.get("jobs", []):
                    jobs[job["id"]] = self.new_job(job)
                self.sps[sp_id] = {
                    "tenant": sp["tenant"],
                    "display_name": sp.get("display_name", sp_id),
                    "app_id": sp.get("app_id", str(uuid.uuid5(uuid.NAMESPACE_URL, sp_id))),
                    "secrets": [dict(s) for s in sp.get("secrets", [])],
                    "jobs": jobs,
                    "cycles": [],
                    "group": None,
                }
            self.tokens = {}
            self.fault = {"mode": "none"}
            self.requests = []
            self.run_id = _secrets.token_hex(3)

    def configure(self, data):
        """Settings from the config file or POST /_sim/config; unknown values answer 400."""
        read = data.get("secrets_read", self.settings["secrets_read"])
        if read not in SECRETS_READ:
            raise SimError(400, {"error": "secrets_read must be one of %s, got %r" % (SECRETS_READ, read)})
        with self.lock:
            for key in DEFAULT_SETTINGS:
                if key in data:
                    self.settings[key] = data[key]
            return dict(self.settings)

    @staticmethod
    def new_job(spec):
        code = spec.get("status", "Active")
        sched = {"Active": "Active", "Quarantine": "Active", "Paused": "Paused"}.get(code, "Disabled")
        job = {
            "id": spec["id"],
            "templateId": spec.get("templateId", "scim"),
            "schedule": {"expiration": None, "interval": "PT40M", "state": sched},
            "status": {
                "code": code,
                "countSuccessiveCompleteFailures": 0,
                "escrowsPruned": False,
                "lastExecution": None,
                "lastSuccessfulExecution": None,
                "lastSuccessfulExecutionWithExports": None,
                "quarantine": None,
                "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
                "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
                "troubleshootingUrl": None,
            },
            "synchronizationJobSettings": [],
        }
        if code == "Quarantine":
            Sim.quarantine(job, spec.get("quarantine_reason", "EncounteredQuarantineException"),
                           "Configured quarantined by the test bed")
        return job

    @staticmethod
    def quarantine(job, reason, detail):
        now = iso()
        q = job["status"].get("quarantine") or {"seriesBegan": now, "seriesCount": 0}
        q.update({
            "currentBegan": now,
            "nextAttempt": iso(utcnow() + datetime.timedelta(days=1)),
            "reason": reason,
            "seriesCount": q.get("seriesCount", 0) + 1,
            "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable",
                      "message": detail, "tenantActionable": True},
        })
        job["status"]["quarantine"] = q
        job["status"]["code"] = "Quarantine"

    @staticmethod
    def unquarantine(job):
        job["status"]["quarantine"] = None
        if job["status"]["code"] == "Quarantine":
            job["status"]["code"] = "Active" if job["schedule"]["state"] == "Active" else "Paused"

    def log_request(self, method, path, status, client_request_id=None):
        with self.lock:
            self.requests.append({"time": iso(), "epoch": time.time(), "method": method,
                                  "path": path, "status": status,
                                  "client_request_id": client_request_id})
            del self.requests[:-MAX_LOG]

    # ---- faults ------------------------------------------------------------------------
    def set_fault(self, spec):
        mode = spec.get("mode", "none")
        if mode not in FAULT_MODES:
            raise SimError(400, {"error": "unknown fault mode %r, one of %s" % (mode, FAULT_MODES)})
        fault = {"mode": mode, "remaining": spec.get("count"), "delay": float(spec.get("delay", 2)),
                 "retry_after": spec.get("retry_after"), "status": int(spec.get("status", 403)),
                 "skip": int(spec.get("skip", 0)), "seen": 0}
        with self.lock:
            self.fault = fault
        return self.public_fault()

    def public_fault(self):
        return dict(self.fault)

    def take_fault(self, kinds):
        """Consume one occurrence of the active fault if it is of one of `kinds`."""
        with self.lock:
            f = self.fault
            if f["mode"] not in kinds:
                return None
            if f.get("skip"):  # the first `skip` requests it would hit go through
                f["skip"] -= 1
                return None
            f["seen"] += 1
            if f["mode"] == "flapping" and f["seen"] % 2 == 0:
                # flapping: every other request goes through; those count too
                if f["remaining"] is not None:
                    f["remaining"] -= 1
                    if f["remaining"] <= 0:
                        self.fault = {"mode": "none"}
                return None
            if f["remaining"] is not None:
                if f["remaining"] <= 0:
                    self.fault = {"mode": "none"}
                    return None
                f["remaining"] -= 1
                if f["remaining"] <= 0:
                    self.fault = {"mode": "none"}
            return dict(f)

    # ---- token endpoint ----------------------------------------------------------------
    def issue_token(self, tenant_id, form, base_url):
        def one(name):
            return (form.get(name) or [None])[0]

        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise aad_error(400, "invalid_request", 90002,
                            "Tenant '%s' not found. Check to make sure you have the correct tenant ID "
                            "and are signing into the correct cloud." % tenant_id)
        if one("grant_type") != "client_credentials":
            raise aad_error(400, "unsupported_grant_type", 70003,
                            "The app requested an unsupported grant type '%s'." % one("grant_type"))
        client_id = one("client_id")
        app = tenant.get("apps", {}).get(client_id or "")
        if app is None:
            raise aad_error(400, "unauthorized_client", 700016,
                            "Application with identifier '%s' was not found in the directory '%s'. "
                            "This can happen if the application has not been installed by the "
                            "administrator of the tenant." % (client_id, tenant_id))
        # The Graph resource of this cloud: the public one, or this simulator standing in for it.
        if one("scope") not in (GRAPH_SCOPE, base_url + "/.default"):
            raise aad_error(400, "invalid_scope", 70011,
                            "The provided request must include a 'scope' input parameter. The provided "
                            "value for the input parameter 'scope' is not valid.")
        if one("client_assertion") is not None:
            if one("client_assertion_type") != JWT_BEARER:
                raise aad_error(400, "invalid_request", 700025,
                                "Client assertion type '%s' is not supported." % one("client_assertion_type"))
            self.check_assertion(one("client_assertion"), client_id, tenant_id, app, base_url)
        elif one("client_secret") is not None:
            if not app.get("secret") or not _secrets.compare_digest(one("client_secret"), app["secret"]):
                raise aad_error(401, "invalid_client", 7000215,
                                "Invalid client secret provided. Ensure the secret being sent in the "
                                "request is the client secret value, not the client secret ID, for a "
                                "secret added to app '%s'." % client_id)
        else:
            raise aad_error(401, "invalid_client", 7000218,
                            "The request body must contain the following parameter: 'client_assertion' "
                            "or 'client_secret'.")
        token = _secrets.token_urlsafe(32)
        lifetime = int(self.settings["token_lifetime"])
        with self.lock:
            self.tokens[token] = {"tenant": tenant_id, "client_id": client_id,
                                  "expires": time.time() + lifetime}
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": token}

    def openid_configuration(self, tenant_id, base_url):
        """The tenant's OIDC discovery document, as MSAL (azure-identity) reads it before it asks
        for a token at a custom authority; endpoints point at this simulator."""
        if tenant_id not in self.tenants:
            raise aad_error(400, "invalid_tenant", 90002,
                            "Tenant '%s' not found. Check to make sure you have the correct tenant ID "
                            "and are signing into the correct cloud." % tenant_id)
        root = "%s/%s" % (base_url, tenant_id)
        return {
            "token_endpoint": root + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": root + "/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": root + "/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": base_url + "/oidc/userinfo",
            "authorization_endpoint": root + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": root + "/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": root + "/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
            "kerberos_endpoint": root + "/kerberos",
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": urllib.parse.urlsplit(base_url).netloc,
            "rbac_url": "https://pas.windows.net",
        }

    def check_assertion(self, assertion, client_id, tenant_id, app, base_url):
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def bad(code, text):
            return aad_error(401, "invalid_client", code, text)

        try:
            signed, header, claims, signature = split_jwt(assertion)
        except Exception:
            raise aad_error(400, "invalid_request", 50027,
                            "JWT token is invalid or malformed.")
        if header.get("alg") != "RS256":
            raise bad(5002738, "Invalid JWT token. '%s' is not a supported signature algorithm."
                      % header.get("alg"))
        certs = []
        for pem in app.get("certificates", []):
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            der = cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                               fromlist=["Encoding"]).Encoding.DER)
            certs.append((cert, b64url(hashlib.sha256(der).digest()), b64url(hashlib.sha1(der).digest())))
        match = [c for c, s256, s1 in certs
                 if header.get("x5t#S256") == s256 or header.get("x5t") == s1]
        if not match:
            raise bad(700027, "Client assertion failed signature validation. Key was not found. "
                      "Thumbprint of key used by client: '%s'. Please visit the Azure Portal, Graph "
                      "Explorer or directly use MS Graph to see configured keys for app Id '%s'."
                      % (header.get("x5t#S256") or header.get("x5t"), client_id))
        try:
            match[0].public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise bad(700027, "Client assertion contains an invalid signature.")
        now = time.time()
        if not (claims.get("nbf", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            raise bad(700024, "Client assertion is not within its valid time range.")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise bad(700023, "Client assertion audience claim or issuer/subject does not match.")
        accepted = {"%s/%s/oauth2/v2.0/token" % (base_url, tenant_id),
                    "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % tenant_id}
        if claims.get("aud") not in accepted:
            raise bad(700021, "Client assertion audience claim does not match Realm issuer. "
                      "Review the documentation at https://aka.ms/certCredentials.")

    # ---- Graph -------------------------------------------------------------------------
    def authenticate(self, header, crid):
        if not header or not header.startswith("Bearer "):
            raise graph_error(401, "InvalidAuthenticationToken", "Access token is empty.", crid)
        with self.lock:
            tok = self.tokens.get(header[len("Bearer "):])
        if tok is None:
            raise graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", crid)
        if tok["expires"] < time.time():
            raise graph_error(401, "InvalidAuthenticationToken",
                              "Lifetime validation failed, the token is expired.", crid)
        return tok

    def permissions(self, tok):
        app = self.tenants.get(tok["tenant"], {}).get("apps", {}).get(tok["client_id"], {})
        return app.get("permissions", ["Synchronization.ReadWrite.All"])

    def find_sp(self, sp_id, tok, crid):
        sp = self.sps.get(sp_id)
        if sp is None or sp["tenant"] != tok["tenant"]:
            raise graph_error(404, "Request_ResourceNotFound",
                              "Resource '%s' does not exist or one of its queried reference-property "
                              "objects are not present." % sp_id, crid)
        return sp

    def graph(self, method, path, body, auth, crid):
        tok = self.authenticate(auth, crid)
        m = re.match(r"^/v1\.0/servicePrincipals/([^/?]+)(/synchronization(/.*)?)?$", path)
        if not m:
            raise graph_error(400, "BadRequest", "Resource not found for the segment '%s'." % path, crid)
        sp_id, sync, rest = m.group(1), m.group(2), m.group(3) or ""
        if sync:
            fault = self.take_fault(("wrong_permissions",))
            perms = self.permissions(tok)
            if fault or not any(p in perms for p in SYNC_PERMISSIONS):
                # The quirk: a missing permission answers 401 here, not 403.
                raise graph_error(401, "Unauthorized",
                                  "Insufficient privileges to complete the operation.", crid)
        fault = self.take_fault(("replication_delay",))
        if fault:
            if fault["status"] == 404:
                raise graph_error(404, "Request_ResourceNotFound",
                                  "Resource '%s' does not exist or one of its queried reference-property "
                                  "objects are not present." % sp_id, crid)
            if fault["status"] == 409:
                raise graph_error(409, "Conflict", "The object was modified concurrently; retry.", crid)
            raise graph_error(403, "Authorization_RequestDenied",
                              "Insufficient privileges to complete the operation.", crid)
        with self.lock:
            sp = self.find_sp(sp_id, tok, crid)
            if not sync:
                if method != "GET":
                    raise graph_error(405, "Request_BadRequest", "Method not allowed.", crid)
                if not any(p in self.permissions(tok) for p in SP_READ_PERMISSIONS):
                    raise graph_error(403, "Authorization_RequestDenied",
                                      "Insufficient privileges to complete the operation.", crid)
                return 200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
                             "id": sp_id, "appId": sp["app_id"], "displayName": sp["display_name"]}
            if rest == "":
                if method != "GET":
                    raise graph_error(405, "Request_BadRequest", "Method not allowed.", crid)
                return 200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('%s')/synchronization/$entity" % sp_id,
                             "id": sp_id, "secrets": self.masked_secrets(sp)}
            if rest == "/secrets":
                return self.secrets(sp, method, body, crid)
            if rest == "/jobs" and method == "GET":
                return 200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('%s')/synchronization/jobs" % sp_id,
                             "value": list(sp["jobs"].values())}
            jm = re.match(r"^/jobs/([^/]+)(/[A-Za-z]+)?$", rest)
            if not jm:
                raise graph_error(400, "BadRequest", "Resource not found for the segment '%s'." % rest, crid)
            job = sp["jobs"].get(jm.group(1))
            if job is None:
                raise graph_error(404, "Request_ResourceNotFound",
                                  "The synchronization job '%s' was not found on service principal '%s'."
                                  % (jm.group(1), sp_id), crid)
            action = (jm.group(2) or "")[1:]
            if action == "" and method == "GET":
                return 200, job
            if method != "POST":
                raise graph_error(405, "Request_BadRequest", "Method not allowed.", crid)
            if action == "pause":
                job["schedule"]["state"] = "Paused"
                if job["status"]["code"] != "Quarantine":
                    job["status"]["code"] = "Paused"
                return 204, None
            if action == "start":
                if not self.secret_map(sp).get("SecretToken"):
                    raise graph_error(400, "BadRequest", "Credentials are not configured for this job.", crid)
                job["schedule"]["state"] = "Active"
                if job["status"]["code"] != "Quarantine":
                    job["status"]["code"] = "Active"
                return 204, None
            if action == "restart":
                return self.restart(job, body, crid)
            if action != "validateCredentials":
                raise graph_error(400, "BadRequest", "Resource not found for the segment '%s'." % action, crid)
            saved = self.secret_map(sp)
        # validateCredentials calls the application: outside the lock, it may take seconds.
        return self.validate(saved, body or {}, crid)

    @staticmethod
    def restart(job, body, crid):
        """POST .../restart (synchronizationJobRestartCriteria). An empty criteria emulates the
        portal's Restart (quarantine, watermark and escrows reset); resetScope names flags:
        QuarantineState (and Full, everything) lift quarantine; None is documented as "DO NOT
        USE, use Start instead" and here does what Start does."""
        criteria = (body or {}).get("criteria")
        if criteria is not None and not isinstance(criteria, dict):
            raise graph_error(400, "BadRequest", "Invalid criteria.", crid)
        scope = (criteria or {}).get("resetScope") or ""
        parts = [p.strip() for p in scope.split(",") if p.strip()]
        unknown = [p for p in parts if p not in RESET_SCOPES]
        if unknown:
            raise graph_error(400, "BadRequest", "Requested value '%s' was not found." % unknown[0], crid)
        if not parts or "QuarantineState" in parts or "Full" in parts:
            job["status"]["quarantine"] = None
        job["schedule"]["state"] = "Active"
        job["status"]["code"] = "Active" if job["status"]["quarantine"] is None else "Quarantine"
        return 204, None

    @staticmethod
    def secret_map(sp):
        return dict((s["key"], s["value"]) for s in sp["secrets"])

    def masked_secrets(self, sp):
        out = []
        for s in sp["secrets"]:
            shown = s["key"] == "BaseAddress" and not self.settings["mask_base_address"]
            out.append({"key": s["key"], "value": s["value"] if shown else "*"})
        return out

    def secrets(self, sp, method, body, crid):
        if method == "GET":
            unavailable = self.settings["secrets_read"]
            if unavailable == 400:
                raise graph_error(400, "BadRequest", "Resource not found for the segment 'secrets'.", crid)
            if unavailable == 404:
                raise graph_error(404, "ResourceNotFound", "The requested resource was not found.", crid)
            if unavailable == 405:
                raise graph_error(405, "MethodNotAllowed",
                                  "The HTTP method 'GET' is not allowed on this resource.", crid)
            return 200, {"value": self.masked_secrets(sp)}
        if method != "PUT":
            raise graph_error(405, "Request_BadRequest", "Method not allowed.", crid)
        items = (body or {}).get("value")
        if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
            raise graph_error(400, "BadRequest", "Invalid request body: expected {\"value\": [{\"key\", \"value\"}]}.", crid)
        for i in items:
            if i["key"] not in KNOWN_SECRET_KEYS:
                # Entra answers an unknown (e.g. wrongly cased) key with a 500.
                raise graph_error(500, "InternalServerError",
                                  "An internal server error occurred. Please retry the request later.", crid)
        sp["secrets"] = [{"key": i["key"], "value": i.get("value", "")} for i in items]
        sp["secrets_saved_at"] = iso()
        return 204, None

    def validate(self, saved, body, crid):
        if body.get("useSavedCredentials"):
            creds = saved
        else:
            creds = dict((c.get("key"), c.get("value")) for c in body.get("credentials") or [])
        base, token = creds.get("BaseAddress"), creds.get("SecretToken")
        if not base or not token:
            raise graph_error(400, "BadRequest",
                              "Both BaseAddress and SecretToken are required to validate credentials.", crid)
        status, detail = self.scim_call(base, token, "GET", "Users?startIndex=1&count=1")
        if status == 200:
            return 204, None
        raise graph_error(400, "CredentialValidationUnavailable",
                          "You appear to have entered invalid credentials. Please confirm you are using "
                          "the correct information for an administrative account. Error code: "
                          "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable Details: "
                          "We received this unexpected response from your application: %s" % detail, crid)

    # ---- calling the application's SCIM endpoint ---------------------------------------
    def scim_call(self, base, token, method, rel, body=None):
        """Call <base><rel>; returns (status or None, short description without the token)."""
        url = base + ("" if base.endswith("/") else "/") + rel
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https":
            return None, "BaseAddress must be an https:// URL, got scheme '%s'." % parts.scheme
        # The test bed never sends traffic off this machine.
        if not (parts.hostname or "").startswith("127.") and parts.hostname != "localhost":
            return None, "the simulator only calls loopback addresses, not '%s'." % parts.hostname
        ctx = ssl.create_default_context(cafile=self.ca_path) if self.ca_path else ssl.create_default_context()
        req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", "Bearer " + token)
        req.add_header("Accept", "application/scim+json")
        if body is not None:
            req.add_header("Content-Type", "application/scim+json")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=20) as resp:
                data = resp.read()
                try:
                    parsed = json.loads(data) if data else None
                except ValueError:
                    parsed = None
                return resp.status, parsed
        except urllib.error.HTTPError as e:
            return e.code, "An HTTP/%d %s response was returned rather than the expected success response. " \
                           "Endpoint: %s" % (e.code, e.reason, url)
        except (urllib.error.URLError, OSError, ssl.SSLError) as e:
            reason = getattr(e, "reason", e)
            return None, "Unable to connect to %s: %s" % (url, reason)

    def run_cycle(self, sp_id, trigger):
        with self.lock:
            sp = self.sps.get(sp_id)
            if sp is None:
                raise SimError(404, {"error": "no service principal %s" % sp_id})
            job = next(iter(sp["jobs"].values()), None)
            creds = self.secret_map(sp)
            if sp["group"] is None:
                sp["group"] = {"name": "entra-sim-%s-%s" % (sp_id[:8], self.run_id), "id": None}
            group = dict(sp["group"])
        started = iso()
        outcome = {"id": str(uuid.uuid4()), "trigger": trigger, "started": started, "steps": [],
                   "job_id": job["id"] if job else None}
        code = job["status"]["code"] if job else "NotConfigured"
        if job is None or code in ("Paused", "NotConfigured") or (
                code == "Quarantine" and trigger != "admin") or not creds.get("SecretToken") \
                or not creds.get("BaseAddress"):
            outcome.update({"ok": False, "skipped": True, "finished": iso(),
                            "error": "job not runnable (status %s%s)" % (
                                code, "" if creds.get("SecretToken") else ", no credentials")})
            return self.record(sp, outcome)
        base, token = creds["BaseAddress"], creds["SecretToken"]
        tag = uuid.uuid4().hex[:12]

        def send(method, rel, body):
            status, data = self.scim_call(base, token, method, rel, body)
            return (status, None, data) if isinstance(data, str) else (status, data, None)

        steps, error = scim_cycles.entra_cycle(send, group, tag)
        now = iso()
        outcome["steps"] = [dict(s, time=now) for s in steps]
        outcome.update({"ok": error is None, "skipped": False, "finished": now,
                        "user_name": "entra-sim-%s@example.test" % tag, "error": error})
        if error is None:
            outcome["group_id"] = group["id"]
        with self.lock:
            sp["group"] = group
            st = job["status"]
            st["lastExecution"] = {"activityIdentifier": outcome["id"], "timeBegan": started,
                                   "timeEnded": outcome["finished"],
                                   "state": "Succeeded" if error is None else "Failed",
                                   "error": None if error is None else {"message": error}}
            if error is None:
                st["lastSuccessfulExecution"] = st["lastExecution"]
                st["countSuccessiveCompleteFailures"] = 0
                self.unquarantine(job)
            else:
                st["countSuccessiveCompleteFailures"] += 1
                if any(s["status"] == 401 for s in outcome["steps"]):
                    self.quarantine(job, "EncounteredQuarantineException", error)
            outcome["job_status"] = st["code"]
        return self.record(sp, outcome)

    def record(self, sp, outcome):
        with self.lock:
            sp["cycles"].append(outcome)
            del sp["cycles"][:-200]
        return outcome

    def scheduler(self, stop):
        last = {}
        while not stop.wait(0.5):
            interval = float(self.settings.get("cycle_interval") or 0)
            if interval <= 0:
                continue
            with self.lock:
                due = [sp_id for sp_id, sp in self.sps.items()
                       if any(j["status"]["code"] == "Active" for j in sp["jobs"].values())
                       and time.time() - last.get(sp_id, 0) >= interval]
            for sp_id in due:
                last[sp_id] = time.time()
                try:
                    self.run_cycle(sp_id, "schedule")
                except Exception as e:  # keep the scheduler alive
                    sys.stderr.write("scheduled cycle for %s failed: %r\n" % (sp_id, e))

    def state(self):
        with self.lock:
            sps = {}
            for sp_id, sp in self.sps.items():
                sps[sp_id] = {"tenant": sp["tenant"], "display_name": sp["display_name"],
                              "secrets": self.secret_map(sp), "secrets_saved_at": sp.get("secrets_saved_at"),
                              "jobs": json.loads(json.dumps(list(sp["jobs"].values()))),
                              "cycles": list(sp["cycles"])}
            return {"settings": dict(self.settings), "fault": self.public_fault(),
                    "service_principals": sps, "requests": list(self.requests),
                    "tokens_issued": len(self.tokens)}

    def set_app(self, tenant_id, client_id, spec):
        """Change an app registration until the next reset: permissions, certificates (PEM list), secret."""
        with self.lock:
            app = self.tenants.get(tenant_id, {}).get("apps", {}).get(client_id)
            if app is None:
                raise SimError(404, {"error": "no app %s in tenant %s" % (client_id, tenant_id)})
            for key in ("permissions", "certificates", "secret"):
                if key in spec:
                    app[key] = spec[key]
            return {"permissions": app.get("permissions"), "certificates": len(app.get("certificates", []))}

    def set_job(self, sp_id, job_id, spec):
        with self.lock:
            sp = self.sps.get(sp_id)
            job = sp and sp["jobs"].get(job_id)
            if job is None:
                raise SimError(404, {"error": "no job %s on %s" % (job_id, sp_id)})
            code = spec.get("code")
            if code == "Quarantine":
                self.quarantine(job, spec.get("reason", "EncounteredQuarantineException"), "set by the test")
            elif code:
                job["status"]["quarantine"] = None
                job["status"]["code"] = code
                job["schedule"]["state"] = {"Active": "Active", "Paused": "Paused"}.get(code, "Disabled")
            return job

    # ---- dispatch (called by simbase.Handler) --------------------------------------------
    def handle(self, method, path, query, headers, raw):
        if path.startswith("/_sim/"):
            status, body = self.admin(method, path, raw)
            return status, body, {}
        crid = headers.get("client-request-id")
        if self.take_fault(("down",)):
            self.log_request(method, path, "connection-closed", crid)
            return None, None, None
        fault = self.take_fault(("slow",))
        if fault:
            time.sleep(fault["delay"])
        status, body, extra = 500, None, {}
        try:
            if path.startswith("/v1.0/"):
                fault = self.take_fault(("throttle", "flapping"))
                if fault and fault["mode"] == "throttle":
                    ra = fault.get("retry_after")
                    raise graph_error(429, "TooManyRequests", "Too many requests, please retry later.",
                                      crid, {"Retry-After": ra} if ra is not None else {})
                if fault:
                    raise graph_error(503, "serviceNotAvailable",
                                      "The service is temporarily unavailable.", crid)
                try:
                    body_json = json.loads(raw) if raw else None
                except ValueError:
                    raise graph_error(400, "BadRequest", "Unable to read JSON request payload.", crid)
                status, body = self.graph(method, path, body_json, headers.get("Authorization"), crid)
            else:
                m = re.match(r"^/([^/]+)/oauth2/v2\.0/token$", path)
                d = re.match(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$", path)
                if m and method == "POST":
                    form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
                    status, body = 200, self.issue_token(m.group(1), form, self.base_url)
                    extra = {"Cache-Control": "no-store, no-cache"}
                elif d and method == "GET":
                    status, body = 200, self.openid_configuration(d.group(1), self.base_url)
                else:
                    raise graph_error(404, "NotFound", "No such endpoint.", crid)
        except SimError as e:
            status, body, extra = e.status, e.body, e.headers
        except Exception as e:  # a bug in the simulator: answer like Graph would, log it
            sys.stderr.write("simulator error: %r\n" % (e,))
            status, body = 500, graph_error(500, "InternalServerError", "simulator error").body
        self.log_request(method, path, status, crid)
        return status, body, extra

    def admin(self, method, path, raw):
        data = parse_json(raw, SimError(400, {"error": "body is not JSON"}))
        if path == "/_sim/state" and method == "GET":
            return 200, self.state()
        if path == "/_sim/faults" and method == "POST":
            return 200, self.set_fault(data)
        if path == "/_sim/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}
        if path == "/_sim/config" and method == "POST":
            return 200, self.configure(data)
        m = re.match(r"^/_sim/cycle/([^/]+)$", path)
        if m and method == "POST":
            return 200, self.run_cycle(m.group(1), "admin")
        m = re.match(r"^/_sim/apps/([^/]+)/([^/]+)$", path)
        if m and method == "POST":
            return 200, self.set_app(m.group(1), m.group(2), data)
        m = re.match(r"^/_sim/jobs/([^/]+)/([^/]+)$", path)
        if m and method == "POST":
            return 200, self.set_job(m.group(1), m.group(2), data)
        raise SimError(404, {"error": "unknown admin path %s %s" % (method, path)})


class Handler(simbase.Handler):
    """Graph's answers: its server name, charset in the content type, a request-id on each."""
    server_version = "EntraSim/1.0"
    content_type = "application/json; charset=utf-8"

    def extra_headers(self):
        return {"request-id": str(uuid.uuid4())}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.20.1")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", help="CA bundle used to verify the Alation SCIM endpoints")
    p.add_argument("--config", required=True)
    args = p.parse_args(argv)
    if not args.host.startswith("127."):
        p.error("the simulator listens on loopback (127.0.0.0/8) only")
    sim = Sim(args.config, args.ca)
    httpd = simbase.TLSServer((args.host, args.port), sim, args.cert, args.key, handler=Handler)
    # the token endpoint's own URL, which client assertions must name as their audience
    sim.base_url = "https://%s:%d" % httpd.server_address[:2]
    stop = threading.Event()
    threading.Thread(target=sim.scheduler, args=(stop,), daemon=True).start()
    sys.stderr.write("entra simulator (pid %d) listening on https://%s:%d\n" % (os.getpid(), args.host, args.port))
    sys.stderr.flush()

    def stopped(signum, _frame):  # a stop leaves a trace in server.log (a silent death cost a CI run)
        sys.stderr.write("entra simulator (pid %d) stopped by signal %d\n" % (os.getpid(), signum))
        sys.stderr.flush()
        os._exit(0)  # pylint: disable=protected-access

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
