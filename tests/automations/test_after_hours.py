"""The handbook's Zapier flow as the shipped automation rule, end to end: a customer writes in
their channel after hours → a notice in the thread with P0/P1 buttons → the original sender
presses one → the VP of Customer Success is texted once, the conversation is raised and its
clock runs."""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from ceres.automations import services
from ceres.automations.models import AutomationFiring, AutomationRule
from ceres.conversations.models import Conversation
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.sla.models import SlaClock
from ceres.team.models import Person
from tests.slack.conftest import INTERACTIVITY, event_callback, post_event, signed_headers

pytestmark = pytest.mark.django_db

CHANNEL = "C0ACME"
WILE = "U0WILE"
CHICAGO = datetime.timezone(datetime.timedelta(hours=-6))  # CST, late November
SATURDAY_NIGHT = datetime.datetime(2026, 11, 28, 22, 10, tzinfo=CHICAGO)
TUESDAY_MORNING = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO)
NOTICE = (
    "Thanks for reaching out. Our team is outside business hours right now; we will answer "
    "first thing. If this is a P0 or P1 incident, press a button below."
)


def ts_of(moment: datetime.datetime, offset: int = 0) -> str:
    return f"{int(moment.timestamp()) + offset}.000100"


def run_inbox() -> None:
    """Process every stored event, as the worker does (Slack events, then Ceres's own)."""
    for _ in range(3):
        pending = InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).order_by("pk")
        for event in pending:
            process_event(inbound_event_id=event.pk)


def customer_writes(client: Client, moment: datetime.datetime, text: str, n: int = 1) -> None:
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": WILE,
        "text": text,
        "ts": ts_of(moment),
        "event_ts": ts_of(moment),
    }
    assert post_event(client, event_callback(event, event_id=f"EvAH{n}")).status_code == 200
    run_inbox()


