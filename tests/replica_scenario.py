"""The Django side of tests/test_replica.py's real-replica test, run in its own process
(`python -m tests.replica_scenario`) because its settings differ from the suite's:
DATABASE_URL is a throwaway primary, DATABASE_REPLICA_URL its streaming standby
(tests/replica_clusters.py), so config.replica's router and middleware are installed.

It writes on the primary, waits for the standby to replay, then loads pages with the test
client as a rep and records every SQL statement by the connection (alias) that ran it.
It asserts nothing itself: it writes what it saw, as JSON, to REPLICA_SCENARIO_OUT, and
the test asserts on that. REPLICA_SCENARIO_STOP_STANDBY is the command that stops the
standby, for the last step (the replica is down: pages come from the primary).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time
from collections import defaultdict

import django

DEAL_BEFORE = "Replicated deal"
DEAL_WRITTEN = "Written while the replica lags"


def main() -> None:
    django.setup()
    import time_machine
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from accounts.choices import Role
    from config.replica import PIN_COOKIE
    from tests.factories import DealFactory, TeamFactory, UserFactory

    statements: list[tuple[str, str]] = []

    def recorder(alias: str):
        def record(execute, sql, params, many, context):
            statements.append((alias, sql))
            return execute(sql, params, many, context)

        return record

    def scalar(alias: str, sql: str, params=()):
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def wait_until_replayed() -> None:
        """Until the standby has replayed everything the primary has committed so far
        (a commit returns once its WAL is flushed: synchronous_commit is on)."""
        target = scalar("default", "SELECT pg_current_wal_flush_lsn()::text")
        deadline = time.monotonic() + 30
        while not scalar("replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby has not replayed up to {target} in 30 s")
            time.sleep(0.05)

    def load(client: Client, url: str, **kwargs) -> dict:
        """Request `url`; what came back and which connection ran each statement."""
        statements.clear()
        response = client.post(url, **kwargs) if "data" in kwargs else client.get(url)
        by_alias: dict[str, list[str]] = defaultdict(list)
        for alias, sql in statements:
            by_alias[alias].append(sql)
        body = response.content.decode()
        return {
            "status": response.status_code,
            "statements": dict(by_alias),
            "shows_deal_before": DEAL_BEFORE in body,
            "shows_deal_written": DEAL_WRITTEN in body,
            "sets_pin": PIN_COOKIE in response.cookies and bool(response.cookies[PIN_COOKIE].value),
        }

    seen: dict[str, object] = {
        "routers": settings.DATABASE_ROUTERS,
        "middleware": "config.replica.ReplicaReadsMiddleware" in settings.MIDDLEWARE,
        "default_in_recovery": scalar("default", "SELECT pg_is_in_recovery()"),
        "replica_in_recovery": scalar("replica", "SELECT pg_is_in_recovery()"),
    }
    with (
        connections["default"].execute_wrapper(recorder("default")),
        connections["replica"].execute_wrapper(recorder("replica")),
    ):
        # given: a rep and their deal, written on the primary and replayed by the standby
        team = TeamFactory(name="Sales")
        manager = UserFactory(username="manager", role=Role.MANAGER, team=team)
        team.manager = manager
        team.save(update_fields=["manager"])
        rep = UserFactory(username="rep", role=Role.REP, team=team)
        deal = DealFactory(owner=rep, title=DEAL_BEFORE)
        wait_until_replayed()
        client = Client()
        client.force_login(rep)

        # the deal list and the API's deal list, read from the replica
        seen["list"] = load(client, reverse("handoffs:deal_list"))
        seen["api_list"] = load(client, reverse("handoffs_api:deal-list"))
        seen["detail"] = load(client, reverse("handoffs:deal_detail", args=[deal.pk]))

        # the standby stops replaying: from now on it lags behind whatever is written
        scalar("replica", "SELECT pg_wal_replay_pause()::text")
        deadline = time.monotonic() + 10
        while scalar("replica", "SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not pause its replay")
            time.sleep(0.05)

        # the rep opens a deal (a POST), then looks at the list again
        form = {
            "title": DEAL_WRITTEN,
            "account": deal.account_id,
            "amount": "12000",
            "currency": "EUR",
            "stage": "qualify",
            "lead_source": "referral",
            "context_origin": "Referred by a customer",
            "next_step": "Discovery call",
            "next_step_due": (timezone.localdate() + datetime.timedelta(days=1)).isoformat(),
        }
        seen["post"] = load(client, reverse("handoffs:deal_create"), data=form)
        seen["list_after_post"] = load(client, reverse("handoffs:deal_list"))
        # the same rep in another browser (no pin) gets the lagging replica's list
        other_browser = Client()
        other_browser.force_login(rep)
        seen["list_other_browser"] = load(other_browser, reverse("handoffs:deal_list"))
        # once the pin has expired, the first browser reads from the replica again
        sticky = settings.BATON_REPLICA_STICKY_SECONDS
        with time_machine.travel(timezone.now() + datetime.timedelta(seconds=sticky + 1), tick=True):
            seen["list_after_pin"] = load(client, reverse("handoffs:deal_list"))

        # the standby catches up
        scalar("replica", "SELECT pg_wal_replay_resume()::text")
        wait_until_replayed()
        seen["list_caught_up"] = load(other_browser, reverse("handoffs:deal_list"))

        # the standby goes down: the list is read from the primary, and still answers
        connections["replica"].close()
        subprocess.run(json.loads(os.environ["REPLICA_SCENARIO_STOP_STANDBY"]), check=True, capture_output=True)
        seen["list_replica_down"] = load(other_browser, reverse("handoffs:deal_list"))
        seen["list_replica_still_down"] = load(other_browser, reverse("handoffs:deal_list"))
    with open(os.environ["REPLICA_SCENARIO_OUT"], "w") as out:
        json.dump(seen, out, indent=1)


if __name__ == "__main__":
    main()
