"""What the OpenAPI schema says of every operation, whichever app defines it.

`add_error_responses` (a drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS)
adds to each operation the error answers the foundation may give — all with the one
error body (`Error`, accounts.api.errors) — and to each POST the optional
`Idempotency-Key` header (accounts.api.middleware). An endpoint that documents one of
these statuses itself keeps its own description.
"""

from __future__ import annotations

from typing import Any

from accounts.api.middleware import API_MAX_BODY_BYTES

ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMAS = {
    "Error": {
        "type": "object",
        "description": "Every error answer of the API.",
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
        "required": ["error"],
    },
    "ErrorDetail": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Stable and machine-readable: `invalid`, `not_found`, …"},
            "message": {"type": "string", "description": "A sentence for a person."},
            "fields": {
                "type": "object",
                "description": "For `invalid`: the messages of each refused field (`non_field_errors`: the whole body).",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["code", "message"],
    },
}

_EVERY_OPERATION = {
    "400": "Invalid input (`invalid`, with `fields`), or a malformed query.",
    "401": "No token, or an unknown, revoked or expired one.",
    "403": "The token's user may not do this.",
    "404": "No such object that the token's user may see (or an invalid cursor).",
    "405": "Method not allowed here.",
    "406": "The Accept header asks for something other than JSON.",
    "429": "Too many requests.",
}
_WITH_BODY = {
    "400": "Invalid input (`invalid`, with `fields`: unknown fields and wrong types included) or malformed JSON.",
    "413": f"The body is over {API_MAX_BODY_BYTES} bytes.",
    "415": "The body is not application/json.",
}
_POST_ONLY = {
    "409": "A request with the same Idempotency-Key is still running: retry in a moment.",
    "422": "The Idempotency-Key was already used with another body or URL.",
}

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "Any unique string (a UUID): a retry with the same key and body gets the first answer "
    "again (header `Idempotent-Replayed: true`) instead of running twice. Kept 24 hours.",
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error body and the Idempotency-Key
    header on every operation of the schema."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in ERROR_SCHEMAS.items():
        components.setdefault(name, schema)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(_EVERY_OPERATION)
            if method in ("post", "put", "patch"):
                errors |= _WITH_BODY
            if method == "post":
                errors |= _POST_ONLY
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_PARAMETER)
            responses = operation["responses"]
            for status, description in errors.items():
                responses.setdefault(status, _error_response(description))
    return result
