"""The Content-Security-Policy (django-csp, config/settings/base.py): every page sends it,
and nowhere does it allow inline code. The browser test (tests/browser/test_csp_every_page.py)
proves the pages themselves need nothing more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import path, reverse

from handoffs.selectors.handoffs import customer_status_token
from tests.handoffs.handoff_builders import accepted_handoff

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a crash, to render the 500 page")


# This module doubles as a URLconf (pytest.mark.urls below): the site's URLs plus one that
# crashes, so the 500 page goes through the middleware as a real crash's would.
urlpatterns = [path("csp-boom/", _boom)]


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_policy(response) -> None:
    assert "Content-Security-Policy" in response, response.status_code
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, header
    directives = _directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]


def test_a_normal_page_sends_the_strict_policy(client_for, rep):
    response = client_for(rep).get(reverse("handoffs:my_day"))
    assert response.status_code == 200
    assert_strict_policy(response)


def test_the_login_page_sends_it_before_anyone_logs_in(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_strict_policy(response)


def test_the_customer_status_page_sends_it(client, rep, manager, delivery_lead):
    # given: a customer's link, and no one logged in
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    # when
    response = client.get(reverse("handoffs:customer_status", args=[token]))
    # then
    assert response.status_code == 200
    assert_strict_policy(response)


def test_a_bad_customer_link_sends_it_too(client):
    response = client.get(reverse("handoffs:customer_status", args=["not-a-token"]))
    assert_strict_policy(response)


def test_the_403_and_404_pages_send_it(client_for, rep):
    # a rep opening the admin-only organisation settings, then a page that does not exist
    forbidden = client_for(rep).get(reverse("accounts:org_settings"))
    missing = client_for(rep).get("/no-such-page/")
    assert forbidden.status_code == 403
    assert missing.status_code == 404
    assert_strict_policy(forbidden)
    assert_strict_policy(missing)


@pytest.mark.urls(__name__)
def test_the_500_page_sends_it(client):
    client.raise_request_exception = False
    response = client.get("/csp-boom/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert_strict_policy(response)


def test_the_api_docs_page_needs_no_relaxation(client):
    # Swagger UI runs from the vendored bundle and api-docs.js: no inline code, no nonce.
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    assert_strict_policy(response)
    assert b"<script>" not in response.content


def test_no_page_template_carries_inline_code():
    # The browser test covers the pages a crawl reaches; this covers every template,
    # reached or not (e-mails excepted: the policy is for pages).
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
    templates = Path(settings.BASE_DIR) / "templates"
    offenders = [
        f"{path.relative_to(templates)}: {match.group(0).strip()}"
        for path in sorted(templates.rglob("*.html"))
        if path.relative_to(templates).parts[0] != "emails"
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
