"""The "slack" outbox channel: every Slack call that changes something leaves through the outbox.

Domain code writes the call in its own transaction (`post_in_thread`, `send_dm`, or
`ceres.core.outbox.services.enqueue(channel="slack", ...)` directly) and a worker makes it after
the commit, through slack_sdk's WebClient (`ceres.slack.client`), retrying with backoff,
honouring 429 Retry-After, and never posting one message twice.

Payload (checked at enqueue: a bad one raises `Invalid` naming the field, e.g.
"payload.args.channel", in the caller's transaction instead of becoming a dead letter):

    {"method": "chat.postMessage",
     "args": {"channel": "C…", "thread_ts": "1733130000.000100" (optional),
              "text": "…", "blocks": [{"type": …}, …] (optional)}}
    {"method": "chat.update",
     "args": {"channel": "C…", "ts": "…", "text": "…", "blocks": [...] (optional)}}
    {"method": "chat.postEphemeral",
     "args": {"channel": "C…", "user": "U…", "text": "…", "thread_ts": "…" (optional)}}
    {"method": "reactions.add", "args": {"channel": "C…", "timestamp": "…", "name": "eyes"}}
    {"method": "dm", "args": {"user": "U…", "text": "…", "blocks": [...] (optional)}}
        -> conversations.open with the user, then chat.postMessage to the DM it returns
    {"method": "usergroups.users.update", "args": {"usergroup": "S…", "users": ["U…", …]}}

Channels, users and user groups are Slack IDs (C/G/D…, U/W…, S…), timestamps "digits.digits";
`text` is required, not blank, at most 40,000 characters (Slack's limit); `blocks` a list of at
most 50 objects with a "type". Arguments not listed are refused (`metadata` included: the
sender sets it). The sender returns the provider reference the outbox records: the message ts
(posts, DMs, updates, reactions), the user group ID (usergroups.users.update).

Posting once. Slack takes no idempotency key, so every post (chat.postMessage, dm) carries
message metadata `{"event_type": "ceres_outbox", "event_payload": {"key": <idempotency key>}}`.
The first attempt posts. Any later attempt (`message.attempts > 1`: the previous one failed, or
its worker died mid-call) first reads the conversation, with `include_all_metadata`, for a
message carrying that key: the thread (conversations.replies on `thread_ts`, oldest first) or
the channel (conversations.history, newest first; a DM's channel for "dm"), at most 100
messages, posted since the outbox row was written (`oldest` = its creation time less
LOOKUP_MARGIN, for clock skew). When the message is there, its ts is returned and nothing is
posted again. So "Slack took the post but the answer was lost" (a 500 after the fact, a timeout,
a closed connection) and "the worker died after Slack took it" both end with one message, as
long as it is among the first 100 replies of its thread, or the 100 newest top-level messages
of its channel, posted since the row was written: more than that within a retry's delay makes
the lookup inconclusive (logged) and the message is posted again. If the lookup itself fails,
the attempt fails and is retried: nothing is ever posted without it. Two windows remain:
a message deleted in Slack before a retry is posted again, and two workers both holding the
row (a send outliving CERES_OUTBOX_LEASE_SECONDS: keep the lease well above
CERES_SLACK_TIMEOUT) may both post. The lookup needs the channels:history, groups:history,
im:history scopes; without them it fails with missing_scope, logged at ERROR, and retried.

chat.update and usergroups.users.update set a state, so sending them twice is harmless;
reactions.add answering `already_reacted` is a success.

Ordering: `post_in_thread` and `send_dm` give every message of one thread (or one person's DM)
the same ordering key, so the outbox sends them one at a time, in the order they were written,
through 429s and outages (`ceres.core.outbox.services.claim`).

Failures are mapped by `ceres.slack.client.outbox_error`: 429 -> retry after Retry-After; 5xx,
timeouts, connection errors, token errors -> retried with backoff; a request Slack refuses
(`SLACK_PERMANENT_ERRORS`) -> dead at once.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ceres.core.errors import Invalid
from ceres.core.outbox.channels import Payload, PermanentFailure, register_channel
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.slack.client import error_code, slack_errors, web_client
from ceres.team.models import Person

log = logging.getLogger(__name__)

CHANNEL = "slack"
METADATA_EVENT_TYPE = "ceres_outbox"
MAX_TEXT_LENGTH = 40_000
MAX_BLOCKS = 50
LOOKUP_LIMIT = 100
# The lookup reads messages posted since the row was written, less this for the clocks of
# Ceres and Slack not agreeing.
LOOKUP_MARGIN = datetime.timedelta(minutes=15)

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_USERGROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
_EMOJI = re.compile(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?")


# --- the payload -------------------------------------------------------------------------------


def _slack_id(pattern: re.Pattern[str], what: str) -> Callable[[Any, str], str]:
    def clean(value: Any, field: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise Invalid(f"must be a Slack {what} ID", field=field)
        return value

    return clean


def _ts(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _TS.fullmatch(value):
        raise Invalid('must be a Slack message timestamp ("1733130000.000100")', field=field)
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("must be a text that is not blank", field=field)
    if len(value) > MAX_TEXT_LENGTH:
        raise Invalid(
            f"must be at most {MAX_TEXT_LENGTH:,} characters (it has {len(value):,})", field=field
        )
    return value


def _blocks(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(block, dict) for block in value):
        raise Invalid("must be a list of Block Kit blocks (objects)", field=field)
    if len(value) > MAX_BLOCKS:
        raise Invalid(f"must have at most {MAX_BLOCKS} blocks", field=field)
    for n, block in enumerate(value):
        if not isinstance(block.get("type"), str) or not block["type"]:
            raise Invalid("every block needs a type", field=f"{field}[{n}].type")
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise Invalid("must be JSON", field=field) from exc
    return value


def _emoji(value: Any, field: str) -> str:
    name = value.strip(":") if isinstance(value, str) else ""
    if not _EMOJI.fullmatch(name) or len(name) > 100:
        raise Invalid('must be an emoji name ("eyes", ":white_check_mark:")', field=field)
    return name


def _users(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise Invalid("must be a list of Slack user IDs, not empty", field=field)
    clean_user = _slack_id(_USER_ID, "user")
    users = [clean_user(user, f"{field}[{n}]") for n, user in enumerate(value)]
    return list(dict.fromkeys(users))


_channel = _slack_id(_CHANNEL_ID, "channel")

# method -> argument -> (cleaner, required)
_Cleaner = Callable[[Any, str], Any]
METHODS: dict[str, dict[str, tuple[_Cleaner, bool]]] = {
    "chat.postMessage": {
        "channel": (_channel, True),
        "thread_ts": (_ts, False),
        "text": (_text, True),
        "blocks": (_blocks, False),
    },
    "chat.update": {
        "channel": (_channel, True),
        "ts": (_ts, True),
        "text": (_text, True),
        "blocks": (_blocks, False),
    },
    # Seen by one person only (a polite refusal); not retried into a duplicate: an ephemeral
    # message is gone when the user reloads, and a second copy is harmless.
    "chat.postEphemeral": {
        "channel": (_channel, True),
        "user": (_slack_id(_USER_ID, "user"), True),
        "thread_ts": (_ts, False),
        "text": (_text, True),
    },
    "reactions.add": {
        "channel": (_channel, True),
        "timestamp": (_ts, True),
        "name": (_emoji, True),
    },
    "dm": {
        "user": (_slack_id(_USER_ID, "user"), True),
        "text": (_text, True),
        "blocks": (_blocks, False),
    },
    "usergroups.users.update": {
        "usergroup": (_slack_id(_USERGROUP_ID, "user group"), True),
        "users": (_users, True),
    },
}


def validate_payload(payload: Payload) -> Payload:
    """The payload as it will be stored, or `Invalid` naming the field that is wrong."""
    if not isinstance(payload, dict):
        raise Invalid("must be an object with a method and its args", field="payload")
    for key in payload:
        if key not in ("method", "args"):
            raise Invalid("unknown key: a payload has a method and args", field=f"payload.{key}")
    method = payload.get("method")
    if not isinstance(method, str) or method not in METHODS:
        known = ", ".join(METHODS)
        raise Invalid(
            f"unknown Slack outbox method {method!r}; known: {known}", field="payload.method"
        )
    args = payload.get("args")
    if not isinstance(args, dict):
        raise Invalid("must be an object", field="payload.args")
    spec = METHODS[method]
    for name in args:
        if name not in spec:
            raise Invalid(f"not an argument of {method}", field=f"payload.args.{name}")
    cleaned: dict[str, Any] = {}
    for name, (clean, required) in spec.items():
        field = f"payload.args.{name}"
        value = args.get(name)
        if value is None:
            if required:
                raise Invalid(f"is required for {method}", field=field)
            continue
        cleaned[name] = clean(value, field)
    return {"method": method, "args": cleaned}


# --- convenience for domain code -------------------------------------------------------------


def post_in_thread(
    *,
    idempotency_key: str,
    channel: str,
    thread_ts: str | None,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> OutboxMessage:
    """Post `text` into the thread `thread_ts` of `channel` (top level when None), after the
    caller's transaction commits; the thread's messages leave in the order they were written."""
    args: dict[str, Any] = {"channel": channel, "text": text}
    if thread_ts:
        args["thread_ts"] = thread_ts
    if blocks:
        args["blocks"] = blocks
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={"method": "chat.postMessage", "args": args},
        ordering_key=thread_ordering_key(channel, thread_ts),
    )


def thread_ordering_key(channel: str, thread_ts: str | None) -> str:
    return f"slack:{channel}:{thread_ts or 'top'}"


def update_message(
    *,
    idempotency_key: str,
    channel: str,
    ts: str,
    thread_ts: str | None,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> OutboxMessage:
    """Replace a message Ceres posted (in the order of its thread's messages)."""
    args: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
    if blocks:
        args["blocks"] = blocks
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={"method": "chat.update", "args": args},
        ordering_key=thread_ordering_key(channel, thread_ts),
    )


