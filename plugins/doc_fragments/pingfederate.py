# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the PingFederate module and driver (pingfederate_argument_spec() in
    # plugins/module_utils/_pingfederate.py); the HTTP ones are in alation.scim.idp_http.
    DOCUMENTATION = r'''
options:
  base_url:
    description:
      - Base URL of the PingFederate administrative console, for example C(https://pingfederate.example.com:9999)
        (the admin API is under C(/pf-admin-api/v1); a URL ending in it is accepted too).
      - If not set, the value of the E(PINGFEDERATE_ADMIN_URL) environment variable is used.
    type: str
    required: true
  auth:
    description:
      - How to authenticate to the admin API. V(basic) with an administrator account, V(oauth2) with an access token
        from client credentials (when the admin API is set to OAuth2), V(client_certificate) with mutual TLS.
      - If not set, the value of the E(PINGFEDERATE_AUTH) environment variable is used.
    type: str
    choices: [basic, oauth2, client_certificate]
    default: basic
  username:
    description:
      - Administrator account (native or LDAP) for O(auth=basic). It needs the Administrator role to save SP
        connections (an Auditor may only read them).
      - If not set, the value of the E(PINGFEDERATE_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - Password of O(username).
      - If not set, the value of the E(PINGFEDERATE_PASSWORD) environment variable is used.
    type: str
  client_id:
    description:
      - OAuth client for O(auth=oauth2); it uses the client credentials grant and must be allowed as an
        administrator of the admin API.
      - If not set, the value of the E(PINGFEDERATE_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - Secret of O(client_id) (sent with HTTP Basic to O(token_url)).
      - If not set, the value of the E(PINGFEDERATE_CLIENT_SECRET) environment variable is used.
    type: str
  token_url:
    description:
      - Token endpoint for O(auth=oauth2), for example C(https://pingfederate.example.com:9031/as/token.oauth2).
      - If not set, the value of the E(PINGFEDERATE_TOKEN_URL) environment variable is used.
    type: str
  scope:
    description:
      - Scope to ask for with O(auth=oauth2), when the admin API requires one.
    type: str
  client_cert_path:
    description:
      - PEM client certificate for O(auth=client_certificate).
      - If not set, the value of the E(PINGFEDERATE_CLIENT_CERT) environment variable is used.
    type: path
  client_key_path:
    description:
      - Unencrypted PEM private key of O(client_cert_path).
      - If not set, the value of the E(PINGFEDERATE_CLIENT_KEY) environment variable is used.
    type: path
  connection_id:
    description:
      - ID of the SP connection whose outbound provisioning (SCIM connector) sends users to Alation.
    type: str
    required: true
  token_field:
    description:
      - Name of the field of C(outboundProvision.targetSettings) that holds the bearer token.
      - The default is the SCIM provisioner's "Access Token" (authentication method "OAuth 2 Bearer Token");
        PingFederate names config fields by their labels, but this name is not confirmed against every version. A
        connection without the field fails before anything changes and the message lists the fields it has.
    type: str
    default: Access Token
  replicate:
    description:
      - After saving, replicate the configuration to the cluster's engine nodes (C(POST /cluster/replicate)), so
        that they provision with the new token at once instead of at the next automatic replication.
      - Only for clustered deployments; a standalone server refuses it.
    type: bool
    default: false
'''
