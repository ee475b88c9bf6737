"""The manager's home page: what needs them now."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import role_required
from accounts.choices import Role
from followups.selectors.report import dashboard_for


@role_required(Role.MANAGER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # The lists are written by report_tags (open_drop_items, least_healthy_items, …).
    return render(request, "followups/dashboard.html", {"dashboard": dashboard_for(request.user)})
