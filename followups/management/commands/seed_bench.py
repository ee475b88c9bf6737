"""`manage.py seed_bench --scale N`: a large, realistic data set for `make bench`.

Scale 1.0 is a busy selling organisation: ~200 users in ~10 teams, 20,000 accounts,
60,000 contacts, 100,000 deals (60,000 won, each with its hand-off and ~5 steps),
1,000,000 check-ins of which ~20,000 overdue, promises, three-way meetings, ownership
history and timeline events, spread imperfectly so that every dropped-baton rule has
work to do.

Each app writes its own rows (accounts.bench, handoffs.bench, followups.bench), with
`INSERT … SELECT generate_series(…)` inside PostgreSQL: no per-row ORM save, no model
signal, no Python loop over rows; random choices come from a hash of the row number, so
the same scale gives the same data. This command only empties the tables, calls the
apps in layer order in one transaction and reports; it lives in the top app because it
is the one allowed to call them all.
"""

from __future__ import annotations

import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts import bench as accounts_bench
from accounts.bench import ADMIN_COUNT, BENCH_PASSWORD, BenchSize
from followups import bench as followups_bench
from handoffs import bench as handoffs_bench

# Data-sized tables, in the order they are filled; `--help` and the summary list them.
DOMAIN_APPS = ("accounts", "handoffs", "followups")


def domain_tables() -> list[str]:
    """Every table of Baton's apps (and the sessions and admin log that point at users)."""
    tables = []
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            tables.append(model._meta.db_table)
    return [*tables, "django_session", "django_admin_log"]


def refuse_unsafe_database(*, force: bool) -> None:
    """Only PostgreSQL, and only a database named for benchmarks or tests unless forced."""
    if connection.vendor != "postgresql":
        raise CommandError(
            f"seed_bench needs PostgreSQL (it uses its bulk paths); DATABASE_URL points at {connection.vendor}. "
            "Set DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_bench."
        )
    name = str(connection.settings_dict["NAME"])
    if not force and "bench" not in name and "test" not in name:
        raise CommandError(
            f"seed_bench empties every Baton table first; it refuses the database {name!r} because its name "
            "contains neither 'bench' nor 'test'. Use --force if you really mean it."
        )


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with benchmark data. It first TRUNCATEs every Baton table (users, teams, "
        "accounts, deals, hand-offs, check-ins, sessions…), then bulk-inserts. Scale 1 = 100,000 deals, "
        "60,000 hand-offs, 1,000,000 check-ins, ~200 users. Refuses databases whose name contains neither "
        f"'bench' nor 'test' unless --force. Bench users (bench_rep_1, bench_manager_1, bench_delivery_1, "
        f"bench_admin_1, …) get the password '{BENCH_PASSWORD}'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 deals (default 1.0).")
        parser.add_argument("--force", action="store_true", help="Allow a database not named *bench* or *test*.")

    def handle(self, *args, scale: float, force: bool, **options):
        if not 0 < scale <= 20:
            raise CommandError("--scale must be above 0 and at most 20.")
        refuse_unsafe_database(force=force)
        size = BenchSize(scale)
        self.timings: list[tuple[str, float]] = []
        started = time.monotonic()
        self.stdout.write(f"Seeding benchmark data at scale {scale} into {connection.settings_dict['NAME']!r}…")
        now = timezone.now().replace(microsecond=0)
        with transaction.atomic(), connection.cursor() as cursor:
            self._phase("truncate", lambda: truncate(cursor))
            people = accounts_bench.seed_bench_data(cursor=cursor, size=size, now=now, phase=self._phase)
            handoffs_bench.seed_bench_data(cursor=cursor, size=size, now=now, people=people, phase=self._phase)
            followups_bench.seed_bench_data(cursor=cursor, size=size, now=now, phase=self._phase)
            self._phase("sequences", lambda: reset_sequences(cursor))
        with connection.cursor() as cursor:
            self._phase("vacuum analyze", lambda: [cursor.execute(vacuum_analyze(table)) for table in domain_tables()])
        for name, seconds in self.timings:
            self.stdout.write(f"  {name:<28} {seconds:7.1f} s")
        self.stdout.write("Rows:")
        for table, count in table_counts().items():
            self.stdout.write(f"  {table:<34} {count:>10,}")
        self.stdout.write(self.style.SUCCESS(f"Benchmark data seeded in {time.monotonic() - started:.1f} s."))
        self.stdout.write(
            f"Bench logins (password '{BENCH_PASSWORD}'): bench_rep_1…{size.reps}, "
            f"bench_delivery_1…{size.delivery_leads}, bench_manager_1…{size.sales_teams + size.delivery_teams}, "
            f"bench_admin_1…{ADMIN_COUNT}"
        )

    def _phase(self, name: str, work):
        began = time.monotonic()
        result = work()
        self.timings.append((name, time.monotonic() - began))
        return result


def vacuum_analyze(table: str) -> str:
    """The statement that leaves `table` as autovacuum would soon after a bulk load.

    ANALYZE alone is not that: the GIN (trigram) indexes keep every inserted row in
    their pending list until a VACUUM merges it, and each search reads that whole list
    (a search for a word that matches nothing took ~10 ms per index instead of 0.1 ms),
    and the visibility map stays empty. VACUUM cannot run inside a transaction (the
    suite's tests run the command in one): there ANALYZE alone."""
    if connection.in_atomic_block:
        return f'ANALYZE "{table}"'
    return f'VACUUM (ANALYZE) "{table}"'


def table_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in domain_tables():
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 — table names come from the models
            counts[table] = cursor.fetchone()[0]
    return counts


def truncate(cursor) -> None:
    tables = ", ".join(f'"{table}"' for table in domain_tables())
    cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def reset_sequences(cursor) -> None:
    # Rows inserted with explicit ids: move each identity past them so that the app's
    # own inserts do not collide.
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.pk.name != "id" or not model._meta.pk.get_internal_type().endswith("AutoField"):
                continue
            table = model._meta.db_table
            statement = f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce(max(id), 0) + 1, false)"
            cursor.execute(f'{statement} FROM "{table}"')
