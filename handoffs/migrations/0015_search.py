"""Trigram indexes for the global search (issue 16, handoffs/search.py).

Django writes `icontains` on PostgreSQL as `UPPER(col::text) LIKE UPPER('%word%')`, which
a pg_trgm GIN index on that very expression answers (a plain trigram index on the column
would not be used). Migration 0004 already made them for the list pages' `?q=` filters on
a deal's title, an account's name and domain and a contact's first, last and full name;
the search also matches a contact's e-mail address, whose index is added here. Only what
this migration creates is dropped when it is reversed: 0004's indexes stay 0004's.

The account and contact columns belong to the accounts app, but searching them is a
handoffs feature (who may read an account is a handoffs rule), as in 0004.

SQLite (make run's database) has neither the extension nor GIN: there the migration does
nothing, and the same queries run as scans. Raw SQL in a RunPython rather than an AddIndex
on the model, so that SQLite's migrate and makemigrations --check see no index they cannot
build.
"""

from django.db import migrations

# (table, index name, the expression Django's icontains compares)
TRIGRAM_INDEXES = [
    ("accounts_contact", "contact_email_trgm_idx", 'UPPER("email"::text)'),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name, expression in TRIGRAM_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name, _expression in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0014_customer_links")]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes)]
