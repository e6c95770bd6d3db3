"""J1, the Saturday-night emergency (shared/JOURNEYS.md), as a whole: the applied demo playbook,
signed Slack events and presses, the inbox and outbox as the worker runs them, the official
Slack and Twilio SDKs against their fakes, and the infrastructure first responder paged by the
demo's alarm chain (step 3)."""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.accounts import services as account_services
from ceres.accounts.models import Account
from ceres.conversations.models import Conversation
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import deliver_message
from ceres.oncall.models import Alarm
from ceres.oncall.selectors import on_call_now
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.sla.models import SlaClock
from ceres.team.models import Person
from tests.fakes.slack import SlackFake
from tests.fakes.twilio import TwilioFake
from tests.slack.conftest import EVENTS, INTERACTIVITY, SECRET, event_callback, signed_headers

pytestmark = pytest.mark.django_db

CHANNEL = "C0ACME"
CHAMPION, COLLEAGUE = "U0WILE", "U0ROADRUN"
RAVI = "U0RAVINF1"  # the demo's infrastructure engineer, on call tonight
CHICAGO = datetime.timezone(datetime.timedelta(hours=-6))
SATURDAY_2210 = datetime.datetime(2026, 11, 28, 22, 10, tzinfo=CHICAGO)


def ts(moment: datetime.datetime) -> str:
    return f"{int(moment.timestamp())}.000000"


@pytest.fixture
def world(
    settings: Settings, slack_fake: SlackFake, twilio_fake: TwilioFake
) -> tuple[Account, SlackFake, TwilioFake]:
    settings.CERES_SLACK_SIGNING_SECRET = SECRET
    settings.CERES_SLACK_API_URL = slack_fake.api_url
    settings.CERES_SLACK_BOT_TOKEN = slack_fake.token
    settings.CERES_SLACK_TIMEOUT = 5
    settings.CERES_TWILIO_ACCOUNT_SID = twilio_fake.account_sid
    settings.CERES_TWILIO_AUTH_TOKEN = twilio_fake.auth_token
    settings.CERES_TWILIO_FROM = "+15555550199"
    settings.CERES_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.CERES_TWILIO_API_URL = twilio_fake.url
    settings.CERES_TWILIO_TIMEOUT = 5
    slack_fake.add_channel(CHANNEL, "ext-acme")
    slack_fake.add_user(CHAMPION, "wile", real_name="Wile Coyote")
    slack_fake.add_user(COLLEAGUE, "roadrunner", real_name="Road Runner")
    # The demo's first responders and the alarm channel (the handbook's #help-p1).
    slack_fake.add_user(RAVI, "ravi", real_name="Ravi Menon")
    slack_fake.add_user("U0JONINF2", "jonas", real_name="Jonas Berg")
    slack_fake.add_channel("C0HELPP1", "help-p1")
    apply_path(DEMO_PLAYBOOK)
    lena = Person.objects.get(user__username="lena")
    acme = account_services.create_account(
        actor=lena.user,
        legal_name="Acme Robotics",
        codename="Kamo`oalewa",
        product="premium",
        slack_channel_id=CHANNEL,
    )
    account_services.add_contact(
        actor=lena.user,
        account=acme,
        name="Wile Coyote",
        email="wile@acme-robotics.example",
        role="champion",
        slack_user_id=CHAMPION,
    )
    return acme, slack_fake, twilio_fake


def work() -> None:
    """What the worker does: process the inbox, then deliver the outbox, until both are idle
    (a failed delivery is made due again at once, as time would)."""
    for _ in range(10):
        events = InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).order_by("pk")
        for event in events:
            process_event(inbound_event_id=event.pk)
        pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
        if not events and not pending.exists():
            return
        for message in pending.order_by("pk"):
            OutboxMessage.objects.filter(pk=message.pk).update(
                next_attempt_at=datetime.datetime.now(tz=datetime.UTC)
            )
            deliver_message(message_id=message.pk)


def slack_event(client: Client, event: dict[str, Any], event_id: str, retry: int = 0) -> None:
    body = json.dumps(event_callback(event, event_id=event_id)).encode()
    extra = {"HTTP_X_SLACK_RETRY_NUM": str(retry)} if retry else {}
    response = client.post(
        EVENTS, data=body, content_type="application/json", **signed_headers(body), **extra
    )
    assert response.status_code == 200


