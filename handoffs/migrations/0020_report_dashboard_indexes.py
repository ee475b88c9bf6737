"""Indexes for the dropped-baton report and the manager dashboard (issue 17):
Promise.created_at (the report's promise-keeping table reads a period's promises) and
the hand-offs waiting for an owner by close date (the dashboard's oldest first)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0019_handoff_running_index")]

    operations = [
        migrations.AddIndex(
            model_name="promise",
            index=models.Index(fields=["created_at"], name="promise_created_idx"),
        ),
        migrations.AddIndex(
            model_name="handoff",
            index=models.Index(
                condition=models.Q(status__in=["awaiting_owner", "declined"]),
                fields=["closed_on", "id"],
                name="handoff_waiting_closed_idx",
            ),
        ),
    ]
