# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.plugin_utils._token_action import TokenActionBase


class ActionModule(TokenActionBase):
    # Hides the result whenever it carries a token, whatever the task's no_log says.
    MODULE = 'alation.scim.token_rotate'
