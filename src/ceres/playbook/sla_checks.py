"""Checks of the sections that set up conversations: `calendars`, `sla_policies`,
`saved_replies`.

A calendar is checked by `Calendar.from_spec` itself, so the playbook accepts exactly what the
business-time engine runs; its refusal names a spec field (`hours`, `holidays.country`, …) and
`_calendar_problem` turns that into the path of the key at fault (the weekday of an overlapping
window, the date that is not a date), so the error names its line.

An SLA policy is checked here for everything `sla.policies.validate_policy` would refuse, and for
what it would accept but could not mean: a rule that can never apply, a target that starts no
clock for part of the day, a policy after a match-all one, `1d` of business time.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any

from ceres.conversations.models import Conversation
from ceres.conversations.services import variables_of
from ceres.core.businesstime import Calendar
from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS
from ceres.playbook.checks import known_role_keys
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.schema import TARGETS, PlaybookSpec, RuleSpec, SlaPolicySpec
from ceres.playbook.state import State
from ceres.sla.policies import CHANNEL_KINDS, rule_order_problems

PAUSE_STATUSES = tuple(
    status
    for status in Conversation.Status.values
    if status not in (Conversation.Status.OPEN, Conversation.Status.CLOSED)
)
_CATEGORY = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
_BRACES = re.compile(r"\{\{.*?\}\}")
_UNCLOSED = re.compile(r"\{\{\S*")
_YAML_BOOLEAN = "; YAML reads yes/no/on/off and NO as true/false: put the text in quotes"


# --- calendars -------------------------------------------------------------------------------


def _date_text(entry: Any) -> str:
    value = entry.get("date") if isinstance(entry, dict) else entry
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _calendar_problem(path: DocPath, spec: Any, exc: Invalid) -> Problem:
    """`Calendar.from_spec`'s refusal at the key it is about (see the module doc)."""
    message = exc.message
    if exc.field == "__all__" or not isinstance(spec, dict):
        return Problem(path, message)
    parts: DocPath = tuple(exc.field.split("."))
    top = str(parts[0])
    value = spec.get(top)
    if top == "timezone" and isinstance(value, str):
        message += ", e.g. America/Chicago or Europe/Berlin"
    if top == "hours" and isinstance(value, dict):
        for day in value:
            if message.startswith(f"{day}: "):
                return Problem((*path, "hours", day), message.removeprefix(f"{day}: "))
            if day not in WEEKDAYS and repr(day) in message:
                return Problem((*path, "hours", day), message)
    if top in ("closed", "open") and isinstance(value, list):
        found: Problem | None = None
        for i, entry in enumerate(value):
            text = _date_text(entry)
            if message.startswith(f"{text}: ") and isinstance(entry, dict) and "hours" in entry:
                found = Problem((*path, top, i, "hours"), message.removeprefix(f"{text}: "))
            elif message.startswith((f"{text} ", f"{text}: ", f"{text!r} ", f"{entry!r}:")):
                found = Problem((*path, top, i), message)  # the last one: "listed twice"
        if found is not None:
            return found
    if top == "holidays" and isinstance(value, dict):
        unknown = [key for key in value if key not in ("country", "subdivision")]
        if len(parts) == 1 and unknown:
            return Problem((*path, top, unknown[0]), message)
        if len(parts) == 2 and isinstance(value.get(str(parts[1])), bool):
            message += _YAML_BOOLEAN
    return Problem((*path, *parts), message)


def calendar_problems(path: DocPath, spec: Any) -> list[Problem]:
    try:
        Calendar.from_spec(spec)
    except Invalid as exc:
        return [_calendar_problem(path, spec, exc)]
    return []


def _calendars(spec: PlaybookSpec) -> list[Problem]:
    problems = []
    for key, calendar in (spec.calendars or {}).items():
        problems += calendar_problems(("calendars", key), calendar)
    return problems


# --- SLA policies ----------------------------------------------------------------------------


