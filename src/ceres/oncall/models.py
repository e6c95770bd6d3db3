"""Stored on-call schedules: the rows the pure engine (`schedule.py`) is built from.

The final schedule is never stored; `selectors.engine_schedule` turns these rows into an
engine `Schedule` and the engine answers. The rules (at least one person, an hour's shift at
least, no overlapping overrides) live in the engine and the services, not here.

A layer's `people` is an ordered JSON list of Person ids, not a through model: the order is the
rotation (the engine's `people` tuple), the same person may appear twice ("Ada every other
week"), and a change of order is one value written and audited whole, as the handbook's
spreadsheet row was. The services check every id is an active team member when the layer is
saved; people are deactivated, not deleted, so an id keeps naming someone.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from ceres.team.models import Person


class OnCallSchedule(models.Model):
    """A schedule: who answers for one thing (the developer on-call, the first responder)."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # The Slack user group (`@oncall`) kept in sync with who is on call; blank: none.
    slack_usergroup_id = models.CharField(max_length=20, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "key"]

    def __str__(self) -> str:
        return self.name


class ScheduleLayer(models.Model):
    """A rotation with an optional restriction; a higher `position` wins over a lower one."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveSmallIntegerField(default=0)
    # Person ids in rotation order (module docstring for why a list).
    people = models.JSONField(default=list)
    # A whole number of days (24, 168) counts in local days: handoffs at the wall-clock time
    # of `start` in `timezone`; anything else is elapsed hours (docs/oncall.md).
    shift_length_hours = models.PositiveIntegerField()
    # The first handoff, when people[0] goes on call; its local weekday and time in `timezone`
    # are every handoff's.
    start = models.DateTimeField()
    timezone = models.CharField(max_length=64)
    # A business calendar's key (the SLA app's calendars): on call only in its open hours.
    # Blank: 24/7.
    restriction = models.SlugField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "position"], name="oncall_layer_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(shift_length_hours__gte=1), name="oncall_layer_shift_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule.key} layer {self.position}"


class ScheduleOverride(models.Model):
    """`person` covers [start, end) whatever the layers say: "arrange and designate a
    replacement". Overlapping overrides are refused by the service (docs/oncall.md)."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schedule", "start"]
        indexes = [models.Index(fields=["schedule", "end"], name="oncall_override_end")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="oncall_override_ends")
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.start:%Y-%m-%d %H:%M}-{self.end:%Y-%m-%d %H:%M}"


class AlarmIntegration(models.Model):
    """Where alarms come in: `POST /integrations/alerts/<token>` (docs/oncall.md, "Alarms in").

    Only a SHA-256 of the token is stored, as for personal API tokens: the token is 256 random
    bits shown once, so a fast hash is enough and the row is found by it. `token_prefix` is its
    first characters, to tell integrations apart on a page without revealing the token.
    """

    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic JSON"
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    # Whose on-call the alarms page (paging is for later); blank: none yet.
    schedule = models.ForeignKey(
        OnCallSchedule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alarm_integrations",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"


class Alarm(models.Model):
    """One problem, however many notifications said so: the notifications that share a
    `dedup_key` while it is unresolved are this row, `count` of them. After it is resolved the
    next notification with the key opens a new alarm; the database holds at most one
    unresolved alarm per (integration, dedup_key), which is what makes two simultaneous
    deliveries of a new alarm one alarm."""

    class Severity(models.TextChoices):
        CRITICAL = "critical"
        WARNING = "warning"
        INFO = "info"

    class Status(models.TextChoices):
        FIRING = "firing"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    integration = models.ForeignKey(
        AlarmIntegration, on_delete=models.PROTECT, related_name="alarms"
    )
    dedup_key = models.CharField(max_length=200)
    title = models.CharField(max_length=500)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.FIRING)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict)
    # The last notification received for it, as sent (for Alertmanager, its alert).
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "dedup_key"],
                condition=~Q(status="resolved"),
                name="oncall_alarm_one_open_per_key",
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="oncall_alarm_count_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status}, {self.count} times)"
