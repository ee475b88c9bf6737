"""An index for "My check-ins"' recently done section at 1M check-ins: a rep's last done
check-ins newest first, read as a range instead of every done check-in of the rep
sorted. The scheduled sections already read (rep, status, due_on)."""

from django.db import migrations

INDEXES = [
    ("followups_checkin", "checkin_rep_done_at_idx", "rep_id, done_at DESC, id DESC", "status = 'done'"),
]


def create_indexes(apps, schema_editor):
    for table, name, columns, condition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}) WHERE {condition}")


def drop_indexes(apps, schema_editor):
    for _, name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("followups", "0009_report_latency_team_index")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
