"""Two indexes for the API's list of check-ins, newest first by id (issue 17).

The API pages by id (accounts.api.pagination, `-id`): PostgreSQL walks the primary key
backwards and keeps the rows that pass the filters, reading every row it skips.

- checkin_rep_id_idx (rep_id, id): a rep's check-ins are 1 in 120 of the table, so the
  walk read ~8,100 rows (~570 pages) for a page of 50; with the rep's own ids in order
  it reads the 51 it returns (~10 pages). A rep's overdue ones walk this index too,
  ~1,900 rows instead of ~237,000 (~240 pages instead of ~14,000: a second to ~2 ms).
- checkin_scheduled_id_due_idx (id, due_on) WHERE status = 'scheduled': a manager's
  overdue check-ins (?overdue=true) are ~0.3 % of the newest rows; the walk read ~16,000
  rows (~970 pages). In id order over the scheduled ones only, with the due date
  compared in the index, it reads only the overdue rows' pages (~350 rows, ~150 pages).

PostgreSQL cannot know how rare the rows are (the manager's reps are a subquery, and a
due date before today is nearly always a scheduled check-in, which it does not know),
so it walks in id order either way: these indexes make that walk short.

Raw SQL (PostgreSQL and SQLite both take it), as the other covering indexes of issue 17.
(rep_id, id) makes the foreign key's own index on rep_id (followups_checkin_rep_id_a250731b)
redundant; it stays until CheckIn.rep says db_index=False.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followups", "0018_open_work_checkin_index")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS checkin_rep_id_idx ON followups_checkin (rep_id, id)",
            reverse_sql="DROP INDEX IF EXISTS checkin_rep_id_idx",
        ),
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS checkin_scheduled_id_due_idx "
                "ON followups_checkin (id, due_on) WHERE status = 'scheduled'"
            ),
            reverse_sql="DROP INDEX IF EXISTS checkin_scheduled_id_due_idx",
        ),
    ]
