"""The GitHub webhook receiver: verified first, stored once under the delivery id."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event

pytestmark = pytest.mark.django_db

URL = "/integrations/github/webhook"
SECRET = "It's a Secret to Everybody"
COMMENT = {
    "action": "created",
    "issue": {"number": 42, "state": "open", "labels": [{"name": "+more info please"}]},
    "comment": {"id": 1, "body": "Here are the logs", "user": {"login": "CommunityPerson"}},
    "repository": {"full_name": "example-vendor/product"},
    "sender": {"login": "CommunityPerson"},
}


@pytest.fixture(autouse=True)
def secret(settings: Settings) -> None:
    settings.CERES_GITHUB_WEBHOOK_SECRET = SECRET


def deliver(
    client: Client,
    body: bytes | dict[str, Any],
    *,
    event: str = "issue_comment",
    delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    signature: str | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if signature is None:
        signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        URL,
        data=raw,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_GITHUB_DELIVERY=delivery,
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


def test_a_delivery_is_stored_once_as_event_and_action(client: Client) -> None:
    assert deliver(client, COMMENT).status_code == 202
    assert deliver(client, COMMENT).status_code == 200  # redelivered: no change
    event = InboundEvent.objects.get()
    assert (event.provider, event.event_type) == ("github", "issue_comment.created")
    assert event.payload["comment"]["body"] == "Here are the logs"


def test_the_ping_is_answered_and_not_stored(client: Client) -> None:
    response = deliver(client, {"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "sha1=abc",
        "sha256=" + "0" * 64,
        "sha256=" + hmac.new(b"other", b"x", "sha256").hexdigest(),
    ],
)
def test_unverified_deliveries_are_refused_and_logged(
    client: Client, signature: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = deliver(client, COMMENT, signature=signature)
    assert response.status_code == 401
    assert response.json()["field"] == "X-Hub-Signature-256"
    assert not InboundEvent.objects.exists()
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_without_a_secret_everything_is_refused(client: Client, settings: Settings) -> None:
    settings.CERES_GITHUB_WEBHOOK_SECRET = ""
    raw = json.dumps(COMMENT).encode()
    unsigned = "sha256=" + hmac.new(b"", raw, hashlib.sha256).hexdigest()
    assert deliver(client, raw, signature=unsigned).status_code == 401


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        (b"{not json", {}, "body"),
        (b"[1]", {}, "body"),
        (json.dumps(COMMENT).encode(), {"delivery": ""}, "X-GitHub-Delivery"),
        (json.dumps(COMMENT).encode(), {"event": "Not An Event!"}, "X-GitHub-Event"),
    ],
)
def test_malformed_deliveries_after_a_good_signature_are_400(
    client: Client, body: bytes, headers: dict[str, str], field: str
) -> None:
    response = deliver(client, body, **headers)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not InboundEvent.objects.exists()


def test_events_without_a_handler_yet_are_kept_as_ignored(client: Client) -> None:
    # issues.milestoned: the tracker handles opened/labeled/... but not milestones.
    deliver(
        client, {"action": "milestoned", "issue": {"number": 1}}, event="issues", delivery="d-1"
    )
    event = InboundEvent.objects.get()
    assert process_event(inbound_event_id=event.pk) == InboundEvent.Status.IGNORED