def each(path: DocPath, value: Any) -> Iterator[tuple[DocPath, Any]]:
    """The items of a one-or-many value, each with its own path."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield (*path, i), item
    else:
        yield path, value


def _known(values: list[str], what: str) -> str:
    return f"{what}: {', '.join(values)}" if values else f"no {what} defined"


class _PolicyChecks:
    def __init__(self, spec: PlaybookSpec, state: State) -> None:
        self.calendars = list(dict.fromkeys([*(spec.calendars or {}), *state.calendars]))
        products = [p.key for p in spec.products or []]
        self.tiers = products + [key for key in state.products if key not in products]
        self.roles = known_role_keys(spec, state)
        self.problems: list[Problem] = []

    def problem(self, path: DocPath, message: str, see: DocPath | None = None) -> None:
        self.problems.append(Problem(path, message, see=see))

    def policy(self, path: DocPath, policy: SlaPolicySpec) -> None:
        self.match(path, policy)
        targets = [t for t in TARGETS if getattr(policy, t) is not None]
        if not targets:
            self.problem(path, f"needs at least one target: {', '.join(TARGETS)}")
        for target in targets:
            self.rules((*path, target), getattr(policy, target))
        for i, status in enumerate(policy.pause_on):
            if status not in PAUSE_STATUSES:
                self.problem(
                    (*path, "pause_on", i),
                    f"unknown status {status!r}; a clock can pause on {', '.join(PAUSE_STATUSES)}",
                )
        if policy.escalate_to is not None and policy.escalate_to not in self.roles:
            self.problem(
                (*path, "escalate_to"),
                f"unknown role {policy.escalate_to!r}; {_known(self.roles, 'known roles')}",
            )

    def match(self, path: DocPath, policy: SlaPolicySpec) -> None:
        allowed = {
            "source": (list(Conversation.Source.values), "source", "use"),
            "tier": (self.tiers, "tier", "product keys:"),
            "priority": (list(Conversation.Priority.values), "priority", "use"),
            "channel_kind": (list(CHANNEL_KINDS), "channel kind", "use"),
        }
        for key, value in policy.match:
            if value is None:
                continue
            where: DocPath = (*path, "match", key)
            if value == []:
                self.problem(where, "must list at least one value (leave it out to match any)")
            for item_path, item in each(where, value):
                if key == "category":
                    if not _CATEGORY.match(item):
                        self.problem(
                            item_path,
                            f"{item!r} is not a category: letters, digits, dashes and "
                            "underscores (e.g. job-application)",
                        )
                    continue
                if key not in allowed:
                    continue
                options, what, lead = allowed[key]
                if item not in options:
                    listed = ", ".join(options) if options else "none defined"
                    self.problem(item_path, f"unknown {what} {item!r}; {lead} {listed}")

    def rules(self, path: DocPath, value: RuleSpec | list[RuleSpec]) -> None:
        rules = list(each(path, value))
        if not rules:
            self.problem(path, "needs at least one rule")
            return
        problems_before = len(self.problems)
        order = rule_order_problems([(rule.when, rule.calendar) for _, rule in rules])
        for i, (rule_path, rule) in enumerate(rules):
            self.rule(rule_path, rule)
            for found in order:
                if found.index == i:
                    see = rules[found.see][0] if found.see is not None else None
                    self.problem(rule_path, found.message, see=see)
        whole = [found for found in order if found.index is None]
        if whole and len(self.problems) == problems_before:
            self.problem(path, whole[0].message)

    def rule(self, path: DocPath, rule: RuleSpec) -> None:
        if rule.calendar is None and rule.when != "always":
            self.problem((*path, "calendar"), f"is required with when: {rule.when} (whose hours?)")
        elif rule.calendar is None and rule.clock == "business":
            self.problem(
                (*path, "calendar"), "is required with clock: business (whose business hours?)"
            )
        elif rule.calendar is not None and rule.calendar not in self.calendars:
            known = _known(self.calendars, "known calendars")
            self.problem((*path, "calendar"), f"unknown calendar {rule.calendar!r}; {known}")
        if rule.clock == "business" and "d" in rule.within:
            self.problem(
                (*path, "within"),
                f"{rule.within!r} with clock: business would be 24 business hours a day "
                "(three 8-hour working days); write business hours, e.g. 8h for one "
                "09:00-17:00 day",
            )


def _duplicates(spec: PlaybookSpec) -> list[Problem]:
    problems = []
    first: dict[str, int] = {}
    for i, policy in enumerate(spec.sla_policies or []):
        seen = first.setdefault(policy.name, i)
        if seen != i:
            problems.append(
                Problem(
                    ("sla_policies", i, "name"),
                    f"policy name {policy.name!r} is used twice",
                    see=("sla_policies", seen),
                )
            )
    return problems


def _unreachable(spec: PlaybookSpec) -> list[Problem]:
    """Policies are tried in order: one after a policy that matches everything never applies."""
    policies = spec.sla_policies or []
    catch_all = next((i for i, p in enumerate(policies) if not any(v for _, v in p.match)), None)
    if catch_all is None:
        return []
    return [
        Problem(
            ("sla_policies", i),
            f"never applies: policy {policies[catch_all].name!r} before it matches every "
            "conversation (the first match wins; put the default last)",
            see=("sla_policies", catch_all),
        )
        for i in range(catch_all + 1, len(policies))
    ]


def _policies(spec: PlaybookSpec, state: State) -> list[Problem]:
    checks = _PolicyChecks(spec, state)
    for i, policy in enumerate(spec.sla_policies or []):
        checks.policy(("sla_policies", i), policy)
    return _duplicates(spec) + _unreachable(spec) + checks.problems


# --- saved replies ---------------------------------------------------------------------------


def _variables(path: DocPath, text: str) -> list[Problem]:
    """A {{variable}} the conversations service would not fill goes out as written: refuse it."""
    problems = []
    for written in _BRACES.findall(text):
        if not variables_of(written):
            problems.append(
                Problem(
                    path,
                    f"{written!r} is not a variable: use lower-case letters, digits and "
                    "underscores, e.g. {{position_title}}",
                )
            )
    unclosed = _UNCLOSED.search(_BRACES.sub("", text))
    if unclosed is not None:
        problems.append(
            Problem(
                path,
                f"{unclosed[0]!r} is not closed; a variable is written {{{{position_title}}}}",
            )
        )
    return problems


def _saved_replies(spec: PlaybookSpec) -> list[Problem]:
    problems = []
    for key, reply in (spec.saved_replies or {}).items():
        problems += _variables(("saved_replies", key, "subject"), reply.subject)
        problems += _variables(("saved_replies", key, "body"), reply.body)
    return problems


def check(spec: PlaybookSpec, state: State) -> list[Problem]:
    return _calendars(spec) + _policies(spec, state) + _saved_replies(spec)
