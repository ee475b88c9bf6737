"""Reads from a PostgreSQL streaming replica (config.replica, issue 17).

The router's and the middleware's rule, request by request (which alias a read in the
view gets, per method, view, pin cookie and Bearer token), the settings with and without
DATABASE_REPLICA_URL, and one test against a real primary and its real hot standby
(tests/replica_clusters.py, tests/replica_scenario.py): a list page served from the
standby, a POST and its client's next page from the primary while the standby lags, and
the pages still served when the standby is down.

Several web and worker processes on one PostgreSQL and one Redis, each message sent once:
tests/followups/test_outbox_faults.py (two `celery worker` processes sharing the outbox,
two beat schedulers scanning and pumping at once).
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils.functional import SimpleLazyObject
from django_otp.plugins.otp_totp.models import TOTPDevice

import config.settings
from accounts.models import Account, ApiToken, User
from config import replica
from config.replica import (
    PIN_COOKIE,
    PRIMARY,
    REPLICA,
    REPLICA_READ_VIEWS,
    PrimaryReplicaRouter,
    ReplicaReadsMiddleware,
)
from followups.models import CheckIn
from handoffs.models import Deal
from tests import replica_clusters
from tests.replica_clusters import ReplicatedPair

ROOT = Path(__file__).resolve().parent.parent
router = PrimaryReplicaRouter()


@pytest.fixture
def replica_up(monkeypatch, settings):
    """The middleware as if a replica were configured and reachable (no connection made)."""
    monkeypatch.setattr(replica, "replica_available", lambda: True)
    settings.BATON_REPLICA_STICKY_SECONDS = 10


def through_middleware(request, *, model=Deal, view=None) -> tuple[str, HttpResponse]:
    """Pass `request` through ReplicaReadsMiddleware as Django's handler does (resolve the
    URL, process_view, the view) and return the alias the router gives a read of `model`
    inside the view, and the response."""
    chosen: dict[str, str] = {}

    def handler(request):
        match = resolve(request.path_info)
        request.resolver_match = match
        middleware.process_view(request, match.func, match.args, match.kwargs)
        chosen["alias"] = router.db_for_read(model)
        if view is not None:
            view()
        return HttpResponse("ok")

    middleware = ReplicaReadsMiddleware(handler)
    response = middleware(request)
    return chosen["alias"], response


def every_url_name() -> set[str]:
    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns, "")
    return names


# ------------------------------------------------------------------ which views, which alias


def test_every_view_sent_to_the_replica_is_a_url_name_of_baton():
    unknown = REPLICA_READ_VIEWS - every_url_name()
    assert not unknown


def test_a_get_of_a_list_page_reads_from_the_replica_and_the_request_after_it_from_the_primary(replica_up):
    rf = RequestFactory()
    assert through_middleware(rf.get(reverse("handoffs:deal_list")))[0] == REPLICA
    assert through_middleware(rf.head(reverse("followups:report")))[0] == REPLICA
    assert through_middleware(rf.get(reverse("handoffs_api:deal-list")), model=Deal)[0] == REPLICA
    assert through_middleware(rf.get(reverse("followups_api:checkin-list")), model=CheckIn)[0] == REPLICA
    assert through_middleware(rf.get(reverse("api_account_list")), model=Account)[0] == REPLICA
    # outside any request (a Celery task, a management command): the primary
    assert router.db_for_read(Deal) == PRIMARY


@pytest.mark.parametrize(
    ("method", "url_name", "args"),
    [
        ("get", "handoffs:deal_detail", [1]),  # not a list: read right after its own edits
        ("get", "followups:outbox_admin", []),  # not in the set
        ("get", "handoffs:deal_export", []),  # streams after the view returns
        ("post", "handoffs:deal_list", []),
        ("post", "handoffs_api:deal-list", []),
        ("options", "handoffs_api:deal-list", []),
    ],
)
def test_other_views_and_methods_read_from_the_primary(replica_up, method, url_name, args):
    request = getattr(RequestFactory(), method)(reverse(url_name, args=args))
    assert through_middleware(request)[0] == PRIMARY


def test_identity_and_access_are_read_from_the_primary_even_on_a_list_page(replica_up):
    for model in (Session, ApiToken, TOTPDevice):
        assert through_middleware(RequestFactory().get(reverse("handoffs:deal_list")), model=model)[0] == PRIMARY
    # the signed-in user, loaded lazily, is loaded before the view's reads are marked
    loaded_from = []
    request = RequestFactory().get(reverse("handoffs:deal_list"))
    request.user = SimpleLazyObject(lambda: loaded_from.append(router.db_for_read(User)) or AnonymousUser())
    assert through_middleware(request, model=User)[0] == REPLICA  # other users: owner names, filter choices
    assert loaded_from == [PRIMARY]


def test_writes_and_migrations_go_to_the_primary_only():
    assert router.db_for_write(Deal) == PRIMARY
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "handoffs") is True
    assert router.allow_migrate(REPLICA, "handoffs") is False
    assert router.allow_relation(Deal(), Account()) is True


def test_reads_inside_a_transaction_on_the_primary_stay_on_it(replica_up, db):
    # given: the test's own transaction (pytest-django's `db`) is open on the primary, as
    # a service's would be: its uncommitted rows are not on the replica
    alias, _ = through_middleware(RequestFactory().get(reverse("handoffs:deal_list")))
    assert alias == PRIMARY
    # and a marked request's view that opens one (a service) reads from the primary in it
    mark = replica._replica_reads.set(True)
    try:
        assert router.db_for_read(Deal) == PRIMARY
    finally:
        replica._replica_reads.reset(mark)


# ------------------------------------------------------------------ read-your-own-writes


def test_an_unsafe_request_pins_its_browser_to_the_primary_for_the_sticky_window(replica_up, settings):
    rf = RequestFactory()
    # when: a POST (a form, an API create)
    _, response = through_middleware(rf.post(reverse("handoffs:deal_create")))
    # then: a pin cookie with its deadline, for the sticky window only
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == 10 and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert time.time() + 9 <= float(cookie.value) <= time.time() + 10
    # and the next list page of that browser is read from the primary
    pinned = rf.get(reverse("handoffs:deal_list"))
    pinned.COOKIES[PIN_COOKIE] = cookie.value
    assert through_middleware(pinned)[0] == PRIMARY
    # a deadline that has passed (a client that ignored max-age), or a forged value
    for stale in (str(int(time.time()) - 1), "not-a-number"):
        request = rf.get(reverse("handoffs:deal_list"))
        request.COOKIES[PIN_COOKIE] = stale
        assert through_middleware(request)[0] == REPLICA


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_every_unsafe_method_pins(replica_up, method):
    _, response = through_middleware(getattr(RequestFactory(), method)(reverse("handoffs_api:deal-list")))
    assert PIN_COOKIE in response.cookies


def test_a_safe_request_sets_no_pin(replica_up):
    _, response = through_middleware(RequestFactory().get(reverse("handoffs:deal_list")))
    assert PIN_COOKIE not in response.cookies


def test_an_api_client_without_cookies_is_pinned_by_its_token(replica_up):
    rf = RequestFactory()
    mine = {"HTTP_AUTHORIZATION": "Bearer my-token-for-the-replica-test"}
    theirs = {"HTTP_AUTHORIZATION": "Bearer their-token-for-the-replica-test"}
    # when: a client posts with its token, and keeps no cookie
    through_middleware(rf.post(reverse("handoffs_api:deal-list"), **mine))
    # then: its next list is read from the primary; another token's from the replica
    assert through_middleware(rf.get(reverse("handoffs_api:deal-list"), **mine))[0] == PRIMARY
    assert through_middleware(rf.get(reverse("handoffs_api:deal-list"), **theirs))[0] == REPLICA


def test_a_sticky_window_of_zero_turns_the_pin_off(replica_up, settings):
    settings.BATON_REPLICA_STICKY_SECONDS = 0
    _, response = through_middleware(RequestFactory().post(reverse("handoffs:deal_create")))
    assert PIN_COOKIE not in response.cookies


def test_the_mark_ends_with_its_request_even_when_the_view_fails(replica_up):
    def crash():
        raise RuntimeError("the view failed")

    with pytest.raises(RuntimeError):
        through_middleware(RequestFactory().get(reverse("handoffs:deal_list")), view=crash)
    assert router.db_for_read(Deal) == PRIMARY


def test_a_thread_started_by_a_list_page_and_a_concurrent_request_read_from_the_primary(replica_up):
    seen: dict[str, str] = {}
    inside = threading.Event()
    done = threading.Event()

    def other_request():
        # a request to a detail page, answered while the list page's view runs
        inside.wait(timeout=5)
        seen["concurrent detail page"] = through_middleware(
            RequestFactory().get(reverse("handoffs:deal_detail", args=[1]))
        )[0]
        done.set()

    def view():
        helper = threading.Thread(target=lambda: seen.__setitem__("thread of the view", router.db_for_read(Deal)))
        helper.start()
        helper.join()
        inside.set()
        done.wait(timeout=5)
        seen["list page, after"] = router.db_for_read(Deal)

    concurrent = threading.Thread(target=other_request)
    concurrent.start()
    through_middleware(RequestFactory().get(reverse("handoffs:deal_list")), view=view)
    concurrent.join()
    assert seen == {"thread of the view": PRIMARY, "concurrent detail page": PRIMARY, "list page, after": REPLICA}


# ------------------------------------------------------------------ settings


def settings_with(monkeypatch, module: str, **environ: str) -> dict:
    """The settings module `module` as it comes out of this environment (imported afresh)."""
    for name in ("DATABASE_REPLICA_URL", "BATON_REPLICA_STICKY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for loaded in ("base", module.rsplit(".", 1)[1]):
        # Imported afresh, then put back as they were: in sys.modules and on the package.
        monkeypatch.delitem(sys.modules, f"config.settings.{loaded}", raising=False)
        monkeypatch.setattr(config.settings, loaded, getattr(config.settings, loaded, None), raising=False)
    return runpy.run_module(module)


def test_without_a_replica_url_nothing_changes(monkeypatch):
    loaded = settings_with(monkeypatch, "config.settings.base", DATABASE_URL="postgres://u@db:5432/baton")
    assert list(loaded["DATABASES"]) == ["default"]
    assert loaded.get("DATABASE_ROUTERS", []) == []
    assert "config.replica.ReplicaReadsMiddleware" not in loaded["MIDDLEWARE"]


def test_a_replica_url_adds_the_alias_the_router_and_the_middleware(monkeypatch):
    loaded = settings_with(
        monkeypatch,
        "config.settings.test",
        DATABASE_URL="postgres://u@primary:5432/baton",
        DATABASE_REPLICA_URL="postgres://u@standby:5432/baton",
        BATON_REPLICA_STICKY_SECONDS="4",
    )
    primary, standby = loaded["DATABASES"]["default"], loaded["DATABASES"]["replica"]
    assert (primary["HOST"], standby["HOST"], standby["ENGINE"]) == ("primary", "standby", primary["ENGINE"])
    assert standby["TEST"] == {"MIRROR": "default"} and standby["OPTIONS"]["connect_timeout"] == 3
    assert loaded["DATABASE_ROUTERS"] == ["config.replica.PrimaryReplicaRouter"]
    middleware = loaded["MIDDLEWARE"]
    assert (
        middleware.index("config.replica.ReplicaReadsMiddleware")
        == middleware.index("axes.middleware.AxesMiddleware") - 1
    )
    assert loaded["BATON_REPLICA_STICKY_SECONDS"] == 4


@pytest.mark.parametrize(
    "environ",
    [
        {"DATABASE_URL": "postgres://u@primary/baton", "DATABASE_REPLICA_URL": "sqlite:///replica.sqlite3"},
        {"DATABASE_URL": "sqlite:///baton.sqlite3", "DATABASE_REPLICA_URL": "postgres://u@standby/baton"},
        {"DATABASE_URL": "postgres://u@primary/baton", "DATABASE_REPLICA_URL": "standby:5432"},
    ],
)
def test_a_replica_url_that_cannot_work_stops_start_up_with_its_name(monkeypatch, environ):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL"):
        settings_with(monkeypatch, "config.settings.base", **environ)


# ------------------------------------------------------------------ a real replica


@pytest.fixture
def replicated_pair(tmp_path):
    """A migrated primary and its hot standby, always torn down."""
    missing = replica_clusters.missing_tools()
    if missing:
        pytest.fail(f"The replica test needs PostgreSQL's server programs: missing {', '.join(missing)}.")
    pair = ReplicatedPair()
    try:
        pair.start_primary("baton")
        environ = scenario_environ(tmp_path, primary=pair.primary.url("baton"))
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        # the copy is made after the migrations: the standby starts with the schema
        pair.start_standby()
        yield pair
    finally:
        pair.destroy()


def scenario_environ(tmp_path: Path, *, primary: str, replica: str | None = None) -> dict:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": primary,
        # No Redis needed: the tasks a deal's creation enqueues go to an in-memory broker.
        "CELERY_BROKER_URL": "memory://",
        "BATON_VAR_DIR": str(tmp_path / "var"),
        "BATON_REPLICA_STICKY_SECONDS": "5",
    }
    environ.pop("REDIS_URL", None)
    environ.pop("DATABASE_REPLICA_URL", None)
    if replica:
        environ["DATABASE_REPLICA_URL"] = replica
    return environ


def sql_of(page: dict, alias: str) -> str:
    """Every statement the connection `alias` ran for a page, as one string."""
    return " ".join(page["statements"].get(alias, []))


@pytest.mark.integration
def test_a_list_page_is_served_by_a_real_standby_and_a_writer_reads_its_own_writes(replicated_pair, tmp_path):
    # given: Django on the primary with DATABASE_REPLICA_URL naming its standby
    out = tmp_path / "seen.json"
    environ = scenario_environ(
        tmp_path, primary=replicated_pair.primary.url("baton"), replica=replicated_pair.standby.url("baton")
    )
    environ["REPLICA_SCENARIO_OUT"] = str(out)
    environ["REPLICA_SCENARIO_STOP_STANDBY"] = json.dumps(replicated_pair.standby.stop_command())
    # when: tests/replica_scenario.py writes, waits for replay and loads the pages
    run = subprocess.run(
        [sys.executable, "-m", "tests.replica_scenario"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(out.read_text())

    # then: the configuration took effect, and the replica alias is the standby
    assert seen["routers"] == ["config.replica.PrimaryReplicaRouter"] and seen["middleware"]
    assert (seen["default_in_recovery"], seen["replica_in_recovery"]) == (False, True)

    # the deal list: the deals read from the standby, the session and the user from the primary
    page = seen["list"]
    assert page["status"] == 200 and page["shows_deal_before"] and not page["sets_pin"]
    assert '"handoffs_deal"' in sql_of(page, "replica")
    assert '"handoffs_deal"' not in sql_of(page, "default")
    assert '"django_session"' in sql_of(page, "default")
    assert '"django_session"' not in sql_of(page, "replica")
    # the API's deal list too; a deal's own page from the primary
    assert seen["api_list"]["status"] == 200
    assert '"handoffs_deal"' in sql_of(seen["api_list"], "replica")
    assert seen["detail"]["status"] == 200 and "replica" not in seen["detail"]["statements"]

    # the POST ran on the primary only and pinned the browser
    post = seen["post"]
    assert post["status"] == 302 and post["sets_pin"] and "replica" not in post["statements"]
    # while the standby's replay is paused, the writer's next list comes from the
    # primary and shows the new deal; another browser of the same rep gets the lagging
    # standby's list, without it — the pin is what made the writer see their write
    after = seen["list_after_post"]
    assert after["status"] == 200 and "replica" not in after["statements"]
    assert after["shows_deal_written"] and after["shows_deal_before"]
    other = seen["list_other_browser"]
    assert '"handoffs_deal"' in sql_of(other, "replica")
    assert other["shows_deal_before"] and not other["shows_deal_written"]
    # past the sticky window the writer reads from the standby again
    assert '"handoffs_deal"' in sql_of(seen["list_after_pin"], "replica")
    # replayed, the standby shows the new deal to everyone
    caught_up = seen["list_caught_up"]
    assert caught_up["shows_deal_written"] and '"handoffs_deal"' in sql_of(caught_up, "replica")

    # with the standby stopped, the list still answers, from the primary
    for down in (seen["list_replica_down"], seen["list_replica_still_down"]):
        assert down["status"] == 200 and down["shows_deal_written"]
        assert "replica" not in down["statements"]
        assert '"handoffs_deal"' in sql_of(down, "default")
