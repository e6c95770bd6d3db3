"""The Twilio client Ceres sends SMS with, and what a failed call means for the outbox.

Every SMS leaves through the outbox (`ceres.sms.outbox`), which retries with backoff and honours
Retry-After, so the client never retries on its own (no `max_retries`) and a failure is
translated for the outbox by `outbox_error` (or the `twilio_errors` block around a call):

- HTTP 429, or Twilio error 20429: `RetryLater(Retry-After)`, the header's seconds (None, hence
  the ordinary backoff, when there is none); a 503 with Retry-After too;
- HTTP 5xx, a timeout (`CERES_TWILIO_TIMEOUT`), a refused, reset or closed connection, an answer
  that is not JSON, an error code we do not know: a transient failure, retried with backoff;
- HTTP 401 and the account or sender errors an operator fixes (`TWILIO_OPERATOR_ERRORS`: 20003
  wrong credentials, 20005 account not active, 21606 a From number the account cannot send
  with, ...): transient as well, so no SMS is lost while the configuration is fixed, but logged
  at ERROR every time;
- `TWILIO_PERMANENT_ERRORS` (21211 invalid To, 21610 the recipient unsubscribed, 21617 body too
  long, ...): the same request gets the same answer: `PermanentFailure`, dead at once.

Missing configuration (no account SID, auth token, or sender) is an operator error found before
Twilio is called: `TwilioNotConfigured`, logged at ERROR, retried.

Twilio's exceptions print themselves in terminal colours when stderr is a terminal, so the
outbox never stores one: every Twilio answer becomes a `TwilioError`, `RetryLater` or
`PermanentFailure` with a plain message naming the call, the HTTP status and Twilio's code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ceres.core.outbox.channels import PermanentFailure, RetryLater, retry_after

log = logging.getLogger(__name__)

RATE_LIMITED = 20429

_CREDENTIALS = "check CERES_TWILIO_ACCOUNT_SID and CERES_TWILIO_AUTH_TOKEN"
_SENDER = "check CERES_TWILIO_FROM / CERES_TWILIO_MESSAGING_SERVICE_SID and the number in Twilio"

# Ceres's account or sender is wrong: every SMS fails the same way until an operator fixes it
# (credentials, a funded account, a sender the account owns), then every SMS must still go out.
# Retried, and logged at ERROR with what to fix. (HTTP 401 is always one of these.)
TWILIO_OPERATOR_ERRORS: dict[int, str] = {
    20003: f"authentication failed: {_CREDENTIALS}",
    20005: "the Twilio account is not active (suspended, out of funds, trial not activated)",
    20008: f"test credentials cannot send messages: {_CREDENTIALS}",
    10001: "the Twilio account is not active (suspended, out of funds)",
    21212: f"the From number is not a valid phone number, short code or sender ID: {_SENDER}",
    21601: f"the From number is not an SMS-capable number of the account: {_SENDER}",
    21603: f"no From number or Messaging Service: {_SENDER}",
    # Twilio's causes are all about the sender: not SMS-capable, not owned by the account,
    # being ported, a short code of another country. Fixed in Twilio or in the configuration.
    21606: f"the From number cannot send messages for this account or destination: {_SENDER}",
    21608: "a trial account can only text verified numbers: verify it or upgrade the account",
    21661: f"the From number is not SMS-capable: {_SENDER}",
    21701: f"the Messaging Service SID is not valid: {_SENDER}",
}

# The request itself is refused: sending it again gets the same answer. From Twilio's error
# dictionary, for POST /Messages (and 30006, which Twilio reports for landlines).
TWILIO_PERMANENT_ERRORS: dict[int, str] = {
    21211: "the To number is not a valid phone number",
    21604: "no To number",
    21407: "the To number's type does not support SMS",
    21408: "sending to the To number's region is not enabled for the account",
    21610: "the recipient unsubscribed (replied STOP) from this sender",
    21612: "the To number cannot be reached from the sender",
    21614: "the To number is not a mobile number",
    21635: "the To number is a landline",
    30006: "the To number is a landline or its carrier is unreachable",
    21266: "the To and From numbers are the same",
    21602: "the message body is required",
    21617: "the message body is longer than 1,600 characters",
}


class TwilioError(Exception):
    """A failed Twilio call the outbox retries with backoff (HTTP 5xx, an operator error, an
    error code we do not know), with a plain message."""


class TwilioNotConfigured(TwilioError):
    """The account SID, the auth token or a sender is missing: Twilio is not called."""


@dataclass(frozen=True)
class Sender:
    """Where Ceres's SMS come from: a number of the account, or a Messaging Service."""

    from_number: str = ""
    messaging_service_sid: str = ""

    def create_args(self) -> dict[str, str]:
        """The sender's arguments of `client.messages.create`."""
        if self.messaging_service_sid:
            return {"messaging_service_sid": self.messaging_service_sid}
        return {"from_": self.from_number}

    def sent(self, twilio_message: Any) -> bool:
        """Whether a Message resource left from this sender."""
        if self.messaging_service_sid:
            return bool(
                getattr(twilio_message, "messaging_service_sid", None) == self.messaging_service_sid
            )
        return bool(getattr(twilio_message, "from_", None) == self.from_number)


