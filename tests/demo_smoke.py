"""Renders every page of the demo as each demo user, on whatever database the
environment names. Run by tests/test_demo_on_sqlite.py in a subprocess against a fresh
SQLite file: the configuration a newcomer gets from `make run`, which the PostgreSQL
suite does not exercise."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    # Lets the test client capture each response's template context (the menu).
    setup_test_environment()
    from django.urls import reverse

    from accounts.demo import DEMO_PASSWORD, DEMO_PEOPLE
    from accounts.models import Account
    from followups.models import CheckIn
    from handoffs.models import Deal, Handoff

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)

    detail_urls = [
        reverse("handoffs:deal_detail", args=[Deal.objects.order_by("id").first().pk]),
        reverse("handoffs:account_detail", args=[Account.objects.order_by("id").first().pk]),
        reverse("handoffs:handoff_detail", args=[Handoff.objects.order_by("id").first().pk]),
        reverse("handoffs:handoff_brief", args=[Handoff.objects.order_by("id").first().pk]),
        reverse("followups:checkin_log", args=[CheckIn.objects.filter(status="scheduled").first().pk]),
        reverse("followups:report") + "?period=quarter",
        reverse("followups:report") + "?period=month&format=csv",
        reverse("followups:notifications"),
        reverse("accounts:profile"),
    ]
    failures: list[str] = []
    pages_seen = 0
    for person in DEMO_PEOPLE:
        client = Client()
        if not client.login(username=person.username, password=DEMO_PASSWORD):
            failures.append(f"{person.username}: cannot log in")
            continue
        home = client.get("/", follow=True)
        nav_urls = [item["url"] for item in home.context["nav_items"]] if home.context else []
        if home.status_code != 200 or not nav_urls:
            failures.append(f"{person.username}: home answered {home.status_code} with {len(nav_urls)} menu entries")
        # Admins see everything, so they also open the detail pages.
        urls = nav_urls + (detail_urls if person.role == "admin" else [])
        for url in urls:
            response = client.get(url)
            pages_seen += 1
            if response.status_code != 200:
                failures.append(f"{person.username}: GET {url} answered {response.status_code}")
    for failure in failures:
        print("FAIL", failure)
    print(f"pages={pages_seen} failures={len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
