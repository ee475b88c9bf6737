"""Imports of accounts, contacts and deals from CSV files (issue 14): the engine.

The pages (upload, mapping, dry run, progress, summary, rejected rows, history) are in
handoffs/views/imports.py and call only what is listed here.

Modules
-------
- ``choices``   ImportSource, ImportKind, ImportStatus, RowAction.
- ``layouts``   the known export layouts: header aliases per source → Baton fields
                (``FIELDS``: every Baton field a column may map to, with its label;
                ``guess_source(header)``, ``guess_mapping(source, header)``,
                ``guess_kind(mapping)``, ``REQUIRED`` per kind and ``required(kind,
                source)`` — a CRM's deals need their stage too —, ``missing_required``,
                ``looks_like_deals(source, header)`` and ``deals_export_lacks(source,
                header, mapping)``: "This looks like a Salesforce opportunities export
                but it lacks: Opportunity Name, Stage." or "").
- ``parsing``   bytes → text → rows: size/emptiness/binary checks, encoding (BOMs,
                UTF-8, UTF-16, else Windows-1252 unless charset-normalizer is clearly
                surer of Windows-1250/Latin-1/Latin-2 — see its docstring), delimiter
                (csv.Sniffer, then counting), quoted newlines; each row with the line
                it starts on.
- ``engine``    one pass that plans a file against the database (match, validate,
                create / update / skip / reject per row) and, for the run, writes the
                plan set-based in chunks of CHUNK_ROWS (COPY on PostgreSQL).
- ``progress``  rows_done written from a second database connection during the run.
- ``services``  the only writes, keyword-only:

    import_upload(*, actor, uploaded_file) -> ImportJob
        Validates (size ≤ settings.BATON_IMPORT_MAX_BYTES, not empty, not binary/xlsx/PDF,
        a header row), detects encoding and delimiter, guesses source, kind and column
        mapping. ValidationError keyed "file" when refused. Status "mapped" when the guess
        covers the required fields, else "uploaded".
    import_set_mapping(*, actor, job, mapping, owner_mapping, start_handoffs,
                       source=None, object_kind=None) -> ImportJob
        mapping {column: field or ""}; owner_mapping {owner in file: user id}.
        ValidationError keyed "mapping" (missing required fields, a deals export lacking
        a deal's columns whatever the kind chosen — mapping_gaps —, a field mapped twice,
        an unknown column/field) or "owner_mapping" (a user the actor may not assign).
        Status → "mapped"; the dry run must be made again.
    import_request_dry_run(*, actor, job) -> DryRunReport | None
        What the pages call. A file of at most settings.BATON_IMPORT_DRY_RUN_SYNC_ROWS
        rows (2,000; job.rows_total, counted at the upload) gets import_dry_run at once;
        a bigger one is queued: dry_run_summary {"pending": "queued", "token", "actor"},
        status "mapped", the task followups.tasks.make_dry_run sent on commit; None.
    import_dry_run_queued(*, job_id) -> ImportJob | None
        The task's body: claims the pending dry run ("running", started_at), plans with
        rows_done written as the run's progress, records the report as import_dry_run
        does — unless its token was overtaken (a new mapping or dry run): then nothing;
        on an error dry_run_summary {"failed": reason}. None when nothing was pending.
    import_dry_run(*, actor, job) -> DryRunReport
        Plans the whole file now (in the caller's process; the queued one runs the same
        code), writes nothing but the job's dry_run_summary, rows_total and
        its ImportRejectedRow rows. Status → "dry_run_ready". DryRunReport has
        .counts {kind: {action: n}}, .rows_total, .row_counts {action: n},
        .rows [RowOutcome(line, action, kind, label, reason)] (at most
        engine.DRY_RUN_ROWS_KEPT rows, those that are not plain creations first, in line
        order), .owners {owner in the file: user id or None}, .handoffs_to_start, and
        .as_json() (what job.dry_run_summary holds; "rows" as [line, action, kind,
        label, reason] lists).
    import_start(*, actor, job, start_handoffs=None) -> ImportJob
        From "dry_run_ready" or "failed": status → "queued"; the task
        followups.tasks.run_import is sent on commit.
    import_run(*, job_id) -> ImportJob | None
        What the task calls: claims the queued job, runs the whole file in ONE
        transaction; "done" with counts (rows created/updated/skipped/rejected) and
        `summary` {counts, row_counts, handoffs_started, packets_pending, closes_refused,
        accounts_touched}, or "failed" with `error` and nothing written. None when the
        job was not its to run.
    import_jobs_recover() -> int
        Marks failed the running jobs whose worker died (its session lock is free).
- ``selectors``
    import_jobs_visible_to(user) -> QuerySet[ImportJob]   the history (content deferred)
    import_job_for(user, job_id) -> ImportJob             404 unless visible
    import_progress(job) -> ImportProgress                rows_done, rows_total, percent,
                                                          rows_per_second, seconds_left —
                                                          of the run, or of a queued dry
                                                          run (.dry_run: its state)
    import_dry_run_state(job) -> str                      "queued", "running", "failed" or ""
    import_rejects_rows(job) -> Iterator[list[str]]       header then rows, for the CSV
                                                          download (line, reason, cells…)
    import_owner_values(job) -> dict[str, int | None]     the owners the file names and
                                                          the user each matched (dry run)

Who may import: handoffs.access.user_may_import (managers for their team, admins).

All or nothing: see services' docstring.
"""
