"""The "sms" outbox channel: every SMS Ceres sends leaves through the outbox, by Twilio.

Domain code writes the SMS in its own transaction (`send_sms`, or
`ceres.core.outbox.services.enqueue(channel="sms", ...)`) and a worker sends it after the commit
with Twilio's client (`ceres.sms.client`), retrying with backoff, honouring 429 Retry-After, and
never sending one SMS twice.

Payload (checked at enqueue: a bad one raises `Invalid` naming the field, "payload.to" or
"payload.body", in the caller's transaction instead of becoming a dead letter):

    {"to": "+15555550100", "body": "…"}

`to` is an E.164 number (`+`, a country code, at most 15 digits in all); `body` is text that is
not blank, at most 1,600 characters (Twilio's limit; counted in UTF-16 code units, as the most
Twilio could count, so an emoji counts two), without NUL characters. The sender returns the
Twilio message SID ("SM…"), which the outbox records as the provider reference.

Sending once. Twilio's Messages API takes no idempotency key. The first attempt sends. Any later
attempt (`message.attempts > 1`: the previous one failed, or its worker died mid-call) first
lists the messages sent to the same number from Ceres's sender since the outbox row was written
(`client.messages.list(to=..., from_=..., date_sent_after=created_at - LOOKUP_MARGIN,
limit=LOOKUP_LIMIT)`, i.e. `GET .../Messages.json?To=…&From=…&DateSent>=…`; a Messaging Service
is matched on the resource's `messaging_service_sid`), and if one has the same body and is not
already the provider reference of another SMS row, returns its SID and sends nothing. So
"Twilio took the SMS but the answer was lost" (a 500 after the fact, a timeout, a closed
connection) and "the worker died after Twilio took it" both end with one SMS. If the lookup
itself fails, the attempt fails and is retried: an SMS is never sent again without a lookup.

The window that remains: the lookup recognises our SMS by its number and body, not by a key.

- Two identical bodies to the same number within the window would be taken for one. That is
  acceptable because the idempotency key already prevents duplicates at enqueue: two rows are
  two different effects, and between them the confusion is avoided too, since `send_sms`'s
  texts to one number leave one at a time in order (the ordering key) and a SID recorded by
  another row is never taken. What remains is the same text sent to the same number from the
  same sender by something other than this row (by hand in Twilio's console, another system on
  the same number, a row enqueued without the ordering key racing this one) after the row was
  written: the retry takes it for its own and does not send, and the recipient did get that
  text.
- Twilio lists by `date_sent`, which it sets when it hands the SMS to the carrier: an SMS still
  queued at Twilio (status accepted / queued, no date_sent) when the retry looks is not found,
  and is sent again. Retries come after the backoff (seconds to minutes) or the lease
  (`CERES_OUTBOX_LEASE_SECONDS`), and Twilio's queue is seconds long unless the sender is
  throttled; this is the main remaining window for a duplicate.
- A body Twilio changed on the way is compared after folding both to ASCII and collapsing
  white space (Smart Encoding turns “quotes” into "quotes"); link shortening or message
  redaction make the bodies differ, and the SMS is sent again.
- LOOKUP_LIMIT or more messages to that number since the row was written make the lookup
  inconclusive (logged at WARNING), and the SMS is sent again.
- Two workers holding the row at once (a send outliving its lease) may both send: keep
  `CERES_OUTBOX_LEASE_SECONDS` well above two calls of `CERES_TWILIO_TIMEOUT` (check sms.W002).

Ordering: `send_sms` gives every SMS to one number the ordering key `sms:<number>`, so the
outbox sends them one at a time, in the order they were written, through 429s and outages.

Failures are mapped by `ceres.sms.client.outbox_error`: 429 -> retry after Retry-After; 5xx,
timeouts, connection errors, credential and sender errors, missing configuration -> retried
with backoff (the last three logged at ERROR); a request Twilio refuses for good
(`TWILIO_PERMANENT_ERRORS`) -> dead at once.
"""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any

from anyascii import anyascii

from ceres.core.errors import Invalid
from ceres.core.outbox.channels import Payload, PermanentFailure, register_channel
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.sms.client import (
    Sender,
    TwilioError,
    close,
    configured_sender,
    missing_settings,
    twilio_client,
    twilio_errors,
)

log = logging.getLogger(__name__)

CHANNEL = "sms"
MAX_BODY_LENGTH = 1600
LOOKUP_LIMIT = 50
# The lookup reads messages sent since the row was written, less this for the clocks of Ceres
# and Twilio not agreeing.
LOOKUP_MARGIN = datetime.timedelta(minutes=15)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")


