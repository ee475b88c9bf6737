"""Shared fixtures: a user per role, the real Celery worker, and the browser.

The suite runs against the real PostgreSQL and Redis named by DATABASE_URL and
REDIS_URL. It stops at once (a failure, never a skip) when either is missing, unless
BATON_ALLOW_SQLITE_TESTS=1 is set for a quick local loop without them.

BATON_TEST_CLOCK pins the clock of a whole run (tests/pinned_clock.py, make test-clocks).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from accounts.choices import Role
from accounts.security.throttle import throttles_reset
from tests.factories import TeamFactory, UserFactory

pytest_plugins = ["tests.pinned_clock"]

# Playwright's sync API runs an event loop in the test thread; Django's ORM would
# otherwise refuse to run in it. The live server runs in its own thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TEST_PASSWORD = "password"


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _rate_limits_forgotten():
    """Each test starts with no rate-limit counters (accounts.security.throttle): they live
    in the shared cache (Redis), which outlives a test's rolled-back database."""
    throttles_reset()


@pytest.fixture(autouse=True)
def _server_time_zone():
    """Each test starts in the server's zone. UserTimezoneMiddleware activates the user's
    zone for a test client's request in the test's own thread and leaves it active, so
    without this a test's timezone.localdate() would depend on the tests before it."""
    timezone.deactivate()
    yield
    timezone.deactivate()


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("BATON_ALLOW_SQLITE_TESTS") == "1":
        return
    from django.conf import settings

    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append("DATABASE_URL must point at PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/baton)")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        problems.append("REDIS_URL must be set (e.g. redis://127.0.0.1:6379/15)")
    elif not _redis_reachable(redis_url):
        problems.append(f"Redis does not answer at {redis_url}")
    if problems:
        pytest.exit(
            "The suite needs the real services: " + "; ".join(problems) + ". Run `make services`, or set "
            "BATON_ALLOW_SQLITE_TESTS=1 for a partial local run.",
            returncode=3,
        )


@pytest.fixture
def sales_team(db):
    return TeamFactory(name="Sales")


@pytest.fixture
def delivery_team(db):
    return TeamFactory(name="Delivery")


@pytest.fixture
def manager(sales_team):
    user = UserFactory(username="manager", role=Role.MANAGER, team=sales_team)
    sales_team.manager = user
    sales_team.save(update_fields=["manager"])
    return user


@pytest.fixture
def rep(sales_team, manager):
    return UserFactory(username="rep", role=Role.REP, team=sales_team)


@pytest.fixture
def other_rep(sales_team, manager):
    return UserFactory(username="other_rep", role=Role.REP, team=sales_team)


@pytest.fixture
def delivery_manager(delivery_team):
    user = UserFactory(username="delivery_manager", role=Role.MANAGER, team=delivery_team)
    delivery_team.manager = user
    delivery_team.save(update_fields=["manager"])
    return user


@pytest.fixture
def delivery_lead(delivery_team, delivery_manager):
    return UserFactory(username="delivery", role=Role.DELIVERY, team=delivery_team)


@pytest.fixture
def admin_user(sales_team):
    return UserFactory(username="admin", role=Role.ADMIN, team=sales_team, is_staff=True, is_superuser=True)


@pytest.fixture
def outsider_team_rep(db):
    """A rep of another team, who must not see the Sales team's records."""
    other_team = TeamFactory(name="Other sales")
    boss = UserFactory(username="other_manager", role=Role.MANAGER, team=other_team)
    other_team.manager = boss
    other_team.save(update_fields=["manager"])
    return UserFactory(username="outsider", role=Role.REP, team=other_team)


@pytest.fixture
def client_for(client):
    """client_for(user) → a test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def celery_worker_real(transactional_db):
    """A real Celery worker (threads pool, in this process) consuming from REDIS_URL.

    Tasks run in other threads with their own database connections, which is why this
    needs transactional_db: they must see committed rows.
    """
    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser_instance():
    """Debian's Chromium, headless, driven by Playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.fail(f"Chromium is missing at {executable}: `make test` installs it (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser_instance, live_server):
    context = browser_instance.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    yield browser_page
    context.close()


@pytest.fixture
def page_without_javascript(browser_instance, live_server):
    """A page in a browser context with JavaScript switched off (neither htmx nor
    Bootstrap's scripts run), at desktop size: what a user with a blocked script gets."""
    context = browser_instance.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    yield browser_page
    context.close()


def sign_in(page, user, password: str = TEST_PASSWORD, *, tap: bool = False):
    """Sign `user` in through the real login form, in a new session (whether the last
    one is still open or has idled out, as after a jump in time). `tap` for a touch
    screen. Waits for the page the login lands on; "networkidle" also waits for htmx's
    first requests, and needs no script to be satisfied."""
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    button = page.get_by_role("button", name="Log in")
    # The form's POST is a navigation whether the login succeeds or not. Waiting for it
    # explicitly matters for a tap: it returns before the navigation starts, and the
    # login page, already idle, would satisfy "networkidle" at once (a goto that
    # follows then aborts the POST: net::ERR_ABORTED).
    with page.expect_navigation():
        button.tap() if tap else button.click()
    page.wait_for_load_state("networkidle")
    return page


@pytest.fixture
def login_as(page):
    """login_as(user) logs the browser in through the real login form (sign_in)."""

    def login(user, password: str = TEST_PASSWORD):
        return sign_in(page, user, password)

    return login
