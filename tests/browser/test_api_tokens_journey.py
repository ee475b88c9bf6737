"""A rep creates an API token on the profile page, sees it once, calls the API with it
over real HTTP, revokes it; the API docs page loads with nothing from outside."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _get_me(live_server, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 — the test's own live server, over http
        f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 — the test's own live server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_rep_creates_uses_and_revokes_a_token(page, login_as, live_server, rep):
    # given
    login_as(rep)
    page.goto("/me/profile/")
    tokens = page.get_by_test_id("api-tokens")
    # when: a token is created
    tokens.get_by_label("Token name").fill("Spreadsheet sync")
    tokens.get_by_role("button", name="Create token").click()
    # then: its secret is shown, once
    secret = page.get_by_test_id("new-token-secret").input_value()
    assert secret.startswith("baton_")
    assert "shown only this once" in page.get_by_test_id("new-token").inner_text()
    # and: it works over real HTTP
    status, body = _get_me(live_server, secret)
    assert (status, body["username"]) == (200, "rep")
    # when: the profile is opened again
    page.goto("/me/profile/")
    # then: the list names it, shows its prefix and its use, and never the secret
    row = page.get_by_test_id("api-token-row")
    assert "Spreadsheet sync" in row.inner_text()
    assert secret[:12] in row.inner_text()
    assert "never" not in row.inner_text()  # last used: just now
    assert secret not in page.content()
    # when: it is revoked (a plain form POST)
    row.get_by_role("button", name="Revoke the token Spreadsheet sync").click()
    page.get_by_text("revoked: it no longer works").wait_for()
    # then
    status, body = _get_me(live_server, secret)
    assert status == 401 and body["error"]["code"] == "authentication_failed"
    assert "revoked" in page.get_by_test_id("api-token-row").inner_text()


def test_the_api_docs_page_loads_with_no_request_leaving_the_site(page, login_as, live_server, rep):
    # given: every request and console error of the page is watched
    requested, problems = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    login_as(rep)
    # when
    page.goto("/api/v1/docs/")
    page.locator(".opblock").first.wait_for()
    page.wait_for_load_state("networkidle")
    # then: the operations of the schema are listed, with the bearer authorisation
    expect(page.get_by_text("/api/v1/accounts/").first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    host = urlparse(live_server.url).hostname
    outside = [url for url in requested if urlparse(url).scheme in ("http", "https") and urlparse(url).hostname != host]
    assert host == "127.0.0.1" or host == "localhost"
    assert outside == []
    assert problems == []
