"""Reads of the read-heavy pages from a PostgreSQL streaming replica (issue 17).

Nothing here runs unless DATABASE_REPLICA_URL is set: config/settings/base.py then adds
the `replica` database alias, PrimaryReplicaRouter and ReplicaReadsMiddleware. Unset,
there is no second alias, no router and no middleware: one database, as before.

The rule, in one place:

- A request reads from the replica only if it is a GET or HEAD of one of
  REPLICA_READ_VIEWS (lists, the board, search, the dashboard, the report, the API's
  lists), and its client made no unsafe request (POST, PUT, PATCH, DELETE — pages and API
  alike) in the last BATON_REPLICA_STICKY_SECONDS: read-your-own-writes, see "The pin".
- Even in such a request, the primary answers every write (db_for_write; Django also
  sends select_for_update there), every read inside a transaction on the primary (it may
  need its own uncommitted rows), and who you are and whether you may come in: the
  request's user is loaded before the mark is set, and PRIMARY_ONLY_APPS /
  PRIMARY_ONLY_MODELS (sessions, API tokens with their user, two-factor devices,
  lockouts) are always read from the primary, so that a sign-out, a revoked token or a
  deactivated user takes effect at once rather than after the replica's lag. (Other reads
  of users — a list's owner names and filter choices — may come from the replica.)
- Everything else — other pages, Celery tasks, management commands, threads a view
  starts — uses the primary: the mark is a ContextVar that only the middleware sets, for
  the length of one request, and a new thread or context starts without it.
- A replica that cannot be reached is left alone for REPLICA_RETRY_SECONDS (in this
  process) and its pages are read from the primary: slower, never down.

The pin (read-your-own-writes). After an unsafe request its client's reads stay on the
primary for BATON_REPLICA_STICKY_SECONDS (10 by default: a few seconds more than the lag
a healthy replica is allowed; monitor it). A browser is pinned by a cookie holding the
deadline, set on the response of its unsafe request; an API client sending a Bearer token
(scripts rarely keep cookies) by that token, in the shared cache (Redis). A cookie rather
than a mark in the session because it costs nothing on the server — no session save on
every POST, no shared state between web hosts — and the deadline is in its value, so a
client that ignores max-age is released all the same. It is not signed: its only power is
to send its holder's reads to the primary, which is always correct, so a forged one gains
nothing, and signing would cost an HMAC on every list page.
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"

# URL names (namespace:name) whose GET/HEAD may read from the replica: the read-heavy
# pages of the benchmark (bench/pages.py), whose GETs read what they show and write
# nothing they then read back (a write — an API token's last use, a first settings row by
# get_or_create — goes to the primary, as every write does). Not the
# exports: they stream rows after the view has returned (outside the request's mark) and
# run for long enough to be cancelled by the replica's recovery ("conflict with recovery").
REPLICA_READ_VIEWS = frozenset(
    {
        "handoffs:my_day",
        "handoffs:board",
        "handoffs:deal_list",
        "handoffs:account_list",
        "handoffs:handoff_list",
        "handoffs:my_handoffs",
        "handoffs:search",
        "followups:my_checkins",
        "followups:dashboard",
        "followups:report",
        "followups:report_drilldown",
        "api_account_list",
        "api_contact_list",
        "handoffs_api:deal-list",
        "handoffs_api:promise-list",
        "handoffs_api:handoff-list",
        "handoffs_api:meeting-list",
        "followups_api:checkin-list",
        "followups_api:report",
    }
)

# Always read from the primary, even in a marked request: identity and access. (The
# signed-in user is loaded before the mark; an API token brings its user in its query.)
PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "axes", "django_otp", "otp_totp", "otp_static"})
PRIMARY_ONLY_MODELS = frozenset({"accounts.apitoken", "accounts.idempotencykey"})

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
READ_METHODS = frozenset({"GET", "HEAD"})
PIN_COOKIE = "baton_primary_until"
REPLICA_RETRY_SECONDS = 30.0

# True while a request that may read from the replica is being answered. A ContextVar,
# not a thread-local or a module global: each thread and each asyncio task has its own,
# so concurrent requests cannot see each other's mark.
_replica_reads: ContextVar[bool] = ContextVar("baton_replica_reads", default=False)


class PrimaryReplicaRouter:
    """Sends the reads of a marked request (ReplicaReadsMiddleware) to the replica and
    everything else to the primary; migrations only on the primary."""

    def db_for_read(self, model, **hints) -> str:
        if (
            _replica_reads.get()
            and model._meta.app_label not in PRIMARY_ONLY_APPS
            and model._meta.label_lower not in PRIMARY_ONLY_MODELS
            # A transaction on the primary may have written rows the replica has not got.
            and not connections[PRIMARY].in_atomic_block
        ):
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints) -> str:
        # Explicit: left to Django, a row read from the replica would be saved back to it.
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The replica is a copy of the primary: their rows may point at each other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY


class _ReplicaHealth:
    """When this process last failed to reach the replica (time.monotonic()): for
    REPLICA_RETRY_SECONDS after that, pages are read from the primary without trying."""

    down_until = 0.0


def replica_available() -> bool:
    """Can this request's thread talk to the replica? Connects if need be (the connection
    is then kept as the primary's is, CONN_MAX_AGE) and runs Django's health check on a
    kept one — the check its first query would run anyway."""
    if time.monotonic() < _ReplicaHealth.down_until:
        return False
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as error:
        _ReplicaHealth.down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        logger.warning(
            "The replica cannot be reached (%s); reading from the primary for %.0f s", error, REPLICA_RETRY_SECONDS
        )
        return False
    return True


def _token_pin_key(authorization: str) -> str:
    return "replica-pin:" + hashlib.sha256(authorization.encode()).hexdigest()


def _deadline_of(cookie: str | None) -> float:
    """The pin cookie's deadline (Unix time); 0 for a missing or malformed one (ignored)."""
    try:
        return float(cookie or 0)
    except ValueError:
        return 0.0


