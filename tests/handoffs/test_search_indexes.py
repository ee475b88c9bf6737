"""The search's trigram indexes keep no pending list (handoffs migration 0023): a search
reads the merged index, not a queue of the entries saved since the last VACUUM."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

TRIGRAM_INDEXES = importlib.import_module(
    "handoffs.migrations.0023_trigram_indexes_without_pending_list"
).TRIGRAM_INDEXES


def test_every_trigram_index_of_the_search_has_its_pending_list_off():
    # when
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions, am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = ANY(%s)",
            [TRIGRAM_INDEXES],
        )
        found = {name: (options or [], method) for name, options, method in cursor.fetchall()}
    # then: all seven exist, as GIN indexes, each without a pending list
    assert set(found) == set(TRIGRAM_INDEXES)
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
    with connection.cursor() as cursor:
        queued = {}
        for name in TRIGRAM_INDEXES:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
            queued[name] = cursor.fetchone()[0]
    # then: nothing was queued: the entries went straight into the indexes
    assert queued == dict.fromkeys(TRIGRAM_INDEXES, 0)
