from __future__ import annotations

from django.db import models


class PeriodicJobRun(models.Model):
    """One run of a periodic job for one time slot; the unique key makes each slot run once,
    however many schedulers are running."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    job_name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        app_label = "core"
        constraints = [
            models.UniqueConstraint(fields=["job_name", "slot"], name="periodic_unique_slot")
        ]

    def __str__(self) -> str:
        return f"{self.job_name}@{self.slot.isoformat()}"
