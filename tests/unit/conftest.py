"""Make ``ansible_collections.alation.scim`` importable from this checkout.

ansible-test copies the collection to .../ansible_collections/alation/scim; a plain
checkout is not there, so link it from a temporary collections root.
"""

import os
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def _collections_root():
    parts = REPO_ROOT.split(os.sep)
    if parts[-3:-2] == ["ansible_collections"]:
        return os.sep.join(parts[:-3])
    root = tempfile.mkdtemp(prefix="alation-scim-unit-")
    os.makedirs(os.path.join(root, "ansible_collections", "alation"))
    os.symlink(REPO_ROOT, os.path.join(root, "ansible_collections", "alation", "scim"))
    return root


if "ansible_collections.alation.scim" not in sys.modules:
    sys.path.insert(0, _collections_root())
# Helpers shared with old_python_check.py (fake Alation functions, payload harness).
sys.path.insert(0, HERE)
