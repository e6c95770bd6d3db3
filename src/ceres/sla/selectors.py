from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from ceres.core.errors import Invalid
from ceres.sla.engine import deadline
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.sla.policies import calendar, rule_for


def get_policy(key: str) -> SlaPolicy:
    policy = SlaPolicy.objects.filter(key=key).first()
    if policy is None:
        known = ", ".join(SlaPolicy.objects.values_list("key", flat=True)) or "none defined"
        raise Invalid(f"unknown policy {key!r}; known policies: {known}", field="policy")
    return policy


@dataclass(frozen=True)
class PreviewLine:
    target: str
    due: datetime.datetime


def preview(*, policy_key: str, received_at: datetime.datetime) -> list[PreviewLine]:
    """When each target of a policy falls due for a message received at `received_at`, shown
    with the UTC offset of the calendar the target uses (UTC when it uses none)."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise Invalid("must include a UTC offset, e.g. 2026-05-22T15:00:00-05:00", field="received")
    policy = get_policy(policy_key)
    lines = []
    for target in SlaClock.Target.values:
        rule = rule_for(policy, target, received_at)
        if rule is None:
            continue
        due = deadline(rule, received_at, rule.length)
        zone_key = rule.calendar_key or _condition_calendar(policy, target)
        zone = calendar(zone_key)[1].zone if zone_key else zoneinfo.ZoneInfo("UTC")
        lines.append(PreviewLine(target, due.astimezone(zone)))
    return lines


def _condition_calendar(policy: SlaPolicy, target: str) -> str | None:
    for rule in (policy.targets or {}).get(target, []):
        if rule.get("calendar"):
            return str(rule["calendar"])
    return None


def clocks_by_conversation(conversation_ids: Iterable[int]) -> dict[int, list[SlaClock]]:
    """Every clock of these conversations (running, paused and stopped), oldest first, with
    its policy and calendar: one query for a page of conversations."""
    ids = list(conversation_ids)
    grouped: dict[int, list[SlaClock]] = {pk: [] for pk in ids}
    if not ids:
        return grouped
    clocks = (
        SlaClock.objects.filter(conversation_id__in=ids)
        .select_related("policy", "calendar")
        .order_by("started_at", "id")
    )
    for clock in clocks:
        grouped[clock.conversation_id].append(clock)
    return grouped
