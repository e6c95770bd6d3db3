"""A small SMTP server for tests (aiosmtpd on 127.0.0.1), recording what it receives.

`received` holds every message whose data reached the server (the body and the final "."),
`accepted` only those it answered with 250. It can answer DATA with a given error, or hang on
the first DATA until released: a client killed while waiting for the 250 drops the connection,
aiosmtpd cancels the hung handler, and that message is received but never accepted.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FakeSmtpServer:
    def __init__(self, *, hang_first_data: bool = False, data_reply: str = "") -> None:
        self.hang_first_data = hang_first_data
        self.data_reply = data_reply
        self.received: list[Message] = []
        self.accepted: list[Message] = []
        self.hung = threading.Event()
        self.hang_cancelled = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.received.append(message)
            first = len(self.received) == 1
        if first and self.hang_first_data:
            self.hung.set()
            try:
                while not self.release.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                self.hang_cancelled.set()  # the client went away: nothing is accepted
                raise
        if self.data_reply:
            return self.data_reply
        with self._lock:
            self.accepted.append(message)
        return "250 OK"

    def accepted_with(self, message_id: str) -> list[Message]:
        with self._lock:
            return [m for m in self.accepted if m["Message-ID"] == message_id]

    def received_with(self, message_id: str) -> list[Message]:
        with self._lock:
            return [m for m in self.received if m["Message-ID"] == message_id]

    def start(self) -> FakeSmtpServer:
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __enter__(self) -> FakeSmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
