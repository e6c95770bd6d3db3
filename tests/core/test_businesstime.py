"""Business time on concrete calendars: the journeys' facts, edges, holidays and DST weeks.

The laws over random calendars are in test_businesstime_laws.py; the spec format's refusals in
test_businesstime_spec.py.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ceres.core.businesstime import (
    Calendar,
    InvalidArgument,
    Window,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
    open_intervals,
    weekly,
)
from ceres.core.errors import Invalid

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)


def calendar(hours: Any = None, **spec: Any) -> Calendar:
    """A Chicago calendar, Mon-Fri 09:00-17:00 unless told otherwise."""
    spec.setdefault("timezone", "America/Chicago")
    spec["hours"] = hours if hours is not None else {key: ["09:00-17:00"] for key in WORKDAYS}
    return Calendar.from_spec(spec)


SUPPORT = calendar(holidays={"country": "US"})  # the demo playbook's `support` calendar


def chicago(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=CHICAGO, fold=fold)  # type: ignore[misc]


def berlin(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=BERLIN, fold=fold)  # type: ignore[misc]


# The journeys


def test_job_application_on_friday_before_memorial_day_is_due_tuesday_11() -> None:
    """J2: Friday 2026-05-22 15:00 + 4 business hours; Monday is Memorial Day."""
    received = chicago(2026, 5, 22, 15)
    due = add_business_time(SUPPORT, received, 4 * HOUR)
    assert due == chicago(2026, 5, 26, 11)
    assert due.isoformat() == "2026-05-26T11:00:00-05:00"
    assert due.tzinfo is CHICAGO
    assert business_time_between(SUPPORT, received, due) == 4 * HOUR


def test_start_given_in_utc_answers_in_the_calendars_zone() -> None:
    due = add_business_time(SUPPORT, datetime(2026, 5, 22, 20, tzinfo=UTC), 4 * HOUR)
    assert due.isoformat() == "2026-05-26T11:00:00-05:00"


def test_saturday_night_emergency_is_outside_hours_and_due_at_0210_on_24_7() -> None:
    """J1: Saturday 22:10 is outside the support calendar; 4 hours on a 24/7 calendar."""
    received = chicago(2026, 5, 23, 22, 10)
    assert not is_open(SUPPORT, received)
    always = calendar("all")
    assert add_business_time(always, received, 4 * HOUR) == chicago(2026, 5, 24, 2, 10)


# A start inside, outside and at the edges of a window


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (chicago(2026, 6, 2, 10), 2 * HOUR, chicago(2026, 6, 2, 12)),  # inside
        (chicago(2026, 6, 2, 7), HOUR, chicago(2026, 6, 2, 10)),  # before opening
        (chicago(2026, 6, 2, 18), HOUR, chicago(2026, 6, 3, 10)),  # after closing
        (chicago(2026, 6, 2, 9), 8 * HOUR, chicago(2026, 6, 2, 17)),  # ends at the close
        (chicago(2026, 6, 2, 13), 4 * HOUR, chicago(2026, 6, 2, 17)),  # not at next opening
        (chicago(2026, 6, 2, 17), MINUTE, chicago(2026, 6, 3, 9, 1)),  # starts at the close
        (chicago(2026, 6, 5, 16), 2 * HOUR, chicago(2026, 6, 8, 10)),  # over a weekend
        (chicago(2026, 6, 6, 3), timedelta(0), chicago(2026, 6, 6, 3)),  # zero, closed
        (chicago(2026, 6, 2, 10), 40 * HOUR, chicago(2026, 6, 9, 10)),  # a whole week
    ],
)
def test_add_business_time_from_a_start_inside_outside_and_at_edges(
    start: datetime, duration: timedelta, due: datetime
) -> None:
    assert add_business_time(SUPPORT, start, duration) == due
    assert business_time_between(SUPPORT, start, due) == duration


def test_windows_are_half_open() -> None:
    assert is_open(SUPPORT, chicago(2026, 6, 2, 9))
    assert is_open(SUPPORT, chicago(2026, 6, 2, 17) - MICROSECOND)
    assert not is_open(SUPPORT, chicago(2026, 6, 2, 17))
    assert not is_open(SUPPORT, chicago(2026, 6, 2, 9) - MICROSECOND)


def test_microseconds_are_kept() -> None:
    start = chicago(2026, 6, 2, 10) + MICROSECOND
    assert add_business_time(SUPPORT, start, 7 * HOUR) == chicago(2026, 6, 3, 9) + MICROSECOND


def test_zero_duration_returns_the_start_instant() -> None:
    start = datetime(2026, 6, 6, 8, tzinfo=UTC)
    assert add_business_time(SUPPORT, start, timedelta(0)) == start


def test_measuring_backwards_or_nothing_is_zero() -> None:
    later, earlier = chicago(2026, 6, 2, 12), chicago(2026, 6, 2, 10)
    assert business_time_between(SUPPORT, later, earlier) == timedelta(0)
    assert business_time_between(SUPPORT, later, later) == timedelta(0)


def test_next_opening() -> None:
    assert next_opening(SUPPORT, chicago(2026, 6, 2, 10)) == chicago(2026, 6, 2, 10)
    assert next_opening(SUPPORT, chicago(2026, 6, 2, 17)) == chicago(2026, 6, 3, 9)
    assert next_opening(SUPPORT, chicago(2026, 5, 22, 18)) == chicago(2026, 5, 26, 9)


def test_ten_thousand_business_hours() -> None:
    start = chicago(2026, 5, 22, 15)
    due = add_business_time(SUPPORT, start, 10_000 * HOUR)
    assert due.year == 2031
    assert business_time_between(SUPPORT, start, due) == 10_000 * HOUR


# Split hours


SPLIT = calendar({key: ["09:00-12:00", "13:00-17:30"] for key in WORKDAYS})


def test_split_hours_skip_the_lunch_break() -> None:
    assert add_business_time(SPLIT, chicago(2026, 6, 2, 11), 2 * HOUR) == chicago(2026, 6, 2, 14)
    assert add_business_time(SPLIT, chicago(2026, 6, 2, 12, 30), HOUR) == chicago(2026, 6, 2, 14)
    assert add_business_time(SPLIT, chicago(2026, 6, 2, 11), HOUR) == chicago(2026, 6, 2, 12)
    assert not is_open(SPLIT, chicago(2026, 6, 2, 12))
    assert next_opening(SPLIT, chicago(2026, 6, 2, 12)) == chicago(2026, 6, 2, 13)
    assert business_time_between(SPLIT, chicago(2026, 6, 2, 8), chicago(2026, 6, 2, 18)) == (
        7.5 * HOUR
    )


def test_adjacent_windows_are_one_interval() -> None:
    touching = calendar({"mon": ["09:00-12:00", "12:00-17:00"]})
    intervals = list(open_intervals(touching, chicago(2026, 6, 1), chicago(2026, 6, 2)))
    assert intervals == [(chicago(2026, 6, 1, 9), chicago(2026, 6, 1, 17))]
    assert is_open(touching, chicago(2026, 6, 1, 12))


def test_open_intervals_are_clipped_to_the_range() -> None:
    intervals = list(open_intervals(SPLIT, chicago(2026, 6, 2, 10), chicago(2026, 6, 3, 10)))
    assert intervals == [
        (chicago(2026, 6, 2, 10), chicago(2026, 6, 2, 12)),
        (chicago(2026, 6, 2, 13), chicago(2026, 6, 2, 17, 30)),
        (chicago(2026, 6, 3, 9), chicago(2026, 6, 3, 10)),
    ]


# Holidays, closed and open dates


def test_observed_holidays_close_the_office() -> None:
    # Independence Day 2026 is a Saturday; Friday 3 July is its observed day.
    assert not is_open(SUPPORT, chicago(2026, 7, 3, 10))
    assert business_time_between(SUPPORT, chicago(2026, 7, 2, 17), chicago(2026, 7, 6, 9)) == (
        timedelta(0)
    )


def test_closed_dates_and_christmas() -> None:
    closing = calendar(holidays={"country": "US"}, closed=["2026-12-24"])
    due = add_business_time(closing, chicago(2026, 12, 23, 16), 2 * HOUR)
    assert due == chicago(2026, 12, 28, 10)


def test_an_open_date_with_its_own_hours() -> None:
    saturday = calendar(
        holidays={"country": "US"},
        closed=["2026-12-24"],
        open=[{"date": "2026-12-26", "hours": ["10:00-14:00"]}],
    )
    due = add_business_time(saturday, chicago(2026, 12, 23, 16), 2 * HOUR)
    assert due == chicago(2026, 12, 26, 11)
    assert not is_open(saturday, chicago(2026, 12, 26, 9, 59))
    assert not is_open(saturday, chicago(2026, 12, 26, 14))


def test_an_open_date_overrides_a_holiday_with_the_weekdays_hours() -> None:
    working_memorial_day = calendar(holidays={"country": "US"}, open=["2026-05-25"])
    due = add_business_time(working_memorial_day, chicago(2026, 5, 22, 15), 4 * HOUR)
    assert due == chicago(2026, 5, 25, 11)


@pytest.mark.parametrize(
    ("subdivision", "day", "open_"),
    [
        ("BY", date(2026, 6, 4), False),  # Corpus Christi: Bavaria only
        ("BE", date(2026, 6, 4), True),
        ("BY", date(2026, 1, 6), False),  # Epiphany: Bavaria only
        ("BE", date(2026, 1, 6), True),
        ("BE", date(2026, 3, 8), False),  # International Women's Day: Berlin only (a Sunday)
        ("BE", date(2026, 10, 3), False),  # German Unity Day: everywhere (a Saturday)
        ("BY", date(2026, 12, 25), False),
    ],
)
def test_holidays_of_a_subdivision(subdivision: str, day: date, open_: bool) -> None:
    german = Calendar.from_spec(
        {
            "timezone": "Europe/Berlin",
            "hours": "all",
            "holidays": {"country": "DE", "subdivision": subdivision},
        }
    )
    assert is_open(german, berlin(day.year, day.month, day.day, 10)) is open_


# 24/7


def test_all_week_is_open_every_instant() -> None:
    always = calendar("all")
    assert is_open(always, chicago(2026, 6, 6, 0))
    week = business_time_between(always, chicago(2026, 6, 1), chicago(2026, 6, 8))
    assert week == 168 * HOUR
    intervals = list(open_intervals(always, chicago(2026, 6, 1), chicago(2026, 6, 8)))
    assert intervals == [(chicago(2026, 6, 1), chicago(2026, 6, 8))]


def test_a_window_may_end_at_midnight() -> None:
    late = calendar({"fri": ["18:00-24:00"], "sat": ["00:00-02:00"]})
    assert add_business_time(late, chicago(2026, 6, 5, 23), 2 * HOUR) == chicago(2026, 6, 6, 1)
    assert not is_open(late, chicago(2026, 6, 6, 2))


# DST weeks: spring forward and fall back, America/Chicago and Europe/Berlin


def test_chicago_spring_forward_counts_real_time() -> None:
    always = calendar("all")
    weekend = business_time_between(always, chicago(2026, 3, 7), chicago(2026, 3, 9))
    assert weekend == 47 * HOUR
    assert add_business_time(always, chicago(2026, 3, 8, 1, 30), HOUR) == chicago(2026, 3, 8, 3, 30)
    due = add_business_time(SUPPORT, chicago(2026, 3, 6, 16), 2 * HOUR)
    assert due.isoformat() == "2026-03-09T10:00:00-05:00"


def test_chicago_window_starting_in_the_skipped_hour_opens_when_clocks_jump() -> None:
    sunday = calendar({"sun": ["02:30-04:00"]})
    assert next_opening(sunday, chicago(2026, 3, 8)).isoformat() == "2026-03-08T03:00:00-05:00"
    assert business_time_between(sunday, chicago(2026, 3, 8), chicago(2026, 3, 9)) == HOUR
    assert is_open(sunday, chicago(2026, 3, 8, 3))
    assert not is_open(sunday, chicago(2026, 3, 8, 1, 59))
    # A week later the same window is an hour and a half again.
    assert business_time_between(sunday, chicago(2026, 3, 15), chicago(2026, 3, 16)) == 1.5 * HOUR


def test_chicago_window_inside_the_skipped_hour_is_no_time_at_all() -> None:
    sunday = calendar({"sun": ["02:00-02:45"]})
    assert business_time_between(sunday, chicago(2026, 3, 8), chicago(2026, 3, 9)) == timedelta(0)
    assert next_opening(sunday, chicago(2026, 3, 8)) == chicago(2026, 3, 15, 2)


def test_chicago_spring_forward_night_is_shorter() -> None:
    night = calendar({"sun": ["00:00-04:00"]})
    assert business_time_between(night, chicago(2026, 3, 8), chicago(2026, 3, 9)) == 3 * HOUR


def test_chicago_fall_back_counts_the_repeated_hour_twice() -> None:
    always = calendar("all")
    weekend = business_time_between(always, chicago(2026, 10, 31), chicago(2026, 11, 2))
    assert weekend == 49 * HOUR
    night = calendar({"sun": ["00:00-03:00"]})
    assert business_time_between(night, chicago(2026, 11, 1), chicago(2026, 11, 2)) == 4 * HOUR
    second_one_oclock = add_business_time(night, chicago(2026, 11, 1), 2 * HOUR)
    # Python never calls a datetime in a repeated hour equal to one of another zone (PEP 495):
    # compare such instants in UTC.
    assert second_one_oclock != datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert second_one_oclock.astimezone(UTC) == datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert second_one_oclock.isoformat() == "2026-11-01T01:00:00-06:00"


def test_chicago_window_ending_in_the_repeated_hour_ends_at_its_first_pass() -> None:
    short = calendar({"sun": ["01:00-01:30"]})
    assert business_time_between(short, chicago(2026, 11, 1), chicago(2026, 11, 2)) == 30 * MINUTE
    assert is_open(short, chicago(2026, 11, 1, 1, 15, fold=0))
    assert not is_open(short, chicago(2026, 11, 1, 1, 15, fold=1))


def test_berlin_spring_forward() -> None:
    office = Calendar.from_spec(
        {
            "timezone": "Europe/Berlin",
            "hours": {**{key: ["09:00-17:00"] for key in WORKDAYS}, "sun": ["02:30-03:30"]},
        }
    )
    due = add_business_time(office, berlin(2026, 3, 27, 16), 2 * HOUR)
    # Sunday's window opens when the clocks jump to 03:00 CEST and gives half an hour.
    assert due.isoformat() == "2026-03-30T09:30:00+02:00"
    sunday = business_time_between(office, berlin(2026, 3, 29), berlin(2026, 3, 30))
    assert sunday == 30 * MINUTE
    always = Calendar.from_spec({"timezone": "Europe/Berlin", "hours": "all"})
    assert business_time_between(always, berlin(2026, 3, 28), berlin(2026, 3, 30)) == 47 * HOUR


def test_berlin_fall_back() -> None:
    night = Calendar.from_spec({"timezone": "Europe/Berlin", "hours": {"sun": ["02:00-03:00"]}})
    assert business_time_between(night, berlin(2026, 10, 25), berlin(2026, 10, 26)) == 2 * HOUR
    assert is_open(night, berlin(2026, 10, 25, 2, 30, fold=1))
    due = add_business_time(night, berlin(2026, 10, 25), 90 * MINUTE)
    assert due.isoformat() == "2026-10-25T02:30:00+01:00"
    always = Calendar.from_spec({"timezone": "Europe/Berlin", "hours": "all"})
    assert business_time_between(always, berlin(2026, 10, 24), berlin(2026, 10, 26)) == 49 * HOUR


@pytest.mark.parametrize(
    ("window", "spring_forward", "fall_back"),
    [
        ("00:00-04:00", 3 * HOUR, 5 * HOUR),
        ("00:00-03:00", 2 * HOUR, 4 * HOUR),
        ("02:30-04:00", HOUR, 1.5 * HOUR),
        ("02:00-02:45", timedelta(0), 45 * MINUTE),
        ("01:00-01:30", 30 * MINUTE, 30 * MINUTE),
    ],
)
def test_the_dst_table_in_the_docs(
    window: str, spring_forward: timedelta, fall_back: timedelta
) -> None:
    sunday = calendar({"sun": [window]})
    spring = business_time_between(sunday, chicago(2026, 3, 8), chicago(2026, 3, 9))
    autumn = business_time_between(sunday, chicago(2026, 11, 1), chicago(2026, 11, 2))
    assert (spring, autumn) == (spring_forward, fall_back)


# Arguments and the calendar value


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: is_open(SUPPORT, datetime(2026, 6, 2, 10)), "instant"),
        (lambda: next_opening(SUPPORT, datetime(2026, 6, 2, 10)), "instant"),
        (lambda: add_business_time(SUPPORT, datetime(2026, 6, 2, 10), HOUR), "start"),
        (
            lambda: business_time_between(SUPPORT, chicago(2026, 6, 2), datetime(2026, 6, 3)),
            "end",
        ),
        (lambda: add_business_time(SUPPORT, chicago(2026, 6, 2), -HOUR), "duration"),
    ],
)
def test_naive_instants_and_negative_durations_are_refused(call: Any, argument: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        call()
    assert caught.value.field == argument
    assert argument in caught.value.message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, Invalid)


def test_calendars_are_values() -> None:
    again = calendar(holidays={"country": "US"})
    assert again == SUPPORT
    assert hash(again) == hash(SUPPORT)
    assert {SUPPORT: "support"}[again] == "support"
    assert Calendar.from_spec(SUPPORT.to_spec()) == SUPPORT
    assert calendar(holidays={"country": "US"}, closed=["2026-12-24"]) != SUPPORT


def test_a_pickled_calendar_is_rebuilt_with_a_fresh_hash() -> None:
    copy = pickle.loads(pickle.dumps(SUPPORT))  # noqa: S301 - our own bytes
    assert copy == SUPPORT
    assert hash(copy) == hash(SUPPORT)
    assert copy.__reduce__()[1][0] == "America/Chicago"


def test_a_calendar_built_in_code() -> None:
    built = Calendar(
        timezone="America/Chicago",
        weekly_hours=weekly({key: [Window.parse("09:00-17:00")] for key in WORKDAYS}),
        holiday_country="US",
    )
    assert built == SUPPORT
    assert str(built.weekly_hours[0][0]) == "09:00-17:00"


def test_a_calendar_closed_for_a_decade_is_an_error_not_a_loop() -> None:
    mondays = frozenset(date(2026, 6, 1) + timedelta(weeks=n) for n in range(600))
    shut = Calendar(
        timezone="UTC", weekly_hours=weekly({"mon": [Window(540, 600)]}), closed_dates=mondays
    )
    with pytest.raises(Invalid, match="closed for more than"):
        add_business_time(shut, datetime(2026, 6, 1, tzinfo=UTC), HOUR)
