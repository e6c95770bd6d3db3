"""A schedule and its final schedule: who is on call at any instant, the gaps, the handoffs.

A schedule has layers, each a rotation with an optional restriction (the hours in which the
layer is on call: a business calendar, or none for 24/7), and overrides (a person covering a
span: the handbook's "arrange and designate a replacement"). The final schedule is computed,
never stored: at an instant, an override covering it wins; otherwise the highest layer (the
last in `layers`) with someone on call; otherwise nobody, a gap. Gaps are shown ahead of time
so someone can fill them before a page goes unanswered.

Overlapping overrides are refused (`check_overrides`), not resolved by "the newest wins" as
PagerDuty does: a replacement is an arrangement between people, and two overrides over the same
hour mean two people each believe they cover it (or one was replaced without being told). The
one who arranges the change edits or removes the other override, explicitly. Touching
overrides (one ends when the next starts) are fine.

Every function walks the shifts of each layer once and merges them in one sweep, so a month of
three weekly layers is a few dozen steps: cost grows with the shifts, never with the minutes.
Answers are in UTC (compare and store them as instants; show them in the viewer's zone).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise
from typing import Literal, TypeAlias

from ceres.core.businesstime import Calendar, InvalidArgument, is_open, open_intervals
from ceres.core.errors import Invalid
from ceres.oncall.rotation import (
    Piece,
    Rotation,
    aware,
    from_micros,
    rotation_on_call,
    rotation_shifts,
    to_micros,
)

__all__ = [
    "Handoff",
    "Layer",
    "Override",
    "Restriction",
    "Rotation",
    "Schedule",
    "Shift",
    "Source",
    "check_overrides",
    "final_schedule",
    "gaps",
    "handoffs",
    "on_call_at",
]

Restriction: TypeAlias = Calendar
"""When a layer is on call: a business calendar (weekly windows in its own time zone, and
holidays if it names a country), e.g. the support calendar's Mon-Fri 09:00-17:00. A layer
without one is on call 24/7. The rotation keeps turning outside the windows: a restriction
takes hours away from a turn, it never pauses or shifts the turns."""

Source: TypeAlias = Literal["override"] | int | None
"""Where a final shift comes from: an override, a layer (its index in `Schedule.layers`), or
nothing (a gap)."""


@dataclass(frozen=True)
class Layer:
    """A rotation, on call only inside its restriction's open hours (none: always)."""

    rotation: Rotation
    restriction: Restriction | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rotation, Rotation):
            raise Invalid(f"must be a rotation, not {self.rotation!r}", field="rotation")
        if self.restriction is not None and not isinstance(self.restriction, Calendar):
            raise Invalid(
                f"must be a calendar (or none for 24/7), not {self.restriction!r}",
                field="restriction",
            )


