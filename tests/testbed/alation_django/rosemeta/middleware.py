"""Bearer authentication of the SCIM API against the current, unexpired token."""
import hmac
import json
import logging

from django.http import HttpResponse
from django.utils import timezone

from rosemeta.models import ScimBearerToken

logger = logging.getLogger(__name__)
SCIM_PREFIX = "/scim/v2/"


class ScimClient:
    """The IdP, authenticated by the SCIM token (not a Django user)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    pk = None
    username = "scim-client"


def _unauthorized(detail):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "401",
        "detail": detail,
    }
    resp = HttpResponse(json.dumps(body), status=401, content_type="application/scim+json")
    resp["WWW-Authenticate"] = 'Bearer realm="alation-scim"'
    return resp


class ScimBearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(SCIM_PREFIX):
            header = request.META.get("HTTP_AUTHORIZATION", "")
            scheme, _sep, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                return _unauthorized("Authentication credentials were not provided.")
            current = ScimBearerToken.objects.order_by("-id").first()
            if current is None or not hmac.compare_digest(current.value.encode(), presented.strip().encode()):
                logger.info("SCIM request refused: invalid token")
                return _unauthorized("Invalid token.")
            if current.expires_at <= timezone.now():
                logger.info("SCIM request refused: token expired at %s", current.expires_at.isoformat())
                return _unauthorized("Token has expired.")
            request.user = ScimClient()
        return self.get_response(request)
