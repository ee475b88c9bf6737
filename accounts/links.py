"""Absolute links for what leaves the site: emails, calendar invites, the customer link."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` on SITE_URL; a URL that is already absolute is returned as it is."""
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path
