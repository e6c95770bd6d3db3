"""Every write to escalation chains: an `EscalationPolicy` and its ordered `EscalationStep`s.

A chain is saved whole, as the handbook's "Escalations (in order)" is read: `save_policy`
replaces the steps together, in one transaction, so an alarm never follows half of an old chain
and half of a new one. Each refusal is an `Invalid` naming the field as the caller gave it
(`steps[2].wait_minutes`, `steps[0].via`, `target_calendar`), before anything is written.

Audited as `oncall.policy.create` / `.update` / `.delete`, the steps being one field of the
policy (`steps`, a list with each step's schedule key, people ids, role, ways and wait): saving
the same chain again leaves no trace and does not rewrite its steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ceres.core.audit.services import Actor, record_change, record_save, snapshot
from ceres.core.errors import Invalid
from ceres.oncall.models import EscalationPolicy, EscalationStep, OnCallSchedule
from ceres.sla.policies import calendar
from ceres.slack.services import check_channel_id
from ceres.team.models import Person, Role

VIAS = tuple(EscalationStep.Via.values)  # slack, sms, email
MAX_KEY = 60
MAX_NAME = 200
MAX_STEPS = 20
MAX_PEOPLE = 100
MAX_WAIT_MINUTES = 24 * 60
MAX_REPEAT = 10
MAX_ACK_MINUTES = 7 * 24 * 60
_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")
POLICY_FIELDS = (
    "key",
    "name",
    "repeat",
    "alarm_channel",
    "ack_timeout_minutes",
    "target_calendar",
    "ack_within_inside_minutes",
    "ack_within_outside_minutes",
)


@dataclass(frozen=True)
class StepSpec:
    """One step as a caller states it: whom to page (a schedule's on-call, people, everyone
    active in a role: at least one), how, and how long to wait for an acknowledgement."""

    wait_minutes: int
    via: Sequence[str] = ("slack",)
    schedule: OnCallSchedule | None = None
    people: Sequence[Person | int] = field(default_factory=tuple)
    role: str = ""
    open_outage_issue: bool = False


def _text(value: object, *, field: str, most: int, required: bool) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be text, not {value!r}", field=field)
    value = " ".join(value.split())
    if required and not value:
        raise Invalid("must not be blank", field=field)
    if len(value) > most:
        raise Invalid(f"at most {most} characters", field=field)
    return value


def _whole(value: object, *, field: str, least: int, most: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"must be a whole number of {what}", field=field)
    if not least <= value <= most:
        raise Invalid(f"must be {least} to {most} {what}, got {value}", field=field)
    return value


def _schedule(value: object, *, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, OnCallSchedule) or value.pk is None:
        raise Invalid(f"must be a stored on-call schedule, not {value!r}", field=field)
    if not OnCallSchedule.objects.filter(pk=value.pk).exists():
        raise Invalid(f"no on-call schedule {value.key!r}", field=field)
    return int(value.pk)


def _people(value: object, *, field: str) -> list[int]:
    if isinstance(value, str | Person) or not isinstance(value, Sequence):
        raise Invalid("must be a list of people (Person or id)", field=field)
    if len(value) > MAX_PEOPLE:
        raise Invalid(f"at most {MAX_PEOPLE} people", field=field)
    ids: list[int] = []
    for person in value:
        if isinstance(person, Person) and person.pk is not None:
            ids.append(int(person.pk))
        elif isinstance(person, int) and not isinstance(person, bool):
            ids.append(person)
        else:
            raise Invalid(f"{person!r} is not a team member", field=field)
    found = {p.pk: p for p in Person.objects.filter(pk__in=ids)}
    for pk in ids:
        if pk not in found:
            raise Invalid(f"no person {pk}", field=field)
        if not found[pk].is_active:
            raise Invalid(f"{found[pk].name} is no longer on the team", field=field)
    if len(set(ids)) != len(ids):
        twice = next(found[pk].name for pk in ids if ids.count(pk) > 1)
        raise Invalid(f"{twice} is listed twice", field=field)
    return ids


def _role(value: object, *, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a role's key, not {value!r}", field=field)
    if value and not Role.objects.filter(key=value).exists():
        known = ", ".join(Role.objects.order_by("position", "key").values_list("key", flat=True))
        raise Invalid(f"unknown role {value!r}; known roles: {known or 'none'}", field=field)
    return value


def _via(value: object, *, field: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise Invalid(f"must be a list of ways: {', '.join(VIAS)}", field=field)
    if not value:
        raise Invalid(f"name at least one way: {', '.join(VIAS)}", field=field)
    for way in value:
        if way not in VIAS:
            raise Invalid(f"unknown way {way!r}; use {', '.join(VIAS)}", field=field)
    return list(dict.fromkeys(str(way) for way in value))


def _step(index: int, step: object) -> dict[str, Any]:
    """A step's row values, or an `Invalid` naming `steps[index].<field>`."""
    where = f"steps[{index}]"
    if not isinstance(step, StepSpec):
        raise Invalid(f"must be a StepSpec, not {step!r}", field=where)
    values: dict[str, Any] = {
        "schedule_id": _schedule(step.schedule, field=f"{where}.schedule"),
        "people": _people(step.people, field=f"{where}.people"),
        "role": _role(step.role, field=f"{where}.role"),
        "via": _via(step.via, field=f"{where}.via"),
        "wait_minutes": _whole(
            step.wait_minutes,
            field=f"{where}.wait_minutes",
            least=1,
            most=MAX_WAIT_MINUTES,
            what="minutes",
        ),
        "open_outage_issue": step.open_outage_issue,
    }
    if not isinstance(step.open_outage_issue, bool):
        raise Invalid("must be true or false", field=f"{where}.open_outage_issue")
    if values["schedule_id"] is None and not values["people"] and not values["role"]:
        raise Invalid("notifies nobody: name a schedule, people or a role", field=where)
    return values


