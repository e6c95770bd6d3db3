"""Escalation: who is paged for an alarm, when the next step comes, and what stops it
(docs/oncall.md, "Escalation").

An alarm opened by an integration with an escalation policy follows that policy's steps. Each
step pages people (the on-call of a schedule at that moment, named people, everyone active in
a role) by Slack DM with Acknowledge / Resolve buttons, SMS through Twilio and e-mail, all
through the outbox, and sets the alarm's timer (`next_escalation_at`) to now + the step's
wait. The periodic sweep takes the alarms whose timer has passed and moves each one step on:
the next step; after the last, the chain again from the top while `repeats_left`; then nothing
(the chain ran out: the alarm channel is told). An acknowledgement stops the timer, or sets it
to when the acknowledgement expires (the policy's `ack_timeout_minutes`), when the sweep
restarts the chain. Resolving stops it for good.

Exactly once, across restarts and several workers. The timer is a column, so a restart loses
nothing: a worker that died mid-step rolled its transaction back and the alarm is still due.
Each move happens in one transaction holding the alarm's row lock (`skip_locked`: a second
worker takes other alarms), re-checks that the alarm is still due, and writes one `AlarmPage`
per person and step, which the database refuses twice (on SQLite, where row locks do not
exist, the second of two racing sweeps fails on that constraint and rolls back whole). Every
message's idempotency key names the alarm, round, step, person and way, so the outbox sends
it once whatever happens.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ceres.core.audit.services import Actor, acting_as, record_change
from ceres.core.errors import Conflict, Invalid, PermissionDenied
from ceres.oncall import paging, targets
from ceres.oncall.models import (
    Alarm,
    AlarmIntegration,
    AlarmPage,
    EscalationPolicy,
    EscalationStep,
    OnCallSchedule,
)
from ceres.oncall.schedule import on_call_at
from ceres.oncall.selectors import engine_schedule
from ceres.team.models import Person
from ceres.team.tokens import hash_token

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Of the periodic job's 30 s: a run ends before the next is due.
SWEEP_BUDGET = datetime.timedelta(seconds=20)


# --- starting and moving on ----------------------------------------------------------------------


def _steps(alarm: Alarm) -> list[EscalationStep]:
    if alarm.policy is None:
        return []
    return list(alarm.policy.steps.select_related("schedule").order_by("position"))


def _page(alarm: Alarm, steps: list[EscalationStep], now: datetime.datetime) -> None:
    """Page the alarm's current step (alarm.step of alarm.round) and set its timer. A step
    that reaches nobody (a gap, an empty role) passes straight to the next one in the round,
    as PagerDuty does; when no step of the round reaches anyone the timer still runs, so the
    round repeats or the chain runs out."""
    for _ in range(len(steps)):
        step = steps[alarm.step]
        paged = 0
        text = paging.page_text(alarm, alarm.step, alarm.round)
        for person in paging.step_people(step, now):
            key = f"oncall-page-{alarm.pk}-r{alarm.round}-s{alarm.step}-p{person.pk}"
            ways = paging.send(alarm, person, step.via, key=key, text=text)
            AlarmPage.objects.create(
                alarm=alarm,
                person=person,
                round=alarm.round,
                step=alarm.step,
                via=ways,
                paged_at=now,
            )
            paged += 1
        if step.open_outage_issue:
            _open_outage_issue(alarm)
        alarm.next_escalation_at = now + datetime.timedelta(minutes=step.wait_minutes)
        if paged or alarm.step + 1 >= len(steps):
            if not paged:
                log.warning("alarm %s: step %s reached nobody", alarm.pk, alarm.step + 1)
            return
        log.warning("alarm %s: step %s reached nobody, next step now", alarm.pk, alarm.step + 1)
        alarm.step += 1


def start(alarm: Alarm, *, now: datetime.datetime, policy: EscalationPolicy | None = None) -> None:
    """A new alarm (in its creating transaction): post it to the alarm channel, set its
    response target, page the first step. The chain is the integration's unless given."""
    policy = policy or alarm.integration.escalation_policy
    if policy is None:
        return
    alarm.policy = policy
    alarm.ack_due_at = targets.ack_due(policy, alarm.first_seen_at)
    alarm.repeats_left = policy.repeat
    alarm.step, alarm.round = 0, 0
    paging.tell_channel(
        alarm,
        f":rotating_light: {paging.describe(alarm)}\n{paging.alarm_link(alarm)}",
        key=paging.channel_key(alarm),
    )
    steps = _steps(alarm)
    if steps:
        _page(alarm, steps, now)
    alarm.save(
        update_fields=[
            "policy",
            "ack_due_at",
            "repeats_left",
            "step",
            "round",
            "next_escalation_at",
        ]
    )


