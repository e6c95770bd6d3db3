"""Rules on status changes and SLA warnings and breaches: Ceres's own events, once each."""

from __future__ import annotations

import datetime

import pytest

from ceres.accounts.models import Account
from ceres.automations import services
from ceres.automations.models import AutomationFiring
from ceres.conversations import services as conversation_services
from ceres.conversations.models import Conversation
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.sla import services as sla_services
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.team.models import Person

pytestmark = pytest.mark.django_db


def run_inbox() -> None:
    for event in InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).order_by("pk"):
        process_event(inbound_event_id=event.pk)


def test_a_breach_rule_fires_once_per_breach(
    handbook_policies: dict[str, SlaPolicy], acme: Account
) -> None:
    services.save_rule(
        actor=None,
        key="tag-breaches",
        trigger="sla_breach",
        conditions={"tier": ["premium", "premium-mdm"]},
        actions=[{"add_tag": "breached"}, {"set_priority": "P1"}],
    )
    received = datetime.datetime(2026, 11, 24, 16, 0, tzinfo=datetime.UTC)
    conversation = conversation_services.open_conversation(
        actor=None, source="slack", subject="q", body="q", account=acme, received_at=received
    )
    run_inbox()
    clock = SlaClock.objects.get(conversation=conversation, target="first_response")
    later = clock.due_at + datetime.timedelta(minutes=1)
    assert sla_services.sweep(now=later)["breaches"] == 1
    assert sla_services.sweep(now=later)["breaches"] == 0
    run_inbox()
    run_inbox()
    firing = AutomationFiring.objects.get()
    assert firing.event_key == f"sla:{clock.pk}:breach"
    conversation.refresh_from_db()
    assert list(conversation.tags.values_list("name", flat=True)) == ["breached"]
    assert conversation.priority == "P1"


def test_a_status_rule_sees_the_change(
    handbook_policies: dict[str, SlaPolicy], acme: Account, cse: Person
) -> None:
    services.save_rule(
        actor=None,
        key="follow-up-on-hold",
        trigger="status_changed",
        conditions={"source": "slack"},
        actions=[{"add_tag": "follow-up"}],
    )
    conversation = conversation_services.open_conversation(
        actor=None, source="slack", subject="q", body="q", account=acme
    )
    conversation_services.update_conversation(
        actor=cse.user, conversation=conversation, status="on_hold"
    )
    conversation_services.update_conversation(
        actor=cse.user, conversation=conversation, priority="P2"
    )  # not a status change
    run_inbox()
    assert AutomationFiring.objects.count() == 1
    assert Conversation.objects.get().tags.get().name == "follow-up"
    assert InboundEvent.objects.filter(event_type="status_changed").count() == 1
