"""The "slack" outbox channel against the Slack fake, through the real outbox: `enqueue`, then
`deliver_message` as a worker would run it (with `now=` standing for the passing of time)."""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from pytest_django import Settings

from ceres.core.errors import Invalid
from ceres.core.outbox import services
from ceres.core.outbox.channels import get_channel, retry_after
from ceres.core.outbox.models import OutboxMessage
from ceres.slack.outbox import METADATA_EVENT_TYPE, post_in_thread, send_dm
from tests.fakes.slack import SlackCall, SlackFake

pytestmark = pytest.mark.django_db
Status = OutboxMessage.Status
CHANNEL = "C0ACME"
LEASE = 60


@pytest.fixture
def slack(slack_fake: SlackFake, settings: Settings) -> SlackFake:
    slack_fake.clock = time.time  # Slack's timestamps are the time of posting
    slack_fake.add_channel(CHANNEL, "acme-robotics")
    slack_fake.add_user("U0LENA", "lena", real_name="Lena Park", email="lena@example.com")
    slack_fake.add_user("U0SAM", "sam", real_name="Sam Engel", email="sam@example.com")
    slack_fake.add_usergroup("S0ONCALL", "cs-oncall", users=["U0LENA"])
    settings.CERES_SLACK_API_URL = slack_fake.api_url
    settings.CERES_SLACK_BOT_TOKEN = slack_fake.token
    settings.CERES_SLACK_TIMEOUT = 5
    settings.CERES_RETRY_BASE_SECONDS = 10
    settings.CERES_RETRY_MAX_SECONDS = 3600
    settings.CERES_OUTBOX_MAX_ATTEMPTS = 5
    settings.CERES_OUTBOX_LEASE_SECONDS = LEASE
    return slack_fake


@pytest.fixture
def thread(slack: SlackFake) -> str:
    """A customer's question in #acme-robotics: the thread Ceres replies in."""
    ts: str = slack.client().chat_postMessage(channel=CHANNEL, text="Our fleet is offline")["ts"]
    return ts


def reply(key: str, thread: str | None, text: str = "Looking into it now") -> OutboxMessage:
    return post_in_thread(idempotency_key=key, channel=CHANNEL, thread_ts=thread, text=text)


def deliver(message: OutboxMessage, now: datetime.datetime | None = None) -> str:
    return services.deliver_message(message_id=message.pk, now=now)


def deliver_when_due(message: OutboxMessage) -> str:
    """The worker's retry task, run when it is due."""
    message.refresh_from_db()
    return deliver(message, now=max(timezone.now(), message.next_attempt_at))


def replies_in(slack: SlackFake, thread: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == thread]


def outbox_posts(slack: SlackFake) -> list[SlackCall]:
    """chat.postMessage calls made by the outbox (they carry metadata; the test's own don't)."""
    return [c for c in slack.calls("chat.postMessage") if "metadata" in c.params]


def keys_of(messages: list[dict[str, Any]]) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in messages]


# --- the calls ---------------------------------------------------------------------------------


def test_a_reply_is_posted_into_its_thread_with_its_key_in_metadata(
    slack: SlackFake, thread: str
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Looking* into it"}}]
    message = post_in_thread(
        idempotency_key="conversation-7-reply-1",
        channel=CHANNEL,
        thread_ts=thread,
        text="Looking into it",
        blocks=blocks,
    )
    assert message.ordering_key == f"slack:{CHANNEL}:{thread}"

    assert deliver(message) == Status.SENT

    [posted] = replies_in(slack, thread)
    assert posted["text"] == "Looking into it"
    assert posted["blocks"] == blocks
    assert posted["metadata"] == {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"key": "conversation-7-reply-1"},
    }
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_reference == posted["ts"]
    assert message.attempts == 1
    [call] = outbox_posts(slack)
    assert call.token == slack.token
    assert call.params["thread_ts"] == thread
    # A first attempt has nothing to look for.
    assert slack.calls("conversations.replies") == []


