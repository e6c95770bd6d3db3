"""What a rule may say, and whether its conditions hold for an event.

Checked when a rule is saved (`check_rule`, errors naming the field), so a rule that is stored
is a rule Ceres can run. Conditions are evaluated against the event's conversation and message
(`evaluate`), which also says why a rule would not fire, for the dry run.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from ceres.conversations.models import Conversation, Message
from ceres.core.businesstime import is_open
from ceres.core.durations import EXAMPLE, parse_duration
from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS, validate_timezone
from ceres.sla.engine import facts_of
from ceres.sla.policies import calendar
from ceres.team.models import Person

CONDITIONS = (
    "author",
    "outside_hours",
    "inside_hours",
    "channel_kind",
    "channels",
    "source",
    "tier",
    "priority",
    "text_matches",
    "new_conversation",
    "status",
    "idle_for",
)
LIST_CONDITIONS = ("channel_kind", "channels", "source", "tier", "priority", "status")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
ACTIONS = ("reply_in_thread", "notify", "text", "set_priority", "assign", "add_tag", "page")
VIAS = ("sms", "email", "slack")
MAX_PATTERN = 500


@dataclass
class Facts:
    """What conditions look at, from one event."""

    conversation: Conversation
    message: Message | None
    at: datetime.datetime
    reasons: list[str] = field(default_factory=list)


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def check_rule(
    *,
    trigger: str,
    conditions: Any,
    actions: Any,
    buttons: Any,
    calendars: set[str],
    saved_replies: set[str],
    roles: set[str],
    schedule: Any = None,
    pages: set[str] | None = None,
) -> None:
    """Raise Invalid naming the field for anything Ceres could not run. `pages`: the keys a
    `page` action may name (escalation chains and on-call rotations); None: not checked."""
    from ceres.automations.models import AutomationRule

    if trigger not in AutomationRule.Trigger.values:
        known = ", ".join(AutomationRule.Trigger.values)
        raise Invalid(f"unknown trigger {trigger!r}; use {known}", field="trigger")
    if trigger == AutomationRule.Trigger.SCHEDULE:
        check_schedule(schedule)
    elif schedule:
        raise Invalid("only a rule on schedule has a schedule", field="schedule")
    if not isinstance(conditions, dict):
        raise Invalid("must be a mapping of condition to value", field="conditions")
    for name, value in conditions.items():
        _check_condition(name, value, calendars=calendars)
    if not isinstance(actions, list) or not actions:
        raise Invalid("a rule needs at least one action", field="actions")
    for action in actions:
        _check_action(
            action, field="actions", saved_replies=saved_replies, roles=roles, pages=pages
        )
    if not isinstance(buttons, dict):
        raise Invalid("must be a mapping of button name to what it does", field="buttons")
    if buttons and not any(isinstance(a, dict) and "reply_in_thread" in a for a in actions):
        raise Invalid("buttons need a reply_in_thread action to carry them", field="buttons")
    for name, button in buttons.items():
        where = f"buttons.{name}"
        if not isinstance(button, dict) or set(button) - {"options", "actions"}:
            raise Invalid("a button has options and actions", field=where)
        options = button.get("options")
        if not isinstance(options, list) or not options or len(options) > 5:
            raise Invalid("options: one to five values, e.g. [P0, P1]", field=where)
        if any(o not in Conversation.Priority.values for o in options):
            raise Invalid("options are priorities (P0 … P3)", field=where)
        if not isinstance(button.get("actions"), list) or not button["actions"]:
            raise Invalid("a button needs at least one action", field=where)
        for action in button["actions"]:
            _check_action(
                action, field=where, saved_replies=saved_replies, roles=roles, pages=pages
            )


def _check_condition(name: str, value: Any, *, calendars: set[str]) -> None:
    where = f"conditions.{name}"
    if name not in CONDITIONS:
        raise Invalid(f"unknown condition {name!r}; use {', '.join(CONDITIONS)}", field=where)
    if name == "author" and value not in ("team", "not_team"):
        raise Invalid("must be team or not_team", field=where)
    if name in ("outside_hours", "inside_hours") and value not in calendars:
        known = ", ".join(sorted(calendars)) or "none defined"
        raise Invalid(f"unknown calendar {value!r}; known calendars: {known}", field=where)
    if name in LIST_CONDITIONS:
        values = _values(value) if isinstance(value, str | list) else None
        if not values or not all(isinstance(v, str) and v for v in values):
            raise Invalid("must be text or a list of text", field=where)
        allowed = {
            "channel_kind": ("customer", "community"),
            "source": tuple(Conversation.Source.values),
            "priority": tuple(Conversation.Priority.values),
            "status": tuple(Conversation.Status.values),
        }.get(name)
        if allowed is not None and any(v not in allowed for v in values):
            raise Invalid(f"use {', '.join(allowed)}", field=where)
    if name == "text_matches":
        if not isinstance(value, str) or not 0 < len(value) <= MAX_PATTERN:
            raise Invalid(
                f"must be a regular expression of 1 to {MAX_PATTERN} characters", field=where
            )
        try:
            re.compile(value)
        except re.error as exc:
            raise Invalid(f"not a regular expression: {exc}", field=where) from exc
    if name == "new_conversation" and not isinstance(value, bool):
        raise Invalid("must be true or false", field=where)
    if name == "idle_for":
        if not isinstance(value, str):
            raise Invalid(f"{EXAMPLE}, e.g. 3d", field=where)
        parse_duration(value, field=where)


def _check_action(
    action: Any,
    *,
    field: str,
    saved_replies: set[str],
    roles: set[str],
    pages: set[str] | None = None,
) -> None:
    if not isinstance(action, dict) or len(action) != 1:
        raise Invalid(f"an action is one of {', '.join(ACTIONS)} with its value", field=field)
    ((kind, value),) = action.items()
    where = f"{field}.{kind}"
    if kind not in ACTIONS:
        raise Invalid(f"unknown action {kind!r}; use {', '.join(ACTIONS)}", field=field)
    if kind == "page" and (not isinstance(value, str) or not SLUG.match(value)):
        raise Invalid(
            "the key of an escalation chain or an on-call rotation, e.g. "
            "infrastructure-first-responder",
            field=where,
        )
    if kind == "page" and pages is not None and value not in pages:
        known = ", ".join(sorted(pages)) or "none defined"
        raise Invalid(
            f"no escalation chain or on-call rotation {value!r}; known: {known}", field=where
        )
    if kind == "reply_in_thread" and value not in saved_replies:
        known = ", ".join(sorted(saved_replies)) or "none defined"
        raise Invalid(f"unknown saved reply {value!r}; known: {known}", field=where)
    if kind in ("notify", "text"):
        if not isinstance(value, dict) or not ({"role", "person"} & set(value)):
            raise Invalid("name who: {role: vp-cs} or {person: ada@example.com}", field=where)
        if set(value) - {"role", "person", "via", "text"}:
            raise Invalid("keys: role or person, via, text", field=where)
        if "role" in value and value["role"] not in roles:
            known = ", ".join(sorted(roles)) or "none defined"
            raise Invalid(f"unknown role {value['role']!r}; known roles: {known}", field=where)
        via = value.get("via", "sms" if kind == "text" else "email")
        if via not in VIAS:
            raise Invalid(f"via must be one of {', '.join(VIAS)}", field=where)
    if kind == "set_priority" and value not in (*Conversation.Priority.values, "from_button"):
        raise Invalid("a priority (P0 … P3), or from_button", field=where)
    if kind in ("assign", "add_tag") and (not isinstance(value, str) or not value.strip()):
        raise Invalid("must be text", field=where)


def is_team(conversation: Conversation, message: Message | None) -> bool:
    """Whether the message's author is on the team (inbound messages come from requesters;
    a requester who is also a team member counts as the team)."""
    if message is not None and message.kind != Message.Kind.INBOUND:
        return True
    people = Person.objects.filter(is_active=True)
    slack_id = conversation.requester_slack_user_id
    if slack_id and people.filter(slack_user_id=slack_id).exists():
        return True
    email = conversation.requester_email
    return bool(email) and people.filter(email__iexact=email).exists()


def evaluate(conditions: dict[str, Any], facts: Facts) -> bool:
    """Whether every condition holds; the first that does not is added to `facts.reasons`."""
    conversation, message = facts.conversation, facts.message
    for name, value in conditions.items():
        holds, why = _holds(name, value, conversation, message, facts.at)
        if not holds:
            facts.reasons.append(why)
            return False
    return True


def _holds(
    name: str,
    value: Any,
    conversation: Conversation,
    message: Message | None,
    at: datetime.datetime,
) -> tuple[bool, str]:
    if name == "author":
        team = is_team(conversation, message)
        return (team == (value == "team")), f"author is {'' if team else 'not '}on the team"
    if name in ("outside_hours", "inside_hours"):
        inside = is_open(calendar(str(value))[1], at)
        wanted = name == "inside_hours"
        where = "inside" if inside else "outside"
        return inside == wanted, f"arrived {where} {value} hours"
    if name in ("channel_kind", "source", "tier", "priority"):
        # The same facts SLA policies match on (one definition of "tier", "channel kind").
        actual = getattr(facts_of(conversation), name) or ""
        return actual in _values(value), f"{name.replace('_', ' ')} is {actual or 'none'}"
    if name == "channels":
        return conversation.slack_channel_id in _values(value), "in another channel"
    if name == "text_matches":
        text = message.body if message is not None else conversation.subject
        found = re.search(str(value), text, flags=re.IGNORECASE) is not None
        return found, "text does not match"
    if name == "status":
        return conversation.status in _values(value), f"status is {conversation.status}"
    if name == "idle_for":
        since = conversation.updated_at
        quiet = at - since >= datetime.timedelta(seconds=parse_duration(str(value), field=name))
        return quiet, "changed too recently"
    if name == "new_conversation":
        first = conversation.messages.order_by("created_at", "id").first()
        is_first = message is not None and first is not None and first.pk == message.pk
        return is_first == bool(value), "not the conversation's first message"
    return False, f"unknown condition {name}"


# --- schedules -------------------------------------------------------------------------------

_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def check_schedule(schedule: Any) -> None:
    """{"days": ["mon", …], "at": "09:00", "timezone": "America/Chicago"}: when a rule on
    schedule runs."""
    where = "schedule"
    if not isinstance(schedule, dict) or not schedule:
        raise Invalid(
            "a rule on schedule needs every: {days: [mon, …], at: '09:00', timezone: …}",
            field=where,
        )
    unknown = set(schedule) - {"days", "at", "timezone"}
    if unknown:
        raise Invalid(f"unknown key {sorted(unknown)[0]!r}; use days, at, timezone", field=where)
    days = schedule.get("days")
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        raise Invalid(f"days: a list of {', '.join(WEEKDAYS)}", field=f"{where}.days")
    if not isinstance(schedule.get("at"), str) or not _TIME.match(schedule["at"]):
        raise Invalid("at: a time of day, HH:MM (quote it in YAML)", field=f"{where}.at")
    zone = schedule.get("timezone", "UTC")
    if not isinstance(zone, str):
        raise Invalid("an IANA time zone such as America/Chicago", field=f"{where}.timezone")
    validate_timezone(zone, field=f"{where}.timezone")


def last_moment(schedule: dict[str, Any], now: datetime.datetime) -> datetime.datetime | None:
    """The latest moment of the schedule at or before `now` (in the last 8 days), in UTC."""
    zone = zoneinfo.ZoneInfo(schedule.get("timezone", "UTC"))
    hour, minute = (int(part) for part in schedule["at"].split(":"))
    today = now.astimezone(zone).date()
    for back in range(8):
        day = today - datetime.timedelta(days=back)
        if WEEKDAYS[day.weekday()] not in schedule["days"]:
            continue
        moment = datetime.datetime.combine(day, datetime.time(hour, minute), zone)
        if moment <= now:
            return moment.astimezone(datetime.UTC)
    return None
