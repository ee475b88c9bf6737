"""What applies to every URL under /api/, whichever app's view answers it.

`ApiErrorMiddleware` (first in MIDDLEWARE): a body over API_MAX_BODY_BYTES is refused
with 413 before anything reads it, and any answer that is not JSON — Django's 404 for an
unknown URL, a 500 page after a crash, a 400 for a bad Host — is replaced by the one
error body (accounts.api.errors), so no client ever has to parse HTML.

`IdempotencyMiddleware` (after the session and authentication middleware): a POST with
an `Idempotency-Key` header runs at most once per user and key.

- The key row is inserted in the transaction that runs the request, and the answer is
  stored in it before it commits: the change and its stored answer commit together, and
  a crash (5xx) rolls both back, so the client may retry.
- A concurrent duplicate (the first is still running) gets 409
  `idempotency_in_progress` at once: on PostgreSQL a transaction-scoped advisory lock on
  (user, key) is tried first; elsewhere (SQLite) writers are serialised anyway and the
  unique constraint (user, key) is the last guard.
- A retry with the same key, method, path and body gets the stored answer again, with
  `Idempotent-Replayed: true`; the same key with another body, method or path gets 422
  `idempotency_key_reused` and nothing runs.
- Stored: 2xx and deterministic 4xx answers. Not stored (the key is forgotten, a retry
  runs anew): 5xx, and 401, 403, 408, 409, 423, 425, 429 — answers a retry may change.
- Keys are kept 24 hours (accounts.services_api.idempotency_keys_purge); an older key is
  treated as new. The header is optional: without it a POST simply runs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from accounts.api.authentication import BearerHeaderError, bearer_secret, token_of_request
from accounts.api.errors import error_response
from accounts.models import IdempotencyKey, User
from accounts.services_api import IDEMPOTENCY_KEY_TTL

logger = logging.getLogger("baton.api")

API_PREFIX = "/api/"
# The largest request body the API reads: a CRM payload or a deal with its contacts is a
# few kilobytes; a megabyte is generous and keeps a flood from filling the memory.
API_MAX_BODY_BYTES = 1024 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Answers that depend on the moment or on who asks, not on the body: a retry may differ.
_NOT_STORED = {401, 403, 408, 409, 423, 425, 429}
_KEY_MAX_LENGTH = 255
# Names the idempotency locks among the advisory locks of the database (outbox uses its own).
_LOCK_NAMESPACE = b"baton-idempotency"

_ERROR_CODES = {
    400: ("invalid", "The request is not valid."),
    401: ("not_authenticated", "Authentication is required: `Authorization: Bearer <token>`."),
    403: ("permission_denied", "You may not do this."),
    404: ("not_found", "Nothing here: no such URL, or no such object you may see."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    429: ("throttled", "Too many requests: wait before trying again."),
}


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _is_json(response: HttpResponseBase) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith("application/json") or content_type.startswith("application/problem+json")


class ApiErrorMiddleware:
    """Under /api/: refuse large bodies with 413, and answer every error as JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _is_api(request):
            return self.get_response(request)
        refused = self._refuse_body(request)
        if refused is not None:
            return refused
        return self._as_json_error(self.get_response(request))

    def _refuse_body(self, request: HttpRequest) -> HttpResponse | None:
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return error_response(400, "invalid", "The Content-Length header is not a number.")
        if length > API_MAX_BODY_BYTES:
            return error_response(
                413, "payload_too_large", f"The request body is {length} bytes; the limit is {API_MAX_BODY_BYTES}."
            )
        return None

    def _as_json_error(self, response: HttpResponseBase) -> HttpResponseBase:
        if response.status_code < 400 or _is_json(response):
            return response
        status = response.status_code
        code, message = _ERROR_CODES.get(status, ("server_error" if status >= 500 else "error", ""))
        if status >= 500:
            message = "Something went wrong on our side; nothing was saved by this request. Try again later."
        replacement = error_response(status, code, message or "The request was refused.")
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                replacement[header] = response[header]
        return replacement


