"""What the rotations and escalation chains of a playbook are compared with, and who they name.

`stored()` reads the on-call schedules and escalation policies as the diff needs them (like
`tracker_plan.stored`, read-only; every write goes through `ceres.oncall`'s services).

`Team` answers "who is this?" for the on-call sections the way the database will answer it once
the file is applied: the people of the file (with the role and `active` the file gives them)
and the people the database keeps, in the order of their ids, people new to the database last
in the file's order (the order they are created in). A reference is a role's key (everyone
active in it, by id), a person's e-mail address or a person's name (ignoring case).
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from typing import Any

from ceres.core.errors import Invalid
from ceres.oncall.models import EscalationPolicy, OnCallSchedule
from ceres.playbook.errors import DocPath
from ceres.team.models import Person


class AtPath(Invalid):
    """A refusal of a service while applying, pointed at a place inside the entry being applied
    (`("layers", 1, "people")`)."""

    def __init__(self, message: str, path: DocPath) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class StoredLayer:
    position: int
    people: tuple[int, ...]
    shift_length_hours: int
    start: datetime.datetime
    timezone: str
    restriction: str


@dataclass(frozen=True)
class StoredSchedule:
    key: str
    name: str
    description: str
    slack_usergroup_id: str
    slack_usergroup_handle: str
    handoff_channel: str
    layers: tuple[StoredLayer, ...]


@dataclass(frozen=True)
class StoredStep:
    schedule: str  # its key; "" for none
    people: tuple[int, ...]
    role: str
    via: tuple[str, ...]
    wait_minutes: int
    open_outage_issue: bool


@dataclass(frozen=True)
class StoredChain:
    key: str
    values: dict[str, Any]  # the fields of `policies.save_policy` but the steps
    steps: tuple[StoredStep, ...]


@dataclass(frozen=True)
class StoredPerson:
    id: int
    email: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True)
class StoredOncall:
    schedules: dict[str, StoredSchedule]
    chains: dict[str, StoredChain]
    people: tuple[StoredPerson, ...]  # by id

    def person_names(self) -> dict[int, str]:
        return {person.id: person.name for person in self.people}

    def person_emails(self) -> dict[int, str]:
        return {person.id: person.email for person in self.people}


CHAIN_FIELDS = (
    "name",
    "repeat",
    "alarm_channel",
    "ack_timeout_minutes",
    "target_calendar",
    "ack_within_inside_minutes",
    "ack_within_outside_minutes",
)


def stored() -> StoredOncall:
    schedules = {
        schedule.key: StoredSchedule(
            key=schedule.key,
            name=schedule.name,
            description=schedule.description,
            slack_usergroup_id=schedule.slack_usergroup_id,
            slack_usergroup_handle=schedule.slack_usergroup_handle,
            handoff_channel=schedule.handoff_channel,
            layers=tuple(
                StoredLayer(
                    position=layer.position,
                    people=tuple(int(pk) for pk in layer.people),
                    shift_length_hours=layer.shift_length_hours,
                    start=layer.start,
                    timezone=layer.timezone,
                    restriction=layer.restriction,
                )
                for layer in sorted(schedule.layers.all(), key=lambda layer: layer.position)
            ),
        )
        for schedule in OnCallSchedule.objects.order_by("key").prefetch_related("layers")
    }
    chains = {
        policy.key: StoredChain(
            key=policy.key,
            values={name: getattr(policy, name) for name in CHAIN_FIELDS},
            steps=tuple(
                StoredStep(
                    schedule=step.schedule.key if step.schedule is not None else "",
                    people=tuple(int(pk) for pk in step.people),
                    role=step.role,
                    via=tuple(step.via),
                    wait_minutes=step.wait_minutes,
                    open_outage_issue=step.open_outage_issue,
                )
                for step in sorted(policy.steps.all(), key=lambda step: step.position)
            ),
        )
        for policy in EscalationPolicy.objects.order_by("key").prefetch_related("steps__schedule")
    }
    people = tuple(
        StoredPerson(id=pk, email=email, name=name, role=role, active=active)
        for pk, email, name, role, active in Person.objects.order_by("id").values_list(
            "id", "email", "name", "role__key", "is_active"
        )
    )
    return StoredOncall(schedules=schedules, chains=chains, people=people)


# --- who is who, once the file is applied ----------------------------------------------------


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    role: str
    active: bool


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


class Team:
    """The team as the database will hold it after the apply (module docstring)."""

    def __init__(self, spec: Any, state: Any) -> None:
        kept: StoredOncall = state.oncall
        in_file = {person.email: person for person in spec.people or []}
        members: list[Member] = []
        for row in kept.people:
            person = in_file.pop(row.email, None)
            if person is None:
                members.append(Member(row.email, row.name, row.role, row.active))
            else:
                active = row.active if person.active is None else person.active
                members.append(Member(row.email, person.name, person.role, active))
        for person in in_file.values():  # new: created in the file's order, so ids follow it
            members.append(
                Member(person.email, person.name, person.role, person.active is not False)
            )
        self.members = members
        self.by_email = {member.email: member for member in members}
        self.roles = list(dict.fromkeys([*(role.key for role in spec.roles or []), *state.roles]))

    def role_members(self, role: str) -> list[Member]:
        return [member for member in self.members if member.role == role and member.active]

    def person(self, reference: str, *, or_role: bool = False) -> tuple[Member | None, str]:
        """The active person a reference names, or None and why not."""
        text = reference.strip()
        if "@" in text:
            found = [self.by_email[text.lower()]] if text.lower() in self.by_email else []
        else:
            found = [m for m in self.members if _fold(m.name) == _fold(text)]
        if not found:
            return None, self._unknown(text, or_role=or_role)
        if len(found) > 1:
            emails = ", ".join(member.email for member in found)
            return None, (
                f"{len(found)} people are named {text!r} ({emails}); write the e-mail address "
                "of the one you mean"
            )
        member = found[0]
        if not member.active:
            return None, f"{member.name} is not active (active: false), so cannot be on call"
        return member, ""

    def people(self, reference: str) -> tuple[list[Member], str]:
        """A role's active members (by id), or the one person a name or e-mail names."""
        if reference in self.roles:
            members = self.role_members(reference)
            if not members:
                return [], f"nobody active has the role {reference!r}"
            return members, ""
        member, why = self.person(reference, or_role=True)
        return ([member] if member is not None else []), why

    def _unknown(self, text: str, *, or_role: bool) -> str:
        choices = [member.name for member in self.members] + (self.roles if or_role else [])
        close = difflib.get_close_matches(text, choices, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if or_role:
            roles = ", ".join(self.roles) or "none defined"
            return (
                f"unknown role or person {text!r}{hint} (write a role's key: {roles}; or a "
                "person's name or e-mail address from people)"
            )
        return f"unknown person {text!r}{hint} (write a name or e-mail address from people)"
