"""Weekly opening hours as data: {"mon": ["09:00-12:00", "13:00-17:00"], ...}.

Shared by people's working hours and business calendars (`core/businesstime`), so both accept
exactly the same text and refuse it with the same messages.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Any

from ceres.core.errors import Invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@cache
def timezone_names() -> list[str]:
    """Every IANA zone name, for the pickers of people's and calendars' time zones."""
    return sorted(zoneinfo.available_timezones())


def validate_timezone(name: str, *, field: str = "timezone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown IANA time zone {name!r}", field=field) from exc
    return name


def parse_spans(spans: Any, *, label: str, field: str) -> list[tuple[int, int]]:
    """One day's spans as (start, end) minutes after midnight; an end of 24:00 is 1440.

    Calendars need the numbers, people's hours keep the text; both come through here so a span
    one of them accepts is never refused by the other.
    """
    if isinstance(spans, str):
        spans = [spans]
    if not isinstance(spans, list):
        raise Invalid(f"{label}: must be a list of HH:MM-HH:MM", field=field)
    previous_end = -1
    result = []
    for span in spans:
        match = _SPAN.match(str(span))
        if not match:
            raise Invalid(f"{label}: {span!r} is not HH:MM-HH:MM", field=field)
        start = int(match[1]) * 60 + int(match[2])
        end = int(match[3]) * 60 + int(match[4])
        if end > MINUTES_PER_DAY or end <= start:
            raise Invalid(f"{label}: {span!r} must end after it starts", field=field)
        if start < previous_end:
            raise Invalid(f"{label}: {span!r} overlaps the span before it", field=field)
        previous_end = end
        result.append((start, end))
    return result


def parse_weekly_hours(value: Any, *, field: str = "hours") -> dict[str, list[tuple[int, int]]]:
    """Weekly hours as minutes after midnight per weekday; weekdays left out are absent."""
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        raise Invalid("must map weekdays (mon..sun) to lists of HH:MM-HH:MM", field=field)
    result: dict[str, list[tuple[int, int]]] = {}
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise Invalid(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}", field=field)
        result[day] = parse_spans(spans, label=day, field=field)
    return result


def validate_weekly_hours(value: Any, *, field: str = "working_hours") -> dict[str, list[str]]:
    parse_weekly_hours(value, field=field)
    if value in (None, "", {}):
        return {}
    return {
        day: [str(span) for span in ([spans] if isinstance(spans, str) else spans)]
        for day, spans in value.items()
    }
