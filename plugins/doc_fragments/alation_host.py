# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Options shared by the modules that run on an Alation host (plugins/module_utils/_alation_shell.py).
    DOCUMENTATION = r'''
options:
  alation_root:
    description:
      - Path of the Alation chroot on the host (the "Alation shell").
      - Used with O(entry=chroot), and to recognise an Alation host.
    type: path
    default: /opt/alation/alation
  alation_user:
    description:
      - User inside the chroot that runs the Django shell.
      - Used with O(entry=chroot) only; the init script picks its own user.
    type: str
    default: alation
  entry:
    description:
      - How the module enters the Alation shell.
      - V(chroot) runs C(chroot <alation_root> /bin/su - <alation_user> -c <django_shell_command>).
      - V(init_script) runs C(<init_script> shell) and types C(<django_shell_command>) into it, as Alation's documentation does by hand.
      - Either way the payload is one line of Python on standard input, so the token never appears in an argument list.
    type: str
    choices: [chroot, init_script]
    default: chroot
  init_script:
    description:
      - Path of Alation's init script on the host.
    type: path
    default: /etc/init.d/alation
  timeout:
    description:
      - Seconds the Django shell may take, start-up included (a real one takes several seconds to start).
      - When it runs out, the shell's whole process group is killed and the task fails; nothing is changed.
      - M(alation.scim.token_rotate) also waits up to this long for another rotation on the same host to finish.
    type: int
    default: 120
  django_shell_command:
    description:
      - Command, on the Alation user's PATH inside the chroot, that starts Alation's Django shell.
    type: str
    default: alation_django_shell
  expiry_record_path:
    description:
      - File on the host where the module records what this launch saw, the token's expiry and whether there
        is one (never the token), readable by root only. Not written in check mode.
      - The rotation cycle (M(alation.scim.token_rotation_cycle)) keeps its push state in the same file (the
        keyed fingerprint of the token it last pushed, whether a push is owed, an IdP preparation left to
        undo); the modules keep that part as it is, and M(alation.scim.token_rotate) marks a push as owed when
        it rotated.
      - The cycle reads it before its one launch to decide whether to prepare the IdP (pause Entra ID's
        provisioning job); without a record it leaves the IdP alone and pushes right after the launch.
    type: path
notes:
  - Runs on the Alation host and needs root there, so use C(become=true).
  - One Django shell launch per task. Needs Alation 2021.4 or later (the SCIM token functions do not exist before).
  - Works with Python 2.7 and 3.6+ on the host.
'''

    # The rotation decision (alation.scim.token_rotate and alation.scim.entra_token_rotation).
    ROTATION = r'''
options:
  rotate_before_days:
    description:
      - Rotate when the token expires within this many days (or is missing).
    type: int
    default: 30
  force:
    description:
      - Rotate whatever the expiry.
    type: bool
    default: false
'''
