"""The official twilio client, on its real HTTP client, against the Twilio fake."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.fakes.twilio import SERVICE_NUMBER, TwilioFake

MESSAGE_SID = re.compile(r"SM[0-9a-f]{32}")


def test_create_returns_the_message_and_is_recorded(twilio_fake: TwilioFake) -> None:
    client = Client(
        twilio_fake.account_sid,
        twilio_fake.auth_token,
        http_client=TwilioHttpClient(timeout=5),
    )
    client.api.base_url = twilio_fake.url  # every Messages URL is built from it

    message = client.messages.create(to="+14155550123", from_="+14155550100", body="SLA breached")

    assert MESSAGE_SID.fullmatch(message.sid)
    assert message.status == "queued"
    assert message.to == "+14155550123"
    assert message.from_ == "+14155550100"
    assert message.body == "SLA breached"
    assert message.num_segments == "1"
    assert message.date_created is not None
    [call] = twilio_fake.calls("messages.create")
    assert call.params == {
        "To": "+14155550123",
        "From": "+14155550100",
        "Body": "SLA breached",
    }
    assert call.username == twilio_fake.account_sid
    assert call.path == f"/2010-04-01/Accounts/{twilio_fake.account_sid}/Messages.json"
    assert call.status == 201
    assert twilio_fake.sent[0]["sid"] == message.sid

    fetched = client.messages(message.sid).fetch()
    assert fetched.sid == message.sid
    assert fetched.body == "SLA breached"


def test_messaging_service_and_unknown_message(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client()
    service = "MG" + "0" * 32

    message = client.messages.create(to="+4915123456789", messaging_service_sid=service, body="Ü")

    assert message.status == "accepted"
    assert message.from_ is None
    assert message.messaging_service_sid == service
    with pytest.raises(TwilioRestException) as raised:
        client.messages("SM" + "f" * 32).fetch()
    assert raised.value.status == 404
    assert raised.value.code == 20404


def test_wrong_credentials(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client(auth_token="0" * 32)

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+14155550123", from_="+14155550100", body="x")

    assert raised.value.status == 401
    assert raised.value.code == 20003
    assert twilio_fake.sent == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "4155550123", "from_": "+14155550100", "body": "x"}, 21211),
        ({"to": "+1 415 555 0123", "from_": "+14155550100", "body": "x"}, 21211),
        ({"to": "+14155550123", "body": "x"}, 21603),
        ({"to": "+14155550123", "from_": "+14155550100"}, 21602),
        ({"to": "+14155550123", "from_": "+14155550100", "body": "x" * 1601}, 21617),
    ],
)
def test_invalid_messages(twilio_fake: TwilioFake, fields: dict[str, str], code: int) -> None:
    with pytest.raises(TwilioRestException) as raised:
        twilio_fake.client().messages.create(**fields)
    assert raised.value.status == 400
    assert raised.value.code == code
    assert twilio_fake.sent == []


def test_rate_limited(twilio_fake: TwilioFake) -> None:
    twilio_fake.fail_next("messages.create", status=429, retry_after=2)
    client = twilio_fake.client()

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+14155550123", from_="+14155550100", body="x")

    assert raised.value.status == 429
    assert raised.value.code == 20429
    # The exception keeps no headers; the client's last response does.
    assert client.http_client._test_only_last_response.headers["Retry-After"] == "2"
    assert client.messages.create(to="+14155550123", from_="+14155550100", body="x").sid
    assert [c.injected for c in twilio_fake.calls()] == ["status:429", None]


def test_server_error_and_injected_error_code(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client()
    twilio_fake.fail_next("messages.create", status=500)
    twilio_fake.fail_next("messages.create", code=21610, message="Unsubscribed recipient")

    with pytest.raises(TwilioRestException) as server_error:
        client.messages.create(to="+14155550123", from_="+14155550100", body="x")
    with pytest.raises(TwilioRestException) as unsubscribed:
        client.messages.create(to="+14155550123", from_="+14155550100", body="x")

    assert (server_error.value.status, server_error.value.code) == (500, 20500)
    assert (unsubscribed.value.status, unsubscribed.value.code) == (400, 21610)
    assert "Unsubscribed recipient" in unsubscribed.value.msg
    assert len(twilio_fake.calls("messages.create")) == 2


def test_hang_times_the_client_out(twilio_fake: TwilioFake) -> None:
    twilio_fake.fail_next("messages.create", hang=True)
    client = twilio_fake.client(timeout=0.5)

    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        client.messages.create(to="+14155550123", from_="+14155550100", body="x")

    assert time.monotonic() - started < 1.5
    assert [c.injected for c in twilio_fake.calls()] == ["hang"]
    assert twilio_fake.sent == []


# --- listing -----------------------------------------------------------------------------------

TO = "+14155550123"
FROM = "+14155550100"


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


def test_list_filters_by_to_from_and_date_sent(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client()
    now = {"t": at(1)}
    twilio_fake.clock = lambda: now["t"]
    sids = {}
    for name, day, hour, to, sender in [
        ("jan1", 1, 12, TO, FROM),
        ("jan2-morning", 2, 9, TO, FROM),
        ("jan2-noon", 2, 12, TO, FROM),
        ("other-to", 2, 12, "+14155550999", FROM),
        ("other-from", 2, 12, TO, "+14155550111"),
        ("jan3", 3, 8, TO, FROM),
    ]:
        now["t"] = at(day, hour)
        sids[name] = client.messages.create(to=to, from_=sender, body=name).sid

    after = client.messages.list(to=TO, from_=FROM, date_sent_after=at(2, 10), limit=50)

    assert [m.sid for m in after] == [sids["jan3"], sids["jan2-noon"]]  # newest first
    call = twilio_fake.calls("messages.list")[-1]
    # What the SDK sends for date_sent_after: `DateSent>=2025-01-02T10:00:00Z` on the wire.
    assert call.params == {
        "To": TO,
        "From": FROM,
        "DateSent>": "2025-01-02T10:00:00Z",
        "PageSize": "50",
    }
    assert call.verb == "GET"
    assert call.status == 200
    assert call.response["next_page_uri"] is None
    # A day compares by day, as Twilio documents (DateSent>=YYYY-MM-DD: on or after midnight).
    by_day = client.messages.list(to=TO, from_=FROM, date_sent_after="2025-01-02")
    assert [m.body for m in by_day] == ["jan3", "jan2-noon", "jan2-morning"]
    before = client.messages.list(to=TO, from_=FROM, date_sent_before="2025-01-02")
    assert [m.body for m in before] == ["jan2-noon", "jan2-morning", "jan1"]
    on_day = client.messages.list(from_=FROM, date_sent="2025-01-02")
    assert [m.body for m in on_day] == ["other-to", "jan2-noon", "jan2-morning"]
    assert len(client.messages.list()) == 6
    listed = after[0]
    assert listed.status == "sent"
    assert listed.date_sent == at(3, 8)
    assert listed.direction == "outbound-api"


def test_list_pages_newest_first(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client()
    for n in range(5):
        client.messages.create(to=TO, from_=FROM, body=f"message {n}")

    listed = client.messages.list(to=TO, limit=5, page_size=2)

    assert [m.body for m in listed] == [f"message {n}" for n in (4, 3, 2, 1, 0)]
    pages = twilio_fake.calls("messages.list")
    assert [c.params.get("Page", "0") for c in pages] == ["0", "1", "2"]
    assert all(c.params["PageSize"] == "2" for c in pages)
    assert pages[-1].response["next_page_uri"] is None


def test_a_bad_date_filter_is_refused(twilio_fake: TwilioFake) -> None:
    with pytest.raises(TwilioException) as raised:
        twilio_fake.client().messages.list(date_sent_after="yesterday")
    # A list call's failure is not a TwilioRestException: the SDK raises
    # TwilioException("Unable to fetch page", response).
    assert not isinstance(raised.value, TwilioRestException)
    response = raised.value.args[1]
    assert response.status_code == 400
    assert json.loads(response.text)["code"] == 20001


def test_queued_messages_have_no_date_sent_and_are_not_listed_by_it(
    twilio_fake: TwilioFake,
) -> None:
    twilio_fake.hold_queued = True  # Twilio's queue is backed up
    client = twilio_fake.client()
    since = datetime.now(UTC) - timedelta(minutes=1)

    message = client.messages.create(to=TO, from_=FROM, body="queued")

    assert client.messages.list(to=TO, date_sent_after=since) == []
    [queued] = client.messages.list(to=TO)
    assert (queued.sid, queued.status, queued.date_sent) == (message.sid, "queued", None)
    twilio_fake.release_queued()
    [sent] = client.messages.list(to=TO, date_sent_after=since)
    assert sent.sid == message.sid
    assert sent.status == "sent"
    assert sent.date_sent is not None


def test_a_messaging_service_picks_a_sender_when_it_sends(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client()
    service = "MG" + "1" * 32

    message = client.messages.create(to=TO, messaging_service_sid=service, body="hi")

    assert message.from_ is None  # the answer: accepted, no sender yet
    fetched = client.messages(message.sid).fetch()
    assert fetched.from_ == SERVICE_NUMBER
    assert fetched.messaging_service_sid == service
    assert fetched.status == "sent"


def test_a_list_call_can_fail(twilio_fake: TwilioFake) -> None:
    client = twilio_fake.client()
    twilio_fake.fail_next("messages.list", status=429, retry_after=3)

    with pytest.raises(TwilioException) as raised:
        client.messages.list(to=TO)

    assert raised.value.args[1].status_code == 429
    assert raised.value.args[1].headers["Retry-After"] == "3"
    assert client.messages.list(to=TO) == []
    assert [c.injected for c in twilio_fake.calls()] == ["status:429", None]


# --- applied, then failed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "raised_type", "kind"),
    [
        ({"status": 500}, TwilioRestException, "applied+status:500"),
        ({"drop": True}, requests.exceptions.ConnectionError, "applied+drop"),
        ({"hang": True}, requests.exceptions.Timeout, "applied+hang"),
    ],
)
def test_created_then_the_answer_is_lost(
    twilio_fake: TwilioFake,
    failure: dict[str, Any],
    raised_type: type[Exception],
    kind: str,
) -> None:
    client = twilio_fake.client(timeout=0.5)
    twilio_fake.fail_next("messages.create", apply=True, **failure)

    with pytest.raises(raised_type):
        client.messages.create(to=TO, from_=FROM, body="took it")

    [stored] = twilio_fake.sent  # Twilio has it
    [call] = twilio_fake.calls("messages.create")
    assert call.injected == kind
    assert call.applied["sid"] == stored["sid"]
    assert call.applied["status"] == "queued"
    [listed] = client.messages.list(to=TO, from_=FROM)
    assert listed.sid == stored["sid"]
    assert listed.body == "took it"


def test_a_dropped_connection_without_apply_creates_nothing(twilio_fake: TwilioFake) -> None:
    twilio_fake.fail_next("messages.create", drop=True)

    with pytest.raises(requests.exceptions.ConnectionError):
        twilio_fake.client().messages.create(to=TO, from_=FROM, body="x")

    assert twilio_fake.sent == []
    assert [c.injected for c in twilio_fake.calls()] == ["drop"]