def press(client: Client, notice: dict[str, Any], who: str, option: str, n: int) -> None:
    """A press of the notice's button as Ceres posted it (a double click reaches Ceres
    before the notice is updated)."""
    button = next(e for e in notice["blocks"][1]["elements"] if e["value"] == option)
    payload = {
        "type": "block_actions",
        "trigger_id": f"4242.{n}.feed",
        "user": {"id": who},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": notice["ts"]},
        "message": {"ts": notice["ts"], "thread_ts": notice.get("thread_ts")},
        "actions": [{"type": "button", "action_id": button["action_id"], "value": option}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post(
        INTERACTIVITY,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **signed_headers(body),
    )
    assert response.status_code == 200


def test_j1_the_saturday_night_emergency(
    client: Client, world: tuple[Account, SlackFake, TwilioFake]
) -> None:
    acme, slack, twilio = world
    # 1. Saturday 22:10, the champion posts in Acme's shared channel (Slack retries it twice).
    message = {
        "type": "message",
        "channel": CHANNEL,
        "user": CHAMPION,
        "text": "All hosts went offline after the upgrade.",
        "ts": ts(SATURDAY_2210),
        "event_ts": ts(SATURDAY_2210),
    }
    slack_event(client, message, "EvJ1a")
    slack_event(client, message, "EvJ1a", retry=1)
    slack_event(client, message, "EvJ1a", retry=2)
    work()

    # 2. A conversation for Acme, premium, due 02:10 Sunday; the notice in the thread, with
    #    buttons for a P0 or P1 incident.
    conversation = Conversation.objects.get()
    assert conversation.account == acme
    first = SlaClock.objects.get(conversation=conversation, target="first_response")
    assert first.due_at == datetime.datetime(2026, 11, 29, 2, 10, tzinfo=CHICAGO)
    notices = [m for m in slack.messages(CHANNEL) if m.get("blocks")]
    assert len(notices) == 1
    assert notices[0]["thread_ts"] == ts(SATURDAY_2210)
    assert "outside business hours" in notices[0]["text"]
    labels = [e["text"]["text"] for e in notices[0]["blocks"][1]["elements"]]
    assert labels == ["P0 incident", "P1 incident"]

    # 3. A colleague's press is refused; the champion presses P0: one SMS to the VP (Twilio
    #    fails once first), the conversation becomes P0; pressing again changes nothing.
    notice = notices[0]
    press(client, notice, COLLEAGUE, "P0", 1)
    work()
    assert twilio.sent == []
    refusal = slack.calls("chat.postEphemeral")
    assert len(refusal) == 1
    assert refusal[0].params["user"] == COLLEAGUE
    assert "Only the person who asked" in refusal[0].params["text"]
    twilio.fail_next("messages.create", status=500)
    press(client, notice, CHAMPION, "P0", 2)
    work()
    press(client, notice, CHAMPION, "P0", 3)
    press(client, notice, CHAMPION, "P1", 4)
    work()
    vp_texts = [sms for sms in twilio.sent if sms["to"] == "+15555550100"]  # Ada Ortiz, VP
    assert len(vp_texts) == 1
    assert "P0 emergency" in vp_texts[0]["body"]
    assert "Acme" not in vp_texts[0]["body"]  # an SMS names the codename
    # The infrastructure first responder on call is paged by the alarm chain, once: Slack DM
    # with Acknowledge / Resolve, and SMS; the alarm is posted to #help-p1.
    responder = on_call_now("infrastructure-oncall")
    assert responder is not None
    pages = [sms for sms in twilio.sent if sms["to"] == responder.phone]
    assert len(pages) == 1
    assert "P0 emergency from Kamo`oalewa" in pages[0]["body"]
    assert "Acme" not in pages[0]["body"]
    assert len(twilio.sent) == 2
    dm = slack.messages(slack.dm_channel(responder.slack_user_id) or "none")
    assert len(dm) == 1
    assert [e["text"]["text"] for e in dm[0]["blocks"][1]["elements"]] == [
        "Acknowledge",
        "Resolve",
    ]
    alarm = Alarm.objects.get()
    assert alarm.policy is not None
    assert alarm.policy.key == "infrastructure-alarm"
    assert len(slack.messages("C0HELPP1")) == 1
    conversation.refresh_from_db()
    assert conversation.priority == "P0"
    updated = slack.calls("chat.update")
    assert len(updated) == 1
    assert "Escalated as a P0" in json.dumps(updated[0].params)

    # 4. 22:25, the first responder answers in the thread: first response met, 15 minutes.
    answer = {
        "type": "message",
        "channel": CHANNEL,
        "user": RAVI,
        "text": "On it: rolling the upgrade back now.",
        "ts": ts(SATURDAY_2210 + datetime.timedelta(minutes=15)),
        "thread_ts": ts(SATURDAY_2210),
        "event_ts": ts(SATURDAY_2210 + datetime.timedelta(minutes=15)),
    }
    slack_event(client, answer, "EvJ1b")
    slack_event(client, answer, "EvJ1b", retry=1)
    work()
    first = SlaClock.objects.get(conversation=conversation, target="first_response")
    assert first.met is True
    assert first.stopped_at is not None
    assert first.stopped_at - first.started_at == datetime.timedelta(minutes=15)

    # 5. Nothing doubled or lost: one conversation, two messages from Slack, one notice, one
    #    text; every event processed and every outbound message sent.
    assert Conversation.objects.count() == 1
    assert sorted(conversation.messages.values_list("kind", "is_automatic")) == [
        ("inbound", False),
        ("reply", False),
        ("reply", True),
    ]
    assert InboundEvent.objects.filter(provider="slack").count() == 6  # 2 messages, 4 presses
    assert not InboundEvent.objects.exclude(status=InboundEvent.Status.PROCESSED).exists()
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
