"""A small Slack Web API server for tests: a real HTTP server on 127.0.0.1 that slack_sdk talks to.

    with SlackFake() as slack:  # or the `slack_fake` fixture (tests/conftest.py)
        slack.add_channel("C0ACME", "acme-robotics")
        slack.add_user("U0LENA", "lena", real_name="Lena Park", email="lena@example.com")
        client = WebClient(token=slack.token, base_url=slack.api_url)   # or slack.client()
        client.chat_postMessage(channel="C0ACME", text="hello")
        assert slack.calls("chat.postMessage")[0].params["text"] == "hello"

Requests are what Slack receives: POST /api/<method> with a form-encoded or JSON body (the SDK
uses both, method by method) and the bot token in `Authorization: Bearer xoxb-...` (a form body
may carry `token=` instead; a JSON body may not). A missing token answers `not_authed`, a wrong
one `invalid_auth`, an unknown method `unknown_method`; like Slack, these are HTTP 200 with
`"ok": false`. Implemented: auth.test, chat.postMessage / update / delete / postEphemeral,
reactions.add, users.info, conversations.info / open / history / replies, usergroups.list /
update / users.update. Channels, users and user groups come from tables the test fills
(`add_channel`, `add_user`, `add_usergroup`); posting to a user ID posts to the DM with that
user, as Slack does. Message timestamps are unique and increasing ("1733130000.000100",
"1733130000.000200", ...), or follow a clock: `SlackFake(clock=time.time)` (or setting
`slack.clock` before the first post) gives timestamps of the present, as Slack's are, for code
that reads history with `oldest`/`latest`. There is no idempotency: posting the same thing
twice makes two messages, as on Slack.

A post's `metadata` ({"event_type": .., "event_payload": {..}}) is stored with the message.
conversations.history lists a channel's top-level messages (thread replies excluded) newest
first, conversations.replies a thread's parent then its replies oldest first (an unknown parent
answers `thread_not_found`); both take `limit`, `oldest`/`latest` (exclusive unless
`inclusive`), answer `has_more` when the limit cut the list, and show a message's `metadata`
only with `include_all_metadata=true`. There is no cursor pagination.

Every request is recorded, in arrival order and before anything can fail: `requests` (all) and
`calls("chat.postMessage")` (one method), each a `SlackCall` with the parsed params (form values
are strings, so `blocks` sent form-encoded is a JSON string), lower-cased headers, the token and
what was answered. Posted messages as Slack would now show them: `messages(channel)`.

Failure injection, per method (or "*" for any), consumed in order by the next matching calls:

    slack.fail_next("chat.postMessage", status=500)                  # HTTP 500, non-JSON body
    slack.fail_next("chat.postMessage", status=429, retry_after=2)   # 429 + Retry-After: 2
    slack.fail_next("chat.postMessage", error="channel_not_found", times=3)  # 200, ok: false
    slack.fail_next("chat.postMessage", hang=True)   # no answer for `hang_seconds`: client timeout
    slack.fail_next("users.info", status=503, times=None)            # every call until cleared
    slack.fail_next("chat.postMessage", drop=True)   # the connection is closed unanswered
    slack.clear_failures()

With `apply=True` the call takes effect first and then fails as asked: Slack accepted the post
(it is in `messages()`) but the client got a 500 (`status=500, apply=True`), a closed
connection (`drop=True, apply=True`) or no answer before its timeout (`hang=True, apply=True`).
The call's `applied` holds the answer that was lost.

A hung request is never answered (the connection is closed when the hang ends); `stop()` ends
every hang at once, so a hang never holds up the end of a test. The SDK's default retry handler
does not retry a read timeout, and its RateLimitErrorRetryHandler (off by default) sleeps
Retry-After (+ up to 1 s of jitter) and retries once.

The HTTP machinery (`FakeHttpServer`, `Failure`, `Reply`) is in tests/fakes/http.py.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler

from tests.fakes.http import Failure, FakeHttpServer, HttpRequest, Reply

DEFAULT_TOKEN = "xoxb-1000000001-2000000002-c3r3sT3stB0tT0k3nF4k3"
TS_START = 1733130000


# --- Slack ---------------------------------------------------------------------------------


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    body_format: str  # "json", "form" or "none"
    token: str | None
    injected: str | None = None  # the injected failure's kind ("status:429", "hang", ...)
    status: int | None = None  # HTTP status answered (None: not answered)
    response: Any = None  # the JSON answered, if any
    applied: Any = None  # with fail_next(..., apply=True): the answer the failure replaced


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _ids(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _flag(params: dict[str, Any], name: str) -> bool:
    """A boolean argument: JSON true, or "1"/"true" in a query string or form."""
    value = params.get(name)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true"}


def _ts_value(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise SlackError("invalid_ts_" + name) from exc


def _json_value(value: Any) -> Any:
    """Form-encoded `blocks`/`attachments` arrive as JSON strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackFake(FakeHttpServer):
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = "T0CERES01",
        team: str = "Ceres Test",
        bot_user_id: str = "U0CERESBOT",
        bot_id: str = "B0CERESBOT",
        app_id: str = "A0CERESAPP",
        hang_seconds: float = 30.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(hang_seconds=hang_seconds)
        # None: timestamps count up from TS_START; a clock (time.time): they are the present.
        self.clock = clock
        self._last_micros = 0
        self.token = token
        self.tokens = {token}  # every token the fake accepts
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.requests: list[SlackCall] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._ims: dict[str, str] = {}  # user ID -> D channel ID
        self._mpims: dict[frozenset[str], str] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts), post order
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "reactions.add": self._reactions_add,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "usergroups.list": self._usergroups_list,
            "usergroups.update": self._usergroups_update,
            "usergroups.users.update": self._usergroups_users_update,
        }
        self.add_user(bot_user_id, "ceres", real_name="Ceres", is_bot=True)

    def start(self) -> SlackFake:
        super().start()
        return self

    def __enter__(self) -> SlackFake:
        return self.start()

    @property
    def api_url(self) -> str:
        """The `base_url` for `slack_sdk.WebClient` (it must end with a slash)."""
        return f"{self.url}/api/"

    def client(
        self,
        *,
        token: str | None = None,
        timeout: float = 5,
        retry_handlers: list[RetryHandler] | None = None,
    ) -> WebClient:
        return WebClient(
            token=token or self.token,
            base_url=self.api_url,
            timeout=timeout,  # type: ignore[arg-type]  # typed int, any number works
            retry_handlers=retry_handlers,
        )

    # --- tables -------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "America/New_York",
        tz_label: str = "Eastern Standard Time",
        tz_offset: int = -18000,
        is_bot: bool = False,
        deleted: bool = False,
        **profile: Any,
    ) -> dict[str, Any]:
        real = real_name if real_name is not None else name
        user_profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "team": self.team_id,
            "image_72": f"https://avatars.example/{user_id}_72.png",
        }
        if email is not None and not is_bot:
            user_profile["email"] = email
        if is_bot:
            user_profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else None
        user_profile.update(profile)
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": user_profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": TS_START,
        }
        with self._lock:
            self._users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        topic: str = "",
        purpose: str = "",
    ) -> dict[str, Any]:
        channel = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": is_member,
            "created": TS_START - 86400,
            "creator": self.bot_user_id,
            "context_team_id": self.team_id,
            "topic": {"value": topic, "creator": "", "last_set": 0},
            "purpose": {"value": purpose, "creator": "", "last_set": 0},
        }
        with self._lock:
            self._channels[channel_id] = channel
        return channel

    def add_usergroup(
        self,
        usergroup_id: str,
        handle: str,
        *,
        name: str | None = None,
        description: str = "",
        users: Iterable[str] = (),
        channels: Iterable[str] = (),
        disabled: bool = False,
    ) -> dict[str, Any]:
        """A user group; `disabled=True`: a disabled one (usergroups.list leaves it out unless
        asked for `include_disabled`)."""
        members = list(users)
        group = {
            "id": usergroup_id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": name if name is not None else handle,
            "description": description,
            "handle": handle,
            "is_external": False,
            "date_create": TS_START - 86400,
            "date_update": TS_START - 86400,
            "date_delete": TS_START if disabled else 0,
            "auto_type": None,
            "created_by": self.bot_user_id,
            "updated_by": self.bot_user_id,
            "deleted_by": None,
            "prefs": {"channels": list(channels), "groups": []},
            "users": members,
            "user_count": len(members),
        }
        with self._lock:
            self._usergroups[usergroup_id] = group
        return group

    # --- what the test reads --------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.requests if method is None or c.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages now in Slack (deleted ones gone, updates applied), in posting order."""
        with self._lock:
            return [
                json.loads(json.dumps(m))
                for (chan, _), m in self._messages.items()
                if channel is None or chan == channel
            ]

    def usergroup(self, usergroup_id: str) -> dict[str, Any]:
        with self._lock:
            group: dict[str, Any] = json.loads(json.dumps(self._usergroups[usergroup_id]))
            return group

    def dm_channel(self, user_id: str) -> str | None:
        """The D channel ID of the bot's DM with the user, once opened."""
        with self._lock:
            return self._ims.get(user_id)

    # --- failure injection ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        hang: bool | float = False,
        drop: bool = False,
        apply: bool = False,
        times: int | None = 1,
    ) -> None:
        """Make the next `times` calls of `method` ("*": any) fail. `status` alone: that HTTP
        status (429 says "ratelimited" with Retry-After, 1 unless given; 5xx a non-JSON body);
        `error` alone: HTTP 200 with `{"ok": false, "error": error}`; `hang=True` (or seconds):
        no answer until `hang_seconds` pass or the server stops; `drop=True`: the connection is
        closed at once, unanswered. `apply=True`: the call takes effect first (a post is
        stored), then fails as asked: the answer is lost, not the effect."""
        if status == 429 and retry_after is None:
            retry_after = 1
        failure = Failure(
            status=status,
            error=error,
            retry_after=retry_after,
            hang=self.hang_for(hang, self.hang_seconds),
            drop=drop,
            apply=apply,
            remaining=times,
        )
        self.add_failure(method, failure)

    def failure_reply(self, failure: Failure) -> Reply:
        status = failure.status or 200
        if status == 429:
            return Reply.json(429, {"ok": False, "error": failure.error or "ratelimited"})
        if failure.error is not None:
            return Reply.json(status, {"ok": False, "error": failure.error})
        return Reply(
            status,
            f"<html><body><h1>{status} Server Error</h1></body></html>".encode(),
            {"Content-Type": "text/html"},
        )

    # --- serving --------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> Reply | None:
        if not request.path.startswith("/api/"):
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        method = request.path[len("/api/") :]
        params: dict[str, Any] = dict(request.query)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body_format = "none"
        bad_json = False
        if request.body and content_type == "application/json":
            body_format = "json"
            try:
                decoded = json.loads(request.body)
                if isinstance(decoded, dict):
                    params.update(decoded)
                else:
                    bad_json = True
            except ValueError:
                bad_json = True
        elif request.body:
            body_format = "form"
            params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
        token = None
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip()
        elif body_format == "form" and params.get("token"):
            token = str(params["token"])
        call = SlackCall(method, params, request.headers, body_format, token)
        with self._lock:
            self.requests.append(call)

        failure = self.take_failure(method)
        if failure is not None:
            call.injected = failure.kind
            if failure.apply:  # Slack did the work; the answer is what gets lost
                call.applied = self._answer(method, params, token, bad_json)
            reply = self.apply_failure(failure)
            if reply is not None:
                call.status = reply.status
                call.response = reply.decoded()
            return reply

        answer = self._answer(method, params, token, bad_json)
        call.status = 200
        call.response = answer
        return Reply.json(200, answer, {"X-Slack-Req-Id": secrets.token_hex(16)})

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None, bad_json: bool
    ) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        if bad_json:
            return {"ok": False, "error": "invalid_json"}
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
        try:
            with self._lock:
                return {"ok": True, **handler(params)}
        except SlackError as e:
            return {"ok": False, "error": e.error, **e.extra}

    # --- the methods (called with the lock held) ------------------------------------------

    def _next_ts(self) -> str:
        if self.clock is None:
            micros = TS_START * 1_000_000 + next(self._ts) * 100
        else:
            micros = max(int(self.clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _user(self, params: dict[str, Any], name: str = "user") -> dict[str, Any]:
        user = self._users.get(_text(params, name))
        if user is None:
            raise SlackError("user_not_found")
        return user

    def _open_im(self, user_id: str) -> tuple[str, bool]:
        if user_id in self._ims:
            return self._ims[user_id], True
        channel_id = f"D0{next(self._ids):07d}"
        self._ims[user_id] = channel_id
        return channel_id, False

    def _resolve_channel(self, value: str) -> str:
        """A channel ID (or #name, or a user ID: the DM with that user) to post to."""
        if value in self._channels or value in self._ims.values():
            return value
        if value.startswith(("U", "W")) and value in self._users:
            return self._open_im(value)[0]
        name = value.removeprefix("#")
        for channel in self._channels.values():
            if channel["name"] == name:
                return str(channel["id"])
        if value in self._mpims.values():
            return value
        raise SlackError("channel_not_found")

    def _postable(self, params: dict[str, Any]) -> str:
        channel_id = self._resolve_channel(_text(params, "channel"))
        channel = self._channels.get(channel_id)
        if channel is not None:
            if channel["is_archived"]:
                raise SlackError("is_archived")
            if not channel["is_member"]:
                raise SlackError("not_in_channel")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        return channel_id

    def _message_in(self, params: dict[str, Any], ts_name: str = "ts") -> dict[str, Any]:
        channel_id = self._resolve_channel(_text(params, "channel"))
        message = self._messages.get((channel_id, _text(params, ts_name)))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://ceres-test.slack.com/",
            "team": self.team,
            "user": "ceres",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._postable(params)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": _text(params, "text"),
            "ts": ts,
        }
        for name in ("blocks", "attachments"):
            if params.get(name):
                message[name] = _json_value(params[name])
        if params.get("metadata"):
            message["metadata"] = self._metadata(params["metadata"])
        if params.get("thread_ts"):
            message["thread_ts"] = _text(params, "thread_ts")
        self._messages[(channel_id, ts)] = message
        return {"channel": channel_id, "ts": ts, "message": message}

    @staticmethod
    def _metadata(value: Any) -> dict[str, Any]:
        metadata = _json_value(value)
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            raise SlackError("invalid_metadata_format")
        return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message_in(params)
        if message["user"] != self.bot_user_id:
            raise SlackError("cant_update_message")
        if "text" in params:
            message["text"] = _text(params, "text")
        for name in ("blocks", "attachments", "metadata"):
            if name in params:
                message[name] = _json_value(params[name])
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        channel_id = self._resolve_channel(_text(params, "channel"))
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message_in(params)
        channel_id = self._resolve_channel(_text(params, "channel"))
        del self._messages[(channel_id, message["ts"])]
        return {"channel": channel_id, "ts": message["ts"]}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        self._user(params)
        self._postable(params)
        return {"message_ts": self._next_ts()}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _text(params, "name").strip(":")
        if not name:
            raise SlackError("invalid_name")
        message = self._message_in(params, "timestamp")
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if self.bot_user_id in reaction["users"]:
                    raise SlackError("already_reacted")
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(params)}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = _text(params, "channel")
        if channel_id in self._channels:
            return {"channel": self._channels[channel_id]}
        for user_id, im_id in self._ims.items():
            if im_id == channel_id:
                im = {
                    "id": im_id,
                    "created": TS_START,
                    "is_im": True,
                    "is_org_shared": False,
                    "user": user_id,
                    "is_user_deleted": self._users[user_id]["deleted"],
                    "priority": 0,
                }
                return {"channel": im}
        raise SlackError("channel_not_found")

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            channel_id = self._resolve_channel(_text(params, "channel"))
            return {"no_op": True, "already_open": True, "channel": {"id": channel_id}}
        user_ids = _ids(params.get("users"))
        if not user_ids:
            raise SlackError("users_list_not_supplied")
        for user_id in user_ids:
            if user_id not in self._users:
                raise SlackError("user_not_found")
        if len(user_ids) == 1:
            channel_id, already = self._open_im(user_ids[0])
        else:
            key = frozenset(user_ids)
            already = key in self._mpims
            channel_id = self._mpims.setdefault(key, f"G0{next(self._ids):07d}")
        answer: dict[str, Any] = {"channel": {"id": channel_id}}
        if already:
            answer = {"no_op": True, "already_open": True, **answer}
        return answer

    def _listed(
        self, channel_id: str, message: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        """A message as history and replies show it: a thread parent with its reply count,
        metadata only when asked for."""
        listed: dict[str, Any] = json.loads(json.dumps(message))
        if not _flag(params, "include_all_metadata"):
            listed.pop("metadata", None)
        replies = [
            m["ts"]
            for (chan, ts), m in self._messages.items()
            if chan == channel_id and m.get("thread_ts") == message["ts"] and ts != message["ts"]
        ]
        if replies:
            listed["thread_ts"] = message["ts"]
            listed["reply_count"] = len(replies)
            listed["latest_reply"] = max(replies, key=Decimal)
        return listed

    def _in_window(self, params: dict[str, Any]) -> Callable[[str], bool]:
        oldest = _ts_value(params.get("oldest"), "oldest")
        latest = _ts_value(params.get("latest"), "latest")
        inclusive = _flag(params, "inclusive")

        def within(ts: str) -> bool:
            value = Decimal(ts)
            if oldest is not None and (value < oldest or (value == oldest and not inclusive)):
                return False
            return latest is None or value < latest or (value == latest and inclusive)

        return within

    @staticmethod
    def _limit(params: dict[str, Any], default: int, maximum: int) -> int:
        try:
            limit = int(_text(params, "limit") or default)
        except ValueError as exc:
            raise SlackError("invalid_limit") from exc
        return max(1, min(limit, maximum))

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(_text(params, "channel"))
        within = self._in_window(params)
        top_level = sorted(
            (
                m
                for (chan, ts), m in self._messages.items()
                if chan == channel_id and m.get("thread_ts", ts) == ts and within(ts)
            ),
            key=lambda m: Decimal(m["ts"]),
            reverse=True,
        )
        limit = self._limit(params, 100, 999)
        return {
            "messages": [self._listed(channel_id, m, params) for m in top_level[:limit]],
            "has_more": len(top_level) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(_text(params, "channel"))
        thread_ts = _text(params, "ts")
        parent = self._messages.get((channel_id, thread_ts))
        if parent is None:
            raise SlackError("thread_not_found")
        within = self._in_window(params)
        replies = sorted(
            (
                m
                for (chan, ts), m in self._messages.items()
                if chan == channel_id
                and m.get("thread_ts") == thread_ts
                and ts != thread_ts
                and within(ts)
            ),
            key=lambda m: Decimal(m["ts"]),
        )
        listed = [parent, *replies]
        limit = self._limit(params, 1000, 1000)
        return {
            "messages": [self._listed(channel_id, m, params) for m in listed[:limit]],
            "has_more": len(listed) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _usergroup(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroups.get(_text(params, "usergroup"))
        if group is None:
            raise SlackError("no_such_subteam")
        return group

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: enabled groups only unless `include_disabled`; members only with
        `include_users`, their number only with `include_count`."""
        listed = []
        for group in self._usergroups.values():
            if group["date_delete"] and not _flag(params, "include_disabled"):
                continue
            shown: dict[str, Any] = json.loads(json.dumps(group))
            if not _flag(params, "include_users"):
                shown.pop("users")
            if not _flag(params, "include_count"):
                shown.pop("user_count")
            listed.append(shown)
        return {"usergroups": listed}

    def _usergroups_update(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroup(params)
        for name in ("name", "handle", "description"):
            if name in params:
                group[name] = _text(params, name)
        if "channels" in params:
            group["prefs"]["channels"] = _ids(params["channels"])
        group["date_update"] += 1
        return {"usergroup": group}

    def _usergroups_users_update(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroup(params)
        if "users" not in params:
            raise SlackError("no_users_provided")
        user_ids = _ids(params["users"])
        if not user_ids or any(u not in self._users or self._users[u]["deleted"] for u in user_ids):
            raise SlackError("invalid_users")
        group["users"] = user_ids
        group["user_count"] = len(user_ids)
        group["date_update"] += 1
        return {"usergroup": group}
