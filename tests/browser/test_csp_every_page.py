"""Every page works under the Content-Security-Policy (nothing inline, nothing from another
host): for each kind of user, Chromium crawls every page (tests/browser/crawl.py: reachable
by links from the home page, plus the pages no link leads to — the customer's status page,
the pulse page, the API docs, the error pages — and Django's admin), and any refused
script, style or handler fails the test, as does any page answering 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.crawl import HTMX_PENDING_SCRIPT, crawl_every_role, settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any of the page's own scripts: records every violation the page reports.
VIOLATIONS_SCRIPT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.effectiveDirective + " refused " + (event.blockedURI || "inline")
    + " (" + (event.sourceFile || "") + ":" + event.lineNumber + ") " + (event.sample || ""));
});
"""


class CspWatcher:
    """Inspects each page the crawl loads: what the page reported refusing, and what the
    browser's console said about the policy while it loaded."""

    def __init__(self, page) -> None:
        self.console: list[str] = []
        page.context.add_init_script(VIOLATIONS_SCRIPT)
        page.on("console", lambda message: self.console.append(message.text))

    def __call__(self, page, path, response, role) -> list[str]:
        settled(page)
        violations = page.evaluate("() => window.__cspViolations")
        violations += [text for text in self.console if "Content Security Policy" in text]
        self.console.clear()
        return violations


def test_the_crawler_sees_a_refused_inline_style(page):
    # given: a page under the policy, watched as the crawl watches it
    page.context.add_init_script(HTMX_PENDING_SCRIPT)
    watcher = CspWatcher(page)
    page.goto(reverse("login"))
    # when: something puts an inline style on it
    page.evaluate("""() => document.body.insertAdjacentHTML("beforeend", '<p style="color: red">inline</p>')""")
    # then
    assert any("style-src" in violation for violation in watcher(page, "/login/", None, "anonymous"))


def test_no_page_breaks_the_content_security_policy(page, live_server, login_as):
    # given: the demo organisation; when: everyone crawls every page they can open
    problems, visited = crawl_every_role(page, live_server.url, login_as, CspWatcher(page))

    # then: no page needed anything the policy refuses, none crashed, and the crawl went
    # beyond the home page for everyone
    assert problems == []
    assert all(count > 10 for count in visited.values()), visited
