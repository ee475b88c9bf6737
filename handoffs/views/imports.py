"""The import pages (issue 14): upload a CSV, correct Baton's guess of its columns and
owners, read the dry run, start the import, follow it, download what was rejected, and
the history of imports.

    /imports/                     the history (managers: their teams'; admins: all)
    /imports/new/                 upload
    /imports/<id>/                where the import is: sends to the step it waits for,
                                  or shows the progress bar, then the summary
    /imports/<id>/mapping/        columns → Baton fields, owners → Baton users, hand-offs
    /imports/<id>/dry-run/        POST: make the dry run again; GET: its counts and rows,
                                  paged — or, while a worker makes it (a big file), its
                                  progress bar, as the run's
    /imports/<id>/start/          POST: queue the import (a Celery task)
    /imports/<id>/progress/       the progress fragment htmx polls every second (HTML),
                                  or the same figures as JSON (?format=json)
    /imports/<id>/rejected.csv    every rejected row with its line and reason, streamed

Every page: login, then 403 unless handoffs.access.user_may_import (managers and admins;
reps and delivery leads never), then 404 unless the job is visible to the user
(handoffs.imports.selectors.import_job_for: managers their teams', admins all). The
engine (handoffs.imports) does the work; these views only carry forms to it.

The progress pages (the run's, and the dry run's of a big file) need no JavaScript: each
reads the job's state from the server on every load, so a reload (or the meta refresh in
<noscript>) shows where the work is, and htmx swaps the fragment every second when
JavaScript runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import account_users_assignable_by
from accounts.common.exports import csv_response
from accounts.common.forms import add_service_error
from handoffs.access import user_may_import
from handoffs.forms.imports import ImportMappingForm, ImportStartForm, ImportUploadForm, max_upload_bytes
from handoffs.imports.choices import ImportKind, ImportSource, ImportStatus, RowAction
from handoffs.imports.layouts import deals_export_lacks, guess_kind, guess_mapping
from handoffs.imports.selectors import (
    import_dry_run_state,
    import_job_for,
    import_jobs_visible_to,
    import_owner_values,
    import_progress,
    import_rejects_rows,
)
from handoffs.imports.services import (
    import_request_dry_run,
    import_set_mapping,
    import_start,
    import_upload,
)
from handoffs.models import ImportJob

HISTORY_PAGE_SIZE = 25
DRY_RUN_PAGE_SIZE = 50
# Where a job waits for its user, by status (the rest show the progress or the summary).
BEFORE_THE_RUN = {ImportStatus.UPLOADED, ImportStatus.MAPPED}
RUNNING = {ImportStatus.QUEUED, ImportStatus.RUNNING}
DELIMITER_LABELS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def import_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login, then 403 unless the user may import at all (the one rule: user_may_import)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not user_may_import(request.user):
            raise PermissionDenied("Imports are for managers (into their teams) and admins.")
        return view(request, *args, **kwargs)

    return wrapper


# --- the history and the upload --------------------------------------------------------


@import_access
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """Every import the user may see, newest first: who, when, file, source, counts, status."""
    page = Paginator(import_jobs_visible_to(request.user), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "handoffs/imports/list.html", {"page_obj": page, "jobs": list(page.object_list)})


@import_access
def import_upload_view(request: HttpRequest) -> HttpResponse:
    """The file, and optionally what Baton should assume about it; then the mapping."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_upload(actor=request.user, uploaded_file=form.cleaned_data["file"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"“{job.file_name}” read: check what Baton guessed, then make the dry run.")
            lacks = deals_export_lacks(job.source, job.header, job.column_mapping)
            if lacks:
                messages.warning(request, f"{lacks} It cannot be imported until they are mapped.")
            # What the user said the file is wins over the guess: the mapping page guesses
            # the columns again for it (nothing is saved until they confirm).
            chosen = {key: form.cleaned_data[key] for key in ("source", "object_kind") if form.cleaned_data[key]}
            url = reverse("handoffs:import_mapping", args=[job.pk])
            return redirect(f"{url}?{urlencode(chosen)}" if chosen else url)
    context = {"form": form, "max_bytes": max_upload_bytes()}
    return render(request, "handoffs/imports/upload.html", context)


# --- one import -------------------------------------------------------------------------


