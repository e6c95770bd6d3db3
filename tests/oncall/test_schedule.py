"""The on-call engine: concrete schedules from the handbook, DST weeks, refusals, and the laws
of the final schedule over random schedules (hypothesis). Pure: no database.

Instants are compared in UTC: Python compares two datetimes of one zone by wall clock,
ignoring `fold` (PEP 495), which is wrong in a repeated hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceres.core.businesstime import Calendar, InvalidArgument, Window
from ceres.core.errors import Invalid
from ceres.oncall.schedule import (
    Handoff,
    Layer,
    Override,
    Rotation,
    Schedule,
    Shift,
    check_overrides,
    final_schedule,
    gaps,
    handoffs,
    on_call_at,
)

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
MICROSECOND = timedelta(microseconds=1)
SUPPORT = Calendar.from_spec(
    {
        "timezone": "America/Chicago",
        "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": {"country": "US"},
    }
)


def chicago(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO, fold=fold)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rotation(*people: str, **fields: Any) -> Rotation:
    """Weekly, Monday 2 November 2026 09:00 America/Chicago unless told otherwise."""
    fields.setdefault("shift_length", WEEK)
    fields.setdefault("start", chicago(2026, 11, 2, 9))
    fields.setdefault("timezone", "America/Chicago")
    return Rotation(people=people or ("ravi", "lena"), **fields)


def spans(shifts: list[Shift]) -> list[tuple[str | None, datetime, datetime, object]]:
    return [(shift.person, shift.start, shift.end, shift.source) for shift in shifts]


# Handoffs at a local wall-clock time, across DST


def test_a_weekly_monday_0900_chicago_handoff_stays_0900_across_the_november_change() -> None:
    """Clocks go back on Sunday 1 November 2026: 09:00 CDT is 14:00 UTC, 09:00 CST is 15:00."""
    first_responders = rotation("ravi", "lena", start=chicago(2026, 10, 19, 9))
    schedule = Schedule(layers=(Layer(first_responders),))
    changes = handoffs(schedule, utc(2026, 10, 20), utc(2026, 11, 20))
    assert changes == [
        Handoff(utc(2026, 10, 26, 14), "ravi", "lena"),
        Handoff(utc(2026, 11, 2, 15), "lena", "ravi"),
        Handoff(utc(2026, 11, 9, 15), "ravi", "lena"),
        Handoff(utc(2026, 11, 16, 15), "lena", "ravi"),
    ]
    assert all(change.at.astimezone(CHICAGO).time() == time(9) for change in changes)
    lena_week = final_schedule(schedule, utc(2026, 10, 26), utc(2026, 11, 3))[1]
    assert (lena_week.start, lena_week.end) == (utc(2026, 10, 26, 14), utc(2026, 11, 2, 15))
    assert lena_week.end - lena_week.start == 7 * DAY + HOUR  # the week with the change is longer
    assert on_call_at(schedule, chicago(2026, 11, 2, 8, 59)) == "lena"
    assert on_call_at(schedule, chicago(2026, 11, 2, 9)) == "ravi"
    assert first_responders.handoff_at(2) == utc(2026, 11, 2, 15)


def test_the_week_of_the_spring_change_is_an_hour_shorter() -> None:
    weekly = rotation("ravi", "lena", start=chicago(2026, 3, 2, 9))  # 09:00 CST = 15:00 UTC
    shifts = final_schedule(Schedule(layers=(Layer(weekly),)), utc(2026, 3, 2), utc(2026, 3, 17))
    assert spans(shifts) == [
        (None, utc(2026, 3, 2), utc(2026, 3, 2, 15), None),
        ("ravi", utc(2026, 3, 2, 15), utc(2026, 3, 9, 14), 0),  # 167 hours
        ("lena", utc(2026, 3, 9, 14), utc(2026, 3, 16, 14), 0),
        ("ravi", utc(2026, 3, 16, 14), utc(2026, 3, 17), 0),
    ]


def test_a_handoff_time_the_clocks_skip_happens_when_they_jump() -> None:
    """Daily at 02:30 in Chicago: on 8 March 2026 the clock goes from 01:59:59 CST to 03:00
    CDT, so that day's handoff is at 03:00 CDT, the first instant showing 02:30 or later."""
    nightly = rotation("ada", "ravi", shift_length=DAY, start=chicago(2026, 3, 6, 2, 30))
    schedule = Schedule(layers=(Layer(nightly),))
    assert [change.at for change in handoffs(schedule, utc(2026, 3, 7), utc(2026, 3, 10))] == [
        utc(2026, 3, 7, 8, 30),  # 02:30 CST
        utc(2026, 3, 8, 8),  # 03:00 CDT: the jump
        utc(2026, 3, 9, 7, 30),  # 02:30 CDT
    ]
    assert on_call_at(schedule, chicago(2026, 3, 8, 1, 59)) == "ravi"
    assert on_call_at(schedule, chicago(2026, 3, 8, 3)) == "ada"


