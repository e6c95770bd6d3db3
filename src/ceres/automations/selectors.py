"""Reads of the automation rules: the list, a rule's firings, and the dry run."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from ceres.automations.models import AutomationFiring, AutomationRule
from ceres.automations.rules import Facts, evaluate
from ceres.conversations.models import Conversation, Message
from ceres.core.errors import NotFound
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import CERES_EVENTS

DRY_RUN_DAYS = 7
DRY_RUN_LIMIT = 200


def rules() -> QuerySet[AutomationRule]:
    return AutomationRule.objects.order_by("position", "key")


def find_rule(key: str) -> AutomationRule:
    rule = AutomationRule.objects.filter(key=key).first()
    if rule is None:
        raise NotFound(f"no automation rule {key!r}", field="rule")
    return rule


def next_position() -> int:
    last = AutomationRule.objects.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def firings_of(rule: AutomationRule, limit: int = 50) -> list[AutomationFiring]:
    return list(
        AutomationFiring.objects.filter(rule=rule)
        .select_related("conversation__account__codename")
        .order_by("-fired_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class DryRunRow:
    event: InboundEvent
    conversation: Conversation
    would_fire: bool
    why_not: str
    fired: bool  # the rule did fire on this event


def dry_run(
    rule: AutomationRule, *, now: datetime.datetime | None = None, days: int = DRY_RUN_DAYS
) -> list[DryRunRow]:
    """The rule's conditions, as they are now, against the events of its trigger in the last
    `days` days (newest first, at most DRY_RUN_LIMIT): which it would fire on, and why not.
    Nothing is written and nothing is sent."""
    since = (now or timezone.now()) - datetime.timedelta(days=days)
    events = list(
        InboundEvent.objects.filter(
            provider=CERES_EVENTS, event_type=rule.trigger, received_at__gte=since
        ).order_by("-received_at", "-id")[:DRY_RUN_LIMIT]
    )
    ids = {event.payload.get("conversation_id") for event in events}
    conversations = Conversation.objects.select_related("account__product", "account__codename")
    by_id = {c.pk: c for c in conversations.filter(pk__in=[i for i in ids if i])}
    message_ids = [e.payload.get("message_id") for e in events if e.payload.get("message_id")]
    messages = {m.pk: m for m in Message.objects.filter(pk__in=message_ids)}
    fired = set(
        AutomationFiring.objects.filter(
            rule=rule, event_key__in=[e.event_id for e in events]
        ).values_list("event_key", flat=True)
    )
    rows = []
    for event in events:
        conversation = by_id.get(event.payload.get("conversation_id"))
        if conversation is None:
            continue
        message = messages.get(event.payload.get("message_id"))
        at = message.created_at if message is not None else event.received_at
        facts = Facts(conversation, message, at)
        holds = evaluate(rule.conditions, facts)
        rows.append(
            DryRunRow(
                event=event,
                conversation=conversation,
                would_fire=holds,
                why_not="" if holds else (facts.reasons[0] if facts.reasons else ""),
                fired=event.event_id in fired,
            )
        )
    return rows