@import_access
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the import stands: before the run, the step it waits for; then the live
    progress; then the summary (created, updated, skipped, rejected) and the download."""
    job = import_job_for(request.user, pk)
    if job.status == ImportStatus.DRY_RUN_READY or import_dry_run_state(job):
        return redirect("handoffs:import_dry_run", pk=job.pk)
    if job.status in BEFORE_THE_RUN:
        return redirect("handoffs:import_mapping", pk=job.pk)
    context = {
        "job": job,
        "progress": import_progress(job),
        "running": job.status in RUNNING,
        "summary_rows": _summary_rows(job),
    }
    return render(request, "handoffs/imports/detail.html", context)


@import_access
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Baton's guess of the source, the kind of rows, each column's field and each owner's
    user, to correct; saved, it makes the dry run (at once, or queued for a worker when the
    file is big) and shows it. A deals export lacking a deal's columns is said so at once."""
    job = import_job_for(request.user, pk)
    if job.status not in BEFORE_THE_RUN | {ImportStatus.DRY_RUN_READY}:
        return redirect("handoffs:import_detail", pk=job.pk)
    owners = _owners_seen(job)
    users = list(account_users_assignable_by(request.user).order_by("first_name", "last_name", "pk"))
    source, kind, mapping = _guess_for(job, source=request.GET.get("source"), kind=request.GET.get("object_kind"))
    initial = ImportMappingForm.initial_for(
        source=source,
        object_kind=kind,
        start_handoffs=job.start_handoffs,
        header=job.header,
        mapping=mapping,
        owners=list(owners),
        owner_mapping=owners,
    )
    form = ImportMappingForm(
        request.POST or None,
        initial=initial,
        header=job.header,
        owners=list(owners),
        users=users,
    )
    if request.method == "POST" and request.POST.get("guess"):
        chosen = {key: request.POST.get(key, "") for key in ("source", "object_kind")}
        return redirect(f"{reverse('handoffs:import_mapping', args=[job.pk])}?{urlencode(chosen)}")
    if request.method == "POST" and form.is_valid():
        try:
            job = import_set_mapping(
                actor=request.user,
                job=job,
                mapping=form.mapping(),
                owner_mapping=form.owner_mapping(),
                start_handoffs=form.cleaned_data["start_handoffs"],
                source=form.cleaned_data["source"],
                object_kind=form.cleaned_data["object_kind"],
            )
            import_request_dry_run(actor=request.user, job=job)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return redirect("handoffs:import_dry_run", pk=job.pk)
    context = {
        "job": job,
        "form": form,
        "delimiter_label": DELIMITER_LABELS.get(job.delimiter, f"“{job.delimiter}”"),
        "lacks": deals_export_lacks(source, job.header, mapping),
    }
    return render(request, "handoffs/imports/mapping.html", context)


@import_access
def import_dry_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the import will do, counted and row by row (paged; `?action=` filters);
    while a worker makes it, its progress (as the run's: a reload, or the meta refresh
    without JavaScript, shows where it is). POST: make the dry run again (after the data
    in Baton changed, or after it failed)."""
    job = import_job_for(request.user, pk)
    if request.method == "POST":
        try:
            import_request_dry_run(actor=request.user, job=job)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("handoffs:import_mapping", pk=job.pk)
        return redirect("handoffs:import_dry_run", pk=job.pk)
    state = import_dry_run_state(job)
    if state:
        progress = import_progress(job)
        context = {"job": job, "progress": progress, "running": not progress.finished, "state": state}
        return render(request, "handoffs/imports/dry_run_pending.html", context)
    if job.status in BEFORE_THE_RUN:
        return redirect("handoffs:import_mapping", pk=job.pk)
    if job.status != ImportStatus.DRY_RUN_READY:
        return redirect("handoffs:import_detail", pk=job.pk)
    report = job.dry_run_summary or {}
    action = request.GET.get("action", "")
    if action not in RowAction.values:
        action = ""
    rows = [row for row in _dry_run_rows(report) if not action or row["action"] == action]
    page = Paginator(rows, DRY_RUN_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "report": report,
        "row_counts": _row_counts(report),
        "kind_counts": _kind_counts(report),
        "page_obj": page,
        "rows": list(page.object_list),
        "rows_listed": len(report.get("rows", [])),
        "owners": _owners_named(request.user, _owners_seen(job)),
        "action": action,
        "actions": RowAction.choices,
        "start_form": ImportStartForm(initial={"start_handoffs": job.start_handoffs}),
    }
    return render(request, "handoffs/imports/dry_run.html", context)


@import_access
@require_POST
def import_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the import (from a fresh dry run, or again after it failed); then its progress."""
    job = import_job_for(request.user, pk)
    form = ImportStartForm(request.POST)
    start_handoffs = form.cleaned_data["start_handoffs"] if form.is_valid() else None
    try:
        import_start(actor=request.user, job=job, start_handoffs=start_handoffs)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("handoffs:import_detail", pk=job.pk)


