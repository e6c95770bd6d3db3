from __future__ import annotations

import csv
import dataclasses
import datetime
import io
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from ceres.core.apisupport import AwareDateTime, BodySchema, InputSchema, IsoDate, request_user
from ceres.core.errors import Invalid, PermissionDenied
from ceres.sla import reports, selectors

router = Router(tags=["sla"])


class PreviewIn(BodySchema):
    policy: Annotated[str, Field(max_length=60)]
    received: AwareDateTime
    priority: Literal["P0", "P1", "P2", "P3"] | None = None


class PreviewOut(Schema):
    target: str
    due: datetime.datetime


@router.post("/preview", response=list[PreviewOut], summary="When a policy's targets fall due")
def preview(request: HttpRequest, payload: PreviewIn) -> list[PreviewOut]:
    try:
        lines = selectors.preview(policy_key=payload.policy, received_at=payload.received)
    except OverflowError:  # a deadline past 9999-12-31 (or a calendar day before 0001-01-01)
        raise Invalid("is too far in the past or the future", field="received") from None
    return [PreviewOut(target=line.target, due=line.due) for line in lines]


class ReportFilters(InputSchema):
    """The period is `start` to `end` inclusive, at most a year; by default the 28 days to
    `end`, which is today by default."""

    target: Literal["first_response", "next_response"] = "first_response"
    group_by: Literal["assignee", "source", "account", "week"] = "week"
    start: IsoDate | None = None
    end: IsoDate | None = None


class ReportRowOut(Schema):
    group: str
    responses: int
    p50_seconds: float | None
    p90_seconds: float | None
    within_target_percent: float | None
    breaches: int


class BreachOut(Schema):
    conversation_id: int
    account: str | None
    target: str
    priority: str
    due_at: datetime.datetime
    breached_at: datetime.datetime
    responded_at: datetime.datetime | None


def _period(filters: ReportFilters) -> tuple[datetime.date, datetime.date]:
    end = filters.end or timezone.localdate()
    # Never before the first day there is (end=0001-01-01 was an OverflowError, a 500).
    back = min(datetime.timedelta(days=27), end - datetime.date.min)
    start = filters.start or end - back
    return start, end


def _require_view(request: HttpRequest) -> None:
    if not request_user(request).has_perm("conversations.view_conversation"):
        raise PermissionDenied("you need the permission conversations.view_conversation")


def _report(request: HttpRequest, filters: ReportFilters) -> list[reports.ReportRow]:
    _require_view(request)
    start, end = _period(filters)
    return reports.response_report(
        user=request_user(request),
        target=filters.target,
        group_by=filters.group_by,
        start=start,
        end=end,
    )


def _csv(rows: list[Any], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if rows:
        names = [f.name for f in dataclasses.fields(rows[0])]
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if getattr(row, n) is None else getattr(row, n) for n in names])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/report", response=list[ReportRowOut], summary="Response times p50/p90, % in target")
def report(request: HttpRequest, filters: Query[ReportFilters]) -> list[reports.ReportRow]:
    return _report(request, filters)


@router.get("/report.csv", summary="The response-time report as CSV")
def report_csv(request: HttpRequest, filters: Query[ReportFilters]) -> HttpResponse:
    return _csv(_report(request, filters), "sla-report.csv")


def _breaches(request: HttpRequest, filters: ReportFilters) -> list[reports.BreachRow]:
    _require_view(request)
    start, end = _period(filters)
    return reports.breaches(user=request_user(request), start=start, end=end)


@router.get("/breaches", response=list[BreachOut], summary="SLA breaches in a period")
def breach_list(request: HttpRequest, filters: Query[ReportFilters]) -> list[reports.BreachRow]:
    return _breaches(request, filters)


@router.get("/breaches.csv", summary="SLA breaches as CSV")
def breach_csv(request: HttpRequest, filters: Query[ReportFilters]) -> HttpResponse:
    return _csv(_breaches(request, filters), "sla-breaches.csv")
