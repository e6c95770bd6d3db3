"""Malformed input to the conversations and SLA APIs: 4xx naming the field, never 500."""

from __future__ import annotations

import json

from django.test import Client

from ceres.conversations.models import Conversation, Message
from ceres.team.models import Person
from tests.accounts.test_api import bearer, post

URL = "/api/v1/conversations"


def test_malformed_bodies_and_queries(
    client: Client, lena: Person, acme_thread: Conversation
) -> None:
    headers = bearer(lena)
    cases = [
        post(
            client,
            f"{URL}/{acme_thread.pk}/messages",
            {"kind": "reply", "saved_reply": "a\x00"},
            **headers,
        ),
        client.patch(
            f"{URL}/{acme_thread.pk}",
            data="[null, null]",
            content_type="application/json",
            **headers,
        ),
        client.patch(
            f"{URL}/{acme_thread.pk}",
            data=json.dumps({"prority": "P1"}),
            content_type="application/json",
            **headers,
        ),
        client.get(f"{URL}?q=a%00b", **headers),
        client.get(f"{URL}/99999999999999999999999", **headers),
        client.get("/api/v1/sla/report?end=0", **headers),
        post(client, URL, {"subject": "x", "body": "y", "account_id": "12"}, **headers),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, response.content
        assert "field" in response.json()
    assert Message.objects.filter(conversation=acme_thread).count() == 1
    acme_thread.refresh_from_db()
    assert acme_thread.priority == "P2"
