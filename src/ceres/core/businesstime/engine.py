"""The questions SLA clocks ask of a calendar, answered day by day over open intervals.

Every function walks the cached open intervals of consecutive local dates (`days.py`), so its
cost grows with the number of dates crossed, never with the minutes: a closed date is one cache
lookup, and adding 10,000 business hours crosses about 1,800 dates.

Intervals are half-open, [opens, closes): a calendar is open at 09:00 and closed at 17:00 for
a 09:00-17:00 window. Durations are real elapsed time (what a stopwatch shows), so business
time across a DST change is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from ceres.core.businesstime.calendar import Calendar
from ceres.core.businesstime.days import (
    MICROSECOND,
    ONE_DAY,
    day_schedule,
    from_micros,
    locate,
    to_micros,
)
from ceres.core.errors import Invalid

# A calendar closed this long (closed dates covering every window for ten years) will never
# open again as far as an SLA is concerned; better an error than a loop.
_LONGEST_CLOSURE = 3660


class InvalidArgument(Invalid, ValueError):
    """A naive datetime or a negative duration: a caller's mistake, named by argument. Also a
    ValueError, as Python code expects of a bad argument; an Invalid, so the API answers 422."""


def is_open(calendar: Calendar, instant: datetime) -> bool:
    """Whether `instant` falls inside an open window (a window's end is already closed)."""
    micros = _micros(instant, "instant")
    _, day = locate(calendar, micros, _local_date(calendar, instant))
    return any(opens <= micros < closes for opens, closes in day.intervals)


def next_opening(calendar: Calendar, instant: datetime) -> datetime:
    """The first open instant at or after `instant`: `instant` itself when open."""
    micros = _micros(instant, "instant")
    for opens, _closes in _intervals_from(calendar, micros, _local_date(calendar, instant)):
        return from_micros(max(opens, micros), calendar.zone)
    raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover


def add_business_time(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of open time has passed since `start`.

    Counting begins at `start`, or at the next opening when `start` is closed. When the duration
    runs out exactly at a window's end, the answer is that end (not the next opening), so a
    deadline of "4 business hours" from 13:00 is 17:00 the same day. A zero duration is `start`.
    """
    micros = _micros(start, "start")
    remaining = _duration_micros(duration)
    if remaining == 0:
        return start.astimezone(calendar.zone)
    for opens, closes in _intervals_from(calendar, micros, _local_date(calendar, start)):
        opens = max(opens, micros)
        if remaining <= closes - opens:
            return from_micros(opens + remaining, calendar.zone)
        remaining -= closes - opens
    raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover


def business_time_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Open time in [start, end); zero when `end` is not after `start`."""
    first, last = _micros(start, "start"), _micros(end, "end")
    total = 0
    for opens, closes in _clipped(calendar, first, last, _local_date(calendar, start)):
        total += closes - opens
    return timedelta(microseconds=total)


def open_intervals(
    calendar: Calendar, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The open intervals inside [start, end), clipped to it, touching ones merged (24/7 is one
    interval): for showing a calendar, and for clocks that need more than a total."""
    first, last = _micros(start, "start"), _micros(end, "end")
    pending: tuple[int, int] | None = None
    for opens, closes in _clipped(calendar, first, last, _local_date(calendar, start)):
        if pending is not None and pending[1] == opens:
            pending = (pending[0], closes)
            continue
        if pending is not None:
            yield from_micros(pending[0], calendar.zone), from_micros(pending[1], calendar.zone)
        pending = (opens, closes)
    if pending is not None:
        yield from_micros(pending[0], calendar.zone), from_micros(pending[1], calendar.zone)


def _intervals_from(calendar: Calendar, micros: int, local_date: date) -> Iterator[tuple[int, int]]:
    """Open intervals ending after `micros`, in order, forever (the first may hold `micros`)."""
    current, day = locate(calendar, micros, local_date)
    closed_days = 0
    while True:
        found = False
        for opens, closes in day.intervals:
            if closes > micros:
                found = True
                yield opens, closes
        closed_days = 0 if found else closed_days + 1
        if closed_days > _LONGEST_CLOSURE:
            raise Invalid(
                f"the calendar stays closed for more than {_LONGEST_CLOSURE} days after "
                f"{current.isoformat()}",
                field="calendar",
            )
        current += ONE_DAY
        day = day_schedule(calendar, current)


def _clipped(
    calendar: Calendar, first: int, last: int, local_date: date
) -> Iterator[tuple[int, int]]:
    """Open intervals intersected with [first, last), in order."""
    if last <= first:
        return
    current, day = locate(calendar, first, local_date)
    while day.start < last:
        for opens, closes in day.intervals:
            opens, closes = max(opens, first), min(closes, last)
            if closes > opens:
                yield opens, closes
        current += ONE_DAY
        day = day_schedule(calendar, current)


def _micros(instant: datetime, argument: str) -> int:
    if not isinstance(instant, datetime):
        raise InvalidArgument(f"{argument} must be a datetime, not {instant!r}", field=argument)
    if instant.utcoffset() is None:
        raise InvalidArgument(
            f"{argument} must be an aware datetime (with a time zone or UTC offset), "
            f"not the naive {instant.isoformat()}",
            field=argument,
        )
    return to_micros(instant)


def _duration_micros(duration: timedelta) -> int:
    if not isinstance(duration, timedelta):
        raise InvalidArgument(f"duration must be a timedelta, not {duration!r}", field="duration")
    if duration < timedelta(0):
        raise InvalidArgument(f"duration must not be negative, not {duration}", field="duration")
    return duration // MICROSECOND


def _local_date(calendar: Calendar, instant: datetime) -> date:
    return instant.astimezone(calendar.zone).date()
