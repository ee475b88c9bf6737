"""The search's trigram indexes keep no pending list (handoffs migration 0023): a search
reads the merged index, not a queue of the entries saved since the last VACUUM."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("handoffs.migrations.0023_trigram_indexes_without_pending_list")

# The search's trigram indexes (migrations 0004 and 0015), by name: the catalogue must
# hold at least these, and every trigram index there, these or later ones, must be merged.
SEARCH_INDEXES = {
    "deal_title_trgm_idx",
    "account_name_trgm_idx",
    "account_domain_trgm_idx",
    "contact_first_name_trgm_idx",
    "contact_last_name_trgm_idx",
    "contact_full_name_trgm_idx",
    "contact_email_trgm_idx",
}


def test_every_trigram_index_of_the_search_has_its_pending_list_off():
    # when
    trigram_indexes = migration.trigram_index_names(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions, am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = ANY(%s)",
            [trigram_indexes],
        )
        found = {name: (options or [], method) for name, options, method in cursor.fetchall()}
    # then: the search's seven among them, all GIN indexes, each without a pending list
    assert set(trigram_indexes) >= SEARCH_INDEXES
    assert set(found) == set(trigram_indexes)
    assert {method for _, method in found.values()} == {"gin"}
    assert {name for name, (options, _) in found.items() if "fastupdate=off" not in options} == set()


def test_saved_accounts_and_contacts_leave_nothing_queued_for_a_search_to_read():
    # given: accounts and contacts created, then renamed (each save a new index entry)
    accounts = AccountFactory.create_batch(30)
    for account in accounts:
        ContactFactory(account=account)
        account.name = f"{account.name} renamed"
        account.save(update_fields=["name"])
    # when: what a merge would move out of each index's pending list
    trigram_indexes = migration.trigram_index_names(connection)
    assert set(trigram_indexes) >= SEARCH_INDEXES
    with connection.cursor() as cursor:
        queued = {}
        for name in trigram_indexes:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
            queued[name] = cursor.fetchone()[0]
    # then: nothing was queued: the entries went straight into the indexes
    assert queued == dict.fromkeys(trigram_indexes, 0)
