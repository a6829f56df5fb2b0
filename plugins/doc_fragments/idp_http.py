# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # HTTP options of the IdP modules other than Entra's (http_argument_spec() in plugins/module_utils/_http.py).
    DOCUMENTATION = r'''
options:
  validate_certs:
    description:
      - Verify the identity provider's TLS certificate. Only turn off against a throw-away lab.
    type: bool
    default: true
  ca_path:
    description:
      - PEM CA bundle used to verify the identity provider's certificate, instead of the system's (admin consoles
        often have certificates from an internal CA).
      - The PingFederate and SailPoint modules fall back to E(PINGFEDERATE_CA_PATH) and E(SAILPOINT_CA_PATH).
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
  retry_budget:
    description:
      - Total seconds one call may spend waiting before it fails, for the identity provider's rate limit to reset
        (HTTP 429 with C(Retry-After), Okta's C(X-Rate-Limit-Reset)) and between retries of 5xx answers and
        unreachable endpoints (exponential backoff with jitter).
      - The alias O(max_wait) is its name before 1.0.0.
    aliases: [max_wait]
    type: int
    default: 120
'''
