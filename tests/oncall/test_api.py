"""On-call's HTTP API (`/api/v1/oncall`): who is on call now on every schedule, a schedule's
final schedule, their bad input (422 naming the field) and their permission (403 before any
lookup)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.test import Client

from ceres.oncall import services
from ceres.oncall.models import OnCallSchedule
from ceres.team.models import Person
from tests.accounts.test_api import bearer
from tests.oncall.conftest import chicago

pytestmark = pytest.mark.django_db

URL = "/api/v1/oncall"


def iso(instant: datetime.datetime) -> str:
    return instant.isoformat()


def test_now_lists_every_schedule_with_until_and_next(
    client: Client,
    vp: Person,
    first_responder: OnCallSchedule,
    ravi: Person,
    jonas: Person,
    clock: Callable[[datetime.datetime], None],
) -> None:
    services.save_schedule(actor=None, key="developer-on-call", name="Developer on-call")
    clock(chicago(2026, 11, 5, 12))
    r = client.get(f"{URL}/now", **bearer(vp))
    assert r.status_code == 200, r.content
    body = {row["schedule"]: row for row in r.json()}
    assert body["developer-on-call"] == {
        "schedule": "developer-on-call",
        "name": "Developer on-call",
        "on_call": None,
        "until": None,
        "next": None,
    }
    first = body["infrastructure-oncall"]
    assert first["on_call"] == {"id": ravi.pk, "name": "Ravi Menon", "slack_user_id": ""}
    assert first["next"]["name"] == "Jonas Berg"
    assert datetime.datetime.fromisoformat(first["until"]) == chicago(2026, 11, 9, 9)


def test_final_schedule(
    client: Client, vp: Person, first_responder: OnCallSchedule, ravi: Person, jonas: Person
) -> None:
    r = client.get(
        f"{URL}/schedules/infrastructure-oncall/final",
        {"start": iso(chicago(2026, 11, 1)), "end": iso(chicago(2026, 11, 17))},
        **bearer(vp),
    )
    assert r.status_code == 200, r.content
    shifts = r.json()["shifts"]
    assert [(s["person"] and s["person"]["name"], s["source"], s["layer"]) for s in shifts] == [
        (None, "gap", None),
        ("Ravi Menon", "layer", 0),
        ("Jonas Berg", "layer", 0),
        ("Ravi Menon", "layer", 0),
    ]
    assert datetime.datetime.fromisoformat(shifts[1]["start"]) == chicago(2026, 11, 2, 9)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": "2026-11-16T00:00:00-06:00"}, "start"),
        ({"start": "2026-11-01T00:00:00-06:00"}, "end"),
        ({"start": "2026-11-01T00:00:00", "end": "2026-11-16T00:00:00-06:00"}, "start"),
        ({"start": "yesterday", "end": "2026-11-16T00:00:00-06:00"}, "start"),
        ({"start": "1700000000", "end": "2026-11-16T00:00:00-06:00"}, "start"),
        ({"start": "2026-11-16T00:00:00-06:00", "end": "2026-11-16T00:00:00-06:00"}, "end"),
        ({"start": "2026-11-16T00:00:00-06:00", "end": "2026-11-01T00:00:00-06:00"}, "end"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2026-04-05T00:00:01Z"}, "end"),  # > 93 days
        ({"start": "2026-01-01T00:00:00\x00Z", "end": "2026-04-05T00:00:00Z"}, "start"),
    ],
)
def test_final_schedule_bad_input_names_the_field(
    client: Client,
    vp: Person,
    first_responder: OnCallSchedule,
    params: dict[str, str],
    field: str,
) -> None:
    r = client.get(f"{URL}/schedules/infrastructure-oncall/final", params, **bearer(vp))
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field


def test_93_days_is_fine_and_an_unknown_schedule_is_404(
    client: Client, vp: Person, first_responder: OnCallSchedule
) -> None:
    span = {"start": "2026-01-01T00:00:00Z", "end": "2026-04-04T00:00:00Z"}
    ok = client.get(f"{URL}/schedules/infrastructure-oncall/final", span, **bearer(vp))
    assert ok.status_code == 200
    missing = client.get(f"{URL}/schedules/nope/final", span, **bearer(vp))
    assert missing.status_code == 404
    assert missing.json()["field"] == "key"
    bad_key = client.get(f"{URL}/schedules/no%20pe/final", span, **bearer(vp))
    assert bad_key.status_code == 422


def test_permission_is_checked_before_any_lookup(
    client: Client, engineer: Person, cse: Person, first_responder: OnCallSchedule
) -> None:
    span = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    for person in (engineer, cse):
        assert client.get(f"{URL}/now", **bearer(person)).status_code == 403
        for key in ("infrastructure-oncall", "nope"):
            r = client.get(f"{URL}/schedules/{key}/final", span, **bearer(person))
            assert r.status_code == 403
            assert "oncall.view_oncallschedule" in r.json()["message"]
    assert client.get(f"{URL}/now").status_code == 401
