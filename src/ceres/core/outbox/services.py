"""The outbox: outbound effects written with the change that causes them, delivered afterwards.

The guarantee is "at least once, recognisably": a crash or an outage delays a message, never
loses it, and every attempt carries the same idempotency key so the receiver can drop a copy.

A delivery runs in three short steps, none of which holds a transaction while the provider is
being called:

1. claim: one conditional UPDATE moves the row from pending (and due) or from an expired lease
   to delivering, with a new lease and one more attempt. Only one worker wins; a worker killed
   mid-send leaves a lease that expires, and the sweep hands the row to another worker.
2. send: the channel's sender talks to the provider.
3. record: sent, or pending again at `next_attempt_at`, or dead. The lease's expiry time is the
   fence for a failure: a worker whose lease was taken over does not overwrite the new owner.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from ceres.core.backoff import retry_delay
from ceres.core.errors import Invalid
from ceres.core.outbox.channels import (
    PermanentFailure,
    RetryLater,
    get_channel,
    unconfigured_channels,
)
from ceres.core.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

Status = OutboxMessage.Status

# A pending row overdue by this much has lost its task (a crash between commit and enqueue, a
# lost deferred retry): the sweep enqueues a new one. Younger rows still have theirs queued.
SWEEP_GRACE = datetime.timedelta(seconds=10)
_MAX_ERROR_LENGTH = 4000


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return timezone.now() if now is None else now


def enqueue(
    *, channel: str, idempotency_key: str, payload: dict[str, Any], ordering_key: str = ""
) -> OutboxMessage:
    """Write an outbound message in the caller's transaction; it leaves after the commit.

    The idempotency key names the effect, not the attempt ("conversation-42-ack-email"): a
    second call with the same key returns the first row unchanged, so a retried request or a
    re-run sweep cannot send twice. Messages sharing an `ordering_key` (a Slack thread) are
    delivered one at a time in the order they were enqueued, even across retries and outages.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise Invalid("must be 1 to 200 characters", field="idempotency_key")
    if len(ordering_key) > 200:
        raise Invalid("must be at most 200 characters", field="ordering_key")
    registered = get_channel(channel)
    if registered.validate is not None:
        payload = registered.validate(payload)
    with transaction.atomic():
        message, created = OutboxMessage.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "channel": channel,
                "payload": payload,
                "ordering_key": ordering_key,
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            transaction.on_commit(lambda: _schedule(message_id=message.pk))
        elif message.channel != channel:
            raise Invalid(
                f"idempotency key already used for the {message.channel!r} channel",
                field="idempotency_key",
            )
    return message


def _schedule(*, message_id: int, run_after: datetime.datetime | None = None) -> None:
    from ceres.core.outbox.tasks import deliver_outbox_message

    task = deliver_outbox_message
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # the sweep picks it up when it is due
        task = task.using(run_after=run_after)
    task.enqueue(message_id=message_id)


@dataclass(frozen=True)
class Claim:
    message: OutboxMessage
    lease_expires_at: datetime.datetime


WAITING = (Status.PENDING, Status.DELIVERING)


def claim(*, message_id: int, now: datetime.datetime | None = None) -> Claim | None:
    """Take the row for one attempt, or None when it is not ours to send (already sent, dead,
    not yet due, another worker holds a live lease, or an earlier message of its ordering key
    has not left yet: that one's delivery hands over to this one)."""
    now = _now(now)
    lease_expires_at = now + datetime.timedelta(seconds=settings.CERES_OUTBOX_LEASE_SECONDS)
    claimable = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.DELIVERING, lease_expires_at__lt=now
    )
    earlier_waiting = OutboxMessage.objects.filter(
        ordering_key=OuterRef("ordering_key"), pk__lt=OuterRef("pk"), status__in=WAITING
    ).exclude(ordering_key="")
    updated = (
        OutboxMessage.objects.filter(claimable, pk=message_id)
        .filter(attempts__lt=settings.CERES_OUTBOX_MAX_ATTEMPTS)
        .exclude(Exists(earlier_waiting))
        .update(
            status=Status.DELIVERING,
            lease_expires_at=lease_expires_at,
            attempts=F("attempts") + 1,
        )
    )
    if not updated:
        return None
    return Claim(OutboxMessage.objects.get(pk=message_id), lease_expires_at)


def deliver_message(*, message_id: int, now: datetime.datetime | None = None) -> str:
    """One delivery attempt; returns the row's status afterwards ("skipped" when not claimed).

    Idempotent: a duplicate task for a row that is sent, dead, not due or leased is a no-op.
    """
    if _waits_for_configuration(message_id, now=now):
        return "skipped"
    taken = claim(message_id=message_id, now=now)
    if taken is None:
        return "skipped"
    message = taken.message
    try:
        channel = get_channel(message.channel)
        reference = channel.send(message)
    except RetryLater as exc:
        return _record_failure(taken, error=exc, retry_after=exc.retry_after, now=now)
    except PermanentFailure as exc:
        return _record_failure(taken, error=exc, permanent=True, now=now)
    except Exception as exc:
        return _record_failure(taken, error=exc, now=now)
    _record_sent(message, reference=reference or "")
    return Status.SENT


# While a channel is not configured its messages are looked at again this often (and the
# sweep leaves them alone until then).
UNCONFIGURED_RECHECK = datetime.timedelta(minutes=5)
_warned_unconfigured: set[str] = set()


