"""The shape of a playbook, as explicit pydantic models: every field listed, nothing extra.

These models check what one value can be on its own (a slug, an e-mail address, a time zone)
and normalise it the way the services store it, so the diff compares like with like. What
needs the whole document or the database (a role that exists, a login used twice) is checked in
`checks.py` and `sla_checks.py`.

Optional fields of a person are `None` when left out: the playbook then does not manage that
field and the stored value is kept (see docs/playbook.md, "What the playbook manages").

A value that may be written as one thing or as a list of them (an SLA target's rules, a match
value) is a union told apart by `_one_or_many`: its branches are tagged `<one>` / `<many>` so an
error's location says which shape was read, and `shape.py` drops the tag when it names the field.
The base model and those helpers are in `spec_base.py`; on-call's sections in `oncall_schema.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Tag

from ceres.conversations.services import MAX_BODY
from ceres.core.durations import EXAMPLE, parse_duration
from ceres.core.errors import Invalid
from ceres.core.hours import validate_timezone
from ceres.playbook.oncall_schema import EscalationChainsSpec, RotationKey, RotationSpec
from ceres.playbook.spec_base import MANY, ONE, Spec
from ceres.playbook.spec_base import kind_of as _kind_of
from ceres.playbook.spec_base import one_or_many as _one_or_many
from ceres.playbook.spec_base import refuse as _refuse
from ceres.playbook.spec_base import text as _text
from ceres.tracker.config import parse_tracker

SUPPORTED_VERSION = 1

# SLA targets in the order they are shown and stored.
TARGETS = ("first_response", "next_response", "resolution")
CLOCKS = ("business", "elapsed")
WHEN = ("always", "inside_hours", "outside_hours")
DEFAULT_PAUSE_ON = ("waiting_on_customer", "on_hold")
DEFAULT_WARN_AT = 0.75

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,19}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PERCENT = re.compile(r"^([0-9]{1,3}(?:\.[0-9]+)?) ?%$")
_CATEGORY = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")


def _version(value: int) -> int:
    if value != SUPPORTED_VERSION:
        raise _refuse(f"this Ceres reads playbook version {SUPPORTED_VERSION}, not {value}")
    return value


def _slug(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not _SLUG.match(value) or len(value) > max_length:
            raise _refuse(
                f"{value!r} is not a key: use lower-case letters, digits and dashes "
                f"(at most {max_length} characters), e.g. 'premium-mdm'"
            )
        return value

    return check


def _email(value: str) -> str:
    value = value.strip().lower()
    try:
        validate_email(value)
    except DjangoValidationError as exc:
        raise _refuse(f"{value!r} is not a valid e-mail address") from exc
    return value


def _username(value: str) -> str:
    value = value.strip()
    try:
        UnicodeUsernameValidator()(value)
    except DjangoValidationError as exc:
        raise _refuse(
            f"{value!r} is not a valid username: letters, digits and @ . + - _ only"
        ) from exc
    if len(value) > 150:
        raise _refuse("must be at most 150 characters")
    return value


def _github_login(value: str) -> str:
    value = value.strip().removeprefix("@")
    if value and not _GITHUB_LOGIN.match(value):
        raise _refuse(f"{value!r} is not a GitHub login (letters, digits, single dashes)")
    return value


def _slack_user_id(value: str) -> str:
    value = value.strip()
    if value and not _SLACK_USER_ID.match(value):
        raise _refuse(f"{value!r} is not a Slack user id; they look like U0123ABCD")
    return value


def _phone(value: str) -> str:
    value = value.strip()
    if value and not _E164.match(value):
        raise _refuse(f'{value!r} is not in E.164 form, e.g. "+15555550100"')
    return value


def _timezone(value: str) -> str:
    try:
        return validate_timezone(value.strip())
    except Invalid as exc:
        raise _refuse(f"{exc.message}, e.g. America/Chicago or Europe/Berlin") from exc


def _tracker(value: str) -> str:
    """`github:owner/name` or `builtin:name`; empty goes back to the server settings."""
    if not value.strip():
        return ""
    try:
        return str(parse_tracker(value))
    except Invalid as exc:
        raise _refuse(exc.message) from None


def _step_from_text(value: Any) -> Any:
    """A step is written as text, or as a mapping when it has steps of its own."""
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, dict):
        if "text" not in value and len(value) == 1 and isinstance(next(iter(value.values())), str):
            raise _refuse("this step reads as 'key: value'; put text that contains ': ' in quotes")
        return value
    raise _refuse(
        "a step is text, or a mapping with 'text' and 'steps' "
        "(put text that contains ': ' in quotes)"
    )


def _duration(value: Any) -> str:
    if not isinstance(value, str):
        got = f"the number {value}" if isinstance(value, int | float) else _kind_of(value)
        raise _refuse(f"expected {EXAMPLE} (with its unit), got {got}")
    try:
        parse_duration(value, field="within")
    except Invalid as exc:
        raise _refuse(exc.message) from None
    return value.strip()


def _percent(value: Any) -> float:
    """When a warning goes out, as a share of the target: 75% is 0.75."""
    text = value.strip() if isinstance(value, str) else None
    match = _PERCENT.match(text) if text else None
    if match is None:
        raise _refuse(f"expected a percentage such as 75%, got {value!r}")
    percent = float(match[1])
    if not 0 < percent < 100:
        raise _refuse(f"{value!r}: must be more than 0% and less than 100%")
    return percent / 100


def _one_of(options: tuple[str, ...], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in options:
            raise _refuse(f"unknown {what} {value!r}; use {', '.join(options)}")
        return value

    return check


def _category(value: str) -> str:
    if not _CATEGORY.match(value):
        raise _refuse(
            f"{value!r} is not a category: letters, digits, dashes and underscores, "
            "at most 60 characters (e.g. job-application)"
        )
    return value


def _template(max_length: int, *, one_line: bool) -> Callable[[str], str]:
    """Text of a saved reply, kept as the conversations service stores it."""

    def check(value: str) -> str:
        value = " ".join(value.split()) if one_line else value.replace("\x00", "").strip()
        if not value and not one_line:
            raise _refuse("must not be empty")
        if len(value) > max_length:
            raise _refuse(f"is {len(value)} characters; the limit is {max_length}")
        return value

    return check


def _reply_from_text(value: Any) -> Any:
    """A saved reply may be written as its body alone."""
    return {"body": value} if isinstance(value, str) else value


Key = Annotated[str, AfterValidator(_slug(50))]
Email = Annotated[str, AfterValidator(_email)]
Username = Annotated[str, AfterValidator(_username)]
GitHubLogin = Annotated[str, AfterValidator(_github_login)]
SlackUserId = Annotated[str, AfterValidator(_slack_user_id)]
Phone = Annotated[str, AfterValidator(_phone)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Version = Annotated[int, AfterValidator(_version)]


class OrganizationSpec(Spec):
    name: Annotated[str, AfterValidator(_text(200))]
    product_name: Annotated[str, AfterValidator(_text(100))]
    # The tracker's repositories (tracker_plan.py); left out: the stored one is kept.
    public_tracker: Annotated[str, AfterValidator(_tracker)] | None = None
    confidential_tracker: Annotated[str, AfterValidator(_tracker)] | None = None


class RoleSpec(Spec):
    key: Key
    name: Annotated[str, AfterValidator(_text(120))]
    permissions: list[str]


class PersonSpec(Spec):
    name: Annotated[str, AfterValidator(_text(200))]
    role: str
    email: Email
    username: Username | None = None
    github: GitHubLogin | None = None
    slack: SlackUserId | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    # Checked day by day in checks.py, so an error names the weekday's line.
    working_hours: dict[str, Any] | None = None
    # Permissions of the role this person does not get yet (e.g. a new support engineer
    # sees codenames only until onboarding is done).
    withhold: list[str] | None = None
    active: bool | None = None


class ProductSpec(Spec):
    key: Key
    name: Annotated[str, AfterValidator(_text(120))]


class StepSpec(Spec):
    text: Annotated[str, AfterValidator(_text(300))]
    steps: list[Step] = []


Step = Annotated[StepSpec, BeforeValidator(_step_from_text)]
StepSpec.model_rebuild()


class ChecklistSpec(Spec):
    name: Annotated[str, AfterValidator(_text(120))]
    steps: list[Step]


# Calendars are checked by `Calendar.from_spec` itself (sla_checks.py), so the playbook
# accepts exactly what the business-time engine does.
CalendarSpec = dict[str, Any]


class RuleSpec(Spec):
    """One rule of an SLA target: `within` on a `clock`, maybe only `when` inside or outside
    a calendar's hours. Which combinations make sense is checked in sla_checks.py."""

    within: Annotated[str, BeforeValidator(_duration)]
    clock: Annotated[str, AfterValidator(_one_of(CLOCKS, "clock"))]
    calendar: Key | None = None
    when: Annotated[str, AfterValidator(_one_of(WHEN, "condition"))] = "always"


