# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the SailPoint Identity Security Cloud module and driver
    # (sailpoint_argument_spec() in plugins/module_utils/_sailpoint.py); the HTTP ones are in
    # alation.scim.idp_http.
    DOCUMENTATION = r'''
options:
  tenant:
    description:
      - Identity Security Cloud tenant name, the first label of C(https://<tenant>.identitynow.com); the API is then
        C(https://<tenant>.api.identitynow.com). One of O(tenant) and O(base_url) is required.
      - If not set, the value of the E(SAILPOINT_TENANT) environment variable is used.
    type: str
  base_url:
    description:
      - API base URL, for example C(https://acme.api.identitynow.com) (other domains, a proxy); wins over O(tenant).
      - If not set, the value of the E(SAILPOINT_BASE_URL) environment variable is used.
    type: str
  token_url:
    description:
      - OAuth token endpoint; default C(<API base>/oauth/token).
      - If not set, the value of the E(SAILPOINT_TOKEN_URL) environment variable is used.
    type: str
  client_id:
    description:
      - Client ID of a personal access token or an API client of the tenant (client credentials grant), with the
        scopes C(idn:sources:read), C(idn:sources:manage) and, for the connection test, C(idn:source-connector:manage).
      - If not set, the value of the E(SAILPOINT_CLIENT_ID) environment variable is used.
    type: str
    required: true
  client_secret:
    description:
      - Secret of O(client_id).
      - If not set, the value of the E(SAILPOINT_CLIENT_SECRET) environment variable is used.
    type: str
    required: true
  source_id:
    description:
      - ID of the SCIM 2.0 source that provisions to Alation (the id in the source's URL in Admin > Connections >
        Sources).
    type: str
    required: true
  token_key:
    description:
      - Key of C(connectorAttributes) that holds the SCIM API token.
      - The default V(apiToken) is an assumption (the key is not documented where we looked); a source without the
        key fails before anything changes and the message lists the keys it has.
    type: str
    default: apiToken
'''