def _request_user(request: HttpRequest) -> User | None:
    """Who the idempotency key belongs to: the Bearer token's user, else the session's.
    None when the request is not authenticated (the view then answers 401)."""
    try:
        secret = bearer_secret(request)
    except BearerHeaderError:
        return None
    if secret is not None:
        token = token_of_request(request)
        return token.user if token is not None else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return user
    return None


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= _KEY_MAX_LENGTH and all(33 <= ord(char) <= 126 for char in key)


def _lock_id(user_id: int, key: str) -> int:
    digest = hashlib.sha256(_LOCK_NAMESPACE + f":{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(user_id: int, key: str) -> bool:
    """Take the (user, key) lock for this transaction; False if another request holds it."""
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers (BEGIN IMMEDIATE); the unique constraint guards the rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(user_id, key)])
        return bool(cursor.fetchone()[0])


def _in_progress() -> HttpResponse:
    response = error_response(
        409,
        "idempotency_in_progress",
        "A request with this Idempotency-Key is still running: retry in a moment to get its answer.",
    )
    response["Retry-After"] = "1"
    return response


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body), status=record.response_status, content_type=record.response_content_type
    )
    if record.response_location:
        response["Location"] = record.response_location
    response[REPLAYED_HEADER] = "true"
    return response


class IdempotencyMiddleware:
    """Under /api/: a POST with an Idempotency-Key runs at most once (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "POST" or not _is_api(request) or IDEMPOTENCY_HEADER not in request.headers:
            return self.get_response(request)
        key = request.headers[IDEMPOTENCY_HEADER].strip()
        if not _valid_key(key):
            return error_response(
                400,
                "invalid_idempotency_key",
                f"An Idempotency-Key is 1 to {_KEY_MAX_LENGTH} visible ASCII characters (a UUID is a good choice).",
            )
        user = _request_user(request)
        if user is None:
            return self.get_response(request)  # the view refuses it (401); nothing to remember
        return self._run_once(request, user=user, key=key)

    def _run_once(self, request: HttpRequest, *, user: User, key: str) -> HttpResponseBase:
        request_hash = hashlib.sha256(request.body).hexdigest()
        path = request.get_full_path()[:2000]
        with transaction.atomic():
            if not _try_lock(user.pk, key):
                return _in_progress()
            record = IdempotencyKey.objects.filter(user=user, key=key).first()
            if record is not None and record.created_at < timezone.now() - IDEMPOTENCY_KEY_TTL:
                record.delete()  # expired: the key starts a new request
                record = None
            if record is not None:
                return self._answer_again(record, method=request.method, path=path, request_hash=request_hash)
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user=user, key=key, method=request.method, path=path, request_hash=request_hash
                    )
            except IntegrityError:
                return _in_progress()  # another database connection got there first
            response = self.get_response(request)
            self._store(record, response)
            return response

    def _answer_again(self, record: IdempotencyKey, *, method: str, path: str, request_hash: str) -> HttpResponseBase:
        if (record.method, record.path, record.request_hash) != (method, path, request_hash):
            return error_response(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different request (another body or URL); "
                "use a new key for a new request.",
            )
        if record.response_status is None:
            return _in_progress()
        logger.info("Idempotency-Key replayed for user %s: %s %s", record.user_id, record.method, record.path)
        return _replay(record)

    def _store(self, record: IdempotencyKey, response: HttpResponseBase) -> None:
        status = response.status_code
        if status >= 500:
            # Roll back the key with whatever the request wrote, so that a retry runs it anew.
            transaction.set_rollback(True)
            return
        if status in _NOT_STORED or getattr(response, "streaming", False):
            record.delete()
            return
        record.response_status = status
        record.response_body = response.content
        record.response_content_type = response.get("Content-Type", "")[:100]
        record.response_location = response.get("Location", "")[:2000]
        record.save(update_fields=["response_status", "response_body", "response_content_type", "response_location"])
