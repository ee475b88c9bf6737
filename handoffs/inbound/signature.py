"""Baton's signature of an inbound delivery, the same for every kind of source.

The sender sends two headers:

    X-Baton-Timestamp: <unix seconds>
    X-Baton-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The timestamp is signed with the body, so an old request cannot be replayed with a new
timestamp; it must be within five minutes of Baton's clock either way. HubSpot's and
Salesforce's own request signatures are not accepted (see README "Closes from your CRM":
the CRM's workflow signs with a custom code action or a small relay).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable

TIMESTAMP_HEADER = "X-Baton-Timestamp"
SIGNATURE_HEADER = "X-Baton-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)


class SignatureError(Exception):
    """The delivery's signature is missing, malformed, wrong or too old (the message says which)."""


def secret_generate() -> str:
    """A new shared secret: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def signature_of(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-Baton-Signature value of `body` sent at `timestamp` (unix seconds, as sent)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def signature_check(
    *, secrets_valid: Iterable[str], timestamp: str | None, signature: str | None, body: bytes, now: datetime.datetime
) -> None:
    """Refuse (SignatureError) unless `signature` is the signature of `body` at
    `timestamp` under one of `secrets_valid`, and `timestamp` is within MAX_CLOCK_SKEW of
    `now`. Every candidate is compared with hmac.compare_digest."""
    if not timestamp or not signature:
        raise SignatureError(f"Sign the request: the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required.")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be the time in unix seconds.")
    sent_at = datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.UTC)
    if abs(now - sent_at) > MAX_CLOCK_SKEW:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than five minutes away from Baton's clock: sign it anew.")
    if not signature.startswith(SIGNATURE_PREFIX):
        raise SignatureError(f"{SIGNATURE_HEADER} must read sha256=<hex digest>.")
    matches = [
        hmac.compare_digest(signature_of(secret=secret, timestamp=timestamp, body=body).encode(), signature.encode())
        for secret in secrets_valid
        if secret
    ]
    if not any(matches):
        raise SignatureError("The signature does not match the body: check the shared secret.")
