"""From loaded YAML data to a `PlaybookSpec`, or to problems that say what to write instead.

Sections that later versions of Ceres will read are refused by name rather than ignored: an
operator who writes SLA policies must not believe they are in force when nothing enforces them
(docs/playbook.md, "Sections not supported yet").
"""

from __future__ import annotations

import datetime
import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ceres.playbook.errors import DocPath, PathPart, Problem
from ceres.playbook.schema import PlaybookSpec
from ceres.playbook.spec_base import SHAPE_ERROR, TAGS

# Parts of the playbook sketch that Ceres does not run yet, with what brings them.
NOT_SUPPORTED_YET: dict[DocPath, str] = {
    ("rituals",): "rituals",
    ("onboarding",): "onboarding checklists",
}


def _not_supported_yet(data: dict[str, Any]) -> list[Problem]:
    problems = []
    for path, what in NOT_SUPPORTED_YET.items():
        *parents, name = path
        holder: Any = data
        for parent in parents:
            holder = holder.get(parent) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and name in holder:
            del holder[name]
            kind = "section" if not parents else "field"
            problems.append(
                Problem(
                    path,
                    f"{kind} {name!r} is not supported yet by this version of Ceres; "
                    f"remove it ({what} will be supported by a later release)",
                )
            )
    return problems


def describe(value: Any) -> str:
    """A value as an error message names it, with advice where YAML read it unexpectedly."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        word = "true" if value else "false"
        return f"{word} (YAML reads yes/no/on/off as true/false; put text in quotes)"
    if isinstance(value, int | float):
        return f"the number {value} (put it in quotes to make it text)"
    if isinstance(value, datetime.date):
        return f"the date {value} (put it in quotes to make it text)"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any, part: PathPart | None = None) -> Any:
    """Strip Annotated[...], `| None` and unions until a model or a container is left. Of a
    one-or-many union, the list when the path goes on with a list index, else the single one."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            lists = [a for a in options if get_origin(_unwrap(a)) is list]
            others = [a for a in options if a not in lists]
            # Of a name-or-mapping union (a layer), the mapping's model has the fields to list.
            models = [a for a in others if _is_model(_unwrap(a))]
            annotation = (
                lists if isinstance(part, int) and lists else models or others or options
            )[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _model_at(loc: DocPath) -> type[BaseModel] | None:
    """The model that holds the fields at `loc` (to list the fields an unknown one could be)."""
    current: Any = PlaybookSpec
    for part in loc:
        current = _unwrap(current, part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is not None:
                current = field.annotation
            elif hasattr(current, "ITEMS"):  # a mapping of entries by name (escalation chains)
                current = current.ITEMS
            else:
                return None
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_field(loc: DocPath) -> str:
    name = str(loc[-1])
    model = _model_at(loc[:-1])
    allowed = list(model.model_fields) if model is not None else []
    kind = "section" if len(loc) == 1 else "field"
    message = f"unknown {kind} {name!r}"
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    if allowed:
        message += f" ({kind}s here: {', '.join(allowed)})"
    return message


def _location(loc: tuple[PathPart, ...]) -> DocPath:
    """Pydantic's location as a path into the document: without the tags of one-or-many
    unions, and with a mapping key's own errors (`[key]`) on the key."""
    return tuple(part for part in loc if part not in (*TAGS, "[key]"))


def _problem(error: ErrorDetails) -> Problem:
    loc = _location(tuple(error["loc"]))
    kind = error["type"]
    value = error.get("input")
    if kind == SHAPE_ERROR:
        message = f"{error['msg']}, got {describe(value)}"
    elif kind == "playbook":
        message = str(error["ctx"]["message"]) if "ctx" in error else error["msg"]
    elif kind == "missing":
        message = "is required but missing"
    elif kind == "extra_forbidden":
        message = _unknown_field(loc)
    elif kind == "string_type":
        message = f"expected text, got {describe(value)}"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        message = f"expected a whole number, got {describe(value)}"
    elif kind == "bool_type":
        message = f"expected true or false, got {describe(value)}"
    elif kind == "list_type":
        message = f"expected a list, got {describe(value)}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        message = f"expected a mapping of fields (key: value), got {describe(value)}"
    else:
        message = error["msg"]
    return Problem(loc, message)


def parse(data: Any) -> tuple[PlaybookSpec | None, list[Problem]]:
    """The spec, or None and every problem of shape found (not just the first)."""
    if not isinstance(data, dict):
        return None, [Problem((), "a playbook is a mapping of sections: version, roles, …")]
    problems = _not_supported_yet(data)
    try:
        spec = PlaybookSpec.model_validate(data)
    except ValidationError as exc:
        return None, problems + [_problem(error) for error in exc.errors(include_url=False)]
    return (None if problems else spec), problems
