"""On-call's HTTP API, `/api/v1/oncall`: who is on call now, and a schedule's final schedule.

Reading needs `oncall.view_oncallschedule`, checked before any lookup (a 403 never tells
whether a schedule exists). People are shown by id, name and Slack user id: what a script
paging someone or an alias sync needs.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ceres.core.apisupport import AwareDateTime, InputSchema, Slug, request_user
from ceres.core.errors import Invalid, PermissionDenied
from ceres.oncall import selectors
from ceres.team.models import Person

router = Router(tags=["oncall"])

VIEW = "oncall.view_oncallschedule"
# A quarter (the longest is 92 days) and a day: enough to plan, bounded for the engine.
MAX_SPAN = datetime.timedelta(days=93)


class PersonOut(Schema):
    id: int
    name: str
    slack_user_id: str


class OnCallNowOut(Schema):
    schedule: str
    name: str
    # null: nobody is on call (a gap).
    on_call: PersonOut | None
    # When the person on call changes; null when it does not within 35 days.
    until: datetime.datetime | None
    # Who comes on at `until`; null with an `until`: a gap follows.
    next: PersonOut | None


class ShiftOut(Schema):
    start: datetime.datetime
    end: datetime.datetime
    # null: a gap, nobody on call.
    person: PersonOut | None
    # "override", "layer" (with `layer`, its position) or "gap".
    source: str
    layer: int | None


class FinalScheduleOut(Schema):
    schedule: str
    start: datetime.datetime
    end: datetime.datetime
    shifts: list[ShiftOut]


class SpanFilters(InputSchema):
    start: AwareDateTime
    end: AwareDateTime


def _require(request: HttpRequest, perm: str) -> None:
    if not request_user(request).has_perm(perm):
        raise PermissionDenied(f"you need the permission {perm}")


def _person(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.pk, "name": person.name, "slack_user_id": person.slack_user_id}


@router.get("/now", response=list[OnCallNowOut], summary="Who is on call now, on every schedule")
def now(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, VIEW)
    return [
        {
            "schedule": answer.schedule.key,
            "name": answer.schedule.name,
            "on_call": _person(answer.person),
            "until": answer.until,
            "next": _person(answer.next_person),
        }
        for answer in selectors.everyone_on_call_now()
    ]


@router.get(
    "/schedules/{key}/final",
    response=FinalScheduleOut,
    summary="A schedule's final schedule over [start, end): shifts and gaps",
)
def final(request: HttpRequest, key: Slug, span: Query[SpanFilters]) -> dict[str, Any]:
    _require(request, VIEW)
    if span.end <= span.start:
        raise Invalid("must be after start", field="end")
    if span.end - span.start > MAX_SPAN:
        raise Invalid(f"at most {MAX_SPAN.days} days after start", field="end")
    schedule = selectors.get_schedule(key)
    rows = selectors.final_schedule_rows(schedule, span.start, span.end)
    return {
        "schedule": schedule.key,
        "start": span.start,
        "end": span.end,
        "shifts": [
            {
                "start": row.start,
                "end": row.end,
                "person": _person(row.person),
                "source": row.source,
                "layer": row.layer,
            }
            for row in rows
        ],
    }
