"""The diff of the sections that set up conversations: calendars, SLA policies, saved replies.

Each is compared in the form its service stores: a calendar as `Calendar.to_spec()` (so
`hours: {mon: "09:00-17:00"}` and the list form are the same calendar), a policy's targets as
rules of seconds (`4h` is 14400), a saved reply's text trimmed. So an unchanged entry is
"unchanged" however it is written, and a changed one shows what it now means.
"""

from __future__ import annotations

from typing import Any

from ceres.conversations.services import variables_of
from ceres.core.businesstime import Calendar
from ceres.core.businesstime.spec import SPEC_KEYS
from ceres.core.durations import duration_seconds
from ceres.core.errors import Invalid
from ceres.playbook.changes import Change, Plan, compare, show
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.schema import (
    DEFAULT_PAUSE_ON,
    DEFAULT_WARN_AT,
    TARGETS,
    PlaybookSpec,
    RuleSpec,
    SavedReplySpec,
    SlaPolicySpec,
)
from ceres.playbook.sla_checks import each
from ceres.playbook.state import State, StoredPolicy, StoredSavedReply
from ceres.sla.display import show_hours, show_match, show_rules
from ceres.sla.policies import MATCH_KEYS

# --- calendars -------------------------------------------------------------------------------


def _normalized(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        return Calendar.from_spec(spec).to_spec()
    except Invalid:  # stored by an older Ceres with other rules: compare it as it is
        return spec


def _show_calendar_field(name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if name == "hours":
        return show_hours(value)
    if name == "holidays":
        subdivision = value.get("subdivision")
        return str(value["country"]) + (f"-{subdivision}" if subdivision else "")
    if name in ("closed", "open"):
        return ", ".join(
            entry if isinstance(entry, str) else f"{entry['date']} {' '.join(entry['hours'])}"
            for entry in value
        )
    return str(value)


def _calendar_summary(spec: dict[str, Any]) -> str:
    parts = [spec["timezone"], show_hours(spec["hours"])]
    if "holidays" in spec:
        parts.append(f"holidays {_show_calendar_field('holidays', spec['holidays'])}")
    for name in ("closed", "open"):
        if name in spec:
            parts.append(f"{name} {_show_calendar_field(name, spec[name])}")
    return "; ".join(parts)


def calendars(spec: PlaybookSpec, state: State, plan: Plan) -> None:
    wanted = spec.calendars
    if wanted is None:
        plan.keep("calendar", list(state.calendars))
        return
    for key, written in wanted.items():
        normalized = Calendar.from_spec(written).to_spec()
        values = {"key": key, "spec": normalized}
        path: DocPath = ("calendars", key)
        stored = state.calendars.get(key)
        if stored is None:
            plan.add(Change("calendar", key, path, True, _calendar_summary(normalized), (), values))
            continue
        before = _normalized(stored)
        fields = compare({name: (before.get(name), normalized.get(name)) for name in SPEC_KEYS})
        shown = tuple(
            f"{name} {_show_calendar_field(name, old)} -> {_show_calendar_field(name, new)}"
            for name, old, new in fields
        )
        plan.add(
            Change("calendar", key, path, False, "", fields, values, shown) if fields else None
        )
    plan.keep("calendar", [key for key in state.calendars if key not in wanted])


# --- SLA policies ----------------------------------------------------------------------------


def stored_rule(rule: RuleSpec) -> dict[str, Any]:
    """A rule as `SlaPolicy.targets` holds it (see sla/models.py)."""
    return {
        "when": rule.when,
        "calendar": rule.calendar,
        "within_seconds": duration_seconds(rule.within),
        "clock": rule.clock,
    }


def stored_targets(policy: SlaPolicySpec) -> dict[str, list[dict[str, Any]]]:
    return {
        target: [stored_rule(rule) for _, rule in each((), getattr(policy, target))]
        for target in TARGETS
        if getattr(policy, target) is not None
    }


def stored_match(policy: SlaPolicySpec) -> dict[str, list[str]]:
    match: dict[str, list[str]] = {}
    for key in MATCH_KEYS:
        value = getattr(policy.match, key)
        if value is not None:
            match[key] = list(dict.fromkeys([value] if isinstance(value, str) else value))
    return match


def _rule_as_stored(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule with the defaults the engine reads filled in, to compare like with like."""
    return {
        "when": rule.get("when", "always"),
        "calendar": rule.get("calendar"),
        "within_seconds": int(rule.get("within_seconds", 0)),
        "clock": rule.get("clock", "elapsed"),
    }


def _show_percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _policy_fields(position: int, policy: SlaPolicySpec) -> dict[str, Any]:
    """The policy in the terms the diff shows, from the file."""
    targets = stored_targets(policy)
    return {
        "position": position,
        "match": stored_match(policy),
        **{target: targets.get(target, []) for target in TARGETS},
        "pause_on": list(dict.fromkeys(policy.pause_on)),
        "warn_at": policy.warn_at,
        "escalate_to": policy.escalate_to or "",
    }


def _stored_fields(stored: StoredPolicy) -> dict[str, Any]:
    """The same, from the database."""
    return {
        "position": stored.position,
        "match": {key: list(values) for key, values in stored.match.items()},
        **{
            target: [_rule_as_stored(rule) for rule in stored.targets.get(target, [])]
            for target in TARGETS
        },
        "pause_on": list(stored.pause_on),
        "warn_at": stored.warn_at_fraction,
        "escalate_to": stored.escalate_to_role,
    }


def _same(name: str, old: Any, new: Any) -> bool:
    """Order does not matter within a match's values or among the statuses that pause."""
    if name == "match":
        return {k: sorted(v) for k, v in old.items()} == {k: sorted(v) for k, v in new.items()}
    if name == "pause_on":
        return sorted(old) == sorted(new)
    return bool(old == new)


def _show_policy_field(name: str, value: Any) -> str:
    if name == "match":
        return show_match(value)
    if name in TARGETS:
        return show_rules(value)
    if name == "pause_on":
        return ", ".join(value) or "(none)"
    if name == "warn_at":
        return _show_percent(value)
    return str(value) if value != "" else "(none)"


def _policy_summary(fields: dict[str, Any]) -> str:
    parts = [f"position {fields['position']}, match {show_match(fields['match'])}"]
    parts += [f"{t} {show_rules(fields[t])}" for t in TARGETS if fields[t]]
    defaults = {"pause_on": list(DEFAULT_PAUSE_ON), "warn_at": DEFAULT_WARN_AT, "escalate_to": ""}
    for name, default in defaults.items():
        if fields[name] != default:
            parts.append(f"{name} {_show_policy_field(name, fields[name])}")
    return "; ".join(parts)


def _kept_in_force(spec: PlaybookSpec, state: State) -> list[Problem]:
    """A policy left out of the file stays in the database, and so is still matched: say where
    it now stands among the file's policies."""
    in_file = [policy.name for policy in spec.sla_policies or []]
    order = sorted(
        [(position, name) for position, name in enumerate(in_file)]
        + [(p.position, p.key) for p in state.sla_policies.values() if p.key not in in_file]
    )
    warnings = []
    for index, (position, key) in enumerate(order):
        if key in in_file:
            continue
        where = f"after {order[index - 1][1]!r}" if index else "before all of them"
        warnings.append(
            Problem(
                ("sla_policies",),
                f"policy {key!r} is not in the playbook but is still in force: at position "
                f"{position}, it is tried {where}",
            )
        )
    return warnings


def sla_policies(spec: PlaybookSpec, state: State, plan: Plan) -> None:
    policies = spec.sla_policies
    if policies is None:
        plan.keep("sla_policy", list(state.sla_policies))
        return
    for position, policy in enumerate(policies):
        wanted = _policy_fields(position, policy)
        values = {
            "key": policy.name,
            "position": position,
            "match": wanted["match"],
            "targets": stored_targets(policy),
            "pause_on": wanted["pause_on"],
            "warn_at_fraction": policy.warn_at,
            "escalate_to_role": wanted["escalate_to"],
        }
        path: DocPath = ("sla_policies", position)
        stored = state.sla_policies.get(policy.name)
        if stored is None:
            summary = _policy_summary(wanted)
            plan.add(Change("sla_policy", policy.name, path, True, summary, (), values))
            continue
        before = _stored_fields(stored)
        fields = tuple(
            (name, before[name], new)
            for name, new in wanted.items()
            if not _same(name, before[name], new)
        )
        shown = tuple(
            f"{name} {_show_policy_field(name, old)} -> {_show_policy_field(name, new)}"
            for name, old, new in fields
        )
        change = Change("sla_policy", policy.name, path, False, "", fields, values, shown)
        plan.add(change if fields else None)
    in_file = {policy.name for policy in policies}
    plan.keep("sla_policy", [key for key in state.sla_policies if key not in in_file])
    plan.warnings += _kept_in_force(spec, state)


# --- saved replies ---------------------------------------------------------------------------


def default_reply_name(key: str) -> str:
    """`after-hours-notice` -> "After Hours Notice", for a reply written as its body alone."""
    return key.replace("-", " ").replace("_", " ").title()


def _variables(reply: SavedReplySpec | StoredSavedReply) -> list[str]:
    return variables_of(f"{reply.subject}\n{reply.body}")


REPLY_FIELDS = ("name", "subject", "body", "category")


def _show_list(values: list[str]) -> str:
    return ", ".join(values) or "(none)"


def _show_reply_field(name: str, old: str, new: str) -> str:
    if name == "body":  # too long for one line of a diff
        return f"body edited ({len(old)} -> {len(new)} characters)"
    return f"{name} {show(old)} -> {show(new)}"


def saved_replies(spec: PlaybookSpec, state: State, plan: Plan) -> None:
    replies = spec.saved_replies
    if replies is None:
        plan.keep("saved_reply", list(state.saved_replies))
        return
    for key, reply in replies.items():
        values = {
            "key": key,
            "name": reply.name or default_reply_name(key),
            "subject": reply.subject,
            "body": reply.body,
            "category": reply.category or "",
        }
        path: DocPath = ("saved_replies", key)
        variables = _variables(reply)
        stored = state.saved_replies.get(key)
        if stored is None:
            summary = values["name"] + (f" (variables {', '.join(variables)})" if variables else "")
            plan.add(Change("saved_reply", key, path, True, summary, (), values))
            continue
        fields = compare({name: (getattr(stored, name), values[name]) for name in REPLY_FIELDS})
        shown = tuple(_show_reply_field(name, old, new) for name, old, new in fields)
        before = _variables(stored)
        if before != variables:
            shown += (f"variables {_show_list(before)} -> {_show_list(variables)}",)
        change = Change("saved_reply", key, path, False, "", fields, values, shown)
        plan.add(change if fields else None)
    plan.keep("saved_reply", [key for key in state.saved_replies if key not in replies])
