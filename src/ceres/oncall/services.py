"""Every write to on-call schedules: one function per use case, transactional, audited.

The rules are the engine's: a layer is saved only if it makes a `Rotation` (and a `Layer` with
its restriction's calendar), an override only if `check_overrides` accepts it with the
schedule's others. The engine's errors name its own fields; here they are renamed to the
fields a caller gave (`shift_length` is `shift_length_hours`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from django.db import transaction
from django.utils.timezone import localtime

from ceres.core.audit.services import Actor, record_change, record_delete, record_save, snapshot
from ceres.core.errors import Invalid
from ceres.oncall.models import OnCallSchedule, ScheduleLayer, ScheduleOverride
from ceres.oncall.rotation import Rotation
from ceres.oncall.schedule import Override, check_overrides
from ceres.sla.policies import calendar
from ceres.slack.services import check_channel_id
from ceres.team.models import Person

MAX_KEY = 60
MAX_NAME = 200
MAX_DESCRIPTION = 5_000
MAX_REASON = 500
MAX_PEOPLE = 100
MAX_LAYERS = 20
_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")
_USERGROUP = re.compile(r"S[A-Z0-9]{2,19}")
_USERGROUP_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]*")
SCHEDULE_FIELDS = (
    "key",
    "name",
    "description",
    "slack_usergroup_id",
    "slack_usergroup_handle",
    "handoff_channel",
)
LAYER_FIELDS = ("position", "people", "shift_length_hours", "start", "timezone", "restriction")
OVERRIDE_FIELDS = ("schedule", "person", "start", "end", "reason", "created_by")


def _text(value: str, *, field: str, most: int, required: bool) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be text, not {value!r}", field=field)
    value = value.strip()
    if required and not value:
        raise Invalid("must not be blank", field=field)
    if len(value) > most:
        raise Invalid(f"at most {most} characters", field=field)
    if "\x00" in value:
        raise Invalid("must not contain NUL characters", field=field)
    return value


@transaction.atomic
def save_schedule(
    *,
    actor: Actor,
    key: str,
    name: str,
    description: str = "",
    slack_usergroup_id: str = "",
    slack_usergroup_handle: str | None = None,
    handoff_channel: str | None = None,
) -> OnCallSchedule:
    """Create the schedule `key`, or replace its name, description and Slack user group.
    `slack_usergroup_handle` (`oncall` for @oncall; the user group sync looks its id up) and
    `handoff_channel` (a Slack channel id) are kept as stored when None."""
    key = _text(key, field="key", most=MAX_KEY, required=True)
    if not _KEY.fullmatch(key):
        raise Invalid("lower-case letters, digits and dashes, e.g. developer-on-call", field="key")
    name = _text(name, field="name", most=MAX_NAME, required=True)
    description = _text(description, field="description", most=MAX_DESCRIPTION, required=False)
    slack_usergroup_id = _text(
        slack_usergroup_id, field="slack_usergroup_id", most=20, required=False
    )
    if slack_usergroup_id and not _USERGROUP.fullmatch(slack_usergroup_id):
        raise Invalid(
            "a Slack user group id starts with S (e.g. S0ONCALL1)", field="slack_usergroup_id"
        )
    if slack_usergroup_handle is not None:
        slack_usergroup_handle = _text(
            slack_usergroup_handle, field="slack_usergroup_handle", most=80, required=False
        ).removeprefix("@")
        if slack_usergroup_handle and not _USERGROUP_HANDLE.fullmatch(slack_usergroup_handle):
            raise Invalid(
                "a Slack user group's handle: lower-case letters, digits, dashes, dots and "
                "underscores (oncall for @oncall)",
                field="slack_usergroup_handle",
            )
    if handoff_channel is not None:
        handoff_channel = _text(handoff_channel, field="handoff_channel", most=20, required=False)
        if handoff_channel:
            try:
                handoff_channel = check_channel_id(handoff_channel)
            except Invalid as exc:
                raise Invalid(exc.message, field="handoff_channel") from exc
    schedule = OnCallSchedule.objects.select_for_update().filter(key=key).first()
    before = snapshot(schedule, SCHEDULE_FIELDS) if schedule else {}
    if schedule is None:
        schedule = OnCallSchedule(key=key)
    group_before = (schedule.slack_usergroup_id, schedule.slack_usergroup_handle)
    schedule.name = name
    schedule.description = description
    schedule.slack_usergroup_id = slack_usergroup_id
    if slack_usergroup_handle is not None:
        schedule.slack_usergroup_handle = slack_usergroup_handle
    if (schedule.slack_usergroup_id, schedule.slack_usergroup_handle) != group_before:
        # Another group: the next sync fills it whoever is on call (`oncall.slack_sync`).
        schedule.slack_usergroup_users = []
    if handoff_channel is not None:
        schedule.handoff_channel = handoff_channel
    schedule.save()
    record_save(
        actor=actor,
        action="oncall.schedule",
        target=schedule,
        target_label=schedule.key,
        before=before,
        after=snapshot(schedule, SCHEDULE_FIELDS),
    )
    return schedule


def _on_the_team(person: object, *, field: str) -> Person:
    if not isinstance(person, Person) or person.pk is None:
        raise Invalid(f"{person!r} is not a team member", field=field)
    if not person.is_active:
        raise Invalid(f"{person.name} is no longer on the team", field=field)
    return person


def check_layer(
    *,
    people: Sequence[Person],
    shift_length_hours: int,
    start: datetime.datetime,
    timezone: str,
    restriction: str = "",
) -> Rotation:
    """The engine's rotation for these values, or an `Invalid` naming the field at fault."""
    if isinstance(people, str | Person) or not isinstance(people, Sequence):
        raise Invalid("must be a list of people in order", field="people")
    if len(people) > MAX_PEOPLE:
        raise Invalid(f"at most {MAX_PEOPLE} people", field="people")
    for person in people:
        _on_the_team(person, field="people")
    if isinstance(shift_length_hours, bool) or not isinstance(shift_length_hours, int):
        raise Invalid("must be a whole number of hours", field="shift_length_hours")
    if shift_length_hours < 1:
        raise Invalid("must be at least one hour", field="shift_length_hours")
    if not isinstance(restriction, str):
        raise Invalid("must be a business calendar's key (blank: 24/7)", field="restriction")
    if restriction:
        try:
            calendar(restriction)
        except Invalid as exc:
            raise Invalid(
                f"no business calendar {restriction!r} (blank: 24/7)", field="restriction"
            ) from exc
    try:
        return Rotation(
            people=tuple(str(person.pk) for person in people),
            shift_length=datetime.timedelta(hours=shift_length_hours),
            start=start,
            timezone=timezone,
        )
    except Invalid as exc:
        field = "shift_length_hours" if exc.field == "shift_length" else exc.field
        raise Invalid(exc.message, field=field) from exc


