"""django-scim2 adapters of the simulated Alation (settings USER_ADAPTER, GROUP_ADAPTER, ...).

to_dict() renders only what is set (a user created with just a userName has no emails), and
PATCH works on that rendering: the operations are applied to the dict (rosemeta.scim.paths)
and the result is read back with from_dict(), the same code as PUT.
"""
from urllib.parse import urljoin

from django.core import validators
from django.core.exceptions import ValidationError
from django.db import IntegrityError as DbIntegrityError
from django.db import transaction
from django.urls import reverse
from django_scim import adapters, exceptions, models as scim_models
from django_scim.utils import get_base_scim_location_getter, get_user_model

from rosemeta.scim import paths, schemas
from rosemeta.scim.schemas import ENTERPRISE, GROUP, USER


def _iso(dt):
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _bad_value(detail):
    return exceptions.BadRequestError(detail, scim_type="invalidValue")


def _text(d, key, what):
    value = d.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad_value('"%s" must be a string' % what)
    return value


def _required(d, key):
    value = _text(d, key, key).strip()
    if not value:
        raise _bad_value('"%s" is required' % key)
    return value


def parse_bool(value, what):
    """SCIM booleans; Entra's legacy PATCH sends the strings "True" / "False"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _bad_value('"%s" must be a boolean, got %r' % (what, value))


def _meta(adapter, created):
    meta = {"resourceType": adapter.resource_type, "created": _iso(created),
            "lastModified": _iso(adapter.obj.scim_last_modified or created), "location": adapter.location}
    return dict((k, v) for k, v in meta.items() if v)


def _absolute(request, path):
    return urljoin(get_base_scim_location_getter()(request), path)


class _Adapter(object):
    """What both adapters add to django-scim2's: PATCH over the dict rendering, 409 on duplicates."""

    shape = None

    def validate_dict(self, d):
        pass  # from_dict checks each attribute it reads and answers 400 naming it

    def handle_operations(self, operations):
        doc = self.to_dict()
        for operation in operations:
            if not isinstance(operation, dict):
                raise _bad_value("each PATCH operation must be an object")
            paths.apply_operation(doc, operation.get("op"), operation.get("path"), operation.get("value"),
                                  self.shape)
        self.from_dict(doc)
        self.save()

    def save(self):
        try:
            with transaction.atomic():
                self.obj.save()
                self.save_relations()
        except DbIntegrityError:
            raise exceptions.IntegrityError("%s already exists" % self.unique_description(),
                                            scim_type="uniqueness")

    def save_relations(self):
        pass