@dataclass(frozen=True)
class Override:
    """`person` covers [start, end), whatever the layers say. Kept in UTC."""

    person: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.person, str) or not self.person.strip():
            raise Invalid(f"{self.person!r} is not a person's key", field="person")
        start = aware(self.start, field="start").astimezone(UTC)
        end = aware(self.end, field="end").astimezone(UTC)
        if end <= start:
            raise Invalid(
                f"must be after the start ({start:%Y-%m-%d %H:%M} UTC), not "
                f"{end:%Y-%m-%d %H:%M} UTC",
                field="end",
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def __str__(self) -> str:
        return f"{self.person} {self.start:%Y-%m-%d %H:%M}-{self.end:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Schedule:
    """Layers from lowest to highest (a later layer wins over an earlier one), and overrides,
    which win over every layer. Overrides are kept sorted by start; overlapping ones are
    refused (module docstring)."""

    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.layers, Layer) or not isinstance(self.layers, tuple | list):
            raise Invalid(f"must be a list of layers, not {self.layers!r}", field="layers")
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise Invalid(f"{layer!r} is not a layer", field="layers")
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "overrides", check_overrides(self.overrides))

    @cached_property
    def _override_spans(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (
            tuple(to_micros(override.start) for override in self.overrides),
            tuple(to_micros(override.end) for override in self.overrides),
        )


@dataclass(frozen=True)
class Shift:
    """A stretch of the final schedule: `person` on call (None: nobody, a gap) in [start, end),
    in UTC, from `source`."""

    person: str | None
    start: datetime
    end: datetime
    source: Source


@dataclass(frozen=True)
class Handoff:
    """At `at` (UTC), the person on call changes from `outgoing` to `incoming` (None: nobody).
    What a sync of the Slack on-call user group acts on."""

    at: datetime
    outgoing: str | None
    incoming: str | None


def check_overrides(overrides: Iterable[Override]) -> tuple[Override, ...]:
    """The overrides sorted by start, or an `Invalid` (field "overrides") naming two that
    overlap, by their position in `overrides`. A service calls it with the existing overrides
    and a new one before saving."""
    if isinstance(overrides, Override) or not isinstance(overrides, Iterable):
        raise Invalid(f"must be a list of overrides, not {overrides!r}", field="overrides")
    numbered = list(enumerate(overrides))
    for _, override in numbered:
        if not isinstance(override, Override):
            raise Invalid(f"{override!r} is not an override", field="overrides")
    numbered.sort(key=lambda entry: (entry[1].start, entry[1].end))
    # Sorted by start, two overrides overlap if and only if some override overlaps the one
    # just before it.
    for (earlier_index, earlier), (later_index, later) in pairwise(numbered):
        if later.start < earlier.end:
            first, second = sorted(((earlier_index, earlier), (later_index, later)))
            raise Invalid(
                f"overrides[{first[0]}] ({first[1]}) overlaps overrides[{second[0]}] "
                f"({second[1]}): one person covers a span; shorten or remove one of them",
                field="overrides",
            )
    return tuple(override for _, override in numbered)


def on_call_at(schedule: Schedule, instant: datetime) -> str | None:
    """Who is on call at `instant`: the override covering it, else the highest layer with
    someone on call, else None. Constant time per layer (no shifts are listed)."""
    micros = _argument(instant, "instant")
    starts, ends = schedule._override_spans
    index = bisect_right(starts, micros) - 1
    if index >= 0 and micros < ends[index]:
        return schedule.overrides[index].person
    for layer in reversed(schedule.layers):
        if layer.restriction is not None and not is_open(layer.restriction, instant):
            continue
        person = rotation_on_call(layer.rotation, micros)
        if person is not None:
            return person
    return None


def final_schedule(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The final schedule over [start, end): contiguous shifts covering it exactly, gaps
    included (person None), adjacent shifts of the same person and source merged into one.
    Empty when `end` is not after `start`."""
    first, last = _argument(start, "start"), _argument(end, "end")
    return [
        Shift(person, from_micros(begins), from_micros(ends), source)
        for begins, ends, person, source in _final_pieces(schedule, first, last)
    ]


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The stretches of [start, end) when nobody is on call, to fill ahead of time."""
    return [shift for shift in final_schedule(schedule, start, end) if shift.person is None]


def handoffs(schedule: Schedule, start: datetime, end: datetime) -> list[Handoff]:
    """The instants in [start, end) at which the person on call changes (to or from nobody
    too), with who hands over to whom. Half-open like everything else, so consecutive windows
    [a, b) and [b, c) list each handoff exactly once, and a sync that runs every few minutes
    over the window since its last run misses none: a change exactly at `start` is listed
    (the person just before `start` is asked for)."""
    first, last = _argument(start, "start"), _argument(end, "end")
    if last <= first:
        return []
    previous = on_call_at(schedule, from_micros(first - 1))
    result = []
    for begins, _ends, person, _source in _final_pieces(schedule, first, last):
        if person != previous:
            result.append(Handoff(from_micros(begins), previous, person))
            previous = person
    return result


_Segment = tuple[int, int, str | None, Source]


def _final_pieces(schedule: Schedule, first: int, last: int) -> list[_Segment]:
    """One sweep over the boundaries of every source's pieces, highest priority first: the
    overrides, then the layers from the last to the first. Between two consecutive boundaries
    each source's pieces either cover the whole stretch or none of it, and each source's
    pointer only moves forward, so the cost is (boundaries x sources)."""
    if last <= first:
        return []
    sources: list[tuple[Source, list[Piece]]] = [
        ("override", _override_pieces(schedule, first, last))
    ]
    for index in reversed(range(len(schedule.layers))):
        sources.append((index, list(_layer_pieces(schedule.layers[index], first, last))))
    edges = {first, last}
    for _, pieces in sources:
        for begins, ends, _person in pieces:
            edges.update((begins, ends))
    boundaries = sorted(edges)
    positions = [0] * len(sources)
    result: list[_Segment] = []
    for begins, ends in pairwise(boundaries):
        person: str | None = None
        source: Source = None
        for number, (candidate, pieces) in enumerate(sources):
            position = positions[number]
            while position < len(pieces) and pieces[position][1] <= begins:
                position += 1
            positions[number] = position
            if position < len(pieces) and pieces[position][0] <= begins:
                person, source = pieces[position][2], candidate
                break
        if result and result[-1][2] == person and result[-1][3] == source:
            result[-1] = (result[-1][0], ends, person, source)
        else:
            result.append((begins, ends, person, source))
    return result


def _override_pieces(schedule: Schedule, first: int, last: int) -> list[Piece]:
    starts, ends = schedule._override_spans
    pieces = []
    for index in range(max(bisect_right(starts, first) - 1, 0), len(starts)):
        if starts[index] >= last:
            break
        begins, finishes = max(starts[index], first), min(ends[index], last)
        if finishes > begins:
            pieces.append((begins, finishes, schedule.overrides[index].person))
    return pieces


def _layer_pieces(layer: Layer, first: int, last: int) -> Iterator[Piece]:
    """The rotation's turns, cut to the restriction's open hours: both lists are sorted, so one
    pass over each."""
    shifts = rotation_shifts(layer.rotation, first, last)
    if layer.restriction is None:
        yield from shifts
        return
    windows = [
        (to_micros(opens), to_micros(closes))
        for opens, closes in open_intervals(
            layer.restriction, from_micros(first), from_micros(last)
        )
    ]
    position = 0
    for begins, ends, person in shifts:
        while position < len(windows) and windows[position][1] <= begins:
            position += 1
        candidate = position
        while candidate < len(windows) and windows[candidate][0] < ends:
            opens, closes = max(begins, windows[candidate][0]), min(ends, windows[candidate][1])
            if closes > opens:
                yield opens, closes, person
            candidate += 1


def _argument(value: object, name: str) -> int:
    """Epoch microseconds of an aware datetime argument; `InvalidArgument` naming it (both an
    `Invalid` and a `ValueError`, as in business time) for anything else."""
    if not isinstance(value, datetime):
        raise InvalidArgument(f"{name} must be a datetime, not {value!r}", field=name)
    if value.utcoffset() is None:
        raise InvalidArgument(
            f"{name} must be an aware datetime (with a time zone or UTC offset), not the naive "
            f"{value.isoformat()}",
            field=name,
        )
    return to_micros(value)
