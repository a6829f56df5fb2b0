"""What this SCIM service publishes at /Schemas and /ResourceTypes: django-scim2's RFC 7643
schema documents, cut down to the attributes the simulated Alation stores, so a client that
reads them (scim2-tester, an IdP's schema discovery) is told the truth."""
import copy

from django_scim.constants import SchemaURI
from django_scim.schemas import ALL as DJANGO_SCIM_SCHEMAS

USER, GROUP, ENTERPRISE = SchemaURI.USER, SchemaURI.GROUP, SchemaURI.ENTERPRISE_USER

# schema URN -> {attribute: sub-attributes kept (None = simple attribute)}
SUPPORTED = {
    USER: {
        "userName": None,
        "name": ("formatted", "familyName", "givenName"),
        "displayName": None,
        "active": None,
        "emails": ("value", "display", "type", "primary"),
        "groups": ("value", "$ref", "display", "type"),
    },
    ENTERPRISE: {
        "employeeNumber": None,
        "department": None,
        "manager": ("value", "$ref"),
    },
    GROUP: {
        "displayName": None,
        "members": ("value", "$ref", "type"),
    },
}
# RFC 7643 8.7.1 marks these REQUIRED; django-scim2's copy says otherwise.
REQUIRED = {(GROUP, "displayName")}


def _cut(schema):
    keep = SUPPORTED.get(schema["id"])
    if keep is None:
        return schema  # discovery schemas (ServiceProviderConfig, ResourceType, Schema) as shipped
    schema = copy.deepcopy(schema)
    attributes = []
    for attr in schema["attributes"]:
        if attr["name"] not in keep:
            continue
        if keep[attr["name"]] is not None:
            attr["subAttributes"] = [s for s in attr["subAttributes"] if s["name"] in keep[attr["name"]]]
        if (schema["id"], attr["name"]) in REQUIRED:
            attr["required"] = True
        attributes.append(attr)
    schema["attributes"] = attributes
    return schema


PUBLISHED = [_cut(s) for s in DJANGO_SCIM_SCHEMAS]


def published():
    """SCHEMAS_GETTER of django-scim2."""
    return PUBLISHED


def location(base, schema_id):
    return "%s/Schemas/%s" % (base.rstrip("/"), schema_id)


class Shape(object):
    """What the PATCH and projection code needs to know about a resource type."""

    def __init__(self, core, extensions, read_only):
        self.core = core
        self.extensions = tuple(extensions)
        self.read_only = frozenset(read_only)
        by_id = dict((s["id"], s) for s in PUBLISHED)
        self._multi = set()
        for urn in (core,) + self.extensions:
            for attr in by_id[urn]["attributes"]:
                if attr.get("multiValued"):
                    self._multi.add(((urn,) if urn != core else ()) + (attr["name"].lower(),))

    def multi_valued(self, keys):
        return tuple(k.lower() if i == len(keys) - 1 else k for i, k in enumerate(keys)) in self._multi


USER_SHAPE = Shape(USER, [ENTERPRISE], read_only=("id", "meta", "groups", "schemas"))
GROUP_SHAPE = Shape(GROUP, [], read_only=("id", "meta", "schemas"))
