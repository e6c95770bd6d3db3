"""What every part of the playbook's shape is built from: the base model, how a value is
refused with a message of our own, and the tags of unions told apart by their shape.

`schema.py` holds the sections of the team and the conversations, `oncall_schema.py` those of
on-call; both build on this module (so neither imports the other's models to define its own).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from pydantic import BaseModel, ConfigDict, Discriminator
from pydantic_core import PydanticCustomError

# Union tags: never a key a playbook can write at that place. `shape.py` drops them from an
# error's location when it names the field.
ONE, MANY = "<one>", "<many>"
NAMED, STEP, REPEAT = "<named>", "<step>", "<repeat>"
TAGS = (ONE, MANY, NAMED, STEP, REPEAT)
SHAPE_ERROR = "playbook_shape"  # an error whose message says what was expected


def refuse(message: str) -> PydanticCustomError:
    # The message goes through the context so braces in it are never read as placeholders.
    return PydanticCustomError("playbook", "{message}", {"message": message})


def text(max_length: int) -> Callable[[str], str]:
    """One line of text: blank space collapsed, not empty, at most `max_length`."""

    def check(value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise refuse("must not be empty")
        if len(value) > max_length:
            raise refuse(f"must be at most {max_length} characters")
        return value

    return check


def kind_of(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def one_or_many(single: type, expected: str) -> Discriminator:
    """Tells a single value (a `single`) from a list of them; anything else is refused as not
    the `expected` shape."""

    def which(value: Any) -> Hashable:
        if isinstance(value, list):
            return MANY
        return ONE if isinstance(value, single) else None

    # No error context: it would make the annotation unhashable, and `X | None` hashes it.
    return Discriminator(which, custom_error_type=SHAPE_ERROR, custom_error_message=expected)


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
