"""Profile one bench page as one user: where its time goes, in Python and in PostgreSQL.

Loads the page with Django's test client as the first bench user of its role (warm),
then reports its single-user latency (p50/p95 of `--runs` loads), its queries with
their time (slowest first), `EXPLAIN (ANALYZE, BUFFERS)` of the slowest, and a
pyinstrument profile of `--profile-runs` loads (the top frames by own time). What
issue 17 asks before any change: find the cost first.

    DJANGO_SETTINGS_MODULE=config.settings.production DATABASE_URL=…/baton_bench \\
        python -m bench.profile 'deal list (manager'        # a label prefix from bench/pages.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label", help="A bench page label, or the start of one (first match).")
    parser.add_argument("--runs", type=int, default=20, help="Timed loads for p50/p95.")
    parser.add_argument("--profile-runs", type=int, default=10, help="Loads under the profiler.")
    parser.add_argument("--explain", type=int, default=2, help="EXPLAIN ANALYZE the N slowest queries.")
    parser.add_argument("--top", type=int, default=25, help="Profile frames to print.")
    parser.add_argument("--url", help="Load this URL instead of the page's own (same user).")
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from pyinstrument import Profiler

    from bench.pages import PAGES, bench_users

    page = next((page for page in PAGES if page.label.startswith(options.label)), None)
    if page is None:
        print(f"No bench page starts with {options.label!r}", file=sys.stderr)
        return 2
    user = bench_users(page.role, 1)[0]
    url = options.url
    if not url:
        url = reverse(page.url_name, args=page.args(user)[0])
        if page.query_string:
            url = f"{url}?{page.query_string}"
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    print(f"{page.label} — {url} as {user.username}")
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    timings = []
    for _ in range(options.runs):
        began = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    print(f"one user, {options.runs} loads: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")

    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        client.get(url)
        total_ms = (time.perf_counter() - began) * 1000
    queries = sorted(captured.captured_queries, key=lambda query: -float(query["time"]))
    sql_ms = sum(float(query["time"]) for query in queries) * 1000
    print(f"\n{len(queries)} queries, {sql_ms:.1f} ms of {total_ms:.1f} ms in SQL (wall, as the client sees it)")
    for query in queries:
        print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:160]}")
    for query in queries[: options.explain]:
        if not query["sql"].lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the {float(query['time']) * 1000:.1f} ms query:\n{plan}")

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(options.profile_runs):
        client.get(url)
    profiler.stop()
    flat = profiler.output_text(flat=True, flat_time="self", time="percent_of_total")
    print(f"\npyinstrument, {options.profile_runs} loads, own time by function (top {options.top}):")
    print("\n".join(flat.splitlines()[: options.top + 8]))
    print("\nCall tree:")
    print("\n".join(profiler.output_text(time="percent_of_total").splitlines()[:80]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
