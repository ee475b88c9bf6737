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

This turns the pending list off on every trigram index of migrations 0004 and 0015 and
merges what is queued now. SQLite has no such indexes: nothing to do there.
"""

from django.db import migrations

TRIGRAM_INDEXES = [
    "deal_title_trgm_idx",
    "account_name_trgm_idx",
    "account_domain_trgm_idx",
    "contact_first_name_trgm_idx",
    "contact_last_name_trgm_idx",
    "contact_full_name_trgm_idx",
    "contact_email_trgm_idx",
]


def merge_pending_lists(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} SET (fastupdate = off)")
        # What was queued before stays queued until merged: merge it now.
        schema_editor.execute(
            "SELECT gin_clean_pending_list(to_regclass(%s)) WHERE to_regclass(%s) IS NOT NULL", [name, name]
        )


def queue_again(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0022_my_day_indexes")]

    operations = [migrations.RunPython(merge_pending_lists, queue_again)]
