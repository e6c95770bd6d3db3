"""A requester Ceres does not know gets their Slack display name, looked up after the fact."""

from __future__ import annotations

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from ceres.conversations import services as conversation_services
from ceres.conversations.models import Conversation
from ceres.slack.tasks import look_up_requester_name
from tests.fakes.slack import SlackFake

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(slack_fake: SlackFake, settings: Settings) -> SlackFake:
    settings.CERES_SLACK_API_URL = slack_fake.api_url
    settings.CERES_SLACK_BOT_TOKEN = slack_fake.token
    settings.CERES_SLACK_TIMEOUT = 2
    slack_fake.add_user("U0STRANGER", "marvin", real_name="Marvin Martian")
    return slack_fake


def community(user: str = "U0STRANGER") -> Conversation:
    return conversation_services.open_conversation(
        actor=None,
        source="slack",
        subject="How do I enroll a Mac?",
        body="How do I enroll a Mac?",
        requester_slack_user_id=user,
        slack_channel_id="C0FLEET",
        slack_thread_ts="1764633600.000100",
    )


def test_the_display_name_is_filled_in(slack: SlackFake) -> None:
    conversation = community()
    assert look_up_requester_name.call(conversation_id=conversation.pk) == "named"
    conversation.refresh_from_db()
    assert conversation.requester_name == "marvin"
    assert conversation.messages.get().author_name == "marvin"
    assert look_up_requester_name.call(conversation_id=conversation.pk) == "nothing to do"


def test_failures_leave_the_slack_id(slack: SlackFake, settings: Settings) -> None:
    unknown = community("U0NOBODY")
    assert look_up_requester_name.call(conversation_id=unknown.pk) == "look-up failed"
    slack.fail_next("users.info", status=500)
    down = community()
    assert look_up_requester_name.call(conversation_id=down.pk) == "look-up failed"
    settings.CERES_SLACK_BOT_TOKEN = ""
    assert look_up_requester_name.call(conversation_id=down.pk) == "no Slack user or no token"
    assert not Conversation.objects.exclude(requester_name="").exists()


def test_the_handler_asks_after_the_commit(
    slack: SlackFake, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    from django.test import Client

    from ceres.slack.models import CommunityChannel
    from tests.slack.conftest import SECRET, event_callback, post_event

    assert SECRET  # the signing secret tests/slack's fixture sets
    CommunityChannel.objects.create(channel_id="C0FLEET", name="fleet")
    event = {
        "type": "message",
        "channel": "C0FLEET",
        "user": "U0STRANGER",
        "text": "How do I enroll a Mac?",
        "ts": "1764633600.000100",
    }
    post_event(Client(), event_callback(event))
    from ceres.core.inbox.models import InboundEvent
    from ceres.core.inbox.services import process_event

    with django_capture_on_commit_callbacks(execute=True):
        process_event(inbound_event_id=InboundEvent.objects.get(provider="slack").pk)
    assert Conversation.objects.get().requester_name == ""
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(task_path="ceres.slack.tasks.look_up_requester_name")
    assert queued.count() == 1
    # Run it as the worker would.
    assert look_up_requester_name.call(conversation_id=Conversation.objects.get().pk) == "named"
    assert Conversation.objects.get().requester_name == "marvin"
