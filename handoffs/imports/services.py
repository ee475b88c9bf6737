"""The writes of imports (issue 14). Keyword-only; each checks who may import
(handoffs.access.user_may_import) and that the job is theirs to see.

All or nothing, per file. import_run writes the whole file in ONE transaction: accounts,
contacts, deals and their contacts (set-based, in chunks — engine.py), the hand-offs of
won deals (through deal_close, the same close gate as the browser's), the timeline
events, the rejected rows, and the job marked done. Any exception rolls all of it back
and the job is marked failed with the reason, in a transaction of its own; a worker
killed mid-run or a restarted PostgreSQL ends the transaction uncommitted, so PostgreSQL
itself rolls it back. Such a job stays "running" until import_jobs_recover (beat, every
minute, and the next run of the same job when Celery redelivers its task) sees that no
session holds the job's advisory lock — the run holds it from its claim to its end, and
PostgreSQL releases it with the dead session — and marks it failed. A failed job may be
started again: nothing of it was written. Rejected rows are not failures: they are
reported and the rest is imported.

Progress: the run's own transaction cannot show rows_done to anyone until it commits, so
rows_done is written through a second connection, in autocommit (progress.py). The run
never writes the job row on its main connection before the end, so the two never wait
for each other.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from accounts.access import account_users_assignable_by
from accounts.models import User
from handoffs.access import import_jobs_visible_q, user_may_import
from handoffs.imports import engine, parsing
from handoffs.imports.choices import ImportKind, ImportSource, ImportStatus
from handoffs.imports.engine import DryRunReport
from handoffs.imports.layouts import (
    FIELD_NAMES,
    deals_export_lacks,
    guess_kind,
    guess_mapping,
    guess_source,
    missing_required,
)
from handoffs.imports.progress import ProgressWriter, job_lock, job_unlock, lock_is_free
from handoffs.models import ImportJob, ImportRejectedRow

logger = logging.getLogger(__name__)

RUN_IMPORT_TASK = "followups.tasks.run_import"
DRY_RUN_TASK = "followups.tasks.make_dry_run"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_DRY_RUN_SYNC_ROWS = 2000


def max_bytes() -> int:
    return int(getattr(settings, "BATON_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _check_may_import(actor: User) -> None:
    if not user_may_import(actor):
        raise PermissionDenied("Only managers (for their team) and admins import files.")


def _check_job(actor: User, job: ImportJob) -> None:
    _check_may_import(actor)
    if not ImportJob.objects.filter(import_jobs_visible_q(actor), pk=job.pk).exists():
        raise PermissionDenied("This import is not yours to see.")


def _read(uploaded_file: UploadedFile) -> bytes:
    limit = max_bytes()
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise parsing.refuse(f"The file is {uploaded_file.size / 1e6:.1f} MB; at most {limit / 1e6:.0f} MB.")
    data = uploaded_file.read(limit + 1)
    if len(data) > limit:
        raise parsing.refuse(f"The file is over the limit of {limit / 1e6:.0f} MB.")
    return data


@transaction.atomic
def import_upload(*, actor: User, uploaded_file: UploadedFile) -> ImportJob:
    """Keep an uploaded CSV as a new job, with its encoding, delimiter, header and the
    guessed source, kind and column mapping. Refused (ValidationError keyed "file") when
    empty, over settings.BATON_IMPORT_MAX_BYTES, not a CSV or without a header row."""
    _check_may_import(actor)
    data = _read(uploaded_file)
    sniffed, _text = parsing.sniff(data)
    source = guess_source(sniffed.header)
    mapping = guess_mapping(source, sniffed.header)
    kind = guess_kind(mapping)
    job = ImportJob(
        created_by=actor,
        team_id=actor.team_id,
        file_name=(uploaded_file.name or "import.csv")[-255:],
        content=data,
        size_bytes=len(data),
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        header=sniffed.header,
        source=source,
        object_kind=kind,
        column_mapping=mapping,
        status=ImportStatus.UPLOADED if mapping_gaps(source, kind, sniffed.header, mapping) else ImportStatus.MAPPED,
        # Until the dry run counts them: the records in the file (the dry run's progress
        # bar, and whether it runs in the request or in a worker, go by it).
        rows_total=parsing.count_records(_text),
    )
    job.full_clean(exclude=["content"])
    job.save()
    return job


EDITABLE = (ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.DRY_RUN_READY, ImportStatus.FAILED)


@transaction.atomic
def import_set_mapping(
    *,
    actor: User,
    job: ImportJob,
    mapping: dict[str, str],
    owner_mapping: dict[str, Any],
    start_handoffs: bool,
    source: str | None = None,
    object_kind: str | None = None,
) -> ImportJob:
    """Correct the guess: {column: Baton field or ""}, {owner as in the file: user id},
    whether won deals start their hand-offs, and optionally the source and the kind.
    Refused, keyed "mapping" / "owner_mapping" / "source" / "object_kind"; the job goes
    back to "mapped" (its dry run must be made again)."""
    _check_job(actor, job)
    job = ImportJob.objects.select_for_update().defer("content").get(pk=job.pk)
    if job.status not in EDITABLE:
        raise ValidationError("This import is queued or has run; its mapping can no longer change.")
    errors: dict[str, str] = {}
    source = source or job.source
    if source not in ImportSource.values:
        errors["source"] = "Choose a source."
    kind = object_kind or guess_kind(mapping)
    if kind not in ImportKind.values:
        errors["object_kind"] = "Choose what a row is."
    clean_mapping, mapping_error = _clean_mapping(job, mapping, kind, source)
    if mapping_error:
        errors["mapping"] = mapping_error
    clean_owners, owners_error = _clean_owner_mapping(actor, owner_mapping)
    if owners_error:
        errors["owner_mapping"] = owners_error
    if errors:
        raise ValidationError(errors)
    job.source, job.object_kind, job.column_mapping = source, kind, clean_mapping
    job.owner_mapping, job.start_handoffs = clean_owners, bool(start_handoffs)
    job.status, job.dry_run_summary = ImportStatus.MAPPED, {}
    job.save(
        update_fields=[
            "source",
            "object_kind",
            "column_mapping",
            "owner_mapping",
            "start_handoffs",
            "status",
            "dry_run_summary",
        ]
    )
    return job


def mapping_gaps(source: str, kind: str, header: list[str], mapping: dict[str, str]) -> str:
    """Why a mapping cannot be imported yet, or "": a deals export lacking a deal's columns
    (whatever the kind chosen: it is not imported as something else), or the required
    fields of the kind that no column goes to."""
    lacks = deals_export_lacks(source, header, mapping)
    if lacks:
        fields = "; ".join(missing_required(ImportKind.DEALS, mapping, source=source))
        return f"{lacks} Map a column to: {fields} (or export the file again with them)."
    missing = missing_required(kind, mapping, source=source)
    return "Map a column to: " + "; ".join(missing) + "." if missing else ""


def _clean_mapping(job: ImportJob, mapping: dict[str, str], kind: str, source: str) -> tuple[dict[str, str], str]:
    unknown_columns = sorted(set(mapping) - set(job.header))
    if unknown_columns:
        return {}, f"The file has no column {', '.join(unknown_columns)}."
    clean = {column: (mapping.get(column) or "") for column in job.header}
    fields = [field for field in clean.values() if field]
    unknown_fields = sorted(set(fields) - FIELD_NAMES)
    if unknown_fields:
        return {}, f"Unknown field {', '.join(unknown_fields)}."
    twice = sorted({field for field in fields if fields.count(field) > 1})
    if twice:
        return {}, f"Each field takes one column; mapped twice: {', '.join(twice)}."
    gaps = mapping_gaps(source, kind, job.header, clean)
    if gaps:
        return {}, gaps
    return clean, ""


def _clean_owner_mapping(actor: User, owner_mapping: dict[str, Any]) -> tuple[dict[str, int], str]:
    wanted: dict[str, int] = {}
    for name, user_id in (owner_mapping or {}).items():
        if user_id in (None, ""):
            continue
        try:
            wanted[str(name)] = int(user_id)
        except (TypeError, ValueError):
            return {}, f"“{name}”: choose a user."
    allowed = set(account_users_assignable_by(actor).filter(pk__in=set(wanted.values())).values_list("pk", flat=True))
    refused = sorted(name for name, user_id in wanted.items() if user_id not in allowed)
    if refused:
        return {}, f"You may not give records to the user chosen for {', '.join(refused)}."
    return wanted, ""


def dry_run_sync_rows() -> int:
    """The most rows whose dry run is made in the request (settings.BATON_IMPORT_DRY_RUN_SYNC_ROWS)."""
    return int(getattr(settings, "BATON_IMPORT_DRY_RUN_SYNC_ROWS", DEFAULT_DRY_RUN_SYNC_ROWS))


def import_request_dry_run(*, actor: User, job: ImportJob) -> DryRunReport | None:
    """Make the dry run of a mapped job: at once for a small file (its report returned),
    else queued for a worker (None; the task followups.tasks.make_dry_run is sent on
    commit, and the job's dry_run_summary says {"pending": "queued" | "running"} until the
    report replaces it, or {"failed": reason}). Both plan the file with the same code
    (_plan_and_record); a 100,000-row file takes 15–20 s, too long for a web request."""
    _check_job(actor, job)
    rows = ImportJob.objects.filter(pk=job.pk).values_list("rows_total", flat=True).first() or 0
    if rows <= dry_run_sync_rows():
        return import_dry_run(actor=actor, job=job)
    _queue_dry_run(actor, job)
    return None


@transaction.atomic
def _queue_dry_run(actor: User, job: ImportJob) -> None:
    job = ImportJob.objects.select_for_update().defer("content").get(pk=job.pk)
    if job.status not in EDITABLE:
        raise ValidationError("This import is queued or has run.")
    gaps = mapping_gaps(job.source, job.object_kind, job.header, job.column_mapping)
    if gaps:
        raise ValidationError({"mapping": gaps})
    # The token tells a late task that its request was overtaken (a new mapping or
    # dry run replaced the summary): it then writes nothing.
    job.dry_run_summary = {"pending": "queued", "token": uuid.uuid4().hex, "actor": actor.pk}
    job.status, job.rows_done, job.error = ImportStatus.MAPPED, 0, ""
    job.started_at = job.progress_at = job.finished_at = None
    job.save(
        update_fields=["dry_run_summary", "status", "rows_done", "error", "started_at", "progress_at", "finished_at"]
    )
    job_id = job.pk
    transaction.on_commit(lambda: current_app.send_task(DRY_RUN_TASK, args=[job_id]))


def import_dry_run_queued(*, job_id: int) -> ImportJob | None:
    """The task's body: make the dry run a request queued (import_request_dry_run), telling
    its progress as the run does (rows_done, from a second connection). Returns None when
    there is nothing to do (no dry run pending: done, overtaken, unknown job). A task
    redelivered after a killed worker makes it again: a dry run writes only at its end."""
    pending = (
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.MAPPED)
        .values_list("dry_run_summary", flat=True)
        .first()
    )
    if not pending or pending.get("pending") not in ("queued", "running"):
        return None
    token = pending.get("token", "")
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.MAPPED, dry_run_summary__token=token).update(
        dry_run_summary={**pending, "pending": "running"},
        started_at=timezone.now(),
        progress_at=timezone.now(),
        rows_done=0,
    )
    if claimed != 1:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    actor = User.objects.filter(pk=pending.get("actor")).first() or job.created_by
    progress = ProgressWriter(job_id)
    try:
        _plan_and_record(job, actor, token=token, progress=progress.write)
    except Exception as error:  # reported on the job (the page offers to make it again), then logged
        logger.exception("Dry run of import %s failed", job_id)
        reason = " ".join(error.messages) if isinstance(error, ValidationError) else f"{type(error).__name__}: {error}"
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.MAPPED, dry_run_summary__token=token).update(
            dry_run_summary={"failed": reason[:2000], "token": token}, finished_at=timezone.now()
        )
    finally:
        progress.close()
    return ImportJob.objects.defer("content").get(pk=job_id)


def import_dry_run(*, actor: User, job: ImportJob) -> DryRunReport:
    """What the run would do, row by row, written nowhere but on the job (dry_run_summary,
    rows_total) and its rejected rows; made now, in the caller's process. Missing required
    columns are refused up front (ValidationError keyed "mapping")."""
    _check_job(actor, job)
    job = ImportJob.objects.get(pk=job.pk)
    return _plan_and_record(job, actor)


def _plan_and_record(job: ImportJob, actor: User, *, token: str | None = None, progress: Any = None) -> DryRunReport:
    """Plan the file and record the report on the job: the one path of both dry runs.
    With a `token` (a queued dry run), nothing is written when the job's summary no
    longer carries it (a new mapping or dry run overtook this one)."""
    if job.status not in EDITABLE:
        raise ValidationError("This import is queued or has run.")
    gaps = mapping_gaps(job.source, job.object_kind, job.header, job.column_mapping)
    if gaps:
        raise ValidationError({"mapping": gaps})
    plan = engine.plan_file(job=job, actor=actor, progress=progress)
    report = plan.report()
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().defer("content").get(pk=job.pk)
        if locked.status not in EDITABLE:
            raise ValidationError("This import was queued meanwhile.")
        if token is not None and (locked.dry_run_summary or {}).get("token") != token:
            return report  # overtaken: the newer request's report is the one to keep
        ImportRejectedRow.objects.filter(job=job).delete()
        ImportRejectedRow.objects.bulk_create(plan.rejected_rows(job), batch_size=2000)
        locked.dry_run_summary = report.as_json()
        locked.rows_total, locked.rows_done = report.rows_total, 0
        locked.rejected_count = report.row_counts.get("reject", 0)
        locked.status = ImportStatus.DRY_RUN_READY
        locked.save(update_fields=["dry_run_summary", "rows_total", "rows_done", "rejected_count", "status"])
    return report


@transaction.atomic
def import_start(*, actor: User, job: ImportJob, start_handoffs: bool | None = None) -> ImportJob:
    """Queue the run of a job whose dry run was made (or that failed): the task is sent
    when this transaction commits. `start_handoffs`, if given, is the dry run page's choice."""
    _check_job(actor, job)
    job = ImportJob.objects.select_for_update().defer("content").get(pk=job.pk)
    if job.status not in (ImportStatus.DRY_RUN_READY, ImportStatus.FAILED):
        raise ValidationError("Make the dry run first; an import runs once.")
    if start_handoffs is not None:
        job.start_handoffs = bool(start_handoffs)
    job.status, job.queued_at, job.error = ImportStatus.QUEUED, timezone.now(), ""
    job.rows_done = 0
    job.started_at = job.finished_at = job.progress_at = None
    job.save(
        update_fields=[
            "start_handoffs",
            "status",
            "queued_at",
            "error",
            "rows_done",
            "started_at",
            "finished_at",
            "progress_at",
        ]
    )
    job_id = job.pk
    transaction.on_commit(lambda: _send_run(job_id))
    return job


