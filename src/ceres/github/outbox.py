"""The "github" outbox channel: every change Ceres makes on GitHub leaves through the outbox
(retries, Retry-After, secondary rate limits, once only).

Payload: {"method": "issues.remove_label", "args": {...}}. Two forms of args:

- an issue Ceres mirrors (the tracker, `ceres.github.tracker`) is named by its local
  `issue_id`; its GitHub number is looked up when the message leaves, so a change made while
  the issue's creation is still queued waits for it. Every message of one issue shares the
  ordering key `github-issue:<issue_id>` and leaves in order, after the creation;
- the "+" label handler names a GitHub issue that may not be mirrored: {"repo": "owner/name",
  "number": 42, "name": "+more info please"} (remove_label only), ordering key
  `github:<repo>#<number>`.

| method | args (besides issue_id) |
|---|---|
| issues.create | title, body, labels, assignees |
| issues.add_labels | labels |
| issues.remove_label | name (or repo, number, name) |
| issues.create_comment | comment_id, body |
| issues.add_assignees / issues.remove_assignees | assignees (at most 10) |
| issues.update | state ("open" or "closed") |

Payloads are checked when enqueued (a bad one is refused in the caller's transaction, not found
dead an hour later) and again when sent. Removing a label is idempotent: a label already gone
(GitHub's 404 on a retry after a lost answer) counts as done; adding labels or assignees and
setting the state are idempotent on GitHub. Creations are made exactly once by
`ceres.github.tracker` (markers, adoption).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from githubkit import GitHub
from githubkit.exception import RequestFailed

from ceres.core.errors import Invalid
from ceres.core.outbox.channels import Payload, PermanentFailure, register_channel
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.github.client import configured, github_client, github_errors

CHANNEL = "github"
_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
METHODS = (
    "issues.create",
    "issues.add_labels",
    "issues.remove_label",
    "issues.create_comment",
    "issues.add_assignees",
    "issues.remove_assignees",
    "issues.update",
)
MAX_TITLE = 256
MAX_BODY = 65_536
MAX_LABELS = 100
MAX_ASSIGNEES = 10  # GitHub's limit per call (and per issue)

# How messages naming a mirrored issue are sent: registered by ceres.github.tracker, which
# knows the mirror (this module knows GitHub's API and the payloads).
MirrorSender = Callable[[OutboxMessage, dict[str, Any]], str]
_mirror_senders: dict[str, MirrorSender] = {}


def register() -> None:
    register_channel(CHANNEL, send, validate=validate_payload, configured=configured)


def register_mirror_sender(method: str, sender: MirrorSender) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown GitHub outbox method {method!r}")
    _mirror_senders[method] = sender


def issue_ordering_key(issue_id: int) -> str:
    return f"github-issue:{issue_id}"


# --- validation -------------------------------------------------------------------------------


def _int(value: Any, field: str, what: str, *, maximum: int = 2**63) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < maximum:
        raise Invalid(what, field=f"payload.args.{field}")
    return value


def _text(value: Any, field: str, *, minimum: int, maximum: int) -> str:
    if not isinstance(value, str) or not minimum <= len(value) <= maximum or "\x00" in value:
        raise Invalid(f"a text of {minimum} to {maximum} characters", field=f"payload.args.{field}")
    return value


def _label(value: Any, field: str) -> str:
    return _text(value, field, minimum=1, maximum=100)


def _names(value: Any, field: str, *, check: Callable[[Any, str], str], most: int) -> list[str]:
    if not isinstance(value, list) or len(value) > most:
        raise Invalid(f"a list of at most {most}", field=f"payload.args.{field}")
    return [check(item, f"{field}[{i}]") for i, item in enumerate(value)]


def _login(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _LOGIN.match(value):
        raise Invalid("a GitHub login", field=f"payload.args.{field}")
    return value


def _some(names: list[str], field: str) -> list[str]:
    if not names:
        raise Invalid("at least one", field=f"payload.args.{field}")
    return names


def _method_args(method: str, args: dict[str, Any]) -> dict[str, Any]:
    if method == "issues.create":
        return {
            "title": _text(args.get("title"), "title", minimum=1, maximum=MAX_TITLE),
            "body": _text(args.get("body", ""), "body", minimum=0, maximum=MAX_BODY),
            "labels": _names(args.get("labels", []), "labels", check=_label, most=MAX_LABELS),
            "assignees": _names(
                args.get("assignees", []), "assignees", check=_login, most=MAX_ASSIGNEES
            ),
        }
    if method == "issues.add_labels":
        labels = _names(args.get("labels"), "labels", check=_label, most=MAX_LABELS)
        return {"labels": _some(labels, "labels")}
    if method == "issues.remove_label":
        return {"name": _label(args.get("name"), "name")}
    if method == "issues.create_comment":
        return {
            "comment_id": _int(args.get("comment_id"), "comment_id", "a comment id"),
            "body": _text(args.get("body"), "body", minimum=1, maximum=MAX_BODY),
        }
    if method in ("issues.add_assignees", "issues.remove_assignees"):
        logins = _names(args.get("assignees"), "assignees", check=_login, most=MAX_ASSIGNEES)
        return {"assignees": _some(logins, "assignees")}
    state = args.get("state")  # issues.update
    if state not in ("open", "closed"):
        raise Invalid("open or closed", field="payload.args.state")
    return {"state": state}


def validate_payload(payload: Payload) -> Payload:
    if not isinstance(payload, dict) or payload.get("method") not in METHODS:
        raise Invalid(f"method must be one of {', '.join(METHODS)}", field="payload.method")
    method: str = payload["method"]
    args: Any = payload.get("args")
    if not isinstance(args, dict):
        raise Invalid("must be an object", field="payload.args")
    if "issue_id" in args:
        target: dict[str, Any] = {"issue_id": _int(args["issue_id"], "issue_id", "an issue id")}
    elif method == "issues.remove_label":
        if not isinstance(args.get("repo"), str) or not _REPO.match(args["repo"]):
            raise Invalid("owner/name of a repository", field="payload.args.repo")
        number = _int(args.get("number"), "number", "an issue number", maximum=2**31)
        target = {"repo": args["repo"], "number": number}
    else:
        raise Invalid("the local issue_id of the issue", field="payload.args.issue_id")
    return {"method": method, "args": {**target, **_method_args(method, args)}}


# --- sending ----------------------------------------------------------------------------------


def remove_label(*, idempotency_key: str, repo: str, number: int, name: str) -> OutboxMessage:
    """For an issue Ceres does not mirror (the "+" labels of any repository)."""
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={
            "method": "issues.remove_label",
            "args": {"repo": repo, "number": number, "name": name},
        },
        ordering_key=f"github:{repo}#{number}",
    )


def call_remove_label(client: GitHub[Any], owner: str, repo: str, number: int, name: str) -> None:
    with github_errors("issues.remove_label"):
        try:
            client.rest.issues.remove_label(owner, repo, number, name)
        except RequestFailed as exc:
            if exc.response.status_code != 404:
                raise
            # Already gone: the first attempt went through and its answer was lost, or
            # someone removed it on GitHub. Either way the label is off.


def send(message: OutboxMessage) -> str:
    try:
        payload = validate_payload(message.payload)
    except Invalid as exc:
        raise PermanentFailure(f"bad GitHub payload: {exc.field}: {exc.message}") from exc
    method, args = payload["method"], payload["args"]
    if "issue_id" in args:
        sender = _mirror_senders.get(method)
        if sender is None:  # a deployment without the tracker's senders: wait, not lose it
            raise RuntimeError(f"no sender registered for {method} on mirrored issues")
        return sender(message, args)
    owner, repo = args["repo"].split("/", 1)
    client = github_client()
    call_remove_label(client, owner, repo, args["number"], args["name"])
    return f"{args['repo']}#{args['number']}:-{args['name']}"
