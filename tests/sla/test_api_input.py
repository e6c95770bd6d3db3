"""Malformed or extreme input to the SLA API, and the SLA side of opening a conversation:
4xx naming the field, never a 500. Found by fuzzing with schemathesis (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any, get_args

import pytest
from django.test import Client

from ceres.conversations.models import Conversation, Message
from ceres.core.audit.models import AuditEntry
from ceres.sla import api, reports
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.team.models import Person
from tests.accounts.test_api import bearer, post


def written() -> tuple[int, ...]:
    return (
        Conversation.objects.count(),
        Message.objects.count(),
        SlaClock.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.mark.parametrize(
    "query",
    [
        "end=0001-01-01",  # the default start, 27 days before, was an OverflowError
        "end=0001-01-05&group_by=account",
        "start=9999-12-01&end=9999-12-31",  # the midnight after `end` was one
        "start=0001-01-01&end=0001-12-31",
    ],
)
@pytest.mark.parametrize("path", ["report", "report.csv", "breaches", "breaches.csv"])
def test_a_period_at_the_ends_of_the_calendar_is_an_empty_report(
    client: Client, cse: Person, handbook_policies: dict[str, SlaPolicy], path: str, query: str
) -> None:
    r = client.get(f"/api/v1/sla/{path}?{query}", **bearer(cse))
    assert r.status_code == 200, r.content
    if path.endswith(".csv"):
        assert r.content == b""
    else:
        assert r.json() == []


@pytest.mark.parametrize(
    ("received", "message"),
    [
        ("9999-12-31T23:00:00Z", "too far"),  # its deadline is past 9999-12-31: was a 500
        ("0001-01-01T02:00:00Z", "too far"),  # a business day before 0001-01-01 in Chicago
        ("0001-01-01T00:00:00+05:00", "out of range"),  # no instant in UTC: was a 500
        (1700000000, "with a UTC offset"),  # was taken as a Unix timestamp
        ("2026-11-28T22:10:00", "UTC offset"),
    ],
)
def test_preview_needs_an_instant_it_can_compute_deadlines_for(
    client: Client,
    cse: Person,
    handbook_policies: dict[str, SlaPolicy],
    received: Any,
    message: str,
) -> None:
    r = post(
        client, "/api/v1/sla/preview", {"policy": "premium", "received": received}, **bearer(cse)
    )
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "received"
    assert message in r.json()["message"]


@pytest.mark.parametrize("received_at", ["9999-12-31T23:00:00Z", "0001-01-01T02:00:00Z"])
def test_a_conversation_without_computable_deadlines_is_422_and_nothing_is_written(
    client: Client, cse: Person, handbook_policies: dict[str, SlaPolicy], received_at: str
) -> None:
    # Opening it computed the default policy's business-hours deadline: an OverflowError, 500.
    headers = bearer(cse)
    before = written()
    r = post(client, "/api/v1/conversations", {"body": "Hi", "received_at": received_at}, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "received_at"
    assert written() == before


def test_the_document_states_targets_and_groupings(client: Client, cse: Person) -> None:
    # "string" was documented; anything but these four groupings and two targets was a 422.
    target = api.ReportFilters.model_fields["target"].annotation
    group_by = api.ReportFilters.model_fields["group_by"].annotation
    assert set(get_args(target)) == set(reports.RESPONSE_TARGETS)
    assert set(get_args(group_by)) == set(reports.GROUPS)
    doc = client.get("/api/v1/openapi.json", **bearer(cse)).json()
    for path in ("report", "report.csv", "breaches", "breaches.csv"):
        params = {
            p["name"]: p["schema"] for p in doc["paths"][f"/api/v1/sla/{path}"]["get"]["parameters"]
        }
        assert set(params["target"]["enum"]) == set(reports.RESPONSE_TARGETS)
        assert set(params["group_by"]["enum"]) == set(reports.GROUPS)
        assert params["end"]["anyOf"][0] == {"format": "date", "type": "string"}
    preview = doc["components"]["schemas"]["PreviewIn"]["properties"]
    assert preview["received"] == {"format": "date-time", "title": "Received", "type": "string"}
