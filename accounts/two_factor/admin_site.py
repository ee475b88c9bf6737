"""The Django admin (at settings.BATON_ADMIN_PATH) for superusers signed in with
two-factor only. Everything an admin does day to day is in Baton's own pages; this is
the engine room, so a password alone must not open it.

config/urls.py makes the default admin.site one of these, where it mounts it (so every
ModelAdmin registered with admin.site, and the "admin:" URL names, stay as they are)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class BatonAdminSite(OTPAdminSite):
    """OTPAdminSite, stricter: a superuser (not any staff member), active, whose session
    passed the second factor."""

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser and user.is_verified())

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """No second login form: signing in is Baton's own (with its lockout and the
        two-factor step); the admin only says who may come in."""
        if not request.user.is_authenticated:
            query = urlencode({"next": request.GET.get("next") or reverse("admin:index", current_app=self.name)})
            return redirect(f"{resolve_url(settings.LOGIN_URL)}?{query}")
        if self.has_permission(request):
            return redirect("admin:index")
        # Signed in, but not a superuser or not with two-factor: say so (the admin's own
        # login form would only ask again for a password that was right).
        return render(request, "accounts/two_factor/admin_refused.html", status=403)