def _move(alarm: Alarm, now: datetime.datetime) -> str:
    """One move of a due alarm (locked, in a transaction): what happened."""
    steps = _steps(alarm)
    before = {"status": alarm.status, "step": alarm.step, "round": alarm.round}
    if not steps:
        alarm.next_escalation_at = None
        outcome = "no steps"
    elif alarm.status == Alarm.Status.ACKNOWLEDGED:
        # The acknowledgement expired: the chain starts again, repeats and all.
        alarm.status = Alarm.Status.FIRING
        alarm.acknowledged_at, alarm.acknowledged_by = None, None
        alarm.round += 1
        alarm.step = 0
        alarm.repeats_left = alarm.policy.repeat if alarm.policy else 0
        _page(alarm, steps, now)
        outcome = "acknowledgement expired"
    elif alarm.step + 1 < len(steps):
        alarm.step += 1
        _page(alarm, steps, now)
        outcome = "next step"
    elif alarm.repeats_left > 0:
        alarm.repeats_left -= 1
        alarm.round += 1
        alarm.step = 0
        _page(alarm, steps, now)
        outcome = "repeat"
    else:
        alarm.next_escalation_at = None
        paging.tell_channel(
            alarm,
            f":warning: Nobody acknowledged {paging.describe(alarm)}: the escalation chain "
            f"ran out. {paging.alarm_link(alarm)}",
            key=f"oncall-alarm-{alarm.pk}-exhausted-r{alarm.round}",
        )
        outcome = "chain ran out"
    alarm.save(
        update_fields=[
            "status",
            "acknowledged_at",
            "acknowledged_by",
            "step",
            "round",
            "repeats_left",
            "next_escalation_at",
        ]
    )
    after = {"status": alarm.status, "step": alarm.step, "round": alarm.round}
    record_change(
        actor=None,
        action="oncall.alarm.escalate",
        target=alarm,
        target_label=f"{alarm.integration.name}: {alarm.title}"[:200],
        changes={
            name: [before[name], after[name]] for name in before if before[name] != after[name]
        }
        | {"outcome": [None, outcome]},
    )
    return outcome


def due(now: datetime.datetime) -> QuerySet[Alarm]:
    return Alarm.objects.filter(next_escalation_at__lte=now).exclude(status=Alarm.Status.RESOLVED)


@dataclass(frozen=True)
class SweepResult:
    moved: int
    skipped: int


def sweep(*, now: datetime.datetime | None = None, limit: int = SWEEP_BATCH) -> SweepResult:
    """The periodic sweep: move every due alarm one step, each in its own transaction, the
    most overdue first. An alarm another worker holds is skipped (it is moving it); one whose
    move failed is logged and stays due for the next run."""
    now = now or timezone.now()
    ids = list(due(now).order_by("next_escalation_at").values_list("pk", flat=True)[:limit])
    moved = skipped = 0
    with acting_as("escalation"):
        for pk in ids:
            try:
                with transaction.atomic():
                    alarm = (
                        due(now)
                        .select_for_update(skip_locked=True, of=("self",))
                        .select_related("integration", "policy")
                        .filter(pk=pk)
                        .first()
                    )
                    if alarm is None:
                        skipped += 1
                        continue
                    _move(alarm, now)
                    moved += 1
            except IntegrityError:
                # Another sweep paged this step a moment ago (SQLite has no row locks).
                skipped += 1
            except Exception:
                log.exception("alarm %s: escalation failed; it stays due", pk)
                skipped += 1
    return SweepResult(moved=moved, skipped=skipped)


def sweep_all(
    *,
    budget: datetime.timedelta = SWEEP_BUDGET,
    limit: int = SWEEP_BATCH,
    now: datetime.datetime | None = None,
) -> int:
    """The periodic job's run: sweeps back to back while each moved a full batch (there may be
    more due) and the time budget lasts, so a storm of due alarms is paged within a run or two
    rather than `limit` per period. Returns how many alarms moved."""
    started = time.monotonic()
    moved = 0
    while True:
        result = sweep(now=now, limit=limit)
        moved += result.moved
        if result.moved < limit or time.monotonic() - started > budget.total_seconds():
            return moved


# --- acknowledging and resolving -----------------------------------------------------------------


def _locked(alarm_id: int) -> Alarm:
    alarm = (
        Alarm.objects.select_for_update(of=("self",))
        .select_related("integration", "policy", "acknowledged_by")
        .filter(pk=alarm_id)
        .first()
    )
    if alarm is None:
        raise Invalid(f"no alarm {alarm_id}", field="alarm")
    return alarm


def _on_the_team(person: Person | None) -> Person:
    if person is None:
        raise PermissionDenied("only team members are paged", field="person")
    return person