def _steps_of(policy: EscalationPolicy) -> list[dict[str, Any]]:
    return [
        {
            "schedule_id": step.schedule_id,
            "people": list(step.people),
            "role": step.role,
            "via": list(step.via),
            "wait_minutes": step.wait_minutes,
            "open_outage_issue": step.open_outage_issue,
        }
        for step in policy.steps.order_by("position")
    ]


def _audited(policy: EscalationPolicy, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The policy's audited fields, its steps as one (schedules by key, as people read them)."""
    keys = dict(
        OnCallSchedule.objects.filter(
            pk__in={s["schedule_id"] for s in steps if s["schedule_id"]}
        ).values_list("pk", "key")
    )
    shown = [
        {
            "schedule": keys.get(step["schedule_id"]) if step["schedule_id"] else None,
            **{name: value for name, value in step.items() if name != "schedule_id"},
        }
        for step in steps
    ]
    return {**snapshot(policy, POLICY_FIELDS), "steps": shown}


@transaction.atomic
def save_policy(
    *,
    actor: Actor,
    key: str,
    name: str,
    steps: Sequence[StepSpec],
    repeat: int = 0,
    alarm_channel: str = "",
    ack_timeout_minutes: int | None = None,
    target_calendar: str = "",
    ack_within_inside_minutes: int = 60,
    ack_within_outside_minutes: int = 240,
) -> EscalationPolicy:
    """Create the chain `key`, or replace it whole: its fields and all its steps."""
    key = _text(key, field="key", most=MAX_KEY, required=True)
    if not _KEY.fullmatch(key):
        raise Invalid(
            "lower-case letters, digits and dashes, e.g. infrastructure-alarm", field="key"
        )
    name = _text(name, field="name", most=MAX_NAME, required=True)
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        raise Invalid("must be a list of steps", field="steps")
    if not steps:
        raise Invalid("a chain has at least one step", field="steps")
    if len(steps) > MAX_STEPS:
        raise Invalid(f"at most {MAX_STEPS} steps", field="steps")
    rows = [_step(index, step) for index, step in enumerate(steps)]
    repeat = _whole(repeat, field="repeat", least=0, most=MAX_REPEAT, what="times")
    alarm_channel = _text(alarm_channel, field="alarm_channel", most=20, required=False)
    if alarm_channel:
        try:
            alarm_channel = check_channel_id(alarm_channel)
        except Invalid as exc:
            raise Invalid(exc.message, field="alarm_channel") from exc
    if ack_timeout_minutes is not None:
        ack_timeout_minutes = _whole(
            ack_timeout_minutes,
            field="ack_timeout_minutes",
            least=1,
            most=MAX_ACK_MINUTES,
            what="minutes",
        )
    target_calendar = _text(target_calendar, field="target_calendar", most=60, required=False)
    if target_calendar:
        try:
            calendar(target_calendar)
        except Invalid as exc:
            raise Invalid(
                f"no business calendar {target_calendar!r} (blank: no response target)",
                field="target_calendar",
            ) from exc
    inside = _whole(
        ack_within_inside_minutes,
        field="ack_within_inside_minutes",
        least=1,
        most=MAX_ACK_MINUTES,
        what="minutes",
    )
    outside = _whole(
        ack_within_outside_minutes,
        field="ack_within_outside_minutes",
        least=1,
        most=MAX_ACK_MINUTES,
        what="minutes",
    )

    policy = EscalationPolicy.objects.select_for_update().filter(key=key).first()
    before = _audited(policy, _steps_of(policy)) if policy is not None else {}
    if policy is None:
        policy = EscalationPolicy(key=key)
    policy.name = name
    policy.repeat = repeat
    policy.alarm_channel = alarm_channel
    policy.ack_timeout_minutes = ack_timeout_minutes
    policy.target_calendar = target_calendar
    policy.ack_within_inside_minutes = inside
    policy.ack_within_outside_minutes = outside
    policy.save()
    if not before or _steps_of(policy) != rows:
        policy.steps.all().delete()
        EscalationStep.objects.bulk_create(
            EscalationStep(policy=policy, position=position, **row)
            for position, row in enumerate(rows)
        )
    record_save(
        actor=actor,
        action="oncall.policy",
        target=policy,
        target_label=policy.key,
        before=before,
        after=_audited(policy, rows),
    )
    return policy


@transaction.atomic
def delete_policy(*, actor: Actor, policy: EscalationPolicy) -> None:
    """Delete a chain and its steps. Alarms that followed it keep their history; integrations
    that paged through it page nobody until given another chain."""
    before = _audited(policy, _steps_of(policy))
    record_change(
        actor=actor,
        action="oncall.policy.delete",
        target=policy,
        target_label=policy.key,
        changes={name: [value, None] for name, value in before.items()},
    )
    policy.delete()
