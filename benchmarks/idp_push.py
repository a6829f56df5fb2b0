#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IdP half of a hand-made rotation, as a person with a script would do it against Entra ID
(here: the test bed's Entra simulator): get a Graph token by client credentials, validate the
proposed BaseAddress + SecretToken, PUT the secrets; and the same for PingOne (push_pingone).
Used by the benchmark's floors and by the vendor loop. The SCIM token comes on stdin (never in argv); nothing secret is printed.

    printf '%s' "$token" | benchmarks/idp_push.py alation1
"""

import base64
import json
import os
import ssl
import sys
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "testbed"))

import testbed_lib  # noqa: E402


def _call(ctx, method, url, body=None, form=None, bearer=None, basic=None):
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    elif basic:
        headers["Authorization"] = "Basic " + basic
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, None


def push(tb, host, token):
    """Token endpoint, PUT secrets, then validateCredentials of the saved secrets (the proof; right
    after a rotation a validation first would only lengthen the outage). Returns [(step, status)]."""
    entra = tb.entra
    ctx = ssl.create_default_context(cafile=entra["ca_path"])
    sp = entra["hosts"][host]["service_principal_id"]
    job = entra["hosts"][host]["job_id"]
    graph = entra["graph_url"].rstrip("/") + "/v1.0"
    steps = []
    status, body = _call(ctx, "POST", "%s/%s/oauth2/v2.0/token" % (entra["authority_url"].rstrip("/"), entra["tenant_id"]),
                         form={"grant_type": "client_credentials", "client_id": entra["client_id"],
                               "client_secret": entra["client_secret"], "scope": entra["graph_url"].rstrip("/") + "/.default"})
    steps.append(("token", status))
    if status != 200:
        return steps
    access = body["access_token"]
    creds = [{"key": "BaseAddress", "value": tb.scim_base_url(host)}, {"key": "SecretToken", "value": token}]
    base = "%s/servicePrincipals/%s/synchronization" % (graph, sp)
    status, _body = _call(ctx, "PUT", base + "/secrets", body={"value": creds}, bearer=access)
    steps.append(("put", status))
    if status not in (200, 204):
        return steps
    status, _body = _call(ctx, "POST", "%s/jobs/%s/validateCredentials" % (base, urllib.parse.quote(job, safe="")),
                          body={"useSavedCredentials": True}, bearer=access)
    steps.append(("validate", status))
    return steps


def push_pingone(settings, host, token):
    """PingOne, as a person with a script would do it: worker app token (client_secret_basic), GET the
    host's propagation store, PUT it whole with the new OAUTH_ACCESS_TOKEN, POST a revision so the
    change reaches provisioning. settings: what pingone_sim.launch.up() returns. Returns (step, status)s."""
    ctx = ssl.create_default_context(cafile=settings["ca_path"])
    env = settings["environment_id"]
    base = "%s/v1/environments/%s/propagation" % (settings["url"].rstrip("/"), env)
    steps = []
    basic = base64.b64encode(("%s:%s" % (urllib.parse.quote(settings["client_id"]),
                                         urllib.parse.quote(settings["client_secret"]))).encode()).decode()
    status, body = _call(ctx, "POST", "%s/%s/as/token" % (settings["url"].rstrip("/"), env),
                         form={"grant_type": "client_credentials"}, basic=basic)
    steps.append(("token", status))
    if status != 200:
        return steps
    access = body["access_token"]
    url = "%s/stores/%s" % (base, settings["stores"][host])
    status, store = _call(ctx, "GET", url, bearer=access)
    steps.append(("get", status))
    if status != 200:
        return steps
    store["configuration"]["OAUTH_ACCESS_TOKEN"] = token
    status, _body = _call(ctx, "PUT", url, body=store, bearer=access)
    steps.append(("put", status))
    if status != 200:
        return steps
    status, _body = _call(ctx, "POST", base + "/revisions", body={}, bearer=access)
    steps.append(("revision", status))
    return steps


def ok_steps(steps):
    """The steps, in order, that succeeded (up to the first that did not)."""
    done = []
    for step, status in steps:
        if status not in (200, 201, 204):
            break
        done.append(step)
    return done


def main():
    host = sys.argv[1]
    token = sys.stdin.read().strip()
    if not token:
        sys.stderr.write("idp_push: no token on stdin for %s\n" % host)
        return 2
    steps = push(testbed_lib.Testbed(), host, token)
    ok = ok_steps(steps) == ["token", "put", "validate"]
    if not ok:
        sys.stderr.write("idp_push: %s failed: %s\n" % (host, steps))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
