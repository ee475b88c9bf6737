# The reminder scan's change marks: when a step or a promise last changed, and indexes on
# the updated_at of deals, hand-offs and meetings, so that a scan between two full ones
# reads only what changed since its last run (followups.services.reminders).
#
# Rows that exist before this migration are stamped with a date long past rather than
# the migration's time: the first scan after it is a full one anyway (it finds no scan
# mark), and a few minutes of scans re-reading every row would gain nothing. New rows
# get the database's clock by default (rows written with SQL), or the save's.
import datetime

import django.db.models.functions.datetime
from django.db import migrations, models

LONG_AGO = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0011_inbound_closes"),
    ]

    operations = [
        migrations.AddField(
            model_name="handoffstep",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=models.Value(LONG_AGO)),
        ),
        migrations.AlterField(
            model_name="handoffstep",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddField(
            model_name="promise",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=models.Value(LONG_AGO)),
        ),
        migrations.AlterField(
            model_name="promise",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["updated_at"], name="deal_updated_idx"),
        ),
        migrations.AddIndex(
            model_name="handoff",
            index=models.Index(fields=["updated_at"], name="handoff_updated_idx"),
        ),
        migrations.AddIndex(
            model_name="handoffstep",
            index=models.Index(
                condition=models.Q(("status", "open")), fields=["updated_at"], name="handoff_step_open_changed_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="meeting",
            index=models.Index(fields=["updated_at"], name="meeting_updated_idx"),
        ),
        migrations.AddIndex(
            model_name="promise",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "confirmed"])),
                fields=["updated_at"],
                name="promise_pending_changed_idx",
            ),
        ),
    ]
