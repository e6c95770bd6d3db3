"""The shape of the playbook's `rotations:` and `escalation_chains:` (docs/playbook.md).

    rotations:
      developer-on-call: {people: [engineer], every: 1w, handoff: "mon 09:00 America/Chicago",
                          hours: support, slack_alias: oncall}
      premium-support:
        layers: [infrastructure-oncall, {people: [cse], every: 1w, handoff: "mon 09:00
                 America/Chicago", hours: support}]
    escalation_chains:
      infrastructure-alarm:
        - {notify: {rotation: infrastructure-oncall}, via: [slack, sms], wait: 15m}
        - {notify: {role: vp-cs}, wait: 15m}
        - {repeat: 2}
      response-targets: {ack_within: {inside_hours: 1h, outside_hours: 4h, calendar: support}}

Each value is checked on its own here (a shift length, a handoff, a duration, a Slack id) and
kept in a normal form, so the diff compares like with like; what needs the rest of the file or
the database (a role, a person, a calendar, another rotation) is checked in `oncall_plan.py`.
`parse_every` and `parse_handoff` are the one reading of those texts, for both.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from ceres.core.durations import EXAMPLE, parse_duration
from ceres.core.errors import CeresError, Invalid
from ceres.core.hours import WEEKDAYS, validate_timezone
from ceres.playbook.spec_base import (
    MANY,
    NAMED,
    ONE,
    REPEAT,
    SHAPE_ERROR,
    STEP,
    Spec,
    kind_of,
    one_or_many,
    refuse,
    text,
)
from ceres.slack.services import check_channel_id

MAX_ROTATION_KEY = 60  # OnCallSchedule.key
WEEK_HOURS = 7 * 24
MAX_SHIFT_HOURS = 366 * 24  # the engine's limit: a year
MAX_WAIT_MINUTES = 24 * 60
MAX_ACK_MINUTES = 7 * 24 * 60
MAX_REPEAT = 10
VIAS = ("slack", "sms", "email")
ALWAYS = "always"  # `hours: always`: no restriction, 24/7
EVERY_EXAMPLE = "a shift length such as 1w, 2w, 1d or 12h"
HANDOFF_EXAMPLE = "'mon 09:00 America/Chicago' (weekly) or '09:00 America/Chicago' (daily)"

_ROTATION_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EVERY = re.compile(r"^([0-9]+)(w|d|h|m)$")
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_SLACK_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_DAY_NAMES = {day: i for i, day in enumerate(WEEKDAYS)} | {
    name: i
    for i, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


# --- the texts: every, handoff ---------------------------------------------------------------


def parse_every(value: str) -> int:
    """A shift length in hours: `1w` is 168, `1d` 24, `12h` 12. At least an hour, at most a
    year (the engine's bounds)."""
    match = _EVERY.match(value.strip().lower())
    if match is None:
        raise Invalid(
            f"{value!r} is not {EVERY_EXAMPLE}: a whole number with w (weeks), d (days) or "
            "h (hours)",
            field="every",
        )
    number, unit = int(match[1]), match[2]
    if unit == "m" or number == 0:
        raise Invalid(f"{value!r}: a shift lasts at least an hour (1h)", field="every")
    hours = number * {"w": WEEK_HOURS, "d": 24, "h": 1}[unit]
    if hours > MAX_SHIFT_HOURS:
        raise Invalid(f"{value!r}: a shift lasts at most a year (366d)", field="every")
    return hours


def format_every(hours: int) -> str:
    """The shortest text `parse_every` reads back as `hours`."""
    if hours % WEEK_HOURS == 0:
        return f"{hours // WEEK_HOURS}w"
    if hours % 24 == 0:
        return f"{hours // 24}d"
    return f"{hours}h"


@dataclass(frozen=True)
class Handoff:
    """When a turn begins: a weekday (0 is Monday; None: every day), a wall-clock time and the
    time zone of both."""

    weekday: int | None
    at: datetime.time
    timezone: str

    def __str__(self) -> str:
        day = f"{WEEKDAYS[self.weekday]} " if self.weekday is not None else ""
        return f"{day}{self.at:%H:%M} {self.timezone}"


def parse_handoff(value: str) -> Handoff:
    """`mon 09:00 America/Chicago` or `09:00 America/Chicago`; the weekday is any of mon … sun
    (or the day's full name)."""
    parts = value.split()

    def refused(why: str) -> Invalid:
        return Invalid(
            f"{value!r} is not a handoff such as {HANDOFF_EXAMPLE}: {why}", field="handoff"
        )

    if not 2 <= len(parts) <= 3:
        raise refused("the weekday (weekly only), the time and the time zone, with spaces")
    weekday: int | None = None
    if len(parts) == 3 or not _CLOCK.match(parts[0]):
        day = parts[0].lower()
        if day not in _DAY_NAMES:
            raise refused(f"{parts[0]!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
        weekday = _DAY_NAMES[day]
        parts = parts[1:]
    clock = _CLOCK.match(parts[0])
    if clock is None:
        raise refused(f"{parts[0]!r} is not a time of day as HH:MM (24-hour clock)")
    if len(parts) < 2:
        raise refused("name the time zone, e.g. America/Chicago")
    try:
        zone = validate_timezone(parts[1], field="handoff")
    except Invalid as exc:
        message = f"{exc.message}, e.g. America/Chicago or Europe/Berlin"
        raise Invalid(message, field="handoff") from exc
    return Handoff(weekday, datetime.time(int(clock[1]), int(clock[2])), zone)


# --- validators ------------------------------------------------------------------------------


def _parsed(parse: Callable[[str], object], expected: str) -> Callable[[Any], str]:
    """Check a text with `parse` and keep it in the form `parse` gives back (`str()` of it)."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            got = f"the number {value}" if isinstance(value, int | float) else kind_of(value)
            raise refuse(f"expected {expected}, got {got}")
        try:
            parsed = parse(value)
        except CeresError as exc:
            raise refuse(exc.message) from None
        return format_every(parsed) if isinstance(parsed, int) else str(parsed)

    return check


def _minutes(most: int) -> Callable[[Any], int]:
    """A duration (`15m`, `4h`, `1h30m`) as whole minutes, from a minute to `most`."""

    def check(value: Any) -> int:
        if not isinstance(value, str):
            got = f"the number {value}" if isinstance(value, int | float) else kind_of(value)
            raise refuse(f"expected {EXAMPLE} (with its unit), got {got}")
        try:
            seconds = parse_duration(value, field="duration")
        except Invalid as exc:
            raise refuse(exc.message) from None
        if seconds > most * 60:
            hours = most // 60
            limit = f"{hours // 24}d" if hours % 24 == 0 and hours >= 48 else f"{hours}h"
            raise refuse(f"{value!r} is longer than {limit}, the most it may be here")
        return seconds // 60

    return check


def key_problem(value: str, *, what: str, example: str) -> str:
    """Why `value` cannot be the key of a schedule or a chain ("" when it can)."""
    if _ROTATION_KEY.match(value) and len(value) <= MAX_ROTATION_KEY:
        return ""
    return (
        f"{value!r} is not {what}: lower-case letters, digits and dashes "
        f"(at most {MAX_ROTATION_KEY} characters), e.g. {example!r}"
    )


def _rotation_key(value: str) -> str:
    why = key_problem(value, what="a rotation's name", example="developer-on-call")
    if why:
        raise refuse(why)
    return value


def _slack_alias(value: str) -> str:
    handle = value.strip().removeprefix("@")
    if not _SLACK_HANDLE.match(handle) or len(handle) > 80:
        raise refuse(
            f"{value!r} is not a Slack user group's handle: lower-case letters, digits, dashes, "
            "dots and underscores, e.g. oncall for @oncall"
        )
    return handle


def _channel(value: str) -> str:
    try:
        return check_channel_id(value)
    except CeresError as exc:
        raise refuse(f"{value!r} is not {exc.message}") from None


def _via(value: str) -> str:
    if value not in VIAS:
        raise refuse(f"unknown way to notify {value!r}; use {', '.join(VIAS)}")
    return value


def _repeat(value: int) -> int:
    if not 0 <= value <= MAX_REPEAT:
        raise refuse(f"must be 0 to {MAX_REPEAT} (times the chain runs again), got {value}")
    return value


RotationKey = Annotated[str, AfterValidator(_rotation_key)]
Every = Annotated[str, BeforeValidator(_parsed(parse_every, EVERY_EXAMPLE))]
HandoffText = Annotated[
    str, BeforeValidator(_parsed(parse_handoff, f"a handoff such as {HANDOFF_EXAMPLE}"))
]
Channel = Annotated[str, AfterValidator(_channel)]
Wait = Annotated[int, BeforeValidator(_minutes(MAX_WAIT_MINUTES))]
AckMinutes = Annotated[int, BeforeValidator(_minutes(MAX_ACK_MINUTES))]
Repeat = Annotated[int, AfterValidator(_repeat)]


# --- rotations -------------------------------------------------------------------------------


class TurnsSpec(Spec):
    """Who takes turns, how long each turn is, when it changes hands, and in which hours."""

    people: list[str] | None = None  # role keys, people's names or e-mail addresses
    every: Every | None = None
    handoff: HandoffText | None = None
    hours: str | None = None  # `always` or a business calendar's key


class LayerSpec(TurnsSpec):
    """A layer written out in `layers:`; or `rotation:` another rotation, maybe with other
    `hours`."""

    rotation: RotationKey | None = None


def _layer_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return NAMED
    return ONE if isinstance(value, dict) else None


Layer = Annotated[
    Annotated[LayerSpec, Tag(ONE)] | Annotated[RotationKey, Tag(NAMED)],
    Discriminator(
        _layer_kind,
        custom_error_type=SHAPE_ERROR,
        custom_error_message="expected a rotation's name or a layer (people, every, handoff, "
        "hours)",
    ),
]


class RotationSpec(TurnsSpec):
    """One schedule: one layer (`people`, `every`, `handoff`, `hours`) or several (`layers`)."""

    layers: list[Layer] | None = None
    name: Annotated[str, AfterValidator(text(200))] | None = None
    description: str | None = None
    slack_alias: Annotated[str, AfterValidator(_slack_alias)] | None = None
    channel: Channel | None = None


# --- escalation chains -----------------------------------------------------------------------


class NotifySpec(Spec):
    rotation: RotationKey | None = None
    person: str | None = None
    people: list[str] | None = None
    role: str | None = None


Vias = Annotated[
    Annotated[Annotated[str, AfterValidator(_via)], Tag(ONE)]
    | Annotated[list[Annotated[str, AfterValidator(_via)]], Tag(MANY)],
    one_or_many(str, "expected slack, sms or email, or a list of them"),
]


class ChainStepSpec(Spec):
    notify: NotifySpec
    via: Vias | None = None  # left out: slack
    wait: Wait
    outage_issue: bool = False


class RepeatSpec(Spec):
    repeat: Repeat


def _chain_item_kind(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return REPEAT if "repeat" in value else STEP


ChainItem = Annotated[
    Annotated[ChainStepSpec, Tag(STEP)] | Annotated[RepeatSpec, Tag(REPEAT)],
    Discriminator(
        _chain_item_kind,
        custom_error_type=SHAPE_ERROR,
        custom_error_message="expected a step {notify, via, wait} or {repeat: N}",
    ),
]


class AckWithinSpec(Spec):
    inside_hours: AckMinutes
    outside_hours: AckMinutes
    calendar: str


class ResponseTargetsSpec(Spec):
    ack_within: AckWithinSpec


class ChainSpec(Spec):
    """A chain written as a mapping (its steps under `steps`)."""

    steps: list[ChainStepSpec]
    name: Annotated[str, AfterValidator(text(200))] | None = None
    repeat: Repeat = 0
    channel: Channel | None = None
    ack_timeout: AckMinutes | None = None
    response_targets: ResponseTargetsSpec | None = None


Chain = Annotated[
    Annotated[ChainSpec, Tag(ONE)] | Annotated[list[ChainItem], Tag(MANY)],
    one_or_many(dict, "expected a chain: a list of steps, or a mapping with steps"),
]


class EscalationChainsSpec(Spec):
    """Chains by name, and (as the playbook sketch writes it) `response-targets` beside them:
    the targets of every chain that does not set its own."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, populate_by_name=True)

    __pydantic_extra__: dict[str, Chain] = Field(init=False)
    response_targets: ResponseTargetsSpec | None = Field(default=None, alias="response-targets")

    # What the keys besides `response-targets` hold, for `shape.py` to name an unknown field.
    ITEMS: ClassVar[object] = Chain

    def chains(self) -> dict[str, ChainSpec | list[ChainStepSpec | RepeatSpec]]:
        return dict(self.model_extra or {})
