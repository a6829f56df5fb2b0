#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Okta simulator for the alation.scim test bed (HTTPS on loopback, default 127.0.30.1:8443).

Plays what alation.scim reads from Okta, with Okta's paths, error bodies and quirks
(shared/reference/idp-apis.md):
- GET /api/v1/logs (System Log): since / until / filter (SCIM-style: eq, sw, co, and, or,
  parentheses; target.id matches any target) / sortOrder / limit / after; without `until` the
  answer always carries a rel="next" link (Okta's polling behaviour), even past the last event.
- Auth: `SSWS <api token>` (config api_tokens) or `Bearer <access token>` from
  POST /oauth2/v1/token (client_credentials + private_key_jwt: RS256 assertion verified against
  the service app's public key, aud = the token URL, jti single use, scopes granted per app,
  DPoP-required apps refuse with invalid_dpop_proof). Bad token → 401 E0000011; a token without
  okta.logs.read → 403 E0000006.
- Rate limits: X-Rate-Limit-Limit/-Remaining/-Reset (epoch s, one-minute window) on every API
  answer; over the limit → 429 E0000047. Fault "throttle" forces 429s with a reset N s away.
- Apps: provisioning token set only by a simulated admin paste (POST /_sim/paste), which runs
  "Test API Credentials" against the app's SCIM base URL first, like the console; the
  Application Connections API answers 200 with status UNKNOWN for these custom apps and stores
  nothing (the quirk).
- Provisioning (POST /_sim/provision/{appId}): runs Okta's cycle (scim_cycles.okta_cycle: user
  filter / create / read / PUT, group push with a member, rename without a path, member removal
  by path members[value eq "..."], deactivation with {"active": false}) against the app's SCIM
  endpoint with the stored token (real HTTPS, CA verified) and records
  application.provision.user.push with outcome SUCCESS or FAILURE (the failed step), as Okta does.

