"""The demo's on-call activity. The handbook's three schedules (developer on-call,
infrastructure first responder, premium support 24/7) and the `infrastructure-alarm` chain come
from the demo playbook's `rotations:` and `escalation_chains:` (src/ceres/playbook/demo.yaml),
applied before this runs; what a playbook never holds is what happens on call, so the demo makes
it here, through the on-call services (checked and audited as real use makes it):

- an override, an arrangement between people ("arrange and designate a replacement");
- two alarm integrations, two weeks of their alarms (paged, escalated, acknowledged, resolved at
  the instants they happened), the last Monday's handoff summaries and the retro of the week
  before (`make_oncall_activity`).

Running it again changes nothing.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ceres.core.audit.services import acting_as
from ceres.core.errors import Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.demo.oncall_alarms import (
    BEFORE,
    LAST_WEEK,
    LATE,
    LATE_BY,
    NOW,
    PROMETHEUS,
    UPTIME,
    Story,
    notification,
)
from ceres.oncall import alarms, escalation, handoff, integrations, services, targets
from ceres.oncall import retro as retros
from ceres.oncall.models import (
    Alarm,
    AlarmIntegration,
    AlarmPage,
    EscalationPolicy,
    HandoffSummary,
    OnCallSchedule,
)
from ceres.team.models import Person

CHICAGO = "America/Chicago"
PREMIUM_SUPPORT = "premium-support"


def _monday_nine(now: datetime.datetime, weeks_back: int) -> datetime.datetime:
    """09:00 America/Chicago on the Monday `weeks_back` weeks before this week's."""
    local = now.astimezone(zoneinfo.ZoneInfo(CHICAGO)).date()
    monday = local - datetime.timedelta(days=local.weekday(), weeks=weeks_back)
    return datetime.datetime.combine(monday, datetime.time(9), tzinfo=zoneinfo.ZoneInfo(CHICAGO))


def make_oncall_override(*, now: datetime.datetime | None = None) -> int:
    """Next Wednesday's business day, the second person of premium support's top layer (the
    support engineers) covers it. How many overrides were added: 0 when the schedule has one
    already, or is not there (a playbook without it)."""
    now = now or timezone.now()
    schedule = OnCallSchedule.objects.filter(key=PREMIUM_SUPPORT).first()
    if schedule is None or schedule.overrides.exists():
        return 0
    top = schedule.layers.order_by("-position").first()
    if top is None or len(top.people) < 2:
        return 0
    person = Person.objects.filter(pk=top.people[1], is_active=True).first()
    if person is None:
        return 0
    wednesday = _monday_nine(now, weeks_back=-1) + datetime.timedelta(days=2)
    with acting_as("demo"):
        services.add_override(
            actor=None,
            schedule=schedule,
            person=person,
            start=wednesday,
            end=wednesday + datetime.timedelta(hours=8),
            reason="Covering a dentist appointment",
        )
    return 1


# --- alarms, handoff summaries and a retro -----------------------------------------------------

INFRASTRUCTURE = "infrastructure-oncall"
INFRASTRUCTURE_CHAIN = "infrastructure-alarm"
NOT_SENT = "demo data: not sent"
# At most this many sweeps between two events: far more than a story's steps need; a guard
# against a loop, which the escalation rules (a chain runs out) do not allow anyway.
_MAX_SWEEPS = 500
_KINDS = {PROMETHEUS: AlarmIntegration.Kind.ALERTMANAGER, UPTIME: AlarmIntegration.Kind.GENERIC}
_WATCH = (
    "- Redis memory on the Managed Cloud has crept up since the upgrade: check its eviction "
    "policy before it pages at night.\n"
    "- The suspected-outage issue of Wednesday's API latency alarm is still open: no root "
    "cause yet.\n"
    "- The fleetdm.com certificate renews itself now; its expiry check should stay quiet."
)
_RETRO_WENT_WELL = (
    "All but one of the alarms someone had to answer were acknowledged within minutes, at the "
    "first step of the chain. "
    "Monday's database CPU alarm was a runaway vulnerability-processing job, stopped in under "
    "an hour. The fleetdm.com 5xx alarm early on Tuesday resolved itself before anyone had to "
    "get up."
)
_RETRO_REMEMBER = (
    "Keep phone notifications on during customer calls in your on-call week, or arrange an "
    "override for the hour. API latency: check the fleet-api pods' CPU throttling first, then "
    "the database's slow-query log. Redis memory is creeping up since the upgrade."
)


@dataclass(frozen=True)
class OncallActivity:
    """What `make_oncall_activity` made (all zero when it had made it before)."""

    integrations: int = 0
    alarms: int = 0
    summaries: int = 0
    retros: int = 0
    not_sent: int = 0  # outbox rows the demo marked dead


def _minutes(value: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=value)