def test_a_handoff_time_the_clocks_repeat_happens_at_its_first_pass() -> None:
    """Daily at 01:30 in Chicago: 1 November 2026 shows 01:30 twice (CDT, then CST); the
    handoff is at the first, and that day's turn lasts 25 hours."""
    nightly = rotation("ada", "ravi", shift_length=DAY, start=chicago(2026, 10, 30, 1, 30))
    schedule = Schedule(layers=(Layer(nightly),))
    assert [change.at for change in handoffs(schedule, utc(2026, 10, 31), utc(2026, 11, 3))] == [
        utc(2026, 10, 31, 6, 30),  # 01:30 CDT
        utc(2026, 11, 1, 6, 30),  # the first 01:30 (CDT)
        utc(2026, 11, 2, 7, 30),  # 01:30 CST, 25 hours later
    ]
    assert on_call_at(schedule, chicago(2026, 11, 1, 1, 15)) == "ravi"  # 06:15 UTC
    assert on_call_at(schedule, chicago(2026, 11, 1, 1, 15, fold=1)) == "ada"  # the second pass


def test_a_daily_rotation_hands_off_at_the_same_local_time_every_day() -> None:
    """Berlin moves its clocks forward on Sunday 29 March 2026: 08:00 is 07:00 UTC before and
    06:00 UTC after, and the Saturday turn lasts 23 hours."""
    daily = Rotation(
        people=("ada", "ravi", "lena"),
        shift_length=DAY,
        start=berlin(2026, 3, 23, 8),
        timezone="Europe/Berlin",
    )
    schedule = Schedule(layers=(Layer(daily),))
    assert on_call_at(schedule, berlin(2026, 3, 23, 7, 59)) is None  # before the first handoff
    assert on_call_at(schedule, berlin(2026, 3, 23, 8)) == "ada"
    assert on_call_at(schedule, berlin(2026, 3, 26, 12)) == "ada"
    assert on_call_at(schedule, berlin(2026, 3, 29, 7, 59)) == "lena"
    assert on_call_at(schedule, berlin(2026, 3, 29, 8)) == "ada"
    assert spans(final_schedule(schedule, berlin(2026, 3, 28, 12), berlin(2026, 3, 30, 12))) == [
        ("lena", utc(2026, 3, 28, 11), utc(2026, 3, 29, 6), 0),
        ("ada", utc(2026, 3, 29, 6), utc(2026, 3, 30, 6), 0),
        ("ravi", utc(2026, 3, 30, 6), utc(2026, 3, 30, 10), 0),
    ]


def test_shifts_in_hours_count_elapsed_hours_and_drift_on_the_wall_clock() -> None:
    """12-hour shifts from 20:00 CDT on 31 October 2026: every turn lasts 12 real hours, so
    after the clocks go back they change at 07:00 and 19:00 CST."""
    halves = rotation("ada", "ravi", shift_length=12 * HOUR, start=chicago(2026, 10, 31, 20))
    assert not halves.counts_local_days
    schedule = Schedule(layers=(Layer(halves),))
    changes = handoffs(schedule, utc(2026, 11, 1, 1), utc(2026, 11, 3))
    assert [change.at for change in changes] == [
        utc(2026, 11, 1, 1) + 12 * HOUR * turn for turn in range(4)
    ]
    assert [change.at.astimezone(CHICAGO).strftime("%H:%M") for change in changes] == [
        "20:00",
        "07:00",
        "19:00",
        "07:00",
    ]
    assert [change.incoming for change in changes] == ["ada", "ravi", "ada", "ravi"]


