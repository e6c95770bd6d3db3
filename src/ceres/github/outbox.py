"""The "github" outbox channel: every change Ceres makes on GitHub leaves through the outbox
(retries, Retry-After, secondary rate limits, once only).

Payload: {"method": "issues.remove_label", "args": {"repo": "owner/name", "number": 42,
"name": "+more info please"}}. Removing a label is idempotent: a label already gone (GitHub's
404 on a retry after a lost answer) counts as done.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from githubkit.exception import RequestFailed

from ceres.core.errors import Invalid
from ceres.core.outbox.channels import Payload, PermanentFailure, register_channel
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.github.client import github_client, github_errors

CHANNEL = "github"
_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
METHODS = ("issues.remove_label",)


def register() -> None:
    register_channel(
        CHANNEL,
        send,
        validate=validate_payload,
        configured=lambda: bool(settings.CERES_GITHUB_TOKEN),
    )


def validate_payload(payload: Payload) -> Payload:
    if not isinstance(payload, dict) or payload.get("method") not in METHODS:
        raise Invalid(f"method must be one of {', '.join(METHODS)}", field="payload.method")
    args: Any = payload.get("args")
    if not isinstance(args, dict):
        raise Invalid("must be an object", field="payload.args")
    if not isinstance(args.get("repo"), str) or not _REPO.match(args["repo"]):
        raise Invalid("owner/name of a repository", field="payload.args.repo")
    number = args.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 2**31:
        raise Invalid("an issue number", field="payload.args.number")
    name = args.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise Invalid("a label name of 1 to 100 characters", field="payload.args.name")
    return {
        "method": payload["method"],
        "args": {"repo": args["repo"], "number": number, "name": name},
    }


def remove_label(*, idempotency_key: str, repo: str, number: int, name: str) -> OutboxMessage:
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={
            "method": "issues.remove_label",
            "args": {"repo": repo, "number": number, "name": name},
        },
        ordering_key=f"github:{repo}#{number}",
    )


def send(message: OutboxMessage) -> str:
    try:
        payload = validate_payload(message.payload)
    except Invalid as exc:
        raise PermanentFailure(f"bad GitHub payload: {exc.field}: {exc.message}") from exc
    args = payload["args"]
    owner, repo = args["repo"].split("/", 1)
    client = github_client()
    with github_errors("issues.remove_label"):
        try:
            client.rest.issues.remove_label(owner, repo, args["number"], args["name"])
        except RequestFailed as exc:
            if exc.response.status_code != 404:
                raise
            # Already gone: the first attempt went through and its answer was lost, or
            # someone removed it on GitHub. Either way the label is off.
    return f"{args['repo']}#{args['number']}:-{args['name']}"
