"""The business calendar as a value: built once (from the playbook), hashed, shared, reused.

It is frozen and hashable because every computation caches per (calendar, local date); two
calendars built from the same spec are equal and share those cache entries. It holds no
`holidays` object (a mutable dict) but the country and subdivision, so the holiday set of a
year is fetched once per process and shared by every calendar of that country.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, NamedTuple

import holidays

from ceres.core.errors import Invalid
from ceres.core.hours import MINUTES_PER_DAY, WEEKDAYS, validate_timezone


class Window(NamedTuple):
    """An open window in local wall-clock minutes after midnight; `end` may be 1440 (24:00)."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Window:
        """ "09:00-17:00" -> Window(540, 1020); for tests and code, not for user input."""
        start, _, end = text.partition("-")
        return cls(_minutes(start), _minutes(end))

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


Windows = tuple[Window, ...]
ALL_DAY: Windows = (Window(0, MINUTES_PER_DAY),)


class OpenDate(NamedTuple):
    """A date open despite the weekly hours or a holiday; `windows=None` uses the weekday's."""

    date: date
    windows: Windows | None = None


@dataclass(frozen=True)
class Calendar:
    """When a team is at work: weekly windows in a time zone, minus holidays and closed dates,
    plus open dates. `weekly_hours[0]` is Monday, as in `date.weekday()`.

    Precedence for a local date: a closed date is closed; else an open date is open (its own
    windows, or the weekday's); else a holiday is closed; else the weekday's windows apply.
    """

    timezone: str
    weekly_hours: tuple[Windows, ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    open_dates: tuple[OpenDate, ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_timezone(self.timezone, field="timezone")
        weekly = tuple(tuple(Window(*w) for w in day) for day in self.weekly_hours)
        if len(weekly) != len(WEEKDAYS):
            raise Invalid("needs the windows of all seven weekdays, Monday first", field="hours")
        for name, windows in zip(WEEKDAYS, weekly, strict=True):
            _check_windows(windows, label=name, field="hours")
        if not any(weekly):
            raise Invalid("the calendar is never open: give at least one window", field="hours")
        _check_holidays(self.holiday_country, self.holiday_subdivision)
        closed = frozenset(self.closed_dates)
        opened = tuple(sorted(_open_date(entry) for entry in self.open_dates))
        seen: set[date] = set()
        for entry in opened:
            if entry.date in seen:
                raise Invalid(f"{entry.date.isoformat()} is listed twice", field="open")
            if entry.date in closed:
                raise Invalid(f"{entry.date.isoformat()} is both open and closed", field="open")
            if entry.windows is None and not weekly[entry.date.weekday()]:
                raise Invalid(
                    f"{entry.date.isoformat()} is a {entry.date.strftime('%A')}, which has no "
                    "hours: give it its own",
                    field="open",
                )
            seen.add(entry.date)
        object.__setattr__(self, "weekly_hours", weekly)
        object.__setattr__(self, "closed_dates", closed)
        object.__setattr__(self, "open_dates", opened)
        # Hashed on every cache lookup: computed once, not from all the fields each time.
        object.__setattr__(
            self,
            "_hash",
            hash(
                (
                    self.timezone,
                    weekly,
                    self.holiday_country,
                    self.holiday_subdivision,
                    closed,
                    opened,
                )
            ),
        )

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Calendar], tuple[object, ...]]:
        """Rebuilt through __init__ when unpickled: the cached hash is only valid in the process
        that computed it (string hashes are salted per process)."""
        return (
            Calendar,
            (
                self.timezone,
                self.weekly_hours,
                self.holiday_country,
                self.holiday_subdivision,
                self.closed_dates,
                self.open_dates,
            ),
        )

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @cached_property
    def open_date_windows(self) -> dict[date, Windows]:
        return {
            entry.date: (
                entry.windows
                if entry.windows is not None
                else self.weekly_hours[entry.date.weekday()]
            )
            for entry in self.open_dates
        }

    @classmethod
    def from_spec(cls, spec: Any) -> Calendar:
        """Build from playbook data; see `docs/businesstime.md` for the format."""
        from ceres.core.businesstime.spec import calendar_from_spec

        return calendar_from_spec(spec)

    def to_spec(self) -> dict[str, Any]:
        """The playbook data `from_spec` turns back into an equal calendar."""
        from ceres.core.businesstime.spec import calendar_to_spec

        return calendar_to_spec(self)


def weekly(hours: dict[str, Iterable[Window | tuple[int, int]]]) -> tuple[Windows, ...]:
    """{"mon": [Window(540, 1020)], ...} -> the seven-tuple `Calendar` takes; others closed."""
    return tuple(tuple(Window(*w) for w in hours.get(day, ())) for day in WEEKDAYS)


def _check_windows(windows: Windows, *, label: str, field: str) -> None:
    previous_end = -1
    for window in windows:
        if not (0 <= window.start < window.end <= MINUTES_PER_DAY):
            raise Invalid(
                f"{label}: {window} must end after it starts, within the day", field=field
            )
        if window.start < previous_end:
            raise Invalid(f"{label}: {window} overlaps the window before it", field=field)
        previous_end = window.end


def _open_date(entry: OpenDate | date | tuple[date, Windows | None]) -> OpenDate:
    if isinstance(entry, date):
        entry = OpenDate(entry)
    day, windows = entry
    if isinstance(day, datetime) or not isinstance(day, date):
        raise Invalid(f"{day!r} is not a date", field="open")
    if windows is None:
        return OpenDate(day)
    checked = tuple(Window(*w) for w in windows)
    _check_windows(checked, label=day.isoformat(), field="open")
    if not checked:
        raise Invalid(f"{day.isoformat()}: an open date needs at least one window", field="open")
    return OpenDate(day, checked)


def _check_holidays(country: str | None, subdivision: str | None) -> None:
    if country is None:
        if subdivision is not None:
            raise Invalid("a subdivision needs a country", field="holidays.country")
        return
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise Invalid(
            f"no holidays known for country {country!r}; use an ISO 3166-1 alpha-2 code "
            "such as US or DE",
            field="holidays.country",
        )
    if subdivision is None:
        return
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as exc:
        known = ", ".join(supported[country]) or "none"
        raise Invalid(
            f"{country} has no subdivision {subdivision!r}; known: {known}",
            field="holidays.subdivision",
        ) from exc


def _minutes(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
