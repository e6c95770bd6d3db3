"""The shape of a playbook, as explicit pydantic models: every field listed, nothing extra.

These models check what one value can be on its own (a slug, an e-mail address, a time zone)
and normalise it the way the services store it, so the diff compares like with like. What
needs the whole document or the database (a role that exists, a login used twice) is checked in
`checks.py`.

Optional fields of a person are `None` when left out: the playbook then does not manage that
field and the stored value is kept (see docs/playbook.md, "What the playbook manages").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from ceres.core.errors import Invalid
from ceres.core.hours import validate_timezone

SUPPORTED_VERSION = 1

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,19}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _refuse(message: str) -> PydanticCustomError:
    # The message goes through the context so braces in it are never read as placeholders.
    return PydanticCustomError("playbook", "{message}", {"message": message})


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


def _text(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise _refuse("must not be empty")
        if len(value) > max_length:
            raise _refuse(f"must be at most {max_length} characters")
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


Key = Annotated[str, AfterValidator(_slug(50))]
Email = Annotated[str, AfterValidator(_email)]
Username = Annotated[str, AfterValidator(_username)]
GitHubLogin = Annotated[str, AfterValidator(_github_login)]
SlackUserId = Annotated[str, AfterValidator(_slack_user_id)]
Phone = Annotated[str, AfterValidator(_phone)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Version = Annotated[int, AfterValidator(_version)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OrganizationSpec(Spec):
    name: Annotated[str, AfterValidator(_text(200))]
    product_name: Annotated[str, AfterValidator(_text(100))]


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


class PlaybookSpec(Spec):
    version: Version
    organization: OrganizationSpec | None = None
    roles: list[RoleSpec] | None = None
    people: list[PersonSpec] | None = None
    products: list[ProductSpec] | None = None
    checklists: dict[str, ChecklistSpec] | None = None