def post_ephemeral(
    *, idempotency_key: str, channel: str, user: str, thread_ts: str | None, text: str
) -> OutboxMessage:
    """A message in the channel that only `user` sees."""
    args: dict[str, Any] = {"channel": channel, "user": user, "text": text}
    if thread_ts:
        args["thread_ts"] = thread_ts
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={"method": "chat.postEphemeral", "args": args},
    )


def send_dm(
    *, idempotency_key: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> OutboxMessage:
    """Send `user` a direct message from the bot, after the caller's transaction commits; one
    person's DMs leave in the order they were written."""
    args: dict[str, Any] = {"user": user, "text": text}
    if blocks:
        args["blocks"] = blocks
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={"method": "dm", "args": args},
        ordering_key=f"slack-dm:{user}",
    )


def dm_or_email(
    person: Person, *, key: str, text: str, subject: str = "", email_text: str = ""
) -> str:
    """Tell a team member something: a Slack DM when Ceres knows their Slack user, else an
    e-mail (`subject`, default the text's first line; `email_text`, default the text), in the
    caller's transaction. Returns how: "slack", "email", or "" when they cannot be told
    (inactive, or neither a Slack user nor an e-mail address): the caller logs it."""
    if not person.is_active:
        return ""
    if person.slack_user_id:
        send_dm(idempotency_key=key, user=person.slack_user_id, text=text)
        return "slack"
    if person.email:
        body = email_text or text
        enqueue(
            channel="email",
            idempotency_key=key,
            payload={
                "to": [person.email],
                "cc": [],
                "subject": (subject or body.splitlines()[0])[:200],
                "body": body,
            },
        )
        return "email"
    return ""


