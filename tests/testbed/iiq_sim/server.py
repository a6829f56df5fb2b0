#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SailPoint IdentityIQ simulator for the alation.scim test bed (HTTPS on loopback, default
127.0.70.1:8443): the parts of IdentityIQ's SCIM API (/identityiq/scim/v2) the sailpoint_iiq
driver uses (SailPoint's IIQ OpenAPI spec):

- HTTP Basic auth; 401 for bad credentials; 403 for an account without the SCIM rights
  ("SCIM Executor") on LaunchedWorkflows / TaskResults (listing them needs the same rights).
- GET /Workflows?filter=name eq "..." and GET /Applications?filter=name eq "..." (ListResponse;
  applications never show credentials).
- POST /LaunchedWorkflows with workflowName + input [{key, value, type}], read from the
  LaunchedWorkflow extension object and/or the top level (config `body_form`: both | extension |
  top_level; a server that reads one form ignores the other). An unknown workflow -> 404.
- The deployed workflow (config `workflows`) is a stand-in for
  examples/sailpoint_iiq/alation-scim-token-workflow.xml: inputs applicationName, tokenAttribute,
  token; it stores the token in the application's attribute (encrypted, never shown), then tests
  the application's connection: GET Users?count=1 on the application's SCIM URL with
  `Authorization: Bearer <token>` (real HTTPS, test CA verified), and reports the TaskResult:
  completionStatus Success (test passed) or Error (no such application, or the test failed;
  messages say why), output testResult "Success" | "Failed: <why>".
- Config `mode`: sync (default: the POST answers with the completed TaskResult) or async (the
  POST answers at once with a TaskResult not yet complete; GET meta.location
  (/TaskResults/{id}) or /LaunchedWorkflows/{id} shows it once done, `async_delay` s later).
- Quirk kept: the LaunchedWorkflow answer echoes the inputs (the token too), as IIQ returns the
  workflow's input attributes; clients must filter it.
- Errors: SCIM error bodies {schemas: [...:Error], detail, status}.

Admin API (no auth, loopback): GET /_sim/state (fingerprints, never tokens), POST /_sim/reset,
POST /_sim/faults {mode: none|down|slow|unauthorized|forbidden|not_found|throttle|server_error,
count, methods, retry_after, status, delay}, POST /_sim/config {body_form, mode, async_delay}.
"""

import base64
import copy
import hashlib
import json
import os
import re
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from simbase import (  # noqa: E402
    SimApp, SimError, StandardFaults, basic_credentials, iso, parse_json, scim_call, serve_main,
)

BASE = "/identityiq/scim/v2"
LW = "urn:ietf:params:scim:schemas:sailpoint:1.0:LaunchedWorkflow"
TR = "urn:ietf:params:scim:schemas:sailpoint:1.0:TaskResult"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_RIGHT = "SCIM Executor"


def fingerprint(token):
    return None if not token else "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def scim_error(status, detail, headers=None):
    return SimError(status, {"schemas": [ERROR_SCHEMA], "detail": detail, "status": str(status)}, headers)


FAULT_ERRORS = {
    "unauthorized": lambda f: scim_error(401, "Authentication failed"),
    "forbidden": lambda f: scim_error(403, "Forbidden: the identity lacks the rights for this endpoint"),
    "not_found": lambda f: scim_error(404, "Resource not found"),
    "throttle": lambda f: scim_error(429, "Too many requests",
                                     {"Retry-After": f["retry_after"]} if f.get("retry_after") is not None else {}),
    "server_error": lambda f: scim_error(f["status"], "Internal server error"),
}


def list_response(items):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(items),
            "startIndex": 1, "itemsPerPage": len(items), "Resources": items}


def name_filter(query):
    expr = (urllib.parse.parse_qs(query).get("filter") or [""])[0]
    m = re.match(r'^\s*name\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', expr, re.I)
    return m.group(1).replace('\\"', '"').replace("\\\\", "\\") if m else None


class IdentityIq(StandardFaults, SimApp):
    fault_errors = FAULT_ERRORS

    def reset(self):
        with self.lock:
            with open(self.config_path) as f:
                cfg = json.load(f)
            self.users = copy.deepcopy(cfg.get("users", {}))           # name -> {password, rights}
            self.workflows = copy.deepcopy(cfg.get("workflows", {}))   # name -> {}
            self.applications = {}
            for name, spec in sorted(cfg.get("applications", {}).items()):
                self.applications[name] = {"id": uuid.uuid5(uuid.NAMESPACE_URL, "iiq-app/" + name).hex,
                                           "name": name, "type": "SCIM 2.0", "scim_url": spec["scim_url"],
                                           "attributes": {"authenticationType": "API Token"}, "secrets": {}}
            self.settings = {"body_form": cfg.get("body_form", "both"), "mode": cfg.get("mode", "sync"),
                             "async_delay": float(cfg.get("async_delay", 1.0))}
            self.fault = {"mode": "none"}
            self.results = {}
            self.runs = []
            self.requests = []

    # ---- auth
    def who(self, headers, need_right=False):
        name, password = basic_credentials(headers.get("Authorization"))
        user = name if name in self.users and self.users[name].get("password") == password else None
        if user is None:
            raise scim_error(401, "Authentication failed")
        if need_right and SCIM_RIGHT not in self.users[user].get("rights", []):
            raise scim_error(403, "Forbidden: %s lacks the %s right" % (user, SCIM_RIGHT))
        return user

    # ---- the stand-in workflow
    def read_launch(self, body):
        form = self.settings["body_form"]
        ext = body.get(LW) if isinstance(body.get(LW), dict) else {}
        name = inputs = None
        if form in ("both", "extension"):
            name, inputs = ext.get("workflowName"), ext.get("input")
        if form in ("both", "top_level") and not name:
            name, inputs = body.get("workflowName"), body.get("input")
        if not name:
            raise scim_error(400, "workflowName is required")
        values = {}
        for item in inputs or []:
            if isinstance(item, dict) and item.get("key"):
                values[item["key"]] = item.get("value")
        return name, inputs or [], values

    def run_workflow(self, result_id, workflow, values, user):
        app_name, attr, token = values.get("applicationName"), values.get("tokenAttribute"), values.get("token")
        messages, outputs = [], {}
        with self.lock:
            app = self.applications.get(app_name)
        if app is None:
            status = "Error"
            messages.append({"type": "Error", "message": "Application '%s' not found" % app_name})
        elif not attr or not token:
            status = "Error"
            messages.append({"type": "Error", "message": "tokenAttribute and token are required inputs"})
        else:
            with self.lock:
                app["secrets"][attr] = token
                app["attributes"][attr] = "1:ACP:" + base64.b64encode(os.urandom(24)).decode("ascii")
            code, _body, err = scim_call(app["scim_url"], token, "GET", "Users?count=1", ca_path=self.ca_path)
            if code == 200:
                status, outputs["testResult"] = "Success", "Success"
            else:
                status = "Error"
                why = err or "HTTP %s from %sUsers" % (code, app["scim_url"])
                outputs["testResult"] = "Failed: " + why
                messages.append({"type": "Error", "message": "Test connection failed: " + why})
        with self.lock:
            result = self.results.get(result_id)
            if result is None:   # launched before a reset
                return
            result.update(completed=iso(), completionStatus=status, messages=messages)
            result[LW]["output"] = [{"key": k, "value": v, "type": "string"} for k, v in sorted(outputs.items())]
            self.runs.append({"id": result_id, "workflow": workflow, "application": app_name, "by": user,
                              "status": status, "test": outputs.get("testResult"),
                              "token_fingerprint": fingerprint(token), "time": iso()})

    def launch(self, body, base, user):
        name, inputs, values = self.read_launch(body)
        if name not in self.workflows:
            raise scim_error(404, "Workflow '%s' not found" % name)
        rid = uuid.uuid4().hex
        result = {"schemas": [LW, TR], "id": rid, "name": "%s - %s" % (name, rid[:6]), "type": "Workflow",
                  "launched": iso(), "launcher": user, "taskDefinition": "Workflow Launcher", "terminated": False,
                  "completed": None, "completionStatus": None, "messages": [], "partitioned": False,
                  "pendingSignOffs": 0,
                  LW: {"workflowName": name, "input": copy.deepcopy(inputs), "output": [], "retries": 0,
                       "workflowCaseId": uuid.uuid4().hex},
                  "meta": {"resourceType": "LaunchedWorkflow", "created": iso(),
                           "location": "%s%s/TaskResults/%s" % (base, BASE, rid)}}
        with self.lock:
            self.results[rid] = result
        if self.settings["mode"] == "async":
            delay = self.settings["async_delay"]
            self.in_background(lambda: (time.sleep(delay), self.run_workflow(rid, name, values, user)))
        else:
            self.run_workflow(rid, name, values, user)
        with self.lock:
            return copy.deepcopy(self.results[rid])

    # ---- dispatch
    def api(self, method, path, query, headers, raw):
        if not path.startswith(BASE + "/"):
            raise scim_error(404, "Resource not found")
        rel = path[len(BASE):]
        base = "https://%s" % headers.get("Host", "127.0.70.1:8443")
        if rel in ("/Workflows", "/Applications") and method == "GET":
            self.who(headers)
            wanted = name_filter(query)
            with self.lock:
                if rel == "/Workflows":
                    items = [{"schemas": ["urn:ietf:params:scim:schemas:sailpoint:1.0:Workflow"], "id": uuid.uuid5(
                        uuid.NAMESPACE_URL, "iiq-wf/" + n).hex, "name": n, "type": "Workflow"}
                        for n in sorted(self.workflows)]
                else:
                    items = [{"schemas": ["urn:ietf:params:scim:schemas:sailpoint:1.0:Application"], "id": a["id"],
                              "name": a["name"], "type": a["type"]} for a in self.applications.values()]
            return 200, list_response([i for i in items if wanted is None or i["name"] == wanted]), {}
        if rel == "/LaunchedWorkflows" and method == "GET":
            self.who(headers, need_right=True)
            with self.lock:
                items = [copy.deepcopy(r) for r in self.results.values()][:1]
            for item in items:
                item[LW].pop("input", None)
            return 200, list_response(items), {}
        if rel == "/LaunchedWorkflows" and method == "POST":
            user = self.who(headers, need_right=True)
            body = parse_json(raw, scim_error(400, "The request body is not valid JSON"))
            return 201, self.launch(body, base, user), {}
        m = re.match(r"^/(TaskResults|LaunchedWorkflows)/([^/]+)$", rel)
        if m and method == "GET":
            self.who(headers, need_right=True)
            with self.lock:
                result = self.results.get(m.group(2))
                if result is None:
                    raise scim_error(404, "Resource not found")
                return 200, copy.deepcopy(result), {}
        raise scim_error(404, "Resource not found")

    def state(self):
        with self.lock:
            apps = {n: {"id": a["id"], "scim_url": a["scim_url"],
                        "attribute_names": sorted(a["attributes"]),
                        "secret_fingerprints": {k: fingerprint(v) for k, v in a["secrets"].items()}}
                    for n, a in self.applications.items()}
            return {"applications": apps, "workflows": sorted(self.workflows), "runs": list(self.runs),
                    "background": self.background_running,
                    "fault": dict(self.fault), "settings": dict(self.settings),
                    "requests": list(self.requests[-200:])}

    def own_admin(self, method, path, data):
        if path == "/_sim/config" and method == "POST":
            with self.lock:
                if data.get("body_form") not in (None, "both", "extension", "top_level"):
                    raise SimError(400, {"error": "body_form must be both, extension or top_level"})
                if data.get("mode") not in (None, "sync", "async"):
                    raise SimError(400, {"error": "mode must be sync or async"})
                self.settings.update({k: data[k] for k in ("body_form", "mode", "async_delay") if k in data})
                return 200, dict(self.settings), {}
        raise SimError(404, {"error": "unknown admin path %s %s" % (method, path)})


def main(argv=None):
    serve_main(argv, __doc__.split("\n", maxsplit=1)[0], "127.0.70.1", "iiq", IdentityIq)


if __name__ == "__main__":
    main()
