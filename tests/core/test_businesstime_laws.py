"""The laws of business time on random calendars, and a cross-check against a naive reference.

Random calendars use zones with DST changes of an hour (Chicago, Berlin, St John's) and of
half an hour (Lord Howe), and instants near their changes, so skipped and repeated hours are
hit often. Instants are compared through their UTC microseconds: Python compares two datetimes
of one zone by wall clock, ignoring `fold` (PEP 495), which is wrong in a repeated hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ceres.core.businesstime import (
    Calendar,
    OpenDate,
    Window,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
    open_intervals,
)

ZONES = ("America/Chicago", "Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "UTC")
HOLIDAYS = ((None, None), ("US", None), ("DE", "BY"), ("AU", "NSW"))
ORDINARY_DAYS = (date(2026, 5, 25), date(2026, 12, 25), date(2026, 6, 17))


def _dst_changes(zone: str) -> tuple[date, ...]:
    """The 2026 dates on which `zone` changes its clocks: where the hard cases are."""
    tz = ZoneInfo(zone)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(366)]
    offsets = [datetime.combine(day, datetime.min.time(), tz).utcoffset() for day in days]
    return tuple(days[n - 1] for n in range(1, len(days)) if offsets[n] != offsets[n - 1])


ANCHORS = {zone: _dst_changes(zone) + ORDINARY_DAYS for zone in ZONES}
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)
LAWS = settings(max_examples=100, deadline=None)
CROSS_CHECK = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def _pair_up(quarter_hours: list[int]) -> tuple[Window, ...]:
    edges = sorted({quarter * 15 for quarter in quarter_hours})
    edges = edges[: len(edges) // 2 * 2]
    return tuple(Window(edges[i], edges[i + 1]) for i in range(0, len(edges), 2))


def _week(
    templates: tuple[tuple[Window, ...], ...], assignment: int
) -> tuple[tuple[Window, ...], ...]:
    """Seven days from a few day templates: far cheaper to draw than seven independent days,
    and real weeks repeat their days anyway. Template 3 is a closed day, 4 is open all day."""
    choices = (*templates, (), (Window(0, 1440),))
    return tuple(choices[assignment // 5**day % 5] for day in range(7))


# Window boundaries on quarter hours, often at night: every DST change of these zones happens on
# one, and the minute-stepping reference needs whole minutes.
_QUARTER = st.integers(0, 128).map(lambda q: q if q <= 96 else 4 + q % 12)  # 01:00-03:45 often
_DAY = st.lists(_QUARTER, max_size=6).map(_pair_up)
_OPEN_DAY = st.lists(_QUARTER, min_size=2, max_size=6).map(_pair_up).filter(bool)
_WEEK = st.builds(_week, st.tuples(_DAY, _DAY, _DAY), st.integers(0, 5**7 - 1))
_NEARBY_DAYS = st.lists(st.integers(-4, 4), max_size=3)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Calendar, datetime]:
    """A random calendar and a start instant (whole minutes) on or up to two days before one of
    its zone's DST changes (or an ordinary day), so a two-day horizon crosses the change."""
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS[zone]))
    week = draw(_WEEK)
    if not any(week):
        week = (*week[:6], (Window(540, 1020),))
    closed = frozenset(anchor + timedelta(days=n) for n in draw(_NEARBY_DAYS))
    opened: dict[date, OpenDate] = {}
    for n in draw(_NEARBY_DAYS):
        day = anchor + timedelta(days=n)
        if day not in closed:
            opened[day] = OpenDate(day, draw(_OPEN_DAY))
    country, subdivision = draw(st.sampled_from(HOLIDAYS))
    calendar = Calendar(
        timezone=zone,
        weekly_hours=week,
        holiday_country=country,
        holiday_subdivision=subdivision,
        closed_dates=closed,
        open_dates=tuple(opened.values()),
    )
    midnight = datetime.combine(anchor, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)
    return calendar, midnight + draw(st.integers(-36 * 60, 12 * 60)) * MINUTE


