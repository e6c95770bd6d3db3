"""githubkit behind the outbox's error contract.

The client never retries by itself (`auto_retry=False`: the outbox retries, honouring
Retry-After) and runs without githubkit's HTTP cache, which drops the request timeout
(`tests/fakes/test_github_fake.py` shows it).

It authenticates with a token (`CERES_GITHUB_TOKEN`) or as a GitHub App installation
(`CERES_GITHUB_APP_*`): an App is not tied to a person's account, gets its own rate limit that
grows with the organization, and its changes show as the App's. githubkit signs the App's JWT and
fetches the hour-long installation token itself; the token is cached per process, per API
address and per key (`_token_cache`), so one is fetched an hour, not one per message, and a
rotated key or a test's fake server never gets another's token.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache.mem_cache import MemCacheStrategy
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


def app_configured() -> bool:
    """The three App settings are set: changes are made as the App installation."""
    return bool(
        settings.CERES_GITHUB_APP_ID
        and settings.CERES_GITHUB_APP_INSTALLATION_ID
        and (settings.CERES_GITHUB_APP_PRIVATE_KEY or settings.CERES_GITHUB_APP_PRIVATE_KEY_FILE)
    )


def configured() -> bool:
    """Ceres can make changes on GitHub (the outbox channel sends; otherwise messages wait)."""
    return app_configured() or bool(settings.CERES_GITHUB_TOKEN)


def app_private_key() -> str:
    """The App's PEM key: the setting's text, else the file it names. An environment variable
    often carries the PEM on one line with literal "\\n"; those become newlines again."""
    text: str = settings.CERES_GITHUB_APP_PRIVATE_KEY
    if not text:
        path = Path(settings.CERES_GITHUB_APP_PRIVATE_KEY_FILE)
        try:
            text = path.read_text()
        except OSError as exc:
            raise RuntimeError(
                f"CERES_GITHUB_APP_PRIVATE_KEY_FILE: cannot read {path}: {exc.strerror}"
            ) from exc
    if "\\n" in text and "\n" not in text.strip():
        text = text.replace("\\n", "\n")
    return text


_token_caches: dict[str, MemCacheStrategy] = {}


def _token_cache(*parts: str) -> MemCacheStrategy:
    """githubkit keeps the App's JWT and installation token in its cache strategy, by default
    one for the whole process keyed only by App and installation id. One per API address and key
    instead: GitHub Enterprise and github.com, or an old and a rotated key, never share a token."""
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    cache = _token_caches.get(key)
    if cache is None:
        cache = _token_caches[key] = MemCacheStrategy()
    return cache


def _installation_id() -> int:
    raw = str(settings.CERES_GITHUB_APP_INSTALLATION_ID).strip()
    if not raw.isdigit():
        raise RuntimeError(f"CERES_GITHUB_APP_INSTALLATION_ID must be a number, not {raw[:40]!r}")
    return int(raw)


def github_client() -> GitHub[Any]:
    options: dict[str, Any] = {
        "base_url": settings.CERES_GITHUB_API_URL,
        "auto_retry": False,
        "http_cache": False,
        "timeout": float(settings.CERES_GITHUB_TIMEOUT),
    }
    if app_configured():
        app_id, installation_id = str(settings.CERES_GITHUB_APP_ID).strip(), _installation_id()
        private_key = app_private_key()
        auth = AppInstallationAuthStrategy(app_id, private_key, installation_id)
        cache = _token_cache(settings.CERES_GITHUB_API_URL, app_id, private_key)
        return GitHub(auth, cache_strategy=cache, **options)
    return GitHub(settings.CERES_GITHUB_TOKEN, **options)


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
                "GitHub %s: HTTP %s: check %s and its access",
                operation,
                status,
                "the CERES_GITHUB_APP_* settings" if app_configured() else "CERES_GITHUB_TOKEN",
            )
            raise RuntimeError(f"GitHub {operation}: HTTP {status}") from exc
        if status in PERMANENT_STATUSES:
            raise PermanentFailure(f"GitHub {operation}: HTTP {status}") from exc
        raise RuntimeError(f"GitHub {operation}: HTTP {status}") from exc
    except RequestTimeout as exc:
        raise RuntimeError(f"GitHub {operation}: {type(exc).__name__}") from exc
    except RequestError as exc:
        inner = exc.__cause__
        if isinstance(inner, RequestFailed):
            # Refused while fetching the App's installation token (githubkit wraps what its
            # auth flow raises): the same answers mean the same here.
            with github_errors(f"{operation} (installation token)"):
                raise inner from None
        detail = f": {type(inner).__name__}: {inner}" if inner is not None else ""
        raise RuntimeError(f"GitHub {operation}: {type(exc).__name__}{detail}"[:500]) from exc