@transaction.atomic
def save_layer(
    *,
    actor: Actor,
    schedule: OnCallSchedule,
    position: int,
    people: Sequence[Person],
    shift_length_hours: int,
    start: datetime.datetime,
    timezone: str,
    restriction: str = "",
) -> ScheduleLayer:
    """Create the layer at `position` of the schedule, or replace it. Changing a rotation
    replaces its layer as a whole: the engine counts turns from `start`, so a new order or
    length begins at a new `start` (an end date for the old one is for later)."""
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < 1000:
        raise Invalid("must be a whole number from 0 to 999", field="position")
    rotation = check_layer(
        people=people,
        shift_length_hours=shift_length_hours,
        start=start,
        timezone=timezone,
        restriction=restriction,
    )
    OnCallSchedule.objects.select_for_update().filter(pk=schedule.pk).first()
    layer = ScheduleLayer.objects.filter(schedule=schedule, position=position).first()
    if layer is None and schedule.layers.count() >= MAX_LAYERS:
        raise Invalid(f"a schedule has at most {MAX_LAYERS} layers", field="position")
    before = snapshot(layer, LAYER_FIELDS) if layer else {}
    if layer is None:
        layer = ScheduleLayer(schedule=schedule, position=position)
    layer.people = [person.pk for person in people]
    layer.shift_length_hours = shift_length_hours
    layer.start = rotation.start
    layer.timezone = timezone
    layer.restriction = restriction
    layer.save()
    record_save(
        actor=actor,
        action="oncall.layer",
        target=layer,
        target_label=f"{schedule.key} layer {position}",
        before=before,
        after=snapshot(layer, LAYER_FIELDS),
    )
    return layer


@transaction.atomic
def delete_layer(*, actor: Actor, layer: ScheduleLayer) -> None:
    record_delete(
        actor=actor,
        action="oncall.layer.delete",
        target=layer,
        target_label=f"{layer.schedule.key} layer {layer.position}",
        fields=LAYER_FIELDS,
    )
    layer.delete()


def _span(override: Override) -> str:
    """In the active time zone (the viewer's, on a page; UTC elsewhere)."""
    start, end = localtime(override.start), localtime(override.end)
    return f"{start:%a %b %d %H:%M %Z} to {end:%a %b %d %H:%M %Z}"


@transaction.atomic
def add_override(
    *,
    actor: Actor,
    schedule: OnCallSchedule,
    person: Person,
    start: datetime.datetime,
    end: datetime.datetime,
    reason: str = "",
    created_by: Person | None = None,
) -> ScheduleOverride:
    """`person` covers [start, end) on `schedule`. Refused if it overlaps another override of
    the schedule (docs/oncall.md, "Overlapping overrides are refused"): the field named is the
    end that runs into the other one (`end` when it starts first, else `start`)."""
    _on_the_team(person, field="person")
    reason = _text(reason, field="reason", most=MAX_REASON, required=False)
    new = Override(str(person.pk), start, end)  # naive, or end not after start: Invalid
    # One writer at a time per schedule, so two overlapping overrides cannot both pass.
    OnCallSchedule.objects.select_for_update().filter(pk=schedule.pk).first()
    existing = list(
        ScheduleOverride.objects.filter(schedule=schedule, end__gt=new.start, start__lt=new.end)
        .select_related("person")
        .order_by("start")
    )
    others = [Override(str(row.person_id), row.start, row.end) for row in existing]
    try:
        check_overrides([*others, new])
    except Invalid as exc:
        clash = existing[0]
        field = "end" if new.start < clash.start else "start"
        raise Invalid(
            f"overlaps {clash.person.name}'s override {_span(others[0])}: one person covers a "
            "span; shorten or remove one of them",
            field=field,
        ) from exc
    override = ScheduleOverride.objects.create(
        schedule=schedule,
        person=person,
        start=new.start,
        end=new.end,
        reason=reason,
        created_by=created_by,
    )
    record_change(
        actor=actor,
        action="oncall.override.create",
        target=override,
        target_label=f"{schedule.key}: {person.name}",
        changes={
            name: [None, value] for name, value in snapshot(override, OVERRIDE_FIELDS).items()
        },
    )
    return override


@transaction.atomic
def remove_override(*, actor: Actor, override: ScheduleOverride) -> None:
    record_delete(
        actor=actor,
        action="oncall.override.delete",
        target=override,
        target_label=f"{override.schedule.key}: {override.person.name}",
        fields=OVERRIDE_FIELDS,
    )
    override.delete()