def test_a_rotation_of_one_person_is_one_shift() -> None:
    alone = rotation("ravi")
    assert spans(
        final_schedule(Schedule(layers=(Layer(alone),)), utc(2026, 11, 3), utc(2026, 12, 3))
    ) == [("ravi", utc(2026, 11, 3), utc(2026, 12, 3), 0)]


# Restrictions, layers, overrides and gaps


def test_a_business_hours_layer_leaves_nights_weekends_and_holidays_as_gaps() -> None:
    """Thanksgiving (Thursday 26 November 2026) is a US holiday: closed all day."""
    support = Schedule(layers=(Layer(rotation("lena", "ada"), SUPPORT),))
    found = gaps(support, chicago(2026, 11, 23), chicago(2026, 11, 30))
    assert [(gap.start, gap.end) for gap in found] == [
        (utc(2026, 11, 23, 6), utc(2026, 11, 23, 15)),  # Monday 00:00-09:00 CST
        (utc(2026, 11, 23, 23), utc(2026, 11, 24, 15)),
        (utc(2026, 11, 24, 23), utc(2026, 11, 25, 15)),
        (utc(2026, 11, 25, 23), utc(2026, 11, 27, 15)),  # Wednesday 17:00 to Friday 09:00
        (utc(2026, 11, 27, 23), utc(2026, 11, 30, 6)),  # the weekend
    ]
    assert all(gap.person is None and gap.source is None for gap in found)
    assert on_call_at(support, chicago(2026, 11, 25, 16, 59)) == "ada"  # turn 3 of lena, ada
    assert on_call_at(support, chicago(2026, 11, 25, 17)) is None
    assert on_call_at(support, chicago(2026, 11, 26, 12)) is None


def test_a_lower_24x7_layer_covers_the_nights_of_a_business_hours_layer() -> None:
    infrastructure = Layer(rotation("ravi", "kathy", start=chicago(2026, 11, 2, 8)))
    support = Layer(rotation("lena", "ada"), SUPPORT)
    schedule = Schedule(layers=(infrastructure, support))
    day = final_schedule(schedule, chicago(2026, 11, 24), chicago(2026, 11, 25))
    assert spans(day) == [
        ("kathy", utc(2026, 11, 24, 6), utc(2026, 11, 24, 15), 0),
        ("ada", utc(2026, 11, 24, 15), utc(2026, 11, 24, 23), 1),
        ("kathy", utc(2026, 11, 24, 23), utc(2026, 11, 25, 6), 0),
    ]
    assert gaps(schedule, chicago(2026, 11, 2, 8), chicago(2026, 12, 31)) == []


def test_an_override_wins_over_every_layer_inside_its_span() -> None:
    infrastructure = Layer(rotation("ravi", "kathy", start=chicago(2026, 11, 2, 8)))
    support = Layer(rotation("lena", "ada"), SUPPORT)
    dentist = Override("lena", chicago(2026, 11, 25, 12), chicago(2026, 11, 25, 15))
    night = Override("eric", chicago(2026, 11, 25, 20), chicago(2026, 11, 26, 2))
    schedule = Schedule(layers=(infrastructure, support), overrides=(night, dentist))
    assert schedule.overrides == (dentist, night)  # kept in order
    assert spans(final_schedule(schedule, chicago(2026, 11, 25, 8), chicago(2026, 11, 26, 8))) == [
        ("kathy", utc(2026, 11, 25, 14), utc(2026, 11, 25, 15), 0),
        ("ada", utc(2026, 11, 25, 15), utc(2026, 11, 25, 18), 1),
        ("lena", utc(2026, 11, 25, 18), utc(2026, 11, 25, 21), "override"),
        ("ada", utc(2026, 11, 25, 21), utc(2026, 11, 25, 23), 1),
        ("kathy", utc(2026, 11, 25, 23), utc(2026, 11, 26, 2), 0),
        ("eric", utc(2026, 11, 26, 2), utc(2026, 11, 26, 8), "override"),
        ("kathy", utc(2026, 11, 26, 8), utc(2026, 11, 26, 14), 0),
    ]
    assert on_call_at(schedule, chicago(2026, 11, 25, 12)) == "lena"
    assert on_call_at(schedule, chicago(2026, 11, 25, 15)) == "ada"  # an override's end is open


