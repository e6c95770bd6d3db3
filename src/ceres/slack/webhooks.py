"""The Slack receivers: the Events API (`/integrations/slack/events`) and interactivity
(`/integrations/slack/interactivity`).

Every request is verified before anything else is read: Slack's v0 signature (HMAC-SHA256 of
`v0:<timestamp>:<raw body>` under the signing secret, compared in constant time by slack_sdk's
`SignatureVerifier`) with a timestamp no more than five minutes from now. A request that fails
is answered 401, logged with the reason and never stored or processed; so is every request
while no signing secret is configured. There is no debug bypass.

A verified event is stored in the inbox under Slack's `event_id` and acknowledged at once
(Slack retries an answer slower than three seconds); a handler runs it in a task. A retried
delivery (`X-Slack-Retry-Num`) finds the stored event and changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from ceres.core.inbox.services import record_event

log = logging.getLogger(__name__)

PROVIDER = "slack"
INTERACTION = "interaction"  # the inbox event type prefix of interactivity payloads
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_KEPT_HEADERS = ("x-slack-retry-num", "x-slack-retry-reason", "x-slack-request-timestamp")


def _error(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse(
        {
            "error": "bad_request" if status == 400 else "invalid_signature",
            "field": field,
            "message": message,
        },
        status=status,
    )


def _refusal(request: HttpRequest) -> str | None:
    """Why the request is not verifiably from Slack, or None when it is."""
    secret = settings.CERES_SLACK_SIGNING_SECRET
    if not secret:
        return "no signing secret is configured (CERES_SLACK_SIGNING_SECRET)"
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.match(timestamp) or not signature:
        return "missing or malformed X-Slack-Request-Timestamp / X-Slack-Signature"
    try:
        request.body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8, so it cannot carry Slack's signature"
    verifier = SignatureVerifier(secret)
    if not verifier.is_valid(body=request.body, timestamp=timestamp, signature=signature):
        return "bad signature, or a timestamp more than five minutes away"
    return None


def _verified(request: HttpRequest) -> HttpResponse | None:
    """None when the request may be read; else the 401 to answer (and the refusal logged)."""
    reason = _refusal(request)
    if reason is None:
        return None
    log.warning(
        "slack %s refused from %s: %s", request.path, request.META.get("REMOTE_ADDR"), reason
    )
    return _error(401, "X-Slack-Signature", "request not verified as coming from Slack")


def _headers(request: HttpRequest) -> dict[str, str]:
    return {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    refused = _verified(request)
    if refused is not None:
        return refused
    try:
        body: Any = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body", "not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "body", "must be a JSON object")
    kind = body.get("type")
    if kind == "url_verification":
        challenge = body.get("challenge")
        if not isinstance(challenge, str) or not challenge or len(challenge) > 500:
            return _error(400, "challenge", "must be text")
        return JsonResponse({"challenge": challenge})
    if kind != "event_callback":
        # app_rate_limited and the like: nothing to store; Slack only wants a 200.
        log.info("slack events: %r acknowledged, not stored", str(kind)[:50])
        return HttpResponse(status=200)
    event_id, event = body.get("event_id"), body.get("event")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
        return _error(400, "event_id", "must be text of 1 to 200 characters")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return _error(400, "event.type", "an event callback needs an event with a type")
    event_type = event["type"][:100]
    _, created = record_event(
        provider=PROVIDER,
        event_id=event_id,
        event_type=event_type,
        payload=body,
        headers=_headers(request),
    )
    if not created:
        log.info(
            "slack event %s delivered again (retry %s): no change",
            event_id,
            request.headers.get("X-Slack-Retry-Num", "?"),
        )
    return HttpResponse(status=200)


def interaction_id(payload: dict[str, Any]) -> str | None:
    """A stable id for one press or shortcut: Slack does not retry interactivity, but a person
    can double-click, and a proxy can replay; the trigger id is unique per interaction."""
    trigger = payload.get("trigger_id")
    if isinstance(trigger, str) and 0 < len(trigger) <= 150:
        return f"{INTERACTION}:{trigger}"
    return None


@csrf_exempt
@require_POST
def interactivity(request: HttpRequest) -> HttpResponse:
    refused = _verified(request)
    if refused is not None:
        return refused
    raw = request.POST.get("payload")
    if raw is None:
        return _error(400, "payload", "required: the interaction as JSON")
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        return _error(400, "payload", "not valid JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return _error(400, "payload.type", "an interaction needs a type")
    event_id = interaction_id(payload)
    if event_id is None:
        return _error(400, "payload.trigger_id", "required")
    record_event(
        provider=PROVIDER,
        event_id=event_id,
        event_type=f"{INTERACTION}.{payload['type'][:80]}",
        payload=payload,
        headers=_headers(request),
    )
    return HttpResponse(status=200)
