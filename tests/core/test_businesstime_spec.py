"""The calendar spec (playbook data): what it accepts, and each refusal naming its field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from ceres.core.businesstime import ALL_DAY, Calendar, OpenDate, Window
from ceres.core.errors import Invalid

NINE_TO_FIVE = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"timezone": "America/Chicago", "hours": NINE_TO_FIVE}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (["not", "a", "mapping"], "__all__", "a calendar is a mapping"),
        (spec(hors=NINE_TO_FIVE), "hors", "unknown key 'hors'"),
        ({"hours": NINE_TO_FIVE}, "timezone", "required"),
        (spec(timezone="Mars/Olympus_Mons"), "timezone", "unknown IANA time zone"),
        ({"timezone": "UTC"}, "hours", "required"),
        (spec(hours="weekdays"), "hours", '"all"'),
        (spec(hours=["09:00-17:00"]), "hours", "must map weekdays"),
        (spec(hours={"mon": ["09:00-13:00", "12:00-17:00"]}), "hours", "overlaps"),
        (spec(hours={"mon": ["9-5"]}), "hours", "is not HH:MM-HH:MM"),
        (spec(hours={"mon": ["17:00-09:00"]}), "hours", "must end after it starts"),
        (spec(hours={"mon": ["22:00-24:30"]}), "hours", "must end after it starts"),
        (spec(hours={"monday": ["09:00-17:00"]}), "hours", "unknown weekday"),
        (spec(hours={"mon": []}), "hours", "never open"),
        (spec(hours={}), "hours", "never open"),
        (spec(holidays="US"), "holidays", "a mapping"),
        (spec(holidays={"country": "XX"}), "holidays.country", "no holidays known for"),
        (spec(holidays={"subdivision": "BY"}), "holidays.country", "required"),
        (spec(holidays={"country": "DE", "subdivision": "ZZ"}), "holidays.subdivision", "BY"),
        (spec(holidays={"country": "DE", "subdivision": 9}), "holidays.subdivision", "text"),
        (spec(holidays={"country": "US", "state": "CA"}), "holidays", "unknown key 'state'"),
        (spec(closed="2026-12-24"), "closed", "must be a list"),
        (spec(closed=["2026-13-01"]), "closed", "'2026-13-01' is not a date"),
        (spec(closed=["24/12/2026"]), "closed", "is not a date"),
        (spec(closed=["2026-12-24T00:00"]), "closed", "is not a date"),
        (spec(closed=[datetime(2026, 12, 24)]), "closed", "is not a date"),
        (spec(open=["tomorrow"]), "open", "is not a date"),
        (spec(open=[{"day": "2026-12-26"}]), "open", "has the keys date and hours"),
        (spec(open=[{"date": "2026-12-26", "hours": ["10-14"]}]), "open", "not HH:MM-HH:MM"),
        (spec(open=[{"date": "2026-12-26", "hours": []}]), "open", "at least one window"),
        (spec(open=["2026-12-26"]), "open", "is a Saturday, which has no hours"),
        (spec(open=["2026-12-24"], closed=["2026-12-24"]), "open", "both open and closed"),
        (spec(open=["2026-12-24", "2026-12-24"]), "open", "listed twice"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(bad: Any, field: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        Calendar.from_spec(bad)
    assert caught.value.field == field
    assert message in caught.value.message


def test_a_full_spec() -> None:
    calendar = Calendar.from_spec(
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon": "09:00-17:00", "fri": ["09:00-12:00", "13:00-24:00"]},
            "holidays": {"country": "de", "subdivision": "BY"},
            "closed": [date(2026, 12, 24), "2026-12-31"],  # YAML makes dates of unquoted ones
            "open": [date(2026, 5, 25), {"date": "2026-06-06", "hours": "10:00-14:00"}],
        }
    )
    assert calendar.weekly_hours[0] == (Window(540, 1020),)
    assert calendar.weekly_hours[4] == (Window(540, 720), Window(780, 1440))
    assert calendar.weekly_hours[1] == ()
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BY")
    assert calendar.closed_dates == {date(2026, 12, 24), date(2026, 12, 31)}
    assert calendar.open_dates == (
        OpenDate(date(2026, 5, 25)),  # Whit Monday, a holiday in Bavaria
        OpenDate(date(2026, 6, 6), (Window(600, 840),)),
    )
    assert Calendar.from_spec(calendar.to_spec()) == calendar


def test_all_is_round_the_clock() -> None:
    calendar = Calendar.from_spec({"timezone": "UTC", "hours": "all"})
    assert calendar.weekly_hours == (ALL_DAY,) * 7
    assert calendar.to_spec() == {"timezone": "UTC", "hours": "all"}


def test_spec_order_does_not_change_the_calendar() -> None:
    one = Calendar.from_spec(spec(closed=["2026-12-24", "2026-12-31"], open=["2026-05-25"]))
    other = Calendar.from_spec(spec(closed=["2026-12-31", "2026-12-24"], open=["2026-05-25"]))
    assert one == other
    assert hash(one) == hash(other)
