"""Every page is usable with a screen reader and a keyboard, as far as a machine can tell:
axe-core (vendored under tests/browser/vendor/axe-core, for tests only) runs on every page
the every-page crawl visits (tests/browser/crawl.py), as every kind of user, the customer
and Django's admin, and any serious or critical violation fails the test. A few main pages
are checked again in the dark colour scheme and on a phone, the customer's pages on a
phone. The skip link is checked by keyboard: the first Tab lands on it and Enter moves
focus to the main content."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.crawl import ANONYMOUS, crawl_every_role, is_html, settled, url_name

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
# axe is defined by evaluating its source through the DevTools protocol, which the page's
# Content-Security-Policy does not govern (a <script> tag would be refused by script-src 'self').
AXE_RUN = """async (blocking) => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations
    .filter((violation) => blocking.includes(violation.impact))
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
      count: violation.nodes.length,
      // what axe measured on the first one (the colours and the ratio, for contrast)
      detail: (violation.nodes[0].any[0] || violation.nodes[0].all[0] || violation.nodes[0].none[0] || {}).message || "",
    }));
}"""
# What fails the test; axe's "moderate" and "minor" (best practices, such as every bit of
# content inside a landmark) are left to judgement.
BLOCKING = ["serious", "critical"]
# The pages checked again in the dark colour scheme and at a phone's size, each once, as
# the first role whose crawl reached it.
MAIN_PAGES = {
    "handoffs:my_day",
    "handoffs:handoff_list",
    "followups:my_checkins",
    "handoffs:board",
    "handoffs:deal_list",
    "handoffs:deal_detail",
    "handoffs:handoff_detail",
    "handoffs:account_detail",
    "followups:dashboard",
    "followups:report",
}
# The pages a customer opens from an e-mail, most likely on a phone: checked again at a
# phone's size (they are standalone pages, light only).
CUSTOMER_PAGES = {"handoffs:customer_status", "followups:pulse_page"}
PHONE = {"width": 390, "height": 844}


def axe_violations(page) -> list[str]:
    """axe's serious and critical violations on the page as it stands, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return [
        f"{v['impact']} {v['id']} ({v['help']}) ×{v['count']}: {', '.join(v['targets'])} — {v['detail']}"
        for v in page.evaluate(AXE_RUN, BLOCKING)
    ]


class AxeInspector:
    """Runs axe once per URL name (one template) per role; remembers where the main
    pages are (and for whom), for the dark and phone checks."""

    def __init__(self) -> None:
        self.checked: set[tuple[str, str]] = set()
        self.main_pages: dict[str, tuple[str, str]] = {}
        self.customer_pages: dict[str, str] = {}

    def __call__(self, page, path, response, role) -> list[str]:
        name = url_name(path)
        if (role, name) in self.checked or not is_html(response):
            return []
        self.checked.add((role, name))
        landed = urlsplit(response.url)
        if response.status == 200 and landed.path == urlsplit(path).path:
            if name in MAIN_PAGES and role != ANONYMOUS:
                self.main_pages.setdefault(name, (role, path))
            if name in CUSTOMER_PAGES:
                self.customer_pages.setdefault(name, path)
        settled(page)
        if name == "api_docs":
            # Swagger UI draws the operations once the schema has loaded: check them drawn.
            page.locator(".opblock").first.wait_for()
        return axe_violations(page)


def test_axe_finds_a_nameless_button(page):
    # given: a page with axe loaded, and a button nobody can name
    page.goto(reverse("login"))
    page.evaluate("""() => document.body.insertAdjacentHTML("beforeend", '<button><i class="bi bi-x"></i></button>')""")
    # when
    violations = axe_violations(page)
    # then
    assert any("button-name" in violation for violation in violations), violations


def test_no_page_has_a_serious_accessibility_violation(page, live_server, login_as):
    # given: the demo organisation, and axe on every page each role opens
    inspector = AxeInspector()
    in_other_conditions: list[str] = []

    def dark_and_phone(role: str) -> None:
        """A role's main pages again, in the dark scheme and at a phone's size."""
        for path in [path for first_role, path in inspector.main_pages.values() if first_role == role]:
            for condition, viewport, scheme in (("dark", None, "dark"), ("phone", PHONE, "light")):
                page.emulate_media(color_scheme=scheme)
                if viewport:
                    page.set_viewport_size(viewport)
                page.goto(path, wait_until="load")
                settled(page)
                # (the page follows the system's scheme: base.html and static/js/baton.js)
                assert page.evaluate("() => document.documentElement.dataset.bsTheme") == scheme, path
                in_other_conditions.extend(f"[{role}, {condition}] {path}: {v}" for v in axe_violations(page))
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 1400, "height": 900})

    # when: everyone crawls every page they can open
    problems, visited = crawl_every_role(page, live_server.url, login_as, inspector, after_role=dark_and_phone)
    # (and the customer's pages on a phone)
    page.set_viewport_size(PHONE)
    for path in inspector.customer_pages.values():
        page.goto(path, wait_until="load")
        settled(page)
        in_other_conditions.extend(f"[customer, phone] {path}: {v}" for v in axe_violations(page))
    print(f"\naxe ran on {len(inspector.checked)} pages × roles (distinct URL names per role)")
    print(f"main pages checked dark and on a phone: {inspector.main_pages}")
    print(f"customer pages checked on a phone: {inspector.customer_pages}")

    # then: no serious or critical violation anywhere, and the crawl reached every role's pages
    everything = problems + in_other_conditions
    assert everything == [], "\n".join(everything)
    assert all(count > 10 for count in visited.values()), visited
    assert set(inspector.main_pages) == MAIN_PAGES, inspector.main_pages
    assert set(inspector.customer_pages) == CUSTOMER_PAGES, inspector.customer_pages


def test_the_first_tab_reaches_the_skip_link_and_enter_moves_to_the_main_content(page, login_as, rep):
    # given: a rep on their home page, nothing focused yet
    login_as(rep)
    page.goto(reverse("home"))
    # when: they press Tab once
    page.keyboard.press("Tab")
    # then: the skip link is focused, and visible
    skip = page.get_by_role("link", name="Skip to main content")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Skip to main content"
    expect(skip).to_be_visible()
    # when: they press Enter
    page.keyboard.press("Enter")
    # then: focus is on the main content
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'main'")
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
