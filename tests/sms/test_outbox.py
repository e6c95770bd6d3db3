"""The "sms" outbox channel against the Twilio fake, through the real outbox: `send_sms` or
`enqueue`, then `deliver_message` as a worker would run it (with `now=` standing for the passing
of time)."""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

import pytest
from django.core.checks import Warning
from django.db import transaction
from django.utils import timezone
from pytest_django import Settings

from ceres.core.errors import Invalid
from ceres.core.outbox import services
from ceres.core.outbox import services as outbox_services
from ceres.core.outbox.channels import RetryLater, get_channel, retry_after
from ceres.core.outbox.models import OutboxMessage
from ceres.sms.checks import check_twilio
from ceres.sms.client import outbox_error, twilio_client
from ceres.sms.outbox import LOOKUP_MARGIN, same_text, send_sms
from tests.fakes.twilio import SERVICE_NUMBER, TwilioCall, TwilioFake

pytestmark = pytest.mark.django_db
Status = OutboxMessage.Status
VP = "+15555550100"  # the VP of Customer Success
ON_CALL = "+447700900123"
FROM = "+15005550001"
SERVICE = "MG" + "5e" * 16
LEASE = 60


@pytest.fixture
def twilio(twilio_fake: TwilioFake, settings: Settings) -> TwilioFake:
    settings.CERES_TWILIO_ACCOUNT_SID = twilio_fake.account_sid
    settings.CERES_TWILIO_AUTH_TOKEN = twilio_fake.auth_token
    settings.CERES_TWILIO_FROM = FROM
    settings.CERES_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.CERES_TWILIO_API_URL = twilio_fake.url
    settings.CERES_TWILIO_TIMEOUT = 5
    settings.CERES_RETRY_BASE_SECONDS = 10
    settings.CERES_RETRY_MAX_SECONDS = 3600
    settings.CERES_OUTBOX_MAX_ATTEMPTS = 5
    settings.CERES_OUTBOX_LEASE_SECONDS = LEASE
    return twilio_fake


def text(
    key: str, body: str = "Acme Robotics breached its first-response SLA", to: str = VP
) -> Any:
    return send_sms(idempotency_key=key, to=to, body=body)


def deliver(message: OutboxMessage, now: datetime.datetime | None = None) -> str:
    return services.deliver_message(message_id=message.pk, now=now)


def deliver_when_due(message: OutboxMessage) -> str:
    """The worker's retry task, run when it is due."""
    message.refresh_from_db()
    return deliver(message, now=max(timezone.now(), message.next_attempt_at))


def creates(twilio: TwilioFake) -> list[TwilioCall]:
    return twilio.calls("messages.create")


# --- sending -----------------------------------------------------------------------------------


def test_an_sms_is_sent_and_its_sid_recorded(twilio: TwilioFake) -> None:
    message = text("sla-breach-42-vp")
    assert message.channel == "sms"
    assert message.payload == {"to": VP, "body": "Acme Robotics breached its first-response SLA"}
    assert message.ordering_key == f"sms:{VP}"

    assert deliver(message) == Status.SENT

    [sms] = twilio.sent
    assert (sms["to"], sms["from"], sms["body"]) == (VP, FROM, message.payload["body"])
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_reference == sms["sid"]
    assert message.provider_reference.startswith("SM")
    assert message.attempts == 1
    [call] = creates(twilio)
    assert call.params == {"To": VP, "From": FROM, "Body": message.payload["body"]}
    assert call.username == twilio.account_sid
    assert twilio.calls("messages.list") == []  # a first attempt has nothing to look for


def test_through_a_messaging_service(twilio: TwilioFake, settings: Settings) -> None:
    settings.CERES_TWILIO_MESSAGING_SERVICE_SID = SERVICE  # wins over CERES_TWILIO_FROM
    message = text("via-service")

    assert deliver(message) == Status.SENT

    [call] = creates(twilio)
    assert call.params == {
        "To": VP,
        "MessagingServiceSid": SERVICE,
        "Body": message.payload["body"],
    }
    message.refresh_from_db()
    assert message.provider_reference == twilio.sent[0]["sid"]


def test_the_same_key_sends_once(twilio: TwilioFake) -> None:
    first = text("sla-breach-7-vp")
    again = text("sla-breach-7-vp")
    assert again.pk == first.pk
    assert deliver(first) == Status.SENT
    assert deliver(again) == "skipped"
    assert len(twilio.sent) == 1


