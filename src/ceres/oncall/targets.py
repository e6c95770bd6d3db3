"""Response targets: "We respond within 1-hour during business hours and 4 hours outside
business hours ... we need to at least acknowledge" (docs/oncall.md, "Response targets")."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.utils import timezone

from ceres.core.businesstime.engine import is_open
from ceres.core.errors import Invalid
from ceres.oncall.models import Alarm, EscalationPolicy
from ceres.sla.policies import calendar

log = logging.getLogger(__name__)


# --- response targets ----------------------------------------------------------------------------


def ack_due(policy: EscalationPolicy, opened: datetime.datetime) -> datetime.datetime | None:
    """When an alarm opened at `opened` must be acknowledged: within the inside-hours target
    when the policy's calendar is open then, the outside-hours one otherwise (the handbook's
    1 hour in business hours, 4 hours outside). Elapsed time, not business time: the 4 hours
    at night are 4 real hours. None: the policy measures no target."""
    if not policy.target_calendar:
        return None
    try:
        _, cal = calendar(policy.target_calendar)
    except Invalid:
        log.warning(
            "policy %s: no calendar %r, no response target", policy.key, policy.target_calendar
        )
        return None
    minutes = (
        policy.ack_within_inside_minutes
        if is_open(cal, opened)
        else policy.ack_within_outside_minutes
    )
    return opened + datetime.timedelta(minutes=minutes)


# --- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseReport:
    """Response targets over alarms opened in a span: how many had a target, were
    acknowledged in time, late, or not (yet), and the median time to acknowledge."""

    alarms: int
    with_target: int
    met: int
    missed: int
    pending: int
    median_minutes: float | None

    @property
    def met_ratio(self) -> float | None:
        decided = self.met + self.missed
        return self.met / decided if decided else None


def response_report(
    start: datetime.datetime, end: datetime.datetime, *, now: datetime.datetime | None = None
) -> ResponseReport:
    now = now or timezone.now()
    rows = list(
        Alarm.objects.filter(first_seen_at__gte=start, first_seen_at__lt=end).values_list(
            "first_seen_at", "ack_due_at", "first_acknowledged_at", "resolved_at"
        )
    )
    met = missed = pending = 0
    minutes: list[float] = []
    for opened, due_at, acked, resolved in rows:
        if acked is not None:
            minutes.append((acked - opened).total_seconds() / 60)
        if due_at is None:
            continue
        if acked is not None:
            if acked <= due_at:
                met += 1
            else:
                missed += 1
        elif resolved is not None and resolved <= due_at:
            continue  # gone by itself before anyone had to answer: no target to meet
        elif due_at < min(now, resolved or now):
            missed += 1
        else:
            pending += 1
    minutes.sort()
    median = None
    if minutes:
        middle = len(minutes) // 2
        median = (
            minutes[middle] if len(minutes) % 2 else (minutes[middle - 1] + minutes[middle]) / 2
        )
    return ResponseReport(
        alarms=len(rows),
        with_target=met + missed + pending,
        met=met,
        missed=missed,
        pending=pending,
        median_minutes=median,
    )
