"""Personal API tokens: `Authorization: Bearer ceres_<prefix>_<secret>`."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from ceres.team.models import ApiToken

BEARER_MARK = "ceres_"
# What `new_token` makes (hex, as long as the column at most): anything else is refused before
# the database is asked (a NUL in it would be an error on PostgreSQL, not a 401).
_PREFIX = re.compile(r"[0-9a-f]{1,16}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """A new personal token: (token, prefix, sha256)."""
    prefix = secrets.token_hex(6)
    token = f"{BEARER_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, hash_token(token)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ceres_<prefix>_<secret>`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token.startswith(BEARER_MARK):
            return None
        prefix = token[len(BEARER_MARK) :].split("_", 1)[0]
        if not _PREFIX.fullmatch(prefix):
            return None
        row = (
            ApiToken.objects.select_related("user__person")
            .filter(prefix=prefix, revoked_at__isnull=True)
            .first()
        )
        if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
            return None
        if not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        user: User = row.user
        return user
