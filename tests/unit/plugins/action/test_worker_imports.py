"""What the rotation cycle's workers inherit. The strategy imports the action plugin once, in the
controller's main process (the plugin loader's class lookup, before it forks a worker per host and
task); every worker is a fork of that process. So whatever the plugin imports is paid once, and
whatever a worker imports later (at its first HTTP request, a driver by name) is paid per host and
task: the plugin preloads what a rotation's worker needs (ansible's urls, every driver, the role's
spec, the host code's bundle, the ssh connection plugin,
the TLS context of the system's CAs). It never loads the host's shell engine, which runs on the host."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.alation.scim.plugins.plugin_utils.drivers import DRIVERS

PRELOADED = ['ansible.module_utils.urls', 'ssl', 'http.client', 'ansible.plugins.connection.ssh'] + sorted(set(
    'ansible_collections.alation.scim.plugins.plugin_utils.drivers.%s' % module for module, dummy in DRIVERS.values()))
NEVER = ['ansible_collections.alation.scim.plugins.module_utils._alation_shell']

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import ansible.plugins.action  # what the strategy's process has already: ansible-core's executor
before = set(sys.modules)
import ansible_collections.alation.scim.plugins.action.token_rotation_cycle
from ansible_collections.alation.scim.plugins.plugin_utils import _host_script, _role_variables
from ansible_collections.alation.scim.plugins.module_utils import _http
from ansible.module_utils.urls import Request
print(json.dumps({'loaded': sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules and m not in before),
                  'spec_cached': bool(_role_variables._SPECS), 'bundle_cached': bool(_host_script._bundle),
                  'system_tls_cached': (True, None, None, None) in _http._TLS_CONTEXTS,
                  'open_takes_context': _http._request_takes_context(Request)}))
"""


def collections_root():
    """The sys.path entry this collection is imported from (tests/unit/conftest.py, or ansible-test's)."""
    return next(p for p in sys.path if os.path.isdir(os.path.join(p, 'ansible_collections', 'alation', 'scim')))


def probe():
    out = subprocess.check_output([sys.executable, '-c', PROBE, collections_root(), json.dumps(PRELOADED + NEVER)])
    return json.loads(out.decode('utf-8'))


def test_the_cycles_action_plugin_preloads_what_every_worker_needs():
    seen = probe()
    assert sorted(m for m in seen['loaded'] if m in PRELOADED) == sorted(PRELOADED)
    assert seen['spec_cached'], "the role's argument spec is parsed once, before the fork"
    assert seen['bundle_cached'], "the host code sent to every host is compressed once, before the fork"
    # ansible-core 2.16's open_url cannot take a context: there each request builds its own.
    assert seen['system_tls_cached'] == seen['open_takes_context'], "the system's CAs are read once, before the fork"


def test_the_cycles_action_plugin_loads_no_shell_engine():
    assert [m for m in probe()['loaded'] if m in NEVER] == []
