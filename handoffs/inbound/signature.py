"""Baton's signature of an inbound delivery, the same for every kind of source.

The sender sends two headers:

    X-Baton-Timestamp: <unix seconds>
    X-Baton-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The timestamp is signed with the body, so an old request cannot be replayed with a new
timestamp; it must be within five minutes of Baton's clock either way.

A source of kind hubspot also accepts HubSpot's own v3 request signature, the one a
workflow's plain "Send a webhook" action sends (developers.hubspot.com, "Validating
requests", v3), keyed with the HubSpot app's client secret pasted as the source's secret:

    X-HubSpot-Request-Timestamp: <unix milliseconds>
    X-HubSpot-Signature-v3: base64(HMAC-SHA256(secret, method + uri + raw body + timestamp))

where uri is the full URL HubSpot posted to (scheme, host, path and query) with the
percent-escapes of HUBSPOT_URI_DECODED decoded, and nothing else. A timestamp more than
five minutes away from Baton's clock is refused. Salesforce's own signatures are not
accepted (see README "Closes from your CRM").
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable

TIMESTAMP_HEADER = "X-Baton-Timestamp"
SIGNATURE_HEADER = "X-Baton-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)

HUBSPOT_TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
HUBSPOT_SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
# The escapes HubSpot decodes in the URI before signing (its documentation's table); any
# other escape (%20, %26, %2B…) stays as sent.
HUBSPOT_URI_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


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


def hubspot_uri(uri: str) -> str:
    """The request URI as HubSpot signs it: the escapes of HUBSPOT_URI_DECODED decoded
    (in either case, each in one pass: a decoded "%" never starts a new escape)."""
    parts = uri.split("%")
    decoded = [parts[0]]
    for part in parts[1:]:
        char = HUBSPOT_URI_DECODED.get(f"%{part[:2].upper()}")
        decoded.append(char + part[2:] if char is not None else f"%{part}")
    return "".join(decoded)


def hubspot_signature_of(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The X-HubSpot-Signature-v3 value of a request (uri as received; decoded here)."""
    message = method.upper().encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_signature_check(
    *,
    secrets_valid: Iterable[str],
    timestamp: str | None,
    signature: str | None,
    method: str,
    uri: str,
    body: bytes,
    now: datetime.datetime,
) -> None:
    """Refuse (SignatureError) unless `signature` is HubSpot's v3 signature of the request
    under one of `secrets_valid` and `timestamp` (milliseconds) is within MAX_CLOCK_SKEW
    of `now`. Every candidate is compared with hmac.compare_digest."""
    if not timestamp or not signature:
        raise SignatureError(
            f"Sign the request: the {HUBSPOT_TIMESTAMP_HEADER} and {HUBSPOT_SIGNATURE_HEADER} headers are required."
        )
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 15:
        raise SignatureError(f"{HUBSPOT_TIMESTAMP_HEADER} must be the time in unix milliseconds.")
    sent_at = datetime.datetime.fromtimestamp(int(timestamp) / 1000, tz=datetime.UTC)
    if abs(now - sent_at) > MAX_CLOCK_SKEW:
        raise SignatureError(f"{HUBSPOT_TIMESTAMP_HEADER} is more than five minutes away from Baton's clock.")
    given = signature.strip().encode()
    matches = [
        hmac.compare_digest(
            hubspot_signature_of(secret=secret, method=method, uri=uri, body=body, timestamp=timestamp).encode(),
            given,
        )
        for secret in secrets_valid
        if secret
    ]
    if not any(matches):
        raise SignatureError(
            "The HubSpot signature does not match: check that the source's secret is the HubSpot app's client "
            "secret and that Baton sees the address HubSpot posts to (README, behind a proxy)."
        )
