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
    # Its handle (`oncall` for @oncall), as the playbook names it; the id is looked up from it
    # (`usergroups.list`) when blank.
    slack_usergroup_handle = models.CharField(max_length=80, blank=True, default="")
    # The Slack user ids last sent to that group (`usergroups.users.update`), so a handoff is
    # sent once and an unchanged group is not sent again; [] before the first sync.
    slack_usergroup_users = models.JSONField(default=list, blank=True)
    slack_usergroup_synced_at = models.DateTimeField(null=True, blank=True)
    # Where the weekly handoff summary is posted (the handbook's #help-customers), and where
    # gaps ahead are announced; a Slack channel id, blank: none.
    handoff_channel = models.CharField(max_length=20, blank=True, default="")
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


class GapAlert(models.Model):
    """A gap in a schedule (nobody on call) that was announced, once: the periodic job looks a
    week ahead and writes one row per gap it tells people about (`oncall.gaps`)."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    alerted_at = models.DateTimeField()

    class Meta:
        ordering = ["schedule", "start"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "start"], name="oncall_gap_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id}: nobody on call from {self.start:%Y-%m-%d %H:%M}"


class EscalationPolicy(models.Model):
    """An escalation chain: ordered steps, each paging people and waiting for an
    acknowledgement before the next (docs/oncall.md, "Escalation"). The handbook's
    "Escalations (in order)" is the demo's."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    # How many more times the whole chain runs after its last step went unacknowledged.
    repeat = models.PositiveSmallIntegerField(default=0)
    # Where every new alarm is posted (the handbook's #help-p1): a Slack channel id; blank: none.
    alarm_channel = models.CharField(max_length=20, blank=True, default="")
    # An acknowledgement lasts this long, then the chain starts again; null: until resolved.
    ack_timeout_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Response targets ("acknowledge within 1 hour in business hours, 4 hours outside"): the
    # business calendar that tells in from outside; blank: no target measured.
    target_calendar = models.SlugField(max_length=60, blank=True, default="")
    ack_within_inside_minutes = models.PositiveIntegerField(default=60)
    ack_within_outside_minutes = models.PositiveIntegerField(default=240)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "key"]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """One step: page the on-call of `schedule`, the `people`, and everyone active in `role`
    (any of the three), by `via`; then wait `wait_minutes` for an acknowledgement."""

    class Via(models.TextChoices):
        SLACK = "slack", "Slack"
        SMS = "sms", "SMS"
        EMAIL = "email", "E-mail"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    schedule = models.ForeignKey(
        OnCallSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Person ids, in order.
    people = models.JSONField(default=list, blank=True)
    role = models.SlugField(max_length=50, blank=True, default="")
    # Some of "slack", "sms", "email"; a person without a Slack id gets e-mail instead.
    via = models.JSONField(default=list)
    wait_minutes = models.PositiveIntegerField()
    # This step opens a "suspected outage" issue in the tracker, once per alarm.
    open_outage_issue = models.BooleanField(default=False)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "position"], name="oncall_step_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(wait_minutes__gte=1), name="oncall_step_waits_a_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy.key} step {self.position + 1}"


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
    # The chain that pages for its alarms; null: alarms are recorded, nobody is paged.
    escalation_policy = models.ForeignKey(
        EscalationPolicy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="integrations",
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

    # Escalation (`oncall.escalation`): the chain it follows, fixed when it opens.
    policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The step last paged (0-based) in the current round; rounds count up from 0, once per
    # repeat of the chain and once per restart after an acknowledgement expired.
    step = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveIntegerField(default=0)
    repeats_left = models.PositiveSmallIntegerField(default=0)
    # The timer: when the sweep next acts (the next step, or the acknowledgement expiring);
    # null: nothing to do (resolved, acknowledged for good, or the chain ran out).
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The response target: acknowledged by then (1 h in business hours, 4 h outside).
    ack_due_at = models.DateTimeField(null=True, blank=True)
    # The first acknowledgement, kept when one expires: what the response target measures.
    first_acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outage_issue = models.ForeignKey(
        "tracker.TrackerIssue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(next_escalation_at__isnull=False),
                name="oncall_alarm_timer",
            ),
            models.Index(fields=["first_seen_at"], name="oncall_alarm_first_seen"),
        ]
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


class AlarmPage(models.Model):
    """Someone was paged for an alarm: by which step of which round, how. One row per person
    and step (the database refuses a second), so a sweep run twice pages nobody twice; only
    people with a row may acknowledge the alarm from Slack."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="pages")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveIntegerField()
    step = models.PositiveSmallIntegerField()
    # The ways it went out ("slack", "sms", "email"); [] when the person could not be reached.
    via = models.JSONField(default=list)
    paged_at = models.DateTimeField()

    class Meta:
        ordering = ["alarm", "paged_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alarm", "round", "step", "person"], name="oncall_page_once"
            )
        ]

    def __str__(self) -> str:
        return f"alarm {self.alarm_id} round {self.round} step {self.step + 1}: {self.person_id}"


class HandoffSummary(models.Model):
    """The week's handoff summary of a schedule, drafted on Monday for the outgoing on-call
    (alarms, open issues with and without end-user impact, items to watch), edited and posted
    to the schedule's handoff channel."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="+")
    # The Monday the week being summarised ends (the handoff's date, local to the schedule).
    week_start = models.DateField()
    outgoing = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    drafted_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-week_start", "schedule"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "week_start"], name="oncall_handoff_once_a_week"
            )
        ]

    def __str__(self) -> str:
        return f"handoff {self.schedule_id} {self.week_start}"


class Retro(models.Model):
    """The weekly on-call retro (the earlier handbook): three questions, kept with the week's
    alarms (those first seen in [week_start, week_start + 7 days)) and searchable."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    went_well = models.TextField(blank=True, default="")
    could_be_better = models.TextField(blank=True, default="")
    remember = models.TextField(blank=True, default="")
    written_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start", "schedule"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "week_start"], name="oncall_retro_once")
        ]

    def __str__(self) -> str:
        return f"retro {self.schedule_id} {self.week_start}"