def _local(day: datetime.date, at: str) -> datetime.datetime:
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(CHICAGO)
    )


def _last_monday_ten(now: datetime.datetime) -> datetime.datetime:
    """The last Monday 10:00 America/Chicago not after `now`: after the weekly handoff, when
    the periodic job has drafted the week's summaries."""
    local = now.astimezone(zoneinfo.ZoneInfo(CHICAGO)).date()
    monday = local - datetime.timedelta(days=local.weekday())
    at = _local(monday, "10:00")
    return at if at <= now else _local(monday - datetime.timedelta(weeks=1), "10:00")


def _sweep_until(until: datetime.datetime) -> None:
    """What the 30-second sweep would have done up to `until`: each step at its own time."""
    for _ in range(_MAX_SWEEPS):
        due = (
            escalation.due(until)
            .order_by("next_escalation_at")
            .values_list("next_escalation_at", flat=True)
            .first()
        )
        if due is None:
            return
        escalation.sweep(now=due)


Action = Callable[[datetime.datetime], None]


class _Timeline:
    """What happened at past instants, played in order with the sweeps in between."""

    def __init__(self, chain: EscalationPolicy, sources: dict[str, AlarmIntegration]) -> None:
        self.chain = chain
        self.sources = sources
        self.events: list[tuple[datetime.datetime, int, Action]] = []
        self.alarm_ids: dict[str, int] = {}
        self.acknowledged_by: dict[str, Person] = {}

    def add(self, at: datetime.datetime, action: Action) -> None:
        self.events.append((at, len(self.events), action))

    def play(self, until: datetime.datetime) -> None:
        for at, _, action in sorted(self.events, key=lambda event: (event[0], event[1])):
            _sweep_until(at)
            action(at)
        _sweep_until(until)

    def story(self, story: Story, opened: datetime.datetime) -> None:
        """The story's notifications, its acknowledgement by the first person paged, and its
        end: the source's resolved notification, or by hand."""
        integration = self.sources[story.source]

        def fire(at: datetime.datetime) -> None:
            events = notification(story, opened=opened, at=at)
            for alarm in alarms.ingest(integration=integration, events=events, now=at):
                self.alarm_ids[story.key] = alarm.pk

        def acknowledge(at: datetime.datetime) -> None:
            alarm_id = self.alarm_ids[story.key]
            first = (
                AlarmPage.objects.filter(alarm_id=alarm_id)
                .select_related("person")
                .order_by("round", "step", "pk")
                .first()
            )
            if first is None:
                return  # nobody was paged (a gap): nobody may acknowledge it
            self.acknowledged_by[story.key] = first.person
            escalation.acknowledge(actor=None, alarm_id=alarm_id, person=first.person, now=at)

        def resolve(at: datetime.datetime) -> None:
            person = self.acknowledged_by.get(story.key)
            if story.by_hand and person is not None:
                alarm_id = self.alarm_ids[story.key]
                escalation.resolve(actor=None, alarm_id=alarm_id, person=person, now=at)
            else:
                events = notification(story, opened=opened, at=at, resolved=True)
                alarms.ingest(integration=integration, events=events, now=at)

        self.add(opened, fire)
        for minutes in story.repeats:
            self.add(opened + _minutes(minutes), fire)
        acknowledged = None
        if story.ack == LATE:
            target = targets.ack_due(self.chain, opened)
            acknowledged = (target or opened + _minutes(60)) + LATE_BY
        elif story.ack is not None:
            acknowledged = opened + _minutes(story.ack)
        if acknowledged is not None:
            self.add(acknowledged, acknowledge)
        if story.resolve is not None:
            resolved = opened + _minutes(story.resolve)
            if acknowledged is not None and resolved <= acknowledged:
                resolved = acknowledged + _minutes(20)  # acknowledged late: fixed later too
            self.add(resolved, resolve)


def _post_summary(schedule: OnCallSchedule, week_start: datetime.date) -> Action:
    """The outgoing on-call adds the items to watch and posts the summary (without a handoff
    channel it stays a draft)."""

    def post(at: datetime.datetime) -> None:
        summary = HandoffSummary.objects.filter(schedule=schedule, week_start=week_start).first()
        if summary is None:
            return
        body = summary.body.replace(handoff.WATCH_PLACEHOLDER, _WATCH)
        try:
            handoff.post_summary(
                actor=None, summary=summary, person=summary.outgoing, body=body, now=at
            )
        except Invalid:
            return

    return post


