"""What lets others follow a run that is one long transaction.

- ProgressWriter: rows_done (and progress_at) written through a second connection to the
  same database, in autocommit, so the progress bar moves while the run's transaction is
  still open. Redis would do as well, but the job row is where the pages already read,
  it survives a Redis restart, and a dead run leaves its last figure behind for the
  report. The run never writes the job row on its main connection before its very end,
  so the two connections never wait for each other. On SQLite (one writer at a time)
  nothing is written during the run: the bar jumps at the end.
- job_lock / lock_is_free: a PostgreSQL session-level advisory lock on the job's id, held
  by the run from its claim to its end. PostgreSQL releases it when the session ends,
  so a killed worker or a restarted database frees it: a "running" job whose lock is free
  has no live run (services.import_jobs_recover). A session lock needs the run to keep one
  server session: behind PgBouncer, use session pooling for the workers.
"""

from __future__ import annotations

import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from handoffs.models import ImportJob

# The first key of the advisory lock: a constant of ours, the job's id the second.
LOCK_CLASS = 1_400_014


def _postgres() -> bool:
    return connection.vendor == "postgresql"


class ProgressWriter:
    """Writes a job's rows_done from a connection of its own (see the module's docstring)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._connection = connections.create_connection(DEFAULT_DB_ALIAS) if _postgres() else None
        self.last_written = 0

    def write(self, rows_done: int) -> None:
        if self._connection is None:
            return
        with self._connection.cursor() as cursor:
            cursor.execute(
                "UPDATE handoffs_importjob SET rows_done = %s, progress_at = %s WHERE id = %s",
                [rows_done, timezone.now(), self.job_id],
            )
        self.last_written = rows_done

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def job_lock(job_id: int) -> bool:
    """Take the job's lock for this session; False when another session holds it."""
    if not _postgres():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, job_id])
        return bool(cursor.fetchone()[0])


def job_unlock(job_id: int) -> None:
    if not _postgres():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job_id])
    except Exception:  # a dead session has released it already
        connection.close()


def lock_is_free(job_id: int) -> bool:
    """Whether no session holds the job's lock (its run is dead). On SQLite there is no
    such lock: a run counts as dead after an hour without progress."""
    if not _postgres():
        cutoff = timezone.now() - datetime.timedelta(hours=1)
        return ImportJob.objects.filter(pk=job_id, progress_at__lt=cutoff).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, job_id])
        got = bool(cursor.fetchone()[0])
        if got:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job_id])
        return got
