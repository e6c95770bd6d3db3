"""The official twilio client, on its real HTTP client, against the Twilio fake."""

from __future__ import annotations

import re
import time

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.fakes.twilio import TwilioFake

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
