"""Sessions end on whichever comes first: BATON_SESSION_IDLE_SECONDS without a request,
or SESSION_COOKIE_AGE after the sign-in, however busy the user was.

Django alone gives neither. Its session expiry moves forward whenever the session is
saved, and this middleware saves it (at most once a minute) to record activity, so the
absolute limit is kept here too: the sign-in time is stored in the session and never
moved. Recording activity at most once a minute keeps a page load from writing the
session row on every request (SESSION_SAVE_EVERY_REQUEST stays False).

Only sessions are concerned: an API call with a personal token has no session and is
never touched. A session-authenticated API call on an expired session goes on as
anonymous, and the API answers with its own 401 body.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.messages.storage import default_storage
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone

# Unix seconds, stored in the session (JSON-serialisable, compact).
SIGNED_IN_AT = "baton_signed_in_at"
SEEN_AT = "baton_seen_at"
# Activity is written to the session at most this often.
ACTIVITY_RESOLUTION_SECONDS = 60


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def idle_message() -> str:
    return f"You were signed out after {_duration(settings.BATON_SESSION_IDLE_SECONDS)} without activity."


def absolute_message() -> str:
    return (
        f"You were signed out: a sign-in lasts at most {_duration(settings.SESSION_COOKIE_AGE)}. Please sign in again."
    )


def session_expiry_reason(session, *, now: int) -> str | None:
    """Why the signed-in session must end now ("idle", "absolute"), or None."""
    seen_at = session.get(SEEN_AT)
    signed_in_at = session.get(SIGNED_IN_AT)
    if seen_at is None or signed_in_at is None:
        return None
    if now - seen_at > settings.BATON_SESSION_IDLE_SECONDS:
        return "idle"
    if now - signed_in_at > settings.SESSION_COOKIE_AGE:
        return "absolute"
    return None


def start_session_clock(sender, *, request: HttpRequest | None, user, **kwargs) -> None:
    """On user_logged_in (connected in AccountsConfig.ready): both clocks start now, in
    the session that login() is about to save anyway, so the first page after a
    sign-in has nothing to write."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(timezone.now().timestamp())
        session[SIGNED_IN_AT] = now
        session[SEEN_AT] = now


class IdleSessionMiddleware:
    """Ends a session left idle longer than BATON_SESSION_IDLE_SECONDS, or older than
    SESSION_COOKIE_AGE; records activity at most once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            reason = self._check(request)
        except DatabaseError:
            # The session could not be read (the database is down): let the view answer
            # (/health/ says 503 in JSON) instead of failing here with an HTML 500.
            reason = None
        response = self.get_response(request)
        if reason is not None and self._sent_to_login(response):
            # The page needed a login and is sending the user to it: say why they must
            # sign in again. The messages middleware (inside this one) has already
            # stored its own; this adds to the same cookie.
            storage = default_storage(request)
            storage.add(messages.INFO, idle_message() if reason == "idle" else absolute_message())
            storage.update(response)
        return response

    def _check(self, request: HttpRequest) -> str | None:
        session = request.session
        # The session's own key, not request.user: no user query for an anonymous request.
        if SESSION_KEY not in session:
            return None
        now = int(timezone.now().timestamp())
        reason = session_expiry_reason(session, now=now)
        if reason is not None:
            logout(request)  # flushes the session: a new key, nothing of the old one left
            return reason
        if SIGNED_IN_AT not in session:
            # A session signed in before this middleware existed: its clocks start now.
            session[SIGNED_IN_AT] = now
            session[SEEN_AT] = now
        elif now - session[SEEN_AT] >= ACTIVITY_RESOLUTION_SECONDS:
            session[SEEN_AT] = now
        return None

    @staticmethod
    def _sent_to_login(response: HttpResponse) -> bool:
        if response.status_code not in (301, 302, 303):
            return False
        return response.get("Location", "").startswith(resolve_url(settings.LOGIN_URL))