def test_an_override_fills_a_gap_and_touching_overrides_are_fine() -> None:
    support = Layer(rotation("lena", "ada"), SUPPORT)
    evening = Override("ada", chicago(2026, 11, 24, 17), chicago(2026, 11, 24, 20))
    late = Override("lena", chicago(2026, 11, 24, 20), chicago(2026, 11, 24, 23))
    schedule = Schedule(layers=(support,), overrides=(evening, late))
    assert spans(gaps(schedule, chicago(2026, 11, 24, 12), chicago(2026, 11, 25, 12))) == [
        (None, utc(2026, 11, 25, 5), utc(2026, 11, 25, 15), None)  # 23:00 to 09:00
    ]
    # The same person from a layer, then from an override: two shifts, no handoff.
    evening_shifts = final_schedule(schedule, chicago(2026, 11, 24, 16), chicago(2026, 11, 24, 21))
    assert spans(evening_shifts[:2]) == [
        ("ada", utc(2026, 11, 24, 22), utc(2026, 11, 24, 23), 0),
        ("ada", utc(2026, 11, 24, 23), utc(2026, 11, 25, 2), "override"),
    ]
    assert [
        (change.outgoing, change.incoming)
        for change in handoffs(schedule, chicago(2026, 11, 24, 16), chicago(2026, 11, 25, 12))
    ] == [("ada", "lena"), ("lena", None), (None, "ada")]


def test_the_handbooks_first_responders_and_escalations() -> None:
    """The handbook: "The first responder on-call for Managed Cloud will take ownership of
    the @infrastructure-oncall alias in Slack first thing Monday morning" (the playbook: 08:00
    America/Chicago); escalations in order after them. Each escalation step names a schedule;
    when the first responder cannot meet the SLA they "arrange and designate a replacement":
    an override."""
    first_responders = Rotation(
        people=("Robert Fairburn", "Kathy Satterlee"),
        shift_length=WEEK,
        start=chicago(2026, 11, 2, 8),
        timezone="America/Chicago",
    )
    escalations = ("Eric Shaw", "Zay Hanlon", "Luke Heath", "Mike McNeil")
    chain = [Schedule(layers=(Layer(first_responders),))] + [
        Schedule(layers=(Layer(rotation(person, start=chicago(2026, 1, 5, 8))),))
        for person in escalations
    ]
    thanksgiving = chicago(2026, 11, 26, 12)
    assert [on_call_at(step, thanksgiving) for step in chain] == ["Kathy Satterlee", *escalations]
    assert on_call_at(chain[0], chicago(2026, 11, 30, 7, 59)) == "Kathy Satterlee"
    assert on_call_at(chain[0], chicago(2026, 11, 30, 8)) == "Robert Fairburn"

    replacement = Override("Zay Hanlon", chicago(2026, 11, 26, 8), chicago(2026, 11, 27, 8))
    chain[0] = Schedule(layers=chain[0].layers, overrides=(replacement,))
    assert on_call_at(chain[0], thanksgiving) == "Zay Hanlon"
    assert handoffs(chain[0], chicago(2026, 11, 24), chicago(2026, 12, 1)) == [
        Handoff(utc(2026, 11, 26, 14), "Kathy Satterlee", "Zay Hanlon"),
        Handoff(utc(2026, 11, 27, 14), "Zay Hanlon", "Kathy Satterlee"),
        Handoff(utc(2026, 11, 30, 14), "Kathy Satterlee", "Robert Fairburn"),
    ]


def test_windows_and_edges() -> None:
    schedule = Schedule(layers=(Layer(rotation()),))
    assert final_schedule(schedule, utc(2026, 11, 5), utc(2026, 11, 5)) == []
    assert handoffs(schedule, utc(2026, 11, 6), utc(2026, 11, 5)) == []
    assert spans(final_schedule(Schedule(layers=()), utc(2026, 11, 5), utc(2026, 11, 6))) == [
        (None, utc(2026, 11, 5), utc(2026, 11, 6), None)
    ]
    # A handoff exactly at the window's start is listed: the person just before is asked for.
    assert handoffs(schedule, utc(2026, 11, 9, 15), utc(2026, 11, 10)) == [
        Handoff(utc(2026, 11, 9, 15), "ravi", "lena")
    ]
    # Datetimes of any zone; answers in UTC.
    shift = final_schedule(schedule, berlin(2026, 11, 5), berlin(2026, 11, 6))[0]
    assert shift.start.tzinfo is UTC
    assert shift.start == utc(2026, 11, 4, 23)


