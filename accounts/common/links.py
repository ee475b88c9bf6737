"""Absolute links for what leaves the site: emails, calendar invites, the customer link."""

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse


def absolute_url(path: str) -> str:
    """`path` on SITE_URL; a URL that is already absolute is returned as it is."""
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path


def url_for_each(name: str) -> Callable[[int], str]:
    """reverse(name, args=[pk]) for any pk at the cost of one reverse(): for pages and
    worker batches that link hundreds of rows."""
    sentinel = 987654321987
    head, _, tail = reverse(name, args=[sentinel]).partition(str(sentinel))
    return lambda pk: f"{head}{pk}{tail}"
