"""The pages of two-factor sign-in: set-up and management (your own), the second step of
signing in, and an admin's reset of someone's lost device."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.forms import add_service_error
from accounts.common.http import safe_next_url
from accounts.models import User
from accounts.two_factor.forms import ConfirmEnrolmentForm, ConfirmIdentityForm, VerifyForm
from accounts.two_factor.selectors import enrolment_of, pending_totp_device, two_factor_status, user_is_enrolled
from accounts.two_factor.services import (
    two_factor_backup_codes_regenerate,
    two_factor_disable,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
    two_factor_reset,
    two_factor_verify,
)

# Wrong codes allowed at the second step before the sign-in starts again from the
# password (on top of django-otp's growing wait between tries on the device itself).
MAX_VERIFY_FAILURES = 5
FAILURES_SESSION_KEY = "two_factor_failures"


def _manage_page(request: HttpRequest, *, codes_form=None, disable_form=None, status: int = 200) -> HttpResponse:
    context = {
        **two_factor_status(request.user),
        "codes_form": codes_form or ConfirmIdentityForm(prefix="codes"),
        "disable_form": disable_form or ConfirmIdentityForm(prefix="disable"),
    }
    return render(request, "accounts/two_factor/manage.html", context, status=status)


def _backup_codes_page(request: HttpRequest, codes: list[str], *, first_time: bool) -> HttpResponse:
    """The codes are in this answer only (no redirect: they must not pass through the
    session or a URL), and never cached."""
    response = render(request, "accounts/two_factor/backup_codes.html", {"codes": codes, "first_time": first_time})
    add_never_cache_headers(response)
    return response


@login_required
@never_cache
def two_factor_manage(request: HttpRequest) -> HttpResponse:
    return _manage_page(request)


@login_required
@require_POST
def two_factor_start(request: HttpRequest) -> HttpResponse:
    try:
        two_factor_enrolment_start(user=request.user)
    except ValidationError as error:
        messages.info(request, " ".join(error.messages))
        return redirect("accounts:two_factor")
    return redirect("accounts:two_factor_setup")


@login_required
@never_cache
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    device = pending_totp_device(request.user)
    if device is None:
        return redirect("accounts:two_factor")
    form = ConfirmEnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor_enrolment_confirm(user=request.user, device=device, code=form.cleaned_data["code"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            # This session proved the second factor just now: it counts as verified.
            otp_login(request, device)
            return _backup_codes_page(request, codes, first_time=True)
    return render(request, "accounts/two_factor/setup.html", {"enrolment": enrolment_of(device), "form": form})


@login_required
@require_POST
@sensitive_post_parameters("codes-password")
def two_factor_backup_codes(request: HttpRequest) -> HttpResponse:
    form = ConfirmIdentityForm(request.POST, prefix="codes")
    if form.is_valid():
        try:
            codes = two_factor_backup_codes_regenerate(
                user=request.user, password=form.cleaned_data["password"], code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return _backup_codes_page(request, codes, first_time=False)
    return _manage_page(request, codes_form=form)


@login_required
@require_POST
@sensitive_post_parameters("disable-password")
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    form = ConfirmIdentityForm(request.POST, prefix="disable")
    if form.is_valid():
        try:
            two_factor_disable(
                user=request.user, password=form.cleaned_data["password"], code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Two-factor sign-in is off: you sign in with your password alone.")
            return redirect("accounts:two_factor")
    return _manage_page(request, disable_form=form)


@login_required
@never_cache
def two_factor_verify_view(request: HttpRequest) -> HttpResponse:
    """The second step of signing in (TwoFactorRequiredMiddleware sends an enrolled user
    here after the password). Five wrong codes and the sign-in starts again."""
    next_url = safe_next_url(request, settings.LOGIN_REDIRECT_URL)
    if request.user.is_verified() or not user_is_enrolled(request.user):
        return redirect(next_url)
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verification = two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        if verification.ok:
            request.session.pop(FAILURES_SESSION_KEY, None)
            # A new session key for the now fully signed-in session (as login() does).
            request.session.cycle_key()
            otp_login(request, verification.device)
            return redirect(next_url)
        failures = request.session.get(FAILURES_SESSION_KEY, 0) + 1
        if failures >= MAX_VERIFY_FAILURES:
            logout(request)
            messages.error(request, "Too many wrong codes. Sign in again with your password.")
            return redirect(settings.LOGIN_URL)
        request.session[FAILURES_SESSION_KEY] = failures
        left = MAX_VERIFY_FAILURES - failures
        if verification.locked_until is not None:
            form.add_error("code", "Too many wrong codes in a row: wait a few seconds, then try the newest code.")
        else:
            form.add_error("code", f"That code is not right (or was already used). {left} tries left.")
    return render(request, "accounts/two_factor/verify.html", {"form": form, "next": next_url})


@require_POST
@role_required(Role.ADMIN)
def two_factor_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """An admin resets someone's two-factor (a lost phone); the People pages link here."""
    user = get_object_or_404(User, pk=user_id)
    had_it = two_factor_reset(actor=request.user, user=user)
    name = user.get_full_name() or user.get_username()
    if had_it:
        messages.success(
            request, f"Two-factor sign-in of {name} reset: they sign in with their password and set it up again."
        )
    else:
        messages.info(request, f"{name} had no two-factor sign-in to reset.")
    return redirect(safe_next_url(request, "accounts:profile"))
