"""The action plugins hide any result carrying a token, and keep -vvv from printing the raw module output."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from unittest import mock

import pytest

from ansible_collections.alation.scim.plugins.action import token_read, token_rotate


class Context(object):
    no_log = False


def make(action_module, module_result):
    task = mock.MagicMock(args={'force': True}, async_val=0, no_log=False, check_mode=False, diff=False)
    connection = mock.MagicMock(has_native_async=False)
    connection._play_context = Context()
    action = action_module.ActionModule(task, connection, Context(), loader=None, templar=None, shared_loader_obj=None)
    action._execute_module = mock.MagicMock(return_value=dict(module_result))
    return action, connection


@pytest.mark.parametrize('action_module,fqcn', [(token_rotate, 'alation.scim.token_rotate'),
                                                (token_read, 'alation.scim.token_read')])
@pytest.mark.parametrize('module_result,hidden', [
    ({'changed': True, 'rotated': True, 'token': 's3cret-value', 'previous_token': 'old-s3cret'}, True),
    ({'changed': False, 'token': None}, True),
    ({'changed': False, 'rotated': False}, False),
    ({'failed': True, 'msg': 'The Django shell did not finish.'}, False),
])
def test_results_with_token_are_hidden(action_module, fqcn, module_result, hidden):
    action, connection = make(action_module, module_result)
    with mock.patch('ansible.plugins.action.ActionBase.run', return_value={}):
        result = action.run(task_vars={})
    assert action._execute_module.call_args.kwargs['module_name'] == fqcn
    assert action._execute_module.call_args.kwargs['module_args'] == {'force': True}
    assert result.get('_ansible_no_log', False) is hidden
    for key, value in module_result.items():
        assert result[key] == value  # the registered variable keeps everything
    # -vvv never prints the raw module output; a result without a token is shown (a failure says why)
    assert connection._play_context.no_log is True and action._play_context.no_log is hidden
