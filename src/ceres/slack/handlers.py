"""Slack events → conversations. A table of event type → function, run by the inbox in a task
(`core/inbox`), inside the transaction that marks the event processed: a handler writes through
the domain services and never calls Slack itself.

What a message in a designated channel means (docs/slack.md):
- from someone outside the team, top level: a new conversation, or the same person's open
  conversation in that channel when they wrote there within the grouping window;
- from someone outside the team, in a thread Ceres knows: the next message of its conversation
  (reopening it when closed); in a thread Ceres does not know: a new conversation on that thread;
- from a team member in a conversation's thread: a public reply, which stops response clocks
  (it is already in Slack, so it is not posted again);
- from a team member outside customer threads, from a bot (Ceres's own posts included), or in a
  channel nobody designated: nothing.
Edits and deletions of a recorded message are mirrored onto it.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from ceres.accounts.models import Contact
from ceres.conversations import services as conversations
from ceres.conversations.models import Conversation
from ceres.core.errors import Conflict
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.slack import interactions
from ceres.slack.lookups import (
    Place,
    conversation_of_thread,
    designated,
    external_id,
    recorded_message,
    team_member,
    ts_time,
)
from ceres.slack.messages import TS
from ceres.slack.models import ReactionCommand
from ceres.slack.tasks import look_up_requester_name

log = logging.getLogger(__name__)

# Message subtypes that are people writing; every other subtype (joins, topic changes, bot
# messages, …) is not a conversation message.
_WRITTEN = {None, "file_share", "thread_broadcast", "me_message"}
NO_TEXT = "(a file or attachment without text: see it in Slack)"


def register() -> None:
    register_handler("slack", "message", on_message)
    register_handler("slack", "reaction_added", on_reaction)
    interactions.register()


def _requester_name(place: Place, user_id: str) -> str:
    if place.account is not None:
        contact = Contact.objects.filter(account=place.account, slack_user_id=user_id).first()
        if contact is not None:
            return contact.name
    return ""


def _text(event: dict[str, Any]) -> str:
    text = event.get("text")
    return text if isinstance(text, str) and text.strip() else NO_TEXT


def on_message(event: InboundEvent) -> None:
    message: Any = event.payload.get("event")
    if not isinstance(message, dict):
        return
    subtype = message.get("subtype")
    if subtype == "message_changed":
        _edited(message)
    elif subtype == "message_deleted":
        _deleted(message)
    elif subtype in _WRITTEN and not message.get("bot_id"):
        _written(message)


def _written(event: dict[str, Any]) -> None:
    channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
    if not (isinstance(channel, str) and isinstance(user, str) and isinstance(ts, str)):
        return
    if not TS.match(ts):
        return
    place = designated(channel)
    if place is None:
        return
    thread_ts = event.get("thread_ts")
    in_thread = isinstance(thread_ts, str) and TS.match(thread_ts) and thread_ts != ts
    conversation = conversation_of_thread(channel, str(thread_ts)) if in_thread else None
    member = team_member(user)
    at = ts_time(ts)
    text = _text(event)
    key = external_id(channel, ts)
    try:
        if member is not None:
            if conversation is not None:
                conversations.reply(
                    actor=member.user,
                    conversation=conversation,
                    body=text,
                    sent_at=at,
                    external_id=key,
                )
            return  # a team member's message outside customer threads: chatter
        if conversation is None and not in_thread:
            conversation = _recent_conversation(place, user, at)
        if conversation is not None:
            conversations.add_inbound_message(
                conversation=conversation, body=text, received_at=at, external_id=key
            )
            return
        name = _requester_name(place, user)
        opened = conversations.open_conversation(
            actor=None,
            source=Conversation.Source.SLACK,
            subject=text,
            body=text,
            account=place.account,
            requester_name=name,
            requester_slack_user_id=user,
            slack_channel_id=channel,
            slack_thread_ts=str(thread_ts) if in_thread else ts,
            received_at=at,
            external_id=key,
        )
        if not name:
            transaction.on_commit(lambda: _look_up_name(opened.pk))
    except Conflict:
        log.info("slack message %s is already recorded", key)


def _look_up_name(conversation_id: int) -> None:
    look_up_requester_name.enqueue(conversation_id=conversation_id)


def _recent_conversation(place: Place, user: str, at: datetime.datetime) -> Conversation | None:
    """The same person's open conversation in this channel, if they wrote in it within the
    grouping window: several quick top-level messages are one request."""
    window = datetime.timedelta(seconds=settings.CERES_SLACK_GROUP_SECONDS)
    if window <= datetime.timedelta(0):
        return None
    return (
        Conversation.objects.filter(
            slack_channel_id=place.channel_id,
            requester_slack_user_id=user,
            last_customer_message_at__gte=at - window,
            last_customer_message_at__lte=at,
        )
        .exclude(status=Conversation.Status.CLOSED)
        .order_by("-last_customer_message_at")
        .first()
    )


def _edited(event: dict[str, Any]) -> None:
    edited = event.get("message")
    if not isinstance(edited, dict):
        return
    message = recorded_message(event.get("channel"), edited.get("ts"))
    if message is None:
        return
    event_ts = event.get("event_ts") or event.get("ts")
    at = ts_time(event_ts) if isinstance(event_ts, str) and TS.match(event_ts) else None
    conversations.edit_message(message=message, body=_text(edited), edited_at=at)


def _deleted(event: dict[str, Any]) -> None:
    deleted_ts = event.get("deleted_ts")
    if deleted_ts is None and isinstance(event.get("previous_message"), dict):
        deleted_ts = event["previous_message"].get("ts")
    message = recorded_message(event.get("channel"), deleted_ts)
    if message is None:
        return
    event_ts = event.get("event_ts") or event.get("ts")
    at = ts_time(event_ts) if isinstance(event_ts, str) and TS.match(event_ts) else None
    conversations.delete_message(message=message, deleted_at=at)


# --- reactions as commands -------------------------------------------------------------------

INVESTIGATING_TAG = "investigating"


def on_reaction(event: InboundEvent) -> None:
    """A team member's reaction on a message of a conversation runs the reaction's command;
    anyone else's reaction, or one on a message Ceres does not know, is just a reaction."""
    reaction: Any = event.payload.get("event")
    if not isinstance(reaction, dict):
        return
    item = reaction.get("item")
    name, user = reaction.get("reaction"), reaction.get("user")
    if not isinstance(item, dict) or not isinstance(name, str) or not isinstance(user, str):
        return
    command = ReactionCommand.objects.filter(reaction=name.split("::")[0]).first()
    member = team_member(user)
    if command is None or member is None:
        return
    channel, ts = item.get("channel"), item.get("ts")
    message = recorded_message(channel, ts)
    conversation = message.conversation if message is not None else None
    if conversation is None and isinstance(channel, str) and isinstance(ts, str):
        conversation = conversation_of_thread(channel, ts)
    if conversation is None:
        return
    if command.command == ReactionCommand.Command.CLOSE:
        if conversation.is_closed:
            return
        text = message.body if message is not None and message.body else ""
        note = text or f"Closed from Slack by {member.name} (:{name}:)."
        conversations.update_conversation(
            actor=member.user, conversation=conversation, status="closed", closure_note=note
        )
    elif command.command == ReactionCommand.Command.QUESTIONS_LOG:
        if message is not None and message.body:
            interactions.log_question(
                member=member,
                text=message.body,
                channel=str(channel),
                ts=str(ts),
                conversation=conversation,
                link="",
            )
    elif command.command == ReactionCommand.Command.INVESTIGATING:
        names = set(conversation.tags.values_list("name", flat=True)) | {INVESTIGATING_TAG}
        conversations.set_tags(actor=member.user, conversation=conversation, names=names)
