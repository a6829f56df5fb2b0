# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # HTTP options of the Okta and PingOne modules (idp_http_argument_spec() in plugins/module_utils/_idp.py).
    DOCUMENTATION = r'''
options:
  validate_certs:
    description:
      - Verify the identity provider's TLS certificate. Only turn off against a test double.
    type: bool
    default: true
  ca_path:
    description:
      - PEM CA bundle used to verify the identity provider's certificate, instead of the system's.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
  max_wait:
    description:
      - Total seconds a call may spend waiting before it fails, for the identity provider's rate limit to reset
        (Okta C(X-Rate-Limit-Reset) with 429 C(E0000047), PingOne 429 with C(Retry-After)) and between retries of
        5xx answers and unreachable endpoints.
    type: int
    default: 120
'''
