from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.test import Client

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EVENTS = "/integrations/slack/events"
INTERACTIVITY = "/integrations/slack/interactivity"


def signed_headers(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp, "HTTP_X_SLACK_SIGNATURE": signature}


def post_event(client: Client, payload: Any, **headers: str) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = signed_headers(body)
    signed.update(headers)
    return client.post(EVENTS, data=body, content_type="application/json", **signed)


def event_callback(event: dict[str, Any], *, event_id: str = "Ev0001") -> dict[str, Any]:
    return {
        "token": "legacy-verification-token-unused",
        "team_id": "T0CERES",
        "api_app_id": "A0CERES",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1764633600,
        "event": event,
    }
