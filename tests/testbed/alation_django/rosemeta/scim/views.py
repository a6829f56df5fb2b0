"""django-scim2's views, extended: discovery list responses with totalResults, SCIM error bodies
for everything (404 for unknown resources and paths), `attributes` / `excludedAttributes` on
every answer that carries a resource, and POST /.search on the root and per resource type."""
import json

from django.db.models.query import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django_scim import constants, exceptions, views as scim_views
from django_scim.utils import (get_base_scim_location_getter, get_group_adapter, get_group_filter_parser,
                               get_user_adapter, get_user_filter_parser)

from rosemeta.scim import adapters, paths, schemas

LIST = constants.SchemaURI.LIST_RESPONSE
SEARCH_REQUEST = constants.SchemaURI.SERACH_REQUEST
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def scim_response(doc, status=200, location=None):
    resp = HttpResponse(json.dumps(doc), status=status, content_type=constants.SCIM_CONTENT_TYPE)
    if location:
        resp["Location"] = location
    return resp


def error_response(status, detail, scim_type=None):
    doc = {"schemas": [constants.SchemaURI.ERROR], "status": str(status), "detail": detail}
    if scim_type:
        doc["scimType"] = scim_type
    return scim_response(doc, status)


def _names(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise exceptions.BadRequestError('"attributes" must be a list', scim_type="invalidValue")
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _page(source):
    try:
        start = int(source.get("startIndex") or 1)
        count = source.get("count")
        count = adapters.ServiceProviderConfig.MAX_RESULTS if count in (None, "") else int(count)
    except (TypeError, ValueError):
        raise exceptions.BadRequestError("startIndex and count must be integers", scim_type="invalidValue")
    # RFC 7644 3.4.2.4: startIndex < 1 means 1, a negative count means 0
    return max(start, 1), min(max(count, 0), adapters.ServiceProviderConfig.MAX_RESULTS)


def list_response(resources, start, count, total=None, paged=False):
    """The ListResponse of one page; `resources` is every match, or with `paged` the page itself."""
    page = resources if paged else resources[start - 1:start - 1 + count]
    return {"schemas": [LIST], "totalResults": len(resources) if total is None else total,
            "startIndex": start, "itemsPerPage": len(page), "Resources": page}


class ScimAnswers(object):
    """Every answer in SCIM's words: error bodies with a string status, resources projected."""

    shape = None

    def dispatch(self, request, *args, **kwargs):
        request.scim_projection = (_names(request.GET.get("attributes")),
                                   _names(request.GET.get("excludedAttributes")))
        resp = super().dispatch(request, *args, **kwargs)
        if resp.status_code >= 400:
            return self._error_body(resp)
        if self.shape is None or not resp.content:
            return resp
        doc = json.loads(resp.content)
        attributes, excluded = request.scim_projection
        if not (attributes or excluded):
            return resp
        if doc.get("schemas") == [LIST]:
            doc["Resources"] = [paths.project(r, attributes, excluded, self.shape_of(r)) for r in doc["Resources"]]
        else:
            doc = paths.project(doc, attributes, excluded, self.shape)
        resp.content = json.dumps(doc).encode("utf-8")
        return resp

    def shape_of(self, resource):
        return schemas.GROUP_SHAPE if schemas.GROUP in resource.get("schemas", []) else schemas.USER_SHAPE

    @staticmethod
    def _error_body(resp):
        try:
            doc = json.loads(resp.content) if resp.content else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or "schemas" not in doc:
            return error_response(resp.status_code, resp.reason_phrase)
        if not isinstance(doc.get("status"), str):
            doc["status"] = str(doc.get("status") or resp.status_code)
            resp.content = json.dumps(doc).encode("utf-8")
        return resp


class _Resources(ScimAnswers):
    def _build_response(self, request, qs, start, count):
        # Paged in the database, as django-scim2 itself (and any real server) does: a page of one user
        # must not serialise every user (a count=1 verification cost ~110 ms of CPU on a 700-user host).
        start, count = _page(request.GET)
        total = qs.count() if isinstance(qs, QuerySet) else sum(1 for dummy in qs)  # a search's raw query or list too
        page = [self.scim_adapter(o, request=request).to_dict() for o in qs[start - 1:start - 1 + count]]
        return scim_response(list_response(page, start, count, total=total, paged=True))

    def _page(self, request):
        return _page(request.GET)

    def get_many(self, request):
        query = request.GET.get("filter")
        if query:
            return self._search(request, query, *self._page(request))
        qs = self.model_cls.objects.all().order_by("id")
        return self._build_response(request, qs, *self._page(request))


class UsersView(_Resources, scim_views.UsersView):
    shape = schemas.USER_SHAPE


class GroupsView(_Resources, scim_views.GroupsView):
    shape = schemas.GROUP_SHAPE


def _search_body(request):
    try:
        body = json.loads(request.body.decode(constants.ENCODING) or "{}")
    except ValueError as e:
        raise exceptions.BadRequestError("Could not decode JSON body: %s" % e, scim_type="invalidSyntax")
    if not isinstance(body, dict) or body.get("schemas") != [SEARCH_REQUEST]:
        raise exceptions.BadRequestError('a search request needs "schemas": ["%s"]' % SEARCH_REQUEST,
                                         scim_type="invalidSyntax")
    request.scim_projection = (_names(body.get("attributes")), _names(body.get("excludedAttributes")))
    return body


class _SearchOne(ScimAnswers):
    """POST /Users/.search, /Groups/.search (filter optional, paging and projection in the body)."""

    def post(self, request, *args, **kwargs):
        body = _search_body(request)
        return scim_response(list_response(search(request, self.scim_adapter, self.parser_getter(),
                                                  body.get("filter")), *_page(body)))


def search(request, adapter, parser, query):
    if query:
        try:
            qs = list(parser.search(query, request))
        except Exception as e:  # the parser's own errors (SCIMParserError, ValueError, lexer errors)
            raise exceptions.BadRequestError("Invalid filter %r: %s" % (query, e), scim_type="invalidFilter")
    else:
        qs = list(parser.model_getter().objects.all().order_by("id"))
    return [adapter(o, request=request).to_dict() for o in qs]


class UserSearchView(_SearchOne, scim_views.UserSearchView):
    shape = schemas.USER_SHAPE


class GroupSearchView(_SearchOne, scim_views.GroupSearchView):
    shape = schemas.GROUP_SHAPE


class RootSearchView(ScimAnswers, scim_views.SCIMView):
    """POST /.search: Users and Groups together (RFC 7644 3.4.3)."""

    http_method_names = ["post"]
    shape = schemas.USER_SHAPE  # each resource is projected with its own shape (shape_of)

    def post(self, request, *args, **kwargs):
        body = _search_body(request)
        query = body.get("filter")
        found = []
        for adapter in (get_user_adapter(), get_group_adapter()):
            parser = get_user_filter_parser() if adapter is get_user_adapter() else get_group_filter_parser()
            found.extend(search(request, adapter, parser, query))
        return scim_response(list_response(found, *_page(body)))


class ServiceProviderConfigView(ScimAnswers, scim_views.ServiceProviderConfigView):
    pass


class _Discovery(ScimAnswers, scim_views.SCIMView):
    """/ResourceTypes and /Schemas: one by id (404 in SCIM's words) or a ListResponse."""

    http_method_names = ["get"]

    def documents(self, request):
        raise NotImplementedError

    def get(self, request, uuid=None, *args, **kwargs):
        docs = self.documents(request)
        if uuid:
            doc = next((d for d in docs if d["id"] == uuid), None)
            if doc is None:
                raise exceptions.NotFoundError(uuid)
            return scim_response(doc)
        start, count = _page(request.GET)
        return scim_response(list_response(sorted(docs, key=lambda d: d["id"]), start, count))


class ResourceTypesView(_Discovery):
    def documents(self, request):
        out = []
        for adapter, endpoint in ((get_user_adapter(), "/Users"), (get_group_adapter(), "/Groups")):
            # RFC 7643 6: the endpoint is relative to the base URL (django-scim2 gives the full path)
            out.append(dict(adapter.resource_type_dict(request), endpoint=endpoint))
        return out


class SchemasView(_Discovery):
    def documents(self, request):
        base = get_base_scim_location_getter()(request) + reverse("scim:root").rstrip("/")
        out = []
        for s in schemas.published():
            s = dict(s, schemas=[SCHEMA],
                     meta={"resourceType": "Schema", "location": schemas.location(base, s["id"])})
            out.append(s)
        return out


class NotImplementedView(ScimAnswers, scim_views.SCIMView):
    """/Me and /Bulk: 501 with a SCIM error body (the service provider config says no bulk)."""

    def dispatch(self, request, *args, **kwargs):
        return error_response(501, "%s is not supported by this service provider" % request.path)


@csrf_exempt
def not_found(request, *args, **kwargs):
    return error_response(404, "No SCIM endpoint at %s" % request.path)


def server_error(request, *args, **kwargs):
    return error_response(500, "Exception occurred while processing the SCIM request")