def was_paged(alarm: Alarm, person: Person) -> bool:
    return AlarmPage.objects.filter(alarm=alarm, person=person).exists()


@transaction.atomic
def acknowledge(
    *, actor: Actor, alarm_id: int, person: Person | None, now: datetime.datetime | None = None
) -> Alarm:
    """`person` takes the alarm: escalation stops (until the acknowledgement expires, when the
    policy sets a timeout). Only someone paged for it may: an acknowledgement from anyone else
    would silence the pages of the people actually on call. Acknowledging an alarm already
    acknowledged by the same person changes nothing. `person` None (a user who is not on the
    team): refused."""
    person = _on_the_team(person)
    now = now or timezone.now()
    alarm = _locked(alarm_id)
    if alarm.status == Alarm.Status.RESOLVED:
        raise Conflict("this alarm is resolved already", field="alarm")
    if not was_paged(alarm, person):
        raise PermissionDenied(
            f"{person.name} was not paged for this alarm; only the people paged can acknowledge it",
            field="person",
        )
    if alarm.status == Alarm.Status.ACKNOWLEDGED and alarm.acknowledged_by_id == person.pk:
        return alarm
    before = alarm.status
    alarm.status = Alarm.Status.ACKNOWLEDGED
    alarm.acknowledged_at, alarm.acknowledged_by = now, person
    if alarm.first_acknowledged_at is None:
        alarm.first_acknowledged_at = now
    timeout = alarm.policy.ack_timeout_minutes if alarm.policy else None
    alarm.next_escalation_at = now + datetime.timedelta(minutes=timeout) if timeout else None
    alarm.save(
        update_fields=[
            "status",
            "acknowledged_at",
            "acknowledged_by",
            "first_acknowledged_at",
            "next_escalation_at",
        ]
    )
    record_change(
        actor=actor,
        action="oncall.alarm.acknowledge",
        target=alarm,
        target_label=f"{alarm.integration.name}: {alarm.title}"[:200],
        changes={"status": [before, alarm.status], "acknowledged_by": [None, person.pk]},
    )
    paging.tell_channel(
        alarm,
        f":eyes: Acknowledged by {person.name}.",
        key=f"oncall-alarm-{alarm.pk}-ack-{person.pk}-{int(now.timestamp())}",
    )
    return alarm


@transaction.atomic
def resolve(
    *,
    actor: Actor,
    alarm_id: int,
    person: Person | None,
    may_resolve_any: bool = False,
    now: datetime.datetime | None = None,
) -> Alarm:
    """`person` resolves the alarm by hand: escalation stops for good, and the next
    notification with its key opens a new alarm. Someone paged may; so may whoever holds the
    permission to change alarms (`may_resolve_any`, checked by the caller). Resolving a
    resolved alarm changes nothing."""
    person = _on_the_team(person)
    now = now or timezone.now()
    alarm = _locked(alarm_id)
    if alarm.status == Alarm.Status.RESOLVED:
        return alarm
    if not may_resolve_any and not was_paged(alarm, person):
        raise PermissionDenied(
            f"{person.name} was not paged for this alarm and may not resolve it",
            field="person",
        )
    before = alarm.status
    alarm.status = Alarm.Status.RESOLVED
    alarm.resolved_at, alarm.resolved_by = now, person
    alarm.next_escalation_at = None
    alarm.save(update_fields=["status", "resolved_at", "resolved_by", "next_escalation_at"])
    record_change(
        actor=actor,
        action="oncall.alarm.resolve",
        target=alarm,
        target_label=f"{alarm.integration.name}: {alarm.title}"[:200],
        changes={"status": [before, alarm.status], "resolved_by": [None, person.pk]},
    )
    paging.tell_channel(
        alarm,
        f":white_check_mark: Resolved by {person.name}.",
        key=f"oncall-alarm-{alarm.pk}-resolved",
    )
    return alarm


def resolved_by_source(alarm: Alarm) -> None:
    """The source said the problem is gone (in `alarms._resolve`'s transaction)."""
    alarm.next_escalation_at = None
    alarm.save(update_fields=["next_escalation_at"])
    paging.tell_channel(
        alarm,
        ":white_check_mark: Resolved (the source reported it fixed).",
        key=f"oncall-alarm-{alarm.pk}-resolved",
    )


# --- paging from elsewhere (an automation's `page` action) ---------------------------------------

AUTOMATIONS_INTEGRATION = "Ceres automations"
INTERNAL_PREFIX = "internal"  # shown where a token prefix would be: it has none to show


