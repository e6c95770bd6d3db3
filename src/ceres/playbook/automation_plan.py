"""The playbook's `automations` section: its shape, its checks and its diff.

    automations:
      - name: after-hours-customer-slack
        on: message_received
        if: {author: not_team, outside_hours: support, channel_kind: customer}
        then:
          - reply_in_thread: after-hours-notice
        on_button:
          emergency:
            options: [P0, P1]
            then: [{text: {role: vp-cs}}, {set_priority: from_button}]

A rule is checked by `automations.rules.check_rule`, the same check the service makes, against
the calendars, saved replies and roles of the file and of the database; its refusal is pointed at
the key it is about. Rules run in the order they are written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from ceres.automations.models import AutomationRule
from ceres.automations.rules import check_rule
from ceres.core.errors import Invalid
from ceres.oncall.models import EscalationPolicy, OnCallSchedule
from ceres.playbook import shape
from ceres.playbook.changes import Change, Plan, compare
from ceres.playbook.errors import DocPath, PlaybookError, Problem
from ceres.playbook.loader import Document, load
from ceres.playbook.schema import AutomationSpec, PlaybookSpec


@dataclass(frozen=True)
class StoredAutomation:
    key: str
    values: dict[str, Any]


FIELDS = (
    "name",
    "position",
    "enabled",
    "trigger",
    "conditions",
    "actions",
    "buttons",
    "schedule",
)


def stored(rule: AutomationRule) -> StoredAutomation:
    return StoredAutomation(rule.key, {name: getattr(rule, name) for name in FIELDS})


def values_of(position: int, rule: AutomationSpec) -> dict[str, Any]:
    """The keyword arguments of `automations.services.save_rule`."""
    return {
        "key": rule.name,
        "name": rule.label or "",
        "position": position,
        "enabled": rule.enabled,
        "trigger": rule.on,
        "conditions": dict(rule.if_),
        "actions": [dict(action) for action in rule.then],
        "buttons": {
            name: {"options": list(button.options), "actions": [dict(a) for a in button.then]}
            for name, button in (rule.on_button or {}).items()
        },
        "schedule": dict(rule.every or {}),
    }


def _show(value: Any) -> str:
    """A condition set or an action list as compact JSON: what the playbook says, in one line."""
    if isinstance(value, dict | list):
        # Keys sorted: PostgreSQL's jsonb keeps them in its own order, not the file's.
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)
    return str(value)


def _path_of(path: DocPath, rule: AutomationSpec, field: str) -> DocPath:
    """A refusal's field ("conditions.author", "actions.page", "buttons.emergency") as the key
    of the playbook it is about."""
    head, _, rest = field.partition(".")
    if head == "trigger":
        return (*path, "on")
    if head == "schedule":
        return (*path, "every", *([rest] if rest else []))
    if head == "conditions":
        return (*path, "if", *([rest] if rest else []))
    if head == "actions":
        for i, action in enumerate(rule.then):
            if rest and rest in action:
                return (*path, "then", i, rest)
        return (*path, "then")
    if head == "buttons":
        name = rest.split(".")[0]
        return (*path, "on_button", *([name] if name else []))
    return path


def check(spec: PlaybookSpec, state: Any) -> list[Problem]:
    rules = spec.automations or []
    calendars = set(spec.calendars or {}) | set(state.calendars)
    replies = set(spec.saved_replies or {}) | set(state.saved_replies)
    roles = {role.key for role in spec.roles or []} | set(state.roles)
    pages = set(spec.rotations or {}) | set(
        spec.escalation_chains.chains() if spec.escalation_chains else {}
    )
    pages |= set(OnCallSchedule.objects.values_list("key", flat=True))
    pages |= set(EscalationPolicy.objects.values_list("key", flat=True))
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, rule in enumerate(rules):
        path: DocPath = ("automations", i)
        seen = first.setdefault(rule.name, i)
        if seen != i:
            problems.append(
                Problem(
                    (*path, "name"),
                    f"rule name {rule.name!r} is used twice",
                    see=("automations", seen),
                )
            )
            continue
        values = values_of(i, rule)
        try:
            check_rule(
                trigger=values["trigger"],
                conditions=values["conditions"],
                actions=values["actions"],
                buttons=values["buttons"],
                calendars=calendars,
                saved_replies=replies,
                roles=roles,
                schedule=values["schedule"],
                pages=pages,
            )
        except Invalid as exc:
            problems.append(Problem(_path_of(path, rule, exc.field), exc.message))
    return problems


def automations(spec: PlaybookSpec, state: Any, plan: Plan) -> None:
    rules = spec.automations
    kept: dict[str, StoredAutomation] = state.automations
    if rules is None:
        plan.keep("automation", list(kept))
        return
    for i, rule in enumerate(rules):
        values = values_of(i, rule)
        path: DocPath = ("automations", i)
        before = kept.get(rule.name)
        if before is None:
            summary = f"on {rule.on}, {len(rule.then)} action(s)"
            plan.add(Change("automation", rule.name, path, True, summary, (), values))
            continue
        fields = compare({name: (before.values[name], values[name]) for name in FIELDS})
        shown = tuple(f"{name} {_show(old)} -> {_show(new)}" for name, old, new in fields)
        change = Change("automation", rule.name, path, False, "", fields, values, shown)
        plan.add(change if fields else None)
    wanted = {rule.name for rule in rules}
    plan.keep("automation", [key for key in kept if key not in wanted])


# --- one rule as text (the rule editor of the automations pages) -----------------------------


def rule_as_text(rule: AutomationRule) -> str:
    """A stored rule as the playbook writes it, for the editor (and to copy into the file)."""
    data: dict[str, Any] = {"name": rule.key}
    if rule.name:
        data["label"] = rule.name
    data["on"] = rule.trigger
    if rule.schedule:
        data["every"] = rule.schedule
    if rule.conditions:
        data["if"] = rule.conditions
    data["then"] = rule.actions
    if rule.buttons:
        data["on_button"] = {
            name: {"options": button["options"], "then": button["actions"]}
            for name, button in rule.buttons.items()
        }
    if not rule.enabled:
        data["enabled"] = False
    text = str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=90))
    # PyYAML quotes `on` (a YAML 1.1 boolean); the playbook's loader reads every key as a name.
    return text.replace("\n'on':", "\non:")


def parse_rule_text(
    text: str, *, state: Any, position: int
) -> tuple[dict[str, Any] | None, list[str]]:
    """The keyword arguments of `save_rule` for one rule written as in the playbook, or the
    problems, each with its line and the key at fault ("line 4: if.outside_hours: unknown
    calendar 'mars'"). The same loader, shape and checks as `ceres apply`."""
    try:
        document = load(text, source=EDITOR_SOURCE)
    except PlaybookError as exc:
        return None, [_in_editor(error) for error in exc.errors]
    data = document.data
    if not isinstance(data, dict):
        return None, ["a rule is a mapping: name, on, if, then, on_button"]
    spec, problems = shape.parse({"version": 1, "automations": [data]})
    if spec is None or problems:
        return None, [_show_problem(problem, document) for problem in problems]
    rule = (spec.automations or [])[0]
    found = check(spec, state)
    if found:
        return None, [_show_problem(problem, document) for problem in found]
    return values_of(position, rule), []


EDITOR_SOURCE = "rule"


def _in_editor(error: str) -> str:
    """ "rule:4: if.x: message" as the editor says it: "line 4: if.x: message"."""
    return (
        "line " + error.removeprefix(f"{EDITOR_SOURCE}:")
        if error.startswith(f"{EDITOR_SOURCE}:")
        else error
    )


def _show_problem(problem: Problem, document: Document) -> str:
    path = problem.path[2:] if problem.path[:2] == ("automations", 0) else problem.path
    local = Problem(path, problem.message, line=problem.line)
    return _in_editor(document.locator.format(local))