def test_a_top_level_post(slack: SlackFake) -> None:
    message = reply("announcement-1", None, text="Maintenance tonight")
    assert message.ordering_key == f"slack:{CHANNEL}:top"
    assert deliver(message) == Status.SENT
    [posted] = slack.messages(CHANNEL)
    assert "thread_ts" not in posted
    message.refresh_from_db()
    assert message.provider_reference == posted["ts"]


def test_a_direct_message_opens_the_dm_then_posts(slack: SlackFake) -> None:
    message = send_dm(idempotency_key="dm-lena-1", user="U0LENA", text="A new conversation")
    assert message.ordering_key == "slack-dm:U0LENA"

    assert deliver(message) == Status.SENT

    assert [c.method for c in slack.calls()] == ["conversations.open", "chat.postMessage"]
    dm = slack.dm_channel("U0LENA")
    assert dm is not None
    [posted] = slack.messages(dm)
    assert posted["text"] == "A new conversation"
    assert keys_of([posted]) == ["dm-lena-1"]
    message.refresh_from_db()
    assert message.provider_reference == posted["ts"]


def test_update_reaction_and_user_group(slack: SlackFake) -> None:
    ts = slack.client().chat_postMessage(channel=CHANNEL, text="draft")["ts"]
    calls = [
        {"method": "chat.update", "args": {"channel": CHANNEL, "ts": ts, "text": "final"}},
        {
            "method": "reactions.add",
            "args": {"channel": CHANNEL, "timestamp": ts, "name": ":eyes:"},
        },
        # The same reaction again (another effect, or a retry of one that went through):
        # Slack answers already_reacted, which is a success.
        {"method": "reactions.add", "args": {"channel": CHANNEL, "timestamp": ts, "name": "eyes"}},
        {
            "method": "usergroups.users.update",
            "args": {"usergroup": "S0ONCALL", "users": ["U0SAM", "U0LENA", "U0SAM"]},
        },
    ]
    messages = [
        services.enqueue(channel="slack", idempotency_key=f"call-{n}", payload=payload)
        for n, payload in enumerate(calls)
    ]
    assert messages[1].payload["args"]["name"] == "eyes"
    assert messages[3].payload["args"]["users"] == ["U0SAM", "U0LENA"]

    assert [deliver(m) for m in messages] == [Status.SENT] * 4

    [final] = slack.messages(CHANNEL)
    assert final["text"] == "final"
    assert final["reactions"] == [{"name": "eyes", "users": [slack.bot_user_id], "count": 1}]
    assert slack.calls("reactions.add")[1].response["error"] == "already_reacted"
    assert slack.usergroup("S0ONCALL")["users"] == ["U0SAM", "U0LENA"]
    references = [m.provider_reference for m in OutboxMessage.objects.order_by("pk")]
    assert references == [ts, ts, ts, "S0ONCALL"]


# --- failures ----------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_sends(slack: SlackFake, thread: str) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    message = reply("r-429", thread)
    now = timezone.now()

    assert deliver(message, now=now) == Status.PENDING

    message.refresh_from_db()
    assert (message.next_attempt_at - now).total_seconds() == pytest.approx(7, abs=0.01)
    assert "RetryLater" in message.last_error
    assert "rate limited" in message.last_error
    assert replies_in(slack, thread) == []
    assert deliver(message, now=now + datetime.timedelta(seconds=6.9)) == "skipped"
    assert deliver(message, now=message.next_attempt_at) == Status.SENT
    assert len(replies_in(slack, thread)) == 1


def test_ratelimited_without_retry_after_backs_off(slack: SlackFake, thread: str) -> None:
    slack.fail_next("chat.postMessage", error="ratelimited")
    message = reply("r-ratelimited", thread)
    now = timezone.now()
    assert deliver(message, now=now) == Status.PENDING
    message.refresh_from_db()
    assert 5 <= (message.next_attempt_at - now).total_seconds() <= 10.5  # the ordinary backoff
    assert deliver_when_due(message) == Status.SENT


