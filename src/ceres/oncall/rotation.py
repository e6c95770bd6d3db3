"""A rotation: people taking turns in order, handing off at a fixed local wall-clock time.

A rotation's first handoff (`start`) fixes everything else: the first person's turn begins
then, and every later handoff follows at `start + k * shift_length`. How that sum is counted
depends on what people mean by the length:

- a whole number of days (`timedelta(days=1)`, `timedelta(weeks=1)`) is counted in local
  days: the infrastructure first responder who hands off Monday 09:00 America/Chicago hands
  off at 09:00 on the wall clock every Monday, summer and winter (14:00 UTC in summer, 15:00
  UTC in winter), and the week that holds a DST change is an hour shorter or longer;
- anything else (`timedelta(hours=12)`, `timedelta(hours=36)`) is elapsed time, what a
  stopwatch shows: a 12-hour shift lasts twelve hours even across a DST change, so its
  handoffs drift by an hour on the wall clock.

(Python cannot tell `timedelta(hours=24)` from `timedelta(days=1)`: both are a local day.)

The DST rule is the one business calendars use (`ceres.core.businesstime`): a wall-clock time
W on a local date is the first instant at which the clock shows W or later. An ordinary time is
that instant; a repeated time (autumn) is its first pass; a skipped time (spring) is the
instant the clocks jump. So a Sunday 02:30 handoff in Chicago happens at 03:00 CDT on the
spring-forward Sunday (the clock never shows 02:30), and a Sunday 01:30 handoff at the first
01:30 (CDT) on the fall-back Sunday. The mapping never runs backwards, so turns never overlap.

Instants are integer microseconds since the Unix epoch here, as in `businesstime.days`: exact,
and cheap to compare in the loops that build a month of shifts.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache

from ceres.core.businesstime.days import clocks_jump
from ceres.core.errors import Invalid
from ceres.core.hours import validate_timezone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
# Shorter turns are no rotation anyone keeps (PagerDuty's minimum is an hour too), and they
# would make a month's schedule thousands of shifts long.
SHORTEST_SHIFT = timedelta(hours=1)
# A year, leap years included: "each of us takes a year" is the longest turn that makes sense.
LONGEST_SHIFT = timedelta(days=366)

Piece = tuple[int, int, str]
"""[start, end) in epoch microseconds, and the person on call during it."""


@dataclass(frozen=True)
class Rotation:
    """People taking turns of `shift_length`, in order, from `start` (the first handoff, when
    `people[0]` goes on call); before `start` the rotation has nobody. The handoff weekday and
    wall-clock time are those of `start` in `timezone` (module docstring for how days and hours
    are counted). `start` is kept in UTC, as the database keeps it.

    The same person may appear more than once (`("ada", "ravi", "ada", "lena")` gives Ada every
    other turn).
    """

    people: tuple[str, ...]
    shift_length: timedelta
    start: datetime
    timezone: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "people", _people(self.people))
        _check_shift_length(self.shift_length)
        if not isinstance(self.timezone, str):
            raise Invalid(
                f"must be an IANA time zone name, not {self.timezone!r}", field="timezone"
            )
        validate_timezone(self.timezone, field="timezone")
        start = aware(self.start, field="start")
        _check_wall_clock_exists(start)
        zone = zoneinfo.ZoneInfo(self.timezone)
        local = start.astimezone(zone)
        if self.shift_length % ONE_DAY == timedelta(0):
            first_pass = wall_clock_instant(zone, local.date(), _clock(local))
            if first_pass != to_micros(start):
                raise Invalid(
                    f"{local:%Y-%m-%d %H:%M} happens twice in {self.timezone} (the clocks go "
                    "back) and this is the second time; every later handoff would be at the "
                    "first: start at the first pass or at a time that happens once",
                    field="start",
                )
        object.__setattr__(self, "start", start.astimezone(UTC))

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def counts_local_days(self) -> bool:
        """Whether turns are local days (handoffs at a wall-clock time) or elapsed time."""
        return self.shift_length % ONE_DAY == timedelta(0)

    @cached_property
    def _start_micros(self) -> int:
        return to_micros(self.start)

    @cached_property
    def _length_micros(self) -> int:
        return self.shift_length // MICROSECOND

    @cached_property
    def _handoff_date_and_clock(self) -> tuple[date, time]:
        local = self.start.astimezone(self.zone)
        return local.date(), _clock(local)

    def handoff_at(self, turn: int) -> datetime:
        """When turn number `turn` (0 is `start`) begins, in UTC."""
        if turn < 0:
            raise Invalid(f"turns count from 0, not {turn}", field="turn")
        return from_micros(handoff_micros(self, turn))

    def person_on_turn(self, turn: int) -> str:
        return self.people[turn % len(self.people)]


def handoff_micros(rotation: Rotation, turn: int) -> int:
    """The instant turn `turn` (>= 0) begins. Local days go through the DST rule; elapsed time
    is a multiplication."""
    if not rotation.counts_local_days:
        return rotation._start_micros + turn * rotation._length_micros
    first_date, clock = rotation._handoff_date_and_clock
    day = first_date + timedelta(days=turn * rotation.shift_length.days)
    return wall_clock_instant(rotation.zone, day, clock)


def turn_at(rotation: Rotation, micros: int) -> int:
    """The turn under way at `micros`, or -1 before the rotation starts. Constant time: the
    local date gives the turn to within one, and the real handoffs settle it."""
    start = rotation._start_micros
    if micros < start:
        return -1
    if not rotation.counts_local_days:
        return (micros - start) // rotation._length_micros
    first_date, _ = rotation._handoff_date_and_clock
    local_date = from_micros(micros).astimezone(rotation.zone).date()
    turn = max((local_date - first_date).days // rotation.shift_length.days, 0)
    while turn > 0 and handoff_micros(rotation, turn) > micros:
        turn -= 1
    while handoff_micros(rotation, turn + 1) <= micros:
        turn += 1
    return turn


def rotation_on_call(rotation: Rotation, micros: int) -> str | None:
    turn = turn_at(rotation, micros)
    return None if turn < 0 else rotation.person_on_turn(turn)


def rotation_shifts(rotation: Rotation, first: int, last: int) -> Iterator[Piece]:
    """The turns that meet [first, last), clipped to it, in order: one step per turn."""
    turn = max(turn_at(rotation, first), 0)
    begins = handoff_micros(rotation, turn)
    while begins < last:
        ends = handoff_micros(rotation, turn + 1)
        clipped_start, clipped_end = max(begins, first), min(ends, last)
        if clipped_end > clipped_start:  # a turn can be empty on a date a zone skipped
            yield clipped_start, clipped_end, rotation.person_on_turn(turn)
        turn += 1
        begins = ends


@lru_cache(maxsize=1 << 16)
def wall_clock_instant(zone: zoneinfo.ZoneInfo, day: date, clock: time) -> int:
    """The first instant at which the clock in `zone` shows `clock` or later on `day` (the DST
    rule, module docstring). Cached: a year of weekly handoffs is 52 entries, and the same few
    are asked for again and again while a schedule is drawn."""
    local = datetime.combine(day, clock, tzinfo=zone)  # fold=0: the first pass
    micros = to_micros(local)
    if from_micros(micros).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return micros
    return clocks_jump(zone, local) * 1_000_000


def to_micros(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    """In UTC: two UTC datetimes compare as instants, which those of a zone with DST do not
    (PEP 495 compares them by wall clock, ignoring `fold`)."""
    return EPOCH + timedelta(microseconds=micros)


def aware(value: object, *, field: str) -> datetime:
    """`value` if it is an aware datetime; otherwise an `Invalid` naming `field`."""
    if not isinstance(value, datetime):
        raise Invalid(f"must be a datetime, not {value!r}", field=field)
    if value.utcoffset() is None:
        raise Invalid(
            f"must be an aware datetime (with a time zone or UTC offset), not the naive "
            f"{value.isoformat()}",
            field=field,
        )
    return value


def _check_wall_clock_exists(start: datetime) -> None:
    """A wall-clock time the zone skipped (02:30 on a spring-forward night) reads as some other
    time once converted: refuse it rather than move the handoff silently."""
    real = start.astimezone(UTC).astimezone(start.tzinfo)
    if real.replace(tzinfo=None) != start.replace(tzinfo=None):
        raise Invalid(
            f"{start:%Y-%m-%d %H:%M} does not exist in {start.tzinfo} (the clocks jump over "
            f"it; it reads as {real:%H:%M}): give the first handoff at a time that exists",
            field="start",
        )


def _people(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise Invalid(f"must be a list of people in order, not {value!r}", field="people")
    people = tuple(value)
    if not people:
        raise Invalid("a rotation needs at least one person", field="people")
    for person in people:
        if not isinstance(person, str) or not person.strip():
            raise Invalid(f"{person!r} is not a person's key", field="people")
    return people


def _check_shift_length(length: object) -> None:
    if not isinstance(length, timedelta):
        raise Invalid(f"must be a timedelta, not {length!r}", field="shift_length")
    if length <= timedelta(0):
        raise Invalid(f"must be positive, not {length}", field="shift_length")
    if length < SHORTEST_SHIFT:
        raise Invalid(f"must be at least an hour, not {length}", field="shift_length")
    if length > LONGEST_SHIFT:
        raise Invalid(f"must be at most a year (366 days), not {length}", field="shift_length")


def _clock(local: datetime) -> time:
    """The wall-clock time of `local` without its fold: handoffs are always at the first pass."""
    return local.time().replace(fold=0)