class User(_Adapter, adapters.SCIMUser):
    shape = schemas.USER_SHAPE

    @property
    def extra(self):
        if self.obj.scim_attributes is None:
            self.obj.scim_attributes = {}
        return self.obj.scim_attributes

    @property
    def display_name(self):
        """For a group's member list: the user's displayName, else userName."""
        return self.extra.get("displayName") or self.obj.username

    @property
    def emails(self):
        stored = self.extra.get("emails")
        if stored is not None:
            return stored
        # a row written before emails were kept as sent
        return [{"value": self.obj.email, "primary": True}] if self.obj.email else []

    @property
    def meta(self):
        return _meta(self, self.obj.date_joined)

    def user_location(self, user_id):
        return _absolute(self.request, reverse(self.url_name, kwargs={"uuid": user_id}))

    def to_dict(self):
        d = {"schemas": [USER], "id": self.id}
        if self.obj.scim_external_id:
            d["externalId"] = self.obj.scim_external_id
        d["userName"] = self.obj.username
        name = dict((k, v) for k, v in (("givenName", self.obj.first_name), ("familyName", self.obj.last_name),
                                        ("formatted", self.extra.get("formatted"))) if v)
        if name:
            d["name"] = name
        if self.extra.get("displayName"):
            d["displayName"] = self.extra["displayName"]
        d["active"] = self.obj.is_active
        if self.emails:
            d["emails"] = self.emails
        groups = self.groups
        if groups:
            d["groups"] = groups
        enterprise = dict(self.extra.get("enterprise") or {})
        if enterprise.get("manager"):
            manager_id = enterprise["manager"]
            enterprise["manager"] = {"value": manager_id, "$ref": self.user_location(manager_id)}
        if enterprise:
            d["schemas"] = [USER, ENTERPRISE]
            d[ENTERPRISE] = enterprise
        d["meta"] = self.meta
        return d

    def from_dict(self, d):
        self.obj.username = self.obj.scim_username = _required(d, "userName")
        self.obj.scim_external_id = _text(d, "externalId", "externalId") or None
        name = d.get("name") or {}
        if not isinstance(name, dict):
            raise _bad_value('"name" must be an object')
        self.obj.first_name = _text(name, "givenName", "name.givenName")
        self.obj.last_name = _text(name, "familyName", "name.familyName")
        extra = {}
        for key, value in (("formatted", _text(name, "formatted", "name.formatted")),
                           ("displayName", _text(d, "displayName", "displayName"))):
            if value:
                extra[key] = value
        emails = self.clean_emails(d.get("emails"))
        if emails:
            extra["emails"] = emails
        primary = [e for e in emails if e.get("primary")] or emails
        self.obj.email = primary[0]["value"] if primary else ""
        if d.get("active") is not None:
            self.obj.is_active = parse_bool(d["active"], "active")
        enterprise = self.clean_enterprise(d.get(ENTERPRISE))
        if enterprise:
            extra["enterprise"] = enterprise
        self.obj.scim_attributes = extra

    def clean_emails(self, value):
        if value in (None, ""):
            return []
        if isinstance(value, dict):  # OneLogin sends one object (django-scim2 allows it too)
            value = [value]
        if not isinstance(value, list):
            raise _bad_value('"emails" must be a list')
        out = []
        for e in value:
            if not isinstance(e, dict) or not isinstance(e.get("value"), str):
                raise _bad_value('each of "emails" needs a string "value"')
            try:
                validators.EmailValidator()(e["value"])
            except ValidationError:
                raise _bad_value('"emails.value" %r is not an e-mail address' % e["value"])
            clean = {"value": e["value"]}
            for key in ("display", "type"):
                if e.get(key) is not None:
                    clean[key] = _text(e, key, "emails." + key)
            if e.get("primary") is not None:
                clean["primary"] = parse_bool(e["primary"], "emails.primary")
            out.append(clean)
        if sum(1 for e in out if e.get("primary")) > 1:
            raise _bad_value('only one of "emails" may be primary')
        return out

    def clean_enterprise(self, value):
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise _bad_value('"%s" must be an object' % ENTERPRISE)
        out = {}
        for key in ("employeeNumber", "department"):
            text = _text(value, key, key)
            if text:
                out[key] = text
        manager = value.get("manager")
        if isinstance(manager, dict):
            manager = manager.get("value") or (manager.get("$ref") or "").rstrip("/").rsplit("/", 1)[-1] or None
        if manager is not None:
            # Entra sends the manager's id as a plain string: {"op": "Add", "path": "...:manager", "value": "<id>"}
            if not isinstance(manager, str):
                raise _bad_value('"manager" must be the manager\'s id or {"value": id}')
            if manager:
                out["manager"] = manager
        return out

    def unique_description(self):
        return 'a user with userName "%s"' % self.obj.username

    def delete(self):
        self.obj.delete()


class Group(_Adapter, adapters.SCIMGroup):
    shape = schemas.GROUP_SHAPE
    _members = None

    @property
    def members(self):
        out = []
        for user in self.obj.user_set.order_by("id") if self.obj.pk else []:
            scim_user = User(user, self.request)
            out.append({"value": scim_user.id, "$ref": scim_user.location, "type": "User"})
        return out

    @property
    def meta(self):
        return _meta(self, self.obj.scim_created)

    def to_dict(self):
        d = {"schemas": [GROUP], "id": self.id}
        if self.obj.scim_external_id:
            d["externalId"] = self.obj.scim_external_id
        d["displayName"] = self.obj.name
        members = self.members
        if members:
            d["members"] = members
        d["meta"] = self.meta
        return d

    def from_dict(self, d):
        self.obj.name = self.obj.scim_display_name = _required(d, "displayName")
        self.obj.scim_external_id = _text(d, "externalId", "externalId") or None
        members = d.get("members") or []
        if not isinstance(members, list):
            raise _bad_value('"members" must be a list')
        ids = []
        for m in members:
            value = m.get("value") if isinstance(m, dict) else None
            if not isinstance(value, str) or not value:
                raise _bad_value('each of "members" needs a string "value"')
            ids.append(value)
        users = list(get_user_model().objects.filter(scim_id__in=ids))
        missing = sorted(set(ids) - set(u.scim_id for u in users))
        if missing:
            raise _bad_value("no user with id %s" % ", ".join(missing))
        self._members = users

    def save_relations(self):
        if self._members is not None:
            self.obj.user_set.set(self._members)

    def unique_description(self):
        return 'a group named "%s"' % self.obj.name

    def delete(self):
        self.obj.delete()


def _user_resource_type(cls, request=None):
    d = adapters.SCIMUser.resource_type_dict.__func__(cls, request)
    d["schemaExtensions"] = [{"schema": ENTERPRISE, "required": False}]
    return d


User.resource_type_dict = classmethod(_user_resource_type)


class ServiceProviderConfig(scim_models.SCIMServiceProviderConfig):
    """What this service does: PATCH and filters yes; bulk, sort, ETags, passwords no."""

    MAX_RESULTS = 200

    def to_dict(self):
        d = super().to_dict()
        d.update({
            "filter": {"supported": True, "maxResults": self.MAX_RESULTS},
            "changePassword": {"supported": False},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        })
        if not d.get("documentationUri"):
            del d["documentationUri"]
        return d
