"""What an Ansible worker loads to run the rotation cycle: each host's task runs in a freshly forked
worker that imports the action plugin again, so an import it does not need costs CPU per host and
task (docs/benchmarks.md). ansible's urls (ssl, http.client, email ...) is loaded at the first
HTTP request, the host's shell engine never on the controller, ElementTree only for a JUnit file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys


NOT_AT_IMPORT = ['ansible.module_utils.urls', 'ssl', 'http.client', 'xml.etree.ElementTree',
                 'ansible_collections.alation.scim.plugins.module_utils._alation_shell']

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import ansible.plugins.action  # what the worker has already: ansible-core's executor
before = set(sys.modules)
import ansible_collections.alation.scim.plugins.action.token_rotation_cycle
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules and m not in before)))
"""


def collections_root():
    """The sys.path entry this collection is imported from (tests/unit/conftest.py, or ansible-test's)."""
    return next(p for p in sys.path if os.path.isdir(os.path.join(p, 'ansible_collections', 'alation', 'scim')))


def test_the_cycles_action_plugin_loads_no_http_client_no_shell_engine_and_no_xml():
    out = subprocess.check_output([sys.executable, '-c', PROBE, collections_root(), json.dumps(NOT_AT_IMPORT)])
    assert json.loads(out.decode('utf-8')) == []
