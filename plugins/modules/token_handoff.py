#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin of the same name, on the controller.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: token_handoff
short_description: Hand a rotated SCIM token to the operator who pastes it into the IdP, without printing it
version_added: 0.1.0
description:
  - For identity providers whose API cannot take the SCIM token (Okta custom apps, OneLogin), the rotated token has to
    reach a person. This writes it on the controller, never to a log or the screen.
  - V(vault_file) (default) writes an Ansible Vault encrypted file, readable with C(ansible-vault view <dest>),
    encrypted with the vault password Ansible was started with (C(--vault-password-file), C(--vault-id),
    C(--ask-vault-pass), E(ANSIBLE_VAULT_PASSWORD_FILE)) or O(vault_password_file).
  - V(file_0600) writes the token in clear into a file of mode 0600; choose it explicitly.
  - The file is written atomically (a temporary file in the same directory, then a rename) with mode 0600; a missing
    directory is created with mode 0700. When the file already holds the token, nothing changes.
  - The result is always hidden (C(no_log)), whatever the task says, because the options carry the token.
author:
  - alation.scim maintainers (@alation-scim)
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller, whatever the task's host.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Reports whether the file would change and writes nothing.
  diff_mode:
    support: none
    description: A diff would show the token.
  platform:
    support: full
    platforms: posix
    description: Writes on the controller.
options:
  token:
    description:
      - The SCIM token to hand off.
    type: str
    required: true
  dest:
    description:
      - Path of the file on the controller.
    type: path
    required: true
  channel:
    description:
      - V(vault_file) writes an Ansible Vault encrypted file, V(file_0600) a plain file of mode 0600.
    type: str
    choices: [vault_file, file_0600]
    default: vault_file
  vault_id:
    description:
      - Vault identity to encrypt with, among those Ansible was given (or the label of O(vault_password_file)).
      - Defaults to Ansible's C(DEFAULT_VAULT_ENCRYPT_IDENTITY), else the first vault secret.
    type: str
  vault_password_file:
    description:
      - File (or executable script) that gives the vault password, instead of the secrets Ansible was started with.
    type: path
notes:
  - Read the token with C(ansible-vault view <dest>) (with the same password), paste it, then delete the file.
seealso:
  - module: alation.scim.okta_provisioning_info
'''

EXAMPLES = r'''
- name: Hand the token off in an Ansible Vault file (password from --vault-password-file)
  alation.scim.token_handoff:
    token: "{{ new_token }}"
    dest: "{{ playbook_dir }}/handoff/{{ inventory_hostname }}.scim-token.vault"
  no_log: true

- name: Hand the token off in a plain file of mode 0600
  alation.scim.token_handoff:
    token: "{{ new_token }}"
    dest: /root/handoff/{{ inventory_hostname }}.scim-token
    channel: file_0600
  no_log: true
'''

RETURN = r'''
dest:
  description: Absolute path of the file.
  returned: always
  type: str
channel:
  description: The channel used.
  returned: always
  type: str
vault_id:
  description: Vault identity the file is encrypted with.
  returned: when O(channel=vault_file)
  type: str
'''
