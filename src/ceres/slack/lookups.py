"""What Slack ids mean in Ceres: a designated channel, a team member, a recorded message, the
conversation of a thread. Shared by the event handlers and the interactions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from ceres.accounts.models import Account
from ceres.conversations.models import Conversation, Message
from ceres.slack.messages import TS
from ceres.slack.models import CommunityChannel
from ceres.team.models import Person


@dataclass(frozen=True)
class Place:
    """A designated channel: an account's shared channel, or a community channel."""

    channel_id: str
    account: Account | None


def designated(channel_id: str) -> Place | None:
    account = Account.objects.select_related("codename").filter(slack_channel_id=channel_id).first()
    if account is not None:
        return Place(channel_id, account)
    if CommunityChannel.objects.filter(channel_id=channel_id).exists():
        return Place(channel_id, None)
    return None


def external_id(channel_id: str, ts: str) -> str:
    """A Slack message's id in Ceres: its channel and timestamp (unique in a workspace)."""
    return f"slack:{channel_id}:{ts}"


def ts_time(ts: str) -> datetime.datetime:
    seconds, _, fraction = ts.partition(".")
    instant = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)
    return instant + datetime.timedelta(microseconds=int((fraction + "000000")[:6]))


def conversation_of_thread(channel_id: str, thread_ts: str) -> Conversation | None:
    """The conversation a thread belongs to: the one started by its parent message, or the one
    the parent message joined."""
    found = Conversation.objects.filter(
        slack_channel_id=channel_id, slack_thread_ts=thread_ts
    ).first()
    if found is not None:
        return found
    message = (
        Message.objects.select_related("conversation")
        .filter(external_id=external_id(channel_id, thread_ts))
        .first()
    )
    return message.conversation if message is not None else None


def team_member(user_id: str) -> Person | None:
    if not user_id:
        return None
    return (
        Person.objects.select_related("user").filter(slack_user_id=user_id, is_active=True).first()
    )


def recorded_message(channel: Any, ts: Any) -> Message | None:
    if not (isinstance(channel, str) and isinstance(ts, str) and TS.match(ts)):
        return None
    return (
        Message.objects.select_related("conversation")
        .filter(external_id=external_id(channel, ts))
        .first()
    )