# --- the sender --------------------------------------------------------------------------------


def register() -> None:
    register_channel(
        CHANNEL,
        send,
        validate=validate_payload,
        configured=lambda: bool(settings.CERES_SLACK_BOT_TOKEN),
    )


def _client() -> WebClient:
    if not settings.CERES_SLACK_BOT_TOKEN:
        log.error("CERES_SLACK_BOT_TOKEN is not set: Slack messages wait in the outbox")
        raise RuntimeError("CERES_SLACK_BOT_TOKEN is not set")
    return web_client()


def send(message: OutboxMessage) -> str:
    """Make the Slack call of one outbox row; returns the message ts (or user group ID)."""
    try:
        payload = validate_payload(message.payload)
    except Invalid as exc:  # written before the contract changed, or by hand
        raise PermanentFailure(f"bad Slack payload: {exc.field}: {exc.message}") from exc
    method, args = payload["method"], payload["args"]
    client = _client()
    if method == "chat.postMessage":
        return _post(client, message, args["channel"], args)
    if method == "dm":
        with slack_errors("conversations.open"):
            opened = client.conversations_open(users=[args["user"]])
        post_args = {k: v for k, v in args.items() if k != "user"}
        return _post(client, message, str(opened["channel"]["id"]), post_args)
    if method == "chat.update":
        with slack_errors("chat.update"):
            updated = client.chat_update(**args)
        return str(updated.get("ts") or args["ts"])
    if method == "chat.postEphemeral":
        with slack_errors("chat.postEphemeral"):
            sent = client.chat_postEphemeral(**args)
        return str(sent.get("message_ts") or "")
    if method == "reactions.add":
        with slack_errors("reactions.add"):
            try:
                client.reactions_add(**args)
            except SlackApiError as exc:
                if error_code(exc) != "already_reacted":  # a retry of one that went through
                    raise
        return str(args["timestamp"])
    if method == "usergroups.users.update":
        with slack_errors("usergroups.users.update"):
            client.usergroups_users_update(usergroup=args["usergroup"], users=args["users"])
        return str(args["usergroup"])
    raise PermanentFailure(f"unknown Slack outbox method {method!r}")  # pragma: no cover


