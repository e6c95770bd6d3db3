from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from ceres.core.businesstime import Calendar, is_open, next_opening, open_intervals
from ceres.core.errors import Invalid, NotFound
from ceres.sla.display import show_hours, show_rules
from ceres.sla.engine import deadline
from ceres.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from ceres.sla.policies import calendar, rule_for


def get_policy(key: str) -> SlaPolicy:
    policy = SlaPolicy.objects.filter(key=key).first()
    if policy is None:
        known = ", ".join(SlaPolicy.objects.values_list("key", flat=True)) or "none defined"
        raise Invalid(f"unknown policy {key!r}; known policies: {known}", field="policy")
    return policy


def find_policy(key: str) -> SlaPolicy:
    """A policy by its key, for a page about it (404 when there is none)."""
    policy = SlaPolicy.objects.filter(key=key).first()
    if policy is None:
        raise NotFound(f"no SLA policy {key!r}", field="policy")
    return policy


def find_calendar(key: str) -> BusinessCalendar:
    row = BusinessCalendar.objects.filter(key=key).first()
    if row is None:
        raise NotFound(f"no calendar {key!r}", field="calendar")
    return row


def calendar_keys() -> list[str]:
    return list(BusinessCalendar.objects.order_by("key").values_list("key", flat=True))


def next_position() -> int:
    """The position after the last policy: where a new one goes unless told otherwise."""
    last = SlaPolicy.objects.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


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


# --- the settings pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    policy: SlaPolicy
    match: list[tuple[str, str]]  # (what, accepted values in words); empty: every conversation
    targets: list[tuple[str, str]]  # (target, rules in words)
    pause_on: str
    unreachable_after: str | None  # a match-all policy tried before this one


MATCH_LABELS = {
    "source": "Source",
    "category": "Category",
    "tier": "Tier",
    "priority": "Priority",
    "channel_kind": "Slack channel",
}
TARGET_NAMES = dict(SlaClock.Target.choices)


def _value_names() -> dict[str, dict[str, str]]:
    from ceres.accounts.selectors import products
    from ceres.conversations.models import Conversation

    return {
        "source": dict(Conversation.Source.choices),
        "priority": dict(Conversation.Priority.choices),
        "tier": {product.key: product.name for product in products()},
        "channel_kind": {"customer": "a customer's", "community": "community"},
        "status": dict(Conversation.Status.choices),
    }


def policy_rows() -> list[PolicyRow]:
    """Policies in the order they are tried, in words, each flagged when a policy before it
    matches every conversation (so it can never apply)."""
    rows = []
    catch_all: str | None = None
    names = _value_names()
    for policy in SlaPolicy.objects.order_by("position", "key"):
        match = policy.match or {}
        rows.append(
            PolicyRow(
                policy=policy,
                match=[
                    (
                        MATCH_LABELS.get(key, key),
                        ", ".join(names.get(key, {}).get(value, value) for value in values),
                    )
                    for key, values in match.items()
                    if values
                ],
                targets=[
                    (TARGET_NAMES[target], show_rules(policy.targets[target]))
                    for target in SlaClock.Target.values
                    if (policy.targets or {}).get(target)
                ],
                pause_on=", ".join(
                    names["status"].get(status, status).lower() for status in policy.pause_on
                ),
                unreachable_after=catch_all,
            )
        )
        if not any(match.values()) and catch_all is None:
            catch_all = policy.key
    return rows


@dataclass(frozen=True)
class CalendarRow:
    calendar: BusinessCalendar
    hours: str
    holidays: str
    open_now: bool
    next_change: datetime.datetime | None  # when it next opens or closes (None: 24/7)
    used_by: list[str]


def calendar_rows(now: datetime.datetime | None = None) -> list[CalendarRow]:
    now = now or timezone.now()
    policies = list(SlaPolicy.objects.order_by("position", "key"))
    rows = []
    for row in BusinessCalendar.objects.order_by("key"):
        _, cal = calendar(row.key)
        spec = row.spec
        holidays = spec.get("holidays") or {}
        open_now = is_open(cal, now)
        rows.append(
            CalendarRow(
                calendar=row,
                hours=show_hours(spec.get("hours", {})),
                holidays="-".join(
                    part for part in (holidays.get("country"), holidays.get("subdivision")) if part
                ),
                open_now=open_now,
                next_change=_next_change(cal, now, open_now),
                used_by=[p.key for p in policies if _uses(p, row.key)],
            )
        )
    return rows


def calendar_users(key: str) -> list[str]:
    """The policies whose rules name this calendar, in the order they are tried."""
    return [p.key for p in SlaPolicy.objects.order_by("position", "key") if _uses(p, key)]


def _uses(policy: SlaPolicy, calendar_key: str) -> bool:
    return any(
        rule.get("calendar") == calendar_key
        for rules in (policy.targets or {}).values()
        for rule in rules
    )


def _next_change(cal: Calendar, now: datetime.datetime, open_now: bool) -> datetime.datetime | None:
    if not open_now:
        return next_opening(cal, now)
    horizon = now + datetime.timedelta(days=400)
    for _opens, closes in open_intervals(cal, now, horizon):
        return None if closes >= horizon else closes
    return None


def week_ahead(key: str, now: datetime.datetime | None = None) -> list[tuple[datetime.date, str]]:
    """The calendar's open hours for the next seven local days, holidays and DST applied."""
    now = now or timezone.now()
    _, cal = calendar(key)
    zone = cal.zone
    today = now.astimezone(zone).date()
    days = []
    for offset in range(7):
        day = today + datetime.timedelta(days=offset)
        start = datetime.datetime.combine(day, datetime.time(), zone)
        end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), zone)
        spans = [
            f"{opens.astimezone(zone):%H:%M}-"
            + ("24:00" if closes >= end else f"{closes.astimezone(zone):%H:%M}")
            for opens, closes in open_intervals(cal, start, end)
        ]
        days.append((day, " ".join(spans) or "closed"))
    return days