def _waits_for_configuration(message_id: int, *, now: datetime.datetime | None) -> bool:
    """A message of a channel whose provider is not set up waits, without an attempt: it is
    sent once the operator configures it (within UNCONFIGURED_RECHECK). One warning per
    channel per process, not one per message per retry."""
    unconfigured = unconfigured_channels()
    if not unconfigured:
        return False  # the usual case: no look-up on the way to every delivery
    row = (
        OutboxMessage.objects.filter(pk=message_id, status=Status.PENDING)
        .values_list("channel", flat=True)
        .first()
    )
    if row not in unconfigured:  # None too: sent or dead already, nothing waits
        return False
    channel = get_channel(row)
    later = _now(now) + UNCONFIGURED_RECHECK
    OutboxMessage.objects.filter(pk=message_id, status=Status.PENDING).update(next_attempt_at=later)
    if channel.name not in _warned_unconfigured:
        _warned_unconfigured.add(channel.name)
        waiting = OutboxMessage.objects.filter(channel=channel.name, status=Status.PENDING).count()
        log.warning(
            "outbox channel %s is not configured: %d message(s) wait until it is",
            channel.name,
            waiting,
        )
    return True


def _record_sent(message: OutboxMessage, *, reference: str) -> None:
    # Not fenced by the lease: if our lease was taken over while the provider was slow, the
    # message still left, and "sent" is the truth whoever holds the row now.
    OutboxMessage.objects.filter(pk=message.pk).exclude(status=Status.SENT).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_reference=reference[:200],
        lease_expires_at=None,
        last_error="",
    )
    log.info("outbox %s sent (%s, attempt %d)", _label(message), reference, message.attempts)
    _hand_over(message)


def _hand_over(message: OutboxMessage) -> None:
    """The next message of the same ordering key was waiting for this one: send it now."""
    if not message.ordering_key:
        return
    following = (
        OutboxMessage.objects.filter(
            ordering_key=message.ordering_key, pk__gt=message.pk, status=Status.PENDING
        )
        .order_by("pk")
        .values_list("pk", "next_attempt_at")
        .first()
    )
    if following is not None:
        next_id, due = following
        _schedule(message_id=next_id, run_after=due if due > timezone.now() else None)


def _label(message: OutboxMessage) -> str:
    return f"#{message.pk} {message.channel}:{message.idempotency_key}"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR_LENGTH]


def _record_failure(
    taken: Claim,
    *,
    error: BaseException,
    retry_after: float | None = None,
    permanent: bool = False,
    now: datetime.datetime | None = None,
) -> str:
    message = taken.message
    now = _now(now)  # after the send, which may have taken a while
    out_of_attempts = message.attempts >= settings.CERES_OUTBOX_MAX_ATTEMPTS
    if permanent or out_of_attempts:
        status, next_attempt_at = Status.DEAD, message.next_attempt_at
    else:
        delay = retry_after if retry_after is not None else retry_delay(attempt=message.attempts)
        status, next_attempt_at = Status.PENDING, now + datetime.timedelta(seconds=max(delay, 0))
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(
            pk=message.pk, status=Status.DELIVERING, lease_expires_at=taken.lease_expires_at
        ).update(
            status=status,
            next_attempt_at=next_attempt_at,
            lease_expires_at=None,
            last_error=_describe(error),
        )
        if updated and status == Status.PENDING:
            transaction.on_commit(
                lambda: _schedule(message_id=message.pk, run_after=next_attempt_at)
            )
    if not updated:
        log.warning("outbox %s lost its lease during a failed attempt: %s", _label(message), error)
        return "skipped"
    if status == Status.DEAD:
        log.error("outbox %s dead after %d attempts: %s", _label(message), message.attempts, error)
        _hand_over(message)  # a dead message must not hold up the rest of its thread
    else:
        log.warning(
            "outbox %s attempt %d failed, retry at %s: %s",
            _label(message),
            message.attempts,
            next_attempt_at.isoformat(),
            error,
        )
    return status


def sweep(*, now: datetime.datetime | None = None) -> int:
    """Find messages whose task is gone and give them a new one; returns how many.

    Two kinds: pending rows overdue by more than SWEEP_GRACE, and delivering rows whose lease
    expired (the worker died mid-send). Rows out of attempts (a worker died on the last one,
    or the maximum was lowered) are dead. A duplicate task is harmless: `claim` lets one
    through.
    """
    now = _now(now)
    expired = Q(status=Status.DELIVERING, lease_expires_at__lt=now)
    max_attempts = settings.CERES_OUTBOX_MAX_ATTEMPTS
    OutboxMessage.objects.filter(
        expired | Q(status=Status.PENDING), attempts__gte=max_attempts
    ).update(
        status=Status.DEAD,
        lease_expires_at=None,
        last_error=Concat(
            F("last_error"),
            Value(f" (out of attempts: {max_attempts}; a worker may have died on the last)"),
        ),
    )
    overdue = Q(status=Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
    ids = list(
        OutboxMessage.objects.filter(overdue | expired)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:1000]
    )
    for message_id in ids:
        _schedule(message_id=message_id)
    if ids:
        log.info("outbox sweep re-enqueued %d message(s)", len(ids))
    return len(ids)