def _send_run(job_id: int) -> None:
    result = current_app.send_task(RUN_IMPORT_TASK, args=[job_id])
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(celery_task_id=result.id or "")


def import_run(*, job_id: int, fail_after_rows: int | None = None) -> ImportJob | None:
    """Run a queued job (the task's body): claim it, write the whole file in one
    transaction, mark it done — or failed, with nothing written. Returns None when the job
    was not this run's to take (already running elsewhere, done, unknown).
    `fail_after_rows` (tests only) raises once that many rows are written."""
    import_jobs_recover(job_ids=[job_id])
    if not job_lock(job_id):
        return None  # another live run holds it
    try:
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.RUNNING, started_at=timezone.now(), progress_at=timezone.now(), rows_done=0
        )
        if claimed != 1:
            return None
        job = ImportJob.objects.select_related("created_by").get(pk=job_id)
        progress = ProgressWriter(job_id)
        try:
            with transaction.atomic():
                engine.run_file(job=job, progress=progress, fail_after_rows=fail_after_rows)
        except Exception as error:  # every failure is reported on the job, then logged
            logger.exception("Import %s failed", job_id)
            _mark_failed(job_id, f"{type(error).__name__}: {error}"[:2000])
            return ImportJob.objects.defer("content").get(pk=job_id)
        finally:
            progress.close()
        return ImportJob.objects.defer("content").get(pk=job_id)
    finally:
        job_unlock(job_id)


def _mark_failed(job_id: int, reason: str) -> None:
    # A connection broken under the run (PostgreSQL restarted) is closed so that this
    # query opens a new one instead of failing on the dead one.
    if connection.connection is not None and not connection.is_usable():
        connection.close()
    try:
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED, error=reason, finished_at=timezone.now()
        )
    except Exception:  # the database may be gone; the sweeper marks it later
        connection.close()
        logger.exception("Import %s: could not record the failure (%s)", job_id, reason)


ORPHAN_REASON = (
    "The worker running this import stopped (killed, or the database restarted) before the end; "
    "nothing of the file was imported. Start it again."
)


def import_jobs_recover(*, job_ids: list[int] | None = None) -> int:
    """Mark failed the running jobs that no live run holds (their worker died: the
    session holding the job's lock is gone). Returns how many it marked."""
    running = ImportJob.objects.filter(status=ImportStatus.RUNNING)
    if job_ids is not None:
        running = running.filter(pk__in=job_ids)
    marked = 0
    for job_id in running.values_list("pk", flat=True):
        if lock_is_free(job_id):
            marked += ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING).update(
                status=ImportStatus.FAILED, error=ORPHAN_REASON, finished_at=timezone.now()
            )
    return marked
