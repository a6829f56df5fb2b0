"""Filter parsers (settings USER_FILTER_PARSER, GROUP_FILTER_PARSER): django-scim2's, mapping
the attributes IdPs filter on (Entra and Okta: userName, externalId; groups by displayName).
A module of its own: django-scim2's adapters module reads these settings while it loads."""
from django_scim import filters
from django_scim.constants import SchemaURI


class UserFilterQuery(filters.UserFilterQuery):
    attr_map = dict(filters.UserFilterQuery.attr_map)
    attr_map.update({
        ("id", None, None): "scim_id",
        ("externalId", None, None): "scim_external_id",
        ("emails", None, None): "email",
        ("emails", "value", None): "email",
        ("userName", None, SchemaURI.USER): "username",
    })


class GroupFilterQuery(filters.GroupFilterQuery):
    attr_map = {
        ("id", None, None): "scim_id",
        ("displayName", None, None): "name",
        ("externalId", None, None): "scim_external_id",
        ("displayName", None, SchemaURI.GROUP): "name",
    }