def test_values_are_equal_hashable_and_normalized_to_utc() -> None:
    assert rotation() == rotation(start=utc(2026, 11, 2, 15))
    assert hash(rotation()) == hash(rotation(start=utc(2026, 11, 2, 15)))
    assert rotation().start.tzinfo is UTC
    override = Override("ada", chicago(2026, 11, 2), chicago(2026, 11, 3))
    assert override.start == utc(2026, 11, 2, 6)
    assert override.start.tzinfo is UTC
    assert Schedule(layers=[Layer(rotation())], overrides=[override]) == Schedule(  # type: ignore[arg-type]
        layers=(Layer(rotation()),), overrides=(override,)
    )


def test_a_year_of_hourly_shifts_in_three_layers_is_one_step_per_shift() -> None:
    """No minute stepping: a year of hourly turns is 8,760 shifts per layer, all listed."""
    hourly = Layer(rotation("ada", "ravi", shift_length=HOUR, start=utc(2026, 1, 1)))
    daily = Layer(rotation("lena", "kathy", shift_length=DAY, start=utc(2026, 1, 1)), SUPPORT)
    weekly = Layer(rotation("eric", "zay", start=utc(2026, 1, 5, 15)))
    schedule = Schedule(layers=(hourly, daily, weekly))
    shifts = final_schedule(schedule, utc(2026, 1, 1), utc(2027, 1, 1))
    # Until the weekly top layer starts (Monday 5 January 15:00 UTC): 111 hourly turns, of
    # which the daily business-hours layer covers 8 (Friday 2 January; New Year's Day is a
    # holiday) with one shift; then 52 weekly turns.
    assert len(shifts) == (111 - 8) + 1 + 52
    shifts = final_schedule(
        Schedule(layers=(weekly, daily, hourly)), utc(2026, 1, 1), utc(2027, 1, 1)
    )
    assert len(shifts) == 8760


# Refusals, each naming its field


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"people": ()}, "people", "at least one person"),
        ({"people": "ada"}, "people", "list of people"),
        ({"people": ("ada", " ")}, "people", "not a person"),
        ({"people": ("ada", None)}, "people", "not a person"),
        ({"shift_length": timedelta(0)}, "shift_length", "positive"),
        ({"shift_length": -WEEK}, "shift_length", "positive"),
        ({"shift_length": timedelta(minutes=30)}, "shift_length", "at least an hour"),
        ({"shift_length": timedelta(days=367)}, "shift_length", "at most a year"),
        ({"shift_length": 7}, "shift_length", "timedelta"),
        ({"start": datetime(2026, 11, 2, 9)}, "start", "naive"),
        ({"start": "2026-11-02T09:00"}, "start", "datetime"),
        ({"timezone": "America/Springfield"}, "timezone", "unknown"),
        ({"timezone": None}, "timezone", "IANA"),
        # The DST change on a handoff day: a first handoff at a time the clocks skip...
        ({"start": chicago(2026, 3, 8, 2, 30)}, "start", "does not exist"),
        # ... or at the second pass of a repeated time, in a rotation counted in days.
        ({"start": chicago(2026, 11, 1, 1, 30, fold=1)}, "start", "happens twice"),
    ],
)
def test_a_bad_rotation_is_refused_naming_the_field(
    fields: dict[str, Any], field: str, message: str
) -> None:
    spec: dict[str, Any] = {
        "people": ("ada", "ravi"),
        "shift_length": WEEK,
        "start": chicago(2026, 11, 2, 9),
        "timezone": "America/Chicago",
    }
    with pytest.raises(Invalid, match=message) as caught:
        Rotation(**(spec | fields))
    assert caught.value.field == field


