"""The API's docs page: Swagger UI over /api/v1/schema/, every asset served from
static/vendor/swagger-ui (no CDN), so it works offline and leaks nothing."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def api_docs(request: HttpRequest) -> HttpResponse:
    """Public like the schema it shows: calling the API still needs a token."""
    return render(request, "accounts/api_docs.html")
