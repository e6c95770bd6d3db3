"""On-call's HTTP API, `/api/v1/oncall`: who is on call now, a schedule's final schedule, the
alarms (list, one, acknowledge, resolve) and the response targets.

Reading needs `oncall.view_oncallschedule`, checked before any lookup (a 403 never tells
whether a schedule exists). People are shown by id, name and Slack user id: what a script
paging someone or an alias sync needs.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ceres.core.apisupport import (
    AwareDateTime,
    InputSchema,
    PageNumber,
    PageSize,
    Slug,
    paginate,
    request_user,
)
from ceres.core.errors import Invalid, NotFound, PermissionDenied
from ceres.oncall import escalation, selectors, targets
from ceres.oncall.models import Alarm, AlarmPage
from ceres.team.models import Person
from ceres.team.selectors import person_of

router = Router(tags=["oncall"])

VIEW = "oncall.view_oncallschedule"
VIEW_ALARMS = "oncall.view_alarm"
CHANGE_ALARMS = "oncall.change_alarm"
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


# --- alarms ------------------------------------------------------------------------------------


class AlarmPageOut(Schema):
    person: PersonOut
    round: int
    step: int
    via: list[str]
    paged_at: datetime.datetime


class AlarmOut(Schema):
    id: int
    integration: str
    dedup_key: str
    title: str
    severity: str
    # "firing" (unacknowledged), "acknowledged" or "resolved".
    status: str
    count: int
    first_seen_at: datetime.datetime
    last_seen_at: datetime.datetime
    resolved_at: datetime.datetime | None
    acknowledged_at: datetime.datetime | None
    acknowledged_by: PersonOut | None
    # The response target; null when the chain measures none.
    ack_due_at: datetime.datetime | None
    # When the escalation next acts; null: nothing pending.
    next_escalation_at: datetime.datetime | None
    policy: str | None
    labels: dict[str, str]


class AlarmDetailOut(AlarmOut):
    pages: list[AlarmPageOut]
    outage_issue_id: int | None


class AlarmListPage(Schema):
    items: list[AlarmOut]
    count: int
    page: int
    page_size: int


class AlarmFilters(InputSchema):
    state: Literal["open", "firing", "acknowledged", "resolved", "all"] = "open"
    page: PageNumber = 1
    page_size: PageSize = 50


class ResponseTargetsOut(Schema):
    start: datetime.datetime
    end: datetime.datetime
    alarms: int
    with_target: int
    met: int
    missed: int
    pending: int
    median_minutes_to_acknowledge: float | None


def _alarm_fields(alarm: Alarm) -> dict[str, Any]:
    return {
        "id": alarm.pk,
        "integration": alarm.integration.name,
        "dedup_key": alarm.dedup_key,
        "title": alarm.title,
        "severity": alarm.severity,
        "status": alarm.status,
        "count": alarm.count,
        "first_seen_at": alarm.first_seen_at,
        "last_seen_at": alarm.last_seen_at,
        "resolved_at": alarm.resolved_at,
        "acknowledged_at": alarm.acknowledged_at,
        "acknowledged_by": _person(alarm.acknowledged_by),
        "ack_due_at": alarm.ack_due_at,
        "next_escalation_at": alarm.next_escalation_at,
        "policy": alarm.policy.key if alarm.policy else None,
        "labels": alarm.labels,
    }


def _alarms() -> Any:
    return Alarm.objects.select_related("integration", "policy", "acknowledged_by")


def _detail(alarm_id: int) -> dict[str, Any]:
    alarm = _alarms().filter(pk=alarm_id).first()
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}", field="alarm_id")
    pages = AlarmPage.objects.filter(alarm=alarm).select_related("person")
    return _alarm_fields(alarm) | {
        "pages": [
            {
                "person": _person(page.person),
                "round": page.round,
                "step": page.step,
                "via": page.via,
                "paged_at": page.paged_at,
            }
            for page in pages
        ],
        "outage_issue_id": alarm.outage_issue_id,
    }


@router.get("/alarms", response=AlarmListPage, summary="Alarms, newest first")
def alarm_list(request: HttpRequest, filters: Query[AlarmFilters]) -> dict[str, Any]:
    _require(request, VIEW_ALARMS)
    qs = Alarm.objects.all()
    if filters.state == "open":
        qs = qs.exclude(status=Alarm.Status.RESOLVED)
    elif filters.state != "all":
        qs = qs.filter(status=filters.state)
    page = paginate(
        _alarms().filter(pk__in=qs.values("pk")).order_by("-first_seen_at", "-id"),
        page=filters.page,
        page_size=filters.page_size,
        count_from=qs,
    )
    return {
        "items": [_alarm_fields(alarm) for alarm in page.items],
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
    }


@router.get("/alarms/{alarm_id}", response=AlarmDetailOut, summary="One alarm, with its pages")
def alarm_detail(request: HttpRequest, alarm_id: int) -> dict[str, Any]:
    _require(request, VIEW_ALARMS)
    return _detail(alarm_id)


@router.post(
    "/alarms/{alarm_id}/acknowledge",
    response=AlarmDetailOut,
    summary="Acknowledge an alarm you were paged for: escalation stops",
)
def alarm_acknowledge(request: HttpRequest, alarm_id: int) -> dict[str, Any]:
    _require(request, VIEW_ALARMS)
    if not Alarm.objects.filter(pk=alarm_id).exists():
        raise NotFound(f"no alarm {alarm_id}", field="alarm_id")
    escalation.acknowledge(
        actor=request_user(request), alarm_id=alarm_id, person=person_of(request_user(request))
    )
    return _detail(alarm_id)


@router.post(
    "/alarms/{alarm_id}/resolve",
    response=AlarmDetailOut,
    summary="Resolve an alarm by hand (paged for it, or allowed to change alarms)",
)
def alarm_resolve(request: HttpRequest, alarm_id: int) -> dict[str, Any]:
    _require(request, VIEW_ALARMS)
    if not Alarm.objects.filter(pk=alarm_id).exists():
        raise NotFound(f"no alarm {alarm_id}", field="alarm_id")
    user = request_user(request)
    escalation.resolve(
        actor=user,
        alarm_id=alarm_id,
        person=person_of(request_user(request)),
        may_resolve_any=user.has_perm(CHANGE_ALARMS),
    )
    return _detail(alarm_id)


@router.get(
    "/response-targets",
    response=ResponseTargetsOut,
    summary="Response targets of the alarms opened in [start, end)",
)
def response_targets(request: HttpRequest, span: Query[SpanFilters]) -> dict[str, Any]:
    _require(request, VIEW_ALARMS)
    if span.end <= span.start:
        raise Invalid("must be after start", field="end")
    if span.end - span.start > datetime.timedelta(days=366):
        raise Invalid("at most 366 days after start", field="end")
    report = targets.response_report(span.start, span.end)
    return {
        "start": span.start,
        "end": span.end,
        "alarms": report.alarms,
        "with_target": report.with_target,
        "met": report.met,
        "missed": report.missed,
        "pending": report.pending,
        "median_minutes_to_acknowledge": report.median_minutes,
    }
