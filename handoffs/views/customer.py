"""The customer's read-only status page, reached through a signed, expiring link (no login)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from handoffs.selectors.handoffs import customer_status_for_token


@never_cache
def customer_status(request: HttpRequest, token: str) -> HttpResponse:
    status = customer_status_for_token(token)
    if status is None:
        # A forged, expired or stale link shows nothing but how to get a new one.
        return render(request, "handoffs/customer_status.html", {"invalid": True}, status=404)
    response = render(request, "handoffs/customer_status.html", {"status": status})
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