def press(client: Client, firing: AutomationFiring, option: str, user: str, n: int) -> None:
    payload = {
        "type": "block_actions",
        "trigger_id": f"1337.{n}.abcdef",
        "user": {"id": user},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "1764400000.000200"},
        "message": {"ts": "1764400000.000200", "thread_ts": ts_of(SATURDAY_NIGHT)},
        "actions": [
            {
                "type": "button",
                "action_id": f"automation:{firing.pk}:emergency:{option}",
                "value": option,
                "action_ts": "1764400100.1",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post(
        INTERACTIVITY,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **signed_headers(body),
    )
    assert response.status_code == 200
    run_inbox()


def sms() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(channel="sms").order_by("pk"))


def test_the_after_hours_flow_end_to_end(client: Client, after_hours_rule: AutomationRule) -> None:
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!")
    conversation = Conversation.objects.get()
    firing = AutomationFiring.objects.get()
    assert firing.rule == after_hours_rule
    assert firing.requester_slack_user_id == WILE
    # The notice goes to the thread, as the app, with the two buttons.
    notice = OutboxMessage.objects.get(channel="slack", payload__method="chat.postMessage")
    args = notice.payload["args"]
    assert (args["channel"], args["thread_ts"], args["text"]) == (
        CHANNEL,
        ts_of(SATURDAY_NIGHT),
        NOTICE,
    )
    buttons = args["blocks"][1]["elements"]
    assert [b["action_id"] for b in buttons] == [
        f"automation:{firing.pk}:emergency:P0",
        f"automation:{firing.pk}:emergency:P1",
    ]
    # An automatic notice is not the first response.
    conversation.refresh_from_db()
    assert conversation.first_responded_at is None
    assert AuditEntry.objects.filter(action="automation.fired").count() == 1

    # Someone else presses: nothing happens.
    press(client, firing, "P0", user="U0SOMEONE", n=1)
    assert sms() == []
    conversation.refresh_from_db()
    assert conversation.priority == "P3"
    assert AuditEntry.objects.filter(action="automation.press_refused").count() == 1

    # The sender presses P1: the VP is texted, the conversation is a P1 with its clock.
    press(client, firing, "P1", user=WILE, n=2)
    texts = sms()
    assert len(texts) == 1
    assert texts[0].payload["to"] == "+15555550100"
    assert "P1 emergency" in texts[0].payload["body"]
    assert conversation.account is not None
    assert conversation.account.legal_name not in texts[0].payload["body"]  # codename only
    conversation.refresh_from_db()
    assert conversation.priority == "P1"
    assert SlaClock.objects.filter(
        conversation=conversation, target="first_response", stopped_at__isnull=True
    ).exists()
    update = OutboxMessage.objects.get(channel="slack", payload__method="chat.update")
    assert "Escalated as a P1" in json.dumps(update.payload)

    # Pressed again (or the other button): still one text, still P1.
    press(client, firing, "P1", user=WILE, n=3)
    press(client, firing, "P0", user=WILE, n=4)
    assert len(sms()) == 1
    conversation.refresh_from_db()
    assert conversation.priority == "P1"
    assert OutboxMessage.objects.filter(channel="slack", payload__method="chat.update").count() == 1


def test_inside_business_hours_no_notice(client: Client, after_hours_rule: AutomationRule) -> None:
    customer_writes(client, TUESDAY_MORNING, "Question about labels")
    assert Conversation.objects.count() == 1
    assert not AutomationFiring.objects.exists()


def test_only_the_message_that_opens_the_conversation_gets_the_notice(
    client: Client, after_hours_rule: AutomationRule
) -> None:
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!", n=1)
    later = SATURDAY_NIGHT + datetime.timedelta(minutes=1)
    customer_writes(client, later, "Still down", n=2)  # joins the conversation (grouping)
    assert Conversation.objects.count() == 1
    assert AutomationFiring.objects.count() == 1


def test_a_rule_fires_once_per_event_however_often_it_is_processed(
    client: Client, after_hours_rule: AutomationRule
) -> None:
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!")
    event = InboundEvent.objects.get(provider="ceres")
    conversation = Conversation.objects.get()
    message = conversation.messages.get(kind="inbound")
    again = services.run_rules(
        trigger="message_received",
        event_key=event.event_id,
        conversation=conversation,
        message=message,
        at=message.created_at,
    )
    assert again == []
    assert AutomationFiring.objects.count() == 1
    assert OutboxMessage.objects.filter(channel="slack").count() == 1


def test_community_and_disabled_rules_do_not_fire(
    client: Client, after_hours_rule: AutomationRule
) -> None:
    after_hours_rule.enabled = False
    after_hours_rule.save()
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!")
    assert not AutomationFiring.objects.exists()


def test_nobody_to_text_is_recorded_not_fatal(
    client: Client, after_hours_rule: AutomationRule
) -> None:
    Person.objects.filter(role__key="vp-cs").update(phone="")
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!")
    firing = AutomationFiring.objects.get()
    press(client, firing, "P0", user=WILE, n=9)
    firing.refresh_from_db()
    assert firing.pressed_value == "P0"
    assert Conversation.objects.get().priority == "P0"
    entry = AuditEntry.objects.get(action="automation.pressed")
    assert "nobody to reach by sms" in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trigger": "sunrise"}, "trigger"),
        ({"conditions": {"moon": "full"}}, "conditions.moon"),
        ({"conditions": {"author": "aliens"}}, "conditions.author"),
        ({"conditions": {"outside_hours": "mars"}}, "conditions.outside_hours"),
        ({"conditions": {"channel_kind": "private"}}, "conditions.channel_kind"),
        ({"conditions": {"priority": ["P7"]}}, "conditions.priority"),
        ({"conditions": {"text_matches": "(unclosed"}}, "conditions.text_matches"),
        ({"conditions": {"new_conversation": "yes"}}, "conditions.new_conversation"),
        ({"actions": []}, "actions"),
        ({"actions": [{"reply_in_thread": "nope"}]}, "actions.reply_in_thread"),
        ({"actions": [{"dance": True}]}, "actions"),
        ({"actions": [{"page": "Not a key!"}]}, "actions.page"),
        ({"actions": [{"page": {"rotation": "x"}}]}, "actions.page"),
        ({"actions": [{"notify": {"role": "king"}}]}, "actions.notify"),
        ({"actions": [{"notify": {"role": "vp-cs", "via": "pigeon"}}]}, "actions.notify"),
        ({"actions": [{"set_priority": "urgent"}]}, "actions.set_priority"),
        ({"buttons": {"emergency": {"options": ["P9"], "actions": []}}}, "buttons.emergency"),
        (
            {"actions": [{"add_tag": "x"}], "buttons": {"e": {"options": ["P0"], "actions": []}}},
            "buttons",
        ),
    ],
)
def test_a_rule_ceres_could_not_run_is_refused_naming_the_field(
    after_hours_rule: AutomationRule, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {
        "key": "broken",
        "trigger": "message_received",
        "conditions": {},
        "actions": [{"reply_in_thread": "after-hours-notice"}],
        "buttons": {},
    }
    values.update(changes)
    with pytest.raises(Invalid) as refused:
        services.save_rule(actor=None, **values)
    assert refused.value.field == field, refused.value.message
    assert not AutomationRule.objects.filter(key="broken").exists()