def _automations_integration() -> AlarmIntegration:
    """The integration that alarms raised inside Ceres belong to. It takes no webhooks: its
    token is random, never shown, and it is inactive (an inactive integration's URL is 401)."""
    integration = AlarmIntegration.objects.filter(
        name=AUTOMATIONS_INTEGRATION, kind=AlarmIntegration.Kind.GENERIC, is_active=False
    ).first()
    if integration is None:
        integration = AlarmIntegration.objects.create(
            name=AUTOMATIONS_INTEGRATION,
            kind=AlarmIntegration.Kind.GENERIC,
            token_hash=hash_token(secrets.token_urlsafe(32)),
            token_prefix=INTERNAL_PREFIX,
            is_active=False,
        )
    return integration


def page_targets() -> set[str]:
    """What an automation's `page` action may name: the chains' and the schedules' keys."""
    return set(EscalationPolicy.objects.values_list("key", flat=True)) | set(
        OnCallSchedule.objects.values_list("key", flat=True)
    )


def page(
    *, target: str, title: str, key: str, link: str = "", now: datetime.datetime | None = None
) -> Alarm:
    """Page `target` about something raised inside Ceres (the after-hours emergency button):
    an escalation chain's key (the alarm follows the chain) or an on-call schedule's (its
    on-call now is paged by Slack and SMS, once, and may acknowledge). The alarm is keyed by
    `key`, so a second call for the same thing returns the same alarm and pages nobody
    again. Raises `Invalid` naming "page" when the target is neither."""
    now = now or timezone.now()
    policy = EscalationPolicy.objects.filter(key=target).first()
    schedule = None if policy else OnCallSchedule.objects.filter(key=target).first()
    if policy is None and schedule is None:
        raise Invalid(f"no escalation chain or on-call schedule {target!r}", field="page")
    integration = _automations_integration()
    existing = Alarm.objects.filter(integration=integration, dedup_key=key[:200]).first()
    if existing is not None:
        return existing
    alarm = Alarm.objects.create(
        integration=integration,
        dedup_key=key[:200],
        title=title[:500],
        severity=Alarm.Severity.CRITICAL,
        first_seen_at=now,
        last_seen_at=now,
        labels={"link": link[:500]} if link else {},
    )
    record_change(
        actor=None,
        action="oncall.alarm.create",
        target=alarm,
        target_label=f"{integration.name}: {alarm.title}"[:200],
        changes={"dedup_key": [None, alarm.dedup_key], "page": [None, target]},
    )
    if policy is not None:
        start(alarm, now=now, policy=policy)
        return alarm
    assert schedule is not None
    key_on_call = on_call_at(engine_schedule(schedule, overrides_from=now), now)
    person = (
        Person.objects.filter(pk=int(key_on_call), is_active=True).first() if key_on_call else None
    )
    if person is None:
        raise Invalid(f"nobody is on call on {schedule.name} now", field="page")
    text = f":rotating_light: {alarm.title}\n{link or paging.alarm_link(alarm)}"
    ways = paging.send(
        alarm, person, ["slack", "sms"], key=f"oncall-page-{alarm.pk}-r0-s0-p{person.pk}", text=text
    )
    AlarmPage.objects.create(alarm=alarm, person=person, round=0, step=0, via=ways, paged_at=now)
    return alarm


# --- the suspected-outage issue ------------------------------------------------------------------


def _open_outage_issue(alarm: Alarm) -> None:
    """ "A suspected outage issue should be created to track the escalation and determine
    root cause": once per alarm, in the confidential repository (an alarm's labels may name
    a customer's host)."""
    if alarm.outage_issue_id is not None:
        return
    from ceres.tracker.models import TrackerRepository
    from ceres.tracker.selectors import repository
    from ceres.tracker.services import open_issue

    body = (
        f"Suspected outage, opened by the escalation of {paging.describe(alarm)}.\n\n"
        f"- First seen: {alarm.first_seen_at:%Y-%m-%d %H:%M %Z}\n"
        f"- Alarm: {paging.alarm_link(alarm)}\n\n"
        "Track the escalation here and determine the root cause."
    )
    try:
        with transaction.atomic():
            issue = open_issue(
                actor=None,
                repository=repository(TrackerRepository.Visibility.CONFIDENTIAL),
                title=f"Suspected outage: {alarm.title}"[:250],
                body=body,
                labels=["suspected outage"],
                key=f"oncall-alarm-{alarm.pk}-outage",
            )
    except Invalid as exc:
        log.error("alarm %s: the suspected-outage issue was refused: %s", alarm.pk, exc)
        return
    alarm.outage_issue = issue
    alarm.save(update_fields=["outage_issue"])


def open_alarms() -> QuerySet[Alarm]:
    return Alarm.objects.filter(~Q(status=Alarm.Status.RESOLVED))
