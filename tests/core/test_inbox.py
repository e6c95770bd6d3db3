from __future__ import annotations

import datetime
import hashlib
import hmac

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.core.inbox import services
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.core.inbox.signatures import verify_hmac_sha256

PROCESS_TASK = "ceres.core.inbox.tasks.process_inbound_event"
Status = InboundEvent.Status


def process_tasks() -> list[int]:
    rows = DBTaskResult.objects.filter(task_path=PROCESS_TASK).order_by("enqueued_at")
    return [row.args_kwargs["kwargs"]["inbound_event_id"] for row in rows]


def record(event_id: str = "Ev01", event_type: str = "message", **payload: object) -> InboundEvent:
    event, _ = services.record_event(
        provider="acme-hooks",
        event_id=event_id,
        event_type=event_type,
        payload=dict(payload) or {"text": "hello"},
        headers={"X-Slack-Request-Timestamp": "1700000000"},
    )
    return event


def write_audit_entry(event: InboundEvent) -> None:
    """A handler's write: it must commit with "processed" or not at all."""
    AuditEntry.objects.create(
        actor_label="slack", action="test", target_type="x", target_id="1", target_label="x"
    )


@pytest.fixture
def handled() -> list[str]:
    calls: list[str] = []

    def handler(event: InboundEvent) -> None:
        calls.append(event.event_id)
        write_audit_entry(event)

    register_handler("acme-hooks", "message", handler)
    return calls


@pytest.mark.django_db
def test_a_new_event_is_stored_and_processing_enqueued_after_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event, created = services.record_event(
            provider="github",
            event_id="delivery-1",
            event_type="issues.labeled",
            payload={"action": "labeled"},
            headers={"X-GitHub-Delivery": "delivery-1"},
        )
    assert created
    assert event.status == Status.RECEIVED
    assert event.headers == {"X-GitHub-Delivery": "delivery-1"}
    assert process_tasks() == [event.pk]


