# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface between the rotation cycle and one identity provider (IdP).

The cycle (``plugins/plugin_utils/_cycle.py``) owns the order of the steps, the host, the
token, the records, the verification against Alation's SCIM endpoint and the report; a driver
only knows its IdP.  Per host and run, the cycle calls, in this order:

1. ``check_settings()``: read the IdP side (credentials, permissions, the target object, the
   field that holds the token) **before anything changes**; raise ``DriverError`` (or the
   module_utils client's ``ApiError``) with the cause and the fix.
2. ``prepare_plan()``: when a rotation is due and not in check mode, what ``prepare`` would do
   (a small JSON-able dict, never a secret), or None.  The cycle saves it on the host first, so
   that a run that dies after ``prepare`` is finished by the next one (``resume``).
3. ``prepare(plan)``: e.g. Entra pauses its provisioning job.
4. (the cycle launches Alation's Django shell once: decides, rotates when due, reads the token)
5. ``holds(token)``: when nothing was rotated, does the IdP hold this token?  True / False when
   the IdP can tell, None when it cannot (masked read-back): the cycle then decides from the
   fingerprint it recorded on the host after its last push (``push_when_unknown`` without one).
6. ``push(token)``: put the token into the IdP (never called in check mode); returns a short
   sentence of what it did.  Must be quick: Alation already rejects the old token.
7. ``resume(plan)``: undo ``prepare`` (also called by a later run for a plan left on the host).
8. ``verify(token)``: the driver's own end-to-end check after a push, where the IdP has one
   (Entra validates its saved credentials against Alation, SailPoint tests the connection);
   returns a sentence or None; raises on failure.  The cycle itself always proves that the new
   token gets HTTP 200 and the old one 401 from Alation's SCIM endpoint.

``confirm()`` serves the role's ``confirm`` entry point: does the IdP provision with what it
holds now?  ``(True|False, sentence)``; the default says the IdP cannot tell.

Hand-off drivers (``needs_operator``) are never rotated unattended; their ``push`` delivers the
token to a person, and ``operator_steps()`` says what to do with it.  ``yaml_push`` drivers
(``custom``) let the role's YAML push between the cycle's two stages.

A driver never prints, logs or returns the token; its messages name objects, never values.
Options: ``argument_spec()`` (+ ``required_together`` ...), validated by the cycle; in the role
each option ``<name>`` is the variable ``alation_scim_<var_prefix>_<name>``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.alation.scim.plugins.module_utils._http import ApiError


class DriverError(ApiError):
    """A driver step failed; ``message`` = what was being done, what went wrong, ``Fix:``."""


REDACTED = '********'


def without_secrets(error, secrets):
    """The same ApiError with every secret value replaced (an API may quote what it was sent)."""
    def scrub(text):
        for secret in secrets:
            if secret and text:
                text = text.replace(secret, REDACTED)
        return text
    if any(secret and secret in (error.message or '') for secret in secrets):
        return DriverError(scrub(error.reason), fix=scrub(error.fix), status=error.status, code=error.code)
    return error


class DriverContext(object):
    """What the cycle lends a driver for one host and run."""

    def __init__(self, host, scim_url, check_mode=False, warn=None, vault_secrets=None, loader=None):
        self.host = host                # inventory hostname (for messages and hand-off file names)
        self.scim_url = scim_url        # the host's SCIM base URL, as the IdP must call it
        self.check_mode = check_mode
        self.warn = warn or (lambda text: None)
        self.vault_secrets = vault_secrets  # hand-off: the run's vault secrets
        self.loader = loader


class Driver(object):
    name = None                 # the alation_scim_idp value
    label = None                # how people call the IdP ("Microsoft Entra ID")
    var_prefix = None           # role variables: alation_scim_<var_prefix>_<option>
    needs_operator = False      # a person pastes the token: never rotated unattended
    push_when_unknown = True    # no way to tell and no record of a push: push (API drivers) or not
    delivers = True             # push() puts the token somewhere (False for `none`)
    holds_proves_chain = False  # holds() True means the IdP just used the token against Alation
    required_together = ()
    required_one_of = ()
    required_if = ()
    mutually_exclusive = ()

    def __init__(self, options, context):
        self.options = options
        self.context = context

    @staticmethod
    def argument_spec():
        return {}

    @classmethod
    def variable_name(cls, option):
        """The role variable that sets an option."""
        return 'alation_scim_%s_%s' % (cls.var_prefix, option)

    @property
    def yaml_push(self):
        """True when the role's YAML pushes (the cycle stops after the rotation and resumes)."""
        return False

    def target(self):
        """A stable, non-secret name of what holds the token (recorded with the push fingerprint)."""
        return self.name

    def check_settings(self):
        pass

    def prepare_plan(self):
        return None

    def prepare(self, plan):
        pass

    def resume(self, plan):
        return None

    def holds(self, token):
        return None

    def push(self, token):
        raise NotImplementedError

    def verify(self, token):
        return None

    def confirm(self):
        return False, ('%s offers no API that tells whether provisioning with the stored token works, so nothing was '
                       'checked. Check it by hand: provision a test user and look for it in Alation '
                       '(Admin Settings > Users).' % (self.label or self.name))

    def operator_steps(self, where):
        """Console steps for a person, after ``push`` delivered the token to ``where``."""
        return []

    def summary(self):
        """Non-secret facts worth keeping in the task result (ids, states), or {}."""
        return {}