def _write_retro(schedule: OnCallSchedule, week_start: datetime.date) -> int:
    """The retro of the week that ended at the handoff, by its on-call, about its alarms."""
    summary = HandoffSummary.objects.filter(
        schedule=schedule, week_start=week_start + datetime.timedelta(weeks=1)
    ).first()
    could_be_better = "The status page was not updated while the alarms were open."
    for alarm in handoff.week_alarms(schedule, week_start):
        due, acknowledged = alarm.ack_due_at, alarm.first_acknowledged_at
        if due is None or acknowledged is None or acknowledged <= due:
            continue
        day = alarm.first_seen_at.astimezone(zoneinfo.ZoneInfo(CHICAGO))
        target = handoff.duration_text(due - alarm.first_seen_at)
        could_be_better = (
            f"“{alarm.title}” on {day:%A} was acknowledged after its {target} target: the "
            "page came by Slack and SMS during a customer call, and nobody saw it until the "
            "chain had reached the VP and the support manager. The suspected-outage issue was "
            "opened, but the status page was not updated."
        )
        break
    retros.save_retro(
        actor=None,
        schedule=schedule,
        week_start=week_start,
        went_well=_RETRO_WENT_WELL,
        could_be_better=could_be_better,
        remember=_RETRO_REMEMBER,
        person=summary.outgoing if summary else None,
    )
    return 1


def make_oncall_activity(*, now: datetime.datetime | None = None) -> OncallActivity:
    """Two alarm integrations on the `infrastructure-alarm` chain and the infrastructure
    schedule ("Prometheus (Managed Cloud)", Alertmanager; "fleetdm.com uptime", generic) and
    two weeks of their alarms, played at the instants they happened: notifications in, the
    chain's steps by the sweep, acknowledgements (in time, one late), resolutions (by the
    source, by hand, one by itself before anyone answered); one acknowledged and still open,
    one firing now with its next step ahead. Then last Monday's handoff summaries (drafted by
    the periodic job's function at 10:00 Chicago, the infrastructure one posted) and the retro
    of the week before. Nothing when the integrations exist (a second run) or the playbook
    has no infrastructure schedule or chain.

    Pages are outbox rows (Slack DMs, SMS, e-mails, alarm-channel posts, the handoff DM and
    post, the suspected-outage issue). A demo must not leave them pending: a Slack or Twilio
    configured later would send weeks-old pages at once. Every row written here (one
    transaction, before `ceres run` starts the worker, so the rows after the highest id seen
    at its start are exactly the demo's) is marked `dead` with `last_error` "demo data: not
    sent": the outbox's terminal status for a message that will never leave (deleting them
    would hide what real use writes; the outbox has no "cancelled"), and the delivery tasks
    queued on commit find a dead row and skip it. The firing alarm's pages too, and its chain is
    stopped (no timer), so the worker pages nobody for it later.
    """
    now = now or timezone.now()
    schedule = OnCallSchedule.objects.filter(key=INFRASTRUCTURE).first()
    chain = EscalationPolicy.objects.filter(key=INFRASTRUCTURE_CHAIN).first()
    if (
        schedule is None
        or chain is None
        or AlarmIntegration.objects.filter(name=PROMETHEUS).exists()
    ):
        return OncallActivity()
    draft_at = _last_monday_ten(now)
    last_week = draft_at.date() - datetime.timedelta(weeks=1)
    before = last_week - datetime.timedelta(weeks=1)
    with acting_as("demo"), transaction.atomic():
        watermark = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
        sources = {
            name: integrations.add_integration(
                actor=None, name=name, kind=kind, schedule=schedule, escalation_policy=chain
            )[0]
            for name, kind in _KINDS.items()
        }
        timeline = _Timeline(chain, sources)
        for monday, stories in ((before, BEFORE), (last_week, LAST_WEEK)):
            for day, at, story in stories:
                timeline.story(story, _local(monday + datetime.timedelta(days=day), at))
        for minutes_ago, story in NOW:
            timeline.story(story, now - _minutes(minutes_ago))
        drafted: list[int] = []
        timeline.add(draft_at, lambda at: drafted.append(handoff.draft_summaries(now=at)))
        timeline.add(draft_at + _minutes(35), _post_summary(schedule, draft_at.date()))
        timeline.play(until=now)
        retros = _write_retro(schedule, last_week)
        # A demo never pages anyone later either: the firing alarm keeps its state and its
        # pages so far, but its chain is stopped (else the worker would page its next steps
        # for hours into an outbox a later-configured Slack or Twilio would send).
        Alarm.objects.filter(integration__in=sources.values(), status=Alarm.Status.FIRING).update(
            next_escalation_at=None
        )
        not_sent = OutboxMessage.objects.filter(
            pk__gt=watermark, status=OutboxMessage.Status.PENDING
        ).update(status=OutboxMessage.Status.DEAD, last_error=NOT_SENT)
        made = AlarmIntegration.objects.filter(pk__in=[s.pk for s in sources.values()])
    return OncallActivity(
        integrations=len(sources),
        alarms=sum(i.alarms.count() for i in made),
        summaries=sum(drafted),
        retros=retros,
        not_sent=not_sent,
    )
