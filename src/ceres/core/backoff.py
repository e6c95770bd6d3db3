"""How long to wait before retrying something that failed: shared by the outbox and the inbox.

Exponential with "equal jitter": the delay doubles per attempt up to a cap, and half of it is
random, so many messages failing together (a provider outage) do not all come back in the
same second when it ends, while no retry comes back sooner than half the nominal delay.
"""

from __future__ import annotations

import random

from django.conf import settings


def retry_delay(
    *,
    attempt: int,
    base_seconds: float | None = None,
    max_seconds: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first attempt)."""
    base = settings.CERES_RETRY_BASE_SECONDS if base_seconds is None else base_seconds
    cap = settings.CERES_RETRY_MAX_SECONDS if max_seconds is None else max_seconds
    nominal = min(float(cap), float(base) * 2.0 ** max(attempt - 1, 0))
    half = nominal / 2.0
    return half + (rng or random).uniform(0.0, half)
