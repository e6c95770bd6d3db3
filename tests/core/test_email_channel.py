from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django import Settings

from ceres.core.outbox import services
from ceres.core.outbox.email_channel import IDEMPOTENCY_HEADER, message_id_for
from ceres.core.outbox.models import OutboxMessage
from tests.fakes.smtp import FakeSmtpServer

pytestmark = pytest.mark.django_db
EMAIL = {"to": ["Wile Coyote <wile@acme.example>"], "subject": "Hello", "body": "Hi Wile"}


@pytest.fixture
def smtp(settings: Settings) -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    yield server
    server.stop()


def test_an_email_goes_out_over_smtp_with_its_idempotency_headers(smtp: FakeSmtpServer) -> None:
    message = services.enqueue(channel="email", idempotency_key="qbr-2026-q1", payload=EMAIL)
    assert services.deliver_message(message_id=message.pk) == OutboxMessage.Status.SENT
    [accepted] = smtp.accepted_with(message_id_for("qbr-2026-q1"))
    assert accepted[IDEMPOTENCY_HEADER] == "qbr-2026-q1"
    assert accepted["Subject"] == "Hello"
    assert accepted["To"] == EMAIL["to"][0]


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("550 5.1.1 mailbox unavailable", OutboxMessage.Status.DEAD),
        ("451 4.3.0 try again later", OutboxMessage.Status.PENDING),
    ],
)
def test_smtp_5xx_is_permanent_and_4xx_is_retried(
    smtp: FakeSmtpServer, reply: str, status: str
) -> None:
    smtp.data_reply = reply
    message = services.enqueue(channel="email", idempotency_key="k", payload=EMAIL)
    assert services.deliver_message(message_id=message.pk) == status
    message.refresh_from_db()
    assert reply.split()[0] in message.last_error


def test_an_unreachable_server_is_a_transient_failure(settings: Settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with FakeSmtpServer() as server:
        port = server.port
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    message = services.enqueue(channel="email", idempotency_key="k", payload=EMAIL)
    assert services.deliver_message(message_id=message.pk) == OutboxMessage.Status.PENDING
    message.refresh_from_db()
    assert "ConnectionRefusedError" in message.last_error
