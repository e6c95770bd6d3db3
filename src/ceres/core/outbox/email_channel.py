"""The "email" outbox channel: Django's EmailMessage through the configured e-mail backend.

Payload: {"to": [..], "cc": [..], "subject": "..", "body": "..", "reply_to": [..] (optional)}.

Every attempt for one outbox row carries the same `Message-ID`, derived from the idempotency
key, and the key itself in `X-Ceres-Idempotency-Key`: if a worker dies after the server took
the message but before it heard "250", the retry is recognisably the same message and the
receiving side (a mail server, Unthread, a mailbox rule) can drop the copy.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from ceres.core.errors import Invalid
from ceres.core.outbox.channels import Payload, PermanentFailure
from ceres.core.outbox.models import OutboxMessage

IDEMPOTENCY_HEADER = "X-Ceres-Idempotency-Key"
_ADDRESS_FIELDS = ("to", "cc", "reply_to")


def message_id_for(idempotency_key: str) -> str:
    """The same key always gives the same Message-ID; the key itself may not be safe in one."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "ceres.invalid"
    return f"<ceres.{digest}@{domain}>"


def _addresses(payload: Payload, field: str) -> list[str]:
    value: Any = payload.get(field) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("must be a list of e-mail addresses", field=f"payload.{field}")
    for address in value:
        try:
            validate_email(parseaddr(address)[1])
        except ValidationError as exc:
            raise Invalid(
                f"{address!r} is not an e-mail address", field=f"payload.{field}"
            ) from exc
    return list(value)


def validate_email_payload(payload: Payload) -> Payload:
    """Reject a bad e-mail in the caller's transaction, not as a dead letter an hour later."""
    cleaned = dict(payload)
    for field in _ADDRESS_FIELDS:
        cleaned[field] = _addresses(payload, field)
    if not cleaned["to"]:
        raise Invalid("at least one recipient is required", field="payload.to")
    for field in ("subject", "body"):
        if not isinstance(payload.get(field), str):
            raise Invalid("must be a string", field=f"payload.{field}")
    if "\n" in payload["subject"] or "\r" in payload["subject"]:
        raise Invalid("must be one line", field="payload.subject")
    return cleaned


def send_email(message: OutboxMessage) -> str:
    """Send one outbox e-mail; SMTP 5xx answers are permanent, everything else is retried."""
    payload = message.payload
    message_id = message_id_for(message.idempotency_key)
    email = EmailMessage(
        subject=payload["subject"],
        body=payload["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=payload["to"],
        cc=payload.get("cc") or None,
        reply_to=payload.get("reply_to") or None,
        headers={"Message-ID": message_id, IDEMPOTENCY_HEADER: message.idempotency_key},
    )
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"all recipients refused: {exc.recipients}") from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise
    return message_id