@st.composite
def precise_instants(draw: st.DrawFn, around: datetime) -> datetime:
    """Instants with microseconds within a few days of `around`, in a random zone."""
    offset = draw(st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000)) * MICROSECOND
    return (around + offset).astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))


durations = st.integers(0, 60 * 3_600_000_000).map(lambda us: us * MICROSECOND)


# The laws


@LAWS
@given(scenarios(), st.data(), durations)
def test_adding_then_measuring_gives_back_the_duration(
    scenario: tuple[Calendar, datetime], data: st.DataObject, duration: timedelta
) -> None:
    calendar, anchor = scenario
    start = data.draw(precise_instants(anchor))
    due = add_business_time(calendar, start, duration)
    assert due.tzinfo is calendar.zone
    assert business_time_between(calendar, start, due) == duration
    if duration:
        # The last microsecond counted was open: due is inside a window or at its end.
        assert is_open(calendar, due - MICROSECOND)
        assert utc(due) > utc(start)
        assert utc(due) >= utc(next_opening(calendar, start)) + duration
    else:
        assert utc(due) == utc(start)


@LAWS
@given(scenarios(), st.data(), durations, durations)
def test_adding_is_monotonic_in_the_duration(
    scenario: tuple[Calendar, datetime], data: st.DataObject, one: timedelta, other: timedelta
) -> None:
    calendar, anchor = scenario
    start = data.draw(precise_instants(anchor))
    shorter, longer = sorted((one, other))
    assert utc(add_business_time(calendar, start, shorter)) <= utc(
        add_business_time(calendar, start, longer)
    )


@LAWS
@given(scenarios(), st.data(), durations)
def test_adding_is_monotonic_in_the_start(
    scenario: tuple[Calendar, datetime], data: st.DataObject, duration: timedelta
) -> None:
    calendar, anchor = scenario
    earlier, later = sorted(
        (data.draw(precise_instants(anchor)), data.draw(precise_instants(anchor))), key=utc
    )
    assert utc(add_business_time(calendar, earlier, duration)) <= utc(
        add_business_time(calendar, later, duration)
    )


@LAWS
@given(scenarios(), st.data())
def test_measuring_is_additive_over_a_split_point(
    scenario: tuple[Calendar, datetime], data: st.DataObject
) -> None:
    calendar, anchor = scenario
    first, middle, last = sorted((data.draw(precise_instants(anchor)) for _ in range(3)), key=utc)
    whole = business_time_between(calendar, first, last)
    assert whole == business_time_between(calendar, first, middle) + business_time_between(
        calendar, middle, last
    )
    assert whole == sum(
        # In UTC: Python subtracts two datetimes of one zone by wall clock, ignoring DST.
        (utc(closes) - utc(opens) for opens, closes in open_intervals(calendar, first, last)),
        timedelta(0),
    )
    assert whole <= utc(last) - utc(first)


@LAWS
@given(scenarios(), st.data(), durations.filter(bool))
def test_a_closed_start_counts_from_the_next_opening(
    scenario: tuple[Calendar, datetime], data: st.DataObject, duration: timedelta
) -> None:
    calendar, anchor = scenario
    start = data.draw(precise_instants(anchor))
    opening = next_opening(calendar, start)
    assert is_open(calendar, opening)
    assert business_time_between(calendar, start, opening) == timedelta(0)
    assert utc(add_business_time(calendar, start, duration)) == utc(
        add_business_time(calendar, opening, duration)
    )


@LAWS
@given(scenarios(), st.data())
def test_a_duration_running_out_at_a_windows_end_ends_there(
    scenario: tuple[Calendar, datetime], data: st.DataObject
) -> None:
    """Not at the next opening: a deadline of 4 business hours from 13:00 is 17:00."""
    calendar, start = scenario
    intervals = list(open_intervals(calendar, start, start + timedelta(days=3)))
    assume(intervals)
    _, closes = data.draw(st.sampled_from(intervals))
    duration = business_time_between(calendar, start, closes)
    assert utc(add_business_time(calendar, start, duration)) == utc(closes)


