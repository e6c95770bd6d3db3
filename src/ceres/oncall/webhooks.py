"""The alarm receiver (`POST /integrations/alerts/<token>`), one URL per integration.

The token in the URL is the integration's secret (Alertmanager's `webhook_config` and most
monitoring tools can send to a URL, not sign a body). It is checked first, before the body is
read: an unknown token or an inactive integration is a 401 naming `token`, logged, nothing
stored. Then the body: over `MAX_BODY` bytes is a 413, not JSON (or not an object) a 400
naming `body`, and a notification that breaks the integration's format a 422 naming the field
(alarm_formats.py). A good notification is applied at once (alarms.py) and answered 202 with
the alarms it touched: unlike the Slack and GitHub inboxes there is no provider event id to
store the raw event under, and the alarm itself is the deduplicated record (with the last
payload), so storing each notification first would add a row per flood message and nothing else.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ceres.core.errors import Invalid
from ceres.oncall import alarm_formats, alarms
from ceres.oncall.models import AlarmIntegration

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes
# What `secrets.token_urlsafe` makes; anything else is refused before the database is asked.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,100}")
_FORMATS = {
    AlarmIntegration.Kind.GENERIC: alarm_formats.generic,
    AlarmIntegration.Kind.ALERTMANAGER: alarm_formats.alertmanager,
}


def _error(status: int, field: str, message: str) -> JsonResponse:
    code = {401: "not_authenticated", 413: "too_large", 422: "invalid"}.get(status, "bad_request")
    return JsonResponse({"error": code, "field": field, "message": message}, status=status)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt
@require_POST
def alerts(request: HttpRequest, token: str) -> HttpResponse:
    integration = alarms.integration_for_token(token) if _TOKEN.fullmatch(token) else None
    if integration is None:
        log.warning(
            "alarm refused from %s: unknown or inactive integration token",
            request.META.get("REMOTE_ADDR"),
        )
        return _error(401, "token", "not the token of an active alarm integration")
    too_large = f"the body is over {MAX_BODY:,} bytes"
    if _content_length(request) > MAX_BODY:
        return _error(413, "body", too_large)
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "body", too_large)
    if len(body) > MAX_BODY:
        return _error(413, "body", too_large)
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _error(400, "body", "not valid JSON")
    if not isinstance(payload, dict):
        return _error(400, "body", "must be a JSON object")
    if alarm_formats.contains_nul(payload):
        return _error(400, "body", "must not contain NUL characters")
    try:
        events = _FORMATS[AlarmIntegration.Kind(integration.kind)](payload)
    except Invalid as exc:
        return _error(422, exc.field, exc.message)
    touched = alarms.ingest(integration=integration, events=events)
    return JsonResponse(
        {
            "alarms": [
                {"id": alarm.pk, "status": alarm.status, "count": alarm.count} for alarm in touched
            ]
        },
        status=202,
    )
