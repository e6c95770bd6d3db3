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


class Organization(models.Model):
    """The vendor running Ceres, as the playbook names it: one row (id 1), set by `ceres apply`.

    `product_name` is the product's short name ("Fleet"), used in opportunity names and licence
    keys by later parts of Ceres.
    """

    SINGLETON_ID = 1

    name = models.CharField(max_length=200)
    product_name = models.CharField(max_length=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="organization_single_row")
        ]

    def __str__(self) -> str:
        return self.name