@pytest.mark.django_db
def test_a_repeated_delivery_is_a_no_op(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks, handled: list[str]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = record(text="first")
    services.process_event(inbound_event_id=first.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, created = services.record_event(
            provider="acme-hooks",
            event_id="Ev01",
            event_type="message",
            payload={"text": "changed"},
            headers={},
        )
    assert not created
    assert again.pk == first.pk
    assert callbacks == []
    assert process_tasks() == [first.pk]
    stored = InboundEvent.objects.get()
    assert stored.payload == {"text": "first"}
    assert stored.status == Status.PROCESSED
    assert services.process_event(inbound_event_id=first.pk) == "skipped"
    assert handled == ["Ev01"]
    # The same id from another provider is another event.
    _, created = services.record_event(
        provider="github", event_id="Ev01", event_type="x", payload={}, headers={}
    )
    assert created


@pytest.mark.django_db
def test_bad_identifiers_are_refused() -> None:
    with pytest.raises(Invalid) as caught:
        services.record_event(
            provider="acme-hooks", event_id="", event_type="", payload={}, headers={}
        )
    assert caught.value.field == "event_id"


@pytest.mark.django_db
def test_processing_runs_the_handler_once(handled: list[str]) -> None:
    event = record()
    assert services.process_event(inbound_event_id=event.pk) == Status.PROCESSED
    assert services.process_event(inbound_event_id=event.pk) == "skipped"
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert event.attempts == 1
    assert event.processed_at is not None
    assert handled == ["Ev01"]
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_event_without_a_handler_is_ignored() -> None:
    event = record(event_type="reaction_added")
    assert services.process_event(inbound_event_id=event.pk) == Status.IGNORED
    register_handler("acme-hooks", "*", write_audit_entry)
    other = record(event_id="Ev02", event_type="reaction_added")
    assert services.process_event(inbound_event_id=other.pk) == Status.PROCESSED


@pytest.mark.django_db
def test_a_failing_handler_is_recorded_rolled_back_and_retried(
    settings: Settings, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    settings.CERES_RETRY_BASE_SECONDS = 10
    failures = ["database of the provider is down"]

    def flaky(event: InboundEvent) -> None:
        write_audit_entry(event)
        if failures:
            raise RuntimeError(failures.pop())

    register_handler("acme-hooks", "message", flaky)
    event = record()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.process_event(inbound_event_id=event.pk, now=now) == Status.FAILED
    event.refresh_from_db()
    assert event.attempts == 1
    assert event.last_error == "RuntimeError: database of the provider is down"
    assert event.next_attempt_at is not None
    assert 5 <= (event.next_attempt_at - now).total_seconds() <= 10
    assert AuditEntry.objects.count() == 0  # the handler's write went with its failure
    assert process_tasks() == [event.pk]  # a deferred retry
    # Not before it is due; then it succeeds.
    assert services.process_event(inbound_event_id=event.pk, now=now) == "skipped"
    later = event.next_attempt_at
    assert services.process_event(inbound_event_id=event.pk, now=later) == Status.PROCESSED
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.last_error == ""
    assert event.next_attempt_at is None
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_handler_that_always_fails_ends_dead(settings: Settings) -> None:
    settings.CERES_INBOX_MAX_ATTEMPTS = 2

    def broken(event: InboundEvent) -> None:
        raise ValueError("cannot parse")

    register_handler("acme-hooks", "message", broken)
    event = record()
    far = timezone.now() + datetime.timedelta(days=1)
    assert services.process_event(inbound_event_id=event.pk) == Status.FAILED
    assert services.process_event(inbound_event_id=event.pk, now=far) == Status.DEAD
    assert services.process_event(inbound_event_id=event.pk, now=far) == "skipped"
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.next_attempt_at is None
    assert event.last_error == "ValueError: cannot parse"


@pytest.mark.django_db
def test_the_sweep_re_enqueues_events_that_lost_their_task() -> None:
    now = timezone.now()
    fresh = record(event_id="fresh")
    stuck = record(event_id="stuck")
    retry_due = record(event_id="retry-due")
    retry_later = record(event_id="retry-later")
    done = record(event_id="done")
    past = now - datetime.timedelta(minutes=5)
    InboundEvent.objects.filter(pk=stuck.pk).update(received_at=past, scheduled_for=past)
    InboundEvent.objects.filter(pk=retry_due.pk).update(
        status=Status.FAILED, next_attempt_at=past, scheduled_for=past
    )
    InboundEvent.objects.filter(pk=retry_later.pk).update(
        status=Status.FAILED, next_attempt_at=now + datetime.timedelta(minutes=5)
    )
    InboundEvent.objects.filter(pk=done.pk).update(status=Status.PROCESSED, received_at=past)
    assert services.sweep(now=now) == 2
    assert sorted(process_tasks()) == sorted([stuck.pk, retry_due.pk])
    assert fresh.pk not in process_tasks()


@pytest.mark.django_db
def test_a_backlog_is_not_re_enqueued_and_a_lost_task_once_per_grace() -> None:
    """The worker has not reached an event yet: its task is queued; the sweep leaves it. Once
    the task is overdue by LOST_AFTER it is taken as lost, and re-enqueued once per period."""
    now = timezone.now()
    waiting = record(event_id="backlog")
    minute_ago = now - datetime.timedelta(minutes=1)
    InboundEvent.objects.filter(pk=waiting.pk).update(
        received_at=minute_ago, scheduled_for=minute_ago
    )
    assert services.sweep(now=now) == 0
    later = now + services.LOST_AFTER
    assert services.sweep(now=later) == 1
    assert services.sweep(now=later + datetime.timedelta(seconds=30)) == 0
    assert services.sweep(now=later + services.LOST_AFTER) == 1
    assert process_tasks().count(waiting.pk) == 2


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_hmac_signatures() -> None:
    secret, body = b"s3cret", b'{"action":"opened"}'
    good = sign(secret, body)
    assert verify_hmac_sha256(secret, body, good)
    assert verify_hmac_sha256(secret, body, f"sha256={good}")  # GitHub's header form
    assert verify_hmac_sha256(secret, body, good.upper())
    assert not verify_hmac_sha256(secret, body + b" ", good)
    assert not verify_hmac_sha256(b"other", body, good)
    assert not verify_hmac_sha256(secret, body, "")
    assert not verify_hmac_sha256(secret, body, "zz" * 32)
    assert not verify_hmac_sha256(secret, body, "é" + good[1:])
    assert not verify_hmac_sha256(b"", body, sign(b"", body))
