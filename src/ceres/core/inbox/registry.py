"""Which function handles which inbound event: a table of (provider, event type) → handler.

Integrations register their handlers from their AppConfig.ready(), e.g.
`register_handler("github", "issues.labeled", on_issue_labeled)`. The event type "*" is the
provider's fallback. A handler receives the stored InboundEvent and runs inside the transaction
that marks the event processed, so its writes and "processed" commit together: it must not
call a provider directly (write to the outbox instead) and may be run again after a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ceres.core.inbox.models import InboundEvent

Handler = Callable[["InboundEvent"], object]
ANY_EVENT_TYPE = "*"

_HANDLERS: dict[tuple[str, str], Handler] = {}


def register_handler(provider: str, event_type: str, handler: Handler) -> None:
    existing = _HANDLERS.get((provider, event_type))
    if existing is not None and existing is not handler:
        raise ValueError(f"inbox handler for {provider}/{event_type} is already registered")
    _HANDLERS[(provider, event_type)] = handler


def handler_for(provider: str, event_type: str) -> Handler | None:
    return _HANDLERS.get((provider, event_type)) or _HANDLERS.get((provider, ANY_EVENT_TYPE))
