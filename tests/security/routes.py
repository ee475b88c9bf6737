"""The URL patterns the access matrix must cover: every pattern of config.urls with an
argument (an id, a token, a code), outside the Django admin and the API's actions."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

# The Django admin is for superusers with two-factor only (Django's own checks).
SKIPPED_PREFIXES = ("django-admin/", "admin/")
# Of the API, the matrix holds each resource's detail (a GET, with the session as the
# pages use it) and the inbound endpoint; its actions have their own tests (tests/api).
API_PREFIX = "api/v1/"
MATRIX_UNDER_API = {"handoffs:inbound_receive"}


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern


def urls_with_object_arguments() -> dict[str, str]:
    """{url name: route} of every URL pattern that takes an argument, but the Django
    admin's and the API's actions."""
    found = {}
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if not pattern.pattern.regex.groups:
            continue
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if route.startswith(API_PREFIX) and not (name in MATRIX_UNDER_API or (name or "").endswith("detail")):
            continue
        found[name or route] = route
    return found
