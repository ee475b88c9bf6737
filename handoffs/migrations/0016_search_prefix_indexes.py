"""Indexes for the global search's relevance at 100k deals (issue 16;
handoffs/search.py, `_deals_named`).

A hand-off ranks first when its deal's title, or its account's name, is the query or
starts with it. The search asks that of two small sets of deal ids, hashed once, instead
of joining every matching hand-off to its deal and account:

- `UPPER(title)` and `UPPER(name)` with `text_pattern_ops`: Django's `iexact` and
  `istartswith` are `UPPER(col::text) = UPPER(…)` and `LIKE UPPER('gring%')`, which a
  btree on exactly that expression answers as an equality or a range; the pg_trgm GIN
  indexes cannot (they answer `LIKE '%…%'` and must recheck every row), and the default
  opclass is not used for LIKE under a non-C collation. PostgreSQL only, raw SQL as in
  0015: SQLite has no operator classes, and there the same queries scan.
- a deal's `(account, id)`: the ids of the deals of the accounts whose name starts with
  the query, read from the index alone (an index-only scan per account) rather than from
  ~4,400 heap pages for "Gring"'s 5,000 deals. A plain index, in Deal.Meta.indexes.
"""

from django.db import migrations, models

# (table, index name, the expression Django's iexact / istartswith compares)
PREFIX_INDEXES = [
    ("handoffs_deal", "deal_title_upper_prefix_idx", 'UPPER("title"::text)'),
    ("accounts_account", "account_name_upper_prefix_idx", 'UPPER("name"::text)'),
]


def create_prefix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, expression in PREFIX_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} (({expression}) text_pattern_ops)")
    # An expression index has statistics of its own, gathered by ANALYZE: without them
    # the planner guesses how many titles start with the query until autovacuum runs.
    for table in sorted({table for table, _name, _expression in PREFIX_INDEXES}):
        schema_editor.execute(f"ANALYZE {table}")


def drop_prefix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name, _expression in PREFIX_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0015_search")]

    operations = [
        migrations.RunPython(create_prefix_indexes, drop_prefix_indexes),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["account", "id"], name="deal_account_id_idx"),
        ),
    ]
