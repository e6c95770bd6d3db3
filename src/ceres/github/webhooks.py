"""The GitHub webhook receiver (`/integrations/github/webhook`).

Verified first, always: `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body under
`CERES_GITHUB_WEBHOOK_SECRET`, compared in constant time (`core.inbox.signatures`); a missing or
wrong signature, or no configured secret, is a 401, logged, nothing stored. A verified delivery
is stored in the inbox under `X-GitHub-Delivery` and acknowledged at once; a redelivery (GitHub's
"Redeliver", or a retry) finds the stored event and changes nothing. A body that is not JSON
after a good signature is a 400. The event type is GitHub's event and action
(`issue_comment.created`, `issues.labeled`), processed by the handlers in handlers.py; an event
with no handler is stored and marked ignored.
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

from ceres.core.inbox.services import record_event
from ceres.core.inbox.signatures import verify_hmac_sha256

log = logging.getLogger(__name__)

PROVIDER = "github"
_DELIVERY = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_EVENT = re.compile(r"^[a-z_]{1,50}$")
_KEPT_HEADERS = ("x-github-event", "x-github-delivery", "x-github-hook-id")


def _error(status: int, field: str, message: str) -> JsonResponse:
    code = "invalid_signature" if status == 401 else "bad_request"
    return JsonResponse({"error": code, "field": field, "message": message}, status=status)


def _refusal(request: HttpRequest) -> str | None:
    secret = settings.CERES_GITHUB_WEBHOOK_SECRET
    if not secret:
        return "no webhook secret is configured (CERES_GITHUB_WEBHOOK_SECRET)"
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not signature.startswith("sha256="):
        return "missing or malformed X-Hub-Signature-256"
    if not verify_hmac_sha256(secret.encode(), request.body, signature):
        return "bad signature"
    return None


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    reason = _refusal(request)
    if reason is not None:
        log.warning("github webhook refused from %s: %s", request.META.get("REMOTE_ADDR"), reason)
        return _error(401, "X-Hub-Signature-256", "request not verified as coming from GitHub")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    event = request.headers.get("X-GitHub-Event", "")
    if not _DELIVERY.match(delivery):
        return _error(400, "X-GitHub-Delivery", "required: the delivery's id")
    if not _EVENT.match(event):
        return _error(400, "X-GitHub-Event", "required: the event's name")
    try:
        payload: Any = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body", "not valid JSON")
    if not isinstance(payload, dict):
        return _error(400, "body", "must be a JSON object")
    if event == "ping":
        return JsonResponse({"ok": True, "zen": str(payload.get("zen", ""))[:200]})
    action = payload.get("action")
    event_type = f"{event}.{action}" if isinstance(action, str) and action else event
    headers = {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}
    _, created = record_event(
        provider=PROVIDER,
        event_id=delivery,
        event_type=event_type[:100],
        payload=payload,
        headers=headers,
    )
    if not created:
        log.info("github delivery %s received again: no change", delivery)
    return HttpResponse(status=202 if created else 200)
