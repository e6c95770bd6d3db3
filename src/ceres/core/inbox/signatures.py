"""The generic webhook signature check: HMAC-SHA256 of the raw body, hex encoded.

Slack and GitHub receivers use their SDKs' verifiers (which also check Slack's timestamp
window); this is the fallback for providers without one. Verify before anything is stored.
"""

from __future__ import annotations

import hashlib
import hmac


def verify_hmac_sha256(secret: bytes, message: bytes, signature_hex: str) -> bool:
    """True when `signature_hex` (optionally prefixed "sha256=", as GitHub sends it) is the
    HMAC-SHA256 of `message` under `secret`. Constant-time, so timing reveals nothing."""
    if not secret:
        return False  # an unconfigured secret must never make every signature valid
    candidate = signature_hex.strip().removeprefix("sha256=").lower()
    expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), candidate.encode("ascii", "replace"))
