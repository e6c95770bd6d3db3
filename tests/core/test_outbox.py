from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from ceres.core.errors import Invalid
from ceres.core.outbox import services
from ceres.core.outbox.channels import PermanentFailure, RetryLater, register_channel
from ceres.core.outbox.email_channel import IDEMPOTENCY_HEADER, message_id_for
from ceres.core.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db
DELIVER_TASK = "ceres.core.outbox.tasks.deliver_outbox_message"
Status = OutboxMessage.Status
EMAIL = {"to": ["wile@acme.example"], "cc": [], "subject": "Hello", "body": "Hi Wile"}


class FakeChannel:
    """A sender that plays back a script of outcomes: a reference string or an exception."""

    def __init__(self, *outcomes: str | BaseException) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[str] = []

    def __call__(self, message: OutboxMessage) -> str:
        self.calls.append(message.idempotency_key)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture
def fake_channel() -> Callable[..., FakeChannel]:
    def make(*outcomes: str | BaseException) -> FakeChannel:
        channel = FakeChannel(*outcomes)
        register_channel("fake", channel)
        return channel

    return make


@pytest.fixture(autouse=True)
def quick_retries(settings: Settings) -> None:
    settings.CERES_RETRY_BASE_SECONDS = 10
    settings.CERES_RETRY_MAX_SECONDS = 3600
    settings.CERES_OUTBOX_MAX_ATTEMPTS = 3
    settings.CERES_OUTBOX_LEASE_SECONDS = 60


def delivery_tasks() -> list[int]:
    rows = DBTaskResult.objects.filter(task_path=DELIVER_TASK).order_by("enqueued_at")
    return [row.args_kwargs["kwargs"]["message_id"] for row in rows]


