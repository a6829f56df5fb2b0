"""pingfederate_sp_connection end to end: ansible-playbook on the controller against the PingFederate
simulator of the test bed (127.0.50.1:8443, test CA, one SP connection per Alation host), whose
engine then provisions to the real simulated Alation host (django-scim2 over TLS) with what was saved.
The pingfederate driver inside the rotation cycle is the lead's matrix (issue 10); the driver on its
own is tested in tests/unit/plugins/plugin_utils/drivers/test_pingfederate.py.

Tokens are compared and scanned, never printed: assertion messages carry fingerprints at most.
"""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

import testbed_lib  # noqa: E402
from pingfederate_sim import launch as pf_launch  # noqa: E402
from pingfederate_sim.client import PingFederateSim  # noqa: E402
from testbed_fixtures import fp, fresh_simulator, launch_simulator  # noqa: E402

HOST = "alation3"

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The SP connection's provisioning
      alation.scim.pingfederate_sp_connection:
        base_url: "{{ pf.url }}"
        ca_path: "{{ pf.ca_path }}"
        connection_id: "{{ pf.connection }}"
        auth: "{{ pf.auth | default('basic') }}"
        username: "{{ pf.username | default(omit) }}"
        password: "{{ pf.password | default(omit) }}"
        client_cert_path: "{{ pf.client_cert_path | default(omit) }}"
        client_key_path: "{{ pf.client_key_path | default(omit) }}"
        token_field: "{{ pf.token_field | default('Access Token') }}"
        token: "{{ new_token | default(omit) }}"
        retry_budget: 5
      register: result
    - name: Show what it returned
      ansible.builtin.debug:
        var: result
"""


@pytest.fixture(scope="module")
def pf_settings(testbed):
    return launch_simulator(pf_launch, testbed)


@pytest.fixture
def pf(pf_settings):
    return fresh_simulator(PingFederateSim(pf_settings["url"], pf_settings["ca_path"]))


def play(run_playbook, s, token=None, check=False, diff=False, leak_scanner=None, verbosity=0, **pf_vars):
    pf_vars = dict({"url": s["url"], "ca_path": s["ca_path"], "connection": s["connections"][HOST],
                    "username": s["username"], "password": s["password"]}, **pf_vars)
    extra = {"pf": pf_vars}
    if token is not None:
        extra["new_token"] = token
    return run_playbook(PLAY, extra_vars=extra, check=check, diff=diff, leak_scanner=leak_scanner,
                        verbosity=verbosity)


def saves(pf):
    return pf.state()["saves"]


def test_read_then_save_the_hosts_token_and_the_engine_provisions_with_it(
        testbed, run_playbook, pf_settings, pf, leak_scanner):
    testbed.reset(HOST)
    token = testbed.current_token(HOST)
    leak_scanner.add(token)
    leak_scanner.add(pf_settings["password"])
    r = play(run_playbook, pf_settings, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 0, "read: %r" % r
    assert "'Access Token' is set" in r.stdout and '"token_field_present": true' in r.stdout
    r = play(run_playbook, pf_settings, token=token, check=True, diff=True, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 1, "check mode: %r" % r
    assert not saves(pf), "check mode saved the connection"
    assert "replaced (encrypted)" in r.stdout
    cid = pf_settings["connections"][HOST]
    before = pf.connection(cid)
    r = play(run_playbook, pf_settings, token=token, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 1, "save: %r" % r
    after = pf.connection(cid)
    assert after["token_fingerprint"] == after["live_token_fingerprint"] == fp(token)
    assert after["secret_fingerprints"]["Client Secret"] == before["secret_fingerprints"]["Client Secret"]
    assert after["plain_settings"] == before["plain_settings"] and after["channels"] == before["channels"]
    runs = [x for x in pf.wait_runs(cid) if x["token_fingerprint"] == fp(token)]
    assert runs and runs[-1]["result"] == "SUCCESS", "the engine could not provision to %s with it" % HOST
    assert all(q["xsrf"] for q in pf.state()["requests"] if q["path"].startswith("/pf-admin-api/"))
    leak_scanner.scan_syslog()
    leak_scanner.scan_files([os.path.join(pf_launch.STATE_DIR, "server.log")])
    leak_scanner.assert_clean()


def test_client_certificate_authentication(testbed, run_playbook, pf_settings, pf):
    token = testbed_lib.new_token_value()
    r = play(run_playbook, pf_settings, token=token, auth="client_certificate", username=None, password=None,
             client_cert_path=pf_settings["client_cert_path"], client_key_path=pf_settings["client_key_path"])
    assert r.rc == 0, "mTLS: %r" % r
    assert saves(pf)[-1]["by"].endswith("(client_certificate)")
    assert pf.connection(pf_settings["connections"][HOST])["token_fingerprint"] == fp(token)


@pytest.mark.parametrize("change,words", [
    ({"password": "not-the-password"}, ["HTTP 401", "username / password"]),
    ({"connection": "no-such-connection"}, ["HTTP 404", "connection_id", "no-such-connection"]),
    ({"token_field": "Bearer Token"}, ["'Bearer Token'", "'Access Token'", "token_field"]),
    ({"url": "https://127.0.50.1:1"}, ["no answer", "base_url"]),
    ({"ca_path": "/etc/ssl/certs/ca-certificates.crt"}, ["TLS certificate verification failed", "ca_path"]),
])
def test_bad_settings_name_the_cause_and_change_nothing(run_playbook, pf_settings, pf, change, words):
    r = play(run_playbook, pf_settings, token=testbed_lib.new_token_value(), **change)
    assert r.rc != 0 and r.stats["localhost"]["failed"] == 1
    for word in words:
        assert word in r.stdout, (word, r)
    assert not saves(pf)


def test_auditor_cannot_save(run_playbook, pf_settings, pf):
    r = play(run_playbook, pf_settings, token=testbed_lib.new_token_value(), username=pf_settings["auditor_username"],
             password=pf_settings["auditor_password"])
    assert r.rc != 0 and "HTTP 403" in r.stdout and "Administrator role" in r.stdout
    assert not saves(pf)


def test_throttling_is_ridden_out(run_playbook, pf_settings, pf):
    pf.fault("throttle", count=2, retry_after=1)
    token = testbed_lib.new_token_value()
    r = play(run_playbook, pf_settings, token=token)
    assert r.rc == 0, "throttled: %r" % r
    assert pf.connection(pf_settings["connections"][HOST])["token_fingerprint"] == fp(token)
