"""What views read from a request beyond their forms: ids in the query string and the
`next` page to go back to. Each rule once, for every view of every app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

# The largest id a PostgreSQL bigint holds: a longer number names no row, and handing it
# to the database would only make it complain.
MAX_ID = 2**63 - 1


def parse_id(value: str | None) -> int | None:
    """A positive row id written in ASCII digits, else None (`²` and `١` are digits to
    str.isdigit() but not to int(), and a 20-digit number is no id)."""
    value = (value or "").strip()
    if not value or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The `next` the form or link carried (POST first, then GET) if it stays on this
    site, else `fallback` (a URL or a URL name, for redirect()): never an open redirect
    to `https://evil.example/` or `//evil.example`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def see_other(request: HttpRequest, fallback: str, *args, **kwargs) -> HttpResponseRedirect:
    """303 See Other to the safe `next` (safe_next_url), else to `fallback` (a URL, or a
    URL name with its arguments): how a plain form's POST answers when JavaScript is off,
    so the browser GETs the page back and a reload does not post again."""
    response = HttpResponseRedirect(safe_next_url(request, resolve_url(fallback, *args, **kwargs)))
    response.status_code = 303
    return response
