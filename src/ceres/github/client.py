"""githubkit behind the outbox's error contract.

The client never retries by itself (`auto_retry=False`: the outbox retries, honouring
Retry-After) and runs without githubkit's HTTP cache, which drops the request timeout
(`tests/fakes/test_github_fake.py` shows it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from githubkit import GitHub
from githubkit.exception import (
    RateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
)

from ceres.core.outbox.channels import PermanentFailure, RetryLater, retry_after

log = logging.getLogger(__name__)

# Answers a retry cannot change: the request itself is wrong (a repository or issue that does
# not exist, a label name GitHub refuses).
PERMANENT_STATUSES = {404, 410, 422}


def github_client() -> GitHub[Any]:
    return GitHub(
        settings.CERES_GITHUB_TOKEN,
        base_url=settings.CERES_GITHUB_API_URL,
        auto_retry=False,
        http_cache=False,
        timeout=float(settings.CERES_GITHUB_TIMEOUT),
    )


@contextmanager
def github_errors(operation: str) -> Iterator[None]:
    """Map githubkit's exceptions to the outbox's: rate limits wait for Retry-After, requests
    GitHub refuses are permanent, credentials are retried (and logged: an operator fixes them),
    anything else is transient."""
    try:
        yield
    except RateLimitExceeded as exc:
        raise RetryLater(
            exc.retry_after.total_seconds(), f"GitHub {operation}: rate limited"
        ) from exc
    except RequestFailed as exc:
        status = exc.response.status_code
        if status == 429:
            raise RetryLater(retry_after(exc.response.headers), f"GitHub {operation}: 429") from exc
        if status in (401, 403):
            log.error(
                "GitHub %s: HTTP %s: check CERES_GITHUB_TOKEN and its access", operation, status
            )
            raise RuntimeError(f"GitHub {operation}: HTTP {status}") from exc
        if status in PERMANENT_STATUSES:
            raise PermanentFailure(f"GitHub {operation}: HTTP {status}") from exc
        raise RuntimeError(f"GitHub {operation}: HTTP {status}") from exc
    except (RequestTimeout, RequestError) as exc:
        raise RuntimeError(f"GitHub {operation}: {type(exc).__name__}") from exc