def test_a_503_with_retry_after_is_honoured(slack: SlackFake, thread: str) -> None:
    slack.fail_next("chat.postMessage", status=503, retry_after=30)
    message = reply("r-503", thread)
    now = timezone.now()
    assert deliver(message, now=now) == Status.PENDING
    message.refresh_from_db()
    assert (message.next_attempt_at - now).total_seconds() == pytest.approx(30, abs=0.01)


def test_server_errors_are_retried_and_post_once(slack: SlackFake, thread: str) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)
    message = reply("r-500", thread)

    outcomes = [deliver(message), deliver_when_due(message), deliver_when_due(message)]

    assert outcomes == [Status.PENDING, Status.PENDING, Status.SENT]
    [posted] = replies_in(slack, thread)
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.provider_reference == posted["ts"]
    assert message.last_error == ""
    # The 2nd and 3rd attempts looked for an earlier post before posting.
    assert len(slack.calls("conversations.replies")) == 2
    assert [c.status for c in outbox_posts(slack)] == [500, 500, 200]


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("C0NOWHERE", "channel_not_found"),
        ("C0ARCHIVED", "is_archived"),
        ("C0OUTSIDE", "not_in_channel"),
        ("U0NOBODY", "user_not_found"),
    ],
)
def test_a_request_slack_refuses_is_dead_at_once(slack: SlackFake, where: str, error: str) -> None:
    slack.add_channel("C0ARCHIVED", "old-customer", is_archived=True)
    slack.add_channel("C0OUTSIDE", "not-invited", is_member=False)
    if where.startswith("U"):
        message = send_dm(idempotency_key="bad", user=where, text="hello")
    else:
        message = post_in_thread(idempotency_key="bad", channel=where, thread_ts=None, text="hi")

    assert deliver(message) == Status.DEAD

    message.refresh_from_db()
    assert message.attempts == 1
    assert "PermanentFailure" in message.last_error
    assert error in message.last_error
    assert slack.messages() == []


@pytest.mark.parametrize("how", ["wrong token", "token_revoked", "account_inactive"])
def test_a_token_error_is_logged_and_retried_not_dead(
    slack: SlackFake,
    thread: str,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    if how == "wrong token":
        settings.CERES_SLACK_BOT_TOKEN = "xoxb-not-the-token"  # Slack answers invalid_auth
    else:
        slack.fail_next("*", error=how)
    message = reply("r-token", thread)

    with caplog.at_level(logging.ERROR):
        assert deliver(message) == Status.PENDING

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "TOKEN" in r.getMessage()]
    assert errors, caplog.text
    message.refresh_from_db()
    assert message.status == Status.PENDING
    # The operator fixes the token; the message was kept and leaves.
    settings.CERES_SLACK_BOT_TOKEN = slack.token
    assert deliver_when_due(message) == Status.SENT
    assert len(replies_in(slack, thread)) == 1


