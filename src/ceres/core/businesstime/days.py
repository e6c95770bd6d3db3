"""A calendar's local dates as real open intervals, cached: the only place wall-clock meets UTC.

Instants are handled as integer microseconds since the Unix epoch: exact (no float rounding),
and comparing or adding them is far cheaper than datetime arithmetic in the day-by-day loops.

The DST rule, in one place. A wall-clock time W on a local date is the first instant at which
the clock shows W or later:
- an ordinary time is that instant;
- a repeated time (autumn) is its first occurrence (zoneinfo's fold=0);
- a skipped time (spring) is the instant the clocks jump, the first one after the gap.
This mapping never decreases as W grows, so a date's windows stay ordered, never overlap the
next date's, and a window keeps real elapsed time: 00:00-03:00 on a fall-back night is four
hours, on a spring-forward night two. (zoneinfo's own fold=0 reading of a skipped time would
put 02:30 after 03:15 on that night, and windows could end before they start.)
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import holidays

from ceres.core.businesstime.calendar import Calendar, Windows
from ceres.core.hours import MINUTES_PER_DAY

MICROSECOND = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_DAY = timedelta(days=1)
_PER_SECOND = 1_000_000


class Day(NamedTuple):
    """One local date: its span [start, end) and its open intervals, in epoch microseconds."""

    start: int
    end: int
    intervals: tuple[tuple[int, int], ...]


def to_micros(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


def from_micros(micros: int, zone: zoneinfo.ZoneInfo) -> datetime:
    return (EPOCH + timedelta(microseconds=micros)).astimezone(zone)


@lru_cache(maxsize=1 << 16)
def day_schedule(calendar: Calendar, day: date) -> Day:
    """Cached per (calendar, date): an SLA computation touches the same few dates again and
    again, and a long one walks each date once. 65,536 entries are about 180 years of one
    calendar, or a year of 180 calendars."""
    zone = calendar.zone
    start = wall_to_micros(zone, day, 0)
    end = wall_to_micros(zone, day, MINUTES_PER_DAY)
    intervals: list[tuple[int, int]] = []
    for window in windows_on(calendar, day):
        opens = wall_to_micros(zone, day, window.start)
        closes = wall_to_micros(zone, day, window.end)
        if closes <= opens:
            continue  # the whole window fell into a skipped hour
        if intervals and intervals[-1][1] == opens:
            intervals[-1] = (intervals[-1][0], closes)  # adjacent windows are one interval
        else:
            intervals.append((opens, closes))
    return Day(start, end, tuple(intervals))


def windows_on(calendar: Calendar, day: date) -> Windows:
    if day in calendar.closed_dates:
        return ()
    opened = calendar.open_date_windows.get(day)
    if opened is not None:
        return opened
    if calendar.holiday_country is not None and day in holiday_dates(
        calendar.holiday_country, calendar.holiday_subdivision, day.year
    ):
        return ()
    return calendar.weekly_hours[day.weekday()]


@lru_cache(maxsize=1024)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Building a year of holidays takes milliseconds; done once per country and year."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def wall_to_micros(zone: zoneinfo.ZoneInfo, day: date, minute: int) -> int:
    """The instant of a wall-clock minute of `day` (1440 is the next midnight); module doc."""
    if minute == MINUTES_PER_DAY:
        day += ONE_DAY
        minute = 0
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    seconds = _epoch_seconds(local)
    if datetime.fromtimestamp(seconds, zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return seconds * _PER_SECOND
    return clocks_jump(zone, local) * _PER_SECOND


def clocks_jump(zone: zoneinfo.ZoneInfo, local: datetime) -> int:
    """The instant (epoch seconds) of the jump that skipped `local` (also used by on-call
    handoffs): the two readings of a skipped time (the offsets before and after) fall on
    either side of it; bisect the whole seconds between them."""
    first, second = _epoch_seconds(local), _epoch_seconds(local.replace(fold=1))
    before, after = min(first, second), max(first, second)
    offset_before = datetime.fromtimestamp(before, zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            before = middle
        else:
            after = middle
    return after


def _epoch_seconds(local: datetime) -> int:
    return (local - EPOCH) // timedelta(seconds=1)


def locate(calendar: Calendar, micros: int, local_date: date) -> tuple[date, Day]:
    """The date whose span holds `micros`. That is the instant's local date, except in zones
    whose clocks went back across midnight, where the next or previous date owns it."""
    day = day_schedule(calendar, local_date)
    while micros < day.start:
        local_date -= ONE_DAY
        day = day_schedule(calendar, local_date)
    while micros >= day.end:
        local_date += ONE_DAY
        day = day_schedule(calendar, local_date)
    return local_date, day
