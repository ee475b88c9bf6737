"""Benchmark of the reminder outbox: scan, claim, and end-to-end delivery over real SMTP.

    make bench-reminders            # or: .venv/bin/python bench/reminders.py [--seed] [--scale 1]

On the database named by BENCH_REMINDERS_DATABASE_URL (default baton_bench_reminders),
seeded by `manage.py seed_bench` (1M check-ins of which ~20k overdue at scale 1; pass
--seed to (re)seed). It then:

1. empties the outbox and makes every bench user reachable at any hour (working hours
   0–24, no digest), so that every reminder is due at once: the worst case;
2. shows EXPLAIN ANALYZE of the check-in scan's SELECT (the partial index at work);
3. times the first scan (inserts every reminder) and a second one (inserts nothing);
4. times batch claims (then gives the rows back);
5. starts a throwaway redis-server, an in-process aiosmtpd server and a real
   `celery -A config worker --concurrency=2`, wakes it, and measures reminders/second
   until every row is sent, the duplicates by Message-ID, and the due→sent delay.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/baton_bench_reminders"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingHandler:
    """Accepts every message and records its Message-ID (thread-safe enough: one loop)."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.decode("utf8", errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                with self.lock:
                    self.message_ids.append(line.split(":", 1)[1].strip())
                break
        return "250 Message accepted for delivery"


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", action="store_true", help="Run seed_bench first (TRUNCATEs the bench database).")
    parser.add_argument("--scale", type=float, default=1.0, help="seed_bench scale (1 = 1M check-ins).")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes.")
    parser.add_argument("--timeout", type=int, default=600, help="Give up delivery after this many seconds.")
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_REMINDERS_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Count

    from accounts.models import User
    from followups import overdue
    from followups.choices import ReminderKind, ReminderStatus
    from followups.models import CheckIn, Reminder
    from followups.services.reminders import reminders_claim, reminders_scan, reminders_wake_sender

    if "bench" not in connection.settings_dict["NAME"]:
        print("Refusing: the benchmark database's name must contain 'bench'.")
        return 2
    call_command("migrate", verbosity=0)
    if args.seed or not CheckIn.objects.exists():
        call_command("seed_bench", scale=args.scale)

    print(f"# Reminder outbox benchmark on {connection.settings_dict['NAME']}")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE followups_reminder, followups_notification")
    User.objects.update(working_hours_start=0, working_hours_end=24, wants_daily_digest=False)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET email = username || '@bench.test' WHERE email = ''")
        cursor.execute("ANALYZE followups_checkin; ANALYZE followups_reminder")
    checkins = CheckIn.objects.count()
    overdue_checkins = overdue.overdue_checkins().count()
    print(f"check-ins: {checkins:,}, overdue: {overdue_checkins:,}\n")

    # EXPLAIN of the check-in rule's candidate SELECT, as the scan runs it.
    rule = overdue.rule_for(ReminderKind.CHECKIN_OVERDUE)
    sql, params = rule.candidates().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print("EXPLAIN ANALYZE (check-in scan SELECT):\n" + plan + "\n")

    started = time.perf_counter()
    first = reminders_scan()
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = reminders_scan()
    second_seconds = time.perf_counter() - started
    inserted_by_kind = dict(Reminder.objects.values_list("kind").annotate(n=Count("id")).order_by())
    total_rows = sum(inserted_by_kind.values())
    print(f"first scan: {first.total:,} rows in {first_seconds * 1000:.0f} ms {inserted_by_kind}")
    print(f"second scan: {second.total:,} rows in {second_seconds * 1000:.0f} ms\n")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followups_reminder")
        claim_sql = (
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM followups_reminder "
            "WHERE status = 'pending' AND send_after <= now() ORDER BY send_after LIMIT 100 FOR UPDATE SKIP LOCKED"
        )
        cursor.execute(claim_sql)
        claim_plan = "\n".join(row[0] for row in cursor.fetchall())
    print("EXPLAIN ANALYZE (claim):\n" + claim_plan + "\n")

    claim_times = []
    claimed_ids: list[int] = []
    for _ in range(20):
        started = time.perf_counter()
        ids, _lease = reminders_claim(batch_size=100)
        claim_times.append(time.perf_counter() - started)
        claimed_ids.extend(ids)
    with transaction.atomic():
        Reminder.objects.filter(id__in=claimed_ids).update(
            status=ReminderStatus.PENDING, lease_expires_at=None, attempts=0
        )
    claim_median_ms = statistics.median(claim_times) * 1000
    claim_max_ms = max(claim_times) * 1000
    print(f"claim of 100: median {claim_median_ms:.1f} ms, max {claim_max_ms:.1f} ms\n")

    # End to end: a real worker, a real broker, a real SMTP server.
    handler = CountingHandler()
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    redis = subprocess.Popen(  # noqa: S603 — fixed arguments, a local throwaway server
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
    )
    worker_env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "BATON_REMINDER_BATCH_SIZE": os.environ.get("BATON_REMINDER_BATCH_SIZE", "200"),
    }
    worker = subprocess.Popen(  # noqa: S603 — our own worker command
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            f"--concurrency={args.concurrency}",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=worker_env,
        start_new_session=True,
    )
    try:
        time.sleep(4)  # let the worker processes boot
        # Due now: the delay is measured from here.
        Reminder.objects.update(send_after=django.utils.timezone.now())
        started = time.perf_counter()
        for _ in range(args.concurrency):
            reminders_wake_sender()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            left = Reminder.objects.filter(status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING]).count()
            if left == 0:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        redis.kill()
        controller.stop()

    sent = Reminder.objects.filter(status=ReminderStatus.SENT).count()
    delays = [
        (sent_at - send_after).total_seconds()
        for sent_at, send_after in Reminder.objects.filter(status=ReminderStatus.SENT).values_list(
            "sent_at", "send_after"
        )
    ]
    duplicates = len(handler.message_ids) - len(set(handler.message_ids))
    rate = sent / elapsed if elapsed else 0.0
    print("| measure | result |")
    print("|---|---|")
    print(f"| check-ins / overdue | {checkins:,} / {overdue_checkins:,} |")
    print(f"| first scan (inserts {first.total:,} reminders, all kinds) | {first_seconds * 1000:.0f} ms |")
    print(f"| second scan (inserts nothing) | {second_seconds * 1000:.0f} ms |")
    print(f"| claim of a batch of 100 (median / max of 20) | {claim_median_ms:.1f} ms / {claim_max_ms:.1f} ms |")
    print(
        f"| delivered over SMTP, {args.concurrency} worker processes | {sent:,} of {total_rows:,} "
        f"in {elapsed:.1f} s = {rate:.0f} reminders/s |"
    )
    print(f"| duplicates by Message-ID | {duplicates} ({len(handler.message_ids):,} messages received) |")
    print(f"| due → sent delay p50 / p99 | {percentile(delays, 0.5):.1f} s / {percentile(delays, 0.99):.1f} s |")
    return 0 if sent == total_rows and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
