"""Malformed input to the conversations and SLA APIs: 4xx naming the field, never 500."""

from __future__ import annotations

import datetime
import json
from typing import get_args

import pytest
from django.test import Client

from ceres.conversations import api, selectors
from ceres.conversations.models import Conversation, Message, SavedReply
from ceres.core.apisupport import MAX_PAGE_SIZE, NON_BLANK_PATTERN, NUL_FREE_PATTERN, SLUG_PATTERN
from ceres.core.audit.models import AuditEntry
from ceres.sla.models import SlaClock
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


# --- found by fuzzing with schemathesis (SQLite and PostgreSQL) ------------------------------


def _written() -> tuple[int, ...]:
    return (
        Conversation.objects.count(),
        Message.objects.count(),
        SlaClock.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1700000000, "with a UTC offset"),  # was taken as a Unix timestamp, answered 201
        ("1700000000", "with a UTC offset"),
        ("2026-05-22T15:00:00", "UTC offset"),
        ("0001-01-01T00:00:00+14:00", "out of range"),  # no instant in UTC: a 500
    ],
)
def test_received_at_is_an_instant_with_its_offset(
    client: Client, lena: Person, value: object, message: str
) -> None:
    headers = bearer(lena)
    before = _written()
    r = post(client, URL, {"body": "Hosts offline", "received_at": value}, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "received_at"
    assert message in r.json()["message"]
    assert _written() == before


def test_an_offset_postgresql_cannot_store_is_read_as_the_same_instant_in_utc(
    client: Client, lena: Person
) -> None:
    # RFC 3339 allows offsets up to ±23:59, PostgreSQL only to ±15:59: it was a 500 there.
    r = post(
        client,
        URL,
        {"body": "Hosts offline", "received_at": "2026-06-27T10:37:25+18:38"},
        **bearer(lena),
    )
    assert r.status_code == 201, r.content
    conversation = Conversation.objects.get(pk=r.json()["id"])
    assert conversation.received_at == datetime.datetime(
        2026, 6, 26, 15, 59, 25, tzinfo=datetime.UTC
    )


def test_nul_in_a_saved_reply_parameter_is_422_naming_it(
    client: Client, lena: Person, acme_thread: Conversation, position_reply: SavedReply
) -> None:
    # Plain parameters, outside the input schemas: PostgreSQL refused the NUL (a 500).
    headers = bearer(lena)
    r = client.get(f"{URL}/saved-replies?category=job%00", **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "category"
    r = post(
        client,
        f"{URL}/saved-replies/applying%00/render",
        {"conversation_id": acme_thread.pk},
        **headers,
    )
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "key"


def test_tags_are_slugs_and_a_bad_one_changes_nothing(
    client: Client, lena: Person, acme_thread: Conversation
) -> None:
    headers = bearer(lena)
    before = _written()
    r = client.patch(
        f"{URL}/{acme_thread.pk}",
        data=json.dumps({"priority": "P0", "tags": ["upgrade", "not a slug"]}),
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "tags.1"
    acme_thread.refresh_from_db()
    assert acme_thread.priority == "P2"
    assert not acme_thread.tags.exists()
    assert _written() == before


def test_the_document_states_the_choices_lengths_and_rules(client: Client, lena: Person) -> None:
    # Schema-valid requests were refused: the document said "string" where the server takes a
    # status, a priority, a queue, a slug or a non-blank message.
    assert set(get_args(api.StatusIn)) == set(Conversation.Status.values)
    assert set(get_args(api.PriorityIn)) == set(Conversation.Priority.values)
    assert set(get_args(api.SourceIn)) == set(Conversation.Source.values)
    assert set(get_args(api.QueueIn)) == set(selectors.QUEUES)
    doc = client.get("/api/v1/openapi.json", **bearer(lena)).json()
    schemas = doc["components"]["schemas"]
    params = {p["name"]: p["schema"] for p in doc["paths"][URL]["get"]["parameters"]}
    assert set(params["queue"]["enum"]) == set(selectors.QUEUES)
    assert set(params["status"]["enum"]) == {*Conversation.Status.values, ""}
    assert (params["page_size"]["minimum"], params["page_size"]["maximum"]) == (1, MAX_PAGE_SIZE)
    assert params["q"]["pattern"] == NUL_FREE_PATTERN
    opened = schemas["ConversationIn"]["properties"]
    assert opened["body"]["pattern"] == NON_BLANK_PATTERN
    assert opened["category"]["pattern"] == SLUG_PATTERN
    assert opened["priority"]["enum"] == list(Conversation.Priority.values)
    changed = schemas["ConversationPatch"]["properties"]
    assert {"enum": list(Conversation.Status.values), "type": "string"} in changed["status"][
        "anyOf"
    ]
    assert changed["tags"]["anyOf"][0]["items"]["pattern"] == SLUG_PATTERN
    message = schemas["MessageIn"]
    assert [branch["required"] for branch in message["anyOf"]] == [["body"], ["saved_reply"]]
    key = doc["paths"][f"{URL}/saved-replies/{{key}}/render"]["post"]["parameters"][0]
    assert key["schema"]["pattern"] == NUL_FREE_PATTERN


@pytest.mark.parametrize("term", ["-", "?", "[+", "²", "#99999999999999999999999", "\u2019"])
def test_searches_of_symbols_digits_and_huge_numbers_answer_normally(
    client: Client, lena: Person, acme_thread: Conversation, term: str
) -> None:
    """Found by fuzzing: punctuation-only terms (a NUL placeholder on PostgreSQL), "²" (a digit
    to isdigit, not to int) and numbers past 64 bits were 500s."""
    response = client.get(URL, {"q": term}, **bearer(lena))
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


def test_a_search_of_punctuation_does_not_match_every_account(
    client: Client, lena: Person, acme_thread: Conversation
) -> None:
    response = client.get(URL, {"q": "."}, **bearer(lena))
    assert response.json()["count"] == 0
    by_codename = client.get(URL, {"q": acme_thread.account.codename.name}, **bearer(lena))
    assert by_codename.json()["count"] == 1
