"""One change a playbook makes, and the plan that lists them: what a person reads in the diff,
and the keyword arguments of the service call that makes the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ceres.playbook.errors import DocPath, Problem

Kind = Literal[
    "organization",
    "role",
    "person",
    "product",
    "checklist",
    "calendar",
    "sla_policy",
    "saved_reply",
    "automation",
    "community_channel",
    "tracker",
    "bug_workflow",
    "rotation",
    "escalation_chain",
]


@dataclass(frozen=True)
class Change:
    kind: Kind
    key: str  # what identifies the thing: a role key, an e-mail address, a product key
    path: DocPath  # where it is written in the playbook
    created: bool
    summary: str = ""  # for a new thing: its name
    fields: tuple[tuple[str, Any, Any], ...] = ()  # (playbook field, before, after)
    # Keyword arguments of the service call that makes the change.
    values: dict[str, Any] = field(default_factory=dict, compare=False)
    # How the changed fields read, when the stored values do not show well (a rule list, a body).
    shown: tuple[str, ...] = ()

    def describe(self) -> str:
        what = f"{self.kind} {self.key}" if self.key else self.kind
        if self.created:
            return f"+ {what}: {self.summary}"
        parts = list(self.shown) or [
            describe_field(name, before, after) for name, before, after in self.fields
        ]
        return f"~ {what}: " + "; ".join(parts)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def add(self, change: Change | None) -> None:
        """A change, or None for an entry of the file that already matches the database."""
        if change is None:
            self.unchanged += 1
        else:
            self.changes.append(change)

    def keep(self, kind: str, keys: list[str]) -> None:
        self.kept += [f"  {kind} {key}: not in playbook, kept" for key in keys]


def show(value: Any) -> str:
    if value is None or value == "" or value == {}:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{day} {' '.join(spans) or 'closed'}" for day, spans in value.items())
    text = str(value)
    return repr(text) if " " in text else text


def describe_field(name: str, before: Any, after: Any) -> str:
    if name == "permissions":
        added = [f"+{p}" for p in sorted(set(after) - set(before))]
        removed = [f"-{p}" for p in sorted(set(before) - set(after))]
        return "permissions " + " ".join(added + removed)
    if name == "steps":
        if len(before) == len(after):
            return f"steps: wording or nesting of the {len(after)} steps"
        return f"steps: {len(before)} -> {len(after)} steps"
    return f"{name} {show(before)} -> {show(after)}"


def compare(pairs: dict[str, tuple[Any, Any]]) -> tuple[tuple[str, Any, Any], ...]:
    return tuple((name, old, new) for name, (old, new) in pairs.items() if old != new)
