"""Trigram indexes for the global search (issue 16, handoffs/search.py).

Django writes `icontains` on PostgreSQL as `UPPER(col::text) LIKE UPPER('%word%')`, so
each index is on that very expression (a plain trigram index on the column would not be
used). pg_trgm GIN indexes answer a LIKE with a leading wildcard from the trigrams of the
word. The account and contact columns belong to the accounts app, but searching them is
a handoffs feature (who may read an account is a handoffs rule), so their indexes are
made here, in the app that needs them.

SQLite (make run's database) has neither the extension nor GIN: there the migration does
nothing, and the same queries run as scans. Raw SQL in a RunPython rather than AddIndex
on the models, so that SQLite's migrate and makemigrations --check see no index they
cannot build.
"""

from django.db import migrations

# (index name, table, column)
TRIGRAM_INDEXES = [
    ("deal_title_trgm_idx", "handoffs_deal", "title"),
    ("account_name_trgm_idx", "accounts_account", "name"),
    ("account_domain_trgm_idx", "accounts_account", "domain"),
    ("contact_first_name_trgm_idx", "accounts_contact", "first_name"),
    ("contact_last_name_trgm_idx", "accounts_contact", "last_name"),
    ("contact_email_trgm_idx", "accounts_contact", "email"),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    # The extension stays: another database object may have come to use it since.


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("handoffs", "0014_customer_links"),
    ]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes)]
