# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  tenant_id:
    description:
      - Directory (tenant) ID of the Microsoft Entra tenant, or one of its verified domains.
      - If not set, the E(AZURE_TENANT_ID) environment variable is used. Required one way or the other.
    type: str
  client_id:
    description:
      - Application (client) ID of the app registration the modules authenticate as (not the SCIM app).
      - It needs the Microsoft Graph application permission C(Synchronization.ReadWrite.All), or
        C(Application.ReadWrite.OwnedBy) with the app an owner of the service principal, with admin consent.
      - If not set, the E(AZURE_CLIENT_ID) environment variable is used. Required one way or the other.
    type: str
  client_secret:
    description:
      - Client secret value of the app registration.
      - If not set, the E(AZURE_CLIENT_SECRET) environment variable is used.
      - Used only when neither O(client_assertion) nor O(client_certificate_path) is set.
    type: str
  client_assertion:
    description:
      - A signed client assertion (JWT) to authenticate with instead of a secret, for example a federated
        workload identity token. Takes precedence over the other credentials.
    type: str
  client_certificate_path:
    description:
      - Path on the controller of the PEM certificate registered on the app registration.
      - The modules build and sign an RS256 client assertion (header C(x5t#S256)) with O(client_private_key_path)
        with the C(cryptography) library (or the C(openssl) command where it is missing); the key is read from
        its file, never put on a command line.
      - Takes precedence over O(client_secret).
    type: path
  client_private_key_path:
    description:
      - Path on the controller of the unencrypted PEM private key of O(client_certificate_path).
    type: path
  authority_url:
    description:
      - Microsoft Entra authority, for national clouds (for example V(https://login.microsoftonline.us)).
      - If not set, the E(AZURE_AUTHORITY_HOST) environment variable is used, then the default.
    type: str
    default: https://login.microsoftonline.com
  graph_url:
    description:
      - Microsoft Graph endpoint of the cloud (for example V(https://graph.microsoft.us)). The token scope is
        O(graph_url) followed by C(/.default).
    type: str
    default: https://graph.microsoft.com
  validate_certs:
    description:
      - Verify the TLS certificates of O(authority_url) and O(graph_url). Turn off only for tests.
    type: bool
    default: true
  ca_path:
    description:
      - PEM bundle of certificate authorities to verify O(authority_url) and O(graph_url) with, instead of the
        system's.
    type: path
  retry_budget:
    description:
      - Total seconds one call may spend waiting before retries. Throttling (HTTP 429, honouring
        C(Retry-After), exponential backoff without it), replication delays (HTTP 403 and 409), server
        errors (HTTP 5xx) and connections without an answer are retried until this budget is spent.
    type: int
    default: 120
requirements:
  - With O(client_certificate_path), the Python library C(cryptography) (an ansible-core dependency) or, where the
    module's interpreter lacks it, the C(openssl) command.
'''

    # For the modules (not the entra_token_rotation action, whose `timeout` is the Django shell's).
    MODULE = r'''
options:
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
notes:
  - These modules talk to Microsoft Graph from where they run; use C(delegate_to=localhost) or
    C(connection=local).
  - Set defaults for every Entra module at once with C(module_defaults) and the group C(group/alation.scim.entra).
'''

    # The enterprise application and its provisioning job.
    JOB = r'''
options:
  service_principal_id:
    description:
      - Object ID of the enterprise application's service principal (Enterprise applications > Properties >
        Object ID), not the Application (client) ID.
    type: str
    required: true
  job_id:
    description:
      - ID of the synchronization job (for example C(scim.0123...)). When not set, the service principal's only
        job; the task fails and lists the jobs when there are several.
    type: str
'''
