"""Choosing a policy and a target's rule; checking policy data. Pure apart from reading the
calendars table (cached per calendar row version)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ceres.core.businesstime import Calendar, is_open
from ceres.core.errors import Invalid
from ceres.sla.models import BusinessCalendar, SlaClock, SlaPolicy

MATCH_KEYS = ("source", "category", "tier", "priority", "channel_kind")
# What `engine.facts_of` says of a Slack conversation: an account's channel, or the community's.
CHANNEL_KINDS = ("customer", "community")
WHEN = ("always", "inside_hours", "outside_hours")
TARGETS = tuple(SlaClock.Target.values)


@dataclass(frozen=True)
class Rule:
    target: str
    kind: str  # "elapsed" | "business"
    length: datetime.timedelta
    calendar_key: str | None


@dataclass(frozen=True)
class Facts:
    """What a policy matches on, taken from a conversation (or given to a preview)."""

    source: str
    category: str
    tier: str | None
    priority: str
    channel_kind: str | None


@lru_cache(maxsize=256)
def _calendar_from(key: str, version: str, spec_json: str) -> Calendar:
    import json

    return Calendar.from_spec(json.loads(spec_json))


def calendar(key: str) -> tuple[BusinessCalendar, Calendar]:
    import json

    row = BusinessCalendar.objects.filter(key=key).first()
    if row is None:
        raise Invalid(f"no calendar {key!r}", field="calendar")
    spec_json = json.dumps(row.spec, sort_keys=True)
    return row, _calendar_from(row.key, row.updated_at.isoformat(), spec_json)


def matches(policy: SlaPolicy, facts: Facts) -> bool:
    for key, accepted in (policy.match or {}).items():
        value = getattr(facts, key, None)
        if value not in accepted:
            return False
    return True


def policy_for(facts: Facts) -> SlaPolicy | None:
    for policy in SlaPolicy.objects.order_by("position", "key"):
        if matches(policy, facts):
            return policy
    return None


def rule_for(policy: SlaPolicy, target: str, at: datetime.datetime) -> Rule | None:
    """The first of the target's rules whose condition holds at `at`."""
    for raw in (policy.targets or {}).get(target, []):
        when = raw.get("when", "always")
        calendar_key = raw.get("calendar")
        if when != "always":
            _, cal = calendar(str(calendar_key))
            inside = is_open(cal, at)
            if (when == "inside_hours") != inside:
                continue
        return Rule(
            target=target,
            kind=raw.get("clock", "elapsed"),
            length=datetime.timedelta(seconds=int(raw["within_seconds"])),
            calendar_key=calendar_key if raw.get("clock") == "business" else None,
        )
    return None


def validate_policy(
    *,
    match: dict[str, Any],
    targets: dict[str, Any],
    pause_on: list[str],
    known_calendars: set[str],
) -> None:
    """Raise Invalid naming the field for any policy data Ceres could not run."""
    from ceres.conversations.models import Conversation

    if not isinstance(match, dict):
        raise Invalid("must be a mapping", field="match")
    for key, values in match.items():
        if key not in MATCH_KEYS:
            raise Invalid(f"unknown key {key!r}; use {', '.join(MATCH_KEYS)}", field="match")
        if not isinstance(values, list) or not values:
            raise Invalid(f"{key}: must be a non-empty list", field="match")
    if not isinstance(targets, dict) or not targets:
        raise Invalid("at least one target is needed", field="targets")
    for target, rules in targets.items():
        if target not in TARGETS:
            raise Invalid(f"unknown target {target!r}; use {', '.join(TARGETS)}", field="targets")
        if not isinstance(rules, list) or not rules:
            raise Invalid(f"{target}: needs at least one rule", field="targets")
        for rule in rules:
            when = rule.get("when", "always")
            if when not in WHEN:
                raise Invalid(f"{target}: 'when' must be one of {', '.join(WHEN)}", field="targets")
            clock = rule.get("clock", "elapsed")
            if clock not in SlaClock.Kind.values:
                raise Invalid(f"{target}: 'clock' must be elapsed or business", field="targets")
            needs_calendar = when != "always" or clock == "business"
            cal = rule.get("calendar")
            if needs_calendar and cal not in known_calendars:
                raise Invalid(f"{target}: unknown calendar {cal!r}", field="targets")
            seconds = rule.get("within_seconds")
            if not isinstance(seconds, int) or seconds <= 0:
                raise Invalid(f"{target}: 'within' must be a positive duration", field="targets")
    statuses = set(Conversation.Status.values) - {Conversation.Status.CLOSED}
    for status in pause_on:
        if status not in statuses:
            raise Invalid(f"unknown status {status!r}", field="pause_on")


@dataclass(frozen=True)
class OrderProblem:
    """What is wrong with the order of a target's rules: `index` is the rule at fault (None: the
    target as a whole), `see` the earlier rule it repeats."""

    index: int | None
    message: str
    see: int | None = None


def covers_all(conditions: Sequence[tuple[str, str | None]]) -> bool:
    """Whether rules with these (when, calendar) conditions start a clock for every message."""
    if any(when == "always" for when, _ in conditions):
        return True
    inside = {calendar for when, calendar in conditions if when == "inside_hours"}
    return any(calendar in inside for when, calendar in conditions if when == "outside_hours")


def rule_order_problems(conditions: Sequence[tuple[str, str | None]]) -> list[OrderProblem]:
    """Rules that can never apply (the first whose condition holds wins), and a target whose
    rules leave part of the day without a clock. The playbook and the settings pages both ask
    this, so a policy one of them accepts the other accepts too."""
    seen: dict[tuple[str, str | None], int] = {}
    problems: list[OrderProblem] = []
    if not conditions:
        return problems  # no rule: the target starts no clock, which is allowed
    for i, condition in enumerate(conditions):
        if covers_all(list(seen)):
            problems.append(
                OrderProblem(i, "never applies: the rules before it cover every message")
            )
        elif condition in seen:
            problems.append(
                OrderProblem(
                    i, "never applies: an earlier rule has the same condition", see=seen[condition]
                )
            )
        seen.setdefault(condition, i)
    if not covers_all(list(seen)) and not problems:
        sides = " or ".join(
            f"{when.removesuffix('_hours')} {calendar} hours" for when, calendar in seen
        )
        problems.append(
            OrderProblem(
                None,
                f"starts a clock only for messages received {sides}: add a rule for the other "
                "case, or one with when: always",
            )
        )
    return problems
