from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who changed what and when: one row per service write, with fields before and after.

    `changes` maps a field name to [before, after]. Fields listed in `confidential_fields`
    are shown only to viewers with `accounts.view_confidential`; `target_label` is always the
    public name of the target (a codename for an account), never a confidential one.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=300)
    changes = models.JSONField(default=dict)
    confidential_fields = models.JSONField(default=list)

    class Meta:
        app_label = "core"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"
