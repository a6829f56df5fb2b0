"""Run fleet_report both ways Ansible can: the module in its own process (JSON in, JSON out) and
the action plugin in this process, from the same working directory."""

import json
import os
import secrets
import subprocess
import sys
from unittest import mock

from ansible.playbook.task import Task

from ansible_collections.alation.scim.plugins.action import fleet_report as fleet_report_action
from ansible_collections.alation.scim.plugins.module_utils import _report

MODULE = 'ansible_collections.alation.scim.plugins.modules.fleet_report'
# conftest.py put a collections root on sys.path; the module process needs the same one.
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(_report.__file__), *(['..'] * 5)))


def run_module(tmp_path, check_mode=False, **args):
    if check_mode:
        args['_ansible_check_mode'] = True
    args_file = tmp_path / ('args-%s.json' % secrets.token_hex(4))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT)
    try:
        proc = subprocess.run([sys.executable, '-m', MODULE, str(args_file)], check=False, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, env=env, cwd=str(tmp_path))
    finally:
        args_file.unlink()
    assert proc.stdout.strip(), 'module printed nothing; stderr: %s' % proc.stderr[-2000:]
    return json.loads(proc.stdout)


def run_action(tmp_path, check_mode=False, **args):
    """The action plugin as the task executor calls it; returns (result, connection mock)."""
    task = Task.load(dict(action='alation.scim.fleet_report', args=args))
    task.check_mode = check_mode
    # A task for a remote host: the plugin must never use its connection.
    connection = mock.MagicMock(name='ssh connection to alation1')
    action = fleet_report_action.ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None,
                                              shared_loader_obj=None)
    cwd = os.getcwd()
    os.chdir(str(tmp_path))  # the module process runs there too
    try:
        result = action.run(task_vars={'inventory_hostname': 'alation1', 'ansible_host': '127.0.10.1'})
    finally:
        os.chdir(cwd)
    return result, connection


def fact(host, **kw):
    rec = dict(host=host, base_url='https://%s:8443' % host, idp='entra', token_present=True,
               expires_at='2027-05-01T00:00:00Z', days_remaining=154, rotation_due=False, rotated=False,
               pushed=False, verified=True, action='none', status='ok', message=None)
    rec.update(kw)
    return rec


def paths(tmp_path):
    return dict(json_path=str(tmp_path / 'r' / 'scim.json'), markdown_path=str(tmp_path / 'r' / 'scim.md'),
                junit_path=str(tmp_path / 'r' / 'junit.xml'), prometheus_path=str(tmp_path / 'prom' / 'scim.prom'))
