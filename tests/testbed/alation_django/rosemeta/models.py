import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class UniqueScimId(object):
    """SCIM ids unique across Users and Groups (RFC 7643 3.1); django-scim2 reuses the row id,
    so user 12 and group 12 would share one."""

    def set_scim_id(self, is_new):
        pass

    def save(self, *args, **kwargs):
        if not self.scim_id:
            self.scim_id = str(uuid.uuid4())
        super().save(*args, **kwargs)


class Group(UniqueScimId, AbstractSCIMGroupMixin):
    name = models.CharField(max_length=150, unique=True)
    # Nullable, like every column added after 0001: a host DB migrated by a newer project must
    # still take inserts from an older copy of it (the test bed is shared between checkouts).
    scim_created = models.DateTimeField(auto_now_add=True, null=True)
    scim_last_modified = models.DateTimeField(auto_now=True, null=True)

    def __str__(self):
        return self.name


class User(UniqueScimId, AbstractSCIMUserMixin, AbstractUser):
    # django-scim2 reads user.scim_groups and group.user_set.
    scim_groups = models.ManyToManyField(Group, related_name="user_set", blank=True)
    # SCIM attributes Django's user has no column for (emails as sent, displayName,
    # name.formatted, the enterprise extension); see rosemeta.scim.adapters.
    scim_attributes = models.JSONField(null=True, blank=True)
    scim_last_modified = models.DateTimeField(auto_now=True, null=True)


class ScimBearerToken(models.Model):
    """The one SCIM bearer token; a new one replaces (revokes) the old row."""

    value = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()


class ScimBearerTokenRotation(models.Model):
    """History of tokens created; the value is kept only as a hash."""

    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    token_sha256 = models.CharField(max_length=64)
    via = models.CharField(max_length=64)
