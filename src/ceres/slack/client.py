"""The Slack Web API client Ceres uses, and what a failed call means for the outbox.

Every call to Slack that changes something goes through the outbox (`ceres.slack.outbox`), which
retries with backoff and honours Retry-After. So the client here never retries on its own, and a
failure is translated for the outbox by `outbox_error` (or the `slack_errors` block around a
call):

- HTTP 429, or an answer `ratelimited` / `rate_limited`: `RetryLater(Retry-After)`, the header's
  seconds (None, hence the ordinary backoff, when there is none); a 503 with Retry-After too;
- HTTP 5xx, a timeout (`CERES_SLACK_TIMEOUT`), a refused, reset or closed connection, an answer
  that is not JSON, an error code we do not know: the exception itself, a transient failure
  retried with backoff;
- a token or app-configuration error (`SLACK_OPERATOR_ERRORS`: invalid_auth, token_revoked,
  missing_scope, ...): transient as well, so that no message is lost while an operator fixes
  the token, but logged at ERROR every time;
- `SLACK_PERMANENT_ERRORS` (channel_not_found, is_archived, msg_too_long, ...): a retry sends the
  same request and gets the same answer: `PermanentFailure`, the message is dead at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ceres.core.outbox.channels import PermanentFailure, RetryLater, retry_after

log = logging.getLogger(__name__)

RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})

# The bot token or the app's configuration is wrong: every call fails until an operator fixes
# it (a new CERES_SLACK_BOT_TOKEN, a scope added and the app reinstalled), then every message
# must still go out. Retried, and logged at ERROR.
SLACK_OPERATOR_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)

# The request itself is refused: sending it again gets the same answer. From the error lists of
# the methods the outbox calls (chat.postMessage, chat.update, reactions.add, conversations.open,
# conversations.history / replies, usergroups.users.update) and Slack's common errors.
SLACK_PERMANENT_ERRORS = frozenset(
    {
        # where the message goes
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "messages_tab_disabled",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
        "cannot_reply_to_message",
        "thread_not_found",
        "duplicate_channel_not_found",
        "duplicate_message_not_found",
        # what it says
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
        "as_user_not_supported",
        # malformed calls
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
        "invalid_json",
        "json_not_object",
        "missing_argument",
        "unknown_method",
        "method_deprecated",
        "deprecated_endpoint",
        # direct messages (conversations.open)
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "users_list_not_supplied",
        "cannot_dm_bot",
        # chat.update
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        # reactions.add
        "invalid_name",
        "bad_timestamp",
        "no_item_specified",
        "too_many_emoji",
        "too_many_reactions",
        # usergroups.users.update
        "no_such_subteam",
        "invalid_users",
        "invalid_user",
        "no_users_provided",
        "failed_for_some_users",
        "permission_denied",
        "plan_upgrade_required",
        "single_channel_guests_cannot_be_added",
    }
)


def web_client() -> WebClient:
    """A WebClient for the bot, from CERES_SLACK_BOT_TOKEN / _API_URL / _TIMEOUT.

    `retry_handlers=[]`: the SDK does not retry (by default it retries connection errors, and it
    can sleep through a 429). The outbox does the retrying, with backoff, Retry-After and an
    idempotency check before a post is sent again; a worker never sleeps inside a call.
    """
    base_url = settings.CERES_SLACK_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=settings.CERES_SLACK_BOT_TOKEN or None,
        base_url=base_url,
        timeout=settings.CERES_SLACK_TIMEOUT,
        retry_handlers=[],
    )


def error_code(error: SlackApiError) -> str:
    """Slack's error code ("channel_not_found"), or "" when the answer had none (a 5xx page)."""
    data = error.response.data
    if isinstance(data, dict):
        return str(data.get("error") or "")
    return ""


def outbox_error(error: BaseException, *, method: str) -> BaseException:
    """What the outbox should see for an exception from calling Slack's `method`:
    `RetryLater`, `PermanentFailure`, or `error` itself, which the outbox retries with backoff
    (HTTP 5xx, timeouts, connection errors, token errors, unknown error codes)."""
    if not isinstance(error, SlackApiError):
        return error  # TimeoutError, URLError, RemoteDisconnected, ...: transient
    response = error.response
    status = response.status_code
    code = error_code(error)
    wait = retry_after(response.headers)
    if status == 429 or code in RATE_LIMIT_ERRORS:
        after = "" if wait is None else f"; retry after {wait:g} s"
        return RetryLater(wait, f"Slack {method}: rate limited (HTTP {status}{after})")
    if status == 503 and wait is not None:
        return RetryLater(wait, f"Slack {method}: unavailable (HTTP 503; retry after {wait:g} s)")
    if status >= 500:
        return error
    if code in SLACK_OPERATOR_ERRORS:
        log.error(
            "Slack %s refused Ceres's bot token or app configuration (%s): fix "
            "CERES_SLACK_BOT_TOKEN or the app's scopes; the outbox keeps the message and retries",
            method,
            code,
        )
        return error
    if code in SLACK_PERMANENT_ERRORS:
        detail = ""
        metadata = (
            response.data.get("response_metadata") if isinstance(response.data, dict) else None
        )
        if isinstance(metadata, dict) and metadata.get("messages"):
            detail = f" {metadata['messages']}"
        return PermanentFailure(f"Slack {method}: {code}{detail}")
    return error


@contextmanager
def slack_errors(method: str) -> Iterator[None]:
    """Around one Slack call: raise what `outbox_error` makes of its failure."""
    try:
        yield
    except Exception as exc:
        translated = outbox_error(exc, method=method)
        if translated is exc:
            raise
        raise translated from exc
