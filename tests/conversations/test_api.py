from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ceres.accounts.models import Account
from ceres.conversations import selectors
from ceres.conversations.models import Conversation, SavedReply
from ceres.core.outbox.models import OutboxMessage
from ceres.team.models import Person
from tests.accounts.test_api import bearer, patch, post

URL = "/api/v1/conversations"


def test_queues_filters_and_query_count(
    client: Client,
    lena: Person,
    acme_thread: Conversation,
    job_application: Conversation,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    headers = bearer(lena)
    with django_assert_max_num_queries(7):
        body = client.get(URL, **headers).json()
    assert body["count"] == 2
    assert client.get(f"{URL}?queue=unassigned", **headers).json()["count"] == 2
    assert client.get(f"{URL}?queue=mine", **headers).json()["count"] == 0
    assert client.get(f"{URL}?source=slack", **headers).json()["items"][0]["id"] == acme_thread.pk
    assert client.get(f"{URL}?queue=bogus", **headers).json()["field"] == "queue"
    assert client.get(f"{URL}?priority=P7", **headers).json()["field"] == "priority"


def test_open_queues_hold_every_status_but_closed(
    client: Client, lena: Person, acme_thread: Conversation, job_application: Conversation
) -> None:
    """ "Open" is "not closed" (the partial indexes' condition): waiting and on hold count."""
    headers = bearer(lena)
    Conversation.objects.filter(pk=acme_thread.pk).update(status="waiting_on_customer")
    Conversation.objects.filter(pk=job_application.pk).update(status="on_hold")
    done = Conversation.objects.create(
        source="api",
        subject="Done",
        status="closed",
        closure_note="Answered.",
        received_at=acme_thread.received_at,
        closed_at=acme_thread.received_at,
    )
    body = client.get(f"{URL}?queue=all_open", **headers).json()
    assert {item["id"] for item in body["items"]} == {acme_thread.pk, job_application.pk}
    assert body["count"] == 2
    closed = client.get(f"{URL}?queue=closed", **headers).json()
    assert [item["id"] for item in closed["items"]] == [done.pk]
    assert client.get(f"{URL}?queue=unassigned", **headers).json()["count"] == 2


def test_open_reply_and_close_through_the_api(
    client: Client, lena: Person, position_reply: SavedReply
) -> None:
    headers = bearer(lena)
    r = post(
        client,
        URL,
        {
            "source": "email",
            "subject": "Job",
            "body": "Applying",
            "category": "job-application",
            "requester_email": "jo@applicant.example",
            "requester_name": "Jo",
            "fields": {"position_title": "Engineer"},
            "received_at": "2026-05-22T15:00:00-05:00",
        },
        **headers,
    )
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    r = post(
        client,
        f"{URL}/{cid}/messages",
        {"kind": "reply", "saved_reply": "applying-for-open-position", "cc": ["hr@example.com"]},
        **headers,
    )
    assert r.status_code == 201, r.content
    assert "Engineer role" in r.json()["body"]
    outgoing = OutboxMessage.objects.get()
    assert outgoing.payload["subject"] == "Your application for Engineer"
    r = patch(client, f"{URL}/{cid}", {"status": "closed"}, **headers)
    assert r.status_code == 422
    assert r.json()["field"] == "closure_note"
    r = patch(
        client,
        f"{URL}/{cid}",
        {"status": "closed", "closure_note_from_last_reply": True},
        **headers,
    )
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
    assert "Engineer role" in r.json()["closure_note"]


def test_bad_input_names_the_field(client: Client, lena: Person, acme_thread: Conversation) -> None:
    headers = bearer(lena)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subject": "x", "body": "y", "received_at": "2026-05-22T15:00:00"}, "received_at"),
        ({"subject": "x", "body": ""}, "body"),
        ({"subject": "x", "body": "y", "source": "fax"}, "source"),
        ({"subject": "x", "body": "y", "account_id": 99999}, "account_id"),
        ({"subject": "x", "body": "y", "category": "no spaces"}, "category"),
    ]
    for payload, field in cases:
        r = post(client, URL, payload, **headers)
        assert 400 <= r.status_code < 500, (payload, r.content)
        assert r.json()["field"] == field, (payload, r.json())
    assert Conversation.objects.count() == 1
    r = post(client, f"{URL}/{acme_thread.pk}/messages", {"kind": "shout", "body": "x"}, **headers)
    assert r.status_code == 422
    assert r.json()["field"] == "kind"
    r = post(
        client,
        f"{URL}/{acme_thread.pk}/messages",
        {"kind": "reply", "saved_reply": "nope"},
        **headers,
    )
    assert r.json()["field"] == "saved_reply"
    r = patch(client, f"{URL}/{acme_thread.pk}", {"assignee": "nobody"}, **headers)
    assert r.json()["field"] == "assignee"
    assert client.get(f"{URL}/999999", **headers).status_code == 404


def test_without_permission_is_403_before_lookup(
    client: Client, engineer: Person, acme_thread: Conversation
) -> None:
    headers = bearer(engineer)
    assert client.get(URL, **headers).status_code == 403
    existing = patch(client, f"{URL}/{acme_thread.pk}", {"priority": "P0"}, **headers)
    missing = patch(client, f"{URL}/999999", {"priority": "P0"}, **headers)
    assert existing.status_code == missing.status_code == 403


def test_requester_and_real_name_hidden_without_confidential_access(
    client: Client, make_person: Callable[..., Person], acme_thread: Conversation, acme: Account
) -> None:
    newcomer = make_person(
        "cse",
        name="New Hire",
        email="new@example.com",
        withheld_permissions=["accounts.view_confidential"],
    )
    headers = bearer(newcomer)
    detail = client.get(f"{URL}/{acme_thread.pk}", **headers)
    text = detail.content.decode()
    assert "Acme Robotics" not in text
    assert "Wile Coyote" not in text
    assert detail.json()["account"] == "Kamo`oalewa"
    assert client.get(f"{URL}?q=acme", **headers).json()["count"] == 0
    assert client.get(f"{URL}?q=wile", **headers).json()["count"] == 0
    assert client.get(f"{URL}?q=kamooalewa", **headers).json()["count"] == 1


def test_the_closed_queue_counts_up_to_a_cap_and_pages_past_it(
    client: Client, lena: Person, acme_thread: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closed conversations pile up for years: their count stops at a cap (lower bound), and
    pages past it are still served."""
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    headers = bearer(lena)
    for n in range(3):
        Conversation.objects.create(
            source="api",
            subject=f"Done {n}",
            status="closed",
            closure_note="Answered.",
            received_at=acme_thread.received_at - datetime.timedelta(minutes=n),
            closed_at=acme_thread.received_at,
        )
    first = client.get(f"{URL}?queue=closed&page_size=2", **headers).json()
    assert (first["count"], first["count_is_lower_bound"]) == (2, True)
    assert [item["subject"] for item in first["items"]] == ["Done 0", "Done 1"]
    second = client.get(f"{URL}?queue=closed&page_size=2&page=2", **headers).json()
    assert [item["subject"] for item in second["items"]] == ["Done 2"]
    open_ = client.get(f"{URL}?queue=all_open", **headers).json()
    assert (open_["count"], open_["count_is_lower_bound"]) == (1, False)
