"""Two-factor sign-in: TOTP devices and one-time backup codes (django-otp)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from accounts.two_factor.selectors import sign_in_state

# Pages a signed-in user reaches before the second step: the step itself, signing out,
# and pages that serve no signed-in user (health, the customers' token pages, the
# calendar feed, password reset). By URL name, so that moving a path changes nothing.
ALWAYS_OPEN = frozenset(
    {
        "accounts:two_factor_verify",
        "logout",
        "login",
        "health",
        "favicon",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "handoffs:customer_status",
        "followups:pulse_page",
        "followups:pulse_comment",
        "followups:pulse_opt_out",
        "followups:pulse_answer",
        "followups:calendar_feed",
    }
)
# What a user the organisation requires to enrol may open until they have: enrolment.
ENROLMENT_PAGES = frozenset({"accounts:two_factor", "accounts:two_factor_start", "accounts:two_factor_setup"})
# The API authenticates each request by its own token (accounts.api), not the session.
API_PREFIX = "/api/"
# A session found to owe no second step is not asked again for this long: the check is a
# query, and most users never turn two-factor on. An enrolment in another session, or the
# organisation turning the requirement on, reaches a session within this time.
CLEAR_FOR_SECONDS = 60
CLEAR_UNTIL = "_baton_two_factor_clear_until"


def _now() -> int:
    return int(timezone.now().timestamp())


def note_sign_in_state(sender, *, request: HttpRequest | None, user, **kwargs) -> None:
    """At sign-in (user_logged_in), whether the new session owes a second step: stored
    with the session the sign-in writes anyway, so the first page costs no query."""
    if request is None or not hasattr(request, "session"):
        return
    state = sign_in_state(user)
    if not state.enrolled and not state.must_enrol:
        request.session[CLEAR_UNTIL] = _now() + CLEAR_FOR_SECONDS


class TwoFactorRequiredMiddleware:
    """Sends a signed-in user who has not finished signing in to the step they owe, before
    any other page: an enrolled user whose session is not verified to the code step
    (accounts:two_factor_verify); a manager or admin whom the organisation requires to
    use two-factor and who has no device yet, to enrolment (accounts:two_factor).

    Asked at sign-in and then at most once a minute (CLEAR_FOR_SECONDS) while the session
    owes nothing; asked on every request while it owes a step. Runs after OTPMiddleware
    (request.user.is_verified)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        url_name = request.resolver_match.view_name if request.resolver_match else ""
        if url_name in ALWAYS_OPEN:
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        session = request.session
        now = _now()
        if session.get(CLEAR_UNTIL, 0) > now:
            return None
        state = sign_in_state(user)
        if not state.enrolled and not state.must_enrol:
            session[CLEAR_UNTIL] = now + CLEAR_FOR_SECONDS
            return None
        session.pop(CLEAR_UNTIL, None)
        if state.enrolled:
            return _send_to(request, "accounts:two_factor_verify", keep_next=True)
        if state.must_enrol and url_name not in ENROLMENT_PAGES:
            return _send_to(request, "accounts:two_factor", keep_next=False)
        return None


def _send_to(request: HttpRequest, url_name: str, *, keep_next: bool) -> HttpResponse:
    target = reverse(url_name)
    if request.headers.get("HX-Request"):
        # htmx would swap the step's page into a fragment: have it load the whole page
        # instead — unless that page is the one already shown (its bell polling), which
        # would reload it for ever.
        response = HttpResponse(status=204)
        if urlsplit(request.headers.get("HX-Current-URL", "")).path != target:
            response["HX-Redirect"] = target
        return response
    if keep_next and request.method == "GET":
        target = f"{target}?{urlencode({'next': request.get_full_path()})}"
    return redirect(target)
