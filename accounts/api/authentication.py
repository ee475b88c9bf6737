"""Personal API tokens: `Authorization: Bearer <token>` (see accounts.models.ApiToken).

A request with no Authorization header is left to the next authentication class (the
session, for the docs page used in a logged-in browser). A Bearer header with a wrong,
revoked or expired token, or a token of an inactive user, is refused with 401 — never
silently treated as anonymous.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts.models import ApiToken, User
from accounts.services_api import api_token_for_secret, api_token_touch

# The token found for a request is kept on the Django request, so that the Idempotency
# middleware (which runs before DRF) and DRF's authentication look it up once.
_CACHE_ATTRIBUTE = "_baton_api_token"
_NOT_FOUND = object()


class BearerHeaderError(Exception):
    """The Authorization header names the Bearer scheme but carries no usable token."""


def bearer_secret(request: HttpRequest) -> str | None:
    """The secret of an `Authorization: Bearer …` header; None without such a header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    secret = rest.strip()
    if not secret or " " in secret:
        raise BearerHeaderError("The Authorization header must be `Bearer <token>`.")
    return secret


def token_of_request(request: HttpRequest) -> ApiToken | None:
    """The live token of the request's Bearer header (looked up once per request), or
    None when there is no such header or the token is not valid."""
    cached = getattr(request, _CACHE_ATTRIBUTE, _NOT_FOUND)
    if cached is not _NOT_FOUND:
        return cached
    try:
        secret = bearer_secret(request)
    except BearerHeaderError:
        secret = None
    token = api_token_for_secret(secret) if secret else None
    setattr(request, _CACHE_ATTRIBUTE, token)
    return token


class PersonalTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` with a personal token from the profile page."""

    def authenticate(self, request) -> tuple[User, ApiToken] | None:
        django_request = request._request
        try:
            secret = bearer_secret(django_request)
        except BearerHeaderError as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        if secret is None:
            return None
        token = token_of_request(django_request)
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not valid: unknown, revoked or expired.")
        api_token_touch(token=token)
        # UserTimezoneMiddleware ran before the token was read and saw nobody: the
        # services' "today" (no close in the future, no meeting in the past) must be this
        # user's, as on the pages. The middleware deactivates it when the request ends.
        timezone.activate(token.user.tzinfo)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with this challenge), not 403, to an anonymous request.
        return 'Bearer realm="api"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    """Declares the personal token in the OpenAPI schema as an HTTP bearer scheme."""

    target_class = "accounts.api.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token created on your profile page (`Authorization: Bearer baton_…`).",
        }
