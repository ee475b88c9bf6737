"""The schema view renders the schema once per process (issue 17): the same bytes as
drf-spectacular's own view, per format, without generating it again."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from accounts.api.schema_view import CachedSpectacularAPIView

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(CachedSpectacularAPIView, "_rendered", {})


def plain_schema(query: dict) -> bytes:
    view = SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny])
    response = view(RequestFactory().get("/api/v1/schema/", query))
    response.render()
    return response.content


@pytest.mark.parametrize("query", [{}, {"format": "json"}], ids=["yaml", "json"])
def test_it_answers_what_drf_spectacular_answers(query):
    # when
    response = APIClient().get("/api/v1/schema/", query)
    # then
    assert response.status_code == 200
    assert response.content == plain_schema(query)
    assert response["Content-Disposition"].startswith('inline; filename="Baton API')


def test_it_generates_the_schema_once_per_format(monkeypatch):
    # given
    calls = []
    generate = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        calls.append(1)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    client = APIClient()
    # when
    yaml = [client.get("/api/v1/schema/") for _ in range(3)]
    json = [client.get("/api/v1/schema/", {"format": "json"}) for _ in range(2)]
    # then
    assert len(calls) == 2
    assert {response.content for response in yaml} == {yaml[0].content}
    assert json[0].content == json[1].content != yaml[0].content
    assert json[0]["Content-Type"].startswith("application/vnd.oai.openapi+json")