Rules = Annotated[
    Annotated[RuleSpec, Tag(ONE)] | Annotated[list[RuleSpec], Tag(MANY)],
    _one_or_many(dict, "expected a rule (within, clock, calendar, when) or a list of rules"),
]
Values = Annotated[
    Annotated[str, Tag(ONE)] | Annotated[list[str], Tag(MANY)],
    _one_or_many(str, "expected text or a list of text"),
]


class MatchSpec(Spec):
    source: Values | None = None
    category: Values | None = None
    tier: Values | None = None
    priority: Values | None = None
    channel_kind: Values | None = None


class SlaPolicySpec(Spec):
    name: Key
    match: MatchSpec = MatchSpec()
    first_response: Rules | None = None
    next_response: Rules | None = None
    resolution: Rules | None = None
    pause_on: list[str] = list(DEFAULT_PAUSE_ON)
    warn_at: Annotated[float, BeforeValidator(_percent)] = DEFAULT_WARN_AT
    escalate_to: str | None = None


class SavedReplySpec(Spec):
    name: Annotated[str, AfterValidator(_text(120))] | None = None
    subject: Annotated[str, AfterValidator(_template(300, one_line=True))] = ""
    body: Annotated[str, AfterValidator(_template(MAX_BODY, one_line=False))]
    category: Annotated[str, AfterValidator(_category)] | None = None


