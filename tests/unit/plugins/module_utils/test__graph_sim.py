"""GraphClient over real HTTPS (ansible's open_url, real TLS, real openssl) against a private Entra
simulator instance on 127.0.20.1 with its own throwaway CA.  Also collects the simulator's own tests."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import subprocess
import sys

import pytest

SIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "testbed", "entra_sim")
sys.path.insert(0, os.path.abspath(SIM_DIR))

# The simulator's fixtures, and its own tests so that the unit suite runs them too.
from test_sim import (  # noqa: F401,E402  pylint: disable=unused-import
    pki, scim, sim, sim_proc, test_client_assertion, test_cycle_quarantine_and_restart, test_faults,
    test_graph_auth_and_not_found, test_missing_permission_answers_401, test_scheduled_cycles,
    test_secrets_masked_and_case_sensitive, test_slow_and_flapping, test_tls_needs_the_ca, test_token_errors,
    test_validate_really_calls_the_endpoint)
from test_sim import CLIENT, JOB, SCIM_TOKEN, SECRET, SP, TENANT  # noqa: E402

from ansible_collections.alation.scim.plugins.module_utils import _graph  # noqa: E402
from ansible_collections.alation.scim.plugins.module_utils._graph import EntraError, GraphClient  # noqa: E402


class Module(object):
    check_mode = False

    def __init__(self, **params):
        self.params = dict((k, v.get("default")) for k, v in _graph.entra_argument_spec().items())
        self.params.update(params)

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, args, data=None, binary_data=False, encoding="utf-8"):
        p = subprocess.run(args, input=data, capture_output=True, check=False)
        return p.returncode, p.stdout, p.stderr


def real_client(sim, pki, **params):
    base = dict(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET, authority_url=sim.base_url,
                graph_url=sim.base_url, ca_path=str(pki / "ca.pem"), retry_budget=20)
    base.update(params)
    return GraphClient(Module(**base))


def test_real_push_validate_and_quarantine(sim, pki, scim):
    c = real_client(sim, pki)
    job = c.pick_job(SP)
    assert job["id"] == JOB
    assert c.validate_credentials(SP, JOB, [("BaseAddress", scim), ("SecretToken", SCIM_TOKEN)]) == (True, None)
    ok, why = c.validate_credentials(SP, JOB, [("BaseAddress", scim), ("SecretToken", "nope-token")])
    assert not ok and "HTTP/401" in why
    c.put_secrets(SP, [("BaseAddress", scim), ("SecretToken", SCIM_TOKEN)])
    assert sim.stored_token(SP) == SCIM_TOKEN
    assert c.get_secrets(SP) == {"BaseAddress": "*", "SecretToken": "*"}
    sim.set_job(SP, JOB, "Quarantine")
    c.lift_quarantine(SP, JOB)
    assert _graph.job_summary(c.get_job(SP, JOB))["status_code"] == "Active"


def test_real_throttle_with_retry_after(sim, pki):
    sim.fault("throttle", count=2, retry_after=1)
    c = real_client(sim, pki)
    assert c.list_jobs(SP)
    assert [r["status"] for r in sim.requests() if r["path"].startswith("/v1.0/")] == [429, 429, 200]


def test_real_tls_verification(sim, pki):
    c = real_client(sim, pki, ca_path=None)
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert "TLS certificate verification failed" in e.value.message


def test_real_connection_dropped_then_answered(sim, pki):
    sim.fault("down", count=2)
    assert real_client(sim, pki).list_jobs(SP)


def test_real_certificate_credential(sim, pki):
    c = real_client(sim, pki, client_secret=None, client_certificate_path=str(pki / "app.pem"),
                    client_private_key_path=str(pki / "app.key"))
    assert c.list_jobs(SP)
    c = real_client(sim, pki, client_secret=None, client_certificate_path=str(pki / "app.pem"),
                    client_private_key_path=str(pki / "sim.key"))
    with pytest.raises(EntraError) as e:
        c.list_jobs(SP)
    assert "AADSTS700027" in e.value.message and "does not match a certificate" in e.value.message


def test_one_tls_context_per_set_of_options(sim, pki, monkeypatch, tmp_path):
    """open_url would build the context, reading the system's CA store without ca_path, for every request;
    _http builds it once per process and options. The cached one still verifies: the system store that
    trusts the simulator's CA passes, one that does not, or another CA file, fails."""
    from ansible.module_utils import urls
    from ansible_collections.alation.scim.plugins.module_utils import _http
    if not _http._request_takes_context(urls.Request):  # ansible-core 2.16: every request builds its own
        assert _http.tls_context() is None
        return
    built = []
    real_make_context = urls.make_context

    def counting_make_context(**kw):
        built.append(kw.get("cafile"))
        return real_make_context(**kw)
    monkeypatch.setattr(urls, "make_context", counting_make_context)
    monkeypatch.setattr(_http, "_TLS_CONTEXTS", {})
    bundle = tmp_path / "system-bundle.pem"
    bundle.write_bytes((pki / "ca.pem").read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # the "system" store: trusts the simulator's CA

    c = real_client(sim, pki, ca_path=None)
    assert c.list_jobs(SP) and c.list_jobs(SP) and real_client(sim, pki, ca_path=None).list_jobs(SP)
    assert built == [None], "one context for every request without ca_path"
    assert real_client(sim, pki).list_jobs(SP) and real_client(sim, pki).list_jobs(SP)
    assert built == [None, str(pki / "ca.pem")]

    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other), "-days", "1", "-subj", "/CN=other"], check=True, capture_output=True)
    with pytest.raises(EntraError) as e:
        real_client(sim, pki, ca_path=str(other)).list_jobs(SP)
    assert "TLS certificate verification failed" in e.value.message

    monkeypatch.setattr(_http, "_TLS_CONTEXTS", {})
    bundle.write_bytes(other.read_bytes())  # a system store without the simulator's CA
    with pytest.raises(EntraError) as e:
        real_client(sim, pki, ca_path=None).list_jobs(SP)
    assert "TLS certificate verification failed" in e.value.message
