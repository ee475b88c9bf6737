"""Benchmark of the list exports: every deal (100,000 at scale 1) as CSV and as XLSX.

    make bench-exports            # or: .venv/bin/python bench/exports.py [--seed] [--scale 1] [--runs 3]

On the database named by BENCH_EXPORTS_DATABASE_URL (default baton_bench_exports), it
seeds (once, or again with --seed) the accounts and handoffs apps' scale-N bench rows
with their own seeders (accounts.bench, handoffs.bench: 100,000 deals, 20,000 accounts,
60,000 contacts, 60,000 hand-offs at scale 1), not the followups check-ins, which an
export of deals never reads. Then, in this one process, as a web worker would (DEBUG
off, Django's test client through the whole middleware stack, the response streamed to
the end):

1. for each user (the admin: every deal; a manager: their team's) and each format,
   --runs downloads of the deal export: wall time, time to the first chunk, size,
   rows, and the process's resident memory sampled every 10 ms while it streams;
2. the same export restricted to about a tenth of the rows (`?stage=…`), so that the
   memory at 10k and 100k rows can be compared: flat means the peak does not grow
   with the rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/baton_bench_exports"


def rss_bytes() -> int:
    """This process's resident memory now (not the high-water mark: that never goes down)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """The highest resident memory seen while the block runs, sampled every 10 ms."""

    def __enter__(self) -> RssSampler:
        self.start = rss_bytes()
        self.peak = self.start
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.01)

    def __exit__(self, *exc) -> None:
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def ensure_database(database_url: str) -> None:
    """Create the bench database if it does not exist yet (migrate cannot)."""
    import psycopg2
    from psycopg2 import sql

    name = database_url.rsplit("/", 1)[1]
    server = psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    server.close()


def seed(scale: float) -> None:
    """Empty every Baton table, then write accounts' and handoffs' bench rows (seed_bench's
    own steps, without the check-ins)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts import bench as accounts_bench
    from accounts.bench import BenchSize
    from followups.management.commands.seed_bench import domain_tables, reset_sequences, truncate
    from handoffs import bench as handoffs_bench

    size = BenchSize(scale)
    now = timezone.now().replace(microsecond=0)
    began = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        truncate(cursor)
        people = accounts_bench.seed_bench_data(cursor=cursor, size=size, now=now)
        handoffs_bench.seed_bench_data(cursor=cursor, size=size, now=now, people=people)
        reset_sequences(cursor)
    with connection.cursor() as cursor:
        for table in domain_tables():
            cursor.execute(f'ANALYZE "{table}"')
    print(f"Seeded scale {scale} in {time.monotonic() - began:.0f} s.")


def download(client, url: str) -> dict:
    """One export, streamed to the end: its timings, size, rows and memory."""
    began = time.perf_counter()
    with RssSampler() as memory:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        size = 0
        first_chunk = None
        newlines = 0
        for chunk in response.streaming_content:
            if first_chunk is None:
                first_chunk = time.perf_counter() - began
            size += len(chunk)
            newlines += chunk.count(b"\n")
        response.close()
    return {
        "seconds": time.perf_counter() - began,
        "first_chunk": first_chunk or 0.0,
        "bytes": size,
        "csv_rows": newlines - 1,
        "rss_start": memory.start,
        "rss_peak": memory.peak,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", action="store_true", help="(Re)seed first (TRUNCATEs the bench database).")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 100,000 deals.")
    parser.add_argument("--runs", type=int, default=3, help="Downloads per user and format.")
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_EXPORTS_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production: no SQL recording (it would grow with the rows), no debug pages.
    os.environ["DEBUG"] = "false"
    os.environ.pop("REDIS_URL", None)

    if "bench" not in database_url.rsplit("/", 1)[1]:
        print("Refusing: the benchmark database's name must contain 'bench'.")
        return 2
    ensure_database(database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from handoffs.models import Deal

    call_command("migrate", verbosity=0)
    if args.seed or not Deal.objects.exists():
        seed(args.scale)

    total = Deal.objects.count()
    print(f"# Deal export benchmark on {connection.settings_dict['NAME']}: {total:,} deals")
    users = {
        "admin (every deal)": User.objects.get(username="bench_admin_1"),
        "manager (their team)": User.objects.get(username="bench_manager_1"),
    }
    url = reverse("handoffs:deal_export")
    # A stage holding roughly a tenth of the deals, for the memory comparison.
    small_stage = min(
        Deal.objects.order_by().values_list("stage", flat=True).distinct(),
        key=lambda stage: abs(Deal.objects.filter(stage=stage).count() - total / 10),
    )
    print(
        "| user | format | rows | size MB | wall s (median) | first chunk ms | RSS before MB | peak RSS MB | growth MB |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for label, user in users.items():
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        for export_format in ("csv", "xlsx"):
            for query, name in (
                (f"?format={export_format}", label),
                (f"?format={export_format}&stage={small_stage}", f"{label}, stage={small_stage}"),
            ):
                download(client, url + query)  # warm: imports, the zone, the session
                runs = [download(client, url + query) for _ in range(args.runs)]
                figures = runs[-1]
                row_count = figures["csv_rows"] if export_format == "csv" else "—"
                print(
                    f"| {name} | {export_format} | {row_count if isinstance(row_count, str) else f'{row_count:,}'} "
                    f"| {figures['bytes'] / 1e6:.1f} "
                    f"| {statistics.median(run['seconds'] for run in runs):.2f} "
                    f"| {statistics.median(run['first_chunk'] for run in runs) * 1000:.0f} "
                    f"| {min(run['rss_start'] for run in runs) / 2**20:.0f} "
                    f"| {max(run['rss_peak'] for run in runs) / 2**20:.0f} "
                    f"| {max(run['rss_peak'] - run['rss_start'] for run in runs) / 2**20:.1f} |",
                    flush=True,
                )
    high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nThis process's high-water RSS over the whole run (getrusage): {high_water:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
