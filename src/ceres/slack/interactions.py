"""Slack interactions: presses of Ceres's buttons (the after-hours notice's here; other apps'
through `register_button`, e.g. on-call's Acknowledge / Resolve) and the "Add to questions log"
message shortcut. Stored by the interactivity receiver, handled in a task."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import NamedTuple

from ceres.automations.services import press_button
from ceres.conversations.models import Conversation
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.reviews.services import log_question as log_customer_question
from ceres.slack.lookups import conversation_of_thread, designated, recorded_message, team_member
from ceres.slack.messages import TS, parse_button_action_id
from ceres.team.models import Person

log = logging.getLogger(__name__)


def register() -> None:
    register_handler("slack", "interaction.block_actions", on_block_actions)
    register_handler("slack", "interaction.message_action", on_message_action)


class ButtonPress(NamedTuple):
    """A press of a button another app posted, as its handler gets it."""

    action_id: str
    slack_user_id: str
    channel_id: str  # "" when the payload named no usable channel
    message_ts: str  # "" likewise
    message_text: str


ButtonHandler = Callable[[ButtonPress], None]
_BUTTONS: dict[str, ButtonHandler] = {}


def register_button(prefix: str, handler: ButtonHandler) -> None:
    """Send presses of buttons whose action_id starts with `prefix:` to `handler` (called from
    an AppConfig.ready(), so the Slack app needs to know nothing of the app's buttons)."""
    existing = _BUTTONS.get(prefix)
    if existing is not None and existing is not handler:
        raise ValueError(f"Slack buttons {prefix!r} already go to another handler")
    _BUTTONS[prefix] = handler


def on_block_actions(event: InboundEvent) -> None:
    """A press of a button Ceres posted (the after-hours notice's P0/P1 buttons): the rule that
    posted it decides what it does, and whether this person may press it."""

    payload = event.payload
    user = payload.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    channel = payload.get("channel") if isinstance(payload.get("channel"), dict) else {}
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    actions = payload.get("actions")
    if not isinstance(user_id, str) or not isinstance(actions, list):
        return
    channel_id = channel.get("id") or container.get("channel_id") or ""
    message_ts = message.get("ts") or container.get("message_ts") or ""
    for action in actions:
        action_id = str(action.get("action_id", "")) if isinstance(action, dict) else ""
        handler = _BUTTONS.get(action_id.partition(":")[0])
        if handler is not None:
            handler(
                ButtonPress(
                    action_id=action_id,
                    slack_user_id=user_id,
                    channel_id=str(channel_id) if _is_channel_id(channel_id) else "",
                    message_ts=message_ts
                    if isinstance(message_ts, str) and TS.match(message_ts)
                    else "",
                    message_text=str(message.get("text") or ""),
                )
            )
            continue
        parsed = parse_button_action_id(action_id)
        if parsed is None:
            continue
        firing_id, button, option = parsed
        result = press_button(
            firing_id=firing_id,
            button=button,
            option=option,
            slack_user_id=user_id,
            channel_id=str(channel_id) if _is_channel_id(channel_id) else "",
            message_ts=str(message_ts)
            if isinstance(message_ts, str) and TS.match(message_ts)
            else "",
        )
        log.info("slack button %s pressed by %s: %s", action.get("action_id"), user_id, result)


def _is_channel_id(value: object) -> bool:
    return isinstance(value, str) and re.match(r"^[CDG][A-Z0-9]{2,29}$", value) is not None


# --- the customer-questions log --------------------------------------------------------------

QUESTIONS_LOG_SHORTCUT = "questions_log"  # the message shortcut's callback_id (the manifest)


def permalink(domain: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """Slack's link to a message (https://<workspace>.slack.com/archives/<channel>/p<ts>)."""
    if not re.match(r"^[a-z0-9-]{1,60}$", domain):
        return ""
    link = f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def log_question(
    *,
    member: Person,
    text: str,
    channel: str,
    ts: str,
    conversation: Conversation | None,
    link: str,
) -> None:

    place = designated(channel)
    log_customer_question(
        actor=member.user,
        text=text,
        logged_by=member,
        link=link,
        account=place.account if place is not None else None,
        conversation=conversation,
        slack_channel_id=channel,
        slack_ts=ts,
    )


def on_message_action(event: InboundEvent) -> None:
    """The "Add to questions log" message shortcut (the handbook's "send to Zapier"): a team
    member sends a customer's question to the log, with a link back to it."""

    payload = event.payload
    if payload.get("callback_id") != QUESTIONS_LOG_SHORTCUT:
        return
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    channel = payload.get("channel") if isinstance(payload.get("channel"), dict) else {}
    team = payload.get("team") if isinstance(payload.get("team"), dict) else {}
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    member = team_member(str(user.get("id") or ""))
    channel_id, ts = channel.get("id"), message.get("ts")
    if member is None or not isinstance(channel_id, str) or not isinstance(ts, str):
        return
    if not TS.match(ts) or not _is_channel_id(channel_id):
        return
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return
    thread_ts = message.get("thread_ts") if isinstance(message.get("thread_ts"), str) else None

    recorded = recorded_message(channel_id, ts)
    conversation = recorded.conversation if recorded is not None else None
    if conversation is None and thread_ts:
        conversation = conversation_of_thread(channel_id, thread_ts)
    log_question(
        member=member,
        text=text,
        channel=channel_id,
        ts=ts,
        conversation=conversation,
        link=permalink(str(team.get("domain") or ""), channel_id, ts, thread_ts),
    )
