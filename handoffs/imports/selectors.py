"""The reads of imports: the history, one job, its progress, its rejected rows and the
owners its file names. Every read is scoped by handoffs.access (who may see an import);
the file's bytes are never loaded by a page."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from handoffs.access import import_jobs_visible_q
from handoffs.imports import engine
from handoffs.imports.choices import ImportStatus
from handoffs.models import ImportJob


def import_jobs_visible_to(user: User) -> QuerySet[ImportJob]:
    """The import history `user` may see, newest first, without the files' bytes."""
    return (
        ImportJob.objects.filter(import_jobs_visible_q(user))
        .defer("content", "dry_run_summary")
        .select_related("created_by", "team")
        .order_by("-created_at", "-id")
    )


def import_job_for(user: User, job_id: int) -> ImportJob:
    """One import `user` may see (with its dry-run summary, without its bytes); 404 otherwise."""
    job = (
        ImportJob.objects.filter(import_jobs_visible_q(user), pk=job_id)
        .defer("content")
        .select_related("created_by", "team")
        .first()
    )
    if job is None:
        raise Http404("No such import.")
    return job


@dataclass(frozen=True)
class ImportProgress:
    """Where a run — or a queued dry run — is: rows done of rows total, rows per second
    since it started, and the seconds left at that pace (None until it can be told).
    `dry_run` is the state of a dry run made by a worker ("queued", "running", "failed";
    "" when none is under way); the figures are then the dry run's rows read."""

    status: str
    rows_done: int
    rows_total: int
    percent: int
    rows_per_second: float | None
    seconds_left: int | None
    finished: bool
    error: str
    dry_run: str = ""

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "percent": self.percent,
            "rows_per_second": self.rows_per_second,
            "seconds_left": self.seconds_left,
            "finished": self.finished,
            "error": self.error,
            "dry_run": self.dry_run,
        }


def import_progress(job: ImportJob, *, now: datetime.datetime | None = None) -> ImportProgress:
    """The progress of `job`, read afresh from the database (the run writes rows_done
    from its own connection while its transaction is open): of its run, or of the dry run
    a worker is making (import_dry_run_state)."""
    fresh = (
        ImportJob.objects.filter(pk=job.pk)
        .values(
            "status",
            "rows_done",
            "rows_total",
            "started_at",
            "progress_at",
            "finished_at",
            "error",
            "dry_run_summary__pending",
            "dry_run_summary__failed",
        )
        .first()
    ) or {}
    status = fresh.get("status", job.status)
    done, total = fresh.get("rows_done", 0), fresh.get("rows_total", 0)
    dry_run = _dry_run_state(status, fresh.get("dry_run_summary__pending"), fresh.get("dry_run_summary__failed"))
    finished = dry_run == "failed" if dry_run else status not in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    if status == ImportStatus.DONE:
        done = total
    rate = left = None
    started = fresh.get("started_at")
    if started is not None and done:
        until = fresh.get("finished_at") or fresh.get("progress_at") or now or timezone.now()
        seconds = max((until - started).total_seconds(), 0.001)
        rate = round(done / seconds, 1)
        left = None if finished else max(int((total - done) / rate), 0) if rate else None
    percent = 100 if status == ImportStatus.DONE else int(done * 100 / total) if total else 0
    return ImportProgress(
        status=status,
        rows_done=done,
        rows_total=total,
        percent=min(percent, 100),
        rows_per_second=rate,
        seconds_left=left,
        finished=finished,
        error=fresh.get("dry_run_summary__failed") or fresh.get("error", "") if dry_run else fresh.get("error", ""),
        dry_run=dry_run,
    )


def _dry_run_state(status: str, pending: str | None, failed: str | None) -> str:
    if status != ImportStatus.MAPPED:
        return ""
    if pending in ("queued", "running"):
        return pending
    return "failed" if failed else ""


def import_dry_run_state(job: ImportJob) -> str:
    """The state of the dry run a worker makes for `job` (as loaded): "queued", "running",
    "failed", or "" when none is under way (made in the request, done, or never asked)."""
    summary = job.dry_run_summary or {}
    return _dry_run_state(job.status, summary.get("pending"), summary.get("failed"))


def import_rejects_rows(job: ImportJob) -> Iterator[list[str]]:
    """The rejected rows as CSV rows for the download: a header ("line", "reason", then
    the file's columns), then one row per rejected line, read in chunks. The caller
    streams them (and escapes formulas: the cells are the file's, as typed)."""
    return engine.rejected_csv_rows(job)


def import_owner_values(job: ImportJob) -> dict[str, int | None]:
    """The owners the file names (as the dry run found them) and the Baton user each
    was matched to (None: not matched, the importer will own those records)."""
    return dict((job.dry_run_summary or {}).get("owners", {}))