def missing_settings() -> list[str]:
    """The settings Twilio cannot be called without, as they are missing (empty: configured)."""
    missing = []
    if not settings.CERES_TWILIO_ACCOUNT_SID:
        missing.append("CERES_TWILIO_ACCOUNT_SID")
    if not settings.CERES_TWILIO_AUTH_TOKEN:
        missing.append("CERES_TWILIO_AUTH_TOKEN")
    if not (settings.CERES_TWILIO_FROM or settings.CERES_TWILIO_MESSAGING_SERVICE_SID):
        missing.append("CERES_TWILIO_FROM or CERES_TWILIO_MESSAGING_SERVICE_SID")
    return missing


def configured_sender() -> Sender:
    """The sender from the settings: the Messaging Service when one is set, else the number."""
    if settings.CERES_TWILIO_MESSAGING_SERVICE_SID:
        return Sender(messaging_service_sid=settings.CERES_TWILIO_MESSAGING_SERVICE_SID)
    return Sender(from_number=settings.CERES_TWILIO_FROM)


class _LastHeaders:
    """A response hook of the HTTP client keeping the headers of the last answer: Twilio's
    exceptions do not keep them, and a 429's Retry-After is one of them."""

    def __init__(self) -> None:
        self.headers: Mapping[str, str] = {}

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.headers = dict(response.headers)
        return response


def twilio_client() -> Any:
    """A `twilio.rest.Client` on `TwilioHttpClient(timeout=CERES_TWILIO_TIMEOUT)`, its Messages
    API at CERES_TWILIO_API_URL (`client.api.base_url`, from which the SDK builds every Messages
    URL). No `max_retries`: the SDK never retries or sleeps; the outbox does the retrying.

    Raises `TwilioNotConfigured` (logged at ERROR) when a setting is missing: Twilio is not
    called, and the outbox keeps the message until an operator sets it.
    """
    missing = missing_settings()
    if missing:
        log.error(
            "Twilio is not configured (%s missing): SMS wait in the outbox until it is",
            ", ".join(missing),
        )
        raise TwilioNotConfigured(f"Twilio is not configured: {', '.join(missing)} missing")
    http_client = TwilioHttpClient(
        timeout=settings.CERES_TWILIO_TIMEOUT, request_hooks={"response": [_LastHeaders()]}
    )
    client = Client(
        settings.CERES_TWILIO_ACCOUNT_SID,
        settings.CERES_TWILIO_AUTH_TOKEN,
        http_client=http_client,
    )
    client.api.base_url = str(settings.CERES_TWILIO_API_URL).rstrip("/")
    return client


