#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: okta_provisioning_info
short_description: Tell from Okta's System Log whether provisioning to an app works since a given time
version_added: 0.1.0
description:
  - Okta's API cannot set the SCIM token of a custom app, so an operator pastes a rotated Alation token in the Okta
    admin console. This module checks afterwards that Okta really provisions with it.
  - Reads C(GET /api/v1/logs) with C(since=O(since)), filtered on the app's id as a target and on provisioning event
    types (O(event_type_prefixes)), oldest first, following the C(next) links.
  - The latest event with outcome C(SUCCESS) or C(FAILURE) decides RV(verdict). When there is no such event it says so
    (RV(verdict=no_events)) instead of guessing.
  - Read only; runs on the controller (C(delegate_to) V(localhost)). Never fails because of the verdict, only because
    Okta could not be read; the role's C(confirm) entry point turns the verdict into pass or fail.
author:
  - alation.scim maintainers (@alation-scim)
extends_documentation_fragment:
  - alation.scim.okta_auth
  - alation.scim.idp_http
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  app_id:
    description:
      - Id of the Okta app (the SAML + SCIM app of Alation), as in the admin console URL C(/admin/app/.../instance/<app_id>/).
    type: str
    required: true
  since:
    description:
      - Only events published at or after this time count; normally the time of the token rotation.
      - ISO 8601 with a zone, for example V(2026-01-31T12:00:00Z).
    type: str
    required: true
  event_type_prefixes:
    description:
      - System Log event types that count as provisioning, as prefixes (Okta filter operator C(sw)).
      - The default covers C(application.provision.user.push), C(application.provision.user.push_profile),
        C(application.provision.user.deactivate), C(application.provision.group_push.*) and the older
        C(app.user_management.push_*) types.
    type: list
    elements: str
    default: [application.provision., app.user_management.push]
  max_events:
    description:
      - Stop reading after this many matching events.
    type: int
    default: 1000
notes:
  - Needs an API token of an admin who can read the System Log, or an OAuth service app granted C(okta.logs.read).
  - The System Log can take a minute or two to show an event.
'''

EXAMPLES = r'''
- name: Did Okta provision with the new token since the rotation?
  alation.scim.okta_provisioning_info:
    org_url: https://example.okta.com
    client_id: 0oa1serviceapp
    private_key_path: /etc/alation-scim/okta-service-app.pem
    app_id: 0oa1alationscim
    since: "2026-01-31T12:00:00Z"
  delegate_to: localhost
  register: okta_provisioning

- name: Fail unless it did
  ansible.builtin.assert:
    that: okta_provisioning.succeeded
    fail_msg: "{{ okta_provisioning.message }}"
'''

RETURN = r'''
verdict:
  description: V(succeeded), V(failed) or V(no_events) (nothing to tell from yet).
  returned: success
  type: str
  sample: succeeded
succeeded:
  description: True when the latest decisive provisioning event succeeded.
  returned: success
  type: bool
message:
  description: The verdict in one sentence, with what to do next.
  returned: success
  type: str
last_event:
  description: The latest event with outcome SUCCESS or FAILURE (same shape as the items of RV(events)), or null.
  returned: success
  type: dict
counts:
  description: Number of matching events by outcome (C(SUCCESS), C(FAILURE), C(other)).
  returned: success
  type: dict
  sample: {"SUCCESS": 2, "FAILURE": 1, "other": 0}
events:
  description: Matching events, oldest first.
  returned: success
  type: list
  elements: dict
  contains:
    uuid:
      description: Event id.
      type: str
    published:
      description: Time the event was published.
      type: str
    event_type:
      description: Okta event type.
      type: str
    display_message:
      description: Okta's description of the event.
      type: str
    result:
      description: C(outcome.result), for example SUCCESS or FAILURE.
      type: str
    reason:
      description: C(outcome.reason) (why it failed).
      type: str
    targets:
      description: The event's targets (id, type, alternateId, displayName).
      type: list
      elements: dict
rate_limit:
  description: Okta's last rate-limit headers (limit, remaining, reset epoch seconds) and seconds waited for them.
  returned: success
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alation.scim.plugins.module_utils._okta import (
    DEFAULT_EVENT_TYPE_PREFIXES,
    OktaError,
    client_from_module,
    okta_argument_spec,
    provisioning_verdict,
)


def main():
    argument_spec = okta_argument_spec()
    argument_spec.update(
        app_id=dict(type='str', required=True),
        since=dict(type='str', required=True),
        event_type_prefixes=dict(type='list', elements='str', default=list(DEFAULT_EVENT_TYPE_PREFIXES)),
        max_events=dict(type='int', default=1000),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = client_from_module(module)
    p = module.params
    try:
        events = client.provisioning_events(p['app_id'], p['since'], prefixes=p['event_type_prefixes'],
                                            max_events=p['max_events'])
    except OktaError as e:
        module.fail_json(msg=e.message, status=e.status, error_code=e.code)
    result = provisioning_verdict(events, p['app_id'], p['since'])
    rate = dict(client.rate_limit)
    rate['waited'] = round(client.waited, 1)
    module.exit_json(changed=False, events=events, rate_limit=rate, **result)


if __name__ == '__main__':
    main()
