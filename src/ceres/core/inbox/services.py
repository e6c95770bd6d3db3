"""The inbox: verified inbound events stored once, processed in a task, retried on failure.

`record_event` is what a webhook view calls after checking the signature: it stores the event
under the provider's id and returns at once (providers retry slow answers). Processing happens
after the commit in a task; a delivery the provider retries finds the stored row and changes
nothing, so an event is processed once however many times it arrives.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ceres.core.backoff import retry_delay
from ceres.core.errors import Invalid
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import handler_for

log = logging.getLogger(__name__)

Status = InboundEvent.Status
# Ceres's own events (a message arrived, an SLA breached) go through the inbox too, under this
# provider name, so whatever acts on them (the automation rules) gets the same guarantees.
CERES_EVENTS = "ceres"
SWEEP_GRACE = datetime.timedelta(seconds=10)
# A task that should have run this long ago, for an event still waiting, is taken as lost.
LOST_AFTER = datetime.timedelta(minutes=2)
_MAX_ERROR_LENGTH = 4000


def _check_length(value: str, *, field: str, maximum: int) -> None:
    if not value or len(value) > maximum:
        raise Invalid(f"must be 1 to {maximum} characters", field=field)


def record_event(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    headers: Mapping[str, str],
) -> tuple[InboundEvent, bool]:
    """Store a verified event; (event, True) the first time, (stored event, False) on a repeat.

    A repeat changes nothing, not even the payload: the first delivery is the record.
    """
    _check_length(provider, field="provider", maximum=40)
    _check_length(event_id, field="event_id", maximum=200)
    if len(event_type) > 100:
        raise Invalid("must be at most 100 characters", field="event_type")
    with transaction.atomic():
        event, created = InboundEvent.objects.get_or_create(
            provider=provider,
            event_id=event_id,
            defaults={
                "event_type": event_type,
                "payload": payload,
                "headers": dict(headers),
                "scheduled_for": timezone.now(),
            },
        )
        if created:
            transaction.on_commit(lambda: _schedule(inbound_event_id=event.pk))
    return event, created


def _schedule(*, inbound_event_id: int, run_after: datetime.datetime | None = None) -> None:
    from ceres.core.inbox.tasks import process_inbound_event

    task = process_inbound_event
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # the sweep picks it up when it is due
        task = task.using(run_after=run_after)
    task.enqueue(inbound_event_id=inbound_event_id)


def process_event(*, inbound_event_id: int, now: datetime.datetime | None = None) -> str:
    """Run the event's handler once; returns the status afterwards ("skipped" when there was
    nothing to do: already processed, dead, ignored, or a retry that is not yet due).

    The row is locked for the run, so two workers given the same event run the handler once.
    """
    now = timezone.now() if now is None else now
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update().filter(pk=inbound_event_id).first()
        if event is None or event.status not in (Status.RECEIVED, Status.FAILED):
            return "skipped"
        if event.next_attempt_at is not None and event.next_attempt_at > now:
            return "skipped"
        handler = handler_for(event.provider, event.event_type)
        if handler is None:
            event.status, event.processed_at = Status.IGNORED, now
            event.save(update_fields=["status", "processed_at"])
            log.info("inbox %s (%s): no handler, ignored", event, event.event_type)
            return Status.IGNORED
        event.attempts += 1
        try:
            with transaction.atomic():
                handler(event)
        except Exception as exc:
            _record_failure(event, error=exc, now=now)
        else:
            event.status, event.processed_at = Status.PROCESSED, timezone.now()
            event.next_attempt_at, event.last_error = None, ""
        event.save(
            update_fields=[
                "status",
                "attempts",
                "next_attempt_at",
                "last_error",
                "processed_at",
                "scheduled_for",
            ]
        )
    return event.status


def _record_failure(event: InboundEvent, *, error: Exception, now: datetime.datetime) -> None:
    event.last_error = f"{type(error).__name__}: {error}"[:_MAX_ERROR_LENGTH]
    if event.attempts >= settings.CERES_INBOX_MAX_ATTEMPTS:
        event.status, event.next_attempt_at = Status.DEAD, None
        log.error("inbox %s is dead after %d attempts: %s", event, event.attempts, error)
        return
    delay = datetime.timedelta(seconds=retry_delay(attempt=event.attempts))
    event.status, event.next_attempt_at = Status.FAILED, now + delay
    event.scheduled_for = event.next_attempt_at
    retry_at = event.next_attempt_at
    transaction.on_commit(lambda: _schedule(inbound_event_id=event.pk, run_after=retry_at))
    log.warning(
        "inbox %s attempt %d failed, retry at %s: %s", event, event.attempts, retry_at, error
    )


def sweep(*, now: datetime.datetime | None = None) -> int:
    """Give a new task to events that lost theirs: received but never processed (a crash
    between commit and enqueue, a worker killed mid-task), and failed ones whose retry is
    overdue. An event is taken as lost only when its task was due LOST_AFTER ago: a backlog
    the worker has not reached yet is left alone. Returns how many."""
    now = timezone.now() if now is None else now
    cutoff = now - SWEEP_GRACE
    forgotten = Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now - LOST_AFTER)
    lost = (
        Q(status=Status.RECEIVED, received_at__lte=cutoff)
        | Q(status=Status.FAILED, next_attempt_at__lte=cutoff)
    ) & forgotten
    ids = list(
        InboundEvent.objects.filter(lost)
        .order_by("received_at")
        .values_list("pk", flat=True)[:1000]
    )
    if ids:
        InboundEvent.objects.filter(pk__in=ids).update(scheduled_for=now)
    for inbound_event_id in ids:
        _schedule(inbound_event_id=inbound_event_id)
    if ids:
        log.info("inbox sweep re-enqueued %d event(s)", len(ids))
    return len(ids)
