"""Configuration mistakes that would break the background mechanisms' guarantees quietly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def check_outbox_lease(
    *, app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None, **kwargs: Any
) -> list[CheckMessage]:
    """A lease shorter than the SMTP timeout lets a second worker take over a message whose
    first attempt may still succeed: the receiver then gets two copies (same Message-ID)."""
    lease = settings.CERES_OUTBOX_LEASE_SECONDS
    if settings.EMAIL_HOST and lease <= settings.EMAIL_TIMEOUT:
        return [
            Warning(
                f"CERES_OUTBOX_LEASE_SECONDS ({lease}) is not longer than CERES_EMAIL_TIMEOUT "
                f"({settings.EMAIL_TIMEOUT}): a slow send may be retried while it still runs.",
                hint="Make the lease comfortably longer than the e-mail timeout.",
                id="ceres.W001",
            )
        ]
    # One Slack attempt may make three calls (open a DM, look for an earlier post, post).
    slack_timeout = getattr(settings, "CERES_SLACK_TIMEOUT", 0)
    if getattr(settings, "CERES_SLACK_BOT_TOKEN", "") and lease <= 3 * slack_timeout:
        return [
            Warning(
                f"CERES_OUTBOX_LEASE_SECONDS ({lease}) is not longer than three Slack calls "
                f"(3 x CERES_SLACK_TIMEOUT = {3 * slack_timeout}): a slow post may be retried "
                "while it still runs.",
                hint="Make the lease comfortably longer than three Slack timeouts.",
                id="ceres.W002",
            )
        ]
    return []
