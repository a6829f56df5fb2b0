"""Contract test of the Entra ID simulator: Microsoft's own clients (azure-identity for the
token, msgraph-sdk for Graph) drive it, so every answer the collection relies on must
deserialise with Microsoft's models. A private simulator with its own CA (the fixtures of
tests/testbed/entra_sim/test_sim.py); no test bed lock needed.

Not covered by Microsoft's models: GET .../synchronization/secrets (absent from Graph's v1.0
metadata, so msgraph-sdk has no request for it); it is read here with the SDK's request adapter
into SecretsPutResponse, the model of the same {"value": [key/value pairs]} payload.
"""

import asyncio
import os
import ssl
import sys

import pytest

import azure.identity as azure_identity  # noqa: E402  (test-only pins in tests/requirements.txt)
import httpx  # noqa: E402
from azure.core.exceptions import ClientAuthenticationError  # noqa: E402
from kiota_abstractions.method import Method  # noqa: E402
from kiota_abstractions.request_information import RequestInformation  # noqa: E402
from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: E402
    AzureIdentityAuthenticationProvider)
from msgraph import GraphRequestAdapter, GraphServiceClient  # noqa: E402
from msgraph.generated.models.o_data_errors.o_data_error import ODataError  # noqa: E402
from msgraph.generated.models.synchronization_job_restart_criteria import (  # noqa: E402
    SynchronizationJobRestartCriteria)
from msgraph.generated.models.synchronization_job_restart_scope import SynchronizationJobRestartScope  # noqa: E402
from msgraph.generated.models.synchronization_secret import SynchronizationSecret  # noqa: E402
from msgraph.generated.models.synchronization_secret_key_string_value_pair import (  # noqa: E402
    SynchronizationSecretKeyStringValuePair)
from msgraph.generated.service_principals.item.synchronization.jobs.item.restart.restart_post_request_body import (  # noqa: E402,E501
    RestartPostRequestBody)
from msgraph.generated.service_principals.item.synchronization.jobs.item.validate_credentials.validate_credentials_post_request_body import (  # noqa: E402,E501
    ValidateCredentialsPostRequestBody)
from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_request_body import (  # noqa: E402,E501
    SecretsPutRequestBody)
from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_response import (  # noqa: E402
    SecretsPutResponse)
from msgraph_core import GraphClientFactory  # noqa: E402

SIM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testbed", "entra_sim")
sys.path.insert(0, SIM_DIR)
# the simulator's own fixtures (a private instance with its own CA)
from test_sim import pki, scim, sim, sim_proc  # noqa: E402,F401  pylint: disable=unused-import
from test_sim import CLIENT, JOB, SCIM_TOKEN, SECRET, SP, TENANT  # noqa: E402

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def credential(sim, pki):
    """azure-identity's client-secret login against the simulator as a custom authority
    (instance discovery off: it would ask login.microsoftonline.com about an unknown host)."""
    return azure_identity.ClientSecretCredential(
        TENANT, CLIENT, SECRET, authority=sim.base_url, disable_instance_discovery=True,
        connection_verify=str(pki / "ca.pem"))


