"""Two partial indexes for a rep's My day (issue 17).

- deal_owner_open_next_step_idx (owner_id, next_step_due, id) over the open deals: the
  overdue list (next step due before today, soonest first) and the due-today list were
  a BitmapAnd of the owner's deals and of every open deal due before today (~4,200
  index entries at 100k deals, then a sort): 0.9 ms. The rep's open deals by due date,
  read in order: 0.2 ms. The count of open deals reads it too.
- deal_owner_packet_pending_idx (owner_id, packet_pending_since, id) over the won deals
  waiting for their packet (handoffs.packet.packet_pending_q): the list read every won
  deal of the rep (~480 heap pages) to find the few, usually none: 1.1 ms. The index
  holds only the waiting deals: 0.04 ms.

Measured on the bench data in a rolled-back transaction: My day's seven queries
executed in 3.9 ms before, 1.3 ms with these; planning unchanged (2.5 → 2.3 ms).

Raw SQL (PostgreSQL and SQLite both take it), as the other covering indexes of issue 17.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0021_open_work_step_index")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS deal_owner_open_next_step_idx "
                "ON handoffs_deal (owner_id, next_step_due, id) "
                "WHERE stage IN ('qualify', 'discover', 'propose', 'negotiate')"
            ),
            reverse_sql="DROP INDEX IF EXISTS deal_owner_open_next_step_idx",
        ),
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS deal_owner_packet_pending_idx "
                "ON handoffs_deal (owner_id, packet_pending_since, id) "
                "WHERE packet_pending_since IS NOT NULL AND stage = 'won'"
            ),
            reverse_sql="DROP INDEX IF EXISTS deal_owner_packet_pending_idx",
        ),
    ]
