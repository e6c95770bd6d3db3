"""The registry of outbound channels: a name ("email", later "slack", "github", "sms") mapped to
the function that sends one message and, optionally, one that checks a payload at enqueue time.

A sender is called with the outbox row and either returns the provider's reference for the
delivered message (a Message-ID, a Slack ts, an SMS sid) or raises:

- `RetryLater(retry_after)`: the provider asked us to wait (HTTP 429/503 with Retry-After);
- `PermanentFailure`: retrying cannot help (address rejected, channel archived): dead now;
- any other exception: a transient failure, retried with exponential backoff.

A sender must pass the row's `idempotency_key` to the provider where the provider supports one,
so that the rare second delivery after a crash is recognised by the receiver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ceres.core.errors import Invalid

if TYPE_CHECKING:
    from ceres.core.outbox.models import OutboxMessage

Payload = dict[str, Any]
Sender = Callable[["OutboxMessage"], str]
PayloadValidator = Callable[[Payload], Payload]


class RetryLater(Exception):
    """The provider is rate-limiting or unavailable and said when to come back."""

    def __init__(self, retry_after: float | None = None, message: str = "") -> None:
        if not message:
            message = "provider asked to retry " + (
                "later" if retry_after is None else f"after {retry_after:g} s"
            )
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Retrying will not help: the message goes straight to dead with this error."""


@dataclass(frozen=True)
class Channel:
    name: str
    send: Sender
    validate: PayloadValidator | None = None
    # Whether the provider is set up at all (a token, credentials). While it is not, messages
    # wait without attempts: nothing is lost, nothing is retried into the log every minute.
    configured: Callable[[], bool] | None = None

    def is_configured(self) -> bool:
        return self.configured is None or self.configured()


_CHANNELS: dict[str, Channel] = {}


def register_channel(
    name: str,
    sender: Sender,
    *,
    validate: PayloadValidator | None = None,
    configured: Callable[[], bool] | None = None,
) -> Channel:
    """Make `name` a channel that `outbox.services.enqueue` accepts. Call it from an
    AppConfig.ready(): the web process validates payloads and the worker sends them."""
    existing = _CHANNELS.get(name)
    if existing is not None and existing.send is not sender:
        raise ValueError(f"outbox channel {name!r} is already registered to another sender")
    channel = Channel(name=name, send=sender, validate=validate, configured=configured)
    _CHANNELS[name] = channel
    return channel


def get_channel(name: str, *, field: str = "channel") -> Channel:
    channel = _CHANNELS.get(name)
    if channel is None:
        known = ", ".join(sorted(_CHANNELS)) or "none registered"
        raise Invalid(f"unknown outbox channel {name!r}; known channels: {known}", field=field)
    return channel


def unconfigured_channels() -> set[str]:
    """The channels whose provider is not set up (no token): their messages wait."""
    return {name for name, channel in _CHANNELS.items() if not channel.is_configured()}


def registered_channels() -> list[str]:
    return sorted(_CHANNELS)


def retry_after(headers: Mapping[str, Any]) -> float | None:
    """A provider's Retry-After header in seconds (Slack and Twilio send seconds), None when
    absent or unreadable; for senders raising `RetryLater`."""
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            return None
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    return None
