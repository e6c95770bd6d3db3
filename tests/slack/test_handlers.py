"""Slack messages in designated channels become conversations: through the signed receiver, the
inbox and its task, as in production."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.accounts.models import Account, Contact
from ceres.conversations import services as conversation_services
from ceres.conversations.models import Conversation, Message
from ceres.core.audit.models import AuditEntry
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.slack.models import CommunityChannel
from ceres.team.models import Person
from tests.slack.conftest import event_callback, post_event

pytestmark = pytest.mark.django_db

CUSTOMER = "C0ACME"
COMMUNITY = "C0FLEET"
WILE = "U0WILE"  # a customer (Acme's champion)
STRANGER = "U0STRANGER"  # a community member
BASE = 1_764_633_600  # 2026-12-02 00:00 UTC
_ids = itertools.count(1)


def ts(seconds: float) -> str:
    """A Slack timestamp `seconds` after BASE."""
    whole = BASE + int(seconds)
    return f"{whole}.{round((seconds % 1) * 1_000_000):06d}"


def at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(BASE, tz=datetime.UTC) + datetime.timedelta(
        seconds=seconds
    )


@pytest.fixture
def channels(acme: Account) -> Account:
    acme.slack_channel_id = CUSTOMER
    acme.save()
    Contact.objects.filter(account=acme).update(slack_user_id=WILE)
    CommunityChannel.objects.create(channel_id=COMMUNITY, name="fleet")
    return acme


@pytest.fixture
def lena_in_slack(cse: Person) -> Person:
    cse.slack_user_id = "U0LENA"
    cse.save()
    return cse


def deliver(client: Client, event: dict[str, Any]) -> InboundEvent:
    """Send one event through the receiver and run its task, as the worker would."""
    event_id = f"Ev{next(_ids):04d}"
    response = post_event(client, event_callback(event, event_id=event_id))
    assert response.status_code == 200
    stored = InboundEvent.objects.get(provider="slack", event_id=event_id)
    process_event(inbound_event_id=stored.pk)
    stored.refresh_from_db()
    assert stored.status == InboundEvent.Status.PROCESSED, stored.last_error
    return stored


def message(
    channel: str, user: str, seconds: float, text: str, thread: float | None = None, **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts(seconds),
        "event_ts": ts(seconds),
        "channel_type": "group",
    }
    if thread is not None:
        event["thread_ts"] = ts(thread)
    event.update(extra)
    return event


def test_a_customer_message_starts_a_conversation_on_its_account(
    client: Client, channels: Account
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "All hosts went offline after the upgrade."))
    conversation = Conversation.objects.get()
    assert conversation.source == "slack"
    assert conversation.account == channels
    assert conversation.requester_slack_user_id == WILE
    assert conversation.requester_name == "Wile Coyote"  # from the account's contact
    assert (conversation.slack_channel_id, conversation.slack_thread_ts) == (CUSTOMER, ts(10))
    assert conversation.received_at == at(10)
    first = conversation.messages.get()
    assert first.kind == "inbound"
    assert first.external_id == f"slack:{CUSTOMER}:{ts(10)}"


def test_a_community_message_has_no_account(client: Client, channels: Account) -> None:
    deliver(client, message(COMMUNITY, STRANGER, 10, "How do I enroll a Mac?"))
    conversation = Conversation.objects.get()
    assert conversation.account is None
    assert conversation.requester_name == ""


def test_messages_in_the_thread_continue_the_conversation_and_reopen_it(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    conversation = Conversation.objects.get()
    conversation_services.update_conversation(
        actor=lena_in_slack.user,
        conversation=conversation,
        status="closed",
        closure_note="Restarted the agent.",
    )
    deliver(client, message(CUSTOMER, WILE, 900, "It happened again", thread=10))
    conversation.refresh_from_db()
    assert Conversation.objects.count() == 1
    assert conversation.status == "open"
    assert list(conversation.messages.values_list("body", flat=True)) == [
        "Hosts offline",
        "It happened again",
    ]


def test_quick_top_level_messages_from_one_person_join_one_conversation(
    client: Client, channels: Account, settings: Settings
) -> None:
    settings.CERES_SLACK_GROUP_SECONDS = 300
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, message(CUSTOMER, WILE, 70, "Also the UI is slow"))
    deliver(client, message(CUSTOMER, WILE, 370, "One more: SSO fails"))  # 5 min after the last
    deliver(client, message(CUSTOMER, WILE, 1000, "New topic: licences"))  # 10 min later
    conversations = list(Conversation.objects.order_by("received_at"))
    assert len(conversations) == 2
    assert conversations[0].messages.count() == 3
    # A reply in the thread of a joined message belongs to the same conversation.
    deliver(client, message(CUSTOMER, WILE, 1010, "screenshot attached", thread=70))
    assert conversations[0].messages.count() == 4
    assert Conversation.objects.count() == 2


def test_grouping_is_per_person_and_can_be_turned_off(
    client: Client, channels: Account, settings: Settings
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, message(CUSTOMER, "U0ROAD", 20, "Same here"))
    assert Conversation.objects.count() == 2
    settings.CERES_SLACK_GROUP_SECONDS = 0
    deliver(client, message(CUSTOMER, WILE, 30, "And the UI"))
    assert Conversation.objects.count() == 3


def test_a_team_reply_in_the_thread_is_the_first_response_and_is_not_posted_again(
    client: Client, channels: Account, lena_in_slack: Person, handbook_policies: Any
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    conversation = Conversation.objects.get()
    first = SlaClock.objects.get(conversation=conversation, target="first_response")
    assert first.stopped_at is None
    deliver(client, message(CUSTOMER, "U0LENA", 600, "Looking now", thread=10))
    reply = conversation.messages.get(kind="reply")
    assert reply.author == lena_in_slack
    assert reply.created_at == at(600)
    first.refresh_from_db()
    assert first.stopped_at == at(600)
    assert first.stopped_by == "reply"
    conversation.refresh_from_db()
    assert conversation.first_responded_at == at(600)
    assert not OutboxMessage.objects.filter(channel="slack").exists()


def test_team_chatter_bots_and_other_channels_are_ignored(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, "U0LENA", 10, "Heads-up: maintenance tonight"))
    deliver(client, message(CUSTOMER, "U0LENA", 20, "Thread under my own post", thread=10))
    deliver(client, message("C0RANDOM", WILE, 30, "Anyone here?"))
    deliver(
        client,
        message(CUSTOMER, "U0BOT", 40, "Deploy finished", bot_id="B0DEPLOY", subtype="bot_message"),
    )
    deliver(client, message(CUSTOMER, "U0CERES", 50, "Ceres's own reply", bot_id="B0CERES"))
    deliver(client, message(CUSTOMER, WILE, 60, "", subtype="channel_join"))
    assert not Conversation.objects.exists()


def test_a_customer_answering_under_a_team_post_starts_a_conversation_on_that_thread(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, "U0LENA", 10, "Upgrade to 4.60 is out"))
    deliver(client, message(CUSTOMER, WILE, 20, "It breaks our SSO", thread=10))
    conversation = Conversation.objects.get()
    assert conversation.slack_thread_ts == ts(10)
    deliver(client, message(CUSTOMER, WILE, 30, "Logs attached", thread=10))
    assert conversation.messages.count() == 2


def test_edits_and_deletions_are_mirrored(client: Client, channels: Account) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, message(CUSTOMER, WILE, 20, "password is hunter2", thread=10))
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": CUSTOMER,
        "ts": ts(30),
        "event_ts": ts(30),
        "hidden": True,
        "message": {"type": "message", "user": WILE, "text": "All hosts offline", "ts": ts(10)},
        "previous_message": {
            "type": "message",
            "user": WILE,
            "text": "Hosts offline",
            "ts": ts(10),
        },
    }
    deliver(client, edited)
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": CUSTOMER,
        "ts": ts(40),
        "event_ts": ts(40),
        "hidden": True,
        "deleted_ts": ts(20),
        "previous_message": {
            "type": "message",
            "user": WILE,
            "text": "password is hunter2",
            "ts": ts(20),
        },
    }
    deliver(client, deleted)
    first, second = Message.objects.order_by("created_at")
    assert (first.body, first.edited_at) == ("All hosts offline", at(30))
    assert (second.body, second.deleted_at) == ("", at(40))
    assert AuditEntry.objects.filter(action="conversation.message_edited").count() == 1
    assert AuditEntry.objects.filter(action="conversation.message_deleted").count() == 1
    # Edits of unknown messages change nothing.
    deliver(client, dict(edited, message={"ts": ts(999), "text": "?"}))
    assert Message.objects.count() == 2


def test_the_same_message_twice_is_recorded_once(client: Client, channels: Account) -> None:
    """Slack can send one message under two event ids (e.g. after an app reinstall)."""
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, message(CUSTOMER, WILE, 20, "More", thread=10))
    deliver(client, message(CUSTOMER, WILE, 20, "More", thread=10))
    assert Message.objects.count() == 2


def test_a_file_without_text_is_still_a_message(client: Client, channels: Account) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "", subtype="file_share", files=[{"id": "F1"}]))
    assert "file" in Conversation.objects.get().messages.get().body


@pytest.mark.parametrize(
    "broken",
    [
        {"type": "message", "channel": CUSTOMER, "user": WILE, "text": "no ts"},
        {"type": "message", "channel": CUSTOMER, "user": WILE, "ts": "yesterday", "text": "x"},
        {"type": "message", "channel": ["C0ACME"], "user": WILE, "ts": ts(1), "text": "x"},
        {"type": "message", "subtype": "message_changed", "channel": CUSTOMER, "message": "x"},
        {"type": "message", "subtype": "message_deleted", "channel": CUSTOMER},
    ],
)
def test_malformed_message_events_are_processed_without_effect(
    client: Client, channels: Account, broken: dict[str, Any]
) -> None:
    deliver(client, broken)
    assert not Conversation.objects.exists()


def test_replies_written_in_ceres_go_to_the_thread_through_the_outbox(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    conversation = Conversation.objects.get()
    conversation_services.reply(
        actor=lena_in_slack.user, conversation=conversation, body="Restart the agent, please."
    )
    outbox = OutboxMessage.objects.get(channel="slack")
    assert outbox.payload == {
        "method": "chat.postMessage",
        "args": {"channel": CUSTOMER, "thread_ts": ts(10), "text": "Restart the agent, please."},
    }
    assert outbox.ordering_key == f"slack:{CUSTOMER}:{ts(10)}"


def test_a_reply_to_the_community_passes_the_confidentiality_firewall(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    from ceres.core.errors import ConfidentialLeak

    deliver(client, message(COMMUNITY, STRANGER, 10, "Who else uses this?"))
    conversation = Conversation.objects.get()
    with pytest.raises(ConfidentialLeak):
        conversation_services.reply(
            actor=lena_in_slack.user,
            conversation=conversation,
            body=f"{channels.legal_name} does, at scale.",
        )
    assert not OutboxMessage.objects.filter(channel="slack").exists()
    assert conversation.messages.filter(kind="reply").count() == 0


def test_policies_see_slack_conversations_as_customer_or_community(
    client: Client, channels: Account, handbook_policies: dict[str, SlaPolicy]
) -> None:
    deliver(client, message(COMMUNITY, STRANGER, 10, "Question"))
    clock = SlaClock.objects.get(target="first_response")
    assert clock.policy == handbook_policies["community-slack"]
    assert clock.due_at == at(10) + datetime.timedelta(hours=24)


# --- reactions as commands -------------------------------------------------------------------


def reaction(user: str, name: str, on: float, seconds: float) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": name,
        "item_user": WILE,
        "item": {"type": "message", "channel": CUSTOMER, "ts": ts(on)},
        "event_ts": ts(seconds),
    }


def test_a_check_mark_from_the_team_closes_with_the_message_as_closure_note(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, message(CUSTOMER, "U0LENA", 20, "Fixed in 4.61: upgrade, please.", thread=10))
    deliver(client, reaction("U0LENA", "white_check_mark", on=20, seconds=30))
    conversation = Conversation.objects.get()
    assert conversation.status == "closed"
    assert conversation.closure_note == "Fixed in 4.61: upgrade, please."
    entry = AuditEntry.objects.filter(action="conversation.update").last()
    assert entry is not None
    assert entry.actor == lena_in_slack.user


def test_eyes_mark_the_conversation_investigating(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, reaction("U0LENA", "eyes", on=10, seconds=20))
    conversation = Conversation.objects.get()
    assert list(conversation.tags.values_list("name", flat=True)) == ["investigating"]
    assert conversation.status == "open"


def test_reactions_from_customers_unknown_reactions_and_unknown_messages_do_nothing(
    client: Client, channels: Account, lena_in_slack: Person
) -> None:
    deliver(client, message(CUSTOMER, WILE, 10, "Hosts offline"))
    deliver(client, reaction(WILE, "white_check_mark", on=10, seconds=20))  # the customer
    deliver(client, reaction("U0LENA", "tada", on=10, seconds=30))  # not a command
    deliver(client, reaction("U0LENA", "white_check_mark", on=999, seconds=40))  # unknown msg
    deliver(client, {"type": "reaction_added", "user": "U0LENA", "reaction": "eyes"})  # no item
    conversation = Conversation.objects.get()
    assert conversation.status == "open"
    assert not conversation.tags.exists()
