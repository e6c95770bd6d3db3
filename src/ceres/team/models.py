"""People of the customer-success department, their handbook roles and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.functions import Lower


class Role(models.Model):
    """A handbook role ("Customer Support Engineer"). Its permissions live on a Django group."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120, unique=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="ceres_role")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A team member. Each has a login; the role's group gives their permissions."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person"
    )
    name = models.CharField(max_length=200)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="people")
    email = models.EmailField(unique=True)
    github_login = models.CharField(max_length=39, blank=True, default="")
    slack_user_id = models.CharField(max_length=20, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    # {"mon": ["09:00-17:00"], ...} in the person's own time zone; empty means not set.
    working_hours = models.JSONField(default=dict, blank=True)
    # Permissions of the role this person does not get (yet): e.g. a new support engineer
    # works by codename only until onboarding grants confidential access (JOURNEYS J6).
    withheld_permissions = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                Lower("github_login"),
                condition=~models.Q(github_login=""),
                name="person_unique_github_login_ci",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the token is shown once.

    The token has the form `ceres_<prefix>_<secret>`; the prefix finds the row, the hash of
    the whole token is compared in constant time. SHA-256 (not argon2) because the secret is
    256 random bits, not a password, and it is checked on every API request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"
