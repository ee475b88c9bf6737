"""Indexes for the pipeline pages at 100k deals: the deal and account lists scoped by
owner or team in their default order, and trigram indexes for their `?q=` search
(PostgreSQL only: `icontains` there is `UPPER(col) LIKE UPPER('%text%')`, which a
GIN trigram index on `UPPER(col)` answers; SQLite keeps scanning, which is fine for
`make run`)."""

from django.db import migrations

BTREE_INDEXES = [
    ("handoffs_deal", "deal_created_id_idx", "created_at DESC, id DESC"),
    ("handoffs_deal", "deal_owner_created_idx", "owner_id, created_at DESC, id DESC"),
    ("handoffs_deal", "deal_team_created_idx", "team_id, created_at DESC, id DESC"),
    ("accounts_account", "account_team_name_idx", "team_id, name, id"),
    ("accounts_account", "account_name_id_idx", "name, id"),
]

# The expressions must be the ones Django writes for `icontains` (see the docstring).
TRIGRAM_INDEXES = [
    ("handoffs_deal", "deal_title_trgm_idx", 'UPPER("title"::text)'),
    ("accounts_account", "account_name_trgm_idx", 'UPPER("name"::text)'),
    ("accounts_account", "account_domain_trgm_idx", 'UPPER("domain"::text)'),
    ("accounts_contact", "contact_first_name_trgm_idx", 'UPPER("first_name"::text)'),
    ("accounts_contact", "contact_last_name_trgm_idx", 'UPPER("last_name"::text)'),
    (
        "accounts_contact",
        "contact_full_name_trgm_idx",
        """UPPER((COALESCE("first_name", '') || COALESCE((COALESCE(' ', '') || COALESCE("last_name", '')), ''))::text)""",
    ),
]


def create_indexes(apps, schema_editor):
    for table, name, columns in BTREE_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name, expression in TRIGRAM_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)")


def drop_indexes(apps, schema_editor):
    names = [name for _, name, _ in BTREE_INDEXES]
    if schema_editor.connection.vendor == "postgresql":
        names += [name for _, name, _ in TRIGRAM_INDEXES]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("handoffs", "0003_seed_default_playbook"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
