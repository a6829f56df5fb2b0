"""This checkout, seen as the collection alation.scim by Python imports and by Ansible.

A checkout is not at .../ansible_collections/alation/scim, so code that imports the collection's
Python (or runs Ansible on it) links it into a collections path first.
"""

import os
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def link_into(collections_path):
    """Make <collections_path>/ansible_collections/alation/scim this checkout; returns collections_path."""
    namespace = os.path.join(collections_path, "ansible_collections", "alation")
    os.makedirs(namespace, exist_ok=True)
    link = os.path.join(namespace, "scim")
    if not os.path.islink(link):
        os.symlink(REPO_ROOT, link)
    return collections_path


def new_collections_path(prefix="alation-scim-"):
    """A new temporary collections path holding this checkout (the caller removes it, if it cares)."""
    return link_into(tempfile.mkdtemp(prefix=prefix))
