"""Reading from Slack after the fact: the display name of a requester Ceres does not know (a
community member, a customer not yet among the account's contacts). A name is a comfort, not a
promise: a failed look-up leaves the Slack id shown and is not retried."""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task
from slack_sdk.errors import SlackApiError

from ceres.conversations import services as conversations
from ceres.conversations.models import Conversation
from ceres.slack.client import web_client

log = logging.getLogger(__name__)


@task()
def look_up_requester_name(conversation_id: int) -> str:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None or conversation.requester_name:
        return "nothing to do"
    user_id = conversation.requester_slack_user_id
    if not user_id or not settings.CERES_SLACK_BOT_TOKEN:
        return "no Slack user or no token"
    try:
        answer = web_client().users_info(user=user_id)
    except (SlackApiError, OSError) as exc:  # OSError: timeouts and refused connections
        log.info("slack users.info for %s failed: %s", user_id, exc)
        return "look-up failed"
    user = answer.get("user") or {}
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or ""
    if not isinstance(name, str) or not name.strip():
        return "no name"
    conversations.set_requester_name(conversation=conversation, name=name)
    return "named"
