"""Twilio configuration mistakes that would quietly hold SMS back or risk sending one twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.checks import CheckMessage, Warning

from ceres.sms.client import missing_settings

_CONFIGURATION = (
    "CERES_TWILIO_ACCOUNT_SID",
    "CERES_TWILIO_AUTH_TOKEN",
    "CERES_TWILIO_FROM",
    "CERES_TWILIO_MESSAGING_SERVICE_SID",
)


def check_twilio(
    *, app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None, **kwargs: Any
) -> list[CheckMessage]:
    """sms.W001: Twilio half configured (SMS wait in the outbox, then die). sms.W002: a
    lease shorter than one SMS attempt, up to two Twilio calls (the lookup before a retry, the
    send), lets a second worker send while the first may still succeed."""
    found: list[CheckMessage] = []
    configured = [name for name in _CONFIGURATION if getattr(settings, name, "")]
    missing = missing_settings()
    if configured and missing:
        found.append(
            Warning(
                f"Twilio is partly configured ({', '.join(configured)} set) but "
                f"{', '.join(missing)} missing: SMS wait in the outbox until it is set.",
                hint="Set every Twilio setting (docs/sms.md), or none to turn SMS off.",
                id="sms.W001",
            )
        )
    lease = settings.CERES_OUTBOX_LEASE_SECONDS
    timeout = settings.CERES_TWILIO_TIMEOUT
    if not missing and lease <= 2 * timeout:
        found.append(
            Warning(
                f"CERES_OUTBOX_LEASE_SECONDS ({lease}) is not longer than two Twilio calls "
                f"(2 x CERES_TWILIO_TIMEOUT = {2 * timeout}): a slow SMS may be retried, and "
                "sent twice, while it still runs.",
                hint="Make the lease comfortably longer than two Twilio timeouts.",
                id="sms.W002",
            )
        )
    return found


def register() -> None:
    checks.register(check_twilio)
