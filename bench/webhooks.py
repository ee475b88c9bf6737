"""Benchmark of webhook delivery through the outbox: 1,000 deliveries drained by real workers.

    make bench-webhooks            # or: .venv/bin/python bench/webhooks.py [--deliveries 1000] [--endpoints 1]

On its own PostgreSQL database (BENCH_WEBHOOKS_DATABASE_URL, default baton_bench_webhooks,
created and migrated if missing; its name must contain "bench"), with a throwaway
redis-server as the broker:

1. starts a fast local receiver in a separate process (a ThreadingHTTPServer speaking
   HTTP/1.1 keep-alive on 127.0.0.1) that checks every signature and counts deliveries by
   X-Baton-Delivery;
2. empties the outbox and writes --deliveries webhook rows (a deal.won payload of about
   1 KB each), spread over --endpoints endpoints that all point at the receiver;
3. starts a real `celery -A config worker --concurrency=N` (DEBUG off, as in production),
   wakes the senders as an enqueue would, and measures deliveries/second until every row
   is sent, plus duplicates and bad signatures seen by the receiver, the due → sent delay
   and the machine's load meanwhile.

The issue's target: ≥ 200 deliveries/s.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/baton_bench_webhooks"
SECRET = "whsec_bench_secret_not_for_production"  # noqa: S105 — the bench receiver's own


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the receiver (its own process)


def run_receiver(port: int, report: Path) -> None:
    """Accept every POST with 200 after checking its signature; on SIGTERM write the
    counts to `report` and exit."""
    lock = threading.Lock()
    seen: dict[str, int] = {}
    bad = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
        # Headers and body leave in two writes: without this, Nagle's algorithm holds the
        # second until the client's delayed ACK (40 ms a request).
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            timestamp = self.headers.get("X-Baton-Timestamp", "")
            expected = (
                "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            )
            valid = hmac.compare_digest(expected, self.headers.get("X-Baton-Signature", ""))
            delivery = self.headers.get("X-Baton-Delivery", "")
            with lock:
                seen[delivery] = seen.get(delivery, 0) + 1
                if not valid:
                    bad[0] += 1
            self.send_response(200 if valid else 401)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(*_args) -> None:
        with lock:
            counts = {"requests": sum(seen.values()), "unique": len(seen), "bad_signatures": bad[0]}
        report.write_text(json.dumps(counts))
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


# ---------------------------------------------------------------- the benchmark


def ensure_database(database_url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    name = database_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=1, help="Endpoints the deliveries are spread over.")
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker processes (and senders woken).")
    parser.add_argument("--timeout", type=int, default=300, help="Give up after this many seconds.")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # internal: run the receiver on this port
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        run_receiver(args.receiver, args.report)
        return 0

    database_url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_DATABASE_URL)
    if "bench" not in database_url.rsplit("/", 1)[1]:
        print("Refusing: the benchmark database's name must contain 'bench'.")
        return 2
    ensure_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # as in production: no SQL recording
    os.environ["BATON_WEBHOOK_ALLOW_HTTP"] = "true"  # the receiver is plain http on 127.0.0.1
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis = subprocess.Popen(  # noqa: S603 — fixed arguments, a local throwaway server
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
    )
    try:
        return run(args)
    finally:
        redis.kill()
        redis.wait(timeout=10)


def seed(*, deliveries: int, endpoints: int, url: str) -> int:
    from django.db import connection
    from django.utils import timezone

    from followups import webhooks
    from followups.choices import MessageChannel, MessagePurpose, WebhookEvent
    from followups.models import OutboxMessage, WebhookEndpoint

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE followups_outboxmessage, followups_webhookendpoint CASCADE")
    hooks = [
        WebhookEndpoint.objects.create(
            name=f"Bench {number}", url=f"{url}/hook-{number}", events=[WebhookEvent.DEAL_WON], secret=SECRET
        )
        for number in range(endpoints)
    ]
    now = timezone.now()
    rows = []
    for number in range(deliveries):
        hook = hooks[number % endpoints]
        payload = {
            "id": webhooks.event_id("deal.won", "deal", number + 1, 1),
            "event": "deal.won",
            "occurred_at": now.isoformat(),
            "data": {
                "summary": f"Deal won: Bench deal {number + 1} (Bench account), 84,000.00 EUR — Rita Rep",
                "url": f"https://baton.example/deals/{number + 1}/",
                "account": {"id": number + 1, "name": "Bench account", "url": "https://baton.example/accounts/1/"},
                "deal": {
                    "id": number + 1,
                    "title": f"Bench deal {number + 1}",
                    "stage": "won",
                    "amount": "84000.00",
                    "currency": "EUR",
                    "closed_on": now.date().isoformat(),
                    "external_id": None,
                    "url": f"https://baton.example/deals/{number + 1}/",
                },
                "rep": {"id": 2, "name": "Rita Rep", "email": "rita@bench.test"},
                "close_reason": "Best fit for their fleet; signed after the second demo.",
                "handoff": {"id": number + 1, "status": "awaiting_owner", "closed_on": now.date().isoformat()},
                "closed_by": {"id": 2, "name": "Rita Rep", "email": "rita@bench.test"},
            },
        }
        rows.append(
            OutboxMessage(
                purpose=MessagePurpose.WEBHOOK,
                channel=MessageChannel.WEBHOOK,
                kind="deal.won",
                item_id=number + 1,
                version=1,
                endpoint=hook,
                recipient_key=hook.recipient_key,
                # Not due until the clock starts.
                send_after=now + datetime.timedelta(days=1),
                first_due_at=now,
                payload=payload,
                message_id=webhooks.delivery_id(payload["id"], hook.pk),
                subject=webhooks.subject_line(payload),
            )
        )
    OutboxMessage.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followups_outboxmessage")
    return len(rows)


def run(args) -> int:
    from django.conf import settings
    from django.utils import timezone

    from followups.choices import MessageStatus
    from followups.models import OutboxMessage
    from followups.services.outbox import outbox_wake_senders

    receiver_port = free_port()
    report = Path(f"/tmp/baton-bench-webhooks-{os.getpid()}.json")  # noqa: S108 — a local scratch file
    receiver = subprocess.Popen(  # noqa: S603 — this script, in its receiver mode
        [sys.executable, __file__, "--receiver", str(receiver_port), "--report", str(report)],
        cwd=ROOT,
        start_new_session=True,
    )
    total = seed(deliveries=args.deliveries, endpoints=args.endpoints, url=f"http://127.0.0.1:{receiver_port}")
    print(f"# Webhook delivery benchmark: {total:,} deliveries over {args.endpoints} endpoint(s)")
    worker_env = {
        **os.environ,
        "BATON_OUTBOX_BATCH_SIZE": os.environ.get("BATON_OUTBOX_BATCH_SIZE", "100"),
        "BATON_OUTBOX_SENDERS": str(args.concurrency),
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
    worker_cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    loads: list[float] = []
    try:
        time.sleep(6)  # let the worker processes and the receiver boot
        now = timezone.now()
        OutboxMessage.objects.update(send_after=now, first_due_at=now)
        started = time.perf_counter()
        settings.BATON_OUTBOX_SENDERS = args.concurrency
        woken = outbox_wake_senders()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            left = OutboxMessage.objects.filter(status__in=[MessageStatus.PENDING, MessageStatus.SENDING]).count()
            if left == 0:
                break
            loads.append(os.getloadavg()[0])
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=10)
    worker_cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (worker_cpu_after.ru_utime + worker_cpu_after.ru_stime) - (
        worker_cpu_before.ru_utime + worker_cpu_before.ru_stime
    )
    counts = json.loads(report.read_text()) if report.exists() else {"requests": 0, "unique": 0, "bad_signatures": 0}
    report.unlink(missing_ok=True)
    sent = OutboxMessage.objects.filter(status=MessageStatus.SENT).count()
    delays = [
        (sent_at - send_after).total_seconds()
        for sent_at, send_after in OutboxMessage.objects.filter(status=MessageStatus.SENT).values_list(
            "sent_at", "send_after"
        )
    ]
    rate = sent / elapsed if elapsed else 0.0
    load = f"{statistics.mean(loads):.1f}" if loads else "n/a"
    print(f"wake-ups sent: {woken}\n")
    print("| measure | result |")
    print("|---|---|")
    print(
        f"| delivered, {args.concurrency} worker processes | {sent:,} of {total:,} in {elapsed:.2f} s = "
        f"**{rate:.0f} deliveries/s** (worker CPU {worker_cpu * 1000 / max(sent, 1):.2f} ms each, receiver included) |"
    )
    print(
        f"| received / unique delivery ids / bad signatures | {counts['requests']:,} / {counts['unique']:,} / "
        f"{counts['bad_signatures']} |"
    )
    print(f"| due → sent delay p50 / p99 | {percentile(delays, 0.5):.2f} s / {percentile(delays, 0.99):.2f} s |")
    print(f"| load average (2 cores) during delivery, mean / max | {load} / {max(loads or [0]):.1f} |")
    duplicates = counts["requests"] - counts["unique"]
    return 0 if sent == total and duplicates == 0 and counts["bad_signatures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