# --- the payload -------------------------------------------------------------------------------


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def validate_payload(payload: Payload) -> Payload:
    """The payload as it will be stored, or `Invalid` naming the field that is wrong."""
    if not isinstance(payload, dict):
        raise Invalid('must be an object: {"to": "+15555550100", "body": "…"}', field="payload")
    for key in payload:
        if key not in ("to", "body"):
            raise Invalid("unknown key: an SMS has a to and a body", field=f"payload.{key}")
    to = payload.get("to")
    if not isinstance(to, str) or not E164.fullmatch(to):
        raise Invalid(
            'must be a phone number in E.164 format ("+15555550100": +, country code, number, '
            "no spaces)",
            field="payload.to",
        )
    body = payload.get("body")
    if not isinstance(body, str) or not body.strip():
        raise Invalid("must be a text that is not blank", field="payload.body")
    if "\x00" in body:
        raise Invalid("must not contain NUL characters", field="payload.body")
    length = _utf16_length(body)
    if length > MAX_BODY_LENGTH:
        raise Invalid(
            f"must be at most {MAX_BODY_LENGTH:,} characters (it has {length:,}; an emoji "
            "counts two)",
            field="payload.body",
        )
    return {"to": to, "body": body}


# --- convenience for domain code -------------------------------------------------------------


def send_sms(*, idempotency_key: str, to: str, body: str) -> OutboxMessage:
    """Text `body` to `to` (E.164) after the caller's transaction commits; the texts to one
    number leave one at a time, in the order they were written."""
    return enqueue(
        channel=CHANNEL,
        idempotency_key=idempotency_key,
        payload={"to": to, "body": body},
        ordering_key=f"sms:{to}",
    )


# --- the sender --------------------------------------------------------------------------------


def register() -> None:
    register_channel(
        CHANNEL, send, validate=validate_payload, configured=lambda: not missing_settings()
    )


def send(message: OutboxMessage) -> str:
    """Send the SMS of one outbox row through Twilio; returns the message SID."""
    try:
        payload = validate_payload(message.payload)
    except Invalid as exc:  # written before the contract changed, or by hand
        raise PermanentFailure(f"bad SMS payload: {exc.field}: {exc.message}") from exc
    to, body = payload["to"], payload["body"]
    client = twilio_client()  # TwilioNotConfigured when a setting is missing: retried
    sender = configured_sender()
    try:
        if message.attempts > 1:
            found = _already_sent(client, message, sender=sender, to=to, body=body)
            if found is not None:
                log.info(
                    "outbox #%s %s: already at Twilio as %s (an earlier attempt's answer was lost)",
                    message.pk,
                    message.idempotency_key,
                    found,
                )
                return found
        with twilio_errors("messages.create", client):
            created = client.messages.create(to=to, body=body, **sender.create_args())
        sid = str(getattr(created, "sid", None) or "")
        if not sid:  # Twilio took it but said nothing usable: the next attempt looks it up
            raise TwilioError("Twilio messages.create: the answer has no message SID")
        return sid
    finally:
        close(client)


def same_text(sent: str | None, body: str) -> bool:
    """Whether Twilio's copy of a body is ours: equal, or equal once both are folded to ASCII
    with white space collapsed (Smart Encoding replaces “curly quotes”, dashes, ellipses)."""
    if sent is None:
        return False
    if sent == body:
        return True
    return " ".join(anyascii(sent).split()) == " ".join(anyascii(body).split())


def _already_sent(
    client: Any, message: OutboxMessage, *, sender: Sender, to: str, body: str
) -> str | None:
    """The SID of the SMS an earlier attempt sent, or None. Raises (so the attempt is retried,
    not sent blindly) when Twilio cannot be read."""
    since = (message.created_at - LOOKUP_MARGIN).astimezone(datetime.UTC)
    query: dict[str, Any] = {"to": to, "date_sent_after": since, "limit": LOOKUP_LIMIT}
    if not sender.messaging_service_sid:
        query["from_"] = sender.from_number
    with twilio_errors("messages.list", client):
        listed = list(client.messages.list(**query))
    candidates = [
        m
        for m in listed
        if str(getattr(m, "direction", "") or "").startswith("outbound")
        and getattr(m, "to", None) == to
        and sender.sent(m)
        and same_text(getattr(m, "body", None), body)
        and getattr(m, "sid", None)
    ]
    if candidates:
        taken = set(
            OutboxMessage.objects.filter(
                channel=CHANNEL, provider_reference__in=[str(m.sid) for m in candidates]
            )
            .exclude(pk=message.pk)
            .values_list("provider_reference", flat=True)
        )
        for candidate in reversed(candidates):  # Twilio lists newest first: the oldest first
            if str(candidate.sid) not in taken:
                return str(candidate.sid)
    if len(listed) >= LOOKUP_LIMIT:
        log.warning(
            "outbox #%s %s: %d or more messages to %s since it was written; an earlier "
            "attempt's SMS may be among those not read, sending again",
            message.pk,
            message.idempotency_key,
            LOOKUP_LIMIT,
            to,
        )
    return None
