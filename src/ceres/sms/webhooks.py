"""Texts in: Twilio's incoming-message webhook (`POST /integrations/twilio/sms`), so a person
paged by SMS can answer it ("ACK 42", "RESOLVE 42": docs/oncall.md, "Answering by SMS").

Twilio signs every request: `X-Twilio-Signature` is an HMAC-SHA1, keyed by the account's auth
token, of the URL Twilio called and the form parameters, checked with the official SDK's
`RequestValidator` against `CERES_BASE_URL` + the path (the URL configured in Twilio, whatever
a proxy did to the Host header). Without an auth token, or with a bad signature, the request is
a 401 naming `X-Twilio-Signature`, logged, nothing stored. A verified message is stored in the
inbox under its `MessageSid` (a redelivery is a no-op) and handled in a task by whoever
registered `("twilio", "sms.received")`; Twilio gets an empty TwiML answer at once (the reply,
if any, leaves through the outbox).
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from ceres.core.inbox.services import record_event

log = logging.getLogger(__name__)

PROVIDER = "twilio"
RECEIVED = "sms.received"
_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
MAX_BODY = 1600  # Twilio's longest message
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _error(status: int, field: str, message: str) -> JsonResponse:
    code = "bad_request" if status == 400 else "invalid_signature"
    return JsonResponse({"error": code, "field": field, "message": message}, status=status)


def _refusal(request: HttpRequest) -> str | None:
    token = settings.CERES_TWILIO_AUTH_TOKEN
    if not token:
        return "no auth token is configured (CERES_TWILIO_AUTH_TOKEN)"
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return "no X-Twilio-Signature"
    url = settings.BASE_URL.rstrip("/") + request.get_full_path()
    params = {key: request.POST.get(key, "") for key in request.POST}
    if not RequestValidator(token).validate(url, params, signature):
        return f"bad signature for {url}"
    return None


@csrf_exempt
@require_POST
def incoming(request: HttpRequest) -> HttpResponse:
    reason = _refusal(request)
    if reason is not None:
        log.warning("twilio sms refused from %s: %s", request.META.get("REMOTE_ADDR"), reason)
        return _error(401, "X-Twilio-Signature", "request not verified as coming from Twilio")
    sid = request.POST.get("MessageSid", "")
    sender = request.POST.get("From", "")
    body = request.POST.get("Body", "")
    if not _SID.fullmatch(sid):
        return _error(400, "MessageSid", "required: Twilio's message SID (SM…)")
    if not _PHONE.fullmatch(sender):
        return _error(400, "From", "required: the sender's number in E.164 (+15555550100)")
    if len(body) > MAX_BODY or "\x00" in body:
        return _error(400, "Body", f"at most {MAX_BODY} characters, no NUL")
    _, created = record_event(
        provider=PROVIDER,
        event_id=sid,
        event_type=RECEIVED,
        payload={"MessageSid": sid, "From": sender, "To": request.POST.get("To", ""), "Body": body},
        headers={},
    )
    if not created:
        log.info("twilio sms %s delivered again: no change", sid)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