def test_the_first_pass_of_a_repeated_time_and_elapsed_shifts_from_the_second_are_fine() -> None:
    assert rotation(start=chicago(2026, 11, 1, 1, 30)).start == utc(2026, 11, 1, 6, 30)
    hours = rotation(shift_length=8 * HOUR, start=chicago(2026, 11, 1, 1, 30, fold=1))
    assert hours.start == utc(2026, 11, 1, 7, 30)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"person": ""}, "person", "not a person"),
        ({"start": datetime(2026, 11, 2)}, "start", "naive"),
        ({"end": datetime(2026, 11, 3)}, "end", "naive"),
        ({"end": chicago(2026, 11, 2)}, "end", "after the start"),
        ({"end": chicago(2026, 11, 1)}, "end", "after the start"),
    ],
)
def test_a_bad_override_is_refused_naming_the_field(
    fields: dict[str, Any], field: str, message: str
) -> None:
    spec: dict[str, Any] = {"person": "ada", "start": chicago(2026, 11, 2), "end": utc(2026, 11, 3)}
    with pytest.raises(Invalid, match=message) as caught:
        Override(**(spec | fields))
    assert caught.value.field == field


def test_overlapping_overrides_are_refused_naming_both() -> None:
    first = Override("ada", chicago(2026, 11, 2, 9), chicago(2026, 11, 2, 17))
    unrelated = Override("lena", chicago(2026, 11, 5, 9), chicago(2026, 11, 5, 17))
    second = Override("ravi", chicago(2026, 11, 2, 16), chicago(2026, 11, 3, 9))
    with pytest.raises(Invalid) as caught:
        check_overrides([unrelated, second, first])
    assert caught.value.field == "overrides"
    assert caught.value.message.startswith(
        "overrides[1] (ravi 2026-11-02 22:00-2026-11-03 15:00 UTC) overlaps overrides[2] "
        "(ada 2026-11-02 15:00-2026-11-02 23:00 UTC)"
    )
    with pytest.raises(Invalid, match="overlaps") as caught:
        Schedule(layers=(), overrides=(first, first))
    assert caught.value.field == "overrides"
    inside = Override("ravi", chicago(2026, 11, 2, 10), chicago(2026, 11, 2, 11))
    with pytest.raises(Invalid, match=r"overrides\[0\] \(ada .*overrides\[1\] \(ravi"):
        check_overrides([first, inside])
    touching = Override("ravi", chicago(2026, 11, 2, 17), chicago(2026, 11, 3, 9))
    assert check_overrides([touching, first]) == (first, touching)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Layer(rotation=None), "rotation"),  # type: ignore[arg-type]
        (lambda: Layer(rotation(), restriction="support"), "restriction"),  # type: ignore[arg-type]
        (lambda: Schedule(layers=(rotation(),)), "layers"),  # type: ignore[arg-type]
        (lambda: Schedule(layers=Layer(rotation())), "layers"),  # type: ignore[arg-type]
        (lambda: Schedule(layers=(), overrides=("ada",)), "overrides"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_layer_or_schedule_is_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        build()
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda s: on_call_at(s, datetime(2026, 11, 2)), "instant"),
        (lambda s: final_schedule(s, datetime(2026, 11, 2), utc(2026, 11, 3)), "start"),
        (lambda s: gaps(s, utc(2026, 11, 2), datetime(2026, 11, 3)), "end"),
        (lambda s: handoffs(s, "2026-11-02", utc(2026, 11, 3)), "start"),  # type: ignore[arg-type]
    ],
)
def test_naive_or_wrong_arguments_are_refused_naming_them(call: Any, argument: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        call(Schedule(layers=(Layer(rotation()),)))
    assert caught.value.field == argument
    assert isinstance(caught.value, ValueError)


# The laws, over random schedules around DST changes

ZONES = ("America/Chicago", "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns", "UTC")
PEOPLE = ("ada", "ravi", "lena", "kathy")
LAWS = settings(max_examples=150, deadline=None)


def _dst_changes(zone: str) -> tuple[date, ...]:
    tz = ZoneInfo(zone)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(366)]
    offsets = [datetime.combine(day, time(), tz).utcoffset() for day in days]
    changes = tuple(days[n - 1] for n in range(1, len(days)) if offsets[n] != offsets[n - 1])
    return changes or (date(2026, 6, 17),)


