"""The search's trigram indexes without GIN's pending list (issue 17).

A GIN index with `fastupdate` on (PostgreSQL's default) queues new entries in a pending
list that every search through the index reads from end to end until VACUUM (or the
list's 4 MB limit) merges it. Accounts are saved often (their version, their health),
so on the bench's data the name and domain indexes of 20,000 accounts carried 9,300
queued entries in ~490 pages each: `UPPER(name) LIKE '%ZEPHYR%'` read those pages and
cost 8 ms (the planner then preferred a scan of the table, 6 ms), where the merged index
answers in 0.08 ms — and every search asks it, since a deal or a hand-off also matches
by its account's name. Writes into a merged GIN index cost a little more per saved row
(a few dozen trigrams); searches are far more frequent than renames.

This turns the pending list off on every trigram index there is (those of migrations 0004
and 0015, found in the catalogue by their operator class rather than listed again here)
and merges what is queued now. SQLite has no such indexes: nothing to do there.
"""

from django.db import migrations

# Every GIN index built with pg_trgm's operator class, in this database's schema.
TRIGRAM_INDEXES_SQL = """
    SELECT DISTINCT index_class.relname
    FROM pg_index
    JOIN pg_class index_class ON index_class.oid = pg_index.indexrelid
    JOIN pg_namespace ON pg_namespace.oid = index_class.relnamespace
    JOIN pg_opclass ON pg_opclass.oid = ANY(pg_index.indclass::oid[])
    WHERE pg_opclass.opcname = 'gin_trgm_ops' AND pg_namespace.nspname = current_schema()
    ORDER BY 1
"""


def trigram_index_names(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(TRIGRAM_INDEXES_SQL)
        return [name for (name,) in cursor.fetchall()]


def merge_pending_lists(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in trigram_index_names(schema_editor.connection):
        schema_editor.execute(f'ALTER INDEX "{name}" SET (fastupdate = off)')
        # What was queued before stays queued until merged: merge it now.
        schema_editor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])


def queue_again(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in trigram_index_names(schema_editor.connection):
        schema_editor.execute(f'ALTER INDEX "{name}" RESET (fastupdate)')


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0022_my_day_indexes")]

    operations = [migrations.RunPython(merge_pending_lists, queue_again)]