@pytest.fixture
def graph(sim, pki, credential):
    # the collection reads the service principal's display name too (Application.Read.All)
    sim.set_app(TENANT, CLIENT, permissions=["Synchronization.ReadWrite.All", "Application.Read.All"])
    host = sim.base_url.split("//", 1)[1].split(":", 1)[0]
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=[host])
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(pki / "ca.pem"))))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = sim.base_url + "/v1.0"
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture
def run():
    """Runs the SDK's coroutines on one event loop (its httpx client is bound to the first)."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


def test_azure_identity_logs_in_at_the_simulator(credential, sim, pki):
    token = credential.get_token(GRAPH_SCOPE)
    assert token.token and token.expires_on > 0
    assert any(r["path"] == "/%s/v2.0/.well-known/openid-configuration" % TENANT and r["status"] == 200
               for r in sim.requests()), "MSAL did not read the tenant's OIDC discovery document"
    bad = azure_identity.ClientSecretCredential(
        TENANT, CLIENT, "wrong", authority=sim.base_url, disable_instance_discovery=True,
        connection_verify=str(pki / "ca.pem"))
    with pytest.raises(ClientAuthenticationError) as e:
        bad.get_token(GRAPH_SCOPE)
    assert "AADSTS7000215" in str(e.value)


def test_every_response_the_collection_reads_deserialises(graph, sim, scim, run):
    sp = graph.service_principals.by_service_principal_id(SP)
    sync = sp.synchronization
    job = sync.jobs.by_synchronization_job_id(JOB)

    principal = run(sp.get())
    assert principal.id == SP and principal.display_name == "Alation alation1" and principal.app_id

    body = SecretsPutRequestBody(value=[
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.BaseAddress, value=scim),
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.SecretToken, value=SCIM_TOKEN)])
    assert run(sync.secrets.put(body)) is None  # 204 No Content
    assert sim.stored_token(SP) == SCIM_TOKEN

    whole = run(sync.get())
    assert whole.id and {s.key for s in whole.secrets} == {SynchronizationSecret.BaseAddress,
                                                           SynchronizationSecret.SecretToken}
    assert {s.value for s in whole.secrets} == {"*"}

    jobs = run(sync.jobs.get())
    assert [j.id for j in jobs.value] == [JOB]
    one = run(job.get())
    assert one.id == JOB and one.template_id == "scim" and one.status.code.value == "Active"
    assert one.schedule.state.value == "Active"

    assert run(job.validate_credentials.post(ValidateCredentialsPostRequestBody(use_saved_credentials=True))) is None
    assert run(job.pause.post()) is None
    assert run(job.get()).status.code.value == "Paused"
    assert run(job.start.post()) is None
    assert run(job.get()).status.code.value == "Active"


def test_restart_criteria_as_microsoft_documents(graph, sim, scim, run):
    job = graph.service_principals.by_service_principal_id(SP).synchronization.jobs.by_synchronization_job_id(JOB)
    sim.set_job(SP, JOB, "Quarantine")
    quarantined = run(job.get())
    assert quarantined.status.code.value == "Quarantine"
    assert quarantined.status.quarantine.reason.value == "EncounteredQuarantineException"
    # Watermark alone keeps the quarantine; QuarantineState lifts it
    run(job.restart.post(RestartPostRequestBody(criteria=SynchronizationJobRestartCriteria(
        reset_scope=SynchronizationJobRestartScope.Watermark))))
    assert run(job.get()).status.code.value == "Quarantine"
    run(job.restart.post(RestartPostRequestBody(criteria=SynchronizationJobRestartCriteria(
        reset_scope=SynchronizationJobRestartScope.QuarantineState))))
    assert run(job.get()).status.code.value == "Active"
    # empty criteria = the portal's Restart: lifts quarantine too
    sim.set_job(SP, JOB, "Quarantine")
    run(job.restart.post(RestartPostRequestBody(criteria=SynchronizationJobRestartCriteria())))
    restarted = run(job.get())
    assert restarted.status.code.value == "Active" and restarted.status.quarantine is None


def test_secrets_read_back_and_its_unavailable_variants(graph, sim, scim, run):
    sync = graph.service_principals.by_service_principal_id(SP).synchronization
    run(sync.secrets.put(SecretsPutRequestBody(value=[
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.BaseAddress, value=scim),
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.SecretToken, value=SCIM_TOKEN)])))
    adapter = sync.secrets.request_adapter

    def get_secrets():
        info = RequestInformation(Method.GET, "{+baseurl}/servicePrincipals/{id}/synchronization/secrets",
                                  {"baseurl": adapter.base_url, "id": SP})
        return run(adapter.send_async(info, SecretsPutResponse, {"XXX": ODataError}))

    read = get_secrets()
    assert {(s.key, s.value) for s in read.value} == {(SynchronizationSecret.BaseAddress, "*"),
                                                      (SynchronizationSecret.SecretToken, "*")}
    for status in (400, 404, 405):
        sim.config(secrets_read=status)
        with pytest.raises(ODataError) as e:
            get_secrets()
        assert e.value.response_status_code == status and e.value.error.code and e.value.error.message
