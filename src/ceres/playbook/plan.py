"""The diff between a checked playbook and the database, and the writes that would close it.

A `Change` (changes.py) carries both what a person reads (`describe()`) and the keyword
arguments of the service call that makes it, so the dry run prints exactly what the apply would
do. The sections of calendars, SLA policies and saved replies are planned in `sla_plan.py`; the
bug workflow and the tracker repositories in `tracker_plan.py`; rotations and escalation chains
in `oncall_plan.py`.
"""

from __future__ import annotations

from typing import Any

from ceres.core.hours import validate_weekly_hours
from ceres.playbook import automation_plan, channel_plan, oncall_plan, sla_plan, tracker_plan
from ceres.playbook.changes import Change, Plan, compare
from ceres.playbook.checks import new_username
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.schema import PersonSpec, PlaybookSpec, StepSpec
from ceres.playbook.state import State, StoredPerson
from ceres.team.permissions import ALL

__all__ = ["PLAYBOOK_FIELD", "Change", "Plan", "flatten_steps", "make_plan"]

# Person fields: playbook name -> name in the team services (and the Person model).
PERSON_FIELDS = {
    "name": "name",
    "role": "role",
    "github": "github_login",
    "slack": "slack_user_id",
    "phone": "phone",
    "timezone": "timezone",
    "working_hours": "working_hours",
    "withhold": "withheld_permissions",
    "active": "is_active",
}
PLAYBOOK_FIELD = {service: playbook for playbook, service in PERSON_FIELDS.items()}


def flatten_steps(steps: list[StepSpec], depth: int = 0) -> list[dict[str, Any]]:
    """Nested steps as the checklist template stores them: [{"text", "depth"?}, ...]."""
    flat: list[dict[str, Any]] = []
    for step in steps:
        flat.append({"text": step.text, "depth": depth} if depth else {"text": step.text})
        flat += flatten_steps(step.steps, depth + 1)
    return flat


def _hours(value: dict[str, Any] | None) -> dict[str, list[str]]:
    """Working hours as the team services store them ("09:00-17:00" becomes a list of one)."""
    return validate_weekly_hours(value or {})


def _step_tuples(steps: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(str(step.get("text", "")), int(step.get("depth", 0))) for step in steps]


