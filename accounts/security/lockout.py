"""Login protection: django-axes locks out a username, or a client address, after
AXES_FAILURE_LIMIT failed sign-ins in a row, until AXES_COOLOFF_TIME has passed.

Axes keeps its counters in the database (AXES_HANDLER), so every web process sees the
same lockout. What this module adds:

- `LoginAttemptHandler`, axes' database handler whose reset after a successful sign-in
  clears that username's failures only;
- `LoginLockoutBackend`, axes' backend minus its refusal of an authenticate() call made
  without a request (Client.login in tests, a management command): only a sign-in over
  the web has a client to lock out, and every web sign-in passes its request;
- `client_address`, the one answer to "which address is this client?" (axes and the
  password-reset limit both ask it), honest behind BATON_TRUSTED_PROXY_COUNT proxies;
- `lockout_response`, the login page again (status 429) with one message that is the
  same whether the username exists or not.
"""

from __future__ import annotations

import math

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

LOGIN_TEMPLATE = "registration/login.html"


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler (AXES_HANDLER), except what a successful sign-in resets.

    Axes would delete every attempt matching the username OR the address, so someone
    with an account of their own could guess another user's password four times, sign in
    as themselves, and start again from nothing. A correct password proves only that
    username: its failures go, and the address keeps counting the others."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """The failures that count against this sign-in, on the username's scale: an
        address may fail BATON_LOGIN_ADDRESS_FAILURE_LIMIT times (20) — an office behind
        one address must not be locked out by one person mistyping five times — a username
        AXES_FAILURE_LIMIT times (5). Axes compares one number with one limit, so the
        address's count is scaled to the username's limit."""
        since = get_cool_off_threshold(request)
        username = get_client_username(request, credentials)
        address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
        by_username = _failures(AccessAttempt.objects.filter(username=username, attempt_time__gte=since))
        by_address = _failures(AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since))
        limit, address_limit = settings.AXES_FAILURE_LIMIT, settings.BATON_LOGIN_ADDRESS_FAILURE_LIMIT
        return max(by_username if username else 0, by_address * limit // address_limit if address else 0)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def username_locked_out(username: str) -> bool:
    """Whether sign-ins with this username are refused now (its failures within the
    cool-off reached AXES_FAILURE_LIMIT): the People page offers to lift it."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return _failures(AccessAttempt.objects.filter(username=username, attempt_time__gte=since)) >= (
        settings.AXES_FAILURE_LIMIT
    )


def lockout_lift(username: str) -> int:
    """Forget the failed sign-ins of a username (every address's); how many records went."""
    count, _ = AccessAttempt.objects.filter(username=username).delete()
    return count


def _failures(attempts) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username or address before any password is checked."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password=None, **kwargs):
        if request is None:
            # Not a sign-in over the web (axes itself would raise here): nothing to lock.
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# axes keeps a username in a column of 255 characters; Django's login form does not
# enforce the username field's length, so anything longer would fail the insert (a 500).
STORED_USERNAME_LENGTH = 255


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a sign-in tried, as axes counts it: cut to what its table holds. A
    longer name cannot belong to a user (usernames are at most 150), so counting its
    prefix locks no one who exists out by accident."""
    if credentials:
        username = credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        username = getattr(request, "POST", {}).get(settings.AXES_USERNAME_FORM_FIELD)
    return username[:STORED_USERNAME_LENGTH] if isinstance(username, str) else username


def client_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind BATON_TRUSTED_PROXY_COUNT proxies, the
    address the outermost of them saw. Each proxy appends the address it received from to
    X-Forwarded-For, so only the last `count` entries are trustworthy; anything further
    left was written by the client and could be forged to dodge the limits."""
    count = settings.BATON_TRUSTED_PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    # None for a request made up in code (a test client's login): axes stores no address.
    return request.META.get("REMOTE_ADDR") or None


def cool_off_minutes(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_message(request: HttpRequest | None = None) -> str:
    """The same words for a known username, an unknown one and a locked address. Each
    failed attempt during a lockout starts the cool-off again (axes'
    AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the whole cool-off is what is left."""
    minutes = cool_off_minutes(request)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins. Try again in {minutes} {unit}."


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login form again, the username kept, the password not,
    with the lockout message as the form's error. The form is given its error rather
    than validated: validating would try to authenticate (and count a failure) again."""
    form = AuthenticationForm(request, data={"username": request.POST.get("username", "")})
    form.cleaned_data = {}
    form._errors = ErrorDict()
    form.add_error(None, lockout_message(request))
    redirect_to = request.POST.get("next", request.GET.get("next", ""))
    if not url_has_allowed_host_and_scheme(redirect_to, allowed_hosts={request.get_host()}):
        redirect_to = ""
    return render(
        request,
        LOGIN_TEMPLATE,
        {"form": form, "next": redirect_to},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