def test_without_a_token_messages_wait_quietly_without_attempts(
    slack: SlackFake,
    thread: str,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack not set up (a laptop demo): messages wait, no attempt is spent, Slack is not
    called, one warning per process instead of one error per message per retry."""
    monkeypatch.setattr(services, "_warned_unconfigured", set())
    settings.CERES_SLACK_BOT_TOKEN = ""
    before = len(slack.requests)  # the thread's parent, posted by the fixture
    first, second = reply("w-1", thread), reply("w-2", thread, text="And another")
    with caplog.at_level(logging.WARNING):
        assert deliver(first) == "skipped"
        assert deliver(second) == "skipped"
    warnings = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
    assert warnings == ["outbox channel slack is not configured: 2 message(s) wait until it is"]
    first.refresh_from_db()
    assert (first.status, first.attempts) == (Status.PENDING, 0)
    assert first.next_attempt_at > timezone.now() + datetime.timedelta(minutes=4)
    assert len(slack.requests) == before  # Slack was not called
    settings.CERES_SLACK_BOT_TOKEN = slack.token  # the operator sets it up
    assert deliver_when_due(first) == Status.SENT
    assert deliver_when_due(second) == Status.SENT
    assert len(replies_in(slack, thread)) == 2


def test_a_hang_longer_than_the_timeout_is_retried(
    slack: SlackFake, thread: str, settings: Settings
) -> None:
    settings.CERES_SLACK_TIMEOUT = 1
    slack.fail_next("chat.postMessage", hang=True)
    message = reply("r-hang", thread)

    started = time.monotonic()
    assert deliver(message) == Status.PENDING
    assert time.monotonic() - started < 3

    message.refresh_from_db()
    assert "timed out" in message.last_error
    assert replies_in(slack, thread) == []
    assert deliver_when_due(message) == Status.SENT
    assert len(replies_in(slack, thread)) == 1


# --- posted once -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "lost"),
    [
        ("thread", {"status": 500}),
        ("thread", {"drop": True}),
        ("thread", {"hang": True}),
        ("top", {"status": 500}),
        ("dm", {"status": 500}),
    ],
)
def test_posted_but_the_answer_was_lost_is_not_posted_again(
    slack: SlackFake, thread: str, settings: Settings, where: str, lost: dict[str, Any]
) -> None:
    settings.CERES_SLACK_TIMEOUT = 1
    if where == "dm":
        message = send_dm(idempotency_key="once", user="U0LENA", text="hello")
    else:
        message = reply("once", thread if where == "thread" else None)
    slack.fail_next("chat.postMessage", apply=True, **lost)

    assert deliver(message) == Status.PENDING  # Slack took it; we could not know
    assert len(outbox_posts(slack)) == 1

    assert deliver_when_due(message) == Status.SENT

    assert len(outbox_posts(slack)) == 1  # not posted again
    [posted] = [m for m in slack.messages() if "metadata" in m]
    assert keys_of([posted]) == ["once"]
    message.refresh_from_db()
    assert message.provider_reference == posted["ts"]
    assert message.attempts == 2
    lookup = "conversations.replies" if where == "thread" else "conversations.history"
    [looked] = slack.calls(lookup)
    assert looked.params["include_all_metadata"] in ("1", "true", True)
    assert looked.params["limit"] == "100"


def test_a_worker_that_dies_mid_call_does_not_post_twice(slack: SlackFake, thread: str) -> None:
    message = reply("r-crash", thread)
    now = timezone.now()
    taken = services.claim(message_id=message.pk, now=now)
    assert taken is not None
    # The worker calls Slack, Slack posts, and the worker dies before recording anything.
    get_channel("slack").send(taken.message)
    assert len(replies_in(slack, thread)) == 1
    assert deliver(message, now=now + datetime.timedelta(seconds=LEASE - 1)) == "skipped"

    later = now + datetime.timedelta(seconds=LEASE + 1)
    assert services.sweep(now=later) == 1  # the expired lease is found
    assert deliver(message, now=later) == Status.SENT

    [posted] = replies_in(slack, thread)
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.provider_reference == posted["ts"]
    assert len(outbox_posts(slack)) == 1


def test_replies_arrive_once_in_order_while_slack_rate_limits(
    slack: SlackFake, thread: str
) -> None:
    slack.fail_next("*", status=429, retry_after=1, times=2)
    texts = ["We see it", "It is the firmware", "Fixed: please restart"]
    messages = [reply(f"r-{n}", thread, text) for n, text in enumerate(texts)]

    now = timezone.now()
    for _ in range(10):  # a worker running every task it has, the newest first
        for message in reversed(messages):
            deliver(message, now=now)
        if not OutboxMessage.objects.exclude(status=Status.SENT).exists():
            break
        now += datetime.timedelta(seconds=2)

    assert [m.status for m in OutboxMessage.objects.order_by("pk")] == [Status.SENT] * 3
    posted = replies_in(slack, thread)
    assert [m["text"] for m in posted] == texts
    assert keys_of(posted) == ["r-0", "r-1", "r-2"]
    assert [m.provider_reference for m in OutboxMessage.objects.order_by("pk")] == [
        m["ts"] for m in posted
    ]
    assert [c.injected for c in slack.calls() if c.injected] == ["status:429", "status:429"]


# --- the payload -------------------------------------------------------------------------------

POST = {"channel": CHANNEL, "text": "hello"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("chat.postMessage", "payload"),
        ({"method": "chat.delete", "args": POST}, "payload.method"),
        ({"method": "chat.postMessage"}, "payload.args"),
        ({"method": "chat.postMessage", "args": POST, "extra": 1}, "payload.extra"),
        ({"method": "chat.postMessage", "args": {"text": "hi"}}, "payload.args.channel"),
        (
            {"method": "chat.postMessage", "args": {**POST, "channel": "#acme"}},
            "payload.args.channel",
        ),
        ({"method": "chat.postMessage", "args": {"channel": CHANNEL}}, "payload.args.text"),
        ({"method": "chat.postMessage", "args": {**POST, "text": "  "}}, "payload.args.text"),
        ({"method": "chat.postMessage", "args": {**POST, "text": 42}}, "payload.args.text"),
        (
            {"method": "chat.postMessage", "args": {**POST, "text": "x" * 40_001}},
            "payload.args.text",
        ),
        (
            {"method": "chat.postMessage", "args": {**POST, "thread_ts": "yesterday"}},
            "payload.args.thread_ts",
        ),
        ({"method": "chat.postMessage", "args": {**POST, "blocks": "bold"}}, "payload.args.blocks"),
        (
            {"method": "chat.postMessage", "args": {**POST, "blocks": [{"text": "x"}]}},
            "payload.args.blocks[0].type",
        ),
        (
            {"method": "chat.postMessage", "args": {**POST, "blocks": [{"type": "divider"}] * 51}},
            "payload.args.blocks",
        ),
        (
            {"method": "chat.postMessage", "args": {**POST, "metadata": {"event_type": "x"}}},
            "payload.args.metadata",
        ),
        ({"method": "chat.update", "args": POST}, "payload.args.ts"),
        (
            {
                "method": "reactions.add",
                "args": {"channel": CHANNEL, "timestamp": "1.2", "name": "two words"},
            },
            "payload.args.name",
        ),
        ({"method": "dm", "args": {"user": CHANNEL, "text": "hi"}}, "payload.args.user"),
        (
            {"method": "usergroups.users.update", "args": {"usergroup": "S0ONCALL", "users": []}},
            "payload.args.users",
        ),
        (
            {
                "method": "usergroups.users.update",
                "args": {"usergroup": "S0ONCALL", "users": ["U0LENA", "lena"]},
            },
            "payload.args.users[1]",
        ),
    ],
)
def test_a_bad_payload_fails_the_callers_transaction(payload: Any, field: str) -> None:
    def change_that_posts() -> None:
        with transaction.atomic():
            post_in_thread(idempotency_key="fine", channel=CHANNEL, thread_ts=None, text="fine")
            services.enqueue(channel="slack", idempotency_key="bad", payload=payload)

    with pytest.raises(Invalid) as refused:
        change_that_posts()
    assert refused.value.field == field
    assert not OutboxMessage.objects.exists()


def test_the_longest_text_slack_takes_is_accepted() -> None:
    message = post_in_thread(
        idempotency_key="long", channel=CHANNEL, thread_ts=None, text="x" * 40_000
    )
    assert len(message.payload["args"]["text"]) == 40_000


def test_retry_after_header_parsing() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": ["2.5"]}) == 2.5
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": "-3"}) == 0.0
    assert retry_after({}) is None
