"""A small Twilio Messages API server for tests: a real HTTP server on 127.0.0.1 that the official
`twilio` client talks to, over its real HTTP client (requests).

    with TwilioFake() as twilio:                      # or the `twilio_fake` fixture
        client = twilio.client(timeout=2)             # twilio.rest.Client pointed at the fake
        message = client.messages.create(to="+14155550123", from_="+14155550100", body="Hi")
        assert message.sid.startswith("SM") and twilio.sent[0]["to"] == "+14155550123"

Pointing a client at it by hand: `client = Client(twilio.account_sid, twilio.auth_token)`, then
`client.api.base_url = twilio.url` (the `api` domain builds every Messages URL from its
`base_url`; edge/region only rewrite *.twilio.com host names).

Served: POST /2010-04-01/Accounts/{AccountSid}/Messages.json ("messages.create": form-encoded
To, From or MessagingServiceSid, Body), GET .../Messages.json ("messages.list", below) and
GET .../Messages/{Sid}.json ("messages.fetch"), with HTTP basic auth (account SID + auth
token). Errors have Twilio's JSON shape
`{"code", "message", "more_info", "status"}`: wrong credentials 401/20003, `To` missing 21604 or
not E.164 21211, no `From`/`MessagingServiceSid` 21603, bad `From` 21212, no `Body` 21602, body
over 1600 characters 21617, unknown message 404/20404. A created message is answered 201 with
the message resource (sid "SM" + 32 hex, status "queued", or "accepted" when sent through a
Messaging Service, as Twilio does, and no `date_sent`).

Then Twilio sends it: right after answering, the stored resource becomes status "sent" with
`date_sent` (and, through a Messaging Service, `from` = SERVICE_NUMBER), the time of `clock()`.
With `twilio.hold_queued = True` messages stay queued (no `date_sent`, as when Twilio's queue
is backed up) until `twilio.release_queued()`.

Listing ("messages.list", what `client.messages.list(to=..., from_=..., date_sent_after=...)`
sends): the filters `To`, `From`, and `DateSent` / `DateSent>` / `DateSent<` (the SDK's
`date_sent` / `date_sent_after` / `date_sent_before`, so on the wire `DateSent>=2025-01-02T…Z`:
on or after; `DateSent<=`: on or before). A value is `YYYY-MM-DD` (compared by day, as Twilio
documents) or the SDK's `YYYY-MM-DDTHH:MM:SSZ` (compared to the second); a message without
`date_sent` (still queued) never matches a DateSent filter. Newest first, paged by `PageSize`
(default 50, at most 1000) and `Page`, with Twilio's list envelope (`messages`,
`next_page_uri`, ...).

Every request is recorded before anything can fail (`requests`, `calls("messages.create")`,
each a `TwilioCall` with the form params and lower-cased headers); `sent` holds the created
message resources. Failure injection, per operation, consumed by the next matching calls:

    twilio.fail_next("messages.create", status=500)
    twilio.fail_next("messages.create", status=429, retry_after=2)   # code 20429, Retry-After
    twilio.fail_next("messages.create", status=400, code=21610, message="Attempt to send to "
                     "unsubscribed recipient", times=2)
    twilio.fail_next("messages.create", hang=True)   # no answer: the client's timeout fires
    twilio.fail_next("messages.create", drop=True)   # the connection is closed unanswered
    twilio.fail_next("messages.list", status=503)
    twilio.clear_failures()

With `apply=True` the call takes effect first and then fails as asked: Twilio created the
message (it is in `sent`, and will be listed) but the client got a 500 (`status=500,
apply=True`), a closed connection (`drop=True, apply=True`) or no answer before its timeout
(`hang=True, apply=True`). The answer the failure replaced is in the call's `applied`.

A hung request is never answered, and `stop()` ends every hang at once. The twilio client does
not retry (no `max_retries` is given), so each failure reaches the caller as a
`TwilioRestException` with `.status` and `.code`, or a requests timeout for a hang.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.fakes.http import Failure, FakeHttpServer, HttpRequest, Reply

DEFAULT_ACCOUNT_SID = "AC" + "c3e5" * 8
DEFAULT_AUTH_TOKEN = "f4k3" * 8
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
SHORT_CODE = re.compile(r"[0-9]{5,6}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")
MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")
MESSAGE = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json")
# The number Twilio picks from a Messaging Service's sender pool when it sends.
SERVICE_NUMBER = "+15005550006"
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
DATE_FILTERS = ("DateSent", "DateSent>", "DateSent<")
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
DEFAULT_MESSAGES = {
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    503: (20503, "Service unavailable"),
}


@dataclass
class TwilioCall:
    operation: str  # "messages.create", "messages.list", "messages.fetch" or "unknown"
    verb: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    username: str | None  # from basic auth
    injected: str | None = None
    status: int | None = None
    response: Any = None
    applied: Any = None  # with fail_next(..., apply=True): the answer the failure replaced


def error_body(status: int, code: int | None = None, message: str | None = None) -> dict[str, Any]:
    default_code, default_message = DEFAULT_MESSAGES.get(status, (status, "Error"))
    code = code if code is not None else default_code
    return {
        "code": code,
        "message": message if message is not None else default_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.reply = Reply.json(status, error_body(status, code, message))


def _segments(body: str) -> int:
    if all(ch in GSM_BASIC for ch in body):
        single, part = 160, 153
    else:
        single, part = 70, 67
    if len(body) <= single:
        return 1
    return -(-len(body) // part)


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _date_filter(name: str, value: str) -> date | datetime:
    if DAY.fullmatch(value):
        return date.fromisoformat(value)
    if INSTANT.fullmatch(value):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    raise TwilioError(400, 20001, f"Invalid value for {name}: {value!r}")


def _matches_date(name: str, wanted: date | datetime, sent: datetime | None) -> bool:
    if sent is None:  # not sent yet: Twilio filters on date_sent
        return False
    if isinstance(wanted, datetime):
        actual: date | datetime = sent.replace(microsecond=0)
    else:
        actual = sent.date()
    if name == "DateSent>":
        return actual >= wanted
    if name == "DateSent<":
        return actual <= wanted
    return actual == wanted


class TwilioFake(FakeHttpServer):
    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        hang_seconds: float = 30.0,
    ) -> None:
        super().__init__(hang_seconds=hang_seconds)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[TwilioCall] = []
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.hold_queued = False  # True: created messages stay queued (no date_sent)
        self._messages: dict[str, dict[str, Any]] = {}
        self._sent_at: dict[str, datetime | None] = {}

    def start(self) -> TwilioFake:
        super().start()
        return self

    def __enter__(self) -> TwilioFake:
        return self.start()

    def client(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        timeout: float | None = 5,
    ) -> Client:
        """A `twilio.rest.Client` on its real HTTP client, pointed at this server."""
        client = Client(
            account_sid or self.account_sid,
            auth_token or self.auth_token,
            http_client=TwilioHttpClient(timeout=timeout),
        )
        client.api.base_url = self.url
        return client

    # --- what the test reads --------------------------------------------------------------

    def calls(self, operation: str | None = None) -> list[TwilioCall]:
        with self._lock:
            return [c for c in self.requests if operation is None or c.operation == operation]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The message resources created, in order."""
        with self._lock:
            return [dict(m) for m in self._messages.values()]

    def release_queued(self) -> None:
        """Send every message still queued (see `hold_queued`), now."""
        with self._lock:
            for sid, sent_at in self._sent_at.items():
                if sent_at is None:
                    self._send(sid)

    # --- failure injection ----------------------------------------------------------------

    def fail_next(
        self,
        operation: str = "messages.create",
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        hang: bool | float = False,
        drop: bool = False,
        apply: bool = False,
        times: int | None = 1,
    ) -> None:
        """Make the next `times` calls of `operation` ("*": any) fail: HTTP `status` with a
        Twilio error body (`code`/`message` default per status: 429 → 20429, 500 → 20500, ...;
        429 sends Retry-After, 1 unless given), or `hang=True` (or seconds): no answer until
        `hang_seconds` pass or the server stops, or `drop=True`: the connection is closed at
        once, unanswered. `apply=True`: the call takes effect first (the message is created),
        then fails as asked: the answer is lost, not the effect."""
        if code is not None and status is None:
            status = 400
        if status == 429 and retry_after is None:
            retry_after = 1
        failure = Failure(
            status=status,
            error=code,
            message=message,
            retry_after=retry_after,
            hang=self.hang_for(hang, self.hang_seconds),
            drop=drop,
            apply=apply,
            remaining=times,
        )
        self.add_failure(operation, failure)

    def failure_reply(self, failure: Failure) -> Reply:
        status = failure.status or 400
        code = failure.error if isinstance(failure.error, int) else None
        return Reply.json(status, error_body(status, code, failure.message))

    # --- serving --------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> Reply | None:
        params: dict[str, str] = dict(request.query)
        if request.body:
            params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
        username, password = _basic_auth(request.headers.get("authorization", ""))
        operation = "unknown"
        list_match = MESSAGES.fullmatch(request.path)
        one_match = MESSAGE.fullmatch(request.path)
        if list_match and request.verb == "POST":
            operation = "messages.create"
        elif list_match and request.verb == "GET":
            operation = "messages.list"
        elif one_match and request.verb == "GET":
            operation = "messages.fetch"
        call = TwilioCall(operation, request.verb, request.path, params, request.headers, username)
        with self._lock:
            self.requests.append(call)

        failure = self.take_failure(operation)
        if failure is not None:
            call.injected = failure.kind
            if failure.apply:  # Twilio did the work; the answer is what gets lost
                applied = self._answer(request, operation, params, username, password)
                call.applied = applied.decoded()
            reply = self.apply_failure(failure)
        else:
            reply = self._answer(request, operation, params, username, password)
        if reply is not None:
            call.status = reply.status
            call.response = reply.decoded()
        return reply

    def _answer(
        self,
        request: HttpRequest,
        operation: str,
        params: dict[str, str],
        username: str | None,
        password: str | None,
    ) -> Reply:
        try:
            return self._serve(request, operation, params, username, password)
        except TwilioError as e:
            return e.reply

    def _serve(
        self,
        request: HttpRequest,
        operation: str,
        params: dict[str, str],
        username: str | None,
        password: str | None,
    ) -> Reply:
        if username != self.account_sid or password != self.auth_token:
            raise TwilioError(401, 20003, "Authenticate")
        match = MESSAGES.fullmatch(request.path) or MESSAGE.fullmatch(request.path)
        if operation == "unknown" or match is None or match["account"] != self.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        if operation == "messages.fetch":
            with self._lock:
                resource = self._messages.get(match["sid"])
            if resource is None:
                raise TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            return Reply.json(200, resource)
        if operation == "messages.list":
            return Reply.json(200, self._list(params))
        created = self._create(params)  # the answer: queued, not sent yet
        if not self.hold_queued:
            with self._lock:
                self._send(created["sid"])
        return Reply.json(201, created)

    def _send(self, sid: str) -> None:
        """Twilio hands the message to the carrier: status sent, date_sent set."""
        now = self.clock()
        resource = self._messages[sid]
        resource["status"] = "sent"
        resource["date_sent"] = resource["date_updated"] = _date(now)
        if resource["messaging_service_sid"] and not resource["from"]:
            resource["from"] = SERVICE_NUMBER
        self._sent_at[sid] = now

    def _list(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            page_size = int(params.get("PageSize", "50"))
            page = int(params.get("Page", "0"))
        except ValueError as e:
            raise TwilioError(400, 20001, "Invalid PageSize or Page") from e
        if not 1 <= page_size <= 1000 or page < 0:
            raise TwilioError(400, 20001, "PageSize must be 1 to 1000, Page at least 0")
        dates = {name: _date_filter(name, params[name]) for name in DATE_FILTERS if name in params}
        with self._lock:
            found = [
                dict(resource)
                for sid, resource in reversed(self._messages.items())  # newest first
                if ("To" not in params or resource["to"] == params["To"])
                and ("From" not in params or resource["from"] == params["From"])
                and all(
                    _matches_date(name, wanted, self._sent_at.get(sid))
                    for name, wanted in dates.items()
                )
            ]
        start = page * page_size
        messages = found[start : start + page_size]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        kept = {k: v for k, v in params.items() if k in ("To", "From", *DATE_FILTERS)}

        def page_uri(number: int) -> str:
            return f"{uri}?{urlencode({**kept, 'PageSize': page_size, 'Page': number})}"

        more = start + page_size < len(found)
        return {
            "first_page_uri": page_uri(0),
            "end": start + max(len(messages) - 1, 0),
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "messages": messages,
            "uri": page_uri(page),
            "page_size": page_size,
            "start": start,
            "next_page_uri": page_uri(page + 1) if more else None,
            "page": page,
        }

    def _create(self, params: dict[str, str]) -> dict[str, Any]:
        to = params.get("To", "")
        sender = params.get("From", "")
        service = params.get("MessagingServiceSid", "")
        body = params.get("Body", "")
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to):
            raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not service:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if sender and not (
            E164.fullmatch(sender)
            or SHORT_CODE.fullmatch(sender)
            or ALPHANUMERIC_SENDER.fullmatch(sender)
        ):
            raise TwilioError(
                400,
                21212,
                f"The 'From' number {sender} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        if service and not MESSAGING_SERVICE_SID.fullmatch(service):
            raise TwilioError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        if sender and sender == to:
            raise TwilioError(400, 21266, "'To' and 'From' numbers cannot be the same.")
        if not body and not params.get("MediaUrl") and not params.get("ContentSid"):
            raise TwilioError(400, 21602, "Message body is required.")
        if len(body) > 1600:
            raise TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        sid = "SM" + secrets.token_hex(16)
        now = _date(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {
                "media": uri.replace(".json", "/Media.json"),
                "feedback": uri.replace(".json", "/Feedback.json"),
            },
            "to": to,
            "uri": uri,
        }
        with self._lock:
            self._messages[sid] = resource
            self._sent_at[sid] = None
            return dict(resource)


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    if not header.startswith("Basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    username, _, password = decoded.partition(":")
    return username, password
