"""Business calendars, SLA policies and the clocks they run on conversations.

A policy is data (from the playbook or the UI): which conversations it matches, and for each
target (first response, next response, resolution) how long, in elapsed or business time,
possibly depending on whether the message arrived inside business hours. A clock is one run
of one target on one conversation; its deadline is an indexed column the sweep reads.
"""

from __future__ import annotations

from django.db import models

from ceres.conversations.models import Conversation


class BusinessCalendar(models.Model):
    """The stored form of a `core.businesstime.Calendar` spec."""

    key = models.SlugField(max_length=60, unique=True)
    spec = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class SlaPolicy(models.Model):
    """Matched in `position` order; the first match wins; a policy with an empty `match` is
    the default.

    `match`: {"source": [...], "category": [...], "tier": [...], "priority": [...],
    "channel_kind": [...]}, every key optional, each a list of accepted values.
    `targets`: {"first_response": [rule, ...], "next_response": [...], "resolution": [...]}
    where a rule is {"when": "always"|"inside_hours"|"outside_hours", "calendar": key|None,
    "within_seconds": int, "clock": "elapsed"|"business"}; the first rule whose `when` holds
    at the moment the clock starts applies.
    """

    key = models.SlugField(max_length=60, unique=True)
    position = models.PositiveIntegerField(default=0)
    match = models.JSONField(default=dict, blank=True)
    targets = models.JSONField(default=dict)
    pause_on = models.JSONField(default=list, blank=True)
    warn_at_fraction = models.FloatField(default=0.75)
    # Who hears about a P0/P1 breach besides the assignee (a role key, e.g. "support-manager").
    escalate_to_role = models.SlugField(max_length=50, blank=True, default="")

    class Meta:
        ordering = ["position", "key"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.key


class SlaClock(models.Model):
    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        NEXT_RESPONSE = "next_response", "Next response"
        RESOLUTION = "resolution", "Resolution"

    class Kind(models.TextChoices):
        ELAPSED = "elapsed"
        BUSINESS = "business"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="sla_clocks"
    )
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    target = models.CharField(max_length=20, choices=Target.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    length_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # While running: when it is due and when it warns. Both move when the clock pauses.
    due_at = models.DateTimeField(db_index=True)
    warn_at = models.DateTimeField(db_index=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Time (elapsed or business, by kind) still to run when paused.
    remaining_seconds_at_pause = models.FloatField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Why it stopped: a team reply answers a response target; closing ends every clock.
    stopped_by = models.CharField(
        max_length=10, blank=True, default="", choices=[("reply", "reply"), ("close", "close")]
    )
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(stopped_at__isnull=True, paused_at__isnull=True),
                name="sla_clock_running_due",
            ),
            models.Index(
                fields=["warn_at"],
                condition=models.Q(
                    stopped_at__isnull=True, paused_at__isnull=True, warned_at__isnull=True
                ),
                name="sla_clock_running_warn",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} on #{self.conversation_id}"

    @property
    def is_running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None

    @property
    def met(self) -> bool | None:
        """True or False once stopped; None while it runs."""
        if self.stopped_at is None:
            return None
        return self.stopped_at <= self.due_at