ANCHORS = {zone: _dst_changes(zone) for zone in ZONES}
# Handoffs often in the small hours, where the clocks change.
_MINUTE_OF_DAY = st.one_of(st.integers(0, 1439), st.integers(60, 240))
_LENGTH = st.one_of(
    st.sampled_from((DAY, 2 * DAY, WEEK)),
    st.integers(1, 12).map(lambda hours: hours * HOUR),
    st.integers(1, 60).map(lambda hours: hours * HOUR),
    st.integers(60, 2000).map(lambda minutes: minutes * MINUTE),
)


def _windows(quarters: list[int]) -> tuple[Window, ...]:
    edges = sorted({quarter * 15 for quarter in quarters})
    edges = edges[: len(edges) // 2 * 2]
    return tuple(Window(edges[i], edges[i + 1]) for i in range(0, len(edges), 2))


_RESTRICTION = st.one_of(
    st.none(),
    st.just(SUPPORT),
    st.builds(
        lambda zone, day, weekend: Calendar(
            timezone=zone, weekly_hours=(day,) * 5 + (weekend,) * 2
        ),
        st.sampled_from(ZONES),
        st.lists(st.integers(0, 96), min_size=2, max_size=6).map(_windows).filter(bool),
        st.lists(st.integers(0, 96), max_size=4).map(_windows),
    ),
)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A schedule of one to three layers and some overrides, and a window of a week or so
    around a DST change of the first layer's zone."""
    zone = draw(st.sampled_from(ZONES))
    # In UTC: adding to a datetime of a zone with DST adds wall-clock time, not elapsed time.
    anchor = datetime.combine(draw(st.sampled_from(ANCHORS[zone])), time(), ZoneInfo(zone))
    anchor = anchor.astimezone(UTC)
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        layer_zone = draw(st.sampled_from((zone, *ZONES)))
        local_start = (anchor + draw(st.integers(-6, 1)) * DAY).date()
        minute = draw(_MINUTE_OF_DAY)
        start = datetime.combine(local_start, time(minute // 60, minute % 60), ZoneInfo(layer_zone))
        people = tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)))
        length = draw(_LENGTH)
        try:
            turns = Rotation(people=people, shift_length=length, start=start, timezone=layer_zone)
        except Invalid:  # a skipped wall-clock time: take the instant it reads as
            turns = Rotation(
                people=people,
                shift_length=length,
                start=start.astimezone(UTC),
                timezone=layer_zone,
            )
        layers.append(Layer(turns, draw(_RESTRICTION)))
    edges = sorted(
        set(draw(st.lists(st.integers(-3 * 24 * 60, 5 * 24 * 60), max_size=8, unique=True)))
    )
    overrides = [
        Override(
            draw(st.sampled_from(PEOPLE)),
            anchor + edges[i] * MINUTE,
            anchor + edges[i + 1] * MINUTE,
        )
        for i in range(0, len(edges) - 1, 2)
    ]
    first = anchor + draw(st.integers(-3 * 24 * 60, 24 * 60)) * MINUTE
    last = first + draw(st.integers(1, 7 * 24 * 60)) * MINUTE
    return Schedule(layers=tuple(layers), overrides=tuple(overrides)), first, last


def _shift_at(shifts: list[Shift], instant: datetime) -> Shift:
    (found,) = [shift for shift in shifts if shift.start <= instant < shift.end]
    return found


def _instants(shifts: list[Shift]) -> list[datetime]:
    """Every shift's first and last microsecond: where an off-by-one would show."""
    return [shift.start for shift in shifts] + [shift.end - MICROSECOND for shift in shifts]


@LAWS
@given(schedules(), st.data())
def test_the_final_schedule_covers_the_window_contiguously_and_merged(
    scenario: tuple[Schedule, datetime, datetime], data: st.DataObject
) -> None:
    schedule, first, last = scenario
    shifts = final_schedule(schedule, first, last)
    assert shifts[0].start == first.astimezone(UTC)
    assert shifts[-1].end == last.astimezone(UTC)
    for shift in shifts:
        assert shift.start < shift.end
        assert shift.start.tzinfo is UTC
        assert shift.end.tzinfo is UTC
        assert (shift.person is None) == (shift.source is None)
    for before, after in pairwise(shifts):
        assert before.end == after.start
        assert (before.person, before.source) != (after.person, after.source)
    assert gaps(schedule, first, last) == [shift for shift in shifts if shift.person is None]