# --- failures ----------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_sends(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", status=429, retry_after=7)
    message = text("r-429")
    now = timezone.now()

    assert deliver(message, now=now) == Status.PENDING

    message.refresh_from_db()
    assert (message.next_attempt_at - now).total_seconds() == pytest.approx(7, abs=0.01)
    assert "RetryLater" in message.last_error
    assert "rate limited" in message.last_error
    assert "20429" in message.last_error
    assert twilio.sent == []
    assert deliver(message, now=now + datetime.timedelta(seconds=6.9)) == "skipped"
    assert deliver(message, now=message.next_attempt_at) == Status.SENT
    assert len(twilio.sent) == 1
    message.refresh_from_db()
    assert message.provider_reference == twilio.sent[0]["sid"]


def test_a_503_with_retry_after_is_honoured(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", status=503, retry_after=30)
    message = text("r-503")
    now = timezone.now()
    assert deliver(message, now=now) == Status.PENDING
    message.refresh_from_db()
    assert (message.next_attempt_at - now).total_seconds() == pytest.approx(30, abs=0.01)


def test_server_errors_are_retried_and_send_once(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", status=500, times=2)
    message = text("r-500")

    outcomes = [deliver(message), deliver_when_due(message), deliver_when_due(message)]

    assert outcomes == [Status.PENDING, Status.PENDING, Status.SENT]
    [sms] = twilio.sent
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.provider_reference == sms["sid"]
    assert message.last_error == ""
    # The 2nd and 3rd attempts looked for an earlier SMS before sending.
    assert len(twilio.calls("messages.list")) == 2
    assert [c.status for c in creates(twilio)] == [500, 500, 201]


def test_a_server_error_leaves_a_plain_message(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", status=500)
    message = text("r-500-text")
    assert deliver(message) == Status.PENDING
    message.refresh_from_db()
    assert message.last_error.startswith(
        "TwilioError: Twilio messages.create: HTTP 500, error 20500: "
    )
    assert "\033[" not in message.last_error  # never the SDK's terminal colours


@pytest.mark.parametrize(
    ("code", "what"),
    [
        (21211, "The 'To' number +15555550100 is not a valid phone number."),
        (21614, "'To' number is not a valid mobile number"),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21612, "The 'To' phone number is not currently reachable via SMS"),
        (21408, "Permission to send an SMS has not been enabled for the region"),
        (30006, "Landline or unreachable carrier"),
        (21617, "The concatenated message body exceeds the 1600 character limit."),
    ],
)
def test_a_request_twilio_refuses_is_dead_at_once(twilio: TwilioFake, code: int, what: str) -> None:
    twilio.fail_next("messages.create", status=400, code=code, message=what)
    message = text("refused")

    assert deliver(message) == Status.DEAD

    message.refresh_from_db()
    assert message.attempts == 1
    assert message.last_error.startswith("PermanentFailure: Twilio messages.create: HTTP 400")
    assert str(code) in message.last_error
    assert what in message.last_error
    assert twilio.sent == []


def test_a_dead_sms_does_not_hold_up_the_next_to_that_number(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", code=21610, message="unsubscribed")
    first, second = text("first", "one"), text("second", "two")
    assert deliver(second) == "skipped"  # waits behind the first
    assert deliver(first) == Status.DEAD
    assert deliver(second) == Status.SENT
    assert [sms["body"] for sms in twilio.sent] == ["two"]


@pytest.mark.parametrize(
    ("how", "hint"),
    [
        ("wrong token", "CERES_TWILIO_AUTH_TOKEN"),
        ("account not active", "not active"),
        ("from not capable", "CERES_TWILIO_FROM"),
    ],
)
def test_an_account_or_sender_error_is_logged_and_retried_not_dead(
    twilio: TwilioFake,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    how: str,
    hint: str,
) -> None:
    if how == "wrong token":
        settings.CERES_TWILIO_AUTH_TOKEN = "0" * 32  # Twilio answers 401, error 20003
    elif how == "account not active":
        twilio.fail_next("messages.create", status=401, code=20005, message="Account not active")
    else:
        twilio.fail_next("messages.create", code=21606, message="From not capable")
    message = text("r-auth")

    with caplog.at_level(logging.ERROR):
        assert deliver(message) == Status.PENDING

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and hint in r.getMessage()]
    assert errors, caplog.text
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert "TwilioError" in message.last_error
    assert twilio.sent == []
    # The operator fixes the configuration; the SMS was kept and leaves, once.
    settings.CERES_TWILIO_AUTH_TOKEN = twilio.auth_token
    assert deliver_when_due(message) == Status.SENT
    assert len(twilio.sent) == 1


@pytest.mark.parametrize(
    "missing",
    [
        ("CERES_TWILIO_ACCOUNT_SID",),
        ("CERES_TWILIO_AUTH_TOKEN",),
        ("CERES_TWILIO_FROM", "CERES_TWILIO_MESSAGING_SERVICE_SID"),
    ],
)
def test_not_configured_waits_without_calling_twilio(
    twilio: TwilioFake,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    missing: tuple[str, ...],
) -> None:
    """Twilio not set up: the SMS waits without an attempt and without calling Twilio; one
    warning per process; it leaves once the operator sets Twilio up."""
    monkeypatch.setattr(outbox_services, "_warned_unconfigured", set())
    kept = {name: getattr(settings, name) for name in missing}
    for name in missing:
        setattr(settings, name, "")
    message = text("r-unconfigured")

    with caplog.at_level(logging.WARNING):
        assert deliver(message) == "skipped"

    assert twilio.requests == []  # Twilio was not called
    assert any("sms is not configured" in r.getMessage() for r in caplog.records), caplog.text
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.PENDING, 0)
    for name, value in kept.items():
        setattr(settings, name, value)
    assert deliver_when_due(message) == Status.SENT
    assert len(twilio.sent) == 1


def test_a_dead_message_of_an_unconfigured_channel_says_nothing_waits(
    twilio: TwilioFake,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A delivery task for a row marked dead meanwhile (the demo's pages) is no message
    waiting for Twilio to be set up: no "0 message(s) wait" warning, nothing changes."""
    monkeypatch.setattr(outbox_services, "_warned_unconfigured", set())
    settings.CERES_TWILIO_ACCOUNT_SID = ""
    message = text("r-dead")
    OutboxMessage.objects.filter(pk=message.pk).update(status=Status.DEAD)
    with caplog.at_level(logging.WARNING):
        deliver(message)
    assert not any("not configured" in r.getMessage() for r in caplog.records), caplog.text
    message.refresh_from_db()
    assert message.status == Status.DEAD
    assert twilio.requests == []


def test_a_hang_longer_than_the_timeout_is_retried(twilio: TwilioFake, settings: Settings) -> None:
    settings.CERES_TWILIO_TIMEOUT = 1
    twilio.fail_next("messages.create", hang=True)
    message = text("r-hang")

    started = time.monotonic()
    assert deliver(message) == Status.PENDING
    assert time.monotonic() - started < 3

    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert "timed out" in message.last_error
    assert twilio.sent == []
    assert deliver_when_due(message) == Status.SENT
    assert len(twilio.sent) == 1


def test_a_closed_connection_is_retried(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", drop=True)
    message = text("r-drop")
    assert deliver(message) == Status.PENDING
    assert twilio.sent == []
    assert deliver_when_due(message) == Status.SENT
    assert len(twilio.sent) == 1


def test_a_failed_lookup_sends_nothing_and_is_retried(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", status=500)
    twilio.fail_next("messages.list", status=429, retry_after=4)
    message = text("r-lookup")
    assert deliver(message) == Status.PENDING
    now = timezone.now()

    message.refresh_from_db()
    assert deliver(message, now=max(now, message.next_attempt_at)) == Status.PENDING

    message.refresh_from_db()
    assert "Twilio messages.list" in message.last_error
    assert "rate limited" in message.last_error
    assert len(creates(twilio)) == 1  # not sent without a lookup
    assert deliver_when_due(message) == Status.SENT
    assert len(twilio.sent) == 1


# --- sent once ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["from", "service"])
@pytest.mark.parametrize("lost", [{"status": 500}, {"drop": True}, {"hang": True}])
def test_sent_but_the_answer_was_lost_is_not_sent_again(
    twilio: TwilioFake, settings: Settings, sender: str, lost: dict[str, Any]
) -> None:
    settings.CERES_TWILIO_TIMEOUT = 1
    if sender == "service":
        settings.CERES_TWILIO_MESSAGING_SERVICE_SID = SERVICE
    message = text("once")
    twilio.fail_next("messages.create", apply=True, **lost)

    assert deliver(message) == Status.PENDING  # Twilio took it; we could not know
    assert len(twilio.sent) == 1

    assert deliver_when_due(message) == Status.SENT

    assert len(creates(twilio)) == 1  # not sent again
    [sms] = twilio.sent
    message.refresh_from_db()
    assert message.provider_reference == sms["sid"]
    assert message.attempts == 2
    [looked] = twilio.calls("messages.list")
    since = (message.created_at - LOOKUP_MARGIN).astimezone(datetime.UTC)
    expected = {"To": VP, "DateSent>": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "PageSize": "50"}
    if sender == "from":
        expected["From"] = FROM
    else:
        assert sms["from"] == SERVICE_NUMBER  # matched on the service, not the number
    assert looked.params == expected


def test_a_worker_that_dies_mid_call_does_not_send_twice(twilio: TwilioFake) -> None:
    message = text("r-crash")
    now = timezone.now()
    taken = services.claim(message_id=message.pk, now=now)
    assert taken is not None
    # The worker calls Twilio, Twilio takes the SMS, and the worker dies before recording it.
    sid = get_channel("sms").send(taken.message)
    assert len(twilio.sent) == 1
    assert deliver(message, now=now + datetime.timedelta(seconds=LEASE - 1)) == "skipped"

    later = now + datetime.timedelta(seconds=LEASE + 1)
    assert services.sweep(now=later) == 1  # the expired lease is found
    assert deliver(message, now=later) == Status.SENT

    [sms] = twilio.sent
    assert sms["sid"] == sid
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.provider_reference == sid
    assert len(creates(twilio)) == 1


def test_texts_to_one_number_arrive_once_in_order_while_twilio_rate_limits(
    twilio: TwilioFake,
) -> None:
    twilio.fail_next("*", status=429, retry_after=1, times=2)
    bodies = ["SLA breach: Acme Robotics", "Acme answered", "Acme closed"]
    messages = [text(f"r-{n}", body) for n, body in enumerate(bodies)]

    now = timezone.now()
    for _ in range(10):  # a worker running every task it has, the newest first
        for message in reversed(messages):
            deliver(message, now=now)
        if not OutboxMessage.objects.exclude(status=Status.SENT).exists():
            break
        now += datetime.timedelta(seconds=2)

    assert [m.status for m in OutboxMessage.objects.order_by("pk")] == [Status.SENT] * 3
    assert [sms["body"] for sms in twilio.sent] == bodies
    assert [m.provider_reference for m in OutboxMessage.objects.order_by("pk")] == [
        sms["sid"] for sms in twilio.sent
    ]
    assert [c.injected for c in twilio.calls() if c.injected] == ["status:429", "status:429"]


def test_texts_to_different_numbers_do_not_wait_for_each_other(twilio: TwilioFake) -> None:
    twilio.fail_next("messages.create", status=500)
    vp, on_call = text("vp"), text("on-call", to=ON_CALL)
    assert deliver(vp) == Status.PENDING
    assert deliver(on_call) == Status.SENT
    assert deliver_when_due(vp) == Status.SENT
    assert [sms["to"] for sms in twilio.sent] == [ON_CALL, VP]


def test_an_identical_text_already_recorded_by_another_sms_is_not_taken(
    twilio: TwilioFake,
) -> None:
    """Two effects with the same body to one number: the second's retry finds the first's SMS,
    but that SID is the first row's, so it sends its own (nothing lost)."""
    first = text("breach-1", "SLA breach")
    assert deliver(first) == Status.SENT
    second = text("breach-2", "SLA breach")
    twilio.fail_next("messages.create", status=500)  # not applied: Twilio did not take it

    assert deliver(second) == Status.PENDING
    assert deliver_when_due(second) == Status.SENT

    assert [sms["body"] for sms in twilio.sent] == ["SLA breach", "SLA breach"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.provider_reference, second.provider_reference} == {
        sms["sid"] for sms in twilio.sent
    }


def test_an_identical_text_whose_answer_was_lost_is_found(twilio: TwilioFake) -> None:
    first = text("breach-1", "SLA breach")
    assert deliver(first) == Status.SENT
    second = text("breach-2", "SLA breach")
    twilio.fail_next("messages.create", status=500, apply=True)

    assert deliver(second) == Status.PENDING
    assert deliver_when_due(second) == Status.SENT

    assert len(twilio.sent) == 2
    second.refresh_from_db()
    assert second.provider_reference == twilio.sent[1]["sid"]


def test_bodies_compare_through_smart_encoding() -> None:
    assert same_text(
        'Acme said "it\'s down" - fix...', "Acme said \u201cit\u2019s down\u201d \u2014 fix\u2026"
    )
    assert same_text("a  b\n", "a b")
    assert not same_text("SLA breach: Acme", "SLA breach: Globex")
    assert not same_text(None, "x")


# --- the payload -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("hello", "payload"),
        ({"to": VP, "body": "hi", "from": FROM}, "payload.from"),
        ({"body": "hi"}, "payload.to"),
        ({"to": 15555550100, "body": "hi"}, "payload.to"),
        ({"to": "5555550100", "body": "hi"}, "payload.to"),
        ({"to": "+1 555 555 0100", "body": "hi"}, "payload.to"),
        ({"to": "+05555550100", "body": "hi"}, "payload.to"),
        ({"to": "+123456", "body": "hi"}, "payload.to"),
        ({"to": "+1234567890123456", "body": "hi"}, "payload.to"),
        ({"to": VP + "\n", "body": "hi"}, "payload.to"),
        ({"to": VP}, "payload.body"),
        ({"to": VP, "body": "  \n"}, "payload.body"),
        ({"to": VP, "body": 42}, "payload.body"),
        ({"to": VP, "body": "x" * 1601}, "payload.body"),
        ({"to": VP, "body": "🚨" * 801}, "payload.body"),
        ({"to": VP, "body": "nul\x00"}, "payload.body"),
    ],
)
def test_a_bad_payload_fails_the_callers_transaction(
    twilio: TwilioFake, payload: Any, field: str
) -> None:
    def change_that_texts() -> None:
        with transaction.atomic():
            text("fine")
            services.enqueue(channel="sms", idempotency_key="bad", payload=payload)

    with pytest.raises(Invalid) as refused:
        change_that_texts()
    assert refused.value.field == field
    assert not OutboxMessage.objects.exists()
    assert twilio.requests == []


def test_send_sms_refuses_a_bad_number() -> None:
    with pytest.raises(Invalid) as refused:
        send_sms(idempotency_key="bad", to="555-0100", body="hi")
    assert refused.value.field == "payload.to"
    assert not OutboxMessage.objects.exists()


def test_the_longest_body_twilio_takes_is_accepted_and_sent(twilio: TwilioFake) -> None:
    message = text("long", "x" * 1600)
    emoji = text("emoji", "🚨" * 800)
    assert deliver(message) == Status.SENT
    assert deliver(emoji) == Status.SENT
    assert [len(sms["body"]) for sms in twilio.sent] == [1600, 800]


def test_a_bad_payload_written_by_hand_is_dead(twilio: TwilioFake) -> None:
    message = OutboxMessage.objects.create(
        channel="sms",
        idempotency_key="by-hand",
        payload={"to": "0555", "body": "hi"},
        next_attempt_at=timezone.now(),
    )
    assert deliver(message) == Status.DEAD
    message.refresh_from_db()
    assert "payload.to" in message.last_error
    assert twilio.requests == []


# --- the client and the checks -----------------------------------------------------------------


def test_the_client_is_the_official_one_pointed_at_the_setting(twilio: TwilioFake) -> None:
    client = twilio_client()
    assert client.api.base_url == twilio.url
    assert client.http_client.timeout == 5
    assert client.username == twilio.account_sid


def test_retry_after_header_parsing() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": ["2.5"]}) == 2.5
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": "-3"}) == 0.0
    assert retry_after({"Retry-After": "inf"}) is None
    assert retry_after({}) is None


def test_errors_twilio_did_not_answer_are_transient_as_they_are() -> None:
    error = TimeoutError("timed out")
    assert outbox_error(error, operation="messages.create") is error
    mapped = outbox_error(RuntimeError("x"), operation="messages.create")
    assert not isinstance(mapped, RetryLater)


def test_checks(settings: Settings) -> None:
    settings.CERES_TWILIO_ACCOUNT_SID = ""
    settings.CERES_TWILIO_AUTH_TOKEN = ""
    settings.CERES_TWILIO_FROM = ""
    settings.CERES_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.CERES_OUTBOX_LEASE_SECONDS = 120
    settings.CERES_TWILIO_TIMEOUT = 15
    assert check_twilio(app_configs=None, databases=None) == []  # SMS off

    settings.CERES_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    [half] = check_twilio(app_configs=None, databases=None)
    assert isinstance(half, Warning)
    assert half.id == "sms.W001"
    assert "CERES_TWILIO_AUTH_TOKEN" in half.msg

    settings.CERES_TWILIO_AUTH_TOKEN = "token"
    settings.CERES_TWILIO_FROM = FROM
    assert check_twilio(app_configs=None, databases=None) == []
    settings.CERES_TWILIO_TIMEOUT = 60
    [lease] = check_twilio(app_configs=None, databases=None)
    assert lease.id == "sms.W002"
