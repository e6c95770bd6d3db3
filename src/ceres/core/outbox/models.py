from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    """An outbound effect (e-mail, Slack post, SMS, label change) waiting to leave.

    Written in the same transaction as the state change that causes it; delivered by a task
    that takes a lease on the row, so a killed worker's message is retried after the lease
    expires, and the idempotency key goes with every attempt so the provider sees it once.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        SENT = "sent"
        DEAD = "dead"

    channel = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # Messages with the same ordering key (one Slack thread) leave one at a time, in the order
    # they were written: a later one waits while an earlier one is pending or delivering.
    ordering_key = models.CharField(max_length=200, blank=True, default="")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True, default="")
    provider_reference = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "core"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(
                fields=["ordering_key", "id"],
                condition=~models.Q(ordering_key="")
                & models.Q(status__in=["pending", "delivering"]),
                name="outbox_ordering_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.idempotency_key} ({self.status})"