@import_access
@require_GET
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's figures, read from the job's row: the fragment htmx swaps every second,
    or JSON with `?format=json`. A finished job tells htmx to reload the page, which then
    shows the summary, and to stop polling (286)."""
    job = import_job_for(request.user, pk)
    progress = import_progress(job)
    if request.GET.get("format") == "json":
        return JsonResponse(_progress_json(job, progress))
    response = render(
        request,
        "handoffs/imports/_progress.html",
        {"job": job, "progress": progress, "running": not progress.finished},
    )
    if progress.finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@import_access
@require_GET
def import_rejects_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Every rejected row: its line in the file, the reason, then its cells as read —
    streamed, and formula-escaped (accounts.common.exports)."""
    job = import_job_for(request.user, pk)
    rows = import_rejects_rows(job)
    header = next(rows)
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return csv_response(f"{stem}-rejected-rows.csv", header, rows)


def _guess_for(job: ImportJob, *, source: str | None, kind: str | None) -> tuple[str, str, dict[str, str]]:
    """The source, kind and mapping the mapping form starts from: the job's own, or — when
    the user names another source or kind (at the upload, or "Guess again") — Baton's
    guess of the columns for that one."""
    source = source if source in ImportSource.values else ""
    kind = kind if kind in ImportKind.values else ""
    if not source and not kind:
        return job.source, job.object_kind, job.column_mapping
    source = source or job.source
    mapping = guess_mapping(source, job.header, kind=kind or None)
    return source, kind or guess_kind(mapping), mapping


# --- reading the engine's reports -------------------------------------------------------

DRY_RUN_ROW_KEYS = ("line", "action", "kind", "label", "reason")


def _dry_run_rows(report: dict) -> list[dict]:
    """The dry run's rows ([line, action, kind, label, reason] in the job's JSON) as dicts."""
    return [dict(zip(DRY_RUN_ROW_KEYS, row, strict=False)) for row in report.get("rows", [])]


def _owners_seen(job: ImportJob) -> dict[str, int | None]:
    """{owner as the file names them: Baton user id or None}, as the last dry run resolved
    them (the engine reads the owners while it plans), with the user's own choices over
    them; empty before the first dry run."""
    owners = import_owner_values(job)
    owners.update(job.owner_mapping or {})
    return dict(sorted(owners.items(), key=lambda item: item[0].lower()))


def _owners_named(actor, owners: dict[str, int | None]) -> list[tuple[str, str]]:
    """(owner in the file, the Baton user's name or "") for the dry run's owners card."""
    ids = {user_id for user_id in owners.values() if user_id}
    users = account_users_assignable_by(actor).filter(pk__in=ids)
    names = {user.pk: user.get_full_name() or user.username for user in users}
    return [(owner, names.get(user_id, "") if user_id else "") for owner, user_id in owners.items()]


def _row_counts(report: dict) -> list[tuple[str, str, int]]:
    """(action, label, rows) for each action, in the order of RowAction."""
    counts = report.get("row_counts", {})
    return [(value, label, int(counts.get(value, 0))) for value, label in RowAction.choices]


def _kind_counts(report: dict) -> list[tuple[str, list[int]]]:
    """(kind, [create, update, skip, reject]) per kind of record the file touches."""
    return [
        (kind, [int(actions.get(value, 0)) for value in RowAction.values])
        for kind, actions in (report.get("counts") or {}).items()
    ]


def _summary_rows(job: ImportJob) -> list[tuple[str, list[int]]]:
    counts = (job.summary or {}).get("counts") or {}
    return [(kind, [int(actions.get(value, 0)) for value in RowAction.values]) for kind, actions in counts.items()]


def _progress_json(job: ImportJob, progress) -> dict:
    return {
        "id": job.pk,
        **progress.as_json(),
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "rejected": job.rejected_count,
        "url": reverse("handoffs:import_detail", args=[job.pk]),
    }
