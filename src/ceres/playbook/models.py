from __future__ import annotations

from django.db import models


class PlaybookApplication(models.Model):
    """A record of each `ceres apply`: which file, its digest, and the diff that was applied."""

    applied_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    changes = models.JSONField(default=list)
    applied_by = models.CharField(max_length=200, default="system")

    class Meta:
        ordering = ["-applied_at"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.applied_at:%Y-%m-%d %H:%M}"
