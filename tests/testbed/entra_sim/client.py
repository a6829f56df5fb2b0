# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small client for the Entra simulator's admin API (/_sim/), for tests."""

import json
import ssl
import urllib.request


class EntraSim(object):
    def __init__(self, base_url="https://127.0.20.1:8443", ca_path="/var/lib/alation-scim-testbed/ca/ca.pem",
                 timeout=60):
        self.base_url = base_url.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca_path)
        self.timeout = timeout

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as resp:
            return json.loads(resp.read() or b"null")

    def state(self):
        return self._call("GET", "/_sim/state")

    def fault(self, mode, **kw):
        """mode: none|down|slow|throttle|wrong_permissions|replication_delay|flapping;
        kw: count (None = until changed), skip (let that many requests through first), delay (slow),
        retry_after (throttle), status (403|404|409)."""
        kw["mode"] = mode
        return self._call("POST", "/_sim/faults", kw)

    def cycle(self, sp_id):
        """Run one provisioning cycle now; returns its outcome (ok, steps, error, job_status)."""
        return self._call("POST", "/_sim/cycle/%s" % sp_id, {})

    def reset(self):
        return self._call("POST", "/_sim/reset", {})

    def config(self, **kw):
        """cycle_interval (s, 0 = off), mask_base_address (bool), token_lifetime (s),
        secrets_read ("masked", or 400 / 404 / 405: GET .../synchronization/secrets unavailable)."""
        return self._call("POST", "/_sim/config", kw)

    def set_app(self, tenant_id, client_id, **kw):
        """Until the next reset: permissions=[...], certificates=[PEM, ...], secret=..."""
        return self._call("POST", "/_sim/apps/%s/%s" % (tenant_id, client_id), kw)

    def set_job(self, sp_id, job_id, code, reason=None):
        body = {"code": code}
        if reason:
            body["reason"] = reason
        return self._call("POST", "/_sim/jobs/%s/%s" % (sp_id, job_id), body)

    def sp(self, sp_id):
        return self.state()["service_principals"][sp_id]

    def job(self, sp_id, job_id=None):
        jobs = self.sp(sp_id)["jobs"]
        return next(j for j in jobs if job_id is None or j["id"] == job_id)

    def stored_secrets(self, sp_id):
        return self.sp(sp_id)["secrets"]

    def stored_token(self, sp_id):
        """The SecretToken Entra holds for this app (a secret: compare it, never print it)."""
        return self.stored_secrets(sp_id).get("SecretToken")

    def requests(self, since=0.0):
        """Graph/token calls (method, path, status, time, epoch) logged after epoch `since`."""
        return [r for r in self.state()["requests"] if r["epoch"] >= since]
