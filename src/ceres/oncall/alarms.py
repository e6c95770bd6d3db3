"""Every write to alarm integrations and alarms as notifications come in; a new alarm starts
its escalation (`oncall.escalation`) in the transaction that opens it, a resolved one stops it.

`ingest` turns notifications into alarms. A notification that fires for a key with an
unresolved alarm updates it (count + 1, last seen, title, severity, labels, payload); one that
fires for a key with none opens a new alarm; a resolved notification resolves the unresolved
alarm, and is accepted and ignored when there is none (Alertmanager sends "resolved" for alerts
it may never have delivered as firing). Each notification is its own transaction, so a flood
of one alarm is a row lock held for a moment per notification, not one long transaction.

Two deliveries of a new alarm at the same time both find nothing unresolved and both insert;
the partial unique constraint (one unresolved alarm per integration and key) refuses the
second, which then retries and finds the first's row to update. Lookups of the unresolved
alarm lock it (`select_for_update`), so concurrent repeats never lose a count.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.core.audit.services import Actor, acting_as, record_change
from ceres.core.errors import Invalid
from ceres.oncall import escalation
from ceres.oncall.alarm_formats import AlarmEvent
from ceres.oncall.models import Alarm, AlarmIntegration, OnCallSchedule
from ceres.team.tokens import hash_token

MAX_INTEGRATION_NAME = 100
TOKEN_PREFIX_LENGTH = 8
_ATTEMPTS = 3


@transaction.atomic
def create_integration(
    *,
    actor: Actor,
    name: str,
    kind: str,
    schedule: OnCallSchedule | None = None,
) -> tuple[AlarmIntegration, str]:
    """A new integration and its token. The token is returned once and never stored: the URL
    to give the sender is `/integrations/alerts/<token>`."""
    if not isinstance(name, str) or not name.strip():
        raise Invalid("required: a name for where the alarms come from", field="name")
    name = name.strip()
    if len(name) > MAX_INTEGRATION_NAME or "\x00" in name:
        raise Invalid(f"at most {MAX_INTEGRATION_NAME} characters, no NUL", field="name")
    if kind not in AlarmIntegration.Kind.values:
        raise Invalid(f"must be one of {', '.join(AlarmIntegration.Kind.values)}", field="kind")
    if schedule is not None and (not isinstance(schedule, OnCallSchedule) or schedule.pk is None):
        raise Invalid("must be a stored on-call schedule", field="schedule")
    token = secrets.token_urlsafe(32)
    integration = AlarmIntegration.objects.create(
        name=name,
        kind=kind,
        token_hash=hash_token(token),
        token_prefix=token[:TOKEN_PREFIX_LENGTH],
        schedule=schedule,
    )
    record_change(
        actor=actor,
        action="oncall.integration.create",
        target=integration,
        target_label=name,
        changes={
            "name": [None, name],
            "kind": [None, kind],
            "token_prefix": [None, integration.token_prefix],
            "schedule": [None, schedule.pk if schedule else None],
        },
    )
    return integration, token


def integration_for_token(token: str) -> AlarmIntegration | None:
    """The active integration whose token this is, or None. Found by the token's SHA-256: an
    attacker cannot learn a token from how long the lookup takes, since the hash they would
    have to guess at is of a 256-bit secret."""
    integration = AlarmIntegration.objects.filter(token_hash=hash_token(token)).first()
    if integration is None or not integration.is_active:
        return None
    return integration


def _unresolved(integration: AlarmIntegration, dedup_key: str) -> Alarm | None:
    return (
        Alarm.objects.select_for_update()
        .filter(integration=integration, dedup_key=dedup_key)
        .exclude(status=Alarm.Status.RESOLVED)
        .first()
    )


def _label(integration: AlarmIntegration, alarm: Alarm) -> str:
    return f"{integration.name}: {alarm.title}"[:200]


def _fire(integration: AlarmIntegration, event: AlarmEvent, now: datetime.datetime) -> Alarm:
    for _ in range(_ATTEMPTS):
        with transaction.atomic():
            alarm = _unresolved(integration, event.dedup_key)
            if alarm is not None:
                alarm.count += 1
                alarm.last_seen_at = now
                alarm.title = event.title
                alarm.severity = event.severity
                alarm.labels = event.labels
                alarm.payload = event.payload
                alarm.save(
                    update_fields=[
                        "count",
                        "last_seen_at",
                        "title",
                        "severity",
                        "labels",
                        "payload",
                    ]
                )
                return alarm
            try:
                with transaction.atomic():
                    alarm = Alarm.objects.create(
                        integration=integration,
                        dedup_key=event.dedup_key,
                        title=event.title,
                        severity=event.severity,
                        status=Alarm.Status.FIRING,
                        first_seen_at=now,
                        last_seen_at=now,
                        labels=event.labels,
                        payload=event.payload,
                    )
            except IntegrityError:
                continue  # another delivery opened it a moment ago: update that one
            escalation.start(alarm, now=now)
            record_change(
                actor=None,
                action="oncall.alarm.create",
                target=alarm,
                target_label=_label(integration, alarm),
                changes={
                    "dedup_key": [None, alarm.dedup_key],
                    "severity": [None, alarm.severity],
                    "status": [None, alarm.status],
                },
            )
            return alarm
    raise IntegrityError(f"alarm {event.dedup_key!r}: no unresolved row after {_ATTEMPTS} tries")


@transaction.atomic
def _resolve(
    integration: AlarmIntegration, event: AlarmEvent, now: datetime.datetime
) -> Alarm | None:
    alarm = _unresolved(integration, event.dedup_key)
    if alarm is None:
        return None
    before = alarm.status
    alarm.status = Alarm.Status.RESOLVED
    alarm.resolved_at = now
    alarm.last_seen_at = now
    alarm.payload = event.payload
    alarm.save(update_fields=["status", "resolved_at", "last_seen_at", "payload"])
    record_change(
        actor=None,
        action="oncall.alarm.resolve",
        target=alarm,
        target_label=_label(integration, alarm),
        changes={"status": [before, alarm.status]},
    )
    escalation.resolved_by_source(alarm)
    return alarm


def ingest(
    *,
    integration: AlarmIntegration,
    events: Iterable[AlarmEvent],
    now: datetime.datetime | None = None,
) -> list[Alarm]:
    """Apply the notifications in order; the alarms they touched, in order (a resolved
    notification for nothing unresolved touches none)."""
    now = now or timezone.now()
    touched: list[Alarm] = []
    with acting_as(f"alarms: {integration.name}"[:100]):
        for event in events:
            if event.status == "resolved":
                alarm = _resolve(integration, event, now)
            else:
                alarm = _fire(integration, event, now)
            if alarm is not None:
                touched.append(alarm)
    return touched
