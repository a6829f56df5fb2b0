# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection and auth options of the Okta modules (plugins/module_utils/_okta.py); the HTTP ones are
    # in alation.scim.idp_http.
    DOCUMENTATION = r'''
options:
  org_url:
    description:
      - Base URL of the Okta org, for example V(https://example.okta.com).
      - If not set, the value of the E(OKTA_ORG_URL) environment variable is used.
    type: str
    required: true
  api_token:
    description:
      - 'Okta API token, sent as C(Authorization: SSWS <api_token>).'
      - The token's admin needs to read the System Log (Read-Only Administrator is enough).
      - Takes precedence over O(client_id) when both are set.
      - If not set, the value of the E(OKTA_API_TOKEN) environment variable is used.
    type: str
  client_id:
    description:
      - Client ID of an Okta API Services (service) app that authenticates with C(private_key_jwt).
      - The app must be granted the scopes in O(scopes) and must not require DPoP.
      - If not set, the value of the E(OKTA_CLIENT_ID) environment variable is used.
    type: str
  private_key_path:
    description:
      - Path, on the controller, of the PEM RSA private key of the service app O(client_id).
      - The client assertion is signed RS256 with this key by the C(cryptography) library (or the C(openssl)
        command where it is missing); the key is read from its file, never put on a command line.
      - If not set, the value of the E(OKTA_PRIVATE_KEY_PATH) environment variable is used.
    type: path
  key_id:
    description:
      - C(kid) of the key in the service app's key set, needed when the app has several keys.
    type: str
  scopes:
    description:
      - OAuth scopes requested for the service app.
    type: list
    elements: str
    default: [okta.logs.read]
  token_url:
    description:
      - OAuth token endpoint. Defaults to O(org_url) followed by C(/oauth2/v1/token) (the org authorization server).
    type: str
'''