class _Planner:
    def __init__(self, spec: PlaybookSpec, state: State) -> None:
        self.spec = spec
        self.state = state
        self.plan = Plan()

    def add(self, change: Change | None) -> None:
        self.plan.add(change)

    def keep(self, kind: str, keys: list[str]) -> None:
        self.plan.keep(kind, keys)

    def organization(self) -> None:
        wanted = self.spec.organization
        stored = self.state.organization
        if wanted is None:
            if stored is not None:
                self.plan.kept.append("  organization: not in playbook, kept")
            return
        values = {"name": wanted.name, "product_name": wanted.product_name}
        path: DocPath = ("organization",)
        if stored is None:
            summary = f"{wanted.name} (product {wanted.product_name})"
            self.add(Change("organization", "", path, True, summary, (), values))
            return
        fields = compare(
            {
                "name": (stored.name, wanted.name),
                "product_name": (stored.product_name, wanted.product_name),
            }
        )
        self.add(Change("organization", "", path, False, "", fields, values) if fields else None)

    def roles(self) -> None:
        roles = self.spec.roles
        if roles is None:
            self.keep("role", list(self.state.roles))
            return
        for position, role in enumerate(roles):
            wanted = self.state.permissions if ALL in role.permissions else role.permissions
            values = {
                "key": role.key,
                "name": role.name,
                "permission_names": role.permissions,
                "position": position,
            }
            path: DocPath = ("roles", position)
            stored = self.state.roles.get(role.key)
            if stored is None:
                self.add(Change("role", role.key, path, True, role.name, (), values))
                continue
            fields = compare(
                {
                    "name": (stored.name, role.name),
                    "position": (stored.position, position),
                    "permissions": (sorted(stored.permissions), sorted(set(wanted))),
                }
            )
            self.add(Change("role", role.key, path, False, "", fields, values) if fields else None)
        self.keep("role", [key for key in self.state.roles if key not in {r.key for r in roles}])

    def people(self) -> None:
        people = self.spec.people
        if people is None:
            self.keep("person", list(self.state.people))
            return
        for i, person in enumerate(people):
            stored = self.state.people.get(person.email)
            if stored is None:
                self.add(self._new_person(("people", i), person))
            else:
                self.add(self._changed_person(("people", i), person, stored))
        in_file = {p.email for p in people}
        self.keep("person", [email for email in self.state.people if email not in in_file])

    def _new_person(self, path: DocPath, person: PersonSpec) -> Change:
        values: dict[str, Any] = {
            "name": person.name,
            "email": person.email,
            "role": person.role,
            "username": new_username(person),
            "github_login": person.github or "",
            "slack_user_id": person.slack or "",
            "phone": person.phone or "",
            "timezone": person.timezone or "UTC",
            "working_hours": _hours(person.working_hours),
            "withheld_permissions": sorted(set(person.withhold or ())),
        }
        if person.active is False:
            values["is_active"] = False
        summary = f"{person.name} ({person.role})" + (
            "" if person.active is not False else ", inactive"
        )
        return Change("person", person.email, path, True, summary, (), values)

    def _changed_person(
        self, path: DocPath, person: PersonSpec, stored: StoredPerson
    ) -> Change | None:
        given = person.model_dump()
        if person.working_hours is not None:
            given["working_hours"] = _hours(person.working_hours)
        if person.withhold is not None:
            given["withhold"] = sorted(set(person.withhold))
        pairs = {
            name: (stored.fields[service_name], given[name])
            for name, service_name in PERSON_FIELDS.items()
            if given[name] is not None
        }
        if person.username is not None and person.username != stored.username:
            self.plan.warnings.append(
                Problem(
                    (*path, "username"),
                    f"kept {stored.username!r}: the playbook sets a username only when it "
                    "creates the person",
                )
            )
        fields = compare(pairs)
        if not fields:
            return None
        values = {PERSON_FIELDS[name]: after for name, _, after in fields}
        return Change("person", person.email, path, False, "", fields, values)

    def products(self) -> None:
        products = self.spec.products
        if products is None:
            self.keep("product", list(self.state.products))
            return
        for position, product in enumerate(products):
            values = {"key": product.key, "name": product.name, "position": position}
            path: DocPath = ("products", position)
            stored = self.state.products.get(product.key)
            if stored is None:
                self.add(Change("product", product.key, path, True, product.name, (), values))
                continue
            fields = compare(
                {"name": (stored.name, product.name), "position": (stored.position, position)}
            )
            change = Change("product", product.key, path, False, "", fields, values)
            self.add(change if fields else None)
        in_file = {p.key for p in products}
        self.keep("product", [key for key in self.state.products if key not in in_file])

    def checklists(self) -> None:
        checklists = self.spec.checklists
        if checklists is None:
            self.keep("checklist", list(self.state.checklists))
            return
        for key, checklist in checklists.items():
            steps = flatten_steps(checklist.steps)
            values = {"key": key, "name": checklist.name, "steps": steps}
            path: DocPath = ("checklists", key)
            stored = self.state.checklists.get(key)
            if stored is None:
                summary = f"{checklist.name} ({len(steps)} steps)"
                self.add(Change("checklist", key, path, True, summary, (), values))
                continue
            fields = compare({"name": (stored.name, checklist.name)})
            if _step_tuples(stored.steps) != _step_tuples(steps):
                fields += (("steps", stored.steps, steps),)
            self.add(Change("checklist", key, path, False, "", fields, values) if fields else None)
        self.keep("checklist", [key for key in self.state.checklists if key not in checklists])


def make_plan(spec: PlaybookSpec, state: State) -> Plan:
    """What applying `spec` would change, in the order the writes happen."""
    planner = _Planner(spec, state)
    planner.organization()
    planner.roles()
    planner.people()
    planner.products()
    planner.checklists()
    sla_plan.calendars(spec, state, planner.plan)
    sla_plan.sla_policies(spec, state, planner.plan)
    sla_plan.saved_replies(spec, state, planner.plan)
    # After people and calendars (layers name them), before automations (`page` names them).
    oncall_plan.plan(spec, state, planner.plan)
    automation_plan.automations(spec, state, planner.plan)
    channel_plan.channels(spec, state, planner.plan)
    tracker_plan.trackers(spec, state, planner.plan)
    tracker_plan.bug_workflow(spec, state, planner.plan)
    return planner.plan
