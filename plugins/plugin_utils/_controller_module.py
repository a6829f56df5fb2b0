# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Enough of AnsibleModule for module_utils code that an action plugin runs on the controller.

The Graph client and the Entra operations are written against a module (params, check_mode,
warn, get_bin_path, run_command). Running them inside the action plugin's own process instead
of as a module saves a Python start-up per call, and keeps the token in that process's memory.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import subprocess

from ansible.module_utils.common.process import get_bin_path


class ControllerModule(object):
    def __init__(self, params, check_mode=False, warnings=None):
        self.params = params
        self.check_mode = check_mode
        self.warnings = warnings if warnings is not None else []

    def warn(self, text):
        self.warnings.append(text)

    @staticmethod
    def get_bin_path(name, required=False):
        try:
            return get_bin_path(name)
        except ValueError:
            if required:
                raise
            return None

    @staticmethod
    def run_command(args, data=None, binary_data=False, encoding='utf-8'):
        """(rc, stdout, stderr); data goes to stdin, as AnsibleModule.run_command does."""
        if data is not None and not binary_data and isinstance(data, str):
            data = (data + '\n').encode('utf-8')
        proc = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        out, err = proc.stdout, proc.stderr
        if encoding:
            out, err = out.decode(encoding, 'replace'), err.decode(encoding, 'replace')
        return proc.returncode, out, err
