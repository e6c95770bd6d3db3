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
