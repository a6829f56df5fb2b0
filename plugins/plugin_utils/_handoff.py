# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deliver a SCIM token to the person who pastes it into the IdP, on the controller.

Shared by the token_handoff action and the hand-off drivers of the rotation cycle: an Ansible
Vault file (encrypted with the run's vault secrets or a password file) or a 0600 file, written
atomically.  The token never reaches a log, an argv or a temp file outside the destination's
directory.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.parsing.vault import VaultLib, get_file_vault_secret, match_encrypt_secret

from ansible_collections.alation.scim.plugins.module_utils._token_state import make_directory

CHANNELS = ('vault_file', 'file_0600')


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
    try:
        make_directory(directory, 0o700)
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


def vault_for(loader, vault_id=None, vault_password_file=None):
    """(VaultLib, vault_id, secret) to encrypt with; HandoffError says how to provide a password."""
    if vault_password_file:
        vault_id = vault_id or C.DEFAULT_VAULT_IDENTITY
        secret = get_file_vault_secret(filename=vault_password_file, vault_id=vault_id, loader=loader)
        secret.load()
        secrets = [(vault_id, secret)]
    else:
        secrets = list(getattr(getattr(loader, '_vault', None), 'secrets', None) or [])
    if not secrets:
        raise HandoffError(
            'No vault password to encrypt the hand-off file with. Fix: run ansible-playbook with '
            '--vault-password-file FILE (or --vault-id LABEL@FILE, --ask-vault-pass, or ANSIBLE_VAULT_PASSWORD_FILE), '
            'or set vault_password_file; or choose the file_0600 channel explicitly.')
    try:
        vault_id, secret = match_encrypt_secret(secrets, encrypt_vault_id=vault_id or C.DEFAULT_VAULT_ENCRYPT_IDENTITY)
    except AnsibleError as e:
        raise HandoffError('No vault secret to encrypt with (vault_id %s): %s' % (vault_id, to_native(e)))
    return VaultLib(secrets), vault_id, secret


def deliver(token, dest, channel, loader, vault_id=None, vault_password_file=None, check_mode=False):
    """Put the token into dest (an Ansible Vault file or a 0600 file) unless it is there already.

    Returns (changed, the vault id used or None).  Raises HandoffError with the cause and the fix."""
    dest = os.path.abspath(os.path.expanduser(dest))
    data_token = to_bytes(token, errors='surrogate_or_strict')
    try:
        existing = read_existing(dest)
        used_id = None
        if channel == 'vault_file':
            vault, used_id, secret = vault_for(loader, vault_id, vault_password_file)
            same = False
            if existing is not None:
                try:
                    same = vault.decrypt(existing) == data_token
                except AnsibleError:
                    same = False  # another password or not a vault file: replace it
            data = None if same else vault.encrypt(data_token, secret=secret, vault_id=used_id)
        else:
            same = existing == data_token
            data = None if same else data_token
        mode_ok = existing is not None and stat.S_IMODE(os.stat(dest).st_mode) == 0o600
        if same and mode_ok:
            return False, used_id
        if not check_mode:
            if same:
                os.chmod(dest, 0o600)
            else:
                write_atomically(dest, data)
        return True, used_id
    except HandoffError:
        raise
    except (AnsibleError, OSError, IOError) as e:
        raise HandoffError('Handing the token off to %s (%s) failed: %s' % (dest, channel, to_native(e)))
