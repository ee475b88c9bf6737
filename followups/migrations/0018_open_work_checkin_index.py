"""The scheduled check-ins of a rep in due order, read from the index alone (issue 17).

The open-work page reads the ids of every check-in a person still has scheduled (a rep
who leaves can hold thousands) in due order. checkin_rep_status_due_idx finds them but
has no id: PostgreSQL visited each row's heap page (~490 pages for 3,400 check-ins)
and sorted. With the id in a partial index of the scheduled ones it is an index-only
scan in order (~20 pages; 40 ms to 1 ms on the loaded bench machine).

Raw SQL (PostgreSQL and SQLite both take it): a partial index the ORM's Meta need not
know about, as the other covering indexes of issue 17.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followups", "0017_security_purposes")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS checkin_rep_scheduled_due_idx "
                "ON followups_checkin (rep_id, due_on, id) WHERE status = 'scheduled'"
            ),
            reverse_sql="DROP INDEX IF EXISTS checkin_rep_scheduled_due_idx",
        ),
    ]
