from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST, require_safe

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.forms import add_service_error
from accounts.forms import ApiTokenForm, OrganisationSettingsForm, ProfileForm
from accounts.models import OrganisationSettings
from accounts.services import organisation_settings_update, user_update_profile
from accounts.services_api import api_token_create, api_token_revoke, api_tokens_of


def _profile_page(request: HttpRequest, *, form: ProfileForm, token_form: ApiTokenForm, **extra) -> HttpResponse:
    context = {"form": form, "token_form": token_form, "api_tokens": api_tokens_of(user=request.user), **extra}
    return render(request, "accounts/profile.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user_update_profile(user=request.user, **{name: form.cleaned_data[name] for name in form.changed_data})
        messages.success(request, "Your profile was saved.")
        return redirect("accounts:profile")
    return _profile_page(request, form=form, token_form=ApiTokenForm())


@login_required
@require_POST
def api_token_create_view(request: HttpRequest) -> HttpResponse:
    """Create a personal API token and show its secret in this answer — the only time
    it is shown (no redirect: the secret must not pass through the session or a URL)."""
    token_form = ApiTokenForm(request.POST)
    created = None
    if token_form.is_valid():
        days = token_form.cleaned_data["expires_in_days"]
        try:
            created = api_token_create(
                user=request.user,
                name=token_form.cleaned_data["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as error:
            add_service_error(token_form, error)
    response = _profile_page(
        request,
        form=ProfileForm(instance=request.user),
        token_form=ApiTokenForm() if created else token_form,
        new_token=created,
    )
    # The secret is in this page: no cache, anywhere.
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(api_tokens_of(user=request.user), pk=pk)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect(f"{reverse('accounts:profile')}#api-tokens")


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on their own: the icon base.html links.
    A temporary redirect, so that a new icon (a new hashed name) is picked up."""
    return redirect(static("img/favicon.svg"))


@login_required
def ping(request: HttpRequest) -> HttpResponse:
    """The cheapest logged-in page (session and user lookups only): the benchmark's
    ceiling, against which every real page is measured."""
    return HttpResponse("ok", content_type="text/plain")


@role_required(Role.ADMIN)
def org_settings(request: HttpRequest) -> HttpResponse:
    form = OrganisationSettingsForm(request.POST or None, instance=OrganisationSettings.load())
    if request.method == "POST" and form.is_valid():
        organisation_settings_update(actor=request.user, **{name: form.cleaned_data[name] for name in form.fields})
        messages.success(request, "Settings saved. They apply from the next check onwards.")
        return redirect("accounts:org_settings")
    return render(request, "accounts/org_settings.html", {"form": form})
