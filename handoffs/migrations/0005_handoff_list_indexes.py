"""An index for the hand-off list's default order (newest close first, then id) at 60k
hand-offs: the page walks it and stops after 50 visible rows instead of sorting every
visible hand-off. The scoped orders already have (team, closed_on), (rep, closed_on) and
(status, closed_on); the overdue filter reads the partial index on open steps."""

from django.db import migrations

INDEXES = [
    ("handoffs_handoff", "handoff_closed_id_idx", "closed_on DESC, id DESC"),
]


def create_indexes(apps, schema_editor):
    for table, name, columns in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")


def drop_indexes(apps, schema_editor):
    for _, name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0004_pipeline_list_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
