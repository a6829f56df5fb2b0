# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the PingOne modules (plugins/module_utils/_pingone.py); the HTTP ones are
    # in alation.scim.idp_http.
    DOCUMENTATION = r'''
options:
  environment_id:
    description:
      - ID of the PingOne environment that holds the propagation store.
      - If not set, the value of the E(PINGONE_ENVIRONMENT_ID) environment variable is used.
    type: str
    required: true
  auth_environment_id:
    description:
      - ID of the environment the worker app belongs to, when it is not O(environment_id).
    type: str
  client_id:
    description:
      - Client ID of a PingOne Worker app with the Environment Admin role on O(environment_id).
      - If not set, the value of the E(PINGONE_CLIENT_ID) environment variable is used.
    type: str
    required: true
  client_secret:
    description:
      - Client secret of the worker app.
      - If not set, the value of the E(PINGONE_CLIENT_SECRET) environment variable is used.
    type: str
    required: true
  token_auth_method:
    description:
      - The worker app's Token Endpoint Authentication Method.
    type: str
    choices: [client_secret_basic, client_secret_post]
    default: client_secret_basic
  region:
    description:
      - PingOne region; gives C(https://api.pingone.<tld>) and C(https://auth.pingone.<tld>)
        (V(NA) C(com), V(EU) C(eu), V(AP) C(asia), V(CA) C(ca), V(AU) C(com.au)).
      - If not set, the value of the E(PINGONE_REGION_CODE) environment variable is used.
    type: str
    choices: [AP, AU, CA, EU, NA]
    default: NA
  api_url:
    description:
      - Base URL of the platform API (without C(/v1)); overrides O(region).
    type: str
  auth_url:
    description:
      - Base URL of the authorization server (the token endpoint is C(<auth_url>/<envID>/as/token)); overrides O(region).
    type: str
'''
