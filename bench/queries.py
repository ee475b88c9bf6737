"""Plan the load run and count each page's SQL queries, deterministically.

For every page of bench/pages.py: resolve its URL for each bench user of its role (or
mark it "not built"), then load it once with Django's test client as the first bench
user and count the queries of a second, warm load (CaptureQueriesContext) — what a
gunicorn worker that has served a few requests runs per request. Writes the plan that
bench/locustfile.py reads, with row counts and machine facts for the report.

    DJANGO_SETTINGS_MODULE=config.settings.production python -m bench.queries --out plan.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def machine_facts() -> dict:
    import psutil
    from django.db import connection

    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]
    return {
        "cpu_cores": os.cpu_count(),
        "cpu_model": cpu_model,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
    }


def plan_page(page, *, users_per_page: int, client_class) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from bench.pages import bench_users

    entry = {
        "label": page.label,
        "url_name": page.url_name,
        "role": page.role,
        "is_ceiling": page.is_ceiling,
        "logins": [],
    }
    users = bench_users(page.role, users_per_page)
    if not users:
        return {**entry, "status": f"no bench user with role {page.role} (run seed_bench)"}
    try:
        for user in users:
            urls = [reverse(page.url_name, args=args) for args in page.args(user)]
            if page.query_string:
                urls = [f"{url}?{page.query_string}" for url in urls]
            if urls:
                entry["logins"].append({"username": user.username, "urls": urls})
    except NoReverseMatch:
        return {**entry, "logins": [], "status": "not built"}
    if not entry["logins"]:
        return {**entry, "status": "no data for the bench users"}

    first = entry["logins"][0]
    user = next(user for user in users if user.username == first["username"])
    client = client_class(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    client.get(first["urls"][0])  # warm the process caches (content types, settings row…)
    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        response = client.get(first["urls"][0])
        elapsed_ms = (time.perf_counter() - began) * 1000
    entry.update(
        queries=len(captured.captured_queries),
        status_code=response.status_code,
        response_bytes=len(response.content),
        single_request_ms=round(elapsed_ms, 1),
        measured_url=first["urls"][0],
        measured_as=first["username"],
    )
    entry["status"] = "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="Where to write the plan (JSON).")
    parser.add_argument("--users", type=int, default=8, help="Bench users per page (one per locust user).")
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()
    from django.test import Client

    from bench.pages import PAGES
    from followups.management.commands.seed_bench import BENCH_PASSWORD, table_counts

    pages = []
    for page in PAGES:
        entry = plan_page(page, users_per_page=options.users, client_class=Client)
        pages.append(entry)
        queries = entry.get("queries", "–")
        print(f"  {page.label:<34} {entry['status']:<12} queries: {queries}", flush=True)
    rows = table_counts()
    plan = {
        "password": BENCH_PASSWORD,
        "pages": pages,
        "rows": rows,
        "scale": round(rows.get("handoffs_deal", 0) / 100_000, 3),
        "machine": machine_facts(),
    }
    Path(options.out).write_text(json.dumps(plan, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