Admin API (no auth, loopback only): GET /_sim/state (token fingerprints only), POST /_sim/paste
{app_id, token, test=true}, POST /_sim/provision/{appId} {userName?}, POST /_sim/events {event},
POST /_sim/faults {mode: none|throttle|down, count, reset_in}, POST /_sim/config {rate_limit},
POST /_sim/reset.
"""

import datetime
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
import scim_cycles  # noqa: E402
from simbase import (  # noqa: E402
    SimApp, SimError, iso, parse_iso, parse_json, scim_call, serve_main, split_jwt, utcnow,
)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_RATE_LIMIT = 60  # requests per minute per endpoint family


def fingerprint(token):
    return None if token is None else "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def okta_error(status, code, summary, causes=(), headers=None):
    return SimError(status, {"errorCode": code, "errorSummary": summary, "errorLink": code,
                             "errorId": "oae" + secrets.token_hex(11),
                             "errorCauses": [{"errorSummary": c} for c in causes]}, headers)


def oauth_error(status, error, description):
    return SimError(status, {"error": error, "error_description": description})


# ---------------------------------------------------------------- System Log filter
_TOKEN_RE = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.]*))')


def tokenize(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("bad filter near %r" % text[pos:pos + 20])
        lp, rp, string, word = m.groups()
        if lp:
            out.append(("(", None))
        elif rp:
            out.append((")", None))
        elif string is not None:
            out.append(("str", re.sub(r"\\(.)", r"\1", string)))
        else:
            out.append(("word", word))
        pos = m.end()
    return out


# Operands bound at call time: parse_filter's loops keep reassigning pred.
def _both(a, b):
    return lambda e: a(e) and b(e)


def _either(a, b):
    return lambda e: a(e) or b(e)


def parse_filter(text):
    """Filter text → predicate(event). Grammar: or-expr of and-expr of (expr) | attr op "value"."""
    toks = tokenize(text)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None)

    def take():
        t = peek()
        pos[0] += 1
        return t

    def primary():
        kind, val = take()
        if kind == "(":
            pred = disjunction()
            if take()[0] != ")":
                raise ValueError("missing )")
            return pred
        if kind != "word":
            raise ValueError("expected an attribute")
        op_kind, op = take()
        if op_kind != "word" or op.lower() not in ("eq", "sw", "co", "ne"):
            raise ValueError("unsupported operator %r" % op)
        v_kind, value = take()
        if v_kind != "str":
            raise ValueError("expected a quoted value")
        return compare(val, op.lower(), value)

    def conjunction():
        pred = primary()
        while peek() == ("word", "and"):
            take()
            left, right = pred, primary()
            pred = _both(left, right)
        return pred

    def disjunction():
        pred = conjunction()
        while peek() == ("word", "or"):
            take()
            left, right = pred, conjunction()
            pred = _either(left, right)
        return pred

    pred = disjunction()
    if pos[0] != len(toks):
        raise ValueError("trailing text in filter")
    return pred


def attr_values(event, path):
    values = [event]
    for part in path.split("."):
        nxt = []
        for v in values:
            v = v.get(part) if isinstance(v, dict) else None
            if isinstance(v, list):
                nxt.extend(v)
            elif v is not None:
                nxt.append(v)
        values = nxt
    return [v for v in values if not isinstance(v, (dict, list))]


def compare(path, op, value):
    def pred(event):
        vals = [str(v) for v in attr_values(event, path)]
        if op == "eq":
            return value in vals
        if op == "ne":
            return value not in vals
        if op == "sw":
            return any(v.startswith(value) for v in vals)
        return any(value in v for v in vals)
    return pred


# ---------------------------------------------------------------- the org
class Org(SimApp):
    def reset(self):
        with self.lock:
            with open(self.config_path) as f:
                cfg = json.load(f)
            self.api_tokens = cfg.get("api_tokens", {})          # token -> {"scopes": [...]}
            self.service_apps = cfg.get("service_apps", {})      # client_id -> {public_key_pem, scopes, dpop}
            self.apps = {}
            for app_id, app in cfg.get("apps", {}).items():
                self.apps[app_id] = {"label": app.get("label", "Alation"), "base_url": app["base_url"],
                                     "token": app.get("token"), "users": 0}
            self.rate_limit = int(cfg.get("rate_limit", DEFAULT_RATE_LIMIT))
            self.windows = {}
            self.access_tokens = {}
            self.jtis = set()
            self.events = []
            self.fault = {"mode": "none"}
            self.requests = []

    # ---- faults and rate limits
    def fault_options(self, spec):
        return {"reset_in": float(spec.get("reset_in", 2))}

    def rate_headers(self, family):
        """Count one call; (headers, exceeded). One-minute windows per endpoint family."""
        now = time.time()
        with self.lock:
            w = self.windows.get(family)
            if not w or now >= w["reset"]:
                w = self.windows[family] = {"reset": int(now) + 60, "used": 0}
            w["used"] += 1
            remaining = max(0, self.rate_limit - w["used"])
            headers = {"X-Rate-Limit-Limit": self.rate_limit, "X-Rate-Limit-Remaining": remaining,
                       "X-Rate-Limit-Reset": w["reset"]}
            return headers, w["used"] > self.rate_limit

    # ---- auth
    def authenticate(self, header, scope):
        header = header or ""
        if header.startswith("SSWS "):
            info = self.api_tokens.get(header[5:].strip())
            if info is None:
                raise okta_error(401, "E0000011", "Invalid token provided")
            scopes = info.get("scopes", ["*"])  # an admin's API token: whatever the admin may do
        elif header.startswith("Bearer "):
            with self.lock:
                info = self.access_tokens.get(header[7:].strip())
            if info is None or info["expires"] < time.time():
                raise okta_error(401, "E0000011", "Invalid token provided",
                                 headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            scopes = info["scopes"]
        else:
            raise okta_error(401, "E0000005", "Invalid session")
        if scope not in scopes and "*" not in scopes:
            raise okta_error(403, "E0000006", "You do not have permission to perform the requested action",
                             headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'})

    def issue_token(self, form, token_url):
        def one(name):
            v = form.get(name)
            return v[0] if v else None
        if one("grant_type") != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        if one("client_assertion_type") != JWT_BEARER or not one("client_assertion"):
            raise oauth_error(401, "invalid_client", "Client authentication failed. Either the client or the "
                              "client credentials are invalid.")
        assertion = one("client_assertion")
        try:
            signed, header, claims, signature = split_jwt(assertion)
        except Exception:
            raise oauth_error(400, "invalid_client", "The client_assertion token is malformed.")
        client_id = claims.get("iss")
        app = self.service_apps.get(client_id)
        if app is None or claims.get("sub") != client_id:
            raise oauth_error(401, "invalid_client", "The client_assertion token has an invalid issuer or subject.")
        if header.get("alg") != "RS256":
            raise oauth_error(401, "invalid_client", "The client_assertion token has an unsupported algorithm.")
        if claims.get("aud") != token_url:
            raise oauth_error(401, "invalid_client", "The audience claim for client_assertion must be the endpoint "
                              "invoked for the request.")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat", now)
        if not isinstance(exp, (int, float)) or exp < now or exp - iat > 3600:
            raise oauth_error(401, "invalid_client", "The client_assertion token is expired or lives too long.")
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        key = serialization.load_pem_public_key(app["public_key_pem"].encode("ascii"))
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise oauth_error(401, "invalid_client", "The client_assertion signature is invalid.")
        with self.lock:
            if claims.get("jti") in self.jtis:
                raise oauth_error(401, "invalid_client", "The client_assertion token has already been used.")
            self.jtis.add(claims.get("jti"))
        if app.get("dpop"):
            raise oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        wanted = (one("scope") or "").split()
        granted = app.get("scopes", [])
        missing = [s for s in wanted if s not in granted]
        if not wanted or missing:
            raise oauth_error(400, "invalid_scope", "The following scopes are not granted: %s"
                              % " ".join(missing or ["(none requested)"]))
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[token] = {"client_id": client_id, "scopes": wanted, "expires": now + 3600}
        return {"token_type": "Bearer", "expires_in": 3600, "access_token": token, "scope": " ".join(wanted)}

    # ---- System Log
    def record(self, event_type, app_id, result, reason=None, display=None, extra_targets=(), severity=None):
        app = self.apps.get(app_id, {})
        event = {
            "actor": {"id": app_id, "type": "PublicClientApp", "alternateId": app.get("label"),
                      "displayName": app.get("label"), "detailEntry": None},
            "client": {"userAgent": None, "zone": None, "device": None, "id": None, "ipAddress": None,
                       "geographicalContext": None},
            "authenticationContext": {"authenticationStep": 0, "externalSessionId": "unknown"},
            "displayMessage": display or event_type,
            "eventType": event_type,
            "outcome": {"result": result, "reason": reason},
            "published": iso(),
            "securityContext": {},
            "severity": severity or ("INFO" if result == "SUCCESS" else "WARN"),
            "debugContext": {"debugData": {"requestId": secrets.token_hex(12)}},
            "legacyEventType": None,
            "transaction": {"type": "JOB", "id": "prv" + secrets.token_hex(8), "detail": {}},
            "uuid": str(uuid.uuid4()),
            "version": "0",
            "request": {"ipChain": []},
            "target": [{"id": app_id, "type": "AppInstance", "alternateId": app.get("label"),
                        "displayName": app.get("label"), "detailEntry": None}] + list(extra_targets),
        }
        with self.lock:
            self.events.append(event)
        return event

    def logs(self, query, base_url):
        q = urllib.parse.parse_qs(query, keep_blank_values=True)

        def one(name):
            v = q.get(name)
            return v[0] if v else None
        try:
            since = parse_iso(one("since")) if one("since") else utcnow() - datetime.timedelta(days=7)
            until = parse_iso(one("until")) if one("until") else None
        except ValueError:
            raise okta_error(400, "E0000030", "Bad request. Invalid date.",
                             ["Invalid date. Dates must be of the form yyyy-MM-dd'T'HH:mm:ss.SSSZZ, e.g. "
                              "2013-01-01T12:00:00.000-07:00."])
        try:
            pred = parse_filter(one("filter")) if one("filter") else (lambda e: True)
        except ValueError as e:
            raise okta_error(400, "E0000001", "Api validation failed: filter", ["filter: %s" % e])
        try:
            limit = max(1, min(1000, int(one("limit") or 100)))
        except ValueError:
            raise okta_error(400, "E0000001", "Api validation failed: limit")
        with self.lock:
            events = list(self.events)
        seq = {e["uuid"]: i for i, e in enumerate(events)}
        matching = [e for e in events
                    if parse_iso(e["published"]) >= since and (until is None or parse_iso(e["published"]) < until)
                    and pred(e)]
        descending = (one("sortOrder") or "ASCENDING").upper() == "DESCENDING"
        if descending:
            matching.reverse()
        after = one("after")
        if after:
            try:
                cursor = int(after)
            except ValueError:
                raise okta_error(400, "E0000001", "Api validation failed: after")
            matching = [e for e in matching if (seq[e["uuid"]] < cursor if descending else seq[e["uuid"]] > cursor)]
        page = matching[:limit]
        # Polling mode (no until): always a next link, from the last event seen (or the same cursor).
        headers = {}
        if until is None or len(matching) > limit:
            cursor = seq[page[-1]["uuid"]] if page else (after or (len(events) - 1 if not descending else 0))
            params = [(k, v) for k, vs in q.items() for v in vs if k != "after"] + [("after", str(cursor))]
            headers["Link"] = '<%s/api/v1/logs?%s>; rel="next"' % (base_url, urllib.parse.urlencode(params))
        return page, headers

    # ---- apps
    def test_credentials(self, app, token):
        status, _body, err = scim_call(app["base_url"], token, "GET", "Users?startIndex=1&count=1",
                                       ca_path=self.ca_path)
        if status == 200:
            return None
        return err or "HTTP %s" % status

    def paste(self, data):
        app_id, token = data.get("app_id"), data.get("token")
        with self.lock:
            app = self.apps.get(app_id)
        if app is None or not token:
            raise SimError(400, {"error": "paste needs a known app_id and a token"})
        if data.get("test", True):
            problem = self.test_credentials(app, token)
            if problem:
                # What the console shows when Test API Credentials fails: nothing is saved.
                raise SimError(400, {"error": "Error authenticating: %s. The token was not saved." % problem})
        with self.lock:
            app["token"] = token
        self.record("application.lifecycle.update", app_id, "SUCCESS",
                    display="Update application", severity="INFO")
        return {"app_id": app_id, "token_fingerprint": fingerprint(token)}

    def provision(self, app_id, data):
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise SimError(404, {"error": "no app %s" % app_id})
            app["users"] += 1
            user_name = data.get("userName") or "okta-sim-%s-%d@example.com" % (secrets.token_hex(3), app["users"])
            token = app["token"]
        user_id = "00u" + secrets.token_hex(8)
        user_target = {"id": user_id, "type": "User", "alternateId": user_name, "displayName": user_name,
                       "detailEntry": None}
        label = app["label"]
        problem = None
        if token is None:
            problem = "Provisioning is not configured: no API token saved for the app."
        else:
            def send(method, rel, body):
                return scim_call(app["base_url"], token, method, rel, body, ca_path=self.ca_path)

            _steps, error = scim_cycles.okta_cycle(send, user_name, secrets.token_hex(4))
            if error:
                problem = "Error while trying to %s" % error
        if problem:
            return self.record("application.provision.user.push", app_id, "FAILURE",
                               reason="Automatic provisioning of user %s to app %s failed: %s"
                               % (user_name, label, problem),
                               display="Push new user to external application", extra_targets=[user_target])
        return self.record("application.provision.user.push", app_id, "SUCCESS",
                           display="Push new user to external application", extra_targets=[user_target])

    def state(self):
        with self.lock:
            return {
                "apps": {k: {"label": a["label"], "base_url": a["base_url"],
                             "token_fingerprint": fingerprint(a["token"])} for k, a in self.apps.items()},
                "events": len(self.events),
                "fault": dict(self.fault),
                "rate_limit": self.rate_limit,
                "requests": list(self.requests[-200:]),
            }

    # ---- dispatch
    def handle(self, method, path, query, headers, raw):
        if path.startswith("/_sim/"):
            return self.admin(method, path, raw)
        if self.take_fault("down"):
            return None, None, None
        base_url = "https://%s" % headers.get("Host", "127.0.30.1:8443")
        with self.lock:
            self.requests.append({"time": iso(), "method": method, "path": path})
        family = "token" if path == "/oauth2/v1/token" else ("logs" if path.startswith("/api/v1/logs") else "apps")
        rate, exceeded = self.rate_headers(family)
        fault = self.take_fault("throttle")
        if fault:
            reset = int(time.time() + fault["reset_in"] + 0.999)
            rate = {"X-Rate-Limit-Limit": self.rate_limit, "X-Rate-Limit-Remaining": 0, "X-Rate-Limit-Reset": reset}
            exceeded = True
        if exceeded:
            err = okta_error(429, "E0000047", "API call exceeded rate limit due to too many requests.")
            err.headers = rate
            raise err
        try:
            status, body, extra = self.api(method, path, query, headers, raw, base_url)
        except SimError as e:
            e.headers = dict(rate, **e.headers)
            raise
        return status, body, dict(rate, **extra)

    def api(self, method, path, query, headers, raw, base_url):
        if path == "/oauth2/v1/token" and method == "POST":
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return 200, self.issue_token(form, base_url + "/oauth2/v1/token"), {"Cache-Control": "no-store"}
        if path == "/api/v1/logs" and method == "GET":
            self.authenticate(headers.get("Authorization"), "okta.logs.read")
            page, extra = self.logs(query, base_url)
            return 200, page, extra
        m = re.match(r"^/api/v1/apps/([^/]+)(/connections/default)?$", path)
        if m:
            scope = "okta.apps.manage" if method == "POST" else "okta.apps.read"
            self.authenticate(headers.get("Authorization"), scope)
            app = self.apps.get(m.group(1))
            if app is None:
                raise okta_error(404, "E0000007", "Not found: Resource not found: %s (AppInstance)" % m.group(1))
            if m.group(2):
                # Custom SCIM apps: the Connections API answers but neither stores nor reports anything.
                return 200, {"authScheme": "TOKEN", "baseUrl": None, "profile": {"authScheme": "TOKEN"},
                             "status": "UNKNOWN", "_links": {}}, {}
            return 200, {"id": m.group(1), "label": app["label"], "status": "ACTIVE", "signOnMode": "SAML_2_0",
                         "features": ["PUSH_NEW_USERS", "PUSH_PROFILE_UPDATES", "GROUP_PUSH"]}, {}
        raise okta_error(404, "E0000022", "The endpoint does not support the provided HTTP method")

    def admin(self, method, path, raw):
        data = parse_json(raw, SimError(400, {"error": "body is not JSON"}))
        if path == "/_sim/state" and method == "GET":
            return 200, self.state(), {}
        if path == "/_sim/paste" and method == "POST":
            return 200, self.paste(data), {}
        m = re.match(r"^/_sim/provision/([^/]+)$", path)
        if m and method == "POST":
            return 200, self.provision(m.group(1), data), {}
        if path == "/_sim/events" and method == "POST":
            ev = data.get("event") or {}
            return 200, self.record(ev.get("eventType", "application.provision.user.push"), ev["app_id"],
                                    ev.get("result", "SUCCESS"), reason=ev.get("reason")), {}
        if path == "/_sim/faults" and method == "POST":
            return 200, self.set_fault(data), {}
        if path == "/_sim/config" and method == "POST":
            with self.lock:
                if "rate_limit" in data:
                    self.rate_limit = int(data["rate_limit"])
                    self.windows = {}
            return 200, {"rate_limit": self.rate_limit}, {}
        if path == "/_sim/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}, {}
        raise SimError(404, {"error": "unknown admin path %s %s" % (method, path)})


def main(argv=None):
    serve_main(argv, __doc__.split("\n", maxsplit=1)[0], "127.0.30.1", "okta", Org)


if __name__ == "__main__":
    main()
