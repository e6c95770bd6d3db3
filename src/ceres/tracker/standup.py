"""Business days on the stand-up board (pure functions of a business calendar).

Day 1 is the business day the issue went on the board (or the next one, when escalated after
hours); the handbook's "if a bug appears on stand-up for a second business day, the label is
removed": the label comes off when the board's last business day has closed, so the issue is
still on that day's stand-up, and no sooner.
"""

from __future__ import annotations

import datetime

from ceres.core.businesstime import Calendar
from ceres.core.businesstime.days import day_schedule, from_micros, to_micros
from ceres.core.errors import Invalid
from ceres.sla.policies import calendar as sla_calendar

ONE_DAY = datetime.timedelta(days=1)
SEARCH_DAYS = 400  # a calendar open less than once a year has no "second business day"
# With no calendar set up (a fresh built-in install), Monday to Friday in UTC are business days.
WEEKDAYS = Calendar.from_spec(
    {
        "timezone": "UTC",
        "hours": {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    }
)


def board_calendar(key: str) -> Calendar:
    """The business calendar `key` (the playbook's `bug_workflow.standup.calendar`)."""
    try:
        return sla_calendar(key)[1]
    except Invalid:
        return WEEKDAYS


def _business_days(
    cal: Calendar, since: datetime.datetime, until: datetime.date | None = None, limit: int = 31
) -> list[tuple[datetime.date, int]]:
    """(date, close in epoch microseconds) of the business days from `since` on: at most
    `limit` of them, none after `until`."""
    start = to_micros(since)
    day = since.astimezone(cal.zone).date()
    found: list[tuple[datetime.date, int]] = []
    for _ in range(SEARCH_DAYS):
        if len(found) >= limit or (until is not None and day > until):
            break
        intervals = day_schedule(cal, day).intervals
        if intervals and intervals[-1][1] > start:
            found.append((day, intervals[-1][1]))
        day += ONE_DAY
    return found


def board_expires_at(
    cal: Calendar, since: datetime.datetime, business_day: int
) -> datetime.datetime | None:
    """The close of the `business_day`-th business day counted from `since`."""
    days = _business_days(cal, since, limit=business_day)
    if len(days) < business_day:
        return None
    return from_micros(days[business_day - 1][1], cal.zone).astimezone(datetime.UTC)


def business_day_on_board(cal: Calendar, since: datetime.datetime, now: datetime.datetime) -> int:
    """1 on the first business day, 2 on the second... (0 before the first has begun)."""
    today = now.astimezone(cal.zone).date()
    return len(_business_days(cal, since, until=today, limit=SEARCH_DAYS))