def close(client: Any) -> None:
    """Close the client's pooled connections (a client is made for each delivery)."""
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()


def last_headers(client: Any) -> Mapping[str, str]:
    """The headers of the last answer the client received ({} when none)."""
    hooks = getattr(client.http_client, "request_hooks", None) or {}
    for hook in hooks.get("response", []):
        if isinstance(hook, _LastHeaders):
            return hook.headers
    return {}


@dataclass(frozen=True)
class TwilioAnswer:
    """What Twilio answered to a failed call: the HTTP status, Twilio's error code, its text."""

    status: int
    code: int | None
    message: str


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def twilio_answer(error: BaseException) -> TwilioAnswer | None:
    """Twilio's answer inside an exception of the SDK; None when Twilio did not answer (a
    timeout, a connection error) or the exception is not the SDK's."""
    if isinstance(error, TwilioRestException):
        message = str(error.msg or "")
        for prefix in ("Unable to create record: ", "Unable to fetch record: "):
            message = message.removeprefix(prefix)
        return TwilioAnswer(int(error.status), _int(error.code), message)
    if isinstance(error, TwilioServiceException):
        return TwilioAnswer(int(error.status), _int(error.code), str(error.detail or error.title))
    # A list call's failure: `TwilioException("Unable to fetch page", response)`.
    if isinstance(error, TwilioException) and len(error.args) >= 2:
        response = error.args[1]
        if isinstance(response, Response):
            code: int | None = None
            message = "Unable to fetch page"
            try:
                body = json.loads(response.text)
            except (TypeError, ValueError):
                body = None
            if isinstance(body, dict):
                code = _int(body.get("code"))
                message = str(body.get("message") or message)
            return TwilioAnswer(int(response.status_code), code, message)
    return None


def outbox_error(
    error: BaseException, *, operation: str, headers: Mapping[str, Any] | None = None
) -> BaseException:
    """What the outbox should see for an exception from Twilio's `operation`
    ("messages.create", "messages.list"): `RetryLater`, `PermanentFailure`, a `TwilioError`
    (retried with backoff), or `error` itself when Twilio did not answer (timeouts, connection
    errors: retried with backoff)."""
    answer = twilio_answer(error)
    if answer is None:
        return error
    status, code = answer.status, answer.code
    coded = f", error {code}" if code is not None and code != status else ""
    label = f"Twilio {operation}: HTTP {status}{coded}: {answer.message}"
    wait = retry_after(headers or {})
    if status == 429 or code == RATE_LIMITED:
        after = "" if wait is None else f"; retry after {wait:g} s"
        return RetryLater(wait, f"{label} (rate limited{after})")
    if status == 503 and wait is not None:
        return RetryLater(wait, f"{label} (unavailable; retry after {wait:g} s)")
    if status >= 500:
        return TwilioError(label)
    if status == 401 or (code is not None and code in TWILIO_OPERATOR_ERRORS):
        hint = TWILIO_OPERATOR_ERRORS.get(code or 0, f"authentication failed: {_CREDENTIALS}")
        log.error(
            "Twilio %s refused Ceres's account or sender (HTTP %s, error %s): %s; the outbox "
            "keeps the SMS and retries",
            operation,
            status,
            code,
            hint,
        )
        return TwilioError(f"{label} ({hint})")
    if code is not None and code in TWILIO_PERMANENT_ERRORS:
        return PermanentFailure(f"{label} ({TWILIO_PERMANENT_ERRORS[code]})")
    return TwilioError(label)


@contextmanager
def twilio_errors(operation: str, client: Any) -> Iterator[None]:
    """Around one Twilio call: raise what `outbox_error` makes of its failure."""
    try:
        yield
    except Exception as exc:
        translated = outbox_error(exc, operation=operation, headers=last_headers(client))
        if translated is exc:
            raise
        raise translated from exc
