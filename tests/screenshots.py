"""Makes the README's screenshot: `make screenshots` (python -m tests.screenshots).

Loads the demo data into a scratch SQLite database (nothing else needs to run, and the
databases of `make run` and the suite are left alone), serves it on a free local port,
logs Chromium in as the demo rep Rita and saves what she sees after logging in, My day,
to docs/screenshot.png. The suite never writes under docs/: a screenshot is made on
request, and its diff is the change to commit.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "screenshot.png"
VIEWPORT = {"width": 1400, "height": 900}
# Anything that would point the scratch copy at a real database, broker or settings.
UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "SITE_URL")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOT, help=f"where to save it (default: {SCREENSHOT})")
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
        save_screenshot(arguments.out, executable)
    print(f"Saved {arguments.out}")
    return 0


def save_screenshot(out: Path, executable: str) -> None:
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
    server = LiveServerThread("localhost", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=BROWSER_ARGS)
            context = browser.new_context(base_url=f"http://localhost:{server.port}", viewport=VIEWPORT)
            page = context.new_page()
            page.goto("/login/")
            page.get_by_label("Username").fill("rita")
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="My day").wait_for()
            page.wait_for_load_state("networkidle")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    sys.exit(main())
