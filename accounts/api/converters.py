"""The `<api_id:pk>` path converter for ids in API URLs.

Django's `<int:…>` matches any number of digits, and a number too large for a bigint
makes PostgreSQL fail the query (a 500). An id here is 1 to 2**63 - 1, like
accounts.common.http.parse_id; anything else does not match, so the URL answers 404.
Importing this module registers the converter (accounts.api.urls does, before any app's
API urls are loaded by config.urls).
"""

from __future__ import annotations

from django.urls import register_converter

from accounts.common.http import MAX_ID


class ApiIdConverter:
    """A positive row id that fits a PostgreSQL bigint."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)  # Django: the pattern does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(ApiIdConverter, "api_id")
