"""Durations as people write them: `15m`, `4h`, `1h30m`, `1d` (a day is 24 hours).

One parser for the playbook and the settings pages, so an SLA target typed in either is read
the same way and refused with the same words.
"""

from __future__ import annotations

import re

from ceres.core.errors import Invalid

MAX_DURATION_SECONDS = 366 * 24 * 3600
EXAMPLE = "a duration such as 15m, 4h, 1h30m or 1d"
_DURATION = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?$")


def duration_seconds(text: str) -> int:
    """Seconds of a well-formed duration (1h30m is 5400); ValueError when it is not one."""
    match = _DURATION.match(text)
    if match is None or not text:
        raise ValueError(text)
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60


def parse_duration(value: str, *, field: str) -> int:
    """Seconds of `value`, or `Invalid` naming `field` with what to write instead."""
    text = value.strip()
    try:
        seconds = duration_seconds(text)
    except ValueError:
        raise Invalid(
            f"{value!r} is not {EXAMPLE}: whole numbers with d (24 hours), h or m, "
            "largest unit first, no spaces",
            field=field,
        ) from None
    if seconds == 0:
        raise Invalid("must be longer than zero", field=field)
    if seconds > MAX_DURATION_SECONDS:
        raise Invalid(f"{value!r} is longer than a year (366d)", field=field)
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest text `parse_duration` reads back to the same seconds, in hours and
    minutes (days are left as hours: "24h" of business time is not a day of it)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{seconds}s" if seconds else "") or "0m"
