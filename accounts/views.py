from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.choices import Role
from accounts.forms import OrganisationSettingsForm, ProfileForm
from accounts.models import OrganisationSettings
from accounts.permissions import role_required
from accounts.services import organisation_settings_update, user_update_profile


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user_update_profile(user=request.user, **{name: form.cleaned_data[name] for name in form.changed_data})
        messages.success(request, "Your profile was saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


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
