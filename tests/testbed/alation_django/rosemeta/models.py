from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    name = models.CharField(max_length=150, unique=True)

    def __str__(self):
        return self.name


class User(AbstractSCIMUserMixin, AbstractUser):
    # django-scim2 reads user.scim_groups and group.user_set.
    scim_groups = models.ManyToManyField(Group, related_name="user_set", blank=True)


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
