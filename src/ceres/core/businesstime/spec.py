"""Calendars as playbook data, and back: the one parser for what operators write.

Every refusal is an `Invalid` whose field is the spec key at fault ("timezone", "hours",
"holidays.country", "holidays.subdivision", "closed", "open"), so the playbook can point at
the line. Dates are accepted as "YYYY-MM-DD" text or as the `date` objects YAML makes of
unquoted dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ceres.core.businesstime.calendar import ALL_DAY, Calendar, OpenDate, Window, Windows
from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS, parse_spans, parse_weekly_hours, validate_timezone

SPEC_KEYS = ("timezone", "hours", "holidays", "closed", "open")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def calendar_from_spec(spec: Any) -> Calendar:
    if not isinstance(spec, Mapping):
        raise Invalid(f"a calendar is a mapping with the keys {', '.join(SPEC_KEYS)}")
    for key in spec:
        if key not in SPEC_KEYS:
            raise Invalid(f"unknown key {key!r}; use {', '.join(SPEC_KEYS)}", field=str(key))
    timezone = spec.get("timezone")
    if not isinstance(timezone, str) or not timezone:
        raise Invalid("required: an IANA time zone such as America/Chicago", field="timezone")
    validate_timezone(timezone, field="timezone")
    country, subdivision = _holidays(spec.get("holidays"))
    return Calendar(
        timezone=timezone,
        weekly_hours=_weekly_hours(spec.get("hours")),
        holiday_country=country,
        holiday_subdivision=subdivision,
        closed_dates=frozenset(_date(v, field="closed") for v in _list(spec, "closed")),
        open_dates=tuple(_open_date(entry) for entry in _list(spec, "open")),
    )


def calendar_to_spec(calendar: Calendar) -> dict[str, Any]:
    spec: dict[str, Any] = {"timezone": calendar.timezone}
    if all(day == ALL_DAY for day in calendar.weekly_hours):
        spec["hours"] = "all"
    else:
        spec["hours"] = {
            name: [str(window) for window in windows]
            for name, windows in zip(WEEKDAYS, calendar.weekly_hours, strict=True)
            if windows
        }
    if calendar.holiday_country is not None:
        spec["holidays"] = {"country": calendar.holiday_country}
        if calendar.holiday_subdivision is not None:
            spec["holidays"]["subdivision"] = calendar.holiday_subdivision
    if calendar.closed_dates:
        spec["closed"] = [day.isoformat() for day in sorted(calendar.closed_dates)]
    if calendar.open_dates:
        spec["open"] = [
            entry.date.isoformat()
            if entry.windows is None
            else {"date": entry.date.isoformat(), "hours": [str(w) for w in entry.windows]}
            for entry in calendar.open_dates
        ]
    return spec


def _weekly_hours(value: Any) -> tuple[Windows, ...]:
    if value == "all":
        return (ALL_DAY,) * len(WEEKDAYS)
    if value is None or isinstance(value, str):
        raise Invalid(
            'required: "all" (24/7), or weekdays (mon..sun) mapped to lists of HH:MM-HH:MM',
            field="hours",
        )
    parsed = parse_weekly_hours(value, field="hours")
    return tuple(tuple(Window(*span) for span in parsed.get(day, ())) for day in WEEKDAYS)


def _holidays(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise Invalid(
            "a mapping such as {country: US} or {country: DE, subdivision: BY}", field="holidays"
        )
    for key in value:
        if key not in ("country", "subdivision"):
            raise Invalid(f"unknown key {key!r}; use country, subdivision", field="holidays")
    country, subdivision = value.get("country"), value.get("subdivision")
    if not isinstance(country, str) or not country:
        raise Invalid("required: an ISO 3166-1 alpha-2 code such as US", field="holidays.country")
    if subdivision is not None and not isinstance(subdivision, str):
        raise Invalid(
            f"must be text such as 'BY' (quote it in YAML), not {subdivision!r}",
            field="holidays.subdivision",
        )
    return country.upper(), subdivision


def _list(spec: Mapping[str, Any], key: str) -> list[Any]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid("must be a list of dates (YYYY-MM-DD)", field=key)
    return value


def _open_date(entry: Any) -> OpenDate:
    if not isinstance(entry, Mapping):
        return OpenDate(_date(entry, field="open"))
    if set(entry) - {"date", "hours"}:
        raise Invalid(f"{dict(entry)!r}: an open date has the keys date and hours", field="open")
    day = _date(entry.get("date"), field="open")
    if "hours" not in entry:
        return OpenDate(day)
    spans = parse_spans(entry["hours"], label=day.isoformat(), field="open")
    if not spans:
        raise Invalid(f"{day.isoformat()}: an open date needs at least one window", field="open")
    return OpenDate(day, tuple(Window(*span) for span in spans))


def _date(value: Any, *, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(f"{value!r} is not a date (YYYY-MM-DD)", field=field)
