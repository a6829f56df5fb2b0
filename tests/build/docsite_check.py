"""Check the docs site `scripts/test.sh docs` built with antsibull-docs and Sphinx.

    python tests/build/docsite_check.py <docsite dir> <collection dir>

Passes when Sphinx warned about nothing of the collection's own and every module (action plugins
included: their docs are the module of the same name) and every role entry point has its page.
The machine is offline, so intersphinx is off: references into the Ansible docsite (labels such
as common_return_values, ansible-core's ANSIBLE_* variables) cannot resolve. Those are counted
and listed apart; any other warning, a reference to this collection's own pages included, fails.
"""

import os
import re
import sys

import yaml

NAMESPACE, NAME = "alation", "scim"
OWN_LABEL_PREFIX = "ansible_collections.%s.%s." % (NAMESPACE, NAME)
UNDEFINED_LABEL_RE = re.compile(r"undefined label: '(?P<label>[^']+)'")
UNKNOWN_ENVVAR_RE = re.compile(r"'envvar' reference target not found: (?P<var>\S+)")
WARNING_RE = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE):")


def external_target(warning):
    """The Ansible docsite target a warning is about, or None when it is about this collection."""
    match = UNDEFINED_LABEL_RE.search(warning)
    if match and not match.group("label").startswith(OWN_LABEL_PREFIX):
        return "label " + match.group("label")
    match = UNKNOWN_ENVVAR_RE.search(warning)
    if match and match.group("var").startswith("ANSIBLE_"):
        return "ansible-core variable " + match.group("var")
    return None


def html_anchor(label):
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def expected_pages(collection):
    """(page, anchor or None, what) for every module, action plugin and role entry point."""
    pages = []
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(collection, "plugins", "modules")) if f.endswith(".py"))
    for module in modules:
        pages.append(("%s_module.html" % module, None, "module %s" % module))
    for action in sorted(f[:-3] for f in os.listdir(os.path.join(collection, "plugins", "action")) if f.endswith(".py")):
        if action not in modules:
            pages.append(("%s_module.html" % action, None, "action plugin %s (no docs)" % action))
    roles_dir = os.path.join(collection, "roles")
    for role in sorted(os.listdir(roles_dir)):
        with open(os.path.join(roles_dir, role, "meta", "argument_specs.yml")) as f:
            entry_points = sorted(yaml.safe_load(f)["argument_specs"])
        for entry_point in entry_points:
            label = "ansible_collections.%s.%s.%s_role__entrypoint-%s" % (NAMESPACE, NAME, role, entry_point)
            pages.append(("%s_role.html" % role, html_anchor(label), "role %s entry point %s" % (role, entry_point)))
    return pages


def main(docsite, collection):
    with open(os.path.join(docsite, "warnings.log")) as f:
        warnings = [line.rstrip() for line in f if WARNING_RE.search(line)]
    own = [w for w in warnings if external_target(w) is None]
    external = sorted(set(external_target(w) for w in warnings) - {None})

    html = os.path.join(docsite, "build", "html", "collections", NAMESPACE, NAME)
    missing = []
    for page, anchor, what in expected_pages(collection):
        path = os.path.join(html, page)
        if not os.path.exists(path):
            missing.append("%s: no page %s" % (what, page))
            continue
        with open(path) as f:
            if anchor and ('id="%s"' % anchor) not in f.read():
                missing.append("%s: %s has no section %s" % (what, page, anchor))

    print("-- docs site: %d page(s) and entry points checked, %d warning(s) of the collection's own"
          % (len(expected_pages(collection)), len(own)))
    print("   unresolved without intersphinx (Ansible docsite, not this collection): %s"
          % (", ".join(external) or "none"))
    for line in own + missing:
        print("   FAILED: " + line)
    return 1 if own or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
