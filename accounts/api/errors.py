"""The API's one error body, whatever went wrong:

    {"error": {"code": "invalid", "message": "The request was refused: see fields.",
               "fields": {"email": ["Enter a valid email address."]}}}

`code` is stable and machine-readable, `message` a sentence for a person, `fields`
(only for `invalid`) the messages per field of the body or the query string
(`non_field_errors` for those about the whole body). The codes:

| status | code |
|---|---|
| 400 | `invalid` (validation, unknown field, wrong type), `malformed_json`, `invalid_idempotency_key` |
| 401 | `not_authenticated`, `authentication_failed` |
| 403 | `permission_denied` |
| 404 | `not_found` |
| 405 | `method_not_allowed` |
| 406 | `not_acceptable` |
| 409 | `idempotency_in_progress`, `conflict` (a stale `version`: someone saved since) |
| 413 | `payload_too_large` |
| 415 | `unsupported_media_type` |
| 422 | `idempotency_key_reused` |
| 429 | `throttled` |
| 500 | `server_error` |

DRF's views send their exceptions here (settings REST_FRAMEWORK["EXCEPTION_HANDLER"]);
what happens outside a DRF view (an unknown URL, a body too large, a crash) is shaped by
accounts.api.middleware with `error_response`, so no /api/ answer is ever an HTML page.
Services raise Django's ValidationError and PermissionDenied, not DRF's: they are mapped
here, so views call services without a try/except.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from accounts.common.edits import StaleEditError

# DRF's exception classes → our codes (DRF's own default_code is kept for the others).
_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "malformed_json",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}

NON_FIELD_KEY = api_settings.NON_FIELD_ERRORS_KEY  # "non_field_errors"


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The one error body."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(status_code: int, code: str, message: str, **extra_headers: str) -> JsonResponse:
    """An error answered outside a DRF view (middleware): the same body, as JSON."""
    response = JsonResponse(error_body(code, message), status=status_code, json_dumps_params={"separators": (",", ":")})
    for header, value in extra_headers.items():
        response[header] = value
    return response


def _flatten(detail: Any) -> list[str]:
    """Every message of a DRF error detail (a string, a list, or a nested dict of them)."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list | tuple):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


def _fields_of(detail: Any) -> dict[str, list[str]]:
    """A DRF ValidationError's detail as {field: [messages]}: nested serializers are
    flattened to dotted names (`contacts.0.email`) so every value is a list of strings,
    as the schema says."""
    if not isinstance(detail, dict):
        return {NON_FIELD_KEY: _flatten(detail)}
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            for index, inner in enumerate(value):
                if inner:
                    walk(f"{prefix}.{index}", inner)
        else:
            fields.setdefault(prefix or NON_FIELD_KEY, []).extend(_flatten(value))

    walk("", detail)
    return fields


def _django_validation_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {NON_FIELD_KEY: list(exc.messages)}


def _invalid_message(fields: dict[str, list[str]]) -> str:
    """A sentence for the whole refusal: the body-wide message when there is one (a
    service's "This deal was changed by someone else…"), else a pointer to `fields`."""
    general = fields.get(NON_FIELD_KEY)
    if general:
        return " ".join(general)
    return "The request was refused: see the messages of each field."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every exception of a DRF view as the one error body.

    Returns None (DRF re-raises; the middleware answers a JSON 500) for what is not a
    client's error."""
    if isinstance(exc, StaleEditError):
        # Optimistic locking: someone saved since the `version` sent. Not the request's
        # fault in any field: read again and re-apply (409, as HTTP means it).
        return Response(error_body("conflict", " ".join(exc.messages)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        fields = _django_validation_fields(exc)
        return Response(error_body("invalid", _invalid_message(fields), fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object, or none that you may see.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)  # headers: WWW-Authenticate, Retry-After, Allow
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next((code for cls, code in _CODES.items() if isinstance(exc, cls)), None)
    code = code or (exc.default_code if isinstance(exc.default_code, str) else "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields_of(exc.detail)
        response.data = error_body(code, _invalid_message(fields), fields)
    elif isinstance(exc, exceptions.ParseError):
        response.data = error_body(code, f"The body is not valid JSON: {exc.detail}")
    else:
        response.data = error_body(code, " ".join(_flatten(exc.detail)))
    return response
