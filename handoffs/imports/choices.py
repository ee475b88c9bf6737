"""Enumerations of imports (handoffs.imports). Kept here, next to the engine, so the
import's vocabulary is read in one place; handoffs.models imports them for its fields."""

from django.db import models


class ImportSource(models.TextChoices):
    """The CRM a file was exported from: it decides the header aliases (layouts.py) and
    the `external_source` written on what the import creates."""

    SALESFORCE = "salesforce", "Salesforce"
    HUBSPOT = "hubspot", "HubSpot"
    PIPEDRIVE = "pipedrive", "Pipedrive"
    GENERIC = "csv", "Any CSV (column mapping)"


class ImportKind(models.TextChoices):
    """What one row of the file is: a deal (with its account and contact), a contact
    (with its account) or an account."""

    DEALS = "deals", "Deals (with their accounts and contacts)"
    CONTACTS = "contacts", "Contacts (with their accounts)"
    ACCOUNTS = "accounts", "Accounts"


class ImportStatus(models.TextChoices):
    """uploaded → mapped → dry_run_ready → queued → running → done / failed. A failed job
    (nothing of it was written) may be queued again."""

    UPLOADED = "uploaded", "Uploaded"
    MAPPED = "mapped", "Mapped"
    DRY_RUN_READY = "dry_run_ready", "Dry run ready"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RowAction(models.TextChoices):
    """What the dry run (and the run) does with a row, or with one record of it."""

    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    SKIP = "skip", "Skip"
    REJECT = "reject", "Reject"
