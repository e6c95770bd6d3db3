"""Weekly opening hours as data: {"mon": ["09:00-12:00", "13:00-17:00"], ...}.

Shared by people's working hours and (later) business calendars.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from ceres.core.errors import Invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def validate_timezone(name: str, *, field: str = "timezone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown IANA time zone {name!r}", field=field) from exc
    return name


def validate_weekly_hours(value: Any, *, field: str = "working_hours") -> dict[str, list[str]]:
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        raise Invalid("must map weekdays (mon..sun) to lists of HH:MM-HH:MM", field=field)
    result: dict[str, list[str]] = {}
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise Invalid(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}", field=field)
        if isinstance(spans, str):
            spans = [spans]
        if not isinstance(spans, list):
            raise Invalid(f"{day}: must be a list of HH:MM-HH:MM", field=field)
        previous_end = -1
        cleaned = []
        for span in spans:
            match = _SPAN.match(str(span))
            if not match:
                raise Invalid(f"{day}: {span!r} is not HH:MM-HH:MM", field=field)
            start = int(match[1]) * 60 + int(match[2])
            end = int(match[3]) * 60 + int(match[4])
            if end > 24 * 60 or end <= start:
                raise Invalid(f"{day}: {span!r} must end after it starts", field=field)
            if start < previous_end:
                raise Invalid(f"{day}: {span!r} overlaps the span before it", field=field)
            previous_end = end
            cleaned.append(str(span))
        result[day] = cleaned
    return result
