"""State changes and reads of the REST API's own records: personal tokens and the
Idempotency-Key store.

Tokens: `api_token_create` returns the secret once (only its SHA-256 digest is stored),
`api_token_revoke` (the owner or an admin), `api_token_for_secret` finds the live token
of a secret by its digest, `api_token_touch` records its use at most once a minute.
Idempotency: `idempotency_keys_purge` deletes the keys older than IDEMPOTENCY_KEY_TTL (the
rest of the contract is in accounts.api.middleware).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken, IdempotencyKey, User

logger = logging.getLogger("baton.api")

# What starts every secret: recognisable in a leaked file or a secret scanner's rules.
TOKEN_TAG = "baton_"  # noqa: S105 — a public marker, not a secret
# The characters of a secret shown in lists to tell tokens apart (the tag and 6 more).
TOKEN_PREFIX_LENGTH = len(TOKEN_TAG) + 6
# A user's tokens in use at once: enough for every integration, few enough to review.
MAX_ACTIVE_TOKENS_PER_USER = 20
# Recording each use would write a row on every request; a minute is precise enough to
# tell a token still in use from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=1)
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


def token_digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token's secret is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CreatedToken:
    """A token just created, with its secret: the only moment the secret exists."""

    token: ApiToken
    secret: str


@transaction.atomic
def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> CreatedToken:
    """Create a personal token for `user`; the secret is returned here and never again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "An expiry date must be in the future."})
    if not user.is_active:
        raise PermissionDenied("An inactive user has no API tokens.")
    # Lock the user's row so that two concurrent creations count each other.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if api_tokens_active(user=user).count() >= MAX_ACTIVE_TOKENS_PER_USER:
        raise ValidationError({"name": f"You have {MAX_ACTIVE_TOKENS_PER_USER} tokens in use: revoke one first."})
    secret = TOKEN_TAG + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=secret[:TOKEN_PREFIX_LENGTH],
        token_hash=token_digest(secret),
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    logger.info("API token %s (%s) created for user %s", token.pk, token.prefix, user.pk)
    return CreatedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token for good (its owner or an admin). Revoking twice changes nothing."""
    if token.user_id != actor.pk and not actor.is_admin_role:
        raise PermissionDenied("Only its owner or an admin may revoke a token.")
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    token.refresh_from_db(fields=["revoked_at", "revoked_by"])
    if revoked:
        logger.info("API token %s (%s) of user %s revoked by %s", token.pk, token.prefix, token.user_id, actor.pk)
    return token


def api_tokens_active(*, user: User):
    """The user's tokens that still authenticate (not revoked, not expired)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def api_tokens_of(*, user: User):
    """The profile page's list: every token of the user, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_for_secret(secret: str) -> ApiToken | None:
    """The live token whose secret this is, with its user, else None (unknown, revoked,
    expired or of an inactive user). One query: the digest is looked up, so no secret
    is compared byte by byte in Python."""
    if not secret.startswith(TOKEN_TAG) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=token_digest(secret)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used, at most once per LAST_USED_PRECISION: one
    conditional UPDATE, so that concurrent requests do not all write."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)
    token.last_used_at = now


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the Idempotency-Keys older than IDEMPOTENCY_KEY_TTL; returns how many.
    A key is honoured for 24 hours: a retry later than that runs as a new request."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
