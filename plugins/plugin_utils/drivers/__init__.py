# -*- coding: utf-8 -*-
# Copyright (c) alation.scim contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IdP drivers of the rotation cycle: the one list of their names, and how to load one.

Adding an IdP: a client for its API in ``plugins/module_utils/_<idp>.py``, one driver file here
(a ``Driver`` subclass, see ``base.py``), its name in ``DRIVERS`` below, its options in the
role's ``meta/argument_specs.yml`` and a doc fragment, a simulator in ``tests/testbed/``
(docs/architecture.md, "Adding an IdP").
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import importlib

# driver name (alation_scim_idp) -> (module in this package, class)
DRIVERS = {
    'entra': ('entra', 'EntraDriver'),
    'pingone': ('pingone', 'PingOneDriver'),
    'pingfederate': ('pingfederate', 'PingFederateDriver'),
    'sailpoint': ('sailpoint', 'SailPointDriver'),
    'sailpoint_iiq': ('sailpoint_iiq', 'SailPointIiqDriver'),
    'okta': ('handoff', 'OktaDriver'),
    'onelogin': ('handoff', 'OneLoginDriver'),
    'manual': ('handoff', 'ManualDriver'),
    'custom': ('simple', 'CustomDriver'),
    'none': ('simple', 'NoneDriver'),
}
DRIVER_NAMES = tuple(sorted(DRIVERS))


def driver_class(name):
    """The Driver subclass for an alation_scim_idp value; KeyError for an unknown name."""
    module, cls = DRIVERS[name]
    return getattr(importlib.import_module('%s.%s' % (__name__, module)), cls)