def metadata_for(idempotency_key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": idempotency_key}}


def _post(client: WebClient, message: OutboxMessage, channel: str, args: dict[str, Any]) -> str:
    thread_ts = args.get("thread_ts")
    if message.attempts > 1:
        found = _already_posted(client, message, channel=channel, thread_ts=thread_ts)
        if found is not None:
            log.info(
                "outbox #%s %s: already in Slack as %s (an earlier attempt's answer was lost)",
                message.pk,
                message.idempotency_key,
                found,
            )
            return found
    with slack_errors("chat.postMessage"):
        posted = client.chat_postMessage(
            channel=channel,
            text=args["text"],
            thread_ts=thread_ts,
            blocks=args.get("blocks"),
            metadata=metadata_for(message.idempotency_key),
        )
    return str(posted["ts"])


def _carries_key(slack_message: Any, key: str) -> bool:
    if not isinstance(slack_message, dict):
        return False
    metadata = slack_message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("key") == key


def _already_posted(
    client: WebClient, message: OutboxMessage, *, channel: str, thread_ts: str | None
) -> str | None:
    """The ts of the message an earlier attempt posted, or None. Raises (so the attempt is
    retried, not posted blindly) when Slack cannot be read."""
    oldest = f"{(message.created_at - LOOKUP_MARGIN).timestamp():.6f}"
    common: dict[str, Any] = {
        "channel": channel,
        "limit": LOOKUP_LIMIT,
        "oldest": oldest,
        "include_all_metadata": True,
    }
    if thread_ts:
        with slack_errors("conversations.replies"):
            try:
                answer = client.conversations_replies(ts=thread_ts, **common)
            except SlackApiError as exc:
                if error_code(exc) == "thread_not_found":
                    return None  # no thread, no earlier post in it: chat.postMessage decides
                raise
    else:
        with slack_errors("conversations.history"):
            answer = client.conversations_history(**common)
    for slack_message in answer.get("messages") or []:
        if _carries_key(slack_message, message.idempotency_key):
            return str(slack_message["ts"])
    if answer.get("has_more"):
        log.warning(
            "outbox #%s %s: more than %d messages in %s since it was written; an earlier "
            "attempt's post may be among those not read, posting again",
            message.pk,
            message.idempotency_key,
            LOOKUP_LIMIT,
            f"thread {thread_ts}" if thread_ts else f"channel {channel}",
        )
    return None
