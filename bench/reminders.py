"""Benchmark of the outbox with reminders: scan, claim, and end-to-end delivery over real SMTP.

    make bench-reminders            # or: .venv/bin/python bench/reminders.py [--seed] [--scale 1]

On the database named by BENCH_REMINDERS_DATABASE_URL (default baton_bench_reminders),
seeded by `manage.py seed_bench` (1M check-ins of which ~20k overdue at scale 1; pass
--seed to (re)seed). It then:

1. starts a throwaway redis-server (so that the scans' wake-ups cost what they cost),
   empties the outbox and makes every bench user reachable at any hour (working hours
   0–24, no digest), so that every reminder is due at once: the worst case;
2. shows EXPLAIN ANALYZE of the scan's INSERT … SELECT of overdue check-ins;
3. times the first scan (full: inserts every reminder, on an outbox whose statistics say
   it is empty), then --idle-scans scans with nothing new (incremental, as every scan
   but the first of a day) and one full scan with nothing new (the first of a day),
   --scan-runs times; wall and CPU time, medians;
4. times batch claims (then gives the rows back);
5. starts an in-process SMTP server (a minimal asyncio sink, SmtpSink; --smtp aiosmtpd
   for the one used before) and a real `celery -A config worker
   --concurrency=4` (DEBUG off, as in production), makes every row due, wakes the
   senders as a scan would (one per due batch, at most BATON_OUTBOX_SENDERS), and
   measures reminders/second until every row is sent, the duplicates by Message-ID,
   the due→sent delay, and the machine's load average meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
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
    """aiosmtpd's handler (--smtp aiosmtpd): accepts every message and records its Message-ID."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        # The server shares the machine with what it measures: find the header cheaply.
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf8", errors="replace")
        start = content.lower().find(b"\nmessage-id:")
        if start >= 0:
            end = content.find(b"\n", start + 1)
            value = content[start + len(b"\nmessage-id:") : end if end >= 0 else None]
            with self.lock:
                self.message_ids.append(value.strip().decode("utf8", errors="replace"))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A minimal SMTP server: a real dialogue over TCP (EHLO/HELO, MAIL, RCPT, DATA, RSET,
    NOOP, QUIT, one reply per command, dot-terminated data), accepting every message and
    recording its Message-ID and recipients, so that duplicates are counted exactly.

    Not a mail server: no queue, no checks, nothing written. It stands in for the
    production SMTP server, which runs on another host; aiosmtpd spent ~0.7 ms of CPU a
    message here, on the same two cores as the worker it measures (a third of the
    machine's budget at 800/s). One thread per connection, blocking reads: a command
    costs one recv and one send. Its threads run in this process, so this process's CPU
    is the server's."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.recipients = 0
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.stopping = threading.Event()

    def start(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", port), backlog=64)
        threading.Thread(target=self._accept, name="smtp-sink", daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), name="smtp-sink-session", daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn:
            conn.sendall(b"220 bench-sink ESMTP\r\n")
            buffer = b""
            in_data = False
            rcpts: list[bytes] = []
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                replies = []
                while buffer:
                    if in_data:
                        # The message ends with CRLF.CRLF (or is empty: "." on the first line).
                        if buffer.startswith(b".\r\n"):
                            content, buffer = b"", buffer[3:]
                        else:
                            end = buffer.find(b"\r\n.\r\n")
                            if end < 0:
                                break
                            content, buffer = buffer[: end + 2], buffer[end + 5 :]
                        in_data = False
                        self._received(content, rcpts)
                        rcpts = []
                        replies.append(b"250 2.0.0 Message accepted for delivery\r\n")
                        continue
                    end = buffer.find(b"\r\n")
                    if end < 0:
                        break
                    line, buffer = buffer[:end], buffer[end + 2 :]
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        replies.append(b"250-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    elif verb == b"MAIL":
                        rcpts = []
                        replies.append(b"250 2.1.0 OK\r\n")
                    elif verb == b"RCPT":
                        rcpts.append(line[8:].strip())
                        replies.append(b"250 2.1.5 OK\r\n")
                    elif verb == b"DATA":
                        in_data = True
                        replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    elif verb == b"QUIT":
                        conn.sendall(b"".join(replies) + b"221 2.0.0 Bye\r\n")
                        return
                    elif verb in (b"HELO", b"RSET", b"NOOP"):
                        rcpts = [] if verb == b"RSET" else rcpts
                        replies.append(b"250 OK\r\n")
                    else:
                        replies.append(b"502 5.5.2 Command not implemented\r\n")
                if replies:
                    try:
                        conn.sendall(b"".join(replies))
                    except OSError:
                        return

    def _received(self, content: bytes, rcpts: list[bytes]) -> None:
        head = content[: content.find(b"\r\n\r\n")].lower()
        start = head.find(b"\nmessage-id:")
        message_id = None
        if start >= 0:
            end = head.find(b"\n", start + 1)
            value = content[start + len(b"\nmessage-id:") : end if end >= 0 else len(head)]
            message_id = value.strip().decode("utf8", errors="replace")
        with self.lock:
            if message_id is not None:
                self.message_ids.append(message_id)
            self.recipients += len(rcpts)

    def stop(self) -> None:
        self.stopping.set()
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self.listener.close()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", action="store_true", help="Run seed_bench first (TRUNCATEs the bench database).")
    parser.add_argument("--scale", type=float, default=1.0, help="seed_bench scale (1 = 1M check-ins).")
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker processes (and senders woken).")
    parser.add_argument("--scan-runs", type=int, default=3, help="How many times to time the first scan.")
    parser.add_argument("--idle-scans", type=int, default=9, help="Scans with nothing new timed after each first one.")
    parser.add_argument("--scan-only", action="store_true", help="Stop after the scans and the claims.")
    parser.add_argument("--timeout", type=int, default=600, help="Give up delivery after this many seconds.")
    parser.add_argument(
        "--smtp",
        choices=["sink", "aiosmtpd"],
        default="sink",
        help="The SMTP server: a minimal asyncio sink (default) or aiosmtpd (as before; ~0.7 ms CPU a message).",
    )
    parser.add_argument(
        "--messages", type=int, default=0, help="Deliver only this many of the scanned reminders (a quick run)."
    )
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_REMINDERS_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production: no SQL recording, no debug cursor (in this process and the worker).
    os.environ.setdefault("DEBUG", "false")
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from followups.models import CheckIn

    if "bench" not in connection.settings_dict["NAME"]:
        print("Refusing: the benchmark database's name must contain 'bench'.")
        return 2
    call_command("migrate", verbosity=0)
    if args.seed or not CheckIn.objects.exists():
        call_command("seed_bench", scale=args.scale)

    print(f"# Reminder outbox benchmark on {connection.settings_dict['NAME']}")
    # The broker is up before the scans, so that their wake-ups cost what they cost in
    # production (a failed wake-up would add kombu's connection retries to the timing).
    redis = subprocess.Popen(  # noqa: S603 — fixed arguments, a local throwaway server
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
    )
    try:
        return run(args, redis_url=redis_url)
    finally:
        redis.kill()
        redis.wait(timeout=10)


def backend_cpu_seconds(connection) -> float:
    """CPU time used so far by this connection's PostgreSQL backend (same machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendsCpu:
    """CPU time used by the other PostgreSQL backends of this database (the workers'
    connections) since the first sample; a backend that ended between two samples
    loses what it used after the last one."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sample(baseline=True)

    def sample(self, *, baseline: bool = False) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            pids = [row[0] for row in cursor.fetchall()]
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            # A backend seen first after the baseline started during the run: from zero.
            self.first.setdefault(pid, cpu if baseline else 0.0)
            self.last[pid] = cpu

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


class Measured:
    """Wall time, this process's CPU time and its PostgreSQL backend's CPU time."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def __enter__(self) -> Measured:
        self.db0 = backend_cpu_seconds(self.connection)
        self.py0 = time.process_time()
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.py = time.process_time() - self.py0
        self.db = backend_cpu_seconds(self.connection) - self.db0

    def __str__(self) -> str:
        digits = 1 if self.wall < 0.1 else 0
        return (
            f"{self.wall * 1000:.{digits}f} ms (CPU: Python {self.py * 1000:.{digits}f} ms, "
            f"PostgreSQL {self.db * 1000:.0f} ms)"
        )


def run(args, *, redis_url: str) -> int:
    import redis as redis_client
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import User
    from followups import overdue
    from followups.choices import MessageStatus
    from followups.models import CheckIn, OutboxMessage, ReminderScanMark
    from followups.services.outbox import outbox_claim, outbox_wake_senders
    from followups.services.reminders import reminders_scan

    User.objects.update(working_hours_start=0, working_hours_end=24, wants_daily_digest=False)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET email = username || '@bench.test' WHERE email = ''")
        cursor.execute("ANALYZE followups_checkin")
    checkins = CheckIn.objects.count()
    overdue_checkins = overdue.overdue_checkins().count()
    print(f"check-ins: {checkins:,}, overdue: {overdue_checkins:,}, load average {os.getloadavg()[0]:.1f}\n")

    def empty_outbox() -> None:
        # The worst case for the planner: statistics that say the outbox is empty. With no
        # scan mark, the next scan is a full one (as the first of a day).
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE followups_outboxmessage, followups_notification")
            cursor.execute("ANALYZE followups_outboxmessage")
        ReminderScanMark.objects.all().delete()

    # EXPLAIN ANALYZE of the check-in rule's INSERT … SELECT, exactly as the scan sends it
    # (captured during a scan that is rolled back, then explained in another one).
    empty_outbox()
    statements: list[tuple[str, list]] = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().startswith("INSERT INTO") and "checkin" in sql and not statements:
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(capture):
        reminders_scan()
        transaction.set_rollback(True)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statements[0][0], statements[0][1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    print("EXPLAIN ANALYZE (the scan's INSERT … SELECT of overdue check-ins, on an empty outbox):\n" + plan + "\n")

    firsts, seconds_, full_idles = [], [], []
    for _ in range(args.scan_runs):
        empty_outbox()
        with Measured(connection) as first_run:
            first = reminders_scan()
        firsts.append(first_run)
        idles = []
        for _ in range(max(args.idle_scans, 1)):
            with Measured(connection) as second_run:
                second = reminders_scan()
            assert not second.full and second.total == 0, second
            idles.append(second_run)
        seconds_.extend(idles)
        ReminderScanMark.objects.all().delete()
        with Measured(connection) as full_idle:
            assert reminders_scan().total == 0
        full_idles.append(full_idle)
        walls = sorted(m.wall * 1000 for m in idles)
        print(
            f"first scan: {first.total:,} rows in {first_run}, of which {first.seconds * 1000:.0f} ms before the "
            f"commit; {len(idles)} scans with nothing new: {walls[0]:.1f}–{walls[-1]:.1f} ms, median "
            f"{statistics.median(walls):.1f} ms; a full one with nothing new: {full_idle}"
        )
    first_run = sorted(firsts, key=lambda m: m.wall)[len(firsts) // 2]
    second_run = sorted(seconds_, key=lambda m: m.wall)[len(seconds_) // 2]
    full_idle_run = sorted(full_idles, key=lambda m: m.wall)[len(full_idles) // 2]
    inserted_by_kind = dict(OutboxMessage.objects.values_list("kind").annotate(n=Count("id")).order_by())
    total_rows = sum(inserted_by_kind.values())
    print(f"reminders by kind: {inserted_by_kind}\n")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followups_outboxmessage")
    claim_times = []
    claimed_ids: list[int] = []
    for _ in range(20):
        started = time.perf_counter()
        ids = outbox_claim(batch_size=100).ids
        claim_times.append(time.perf_counter() - started)
        claimed_ids.extend(ids)
    with transaction.atomic():
        OutboxMessage.objects.filter(id__in=claimed_ids).update(
            status=MessageStatus.PENDING, lease_expires_at=None, lease_token=None, attempts=0
        )
    claim_median_ms = statistics.median(claim_times) * 1000
    claim_max_ms = max(claim_times) * 1000
    print(f"claim of 100: median {claim_median_ms:.1f} ms, max {claim_max_ms:.1f} ms\n")

    if args.scan_only:
        return 0

    # End to end: a real worker, a real broker, a real SMTP server. The scans' wake-ups
    # are dropped first: the clock starts when every row is made due and one wake-up
    # fans out, as after a scan.
    redis_client.Redis.from_url(redis_url).flushall()
    if args.messages:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM followups_outboxmessage WHERE id NOT IN "
                "(SELECT id FROM followups_outboxmessage ORDER BY id LIMIT %s)",
                [args.messages],
            )
    delivered_rows = OutboxMessage.objects.count()
    smtp_port = free_port()
    if args.smtp == "aiosmtpd":
        from aiosmtpd.controller import Controller

        handler = CountingHandler()
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        stop_smtp = controller.stop
    else:
        handler = SmtpSink()
        handler.start(smtp_port)
        stop_smtp = handler.stop
    worker_env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
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
    # This process: the SMTP server (on the same two cores) and the polling below.
    own_cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    loads = []
    database_cpu = BackendsCpu(connection)
    try:
        time.sleep(6)  # let the worker processes boot
        # Due now: the delay is measured from here.
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
            database_cpu.sample()
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        database_cpu.sample()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        stop_smtp()
    worker_cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = (own_cpu_after.ru_utime + own_cpu_after.ru_stime) - (own_cpu_before.ru_utime + own_cpu_before.ru_stime)
    worker_cpu = (worker_cpu_after.ru_utime + worker_cpu_after.ru_stime) - (
        worker_cpu_before.ru_utime + worker_cpu_before.ru_stime
    )

    sent = OutboxMessage.objects.filter(status=MessageStatus.SENT).count()
    delays = [
        (sent_at - send_after).total_seconds()
        for sent_at, send_after in OutboxMessage.objects.filter(status=MessageStatus.SENT).values_list(
            "sent_at", "send_after"
        )
    ]
    duplicates = len(handler.message_ids) - len(set(handler.message_ids))
    rate = sent / elapsed if elapsed else 0.0
    load = f"{statistics.mean(loads):.1f}" if loads else "n/a"
    print(f"wake-ups sent: {woken}; load average during delivery: mean {load}, max {max(loads or [0]):.1f}\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| check-ins / overdue | {checkins:,} / {overdue_checkins:,} |")
    print(f"| first scan, inserting {total_rows:,} reminders of all kinds (median of {args.scan_runs}) | {first_run} |")
    print(f"| scan with nothing new, incremental (median of {len(seconds_)}) | {second_run} |")
    print(f"| scan with nothing new, full: the first of a day (median of {args.scan_runs}) | {full_idle_run} |")
    print(f"| claim of a batch of 100 (median / max of 20) | {claim_median_ms:.1f} ms / {claim_max_ms:.1f} ms |")
    print(
        f"| delivered over SMTP, {args.concurrency} worker processes | {sent:,} of {delivered_rows:,} "
        f"in {elapsed:.1f} s = {rate:.0f} reminders/s (worker CPU {worker_cpu * 1000 / max(sent, 1):.2f} ms each) |"
    )
    print(f"| SMTP server ({args.smtp}, this process) CPU per message | {own_cpu * 1000 / max(sent, 1):.2f} ms |")
    print(
        f"| PostgreSQL CPU per message (the workers' backends; sampled every 0.5 s) | "
        f"{database_cpu.seconds * 1000 / max(sent, 1):.2f} ms |"
    )
    print(f"| duplicates by Message-ID | {duplicates} ({len(handler.message_ids):,} messages received) |")
    print(f"| due → sent delay p50 / p99 | {percentile(delays, 0.5):.1f} s / {percentile(delays, 0.99):.1f} s |")
    print(f"| load average (2 cores) during delivery, mean / max | {load} / {max(loads or [0]):.1f} |")
    return 0 if sent == delivered_rows and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
