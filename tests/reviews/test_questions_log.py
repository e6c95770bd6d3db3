"""The customer-questions log: from a Slack shortcut or reaction, once per message; the page;
the weekly digest, once a week."""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.accounts.models import Account, Contact
from ceres.conversations.models import Conversation
from ceres.core.audit.models import AuditEntry
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.reviews import services
from ceres.reviews.models import CustomerQuestion
from ceres.team.models import Person
from tests.slack.conftest import INTERACTIVITY, event_callback, post_event, signed_headers

pytestmark = pytest.mark.django_db

CHANNEL = "C0ACME"
QUESTION = "How do I add a custom label to hosts?"
TS = "1764633600.000100"


@pytest.fixture
def setup(acme: Account, cse: Person) -> Account:
    acme.slack_channel_id = CHANNEL
    acme.save()
    Contact.objects.filter(account=acme).update(slack_user_id="U0WILE")
    cse.slack_user_id = "U0LENA"
    cse.save()
    return acme


def run_inbox() -> None:
    for event in InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).order_by("pk"):
        process_event(inbound_event_id=event.pk)


def shortcut(client: Client, user: str, n: int, **message: Any) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "questions_log",
        "trigger_id": f"9001.{n}.ffff",
        "team": {"id": "T0CERES", "domain": "example-vendor"},
        "user": {"id": user},
        "channel": {"id": CHANNEL, "name": "ext-acme"},
        "message": {"type": "message", "user": "U0WILE", "text": QUESTION, "ts": TS, **message},
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post(
        INTERACTIVITY,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **signed_headers(body),
    )
    assert response.status_code == 200
    run_inbox()


def test_the_shortcut_logs_the_question_once_with_a_link(
    client: Client, setup: Account, cse: Person
) -> None:
    post_event(
        client,
        event_callback(
            {"type": "message", "channel": CHANNEL, "user": "U0WILE", "text": QUESTION, "ts": TS}
        ),
    )
    run_inbox()
    shortcut(client, "U0LENA", 1)
    shortcut(client, "U0LENA", 2)  # pressed again
    question = CustomerQuestion.objects.get()
    assert question.text == QUESTION
    assert question.link == f"https://example-vendor.slack.com/archives/{CHANNEL}/p1764633600000100"
    assert question.account == setup
    assert question.conversation == Conversation.objects.get()
    assert question.logged_by == cse
    assert AuditEntry.objects.filter(action="question.log").count() == 1


def test_only_the_team_can_log_and_only_with_the_shortcut(client: Client, setup: Account) -> None:
    shortcut(client, "U0WILE", 1)  # the customer
    assert not CustomerQuestion.objects.exists()


def test_a_question_reaction_logs_a_recorded_message(
    client: Client, setup: Account, cse: Person
) -> None:
    post_event(
        client,
        event_callback(
            {"type": "message", "channel": CHANNEL, "user": "U0WILE", "text": QUESTION, "ts": TS},
            event_id="Ev1",
        ),
    )
    reaction = {
        "type": "reaction_added",
        "user": "U0LENA",
        "reaction": "question",
        "item": {"type": "message", "channel": CHANNEL, "ts": TS},
        "event_ts": "1764633700.000100",
    }
    post_event(client, event_callback(reaction, event_id="Ev2"))
    post_event(client, event_callback(dict(reaction, user="U0WILE"), event_id="Ev3"))
    run_inbox()
    question = CustomerQuestion.objects.get()
    assert question.text == QUESTION
    assert question.logged_by == cse


def test_the_page_lists_questions_and_marks_them_documented(
    client: Client, setup: Account, cse: Person, engineer: Person
) -> None:
    question, _ = services.log_question(actor=None, text=QUESTION, logged_by=cse, account=setup)
    client.force_login(cse.user)
    page = client.get("/questions/").content.decode()
    assert QUESTION in page
    assert setup.codename.name in page
    assert setup.legal_name not in page
    bad = client.post(f"/questions/{question.pk}/documented/", {"documentation_link": "ftp://x"})
    assert bad.status_code == 422
    done = client.post(
        f"/questions/{question.pk}/documented/",
        {"documentation_link": "https://docs.example.com/labels"},
    )
    assert done.status_code == 302
    question.refresh_from_db()
    assert question.documented_at is not None
    assert QUESTION not in client.get("/questions/").content.decode()
    assert QUESTION in client.get("/questions/?show=documented").content.decode()
    assert client.get("/questions/?show=everything").status_code == 422
    client.force_login(engineer.user)  # no conversations permission in the test roles
    assert client.get("/questions/").status_code == 403
    assert client.post(f"/questions/{question.pk}/documented/").status_code == 403


def test_the_weekly_digest_goes_once_on_friday_afternoon(
    setup: Account, cse: Person, settings: Settings
) -> None:
    settings.CERES_QUESTIONS_DIGEST_TIMEZONE = "America/Chicago"
    chicago = datetime.timezone(datetime.timedelta(hours=-6))
    monday = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=chicago)
    services.log_question(actor=None, text=QUESTION, logged_by=cse, account=setup, at=monday)
    services.log_question(actor=None, text="Where are the MDM docs?", logged_by=cse, at=monday)
    thursday = datetime.datetime(2026, 12, 3, 16, 0, tzinfo=chicago)
    assert services.send_weekly_digest(now=thursday) is False
    friday = datetime.datetime(2026, 12, 4, 15, 5, tzinfo=chicago)
    assert services.send_weekly_digest(now=friday) is True
    assert services.send_weekly_digest(now=friday + datetime.timedelta(hours=1)) is False
    digest = OutboxMessage.objects.get(channel="email")
    assert digest.idempotency_key == "questions-digest-2026-W49"
    assert digest.payload["to"] == [cse.email]
    body = digest.payload["body"]
    assert QUESTION in body
    assert "[community] Where are the MDM docs?" in body
    assert setup.codename.name in body
    assert setup.legal_name not in body


def test_empty_questions_are_refused(cse: Person) -> None:
    from ceres.core.errors import Invalid

    with pytest.raises(Invalid) as refused:
        services.log_question(actor=None, text="   ", logged_by=cse)
    assert refused.value.field == "text"
    assert not CustomerQuestion.objects.exists()
