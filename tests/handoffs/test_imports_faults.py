"""Faults of an import (issue 14), against the real PostgreSQL, a throwaway Redis and a
real Celery worker (`celery worker` subprocess on the test database): the progress moves
while the run's one transaction is open, and a worker SIGKILLed mid-import leaves nothing
half imported — the job is marked failed and runs in full when started again."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.models import Account, Contact, TimelineEvent
from handoffs.imports import engine, progress
from handoffs.imports.choices import ImportStatus
from handoffs.imports.services import import_jobs_recover, import_run, import_set_mapping, import_start
from handoffs.models import Deal, ImportJob
from tests.followups.test_reminder_faults import ThrowawayRedis, _point_celery_at, wait_for
from tests.handoffs.import_helpers import hubspot_deal, hubspot_file, upload

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"


def read_elsewhere(job_id: int) -> tuple[int, int]:
    """rows_done and the number of deals, as another connection (the progress page's) sees them."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT rows_done FROM handoffs_importjob WHERE id = %s", [job_id])
            rows_done = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM handoffs_deal")
            return rows_done, cursor.fetchone()[0]
    finally:
        other.close()


def ready_job(actor, rows: int) -> ImportJob:
    """A job of `rows` HubSpot deals, mapped; the dry run's status set directly (its own
    tests are elsewhere; here it would only cost time)."""
    job = upload(actor, hubspot_file([hubspot_deal(number, company=number // 4) for number in range(rows)]))
    job = import_set_mapping(actor=actor, job=job, mapping=job.column_mapping, owner_mapping={}, start_handoffs=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DRY_RUN_READY, rows_total=rows)
    return job


def test_progress_moves_for_others_while_the_run_is_one_open_transaction(transactional_db, manager, monkeypatch):
    # given: chunks of 10 rows; each progress write is checked from a third connection
    monkeypatch.setattr(engine, "CHUNK_ROWS", 10)
    job = ready_job(manager, 40)
    seen: list[tuple[int, tuple[int, int], int]] = []
    write = progress.ProgressWriter.write

    def write_and_look(self, rows_done: int) -> None:
        write(self, rows_done)
        seen.append((rows_done, read_elsewhere(job.pk), Deal.objects.count()))

    monkeypatch.setattr(progress.ProgressWriter, "write", write_and_look)
    with mock.patch("handoffs.imports.services.current_app") as app:
        app.send_task.return_value.id = "task-id"
        import_start(actor=manager, job=job)

    # when
    finished = import_run(job_id=job.pk)

    # then: others saw 10, 20, 30, 40 rows done while none of the deals was committed
    assert finished.status == ImportStatus.DONE
    assert [(done, elsewhere) for done, elsewhere, _ in seen] == [
        (10, (10, 0)),
        (20, (20, 0)),
        (30, (30, 0)),
        (40, (40, 0)),
    ]
    assert [count for _, _, count in seen] == [10, 20, 30, 40]  # inside the run, its own rows
    assert Deal.objects.count() == 40


class ImportWorker:
    """`celery -A config worker --pool=solo` in its own session, on the test database."""

    def __init__(self, broker_url: str) -> None:
        db = settings.DATABASES["default"]
        database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        if db.get("PASSWORD"):
            database_url = database_url.replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "CELERY_BROKER_URL": broker_url,
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                str(CELERY),
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
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    redis = ThrowawayRedis()
    redis.start()
    previous = settings.CELERY_BROKER_URL
    _point_celery_at(redis.url)
    yield redis
    _point_celery_at(previous)
    redis.kill()


@pytest.fixture
def import_workers(own_redis):
    started: list[ImportWorker] = []

    def start() -> ImportWorker:
        worker = ImportWorker(own_redis.url)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def status_of(job_id: int) -> dict:
    return ImportJob.objects.filter(pk=job_id).values("status", "rows_done", "error").get()


def test_a_worker_killed_mid_import_leaves_nothing_half_imported_and_the_import_runs_again(
    transactional_db, manager, import_workers
):
    # given: an import long enough to be caught in the middle, run by a real worker
    rows = 24_000
    job = ready_job(manager, rows)
    worker = import_workers()
    import_start(actor=manager, job=job)
    wait_for(
        lambda: status_of(job.pk)["rows_done"] >= 4000, timeout=240, interval=0.1, what="the import to be half way"
    )

    # when: the worker is killed outright
    worker.kill()

    # then: nothing of the file is in the database, and the job cannot stay "running"
    assert status_of(job.pk)["status"] == ImportStatus.RUNNING
    assert (Account.objects.count(), Contact.objects.count(), Deal.objects.count()) == (0, 0, 0)
    assert not TimelineEvent.objects.exists()
    wait_for(lambda: import_jobs_recover() == 1, timeout=30, what="the dead run's lock to be released")
    state = status_of(job.pk)
    assert state["status"] == ImportStatus.FAILED and "nothing of the file was imported" in state["error"]

    # when: started again, on a new worker
    import_workers()
    import_start(actor=manager, job=ImportJob.objects.get(pk=job.pk))
    wait_for(lambda: status_of(job.pk)["status"] in ("done", "failed"), timeout=300, interval=0.5, what="the re-run")

    # then: the whole file, once
    assert status_of(job.pk)["status"] == ImportStatus.DONE, status_of(job.pk)["error"]
    assert Deal.objects.count() == rows
    assert Account.objects.count() == rows // 4
    assert Contact.objects.count() == rows


def test_the_database_connection_lost_mid_import_rolls_back_and_the_job_says_why(
    transactional_db, manager, import_workers
):
    # given: an import under way on a real worker
    rows = 24_000
    job = ready_job(manager, rows)
    import_workers()
    import_start(actor=manager, job=job)
    wait_for(
        lambda: status_of(job.pk)["rows_done"] >= 4000, timeout=240, interval=0.1, what="the import to be half way"
    )

    # when: PostgreSQL ends the run's session, as a restart would (the session holding the job's lock)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND objsubid = 2",
            [progress.LOCK_CLASS, job.pk],
        )
        assert cursor.fetchone() == (True,)

    # then: the worker records the failure itself; nothing was written
    wait_for(lambda: status_of(job.pk)["status"] == ImportStatus.FAILED, timeout=60, what="the run to fail")
    assert status_of(job.pk)["error"]
    assert (Account.objects.count(), Contact.objects.count(), Deal.objects.count()) == (0, 0, 0)

    # when: started again on the same worker (its connection is a new one)
    import_start(actor=manager, job=ImportJob.objects.get(pk=job.pk))
    wait_for(lambda: status_of(job.pk)["status"] in ("done", "failed"), timeout=300, interval=0.5, what="the re-run")

    # then
    assert status_of(job.pk)["status"] == ImportStatus.DONE, status_of(job.pk)["error"]
    assert Deal.objects.count() == rows
