"""The Slack receivers: verified before anything is read, stored once, acknowledged at once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from tests.slack.conftest import (
    EVENTS,
    INTERACTIVITY,
    event_callback,
    post_event,
    signed_headers,
)

pytestmark = pytest.mark.django_db

MESSAGE = {
    "type": "message",
    "channel": "C0ACME",
    "user": "U0WILE",
    "text": "All hosts went offline after the upgrade.",
    "ts": "1764633600.000100",
    "event_ts": "1764633600.000100",
    "channel_type": "channel",
}


def test_url_verification_is_answered_with_the_challenge(client: Client) -> None:
    response = post_event(client, {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    assert not InboundEvent.objects.exists()


def test_an_event_is_stored_once_and_acknowledged(
    client: Client, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as scheduled:
        response = post_event(client, event_callback(MESSAGE))
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.provider, event.event_id, event.event_type) == ("slack", "Ev0001", "message")
    assert event.payload["event"]["text"] == MESSAGE["text"]
    assert len(scheduled) == 1  # processing is a task, after the commit


def test_a_retried_delivery_changes_nothing(
    client: Client, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    post_event(client, event_callback(MESSAGE))
    changed = dict(MESSAGE, text="changed in transit")
    with django_capture_on_commit_callbacks() as scheduled:
        for retry in ("1", "2"):
            response = post_event(
                client,
                event_callback(changed),
                HTTP_X_SLACK_RETRY_NUM=retry,
                HTTP_X_SLACK_RETRY_REASON="http_timeout",
            )
            assert response.status_code == 200
    assert scheduled == []
    event = InboundEvent.objects.get()
    assert event.payload["event"]["text"] == MESSAGE["text"]


def test_a_replayed_request_is_the_same_event(client: Client) -> None:
    body = json.dumps(event_callback(MESSAGE)).encode()
    headers = signed_headers(body)
    for _ in range(3):
        response = client.post(EVENTS, data=body, content_type="application/json", **headers)
        assert response.status_code == 200
    assert InboundEvent.objects.count() == 1


# The headers are made when the test runs, not when it is collected: a timestamp taken at
# collection would drift into the 5-minute window ("from the future") as a long suite runs.
def _signed_at(**kwargs: Any) -> Callable[[], dict[str, str]]:
    return lambda: signed_headers(json.dumps(event_callback(MESSAGE)).encode(), **kwargs)


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda: {"HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64}, id="bad-signature"),
        pytest.param(_signed_at(secret="wrong-secret"), id="other-secret"),
        pytest.param(lambda: _signed_at(at=time.time() - 360)(), id="stale"),
        pytest.param(lambda: _signed_at(at=time.time() + 360)(), id="from-the-future"),
        pytest.param(lambda: {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon"}, id="malformed-timestamp"),
        pytest.param(
            lambda: {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "", "HTTP_X_SLACK_SIGNATURE": ""},
            id="missing",
        ),
    ],
)
def test_unverified_requests_are_refused_logged_and_never_stored(
    client: Client, make_headers: Callable[[], dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(event_callback(MESSAGE)).encode()
    signed = signed_headers(body)
    signed.update(make_headers())
    response = client.post(EVENTS, data=body, content_type="application/json", **signed)
    assert response.status_code == 401
    assert response.json()["field"] == "X-Slack-Signature"
    assert not InboundEvent.objects.exists()
    assert any("refused" in record.getMessage() for record in caplog.records)


def test_a_body_that_is_not_utf8_cannot_be_verified(client: Client) -> None:
    response = post_event(client, b"\xff\xfe{}")
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_tampered_body_is_refused(client: Client) -> None:
    body = json.dumps(event_callback(MESSAGE)).encode()
    headers = signed_headers(body)
    tampered = body.replace(b"offline", b"online!")
    response = client.post(EVENTS, data=tampered, content_type="application/json", **headers)
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_without_a_signing_secret_everything_is_refused(client: Client, settings: Settings) -> None:
    settings.CERES_SLACK_SIGNING_SECRET = ""
    body = json.dumps({"type": "url_verification", "challenge": "x"}).encode()
    for secret in ("", "anything"):
        response = client.post(
            EVENTS,
            data=body,
            content_type="application/json",
            **signed_headers(body, secret=secret),
        )
        assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"type": "url_verification"}).encode(), "challenge"),
        (json.dumps({"type": "event_callback", "event": MESSAGE}).encode(), "event_id"),
        (json.dumps({"type": "event_callback", "event_id": "E" * 201}).encode(), "event_id"),
        (
            json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {}}).encode(),
            "event.type",
        ),
    ],
)
def test_malformed_bodies_after_a_good_signature_are_400_naming_the_field(
    client: Client, body: bytes, field: str
) -> None:
    response = post_event(client, body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not InboundEvent.objects.exists()


def test_other_callback_types_are_acknowledged_without_storing(client: Client) -> None:
    response = post_event(client, {"type": "app_rate_limited", "minute_rate_limited": 1})
    assert response.status_code == 200
    assert not InboundEvent.objects.exists()


def test_unknown_event_types_are_stored_ignored_and_counted(client: Client) -> None:
    for n, kind in enumerate(("team_join", "emoji_changed", "team_join")):
        post_event(client, event_callback({"type": kind}, event_id=f"EvU{n}"))
    for event in InboundEvent.objects.all():
        assert process_event(inbound_event_id=event.pk) == InboundEvent.Status.IGNORED
    ignored = InboundEvent.objects.filter(provider="slack", status=InboundEvent.Status.IGNORED)
    assert ignored.count() == 3


def test_only_post_is_accepted(client: Client) -> None:
    assert client.get(EVENTS).status_code == 405
    assert client.get(INTERACTIVITY).status_code == 405


# --- interactivity ---------------------------------------------------------------------------

PRESS = {
    "type": "block_actions",
    "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    "user": {"id": "U0WILE"},
    "channel": {"id": "C0ACME"},
    "message": {"ts": "1764633601.000200", "thread_ts": "1764633600.000100"},
    "actions": [{"action_id": "escalate_p1", "value": "P1", "action_ts": "1764633700.1"}],
}


def post_interaction(client: Client, form: dict[str, str], **headers: str) -> Any:
    body = urlencode(form).encode()
    signed = signed_headers(body)
    signed.update(headers)
    return client.post(
        INTERACTIVITY, data=body, content_type="application/x-www-form-urlencoded", **signed
    )


def test_a_press_is_stored_under_its_trigger(client: Client) -> None:
    response = post_interaction(client, {"payload": json.dumps(PRESS)})
    assert response.status_code == 200
    post_interaction(client, {"payload": json.dumps(PRESS)})  # a double click
    event = InboundEvent.objects.get()
    assert event.event_type == "interaction.block_actions"
    assert event.event_id == f"interaction:{PRESS['trigger_id']}"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "payload"),
        ({"payload": "{oops"}, "payload"),
        ({"payload": json.dumps([PRESS])}, "payload.type"),
        ({"payload": json.dumps(dict(PRESS, trigger_id=""))}, "payload.trigger_id"),
    ],
)
def test_malformed_interactions_are_400(client: Client, form: dict[str, str], field: str) -> None:
    response = post_interaction(client, form)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not InboundEvent.objects.exists()


def test_an_unsigned_interaction_is_refused(client: Client) -> None:
    body = urlencode({"payload": json.dumps(PRESS)}).encode()
    response = client.post(
        INTERACTIVITY,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=str(int(time.time())),
        HTTP_X_SLACK_SIGNATURE="v0=" + "a" * 64,
    )
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()
