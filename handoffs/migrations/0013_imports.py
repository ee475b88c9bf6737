# Imports of accounts, contacts and deals from CSV files (issue 14): the job and its rejected rows.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0012_reminder_scan_marks"),
        ("accounts", "0006_imports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("file_name", models.CharField(max_length=255)),
                ("content", models.BinaryField()),
                ("size_bytes", models.PositiveBigIntegerField(default=0)),
                (
                    "encoding",
                    models.CharField(help_text="As detected at the upload (a Python codec name).", max_length=40),
                ),
                ("delimiter", models.CharField(default=",", max_length=1)),
                ("header", models.JSONField(blank=True, default=list, help_text="The file's column names, in order.")),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("salesforce", "Salesforce"),
                            ("hubspot", "HubSpot"),
                            ("pipedrive", "Pipedrive"),
                            ("csv", "Any CSV (column mapping)"),
                        ],
                        default="csv",
                        max_length=16,
                    ),
                ),
                (
                    "object_kind",
                    models.CharField(
                        choices=[
                            ("deals", "Deals (with their accounts and contacts)"),
                            ("contacts", "Contacts (with their accounts)"),
                            ("accounts", "Accounts"),
                        ],
                        default="deals",
                        max_length=16,
                    ),
                ),
                ("column_mapping", models.JSONField(blank=True, default=dict)),
                ("owner_mapping", models.JSONField(blank=True, default=dict)),
                (
                    "start_handoffs",
                    models.BooleanField(
                        default=False, help_text="Won deals start their hand-offs through the close gate."
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("uploaded", "Uploaded"),
                            ("mapped", "Mapped"),
                            ("dry_run_ready", "Dry run ready"),
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="uploaded",
                        max_length=16,
                    ),
                ),
                ("rows_total", models.PositiveIntegerField(default=0)),
                ("rows_done", models.PositiveIntegerField(default=0)),
                ("created_count", models.PositiveIntegerField(default=0)),
                ("updated_count", models.PositiveIntegerField(default=0)),
                ("skipped_count", models.PositiveIntegerField(default=0)),
                ("rejected_count", models.PositiveIntegerField(default=0)),
                ("dry_run_summary", models.JSONField(blank=True, default=dict)),
                ("summary", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("celery_task_id", models.CharField(blank=True, max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("queued_at", models.DateTimeField(blank=True, null=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("progress_at", models.DateTimeField(blank=True, help_text="When rows_done last moved.", null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.team",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ImportRejectedRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("line", models.PositiveIntegerField()),
                ("raw", models.JSONField(blank=True, default=dict)),
                ("reason", models.TextField()),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rejected_rows",
                        to="handoffs.importjob",
                    ),
                ),
            ],
            options={
                "ordering": ["job", "line", "id"],
            },
        ),
        migrations.AddIndex(
            model_name="importjob",
            index=models.Index(fields=["team", "-created_at"], name="import_job_team_idx"),
        ),
        migrations.AddIndex(
            model_name="importjob",
            index=models.Index(fields=["status"], name="import_job_status_idx"),
        ),
        migrations.AddIndex(
            model_name="importrejectedrow",
            index=models.Index(fields=["job", "line"], name="import_rejected_job_line_idx"),
        ),
    ]
