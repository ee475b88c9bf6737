"""Makes the README's tour: `make screenshots` (python -m tests.screenshots).

Loads the demo data into a scratch SQLite database (nothing else needs to run, and the
databases of `make run` and the suite are left alone), serves it on a free local port,
and drives Chromium through the main pages as the demo people who use them, saving each
at desktop size (1400×900) and phone size (390×844, a touch device) to
docs/screenshots/<name>-desktop.png and <name>-phone.png. Only the viewport is saved, at
one device pixel per CSS pixel, so the files stay small. The suite never writes under
docs/: the screenshots are made on request, and their diff is the change to commit.

    python -m tests.screenshots                 # every page, both sizes
    python -m tests.screenshots --only board    # the shots whose name contains "board"
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "docs" / "screenshots"
DEVICES = {
    "desktop": {"viewport": {"width": 1400, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        # One image pixel per CSS pixel: a phone's 3× would make each file nine times larger.
        "device_scale_factor": 1,
    },
}
# Anything that would point the scratch copy at a real database, broker or settings.
UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "SITE_URL")

# The demo data's people and records the tour shows (accounts.demo, handoffs.demo).
REP, MANAGER, DELIVERY_LEAD = "rita", "maria", "dana"
TOUR_DEAL = "Fleet tracking roll-out"  # Rita's, in negotiation, with contacts and promises
TOUR_HANDOFF_ACCOUNT = "Evergreen Schools"  # accepted by Dana, steps under way
SEARCH_TYPED = "north"  # Northwind Logistics: an account, its contacts and its hand-off


@dataclass(frozen=True)
class Shot:
    """One page of the tour: who looks at it (None: a customer, not signed in), where,
    and what to do once it has loaded (type into the search box…)."""

    name: str
    title: str
    username: str | None
    path: str
    act: Callable | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"folder to save them in (default: {OUT_DIR})")
    parser.add_argument("--only", default="", help="only the shots whose name contains this")
    arguments = parser.parse_args()
    executable = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        print(f"Chromium is missing at {executable}: `make screenshots` installs it (apt-get install chromium).")
        return 1
    with tempfile.TemporaryDirectory(prefix="baton-screenshots-") as scratch:
        for name in UNSET:
            os.environ.pop(name, None)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.base",
                "BATON_VAR_DIR": scratch,
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "LOG_LEVEL": "WARNING",
            }
        )
        saved = save_screenshots(arguments.out, executable, only=arguments.only)
    for path in saved:
        print(
            f"Saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size // 1024} KB)"
        )
    return 0


def type_a_search(page) -> None:
    """Rita types into the top bar's search box and the dropdown opens. On a phone the
    box is inside the collapsed menu: open it first."""
    box = page.get_by_test_id("global-search")
    if not box.is_visible():
        page.locator(".navbar-toggler").click()
        box.wait_for(state="visible")
    box.click()
    page.keyboard.type(SEARCH_TYPED, delay=60)
    page.get_by_test_id("search-dropdown").get_by_role("option").first.wait_for(state="visible")
    page.wait_for_load_state("networkidle")


def tour(*, deal_id: int, handoff_id: int, status_path: str) -> list[Shot]:
    """The README's tour, in reading order."""
    return [
        Shot("my-day", "My day", REP, "/my-day/"),
        Shot("pipeline", "Pipeline board", REP, "/pipeline/"),
        Shot("deal", "A deal", REP, f"/deals/{deal_id}/"),
        Shot("search", "Search as you type", REP, "/my-day/", act=type_a_search),
        Shot("checkins", "My check-ins", REP, "/checkins/"),
        Shot("handoff", "A hand-off", DELIVERY_LEAD, f"/handoffs/{handoff_id}/"),
        Shot("handoff-brief", "The hand-off brief", DELIVERY_LEAD, f"/handoffs/{handoff_id}/brief/"),
        Shot("dashboard", "Manager dashboard", MANAGER, "/dashboard/"),
        Shot("report", "Dropped-baton report", MANAGER, "/report/"),
        Shot("customer-status", "The customer's status page", None, status_path),
    ]


def tour_records() -> dict:
    """The ids and the customer link the tour's URLs need, from the demo data."""
    from handoffs.models import DealContact, Handoff
    from handoffs.selectors.handoffs import customer_link_versions, customer_status_token

    deal_id = _deal_id(TOUR_DEAL)
    handoff = Handoff.objects.select_related("deal").get(deal__account__name=TOUR_HANDOFF_ACCOUNT)
    contact_ids = DealContact.objects.filter(deal=handoff.deal).order_by("id").values_list("contact_id", flat=True)
    versions = customer_link_versions((handoff.pk, contact_id) for contact_id in contact_ids)
    (handoff_id, contact_id), version = min(versions.items())
    token = customer_status_token(handoff_id=handoff_id, contact_id=contact_id, version=version)
    return {"deal_id": deal_id, "handoff_id": handoff.pk, "status_path": f"/status/{token}/"}


def _deal_id(title: str) -> int:
    from handoffs.models import Deal

    return Deal.objects.filter(title=title, owner__username=REP).values_list("pk", flat=True).get()


def save_screenshots(out: Path, executable: str, *, only: str = "") -> list[Path]:
    import django

    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    from accounts.demo import DEMO_PASSWORD
    from tests.conftest import BROWSER_ARGS

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())  # (it prints the demo logins)
    shots = [shot for shot in tour(**tour_records()) if only in shot.name]
    server = LiveServerThread("localhost", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=BROWSER_ARGS)
            for device, options in DEVICES.items():
                # One browser context per person and size: each signs in once.
                for username in dict.fromkeys(shot.username for shot in shots):
                    context = browser.new_context(base_url=f"http://localhost:{server.port}", **options)
                    page = context.new_page()
                    if username is not None:
                        _log_in(page, username, DEMO_PASSWORD)
                    for shot in (shot for shot in shots if shot.username == username):
                        page.goto(shot.path)
                        page.wait_for_load_state("networkidle")
                        if shot.act is not None:
                            shot.act(page)
                        path = out / f"{shot.name}-{device}.png"
                        page.screenshot(path=str(path), full_page=False, animations="disabled", caret="hide")
                        saved.append(path)
                    context.close()
            browser.close()
    finally:
        server.terminate()
        server.join()
    return saved


def _log_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


if __name__ == "__main__":
    sys.exit(main())
