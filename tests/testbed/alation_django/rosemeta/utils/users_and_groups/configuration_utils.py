"""SCIM configuration helpers, as documented by Alation for the Django shell.

get_scim_bearer_token_expiry_date(), set_scim_bearer_token(), get_scim_bearer_token().
Behaviour variants (return types, old versions, failures) follow the host's knobs.json.
"""
import calendar
import datetime
import hashlib
import logging
import secrets

from django.db import transaction
from django.db.utils import OperationalError
from django.utils import timezone

from rosemeta import knobs as _knobs
from rosemeta.models import ScimBearerToken, ScimBearerTokenRotation

logger = logging.getLogger(__name__)
_KNOBS = _knobs.load()  # one launch = one read, like settings


def _check_db():
    if _KNOBS["db_error"]:
        raise OperationalError("database is locked")


def _add_months(dt, months):
    month = dt.month - 1 + months
    year = dt.year + month // 12
    month = month % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def _current():
    return ScimBearerToken.objects.order_by("-id").first()


def get_scim_bearer_token_expiry_date():
    """Expiration date of the current token in UTC (None if no token exists)."""
    _check_db()
    token = _current()
    if token is None:
        return None
    expires = token.expires_at.astimezone(datetime.timezone.utc)
    kind = _KNOBS["expiry_type"]
    if kind == "naive":
        return expires.replace(tzinfo=None)
    if kind == "date":
        return expires.date()
    if kind == "iso":
        return expires.isoformat()
    return expires


def set_scim_bearer_token():
    """Create a new SCIM token; the old one is revoked at once."""
    _check_db()
    now = timezone.now()
    months = int(_KNOBS["token_months"])
    value = secrets.token_urlsafe(32)
    expires = _add_months(now, months)
    with transaction.atomic():
        ScimBearerToken.objects.all().delete()
        ScimBearerToken.objects.create(value=value, created_at=now, expires_at=expires)
        ScimBearerTokenRotation.objects.create(
            created_at=now,
            expires_at=expires,
            token_sha256=hashlib.sha256(value.encode("utf-8")).hexdigest(),
            via="set_scim_bearer_token",
        )
    logger.info("SCIM bearer token replaced; new token expires %s", expires.isoformat())
    return value if _KNOBS["set_returns_token"] else None


def get_scim_bearer_token():
    """The current SCIM token (None if none exists)."""
    _check_db()
    token = _current()
    return token.value if token is not None else None


if _KNOBS["functions_missing"]:
    # Alation before 2021.4 ships this module without the token functions.
    del get_scim_bearer_token_expiry_date, set_scim_bearer_token, get_scim_bearer_token