def make_due(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_enqueue_is_idempotent_and_schedules_delivery_after_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            first = services.enqueue(channel="email", idempotency_key="ack-42", payload=EMAIL)
            assert delivery_tasks() == []  # nothing leaves before the commit
        second = services.enqueue(
            channel="email", idempotency_key="ack-42", payload={**EMAIL, "subject": "Other"}
        )
    assert second.pk == first.pk
    assert OutboxMessage.objects.count() == 1
    assert OutboxMessage.objects.get().payload["subject"] == "Hello"
    assert len(callbacks) == 1
    assert delivery_tasks() == [first.pk]


def test_a_rolled_back_transaction_sends_nothing(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    def change_that_fails() -> None:
        with transaction.atomic():
            services.enqueue(channel="email", idempotency_key="ack-43", payload=EMAIL)
            raise RuntimeError("the state change failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        change_that_fails()
    assert callbacks == []
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**EMAIL, "to": []}, "payload.to"),
        ({**EMAIL, "to": ["not an address"]}, "payload.to"),
        ({**EMAIL, "cc": "x@"}, "payload.cc"),
        ({**EMAIL, "subject": "two\nlines"}, "payload.subject"),
        ({k: v for k, v in EMAIL.items() if k != "body"}, "payload.body"),
    ],
)
def test_a_bad_email_is_refused_at_enqueue(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        services.enqueue(channel="email", idempotency_key="bad", payload=payload)
    assert caught.value.field == field
    assert not OutboxMessage.objects.exists()


def test_unknown_channel_and_key_reuse_across_channels_are_refused(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    fake_channel()
    with pytest.raises(Invalid) as caught:
        services.enqueue(channel="pigeon", idempotency_key="k", payload={})
    assert caught.value.field == "channel"
    services.enqueue(channel="fake", idempotency_key="k", payload={})
    with pytest.raises(Invalid) as caught:
        services.enqueue(channel="email", idempotency_key="k", payload=EMAIL)
    assert caught.value.field == "idempotency_key"


def test_email_delivery_carries_a_message_id_derived_from_the_key() -> None:
    message = services.enqueue(
        channel="email",
        idempotency_key="conversation-7-ack",
        payload={**EMAIL, "cc": ["csm@ceres.example"], "reply_to": ["support@ceres.example"]},
    )
    assert services.deliver_message(message_id=message.pk) == Status.SENT
    [sent] = mail.outbox
    assert sent.to == EMAIL["to"]
    assert sent.cc == ["csm@ceres.example"]
    assert sent.reply_to == ["support@ceres.example"]
    headers = sent.message()
    assert headers["Message-ID"] == message_id_for("conversation-7-ack")
    assert headers[IDEMPOTENCY_HEADER] == "conversation-7-ack"
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.sent_at is not None
    assert message.provider_reference == message_id_for("conversation-7-ack")
    assert message.attempts == 1
    assert message.lease_expires_at is None
    # A duplicate task for a sent message does nothing.
    assert services.deliver_message(message_id=message.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_message_ids_are_deterministic_and_distinct() -> None:
    assert message_id_for("a") == message_id_for("a") != message_id_for("b")
    assert message_id_for("key with spaces <and> @signs").startswith("<ceres.")


def test_a_transient_failure_backs_off_exponentially_with_jitter(
    fake_channel: Callable[..., FakeChannel],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    channel = fake_channel(ConnectionError("refused"), TimeoutError("slow"), "ref-1")
    message = services.enqueue(channel="fake", idempotency_key="k1", payload={})

    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_message(message_id=message.pk) == Status.PENDING
    message.refresh_from_db()
    assert message.attempts == 1
    assert "ConnectionError: refused" in message.last_error
    first_delay = (message.next_attempt_at - before).total_seconds()
    assert 5 <= first_delay <= 10.5  # half of the 10 s base, plus up to the other half
    # The retry is queued for when it is due; before that a delivery does nothing.
    assert delivery_tasks() == [message.pk]
    assert DBTaskResult.objects.get().run_after == message.next_attempt_at
    assert services.deliver_message(message_id=message.pk) == "skipped"

    make_due(message)
    before = timezone.now()
    assert services.deliver_message(message_id=message.pk) == Status.PENDING
    message.refresh_from_db()
    second_delay = (message.next_attempt_at - before).total_seconds()
    assert 10 <= second_delay <= 20.5  # doubled

    make_due(message)
    assert services.deliver_message(message_id=message.pk) == Status.SENT
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_reference == "ref-1"
    assert message.last_error == ""
    assert len(channel.calls) == 3


def test_retry_after_from_the_provider_is_honoured(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    fake_channel(RetryLater(retry_after=120), RetryLater(None))
    message = services.enqueue(channel="fake", idempotency_key="k2", payload={})
    now = timezone.now()
    assert services.deliver_message(message_id=message.pk, now=now) == Status.PENDING
    message.refresh_from_db()
    delay = (message.next_attempt_at - now).total_seconds()
    assert 120 <= delay <= 121
    assert "RetryLater" in message.last_error
    # Not a second earlier.
    almost = message.next_attempt_at - datetime.timedelta(seconds=1)
    assert services.deliver_message(message_id=message.pk, now=almost) == "skipped"
    # Without a Retry-After value, the ordinary backoff applies.
    later = message.next_attempt_at
    assert services.deliver_message(message_id=message.pk, now=later) == Status.PENDING
    message.refresh_from_db()
    assert message.next_attempt_at > later


def test_dead_after_max_attempts_with_the_last_error(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    channel = fake_channel(*(ConnectionError(f"down {n}") for n in range(1, 10)))
    message = services.enqueue(channel="fake", idempotency_key="k3", payload={})
    outcomes = []
    for _ in range(5):
        outcomes.append(services.deliver_message(message_id=message.pk))
        make_due(message)
    assert outcomes == [Status.PENDING, Status.PENDING, Status.DEAD, "skipped", "skipped"]
    message.refresh_from_db()
    assert message.status == Status.DEAD
    assert message.attempts == 3
    assert message.last_error == "ConnectionError: down 3"
    assert len(channel.calls) == 3


def test_a_permanent_failure_is_dead_at_once(fake_channel: Callable[..., FakeChannel]) -> None:
    fake_channel(PermanentFailure("550 no such user"))
    message = services.enqueue(channel="fake", idempotency_key="k4", payload={})
    assert services.deliver_message(message_id=message.pk) == Status.DEAD
    message.refresh_from_db()
    assert message.attempts == 1
    assert "550 no such user" in message.last_error


def test_the_lease_lets_one_worker_through_until_it_expires(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    fake_channel()
    message = services.enqueue(channel="fake", idempotency_key="k5", payload={})
    now = timezone.now()
    first = services.claim(message_id=message.pk, now=now)
    assert first is not None
    assert first.lease_expires_at == now + datetime.timedelta(seconds=60)
    assert services.claim(message_id=message.pk, now=now) is None
    assert services.claim(message_id=message.pk, now=now + datetime.timedelta(seconds=59)) is None
    # The first worker died; after the lease another worker takes the message.
    after = now + datetime.timedelta(seconds=61)
    second = services.claim(message_id=message.pk, now=after)
    assert second is not None
    assert second.message.attempts == 2
    # The first worker comes back with a failure: it no longer owns the row.
    assert services._record_failure(first, error=ConnectionError("late")) == "skipped"
    message.refresh_from_db()
    assert message.status == Status.DELIVERING
    assert message.last_error == ""
    assert message.lease_expires_at == second.lease_expires_at


def test_the_sweep_re_enqueues_lost_work_and_buries_exhausted_leases(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    fake_channel()
    now = timezone.now()
    fresh = services.enqueue(channel="fake", idempotency_key="fresh", payload={})
    overdue = services.enqueue(channel="fake", idempotency_key="overdue", payload={})
    crashed = services.enqueue(channel="fake", idempotency_key="crashed", payload={})
    exhausted = services.enqueue(channel="fake", idempotency_key="exhausted", payload={})
    sent = services.enqueue(channel="fake", idempotency_key="sent", payload={})
    lowered = services.enqueue(channel="fake", idempotency_key="lowered", payload={})
    OutboxMessage.objects.filter(pk=lowered.pk).update(attempts=5, last_error="E: timeout")
    past = now - datetime.timedelta(minutes=5)
    OutboxMessage.objects.filter(pk=overdue.pk).update(next_attempt_at=past)
    OutboxMessage.objects.filter(pk__in=[crashed.pk, exhausted.pk]).update(
        status=Status.DELIVERING, lease_expires_at=past, attempts=1
    )
    OutboxMessage.objects.filter(pk=exhausted.pk).update(attempts=3)
    OutboxMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, next_attempt_at=past)

    assert services.sweep(now=now) == 2
    assert sorted(delivery_tasks()) == sorted([overdue.pk, crashed.pk])
    assert fresh.pk not in delivery_tasks()  # its own task is still queued
    exhausted.refresh_from_db()
    assert exhausted.status == Status.DEAD
    assert "out of attempts" in exhausted.last_error
    lowered.refresh_from_db()  # CERES_OUTBOX_MAX_ATTEMPTS was lowered below its attempts
    assert lowered.status == Status.DEAD
    assert lowered.last_error.startswith("E: timeout (out of attempts: 3")
    # The re-enqueued crashed message is delivered by whoever runs the new task.
    assert services.deliver_message(message_id=crashed.pk) == Status.SENT


# --- ordering keys: one Slack thread's messages leave one at a time, in order ----------------


def test_messages_of_one_ordering_key_leave_in_order_through_an_outage(
    fake_channel: Callable[..., FakeChannel],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    channel = fake_channel(RetryLater(retry_after=30), "ts-1", "ts-2", "ts-3")
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = (
            services.enqueue(
                channel="fake", idempotency_key=f"t-{n}", payload={}, ordering_key="C1:100.1"
            )
            for n in (1, 2, 3)
        )
    # The provider is rate-limiting: the first waits 30 s, and the others wait behind it
    # even though they are due.
    assert services.deliver_message(message_id=first.pk) == Status.PENDING
    assert services.deliver_message(message_id=second.pk) == "skipped"
    assert services.deliver_message(message_id=third.pk) == "skipped"
    assert channel.calls == ["t-1"]
    later = timezone.now() + datetime.timedelta(seconds=31)
    DBTaskResult.objects.all().delete()
    assert services.deliver_message(message_id=first.pk, now=later) == Status.SENT
    # Sending the first handed over to the second (a task for it), not to the third.
    assert delivery_tasks() == [second.pk]
    assert services.deliver_message(message_id=third.pk, now=later) == "skipped"
    assert services.deliver_message(message_id=second.pk, now=later) == Status.SENT
    assert services.deliver_message(message_id=third.pk, now=later) == Status.SENT
    assert channel.calls == ["t-1", "t-1", "t-2", "t-3"]


def test_a_dead_message_does_not_hold_up_its_thread(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    channel = fake_channel(PermanentFailure("channel_not_found"), "ok")
    first = services.enqueue(channel="fake", idempotency_key="d-1", payload={}, ordering_key="T")
    second = services.enqueue(channel="fake", idempotency_key="d-2", payload={}, ordering_key="T")
    assert services.deliver_message(message_id=first.pk) == Status.DEAD
    assert services.deliver_message(message_id=second.pk) == Status.SENT
    assert channel.calls == ["d-1", "d-2"]


def test_other_ordering_keys_and_unordered_messages_do_not_wait(
    fake_channel: Callable[..., FakeChannel],
) -> None:
    fake_channel(ConnectionError("down"), "ok", "ok")
    blocked = services.enqueue(channel="fake", idempotency_key="o-1", payload={}, ordering_key="A")
    other = services.enqueue(channel="fake", idempotency_key="o-2", payload={}, ordering_key="B")
    free = services.enqueue(channel="fake", idempotency_key="o-3", payload={})
    assert services.deliver_message(message_id=blocked.pk) == Status.PENDING
    assert services.deliver_message(message_id=other.pk) == Status.SENT
    assert services.deliver_message(message_id=free.pk) == Status.SENT


def test_an_over_long_ordering_key_is_refused(fake_channel: Callable[..., FakeChannel]) -> None:
    fake_channel()
    with pytest.raises(Invalid) as refused:
        services.enqueue(channel="fake", idempotency_key="x", payload={}, ordering_key="k" * 201)
    assert refused.value.field == "ordering_key"
    assert not OutboxMessage.objects.exists()
