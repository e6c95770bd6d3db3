"""The machinery of the fake HTTP servers (tests/fakes/slack.py, tests/fakes/twilio.py): a
threaded server on 127.0.0.1 with an ephemeral port, requests recorded before anything can fail,
and failures injected per operation (an HTTP status, 429 with Retry-After, a hang that `stop()`
ends at once, a connection closed unanswered; and, where the fake supports it, "the call took
effect but its answer was lost")."""

from __future__ import annotations

import json
import threading
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Failure:
    """What the next call(s) to one operation get instead of a normal answer."""

    status: int | None = None
    error: str | int | None = None
    message: str | None = None
    retry_after: int | None = None
    hang: float | None = None
    drop: bool = False  # close the connection without answering
    # The call takes effect first (the message is stored), then the failure replaces its
    # answer: the provider did the work but the client never heard. Honoured by the fakes whose
    # `handle` implements it (the Slack fake).
    apply: bool = False
    remaining: int | None = 1  # None: every call until clear_failures()
    rate_limit: str | None = None  # the GitHub fake: "primary" or "secondary" (403/429)
    headers: dict[str, str] = field(default_factory=dict)  # added to the failure's reply

    @property
    def kind(self) -> str:
        if self.hang is not None:
            kind = "hang"
        elif self.drop:
            kind = "drop"
        elif self.status is not None:
            kind = f"status:{self.status}"
        else:
            kind = f"error:{self.error}"
        return f"applied+{kind}" if self.apply else kind


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data).encode(), all_headers)

    def decoded(self) -> Any:
        """The body as JSON, or as text when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode(errors="replace")


@dataclass(frozen=True)
class HttpRequest:
    verb: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeHttpServer"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            request = HttpRequest(
                verb=self.command,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            reply = fake.handle(request)
        except Exception:
            fake.internal_errors.append(traceback.format_exc())
            reply = Reply(500, b"the fake server crashed", {"Content-Type": "text/plain"})
        if reply is None:  # dropped, or hung: the client gave up, or the server is stopping
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeHttpServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeHttpServer(ABC):
    """An HTTP server on 127.0.0.1 (ephemeral port) in a background thread, with failure
    injection. Subclasses implement `handle` and `failure_reply`."""

    def __init__(self, *, hang_seconds: float = 30.0) -> None:
        self.hang_seconds = hang_seconds
        self.internal_errors: list[str] = []  # tracebacks of the fake's own bugs
        self.port = 0
        self._lock = threading.RLock()
        self._failures: dict[str, list[Failure]] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeHttpServer:
        self._stopping.clear()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends every hang
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHttpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def add_failure(self, operation: str, failure: Failure) -> None:
        answered = failure.status is not None or failure.error is not None
        if failure.hang is not None and answered:
            raise ValueError("a hang is never answered: give no status or error with it")
        if failure.drop and answered:
            raise ValueError("a dropped connection is never answered: give no status or error")
        if failure.drop and failure.hang is not None:
            raise ValueError("give hang or drop, not both")
        if failure.hang is None and not failure.drop and not answered:
            raise ValueError("give a status, an error, hang=True or drop=True")
        if failure.remaining is not None and failure.remaining < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        with self._lock:
            self._failures.setdefault(operation, []).append(failure)

    def take_failure(self, operation: str) -> Failure | None:
        with self._lock:
            for key in (operation, "*"):
                queue = self._failures.get(key)
                if queue:
                    failure = queue[0]
                    if failure.remaining is not None:
                        failure.remaining -= 1
                        if failure.remaining == 0:
                            queue.pop(0)
                    return failure
        return None

    def apply_failure(self, failure: Failure) -> Reply | None:
        """The reply for an injected failure; None: close the connection unanswered."""
        if failure.drop:
            return None
        if failure.hang is not None:
            self._stopping.wait(failure.hang)
            return None
        reply = self.failure_reply(failure)
        reply.headers.update(failure.headers)
        if failure.retry_after is not None:
            reply.headers["Retry-After"] = str(failure.retry_after)
        return reply

    @staticmethod
    def hang_for(hang: bool | float, default: float) -> float | None:
        if hang is False:
            return None
        return default if hang is True else float(hang)

    @abstractmethod
    def handle(self, request: HttpRequest) -> Reply | None:
        """The provider's answer to one request (None: hang until the client gives up)."""

    @abstractmethod
    def failure_reply(self, failure: Failure) -> Reply:
        """The provider's answer when a failure was injected (its error shape)."""
