"""Benchmark of a CSV import (issue 14): 100,000 deals with their accounts and contacts,
in HubSpot's layout, imported by the real Celery task.

    make bench-imports            # or: .venv/bin/python bench/imports.py [--deals 100000] [--won 0]

On its own PostgreSQL database (BENCH_IMPORTS_DATABASE_URL, default baton_bench_imports,
created and migrated if missing; its name must contain "bench"; its accounts, contacts,
deals and imports are emptied first), with a throwaway redis-server as the broker:

1. writes a CSV of --deals deals (one contact each) over --deals/4 companies, in HubSpot's
   deals-export layout, --won of them "Closed Won" (the rest open);
2. uploads it, sets the mapping (start_handoffs when --won > 0, so that those go through
   deal_close one by one) and makes the dry run, timed;
3. starts a real `celery -A config worker --pool=solo` (DEBUG off, as in production),
   queues the import and samples the job's rows_done every 0.5 s, as the progress bar
   does, until it is done;
4. prints the total seconds, rows/s, how many distinct progress figures were seen before
   the end (the bar moved), and checks the counts in the database.

The issue's target: 100,000 deals with their accounts and contacts in ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/baton_bench_imports"
HEADER = [
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Amount",
    "Close Date",
    "Deal owner",
    "Associated Company ID",
    "Associated Company",
    "Company Domain Name",
    "Associated Contact ID",
    "First Name",
    "Last Name",
    "Email",
    "Original Source",
]
STAGES = ["Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled", "Decision Maker Bought-In"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def make_csv(*, deals: int, won: int, owners: list[str]) -> bytes:
    """HubSpot's deals export with the company and the contact of each deal."""
    companies = max(deals // 4, 1)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for number in range(deals):
        company = number % companies
        writer.writerow(
            [
                f"9{number:09d}",
                f"Fleet renewal {number}",
                "Closed Won" if number < won else STAGES[number % len(STAGES)],
                f"{1000 + number % 90000}.00",
                "2026-01-15",
                owners[number % len(owners)],
                f"7{company:09d}",
                f"Company {company} GmbH",
                f"company{company}.example",
                f"5{number:09d}",
                f"First{number}",
                f"Last{number}",
                f"person{number}@company{company}.example",
                "Organic Search" if number % 3 else "Referrals",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--won", type=int, default=0, help="Deals won (their hand-offs start through deal_close).")
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_IMPORTS_DATABASE_URL", DEFAULT_DATABASE_URL)
    if "bench" not in database_url.rsplit("/", 1)[1]:
        print("Refusing: the benchmark database's name must contain 'bench'.")
        return 2
    ensure_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # as in production: no SQL recording
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


def setup_people():
    from accounts.choices import Role
    from accounts.models import Team, User
    from handoffs.models import Playbook, PlaybookStep

    team, _ = Team.objects.get_or_create(name="Bench imports")
    manager, _ = User.objects.get_or_create(
        username="bench-import-manager",
        defaults={"role": Role.MANAGER, "team": team, "email": "manager@bench-imports.test"},
    )
    team.manager = manager
    team.save(update_fields=["manager"])
    reps = []
    for number in range(5):
        rep, _ = User.objects.get_or_create(
            username=f"bench-import-rep-{number}",
            defaults={"role": Role.REP, "team": team, "email": f"rep{number}@bench-imports.test"},
        )
        reps.append(rep)
    if not Playbook.objects.filter(is_default=True).exists():
        playbook = Playbook.objects.create(name="Bench default", is_default=True)
        PlaybookStep.objects.create(
            playbook=playbook, position=1, title="Kick-off", owner_role="delivery", due_offset_days=7
        )
    return manager, reps


def empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE handoffs_importrejectedrow, handoffs_importjob, handoffs_dealcontact, handoffs_handoffstep, "
            "handoffs_handoff, handoffs_promise, handoffs_deal, accounts_contact, accounts_timelineevent, "
            "accounts_ownershipchange, accounts_account CASCADE"
        )


def worker_peak_rss(pid: int) -> str:
    """The solo worker's peak resident memory (it ran the import in its own process)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:
        pass
    return "unknown"


def run(args) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from accounts.models import Account, Contact
    from handoffs.imports.services import import_dry_run, import_set_mapping, import_start, import_upload
    from handoffs.models import Deal, ImportJob

    empty_tables()
    manager, reps = setup_people()
    started = time.perf_counter()
    data = make_csv(deals=args.deals, won=args.won, owners=[rep.email for rep in reps])
    print(f"CSV: {args.deals:,} deals, {len(data) / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    job = import_upload(actor=manager, uploaded_file=SimpleUploadedFile("bench-hubspot-deals.csv", data))
    job = import_set_mapping(
        actor=manager, job=job, mapping=job.column_mapping, owner_mapping={}, start_handoffs=args.won > 0
    )
    print(f"Upload + mapping: {time.perf_counter() - started:.1f} s (source {job.source}, kind {job.object_kind})")
    started = time.perf_counter()
    report = import_dry_run(actor=manager, job=job)
    print(f"Dry run: {time.perf_counter() - started:.1f} s, rows {report.as_json()['row_counts']}")
    connection.close()

    worker_env = {**os.environ}
    worker = subprocess.Popen(  # noqa: S603 — our own worker command
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            "--pool=solo",
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
        time.sleep(3)  # the worker connects to the broker
        job = ImportJob.objects.get(pk=job.pk)
        queued = time.perf_counter()
        import_start(actor=manager, job=job)
        samples: list[int] = []
        started_at = None
        while True:
            state = ImportJob.objects.filter(pk=job.pk).values("status", "rows_done").get()
            if state["status"] == "running" and started_at is None:
                started_at = time.perf_counter()
            samples.append(state["rows_done"])
            if state["status"] in ("done", "failed"):
                break
            if time.perf_counter() - queued > 900:
                print("Gave up after 15 minutes.")
                return 1
            time.sleep(0.5)
        total = time.perf_counter() - queued
        job = ImportJob.objects.defer("content").get(pk=job.pk)
        peak_rss = worker_peak_rss(worker.pid)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)

    moved = sorted({sample for sample in samples if 0 < sample < job.rows_total})
    print(f"Status: {job.status} {job.error}")
    print(
        f"Queued → done: {total:.1f} s; run (started → finished): {(job.finished_at - job.started_at).total_seconds():.1f} s"
    )
    run_seconds = (job.finished_at - job.started_at).total_seconds()
    print(f"Rows/s: {job.rows_total / run_seconds:,.0f} (run), {job.rows_total / total:,.0f} (queued → done)")
    print(
        f"Progress moved: {'yes' if len(moved) >= 2 else 'NO'} — {len(moved)} distinct figures before the end: {moved[:12]}…"
    )
    print(f"Worker peak RSS: {peak_rss}")
    print(f"Summary: {job.summary}")
    counts = (Account.objects.count(), Contact.objects.count(), Deal.objects.count())
    print(f"In the database: {counts[0]:,} accounts, {counts[1]:,} contacts, {counts[2]:,} deals")
    ok = job.status == "done" and counts[2] == args.deals and run_seconds <= 60
    print("Target (≤ 60 s): " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
