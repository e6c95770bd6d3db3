"""The official slack_sdk WebClient against the Slack fake, over a real socket."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.slack import SlackFake

TS = re.compile(r"[0-9]{10}\.[0-9]{6}")


@pytest.fixture
def slack(slack_fake: SlackFake) -> SlackFake:
    slack_fake.add_channel("C0ACME", "acme-robotics")
    slack_fake.add_user("U0LENA", "lena", real_name="Lena Park", email="lena@example.com")
    slack_fake.add_user("U0SAM", "sam", real_name="Sam Engel", email="sam@example.com")
    slack_fake.add_usergroup("S0ONCALL", "cs-oncall", name="CS on call", users=["U0LENA"])
    return slack_fake


def test_post_message_is_answered_like_slack_and_recorded(slack: SlackFake) -> None:
    client = WebClient(token=slack.token, base_url=slack.url + "/api/", timeout=5)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*SLA* breached"}}]

    first = client.chat_postMessage(channel="C0ACME", text="SLA breached", blocks=blocks)
    second = client.chat_postMessage(channel="C0ACME", text="again", thread_ts=first["ts"])

    assert first["ok"] is True
    assert first["channel"] == "C0ACME"
    assert TS.fullmatch(first["ts"])
    assert TS.fullmatch(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "SLA breached"
    assert first["message"]["blocks"] == blocks
    assert first["message"]["bot_id"] == slack.bot_id
    assert second["message"]["thread_ts"] == first["ts"]
    calls = slack.calls("chat.postMessage")
    assert [c.params["text"] for c in calls] == ["SLA breached", "again"]
    assert calls[0].body_format == "json"
    assert calls[0].params["blocks"] == blocks
    assert calls[0].headers["authorization"] == f"Bearer {slack.token}"
    assert calls[0].token == slack.token
    assert calls[0].status == 200
    assert calls[0].response["ts"] == first["ts"]
    assert [m["text"] for m in slack.messages("C0ACME")] == ["SLA breached", "again"]


def test_wrong_or_missing_token(slack: SlackFake) -> None:
    with pytest.raises(SlackApiError) as wrong:
        slack.client(token="xoxb-not-the-token").chat_postMessage(channel="C0ACME", text="x")
    assert wrong.value.response["error"] == "invalid_auth"
    assert wrong.value.response.status_code == 200

    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert slack.messages() == []
    assert [c.token for c in slack.calls()] == ["xoxb-not-the-token", None]


def test_token_in_a_form_body_is_accepted(slack: SlackFake) -> None:
    # The SDK always moves the token to the header; other clients post it in the form body.
    body = urlencode({"token": slack.token, "user": "U0LENA"}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", slack.port, timeout=5)
    connection.request(
        "POST",
        "/api/users.info",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert answer["ok"]
    assert answer["user"]["name"] == "lena"
    [call] = slack.calls("users.info")
    assert call.body_format == "form"
    assert call.token == slack.token
    assert "authorization" not in call.headers


def test_unknown_method(slack: SlackFake) -> None:
    with pytest.raises(SlackApiError) as raised:
        slack.client().api_call("chat.postMesage", json={"channel": "C0ACME", "text": "x"})
    assert raised.value.response["error"] == "unknown_method"


def test_rate_limited_answer_carries_retry_after(slack: SlackFake) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=2)
    client = slack.client(retry_handlers=[])

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0ACME", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "2"
    assert client.chat_postMessage(channel="C0ACME", text="x")["ok"]  # one-shot
    assert [c.injected for c in slack.calls("chat.postMessage")] == ["status:429", None]


def test_sdk_rate_limit_handler_waits_retry_after_and_retries_once(
    slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slept.append))
    slack.fail_next("chat.postMessage", status=429, retry_after=3)
    client = slack.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    answer = client.chat_postMessage(channel="C0ACME", text="x")

    assert answer["ok"]
    assert len(slept) == 1
    assert 3 <= slept[0] < 4
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]


def test_server_error(slack: SlackFake) -> None:
    slack.fail_next("chat.postMessage", status=500)
    client = slack.client()

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0ACME", text="x")

    assert raised.value.response.status_code == 500
    assert raised.value.response["ok"] is False
    assert client.chat_postMessage(channel="C0ACME", text="x")["ok"]


def test_error_answer_for_n_calls_then_for_every_call(slack: SlackFake) -> None:
    client = slack.client()
    slack.fail_next("users.info", error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.users_info(user="U0LENA")
        assert raised.value.response["error"] == "fatal_error"
    assert client.users_info(user="U0LENA")["user"]["real_name"] == "Lena Park"

    slack.fail_next("*", status=503, times=None)
    for method in (client.auth_test, client.auth_test):
        with pytest.raises(SlackApiError):
            method()
    slack.clear_failures()
    assert client.auth_test()["ok"]


def test_hang_times_the_client_out(slack: SlackFake) -> None:
    slack.fail_next("chat.postMessage", hang=True)
    client = slack.client(timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C0ACME", text="x")

    assert time.monotonic() - started < 1.5
    assert [c.injected for c in slack.calls("chat.postMessage")] == ["hang"]
    assert client.chat_postMessage(channel="C0ACME", text="x")["ok"]


def test_stopping_ends_a_hang_at_once() -> None:
    fake = SlackFake(hang_seconds=60).start()
    fake.fail_next("auth.test", hang=True)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            fake.client(timeout=30, retry_handlers=[]).auth_test()
        except Exception as e:
            errors.append(e)

    caller = threading.Thread(target=call)
    caller.start()
    while not fake.calls("auth.test"):
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    caller.join(timeout=5)

    assert time.monotonic() - started < 1.5
    assert not caller.is_alive()
    assert len(errors) == 1  # the connection was closed unanswered


def test_users_and_conversations(slack: SlackFake) -> None:
    client = slack.client()

    assert client.users_info(user="U0SAM")["user"]["profile"]["email"] == "sam@example.com"
    with pytest.raises(SlackApiError) as no_user:
        client.users_info(user="U0NOBODY")
    assert no_user.value.response["error"] == "user_not_found"

    info = client.conversations_info(channel="C0ACME")["channel"]
    assert info["name"] == "acme-robotics"
    assert info["is_member"]
    with pytest.raises(SlackApiError) as no_channel:
        client.conversations_info(channel="C0NOWHERE")
    assert no_channel.value.response["error"] == "channel_not_found"

    opened = client.conversations_open(users="U0LENA")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    again = client.conversations_open(users=["U0LENA"])
    assert again["channel"]["id"] == dm
    assert again["already_open"]
    assert client.conversations_info(channel=dm)["channel"]["user"] == "U0LENA"
    assert client.chat_postMessage(channel=dm, text="psst")["channel"] == dm
    assert client.chat_postMessage(channel="U0LENA", text="psst")["channel"] == dm
    with pytest.raises(SlackApiError) as nowhere:
        client.chat_postMessage(channel="C0NOWHERE", text="x")
    assert nowhere.value.response["error"] == "channel_not_found"


def test_update_react_delete_and_ephemeral(slack: SlackFake) -> None:
    client = slack.client()
    posted = client.chat_postMessage(channel="C0ACME", text="draft")

    updated = client.chat_update(channel="C0ACME", ts=posted["ts"], text="final")
    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "final"
    client.reactions_add(channel="C0ACME", timestamp=posted["ts"], name="eyes")
    with pytest.raises(SlackApiError) as twice:
        client.reactions_add(channel="C0ACME", timestamp=posted["ts"], name="eyes")
    assert twice.value.response["error"] == "already_reacted"
    [message] = slack.messages("C0ACME")
    assert message["text"] == "final"
    assert message["reactions"][0]["name"] == "eyes"

    ephemeral = client.chat_postEphemeral(channel="C0ACME", user="U0LENA", text="only you")
    assert TS.fullmatch(ephemeral["message_ts"])

    assert client.chat_delete(channel="C0ACME", ts=posted["ts"])["ts"] == posted["ts"]
    assert slack.messages("C0ACME") == []
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C0ACME", ts=posted["ts"], text="x")
    assert gone.value.response["error"] == "message_not_found"


def test_usergroups(slack: SlackFake) -> None:
    client = slack.client()

    renamed = client.usergroups_update(usergroup="S0ONCALL", name="CS on call (EMEA)")
    assert renamed["usergroup"]["name"] == "CS on call (EMEA)"
    members = client.usergroups_users_update(usergroup="S0ONCALL", users=["U0LENA", "U0SAM"])
    assert members["usergroup"]["users"] == ["U0LENA", "U0SAM"]
    assert slack.usergroup("S0ONCALL")["user_count"] == 2
    assert slack.calls("usergroups.users.update")[0].params["users"] == "U0LENA,U0SAM"

    with pytest.raises(SlackApiError) as bad_user:
        client.usergroups_users_update(usergroup="S0ONCALL", users=["U0NOBODY"])
    assert bad_user.value.response["error"] == "invalid_users"
    with pytest.raises(SlackApiError) as no_group:
        client.usergroups_update(usergroup="S0NONE", name="x")
    assert no_group.value.response["error"] == "no_such_subteam"


def test_failure_arguments_are_checked(slack: SlackFake) -> None:
    with pytest.raises(ValueError, match="hang"):
        slack.fail_next("chat.postMessage")
    with pytest.raises(ValueError, match="never answered"):
        slack.fail_next("chat.postMessage", status=500, hang=True)
    with pytest.raises(ValueError, match="times"):
        slack.fail_next("chat.postMessage", status=500, times=0)


# --- metadata, history and replies, "the answer was lost" ------------------------------------

METADATA = {"event_type": "ceres_outbox", "event_payload": {"key": "reply-1"}}


def test_metadata_is_stored_and_shown_only_when_asked_for(slack: SlackFake) -> None:
    client = slack.client()
    posted = client.chat_postMessage(channel="C0ACME", text="hello", metadata=METADATA)

    assert slack.messages("C0ACME")[0]["metadata"] == METADATA
    [plain] = client.conversations_history(channel="C0ACME")["messages"]
    assert "metadata" not in plain
    [full] = client.conversations_history(channel="C0ACME", include_all_metadata=True)["messages"]
    assert full["metadata"] == METADATA
    assert full["ts"] == posted["ts"]
    with pytest.raises(SlackApiError) as bad:
        client.chat_postMessage(channel="C0ACME", text="x", metadata={"event_type": "x"})
    assert bad.value.response["error"] == "invalid_metadata_format"


def test_history_lists_top_level_messages_newest_first(slack: SlackFake) -> None:
    client = slack.client()
    first, second, third = (
        client.chat_postMessage(channel="C0ACME", text=text)["ts"] for text in ("1", "2", "3")
    )
    client.chat_postMessage(channel="C0ACME", text="a reply", thread_ts=first)
    client.chat_postMessage(channel="U0LENA", text="elsewhere")

    history = client.conversations_history(channel="C0ACME")
    assert [m["text"] for m in history["messages"]] == ["3", "2", "1"]
    assert history["has_more"] is False
    assert history["messages"][2]["reply_count"] == 1
    assert history["messages"][2]["thread_ts"] == first

    limited = client.conversations_history(channel="C0ACME", limit=2)
    assert [m["ts"] for m in limited["messages"]] == [third, second]
    assert limited["has_more"] is True
    assert [
        m["ts"] for m in client.conversations_history(channel="C0ACME", oldest=first)["messages"]
    ] == [third, second]
    window = client.conversations_history(
        channel="C0ACME", oldest=first, latest=third, inclusive=True
    )
    assert [m["ts"] for m in window["messages"]] == [third, second, first]
    with pytest.raises(SlackApiError) as nowhere:
        client.conversations_history(channel="C0NOWHERE")
    assert nowhere.value.response["error"] == "channel_not_found"


def test_replies_list_the_parent_then_replies_oldest_first(slack: SlackFake) -> None:
    client = slack.client()
    parent = client.chat_postMessage(channel="C0ACME", text="question")["ts"]
    client.chat_postMessage(channel="C0ACME", text="other thread")
    for text in ("first", "second", "third"):
        client.chat_postMessage(channel="C0ACME", text=text, thread_ts=parent, metadata=METADATA)

    replies = client.conversations_replies(channel="C0ACME", ts=parent)
    assert [m["text"] for m in replies["messages"]] == ["question", "first", "second", "third"]
    assert replies["messages"][0]["reply_count"] == 3
    assert all(m["thread_ts"] == parent for m in replies["messages"])
    assert all("metadata" not in m for m in replies["messages"])
    assert replies["has_more"] is False

    limited = client.conversations_replies(
        channel="C0ACME", ts=parent, limit=2, include_all_metadata=True
    )
    assert [m["text"] for m in limited["messages"]] == ["question", "first"]
    assert limited["messages"][1]["metadata"] == METADATA
    assert limited["has_more"] is True
    second_ts = replies["messages"][2]["ts"]
    after = client.conversations_replies(channel="C0ACME", ts=parent, oldest=second_ts)
    assert [m["text"] for m in after["messages"]] == ["question", "third"]

    with pytest.raises(SlackApiError) as unknown:
        client.conversations_replies(channel="C0ACME", ts="1733130999.000100")
    assert unknown.value.response["error"] == "thread_not_found"


def test_a_clock_gives_timestamps_of_the_present() -> None:
    with SlackFake(clock=time.time) as fake:
        fake.add_channel("C0ACME", "acme-robotics")
        before = time.time()
        first = fake.client().chat_postMessage(channel="C0ACME", text="x")["ts"]
        second = fake.client().chat_postMessage(channel="C0ACME", text="y")["ts"]
    assert TS.fullmatch(first)
    assert before - 1 <= float(first) <= time.time() + 1
    assert float(second) > float(first)


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        ({"status": 500}, SlackApiError),
        ({"error": "internal_error"}, SlackApiError),
        ({"drop": True}, ConnectionError),
        ({"hang": True}, TimeoutError),
    ],
)
def test_applied_failure_stores_the_message_but_loses_the_answer(
    slack: SlackFake, failure: dict[str, Any], raised: type[Exception]
) -> None:
    slack.fail_next("chat.postMessage", apply=True, **failure)
    client = slack.client(timeout=0.5, retry_handlers=[])

    with pytest.raises(raised):
        client.chat_postMessage(channel="C0ACME", text="accepted", metadata=METADATA)

    [stored] = slack.messages("C0ACME")
    assert stored["text"] == "accepted"
    assert stored["metadata"] == METADATA
    [call] = slack.calls("chat.postMessage")
    assert call.injected is not None
    assert call.injected.startswith("applied+")
    assert call.applied["ok"] is True
    assert call.applied["ts"] == stored["ts"]


def test_a_dropped_connection_is_unanswered(slack: SlackFake) -> None:
    slack.fail_next("auth.test", drop=True)
    client = slack.client(retry_handlers=[])
    with pytest.raises(ConnectionError):
        client.auth_test()
    [call] = slack.calls("auth.test")
    assert call.injected == "drop"
    assert call.status is None
    assert call.applied is None
    assert client.auth_test()["ok"]


def test_drop_arguments_are_checked(slack: SlackFake) -> None:
    with pytest.raises(ValueError, match="never answered"):
        slack.fail_next("chat.postMessage", status=500, drop=True)
    with pytest.raises(ValueError, match="not both"):
        slack.fail_next("chat.postMessage", hang=True, drop=True)
    with pytest.raises(ValueError, match="drop=True"):
        slack.fail_next("chat.postMessage", apply=True)


def test_usergroups_list_finds_a_group_by_handle(slack: SlackFake) -> None:
    slack.add_usergroup("S0INFRA", "infrastructure-oncall", users=["U0SAM"])
    slack.add_usergroup("S0OLD", "old-oncall", disabled=True)
    client = slack.client()

    listed = client.usergroups_list()["usergroups"]
    assert [(g["id"], g["handle"]) for g in listed] == [
        ("S0ONCALL", "cs-oncall"),
        ("S0INFRA", "infrastructure-oncall"),
    ]
    assert "users" not in listed[0]
    assert "user_count" not in listed[0]

    full = client.usergroups_list(include_disabled=True, include_users=True, include_count=True)
    by_id = {g["id"]: g for g in full["usergroups"]}
    assert set(by_id) == {"S0ONCALL", "S0INFRA", "S0OLD"}
    assert by_id["S0INFRA"]["users"] == ["U0SAM"]
    assert by_id["S0INFRA"]["user_count"] == 1
    assert by_id["S0OLD"]["date_delete"] > 0
    [call] = slack.calls("usergroups.list")[:1]
    assert call.status == 200
