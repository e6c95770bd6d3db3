from __future__ import annotations

from django.db import models


class InboundEvent(models.Model):
    """A verified webhook delivery, stored under the provider's own event id.

    The unique (provider, event_id) pair is what makes a retried delivery a no-op. A failed
    handler leaves the event `failed` with `next_attempt_at` for the sweep; after the last
    attempt it is `dead`. An event no handler is registered for is `ignored`, kept for the
    record.
    """

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        FAILED = "failed"
        DEAD = "dead"
        IGNORED = "ignored"

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True, default="")
    payload = models.JSONField(default=dict)
    headers = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)
    # When the task last given to this event was due to run: the sweep gives a new one only
    # when that is LOST_AFTER ago and the event is still waiting (a lost task), not to every
    # event of a backlog the worker has not reached yet.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "core"
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="inbox_unique_event")
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"