SavedReply = Annotated[SavedReplySpec, BeforeValidator(_reply_from_text)]


class ButtonSpec(Spec):
    """A button of an automation's reply: the values it offers and what a press does."""

    options: list[str]
    then: list[dict[str, Any]]


class AutomationSpec(Spec):
    """An automation rule (checked in automation_plan.py with the service's own check)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    name: Key
    label: str | None = None
    on: str
    if_: dict[str, Any] = Field(default_factory=dict, alias="if")
    then: list[dict[str, Any]]
    on_button: dict[str, ButtonSpec] | None = None
    every: dict[str, Any] | None = None  # for `on: schedule`: days, at, timezone
    enabled: bool = True


class ChannelSpec(Spec):
    """A Slack channel Ceres listens to that is not a customer's (those are on their accounts).
    Only `community` for now: alarm and internal channels come with on-call (checked in
    channel_plan.py)."""

    slack: str
    kind: str
    name: str | None = None


class EscalateSpec(Spec):
    remove: list[str] | None = None
    add: list[str] | None = None


class AddLabelsSpec(Spec):
    add: list[str] | None = None


class StandupSpec(Spec):
    label: str | None = None
    remove_on_business_day: int | None = None
    calendar: str | None = None


class PlusLabelsSpec(Spec):
    prefix: str | None = None
    remove_when: str | None = None
    ignore_bots: list[str] | None = None


class FeatureRequestLabelsSpec(Spec):
    prioritized_label: str | None = None
    feedback_label: str | None = None


class BugWorkflowSpec(Spec):
    """The bug-report label workflow. Only the shape is checked here; the values (label names,
    the business day, labels named twice in ways that cannot work) are checked by the tracker's
    own reader, `tracker.workflow_spec.read_workflow` (tracker_plan.py). A field left out takes
    the handbook's default."""

    labels_on_file: list[str] | None = None
    escalate: EscalateSpec | None = None
    standup: StandupSpec | None = None
    reproduced: AddLabelsSpec | None = None
    not_reproduced: AddLabelsSpec | None = None
    plus_labels: PlusLabelsSpec | None = None
    customer_label_prefix: str | None = None
    feature_requests: FeatureRequestLabelsSpec | None = None


class PlaybookSpec(Spec):
    version: Version
    organization: OrganizationSpec | None = None
    roles: list[RoleSpec] | None = None
    people: list[PersonSpec] | None = None
    products: list[ProductSpec] | None = None
    checklists: dict[str, ChecklistSpec] | None = None
    calendars: dict[Key, CalendarSpec] | None = None
    sla_policies: list[SlaPolicySpec] | None = None
    saved_replies: dict[Key, SavedReply] | None = None
    automations: list[AutomationSpec] | None = None
    channels: list[ChannelSpec] | None = None
    bug_workflow: BugWorkflowSpec | None = None
    rotations: dict[RotationKey, RotationSpec] | None = None
    escalation_chains: EscalationChainsSpec | None = None
