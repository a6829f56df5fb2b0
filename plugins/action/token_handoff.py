# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deliver a rotated SCIM token to the person who pastes it into the IdP, on the controller.

An action plugin, not a module: it has to run on the controller whatever the task's host, it
needs the vault secrets Ansible already loaded (--vault-password-file, --ask-vault-pass,
vault identities), and only an action plugin can hide its own result (_ansible_no_log).
The token never reaches a log, an argv or a temp file outside the destination's directory.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.parsing.vault import VaultLib, get_file_vault_secret, match_encrypt_secret
from ansible.plugins.action import ActionBase

CHANNELS = ('vault_file', 'file_0600')

ARGUMENT_SPEC = dict(
    token=dict(type='str', required=True, no_log=True),
    dest=dict(type='path', required=True),
    channel=dict(type='str', default='vault_file', choices=list(CHANNELS)),
    vault_id=dict(type='str'),
    vault_password_file=dict(type='path', no_log=False),
)


class HandoffError(Exception):
    pass


def read_existing(path):
    """Bytes of the file, or None when it does not exist."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except (IOError, OSError) as e:
        if e.errno == errno.ENOENT:
            return None
        raise HandoffError('Reading %s failed: %s' % (path, to_native(e)))


def write_atomically(path, data):
    """Write data to path with mode 0600: temp file in the same directory, fsync, rename."""
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o700)
        except OSError as e:
            raise HandoffError('Creating the directory %s failed: %s. Fix: choose a writable dest.'
                               % (directory, to_native(e)))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        os.fchmod(fd, 0o600)  # mkstemp already makes it 0600; say it explicitly, umask or not
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except Exception as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise HandoffError('Writing %s failed: %s' % (path, to_native(e)))
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is done anyway


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def _vault(self, args):
        """(VaultLib, vault_id, secret) to encrypt with; HandoffError says how to provide a password."""
        if args.get('vault_password_file'):
            vault_id = args.get('vault_id') or C.DEFAULT_VAULT_IDENTITY
            secret = get_file_vault_secret(filename=args['vault_password_file'], vault_id=vault_id,
                                           loader=self._loader)
            secret.load()
            secrets = [(vault_id, secret)]
        else:
            secrets = list(getattr(getattr(self._loader, '_vault', None), 'secrets', None) or [])
        if not secrets:
            raise HandoffError(
                'No vault password to encrypt the hand-off file with. Fix: run ansible-playbook with '
                '--vault-password-file FILE (or --vault-id LABEL@FILE, --ask-vault-pass, or ANSIBLE_VAULT_PASSWORD_FILE), '
                'or set vault_password_file; or choose the file_0600 channel explicitly.')
        try:
            vault_id, secret = match_encrypt_secret(
                secrets, encrypt_vault_id=args.get('vault_id') or C.DEFAULT_VAULT_ENCRYPT_IDENTITY)
        except AnsibleError as e:
            raise HandoffError('No vault secret to encrypt with (vault_id %s): %s'
                               % (args.get('vault_id'), to_native(e)))
        return VaultLib(secrets), vault_id, secret

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Hidden whatever the task says: the arguments carry the token.
        result['_ansible_no_log'] = True
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleError as e:
            result.update(failed=True, msg='Invalid options for token_handoff: %s' % to_native(e))
            return result
        dest = os.path.abspath(os.path.expanduser(args['dest']))
        token = to_bytes(args['token'], errors='surrogate_or_strict')
        channel = args['channel']
        result.update(dest=dest, channel=channel, changed=False)
        try:
            existing = read_existing(dest)
            if channel == 'vault_file':
                vault, vault_id, secret = self._vault(args)
                result['vault_id'] = vault_id
                same = False
                if existing is not None:
                    try:
                        same = vault.decrypt(existing) == token
                    except AnsibleError:
                        same = False  # another password or not a vault file: replace it
                data = None if same else vault.encrypt(token, secret=secret, vault_id=vault_id)
            else:
                same = existing == token
                data = None if same else token
            mode_ok = existing is not None and stat.S_IMODE(os.stat(dest).st_mode) == 0o600
            if same and mode_ok:
                return result
            result['changed'] = True
            if self._task.check_mode:
                return result
            if same:
                os.chmod(dest, 0o600)
            else:
                write_atomically(dest, data)
        except HandoffError as e:
            result.update(failed=True, msg=to_text(e))
        except (AnsibleError, OSError, IOError) as e:
            result.update(failed=True, msg='Handing the token off to %s (%s) failed: %s' % (dest, channel, to_native(e)))
        return result