@LAWS
@given(scenarios())
def test_specs_round_trip(scenario: tuple[Calendar, datetime]) -> None:
    calendar, _ = scenario
    assert Calendar.from_spec(calendar.to_spec()) == calendar


# The cross-check against a naive minute-stepping reference

HORIZON_MINUTES = 2 * 1440


_HOLIDAYS: dict[tuple[str, str | None, int], holidays.HolidayBase] = {}


def _holidays(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    key = (country, subdivision, year)
    if key not in _HOLIDAYS:
        _HOLIDAYS[key] = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return _HOLIDAYS[key]


class Reference:
    """Business time the slow, obvious way: is each minute open? Same semantics, written from
    the documentation and nothing of the engine: a window of date D is open from the first
    instant whose local wall clock shows its start (or later) on D, to the same for its end.
    """

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.zone = ZoneInfo(calendar.timezone)
        self.instants: dict[tuple[date, int], datetime] = {}
        self.by_day: dict[date, list[tuple[datetime, datetime]]] = {}

    def windows(self, day: date) -> tuple[Window, ...]:
        calendar = self.calendar
        if day in calendar.closed_dates:
            return ()
        for entry in calendar.open_dates:
            if entry.date == day:
                return entry.windows or calendar.weekly_hours[day.weekday()]
        if calendar.holiday_country and day in _holidays(
            calendar.holiday_country, calendar.holiday_subdivision, day.year
        ):
            return ()
        return calendar.weekly_hours[day.weekday()]

    def instant(self, day: date, minute: int) -> datetime:
        """The first instant whose wall clock shows day + minute or later."""
        key = (day, minute)
        if key not in self.instants:
            wall = datetime.combine(day, datetime.min.time()) + minute * MINUTE
            candidates = [wall.replace(tzinfo=self.zone, fold=fold) for fold in (0, 1)]
            earliest = min(utc(c) for c in candidates)
            while earliest.astimezone(self.zone).replace(tzinfo=None) < wall:
                earliest += MINUTE
            self.instants[key] = earliest
        return self.instants[key]

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day not in self.by_day:
            self.by_day[day] = [
                (self.instant(day, window.start), self.instant(day, window.end))
                for window in self.windows(day)
            ]
        return self.by_day[day]

    def is_open(self, instant: datetime) -> bool:
        local_day = instant.astimezone(self.zone).date()
        for day in (local_day - timedelta(days=1), local_day, local_day + timedelta(days=1)):
            for opens, closes in self.intervals(day):
                if opens <= instant < closes:
                    return True
        return False


@CROSS_CHECK
@given(scenarios(), st.data())
def test_engine_agrees_with_minute_stepping(
    scenario: tuple[Calendar, datetime], data: st.DataObject
) -> None:
    calendar, start = scenario
    reference = Reference(calendar)
    open_minutes = [
        reference.is_open(start + n * MINUTE) for n in range(HORIZON_MINUTES)
    ]  # minute n is [start + n, start + n + 1): all open or all closed on whole-minute windows
    minute = data.draw(st.integers(0, HORIZON_MINUTES - 1))
    assert is_open(calendar, start + minute * MINUTE) == open_minutes[minute]
    end = data.draw(st.integers(0, HORIZON_MINUTES))
    assert business_time_between(calendar, start, start + end * MINUTE) == (
        sum(open_minutes[:end]) * MINUTE
    )
    counted = [n for n, is_open_minute in enumerate(open_minutes) if is_open_minute]
    if counted:
        wanted = data.draw(st.integers(1, len(counted)))
        due = add_business_time(calendar, start, wanted * MINUTE)
        assert utc(due) == start + (counted[wanted - 1] + 1) * MINUTE
        after = data.draw(st.integers(0, counted[-1]))
        first_open = next(n for n in counted if n >= after)
        assert utc(next_opening(calendar, start + after * MINUTE)) == start + first_open * MINUTE
