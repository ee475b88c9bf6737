from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from accounts.access import role_required
from accounts.choices import Role
from accounts.forms import OrganisationSettingsForm, ProfileForm
from accounts.models import OrganisationSettings
from accounts.services import organisation_settings_update, user_update_profile


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user_update_profile(user=request.user, **{name: form.cleaned_data[name] for name in form.changed_data})
        messages.success(request, "Your profile was saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


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
