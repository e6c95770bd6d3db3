"""Answering a page by SMS through Twilio's signed webhook: "ACK 42" / "RESOLVE 42" (or without
a number, the latest open alarm the sender was paged for), by the escalation's rules; one text
back saying what was done or why not; a bad or missing signature is a 401 with nothing stored;
a redelivery does nothing more; a stranger's number gets no answer; bad fields 400."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings
from twilio.request_validator import RequestValidator

from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.oncall.models import Alarm, AlarmIntegration
from ceres.oncall.sms_replies import parse
from ceres.team.models import Person
from tests.oncall.conftest import NIGHT, fire

pytestmark = pytest.mark.django_db

URL = "/integrations/twilio/sms"
TOKEN = "twilio-auth-token-for-tests"
JONAS_PHONE = "+15555550102"  # the people fixture's, on call the night of NIGHT
RAVI_PHONE = "+15555550101"


@pytest.fixture(autouse=True)
def twilio_settings(settings: Settings) -> None:
    settings.CERES_TWILIO_AUTH_TOKEN = TOKEN
    settings.BASE_URL = "https://ceres.example.com"


def signed(params: dict[str, str], token: str = TOKEN) -> dict[str, Any]:
    signature = RequestValidator(token).compute_signature(f"https://ceres.example.com{URL}", params)
    return {"HTTP_X_TWILIO_SIGNATURE": signature}


def text(client: Client, sender: str, body: str, sid: str = "SM" + "a" * 32) -> Any:
    params = {"MessageSid": sid, "From": sender, "To": "+15555550199", "Body": body}
    response = client.post(URL, params, **signed(params))
    for event in InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED):
        process_event(inbound_event_id=event.pk)
    return response


def replies(to: str) -> list[str]:
    return [
        m.payload["body"]
        for m in OutboxMessage.objects.filter(channel="sms").order_by("pk")
        if m.payload["to"] == to and m.idempotency_key.startswith("oncall-sms-reply-")
    ]


@pytest.fixture
def alarm(integration: AlarmIntegration) -> Alarm:
    return fire(integration, NIGHT)


def test_the_page_says_how_to_answer(alarm: Alarm) -> None:
    page = OutboxMessage.objects.get(channel="sms")
    assert f"Reply ACK {alarm.pk} or RESOLVE {alarm.pk}" in page.payload["body"]


def test_ack_by_sms_acknowledges_and_answers_once(
    client: Client, alarm: Alarm, people: dict[str, Person]
) -> None:
    response = text(client, JONAS_PHONE, f"ack {alarm.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.ACKNOWLEDGED
    assert alarm.acknowledged_by == people["jonas"]
    assert alarm.next_escalation_at is None
    text(client, JONAS_PHONE, f"ack {alarm.pk}")  # Twilio redelivers the same message
    assert replies(JONAS_PHONE) == [
        f"Ceres: acknowledged alarm {alarm.pk} (db-cpu high): escalation stopped."
    ]


def test_without_a_number_the_latest_open_alarm_paged_for(
    client: Client, integration: AlarmIntegration
) -> None:
    fire(integration, NIGHT, key="first")
    latest = fire(integration, NIGHT.replace(minute=20), key="second")
    text(client, JONAS_PHONE, "RESOLVE")
    latest.refresh_from_db()
    assert latest.status == Alarm.Status.RESOLVED
    assert Alarm.objects.get(dedup_key="first").status == Alarm.Status.FIRING


def test_someone_not_paged_is_told_why_and_nothing_changes(client: Client, alarm: Alarm) -> None:
    text(client, RAVI_PHONE, f"ACK #{alarm.pk}")
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.FIRING
    [answer] = replies(RAVI_PHONE)
    assert answer.startswith(f"Ceres: nothing done for alarm {alarm.pk}: ")
    assert "was not paged" in answer


def test_gibberish_gets_the_help_and_a_stranger_nothing(client: Client, alarm: Alarm) -> None:
    text(client, JONAS_PHONE, "on my way", sid="SM" + "b" * 32)
    assert replies(JONAS_PHONE) == [
        "Ceres: not understood. Reply ACK <alarm> to acknowledge or RESOLVE <alarm> to "
        "resolve, e.g. ACK 42."
    ]
    text(client, "+15555550777", f"ACK {alarm.pk}", sid="SM" + "c" * 32)
    assert replies("+15555550777") == []
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.FIRING


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_TWILIO_SIGNATURE": "forged"}, "wrong token", "other params"],
    ids=["unsigned", "forged", "wrong token", "tampered"],
)
def test_an_unverified_request_is_401_and_nothing_is_stored(
    client: Client, alarm: Alarm, headers: Any
) -> None:
    params = {"MessageSid": "SM" + "d" * 32, "From": JONAS_PHONE, "Body": f"ACK {alarm.pk}"}
    if headers == "wrong token":
        headers = signed(params, token="another-token")
    elif headers == "other params":
        headers = signed({**params, "Body": "RESOLVE"})
    response = client.post(URL, params, **headers)
    assert response.status_code == 401
    assert response.json()["field"] == "X-Twilio-Signature"
    assert not InboundEvent.objects.exists()


def test_without_an_auth_token_nothing_is_accepted(
    client: Client, settings: Settings, alarm: Alarm
) -> None:
    params = {"MessageSid": "SM" + "e" * 32, "From": JONAS_PHONE, "Body": "ACK"}
    settings.CERES_TWILIO_AUTH_TOKEN = ""
    assert client.post(URL, params, **signed(params)).status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"From": JONAS_PHONE, "Body": "ACK"}, "MessageSid"),
        ({"MessageSid": "SM123", "From": JONAS_PHONE, "Body": "ACK"}, "MessageSid"),
        ({"MessageSid": "SM" + "f" * 32, "From": "jonas", "Body": "ACK"}, "From"),
        ({"MessageSid": "SM" + "f" * 32, "From": JONAS_PHONE, "Body": "x" * 1601}, "Body"),
        ({"MessageSid": "SM" + "f" * 32, "From": JONAS_PHONE, "Body": "A\x00"}, "Body"),
    ],
)
def test_bad_fields_are_400_naming_them(client: Client, params: dict[str, str], field: str) -> None:
    response = client.post(URL, params, **signed(params))
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not InboundEvent.objects.exists()


def test_get_is_405(client: Client) -> None:
    assert client.get(URL).status_code == 405


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ACK 42", ("ack", 42)),
        ("ack", ("ack", None)),
        (" Acknowledge #7. ", ("ack", 7)),
        ("resolve 3", ("resolve", 3)),
        ("RESOLVE", ("resolve", None)),
        ("ack 42 please", None),
        ("acked", None),
        ("", None),
        ("ack " + "9" * 19, None),
    ],
)
def test_parse(body: str, expected: tuple[str, int | None] | None) -> None:
    assert parse(body) == expected
