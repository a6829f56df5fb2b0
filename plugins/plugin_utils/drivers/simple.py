# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two drivers without an IdP API: ``custom`` (the user's tasks file pushes) and ``none``."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.plugin_utils.drivers.base import Driver, DriverError


class CustomDriver(Driver):
    """The role includes ``alation_scim_custom_tasks`` with the token (every task no_log) between
    the cycle's two stages; the cycle rotates before it and records, verifies and reports after."""

    name = 'custom'
    label = 'the custom target'
    var_prefix = 'custom'
    push_when_unknown = False

    @staticmethod
    def argument_spec():
        return dict(tasks=dict(type='path'))

    @property
    def yaml_push(self):
        return True

    def target(self):
        return 'custom:%s' % self.options['tasks']

    def check_settings(self):
        if not self.options['tasks']:
            raise DriverError('alation_scim_idp is custom but no tasks file is set',
                              fix='set alation_scim_custom_tasks to the tasks file that receives the token')

    def push(self, token):
        return 'pushed by %s' % self.options['tasks']


class NoneDriver(Driver):
    """Rotate only: someone puts the new token into the IdP by hand (the report says so)."""

    name = 'none'
    label = 'nobody (alation_scim_idp is none)'
    var_prefix = 'none'
    push_when_unknown = False
    delivers = False

    def holds(self, token):
        return True  # nothing to push to

    def push(self, token):
        return 'nothing pushed (alation_scim_idp is none): put the new token into the IdP by hand'
