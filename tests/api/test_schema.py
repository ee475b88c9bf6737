"""The OpenAPI schema: valid, with the bearer token scheme, the one error body on every
operation and the Idempotency-Key header on every POST."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_the_schema_is_valid_openapi_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_schema_declares_the_personal_token(schema):
    assert schema["components"]["securitySchemes"]["personalToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["personalToken"]["description"],
    }
    for path, method, operation in _operations(schema):
        assert {"personalToken": []} in operation["security"], (method, path)


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, method, operation in _operations(schema):
        for status in ("400", "401", "403", "404"):
            assert operation["responses"][status]["content"]["application/json"]["schema"] == error, (method, path)
        if method == "post":
            assert {"409", "413", "415", "422"} <= set(operation["responses"]), (method, path)
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in headers, (method, path)


def test_the_docs_page_uses_only_vendored_assets(client):
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
