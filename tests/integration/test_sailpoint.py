"""sailpoint_source end to end: ansible-playbook on the controller against the SailPoint Identity
Security Cloud simulator of the test bed (127.0.60.1:8443, test CA, one SCIM 2.0 source per Alation
host), whose check-connection calls the real simulated Alation host (django-scim2 over TLS) with the
stored token. And the sailpoint_iiq driver's workflow push against the IdentityIQ simulator
(127.0.70.1:8443), whose stand-in workflow tests the connection against the real host too.
The drivers inside the rotation cycle are the lead's matrix (issue 10).

Tokens are compared and scanned, never printed: assertion messages carry fingerprints at most.
"""

import importlib.util
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))

import testbed_lib  # noqa: E402
from iiq_sim import launch as iiq_launch  # noqa: E402
from iiq_sim.client import IdentityIqSim  # noqa: E402
from sailpoint_sim import launch as isc_launch  # noqa: E402
from sailpoint_sim.client import SailPointSim  # noqa: E402
from testbed_fixtures import fp, fresh_simulator, launch_simulator  # noqa: E402

HOST = "alation3"

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The SCIM source
      alation.scim.sailpoint_source:
        base_url: "{{ isc.url }}"
        ca_path: "{{ isc.ca_path }}"
        client_id: "{{ isc.client_id }}"
        client_secret: "{{ isc.client_secret }}"
        source_id: "{{ isc.source }}"
        token_key: "{{ isc.token_key | default('apiToken') }}"
        token: "{{ new_token | default(omit) }}"
        check_connection: "{{ isc.check | default(false) }}"
        retry_budget: 5
      register: result
    - name: Show what it returned
      ansible.builtin.debug:
        var: result
"""


@pytest.fixture(scope="module")
def isc_settings(testbed):
    return launch_simulator(isc_launch, testbed)


@pytest.fixture
def isc(isc_settings):
    return fresh_simulator(SailPointSim(isc_settings["url"], isc_settings["ca_path"]))


def play(run_playbook, s, token=None, check=False, diff=False, leak_scanner=None, verbosity=0, check_connection=False,
         **isc_vars):
    isc_vars = dict({"url": s["base_url"], "ca_path": s["ca_path"], "client_id": s["client_id"],
                     "client_secret": s["client_secret"], "source": s["sources"][HOST], "check": check_connection},
                    **isc_vars)
    extra = {"isc": isc_vars}
    if token is not None:
        extra["new_token"] = token
    return run_playbook(PLAY, extra_vars=extra, check=check, diff=diff, leak_scanner=leak_scanner,
                        verbosity=verbosity)


def test_source_takes_the_hosts_token_and_its_connection_test_reaches_alation(
        testbed, run_playbook, isc_settings, isc, leak_scanner):
    testbed.reset(HOST)
    token = testbed.current_token(HOST)
    leak_scanner.add(token)
    leak_scanner.add(isc_settings["client_secret"])
    src = isc_settings["sources"][HOST]
    r = play(run_playbook, isc_settings, check_connection=True, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc != 0 and "failed its connection test" in r.stdout and "401" in r.stdout, \
        "the source's initial token must not pass: %r" % r
    r = play(run_playbook, isc_settings, token=token, check=True, diff=True, check_connection=True,
             leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 1, "check mode: %r" % r
    assert not isc.state()["patches"] and "replaced (encrypted)" in r.stdout
    r = play(run_playbook, isc_settings, token=token, check_connection=True, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 1, "save: %r" % r
    assert isc.source(src)["token_fingerprint"] == fp(token)
    assert "passed its connection test" in r.stdout
    assert isc.state()["checks"][-1]["token_fingerprint"] == fp(token)
    r = play(run_playbook, isc_settings, check_connection=True, leak_scanner=leak_scanner, verbosity=3)
    assert r.rc == 0 and r.stats["localhost"]["changed"] == 0 and "passed its connection test" in r.stdout, r
    assert '"apiToken": "********"' in r.stdout
    leak_scanner.scan_syslog()
    leak_scanner.scan_files([os.path.join(isc_launch.STATE_DIR, "server.log")])
    leak_scanner.assert_clean()


@pytest.mark.parametrize("change,words", [
    ({"client_secret": "wrong-secret"}, ["invalid_client", "client_id / client_secret"]),
    ({"source": "ffffffffffffffffffffffffffffffff"}, ["HTTP 404", "source_id"]),
    ({"token_key": "bearerToken"}, ["'bearerToken'", "apiToken", "token_key"]),
    ({"url": "https://127.0.60.1:1"}, ["no answer", "tenant / base_url"]),
])
def test_bad_settings_name_the_cause_and_change_nothing(run_playbook, isc_settings, isc, change, words):
    r = play(run_playbook, isc_settings, token=testbed_lib.new_token_value(), **change)
    assert r.rc != 0 and r.stats["localhost"]["failed"] == 1
    for word in words:
        assert word in r.stdout, (word, r)
    assert not isc.state()["patches"]


def test_read_only_client_cannot_save(run_playbook, isc_settings, isc):
    r = play(run_playbook, isc_settings, token=testbed_lib.new_token_value(),
             client_id=isc_settings["read_only_client_id"], client_secret=isc_settings["read_only_client_secret"])
    assert r.rc != 0 and "HTTP 403" in r.stdout and "idn:sources:manage" in r.stdout
    assert not isc.state()["patches"]


# ------------------------------------------------------------------ IdentityIQ (driver, in this process)
@pytest.fixture(scope="module")
def iiq_settings(testbed):
    return launch_simulator(iiq_launch, testbed)


def test_iiq_workflow_stores_the_hosts_token_and_tests_it_against_alation(testbed, iiq_settings):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    # tests/unit/conftest.py makes ansible_collections.alation.scim importable from this checkout
    unit_conftest = os.path.join(REPO, "tests", "unit", "conftest.py")
    spec = importlib.util.spec_from_file_location("alation_scim_unit_paths", unit_conftest)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    from ansible_collections.alation.scim.plugins.plugin_utils.drivers import driver_class
    from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import DriverContext, DriverError

    sim = fresh_simulator(IdentityIqSim(iiq_settings["admin_url"], iiq_settings["ca_path"]))
    testbed.reset(HOST)
    cls = driver_class("sailpoint_iiq")

    def driver(**kw):
        options = dict(url=iiq_settings["url"], username=iiq_settings["username"], password=iiq_settings["password"],
                       workflow_name=iiq_settings["workflow_name"], application_name=iiq_settings["applications"][HOST],
                       ca_path=iiq_settings["ca_path"], retry_budget=5)
        options.update(kw)
        result = ArgumentSpecValidator(cls.argument_spec()).validate(options)
        assert not result.error_messages
        return cls(result.validated_parameters, DriverContext(HOST, testbed.scim_base_url(HOST)))

    d = driver()
    d.check_settings()
    with pytest.raises(DriverError) as e:
        d.push(testbed_lib.new_token_value())   # a token Alation does not accept: the workflow's test fails
    assert "Test connection failed" in e.value.message and "401" in e.value.message
    token = testbed.current_token(HOST)
    said = d.push(token)
    assert iiq_settings["applications"][HOST] in said and token not in said
    assert "Success" in d.verify(token)
    app = sim.application(iiq_settings["applications"][HOST])
    assert app["secret_fingerprints"]["apiToken"] == fp(token)
    with pytest.raises(Exception) as e:
        driver(username=iiq_settings["no_rights_username"], password=iiq_settings["no_rights_password"]).check_settings()
    assert "403" in str(e.value) and "SCIM Executor" in str(e.value)
