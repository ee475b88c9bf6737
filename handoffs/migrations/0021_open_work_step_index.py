"""A person's open hand-off steps in due order, from the index alone (issue 17).

The open-work page reads the ids of the open steps assigned to a person. Only the
assignee index fit (most of a person's steps are done): PostgreSQL ANDed it with a
bitmap of all ~8,000 open steps, then sorted. A partial index of the open steps by
assignee and due date, with the id, answers it with an index-only scan in order.

Raw SQL (PostgreSQL and SQLite both take it): a partial index the ORM's Meta need not
know about, as the other covering indexes of issue 17.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0020_report_dashboard_indexes")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS handoff_step_assignee_open_idx "
                "ON handoffs_handoffstep (assignee_id, due_on, id) WHERE status = 'open'"
            ),
            reverse_sql="DROP INDEX IF EXISTS handoff_step_assignee_open_idx",
        ),
    ]
