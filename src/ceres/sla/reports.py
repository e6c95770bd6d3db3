"""Response-time reports: p50/p90, share within target, by assignee, source, account or week;
and the list of breaches. Computed from the clocks, so they measure exactly what the SLA
engine enforced."""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ceres.accounts.selectors import Viewer, can_view_confidential
from ceres.core.errors import Invalid
from ceres.sla.models import SlaClock

GROUPS = ("assignee", "source", "account", "week")
RESPONSE_TARGETS = (SlaClock.Target.FIRST_RESPONSE, SlaClock.Target.NEXT_RESPONSE)


@dataclass(frozen=True)
class ReportRow:
    group: str
    responses: int
    p50_seconds: float | None
    p90_seconds: float | None
    within_target_percent: float | None
    breaches: int


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: a value that occurred, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _check_period(start: datetime.date, end: datetime.date) -> None:
    if end < start:
        raise Invalid("must not be before start", field="end")
    if (end - start).days > 366:
        raise Invalid("a report covers at most a year", field="end")


def _utc_bounds(
    start: datetime.date, end: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    """The first and the last instant (UTC) of the days start to end: compare with `__gte` and
    `__lte`. (The midnight after `end` does not exist when `end` is 9999-12-31.)"""
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC),
        datetime.datetime.combine(end, datetime.time.max, tzinfo=datetime.UTC),
    )


def _clocks(target: str, start: datetime.date, end: datetime.date) -> list[SlaClock]:
    if target not in RESPONSE_TARGETS:
        raise Invalid(f"must be one of {', '.join(RESPONSE_TARGETS)}", field="target")
    _check_period(start, end)
    first, last = _utc_bounds(start, end)
    return list(
        SlaClock.objects.filter(target=target, started_at__gte=first, started_at__lte=last)
        .select_related("conversation__assignee", "conversation__account__codename")
        .order_by("started_at")
    )


def _grouper(group_by: str, user: Viewer) -> Callable[[SlaClock], str]:
    confidential = can_view_confidential(user)

    def by_assignee(clock: SlaClock) -> str:
        assignee = clock.conversation.assignee
        return assignee.name if assignee else "(unassigned)"

    def by_source(clock: SlaClock) -> str:
        return clock.conversation.source

    def by_account(clock: SlaClock) -> str:
        account = clock.conversation.account
        if account is None:
            return "(no account)"
        return account.legal_name if confidential else account.codename.name

    def by_week(clock: SlaClock) -> str:
        year, week, _ = clock.started_at.isocalendar()
        return f"{year}-W{week:02d}"

    groupers = {
        "assignee": by_assignee,
        "source": by_source,
        "account": by_account,
        "week": by_week,
    }
    if group_by not in groupers:
        raise Invalid(f"must be one of {', '.join(GROUPS)}", field="group_by")
    return groupers[group_by]


def response_report(
    *,
    user: Viewer,
    target: str = SlaClock.Target.FIRST_RESPONSE,
    group_by: str = "week",
    start: datetime.date,
    end: datetime.date,
) -> list[ReportRow]:
    """A response is a clock stopped by a team reply; clocks still running or ended by
    closing count only in `breaches`."""
    group_of = _grouper(group_by, user)
    durations: dict[str, list[float]] = defaultdict(list)
    met: dict[str, int] = defaultdict(int)
    breaches: dict[str, int] = defaultdict(int)
    for clock in _clocks(target, start, end):
        group = group_of(clock)
        if clock.breached_at is not None:
            breaches[group] += 1
        if clock.stopped_by == "reply" and clock.stopped_at is not None:
            durations[group].append((clock.stopped_at - clock.started_at).total_seconds())
            met[group] += clock.stopped_at <= clock.due_at
        else:
            durations.setdefault(group, [])
    return [
        ReportRow(
            group=group,
            responses=len(values),
            p50_seconds=percentile(values, 50),
            p90_seconds=percentile(values, 90),
            within_target_percent=round(100 * met[group] / len(values), 1) if values else None,
            breaches=breaches[group],
        )
        for group, values in sorted(durations.items())
    ]


@dataclass(frozen=True)
class BreachRow:
    conversation_id: int
    account: str | None
    target: str
    priority: str
    due_at: datetime.datetime
    breached_at: datetime.datetime
    responded_at: datetime.datetime | None


def breaches(*, user: Viewer, start: datetime.date, end: datetime.date) -> list[BreachRow]:
    _check_period(start, end)
    confidential = can_view_confidential(user)
    first, last = _utc_bounds(start, end)
    rows = []
    clocks = (
        SlaClock.objects.filter(breached_at__gte=first, breached_at__lte=last)
        .select_related("conversation__account__codename")
        .order_by("breached_at")
    )
    for clock in clocks:
        account = clock.conversation.account
        name = None
        if account is not None:
            name = account.legal_name if confidential else account.codename.name
        rows.append(
            BreachRow(
                conversation_id=clock.conversation_id,
                account=name,
                target=clock.target,
                priority=clock.conversation.priority,
                due_at=clock.due_at,
                breached_at=clock.breached_at or clock.due_at,
                responded_at=clock.stopped_at if clock.stopped_by == "reply" else None,
            )
        )
    return rows
