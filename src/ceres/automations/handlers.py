"""Ceres's own events (core/inbox, provider "ceres") → the automation rules of that trigger."""

from __future__ import annotations

from django.utils import timezone

from ceres.automations import services
from ceres.automations.models import AutomationRule
from ceres.conversations.models import Conversation, Message
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.core.inbox.services import CERES_EVENTS

Trigger = AutomationRule.Trigger


def register() -> None:
    for trigger in Trigger.values:
        register_handler(CERES_EVENTS, trigger, on_event)


def on_event(event: InboundEvent) -> None:
    payload = event.payload
    conversation = Conversation.objects.filter(pk=payload.get("conversation_id")).first()
    if conversation is None:
        return  # deleted since: nothing to act on
    message = None
    if payload.get("message_id") is not None:
        message = Message.objects.filter(pk=payload["message_id"]).first()
        if message is None:
            return
    at = message.created_at if message is not None else event.received_at or timezone.now()
    services.run_rules(
        trigger=event.event_type,
        event_key=event.event_id,
        conversation=conversation,
        message=message,
        at=at,
    )
