"""Reads of on-call: the engine's schedule built from the rows, and its answers with people.

Every answer comes from the engine (`schedule.py`); this module only loads rows and turns the
engine's person keys (Person ids as text) back into `Person`s, in one query per answer.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from ceres.core.errors import Invalid, NotFound
from ceres.oncall.models import OnCallSchedule, ScheduleLayer, ScheduleOverride
from ceres.oncall.rotation import Rotation
from ceres.oncall.schedule import Layer, Override, Schedule, Shift, final_schedule
from ceres.sla.policies import calendar
from ceres.team.models import Person

# How far ahead `on_call_now` looks for the next handoff: past a month of weekly turns.
LOOK_AHEAD = datetime.timedelta(days=35)


def schedules() -> QuerySet[OnCallSchedule]:
    return OnCallSchedule.objects.order_by("name", "key")


def get_schedule(key: str) -> OnCallSchedule:
    schedule = OnCallSchedule.objects.filter(key=key).first()
    if schedule is None:
        raise NotFound(f"no on-call schedule {key!r}", field="key")
    return schedule


def get_override(schedule: OnCallSchedule, override_id: int) -> ScheduleOverride:
    override = (
        ScheduleOverride.objects.filter(schedule=schedule, pk=override_id)
        .select_related("person", "schedule")
        .first()
    )
    if override is None:
        raise NotFound(f"no override {override_id} on {schedule.key}", field="override")
    return override


def engine_layer(layer: ScheduleLayer) -> Layer:
    """The engine's layer for a row; a calendar deleted since is an `Invalid` naming the
    restriction, never a silent 24/7."""
    restriction = None
    if layer.restriction:
        try:
            _, restriction = calendar(layer.restriction)
        except Invalid as exc:
            raise Invalid(
                f"{layer}: no business calendar {layer.restriction!r}", field="restriction"
            ) from exc
    rotation = Rotation(
        people=tuple(str(person_id) for person_id in layer.people),
        shift_length=datetime.timedelta(hours=layer.shift_length_hours),
        start=layer.start,
        timezone=layer.timezone,
    )
    return Layer(rotation, restriction=restriction)


def engine_schedule(
    schedule: OnCallSchedule, *, overrides_from: datetime.datetime | None = None
) -> Schedule:
    """The engine's `Schedule` for the rows: layers by position (the highest wins), and the
    overrides (only those still running at `overrides_from`, when given: the past ones cannot
    change an answer about later instants, and they pile up)."""
    layers = [engine_layer(layer) for layer in schedule.layers.order_by("position")]
    rows = schedule.overrides.all()
    if overrides_from is not None:
        rows = rows.filter(end__gt=overrides_from)
    overrides = [Override(str(row.person_id), row.start, row.end) for row in rows]
    return Schedule(layers=tuple(layers), overrides=tuple(overrides))


def _people(keys: Iterable[str | None]) -> dict[str, Person]:
    ids = {int(key) for key in keys if key is not None}
    return {str(pk): person for pk, person in Person.objects.in_bulk(ids).items()}


@dataclass(frozen=True)
class ShiftRow:
    """A final-schedule shift with its person (None: a gap). `layer` is the layer's position
    for a shift from a layer."""

    person: Person | None
    start: datetime.datetime
    end: datetime.datetime
    source: str  # "override", "layer" or "gap"
    layer: int | None

    @property
    def is_gap(self) -> bool:
        return self.person is None


def _rows(schedule: OnCallSchedule, shifts: list[Shift]) -> list[ShiftRow]:
    people = _people(shift.person for shift in shifts)
    positions = list(schedule.layers.order_by("position").values_list("position", flat=True))
    rows = []
    for shift in shifts:
        if shift.source == "override":
            source, layer = "override", None
        elif shift.source is None:
            source, layer = "gap", None
        else:
            source, layer = "layer", positions[shift.source]
        person = people.get(shift.person) if shift.person is not None else None
        rows.append(ShiftRow(person, shift.start, shift.end, source, layer))
    return rows


def final_schedule_rows(
    schedule: OnCallSchedule, start: datetime.datetime, end: datetime.datetime
) -> list[ShiftRow]:
    """The final schedule over [start, end) with people: contiguous shifts, gaps included."""
    shifts = final_schedule(engine_schedule(schedule, overrides_from=start), start, end)
    return _rows(schedule, shifts)


def upcoming_gaps(
    schedule: OnCallSchedule, days: int = 14, *, now: datetime.datetime | None = None
) -> list[ShiftRow]:
    """The stretches of the next `days` with nobody on call, to fill ahead of time."""
    start = now or timezone.now()
    rows = final_schedule_rows(schedule, start, start + datetime.timedelta(days=days))
    return [row for row in rows if row.is_gap]


@dataclass(frozen=True)
class OnCallNow:
    """Who is on call on a schedule now, until when (None: no change in `LOOK_AHEAD`), and
    who comes next (None with a `until`: a gap follows)."""

    schedule: OnCallSchedule
    person: Person | None
    until: datetime.datetime | None
    next_person: Person | None


def on_call_now_detail(
    schedule: OnCallSchedule, *, now: datetime.datetime | None = None
) -> OnCallNow:
    start = now or timezone.now()
    shifts = final_schedule(
        engine_schedule(schedule, overrides_from=start), start, start + LOOK_AHEAD
    )
    current = shifts[0].person if shifts else None
    until: datetime.datetime | None = None
    incoming: str | None = None
    # An override of the same person as the layer is no handoff: skip to a different person.
    for shift in shifts[1:]:
        if shift.person != current:
            until, incoming = shift.start, shift.person
            break
    people = _people([current, incoming])
    return OnCallNow(
        schedule=schedule,
        person=people.get(current) if current is not None else None,
        until=until,
        next_person=people.get(incoming) if incoming is not None else None,
    )


def on_call_now(schedule_key: str, now: datetime.datetime | None = None) -> Person | None:
    """Who answers `schedule_key`'s page now (None: nobody, a gap)."""
    return on_call_now_detail(get_schedule(schedule_key), now=now).person


def everyone_on_call_now(*, now: datetime.datetime | None = None) -> list[OnCallNow]:
    start = now or timezone.now()
    return [on_call_now_detail(schedule, now=start) for schedule in schedules()]


def overrides_ahead(
    schedule: OnCallSchedule, *, now: datetime.datetime | None = None
) -> QuerySet[ScheduleOverride]:
    """The overrides not over yet, soonest first."""
    return (
        schedule.overrides.filter(end__gt=now or timezone.now())
        .select_related("person", "created_by")
        .order_by("start")
    )