@LAWS
@given(schedules(), st.data())
def test_on_call_at_agrees_with_the_final_shift_holding_the_instant(
    scenario: tuple[Schedule, datetime, datetime], data: st.DataObject
) -> None:
    schedule, first, last = scenario
    shifts = final_schedule(schedule, first, last)
    span = (last - first) // MICROSECOND
    random = [first + data.draw(st.integers(0, span - 1)) * MICROSECOND for _ in range(5)]
    for instant in _instants(shifts) + random:
        assert on_call_at(schedule, instant) == _shift_at(shifts, instant).person


@LAWS
@given(schedules(), st.data())
def test_overrides_win_inside_their_span_and_layers_by_height(
    scenario: tuple[Schedule, datetime, datetime], data: st.DataObject
) -> None:
    schedule, first, last = scenario
    shifts = final_schedule(schedule, first, last)
    for override in schedule.overrides:
        begins, ends = max(override.start, first), min(override.end, last)
        if begins >= ends:
            continue
        instant = (
            begins + data.draw(st.integers(0, (ends - begins) // MICROSECOND - 1)) * MICROSECOND
        )
        assert on_call_at(schedule, instant) == override.person
        assert _shift_at(shifts, instant).source == "override"
    for shift in shifts:
        if shift.source == "override":
            continue
        alone = [on_call_at(Schedule(layers=(layer,)), shift.start) for layer in schedule.layers]
        if shift.source is None:
            assert alone == [None] * len(alone)
        else:
            assert isinstance(shift.source, int)
            assert alone[shift.source] == shift.person
            assert all(person is None for person in alone[shift.source + 1 :])


@LAWS
@given(schedules(), st.data())
def test_a_shorter_window_sees_the_same_schedule(
    scenario: tuple[Schedule, datetime, datetime], data: st.DataObject
) -> None:
    """No artefact of where a window starts or ends: the schedule of [a, b) is that of [a, c)
    cut at b, and the handoffs of [a, c) are those of [a, b) then [b, c)."""
    schedule, first, last = scenario
    middle = first + data.draw(st.integers(1, (last - first) // MICROSECOND)) * MICROSECOND
    whole = final_schedule(schedule, first, last)
    cut = [
        Shift(shift.person, shift.start, min(shift.end, middle), shift.source)
        for shift in whole
        if shift.start < middle
    ]
    assert final_schedule(schedule, first, middle) == cut
    changes = handoffs(schedule, first, last)
    assert changes == handoffs(schedule, first, middle) + handoffs(schedule, middle, last)
    for change in changes:
        assert on_call_at(schedule, change.at) == change.incoming
        assert on_call_at(schedule, change.at - MICROSECOND) == change.outgoing
        assert change.outgoing != change.incoming


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.data(),
    _MINUTE_OF_DAY,
    st.sampled_from((DAY, 2 * DAY, WEEK)),
)
def test_handoffs_in_days_are_the_first_instant_showing_the_handoff_time(
    zone: str, data: st.DataObject, minute: int, length: timedelta
) -> None:
    """Against a reference written from the rule and nothing of the engine: step through the
    minutes and take the first whose wall clock shows the handoff time or later that day."""
    tz = ZoneInfo(zone)
    anchor = data.draw(st.sampled_from(ANCHORS[zone]))
    first_date = anchor - data.draw(st.integers(0, 3)) * length
    clock = time(minute // 60, minute % 60)
    start = datetime.combine(first_date, clock, tz)
    try:
        turns = Rotation(people=("ada",), shift_length=length, start=start, timezone=zone)
    except Invalid:
        return  # the first handoff itself falls in a skipped hour: refused, tested above
    for turn in range(5):
        day = first_date + turn * length
        target = datetime.combine(day, clock)
        instant = datetime.combine(day - DAY, time(12), tz).astimezone(UTC)
        while instant.astimezone(tz).replace(tzinfo=None) < target:
            instant += MINUTE
        assert turns.handoff_at(turn) == instant
