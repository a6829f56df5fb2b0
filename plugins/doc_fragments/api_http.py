# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # TLS, timeout and retry options of the modules over _http.ApiClient (http_argument_spec() in
    # plugins/module_utils/_http.py). The Okta / PingOne modules still use alation.scim.idp_http.
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
      - If not set, the module's CA environment variable is used (E(PINGFEDERATE_CA_PATH), E(SAILPOINT_CA_PATH)).
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
  retry_budget:
    description:
      - Total seconds a call may spend waiting before it fails, between retries of throttled answers (429, honouring
        C(Retry-After)), 5xx answers and endpoints that do not answer.
    type: int
    default: 120
    aliases: [max_wait]
'''
