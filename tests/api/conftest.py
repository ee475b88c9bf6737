"""Fixtures of the API tests: a client that authenticates with a real personal token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services_api import api_token_create


@pytest.fixture
def api_client(db):
    """api_client(user) → a DRF test client sending `Authorization: Bearer <a new token of user>`.
    The client's `.token` is the ApiToken row and `.secret` the secret."""

    def make(user, *, name: str = "tests") -> APIClient:
        created = api_token_create(user=user, name=name)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
        client.token = created.token
        client.secret = created.secret
        return client

    return make
