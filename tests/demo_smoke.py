"""Renders every page of the demo as each demo user, on whatever database the
environment names. Run by tests/test_demo_on_sqlite.py in a subprocess against a fresh
SQLite file: the configuration a newcomer gets from `make run`, which the PostgreSQL
suite does not exercise. Every page must answer 200, show no template source as text and
hide its icons from screen readers."""

from __future__ import annotations

import os
import re
import sys

# Django template syntax a page must never show as text (a comment or tag that broke).
TEMPLATE_SOURCE = ("{#", "#}", "{%", "{{")
# A bootstrap-icons glyph; every one is decorative, hidden from screen readers.
ICON_TAG = re.compile(r"<i\b[^>]*\bclass=\"bi\b[^>]*>")


def page_problems(html: str) -> list[str]:
    """What is wrong on a rendered HTML page that no status code shows."""
    problems = [f"shows template source {marker!r}" for marker in TEMPLATE_SOURCE if marker in html]
    problems += [f"icon read aloud: {tag}" for tag in ICON_TAG.findall(html) if 'aria-hidden="true"' not in tag]
    return problems


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
    from accounts.models import Account, User
    from followups.models import CheckIn
    from handoffs.models import Deal, Handoff
    from handoffs.selectors.accounts import accounts_visible_to
    from handoffs.selectors.deals import deals_visible_to
    from handoffs.selectors.handoffs import handoffs_visible_to

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
        # Admins see everything, so they also open the detail pages; everyone opens the
        # first deal, account and hand-off they may read (the pages with a timeline).
        user = User.objects.get(username=person.username)
        timelines = [
            reverse(url_name, args=[first.pk])
            for url_name, visible in (
                ("handoffs:deal_detail", deals_visible_to(user)),
                ("handoffs:account_detail", accounts_visible_to(user)),
                ("handoffs:handoff_detail", handoffs_visible_to(user)),
            )
            if (first := visible.order_by("pk").first()) is not None
        ]
        urls = nav_urls + timelines + (detail_urls if person.role == "admin" else [])
        for url in urls:
            response = client.get(url)
            pages_seen += 1
            if response.status_code != 200:
                failures.append(f"{person.username}: GET {url} answered {response.status_code}")
            elif response["Content-Type"].startswith("text/html"):
                html = response.content.decode()
                failures += [f"{person.username}: GET {url} {problem}" for problem in page_problems(html)]
    for failure in failures:
        print("FAIL", failure)
    print(f"pages={pages_seen} failures={len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
