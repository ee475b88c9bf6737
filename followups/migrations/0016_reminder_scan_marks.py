# The reminder scan's mark (where it got to) and when a check-in last changed, so that a
# scan between two full ones reads only what changed since its last run
# (followups.services.reminders). Existing check-ins are stamped with a date long past,
# as in handoffs 0012: the first scan after this migration is a full one anyway.
import datetime

import django.db.models.functions.datetime
from django.db import migrations, models

LONG_AGO = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0015_webhooks"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReminderScanMark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scanned_at", models.DateTimeField(help_text="The clock of the last scan, full or not.")),
                ("full_scan_at", models.DateTimeField(help_text="The clock of the last full scan.")),
                (
                    "full_scan_key",
                    models.CharField(
                        help_text="What the last full scan was for: the organisation's date, the thresholds and "
                        "the rules. A scan that finds another key reads everything again.",
                        max_length=200,
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="checkin",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=models.Value(LONG_AGO)),
        ),
        migrations.AlterField(
            model_name="checkin",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddIndex(
            model_name="checkin",
            index=models.Index(
                condition=models.Q(("status", "scheduled")), fields=["updated_at"], name="checkin_scheduled_changed_idx"
            ),
        ),
    ]