def client_pinned(request: HttpRequest) -> bool:
    """Did this client make an unsafe request less than BATON_REPLICA_STICKY_SECONDS ago?"""
    if _deadline_of(request.COOKIES.get(PIN_COOKIE)) > time.time():
        return True
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization:
        try:
            return cache.get(_token_pin_key(authorization)) is not None
        except Exception:
            # The cache (Redis) is down: the primary is always right.
            logger.warning("Cannot read the replica pin from the cache; reading from the primary", exc_info=True)
            return True
    return False


def pin_client(request: HttpRequest, response: HttpResponse) -> None:
    """Keep this client's reads on the primary for BATON_REPLICA_STICKY_SECONDS."""
    seconds = settings.BATON_REPLICA_STICKY_SECONDS
    if seconds <= 0:
        return
    response.set_cookie(
        PIN_COOKIE,
        str(int(time.time()) + seconds),
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization:
        try:
            cache.set(_token_pin_key(authorization), 1, timeout=seconds)
        except Exception:
            logger.warning("Cannot store the replica pin in the cache", exc_info=True)


class ReplicaReadsMiddleware:
    """Marks the requests that may read from the replica (REPLICA_READ_VIEWS, safe method,
    client not pinned, replica reachable) and pins the client after an unsafe request."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Every request starts on the primary; reset() puts back whatever was there before
        # (nothing, in a web server's thread), also when the view raised.
        token = _replica_reads.set(False)
        try:
            response = self.get_response(request)
        finally:
            _replica_reads.reset(token)
        if request.method not in SAFE_METHODS:
            pin_client(request, response)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        # Here, not in __call__: the view's URL name is known once the URL is resolved.
        if (
            request.method in READ_METHODS
            and request.resolver_match.view_name in REPLICA_READ_VIEWS
            and not client_pinned(request)
            # A transaction already open on the primary keeps every read (ATOMIC_REQUESTS
            # is off; a test's own transaction is one).
            and not connections[PRIMARY].in_atomic_block
            and replica_available()
        ):
            user = getattr(request, "user", None)
            if user is not None:
                # The signed-in user (lazy), from the primary, before the mark: these
                # views all need it, so this loads it no earlier than they would.
                user.is_authenticated  # noqa: B018
            _replica_reads.set(True)
